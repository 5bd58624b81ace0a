"""Quantized nanoPELICAN layers: exact fixed-point arithmetic for QAT and firmware.

Every weight goes through its QKeras quantizer (``quantized_bits``, ``quantized_po2``,
``ternary``, ``bitlinear_ternary``, ...). Every intermediate that firmware stores — the Minkowski
products, the outputs of each layer — goes through a declared fixed-point type (``quantized_bits``
with alpha = 1) by truncation and saturation, ap_fixed<bits, integer + 1, AP_TRN, AP_SAT>: the
cheapest conversion in hardware (dropping bits costs nothing, rounding costs an adder per value).
The input momenta are rounded half to even once, where the firmware's input is defined. In
between, the layers compute in float64, where every sum and product of these fixed-point numbers
is exact, so the outputs are the integers firmware computes, bit for bit.

Sums are normalised by N̄ = 64 rather than 49: a power of two makes the normalisation a shift.
``kerasjet.compress`` rescales a float model's weights by (64/49)^k when it quantizes it.
The N-scaled variant (non-integer powers of n) is not supported here.
"""

import math

import tensorflow as tf
from qkeras.quantizers import get_quantizer

from kerasjet.layers.equivariant import NANO_BASIS, LinEq2to0, LinEq2to2
from kerasjet.layers.lorentz import METRIC, LorentzDot, WordLorentzDot
from kerasjet.quantizers import apply_quantizer, fixed_point_spec, quantize_fixed

FIRMWARE_N_BAR = 64.0
TRUNCATE = "floor"  # intermediate results: ap_fixed AP_TRN, AP_SAT


def _serialize(quantizer):
    return {"class_name": quantizer.__class__.__name__, "config": quantizer.get_config()}


def _deserialize(quantizer):
    return get_quantizer(quantizer) if isinstance(quantizer, (dict, str)) else quantizer


def _check_fixed(name, quantizer, max_bits=24):
    bits, _, _ = fixed_point_spec(quantizer)
    if bits > max_bits:
        raise ValueError(f"{name}: {bits} bits do not fit float32 exactly (at most {max_bits})")


class _Quantized:
    """Quantizer bookkeeping shared by the quantized layers (a mixin)."""

    quantizer_names = ()

    def _set_quantizers(self, quantizers):
        """Quantizer objects (or their configs); None leaves that quantity in float."""
        for name in self.quantizer_names:
            quantizer = _deserialize(quantizers[name])
            setattr(self, name, quantizer)
            if quantizer is not None and name.endswith(("output_quantizer", "input_quantizer", "accumulator_quantizer")):
                _check_fixed(name, quantizer)

    def _quantizer_config(self):
        return {name: None if getattr(self, name) is None else _serialize(getattr(self, name)) for name in self.quantizer_names}


