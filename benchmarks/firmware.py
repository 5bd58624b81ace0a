"""The firmware frontier: latency and resources from the open RTL path, next to each model's AUC.

    python benchmarks/firmware.py [--study-dir data/study] [--level detector] [--results results/firmware] [--jets 1000]
                                  [--verilator-max-n 32] [--max-n 32] [--only TEXT] [--finished-only] [--previous FILE]

For nanoPELICAN C = 2 and its constituent-level peers, the pT-sorted MLP and Deep Sets (8-bit and
ternary each), at N = 8, 16, 32, nanoPELICAN C = 3 (one hidden channel more) likewise, and the 8-bit
hls4ml-style dense tagger (the shipped models/, see scripts/build_models.py; their nanoPELICANs
start from the float model of their width trained at their N, models/nanopelican_c<C>_n<N>.keras,
and have power-of-two d_ij weights), and rows built here from the
same float models: each shipped nanoPELICAN with its precision searched per stage
(kerasjet.rtl.precision: the AUC on the validation jets within 0.003 of its float model at N, the
fewest fractional bits for da4ml's cost estimate), the 8-bit C = 2 at N = 16 with fixed-point d_ij
weights, and the 8-bit C = 2 fine-tuned from the N = 80 model instead (at N = 8 and 16; the same
fine-tuning as the shipped models): da4ml trace → pipeline at a 5 ns
clock (latency cutoff 5) → Verilog → Verilator check against Keras on --jets test jets (for
N ≤ --verilator-max-n, default all; the emulation check always) → Yosys synth_xilinx for UltraScale+. Each
row also gives the model's AUC on the study's test file and the float model's AUC at the same
N. Writes firmware.md and firmware.json (every column), and the frontier at each N
(kerasjet.rtl.frontier: AUC against cost = LUT + 55·DSP) as pareto.md, pareto.json and
pareto.png; resumable (finished rows are read back; --previous carries verified rows of an earlier
run, so that a table can grow by a family without rebuilding every design).
"""

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.data.pipeline import InputSpec, load_inputs  # noqa: E402
from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.evaluate import evaluate  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402
from kerasjet.models import load_model, save_model  # noqa: E402
from kerasjet.models.nanopelican import with_constituents  # noqa: E402
from kerasjet.rtl.flow import build_rtl  # noqa: E402
from kerasjet.rtl.frontier import AUC_DIGITS, DSP_IN_LUTS, frontier_table, mark_frontier, plot_frontier  # noqa: E402
from kerasjet.rtl.yosys import parse_stat  # noqa: E402
from kerasjet.study import (BUDGETS, FIRMWARE_N, SHIPPED_LEVEL, existing_shipped_files, peer_float_model, shipped_float,  # noqa: E402
                            shipped_files)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FIXED_PAIR = "nanopelican_c2_n16_8bit_fixed_pair"  # built by this benchmark (comparison_model), not shipped
# (label, family, model file stem, N)
ENDS_8BIT = ("deep_sets",)  # ternary but the first and last layer (scripts/build_models.py: PEER_TERNARY_PLACEMENT)
ROWS = [(f"{family} {bits}" + (", 8-bit ends" if bits == "ternary" and stem in ENDS_8BIT else ""), family, f"{stem}_n{n}_{bits}", n)
        for n in FIRMWARE_N for bits in ("8bit", "ternary")
        for family, stem in (("nanoPELICAN C=2", "nanopelican_c2"), ("nanoPELICAN C=3", "nanopelican_c3"),
                             ("pT-sorted MLP", "constituent_mlp"), ("Deep Sets", "deep_sets"))
        # not C = 3 at N = 32: its 8-bit design is larger than the C = 2's (280k LUT + 2112 DSP, 29 min of Yosys alone here),
        # and its ternary model (test AUC 0.9553) is below the ternary C = 2's (0.9626) at 1.4 times its da4ml cost estimate
        if not (stem == "nanopelican_c3" and n == 32)]
