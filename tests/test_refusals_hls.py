"""What `python convert.py CONFIG.yml` (kerasjet convert) refuses: one row per bad input, run
in-process. Each row: the config change (or a raw file), the expected exit status, the words of
the one-line ``kerasjet: error: <file>: <key>: <what>`` message, and no output file written or
changed (an old report.json is removed, never left to look fresh)."""

import os
import runpy
import sys

import pytest

from kerasjet.cli import main
from kerasjet.errors import KerasjetError
from kerasjet.hls.config import read_yaml
from test_hls import write_config

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE = os.path.join(ROOT, "hls_configs", "nanopelican_c2_n8_8bit.yml")

# (id, {dotted key: value, None deletes}, extra argv, exit status, words in the error line)
ROWS = [
    ("unknown-key", {"HLSConfig.Model.ReuseFactr": 2}, [], 2, "HLSConfig.Model.ReuseFactr: unknown key"),
    ("unknown-top-key", {"reuse_factor": 2}, [], 2, "reuse_factor: unknown key"),
    ("wrong-type", {"HLSConfig.Model.ReuseFactor": "two"}, [], 2, "HLSConfig.Model.ReuseFactor: must be an integer"),
    ("missing-key", {"OutputDir": None}, [], 2, "OutputDir: missing"),
    ("negative-clock", {"ClockPeriod": -1}, [], 2, "ClockPeriod: must be a finite positive number"),
    ("nan-clock", {"ClockPeriod": float("nan")}, [], 2, "ClockPeriod: must be a finite positive number"),
    ("inf-clock", {"ClockPeriod": float("inf")}, [], 2, "ClockPeriod: must be a finite positive number"),
    ("negative-tolerance", {"kerasjet.tolerance.max_abs_diff": -0.1}, [], 2,
     "kerasjet.tolerance.max_abs_diff: must be a finite non-negative number"),
    ("nan-tolerance", {"kerasjet.tolerance.auc_diff": float("nan")}, [], 2, "kerasjet.tolerance.auc_diff: must be a finite"),
    ("agreement-above-one", {"kerasjet.tolerance.decision_agreement": 1.5}, [], 2,
     "kerasjet.tolerance.decision_agreement: is a fraction, at most 1"),
    ("zero-test-jets", {"kerasjet.test_data.jets": 0}, [], 2, "kerasjet.test_data.jets: must be positive"),
    ("zero-constituents", {"kerasjet.n_constituents": 0}, [], 2, "kerasjet.n_constituents: must be positive"),
    ("zero-reuse", {"HLSConfig.Model.ReuseFactor": 0}, [], 2, "HLSConfig.Model.ReuseFactor: must lie in [1, 1048576], got 0"),
    ("reuse-does-not-divide", {"HLSConfig.Model.ReuseFactor": 7}, [], 2,
     "HLSConfig.Model.ReuseFactor: 7 does not divide the 144 multiplications of layer 'lorentz_dot'"),
    ("layer-reuse-does-not-divide", {"HLSConfig.LayerName": {"lineq_2to0": {"ReuseFactor": 3}}}, [], 2,
     "HLSConfig.LayerName.lineq_2to0.ReuseFactor: 3 does not divide the 4 multiplications"),
    ("no-such-layer", {"HLSConfig.LayerName": {"lineq_9": {"ReuseFactor": 1}}}, [], 2, "HLSConfig.LayerName.lineq_9: the model has no such layer"),
    ("precision-no-integer-bits", {"HLSConfig.Model.Precision.default": "ap_fixed<16>"}, [], 2,
     "HLSConfig.Model.Precision.default: 'ap_fixed<16>' is not a precision"),
    ("precision-auto-default", {"HLSConfig.Model.Precision": "auto"}, [], 2, "HLSConfig.Model.Precision: 'auto' is not a precision"),
    ("precision-no-default", {"HLSConfig.Model.Precision.default": None}, [], 2, "HLSConfig.Model.Precision.default: missing"),
    ("precision-garbage", {"HLSConfig.Model.Precision.result": "float32"}, [], 2, "'float32' is not a precision"),
    ("precision-zero-width", {"HLSConfig.Model.Precision": "ap_int<0>"}, [], 2, "with 1 ≤ W ≤ 1024"),
    ("layer-precision", {"HLSConfig.LayerName": {"lineq_2to2": {"Precision": {"result": "ap_fixed<8,3,AP_RND_XYZ>"}}}}, [], 2,
     "HLSConfig.LayerName.lineq_2to2.Precision.result: 'ap_fixed<8,3,AP_RND_XYZ>' is not a precision"),
    ("backend", {"Backend": "Quartus"}, [], 2, "Backend: must be one of Vivado, Vitis, got 'Quartus'"),
    ("io-stream", {"IOType": "io_stream"}, [], 2, "IOType: must be one of io_parallel, got 'io_stream' (the kerasjet layers' pair arrays"),
    ("strategy", {"HLSConfig.Model.Strategy": "Fast"}, [], 2, "HLSConfig.Model.Strategy: must be one of Latency, Resource"),
    ("no-model-file", {"KerasModel": "models/nope.h5"}, [], 2, "KerasModel: no such file"),
    ("keras-h5", {"KerasH5": "models/nanopelican_c2_n8_8bit.h5"}, [], 2, "KerasH5: hls4ml 1.3's convert_from_config reads no KerasH5 key"),
    ("n-mismatch", {"kerasjet.n_constituents": 16}, [], 2, "kerasjet.n_constituents: 16 but the model takes N = 8"),
    ("no-test-file", {"kerasjet.test_data.file": "nope.h5"}, [], 2, "kerasjet.test_data.file: no such file"),
    ("rtl-clock", {"kerasjet.rtl": {"clock_period": 0}}, ["--rtl"], 2, "kerasjet.rtl.clock_period: must be a finite positive number"),
    ("rtl-nan-cutoff", {"kerasjet.rtl": {"latency_cutoff": float("nan")}}, [], 2, "kerasjet.rtl.latency_cutoff: must be a finite"),
    ("rtl-family", {"kerasjet.rtl": {"family": "stratix"}}, [], 2, "kerasjet.rtl.family: must be one of xcup, xcu, xc7"),
    ("rtl-unknown", {"kerasjet.rtl": {"clock": 5}}, [], 2, "kerasjet.rtl.clock: unknown key"),
    ("rtl-type", {"kerasjet.rtl": {"jets": "many"}}, [], 2, "kerasjet.rtl.jets: must be an integer"),
    # values that reach a shell, a file name or generated C++ (issue 45, item 1)
    ("project-name-injection", {"ProjectName": "x;touch INJECTED;y"}, [], 2,
     "ProjectName: project name 'x;touch INJECTED;y' is not a C identifier"),
    ("project-name-traversal", {"ProjectName": "../../escaped"}, [], 2, "ProjectName: project name '../../escaped' is not a C"),
    ("project-name-keyword", {"ProjectName": "int"}, [], 2, "ProjectName: project name 'int' is not a C identifier"),
    ("output-dir-empty", {"OutputDir": ""}, [], 2, "OutputDir: must name the project's own folder, got ''"),
    ("output-dir-config-folder", {"OutputDir": "."}, [], 2, "OutputDir: ", "is the config's folder or a folder above it"),
    ("output-dir-above", {"OutputDir": "../.."}, [], 2, "is the config's folder or a folder above it"),
    ("output-dir-shell", {"OutputDir": "prj;touch INJECTED"}, [], 2, "OutputDir: ", "holds characters other than"),
    ("output-dir-is-a-file", {"OutputDir": "config.yml"}, [], 2, "OutputDir: ", "is a file; expected a folder"),
    ("part-injection", {"Part": "xc$(touch INJECTED)"}, [], 2, "Part: 'xc$(touch INJECTED)' is not an FPGA part name"),
    ("part-empty", {"Part": ""}, [], 2, "Part: '' is not an FPGA part name"),
    ("clock-absurd", {"ClockPeriod": 1e30}, [], 2, "ClockPeriod: must lie in [0.1, 1000.0] ns, got 1e+30"),
    ("layer-name-injection", {"HLSConfig.LayerName": {"x;touch INJECTED": {"ReuseFactor": 1}}}, [], 2,
     "HLSConfig.LayerName.x;touch INJECTED: layer name 'x;touch INJECTED' is not a C identifier"),
    ("precision-variable-injection", {"HLSConfig.Model.Precision": {"default": "ap_fixed<16,6>", "a\nb": "auto"}}, [], 2,
     "is not a C identifier"),
    ("reuse-absurd", {"HLSConfig.Model.ReuseFactor": 10**9}, [], 2, "HLSConfig.Model.ReuseFactor: must lie in [1, 1048576]"),
    ("n-absurd", {"kerasjet.n_constituents": 100000}, [], 2, "kerasjet.n_constituents: must be at most 1024"),
    ("test-jets-absurd", {"kerasjet.test_data.jets": 10**12}, [], 2, "kerasjet.test_data.jets: must be at most"),
    ("rtl-output-dir-empty", {"kerasjet.rtl": {"output_dir": ""}}, [], 2, "kerasjet.rtl.output_dir: must name the project's own"),
    ("rtl-output-dir-is-a-file", {"kerasjet.rtl": {"output_dir": "config.yml"}}, [], 2, "kerasjet.rtl.output_dir: ",
     "is a file; expected a folder"),
    ("rtl-part", {"kerasjet.rtl": {"part": "a b"}}, [], 2, "kerasjet.rtl.part: 'a b' is not an FPGA part name"),
    ("rtl-clock-absurd", {"kerasjet.rtl": {"clock_period": 1e30}}, [], 2, "kerasjet.rtl.clock_period: must be at most 1000.0"),
    ("test-jets-beyond-file", {"kerasjet.test_data.jets": 100000}, [], 2, "kerasjet.test_data.jets: 100000 jets, but", "holds 300"),
]

