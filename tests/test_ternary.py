"""The ternary (BitLinear) recipe: β per group, levels, straight-through gradients, static
activation scales equal to the calibrated absmax, a tiny training run that keeps every hidden
channel's readout, and bit-exact C simulation of a recipe model at N = 8."""

import os

import numpy as np
import pytest
import tensorflow as tf

from kerasjet.compress import compress, folded_nanopelican, quantize_dense, quantize_nanopelican
from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.hls.types import from_quantizer
from kerasjet.models import build_model, save_model
from kerasjet.quantizers import bitlinear_ternary
from kerasjet.train import RunConfig, build_run_model

from test_models import randomise

RNG = np.random.default_rng(15)
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _po2(x):
    return 2.0 ** np.round(np.log2(x))


@pytest.mark.parametrize("shape, options, kept", [
    ((6, 1, 4), {"group_axis": 0}, 0),          # LinEq2→2: one β per basis element
    ((2, 5, 1), {"group_axis": 1}, 1),          # LinEq2→0 readout: one β per hidden channel
    ((16, 8), {"per_channel": True}, 1),        # Dense: one β per output channel
    ((16, 8), {}, None),                        # per tensor
])
def test_ternary_levels_beta_per_group_and_straight_through(shape, options, kept):
    scale_shape = [shape[i] if i == kept else 1 for i in range(len(shape))]  # groups 1000× apart in scale
    w = tf.Variable((RNG.normal(size=shape) * np.logspace(-2, 1, int(np.prod(scale_shape))).reshape(scale_shape)).astype(np.float32))
    q = bitlinear_ternary(po2_scale=True, **options)
    upstream = RNG.normal(size=shape).astype(np.float32)
    with tf.GradientTape() as tape:
        out = q(w)
        loss = tf.reduce_sum(out * upstream)
    axes = tuple(i for i in range(len(shape)) if i != kept) if kept is not None else None
    beta = _po2(np.abs(w.numpy()).mean(axis=axes, keepdims=True) + q.epsilon)
    np.testing.assert_allclose(out.numpy(), beta * np.clip(np.round(w.numpy() / beta), -1, 1), rtol=1e-6)
    codes = np.round(out.numpy() / beta, 6)
    assert set(np.unique(codes)) <= {-1.0, 0.0, 1.0}
    np.testing.assert_array_equal(tape.gradient(loss, w).numpy(), upstream)  # straight through


def test_readout_keeps_every_hidden_channel_whatever_its_scale():
    """Weights of two hidden channels 100× apart: a per-tensor β zeroes the weak one, a β per
    hidden channel keeps it (absmean of two weights, rounded to a power of two: |w|/β > 1/2)."""
    kernel = np.array([[[-2.3], [0.02]], [[1.3], [0.015]]], np.float32)  # (2 readout terms, 2 channels, 1)
    per_channel = bitlinear_ternary(po2_scale=True, group_axis=1)(kernel).numpy()
    assert np.all(np.any(per_channel != 0, axis=(0, 2)))
    assert not np.any(bitlinear_ternary(po2_scale=True)(kernel).numpy()[:, 1])


@pytest.fixture(scope="module")
def calibration(jets_file):
    return load_inputs(jets_file, InputSpec(n_constituents=8), 0, 300)[0]


def test_static_activation_scales_are_the_calibrated_absmax(calibration):
    model = randomise(build_model("nanopelican", c_hidden=3, n_constituents=8))
    folded = folded_nanopelican(model, calibration)
    relu_max = np.max(tf.keras.Model(folded.inputs, folded.get_layer("relu").output).predict(calibration, verbose=0))
    relu = quantize_nanopelican(model, "ternary", calibration).get_layer("relu").quantizer
    assert relu.bits == 8 and relu.integer == min(int(np.ceil(np.log2(relu_max))), 3)

    dense = build_model("hls4ml_tagger", n_constituents=8)
    inputs = tf.keras.Model(dense.inputs, [layer.input for layer in dense.layers if isinstance(layer, tf.keras.layers.Dense)])
    absmax = [np.abs(x).max() for x in inputs.predict(calibration, verbose=0)]
    quantized = quantize_dense(dense, "ternary", calibration)
    for name, largest in zip(["dense_0", "dense_1", "dense_2", "logit"], absmax):
        fixed = from_quantizer(quantized.get_layer(f"{name}_input").quantizer)
        assert fixed.width == 8 and fixed.max_abs == max(2.0 ** np.ceil(np.log2(largest)), 1.0)
        kernel_quantizer = quantized.get_layer(name).kernel_quantizer_internal
        assert isinstance(kernel_quantizer, bitlinear_ternary) and kernel_quantizer.per_channel
    ends = quantize_dense(dense, "ternary", calibration, placement="ends-8bit")
    assert [isinstance(ends.get_layer(n).kernel_quantizer_internal, bitlinear_ternary) for n in ["dense_0", "dense_1", "logit"]] \
        == [False, True, False]