# at N = 8 and 16 (at N = 32 one 8-bit design takes half an hour of Yosys on 2 cores)
SEARCHED = {f"nanopelican_c2_n{n}_{bits}_searched": (n, bits) for n in (8, 16) for bits in ("8bit", "ternary")}
ROWS += [(f"nanoPELICAN C=2 {bits}, searched precision", "nanoPELICAN C=2", name, n) for name, (n, bits) in SEARCHED.items()]
ROWS.append(("nanoPELICAN C=2 8bit, fixed-point d_ij weights", "nanoPELICAN C=2", FIXED_PAIR, 16))
FROM_N80 = {f"nanopelican_c2_n{n}_8bit_from_n80": n for n in (8, 16)}  # built here (fine_tuned_8bit)
ROWS += [("nanoPELICAN C=2 8bit, from the N = 80 model", "nanoPELICAN C=2", name, n) for name, n in FROM_N80.items()]
ROWS.append(("hls4ml-style tagger 8bit", "hls4ml-style tagger", "hls4ml_tagger_8bit", 16))
FAMILIES = {"nanoPELICAN C=2": "nanoPELICAN", "nanoPELICAN C=3": "nanoPELICAN", "pT-sorted MLP": "pT-sorted MLP", "Deep Sets": "Deep Sets",
            "hls4ml-style tagger": "hls4ml-style tagger"}
PEER_BUILDERS = {"pT-sorted MLP": "constituent_mlp", "Deep Sets": "deep_sets"}
# the seed lecture's hls4ml jet tagger (16→64→32→32→5, ap_fixed<16,6>, reuse 1), as quoted there
ANCHOR = {"model": "hls4ml jet tagger (seed lecture, quoted)", "latency_ns": 75, "DSP": 954, "LUT": 36000}
# published constituent-level designs at N = 16 (other dataset, Vivado place-and-route), as quoted in issue 16
PUBLISHED = [{"model": "JEDI-linear (da4ml)", "n_constituents": 16, "latency_ns": 75, "LUT": 136000, "DSP": 0},
             {"model": "JEDI-linear, pT-sorted", "n_constituents": 16, "latency_ns": 54, "LUT": 44000, "DSP": 0},
             {"model": "HGQ Deep Sets", "n_constituents": 16, "latency_ns": 53, "LUT": 205000, "DSP": 0}]


def float_auc(study_dir, level, test_file, family, name, n, cache):
    """AUC of the row's float model at N: for nanoPELICAN the shipped float model of its width at N
    (kerasjet.study.shipped_float), or the N = 80 one read at N for the rows of FROM_N80; the
    constituent-level peers trained at N (scripts/build_models.py); None otherwise."""
    if family in PEER_BUILDERS:
        return evaluate(peer_float_model(study_dir, level, n, PEER_BUILDERS[family]), test_file)[0]["auc"]
    if not family.startswith("nanoPELICAN C="):
        return None
    if name not in FROM_N80:
        return evaluate(shipped_float(n, int(family.removeprefix("nanoPELICAN C="))), test_file)[0]["auc"]
    path = os.path.join(cache, f"nanopelican_c2_float_n{n}_from_n80.keras")
    if not os.path.exists(path):
        save_model(with_constituents(load_model(shipped_float()), n), path)
    return evaluate(path, test_file)[0]["auc"]


def previous_rows(path, test_file):
    """{(label, N): row} of an earlier firmware.json whose test file has the name of ``test_file``; {} without one."""
    if not path:
        return {}
    with open(path) as f:
        stored = json.load(f)
    if os.path.basename(stored["provenance"]["test_file"]) != os.path.basename(test_file):
        return {}
    return {(row["model"], row["n_constituents"]): row for row in stored["rows"]}


# a carried row's AUC may move by a few 10⁻⁹ on another machine (TensorFlow's float32 trigonometry of the
# features differs by CPU, and a feature on a rounding boundary of the input type moves one jet's score by
# one LSB); a different model or other jets move it by orders of magnitude more
SAME_MODEL_AUC = 1e-6


def verified_row(row, model_path, test_file):
    """``row`` with its AUC evaluated here, if the row's model at ``model_path`` (its shipped model
    file, or the comparison model rebuilt in this work folder) gives its recorded AUC on
    ``test_file`` (within SAME_MODEL_AUC), else None."""
    if row is None or not os.path.exists(model_path):
        return None
    auc = evaluate(model_path, test_file)[0]["auc"]
    return {**row, "auc": auc} if abs(auc - row["auc"]) < SAME_MODEL_AUC else None


def fine_tuned_8bit(path, study_dir, level, float_model, **options):
    """A comparison row's model at ``path``, built once: ``float_model()`` quantized to 8 bits and
    fine-tuned as scripts/build_models.py fine-tunes the shipped 8-bit models (2 epochs on the
    first 20,000 training jets); ``options`` go to kerasjet.compress.compress."""
    if not os.path.exists(path):
        from kerasjet.compress import compress

        files = shipped_files(study_dir, level)
        save_model(compress(float_model(), files["train"], files["val"], "8", epochs=2, train_jets=20000, **options), path)
    return path


