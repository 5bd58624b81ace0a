"""Dense baselines on constituent kinematics: the TopoDNN-style tagger, the hls4ml-style tagger and
the pT-sorted constituent MLP (the level-1 trigger baseline among the firmware's peers).

TopoDNN (Pearkes, Fedorko, Lister, Gay 2017) reads (pT, η, φ) of the 30 leading constituents
after a fixed preprocessing: translate so that the leading constituent sits at (η, φ) = (0, 0),
rotate about it so that the second constituent lies at φ' < 0 on the φ axis, flip η so that the
third constituent has η' ≥ 0. We divide pT by the jet pT (sum of the constituents), so the
features are dimensionless. Dense 300 → 102 → 12 → 6 → 1 with ReLU: 59,323 parameters.
"""

import math

import tensorflow as tf

from kerasjet.models.inputs import jet_inputs, jet_model, word_inputs

TOPODNN_CONSTITUENTS = 30
TOPODNN_LAYERS = (300, 102, 12, 6)


def _leading(pmu, mask, n):
    """The n leading slots of pmu (B, N, 4) and mask (B, N), zero-padded when N < n."""
    pad = tf.maximum(n - tf.shape(pmu)[1], 0)
    return tf.pad(pmu, [[0, 0], [0, pad], [0, 0]])[:, :n], tf.pad(mask, [[0, 0], [0, pad]])[:, :n]


def _pt_eta_phi(pmu, mask):
    """pT (GeV), η and φ of each slot of pmu (B, n, 4); η is 0 on padding."""
    px, py, pz = pmu[..., 1], pmu[..., 2], pmu[..., 3]
    pt = tf.sqrt(px * px + py * py)
    eta = tf.asinh(pz / tf.where(mask > 0, pt, 1.0))
    return pt, eta, tf.atan2(py, px)


