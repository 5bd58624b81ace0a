"""How close generated jets are to the Top Quark Tagging Reference Dataset: its published
distributions and the figures that compare a jet sample with them.

The reference figures (``REFERENCE``) are read off the histograms of the constituent-sum jet
mass and jet pT of the first 20,000 training jets of the reference dataset (jets with fewer
than 8 constituents dropped), 50 bins per class, in the notebook
``evaluation/Multi-Body/MultiBody-FeatureHists.ipynb`` of the public repository
FAIR4HEP/xAI4toptagger (the counts read off add up to the expected totals within 1%). Their
uncertainty is that of reading an image: ±0.01 in a fraction, ±2 GeV in a mass
(``REFERENCE_UNCERTAINTY``). The seed paper quotes AUC 0.906 for its "simple jet mass cut",
which matches the one-sided score (the mass itself) on these histograms (≈ 0.903), not a window.
"""

import numpy as np

from kerasjet.metrics import roc_auc
from kerasjet.models.masscut import TOP_MASS_GEV

# QCD jet-mass bins (GeV) whose fractions are compared
QCD_MASS_BINS = (0.0, 50.0, 100.0, 150.0, 200.0, 250.0)
TOP_MASS_WINDOW = (150.0, 200.0)  # GeV: the fraction of top jets inside is compared
# pT slope: jets in 550–560 GeV over jets in 640–650 GeV, both classes together
PT_SLOPE_BINS = ((550.0, 560.0), (640.0, 650.0))

REFERENCE = {
    "qcd_mass_median": 82.6,
    "qcd_mass_q16": 49.8,
    "qcd_mass_q84": 146.5,
    "qcd_mass_fractions": (0.16, 0.47, 0.22, 0.10, 0.04),
    "top_mass_median": 174.0,
    "top_mass_q16": 156.0,
    "top_mass_q84": 194.0,
    "top_mass_in_window": 0.77,
    "pt_slope": 1.6,
    "mass_auc": 0.903,
    "mass_window_auc": 0.922,
}
REFERENCE_UNCERTAINTY = {"mass_gev": 2.0, "fraction": 0.01}
# the figures that enter the distance (masses in GeV, fractions)
MASS_FIGURES = ("qcd_mass_median", "qcd_mass_q16", "qcd_mass_q84", "top_mass_median", "top_mass_q16", "top_mass_q84")


def regime_figures(mass, pt, is_signal, nobj):
    """The comparison figures of a jet sample: jet ``mass`` (n,) GeV, jet ``pt`` (n,) GeV,
    ``is_signal`` (n,) (1 top, 0 QCD) and constituent counts ``nobj`` (n,).

    Returns a dict with the keys of :data:`REFERENCE` (QCD and top mass quantiles in GeV; QCD
    fractions in :data:`QCD_MASS_BINS`; top fraction in :data:`TOP_MASS_WINDOW`; pT slope;
    one-sided mass AUC and window AUC, score −|m − 173 GeV|) plus ``jets`` per class,
    ``mean_constituents`` per class and ``pt_slope_counts``, the jets in the two pT bins.
    """
    top, qcd = is_signal == 1, is_signal == 0
    if not top.any() or not qcd.any():
        raise ValueError("regime figures need top and QCD jets")
    q16, median, q84 = (np.quantile(mass[qcd], [0.16, 0.5, 0.84]))
    t16, t_median, t84 = (np.quantile(mass[top], [0.16, 0.5, 0.84]))
    (low_lo, low_hi), (high_lo, high_hi) = PT_SLOPE_BINS
    low = np.count_nonzero((pt >= low_lo) & (pt < low_hi))
    high = np.count_nonzero((pt >= high_lo) & (pt < high_hi))
    labels = top.astype(np.int8)
    return {
        "jets": {"top": int(top.sum()), "qcd": int(qcd.sum())},
        "qcd_mass_median": float(median), "qcd_mass_q16": float(q16), "qcd_mass_q84": float(q84),
        "qcd_mass_fractions": tuple(float(f) for f in np.histogram(mass[qcd], QCD_MASS_BINS)[0] / qcd.sum()),
        "top_mass_median": float(t_median), "top_mass_q16": float(t16), "top_mass_q84": float(t84),
        "top_mass_in_window": float(np.mean((mass[top] >= TOP_MASS_WINDOW[0]) & (mass[top] < TOP_MASS_WINDOW[1]))),
        "pt_slope": float(low / high) if high else float("inf"),
        "pt_slope_counts": (int(low), int(high)),
        "mass_auc": float(roc_auc(labels, mass)),
        "mass_window_auc": float(roc_auc(labels, -np.abs(mass - TOP_MASS_GEV))),
        "mean_constituents": {"top": float(nobj[top].mean()), "qcd": float(nobj[qcd].mean())},
    }