# (id, file content as bytes or None for a folder, words)
RAW_ROWS = [
    ("duplicate-key", None, "ClockPeriod: duplicate key"),
    ("not-utf8", b"Backend: Viv\xe4do\n", "the file: not UTF-8 text"),
    ("directory", "dir", "the file: is a directory"),
    ("bad-yaml", b"Backend: [Vivado\n", "the file: not valid YAML"),
    ("not-a-mapping", b"- Vivado\n", "the file: must be a mapping"),
    ("missing", "absent", "the file: no such file"),
    ("complex-key", b"? [Backend, Part]\n: Vivado\n", "the file: a complex key (a list or mapping used as a key, line 1)"),
    ("deep-nesting", b"a: " + b"[" * 100 + b"]" * 100 + b"\n", "the file: nested deeper than 32 levels"),
    ("very-deep-nesting", b"a: " + b"[" * 5000 + b"]" * 5000 + b"\n", "the file: nested deeper than 32 levels"),
]


@pytest.fixture
def work(tmp_path, jets_file):
    """A folder with an old project (report.json) and the base config pointing into it."""
    project = tmp_path / "prj"
    project.mkdir()
    (project / "report.json").write_text('{"passed": true}\n')
    config = read_yaml(BASE)
    config["OutputDir"] = str(project)
    config["kerasjet"]["test_data"] = {"file": jets_file, "jets": 20}
    return tmp_path, config


