"""What holds a nanoPELICAN seed on the mass-like plateau: recipe changes tried on the stuck seed.

    python benchmarks/stuck_seed.py [--data data/parity] [--epochs 16] [--out results/parity] [--only TEXT]

Seed 5 of the parity benchmark (nanoPELICAN C = 2 with BatchNorm, 60k particle-level training
jets, N = 80, batch 512, peak learning rate 5e-3, ``benchmarks/parity.py`` makes the files) stays
on the plateau with the default recipe and with every start of ``--starts 3``
(results/parity/recipe.md). Each variant below trains it again with one change; the mass-window
start is also trained on seed 1, a seed that leaves the plateau by itself, and so is the model
without BatchNorm (21 parameters; its seed 5 stalls too, results/parity/parity_kerasjet_5_seeds.md).
After every epoch the script records the validation AUC and, on the first 1,000 validation jets,
the fraction of real pairs on which each hidden ReLU is open
(kerasjet.models.nanopelican.hidden_open_fractions).
Writes results/parity/stuck_seed.{md,json}: per variant and seed the best epoch by validation
loss (validation AUC, 1/εB at εS = 0.3, validation loss, open fractions) and the open fractions
after epoch 1. Runs are resumable and deterministic for a seed (the default variant repeats the
parity benchmark's kerasjet_bn_16ep run with the probe). About 4 minutes per run on 2 cores.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parity import BATCH_SIZE, LEARNING_RATE, N_CONSTITUENTS, SPLITS, data_files  # noqa: E402

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasjet.data.pipeline import InputSpec, load_inputs  # noqa: E402
from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.evaluate import MASS_CUT, evaluate  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402
from kerasjet.layers.equivariant import NANO_BASIS  # noqa: E402
from kerasjet.layers.normalization import batch_statistics  # noqa: E402
from kerasjet.layers.pair_ops import pair_moments  # noqa: E402
from kerasjet.models.nanopelican import hidden_open_fractions, hidden_preactivations  # noqa: E402
from kerasjet.train import CALIBRATION_JETS, RunConfig, train  # noqa: E402

PROBE_JETS = 1000
# the mass window of the mass-window start (GeV): channel 0 opens above LOW, channel 1 above HIGH
WINDOW_GEV = (120.0, 175.0)
TOTAL_ELEMENT = NANO_BASIS.index(("const", "total"))  # the LinEq2→2 basis element t = Σ_ij x_ij / N̄²


class _AtFreshStart(tf.keras.callbacks.Callback):
    """Changes the model once, before its first step (not when a run resumes)."""

    def on_train_begin(self, logs=None):
        if int(self.model.optimizer.iterations.numpy()) == 0:
            self.change(self.model)


class LowerHiddenBiases(_AtFreshStart):
    """Hidden biases lowered by 0.5 (input units standardised), so fewer ReLUs start open."""

    def change(self, model):
        bias = model.get_layer("lineq_2to2").bias
        bias.assign(bias - 0.5)


class MirroredChannels(_AtFreshStart):
    """Hidden channel 1 started as the mirror image of channel 0 (every weight negated), so that
    at the start each pair opens exactly one of the two ReLUs."""

    def change(self, model):
        kernel = model.get_layer("lineq_2to2").kernel
        kernel.assign(tf.concat([kernel[:, :, :1], -kernel[:, :, :1]], axis=2))


class MassWindowStart(_AtFreshStart):
    """Start as a mass window: channel h = ReLU((m² − M_h²) / (100 GeV)²) on every real pair (the
    input normalisation's shift set to zero, the other aggregators at a tenth of their random
    start), read out as 3 (n/N̄)² [(h_0 − μ_0) − 2 (h_1 − μ_1)], μ_h the channel's mean over the
    pairs: a function of m² that rises from M_0 to M_1 and falls beyond (below zero past about
    216 GeV), weighted by the multiplicity n."""

    def __init__(self, calibration):
        """``calibration``: training jets {'pmu' (B, N, 4) GeV, 'mask' (B, N)} for the statistics."""
        super().__init__()
        self.calibration = calibration

    def change(self, model):
        lineq2, lineq0, mask = model.get_layer("lineq_2to2"), model.get_layer("lineq_2to0"), self.calibration["mask"]
        d = model.get_layer("lorentz_dot")([self.calibration["pmu"], mask])
        mean, variance = batch_statistics(*pair_moments(d)[::2], mask)
        scale = float(lineq2.gamma[0] * tf.math.rsqrt(variance + lineq2.epsilon)[0])
        lineq2.beta.assign(mean * scale)  # normalised input scale·d, without the shift −μ·scale
        unit = 100.0 / model.get_layer("lorentz_dot").momentum_scale  # 100 GeV in the model's momentum unit
        kernel = lineq2.kernel.numpy() * 0.1
        kernel[TOTAL_ELEMENT, 0, :] = lineq2.n_bar**2 / (scale * unit**2)  # t = scale·m² / N̄² → m² / (100 GeV)²
        lineq2.kernel.assign(kernel)
        lineq2.bias.assign([-(m / 100.0) ** 2 for m in WINDOW_GEV])
        lineq2.diag_bias.assign(tf.zeros_like(lineq2.diag_bias))
        lineq2.moving_mean.assign(mean)
        lineq2.moving_variance.assign(variance)
        hidden = tf.nn.relu(lineq2([d, mask], training=True))
        mean, variance = batch_statistics(*pair_moments(hidden)[::2], mask)
        lineq0.moving_mean.assign(mean)
        lineq0.moving_variance.assign(variance)
        readout = np.zeros(lineq0.kernel.shape, np.float32)
        readout[0, :, 0] = 3.0 * np.array([1.0, -2.0]) * np.sqrt(variance.numpy())
        lineq0.kernel.assign(readout)
        lineq0.bias.assign([0.0])


class KeepBoundariesInside(tf.keras.callbacks.Callback):
    """At batches 0, 25, 50, … of every epoch: a hidden channel open on more than 99% of the real
    pairs of ``inputs`` (256 training jets) gets its bias lowered until it is open on 90% of them
    (an all-open channel's bias has no gradient: the BatchNorm after the ReLU removes any constant
    shift)."""

    def __init__(self, inputs):
        super().__init__()
        self.inputs = inputs

    def on_train_batch_end(self, batch, logs=None):
        if batch % 25:
            return
        lineq2 = self.model.get_layer("lineq_2to2")
        bias = lineq2.bias.numpy()
        for c, values in enumerate(hidden_preactivations(self.model, self.inputs)):
            if np.mean(values > 0) > 0.99:
                bias[c] -= np.quantile(values, 0.1)
        lineq2.bias.assign(bias)


class HoldInputBeta(tf.keras.callbacks.Callback):
    """The input BatchNorm's β held at zero after every step."""

    def on_train_batch_end(self, batch, logs=None):
        beta = self.model.get_layer("lineq_2to2").beta
        beta.assign(tf.zeros_like(beta))


