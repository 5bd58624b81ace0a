"""Quantizers, quantized layers, pruning: values on their grids, STE gradients, equivalences,
save/load."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from qkeras import quantized_bits

from kerasjet.compress import folded_nanopelican, fine_tune, quantize_dense, quantize_nanopelican, sparsity
from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.layers import LinEq2to0, LinEq2to2, LorentzDot, QLinEq2to0, QLinEq2to2, QLorentzDot
from kerasjet.models import build_model, load_model, save_model
from kerasjet.quantizers import StaticAbsmax, absmax_quantizer, bitlinear_ternary, blockwise_bits, lsb, pair_po2_bits, quantize_fixed

from test_models import randomise

RNG = np.random.default_rng(8)


@pytest.mark.parametrize("per_channel", [False, True])
def test_bitlinear_ternary_values_and_straight_through_gradient(per_channel):
    w = tf.Variable(RNG.normal(size=(6, 4)).astype(np.float32))
    q = bitlinear_ternary(per_channel=per_channel)
    with tf.GradientTape() as tape:
        out = q(w)
        loss = tf.reduce_sum(out * tf.range(24, dtype=tf.float32)[:, None][:6 * 4].numpy().reshape(6, 4))
    beta = np.abs(w.numpy()).mean(axis=0 if per_channel else None, keepdims=per_channel)
    np.testing.assert_allclose(out.numpy(), beta * np.clip(np.round(w.numpy() / beta), -1, 1), rtol=1e-6)
    assert set(np.unique(np.round(out.numpy() / beta, 6))) <= {-1.0, 0.0, 1.0}
    np.testing.assert_array_equal(tape.gradient(loss, w).numpy(), np.arange(24, dtype=np.float32).reshape(6, 4))


def test_bitlinear_power_of_two_scale_and_config():
    w = RNG.normal(0, 0.3, (10, 3)).astype(np.float32)
    q = bitlinear_ternary(po2_scale=True)
    beta = float(q.scale(w).numpy().ravel()[0])
    assert np.log2(beta) == np.round(np.log2(beta))
    assert abs(np.log2(beta) - np.log2(np.abs(w).mean())) <= 0.5
    assert bitlinear_ternary.from_config(q.get_config()).get_config() == q.get_config()
    assert q.bits == 2 and q.max() == 1.0 and q.min() == -1.0


def test_absmax_quantizers():
    x = RNG.normal(size=(5, 7)).astype(np.float32)
    out = absmax_quantizer(8)(x).numpy()
    gamma = np.abs(x).max(axis=1, keepdims=True) + 1e-5  # the quantizer's epsilon
    codes = out * 128 / gamma
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-3)
    assert (np.abs(codes) <= 128).all() and np.abs(out - x).max() <= gamma.max() / 128
    static = StaticAbsmax(bits=8, momentum=0.5)
    static(x, training=True)
    gamma = float(static.gamma().numpy())
    assert gamma == 2.0 ** np.ceil(np.log2(np.abs(x).max()))
    codes = static(x).numpy() * 128 / gamma
    np.testing.assert_allclose(codes, np.round(codes), atol=1e-4)


def test_quantize_fixed_matches_qkeras_quantized_bits_and_truncates():
    x = RNG.normal(0, 3, 1000).astype(np.float32)
    x[:50] = np.round(x[:50] * 8) / 8 + 1 / 16  # exact ties at 3 fractional bits
    for bits, integer in [(8, 2), (12, 3), (6, 0)]:
        q = quantized_bits(bits, integer, alpha=1)
        np.testing.assert_array_equal(quantize_fixed(tf.constant(x), q).numpy(), q(x).numpy())
        np.testing.assert_array_equal(quantize_fixed(tf.constant(x, tf.float64), q).numpy(), q(x).numpy().astype(np.float64))
        step = 2.0 ** (integer - bits + 1)
        floor = np.clip(np.floor(x.astype(np.float64) / step), -(2 ** (bits - 1)), 2 ** (bits - 1) - 1) * step
        np.testing.assert_array_equal(quantize_fixed(tf.constant(x, tf.float64), q, "floor").numpy(), floor)


@pytest.fixture(scope="module")
def inputs(jets_file):
    x, y = load_inputs(jets_file, InputSpec(n_constituents=16), 0, 200)
    return x


def test_quantized_layers_without_quantizers_are_the_float_layers(inputs):
    pmu, mask = inputs["pmu"], inputs["mask"]
    d = LorentzDot(100.0)([pmu, mask])
    qd = QLorentzDot(100.0)([pmu, mask])
    np.testing.assert_allclose(qd, d, rtol=1e-5, atol=1e-5)  # float64 vs float32 cancellation on d_ii ≈ m² ≈ 0
    for float_layer, q_layer in ((LinEq2to2(3, n_bar=64, multiplicity_degree=2), QLinEq2to2(3, multiplicity_degree=2)),
                                 (LinEq2to0(2, n_bar=64, multiplicity_degree=1), QLinEq2to0(2, multiplicity_degree=1))):
        float_layer([d, mask]), q_layer([d, mask])
        weights = [RNG.normal(size=w.shape).astype(np.float32) for w in float_layer.get_weights()]
        float_layer.set_weights(weights)
        q_layer.set_weights(weights)
        np.testing.assert_allclose(q_layer([d, mask]), float_layer([d, mask]), rtol=1e-4, atol=1e-5)
        d_next = q_layer([d, mask])
    with pytest.raises(ValueError, match="power of two"):
        QLinEq2to2(2, n_bar=49)


@pytest.mark.parametrize("bits", ["8", "ternary"])
def test_quantized_nanopelican_outputs_lie_on_their_grids(bits, inputs, tmp_path):
    model = randomise(build_model("nanopelican", c_hidden=2, n_constituents=16))
    quantized = quantize_nanopelican(model, bits, inputs)
    logits = quantized.predict(inputs, verbose=0)[:, 0]
    output_type = quantized.get_layer("lineq_2to0").output_quantizer
    codes = logits / lsb(output_type)
    np.testing.assert_array_equal(codes, np.round(codes))
    hidden = tf.keras.Model(quantized.inputs, quantized.get_layer("lineq_2to2").output).predict(inputs, verbose=0)
    hidden_codes = hidden / lsb(quantized.get_layer("lineq_2to2").output_quantizer)
    np.testing.assert_array_equal(hidden_codes, np.round(hidden_codes))
    kernel = quantized.get_layer("lineq_2to2").effective_weights()["kernel"].numpy()
    for element in kernel:  # one ternary β per basis element, or one binary point per weight
        nonzero = np.abs(element[element != 0])
        if bits == "ternary":
            assert len(np.unique(nonzero)) <= 1 and np.all(np.log2(nonzero) == np.round(np.log2(nonzero)))
        elif len(nonzero):
            step = 2.0 ** (np.ceil(np.log2(nonzero)) - 7)
            np.testing.assert_array_equal(nonzero / step, np.round(nonzero / step))
            assert np.abs(nonzero / step).max() <= 128
    save_model(quantized, str(tmp_path / "q.h5"))
    np.testing.assert_array_equal(load_model(str(tmp_path / "q.h5")).predict(inputs, verbose=0)[:, 0], logits)


def test_folding_to_the_firmware_form_keeps_the_outputs(inputs):
    model = randomise(build_model("nanopelican", c_hidden=3, n_constituents=16))
    folded = folded_nanopelican(model, inputs, target=2.0)
    np.testing.assert_allclose(folded.predict(inputs, verbose=0), model.predict(inputs, verbose=0), rtol=1e-4, atol=1e-4)
    assert folded.get_layer("lineq_2to2").n_bar == 64


def test_pair_po2_bits_makes_the_pair_weights_powers_of_two():
    w = tf.constant(RNG.normal(0, 3, (6, 1, 4)).astype(np.float32) * np.array([1, 1e-2, 1, 10, 100, 1e3], np.float32)[:, None, None])
    w = tf.tensor_scatter_nd_update(w, [[0, 0, 3]], [0.0])  # a zero pair weight stays zero
    quantizer = pair_po2_bits(8)
    with tf.GradientTape() as tape:
        tape.watch(w)
        q = quantizer(w)
    pair = q.numpy()[0].ravel()
    assert pair[3] == 0
    np.testing.assert_array_equal(np.log2(np.abs(pair[:3])), np.round(np.log2(np.abs(pair[:3]))))
    ratio = np.abs(pair[:3] / w.numpy()[0].ravel()[:3])  # the nearest power of two on a log scale
    assert np.all((ratio >= 2**-0.5) & (ratio <= 2**0.5)) and np.all(np.sign(pair[:3]) == np.sign(w.numpy()[0].ravel()[:3]))
    np.testing.assert_array_equal(q.numpy()[1:], blockwise_bits(8, axis=(0, 1, 2))(w).numpy()[1:])
    np.testing.assert_array_equal(tape.gradient(q, w).numpy(), np.ones(w.shape))  # straight through
    assert pair_po2_bits.from_config(quantizer.get_config()).get_config() == quantizer.get_config()


def test_power_of_two_pair_form_is_the_same_function(inputs):
    """ReLU homogeneity: the folded model whose d_ij weights are signed powers of two equals the
    trained model on a grid of inputs — the jets with momenta scaled by 1/4 … 4 (softer and harder
    pairs) and with 1 … N constituents kept."""
    model = randomise(build_model("nanopelican", c_hidden=3, n_constituents=16))
    po2 = folded_nanopelican(model, inputs, pair_po2=True)
    pair = po2.get_layer("lineq_2to2").kernel.numpy()[0, 0]
    np.testing.assert_array_equal(np.log2(np.abs(pair)), np.round(np.log2(np.abs(pair))))
    plain = folded_nanopelican(model, inputs).get_layer("lineq_2to2").kernel.numpy()[0, 0]
    assert np.all(np.abs(np.log2(np.abs(pair / plain))) <= 0.5 + 1e-6)  # within √2 of the range-filling scale
    for scale in (0.25, 1.0, 4.0):
        for kept in (1, 5, 16):
            grid = {"pmu": inputs["pmu"][:200] * scale, "mask": inputs["mask"][:200] * (np.arange(16) < kept)}
            np.testing.assert_allclose(po2.predict(grid, verbose=0), model.predict(grid, verbose=0), rtol=1e-4, atol=1e-4)
    quantized = quantize_nanopelican(model, "8", inputs)
    q_pair = quantized.get_layer("lineq_2to2").effective_weights()["kernel"].numpy()[0, 0]
    np.testing.assert_array_equal(q_pair, pair)  # the quantized model keeps the exact powers of two


def test_pruning_reaches_the_target_and_survives_save_and_qat(jets_file, inputs, tmp_path):
    model = build_model("hls4ml_tagger", n_constituents=16)
    pruned = fine_tune(model, jets_file, jets_file, epochs=2, batch_size=64, prune_to=0.7, verbose=0)
    assert sparsity(pruned) == pytest.approx(0.7, abs=0.02)
    save_model(pruned, str(tmp_path / "p.keras"))
    reloaded = load_model(str(tmp_path / "p.keras"))
    assert sparsity(reloaded) == sparsity(pruned)
    np.testing.assert_array_equal(reloaded.predict(inputs, verbose=0), pruned.predict(inputs, verbose=0))
    quantized = quantize_dense(reloaded, "8", inputs)
    assert sparsity(quantized) >= 0.69  # zeros stay zero through the quantizers
    pruned_nano = fine_tune(folded_nanopelican(randomise(build_model("nanopelican", c_hidden=2, n_constituents=16)), inputs),
                            jets_file, jets_file, epochs=2, batch_size=64, prune_to=0.5, verbose=0)
    assert sparsity(pruned_nano) >= 0.45


def test_dense_input_type_keeps_keras_exact_in_float32(inputs):
    """The first QDense of a fixed-point dense tagger gets the widest input type (≤ 16 bits) whose
    products and sums fit float32's 24-bit significand (16-bit inputs × 8-bit weights over the 48
    inputs of the N = 16 constituent MLP would need 29 bits)."""
    from kerasjet.compress import exact_input_bits

    assert [exact_input_bits(n, 8) for n in (16, 24, 48, 96)] == [13, 13, 12, 11]
    assert exact_input_bits(8, 4) == 16  # capped
    for n, bits in ((16, 8), (96, 8), (300, 6)):
        assert np.ceil(np.log2(n + 1)) + (exact_input_bits(n, bits) - 1) + (bits - 1) <= 24
    model = build_model("constituent_mlp", n_constituents=16)
    quantized = quantize_dense(model, "8", inputs)
    assert quantized.get_layer("dense_0_input").quantizer.bits == 12


def test_sixteen_bit_dense_tagger_converts_bit_exactly_against_its_fixed_point_arithmetic(inputs, jets_file, tmp_path):
    """16-bit inputs × 16-bit weights need more than float32's 24 bits, so QKeras' logits are
    rounded; the exact fixed-point logits (float64: kerasjet.rtl.trace.exact_dense_logits, the
    arithmetic da4ml traces) are what hls4ml's C simulation computes, bit for bit, through the
    YAML a benchmark writes (render_config), and what the open RTL flow checks its emulation
    against; sums beyond float64's 53 bits are refused."""
    from kerasjet.errors import KerasjetError
    from kerasjet.hls.config import load_config, quantizer_types, render_config
    from kerasjet.hls.convert import deploy, firmware_view, fixed_point_reference, quantized_features
    from kerasjet.rtl.flow import build_rtl, csim_outputs
    from kerasjet.rtl.trace import exact_dense_logits

    tf.keras.utils.set_random_seed(16)
    inputs = {key: value[:, :8] for key, value in inputs.items()}
    # the pT-sorted MLP at N = 8 (1,345 weights): the hls4ml-style tagger of the compression table
    # rounds the same way, but its 16-bit trace takes a minute
    model = quantize_dense(build_model("constituent_mlp", n_constituents=8), "16", inputs)
    view, arrays, _, keras = firmware_view(model, inputs)
    rows = quantized_features(view, arrays[0])
    exact = exact_dense_logits(view, rows)
    assert np.any(exact != keras) and np.max(np.abs(exact - keras)) < 1e-3  # float32 rounding, not another model

    save_model(model, str(tmp_path / "mlp_16.h5"))
    (tmp_path / "mlp_16.yml").write_text(render_config("mlp_16.h5", "hls", "jets.h5", "16-bit MLP", 8,
                                                       quantizer_types(model), "tests/test_compress.py"))
    os.symlink(jets_file, tmp_path / "jets.h5")
    report, hls_model = deploy(load_config(str(tmp_path / "mlp_16.yml")), jets=300, verbose=False)
    assert report["reference"] == "exact fixed point" and report["passed"]
    assert report["max_abs_diff"] == 0.0 and report["identical_outputs"] == 1.0 and report["keras_vs_exact_max_abs_diff"] > 0
    # the emulation and the exact logits share the traced walk: hls4ml's C simulation is the independent check
    rtl = build_rtl(model, inputs, str(tmp_path / "rtl"), verilator=False, synthesis=False, verbose=False,
                    csim=csim_outputs(hls_model, model, inputs))
    assert rtl["reference"] == "exact fixed point" and rtl["exact_vs_emulation_mismatches"] == 0
    assert rtl["csim_vs_emulation_mismatches"] == 0 and rtl["bit_exact"]
    assert rtl["keras_vs_emulation_mismatches"] > 0  # float32's rounding, reported but not the reference
    wide = quantize_dense(build_model("constituent_mlp", n_constituents=8), "32", inputs)
    wide_view, wide_arrays = firmware_view(wide, inputs)[:2]
    with pytest.raises(KerasjetError, match="more than float64 holds exactly"):
        exact_dense_logits(wide_view, rows)
    assert fixed_point_reference(wide, wide_arrays) is None  # convert.py then compares with Keras


