"""Physics of the models: Lorentz, permutation and padding invariance; parameter counts;
save/load; folding into the analytic form."""

import os

import numpy as np
import pytest

from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.fold import fold, folded_logits, format_formula
from kerasjet.models import build_model, load_model, trainable_parameters
from kerasjet.models.nanopelican import has_batchnorm, hidden_open_fractions

RNG = np.random.default_rng(5)
DICT_INPUT_MODELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "dict_inputs")


def randomise(model, rng=RNG):
    """Random weights (positive variances, α near their initial k) so no symmetry test passes by accident."""
    for w in model.weights:
        value = rng.normal(0.3, 0.5, w.shape)
        if "variance" in w.name:
            value = np.abs(value) + 0.5
        if "alpha" in w.name:
            value = w.numpy() + rng.normal(0, 0.2, w.shape)
        w.assign(value.astype(np.float32))
    return model


def lorentz_transform(beta, axis, angle):
    """A boost with velocity beta along a unit 3-vector, then a rotation about z by angle."""
    gamma = 1 / np.sqrt(1 - beta**2)
    n = np.asarray(axis, float) / np.linalg.norm(axis)
    boost = np.eye(4)
    boost[0, 0] = gamma
    boost[0, 1:] = boost[1:, 0] = -gamma * beta * n
    boost[1:, 1:] += (gamma - 1) * np.outer(n, n)
    rotation = np.eye(4)
    c, s = np.cos(angle), np.sin(angle)
    rotation[1:3, 1:3] = [[c, -s], [s, c]]
    return rotation @ boost


@pytest.fixture(scope="module")
def inputs(jets_file):
    x, _ = load_inputs(jets_file, InputSpec(n_constituents=30), 0, 64)
    return x


MODELS = [
    ("nanopelican", dict(c_hidden=2, batchnorm=True)),
    ("nanopelican", dict(c_hidden=3, batchnorm=False, scaled=True)),
    ("nanopelican", dict(c_hidden=2, basis="full")),
    ("lorentznet", {}),
]


@pytest.mark.parametrize("name, kwargs", MODELS)
def test_invariances(name, kwargs, inputs):
    model = randomise(build_model(name, n_constituents=30, **kwargs))
    reference = model.predict(inputs, verbose=0)[:, 0]
    assert np.std(reference) > 1e-3  # a constant output would pass everything below

    perm = RNG.permutation(30)
    permuted = {"pmu": inputs["pmu"][:, perm], "mask": inputs["mask"][:, perm]}
    np.testing.assert_allclose(model.predict(permuted, verbose=0)[:, 0], reference, rtol=1e-4, atol=1e-4)

    transform = lorentz_transform(0.6, (0.3, -0.5, 0.8), 1.1).astype(np.float64)
    boosted = {"pmu": (inputs["pmu"].astype(np.float64) @ transform.T).astype(np.float32), "mask": inputs["mask"]}
    np.testing.assert_allclose(model.predict(boosted, verbose=0)[:, 0], reference, rtol=2e-3, atol=2e-3)

    wide = randomise(build_model(name, n_constituents=45, **kwargs), np.random.default_rng(0))
    wide.set_weights(model.get_weights())
    padded = {"pmu": np.pad(inputs["pmu"], ((0, 0), (0, 15), (0, 0))), "mask": np.pad(inputs["mask"], ((0, 0), (0, 15)))}
    np.testing.assert_allclose(wide.predict(padded, verbose=0)[:, 0], reference, rtol=1e-5, atol=1e-5)