def _wrapped(dphi):
    """An azimuthal difference mapped onto [−π, π)."""
    return tf.math.floormod(dphi + math.pi, 2 * math.pi) - math.pi


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class TopoDNNFeatures(tf.keras.layers.Layer):
    """[pmu (B, N, 4) GeV, pT-ordered; mask (B, N)] → (B, 3·n) preprocessed (pT/pT_jet, η', φ')."""

    def __init__(self, n_constituents=TOPODNN_CONSTITUENTS, **kwargs):
        super().__init__(**kwargs)
        self.n_constituents = int(n_constituents)

    def call(self, inputs):
        pmu, mask = _leading(*inputs, self.n_constituents)
        px, py = pmu[..., 1], pmu[..., 2]
        pt, eta, phi = _pt_eta_phi(pmu, mask)
        deta = eta - eta[:, :1]
        dphi = _wrapped(phi - phi[:, :1])
        # rotate so that the second constituent points along −φ
        angle = -0.5 * math.pi - tf.atan2(dphi[:, 1:2], deta[:, 1:2])
        angle = tf.where(mask[:, 1:2] > 0, angle, 0.0)
        cos, sin = tf.cos(angle), tf.sin(angle)
        eta_r = cos * deta - sin * dphi
        phi_r = sin * deta + cos * dphi
        flip = tf.where(eta_r[:, 2:3] * mask[:, 2:3] < 0, -1.0, 1.0)
        eta_r = eta_r * flip
        jet_pt = tf.sqrt(tf.reduce_sum(px * mask, 1, keepdims=True) ** 2 + tf.reduce_sum(py * mask, 1, keepdims=True) ** 2)
        features = tf.stack([pt / jet_pt, eta_r, phi_r], axis=-1) * mask[..., None]
        return tf.reshape(features, (-1, 3 * self.n_constituents))

    def get_config(self):
        return {**super().get_config(), "n_constituents": self.n_constituents}


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class DenseTaggerFeatures(TopoDNNFeatures):
    """The 16 inputs of the hls4ml-style dense tagger: TopoDNN features of the 5 leading
    constituents (15) and the jet mass over the jet pT."""

    def __init__(self, **kwargs):
        kwargs.pop("n_constituents", None)
        super().__init__(n_constituents=5, **kwargs)

    def call(self, inputs):
        pmu, mask = inputs
        jet = tf.reduce_sum(pmu * mask[..., None], axis=1)
        m2 = jet[:, 0] ** 2 - jet[:, 1] ** 2 - jet[:, 2] ** 2 - jet[:, 3] ** 2
        ratio = tf.sqrt(tf.maximum(m2, 0.0)) / tf.sqrt(jet[:, 1] ** 2 + jet[:, 2] ** 2)
        return tf.concat([super().call(inputs), ratio[:, None]], axis=1)


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class ConstituentFeatures(TopoDNNFeatures):
    """[pmu (B, N, 4) GeV, pT-ordered; mask (B, N)] → (B, 3·n): (pT/pT_jet, η − η_jet, Δφ) of the n
    leading constituents relative to the axis of their sum (what a level-1 trigger's jet seed
    gives), zero on padding. No rotation or flip: the inputs a trigger has per constituent."""

    def per_constituent(self, inputs):
        """(features (B, n, 3), mask (B, n)) of the n leading slots."""
        pmu, mask = _leading(*inputs, self.n_constituents)
        pt, eta, phi = _pt_eta_phi(pmu, mask)
        jet = tf.reduce_sum(pmu * mask[..., None], axis=1, keepdims=True)  # (B, 1, 4)
        jet_pt, jet_eta, jet_phi = _pt_eta_phi(jet, tf.ones_like(jet[..., 0]))
        return tf.stack([pt / jet_pt, eta - jet_eta, _wrapped(phi - jet_phi)], axis=-1) * mask[..., None], mask

    def call(self, inputs):
        features, _ = self.per_constituent(inputs)
        return tf.reshape(features, (-1, 3 * self.n_constituents))


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class WordConstituentFeatures(tf.keras.layers.Layer):
    """[words (B, N, 3) integer codes, mask (B, N)] → (B, 3·N) (r, Δη, Δφ) per slot, or with
    ``with_one`` (B, 4·N) (r, Δη, Δφ, 1): the constituent peers' features from a trigger's words,
    computed as their firmware computes them (kerasjet.data.words.RelativeCoordinates: axis the
    leading candidate, r = pT·T[min(ΣpT / 2^s, size − 1)] from a reciprocal table, code differences
    shifted), all zero
    on padding. ``sort``: the slots in descending pT order first (the pT-sorted MLP's sorting
    network); else slot order (Deep Sets: only the leading candidate is found). Exact: computed in
    float64, every value representable in float32."""

    def __init__(self, n_constituents=16, input_format=None, sort=False, with_one=False, **kwargs):
        super().__init__(**kwargs)
        from kerasjet.data.words import DEFAULT_INPUT_FORMAT, RelativeCoordinates, input_format as format_named

        self.n_constituents, self.sort, self.with_one = int(n_constituents), bool(sort), bool(with_one)
        self.input_format = input_format or DEFAULT_INPUT_FORMAT
        self.coordinates = RelativeCoordinates(format_named(self.input_format))

    def call(self, inputs):
        words, mask = (tf.cast(x, tf.float64) for x in inputs)
        c, n = self.coordinates, self.n_constituents
        keys = words[..., 0] * mask * 2.0 ** c.key_bits(n) + tf.range(n - 1, -1, -1, dtype=tf.float64)
        if self.sort:
            order = tf.argsort(keys, axis=1, direction="DESCENDING", stable=True)
            words, mask = tf.gather(words, order, batch_dims=1), tf.gather(mask, order, batch_dims=1)
            axis = words[:, :1]
        else:
            axis = tf.gather(words, tf.argmax(keys, axis=1)[:, None], batch_dims=1)
        pt = words[..., 0] * mask
        index = tf.minimum(tf.floor(tf.reduce_sum(pt, axis=1, keepdims=True) / 2.0**c.sum_shift), c.reciprocal_size - 1.0)
        step = 2.0**c.ratio_bits
        ratio = tf.minimum(tf.floor(pt * tf.gather(tf.constant(c.reciprocals), tf.cast(index, tf.int32)) * step) / step, 2.0 - 1.0 / step)
        half, period = float(c.fmt.phi_period // 2), float(c.fmt.phi_period)
        deta = (words[..., 1] - axis[..., 1]) / 2.0**c.angle_shift
        dphi = (tf.math.floormod(words[..., 2] - axis[..., 2] + half, period) - half) / 2.0**c.angle_shift
        features = [ratio, deta, dphi] + ([tf.ones_like(ratio)] if self.with_one else [])
        per_slot = len(features)
        out = tf.stack(features, axis=-1) * mask[..., None]
        return tf.cast(tf.reshape(out, (-1, per_slot * n)), tf.float32)

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], (4 if self.with_one else 3) * self.n_constituents)

    def get_config(self):
        return {**super().get_config(), "n_constituents": self.n_constituents, "input_format": self.input_format,
                "sort": self.sort, "with_one": self.with_one}


HLS4ML_TAGGER_LAYERS = (64, 32, 32)
CONSTITUENT_MLP_LAYERS = (32, 16)


