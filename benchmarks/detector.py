"""Detector level against particle level on the same events: mass peak, multiplicity, tracks, mass-cut AUC.

    python benchmarks/detector.py [--jets 2000] [--seed 1] [--out results/detector]

Generates top and QCD events with Pythia, selects every batch at both levels (the detector
drawing from its own seeded generator) and keeps the events whose leading jet is accepted at
both, so the two columns describe the same events. Prints, and writes to OUT/detector.md and
OUT/detector.json: the top-jet mass median and peak half-width (16-84% quantiles), the
event-by-event jet-mass resolution m_detector − m_particle, the mean constituent multiplicity,
the fraction of the jet's scalar pT carried by tracks, and the jet-mass-cut AUC.
"""

import argparse
import os

import numpy as np

from kerasjet import kinematics
from kerasjet.data.generate import GeneratorSettings, ProcessJets
from kerasjet.errors import run_script
from kerasjet.files import write_json, write_text
from kerasjet.metrics import roc_auc
from kerasjet.data.settings import configuration_name
from kerasjet.models.masscut import TOP_MASS_GEV, mass_cut_scores

LEVELS = ("particle", "detector")


def same_events(process, n_jets, seed):
    """{level: (pmu (n, M, 4), nobj (n,), tracks (n, M))} of n_jets events of ``process``
    accepted at both levels, and the number of events generated."""
    source = ProcessJets(process, seed, GeneratorSettings(), np.random.default_rng(seed))
    parts = {level: [] for level in LEVELS}
    kept = 0
    while kept < n_jets:
        batch = source.pythia.nextBatch(256)
        selections = {level: source.select(batch, level) for level in LEVELS}
        both = selections["particle"].passed & selections["detector"].passed
        for level, selection in selections.items():
            rows = both[selection.passed]
            parts[level].append((selection.pmu[rows], selection.nobj[rows], selection.tracks[rows]))
        kept += int(both.sum())
    jets = {level: tuple(np.concatenate(column)[:n_jets] for column in zip(*parts[level])) for level in LEVELS}
    return jets, source.events // len(LEVELS)


def jet_mass(pmu):
    return kinematics.mass(kinematics.jet_four_momentum(pmu.astype(np.float64)))


def half_width(values):
    """Half the distance between the 16% and 84% quantiles (a Gaussian's σ)."""
    low, high = np.quantile(values, [0.16, 0.84])
    return float((high - low) / 2)


def track_fraction(pmu, tracks):
    """Mean over jets of the scalar pT of the track constituents over that of all constituents."""
    pt = kinematics.pt(pmu.astype(np.float64))
    return float(np.mean((pt * tracks).sum(axis=1) / pt.sum(axis=1)))


def figures(jets):
    """The physics figures per level, from {process: {level: (pmu, nobj, tracks)}}."""
    out = {}
    for level in LEVELS:
        top, qcd = jets["signal"][level], jets["background"][level]
        top_mass = jet_mass(top[0])
        labels = np.r_[np.ones(len(top[1])), np.zeros(len(qcd[1]))]
        masses = np.r_[mass_cut_scores(top[0], score="mass"), mass_cut_scores(qcd[0], score="mass")]
        out[level] = {
            "top_mass_median_gev": float(np.median(top_mass)),
            "top_mass_half_width_gev": half_width(top_mass),
            "top_mass_in_150_200_gev": float(np.mean((top_mass > 150) & (top_mass < 200))),
            "qcd_mass_median_gev": float(np.median(jet_mass(qcd[0]))),
            "top_constituents_mean": float(top[1].mean()),
            "qcd_constituents_mean": float(qcd[1].mean()),
            "top_track_pt_fraction": track_fraction(top[0], top[2]) if level == "detector" else None,
            "qcd_track_pt_fraction": track_fraction(qcd[0], qcd[2]) if level == "detector" else None,
            "mass_cut_auc": roc_auc(labels, masses),
            "mass_window_auc": roc_auc(labels, -np.abs(masses - TOP_MASS_GEV)),
        }
    difference = jet_mass(jets["signal"]["detector"][0]) - jet_mass(jets["signal"]["particle"][0])
    out["top_mass_resolution"] = {"median_shift_gev": float(np.median(difference)), "half_width_gev": half_width(difference)}
    return out


ROWS = (
    ("top-jet mass median [GeV]", "top_mass_median_gev", "{:.1f}"),
    ("top-jet mass peak half-width, 16-84% [GeV]", "top_mass_half_width_gev", "{:.1f}"),
    ("top jets with 150 < m < 200 GeV", "top_mass_in_150_200_gev", "{:.3f}"),
    ("QCD-jet mass median [GeV]", "qcd_mass_median_gev", "{:.1f}"),
    ("mean constituents, top", "top_constituents_mean", "{:.1f}"),
    ("mean constituents, QCD", "qcd_constituents_mean", "{:.1f}"),
    ("jet pT fraction carried by tracks, top", "top_track_pt_fraction", "{:.3f}"),
    ("jet pT fraction carried by tracks, QCD", "qcd_track_pt_fraction", "{:.3f}"),
    ("jet-mass cut AUC, one-sided (score = m)", "mass_cut_auc", "{:.4f}"),
    ("jet-mass cut AUC, window (score = −abs(m − 173 GeV))", "mass_window_auc", "{:.4f}"),
)


def format_markdown(result, sizes):
    lines = [f"**Particle vs detector level ({configuration_name(GeneratorSettings())}) on the same events: {sizes['signal']} top "
             f"and {sizes['background']} QCD jets "
             f"accepted at both levels (seed {sizes['seed']}; {sizes['signal_events']} top and {sizes['background_events']} "
             "QCD events generated)**", "", "| figure | particle level | detector level |", "|---|---|---|"]
    for name, key, fmt in ROWS:
        cells = ["—" if result[level][key] is None else fmt.format(result[level][key]) for level in LEVELS]
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    resolution = result["top_mass_resolution"]
    lines += ["", f"Top-jet mass resolution, m_detector − m_particle event by event: median {resolution['median_shift_gev']:+.1f} GeV, "
              f"16-84% half-width {resolution['half_width_gev']:.1f} GeV."]
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=2000, help="jets per class accepted at both levels")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", default="results/detector")
    args = parser.parse_args()
    jets, sizes = {}, {"seed": args.seed}
    for offset, process in enumerate(("signal", "background")):
        jets[process], sizes[f"{process}_events"] = same_events(process, args.jets, args.seed + offset)
        sizes[process] = args.jets
    result = figures(jets)
    text = format_markdown(result, sizes)
    print(text)
    os.makedirs(args.out, exist_ok=True)
    write_text(text, os.path.join(args.out, "detector.md"))
    write_json({"sample": sizes, **result}, os.path.join(args.out, "detector.json"))


if __name__ == "__main__":
    run_script(main)