def test_deep_sets_quantizes_at_power_of_two_n_only(inputs):
    """Deep Sets' mean over N slots is a shift only for N = 2^e: quantizing it at N = 12 is refused
    with a clear error; at N = 16 the φ layers stay bias-free QConv1D and the mean gets its own
    (exact-in-float32) input type before the head."""
    from qkeras import QConv1D

    from kerasjet.errors import KerasjetError

    with pytest.raises(KerasjetError, match="N = 12.*power of two"):
        quantize_dense(build_model("deep_sets", n_constituents=12), "8", {k: v[:, :12] for k, v in inputs.items()})
    quantized = quantize_dense(build_model("deep_sets", n_constituents=16), "8", inputs)
    phi = [layer for layer in quantized.layers if isinstance(layer, QConv1D)]
    assert [layer.name for layer in phi] == ["phi_0", "phi_1"] and not any(layer.use_bias for layer in phi)
    assert quantized.get_layer("rho_0_input").quantizer.bits == 13  # 16 inputs × 8-bit weights: exact_input_bits


def test_rounding_benchmark_table_and_refusal(jets_file, tmp_path):
    """benchmarks/rounding.py: a float and five rounded AUCs per model (nanoPELICAN and a dense
    tagger); a model kerasjet cannot quantize (Deep Sets at N = 12) is refused before any work with
    one error line and no table."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    nano, dense, odd = (str(tmp_path / f"{name}.keras") for name in ("nano", "dense", "odd"))
    save_model(randomise(build_model("nanopelican", c_hidden=2, n_constituents=8)), nano)
    save_model(build_model("hls4ml_tagger", n_constituents=16), dense)
    save_model(build_model("deep_sets", n_constituents=12), odd)
    command = [sys.executable, f"{root}/benchmarks/rounding.py", "--train", jets_file, "--test", jets_file, "--jets", "200"]
    done = subprocess.run([*command, nano, dense, "--results", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = json.loads((tmp_path / "out" / "rounding.json").read_text())["rows"]
    assert [(r["model"], r["n_constituents"]) for r in rows] == [(nano, 8), (dense, 16)]
    for row in rows:
        assert set(row["auc"]) == {"float", "8-bit", "6-bit", "4-bit", "ternary", "ternary, ends 8-bit"}
        assert all(0 <= v <= 1 for v in row["auc"].values())
    refused = subprocess.run([*command, nano, odd, "--results", str(tmp_path / "refused")], capture_output=True, text=True, timeout=600)
    assert refused.returncode != 0 and "Traceback" not in refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith(f"kerasjet: error: {odd}: model 'deep_sets' at N = 12: ")
    assert "AUC" not in refused.stdout and not (tmp_path / "refused").exists()


def test_compress_writes_a_yaml_that_converts_bit_exactly_untouched(jets_file, inputs, tmp_path):
    """Your own model to firmware in three commands (issue 43, item 5): `kerasjet compress` writes
    the deployment YAML beside the quantized model — precisions from its quantizers, N from its
    input, paths relative to the YAML, the test jets named — and `python convert.py THAT.yml`,
    run from another folder, converts it untouched, prints da4ml's estimate before compiling,
    and its C simulation agrees with Keras bit for bit."""
    from kerasjet.cli import main
    from kerasjet.hls.config import load_config, quantizer_types, read_yaml
    from kerasjet.models.nanopelican import initialise_from_data, nanopelican

    tf.keras.utils.set_random_seed(3)
    model = nanopelican(2, 8, batchnorm=False)
    initialise_from_data(model, {key: value[:, :8] for key, value in inputs.items()})
    (tmp_path / "work").mkdir()
    model.save(str(tmp_path / "work" / "float.keras"))
    out = tmp_path / "work" / "mine_8bit.h5"
    assert main(["compress", str(tmp_path / "work" / "float.keras"), "--train", jets_file, "--val", jets_file,
                 "--out", str(out), "--bits", "8", "--epochs", "0"]) == 0
    path = tmp_path / "work" / "mine_8bit.yml"
    raw = read_yaml(str(path))
    config = load_config(str(path))
    text = path.read_text()
    assert "KerasModel: !kerasjet_model mine_8bit.h5\n" in text and "OutputDir: !kerasjet_path hls_mine_8bit\n" in text
    assert f"    file: {os.path.relpath(jets_file, path.parent)}\n" in text
    assert os.path.samefile(config["test_data"]["file"], jets_file)
    assert config["n_constituents"] == 8
    assert {name: s["Precision"] for name, s in raw["HLSConfig"]["LayerName"].items()} == quantizer_types(load_model(str(out)))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run([sys.executable, os.path.join(root, "convert.py"), str(path)], cwd=elsewhere, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": root})
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.index("resource estimate (da4ml's cost model") < run.stdout.index("compiling the C simulation")
    report = json.loads((tmp_path / "work" / "hls_mine_8bit" / "report.json").read_text())
    assert report["passed"] and report["max_abs_diff"] == 0.0 and report["identical_outputs"] == 1.0


def test_compress_refuses_a_yaml_for_a_float_model(tmp_path):
    from kerasjet.compress import write_hls_config
    from kerasjet.errors import KerasjetError

    model = build_model("nanopelican", c_hidden=2, n_constituents=8, batchnorm=False)
    save_model(model, str(tmp_path / "float.h5"))
    with pytest.raises(KerasjetError, match="has no quantizers"):
        write_hls_config(str(tmp_path / "float.h5"), test_file="jets.h5")
    with pytest.raises(KerasjetError, match="give test_file"):
        write_hls_config(str(tmp_path / "float.h5"))