class _QuantizedLinEq(_Quantized):
    """The quantized weights of a LinEq layer: kernel through kernel_quantizer, every bias
    tensor through bias_quantizer."""

    def effective_weights(self):
        weights = {"kernel": apply_quantizer(self.kernel_quantizer, self.kernel)}
        for name in self.weight_names[1:]:
            weights[name] = apply_quantizer(self.bias_quantizer, getattr(self, name))
        return weights

    def _weights64(self):
        return {k: tf.cast(v, tf.float64) for k, v in self.effective_weights().items()}


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class QLorentzDot(_Quantized, LorentzDot):
    """[pmu (B, N, 4) GeV, mask] → d (B, 1, N, N) from quantized momenta, in a declared type.

    p̃ = input_quantizer(p / momentum_scale) — the firmware's input, in units of momentum_scale;
    d = output_quantizer(p̃_i · p̃_j), computed exactly and saturated.
    """

    quantizer_names = ("input_quantizer", "output_quantizer")

    def __init__(self, momentum_scale=100.0, input_quantizer=None, output_quantizer=None, **kwargs):
        super().__init__(momentum_scale=momentum_scale, **kwargs)
        self._set_quantizers({"input_quantizer": input_quantizer, "output_quantizer": output_quantizer})

    def quantized_momenta(self, pmu, mask):
        """The firmware input: (B, N, 4) momenta on the input type's grid, zero on padding."""
        return quantize_fixed(tf.cast(pmu, tf.float32) * (mask[..., None] / self.momentum_scale), self.input_quantizer)

    def call(self, inputs):
        pmu, mask = inputs
        p = tf.cast(self.quantized_momenta(pmu, mask), tf.float64)
        d = tf.matmul(p * tf.constant(METRIC, tf.float64), p, transpose_b=True)
        return tf.cast(quantize_fixed(d, self.output_quantizer, TRUNCATE), tf.float32)[:, None]

    def get_config(self):
        return {**super().get_config(), **self._quantizer_config()}


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class QWordLorentzDot(_Quantized, WordLorentzDot):
    """[words (B, N, 3) integer codes, mask (B, N)] → d (B, 1, N, N) in a declared type: the
    firmware's Lorentz products of massless candidates given as trigger words.

        P_ij = min(⌊p̃_i p̃_j · 2^F⌋ / 2^F, 2^I − 2^-F),  p̃ = pT code · LSB / momentum_scale
        d_ij = output_quantizer(P_ij (T_η[|Δη_ij|] + T_φ[|Δφ_ij|]))

    computed exactly (float64) and truncated with saturation; I, F = product_integer_bits,
    product_fraction_bits. T_η, T_φ are the tables of ``PairTables`` (entries multiples of
    2^-fraction_bits); Δφ wraps; a difference beyond the tables reads their last entry.
    ``momentum_scale`` must be the pT LSB times a power of two (128 GeV for the CMS Phase-2
    words), so that p̃ is the pT code shifted: the words enter the firmware as they arrive, with
    no rounding of their own. Each of the two products per pair is one DSP48E2 (27 × 18 bits):
    the pT codes (14 bits) multiply exactly; P is declared as 6 integer and 14 fractional bits by
    default (20 bits: saturation above (1024 GeV)², where d_ij's default type saturates anyway
    unless the pair is nearly collinear; LSB 1 GeV²), which also keeps the second product short;
    the tables' sum stays below 8 (3 integer bits plus theirs).
    """

    quantizer_names = ("output_quantizer",)

    def __init__(self, input_format=None, table_size=512, fraction_bits=14, momentum_scale=128.0, output_quantizer=None,
                 product_integer_bits=6, product_fraction_bits=14, **kwargs):
        super().__init__(input_format, table_size, fraction_bits, momentum_scale, **kwargs)
        steps = self.momentum_scale / self.tables.fmt.pt.lsb
        if 2 ** round(math.log2(steps)) != steps:
            raise ValueError(f"{self.name}: momentum_scale {self.momentum_scale:g} GeV is not a power of two times the pT step "
                             f"{self.tables.fmt.pt.lsb:g} GeV (the firmware scales the pT code by a shift)")
        self.product_integer_bits, self.product_fraction_bits = int(product_integer_bits), int(product_fraction_bits)
        self._set_quantizers({"output_quantizer": output_quantizer})

    def pt_products(self, words, mask):
        """(B, N, N) P_ij: the scaled pT products truncated and saturated to their declared type
        (float64, exact)."""
        pt = self.scaled_pt(words, mask)
        step = 2.0**self.product_fraction_bits
        return tf.minimum(tf.floor(pt[:, :, None] * pt[:, None, :] * step) / step, 2.0**self.product_integer_bits - 1.0 / step)

    def call(self, inputs):
        words, mask = (tf.cast(x, tf.float64) for x in inputs)
        d = self.pt_products(words, mask) * self.angular_terms(words)
        return tf.cast(quantize_fixed(d, self.output_quantizer, TRUNCATE), tf.float32)[:, None]

    def get_config(self):
        return {**super().get_config(), **self._quantizer_config(), "product_integer_bits": self.product_integer_bits,
                "product_fraction_bits": self.product_fraction_bits}


def _check_n_bar(layer):
    if 2 ** round(math.log2(layer.n_bar)) != layer.n_bar:
        raise ValueError(f"{layer.name}: n_bar = {layer.n_bar:g} is not a power of two (firmware normalises sums by shifts)")
    if layer.scaled:
        raise ValueError(f"{layer.name}: the N-scaled variant has no fixed-point form")


