"""Milliseconds per nanoPELICAN training step (batch 512, N = 80, C = 2) on this CPU.

    python benchmarks/train_step.py [--steps 30] [--batch 512] [--constituents 80] [--c-hidden 2]

Times Keras ``train_on_batch`` (forward, backward, Adam update) on a fixed batch of synthetic
jets (massless constituents, 40 to 80 per jet), after warm-up, and prints the median for the model
without BatchNorm, with BatchNorm (fused into the next layers: the default) and with BatchNorm and
dropout 0.05 (separate MaskedBatchNorm and Dropout layers).
"""

import argparse
import time

import kerasjet  # noqa: F401  (before TensorFlow: selects the BFC CPU allocator)
import numpy as np
import tensorflow as tf

from kerasjet.errors import run_script
from kerasjet.models import build_model


def synthetic_batch(batch, n, rng):
    p3 = rng.normal(0, 30, (batch, n, 3)).astype(np.float32)
    pmu = np.concatenate([np.linalg.norm(p3, axis=-1, keepdims=True), p3], axis=-1)
    mask = (np.arange(n)[None, :] < rng.integers(40, n + 1, batch)[:, None]).astype(np.float32)
    return {"pmu": pmu * mask[..., None], "mask": mask}, rng.integers(0, 2, batch).astype(np.float32)


def time_steps(model, inputs, labels, steps):
    model.compile(tf.keras.optimizers.Adam(1e-3), tf.keras.losses.BinaryCrossentropy(from_logits=True))
    for _ in range(3):
        model.train_on_batch(inputs, labels)
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        model.train_on_batch(inputs, labels)
        times.append(time.perf_counter() - start)
    return 1e3 * float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--constituents", type=int, default=80)
    parser.add_argument("--c-hidden", type=int, default=2)
    args = parser.parse_args()
    inputs, labels = synthetic_batch(args.batch, args.constituents, np.random.default_rng(0))
    for label, batchnorm, dropout in (("without BatchNorm", False, 0.0), ("with BatchNorm", True, 0.0),
                                      ("with BatchNorm and dropout 0.05", True, 0.05)):
        model = build_model("nanopelican", c_hidden=args.c_hidden, n_constituents=args.constituents, batchnorm=batchnorm,
                            dropout=dropout)
        ms = time_steps(model, inputs, labels, args.steps)
        print(f"train step: nanoPELICAN C={args.c_hidden}, batch {args.batch}, N={args.constituents}, {label}: "
              f"{ms:.1f} ms (median of {args.steps})")


if __name__ == "__main__":
    run_script(main)
