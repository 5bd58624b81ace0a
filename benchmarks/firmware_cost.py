"""Where a quantized nanoPELICAN's logic goes: da4ml's adder-cost estimate by stage.

    python benchmarks/firmware_cost.py [MODEL.h5 ...]   (default: the shipped C = 2 8-bit and
                                                          ternary models at N = 8, 16, 32)

Traces each model (kerasjet.rtl.trace.nanopelican_stages) and prints da4ml's cost estimate (in
LUT-like units: one per adder bit, comparators and multiplexers included; the multiplications of
the dot products are left out, they go to DSPs) of the logic up to three points: the dot
products, the ReLU outputs of the live hidden channels, and the logit (the whole design); and
the estimate per hidden entry of the LinEq2→2 + ReLU stage. The costs are cumulative, not per
stage: the whole design can cost less than its ReLU outputs alone, because da4ml drops the bits
of the hidden values that the readout's truncation to the logit's type never uses (the ternary
models' shift-only readout). Hidden channels whose readout weights are all zero (quantization
can zero them) are left out of the trace by da4ml and counted here as dead. A relative picture:
Yosys' LUT counts are about 0.9 of the total.
"""

import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.errors import run_script  # noqa: E402
from kerasjet.models import load_model  # noqa: E402
from kerasjet.rtl.trace import adder_cost, nanopelican_stages  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT = [os.path.join(ROOT, "models", f"nanopelican_c2_n{n}_{bits}.h5") for n in (8, 16, 32) for bits in ("8bit", "ternary")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", default=DEFAULT)
    args = parser.parse_args()
    print("| model | live hidden channels | up to d_ij | up to the ReLU outputs | whole design | LinEq2→2 + ReLU per live hidden entry |")
    print("|---|---|---|---|---|---|")
    for path in args.models:
        model = load_model(path)
        stages = nanopelican_stages(model)
        readout_kernel = np.asarray(model.get_layer("lineq_2to0").effective_weights()["kernel"])  # (2, C, 1)
        live = np.flatnonzero(np.any(readout_kernel != 0, axis=(0, 2)))
        dot = adder_cost(stages["input"], stages["dot"])[0]
        hidden = adder_cost(stages["input"], stages["hidden"][live])[0]
        total = adder_cost(stages["input"], stages["logit"])[0]
        entries = stages["hidden"][live].size
        print(f"| {os.path.basename(path)} | {len(live)} of {readout_kernel.shape[1]} | {dot:.0f} | {hidden:.0f} | "
              f"{total:.0f} | {(hidden - dot) / entries:.0f} |")


if __name__ == "__main__":
    run_script(main)