@pytest.fixture(scope="module")
def recipe_model(jets_file, tmp_path_factory):
    """A nanoPELICAN C = 3, N = 8, as `kerasjet train` starts it (calibrated momentum unit,
    data-dependent initialisation, no BatchNorm), made ternary by the default recipe (2 epochs on
    300 jets)."""
    config = RunConfig(model="nanopelican", model_kwargs=dict(c_hidden=3, n_constituents=8, batchnorm=False), train=jets_file,
                       val=jets_file)
    tf.keras.utils.set_random_seed(3)  # the initial weights, whatever ran before
    model, _ = build_run_model(config, config.input_spec())
    ternary = compress(model, jets_file, jets_file, "ternary", epochs=2, verbose=0)
    path = str(tmp_path_factory.mktemp("ternary") / "c3_n8_ternary.h5")
    save_model(ternary, path)
    return ternary, path


def test_recipe_keeps_every_hidden_channel_read_out(recipe_model):
    model, _ = recipe_model
    readout = model.get_layer("lineq_2to0").effective_weights()["kernel"].numpy()  # (2, C, 1)
    assert np.all(np.any(readout != 0, axis=(0, 2))), readout[..., 0]
    hidden = model.get_layer("lineq_2to2").effective_weights()["kernel"].numpy()
    for element in hidden:  # ternary: one power-of-two β per basis element
        beta = np.unique(np.abs(element[element != 0]))
        assert len(beta) <= 1 and np.all(np.log2(beta) == np.round(np.log2(beta)))


def test_recipe_model_csim_and_da4ml_are_bit_exact(recipe_model, jets_file, calibration, tmp_path):
    """hls4ml csim == Keras == da4ml emulation (the RTL's source; Verilator: tests/test_rtl.py)."""
    from kerasjet.hls.config import load_config
    from kerasjet.hls.convert import deploy
    from kerasjet.rtl.flow import build_rtl, csim_outputs

    model, path = recipe_model
    config = load_config(os.path.join(ROOT, "hls_configs", "nanopelican_c2_n8_ternary.yml"))
    config["model"] = config["hls4ml"]["KerasModel"] = path
    relu = from_quantizer(model.get_layer("relu").quantizer)
    config["hls4ml"]["HLSConfig"]["LayerName"]["relu"]["Precision"]["result"] = relu.cpp("AP_RND_CONV", "AP_SAT")
    report, hls_model = deploy(config, test_file=jets_file, jets=300, reuse_factor=1, output_dir=str(tmp_path / "prj"), verbose=False)
    assert report["max_abs_diff"] == 0.0 and report["identical_outputs"] == 1.0 and report["passed"]
    assert report["distinct_outputs"] > 20, report["distinct_outputs"]  # agreement on many different outputs, not on a constant
    rtl = build_rtl(model, calibration, str(tmp_path / "rtl"), verilator=False, synthesis=False,
                    csim=csim_outputs(hls_model, model, calibration), verbose=False)
    assert rtl["keras_vs_emulation_mismatches"] == 0 and rtl["csim_vs_emulation_mismatches"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("placement", ["all", "ends-8bit"])
def test_dense_tagger_with_a_beta_per_output_channel_csim_is_bit_exact(placement, jets_file, calibration, tmp_path):
    """hls4ml's QDense gets the narrowest ap_fixed holding every power-of-two β_j (kerasjet.hls.quantizers)."""
    from qkeras import QActivation

    from kerasjet.hls.config import load_config
    from kerasjet.hls.convert import deploy

    tf.keras.utils.set_random_seed(4)
    model = quantize_dense(build_model("hls4ml_tagger", n_constituents=8), "ternary", calibration, placement=placement)
    path = str(tmp_path / "tagger.h5")
    save_model(model, path)
    config = load_config(os.path.join(ROOT, "hls_configs", "hls4ml_tagger_bitlinear.yml"))
    config.update(model=path, n_constituents=8)
    config["hls4ml"]["KerasModel"] = path
    config["hls4ml"]["HLSConfig"]["LayerName"] = {  # the activations' types only: the weights' come from their quantizers
        layer.name: {"Precision": {"result": from_quantizer(layer.quantizer).cpp("AP_RND_CONV", "AP_SAT")}}
        for layer in model.layers if isinstance(layer, QActivation)}
    report, _ = deploy(config, test_file=jets_file, jets=300, reuse_factor=1, output_dir=str(tmp_path / "prj"), verbose=False)
    assert report["max_abs_diff"] == 0.0 and report["identical_outputs"] == 1.0 and report["passed"]
    assert report["distinct_outputs"] > 10, report["distinct_outputs"]  # untrained, all-ternary: few distinct logits
