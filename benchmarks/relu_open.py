"""How often each hidden ReLU of a trained nanoPELICAN is open: the signature of the mass-like plateau.

    python benchmarks/relu_open.py RUN_OR_MODEL [...] [--jets data/parity/val_10000.h5] [--n 2000]

For each model (a .keras file, or a run folder holding best.keras) prints the fraction of real
constituent pairs (i, j) of the first --n jets of --jets on which each hidden channel's LinEq2→2
output is positive. A model on the plateau has every channel open on almost every pair (the
network is then linear in d_ij and its sums); one that left it has channels that close on many.
"""

import argparse
import os

import kerasjet  # noqa: F401  (before TensorFlow: CPU allocator)
from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.errors import run_script
from kerasjet.models import load_model, n_constituents_of
from kerasjet.models.nanopelican import hidden_open_fractions


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="nanoPELICAN .keras files or run folders")
    parser.add_argument("--jets", default="data/parity/val_10000.h5", help="jet file (default: the parity validation file)")
    parser.add_argument("--n", type=int, default=2000, help="jets to use (default 2000)")
    args = parser.parse_args()
    for path in args.models:
        model = load_model(os.path.join(path, "best.keras") if os.path.isdir(path) else path)
        inputs, _ = load_inputs(args.jets, InputSpec(n_constituents_of(model)), 0, args.n)
        fractions = ", ".join(f"{f:.3f}" for f in hidden_open_fractions(model, inputs))
        print(f"{path}: hidden channels open on {fractions} of the real pairs ({args.n} jets of {args.jets})")


if __name__ == "__main__":
    run_script(main)
