"""The jet-mass cut: the untrained baseline, with two scores.

- ``"mass"``: the jet mass itself (one-sided: scanning the threshold keeps the heavier jets).
  The seed paper's "simple jet mass cut" (AUC 0.906 on the reference dataset) is this one.
- ``"window"``: −|m_jet − m_top|, so scanning the threshold scans mass windows centred on the
  top mass (sharper on generated jets, which have few QCD jets above the top mass).
"""

import numpy as np

from kerasjet import kinematics

TOP_MASS_GEV = 173.0
MASS_CUT_SCORES = ("mass", "window")
# decision thresholds for the accuracy figure: a top has m > 143 GeV ('mass') or lies within
# 30 GeV of the top mass ('window'), the same lower edge
ACCURACY_THRESHOLDS = {"mass": TOP_MASS_GEV - 30.0, "window": -30.0}
# score → (what it ranks by, when its accuracy counts a jet as top), for printed output
MASS_CUT_DESCRIPTIONS = {"mass": ("one-sided, score = m", f"m > {TOP_MASS_GEV - 30.0:g} GeV"),
                         "window": ("window, score = −|m − 173 GeV|", "abs(m − 173 GeV) < 30 GeV")}


def mass_cut_scores(pmu, mask=None, score="window"):
    """The mass cut's score of jets with constituents pmu (B, N, 4) in GeV (zero padded; ``mask``
    (B, N) keeps a subset) → (B,): the jet mass in GeV (``score='mass'``) or −|m_jet − 173 GeV|
    (``'window'``)."""
    if score not in MASS_CUT_SCORES:
        raise ValueError(f"score must be one of {', '.join(MASS_CUT_SCORES)} (got '{score}')")
    p = pmu if mask is None else pmu * mask[..., None]
    mass = kinematics.mass(kinematics.jet_four_momentum(p.astype(np.float64)))
    return mass if score == "mass" else -np.abs(mass - TOP_MASS_GEV)
