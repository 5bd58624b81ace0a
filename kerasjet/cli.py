"""The ``kerasjet`` command line: one subcommand per pipeline stage.

Errors in the user's input (files, keys, values) print one line ``kerasjet: error: ...`` and
exit with status 2; an interrupt exits with 130 and leaves no partial output file.
"""

import argparse
import json
import os
import sys

from kerasjet.errors import KerasjetError


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def cmd_generate(args):
    from dataclasses import replace

    from kerasjet.data.generate import GeneratorSettings, generate

    settings = replace(GeneratorSettings(), max_constituents=args.max_constituents,
                       pthat_min=args.pthat_min, pthat_max=args.pthat_max)
    n = generate(args.out, args.jets, args.seed, settings, args.signal_fraction, args.workers,
                 args.shard, args.num_shards)
    print(f"wrote {n} jets to {args.out}")


def cmd_merge(args):
    from kerasjet.data.generate import merge

    n = merge(args.out, args.shards)
    print(f"wrote {n} jets to {args.out}")


def cmd_info(args):
    from kerasjet.data.summary import format_summary, plot_mass, summarize

    summary, observables = summarize(args.file)
    print(json.dumps(summary, indent=2) if args.json else format_summary(summary))
    if args.plot:
        plot_mass(observables, args.plot, title=os.path.basename(args.file))
        print(f"jet-mass plot written to {args.plot}")


def cmd_demo(args):
    from kerasjet.demo import run_demo

    run_demo(args.data, args.jets, args.workers)


def build_parser():
    parser = argparse.ArgumentParser(prog="kerasjet", description="Tiny symmetry-aware jet taggers, from Pythia8 jets to FPGA firmware.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("generate", help="generate top and QCD jets with Pythia8 + FastJet into an HDF5 file",
                       description="Generate top (signal) and QCD (background) jets following the Top Quark Tagging Reference Dataset recipe.")
    p.add_argument("--jets", type=int, required=True, help="number of jets to write")
    p.add_argument("--out", required=True, help="output HDF5 file (PELICAN layout)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--workers", type=_positive_int, default=1, help="parallel processes (default 1); output does not depend on it")
    p.add_argument("--max-constituents", type=_positive_int, default=200, help="constituent slots stored per jet (default 200)")
    p.add_argument("--signal-fraction", type=float, default=0.5, help="exact fraction of top jets (default 0.5)")
    p.add_argument("--pthat-min", type=float, default=500.0, help="lower end of the generated pTHat window in GeV (default 500)")
    p.add_argument("--pthat-max", type=float, default=700.0, help="upper end of the generated pTHat window in GeV (default 700)")
    p.add_argument("--shard", type=int, help="generate only this shard (0-based) of the job, for batch array jobs")
    p.add_argument("--num-shards", type=_positive_int, help="number of shards the job is split into")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("merge", help="join the shards of a sharded generate job into one file")
    p.add_argument("shards", nargs="+", help="shard files, in any order")
    p.add_argument("--out", required=True, help="merged output file")
    p.set_defaults(func=cmd_merge)

    p = sub.add_parser("info", help="summarise a jet file: counts, multiplicity, jet pT and mass per class")
    p.add_argument("file", help="HDF5 jet file (PELICAN or reference layout)")
    p.add_argument("--plot", help="write a jet-mass histogram of top and QCD jets to this PNG/PDF")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("demo", help="the main job of `make demo` on the embedded default dataset")
    p.add_argument("--data", default="data/demo.h5", help="demo dataset, generated if missing (default data/demo.h5)")
    p.add_argument("--jets", type=_positive_int, default=4000, help="jets in the demo dataset when it is generated (default 4000)")
    p.add_argument("--workers", type=_positive_int, default=os.cpu_count() or 1, help="generator processes (default: all cores)")
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except KerasjetError as err:
        print(f"kerasjet: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kerasjet: interrupted; no partial output was kept", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
