"""Generator throughput: accepted jets per second on one core, at both levels (50% top), default configuration.

    python benchmarks/generate.py [--jets 2000] [--seed 1] [--level particle detector] [--profile]

Runs ``kerasjet.data.generate.generate`` with one worker into a temporary file and prints, per
level, the wall-clock rate (the per-core figure: the generator scales over --workers processes)
and the rate per CPU second of this process (less sensitive to other jobs on a loaded machine).
``--profile`` runs the job under cProfile instead and prints where the CPU time goes, per stage.
"""

import argparse
import cProfile
import os
import pstats
import tempfile
import time

from kerasjet.data.detector import simulate
from kerasjet.data.generate import GeneratorSettings, ProcessJets, _FlatEvents, _matched_tops, _pad_constituents, generate
from kerasjet.data.settings import configuration_name
from kerasjet.errors import run_script


def _key(function):
    """cProfile's key of a Python function: (file, first line, name)."""
    return function.__code__.co_filename, function.__code__.co_firstlineno, function.__code__.co_name


# stage → cProfile key of the function whose cumulative time is the stage's
STAGES = {
    "Pythia set-up (construct + init, 2 per block)": _key(ProcessJets.__init__),
    "Pythia event generation (nextBatch)": ("~", 0, "<built-in method pythia8mc.nextBatch>"),
    "hadron record extraction (awkward → numpy)": _key(_FlatEvents.__init__),
    "detector (tracks, towers, energy flow)": _key(simulate),
    "FastJet clustering (incl. awkward in/out)": _key(ProcessJets._leading_jets),
    "top matching": _key(_matched_tops),
    "padding and pT ordering": _key(_pad_constituents),
}


def run(path, jets, seed, level):
    """(wall seconds, CPU seconds) of one single-worker generation job."""
    wall, cpu = time.perf_counter(), time.process_time()
    generate(path, jets, seed, GeneratorSettings(level=level), workers=1, show_progress=False)
    return time.perf_counter() - wall, time.process_time() - cpu


def stage_seconds(stats):
    """{stage: cumulative seconds} from a pstats.Stats of a generation job."""
    return {stage: stats.stats[key][3] if key in stats.stats else 0.0 for stage, key in STAGES.items()}


def profile(path, jets, seed, level):
    """Print the CPU seconds of each stage of a single-worker job (cProfile on CPU time, so that
    other jobs on the machine barely change the split)."""
    profiler = cProfile.Profile(time.process_time)
    start = time.process_time()
    profiler.runcall(generate, path, jets, seed, GeneratorSettings(level=level), workers=1, show_progress=False)
    total = time.process_time() - start
    stages = stage_seconds(pstats.Stats(profiler))
    print(f"{configuration_name(GeneratorSettings(level=level))}, {jets} jets under cProfile: {total:.2f} CPU s ({1000 * total / jets:.2f} ms/jet)")
    for stage, seconds in {**stages, "rest (HDF5 output, Python glue)": total - sum(stages.values())}.items():
        print(f"  {stage:48} {seconds:6.2f} s  {1000 * seconds / jets:6.2f} ms/jet  {seconds / total:6.1%}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--level", nargs="+", default=["particle", "detector"], choices=("particle", "detector"))
    parser.add_argument("--profile", action="store_true", help="per-stage time under cProfile instead of the plain rate")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for level in args.level:
            path = os.path.join(tmp, f"{level}.h5")
            if args.profile:
                profile(path, args.jets, args.seed, level)
                continue
            wall, cpu = run(path, args.jets, args.seed, level)
            print(f"generator, {configuration_name(GeneratorSettings(level=level))}: {args.jets} jets (50% top) in {wall:.1f} s on one core: "
                  f"{args.jets / wall:.0f} accepted jets/s/core ({args.jets / cpu:.0f} per CPU second)")


if __name__ == "__main__":
    run_script(main)
