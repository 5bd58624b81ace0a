"""Equivariant layers against plain-numpy references of DESIGN.md's equations, and their
hand-written gradients against automatic differentiation of a naive TensorFlow version."""

import numpy as np
import pytest
import tensorflow as tf

from kerasjet import kinematics
from kerasjet.layers import N_BAR, LinEq2to0, LinEq2to2, LorentzDot, MaskedBatchNorm
from kerasjet.layers.equivariant import FULL_BASIS, NANO_BASIS

RNG = np.random.default_rng(11)


def random_pairs(batch=3, channels=1, n=7, symmetric=True):
    """Random pair arrays (B, C, N, N) zero on padding, and their (B, N) mask."""
    mask = (np.arange(n)[None, :] < RNG.integers(2, n + 1, batch)[:, None]).astype(np.float32)
    x = RNG.normal(size=(batch, channels, n, n)).astype(np.float32)
    if symmetric:
        x = x + np.swapaxes(x, 2, 3)
    return x * (mask[:, None, :, None] * mask[:, None, None, :]), mask


# ---- plain numpy: DESIGN.md's aggregators, written out one by one ---------------------------


def numpy_sources(x):
    """x (N, N) of one jet and channel, zero on padding."""
    return {
        "x": x, "xT": x.T, "diag": np.diag(x), "rowsum": x.sum(1) / N_BAR, "colsum": x.sum(0) / N_BAR,
        "trace": np.trace(x) / N_BAR, "total": x.sum() / N_BAR**2,
    }


def numpy_aggregate(kind, value, n):
    """One basis element as an (N, N) array."""
    if kind == "pair":
        return value
    if kind == "row":
        return np.repeat(value[:, None], n, 1)
    if kind == "col":
        return np.repeat(value[None, :], n, 0)
    if kind == "const":
        return np.full((n, n), value)
    return np.diag(np.broadcast_to(value, (n,)))  # diag


def numpy_lineq2to2(x, mask, kernel, bias, diag_bias, basis, alpha=None):
    batch, c_in, n, _ = x.shape
    out = np.zeros((batch, kernel.shape[2], n, n))
    k_summed = {"x": 0, "xT": 0, "diag": 0, "rowsum": 1, "colsum": 1, "trace": 1, "total": 2}
    for b_ in range(batch):
        r = mask[b_].sum() / N_BAR
        for c in range(c_in):
            sources = numpy_sources(x[b_, c].astype(np.float64))
            for e, (kind, source) in enumerate(basis):
                factor = r ** (alpha[e] - k_summed[source]) if alpha is not None and k_summed[source] else 1.0
                agg = numpy_aggregate(kind, factor * sources[source], n)
                out[b_] += kernel[e, c][:, None, None] * agg[None]
        out[b_] += bias[:, None, None] + diag_bias[:, None, None] * np.eye(n)[None]
        out[b_] *= np.outer(mask[b_], mask[b_])[None]
    return out


def test_nano_basis_is_designs_six_aggregators():
    """DESIGN.md: d, δ s_j, s_j, s_i, t, δ t (for symmetric input the column sums are the row sums)."""
    x, mask = random_pairs(batch=1)
    layer = LinEq2to2(6)
    layer([x, mask])
    kernel = np.zeros((6, 1, 6), np.float32)
    for e in range(6):
        kernel[e, 0, e] = 1.0
    layer.set_weights([kernel, np.zeros(6, np.float32), np.zeros(6, np.float32)])
    out = layer([x, mask]).numpy()[0]
    d = x[0, 0].astype(np.float64)
    s = d.sum(0) / N_BAR
    t = d.sum() / N_BAR**2
    pairs = np.outer(mask[0], mask[0])
    expected = [d, np.diag(s), np.tile(s, (len(s), 1)), np.tile(s[:, None], (1, len(s))), np.full_like(d, t), np.eye(len(s)) * t]
    for e in range(6):
        np.testing.assert_allclose(out[e], expected[e] * pairs, atol=1e-5)


