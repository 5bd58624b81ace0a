"""How much of the 550-650 GeV jet window does the generated pTHat window cut away?

    python benchmarks/pthat_window.py [--events 20000] [--wide-min 300] [--wide-max 900]

Generates events in a wide pTHat window, applies the full jet selection (leading jet,
550 < pT < 650 GeV, |η| < 2, top matching for signal) and prints, per process, the fraction of
accepted jets whose pTHat lies outside the default generation window: the jets a production run
with the default window never produces. Also prints the acceptance of the default window.
"""

import argparse
from dataclasses import replace

import numpy as np

from kerasjet.data.generate import GeneratorSettings, ProcessJets
from kerasjet.errors import run_script


def accepted_pthat(process, settings, n_events, seed):
    source = ProcessJets(process, seed, settings)
    pthat = []
    for _ in range(0, n_events, 500):
        batch = source.pythia.nextBatch(500)
        passed = source.select(batch)[0]
        pthat.append(np.sqrt(np.asarray(batch.info.pT2Hat))[passed])
    return np.concatenate(pthat), source.accepted / source.events


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20000, help="events per process in the wide window")
    parser.add_argument("--wide-min", type=float, default=300.0)
    parser.add_argument("--wide-max", type=float, default=900.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    default = GeneratorSettings()
    wide = replace(default, pthat_min=args.wide_min, pthat_max=args.wide_max)
    print(f"default window {default.pthat_min:.0f}-{default.pthat_max:.0f} GeV, reference window {args.wide_min:.0f}-{args.wide_max:.0f} GeV, {args.events} events per process")
    for process in ("background", "signal"):
        pthat, wide_acceptance = accepted_pthat(process, wide, args.events, args.seed)
        below = np.mean(pthat < default.pthat_min)
        above = np.mean(pthat > default.pthat_max)
        _, acceptance = accepted_pthat(process, default, args.events // 4, args.seed + 1)
        print(f"{process:10}: {len(pthat)} accepted jets; outside the default window: {below:.1%} below, {above:.1%} above; "
              f"acceptance per event {wide_acceptance:.1%} (wide) vs {acceptance:.1%} (default)")


if __name__ == "__main__":
    run_script(main)
