"""Quantizers: BitLinear ternary weights, absmax activations, and exact fixed point.

All quantizers follow QKeras' interface (``__call__`` with straight-through gradients, ``bits``,
``max()``/``min()``, ``get_config``/``from_config``) and are registered as Keras custom objects,
so models holding them reload and QKeras/hls4ml find them by class name.

* ``bitlinear_ternary`` — BitNet b1.58 as in the BitHEP seed: W̃ = β·clip(round(W/β), −1, 1)
  with β = mean|W| per tensor, per output channel (last axis) or per index of ``group_axis``,
  optionally rounded to a power of two so that β is a shift in hardware. The float weights stay
  in the optimizer.
* ``blockwise_bits`` — fixed point with a binary point per block (per basis element of a
  nanoPELICAN kernel), for weights whose groups differ in scale by orders of magnitude.
* ``pair_po2_bits`` — ``blockwise_bits`` with the d_ij weight of a LinEq2→2 kernel a signed
  power of two: no per-pair multiplication is left in firmware.
* ``absmax_quantizer`` — the paper's 8-bit activation quantizer, per sample:
  x̃ = clip(round(x·Q_b/γ), −Q_b, Q_b − 1)·γ/Q_b, γ = max|x| over the sample, Q_b = 2^(bits−1).
* ``StaticAbsmax`` — its firmware form, a layer: γ is a moving average of the batch max|x|
  during training (rounded up to a power of two), frozen at inference, where the layer is the
  fixed-point type of ``as_fixed_point()``.
* ``quantize_fixed`` — a fixed-point type (``quantized_bits`` with alpha = 1) in the dtype of its
  input, so the quantized layers can compute exactly in float64: rounding half to even as QKeras
  does (weights), or the hardware's cheapest, truncation (floor), for the intermediate results of
  kerasjet's quantized layers. Both saturate.
"""

import math

import numpy as np
import tensorflow as tf
from qkeras.quantizers import BaseQuantizer, quantized_bits


def _straight_through(x, quantized):
    """quantized in the forward pass, identity gradient."""
    return x + tf.stop_gradient(quantized - x)


def _reduction_axes(shape, keep_axis):
    """Axes to reduce over so that one statistic remains per index of ``keep_axis`` (an axis or a
    tuple of axes; None: one statistic)."""
    if keep_axis is None or len(shape) < 2:
        return list(range(len(shape)))
    keep = {a % len(shape) for a in (keep_axis if isinstance(keep_axis, (tuple, list)) else (keep_axis,))}
    return [a for a in range(len(shape)) if a not in keep]


class bitlinear_ternary(BaseQuantizer):  # noqa: N801  (QKeras names quantizers in lower case)
    """Ternary BitLinear weights {−β, 0, +β}, β = mean|W| (see the module docstring); a QKeras
    quantizer: called on a weight tensor of any shape, returns one of the same shape.

    per_channel: one β per output channel (the last axis) instead of one per tensor.
    group_axis: one β per index of this axis instead (e.g. 0: per nanoPELICAN basis element,
    whose inputs differ in scale by orders of magnitude).
    po2_scale: round β to the nearest power of two (a shift in firmware).
    """

    def __init__(self, per_channel=False, po2_scale=False, epsilon=1e-8, group_axis=None):
        super().__init__()
        self.bits = 2
        self.per_channel = bool(per_channel)
        self.po2_scale = bool(po2_scale)
        self.epsilon = float(epsilon)
        self.group_axis = group_axis
        self.alpha = 1.0  # QKeras tooling reads alpha; the scale is β, computed from the weights

    def scale(self, w):
        """β: mean|W| per group (the tensor, the output channel, or group_axis), broadcastable to W."""
        w = tf.convert_to_tensor(w)
        keep = self.group_axis if self.group_axis is not None else (-1 if self.per_channel else None)
        axes = _reduction_axes(w.shape, keep)
        beta = tf.reduce_mean(tf.abs(w), axis=axes, keepdims=True) + self.epsilon
        if self.po2_scale:
            beta = tf.pow(2.0, tf.round(tf.math.log(beta) / math.log(2.0)))
        return beta

    def __call__(self, w):
        w = tf.convert_to_tensor(w, tf.float32)
        beta = tf.stop_gradient(self.scale(w))
        return _straight_through(w, beta * tf.clip_by_value(tf.round(w / beta), -1.0, 1.0))

    def max(self):
        return 1.0

    def min(self):
        return -1.0

    def get_config(self):
        return {"per_channel": self.per_channel, "po2_scale": self.po2_scale, "epsilon": self.epsilon, "group_axis": self.group_axis}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __str__(self):
        return f"bitlinear_ternary(per_channel={self.per_channel}, po2_scale={self.po2_scale})"