def test_topodnn_is_not_lorentz_invariant_but_is_padding_invariant(inputs):
    model = randomise(build_model("topodnn", n_constituents=30))
    wide = build_model("topodnn", n_constituents=45)
    wide.set_weights(model.get_weights())
    padded = {"pmu": np.pad(inputs["pmu"], ((0, 0), (0, 15), (0, 0))), "mask": np.pad(inputs["mask"], ((0, 0), (0, 15)))}
    np.testing.assert_allclose(wide.predict(padded, verbose=0), model.predict(inputs, verbose=0), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("c_hidden, expected", [(1, 11), (2, 21), (3, 31), (10, 101)])
def test_the_default_nanopelican_is_the_papers_model(c_hidden, expected):
    """The default has exactly the seed paper's 10·C + 1 parameters and no BatchNorm; the N-scaled
    variant adds only its exponents α (6 on LinEq2→2, of which the pair element's is inert: no sum
    to scale; 2 on LinEq2→0); folding gives the paper's
    9·C + 1 free parameters (one readout weight per channel becomes a sign)."""
    model = build_model("nanopelican", c_hidden=c_hidden)
    assert trainable_parameters(model) == expected
    assert not has_batchnorm(model) and not any("batch" in layer.__class__.__name__.lower() for layer in model.layers)
    assert trainable_parameters(build_model("nanopelican", c_hidden=c_hidden, scaled=True)) == expected + 8
    assert fold(randomise(model))["free_parameters"] == 9 * c_hidden + 1
    assert trainable_parameters(build_model("nanopelican", c_hidden=c_hidden, batchnorm=True)) == expected + 2 + 2 * c_hidden


def test_baseline_sizes():
    assert trainable_parameters(build_model("topodnn")) == 59323
    assert [trainable_parameters(build_model("constituent_mlp", n_constituents=n)) for n in (8, 16, 32)] == [1345, 2113, 3649]
    assert [trainable_parameters(build_model("deep_sets", n_constituents=n)) for n in (8, 16, 32)] == [609] * 3
    assert 90 <= trainable_parameters(build_model("lorentznet")) <= 130


@pytest.mark.parametrize("name, kwargs", MODELS[:2] + [("topodnn", {})])
def test_save_load_round_trip(name, kwargs, inputs, tmp_path):
    model = randomise(build_model(name, n_constituents=30, **kwargs))
    model.save(tmp_path / "m.keras")
    loaded = load_model(str(tmp_path / "m.keras"))
    np.testing.assert_array_equal(loaded.predict(inputs, verbose=0), model.predict(inputs, verbose=0))


@pytest.mark.parametrize("name", ["nanopelican", "lorentznet", "topodnn", "hls4ml_tagger", "constituent_mlp", "deep_sets"])
def test_models_have_list_inputs_fed_by_name(name, inputs):
    """[pmu, mask] inputs named as the pipeline's keys (what hls4ml's Keras reader reads); the
    {'pmu', 'mask'} dict, in any key order, maps onto them by name."""
    model = randomise(build_model(name, n_constituents=30))
    assert isinstance(model.input, list) and model.input_names == ["pmu", "mask"]
    as_list = model.predict([inputs["pmu"], inputs["mask"]], verbose=0)
    np.testing.assert_array_equal(model.predict({"mask": inputs["mask"], "pmu": inputs["pmu"]}, verbose=0), as_list)
    np.testing.assert_array_equal(model(inputs).numpy(), model([inputs["pmu"], inputs["mask"]]).numpy())


@pytest.mark.parametrize("path", ["nanopelican_c2.keras", "nanopelican_c2_n8_ternary.h5", "hls4ml_tagger_8bit.h5"])
def test_models_saved_with_dict_inputs_load_with_list_inputs(path, jets_file, tmp_path):
    """Files saved by kerasjet before list inputs (tests/data/dict_inputs: models once shipped in
    models/) have dict inputs: load_model rebuilds them with list inputs, the same layers and
    weights; saved again, they stay so."""
    import tensorflow as tf

    from kerasjet.models import custom_objects, n_constituents_of, save_model

    full = os.path.join(DICT_INPUT_MODELS, path)
    stored = tf.keras.models.load_model(full, custom_objects=custom_objects(), compile=False)
    assert isinstance(stored.input, dict)
    model = load_model(full)
    assert model.input_names == ["pmu", "mask"] and model.name == stored.name
    x, _ = load_inputs(jets_file, InputSpec(n_constituents_of(model)), 0, 64)
    np.testing.assert_array_equal(model.predict(x, verbose=0), stored.predict(x, verbose=0))
    save_model(model, str(tmp_path / path))
    assert load_model(str(tmp_path / path)).input_names == ["pmu", "mask"]


@pytest.mark.parametrize("kwargs, free", [(dict(batchnorm=False), 19), (dict(batchnorm=False, multiplicity_degree=2), 29), (dict(batchnorm=True), 29), (dict(batchnorm=True, scaled=True), 38)])
def test_folding_reproduces_the_model(kwargs, free, inputs):
    model = randomise(build_model("nanopelican", c_hidden=2, n_constituents=30, **kwargs))
    folded = fold(model)
    assert folded["free_parameters"] == free
    reference = model.predict(inputs, verbose=0)[:, 0].astype(np.float64)
    got = folded_logits(folded, inputs["pmu"], inputs["mask"])
    np.testing.assert_allclose(got, reference, rtol=1e-5, atol=1e-5 * np.abs(reference).max())
    text = format_formula(folded)
    assert f"{free} free parameters" in text and "ReLU(y2_ij)" in text


def test_constituent_features_are_relative_to_the_jet_axis(inputs):
    """(pT/pT_jet, Δη, Δφ) of the constituent MLP: unchanged by a rotation about the beam and by
    extra padding slots; zero on padding; the pT-weighted Δφ vanishes about the axis of the n
    constituents to first order in the angles (Δη less so: the jet's pseudorapidity is that of a
    massive sum)."""
    from kerasjet.models.mlp import ConstituentFeatures

    n = 16
    features = ConstituentFeatures(n_constituents=n)
    pmu, mask = inputs["pmu"], inputs["mask"]
    reference = features([pmu, mask]).numpy().reshape(-1, n, 3)
    rotated = np.einsum("ij,bnj->bni", lorentz_transform(0.0, (0, 0, 1), 2.5), pmu.astype(np.float64))
    np.testing.assert_allclose(features([rotated.astype(np.float32), mask]).numpy().reshape(-1, n, 3), reference, atol=1e-5)
    padded = [np.pad(pmu, ((0, 0), (0, 10), (0, 0))), np.pad(mask, ((0, 0), (0, 10)))]
    np.testing.assert_array_equal(ConstituentFeatures(n_constituents=n)(padded).numpy().reshape(-1, n, 3), reference)
    real = mask[:, :n] > 0
    assert np.all(reference[~real] == 0) and np.all(reference[..., 0][real] > 0)
    small = np.max(np.abs(reference[..., 1:]), axis=(1, 2)) < 0.8  # jets whose leading constituents lie within R = 0.8
    weighted = np.einsum("bn,bnk->bk", reference[..., 0], reference[..., 1:])
    assert np.any(small)
    assert np.all(np.abs(weighted[small, 1]) < 0.01) and np.all(np.abs(weighted[small, 0]) < 0.15)


def test_deep_sets_is_permutation_invariant_and_blind_to_padding(jets_file):
    """Deep Sets: the same logit for any order of the N slots, real constituents and padding
    interleaved; its per-constituent network gives exactly 0 on a padding slot (no bias), so the
    mean over the slots is the sum over the real constituents divided by N."""
    import tensorflow as tf

    n = 60  # most generated jets have fewer constituents: padding slots to interleave
    model = randomise(build_model("deep_sets", n_constituents=n))
    inputs, _ = load_inputs(jets_file, InputSpec(n_constituents=n), 0, 64)
    pmu, mask = inputs["pmu"], inputs["mask"]
    assert np.any(mask == 0) and np.any(mask.sum(1) > 2)
    rng = np.random.default_rng(3)
    order = np.stack([rng.permutation(n) for _ in range(len(mask))])
    shuffled = {"pmu": np.take_along_axis(pmu, order[..., None], 1), "mask": np.take_along_axis(mask, order, 1)}
    reference = model.predict({"pmu": pmu, "mask": mask}, verbose=0)
    np.testing.assert_allclose(model.predict(shuffled, verbose=0), reference, rtol=1e-5, atol=1e-5 * np.abs(reference).max())
    phi = tf.keras.Model(model.inputs, model.get_layer("phi_1").output).predict({"pmu": pmu, "mask": mask}, verbose=0)
    assert np.all(phi[mask == 0] == 0) and np.any(phi[mask > 0] > 0)


SHIPPED_AT_FIRMWARE_N = [(c, n, bits) for c in (2, 3) for n in (8, 16, 32) for bits in ("8bit", "ternary")]


@pytest.mark.parametrize("c,n,bits", SHIPPED_AT_FIRMWARE_N)
def test_shipped_models_at_firmware_n_start_from_their_float_model(c, n, bits):
    """Each shipped C = 2 or 3 model at the firmware's N has N slots and names, in its YAML, the N
    its float model (kerasjet.study.shipped_float: N slots, C hidden channels) was trained at — 80
    when that model holds the N = 80 model's weights."""
    from kerasjet.models import n_constituents_of
    from kerasjet.study import MODELS_DIR, shipped_float, shipped_trained_n

    float_model = load_model(shipped_float(n, c))
    assert n_constituents_of(float_model) == n
    # the shipped models are the default, the paper's model: 10·C + 1 parameters, no BatchNorm
    assert trainable_parameters(float_model) == 10 * c + 1
    assert not has_batchnorm(float_model)
    assert n_constituents_of(load_model(os.path.join(MODELS_DIR, f"nanopelican_c{c}_n{n}_{bits}.h5"))) == n
    trained_n = shipped_trained_n(n, c)
    with open(os.path.join(os.path.dirname(MODELS_DIR), "hls_configs", f"nanopelican_c{c}_n{n}_{bits}.yml")) as f:
        assert f"trained at N={trained_n}," in f.readline()


def test_hidden_open_fractions_count_the_real_pairs_with_an_open_relu(jets_file):
    """A hidden channel with a huge positive bias is open on every real pair, one with a huge
    negative bias on none; padding pairs (zero outputs) never count."""
    padded, _ = load_inputs(jets_file, InputSpec(n_constituents=200), 0, 64)
    assert not padded["mask"].all()
    model = build_model("nanopelican", c_hidden=2, n_constituents=200)
    model.get_layer("lineq_2to2").bias.assign([50.0, -50.0])
    assert hidden_open_fractions(model, padded) == [1.0, 0.0]
