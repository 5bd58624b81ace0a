"""The open firmware path at N = 8: Keras == da4ml emulation == Verilator RTL == hls4ml csim,
integer for integer on 1000 jets; Yosys synthesis (slow) and its parser; rtl: config errors."""

import json
import os

import numpy as np
import pytest
import yaml

from kerasjet.cli import main
from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.hls.config import load_config, read_yaml
from kerasjet.hls.convert import deploy
from kerasjet.models import load_model, n_constituents_of
from kerasjet.rtl.flow import build_rtl, csim_outputs
from kerasjet.rtl.yosys import parse_stat

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIG = os.path.join(ROOT, "hls_configs", "nanopelican_c2_n8_8bit.yml")


def run_chain(name, jets_file, work, csim=True, **rtl):
    """(report, model, inputs, csim outputs or None) of the shipped model ``name`` on the 1000
    jets of ``jets_file``: the hls4ml C simulation (if ``csim``), then build_rtl(**rtl) in ``work``."""
    model = load_model(os.path.join(ROOT, "models", f"{name}.h5"))
    inputs, _ = load_inputs(jets_file, InputSpec(n_constituents_of(model)), 0, 1000)
    outputs = None
    if csim:
        config = load_config(os.path.join(ROOT, "hls_configs", f"{name}.yml"))
        _, hls_model = deploy(config, test_file=jets_file, jets=1000, output_dir=str(work / "hls"), verbose=False)
        outputs = csim_outputs(hls_model, model, inputs)
    report = build_rtl(model, inputs, str(work / "rtl"), csim=outputs, verbose=False, **rtl)
    return report, model, inputs, outputs


@pytest.fixture(scope="module")
def chain(thousand_jets, tmp_path_factory):
    """The bit-exact chain on the shipped 8-bit nanoPELICAN C=2 at N = 8 (Yosys, two minutes of
    synthesis, in the slow test_yosys_report)."""
    work = tmp_path_factory.mktemp("rtl")
    return (*run_chain(os.path.basename(CONFIG)[:-4], thousand_jets, work, synthesis=False), work)


def test_bit_exact_chain(chain):
    report, model, inputs, csim, _ = chain
    assert report["jets"] == 1000
    assert report["keras_vs_emulation_mismatches"] == 0
    assert report["verilator_vs_emulation_mismatches"] == 0
    assert report["csim_vs_emulation_mismatches"] == 0 and report["bit_exact"]
    keras = model.predict(inputs, verbose=0)[:, 0]
    lsb = 2.0 ** -9  # the logit type, quantized_bits(16, 6)
    np.testing.assert_array_equal(np.round(csim / lsb).astype(np.int64), np.round(keras / lsb).astype(np.int64))
    assert len(np.unique(keras)) > 50


@pytest.mark.slow
def test_yosys_report(thousand_jets, tmp_path):
    work = tmp_path
    report, *_ = run_chain(os.path.basename(CONFIG)[:-4], thousand_jets, work, csim=False, verilator=False)
    resources = report["resources"]
    assert resources["LUT"] > 0 and resources["FF"] > 0
    assert report["pipeline_stages"] >= 2 and report["latency_cycles"] == report["pipeline_stages"] + 1
    assert report["latency_ns"] == report["latency_cycles"] * 5.0
    stored = json.loads((work / "rtl" / "rtl_report.json").read_text())
    assert stored["resources"] == resources


# the 8-bit MLP's Verilator and csim run (two minutes) is slow: the fast suite's Verilator and csim
# check is the nanoPELICAN chain above
@pytest.mark.parametrize("name, verilator", [("hls4ml_tagger_8bit", False), ("nanopelican_c2_n8_ternary", False),
                                             ("constituent_mlp_n8_ternary", False),
                                             pytest.param("constituent_mlp_n8_8bit", True, marks=pytest.mark.slow),
                                             ("deep_sets_n8_ternary", False)])