class blockwise_bits(BaseQuantizer):  # noqa: N801
    """Fixed point with its binary point chosen per block: ``bits`` significant bits per group.

    Each group (each index of ``axis``, an axis or a tuple of axes — every axis: one binary point
    per weight; the whole tensor for axis None) is quantized as
    quantized_bits(bits, integer) with integer = ceil(log2 max|w|) of that group: round half to
    even, saturate, straight-through gradient. nanoPELICAN's aggregators differ in scale by orders
    of magnitude (the t weight is ~10³ times the d_ij weight), which one shared binary point
    cannot serve with 8 bits. In firmware the weights are constants: a multiplier costs what its
    significant bits cost, whatever container type holds them.
    """

    def __init__(self, bits=8, axis=0):
        super().__init__()
        self.bits = int(bits)
        self.axis = axis
        self.alpha = 1.0

    def __call__(self, w):
        w = tf.convert_to_tensor(w, tf.float32)
        largest = tf.reduce_max(tf.abs(w), axis=_reduction_axes(w.shape, self.axis), keepdims=True)
        integer = tf.math.ceil(tf.math.log(tf.maximum(largest, 2.0**-24)) / math.log(2.0))
        step = tf.pow(2.0, integer - (self.bits - 1))
        levels = 2.0 ** (self.bits - 1)
        return _straight_through(w, tf.clip_by_value(tf.round(w / step), -levels, levels - 1) * step)

    def max(self):
        return 1.0

    def min(self):
        return -1.0

    def get_config(self):
        return {"bits": self.bits, "axis": list(self.axis) if isinstance(self.axis, tuple) else self.axis}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def power_of_two(w):
    """sign(w)·2^round(log2|w|), the nearest signed power of two on a log scale (0 stays 0)."""
    magnitude = tf.abs(w)
    exponent = tf.round(tf.math.log(tf.maximum(magnitude, 2.0**-60)) / math.log(2.0))
    return tf.where(magnitude > 0, tf.sign(w) * tf.pow(2.0, exponent), tf.zeros_like(w))


class pair_po2_bits(blockwise_bits):  # noqa: N801
    """``blockwise_bits`` per weight for a LinEq2→2 kernel (6, C_in, C), except its pair element
    (index 0 of axis 0, the weight of d_ij itself) which is a signed power of two.

    The N(N+1)/2 pair terms are the only per-pair multiplications of nanoPELICAN; with a
    power-of-two weight they are shifts. ReLU's positive homogeneity lets every hidden channel
    take such a weight without changing the function (kerasjet.compress.folded_nanopelican,
    ``pair_po2``): the readout absorbs the scale. Straight-through gradients.
    """

    def __init__(self, bits=8, axis=(0, 1, 2)):
        super().__init__(bits, axis)

    def __call__(self, w):
        w = tf.convert_to_tensor(w, tf.float32)
        fixed = tf.stop_gradient(super().__call__(w))
        return _straight_through(w, tf.concat([power_of_two(w[:1]), fixed[1:]], axis=0))


class absmax_quantizer(BaseQuantizer):  # noqa: N801
    """Per-sample absmax activation quantizer with Q_b = 2^(bits−1) (8 bits: Q_b = 128)."""

    def __init__(self, bits=8, epsilon=1e-5):
        super().__init__()
        self.bits = int(bits)
        self.epsilon = float(epsilon)

    def __call__(self, x):
        x = tf.convert_to_tensor(x, tf.float32)
        q_b = 2.0 ** (self.bits - 1)
        gamma = tf.stop_gradient(tf.reduce_max(tf.abs(x), axis=list(range(1, len(x.shape))), keepdims=True) + self.epsilon)
        return _straight_through(x, tf.clip_by_value(tf.round(x * q_b / gamma), -q_b, q_b - 1) * gamma / q_b)

    def max(self):
        return 1.0

    def min(self):
        return -1.0

    def get_config(self):
        return {"bits": self.bits, "epsilon": self.epsilon}

    @classmethod
    def from_config(cls, config):
        return cls(**config)


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class StaticAbsmax(tf.keras.layers.Layer):
    """Absmax activation quantization with a calibrated, frozen scale (the firmware form).

    γ is a moving average of the batch max|x| during training, rounded up to a power of two so
    that the quantizer is the fixed-point type ``quantized_bits(bits, log2 γ)``.
    """

    def __init__(self, bits=8, momentum=0.99, **kwargs):
        super().__init__(**kwargs)
        self.bits = int(bits)
        self.momentum = float(momentum)

    def build(self, input_shape):
        self.moving_max = self.add_weight("moving_max", shape=(), initializer="zeros", trainable=False)
        super().build(input_shape)

    def gamma(self):
        """The power-of-two scale: 2^ceil(log2 moving max|x|)."""
        return tf.pow(2.0, tf.math.ceil(tf.math.log(tf.maximum(self.moving_max, 1e-12)) / math.log(2.0)))

    def call(self, x, training=None):
        if training:
            batch_max = tf.reduce_max(tf.abs(x))
            first = tf.cast(self.moving_max == 0, x.dtype)
            self.moving_max.assign(first * batch_max + (1 - first) * (self.momentum * self.moving_max + (1 - self.momentum) * batch_max))
        return self.as_fixed_point()(x)

    def integer_bits(self):
        """log2 γ as an int (the integer bits of the equivalent fixed-point type)."""
        return int(round(math.log2(float(self.gamma().numpy()))))

    def as_fixed_point(self):
        """quantized_bits(bits, log2 γ, alpha=1): what the layer is at inference."""
        return FixedQuantizerFromScale(self.bits, self.gamma())

    def get_config(self):
        return {**super().get_config(), "bits": self.bits, "momentum": self.momentum}


