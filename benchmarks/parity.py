"""kerasjet's nanoPELICAN against the seed paper's own PyTorch code, same files, budget and seeds.

    python benchmarks/parity.py [--data data/parity] [--seeds 5] [--epochs 16] [--c-hidden C]
                                [--reference DIR --reference-python PYTHON] [--finished-only] [--tiny]

The files: 60k training, 10k validation and 40k test particle-level jets generated with seeds 101,
102 and 103 (seeds no other part of kerasjet uses) with kerasjet 0.1's generator settings (no MPI,
quark-matched tops: the jets of the committed tables), made here if missing. The budget: nanoPELICAN C = 2,
N = 80 leading constituents, batch 512, --epochs epochs (default 16), peak learning rate 5e-3,
the best epoch by validation loss; with and without BatchNorm. Each side trains with its own
recipe: kerasjet's default (the calibrated momentum unit, no dropout: dropout 0.05 changed the
validation AUC by less than 0.0005 per seed and needs the slower separate BatchNorm layers), also
as the best of 3 starts (``RunConfig.starts``: each start trains 5 epochs, the one with the lowest
validation loss at its fifth epoch trains on; start 1 is the single-start run of the same seed, whose folder it
reuses when that run exists), the reference with its code's defaults and dropout 0.05 (as in the
seed paper).

kerasjet trains every seed with ``kerasjet.train.train`` (resumable: a rerun skips finished
seeds). The reference side runs only when --reference points at a checkout of
abogatskiy/PELICAN-nano and --reference-python at a Python with PyTorch (an optional extra, never
part of ``make test``): ``benchmarks/pelican_nano_reference.py`` drives it on the same files.
Without it, --reference-from PARITY_JSON carries the reference's rows over from an earlier
parity.json of the same files and budget (checked before any work), so that a change on
kerasjet's side is tabulated beside the reference without retraining it.

Prints, and writes to --out (results/parity) as NAME.md and NAME.json (--name, default parity): test AUC, 1/εB at
εS = 0.3 and accuracy per seed, and mean ± standard deviation per side. --finished-only trains
nothing: it tabulates the runs that have finished and names the others as not run (the
reference trains about 13 minutes per seed on an idle 2-core machine, several times that when
the cores are shared). --tiny runs the kerasjet
side on a few hundred jets for one epoch (the test of this script).

--c-hidden C (default 2) trains only kerasjet's default model, the seed paper's without BatchNorm,
at C hidden channels (the reference comparison is at C = 2): the check that the default trains
at every C of the paper's Table 1 with one start per seed (run folders kerasjet_nobn_c<C>_<E>ep).
"""

import argparse
import json
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
import numpy as np  # noqa: E402

from kerasjet.errors import KerasjetError, first_line, run_script  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402

SPLITS = {"train": (60_000, 101), "val": (10_000, 102), "test": (40_000, 103)}
TINY_SPLITS = {"train": (400, 101), "val": (200, 102), "test": (200, 103)}
N_CONSTITUENTS, BATCH_SIZE, LEARNING_RATE = 80, 512, 5e-3
REFERENCE_DROPOUT = 0.05
# the committed comparison ran on particle-level jets (it predates the detector stage)
LEVEL = "particle"
SIDES = {  # name → (code, BatchNorm, starts)
    "kerasjet, BatchNorm": ("kerasjet", True, 1),
    "kerasjet, BatchNorm, best of 3 starts": ("kerasjet", True, 3),
    "kerasjet, no BatchNorm": ("kerasjet", False, 1),
    "PELICAN-nano, BatchNorm": ("reference", True, 1),
    "PELICAN-nano, no BatchNorm": ("reference", False, 1),
}
METRICS = ("auc", "rejection_at_0.3", "accuracy")