def quantization_of(weight_quantizers, activation_quantizers, input_quantizers):
    """The ``quantization`` argument of weighted_layer: None (float) without weight quantizers."""
    if weight_quantizers is None:
        return None
    return {"weight_quantizers": weight_quantizers, "activation_quantizers": activation_quantizers, "input_quantizers": input_quantizers}


def weighted_layer(x, index, width, name, relu, quantization, pointwise=False):
    """One Dense layer (or, ``pointwise``, a kernel-size-1 Conv1D without bias: the same Dense on
    every constituent of x (B, n, F), zero on zero input) with its ReLU unless it is the logit.

    quantization: {'weight_quantizers', 'activation_quantizers', 'input_quantizers'} lists indexed
    by ``index`` (see dense_tagger), or None for the float form.
    """
    from qkeras import QActivation, QConv1D, QDense

    if quantization is None:
        if pointwise:
            return tf.keras.layers.Conv1D(width, 1, use_bias=False, activation="relu" if relu else None, name=name)(x)
        return tf.keras.layers.Dense(width, activation="relu" if relu else None, name=name)(x)
    input_quantizers = quantization.get("input_quantizers")
    if input_quantizers is not None and input_quantizers[index] is not None:
        x = QActivation(input_quantizers[index], name=f"{name}_input")(x)
    kernel_q, bias_q = quantization["weight_quantizers"][index]
    if pointwise:
        x = QConv1D(width, 1, use_bias=False, kernel_quantizer=kernel_q, name=name)(x)
    else:
        x = QDense(width, kernel_quantizer=kernel_q, bias_quantizer=bias_q, name=name)(x)
    return QActivation(quantization["activation_quantizers"][index], name=f"{name}_relu")(x) if relu else x


def dense_tagger(features, widths, n_constituents=80, weight_quantizers=None, activation_quantizers=None, input_quantizers=None,
                 name="dense_tagger", input_format=None):
    """Features layer → Dense(width, ReLU) × len(widths) → Dense(1): the logit.

    With ``weight_quantizers`` (one (kernel, bias) pair per Dense layer, the logit included)
    the Dense layers are QKeras QDense and ``activation_quantizers`` give one quantizer per ReLU;
    ``input_quantizers`` (one per QDense, None to skip) quantize the input of a QDense: the
    firmware's input type for the first, BitLinear's 8-bit activations for all.
    Layer names are the same in both forms (dense_0 …, logit), so weights copy by name.
    With ``input_format`` the inputs are a trigger's words [words (B, N, 3), mask] (the features
    layer must read them: WordConstituentFeatures).
    """
    quantization = quantization_of(weight_quantizers, activation_quantizers, input_quantizers)
    first, mask = jet_inputs(n_constituents) if input_format is None else word_inputs(n_constituents)
    x = features([first, mask])
    for i, width in enumerate(list(widths) + [1]):
        last = i == len(widths)
        x = weighted_layer(x, i, width, "logit" if last else f"dense_{i}", not last, quantization)
    return jet_model(first, mask, x, name)


def topodnn(n_constituents=80, name="topodnn", **quantization):
    """The TopoDNN-style dense tagger on the same [pmu, mask] inputs; output (B, 1) logit."""
    return dense_tagger(TopoDNNFeatures(name="topodnn_features"), TOPODNN_LAYERS, n_constituents, name=name, **quantization)


def hls4ml_tagger(n_constituents=80, name="hls4ml_tagger", **quantization):
    """The seed lecture's hls4ml jet tagger shape, 16 → 64 → 32 → 32 → 1, on 16 jet features."""
    return dense_tagger(DenseTaggerFeatures(name="dense_features"), HLS4ML_TAGGER_LAYERS, n_constituents, name=name, **quantization)


def constituent_mlp(n_constituents=16, name="constituent_mlp", input_format=None, **quantization):
    """The pT-sorted constituent MLP, 3N → 32 → 16 → 1, on (pT/pT_jet, Δη, Δφ) of the N leading
    constituents (ConstituentFeatures): 1,345 / 2,113 / 3,649 parameters at N = 8 / 16 / 32.
    Inputs [pmu (B, N, 4) GeV, mask (B, N)]; output (B, 1) logit. With ``input_format``: inputs
    [words (B, N, 3), mask], the features computed from the words after sorting them by pT
    (WordConstituentFeatures, sort=True: the firmware's sorting network)."""
    features = ConstituentFeatures(n_constituents=n_constituents, name="constituent_features") if input_format is None else \
        WordConstituentFeatures(n_constituents, input_format, sort=True, name="constituent_features")
    return dense_tagger(features, CONSTITUENT_MLP_LAYERS, n_constituents, name=name, input_format=input_format, **quantization)
