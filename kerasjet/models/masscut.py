"""The jet-mass cut: the untrained baseline. Its score is −|m_jet − m_top|, so scanning the
threshold scans mass windows centred on the top mass."""

import numpy as np

from kerasjet import kinematics

TOP_MASS_GEV = 173.0


def mass_cut_scores(pmu, mask=None):
    """−|m_jet − 173 GeV| for constituents pmu (B, N, 4) in GeV (zero padded) → (B,)."""
    p = pmu if mask is None else pmu * mask[..., None]
    return -np.abs(kinematics.mass(kinematics.jet_four_momentum(p.astype(np.float64))) - TOP_MASS_GEV)
