"""A trigger designer's first run, tried as a new user would: nanoPELICAN C = 3 at N = 16 on
20,000 training jets for 5 epochs, the default model against the BatchNorm one.

    python benchmarks/small_budget.py [--data data/study] [--seeds 3] [--out results/training]

The jets are the study's detector-level files at the default configuration
(``kerasjet study --prepare-only`` makes them in DATA/data): the first --train-jets of its
training file, the first 10,000 of its validation file and the first 20,000 of its test file,
copied into DATA/small_budget/ once. Each variant trains with ``kerasjet.train.train`` exactly as
``kerasjet train --model nanopelican --c-hidden 3 --n-constituents 16 --epochs 5`` does (batch
512, the seed paper's schedule shrunk to 5 epochs), seeds 0 … K−1, and is evaluated on the test
jets; the mass of the 16 leading constituents is the baseline at the same N. Prints and writes
OUT/small_budget.{md,json} (small_budget_<E>ep with --epochs E): per variant and seed the test accuracy, AUC and 1/εB at εS = 0.3, and
the note kerasjet prints when nearly every jet falls on one side of the threshold while the AUC is high. About 1
minute per run on 2 cores.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)

from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402

N_CONSTITUENTS, C_HIDDEN, EPOCHS = 16, 3, 5
SPLIT_JETS = {"val": 10_000, "test": 20_000}
VARIANTS = {  # name → nanoPELICAN builder arguments
    "default (the seed paper's model, no BatchNorm)": {"batchnorm": False},
    "--batchnorm": {"batchnorm": True},
}


def subset_files(data_dir, train_jets):
    """{split: path} of the first jets of the study's files, copied once into data_dir/small_budget."""
    from dataclasses import replace

    from kerasjet.data.io import count_jets, read_attributes, read_jets, write_jets
    from kerasjet.data.settings import GeneratorSettings, configuration_name, file_configuration
    from kerasjet.study import BUDGETS, data_files

    study = data_files(data_dir, replace(BUDGETS["default"], level="detector"))
    expected = configuration_name(GeneratorSettings(level="detector"))
    sizes = {"train": train_jets, **SPLIT_JETS}
    files = {}
    for split, jets in sizes.items():
        source = study[split]
        if not os.path.exists(source):
            raise KerasjetError(f"{source}: missing; make the study's files first (kerasjet study --prepare-only --dir {data_dir})")
        if (found := file_configuration(source)) != expected:
            raise KerasjetError(f"{source}: attribute 'configuration' is {found}, this benchmark runs on {expected} jets")
        if count_jets(source) < jets:
            raise KerasjetError(f"{source}: holds {count_jets(source)} jets, fewer than the {jets} this benchmark takes")
        files[split] = os.path.join(data_dir, "small_budget", f"{split}_{jets}.h5")
        if not os.path.exists(files[split]):
            os.makedirs(os.path.dirname(files[split]), exist_ok=True)
            write_jets(files[split], read_jets(source, 0, jets), read_attributes(source))
    return files


def run_variant(files, run_dir, kwargs, seed, epochs=EPOCHS):
    """Train one variant and seed (resumable) and return its test metrics."""
    from kerasjet.evaluate import evaluate
    from kerasjet.train import RunConfig, train

    config = RunConfig(model="nanopelican", model_kwargs=dict(c_hidden=C_HIDDEN, n_constituents=N_CONSTITUENTS, **kwargs),
                       train=files["train"], val=files["val"], epochs=epochs, seed=seed)
    train(run_dir, config, verbose=0)
    return evaluate(os.path.join(run_dir, "best.keras"), files["test"])[0]


def format_markdown(rows, mass, files, seeds, epochs):
    from kerasjet.evaluate import aggregate

    lines = [
        f"# A trigger designer's first run: nanoPELICAN C = {C_HIDDEN} at N = {N_CONSTITUENTS}, {epochs} epochs",
        "",
        f"Detector-level jets at the default configuration (the study's files): {os.path.basename(files['train'])} "
        f"(training), {os.path.basename(files['val'])} (validation), {os.path.basename(files['test'])} (test); batch 512, "
        f"the seed paper's schedule shrunk to {epochs} epochs, seeds {', '.join(map(str, seeds))}. Written by "
        f"`python benchmarks/small_budget.py{'' if epochs == EPOCHS else f' --epochs {epochs}'}`.",
        "",
        f"Mass of the {N_CONSTITUENTS} leading constituents (one-sided cut): accuracy {mass['accuracy']:.4f}, AUC {mass['auc']:.4f}, "
        f"1/εB {mass['rejection_at_0.3']:.0f}.",
        "",
        "| model | parameters | seed | test accuracy | test AUC | 1/εB (εS = 0.3) | note |",
        "|---|---|---|---|---|---|---|",
    ]
    for name, runs in rows.items():
        for seed, m in zip(seeds, runs):
            note = "nearly every jet on one side of the threshold, AUC high: uncalibrated" if m.get("threshold_note") else ""
            lines.append(f"| {name} | {m['parameters']} | {seed} | {m['accuracy']:.4f} | {m['auc']:.4f} | "
                         f"{m['rejection_at_0.3']:.0f} | {note} |")
        mean = aggregate(runs)
        lines.append(f"| {name}, mean ± std | | | {mean['accuracy'][0]:.4f} | {mean['auc'][0]:.4f} ± {mean['auc'][1]:.4f} | | |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/study", help="the study's folder (its data/ holds the files; default data/study)")
    parser.add_argument("--train-jets", type=int, default=20_000, help="training jets (default 20,000)")
    parser.add_argument("--seeds", type=int, default=3, help="seeds 0 … K−1 per variant (default 3)")
    parser.add_argument("--epochs", type=int, default=EPOCHS, help=f"epochs (default {EPOCHS}, the first run's)")
    parser.add_argument("--out", default="results/training", help="folder of small_budget.md and .json (default results/training)")
    args = parser.parse_args()
    if args.seeds < 1 or args.train_jets < 1 or args.epochs < 1:
        raise KerasjetError("--seeds, --train-jets and --epochs must be at least 1")
    files = subset_files(args.data, args.train_jets)

    from kerasjet.evaluate import MASS_CUT, evaluate

    seeds = list(range(args.seeds))
    mass = evaluate(MASS_CUT, files["test"], n_constituents=N_CONSTITUENTS)[0]
    rows = {}
    for name, kwargs in VARIANTS.items():
        tag = "bn" if kwargs["batchnorm"] else "default"
        rows[name] = []
        for seed in seeds:
            run = os.path.join(args.data, "small_budget", "runs", f"{tag}_{args.train_jets}jets_{args.epochs}ep_seed_{seed}")
            m = run_variant(files, run, kwargs, seed, args.epochs)
            print(f"{name}, seed {seed}: accuracy {m['accuracy']:.4f}, AUC {m['auc']:.4f}"
                  + (f"\n  note: {m['threshold_note']}" if m.get("threshold_note") else ""), flush=True)
            rows[name].append(m)
    markdown = format_markdown(rows, mass, files, seeds, args.epochs)
    name = "small_budget" if args.epochs == EPOCHS else f"small_budget_{args.epochs}ep"
    os.makedirs(args.out, exist_ok=True)
    write_text(markdown, os.path.join(args.out, f"{name}.md"))
    write_json({"files": {split: os.path.relpath(path) for split, path in files.items()}, "seeds": seeds, "epochs": args.epochs,
                "mass_cut": mass, "variants": rows},
               os.path.join(args.out, f"{name}.json"))
    print(markdown)


if __name__ == "__main__":
    run_script(main)
