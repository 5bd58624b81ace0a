"""Permutation-equivariant linear layers on rank-2 arrays: LinEq2→2 and LinEq2→0 (PELICAN).

Shapes: x (B, C_in, N, N) channels-first pair features, zero where i or j is padding; mask
(B, N) with 1 for real constituents. Sums over k indices are normalised by N̄^k with the fixed
N̄ = 49, so an aggregate does not depend on how many padding slots N there are.

Basis elements are written (kind, source):

* sources — ``x`` (x_ij), ``xT`` (x_ji), ``diag`` (x_ii), ``rowsum`` (Σ_j x_ij / N̄),
  ``colsum`` (Σ_i x_ij / N̄), ``trace`` (Σ_i x_ii / N̄), ``total`` (Σ_ij x_ij / N̄²);
* kinds — ``pair`` (y_ij = x_ij or x_ji), ``row`` (y_ij = v_i), ``col`` (y_ij = v_j),
  ``diag`` (y_ij = δ_ij v_i, a global v broadcast to every i), ``const`` (y_ij = v).

The nano basis is DESIGN.md's six aggregators, in its order; the full basis is the complete
15-element basis of equivariant linear maps of rank-2 arrays (Maron et al. 2018).

Scaled variant (the seed paper's Table 2): a source summed over k ≥ 1 indices is multiplied by
(n/N̄)^(α_b − k) with a trainable α_b per basis element initialised to k (the unscaled layer).

Input normalisation (``normalize_input``): the layer batch-normalises its own input over the real
pairs (kerasjet.layers.normalization.PairNormalization) before its linear map. It is the same
function as a MaskedBatchNorm layer in front, but the normalised array is never written: the
scale multiplies the kernel, and the shift, a constant on real pairs, enters as biases polynomial
in r = n/N̄ (the aggregate of a constant over k indices is the constant times r^k).

Implementation: the row, column and constant terms form a rank-2 matrix
[r_i m_i, m_i]·[m_j, c_j m_j], built with one small matmul that is already zero on padding,
so no (B, C, N, N) broadcast or mask pass is needed; the δ_ij terms go in with one set_diag.
"""

import tensorflow as tf
import tensorflow_model_optimization as tfmot

from kerasjet.layers.masking import multiplicity
from kerasjet.layers.normalization import PairNormalization
from kerasjet.layers.pair_ops import assemble_pairs, pair_moments, pair_sums

N_BAR = 49.0

NANO_BASIS = (
    ("pair", "x"),
    ("diag", "colsum"),
    ("col", "colsum"),
    ("row", "colsum"),
    ("const", "total"),
    ("diag", "total"),
)

FULL_BASIS = (
    ("pair", "x"),
    ("pair", "xT"),
    ("diag", "diag"),
    ("row", "diag"),
    ("col", "diag"),
    ("diag", "rowsum"),
    ("diag", "colsum"),
    ("row", "rowsum"),
    ("col", "rowsum"),
    ("row", "colsum"),
    ("col", "colsum"),
    ("diag", "trace"),
    ("const", "trace"),
    ("diag", "total"),
    ("const", "total"),
)

BASES = {"nano": NANO_BASIS, "full": FULL_BASIS}
SUMMED_INDICES = {"x": 0, "xT": 0, "diag": 0, "rowsum": 1, "colsum": 1, "trace": 1, "total": 2}
GLOBAL_SOURCES = ("trace", "total")


def node_sources(x, names, n_bar=N_BAR):
    """The requested node (B, C, N) and global (B, C) sources of a (B, C, N, N) pair array."""
    out = {}
    if {"diag", "trace"} & set(names):
        out["diag"] = tf.linalg.diag_part(x)
    if {"colsum", "total"} & set(names):
        out["colsum"] = tf.reduce_sum(x, axis=2) / n_bar
    if "rowsum" in names:
        out["rowsum"] = tf.reduce_sum(x, axis=3) / n_bar
    if "trace" in names:
        out["trace"] = tf.reduce_sum(out["diag"], axis=2) / n_bar
    if "total" in names:
        out["total"] = tf.reduce_sum(out["colsum"], axis=2) / n_bar
    return out


def multiplicity_scaling(n, alpha, summed, n_bar=N_BAR):
    """(n/N̄)^(α_b − k_b) per basis element: n (B,), alpha (K,), summed (K,) → (B, K).

    Elements with k_b = 0 are never scaled (factor 1). Jets with n = 0 use n = 1.
    """
    ratio = tf.maximum(n, 1.0)[:, None] / n_bar
    summed = tf.constant(summed, ratio.dtype)
    return tf.where(summed[None, :] > 0, ratio ** (alpha[None, :] - summed[None, :]), 1.0)


