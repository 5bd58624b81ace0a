"""hls4ml deployment: every shipped config with N ≤ 16 through the C simulation at reuse factor
1 (of the constituent-level peers one per family at N = 8; N = 32 and the rest with `make test-all`), and one model of each kind at 2 (all of them with `make test-all`; bit-exact for quantized models), a float model within tolerance, the extension's
registration, the synthesis path and its report parser. Bad configs: tests/test_refusals_hls.py;
hls4ml's own API, YAML and introspection: tests/test_hls_plain.py."""

import glob
import os
import shutil

import numpy as np
import pytest
import yaml

from kerasjet.hls.config import load_config, read_yaml
from kerasjet.hls.convert import deploy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS = sorted(glob.glob(os.path.join(ROOT, "hls_configs", "*.yml")))
SMALL = [c for c in CONFIGS if read_yaml(c)["kerasjet"]["n_constituents"] <= 32]


def test_every_model_has_a_config():
    assert len(SMALL) >= 12
    for path in CONFIGS:
        assert os.path.exists(load_config(path)["model"])


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: os.path.basename(p)[:-4])
def test_config_types_are_the_models_quantizer_types(path):
    """A shipped YAML declares exactly the types its model's quantizers fix (scripts/build_models.py
    writes them from the model; a hand-edited or stale type would break bit-exactness)."""
    from kerasjet.hls.config import quantizer_types
    from kerasjet.models import load_model

    declared = {name: settings["Precision"] for name, settings in read_yaml(path)["HLSConfig"]["LayerName"].items()}
    assert declared == quantizer_types(load_model(load_config(path)["model"]))
    assert declared  # every shipped model is quantized: its activations' types at least


def test_rendered_configs(tmp_path):
    """render_shipped_config writes the committed YAML exactly; render_config's relative paths
    resolve against the YAML's own folder (the compression benchmark's configs beside its models)."""
    from kerasjet.hls.config import quantizer_types, render_config, render_shipped_config
    from kerasjet.models import load_model

    path = os.path.join(ROOT, "hls_configs", "nanopelican_c2_n16_8bit.yml")
    config = load_config(path)
    types = quantizer_types(load_model(config["model"]))
    with open(path) as f:
        assert render_shipped_config(os.path.basename(config["model"]), config["description"], 16, types) == f.read()
    (tmp_path / "variants").mkdir()
    shutil.copy(config["model"], tmp_path / "variants" / "c2.h5")
    text = render_config("c2.h5", "hls/c2", "../jets.h5", "a variant", 16, types, "a benchmark")
    (tmp_path / "variants" / "c2.yml").write_text(text)
    rendered = load_config(str(tmp_path / "variants" / "c2.yml"))
    assert rendered["model"] == str(tmp_path / "variants" / "c2.h5")
    assert rendered["output_dir"] == str(tmp_path / "variants" / "hls" / "c2")
    assert rendered["test_data"]["file"] == str(tmp_path / "jets.h5")
    assert rendered["hls4ml"]["HLSConfig"]["LayerName"] == config["hls4ml"]["HLSConfig"]["LayerName"]


def test_hls4ml_type_spelling():
    from kerasjet.errors import KerasjetError
    from kerasjet.hls.config import _vivado_type

    assert _vivado_type("fixed<8,1,RND_CONV,SAT,0>") == "ap_fixed<8,1,AP_RND_CONV,AP_SAT>"
    assert _vivado_type("ufixed<11,3,RND_CONV,SAT,0>") == "ap_ufixed<11,3,AP_RND_CONV,AP_SAT>"
    assert _vivado_type("fixed<2,0,TRN,WRAP,0>") == "ap_fixed<2,0>"
    assert _vivado_type("fixed<16,-2>") == "ap_fixed<16,-2>"
    with pytest.raises(KerasjetError, match="no ap_fixed spelling"):
        _vivado_type("float")


# reuse factor 2 in the fast suite for one model (the serialised multiplications are the same
# code for every layer); every other config at reuse 2 is marked slow (`make test-all`): each C
# simulation is a g++ compile of ~15 s (~25 s on a busy machine)
# the constituent-level peers: the MLP's ternary N = 8 and Deep Sets' 8-bit N = 8 in the fast suite,
# the MLP's 8-bit N = 8 in test_rtl.py's Verilator chain (csim included), Deep Sets' ternary N = 8
# traced there; their larger N are the same code (slow)
REUSE_2_FAST = ("nanopelican_c2_n16_8bit",)
REUSE_1_SLOW = ("constituent_mlp_n8_8bit", "constituent_mlp_n16_8bit", "constituent_mlp_n16_ternary", "constituent_mlp_n32_8bit",
                "constituent_mlp_n32_ternary", "deep_sets_n8_ternary", "deep_sets_n16_8bit", "deep_sets_n16_ternary",
                "deep_sets_n32_8bit", "deep_sets_n32_ternary",
                # nanoPELICAN at N = 32: the N = 16 code with 4x the pairs, the slowest compiles (make test: 18 min with them)
                "nanopelican_c1_n32_8bit", "nanopelican_c2_n32_8bit", "nanopelican_c3_n32_8bit", "nanopelican_c10_n32_8bit",
                "nanopelican_c2_n32_ternary", "nanopelican_c3_n32_ternary",
                # other widths at N <= 16: the same layer code as the C = 2 and C = 3 8-bit N = 16 configs in the fast suite
                "nanopelican_c1_n16_8bit", "nanopelican_c3_n8_8bit", "nanopelican_c3_n8_ternary", "nanopelican_c3_n16_ternary",
                # C = 3 at N = 16: the C = 2 and C = 10 code; C = 2 8-bit N = 8: its csim is in test_rtl.py's chain;
                # C = 2 ternary N = 8: the N = 16 ternary code
                "nanopelican_c3_n16_8bit", "nanopelican_c2_n8_8bit", "nanopelican_c2_n8_ternary")
