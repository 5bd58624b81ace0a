"""The ternary (BitLinear) recipe table: recipes, layer placement and the nanoPELICAN width sweep.

    python benchmarks/ternary.py --train T.h5 --val V.h5 --test TEST.h5 --work DIR \\
        --nano 2=C2.keras --nano 3=C3.keras ... --dense hls4ml_tagger=TAGGER.keras [--dense topodnn=TOPO.keras] \\
        [--n-constituents 16] [--epochs 6] [--seeds 1 2 3] [--train-jets N] [--results results/compression]

Every model is a trained float model (a `kerasjet train` run's best.keras); nanoPELICANs are
rebuilt for --n-constituents slots (their weights do not depend on N). Three tables:

1. recipes (kerasjet.compress.TERNARY_RECIPES) on the smallest nanoPELICAN and every dense
   tagger: ternary fine-tuning from the float model, progressive 8 → 4 → ternary bits, and ternary
   from a re-initialised model, each for --epochs epochs of warm-up + cosine on the training jets;
2. placement: all layers ternary against the first and last kept at 8 bits (default recipe);
3. widths: every nanoPELICAN ternary (default recipe) next to the smallest one at 8 bits, with
   da4ml's cost estimate of the whole firmware at --n-constituents (benchmarks/firmware_cost.py;
   the dot products' multiplications, the same in every row, left out).

AUC on the test file: the mean and spread over --seeds (each seed its own fine-tuning; the float
model is the same). Resumable: every compressed model is kept in --work. Writes
ternary_recipe.md and ternary_recipe.json into --results.
"""

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.compress import DEFAULT_TERNARY_RECIPE, PLACEMENTS, TERNARY_LEARNING_RATE, TERNARY_RECIPES, compress  # noqa: E402
from kerasjet.data.io import count_jets  # noqa: E402
from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.evaluate import model_scores  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402
from kerasjet.metrics import roc_auc  # noqa: E402
from kerasjet.models import load_model, save_model  # noqa: E402
from kerasjet.models.nanopelican import with_constituents  # noqa: E402


def named_paths(items, what):
    """{name: path} from NAME=PATH arguments."""
    malformed = [item for item in items if "=" not in item]
    if malformed:
        raise KerasjetError(f"--{what} {malformed[0]}: expected NAME=PATH")
    pairs = dict(item.split("=", 1) for item in items)
    for name, path in pairs.items():
        if not os.path.isfile(path):
            raise KerasjetError(f"--{what} {name}={path}: no such file")
    return pairs


def adder_cost(model):
    """da4ml's adder count of a quantized nanoPELICAN (kerasjet.rtl.trace.nanopelican_cost): its
    cost estimate with the dot products' multiplications left out (unlike
    kerasjet.rtl.precision.da4ml_cost, which prices each at DSP_IN_LUTS)."""
    from kerasjet.rtl.trace import nanopelican_cost

    return nanopelican_cost(model)[0]


class Runner:
    """Compresses (or reloads) one variant per seed and scores it on the test file."""

    def __init__(self, args):
        self.args = args
        self.test_jets = None
        os.makedirs(args.work, exist_ok=True)

    def float_auc(self, model):
        labels, scores = model_scores(model, self.args.test)
        self.test_jets = len(labels)
        return roc_auc(labels, scores)

    def variant(self, tag, model, bits, recipe=None, placement="all", epochs=None, cost=False):
        """{'aucs': per seed, 'cost': da4ml estimate of the first seed's model or None, 'seconds'}."""
        epochs = self.args.epochs if epochs is None else epochs
        aucs, seconds, estimate = [], [], None
        for seed in self.args.seeds:
            path = os.path.join(self.args.work, f"{tag}_{bits}_{recipe or 'qat'}_{placement}_{epochs}ep_seed{seed}.h5")
            start = time.perf_counter()
            if not os.path.exists(path):
                save_model(compress(model, self.args.train, self.args.val, bits, epochs=epochs, recipe=recipe, placement=placement,
                                    train_jets=self.args.train_jets, seed=seed, verbose=0), path)
            seconds.append(time.perf_counter() - start)
            compressed = load_model(path)
            labels, scores = model_scores(compressed, self.args.test)
            aucs.append(roc_auc(labels, scores))
            if cost and estimate is None:
                estimate = adder_cost(compressed)
            print(f"  {tag} {bits} {recipe or ''} {placement} seed {seed}: AUC {aucs[-1]:.4f} ({seconds[-1]:.0f} s)", flush=True)
        return {"aucs": aucs, "cost": estimate, "seconds": seconds}


def row(model_name, variant, float_auc, result, recipe="", placement="", epochs=""):
    aucs = np.asarray(result["aucs"])
    return {"model": model_name, "variant": variant, "recipe": recipe, "placement": placement, "epochs": epochs,
            "auc_mean": float(aucs.mean()), "auc_std": float(aucs.std(ddof=1)) if len(aucs) > 1 else 0.0,
            "aucs": [float(a) for a in aucs], "float_auc": float_auc, "cost": result.get("cost")}