def snapshot(folder):
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in folder.rglob("*") if p.name != "config.yml"}


def refused(argv, capsys):
    """(exit status, stderr lines) of kerasjet convert, in-process."""
    status = main(["convert", *argv])
    return status, capsys.readouterr().err.strip().splitlines()


@pytest.mark.parametrize("changes, extra, status, words", [(*row[1:4], row[4:]) for row in ROWS], ids=[row[0] for row in ROWS])
def test_bad_config_is_one_line(changes, extra, status, words, work, capsys):
    tmp_path, config = work
    path = write_config(tmp_path, changes, config)
    before = snapshot(tmp_path.parent)
    code, err = refused([path, *extra], capsys)
    assert code == status and len(err) == 1, err
    assert err[0].startswith(f"kerasjet: error: {path}: ") and all(w in err[0] for w in words), err[0]
    assert snapshot(tmp_path.parent) == before  # nothing written here or beside it, the old report untouched
    assert not os.path.exists("INJECTED")


@pytest.mark.parametrize("content, words", [row[1:] for row in RAW_ROWS], ids=[row[0] for row in RAW_ROWS])
def test_bad_config_file_is_one_line(content, words, tmp_path, capsys):
    path = tmp_path / "config.yml"
    if content == "dir":
        path.mkdir()
    elif content is None:
        path.write_text(open(BASE).read() + "ClockPeriod: 4.0\n")
    elif content != "absent":
        path.write_bytes(content)
    before = snapshot(tmp_path)
    code, err = refused([str(path)], capsys)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith(f"kerasjet: error: {path}: ") and words in err[0], err[0]
    assert snapshot(tmp_path) == before


