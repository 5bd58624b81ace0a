"""Trigger words: the format round-trips, d_ij from words is the Lorentz product of the massless
candidates within the tables' bound (φ wrap-around included), and a word-input nanoPELICAN is
permutation invariant, loads back, trains through kerasjet.train, folds, compresses, and its
firmware is bit-exact (Keras = hls4ml C simulation = da4ml = Verilator)."""

import json
import math

import numpy as np
import pytest

from kerasjet import kinematics
from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.data.words import (CMS_PHASE2, InputFormat, PairTables, WordField, candidate_words, input_format, massless_momenta,
                                 word_mask)
from kerasjet.errors import KerasjetError

RNG = np.random.default_rng(44)


def random_candidates(n_jets=64, n=12, eta0=0.0, phi0=0.0, radius=0.8):
    """Massless candidates (B, N, 4) GeV within ``radius`` of (eta0, phi0), pT 1–500 GeV; the
    last two slots of every jet padding."""
    pt = np.exp(RNG.uniform(0.0, math.log(500.0), (n_jets, n)))
    r, angle = radius * np.sqrt(RNG.uniform(0, 1, (n_jets, n))), RNG.uniform(0, 2 * math.pi, (n_jets, n))
    eta, phi = eta0 + r * np.cos(angle), phi0 + r * np.sin(angle)
    pmu = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1)
    mask = np.ones((n_jets, n))
    mask[:, -2:] = 0
    return pmu * mask[..., None], mask


def inside_tables(tables, words, mask):
    """Whether every pair of real candidates has code differences inside the tables (padding
    pairs clip, harmlessly: their pT is zero)."""
    real = mask.astype(bool)
    pairs = real[:, :, None] & real[:, None, :]
    deta, dphi = tables.indices(words)
    return deta[pairs].max() < tables.size - 1 and dphi[pairs].max() < tables.size - 1


def test_the_cms_phase2_word_round_trips_within_one_lsb():
    pmu, mask = random_candidates()
    words = candidate_words(pmu, mask)
    assert words.dtype == np.int32 and words.shape == pmu.shape[:2] + (3,) and not words[:, -2:].any()
    real = mask.astype(bool)
    pt = CMS_PHASE2.pt.dequantise(words[..., 0])
    assert np.all((kinematics.pt(pmu) - pt)[real] >= 0) and np.all((kinematics.pt(pmu) - pt)[real] < 0.25)  # truncated
    assert np.abs(kinematics.eta(pmu) - CMS_PHASE2.eta.dequantise(words[..., 1]))[real].max() <= math.pi / 1440 + 1e-12
    dphi = kinematics.phi(pmu) - CMS_PHASE2.phi.dequantise(words[..., 2])
    assert np.abs(np.mod(dphi + math.pi, 2 * math.pi) - math.pi)[real].max() <= math.pi / 1440 + 1e-12
    assert CMS_PHASE2.pt.quantise([1e6]) == [2**14 - 1] and CMS_PHASE2.pt.quantise([-1.0]) == [0]  # saturates
    assert CMS_PHASE2.phi.code_range == (-1024, 1023) and CMS_PHASE2.phi_period == 1440
    assert candidate_words(np.array([[[1.0, -1.0, 1e-9, 0.0]]]), np.ones((1, 1)))[0, 0, 2] == -720  # φ = π: −π's code
    soft = candidate_words(np.array([[[0.2, 0.2, 0.0, 0.0], [5.0, 5.0, 0.0, 0.0]]]), np.ones((1, 2)))  # 0.2 GeV: below one step
    assert soft[0, 0, 0] == 0 and word_mask(soft, np.ones((1, 2))).tolist() == [[0.0, 1.0]]  # seen as an empty slot


