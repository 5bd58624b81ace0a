"""The precision search on the shipped quantized nanoPELICAN C = 2 models (kerasjet.rtl.precision).

    python benchmarks/precision_search.py [--n 8 16] [--bits 8bit ternary] [--auc-loss 0.003]
                                          [--study-dir data/study] [--level detector] [--yosys]
                                          [--results results/firmware]

For each N and weight format: models/nanopelican_c2_n{N}_{BITS}.h5 and the float model it was
made from (models/nanopelican_c2_n{N}.keras, scripts/build_models.py). The floor is that float model's AUC
on the single-seed study's validation jets minus --auc-loss; the search trims fractional bits per
stage on those jets (da4ml's cost estimate, adders + 55 per DSP product, as the proxy). Reported:
each stage's type before and after, the validation and test AUC and the da4ml estimate of both;
with --yosys also the found design through the open RTL path (bit-exact check against Keras on
1000 test jets with Verilator, Yosys synth_xilinx), the projects in STUDY_DIR/precision_LEVEL/.
Writes precision.md and precision.json to --results; the found models go to the project folder.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.data.io import count_jets  # noqa: E402
from kerasjet.data.pipeline import InputSpec, load_inputs  # noqa: E402
from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.evaluate import model_auc  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402
from kerasjet.models import load_model, save_model  # noqa: E402
from kerasjet.rtl.frontier import DSP_IN_LUTS  # noqa: E402
from kerasjet.rtl.precision import STAGES, search_against_float, stage_types  # noqa: E402
from kerasjet.study import SHIPPED_LEVEL, existing_shipped_files, shipped_float  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RTL_CHECK_JETS = 1000


def type_text(bits, integer, stage):
    signed = stage != "activation"
    return f"{'' if signed else 'u'}fixed<{bits},{integer + signed}>"


def format_markdown(rows, provenance):
    lines = [f"**Precision search** — the shipped quantized nanoPELICAN C = 2; floor = float model's AUC at N on "
             f"{provenance['val_jets']} {provenance['level']}-level validation jets − {provenance['auc_loss']}; "
             f"cost = da4ml's estimate (adders + {DSP_IN_LUTS} per DSP product); test AUC on {provenance['test_jets']} jets. "
             f"Types as hls4ml writes them (ap_fixed<bits, integer bits with sign>). Written by `python benchmarks/precision_search.py "
             f"{provenance['flags']}`.", "",
             "| weights | N | stage | shipped type | searched type | fewest bits alone |", "|---|---|---|---|---|---|"]
    for r in rows:
        for stage in STAGES:
            lines.append(f"| {r['weights']} | {r['n_constituents']} | {stage} | {type_text(*r['start_types'][stage], stage)} | "
                         f"{type_text(*r['found_types'][stage], stage)} | {r['bounds'][stage]} fractional |")
    lines += ["", "| weights | N | float AUC (val) | floor | AUC val: shipped → searched | AUC test: shipped → searched | "
              "da4ml estimate: shipped → searched | Yosys LUT / DSP (searched) | bit-exact |", "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        yosys = f"{r['LUT']} / {r['DSP']}" if "LUT" in r else "—"
        exact = ("yes (Verilator)" if r["bit_exact"] else "NO") if "bit_exact" in r else "—"
        lines.append(f"| {r['weights']} | {r['n_constituents']} | {r['float_auc']:.4f} | {r['floor']:.4f} | {r['start_auc']:.4f} → {r['found_auc']:.4f} | "
                     f"{r['start_test_auc']:.4f} → {r['found_test_auc']:.4f} | {r['start_cost']:.0f} → {r['found_cost']:.0f} "
                     f"({100 * (r['found_cost'] / r['start_cost'] - 1):+.0f}%) | {yosys} | {exact} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[8, 16], choices=(8, 16, 32), help="firmware N (default 8 16)")
    parser.add_argument("--bits", nargs="+", default=["8bit"], choices=("8bit", "ternary"),
                        help="the shipped weight formats to search (default 8bit)")
    parser.add_argument("--auc-loss", type=float, default=0.003, help="AUC below the float model at N allowed (default 0.003)")
    parser.add_argument("--study-dir", default="data/study")
    parser.add_argument("--level", choices=("particle", "detector"), default=SHIPPED_LEVEL)
    parser.add_argument("--yosys", action="store_true", help="build, check and synthesise the found designs")
    parser.add_argument("--results", default="results/firmware")
    args = parser.parse_args()
    if not 0 < args.auc_loss < 0.5:
        raise KerasjetError(f"--auc-loss must lie in (0, 0.5) (got {args.auc_loss})")
    files = existing_shipped_files(args.study_dir, args.level, ("val", "test"))
    work = os.path.join(args.study_dir, f"precision_{args.level}")
    os.makedirs(work, exist_ok=True)
    rows = []
    for n, bits in [(n, bits) for bits in args.bits for n in args.n]:
        shipped = load_model(os.path.join(ROOT, "models", f"nanopelican_c2_n{n}_{bits}.h5"))
        print(f"== {bits}, N = {n}", flush=True)
        result = search_against_float(shipped, load_model(shipped_float(n)), files["val"], args.auc_loss)
        found = result.pop("model")
        name = f"nanopelican_c2_n{n}_{bits}_searched"
        save_model(found, os.path.join(work, f"{name}.h5"))
        row = {"n_constituents": n, "weights": bits, **result, "start_types": stage_types(shipped), "found_types": stage_types(found),
               "start_test_auc": model_auc(shipped, files["test"]), "found_test_auc": model_auc(found, files["test"])}
        if args.yosys:
            from kerasjet.rtl.flow import build_rtl

            inputs = load_inputs(files["test"], InputSpec(n), 0, RTL_CHECK_JETS)[0]
            report = build_rtl(found, inputs, os.path.join(work, name))
            row.update({k: report["resources"][k] for k in ("LUT", "FF", "DSP")}, bit_exact=report["bit_exact"],
                       latency_ns=report["latency_ns"])
        print(row, flush=True)
        rows.append(row)
    provenance = {"level": args.level, "val_file": files["val"], "test_file": files["test"], "auc_loss": args.auc_loss,
                  "val_jets": count_jets(files["val"]), "test_jets": count_jets(files["test"]),
                  "flags": " ".join(sys.argv[1:])}
    write_json({"provenance": provenance, "rows": rows}, os.path.join(args.results, "precision.json"))
    markdown = format_markdown(rows, provenance)
    write_text(markdown, os.path.join(args.results, "precision.md"))
    print(markdown)


if __name__ == "__main__":
    run_script(main)