def test_failed_rebuild_leaves_no_old_report(work, capsys, monkeypatch):
    """A run that fails after validation (here: inside hls4ml) has removed the old report.json."""
    import hls4ml

    def broken(config):
        raise KerasjetError("conversion failed")

    monkeypatch.setattr(hls4ml.converters, "convert_from_config", broken)
    tmp_path, config = work
    code, err = refused([write_config(tmp_path, {}, config)], capsys)
    assert code == 2 and err == ["kerasjet: error: conversion failed"]
    assert not (tmp_path / "prj" / "report.json").exists()


def test_synth_without_the_tool_fails(work, capsys, monkeypatch):
    """--synth when vivado_hls is not on PATH: exit 2 with the reason before any work (the
    conversion must not start), never a silent success."""
    import kerasjet.hls.convert

    def deploy(*args, **kwargs):
        raise AssertionError("the conversion started although --synth cannot run")

    monkeypatch.setattr(kerasjet.hls.convert, "deploy", deploy)
    monkeypatch.setenv("PATH", "/nonexistent")
    tmp_path, config = work
    code, err = refused([write_config(tmp_path, {}, config), "--synth"], capsys)
    assert code == 2 and len(err) == 1 and "vivado_hls not on PATH" in err[0] and "--synth" in err[0], err


def test_convert_py_is_the_same_command(work, capsys, monkeypatch):
    """convert.py CONFIG.yml goes through the same checks (run in-process)."""
    tmp_path, config = work
    path = write_config(tmp_path, {"ClockPeriod": 0}, config)
    monkeypatch.setattr(sys, "argv", ["convert.py", path])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(os.path.join(ROOT, "convert.py"), run_name="__main__")
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "ClockPeriod: must be a finite positive number" in err[0]


def tagged_config(tmp_path, jets_file, lines):
    """The shipped N = 8 YAML with its tags (as hls4ml's own reader sees it), its paths made
    absolute or into tmp_path, and ``lines`` ({top-level key: its new line(s)}) replacing its lines."""
    text = open(BASE).read()
    text = text.replace("!kerasjet_model ../", f"!kerasjet_model {ROOT}/")
    text = text.replace("../data/demo.h5", jets_file)
    lines = {"OutputDir": "OutputDir: !kerasjet_path prj", **lines}
    text = "\n".join(next((new for key, new in lines.items() if line.startswith(f"{key}:")), line)
                     for line in text.splitlines()) + "\n"
    path = tmp_path / "config.yml"
    path.write_text(text)
    return str(path)


