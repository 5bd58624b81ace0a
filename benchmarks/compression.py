"""The compression table: float, 16/8/6/4-bit, ternary (BitLinear: every layer, and with the first
and last layer at 8 bits) and 70%-pruned variants of nanoPELICAN C = 2 and C = 10, the
TopoDNN-style and the hls4ml-style dense taggers.

    python benchmarks/compression.py [--study-dir data/study] [--level detector] [--results results/compression]
                                     [--epochs 2] [--qat-jets 20000] [--csim-jets 2000]
                                     [--only MODEL | --finished-only]

Starts from the float models of `kerasjet study --budget single-seed --level LEVEL` (seed 0; the
shipped models' level by default), fine-tunes each compressed
variant for --epochs epochs on the first --qat-jets training jets — the ternary variant by the
ternary recipe instead (kerasjet.compress.train_ternary: its TERNARY_EPOCHS on every training
jet) — and evaluates every variant on the study's test file. Every quantized variant is then
converted with hls4ml from a deployment YAML written beside it (kerasjet.hls.config.render_config,
the model's own quantizer types) and its C simulation compared with Keras on the first
--csim-jets test jets (0: no conversion). Writes compression.md and compression.json; resumable
(finished variants, their measurements and C simulations are reloaded from
<study-dir>/compressed_<level>/). --only MODEL makes one model's variants and writes no table;
--finished-only trains nothing and names the variants not made yet below the table.
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.compress import DEFAULT_TERNARY_RECIPE, TERNARY_EPOCHS, compress, weight_summary  # noqa: E402
from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.evaluate import evaluate  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402
from kerasjet.models import load_model, n_constituents_of, save_model  # noqa: E402
from kerasjet.study import BUDGETS, SHIPPED_LEVEL, existing_shipped_files, run_dir  # noqa: E402

MODELS = ("nanoPELICAN C=2", "nanoPELICAN C=10", "TopoDNN", "hls4ml-style tagger")  # rows of the study's Table 1
VARIANTS = {  # name → (weight bits, pruning target, where the ternary layers go: kerasjet.compress.PLACEMENTS)
    "float": ("float", None, None),
    "16-bit": ("16", None, None),
    "8-bit": ("8", None, None),
    "6-bit": ("6", None, None),
    "4-bit": ("4", None, None),
    "ternary (BitLinear)": ("ternary", None, "all"),
    "ternary, first and last layer 8-bit": ("ternary", None, "ends-8bit"),
    "70% pruned": ("float", 0.7, None),
}


def float_model(study_dir, name, level):
    path = os.path.join(run_dir(study_dir, name, 0, level), "best.keras")
    if not os.path.exists(path):
        raise KerasjetError(f"{path}: no such file (seed 0 of '{name}': run `kerasjet study --budget single-seed "
                         f"--level {level}` first, or its --job-index)")
    return path


# what a row keeps of the C-simulation report (keras_vs_exact_max_abs_diff: dense taggers only)
CSIM_KEYS = ("jets", "reference", "max_abs_diff", "identical_outputs", "decision_agreement", "keras_vs_exact_max_abs_diff")


def csim_agreement(model_path, description, test_file, jets):
    """Convert the quantized model at ``model_path`` with hls4ml through a deployment YAML written
    beside it (<stem>.yml; HLS project in hls/<stem>/ there) and compare its C simulation with
    Keras on the first ``jets`` jets of ``test_file``: the report of kerasjet.hls.convert.deploy."""
    from kerasjet.hls.config import load_config, quantizer_types, render_config
    from kerasjet.hls.convert import deploy

    folder, stem = os.path.dirname(model_path), os.path.splitext(os.path.basename(model_path))[0]
    model = load_model(model_path)
    text = render_config(os.path.basename(model_path), f"hls/{stem}", os.path.relpath(test_file, folder), description,
                         n_constituents_of(model), quantizer_types(model), "benchmarks/compression.py")
    config_path = os.path.join(folder, f"{stem}.yml")
    write_text(text, config_path)
    report, _ = deploy(load_config(config_path), test_file=test_file, jets=jets, verbose=False)
    return report


def _newer(path, than):
    """Whether ``path`` exists and was written after ``than``."""
    return os.path.exists(path) and os.path.getmtime(path) >= os.path.getmtime(than)


def csim_cell(row):
    """The table's C-simulation cell: 'bit-exact' when every output is identical to the reference
    (exact fixed point for the dense taggers, Keras for nanoPELICAN), else the largest difference;
    and how far Keras' float32 logits are from the exact ones where they differ."""
    csim = row.get("csim")
    if csim is None:
        return "—"
    cell = f"bit-exact ({csim['jets']})" if csim["identical_outputs"] == 1.0 else f"max diff {csim['max_abs_diff']:.3g} ({csim['jets']})"
    if csim.get("keras_vs_exact_max_abs_diff"):
        cell += f"; Keras float32 off by ≤ {csim['keras_vs_exact_max_abs_diff']:.2g}"
    return cell