def data_files(data_dir, splits, workers):
    """{split: path}, generating the files that are missing."""
    from dataclasses import replace

    from kerasjet.data.generate import generate
    from kerasjet.data.settings import KERASJET_0_1, configuration_name, file_configuration

    settings = replace(KERASJET_0_1, level=LEVEL)
    files = {}
    for split, (jets, seed) in splits.items():
        files[split] = os.path.join(data_dir, f"{split}_{jets}.h5")
        if not os.path.exists(files[split]):
            print(f"generating {split}: {jets} jets (seed {seed}) → {files[split]}")
            generate(files[split], jets, seed, settings, workers=workers)
        elif (found := file_configuration(files[split])) != configuration_name(settings):
            raise KerasjetError(f"{files[split]}: attribute 'configuration' is {found}, the parity files are "
                                f"{configuration_name(settings)} jets; remove it to regenerate")
    return files


def run_name(code, batchnorm, starts, epochs, c_hidden=2):
    """Run-folder name of one side: e.g. kerasjet_bn_16ep, kerasjet_bn_3starts_16ep, kerasjet_nobn_c3_16ep."""
    return f"{code}_{'bn' if batchnorm else 'nobn'}{f'_c{c_hidden}' if c_hidden != 2 else ''}{f'_{starts}starts' if starts > 1 else ''}_{epochs}ep"


def reuse_single_start(single_run, run_dir):
    """A multi-start run's first start trains exactly as the single-start run of its seed:
    copy that run's folder (finished or not) as start 0 when the multi-start run has none yet."""
    first = os.path.join(run_dir, "starts", "start_0")
    if os.path.isdir(single_run) and not os.path.exists(first):
        shutil.copytree(single_run, first)


def finished(code, run_dir):
    """Whether one side's run in ``run_dir`` has finished (kerasjet: summary.json; the reference: its test predictions)."""
    if code == "kerasjet":
        return os.path.exists(os.path.join(run_dir, "summary.json"))
    from pelican_nano_reference import reference_finished

    return reference_finished(run_dir)


def train_kerasjet(run_dir, files, seed, epochs, batchnorm, batch_size, starts=1, c_hidden=2):
    """Train one kerasjet seed (resumable; ``starts`` > 1: the best of that many starts, see
    kerasjet.train.train_best_start) and return its test metrics."""
    from kerasjet.evaluate import evaluate
    from kerasjet.train import RunConfig, train

    config = RunConfig(model="nanopelican", model_kwargs=dict(c_hidden=c_hidden, n_constituents=N_CONSTITUENTS, batchnorm=batchnorm),
                       train=files["train"], val=files["val"], epochs=epochs, batch_size=batch_size,
                       learning_rate=LEARNING_RATE, seed=seed, starts=starts)
    summary = train(run_dir, config, verbose=0)
    metrics = evaluate(os.path.join(run_dir, "best.keras"), files["test"])[0]
    return {**{k: metrics[k] for k in METRICS}, "seed": seed, "parameters": metrics["parameters"],
            "best_val_loss": summary["best_val_loss"]}


def summarise(runs):
    """{metric: [mean, std]} over seeds (std with ddof = 1; 0 for one seed)."""
    out = {}
    for key in METRICS:
        values = np.array([r[key] for r in runs], np.float64)
        out[key] = [float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0]
    return out


def carried_reference(path, budget):
    """The reference's sides of an earlier parity.json, checked to share this run's files
    (generated deterministically from their seeds) and budget."""
    try:
        with open(path) as f:
            earlier = json.load(f)
        sides = {name: side for name, side in earlier["sides"].items() if name.startswith("PELICAN-nano")}
        same = {key: earlier["budget"][key] for key in ("level", "jets", "epochs", "batch_size")}
    except (OSError, ValueError, KeyError, AttributeError) as err:
        raise KerasjetError(f"{path}: not a parity.json written by benchmarks/parity.py ({first_line(err)})") from None
    for key, value in same.items():
        if value != budget[key]:
            raise KerasjetError(f"{path}: budget key '{key}' is {value!r}, this run's is {budget[key]!r}: not the same comparison")
    if not sides:
        raise KerasjetError(f"{path}: no PELICAN-nano rows to carry over")
    return sides


