"""Level-1 candidate words: the integer (pT, η, φ) a trigger's jet tagger receives.

A Level-1 trigger sees particle candidates as fixed-point words, not as floating-point
four-momenta. An :class:`InputFormat` names the three fields' widths, steps (LSB) and
signedness; the default, ``CMS_PHASE2``, is the CMS Phase-2 correlator's candidate word:

    pT  ap_ufixed<14, 12>, truncated and saturated: LSB 0.25 GeV, 0 … 4095.75 GeV
    η   ap_int<12>, LSB π/720 (±2048 codes: |η| ≤ 8.9)
    φ   ap_int<11>, LSB π/720 rad (codes −720 … 719: φ in [−π, π))

``candidate_words`` quantises constituents to words; the models that start from words
(``kerasjet.models.nanopelican`` with ``input_format``) take them as integer codes in float32.

For massless candidates, as the detector level's energy-flow objects are, the Lorentz product is

    d_ij = pT_i pT_j (cosh Δη_ij − cos Δφ_ij) = pT_i pT_j [g_η(Δη_ij) + g_φ(Δφ_ij)],
    g_η(x) = cosh x − 1,  g_φ(x) = 1 − cos x,

one product of transverse momenta times two even functions of integer code differences, which
``PairTables`` tabulates in fixed point (the firmware's lookup tables; see its error bound).
"""

import math
from dataclasses import dataclass

import numpy as np

from kerasjet import kinematics
from kerasjet.errors import KerasjetError

ROUNDINGS = ("truncate", "round")


@dataclass(frozen=True)
class WordField:
    """One field of a candidate word: ``width`` bits, ``lsb`` physical units per code (GeV for pT,
    rad for φ, none for η), ``signed`` two's complement or unsigned; values quantise by ``rounding`` ('truncate':
    floor, as ap_fixed's AP_TRN; 'round': to nearest) and saturate at the codes' range."""

    width: int
    lsb: float
    signed: bool
    rounding: str

    def __post_init__(self):
        if not 1 <= self.width <= 31:
            raise KerasjetError(f"a word field's width must lie in [1, 31] bits (got {self.width})")
        if not self.lsb > 0:
            raise KerasjetError(f"a word field's LSB must be positive (got {self.lsb})")
        if self.rounding not in ROUNDINGS:
            raise KerasjetError(f"a word field's rounding must be one of {', '.join(ROUNDINGS)} (got {self.rounding!r})")

    @property
    def code_range(self):
        """(lowest, highest) code."""
        if self.signed:
            return -(1 << (self.width - 1)), (1 << (self.width - 1)) - 1
        return 0, (1 << self.width) - 1

    def quantise(self, values):
        """Physical values → integer codes (int32), rounded and saturated."""
        scaled = np.asarray(values, np.float64) / self.lsb
        codes = np.floor(scaled) if self.rounding == "truncate" else np.floor(scaled + 0.5)
        low, high = self.code_range
        return np.clip(codes, low, high).astype(np.int32)

    def dequantise(self, codes):
        """Integer codes → physical values (float64)."""
        return np.asarray(codes, np.float64) * self.lsb