class EpochProbe(tf.keras.callbacks.Callback):
    """Appends {epoch, val_auc, val_loss, open} per epoch to a JSON-lines file."""

    def __init__(self, path, inputs):
        super().__init__()
        self.path, self.inputs = path, inputs

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "val_auc": float(logs["val_auc"]), "val_loss": float(logs["val_loss"]),
               "open": hidden_open_fractions(self.model, self.inputs)}
        with open(self.path, "a") as f:
            f.write(json.dumps(row) + "\n")


# name → (run-folder prefix, seeds, overrides (learning_rate, batchnorm), callbacks(the first CALIBRATION_JETS training jets))
VARIANTS = {
    "default recipe": ("stuck_default", (5,), {}, lambda inputs: []),
    "hidden biases started 0.5 lower": ("stuck_lower_bias", (5,), {}, lambda inputs: [LowerHiddenBiases()]),
    "ReLU boundaries kept inside the data": ("stuck_boundaries", (5,), {},
                                             lambda inputs: [KeepBoundariesInside({k: v[:256] for k, v in inputs.items()})]),
    "input BatchNorm β held at 0": ("stuck_zero_beta", (5,), {}, lambda inputs: [HoldInputBeta()]),
    "peak learning rate 2e-3": ("stuck_lr2e-3", (5,), {"learning_rate": 2e-3}, lambda inputs: []),
    "hidden channels started as mirror images": ("stuck_mirrored", (5,), {}, lambda inputs: [MirroredChannels()]),
    "mass-window start": ("stuck_mass_window", (5, 1), {}, lambda inputs: [MassWindowStart(inputs)]),
    "no BatchNorm (data-dependent initialisation)": ("stuck_no_batchnorm", (5, 1), {"batchnorm": False}, lambda inputs: []),
}


