"""Custom Keras layers of kerasjet (registered for deserialisation under the 'kerasjet' package)."""

from kerasjet.layers.equivariant import N_BAR, LinEq2to0, LinEq2to2
from kerasjet.layers.lorentz import LorentzDot, WordLorentzDot
from kerasjet.layers.normalization import MaskedBatchNorm

__all__ = ["N_BAR", "LinEq2to0", "LinEq2to2", "LorentzDot", "MaskedBatchNorm", "WordLorentzDot"]
from kerasjet.layers.quantized import FIRMWARE_N_BAR, QLinEq2to0, QLinEq2to2, QLorentzDot, QWordLorentzDot  # noqa: E402

__all__ += ["FIRMWARE_N_BAR", "QLinEq2to0", "QLinEq2to2", "QLorentzDot", "QWordLorentzDot"]