@pytest.mark.parametrize("phi0", [0.3, math.pi - 0.1, -math.pi + 0.05])
def test_lorentz_products_from_words_are_the_massless_products_within_the_bound(phi0):
    """Jets anywhere in φ, including across ±π (the codes wrap): the tables' d_ij equals p_i·p_j
    of the massless four-vectors the words describe within pT_i pT_j · 2^-F."""
    pmu, mask = random_candidates(eta0=1.2, phi0=phi0)
    words = candidate_words(pmu, mask)
    tables = PairTables()
    got = tables.lorentz_products(words, mask)
    p = massless_momenta(words, mask)
    exact = kinematics.minkowski_dot(p[:, :, None, :], p[:, None, :, :])
    pt = CMS_PHASE2.pt.dequantise(words[..., 0]) * mask
    bound = pt[:, :, None] * pt[:, None, :] * tables.error_bound
    assert np.all(np.abs(got - exact) <= bound + 1e-9 * np.abs(exact))
    assert inside_tables(tables, words, mask)
    if abs(phi0) > 3:
        assert np.abs(np.diff(words[..., 2][mask.astype(bool)])).max() > 720  # the jet straddles ±π


def test_lorentz_products_from_generated_jets(jets_file):
    """Generated detector-level jets as words: every pair of real candidates lies within the
    tables, and the tables' d_ij are within their bound of the massless candidates' products."""
    inputs, _ = load_inputs(jets_file, InputSpec(32, input_format="cms-phase2"))
    words, mask = inputs["words"], inputs["mask"]
    tables = PairTables()
    assert inside_tables(tables, words, mask)
    p = massless_momenta(words, mask)
    exact = kinematics.minkowski_dot(p[:, :, None, :], p[:, None, :, :])
    pt = CMS_PHASE2.pt.dequantise(words[..., 0]) * mask
    assert np.all(np.abs(tables.lorentz_products(words, mask) - exact) <= pt[:, :, None] * pt[:, None, :] * tables.error_bound + 1e-6)


def test_word_input_nanopelican_is_permutation_invariant_and_matches_the_tables(jets_file, tmp_path):
    import tensorflow as tf

    from kerasjet.models import build_model, input_spec_of, load_model, save_model

    inputs, _ = load_inputs(jets_file, InputSpec(16, input_format="cms-phase2"), 0, 40)
    model = build_model("nanopelican", c_hidden=2, n_constituents=16, input_format="cms-phase2")
    assert model.input_names == ["words", "mask"] and input_spec_of(model) == InputSpec(16, input_format="cms-phase2")
    d = model.get_layer("lorentz_dot")([tf.constant(inputs["words"]), tf.constant(inputs["mask"])]).numpy()[:, 0]
    np.testing.assert_allclose(d, PairTables().lorentz_products(inputs["words"], inputs["mask"], 100.0), rtol=1e-5, atol=1e-6)
    for weight in model.trainable_weights:
        weight.assign(RNG.normal(0, 0.5, weight.shape))
    order = RNG.permutation(16)
    shuffled = {key: value[:, order] for key, value in inputs.items()}
    np.testing.assert_allclose(model.predict(shuffled, verbose=0), model.predict(inputs, verbose=0), rtol=1e-5, atol=1e-5)
    save_model(model, str(tmp_path / "words.keras"))
    np.testing.assert_array_equal(load_model(str(tmp_path / "words.keras")).predict(inputs, verbose=0), model.predict(inputs, verbose=0))
    # the layer on jets straddling φ = ±π reproduces the tables (the codes wrap)
    pmu, mask = random_candidates(n_jets=16, n=16, phi0=math.pi - 0.05)
    words = candidate_words(pmu, mask)
    d = model.get_layer("lorentz_dot")([tf.constant(words, tf.float32), tf.constant(mask, tf.float32)]).numpy()[:, 0]
    np.testing.assert_allclose(d, PairTables().lorentz_products(words, mask, 100.0), rtol=1e-5, atol=1e-6)


