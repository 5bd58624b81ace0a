"""Dataset summary for ``kerasjet info``: counts, multiplicities, jet pT and mass per class."""

import numpy as np

from kerasjet import kinematics
from kerasjet.data.io import count_jets, read_attributes, read_jets
from kerasjet.data.settings import file_configuration
from kerasjet.files import save_figure

QUANTILES = (0.1, 0.5, 0.9)
CLASS_NAMES = {1: "top", 0: "QCD"}


def jet_observables(path, chunk=20_000):
    """Per-jet arrays over a whole file, read a chunk at a time.

    Returns a dict: ``is_signal`` (n,), ``nobj`` (n,), ``pt`` (n,) GeV, ``eta`` (n,),
    ``mass`` (n,) GeV — the jet four-momentum being the sum of the stored constituents.
    """
    parts = []
    n = count_jets(path)
    for start in range(0, n, chunk):
        jets = read_jets(path, start, min(start + chunk, n))
        p = kinematics.jet_four_momentum(jets.pmu.astype(np.float64))
        parts.append(dict(is_signal=jets.is_signal, nobj=jets.nobj, pt=kinematics.pt(p), eta=kinematics.eta(p), mass=kinematics.mass(p)))
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def jet_level(path):
    """The level of a file's jets: its ``generator_level`` attribute; 'particle' for a kerasjet
    file written before levels were recorded; 'not recorded' for other files."""
    attrs = read_attributes(path)
    return attrs.get("generator_level", "particle" if "generator" in attrs else "not recorded")


def summarize(path):
    """Summary dict: jets, level, configuration (kerasjet.data.settings.configuration_name), signal
    fraction, and per class mean multiplicity and pT/mass quantiles."""
    obs = jet_observables(path)
    summary = {"file": str(path), "jets": int(len(obs["pt"])), "level": jet_level(path), "configuration": file_configuration(path),
               "signal_fraction": float(obs["is_signal"].mean())}
    for label, name in CLASS_NAMES.items():
        sel = obs["is_signal"] == label
        if not sel.any():
            continue
        summary[name] = {
            "jets": int(sel.sum()),
            "mean_constituents": float(obs["nobj"][sel].mean()),
            "pt_quantiles_gev": dict(zip(map(str, QUANTILES), np.quantile(obs["pt"][sel], QUANTILES).round(1).tolist())),
            "mass_quantiles_gev": dict(zip(map(str, QUANTILES), np.quantile(obs["mass"][sel], QUANTILES).round(1).tolist())),
        }
    return summary, obs


def format_summary(summary):
    """Human-readable multi-line text of a :func:`summarize` dict."""
    lines = [f"{summary['file']}: {summary['jets']} jets ({summary['level']} level, configuration {summary['configuration']}), "
             f"signal fraction {summary['signal_fraction']:.3f}"]
    q = "/".join(f"q{int(float(x) * 100)}" for x in map(str, QUANTILES))
    lines.append(f"  {'class':5} {'jets':>7} {'<n const>':>9}   jet pT {q} [GeV]     jet mass {q} [GeV]")
    for name in CLASS_NAMES.values():
        if name not in summary:
            continue
        c = summary[name]
        pt = " / ".join(f"{v:.0f}" for v in c["pt_quantiles_gev"].values())
        m = " / ".join(f"{v:.0f}" for v in c["mass_quantiles_gev"].values())
        lines.append(f"  {name:5} {c['jets']:7d} {c['mean_constituents']:9.1f}   {pt:<27} {m}")
    return "\n".join(lines)


def plot_mass(obs, out, title=""):
    """Histogram of the jet mass for top and QCD jets, written to ``out`` (PNG/PDF)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(5.5, 4))
    bins = np.linspace(0, 300, 61)
    for label, name in CLASS_NAMES.items():
        sel = obs["is_signal"] == label
        if sel.any():
            ax.hist(obs["mass"][sel], bins=bins, histtype="step", density=True, lw=1.5, label=f"{name} ({sel.sum()} jets)")
    ax.axvline(173.0, ls=":", c="grey", lw=1)
    ax.axvline(80.4, ls=":", c="grey", lw=1)
    ax.set_xlabel("jet mass [GeV]")
    ax.set_ylabel("normalised jets / 5 GeV")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    save_figure(fig, out, dpi=120)
    plt.close(fig)