def _polynomial_bias64(layer, bias, multiplicity_bias, mask):
    """bias + Σ_k b_k r^k in float64, r = n / N̄ (exact: N̄ is a power of two)."""
    out = tf.cast(bias, tf.float64)[None, :]
    if layer.multiplicity_degree:
        r = tf.cast(tf.reduce_sum(mask, axis=1), tf.float64)[:, None] / layer.n_bar
        for k in range(layer.multiplicity_degree):
            out = out + r ** (k + 1) * tf.cast(multiplicity_bias[k], tf.float64)[None, :]
    return out


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class QLinEq2to2(_QuantizedLinEq, LinEq2to2):
    """Quantized nano LinEq2→2: weights through kernel/bias quantizers, output in a declared type.

    Same equation and weights as LinEq2to2 (nano basis), computed exactly in float64. With an
    ``accumulator_quantizer`` the four partial results — the pair term K₀x_ij, the row term
    (s_i, t and the bias), the column term (s_j) and the diagonal term — are each truncated to
    that type before they are added: in firmware the N² pair additions then run at the
    accumulator's width instead of the exact sum's. The output (B, units, N, N) is
    output_quantizer(pair + row + column + δ·diagonal), zero on padding.
    """

    quantizer_names = ("kernel_quantizer", "bias_quantizer", "accumulator_quantizer", "output_quantizer")

    def __init__(self, units, kernel_quantizer=None, bias_quantizer=None, output_quantizer=None, accumulator_quantizer=None,
                 n_bar=FIRMWARE_N_BAR, **kwargs):
        super().__init__(units, basis="nano", n_bar=n_bar, **kwargs)
        self._set_quantizers({"kernel_quantizer": kernel_quantizer, "bias_quantizer": bias_quantizer, "output_quantizer": output_quantizer,
                              "accumulator_quantizer": accumulator_quantizer})
        _check_n_bar(self)

    def call(self, inputs):
        x, mask = inputs
        w = self._weights64()
        x = tf.cast(x, tf.float64)
        m = tf.cast(mask, tf.float64)
        n = tf.shape(x)[2]
        kernel = w["kernel"]  # (6, C, H), DESIGN.md's order: d, δs, s_j, s_i, t, δt
        s = tf.reduce_sum(x, axis=2) / self.n_bar  # (B, C, N) column sums
        t = tf.reduce_sum(s, axis=2) / self.n_bar  # (B, C)
        bias = _polynomial_bias64(self, w["bias"], w.get("multiplicity_bias"), mask)
        diag_bias = _polynomial_bias64(self, w["diag_bias"], w.get("multiplicity_diag_bias"), mask)
        def accumulate(v):
            return quantize_fixed(v, self.accumulator_quantizer, TRUNCATE)

        pair = accumulate(tf.einsum("bcij,ch->bhij", x, kernel[0]))
        col = accumulate(tf.einsum("bcn,ch->bhn", s, kernel[2]))
        row = accumulate(tf.einsum("bcn,ch->bhn", s, kernel[3]) + (tf.einsum("bc,ch->bh", t, kernel[4]) + bias)[:, :, None])
        diag = accumulate(tf.einsum("bcn,ch->bhn", s, kernel[1]) + (tf.einsum("bc,ch->bh", t, kernel[5]) + diag_bias)[:, :, None])
        y = pair + col[:, :, None, :] + row[:, :, :, None] + tf.eye(n, dtype=tf.float64)[None, None] * diag[:, :, :, None]
        y = quantize_fixed(y, self.output_quantizer, TRUNCATE) * (m[:, None, :, None] * m[:, None, None, :])
        return tf.cast(y, tf.float32)

    def get_config(self):
        config = {**super().get_config(), **self._quantizer_config()}
        config.pop("basis")
        return config


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class QLinEq2to0(_QuantizedLinEq, LinEq2to0):
    """Quantized LinEq2→0: [x (B, C, N, N), mask (B, N)] → (B, units), the total and trace
    readout, exact in float64, output in a declared type."""

    quantizer_names = ("kernel_quantizer", "bias_quantizer", "output_quantizer")

    def __init__(self, units, kernel_quantizer=None, bias_quantizer=None, output_quantizer=None, n_bar=FIRMWARE_N_BAR, **kwargs):
        super().__init__(units, n_bar=n_bar, **kwargs)
        self._set_quantizers({"kernel_quantizer": kernel_quantizer, "bias_quantizer": bias_quantizer, "output_quantizer": output_quantizer})
        _check_n_bar(self)

    def call(self, inputs):
        x, mask = inputs
        w = self._weights64()
        x = tf.cast(x, tf.float64)
        total = tf.reduce_sum(x, axis=(2, 3)) / self.n_bar**2
        trace = tf.reduce_sum(tf.linalg.diag_part(x), axis=2) / self.n_bar
        bias = _polynomial_bias64(self, w["bias"], w.get("multiplicity_bias"), mask)
        out = total @ w["kernel"][0] + trace @ w["kernel"][1] + bias
        return tf.cast(quantize_fixed(out, self.output_quantizer, TRUNCATE), tf.float32)

    def get_config(self):
        return {**super().get_config(), **self._quantizer_config()}


__all__ = ["FIRMWARE_N_BAR", "NANO_BASIS", "QLinEq2to0", "QLinEq2to2", "QLorentzDot"]