def test_a_word_input_nanopelican_trains_folds_compresses_and_is_bit_exact_in_firmware(jets_file, tmp_path):
    """Trained from words at N = 16, folded (the formula reproduces it), rebuilt at N = 8,
    compressed to 8-bit weights: Keras = hls4ml's C simulation = da4ml's emulation = Verilator
    integer for integer."""
    import hls4ml

    import kerasjet.hls  # noqa: F401  (registers the extension with hls4ml)
    from kerasjet.cli import main
    from kerasjet.compress import compress, write_hls_config
    from kerasjet.evaluate import evaluate
    from kerasjet.fold import fold, folded_logits
    from kerasjet.models import load_model, save_model
    from kerasjet.models.nanopelican import with_constituents
    from kerasjet.train import RunConfig, train

    config = RunConfig(model="nanopelican", model_kwargs=dict(c_hidden=2, n_constituents=16, input_format="cms-phase2"),
                       train=jets_file, val=jets_file, epochs=6, batch_size=64)
    summary = train(str(tmp_path / "run"), config, verbose=0)
    assert summary["parameters"] == 21
    metrics = evaluate(str(tmp_path / "run" / "best.keras"), jets_file)[0]
    assert metrics["auc"] > 0.85  # it learns from words (the Cartesian model on the same jets: 0.925)
    model = load_model(str(tmp_path / "run" / "best.keras"))
    inputs, _ = load_inputs(jets_file, InputSpec(16, input_format="cms-phase2"), 0, 200)
    folded = fold(model)
    assert folded["input_format"] == "cms-phase2" and folded["free_parameters"] == 19
    np.testing.assert_allclose(folded_logits(folded, inputs["words"], inputs["mask"]), model.predict(inputs, verbose=0)[:, 0],
                               rtol=1e-4, atol=1e-4)

    quantized = compress(with_constituents(model, 8), jets_file, jets_file, weight_bits="8", epochs=1, verbose=0)
    dot = quantized.get_layer("lorentz_dot")
    assert dot.__class__.__name__ == "QWordLorentzDot" and dot.momentum_scale == 128.0  # 512 pT steps: a shift
    test, _ = load_inputs(jets_file, InputSpec(8, input_format="cms-phase2"), 0, 300)
    assert len(np.unique(quantized.predict(test, verbose=0))) > 50  # not a constant logit
    # hls4ml's own API: the C simulation equals Keras on jets straddling φ = ±π, on pairs beyond the
    # tables (Δη up to 5) and on φ codes outside the format's ±π range (they wrap as in Keras)
    config = hls4ml.utils.config_from_keras_model(quantized, granularity="name", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(quantized, hls_config=config, backend="Vitis", io_type="io_parallel",
                                                           output_dir=str(tmp_path / "hls"))
    hls_model.compile()
    pmu, mask = random_candidates(n_jets=300, n=8, phi0=math.pi - 0.2, radius=2.5)
    words = candidate_words(pmu, mask)
    words[:20, 0, 2], words[:20, 1, 2] = 1023, -1024
    wide = {"words": words.astype(np.float32), "mask": mask.astype(np.float32)}
    keras = quantized.predict(wide, verbose=0).reshape(-1)
    tables = quantized.get_layer("lorentz_dot").tables
    deta, dphi = tables.indices(words)
    assert deta.max() == dphi.max() == tables.size - 1 and len(np.unique(keras)) > 50  # both tables clip somewhere
    np.testing.assert_array_equal(np.asarray(hls_model.predict(kerasjet.hls.firmware_inputs(quantized, wide))).reshape(-1), keras)

    # the command line: its YAML, the C simulation and the open RTL path, bit for bit
    save_model(quantized, str(tmp_path / "q.h5"))
    yaml_path = write_hls_config(str(tmp_path / "q.h5"), test_file=jets_file)
    assert main(["convert", yaml_path, "--rtl", "--no-synthesis"]) == 0
    with open(tmp_path / "hls_q" / "report.json") as f:
        assert json.load(f)["passed"]
    with open(tmp_path / "hls_q_rtl" / "rtl_report.json") as f:
        report = json.load(f)
    assert report["jets"] >= 300 and report["keras_vs_emulation_mismatches"] == 0 and report["verilator_vs_emulation_mismatches"] == 0
    assert report["csim_vs_emulation_mismatches"] == 0 and report["bit_exact"]


def test_quantized_word_products_are_the_tables_truncated_to_the_declared_type():
    """QWordLorentzDot: d = the pT product in its type (6 integer and 14 fractional bits, truncated
    and saturated) times the tables' sum,
    in units of 128 GeV squared, truncated (floor) and saturated to its output type, exactly; and a momentum unit that is not a power of two times
    the pT step is refused (the pT code would need rounding)."""
    import tensorflow as tf
    from qkeras.quantizers import quantized_bits

    from kerasjet.layers import QWordLorentzDot

    layer = QWordLorentzDot("cms-phase2", momentum_scale=128.0, output_quantizer=quantized_bits(16, 0, alpha=1))
    pmu, mask = random_candidates(n_jets=32, n=10, phi0=-math.pi + 0.1)
    words = candidate_words(pmu, mask)
    words[0, :2, 0] = 6000  # two 1.5 TeV candidates: their pT product saturates its type
    got = layer([tf.constant(words, tf.float32), tf.constant(mask, tf.float32)]).numpy()[:, 0].astype(np.float64)
    tables = PairTables()
    deta, dphi = tables.indices(words)
    pt = CMS_PHASE2.pt.dequantise(words[..., 0]) * mask / 128.0
    product = np.minimum(np.floor(pt[:, :, None] * pt[:, None, :] * 2.0**14) / 2.0**14, 64 - 2.0**-14)  # P_ij: 6 + 14 bits, saturated
    assert product.max() == 64 - 2.0**-14
    exact = product * (tables.eta[deta] + tables.phi[dphi])
    expected = np.clip(np.floor(exact * 2.0**15), -2.0**15, 2.0**15 - 1) / 2.0**15
    np.testing.assert_array_equal(got, expected)
    assert 0 < np.mean(got >= 1 - 2.0**-15) < 0.5 and np.mean(got > 0) > 0.5  # both regimes occur
    with pytest.raises(ValueError, match="not a power of two times the pT step"):
        QWordLorentzDot("cms-phase2", momentum_scale=100.0)


def test_formats_are_checked_where_they_are_made():
    with pytest.raises(KerasjetError, match="input format 'cms' is not one of cms-phase2"):
        input_format("cms")
    with pytest.raises(KerasjetError, match="input format 'cms' is not one of"):
        InputSpec(16, input_format="cms")
    with pytest.raises(KerasjetError, match="not a whole number"):
        InputFormat("odd", CMS_PHASE2.pt, CMS_PHASE2.eta, WordField(11, 0.0123, True, "round"))
    with pytest.raises(KerasjetError, match="rounding must be one of"):
        WordField(11, 0.1, True, "nearest")


def test_a_float_word_model_is_refused_by_the_hls4ml_conversion(tmp_path):
    """Its firmware form is the quantized one (declared types): the conversion says so in one line."""
    import hls4ml

    import kerasjet.hls  # noqa: F401  (registers the extension with hls4ml)
    from kerasjet.models import build_model

    model = build_model("nanopelican", c_hidden=2, n_constituents=8, input_format="cms-phase2")
    with pytest.raises(KerasjetError, match="a float model of trigger words has no firmware form; fold and quantize it first"):
        hls4ml.converters.convert_from_keras_model(model, output_dir=str(tmp_path / "hls"), backend="Vitis")


@pytest.mark.parametrize("sort", [True, False])
def test_peer_features_from_words_are_the_firmware_reference(sort):
    """WordConstituentFeatures = RelativeCoordinates (numpy) exactly, on jets straddling φ = ±π with
    ties of pT codes; the features are permutation invariant (sorted: the same rows in the same
    order; unsorted: the same rows, permuted) when no two candidates share a pT code; r sums to
    about 1 (the reciprocal table's step)."""
    import tensorflow as tf

    from kerasjet.data.words import RelativeCoordinates
    from kerasjet.models.mlp import WordConstituentFeatures

    pmu, mask = random_candidates(n_jets=100, n=16, phi0=math.pi - 0.1)
    words = candidate_words(pmu, mask)
    words[:10, 5, 0] = words[:10, 6, 0]  # ties: the lower slot leads
    layer = WordConstituentFeatures(16, "cms-phase2", sort=sort)

    def features(w, m):
        return layer([tf.constant(w, tf.float32), tf.constant(m, tf.float32)]).numpy().astype(np.float64).reshape(len(w), 16, 3)

    got = features(words, mask)
    expected, _ = RelativeCoordinates().features(words, mask, sort=sort)
    np.testing.assert_array_equal(got, expected)
    assert np.abs(got[..., 2]).max() < 1.5  # Δφ wrapped across ±π: within 2R = 1.6 rad = 1.43 units of 256 codes
    np.testing.assert_allclose(got[..., 0].sum(axis=1), 1.0, atol=0.01)
    untied = [b for b in range(10, 100) if len(np.unique(words[b, mask[b] > 0, 0])) == int(mask[b].sum())]
    assert len(untied) > 50
    order = RNG.permutation(16)
    permuted = features(words[untied][:, order], mask[untied][:, order])
    if sort:
        np.testing.assert_array_equal(permuted, got[untied])
    else:
        np.testing.assert_array_equal(permuted, got[untied][:, order])


def test_the_sorting_network_sorts():
    """Batcher's network on N = 2^m slots puts any keys in descending order; other N are refused."""
    from kerasjet.rtl.trace import sorting_network

    for n in (2, 8, 16, 32):
        pairs = sorting_network(n)
        for _ in range(50):
            keys = RNG.permutation(n)
            for i, j in pairs:
                if keys[i] < keys[j]:
                    keys[i], keys[j] = keys[j], keys[i]
            assert list(keys) == list(range(n - 1, -1, -1))
    assert len(sorting_network(16)) == 63
    with pytest.raises(KerasjetError, match="N a power of two"):
        sorting_network(12)


@pytest.mark.parametrize("builder", ["constituent_mlp", pytest.param("deep_sets", marks=pytest.mark.slow)])
def test_a_peer_from_words_is_bit_exact_in_firmware(builder, jets_file, tmp_path):
    """The pT-sorted MLP (sorting network) or Deep Sets (the leading candidate found) from words
    at N = 8: trained, compressed to 8 bits, its YAML written, and `convert --rtl`: its firmware —
    features included — equal to Keras and to the exact fixed-point reference in hls4ml's C
    simulation, in da4ml's emulation and in Verilator."""
    from kerasjet.cli import main
    from kerasjet.compress import compress, write_hls_config
    from kerasjet.models import input_format_of, load_model, save_model
    from kerasjet.train import RunConfig, train

    config = RunConfig(model=builder, model_kwargs=dict(n_constituents=8, input_format="cms-phase2"), train=jets_file, val=jets_file,
                       epochs=3, batch_size=64)
    train(str(tmp_path / "run"), config, verbose=0)
    quantized = compress(load_model(str(tmp_path / "run" / "best.keras")), jets_file, jets_file, weight_bits="8", epochs=1, verbose=0)
    assert input_format_of(quantized) == "cms-phase2"
    inputs, _ = load_inputs(jets_file, InputSpec(8, input_format="cms-phase2"))
    assert len(np.unique(quantized.predict(inputs, verbose=0))) > 50
    save_model(quantized, str(tmp_path / "q.h5"))
    assert main(["convert", write_hls_config(str(tmp_path / "q.h5"), test_file=jets_file), "--rtl", "--no-synthesis"]) == 0
    with open(tmp_path / "hls_q" / "report.json") as f:
        csim = json.load(f)
    assert csim["passed"] and csim["max_abs_diff"] == 0.0 and csim["reference"] == "exact fixed point"
    with open(tmp_path / "hls_q_rtl" / "rtl_report.json") as f:
        report = json.load(f)
    assert report["jets"] == 300 and report["keras_vs_emulation_mismatches"] == 0 and report["verilator_vs_emulation_mismatches"] == 0
    assert report["csim_vs_emulation_mismatches"] == 0 and report["bit_exact"]
