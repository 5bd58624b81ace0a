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
    ("zero-reuse", {"HLSConfig.Model.ReuseFactor": 0}, [], 2, "HLSConfig.Model.ReuseFactor: must be at least 1"),
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
]

# (id, file content as bytes or None for a folder, words)
RAW_ROWS = [
    ("duplicate-key", None, "ClockPeriod: duplicate key"),
    ("not-utf8", b"Backend: Viv\xe4do\n", "the file: not UTF-8 text"),
    ("directory", "dir", "the file: is a directory"),
    ("bad-yaml", b"Backend: [Vivado\n", "the file: not valid YAML"),
    ("not-a-mapping", b"- Vivado\n", "the file: must be a mapping"),
    ("missing", "absent", "the file: no such file"),
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


@pytest.mark.parametrize("changes, extra, status, words", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_bad_config_is_one_line(changes, extra, status, words, work, capsys):
    tmp_path, config = work
    path = write_config(tmp_path, changes, config)
    before = snapshot(tmp_path)
    code, err = refused([path, *extra], capsys)
    assert code == status and len(err) == 1, err
    assert err[0].startswith(f"kerasjet: error: {path}: ") and words in err[0], err[0]
    assert snapshot(tmp_path) == before  # nothing written, the old report untouched


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