@dataclass(frozen=True)
class InputFormat:
    """A trigger's candidate word: pT (GeV), η and φ (rad) fields. φ codes wrap with period
    2π, which must be a whole number of φ steps (``phi_period`` codes)."""

    name: str
    pt: WordField
    eta: WordField
    phi: WordField

    def __post_init__(self):
        period = 2 * math.pi / self.phi.lsb
        if abs(period - round(period)) > 1e-6:
            raise KerasjetError(f"input format '{self.name}': 2π is {period:.6f} φ steps, not a whole number (φ cannot wrap exactly)")
        if self.pt.signed:
            raise KerasjetError(f"input format '{self.name}': pT must be unsigned")
        if not self.phi.signed or self.phi.code_range[1] < self.phi_period // 2 - 1:
            raise KerasjetError(f"input format '{self.name}': φ needs a signed field holding ±{self.phi_period // 2} codes")

    @property
    def phi_period(self):
        """Codes per 2π of φ."""
        return int(round(2 * math.pi / self.phi.lsb))

    @property
    def phi_wraps(self):
        """The corrections by ±P (P = phi_period) that wrap any difference of two φ codes into
        [−P/2, P/2): the firmware's comparisons against ±P/2, repeated this many times."""
        low, high = self.phi.code_range
        return max(1, math.ceil((high - low - self.phi_period // 2 + 1) / self.phi_period))

    def wrap_phi(self, codes):
        """φ code differences (any integers) wrapped into [−period/2, period/2)."""
        half = self.phi_period // 2
        return np.mod(np.asarray(codes) + half, self.phi_period) - half


ANGLE_LSB = math.pi / 720
CMS_PHASE2 = InputFormat(
    name="cms-phase2",
    pt=WordField(width=14, lsb=0.25, signed=False, rounding="truncate"),
    eta=WordField(width=12, lsb=ANGLE_LSB, signed=True, rounding="round"),
    phi=WordField(width=11, lsb=ANGLE_LSB, signed=True, rounding="round"),
)
INPUT_FORMATS = {CMS_PHASE2.name: CMS_PHASE2}
DEFAULT_INPUT_FORMAT = CMS_PHASE2.name


def input_format(name):
    """The InputFormat called ``name`` (KerasjetError naming the known ones)."""
    try:
        return INPUT_FORMATS[name]
    except KeyError:
        raise KerasjetError(f"input format '{name}' is not one of {', '.join(INPUT_FORMATS)}") from None


def candidate_words(pmu, mask, fmt=CMS_PHASE2):
    """Constituents (pmu (B, N, 4) GeV, mask (B, N)) → words (B, N, 3) int32: the pT, η and φ
    codes of ``fmt``, zero on padding; φ codes wrapped into [−period/2, period/2) after rounding
    (a φ that rounds to +π gets −π's code). A real candidate below one pT step gets pT code 0,
    the word of an empty slot: ``word_mask`` says which slots a trigger sees as filled."""
    pmu = np.asarray(pmu, np.float64)
    real = np.asarray(mask).astype(bool)
    phi_codes = fmt.wrap_phi(fmt.phi.quantise(kinematics.phi(pmu)))
    words = np.stack([fmt.pt.quantise(kinematics.pt(pmu)), fmt.eta.quantise(np.where(real, kinematics.eta(pmu), 0.0)),
                      phi_codes], axis=-1)
    return np.where(real[..., None], words, 0).astype(np.int32)


def word_mask(words, mask):
    """(B, N) float32: 1 where a slot is real and its pT code is non-zero (a trigger marks an
    empty slot by pT = 0, so a candidate below one pT step is not seen)."""
    return (np.asarray(mask).astype(bool) & (np.asarray(words)[..., 0] > 0)).astype(np.float32)


def massless_momenta(words, mask, fmt=CMS_PHASE2):
    """Words (B, N, 3) → the massless four-vectors (B, N, 4) GeV they describe,
    (pT cosh η, pT cos φ, pT sin φ, pT sinh η) of the dequantised fields; zero on padding."""
    words = np.asarray(words)
    pt, eta, phi = (field.dequantise(words[..., k]) for k, field in enumerate((fmt.pt, fmt.eta, fmt.phi)))
    pmu = np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], axis=-1)
    return np.where(np.asarray(mask).astype(bool)[..., None], pmu, 0.0)


@dataclass(frozen=True)
class PairTables:
    """The firmware's lookup tables of g_η(k·LSB) = cosh(k·LSB) − 1 and g_φ(k·LSB) = 1 − cos(k·LSB)
    for code differences |k| = 0 … ``size`` − 1, each value rounded to ``fraction_bits``
    fractional bits. A difference beyond the table reads its last entry.

    Error bound: every entry is within 2^−(fraction_bits+1) of its function, so on a pair whose
    code differences lie inside the tables, d_ij from the tables is within
    pT_i pT_j · 2^−fraction_bits of pT_i pT_j (cosh Δη − cos Δφ) at the dequantised angles.
    Constituents of an anti-kT jet of radius R lie within R of its axis, so pairs differ by at
    most 2R: ``size`` = 512 codes of π/720 reach 2.23 rad, beyond 2R = 1.6 for R = 0.8.
    """

    fmt: InputFormat = CMS_PHASE2
    size: int = 512
    fraction_bits: int = 14

    def _table(self, function, lsb):
        values = function(np.arange(self.size) * lsb)
        return np.round(values * 2.0**self.fraction_bits) / 2.0**self.fraction_bits

    @property
    def eta(self):
        """g_η at code differences 0 … size − 1 (float64, multiples of 2^−fraction_bits)."""
        return self._table(lambda x: np.cosh(x) - 1.0, self.fmt.eta.lsb)

    @property
    def phi(self):
        """g_φ at code differences 0 … size − 1 (float64, multiples of 2^−fraction_bits)."""
        return self._table(lambda x: 1.0 - np.cos(x), self.fmt.phi.lsb)

    @property
    def error_bound(self):
        """Bound on |d_ij(tables) − d_ij(exact)| / (pT_i pT_j) inside the tables."""
        return 2.0**-self.fraction_bits

    def indices(self, words):
        """(|Δη| codes, |Δφ| codes) (B, N, N) of every pair of words (B, N, 3), clipped to the tables."""
        words = np.asarray(words, np.int64)
        deta = np.abs(words[:, :, None, 1] - words[:, None, :, 1])
        dphi = np.abs(self.fmt.wrap_phi(words[:, :, None, 2] - words[:, None, :, 2]))
        return np.minimum(deta, self.size - 1), np.minimum(dphi, self.size - 1)

    def lorentz_products(self, words, mask, momentum_scale=1.0):
        """d_ij (B, N, N) in units of ``momentum_scale`` GeV squared from words, through the
        tables (numpy, float64): the reference the Keras layer and the firmware reproduce."""
        deta, dphi = self.indices(words)
        pt = self.fmt.pt.dequantise(np.asarray(words)[..., 0]) * np.asarray(mask, np.float64) / momentum_scale
        return pt[:, :, None] * pt[:, None, :] * (self.eta[deta] + self.phi[dphi])


@dataclass(frozen=True)
class RelativeCoordinates:
    """The constituent-level peers' per-candidate features computed from words, as their firmware
    computes them (integer arithmetic, one reciprocal table):

        the leading candidate: the largest key pT code · 2^b + (N − 1 − slot), b = ⌈log2 N⌉ (unique
            keys: the lowest slot wins a tie of pT codes), or slot 0 after sorting by that key;
        S = Σ pT codes over the N slots (padding counts 0),
        R = T[min(⌊S / 2^sum_shift⌋, reciprocal_size − 1)],  T[k] = 1 / ((k + ½) 2^sum_shift) rounded
            to reciprocal_bits fractional bits,
        r_i = pT code_i · R truncated to ratio_bits fractional bits and saturated below 2
            (≈ pT_i / Σ pT: within 1 / (2k + 1) relatively),
        Δη_i = (η_i − η_lead) / 2^angle_shift,  Δφ_i = wrap(φ_i − φ_lead) / 2^angle_shift (codes wrap
            into [−P/2, P/2), P codes per 2π),

    all zero on padding. The axis is the leading candidate, not a pT-weighted centroid: no
    division per coordinate. Units: Δη, Δφ in 2^angle_shift codes (256 · π/720 = 1.117 rad by
    default); r dimensionless. Every value is a multiple of a power of two with at most 14
    significant bits: exact in float32.
    """

    fmt: InputFormat = CMS_PHASE2
    sum_shift: int = 4  # S indexes the table in steps of 16 pT codes (4 GeV for CMS Phase-2 words)
    reciprocal_size: int = 1024  # sums up to 1024 · 16 codes (4 TeV)
    reciprocal_bits: int = 24
    ratio_bits: int = 12
    angle_shift: int = 8

    @property
    def reciprocals(self):
        """T[k] = 1 / ((k + ½) 2^sum_shift), k = 0 … reciprocal_size − 1, rounded to
        reciprocal_bits fractional bits (float64)."""
        k = np.arange(self.reciprocal_size)
        scale = 2.0**self.reciprocal_bits
        return np.round(scale / ((k + 0.5) * 2.0**self.sum_shift)) / scale

    @staticmethod
    def key_bits(n):
        """b: the slot's bits in the sort key (⌈log2 N⌉)."""
        return max(1, math.ceil(math.log2(n)))

    def keys(self, words, mask):
        """(B, N) the unique sort keys pT code · 2^b + (N − 1 − slot), padding's pT code 0."""
        words, mask = np.asarray(words, np.float64), np.asarray(mask, np.float64)
        n = words.shape[1]
        return words[..., 0] * mask * 2.0 ** self.key_bits(n) + (n - 1 - np.arange(n))

    def features(self, words, mask, sort=False):
        """(B, N, 3) (r, Δη, Δφ) per slot (float64; in key order when ``sort``, else in slot
        order), and the mask in the same order (B, N)."""
        words, mask = np.asarray(words, np.float64), np.asarray(mask, np.float64)
        keys = self.keys(words, mask)
        if sort:
            order = np.argsort(-keys, axis=1, kind="stable")
            words, mask = np.take_along_axis(words, order[..., None], 1), np.take_along_axis(mask, order, 1)
            lead = np.zeros(len(words), int)
        else:
            lead = np.argmax(keys, axis=1)
        pt = words[..., 0] * mask
        index = np.minimum(np.floor(pt.sum(axis=1) / 2.0**self.sum_shift), self.reciprocal_size - 1).astype(int)
        step = 2.0**self.ratio_bits
        ratio = np.minimum(np.floor(pt * self.reciprocals[index][:, None] * step) / step, 2.0 - 1.0 / step)
        axis = words[np.arange(len(words)), lead]
        deta = (words[..., 1] - axis[:, None, 1]) / 2.0**self.angle_shift
        dphi = self.fmt.wrap_phi(words[..., 2] - axis[:, None, 2]) / 2.0**self.angle_shift
        return np.stack([ratio, deta, dphi], axis=-1) * mask[..., None], mask