@pytest.mark.parametrize("basis, c_in, scaled", [("nano", 1, False), ("nano", 2, True), ("full", 1, False), ("full", 3, True)])
def test_lineq2to2_matches_numpy(basis, c_in, scaled):
    x, mask = random_pairs(channels=c_in, symmetric=(basis == "nano"))
    layer = LinEq2to2(4, basis=basis, scaled=scaled)
    layer([x, mask])
    weights = [RNG.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
    if scaled:
        weights[-1] = (np.array(layer.summed) + RNG.normal(0, 0.3, len(layer.summed))).astype(np.float32)
    layer.set_weights(weights)
    elements = NANO_BASIS if basis == "nano" else FULL_BASIS
    expected = numpy_lineq2to2(x, mask, *weights[:3], elements, alpha=weights[3] if scaled else None)
    np.testing.assert_allclose(layer([x, mask]).numpy(), expected, rtol=1e-4, atol=1e-4)


def test_scaled_layer_at_initial_alpha_is_the_unscaled_layer():
    x, mask = random_pairs(channels=2)
    plain, scaled = LinEq2to2(3), LinEq2to2(3, scaled=True)
    plain([x, mask]), scaled([x, mask])
    scaled.set_weights(plain.get_weights() + [np.array(scaled.summed, np.float32)])
    np.testing.assert_allclose(plain([x, mask]), scaled([x, mask]), rtol=1e-6, atol=1e-6)


def test_lineq2to0_matches_numpy():
    x, mask = random_pairs(channels=2)
    layer = LinEq2to0(3)
    layer([x, mask])
    kernel, bias = RNG.normal(size=(2, 2, 3)), RNG.normal(size=3)
    layer.set_weights([kernel.astype(np.float32), bias.astype(np.float32)])
    total = x.sum(axis=(2, 3)) / N_BAR**2
    trace = np.trace(x, axis1=2, axis2=3) / N_BAR
    expected = total @ kernel[0] + trace @ kernel[1] + bias
    np.testing.assert_allclose(layer([x, mask]), expected, rtol=1e-5, atol=1e-5)


def test_lorentz_dot_is_the_minkowski_product():
    pmu = RNG.normal(size=(2, 5, 4)).astype(np.float32)
    mask = np.array([[1, 1, 1, 0, 0], [1, 1, 1, 1, 1]], np.float32)
    d = LorentzDot(momentum_scale=2.0)([pmu, mask]).numpy()[:, 0]
    p = pmu / 2.0
    expected = kinematics.minkowski_dot(p[:, :, None], p[:, None, :]) * mask[:, :, None] * mask[:, None, :]
    np.testing.assert_allclose(d, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(d, np.swapaxes(d, 1, 2))


def test_masked_batchnorm_ignores_padding():
    x, mask = random_pairs(batch=4, channels=2, n=9)
    layer = MaskedBatchNorm(momentum=0.0)
    y = layer([x, mask], training=True).numpy()
    pairs = (mask[:, :, None] * mask[:, None, :]).astype(bool)
    real = np.moveaxis(y, 1, -1)[pairs]  # (pairs, C)
    np.testing.assert_allclose(real.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(real.std(0), 1, atol=1e-2)
    assert (np.moveaxis(y, 1, -1)[~pairs] == 0).all()
    # more padding slots change nothing
    wide = np.pad(x, ((0, 0), (0, 0), (0, 3), (0, 3)))
    y_wide = MaskedBatchNorm(momentum=0.0)([wide, np.pad(mask, ((0, 0), (0, 3)))], training=True).numpy()
    np.testing.assert_allclose(y_wide[:, :, :9, :9], y, atol=1e-5)


# ---- hand-written gradients against autodiff of the naive formulas ----------------------------


def naive_lineq2to2(x, mask, kernel, bias, diag_bias, elements, alpha=None):
    n = x.shape[2]
    m = mask
    sources = {
        "x": x, "xT": tf.transpose(x, (0, 1, 3, 2)), "diag": tf.linalg.diag_part(x),
        "rowsum": tf.reduce_sum(x, 3) / N_BAR, "colsum": tf.reduce_sum(x, 2) / N_BAR,
        "trace": tf.linalg.trace(x) / N_BAR, "total": tf.reduce_sum(x, (2, 3)) / N_BAR**2,
    }
    k_summed = {"x": 0, "xT": 0, "diag": 0, "rowsum": 1, "colsum": 1, "trace": 1, "total": 2}
    r = tf.reduce_sum(m, 1) / N_BAR
    out = 0.0
    for e, (kind, source) in enumerate(elements):
        v = sources[source]
        if alpha is not None and k_summed[source]:
            v = v * tf.reshape(r ** (alpha[e] - k_summed[source]), [-1] + [1] * (len(v.shape) - 1))
        if kind == "pair":
            agg = v
        elif kind == "row":
            agg = v[:, :, :, None] * tf.ones((1, 1, 1, n))
        elif kind == "col":
            agg = v[:, :, None, :] * tf.ones((1, 1, n, 1))
        elif kind == "const":
            agg = v[:, :, None, None] * tf.ones((1, 1, n, n))
        else:
            v = v if len(v.shape) == 3 else v[:, :, None] * tf.ones((1, 1, n))
            agg = tf.linalg.diag(v)
        out += tf.einsum("bcij,ch->bhij", agg, kernel[e])
    out += bias[None, :, None, None] + diag_bias[None, :, None, None] * tf.eye(n)[None, None]
    return out * (m[:, :, None] * m[:, None, :])[:, None]


@pytest.mark.parametrize("basis, c_in, scaled", [("nano", 1, False), ("nano", 2, True), ("full", 2, False)])
def test_lineq2to2_gradients(basis, c_in, scaled):
    x, mask = random_pairs(channels=c_in, symmetric=False)
    x = tf.constant(x)
    layer = LinEq2to2(3, basis=basis, scaled=scaled)
    layer([x, mask])
    weights = [RNG.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
    if scaled:
        weights[-1] = (np.array(layer.summed) + 0.2).astype(np.float32)
    layer.set_weights(weights)
    upstream = tf.constant(RNG.normal(size=(x.shape[0], 3, x.shape[2], x.shape[3])).astype(np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        fast = tf.reduce_sum(layer([x, mask]) * upstream)
        variables = [tf.constant(w) for w in weights]
        for v in variables:
            tape.watch(v)
        naive = tf.reduce_sum(naive_lineq2to2(x, mask, *variables[:3], layer.elements, variables[3] if scaled else None) * upstream)
    np.testing.assert_allclose(fast.numpy(), naive.numpy(), rtol=1e-4)
    for got, want in zip(tape.gradient(fast, [x] + layer.trainable_weights), tape.gradient(naive, [x] + variables)):
        got = got.numpy()
        if got.shape == x.shape:  # gradients at padding positions are unspecified
            pairs = (mask[:, :, None] * mask[:, None, :])[:, None]
            got, want = got * pairs, want.numpy() * pairs
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-4)


def test_lineq2to0_and_batchnorm_gradients():
    x, mask = random_pairs(batch=4, channels=2, n=6)
    x = tf.constant(x)
    pairs = (mask[:, :, None] * mask[:, None, :])[:, None]
    bn, readout = MaskedBatchNorm(), LinEq2to0(1)
    readout([x, mask])
    readout.set_weights([RNG.normal(size=(2, 2, 1)).astype(np.float32), np.zeros(1, np.float32)])
    bn([x, mask])
    bn.set_weights([np.array([1.3, 0.7], np.float32), np.array([0.2, -0.1], np.float32), np.zeros(2, np.float32), np.ones(2, np.float32)])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        fast = tf.reduce_sum(tf.sin(readout([bn([x, mask], training=True), mask])))
        gamma, beta = tf.constant(bn.gamma.numpy()), tf.constant(bn.beta.numpy())
        tape.watch([gamma, beta])
        count = tf.reduce_sum(pairs)
        mean = tf.reduce_sum(x * pairs, (0, 2, 3)) / count
        var = tf.reduce_sum(tf.square(x - mean[:, None, None]) * pairs, (0, 2, 3)) / count
        y = (gamma[:, None, None] * (x - mean[:, None, None]) * tf.math.rsqrt(var + bn.epsilon)[:, None, None] + beta[:, None, None]) * pairs
        kernel = readout.kernel
        naive = tf.reduce_sum(tf.sin(tf.reduce_sum(y, (2, 3)) / N_BAR**2 @ kernel[0] + tf.linalg.trace(y) / N_BAR @ kernel[1]))
    np.testing.assert_allclose(fast.numpy(), naive.numpy(), rtol=1e-4)
    np.testing.assert_allclose(tape.gradient(fast, x) * pairs, tape.gradient(naive, x) * pairs, rtol=1e-3, atol=1e-5)
    for got, want in zip(tape.gradient(fast, [bn.gamma, bn.beta, readout.kernel]), tape.gradient(naive, [gamma, beta, kernel])):
        np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize("layer_class, kwargs", [(LinEq2to2, dict(basis="nano")), (LinEq2to2, dict(basis="full", scaled=True)),
                                                 (LinEq2to0, {})])
def test_input_normalization_equals_a_batchnorm_in_front(layer_class, kwargs):
    """normalize_input computes MaskedBatchNorm → layer without writing the normalised array: the
    same outputs in training and inference, the same moving statistics and the same gradients."""
    x, mask = random_pairs(batch=4, channels=2, n=6)
    x = tf.constant(x)
    fused, separate, bn = layer_class(3, normalize_input=True, **kwargs), layer_class(3, **kwargs), MaskedBatchNorm()
    fused([x, mask]), separate([x, mask]), bn([x, mask])
    # random weights; N-scaling exponents near their initial values k (far from them the factors
    # (n/N̄)^(α−k) and their gradients reach 1e4, beyond float32's agreement at rtol 1e-3)
    layer_weights = [(w.numpy() + 0.1 * RNG.normal(size=w.shape) if "alpha" in w.name else RNG.normal(size=w.shape)).astype(np.float32)
                     for w in separate.weights]
    norm_weights = [np.array([1.3, 0.7], np.float32), np.array([0.2, -0.1], np.float32),
                    np.array([0.1, -0.3], np.float32), np.array([2.0, 0.5], np.float32)]
    separate.set_weights(layer_weights), bn.set_weights(norm_weights), fused.set_weights(layer_weights + norm_weights)
    pairs = (mask[:, :, None] * mask[:, None, :])[:, None]
    for training in (False, True):
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            out_fused = fused([x, mask], training=training)
            out_separate = separate([bn([x, mask], training=training), mask])
            loss_fused, loss_separate = (tf.reduce_sum(tf.sin(out)) for out in (out_fused, out_separate))
        np.testing.assert_allclose(out_fused, out_separate, rtol=1e-4, atol=1e-5)
        got = tape.gradient(loss_fused, [x] + fused.trainable_weights)
        want = tape.gradient(loss_separate, [x] + separate.trainable_weights + bn.trainable_weights)
        np.testing.assert_allclose(got[0] * pairs, want[0] * pairs, rtol=1e-3, atol=1e-4)
        for g, w in zip(got[1:], want[1:]):
            np.testing.assert_allclose(g, w, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(fused.moving_mean, bn.moving_mean, rtol=1e-5)
    np.testing.assert_allclose(fused.moving_variance, bn.moving_variance, rtol=1e-5)