def markdown(title, rows, with_cost=False):
    head = "| Model | Variant | recipe | placement | epochs | AUC (mean ± std over seeds) | per seed | Δ to float |" + \
        (" da4ml cost |" if with_cost else "")
    lines = [f"**{title}**", "", head, "|" + "---|" * (head.count("|") - 1)]
    for r in rows:
        seeds = ", ".join(f"{a:.4f}" for a in r["aucs"])
        line = (f"| {r['model']} | {r['variant']} | {r['recipe']} | {r['placement']} | {r['epochs']} | "
                f"{r['auc_mean']:.4f} ± {r['auc_std']:.4f} | {seeds} | {r['auc_mean'] - r['float_auc']:+.4f} |")
        lines.append(line + (f" {r['cost']:.0f} |" if with_cost and r["cost"] is not None else (" — |" if with_cost else "")))
    return "\n".join(lines)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True)
    parser.add_argument("--val", required=True)
    parser.add_argument("--test", required=True)
    parser.add_argument("--work", required=True, help="folder for the compressed models (resumable)")
    parser.add_argument("--nano", action="append", default=[], help="C=PATH: a trained float nanoPELICAN with C hidden channels")
    parser.add_argument("--dense", action="append", default=[], help="NAME=PATH: a trained float dense tagger")
    parser.add_argument("--n-constituents", type=int, default=16, help="N of the nanoPELICANs (AUC and da4ml cost)")
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--train-jets", type=int, help="fine-tune on the first jets of --train only (default: all)")
    parser.add_argument("--recipes", nargs="+", default=list(TERNARY_RECIPES), choices=TERNARY_RECIPES)
    parser.add_argument("--skip", nargs="*", default=[], choices=("recipes", "placement", "widths"))
    parser.add_argument("--results", default="results/compression")
    args = parser.parse_args()
    nano = {int(c): path for c, path in named_paths(args.nano, "nano").items()}
    dense = named_paths(args.dense, "dense")
    runner = Runner(args)
    floats = {}
    for c, path in sorted(nano.items()):
        floats[f"nanoPELICAN C={c}"] = (f"nano_c{c}", with_constituents(load_model(path), args.n_constituents))
    for name, path in dense.items():
        floats[name] = (name, load_model(path))
    float_aucs = {name: runner.float_auc(model) for name, (_, model) in floats.items()}
    for name, auc in float_aucs.items():
        print(f"{name}: float AUC {auc:.4f}")
    smallest = [f"nanoPELICAN C={min(nano)}"] if nano else []
    tables, rows_json = [], {}

    def float_row(name):
        return row(name, "float", float_aucs[name], {"aucs": [float_aucs[name]]})

    if "recipes" not in args.skip:
        rows = []
        for name in smallest + list(dense):
            tag, model = floats[name]
            rows.append(float_row(name))
            for recipe in args.recipes:
                rows.append(row(name, "ternary", float_aucs[name], runner.variant(tag, model, "ternary", recipe), recipe, "all",
                                args.epochs))
        tables.append(markdown("Recipes", rows))
        rows_json["recipes"] = rows
    if "placement" not in args.skip:
        rows = []
        for name in smallest + list(dense):
            tag, model = floats[name]
            for placement in PLACEMENTS:
                rows.append(row(name, "ternary", float_aucs[name], runner.variant(tag, model, "ternary", DEFAULT_TERNARY_RECIPE, placement),
                                DEFAULT_TERNARY_RECIPE, placement, args.epochs))
        tables.append(markdown(f"Placement ({DEFAULT_TERNARY_RECIPE})", rows))
        rows_json["placement"] = rows
    if "widths" not in args.skip and nano:
        rows = []
        name = smallest[0]
        tag, model = floats[name]
        rows.append(row(name, "8-bit", float_aucs[name], runner.variant(tag, model, "8", epochs=args.epochs, cost=True),
                        "finetune", "all", args.epochs))
        for c in sorted(nano):
            name = f"nanoPELICAN C={c}"
            tag, model = floats[name]
            rows.append(row(name, "ternary", float_aucs[name], runner.variant(tag, model, "ternary", DEFAULT_TERNARY_RECIPE, cost=True),
                            DEFAULT_TERNARY_RECIPE, "all", args.epochs))
        tables.append(markdown(f"Widths at N = {args.n_constituents}", rows, with_cost=True))
        rows_json["widths"] = rows
    train_jets = min(args.train_jets or count_jets(args.train), count_jets(args.train))
    provenance = {"train": args.train, "val": args.val, "test": args.test, "test_jets": runner.test_jets, "train_jets": train_jets,
                  "learning_rate": TERNARY_LEARNING_RATE,
                  "epochs": args.epochs, "seeds": args.seeds, "n_constituents": args.n_constituents,
                  "float_models": {**{f"nanoPELICAN C={c}": p for c, p in nano.items()}, **dense}}
    header = (f"Ternary recipe — {runner.test_jets} test jets ({args.test}); every variant trained on {train_jets} jets of {args.train} "
              f"for {args.epochs} epochs (ternary: warm-up + cosine, learning rate {TERNARY_LEARNING_RATE:g}; 8-bit: cosine, 1e-3), "
              f"seeds {', '.join(map(str, args.seeds))}; nanoPELICAN at "
              f"N = {args.n_constituents}; float models: {', '.join(f'{k} = {v}' for k, v in provenance['float_models'].items())}")
    text = header + "\n\n" + "\n\n".join(tables) + "\n"
    write_json({"provenance": provenance, **rows_json}, os.path.join(args.results, "ternary_recipe.json"))
    write_text(text, os.path.join(args.results, "ternary_recipe.md"))
    print(text)


if __name__ == "__main__":
    run_script(main)
