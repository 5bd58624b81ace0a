"""Fixed-point types for the kerasjet HLS layers.

Declared types (inputs, weights, layer outputs) come from the QKeras quantizers or the YAML
config. The internal accumulator types are derived here so that every sum in the C++ is exact:
fractional bits are the most any term needs, integer bits cover a bound on the magnitude. The
only rounding then happens where Keras rounds too — when a result is cast to its output type.
"""

import math
from dataclasses import dataclass

import numpy as np

from hls4ml.model.types import FixedPrecisionType, IntegerPrecisionType
from qkeras.quantizers import quantized_bits, quantized_relu


@dataclass(frozen=True)
class Fixed:
    """A fixed-point format: total width, integer bits (sign included when signed)."""

    width: int
    integer: int
    signed: bool = True

    @property
    def fractional(self):
        return self.width - self.integer

    @property
    def max_abs(self):
        return 2.0 ** (self.integer - 1 if self.signed else self.integer)

    def hls(self, rounding=None, saturation=None):
        return FixedPrecisionType(self.width, self.integer, self.signed, rounding, saturation)

    def cpp(self, rounding=None, saturation=None):
        modes = "".join(f",{m}" for m in (rounding, saturation) if m)
        return f"ap_{'' if self.signed else 'u'}fixed<{self.width},{self.integer}{modes}>"

    @classmethod
    def of(cls, precision):
        """From an hls4ml precision type (fixed or integer)."""
        if isinstance(precision, FixedPrecisionType):
            return cls(precision.width, precision.integer, precision.signed)
        if isinstance(precision, IntegerPrecisionType):
            return cls(precision.width, precision.width, precision.signed)
        raise ValueError(f"kerasjet HLS layers need fixed-point inputs, got {precision}")

    @classmethod
    def holding(cls, values, max_fractional=40):
        """The narrowest signed format holding every one of ``values`` exactly."""
        values = np.asarray(values, np.float64).ravel()
        fractional = next(f for f in range(-16, max_fractional + 1) if np.all(values * 2.0**f == np.round(values * 2.0**f)))
        if not np.all(values * 2.0**fractional == np.round(values * 2.0**fractional)):
            raise ValueError("values are not fixed-point numbers")
        return cls.exact(max(fractional, 0), float(np.abs(values).max()) if values.size else 0.0)

    @classmethod
    def exact(cls, fractional, max_abs, signed=True):
        """The narrowest format with ``fractional`` bits holding |values| ≤ max_abs exactly."""
        integer = max(1, math.ceil(math.log2(max(max_abs, 1e-30) + 2.0 ** -fractional)) + (1 if signed else 0))
        return cls(integer + fractional, integer, signed)


# QKeras quantizers round half to even and saturate: ap_fixed's AP_RND_CONV, AP_SAT
QKERAS_MODES = ("AP_RND_CONV", "AP_SAT")
# kerasjet's quantized layers truncate their results and saturate (kerasjet.layers.quantized)
LAYER_MODES = ("AP_TRN", "AP_SAT")


def from_quantizer(quantizer):
    """The Fixed of a quantized_bits (alpha 1) or quantized_relu quantizer."""
    if isinstance(quantizer, quantized_relu):
        return Fixed(int(quantizer.bits), int(quantizer.integer), signed=False)
    if isinstance(quantizer, quantized_bits):
        if quantizer.alpha not in (None, 1, 1.0):
            raise ValueError(f"{quantizer}: only alpha=1 has a fixed-point form")
        signed = bool(quantizer.keep_negative)
        return Fixed(int(quantizer.bits), int(quantizer.integer) + int(signed), signed)
    raise ValueError(f"no fixed-point form for the quantizer {quantizer}")


def lorentz_accumulator(momentum):
    """Exact type of Σ_μ g_μ p_iμ p_jμ for momenta of format ``momentum``."""
    return Fixed.exact(2 * momentum.fractional, 4 * momentum.max_abs**2)


@dataclass(frozen=True)
class WeightFormat:
    """How weights enter the C++: a fixed type, or ternary codes times 2^shift."""

    fixed: Fixed
    ternary_shift: int = None  # None: not ternary

    @property
    def max_abs(self):
        return 1.0 if self.ternary_shift is not None else self.fixed.max_abs

    @property
    def fractional(self):
        return 0 if self.ternary_shift is not None else self.fixed.fractional


def equivariant_types(x, weight, bias, n, log2_nbar, degree, n_in, n_terms, sum_depth):
    """(sum_t, r_t, accum_t, scale_t) for a LinEq layer.

    x: input Fixed; weight: WeightFormat; bias: Fixed; n: constituent slots; sums are normalised
    by 2^log2_nbar, at most ``sum_depth`` times (1 for s, 2 for t or the total); n_terms: basis
    elements per input channel.
    """
    k = log2_nbar
    sum_t = Fixed.exact(x.fractional + sum_depth * k, n * n * x.max_abs)
    ratio = n / 2.0**k
    r_t = Fixed.exact(k * max(degree, 1), max(1.0, ratio) ** max(degree, 1), signed=False)
    shift = weight.ternary_shift
    product_fraction = weight.fractional + sum_t.fractional
    scaled_fraction = product_fraction + (max(0, -shift) if shift is not None else 0)
    fractional = max(scaled_fraction, bias.fractional + k * degree)
    source_max = x.max_abs * max(1.0, ratio) ** sum_depth
    scale = 2.0**shift if shift is not None else 1.0
    bound = n_in * n_terms * weight.max_abs * scale * source_max + 2 * (degree + 1) * bias.max_abs * max(1.0, ratio) ** degree
    accum_t = Fixed.exact(fractional, 2 * bound)
    scale_t = Fixed.exact(max(0, -(shift or 0)), 2.0 ** (shift or 0), signed=False)
    return sum_t, r_t, accum_t, scale_t
