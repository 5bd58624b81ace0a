"""hls4ml deployment: every shipped config with N ≤ 32 through the C simulation at reuse factor
1 and 2 (bit-exact for quantized models), a float model within tolerance, bad configs, the
extension's registration, and the synthesis-report parser."""

import glob
import os
import shutil

import numpy as np
import pytest
import yaml

from kerasjet.cli import main
from kerasjet.hls.config import load_config
from kerasjet.hls.convert import deploy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "hls_configs", "*.yml")))
SMALL = [c for c in CONFIGS if yaml.safe_load(open(c))["n_constituents"] <= 32]


def test_every_model_has_a_config():
    assert len(SMALL) >= 12
    for path in CONFIGS:
        assert os.path.exists(load_config(path)["model"])


@pytest.mark.parametrize("reuse_factor", [1, 2])
@pytest.mark.parametrize("path", SMALL, ids=lambda p: os.path.basename(p)[:-4])
def test_csim_is_bit_exact(path, reuse_factor, thousand_jets, tmp_path):
    report, _ = deploy(load_config(path), test_file=thousand_jets, jets=1000, reuse_factor=reuse_factor,
                       output_dir=str(tmp_path / "prj"), verbose=False)
    assert report["jets"] == 1000
    assert report["max_abs_diff"] == 0.0 and report["identical_outputs"] == 1.0
    assert report["auc_diff"] <= 0.001 and report["passed"]
    assert report["distinct_outputs"] > 50  # a saturated or constant model would agree trivially
    assert report["auc_csim"] > 0.8
    shutil.rmtree(tmp_path / "prj")


def write_config(tmp_path, **changes):
    config = yaml.safe_load(open(os.path.join(ROOT, "hls_configs", "nanopelican_c2_n8_8bit.yml")))
    config.update(changes)
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump({k: v for k, v in config.items() if v is not None}))
    return str(path)


def error_line(argv, capsys):
    status = main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert status != 0 and len(err) == 1, err
    return err[0]


@pytest.mark.parametrize("changes, message", [
    (dict(reuse_fator=2), "unknown key 'reuse_fator'"),
    (dict(reuse_factor="two"), "key 'reuse_factor' must be a int"),
    (dict(clock_period=-1), "key 'clock_period' must be positive"),
    (dict(model="models/nope.h5"), "key 'model': no such file"),
    (dict(backend="Quartus"), "key 'backend' must be one of Vivado, Vitis"),
    (dict(test_data={"jets": 10}), "missing key 'test_data.file'"),
    (dict(reuse_factor=7), "key 'reuse_factor' = 7 does not divide the 144 multiplications of layer 'lorentz_dot'"),
    (dict(n_constituents=16), "key 'n_constituents' is 16 but the model takes N = 8"),
])
def test_bad_configs_get_one_line(changes, message, tmp_path, capsys, jets_file):
    settings = {"test_data": {"file": jets_file, "jets": 20}, "output_dir": str(tmp_path / "prj"), **changes}
    path = write_config(tmp_path, **settings)
    line = error_line(["convert", path], capsys)
    assert line.startswith("kerasjet: error:") and "config.yml" in line and message in line
    assert not (tmp_path / "prj").exists()


def test_float_model_within_tolerance(jets_file, tmp_path):
    from kerasjet.models import build_model, save_model
    from test_models import randomise

    model = randomise(build_model("nanopelican", c_hidden=2, n_constituents=8), np.random.default_rng(5))
    save_model(model, str(tmp_path / "float.keras"))
    path = write_config(tmp_path, model=str(tmp_path / "float.keras"), test_data={"file": jets_file, "jets": 300},
                        output_dir=str(tmp_path / "prj"), precision={"default": "ap_fixed<32,12>"},
                        tolerance={"max_abs_diff": 0.05, "decision_agreement": 0.98, "auc_diff": 0.001})
    report, _ = deploy(load_config(path), verbose=False)
    assert report["passed"], {k: report[k] for k in ("max_abs_diff", "decision_agreement", "auc_diff", "failed_checks")}
    assert 0 < report["max_abs_diff"] < 0.05  # float: close, not identical


def test_registration_is_idempotent(jets_file, tmp_path):
    import kerasjet.hls

    kerasjet.hls.register()
    kerasjet.hls.register()
    report, _ = deploy(load_config(write_config(tmp_path, test_data={"file": jets_file, "jets": 50})),
                       output_dir=str(tmp_path / "prj"), verbose=False)
    assert report["passed"]


def test_synthesis_report_parser():
    from kerasjet.hls.synthesis import parse_ooc_reports, parse_reports

    report = parse_reports(os.path.join(ROOT, "tests", "data", "hls_reports"))
    assert report["latency_cycles"] == [11, 12] and report["latency_ns"] == [55.0, 60.0]
    assert report["interval_cycles"] == [1, 1] and report["estimated_clock_ns"] == pytest.approx(4.359)
    assert report["hls_estimate"]["DSP"] == 24 and report["hls_estimate"]["LUT"] == 15442
    assert report["logic_synthesis"] == {"LUT": 12873, "FF": 6954, "DSP": 20, "BRAM_18K": 0, "URAM": 0}
    ooc = parse_ooc_reports(os.path.join(ROOT, "tests", "data", "hls_reports"))
    assert ooc == {"wns_ns": 0.641, "LUT": 12873, "FF": 6954, "DSP": 20}


@pytest.mark.parametrize("reuse_factor", [1, 2])
def test_vivado_flow_at_low_reuse(reuse_factor, jets_file, tmp_path):
    from kerasjet.hls.synthesis import synthesize, tool_available

    config = load_config(os.path.join(ROOT, "hls_configs", "nanopelican_c2_n8_8bit.yml"))
    if tool_available(config["backend"]) is None:
        assert synthesize(None, str(tmp_path), config["backend"]) is None
        pytest.skip(f"{config['backend']} HLS (vivado_hls / vitis-run) is not on PATH")
    report, hls_model = deploy(config, test_file=jets_file, jets=100, reuse_factor=reuse_factor, output_dir=str(tmp_path / "prj"),
                               verbose=False)
    synthesis = synthesize(hls_model, str(tmp_path / "prj"), config["backend"], cosim=False)
    assert synthesis["latency_cycles"][1] > 0 and synthesis["interval_cycles"][0] >= 1
