"""Generator throughput: accepted jets per second on one core (signal and background mixed 50/50).

    python benchmarks/generate.py [--jets 2000] [--seed 1]

Runs ``kerasjet.data.generate.generate`` with one worker into a temporary file and prints the
wall-clock rate, which is the per-core figure (the generator scales over --workers processes).
"""

import argparse
import os
import tempfile
import time

from kerasjet.data.generate import generate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jets", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        generate(os.path.join(tmp, "bench.h5"), args.jets, args.seed, workers=1, show_progress=False)
        seconds = time.perf_counter() - start
    print(f"generator: {args.jets} jets (50% top) in {seconds:.1f} s on one core: {args.jets / seconds:.0f} accepted jets/s/core")


if __name__ == "__main__":
    main()