def entry_points(path):
    """(name, callable returning the exit status and the error line) of every way a deployment
    YAML enters: kerasjet convert, convert.py, python -m kerasjet.hls convert -c, and hls4ml's
    convert_from_config with kerasjet imported."""
    import hls4ml

    from kerasjet.hls.__main__ import main as hls_main

    def convert_py():
        argv = sys.argv
        sys.argv = ["convert.py", path]
        try:
            runpy.run_path(os.path.join(ROOT, "convert.py"), run_name="__main__")
        except SystemExit as done:
            return done.code
        finally:
            sys.argv = argv

    def from_config():
        try:
            hls4ml.converters.convert_from_config(path)
        except KerasjetError as err:
            print(f"kerasjet: error: {err}", file=sys.stderr)
            return 2
        return 0

    return [("kerasjet convert", lambda: main(["convert", path])), ("convert.py", convert_py),
            ("python -m kerasjet.hls", lambda: hls_main(["convert", "-c", path])), ("convert_from_config", from_config)]


# (id, ProjectName line or other YAML text appended, words)
ENTRY_ROWS = [
    ("injection", {"ProjectName": "ProjectName: 'x;touch INJECTED;y'"},
     "ProjectName: project name 'x;touch INJECTED;y' is not a C identifier"),
    ("traversal", {"ProjectName": "ProjectName: ../../escaped"}, "ProjectName: project name '../../escaped' is not a C identifier"),
    ("empty-output-dir", {"OutputDir": "OutputDir: !kerasjet_path ''"}, "is the config's folder or a folder above it"),
    ("duplicate-key", {"ProjectName": "ProjectName: kerasjet\nClockPeriod: 4.0"}, "ClockPeriod: duplicate key"),
    ("negative-clock", {"ClockPeriod": "ClockPeriod: -5"}, "ClockPeriod: must be a finite positive number, got -5"),
    ("part-injection", {"Part": "Part: xc`touch INJECTED`"}, "Part: 'xc`touch INJECTED`' is not an FPGA part name"),
]


@pytest.mark.parametrize("lines, words", [row[1:] for row in ENTRY_ROWS], ids=[row[0] for row in ENTRY_ROWS])
def test_every_entry_point_refuses_before_work(lines, words, tmp_path, jets_file, capsys, monkeypatch):
    """The same YAML is refused with the same line by every entry point; nothing is written, no
    command runs (no INJECTED file in the working directory or beside the config), no file
    escapes the project folder."""
    monkeypatch.chdir(tmp_path)
    path = tagged_config(tmp_path, jets_file, lines)
    for name, run in entry_points(path):
        before = snapshot(tmp_path.parent)
        code = run()
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1, (name, err)
        assert err[0].startswith(f"kerasjet: error: {path}: ") and words in err[0], (name, err[0])
        assert snapshot(tmp_path.parent) == before, name
        assert not list(tmp_path.parent.rglob("INJECTED")) and not list(tmp_path.parent.rglob("escaped*")), name


def test_convert_from_config_dict_is_checked(tmp_path, monkeypatch):
    """hls4ml's convert_from_config on a dict (no YAML, no kerasjet section) with kerasjet
    imported: the values that reach a shell, file names or C++ are checked before anything is
    written."""
    import hls4ml

    import kerasjet.hls  # noqa: F401
    from kerasjet.models import load_model

    monkeypatch.chdir(tmp_path)
    model = load_model(os.path.join(ROOT, "models", "nanopelican_c2_n8_8bit.h5"))
    good = {"KerasModel": model, "OutputDir": str(tmp_path / "prj"), "ProjectName": "kerasjet", "Backend": "Vivado",
            "Part": "xcvu13p-flga2577-2-e", "ClockPeriod": 5, "IOType": "io_parallel",
            "HLSConfig": {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1}}}
    for change, words in [({"ProjectName": "x;touch INJECTED;y"}, "ProjectName: project name"),
                          ({"OutputDir": ""}, "OutputDir: must name the project's own folder"),
                          ({"OutputDir": "."}, "is the config's folder or a folder above it"),
                          ({"Part": "a;b"}, "Part: 'a;b' is not an FPGA part name"),
                          ({"ClockPeriod": -5}, "ClockPeriod: must be a finite positive number")]:
        with pytest.raises(KerasjetError, match="^hls4ml configuration: ") as refusal:
            hls4ml.converters.convert_from_config({**good, **change})
        assert words in str(refusal.value)
        assert list(tmp_path.iterdir()) == []