def test_traced_emulation_is_bit_exact(name, verilator, thousand_jets, tmp_path):
    """The dense taggers, the constituent-level peers (Deep Sets: per-constituent φ, the mean as a
    shift) and the ternary model (lookup-table biases) traced without Yosys: Keras == da4ml
    emulation on 1000 jets; for the 8-bit MLP also
    Verilator's RTL simulation == emulation == hls4ml's C simulation."""
    report, *_ = run_chain(name, thousand_jets, tmp_path, csim=verilator, verilator=verilator, synthesis=False)
    assert report["keras_vs_emulation_mismatches"] == 0 and report["bit_exact"]
    assert report["reference"] == "Keras"  # exact in float32: the check stays independent of the traced arithmetic
    if verilator:
        assert report["verilator_vs_emulation_mismatches"] == 0 and report["csim_vs_emulation_mismatches"] == 0


@pytest.mark.parametrize("hidden, relu", [
    ((12, 3), (11, 3)),  # the defaults: equal tops, the ReLU does not round
    ((12, 3), (8, 3)),   # a coarser ReLU that rounds
    ((10, 2), (11, 3)),  # a ReLU reaching above the hidden type: the literal order is traced
])
def test_hidden_relu_matches_the_keras_order(hidden, relu):
    """ReLU(hidden type(pre)) through the QKeras ReLU, as the layers compute it, equals the
    traced form on every value of a grid that saturates both ways."""
    import tensorflow as tf
    from da4ml.trace import FixedVariableArrayInput, comb_trace
    from da4ml.trace.ops import quantize
    from qkeras.quantizers import quantized_bits, quantized_relu

    from kerasjet.quantizers import apply_quantizer, quantize_fixed
    from kerasjet.rtl.trace import _hidden_relu

    hidden_quantizer, relu_quantizer = quantized_bits(*hidden, alpha=1), quantized_relu(*relu)
    grid = np.arange(-2**14, 2**14) / 2.0**10  # [-16, 16) in steps of 2^-10
    pre = np.r_[np.random.default_rng(0).choice(grid, 600, replace=False), np.arange(-16, 16) / 2.0**10]
    inp = FixedVariableArrayInput((len(pre),))
    out = _hidden_relu(quantize(inp, 1, 4, 10), hidden_quantizer, relu_quantizer)
    traced = comb_trace(inp, out).predict(pre[None, :])[0]
    keras = apply_quantizer(relu_quantizer, quantize_fixed(tf.constant(pre), hidden_quantizer, "floor")).numpy()
    np.testing.assert_array_equal(traced, keras)
    assert 0 < np.mean(traced == traced.max()) < 0.9  # both saturations reached


def test_yosys_synthesises_a_small_design(tmp_path):
    """The pinned Yosys (pyosys) maps a registered 8-bit adder for UltraScale+ in seconds: 9
    flip-flops, a few LUTs and a carry chain (the shipped designs' synthesis: test_yosys_report)."""
    from kerasjet.rtl.yosys import synthesize

    (tmp_path / "src" / "static").mkdir(parents=True)
    (tmp_path / "src" / "adder.v").write_text(
        "module adder(input clk, input [7:0] a, input [7:0] b, output reg [8:0] y);\n"
        "  always @(posedge clk) y <= a + b;\nendmodule\n")
    counts = synthesize(tmp_path, "adder")
    assert counts["FF"] == 9 and 0 < counts["LUT"] <= 16 and counts["CARRY"] >= 1 and counts["DSP"] == 0


def test_stat_parser_on_a_stored_yosys_report():
    stat = parse_stat(os.path.join(ROOT, "tests", "data", "yosys_stat.json"), "kerasjet_rtl")
    assert stat == {"LUT": 18086 + 434, "FF": 8282, "CARRY": 3313, "DSP": 272, "BRAM": 0}  # LUT1-6 + SRL16E