def comparison_model(study_dir, level, name, n, path):
    """The model of a row built here (once, at ``path``): a shipped nanoPELICAN with its precision
    searched (SEARCHED), the fixed-point-pair C = 2 at N = 16 (the shipped float model at N,
    pair_po2 off) or the C = 2 fine-tuned from the N = 80 model (FROM_N80)."""
    if name in SEARCHED:
        if not os.path.exists(path):
            from kerasjet.rtl.precision import search_against_float

            bits = SEARCHED[name][1]
            shipped = load_model(os.path.join(ROOT, "models", f"nanopelican_c2_n{n}_{bits}.h5"))
            found = search_against_float(shipped, load_model(shipped_float(n)), shipped_files(study_dir, level)["val"])
            save_model(found["model"], path)
        return path
    if name == FIXED_PAIR:
        return fine_tuned_8bit(path, study_dir, level, lambda: load_model(shipped_float(n)), pair_po2=False)
    return fine_tuned_8bit(path, study_dir, level, lambda: with_constituents(load_model(shipped_float()), n))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study-dir", default="data/study")
    parser.add_argument("--level", choices=("particle", "detector"), default=SHIPPED_LEVEL,
                        help=f"the level of the shipped models' study (default {SHIPPED_LEVEL})")
    parser.add_argument("--results", default="results/firmware")
    parser.add_argument("--jets", type=int, default=1000)
    parser.add_argument("--verilator-max-n", type=int, default=32, help="check the RTL with Verilator up to this N")
    parser.add_argument("--max-n", type=int, default=32, help="leave out the rows with more constituents")
    parser.add_argument("--only", help="build the projects of the rows whose file name contains this text and stop "
                        "(to run rows in parallel processes; a run without --only writes the table)")
    parser.add_argument("--finished-only", action="store_true",
                        help="write the tables from the rows already built, naming the others as not measured")
    parser.add_argument("--previous", help="an earlier run's firmware.json: a row not built in this work folder is taken from it "
                        "when its model file (shipped, or rebuilt here) still gives the recorded AUC (within SAME_MODEL_AUC) on a test file of "
                        "the same name (the same model on the same jets); the tables list such rows as carried over")
    args = parser.parse_args()
    test_file = existing_shipped_files(args.study_dir, args.level, ("test",))["test"]
    work = os.path.join(args.study_dir, f"firmware_{args.level}")
    os.makedirs(work, exist_ok=True)

    def check_jets(n):
        return load_inputs(test_file, InputSpec(n), 0, args.jets)[0]

    rows, missing, carried = [], [], []
    previous = previous_rows(args.previous, test_file)
    for label, family, name, n in [row for row in ROWS if row[3] <= args.max_n and (args.only or "") in row[2]]:
        project = os.path.join(work, name)
        report_path = os.path.join(project, "rtl_report.json")
        built_here = name == FIXED_PAIR or name in FROM_N80 or name in SEARCHED  # its model is made in the work folder
        model_path = os.path.join(work if built_here else os.path.join(ROOT, "models"), f"{name}.h5")
        earlier = None if os.path.exists(report_path) or args.only else previous.get((label, n))
        if earlier and built_here:
            comparison_model(args.study_dir, args.level, name, n, model_path)  # made once: the carried row is checked on it
        if earlier and (row := verified_row(earlier, model_path, test_file)):
            rows.append(row)
            carried.append(f"{label} (N = {n})")
            continue
        if args.finished_only and not os.path.exists(report_path):
            missing.append(f"{label} (N = {n})")
            continue
        if built_here:
            comparison_model(args.study_dir, args.level, name, n, model_path)  # made once; at once when it exists
        if not os.path.exists(report_path):
            print(f"== {label}, N = {n}")
            build_rtl(load_model(model_path), check_jets(n), project, verilator=n <= args.verilator_max_n)
        with open(report_path) as f:
            report = json.load(f)
        if n <= args.verilator_max_n and "verilator_vs_emulation_mismatches" not in report:
            print(f"== {label}, N = {n}: the Verilator check of a row synthesised without it")
            checked = build_rtl(load_model(model_path), check_jets(n), project, synthesis=False)  # the same design, rewritten
            report = {**report, **checked, "resources": report["resources"], "timings": {**report["timings"], **checked["timings"]}}
            write_json(report, report_path)
        if args.only:
            continue
        row = {"model": label, "family": FAMILIES[family], "n_constituents": n, "file": os.path.relpath(model_path, ROOT) if model_path.startswith(os.path.join(ROOT, "models")) else None, **{k: report[k] for k in (
            "latency_cycles", "latency_ns", "pipeline_stages", "bit_exact", "keras_vs_emulation_mismatches", "estimated_luts_da4ml")},
            "verilator_checked": "verilator_vs_emulation_mismatches" in report, **parse_stat(os.path.join(project, "yosys_stat.json")),
            "auc": evaluate(model_path, test_file)[0]["auc"]}
        row["float_auc"] = float_auc(args.study_dir, args.level, test_file, family, name, n, work)
        row["cost"] = row["LUT"] + DSP_IN_LUTS * row["DSP"]
        rows.append(row)
        print(row)
    if args.only:
        return
    if not rows:
        raise KerasjetError(f"no finished row in {work} (nor carried by --previous): nothing to tabulate")
    provenance = {"test_file": test_file, "level": args.level, "rtl_check_jets": args.jets, "clock_ns": 5.0, "latency_cutoff": 5,
                  "synthesis": "Yosys 0.70 (pyosys) synth_xilinx -family xcup -flatten; LUT includes SRL16E", "anchor": ANCHOR,
                  "not_measured": missing, "carried_from_previous_run": carried}
    write_json({"provenance": provenance, "rows": rows}, os.path.join(args.results, "firmware.json"))
    lines = ["**Firmware** — da4ml pipeline at 5 ns (latency cutoff 5), Yosys synth_xilinx for UltraScale+ (xcup); "
             f"bit-exact check on {args.jets} test jets; AUC on {BUDGETS['single-seed'].test_jets} {args.level}-level test jets", "",
             f"cost = LUT + {DSP_IN_LUTS}·DSP; da4ml's own cost estimate of the traced design (comb.cost) beside the Yosys LUT count", "",
             "The nanoPELICAN rows start from the shipped float model of their width at their N (models/nanopelican_c<C>_n<N>.keras: "
             "trained at N unless the N = 80 model validated higher, scripts/build_models.py), the 'from the N = 80 model' rows from "
             "models/nanopelican_c2.keras read at N; 'searched precision': kerasjet.rtl.precision, validation AUC within 0.003 "
             "of the float model at N", "",
             "| Model | N | latency (cycles / ns) | LUT | FF | CARRY | DSP | cost | da4ml estimate | AUC | float AUC at N | bit-exact (RTL checked) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        float_auc_text = "—" if r["float_auc"] is None else f"{r['float_auc']:.4f}"
        lines.append(f"| {r['model']} | {r['n_constituents']} | {r['latency_cycles']} / {r['latency_ns']:.0f} | {r['LUT']} | {r['FF']} | "
                     f"{r['CARRY']} | {r['DSP']} | {r['cost']} | {r['estimated_luts_da4ml']:.0f} | {r['auc']:.4f} | {float_auc_text} | "
                     f"{'yes' if r['bit_exact'] else 'NO'} ({'Verilator' if r['verilator_checked'] else 'emulation only'}) |")
    not_measured = (f"Not measured in this invocation (--finished-only): {', '.join(missing)}.\n\n" if missing else "") + (
        f"Carried over from {os.path.relpath(args.previous, ROOT)} (their model files, shipped or rebuilt here, give the recorded test AUC within {SAME_MODEL_AUC:g}; AUC re-evaluated here): {', '.join(carried)}.\n\n"
        if carried else "")
    lines.append(f"| {ANCHOR['model']} | 16 features | — / {ANCHOR['latency_ns']} | ~{ANCHOR['LUT']} | — | — | ~{ANCHOR['DSP']} | — | — | — | — | — |")
    lines += ["", not_measured.strip()] if not_measured else []
    write_text("\n".join(lines) + "\n", os.path.join(args.results, "firmware.md"))
    print("\n".join(lines))
    marked = mark_frontier(rows)
    write_json({"provenance": {**provenance, "cost": f"LUT + {DSP_IN_LUTS}·DSP", "published": PUBLISHED}, "rows": marked},
               os.path.join(args.results, "pareto.json"))
    title = (f"**Frontier** — AUC on {BUDGETS['single-seed'].test_jets} {args.level}-level test jets against cost = LUT + "
             f"{DSP_IN_LUTS}·DSP (Yosys); a row is on the frontier when no row at its N has a higher AUC at no larger cost "
             f"(AUCs compared as printed, to {AUC_DIGITS} decimals: at the same AUC the cheaper row wins)\n\n")
    write_text(title + not_measured + frontier_table(marked, PUBLISHED), os.path.join(args.results, "pareto.md"))
    plot_frontier(marked, os.path.join(args.results, "pareto.png"), PUBLISHED)


if __name__ == "__main__":
    run_script(main)
