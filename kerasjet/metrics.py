"""Tagging metrics: accuracy, ROC AUC, background rejection 1/εB at fixed signal efficiency.

Scores are any real numbers, larger meaning "more top-like" (logits for the networks); the
accuracy uses the decision score > ``threshold`` (0 for logits).
"""

import math
import textwrap

import numpy as np

from kerasjet.files import save_figure

SIGNAL_EFFICIENCIES = (0.3, 0.5)


def roc_curve(labels, scores):
    """(εB, εS) arrays over all distinct thresholds, from (0, 0) to (1, 1).

    labels (n,) in {0, 1}; scores (n,), no NaN (ValueError). Tied scores move both efficiencies together.
    """
    labels = np.asarray(labels).astype(bool).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    if np.isnan(scores).any():
        raise ValueError("a NaN score cannot be ranked")
    order = np.argsort(-scores, kind="mergesort")
    scores, labels = scores[order], labels[order]
    last_of_tie = np.r_[np.flatnonzero(np.diff(scores)), len(scores) - 1]
    tp = np.cumsum(labels)[last_of_tie]
    fp = (last_of_tie + 1) - tp
    n_signal, n_background = labels.sum(), (~labels).sum()
    if n_signal == 0 or n_background == 0:
        raise ValueError("the ROC needs both signal and background jets")
    return np.r_[0.0, fp / n_background], np.r_[0.0, tp / n_signal]


def roc_auc(labels, scores):
    """Area under the ROC curve (trapezoidal, ties counted half)."""
    eff_b, eff_s = roc_curve(labels, scores)
    return float(np.trapz(eff_s, eff_b))


def background_rejection(labels, scores, signal_efficiency):
    """1/εB at the given εS, with εB interpolated linearly on the ROC (inf when εB = 0)."""
    eff_b, eff_s = roc_curve(labels, scores)
    # eff_s is non-decreasing; take the lowest εB reaching the requested εS
    background = float(np.interp(signal_efficiency, eff_s, eff_b))
    return math.inf if background == 0 else 1.0 / background


# a tagger is "one-sided" when at most this fraction of the jets falls on one side of its
# threshold although its AUC is at least RANKING_AUC: its scores rank, its threshold is off
ONE_SIDED_FRACTION = 0.01
RANKING_AUC = 0.75


def threshold_note(accuracy, auc, called_top, threshold=0.0):
    """A sentence when at most ONE_SIDED_FRACTION of the jets fall on one side of ``threshold``
    (``called_top``: the fraction scored above it) while ``auc`` ≥ RANKING_AUC: the scores rank
    the jets, the threshold is uncalibrated, the tagger is not broken. None otherwise."""
    if not auc >= RANKING_AUC or ONE_SIDED_FRACTION < called_top < 1.0 - ONE_SIDED_FRACTION:
        return None
    side, share = ("top", called_top) if called_top >= 0.5 else ("QCD", 1.0 - called_top)
    return (f"accuracy {accuracy:.4f} while the AUC is {auc:.4f}: {100 * share:.1f}% of the jets are called {side}, the scores "
            f"rank the jets but nearly all fall on one side of the threshold {threshold:g} (an uncalibrated threshold, e.g. a "
            "BatchNorm model's moving statistics off at this batch size); the AUC and 1/εB are the figures to read")


def called_top_from_accuracy(accuracy, signal_fraction):
    """For a run whose scores are not at hand (Keras' epoch logs): 1.0 or 0.0 when ``accuracy``
    equals the fraction of top or of QCD jets within ONE_SIDED_FRACTION on a file with at least
    20% of each class (every jet called top, or every jet QCD), else None."""
    if not 0.2 <= signal_fraction <= 0.8:
        return None
    if abs(accuracy - signal_fraction) <= ONE_SIDED_FRACTION:
        return 1.0
    if abs(accuracy - (1.0 - signal_fraction)) <= ONE_SIDED_FRACTION:
        return 0.0
    return None


def evaluate_scores(labels, scores, threshold=0.0, n_parameters=None):
    """Dict of accuracy, auc, rejection at εS = 0.3 and 0.5, jets, parameters; and
    'threshold_note' (``threshold_note``) when nearly every jet falls on one side of the threshold."""
    labels = np.asarray(labels).ravel()
    scores = np.asarray(scores).ravel()
    result = {
        "jets": int(len(labels)),
        "accuracy": float(np.mean((scores > threshold) == labels.astype(bool))),
        "auc": roc_auc(labels, scores),
    }
    for eff in SIGNAL_EFFICIENCIES:
        result[f"rejection_at_{eff}"] = background_rejection(labels, scores, eff)
    if n_parameters is not None:
        result["parameters"] = int(n_parameters)
    note = threshold_note(result["accuracy"], result["auc"], float(np.mean(scores > threshold)), threshold)
    if note:
        result["threshold_note"] = note
    return result


def format_table(rows, title="Top tagging on generated jets", reference=None, reference_name="reference"):
    """A Markdown table in the layout of the seed paper's Table 1.

    rows: list of (name, metrics) where metrics holds accuracy, auc, rejection_at_0.3 and
    parameters, each either a number or a (mean, std) pair; a row's 'threshold_note' is printed
    under the table. ``reference`` ({row name: metrics}, missing values allowed) adds the same four
    columns headed ``reference_name`` beside ours ("—" where it has no number).
    """

    def cell(value, digits):
        if value is None:
            return "—"
        if isinstance(value, (tuple, list)):
            return f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"
        return f"{value:.{digits}f}"

    def cells(m):
        params = m.get("parameters")
        return [cell(m.get("accuracy"), 4), cell(m.get("auc"), 4), cell(m.get("rejection_at_0.3"), 0), "—" if params is None else str(params)]

    header = ["Architecture", "Accuracy", "AUC", "1/εB (εS = 0.3)", "# Params"]
    if reference is not None:
        header += [f"{reference_name}: {column}" for column in header[1:]]
    lines = [f"**{title}**", "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, m in rows:
        row = [name] + cells(m) + (cells(reference.get(name, {})) if reference is not None else [])
        lines.append("| " + " | ".join(row) + " |")
    notes = [f"note ({name}): {m['threshold_note']}" for name, m in rows if m.get("threshold_note")]
    return "\n".join(lines + ([""] + notes if notes else []))


def plot_roc(curves, out, title=""):
    """ROC curves as 1/εB against εS (log y), the usual top-tagging view.

    curves: list of (label, labels, scores).
    """
    points = []
    for name, labels, scores in curves:
        eff_b, eff_s = roc_curve(labels, scores)
        keep = eff_b > 0
        points.append((name, eff_s[keep], 1.0 / eff_b[keep], roc_auc(labels, scores)))
    plot_roc_points(points, out, title)


def plot_roc_points(curves, out, title=""):
    """plot_roc from stored points: curves is a list of (label, εS (k,), 1/εB (k,), AUC); points
    with an infinite 1/εB (no background left) are not drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4.2))
    for name, eff_s, rejection, auc in curves:
        eff_s, rejection = np.asarray(eff_s, dtype=np.float64), np.asarray(rejection, dtype=np.float64)
        finite = np.isfinite(rejection)
        ax.plot(eff_s[finite], rejection[finite], label=f"{name} (AUC {auc:.4f})")
    ax.set_yscale("log")
    ax.set_xlim(0, 1)
    ax.set_xlabel("signal efficiency εS")
    ax.set_ylabel("background rejection 1/εB")
    ax.set_title(textwrap.fill(title, 70), fontsize=9)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, out, dpi=120)
    plt.close(fig)