@pytest.mark.parametrize("rtl, message", [
    ({"clock_period": 0}, "kerasjet.rtl.clock_period: must be a finite positive number"),
    ({"latency_cutoff": -2}, "kerasjet.rtl.latency_cutoff: must be a finite positive number"),
    ({"family": "stratix"}, "kerasjet.rtl.family: must be one of xcup, xcu, xc7"),
    ({"clock": 5}, "kerasjet.rtl.clock: unknown key"),
    ({"jets": "many"}, "kerasjet.rtl.jets: must be an integer"),
])
def test_bad_rtl_config(rtl, message, tmp_path, capsys):
    config = read_yaml(CONFIG)
    config["kerasjet"]["rtl"] = rtl
    path = tmp_path / "bad.yml"
    path.write_text(yaml.safe_dump(config))
    assert main(["convert", str(path), "--rtl"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0] and "bad.yml" in err[0]


def test_frontier_marks_the_rows_nothing_beats(tmp_path):
    """At each N a row is dominated only by a row at the same N with a higher AUC at no larger
    cost (or the same AUC as printed, to AUC_DIGITS decimals, cheaper); the plot and the table are written."""
    from kerasjet.rtl.frontier import AUC_DIGITS, frontier_table, mark_frontier, plot_frontier

    def row(model, family, n, auc, cost):
        return {"model": model, "family": family, "n_constituents": n, "auc": auc, "cost": cost, "LUT": cost, "DSP": 0, "latency_ns": 50.0}

    rows = [row("a", "nanoPELICAN", 16, 0.95, 100), row("b", "pT-sorted MLP", 16, 0.94, 200),  # b: worse and dearer (than a, f, g)
            row("c", "pT-sorted MLP", 16, 0.96, 300), row("d", "nanoPELICAN", 16, 0.95, 150),   # d: same AUC, dearer
            row("e", "pT-sorted MLP", 8, 0.90, 50),                                              # alone at its N
            row("f", "nanoPELICAN", 16, 0.95 + 0.3 * 10 ** -AUC_DIGITS, 150),  # f: higher only below the printed digit, dearer
            row("g", "Deep Sets", 16, 0.95 + 0.7 * 10 ** -AUC_DIGITS, 160)]    # g: higher in the printed digit, dearer
    marked = {r["model"]: r for r in mark_frontier(rows)}
    assert [m for m in "abcdefg" if marked[m]["on_frontier"]] == ["a", "c", "e", "g"]
    assert marked["b"]["dominated_by"] == "g" and marked["d"]["dominated_by"] == "a" and marked["f"]["dominated_by"] == "a"
    table = frontier_table(list(marked.values()), [{"model": "P", "n_constituents": 16, "latency_ns": 54, "LUT": 44000, "DSP": 0}])
    assert "| f | 150 | 150 | 0 | 50 | 0.9500 | no: a |" in table and "| g | 160 | 160 | 0 | 50 | 0.9501 | **yes** |" in table
    assert "| b | 200 |" in table and "no: a" in table and "**N = 8**" in table and "P, N = 16" in table
    plot_frontier(list(marked.values()), str(tmp_path / "pareto.png"), [{"model": "P", "n_constituents": 16, "LUT": 44000, "DSP": 0}])
    assert (tmp_path / "pareto.png").stat().st_size > 10000 and not list(tmp_path.glob("*.tmp*"))


def test_frontier_labels_never_overlap():
    """Labels of points that crowd one spot are stacked LABEL_GAP apart, above the lowest point;
    labels far apart in x stay at their points' heights."""
    from kerasjet.rtl.frontier import LABEL_GAP, label_heights

    crowd = [(0.5, 0.1 + 0.001 * i) for i in range(8)] + [(0.9, 0.1)]
    placed = label_heights(crowd)
    heights = sorted(y for x, y in placed if x == 0.5)
    assert heights[0] == 0.1 and all(b - a >= LABEL_GAP - 1e-9 for a, b in zip(heights, heights[1:]))
    assert (0.9, 0.1) in placed