def test_hls4ml_cli_checks_an_untagged_config_first(work, capsys, monkeypatch):
    """`python -m kerasjet.hls convert -c` on a YAML without kerasjet tags (plain path strings,
    which hls4ml's own reader would pass on unchecked): refused by kerasjet's checks first."""
    from kerasjet.hls.__main__ import main as hls_main

    tmp_path, config = work
    monkeypatch.chdir(tmp_path)
    path = write_config(tmp_path, {"ProjectName": "x;touch INJECTED;y"}, config)
    before = snapshot(tmp_path.parent)
    code = hls_main(["convert", "-c", path])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith(f"kerasjet: error: {path}: ProjectName: project name"), err
    assert snapshot(tmp_path.parent) == before and not list(tmp_path.parent.rglob("INJECTED"))


def test_one_class_test_data_is_refused_before_the_conversion(work, jets_file, capsys, monkeypatch):
    """A test_data.file with one class (no AUC to compare) is refused before hls4ml runs, and
    --jets beyond the file's jets is refused naming --jets."""
    import kerasjet.hls.convert
    from kerasjet.data.io import read_jets, write_jets

    monkeypatch.setattr(kerasjet.hls.convert, "deploy", lambda *a, **k: pytest.fail("the conversion started"))
    tmp_path, config = work
    jets = read_jets(jets_file)
    write_jets(str(tmp_path / "qcd.h5"), jets.select(jets.is_signal == 0))
    import copy

    path = write_config(tmp_path, {"kerasjet.test_data.file": str(tmp_path / "qcd.h5")}, copy.deepcopy(config))
    code, err = refused([path], capsys)
    assert code == 2 and len(err) == 1 and "qcd.h5" in err[0] and "a ROC needs top (1) and QCD (0) jets" in err[0], err
    code, err = refused([write_config(tmp_path, {}, copy.deepcopy(config)), "--jets", "5000"], capsys)
    assert code == 2 and err == [f"kerasjet: error: --jets: 5000 jets, but {jets_file} holds 300"], err
    code, err = refused([write_config(tmp_path, {"kerasjet.test_data.file": "other.h5"}, config)], capsys)
    assert code == 2 and len(err) == 1 and "kerasjet.test_data.file: no such file" in err[0] and "make demo" not in err[0], err


def test_unsupported_model_is_refused_naming_the_file(work, capsys):
    """A model kerasjet cannot convert (LorentzNet) is refused naming the YAML and the model file,
    not Keras' internal model name, before hls4ml runs."""
    from kerasjet.models import build_model, save_model

    tmp_path, config = work
    model_file = str(tmp_path / "lorentznet.keras")
    save_model(build_model("lorentznet", n_constituents=8), model_file)
    before = snapshot(tmp_path)
    code, err = refused([write_config(tmp_path, {"KerasModel": model_file}, config)], capsys)
    assert code == 2 and len(err) == 1, err
    assert f"KerasModel: {model_file} is neither a nanoPELICAN nor a dense tagger" in err[0], err
    assert snapshot(tmp_path) == before


def test_no_synthesis_goes_with_rtl(work, capsys):
    tmp_path, config = work
    path = write_config(tmp_path, {}, config)
    code, err = refused([path, "--no-synthesis"], capsys)
    assert code == 2 and err == ["kerasjet: error: --no-synthesis goes with --rtl (it skips the RTL path's Yosys synthesis)"]