CSIM_CASES = [pytest.param(path, 1, id=f"{os.path.basename(path)[:-4]}-1",
                           marks=pytest.mark.slow if os.path.basename(path)[:-4] in REUSE_1_SLOW else ()) for path in SMALL] + [
    pytest.param(path, 2, id=f"{os.path.basename(path)[:-4]}-2",
                 marks=() if os.path.basename(path)[:-4] in REUSE_2_FAST else pytest.mark.slow) for path in SMALL]


@pytest.mark.parametrize("path, reuse_factor", CSIM_CASES)
def test_csim_is_bit_exact(path, reuse_factor, thousand_jets, tmp_path):
    report, _ = deploy(load_config(path), test_file=thousand_jets, jets=1000, reuse_factor=reuse_factor,
                       output_dir=str(tmp_path / "prj"), verbose=False)
    assert report["jets"] == 1000
    assert report["max_abs_diff"] == 0.0 and report["identical_outputs"] == 1.0
    assert report["auc_diff"] <= 0.001 and report["passed"]
    assert report["distinct_outputs"] > 50  # a saturated or constant model would agree trivially
    assert report["auc_csim"] > 0.8
    shutil.rmtree(tmp_path / "prj")


def write_config(tmp_path, changes, config=None):
    """config.yml in tmp_path: ``config`` (default: the shipped N = 8 8-bit YAML, read) with
    ``changes`` ({'dotted.key': value}; None deletes the key)."""
    config = config or read_yaml(os.path.join(ROOT, "hls_configs", "nanopelican_c2_n8_8bit.yml"))
    for dotted, value in changes.items():
        *parents, last = dotted.split(".")
        mapping = config
        for key in parents:
            mapping = mapping.setdefault(key, {})
        if value is None:
            mapping.pop(last)
        else:
            mapping[last] = value
    path = tmp_path / "config.yml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True))
    return str(path)


@pytest.mark.slow  # a float csim compile: its arithmetic is test_hls_plain's float test, here the kerasjet.tolerance keys
def test_float_model_within_tolerance(jets_file, tmp_path):
    from kerasjet.data.pipeline import InputSpec, load_inputs
    from kerasjet.models import build_model, save_model
    from kerasjet.train import momentum_unit
    from test_models import randomise

    inputs, _ = load_inputs(jets_file, InputSpec(8))  # the calibrated unit: d_ij of order 1, as a trained model sees them
    model = build_model("nanopelican", c_hidden=2, n_constituents=8, momentum_scale=momentum_unit(inputs["pmu"], inputs["mask"]))
    model = randomise(model, np.random.default_rng(5))
    save_model(model, str(tmp_path / "float.keras"))
    path = write_config(tmp_path, {"KerasModel": str(tmp_path / "float.keras"), "kerasjet.test_data": {"file": jets_file, "jets": 300},
                                   "OutputDir": str(tmp_path / "prj"), "HLSConfig.Model.Precision.default": "ap_fixed<32,12>",
                                   "kerasjet.tolerance": {"max_abs_diff": 0.05, "decision_agreement": 0.98, "auc_diff": 0.001}})
    report, _ = deploy(load_config(path), verbose=False)
    assert report["passed"], {k: report[k] for k in ("max_abs_diff", "decision_agreement", "auc_diff", "failed_checks")}
    assert 0 < report["max_abs_diff"] < 0.05  # float: close, not identical


def test_registration_is_idempotent(jets_file, tmp_path):
    import kerasjet.hls

    kerasjet.hls.register()
    kerasjet.hls.register()
    report, _ = deploy(load_config(write_config(tmp_path, {"kerasjet.test_data": {"file": jets_file, "jets": 50}})),
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
        pytest.skip(f"{config['backend']} HLS (vivado_hls / vitis-run) is not on PATH")
    report, hls_model = deploy(config, test_file=jets_file, jets=100, reuse_factor=reuse_factor, output_dir=str(tmp_path / "prj"),
                               verbose=False)
    synthesis = synthesize(hls_model, str(tmp_path / "prj"), config["backend"], cosim=False)
    assert synthesis["latency_cycles"][1] > 0 and synthesis["interval_cycles"][0] >= 1


def test_synthesis_reaches_the_tool(tmp_path, monkeypatch):
    """--synth runs hls4ml's build(csim=False, synth=True, ...) through the backend's tool: a
    stand-in vivado_hls on PATH records its command line and writes no report, which is then
    one clear error."""
    import hls4ml

    from kerasjet.errors import KerasjetError
    from kerasjet.hls.synthesis import synthesize
    from kerasjet.models import load_model

    tools = tmp_path / "bin"
    tools.mkdir()
    (tools / "vivado_hls").write_text(f'#!/bin/sh\necho "$@" > {tmp_path}/called\n')
    (tools / "vivado_hls").chmod(0o755)
    monkeypatch.setenv("PATH", f"{tools}:{os.environ['PATH']}")
    model = load_model(os.path.join(ROOT, "models", "nanopelican_c2_n8_8bit.h5"))
    hls_model = hls4ml.converters.convert_from_keras_model(model, output_dir=str(tmp_path / "prj"), backend="Vivado",
                                                           hls_config=hls4ml.utils.config_from_keras_model(model, granularity="name"))
    hls_model.write()
    with pytest.raises(KerasjetError, match="no C synthesis report"):
        synthesize(hls_model, str(tmp_path / "prj"), "Vivado", cosim=False)
    assert "csim=False synth=True cosim=False" in (tmp_path / "called").read_text()
