"""What moves nanoPELICAN C = 2 off the mass-like plateau: recipe variants on the parity files.

    python benchmarks/recipe.py [--data data/parity] [--seeds 3] [--epochs 16]

Trains each variant below for seeds 1 … K on the parity benchmark's training file (60k
particle-level jets, N = 80, batch 512; ``benchmarks/parity.py`` makes the files) and scores the
best epoch on the validation file (the test file stays for the parity table). The default recipe
the best of 3 starts and the no-BatchNorm model share their runs with the parity benchmark.

Per seed it prints the validation AUC, 1/εB at εS = 0.3, and the first epoch whose validation
AUC reaches 0.945: the mass-like solution (every hidden ReLU open on the soft pairs, the logit
close to a function of the jet mass) plateaus at 0.92–0.94. Writes results/parity/recipe.{md,json}.
"""

import argparse
import csv
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from parity import LEARNING_RATE, N_CONSTITUENTS, SPLITS, data_files, reuse_single_start, summarise  # noqa: E402

from kerasjet.errors import run_script  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402

PLATEAU_AUC = 0.945
# name → (run-folder prefix, model keyword arguments, RunConfig overrides)
VARIANTS = {
    "BatchNorm (the default recipe)": ("kerasjet_bn", {}, {}),
    "BatchNorm, peak learning rate 1e-2": ("recipe_bn_lr1e-2", {}, {"learning_rate": 1e-2}),
    "BatchNorm, warm-up + one cosine": ("recipe_bn_cosine", {}, {"schedule": "cosine"}),
    "BatchNorm, dropout 0.05 (the seed paper's)": ("recipe_bn_dropout", {"dropout": 0.05}, {}),
    "BatchNorm, best of 3 starts (5-epoch probes)": ("kerasjet_bn_3starts", {}, {"starts": 3}),
    "BatchNorm, peak learning rate 1e-2, best of 3 starts": ("recipe_bn_lr1e-2_3starts", {}, {"learning_rate": 1e-2, "starts": 3}),
    "no BatchNorm (data-dependent initialisation)": ("kerasjet_nobn", {"batchnorm": False}, {}),
    "no BatchNorm, biases polynomial in n (degree 2)": ("recipe_nobn_degree2", {"batchnorm": False, "multiplicity_degree": 2}, {}),
}


def left_plateau_at(history_csv):
    """First epoch (1-based) whose validation AUC reaches PLATEAU_AUC, or None."""
    with open(history_csv) as f:
        for row in csv.DictReader(f):
            if float(row["val_auc"]) >= PLATEAU_AUC:
                return int(row["epoch"]) + 1
    return None


def run_variant(data_dir, files, prefix, model_kwargs, overrides, seed, epochs):
    """Train (or reuse) one seed of a variant; its validation metrics."""
    from kerasjet.evaluate import evaluate
    from kerasjet.train import RunConfig, train

    run_dir = os.path.join(data_dir, "runs", f"{prefix}_{epochs}ep", f"seed_{seed}")
    if overrides.get("starts", 1) > 1:  # start 0 is the single-start run of the same variant
        single_prefix = prefix.removesuffix(f"_{overrides['starts']}starts")
        reuse_single_start(os.path.join(data_dir, "runs", f"{single_prefix}_{epochs}ep", f"seed_{seed}"), run_dir)
    kwargs = {"c_hidden": 2, "n_constituents": N_CONSTITUENTS, "batchnorm": True}
    kwargs.update(model_kwargs)
    config = RunConfig(**{"model": "nanopelican", "model_kwargs": kwargs, "train": files["train"], "val": files["val"],
                          "epochs": epochs, "batch_size": 512, "learning_rate": LEARNING_RATE, "seed": seed, **overrides})
    train(run_dir, config, verbose=0)
    metrics = evaluate(os.path.join(run_dir, "best.keras"), files["val"])[0]
    return {"seed": seed, "auc": metrics["auc"], "rejection_at_0.3": metrics["rejection_at_0.3"],
            "accuracy": metrics["accuracy"], "left_plateau_at": left_plateau_at(os.path.join(run_dir, "history.csv"))}


def format_markdown(results, seeds, epochs):
    lines = [
        "# Recipe variants: nanoPELICAN C = 2 on the parity files",
        "",
        f"Validation set (10k particle-level jets); training on 60k, N = {N_CONSTITUENTS}, batch 512, {epochs} epochs, "
        f"best epoch by validation loss. Cells: validation AUC (1/εB at εS = 0.3) [first epoch with validation AUC ≥ "
        f"{PLATEAU_AUC}, — if never]. Written by `python benchmarks/recipe.py`.",
        "",
        "| variant | " + " | ".join(f"seed {s}" for s in seeds) + " | mean AUC |",
        "|---|" + "---|" * len(seeds) + "---|",
    ]
    for name, side in results.items():
        cells = [f"{r['auc']:.4f} ({r['rejection_at_0.3']:.0f}) [{r['left_plateau_at'] or '—'}]" for r in side["runs"]]
        mean = side["mean_std"]["auc"]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {mean[0]:.4f} ± {mean[1]:.4f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/parity", help="the parity benchmark's folder (default data/parity)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 1 … K per variant (default 3)")
    parser.add_argument("--epochs", type=int, default=16, help="training epochs (default 16)")
    parser.add_argument("--out", default="results/parity", help="folder for recipe.md and recipe.json")
    parser.add_argument("--only", help="train only the variants whose name contains this text and stop (to run pieces in "
                        "parallel processes; a run without --only writes the table)")
    args = parser.parse_args()
    files = data_files(args.data, SPLITS, workers=2)
    seeds = list(range(1, args.seeds + 1))
    results = {}
    for name, (prefix, model_kwargs, overrides) in VARIANTS.items():
        if args.only and args.only not in name:
            continue
        runs = []
        for seed in seeds:
            runs.append(run_variant(args.data, files, prefix, model_kwargs, overrides, seed, args.epochs))
            print(f"{name}, seed {seed}: validation AUC {runs[-1]['auc']:.4f}, left the plateau at epoch "
                  f"{runs[-1]['left_plateau_at']}", flush=True)
        results[name] = {"runs": runs, "mean_std": summarise(runs)}
    if args.only:
        return
    markdown = format_markdown(results, seeds, args.epochs)
    os.makedirs(args.out, exist_ok=True)
    write_text(markdown, os.path.join(args.out, "recipe.md"))
    write_json({"epochs": args.epochs, "plateau_auc": PLATEAU_AUC, "variants": results}, os.path.join(args.out, "recipe.json"))
    print(markdown)


if __name__ == "__main__":
    run_script(main)