class _EquivariantLayer(PairNormalization, tf.keras.layers.Layer, tfmot.sparsity.keras.PrunableLayer):
    """Shared parts: inputs [x, mask], initialisation, multiplicity scaling and biases, input
    normalisation, pruning.

    multiplicity_degree D > 0 adds biases polynomial in r = n/N̄: bias + Σ_{k=1..D} b_k r^k
    (weights ``multiplicity_bias`` (D, units), and for LinEq2→2 ``multiplicity_diag_bias``):
    the exact form of a BatchNorm folded into the layer (see kerasjet.fold).
    TFMOT prunes the kernel (``get_prunable_weights``).
    """

    def __init__(self, units, scaled=False, n_bar=N_BAR, kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 multiplicity_degree=0, normalize_input=False, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.normalize_input = bool(normalize_input)
        self._init_normalization(momentum, epsilon)
        self.units = int(units)
        self.scaled = bool(scaled)
        self.n_bar = float(n_bar)
        self.multiplicity_degree = int(multiplicity_degree)
        self.kernel_initializer = tf.keras.initializers.get(kernel_initializer)
        self.bias_initializer = tf.keras.initializers.get(bias_initializer)

    def _build_scaling(self, summed):
        self.summed = tuple(summed)
        if self.scaled:
            self.alpha = self.add_weight(
                "alpha", shape=(len(self.summed),), initializer=tf.keras.initializers.Constant(self.summed), trainable=True
            )

    def _build_multiplicity_biases(self, names):
        for name in names:
            if self.multiplicity_degree:
                setattr(self, name, self.add_weight(name, shape=(self.multiplicity_degree, self.units), initializer="zeros"))

    def _polynomial_bias(self, bias, multiplicity_bias, mask):
        """bias + Σ_k multiplicity_bias[k−1] r^k → (B, units), or (units,) without the polynomial."""
        if not self.multiplicity_degree:
            return bias
        r = multiplicity(mask)[:, None] / self.n_bar
        powers = tf.concat([r ** (k + 1) for k in range(self.multiplicity_degree)], axis=1)  # (B, D)
        return bias[None, :] + powers @ multiplicity_bias

    def _input_affine(self, x, mask, training):
        """(scale, shift) (C_in,) of the input normalisation, and the input's per-jet sums
        (Σ_ij x, Σ_i x_ii) (B, C_in) when training computed them anyway (else None)."""
        if not training:
            return self.affine(), None
        total, trace, squares = pair_moments(x)
        return self.batch_affine(total, squares, mask), (total, trace)

    def shift_biases(self, shift, kernel, mask):
        """(bias, diag_bias) terms (B, units) that a shift (C_in,) of the input on its real pairs
        adds through ``kernel``: element b aggregates it to shift·r^k_b, r = n/N̄ (times the
        element's factor when scaled); δ_ij elements go to diag_bias."""
        scaling = self._scaling(mask)
        r = multiplicity(mask) / self.n_bar
        bias, diag_bias = 0.0, 0.0
        for b, (kind, source) in enumerate(self.elements):
            summed = SUMMED_INDICES[source]
            factor = r**summed * (scaling[:, b] if scaling is not None and summed else 1.0)
            term = factor[:, None] * tf.linalg.matvec(kernel[b], shift, transpose_a=True)[None, :]
            if kind == "diag":
                diag_bias += term
            else:
                bias += term
        return bias, diag_bias

    def get_prunable_weights(self):
        return [self.kernel]

    @property
    def weight_names(self):
        names = self.base_weight_names
        if self.multiplicity_degree:
            names = names + tuple(f"multiplicity_{n}" for n in names if n.endswith("bias"))
        return names

    def _scaling(self, mask):
        """(B, K) multiplicity factors, or None for the unscaled layer."""
        if not self.scaled:
            return None
        return multiplicity_scaling(multiplicity(mask), self.alpha, self.summed, self.n_bar)

    def effective_weights(self):
        """The weights used in the forward pass (quantized subclasses override this)."""
        return {w: getattr(self, w) for w in self.weight_names}

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            scaled=self.scaled,
            n_bar=self.n_bar,
            kernel_initializer=tf.keras.initializers.serialize(self.kernel_initializer),
            bias_initializer=tf.keras.initializers.serialize(self.bias_initializer),
            multiplicity_degree=self.multiplicity_degree,
            normalize_input=self.normalize_input,
            momentum=self.momentum,
            epsilon=self.epsilon,
        )
        return config


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class LinEq2to2(_EquivariantLayer):
    """[x (B, C_in, N, N), mask (B, N)] → (B, units, N, N), zero where i or j is padding.

    y_hij = Σ_b Σ_c kernel[b, c, h] · Agg_b(x_c)_ij + bias_h + diag_bias_h δ_ij on real pairs.
    Weights: kernel (n_basis, C_in, units), bias (units,), diag_bias (units,).
    """

    base_weight_names = ("kernel", "bias", "diag_bias")

    def __init__(self, units, basis="nano", **kwargs):
        if basis not in BASES:
            raise ValueError(f"basis must be one of {sorted(BASES)}, got '{basis}'")
        super().__init__(units, **kwargs)
        self.basis = basis

    @property
    def elements(self):
        return BASES[self.basis]

    def build(self, input_shape):
        c_in = int(input_shape[0][1])
        self.kernel = self.add_weight("kernel", shape=(len(self.elements), c_in, self.units), initializer=self.kernel_initializer)
        self.bias = self.add_weight("bias", shape=(self.units,), initializer=self.bias_initializer)
        self.diag_bias = self.add_weight("diag_bias", shape=(self.units,), initializer="zeros")
        self._build_multiplicity_biases(("multiplicity_bias", "multiplicity_diag_bias"))
        self._build_scaling(SUMMED_INDICES[source] for _, source in self.elements)
        if self.normalize_input:
            self._build_normalization(c_in)
        super().build(input_shape)

    def call(self, inputs, training=None):
        x, mask = inputs
        sources = node_sources(x, {source for _, source in self.elements}, self.n_bar)
        scaling = self._scaling(mask)
        weights = self.effective_weights()
        kernel = weights["kernel"]
        shift_bias = shift_diag_bias = 0.0
        if self.normalize_input:
            (scale, shift), _ = self._input_affine(x, mask, training)
            shift_bias, shift_diag_bias = self.shift_biases(shift, kernel, mask)
            kernel = kernel * scale[None, :, None]
        terms = {kind: 0.0 for kind in ("row", "col", "diag")}
        pair_kernels = {"x": tf.zeros((0, self.units)), "xT": tf.zeros((0, self.units))}
        for b, (kind, source) in enumerate(self.elements):
            if kind == "pair":
                pair_kernels[source] = kernel[b]
                continue
            value = sources[source]
            if scaling is not None and SUMMED_INDICES[source] > 0:
                value = value * tf.reshape(scaling[:, b], [-1] + [1] * (len(value.shape) - 1))
            if source in GLOBAL_SOURCES:
                term = tf.einsum("bc,ch->bh", value, kernel[b])[:, :, None]
            else:
                term = tf.einsum("bcn,ch->bhn", value, kernel[b])
            terms["row" if kind == "const" else kind] += term
        node_shape = tf.stack([tf.shape(x)[0], self.units, tf.shape(x)[2]])
        bias = self._polynomial_bias(weights["bias"], weights.get("multiplicity_bias"), mask) + shift_bias
        diag_bias = self._polynomial_bias(weights["diag_bias"], weights.get("multiplicity_diag_bias"), mask) + shift_diag_bias
        row = tf.broadcast_to(terms["row"] + bias[..., None], node_shape)
        col = tf.broadcast_to(terms["col"], node_shape)
        diag = tf.broadcast_to(terms["diag"] + diag_bias[..., None], node_shape)
        return assemble_pairs(x, pair_kernels["x"], pair_kernels["xT"], row, col, diag, mask)

    def compute_output_shape(self, input_shape):
        x_shape = input_shape[0]
        return (x_shape[0], self.units, x_shape[2], x_shape[3])

    def get_config(self):
        config = super().get_config()
        config["basis"] = self.basis
        return config


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class LinEq2to0(_EquivariantLayer):
    """[x (B, C_in, N, N), mask (B, N)] → (B, units) invariant readout.

    w_h = bias_h + Σ_c [ kernel[0, c, h] · Σ_ij x_cij / N̄² + kernel[1, c, h] · Σ_i x_cii / N̄ ].
    Weights: kernel (2, C_in, units), bias (units,).
    """

    base_weight_names = ("kernel", "bias")
    elements = (("const", "total"), ("const", "trace"))

    def build(self, input_shape):
        c_in = int(input_shape[0][1])
        self.kernel = self.add_weight("kernel", shape=(2, c_in, self.units), initializer=self.kernel_initializer)
        self.bias = self.add_weight("bias", shape=(self.units,), initializer=self.bias_initializer)
        self._build_multiplicity_biases(("multiplicity_bias",))
        self._build_scaling(SUMMED_INDICES[source] for _, source in self.elements)
        if self.normalize_input:
            self._build_normalization(c_in)
        super().build(input_shape)

    def call(self, inputs, training=None):
        x, mask = inputs
        weights = self.effective_weights()
        kernel = weights["kernel"]
        bias = self._polynomial_bias(weights["bias"], weights.get("multiplicity_bias"), mask)
        sums = None
        if self.normalize_input:
            (scale, shift), sums = self._input_affine(x, mask, training)
            bias = bias + self.shift_biases(shift, kernel, mask)[0]
            kernel = kernel * scale[None, :, None]
        total, trace = pair_sums(x) if sums is None else sums
        values = tf.stack([total / (self.n_bar * self.n_bar), trace / self.n_bar], axis=1)  # (B, 2, C)
        scaling = self._scaling(mask)
        if scaling is not None:
            values = values * scaling[:, :, None]
        return tf.einsum("bkc,kch->bh", values, kernel) + bias

    def compute_output_shape(self, input_shape):
        return (input_shape[0][0], self.units)