def run_variant(data_dir, files, prefix, seed, overrides, callbacks, epochs, probe_inputs):
    """Train (or reload) one variant's seed in <data_dir>/runs/<prefix>_<epochs>ep/seed_<seed>: the
    parity benchmark's kerasjet BatchNorm run with ``overrides`` and the extra Keras ``callbacks``.
    Returns {seed, auc, rejection_at_0.3 (validation file), best_val_loss, best_epoch (1-based),
    open_at_best and open_after_epoch_1 (C fractions), epochs (the per-epoch probe rows)}."""
    run_dir = os.path.join(data_dir, "runs", f"{prefix}_{epochs}ep", f"seed_{seed}")
    config = RunConfig(model="nanopelican", model_kwargs={"c_hidden": 2, "n_constituents": N_CONSTITUENTS,
                                                          "batchnorm": overrides.get("batchnorm", True)},
                       train=files["train"], val=files["val"], epochs=epochs, batch_size=BATCH_SIZE,
                       learning_rate=overrides.get("learning_rate", LEARNING_RATE), seed=seed)
    probe_path = os.path.join(run_dir, "open_fractions.jsonl")
    summary = train(run_dir, config, verbose=0, callbacks=[*callbacks, EpochProbe(probe_path, probe_inputs)])
    with open(probe_path) as f:
        rows = [json.loads(line) for line in f]
    if [r["epoch"] for r in rows] != list(range(1, epochs + 1)):  # e.g. interrupted between checkpoint and probe
        raise KerasjetError(f"{probe_path}: the per-epoch probe lacks epochs; remove {run_dir} and rerun")
    best = min(rows, key=lambda r: r["val_loss"])
    metrics = evaluate(os.path.join(run_dir, "best.keras"), files["val"])[0]
    return {"seed": seed, "auc": metrics["auc"], "rejection_at_0.3": metrics["rejection_at_0.3"],
            "best_val_loss": summary["best_val_loss"], "best_epoch": best["epoch"], "open_at_best": best["open"],
            "open_after_epoch_1": rows[0]["open"], "epochs": rows}


def format_markdown(results, epochs, mass_cut):
    """stuck_seed.md: one row per variant and seed (``results``: name → run_variant dicts) below
    the mass cut's row (``mass_cut``: evaluate's metrics on the validation file)."""
    lines = [
        "# The stuck seed: recipe changes tried on seed 5 of the parity benchmark",
        "",
        f"nanoPELICAN C = 2 (with BatchNorm unless the row says otherwise), 60k particle-level training jets, N = {N_CONSTITUENTS}, batch {BATCH_SIZE}, {epochs} epochs, "
        "best epoch by validation loss, scored on the 10k validation jets. Open: the fraction of the real pairs of 1,000 "
        "validation jets on which each hidden ReLU is open. Written by `python benchmarks/stuck_seed.py`.",
        "",
        "| variant | seed | validation AUC | 1/εB (εS = 0.3) | validation loss | open after epoch 1 | open at the best epoch |",
        "|---|---|---|---|---|---|---|",
        f"| the mass cut (for scale) | — | {mass_cut['auc']:.4f} | {mass_cut['rejection_at_0.3']:.0f} | — | — | — |",
    ]
    for name, runs in results.items():
        for r in runs:
            lines.append(f"| {name} | {r['seed']} | {r['auc']:.4f} | {r['rejection_at_0.3']:.0f} | {r['best_val_loss']:.4f} | "
                         + ", ".join(f"{f:.2f}" for f in r["open_after_epoch_1"]) + " | "
                         + ", ".join(f"{f:.2f}" for f in r["open_at_best"]) + " |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/parity", help="the parity benchmark's folder (default data/parity)")
    parser.add_argument("--epochs", type=int, default=16, help="training epochs (default 16)")
    parser.add_argument("--out", default="results/parity", help="folder for stuck_seed.md and stuck_seed.json")
    parser.add_argument("--only", help="train only the variants whose name contains this text and stop")
    args = parser.parse_args()
    files = data_files(args.data, SPLITS, workers=2)
    spec = InputSpec(N_CONSTITUENTS)
    probe_inputs, _ = load_inputs(files["val"], spec, 0, PROBE_JETS)
    train_inputs, _ = load_inputs(files["train"], spec, 0, CALIBRATION_JETS)
    results = {}
    for name, (prefix, seeds, overrides, callbacks) in VARIANTS.items():
        if args.only and args.only not in name:
            continue
        results[name] = []
        for seed in seeds:
            run = run_variant(args.data, files, prefix, seed, overrides, callbacks(train_inputs), args.epochs, probe_inputs)
            print(f"{name}, seed {seed}: validation AUC {run['auc']:.4f}, open at the best epoch {run['open_at_best']}", flush=True)
            results[name].append(run)
    if args.only:
        return
    mass_cut = evaluate(MASS_CUT, files["val"], mass_score="window")[0]
    markdown = format_markdown(results, args.epochs, mass_cut)
    write_text(markdown, os.path.join(args.out, "stuck_seed.md"))
    write_json({"epochs": args.epochs, "mass_cut": {k: mass_cut[k] for k in ("auc", "rejection_at_0.3")}, "variants": results},
               os.path.join(args.out, "stuck_seed.json"))
    print(markdown)


if __name__ == "__main__":
    run_script(main)