def regime_distance(figures):
    """χ² per figure between a sample's :func:`regime_figures` and :data:`REFERENCE`, averaged
    over 13 terms: the six mass quantiles (σ = 2 GeV), the five QCD mass fractions and the top
    window fraction (σ = 0.01 ⊕ the sample's binomial error), and the pT slope (σ: the Poisson
    errors of the two bins' counts, the reference's taken as a sample of the same size, 20,000
    jets, of the same shape). 1 means "as close as the reference can be read"."""
    terms = [((figures[k] - REFERENCE[k]) / REFERENCE_UNCERTAINTY["mass_gev"]) ** 2 for k in MASS_FIGURES]
    fractions = [(figures["qcd_mass_fractions"][i], REFERENCE["qcd_mass_fractions"][i], figures["jets"]["qcd"])
                 for i in range(len(QCD_MASS_BINS) - 1)]
    fractions.append((figures["top_mass_in_window"], REFERENCE["top_mass_in_window"], figures["jets"]["top"]))
    for ours, reference, n in fractions:
        sigma = np.hypot(REFERENCE_UNCERTAINTY["fraction"], np.sqrt(ours * (1 - ours) / n))
        terms.append(((ours - reference) / sigma) ** 2)
    low, high = figures["pt_slope_counts"]
    relative = np.sqrt(1 / max(low, 1) + 1 / max(high, 1))
    sigma = np.hypot(figures["pt_slope"] * relative, REFERENCE["pt_slope"] * relative * np.sqrt(sum(figures["jets"].values()) / 20_000))
    terms.append(((figures["pt_slope"] - REFERENCE["pt_slope"]) / sigma) ** 2)
    return float(np.mean(terms))


# the default configuration's targets (figure → (allowed |ours − reference|, what is compared))
TARGETS = {
    "qcd_mass_median": 4.0,
    "qcd_mass_below_50": 0.20,
    "top_mass_width": 0.15,
    "pt_slope": 0.2,
    "mass_auc": 0.010,
}


def target_checks(figures):
    """{target: (measured, reference or bound, met)} of :data:`TARGETS` for a sample's figures:
    QCD median within 4 GeV of the reference's; QCD fraction below 50 GeV ≤ 0.20; top 16–84%
    width within 15% of the reference's 38 GeV; pT slope within 0.2 of 1.6; one-sided mass AUC
    within 0.010 of 0.903."""
    width = figures["top_mass_q84"] - figures["top_mass_q16"]
    reference_width = REFERENCE["top_mass_q84"] - REFERENCE["top_mass_q16"]
    return {
        "QCD mass median (GeV), within 4 of": (figures["qcd_mass_median"], REFERENCE["qcd_mass_median"],
                                               abs(figures["qcd_mass_median"] - REFERENCE["qcd_mass_median"]) <= TARGETS["qcd_mass_median"]),
        "QCD fraction below 50 GeV, at most": (figures["qcd_mass_fractions"][0], TARGETS["qcd_mass_below_50"],
                                               figures["qcd_mass_fractions"][0] <= TARGETS["qcd_mass_below_50"]),
        "top mass 16–84% width (GeV), within 15% of": (width, reference_width,
                                                        abs(width - reference_width) <= TARGETS["top_mass_width"] * reference_width),
        "pT slope, within 0.2 of": (figures["pt_slope"], REFERENCE["pt_slope"],
                                    abs(figures["pt_slope"] - REFERENCE["pt_slope"]) <= TARGETS["pt_slope"]),
        "one-sided mass AUC, within 0.010 of": (figures["mass_auc"], REFERENCE["mass_auc"],
                                                abs(figures["mass_auc"] - REFERENCE["mass_auc"]) <= TARGETS["mass_auc"]),
    }