class FixedQuantizerFromScale:
    """quantized_bits semantics with a scale tensor (for StaticAbsmax inside a graph)."""

    def __init__(self, bits, gamma):
        self.bits, self.gamma = bits, gamma

    def __call__(self, x):
        q_b = 2.0 ** (self.bits - 1)
        return _straight_through(x, tf.clip_by_value(tf.round(x * q_b / self.gamma), -q_b, q_b - 1) * self.gamma / q_b)


def mean_shift(slots):
    """e with slots = 2^e (a mean over them is a shift right by e bits, exact in fixed point), or
    None when the number of slots is no power of two."""
    slots = int(slots)
    return slots.bit_length() - 1 if slots > 0 and not slots & (slots - 1) else None


def fixed_point_spec(quantizer):
    """(bits, integer, signed) of a QKeras quantized_bits quantizer with alpha 1 (or None)."""
    if not isinstance(quantizer, quantized_bits):
        raise ValueError(f"expected a quantized_bits quantizer for a fixed-point type, got {quantizer}")
    if quantizer.alpha not in (None, 1, 1.0):
        raise ValueError(f"{quantizer}: fixed-point types need alpha=1 (a fixed binary point)")
    return int(quantizer.bits), int(quantizer.integer), bool(quantizer.keep_negative)


def lsb(quantizer):
    """Least significant bit of a quantized_bits type."""
    bits, integer, signed = fixed_point_spec(quantizer)
    return 2.0 ** (integer - bits + int(signed))


def quantize_fixed(x, quantizer, rounding="even"):
    """quantized_bits(bits, integer, keep_negative, alpha=1) computed in x's dtype.

    Value = clip(R(x / lsb), lo, hi) · lsb, saturating at lo = −2^(bits−1) (signed) or 0 and
    hi = 2^(bits−signed) − 1; R rounds half to even (``rounding="even"``: QKeras,
    ap_fixed<…, AP_RND_CONV, AP_SAT>) or truncates (``"floor"``: ap_fixed<…, AP_TRN, AP_SAT>).
    Straight-through gradient. None: x unchanged.
    """
    if quantizer is None:
        return x
    bits, integer, signed = fixed_point_spec(quantizer)
    step = 2.0 ** (integer - bits + int(signed))
    levels = 2.0 ** (bits - int(signed))
    low = -levels if signed else 0.0
    scaled = x / step
    q = tf.clip_by_value(tf.round(scaled) if rounding == "even" else tf.floor(scaled), low, levels - 1) * step
    return _straight_through(x, q)


def fixed_for_range(bits, max_abs, signed=True, min_integer=None):
    """quantized_bits(bits, integer) whose range covers max_abs: integer = ceil(log2 max_abs).

    min_integer bounds the integer bits from below (QKeras' own layers need integer ≥ 0).
    """
    integer = int(np.ceil(np.log2(max(float(max_abs), 2.0 ** -24))))
    if min_integer is not None:
        integer = max(integer, min_integer)
    return quantized_bits(bits, integer, keep_negative=int(signed), alpha=1)


def apply_quantizer(quantizer, x):
    """quantizer(x); fixed-point quantized_bits through ``quantize_fixed`` (which also allows the
    negative integer bits that QKeras' own implementation rejects); None: x unchanged."""
    if quantizer is None:
        return x
    if isinstance(quantizer, quantized_bits) and quantizer.alpha in (None, 1, 1.0):
        return quantize_fixed(tf.convert_to_tensor(x), quantizer)
    return quantizer(x)


CUSTOM_OBJECTS = {"bitlinear_ternary": bitlinear_ternary, "blockwise_bits": blockwise_bits, "pair_po2_bits": pair_po2_bits,
                  "absmax_quantizer": absmax_quantizer, "StaticAbsmax": StaticAbsmax}
tf.keras.utils.get_custom_objects().update(CUSTOM_OBJECTS)