def variant_measurements(model_name, variant, path, source_run, files, csim_jets, out_dir):
    """What is measured of one finished variant (its model at ``path``): test metrics ('jets': the
    test jets), weight summary and C-simulation agreement, cached in <out_dir>/<file stem>.row.json
    (reused while newer than the model and made with the same --csim-jets)."""
    stem = os.path.splitext(os.path.basename(path))[0] if variant != "float" else f"{source_run}_float"
    cache = os.path.join(out_dir, f"{stem}.row.json")
    if _newer(cache, path):
        with open(cache) as f:
            row = json.load(f)
        if row.get("csim_jets") == csim_jets:
            return row
    metrics = evaluate(path, files["test"])[0]
    bits_per_weight, nonzero = weight_summary(load_model(path))
    row = {"bits_per_weight": bits_per_weight, "nonzero_weights": nonzero, "csim_jets": csim_jets, **metrics}
    if VARIANTS[variant][0] != "float" and csim_jets:
        report = csim_agreement(path, f"{model_name}, {variant} (benchmarks/compression.py)", files["test"], csim_jets)
        row["csim"] = {key: report[key] for key in CSIM_KEYS if key in report}
    write_json(row, cache)
    return row


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study-dir", default="data/study")
    parser.add_argument("--level", choices=("particle", "detector"), default=SHIPPED_LEVEL, help=f"the study's jet level (default {SHIPPED_LEVEL})")
    parser.add_argument("--results", default="results/compression")
    parser.add_argument("--epochs", type=int, default=2, help="fine-tuning epochs per variant")
    parser.add_argument("--qat-jets", type=int, default=20000, help="training jets used for fine-tuning")
    parser.add_argument("--csim-jets", type=int, default=2000, help="test jets for the hls4ml C simulation of each quantized variant (0: none)")
    parser.add_argument("--only", choices=MODELS, help="make and measure this model's variants only, and write no table")
    parser.add_argument("--finished-only", action="store_true",
                        help="train nothing: tabulate the variants already made and name the others as not run")
    args = parser.parse_args()
    budget = BUDGETS["single-seed"]
    files = existing_shipped_files(args.study_dir, args.level)
    sources = {name: float_model(args.study_dir, name, args.level) for name in MODELS}  # every one checked before work starts
    out_dir = os.path.join(args.study_dir, f"compressed_{args.level}")
    rows, not_run = [], []
    for model_name in ([args.only] if args.only else MODELS):
        source = sources[model_name]
        run = os.path.basename(os.path.dirname(os.path.dirname(source)))
        for variant, (bits, prune, placement) in VARIANTS.items():
            recipe = ("float" if variant == "float" else "pruning" if prune else
                      DEFAULT_TERNARY_RECIPE if bits == "ternary" else "QAT")
            epochs, jets = (TERNARY_EPOCHS, budget.train_jets) if bits == "ternary" else (args.epochs, args.qat_jets)
            if variant == "float":
                path, epochs, jets = source, "—", "—"
            else:
                suffix = "_pruned" if prune else (f"_{recipe}{'_ends8' if placement == 'ends-8bit' else ''}" if bits == "ternary" else "")
                path = os.path.join(out_dir, f"{run}_{bits}{suffix}.{'keras' if bits == 'float' else 'h5'}")
                if not os.path.exists(path):
                    if args.finished_only:
                        not_run.append(f"{model_name}: {variant}")
                        continue
                    print(f"== {model_name}: {variant}")
                    tuning = {"placement": placement} if bits == "ternary" else {"train_jets": jets}
                    save_model(compress(load_model(source), files["train"], files["val"], bits, prune, epochs, **tuning), path)
            row = {**variant_measurements(model_name, variant, path, run, files, args.csim_jets, out_dir),
                   "model": model_name, "variant": variant, "recipe": recipe, "placement": placement, "epochs": epochs,
                   "tuning_jets": jets, "file": path}
            rows.append(row)
            print(f"{model_name:22} {variant:20} AUC {row['auc']:.4f}  1/εB {row['rejection_at_0.3']:7.1f}  "
                  f"{row['bits_per_weight']:5.2f} bits  {row['nonzero_weights']} non-zero  csim {csim_cell(row)}")
    if args.only:
        return
    provenance = {"test_file": files["test"], "test_jets": budget.test_jets, "fine_tuning_epochs": args.epochs,
                  "fine_tuning_jets": args.qat_jets, "csim_jets": args.csim_jets, "level": args.level,
                  "float_models": f"seed 0 of kerasjet study --budget single-seed --level {args.level}", "not_run": not_run}
    write_json({"provenance": provenance, "rows": rows}, os.path.join(args.results, "compression.json"))
    lines = [f"**Compression** — {budget.test_jets} {args.level}-level test jets; each variant fine-tuned from the float model (seed 0) for the "
             "epochs on the training jets given in its row", "",
             f"(csim: hls4ml 1.3 C simulation on the first {args.csim_jets} test jets, compared with Keras for nanoPELICAN, whose "
             "quantized layers compute exactly, and with the exact fixed-point arithmetic for the dense taggers "
             "(kerasjet.hls.convert.fixed_point_reference, float64): QKeras computes in float32, exact only for sums of up to "
             "24 bits, so the logits of the 16-bit dense taggers differ from their fixed-point values by the amount given)", "",
             "| Model | Variant | recipe | epochs | training jets | Accuracy | AUC | 1/εB (εS = 0.3) | bits / weight | non-zero weights | csim |",
             "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['variant']} | {r['recipe']} | {r['epochs']} | {r['tuning_jets']} | {r['accuracy']:.4f} | "
                     f"{r['auc']:.4f} | {r['rejection_at_0.3']:.0f} | {r['bits_per_weight']:.2f} | {r['nonzero_weights']} | {csim_cell(r)} |")
    if not_run:
        lines += ["", f"Not run (--finished-only): {'; '.join(not_run)}."]
    write_text("\n".join(lines) + "\n", os.path.join(args.results, "compression.md"))
    print("\n".join(lines))


if __name__ == "__main__":
    run_script(main)