def format_markdown(results, budget):
    """The per-seed and mean ± std table."""
    seeds = sorted({r["seed"] for side in results.values() for r in side["runs"]})
    title = ("# Training parity: kerasjet against the seed paper's PELICAN-nano code" if budget.get("c_hidden", 2) == 2 else
             f"# The default nanoPELICAN at C = {budget['c_hidden']} (the seed paper's model, one start per seed)")
    lines = [
        title,
        "",
        f"Same {budget['level']}-level files for every side ({budget['jets']}), nanoPELICAN C = {budget.get('c_hidden', 2)}, N = {N_CONSTITUENTS}, batch {budget['batch_size']}, "
        f"{budget['epochs']} epochs, peak learning rate {LEARNING_RATE:g}, best epoch by validation loss; kerasjet "
        f"without dropout, the reference with dropout {REFERENCE_DROPOUT}. Cells: test AUC (1/εB at εS = 0.3). Written by `python benchmarks/parity.py`"
        f"{' ' + budget['flags'] if budget['flags'] else ''}.",
        "",
        *([f"The PELICAN-nano rows are carried over from {budget['reference_from']} (the reference did not run in this "
           "invocation; same files, regenerated from their seeds, and the same budget).", ""] if budget.get("reference_from") else []),
        *([] if any(name.startswith("PELICAN-nano") for name in results) else
          ["The reference side did not run in this invocation (it needs PyTorch and `--reference`): this table is "
           "kerasjet's side only.", ""]),
        *([f"Not finished, so not in the table (--finished-only; means are over the finished seeds): {'; '.join(budget['not_run'])}.", ""]
          if budget.get("not_run") else []),
        "| code | parameters | " + " | ".join(f"seed {s}" for s in seeds) + " | mean AUC | mean 1/εB | mean accuracy |",
        "|---|---|" + "---|" * len(seeds) + "---|---|---|",
    ]
    for name, side in results.items():
        by_seed = {r["seed"]: r for r in side["runs"]}
        cells = [f"{by_seed[s]['auc']:.4f} ({by_seed[s]['rejection_at_0.3']:.0f})" if s in by_seed else "—" for s in seeds]
        mean = side["mean_std"]
        lines.append(f"| {name} | {side['runs'][0].get('parameters') or '—'} | " + " | ".join(cells)
                     + f" | {mean['auc'][0]:.4f} ± {mean['auc'][1]:.4f} | {mean['rejection_at_0.3'][0]:.0f} ± "
                     f"{mean['rejection_at_0.3'][1]:.0f} | {mean['accuracy'][0]:.4f} ± {mean['accuracy'][1]:.4f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="data/parity", help="folder of the three jet files and the runs (default data/parity)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 1 … K per side (default 5)")
    parser.add_argument("--epochs", type=int, default=16, help="training epochs (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="generator processes for missing files (default 2)")
    parser.add_argument("--reference", help="checkout of abogatskiy/PELICAN-nano: also train the reference")
    parser.add_argument("--reference-python", default=sys.executable, help="Python with PyTorch for the reference")
    parser.add_argument("--only", choices=("kerasjet", "reference"), help="train only this side's runs (for running the two "
                        "sides in parallel processes; a run without --only writes the table from the finished runs)")
    parser.add_argument("--out", default="results/parity", help="folder for NAME.md and NAME.json (default results/parity)")
    parser.add_argument("--name", default="parity", help="file name of the table without .md/.json (default parity)")
    parser.add_argument("--finished-only", action="store_true", help="train nothing: tabulate the finished runs, naming the others")
    parser.add_argument("--reference-from", metavar="PARITY_JSON",
                        help="without --reference: the reference's rows from an earlier parity.json of the same files and budget")
    parser.add_argument("--tiny", action="store_true", help="a few hundred jets, one epoch, one seed (the test)")
    parser.add_argument("--c-hidden", type=int, default=2,
                        help="hidden channels; other than 2 (the reference comparison), only kerasjet's default model trains")
    args = parser.parse_args()
    if args.seeds < 1 or args.epochs < 1 or args.c_hidden < 1:
        raise KerasjetError("--seeds, --epochs and --c-hidden must be at least 1")
    if args.c_hidden != 2 and (args.reference or args.reference_from):
        raise KerasjetError(f"--c-hidden {args.c_hidden}: the reference comparison is at C = 2 (drop --reference/--reference-from)")
    if not args.name or os.sep in args.name or args.name.startswith("."):
        raise KerasjetError(f"--name {args.name!r}: a file name without folder (the folder is --out)")
    if args.reference and args.reference_from:
        raise KerasjetError("--reference and --reference-from exclude each other (train the reference, or carry its rows over)")
    if args.reference and not os.path.isfile(os.path.join(args.reference, "train_pelican_nano.py")):
        raise KerasjetError(f"{args.reference}: not a PELICAN-nano checkout (no train_pelican_nano.py)")
    splits, seeds, epochs, batch_size = SPLITS, range(1, args.seeds + 1), args.epochs, BATCH_SIZE
    if args.tiny:
        splits, seeds, epochs, batch_size = TINY_SPLITS, range(1, 2), 1, 128
    budget = {"level": LEVEL, "jets": ", ".join(f"{split} {jets} (seed {seed})" for split, (jets, seed) in splits.items()),
              "epochs": epochs, "batch_size": batch_size, "c_hidden": args.c_hidden, "flags": " ".join(sys.argv[1:])}
    carried = carried_reference(args.reference_from, budget) if args.reference_from else {}  # checked before any work
    files = data_files(args.data, splits, args.workers)
    results, not_run = {}, []
    for name, (code, batchnorm, starts) in SIDES.items():
        if (code == "reference" and not args.reference) or args.only not in (None, code):
            continue
        if args.c_hidden != 2 and (code, batchnorm, starts) != ("kerasjet", False, 1):
            continue
        runs = []
        for seed in seeds:
            run_dir = os.path.join(args.data, "runs", run_name(code, batchnorm, starts, epochs, args.c_hidden), f"seed_{seed}")
            if args.finished_only and not finished(code, run_dir):
                not_run.append(f"{name}, seed {seed}")
                continue
            if code == "kerasjet" and starts > 1:
                reuse_single_start(os.path.join(args.data, "runs", run_name(code, batchnorm, 1, epochs), f"seed_{seed}"), run_dir)
            if code == "kerasjet":
                run = train_kerasjet(run_dir, files, seed, epochs, batchnorm, batch_size, starts, args.c_hidden)
            else:
                from pelican_nano_reference import train_reference

                run = train_reference(args.reference, args.reference_python, run_dir, files, seed, epochs, batchnorm,
                                      batch_size, N_CONSTITUENTS, LEARNING_RATE, REFERENCE_DROPOUT)
            print(f"{name}, seed {seed}: AUC {run['auc']:.4f}, 1/εB {run['rejection_at_0.3']:.0f}, accuracy {run['accuracy']:.4f}",
                  flush=True)
            runs.append(run)
        if runs:
            results[name] = {"runs": runs, "mean_std": summarise(runs)}
    budget["not_run"] = not_run
    if args.only:
        return
    if carried:
        results.update(carried)
        budget["reference_from"] = args.reference_from
    markdown = format_markdown(results, budget)
    os.makedirs(args.out, exist_ok=True)
    write_text(markdown, os.path.join(args.out, f"{args.name}.md"))
    write_json({"budget": budget, "sides": results}, os.path.join(args.out, f"{args.name}.json"))
    print(markdown)


if __name__ == "__main__":
    run_script(main)
