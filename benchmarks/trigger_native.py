"""The trigger-native firmware table: nanoPELICAN and the constituent peers from the Level-1
candidates' words, beside nanoPELICAN from Cartesian momenta, on the same jets, by the same flow.

    python benchmarks/trigger_native.py [--study-dir data/study] [--results results/firmware] [--jets 1000]
                                        [--max-n 32] [--only TEXT] [--input-format cms-phase2]

For N = 8, 16, 32 (up to --max-n), four models, each trained as the study's single-seed float
models are (kerasjet.study.single_seed_model: 100,000 training jets of the default detector
configuration, 30 epochs, seed 0; nanoPELICAN the paper's model and recipe) at that N:

* nanoPELICAN C = 2 from words: the --input-format words of the candidates
  (kerasjet.data.words), d_ij computed in the firmware from one pT product and two lookup tables
  per pair — everything from the trigger's words to the logit is counted;
* nanoPELICAN C = 2 from Cartesian momenta: (E, px, py, pz) in units of 100 GeV as the shipped
  firmware's input — their computation from the words is not counted (upstream of the firmware);
* the pT-sorted MLP and Deep Sets from words: their features (axis the leading candidate, pT
  fractions through a reciprocal table, code differences; the MLP's sorting network) computed
  in the firmware (kerasjet.models.mlp.WordConstituentFeatures) and counted.

The hls4ml-style tagger is not here: its 16 inputs (TopoDNN's rotated coordinates of 5
candidates and the jet mass) need a square root, an arctangent, sines and cosines and divisions
per jet, which have no cheap firmware form; it stays in results/firmware/pareto.md with its
features computed upstream.

Each is quantized to 8-bit weights and fine-tuned as scripts/build_models.py fine-tunes the
shipped 8-bit models (2 epochs on the first 20,000 training jets, the words' tables at 14
fractional bits as trained); nanoPELICAN's pair tables are then cut to the fewest fractional
bits that keep its validation AUC within 0.003 of its float model's (kerasjet.rtl.precision, that
stage alone: every other type stays the Cartesian row's). Then: da4ml trace → pipeline
at a 5 ns clock (latency cutoff 5) → Verilog → Verilator check against Keras on --jets test jets
→ Yosys synth_xilinx for UltraScale+ (kerasjet.rtl.flow.build_rtl), and the hls4ml C simulation
of the same model against Keras on the same jets (csim.json). Each row gives LUT, FF, DSP,
latency, the test AUC on the study's 50,000 test jets, the float model's AUC, cost = LUT + 55·DSP
and whether it is on the frontier at its N (kerasjet.rtl.frontier). Writes trigger_native.md and
trigger_native.json; resumable (the models and RTL projects of finished rows stay in
<study-dir>/trigger_native/ and are read back). --only builds the rows whose name contains TEXT
and stops (to run rows in parallel processes).
"""

import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.data.pipeline import load_inputs  # noqa: E402
from kerasjet.data.words import DEFAULT_INPUT_FORMAT, INPUT_FORMATS  # noqa: E402
from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.evaluate import evaluate  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402
from kerasjet.models import input_spec_of, load_model, save_model  # noqa: E402
from kerasjet.rtl.flow import build_rtl  # noqa: E402
from kerasjet.rtl.frontier import DSP_IN_LUTS, mark_frontier  # noqa: E402
from kerasjet.rtl.yosys import parse_stat  # noqa: E402
from kerasjet.study import (BUDGETS, FIRMWARE_N, NANO, PEERS, SHIPPED_LEVEL, existing_shipped_files, shipped_files,  # noqa: E402
                            single_seed_model, study_name)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
C_HIDDEN = 2
QAT = dict(weight_bits="8", epochs=2, train_jets=20000)  # scripts/build_models.py's 8-bit fine-tuning (--epochs, --qat-jets)
AUC_LOSS = 0.003  # the firmware's target: within this of the float model's AUC (validation jets)


CARTESIAN = "Cartesian momenta (computed upstream, not counted)"


def rows(input_format, max_n):
    """The rows up to N = max_n: {'label', 'family', 'input', 'stem' (file stem), 'n', 'builder',
    'kwargs' (the builder's, N aside), 'run' (the float model's run name)}."""
    words = {"input_format": input_format}
    out = []
    for n in [n for n in FIRMWARE_N if n <= max_n]:
        nano = {"family": "nanoPELICAN", "n": n, "builder": "nanopelican"}
        out.append({**nano, "label": f"nanoPELICAN C={C_HIDDEN} 8bit, from words", "input": input_format, "kwargs": {"c_hidden": C_HIDDEN, **NANO, **words},
                    "stem": f"nanopelican_c{C_HIDDEN}_n{n}_words_8bit", "run": f"nanoPELICAN C={C_HIDDEN} N={n} words"})
        out.append({**nano, "label": f"nanoPELICAN C={C_HIDDEN} 8bit, from Cartesian momenta", "input": CARTESIAN,
                    "kwargs": {"c_hidden": C_HIDDEN, **NANO}, "stem": f"nanopelican_c{C_HIDDEN}_n{n}_8bit", "run": f"nanoPELICAN C={C_HIDDEN} N={n}"})
        for builder, family in PEERS.items():
            out.append({"label": f"{family} 8bit, from words", "family": family, "input": input_format, "n": n, "builder": builder,
                        "kwargs": words, "stem": f"{builder}_n{n}_words_8bit", "run": f"{family} N={n} words"})
    return out


def float_model(study_dir, row):
    """best.keras of the row's float model, trained once at N on the study's jets."""
    return single_seed_model(study_dir, SHIPPED_LEVEL, row["run"], row["builder"], {"n_constituents": row["n"], **row["kwargs"]})


def quantized_model(path, study_dir, float_path):
    """The row's 8-bit model at ``path``, built once from its float model (QAT as the shipped models)."""
    if not os.path.exists(path):
        from kerasjet.compress import compress

        files = shipped_files(study_dir, SHIPPED_LEVEL)
        save_model(compress(load_model(float_path), files["train"], files["val"], **QAT), path)
    return path


def with_searched_tables(path, study_dir, quantized_path, float_path):
    """A word row's model at ``path``, built once: its 8-bit model with the pair tables at the
    fewest fractional bits that keep the validation AUC within AUC_LOSS of the float model's
    (kerasjet.rtl.precision, the tables' stage alone; every other type as the Cartesian row's)."""
    if not os.path.exists(path):
        from kerasjet.rtl.precision import TABLES, search_against_float

        found = search_against_float(load_model(quantized_path), load_model(float_path), shipped_files(study_dir, SHIPPED_LEVEL)["val"],
                                     AUC_LOSS, stages=[TABLES])
        save_model(found["model"], path)
    return path


def csim_logits(model, inputs, output_dir):
    """The hls4ml C simulation's logits of ``model`` on ``inputs`` (hls4ml's own API with the
    extension, every type from the model's quantizers; kerasjet.rtl.flow.csim_outputs)."""
    import hls4ml

    import kerasjet.hls  # noqa: F401  (registers the extension with hls4ml)
    from kerasjet.rtl.flow import csim_outputs

    config = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vivado")
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=config, backend="Vivado", io_type="io_parallel",
                                                           output_dir=output_dir)
    hls_model.compile()
    return csim_outputs(hls_model, model, inputs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study-dir", default="data/study")
    parser.add_argument("--results", default="results/firmware")
    parser.add_argument("--jets", type=int, default=1000, help="test jets of the Keras = da4ml = Verilator check")
    parser.add_argument("--max-n", type=int, default=max(FIRMWARE_N), help="leave out the rows with more constituents")
    parser.add_argument("--only", help="build the rows whose file name contains this text and stop (no table)")
    parser.add_argument("--input-format", choices=sorted(INPUT_FORMATS), default=DEFAULT_INPUT_FORMAT)
    args = parser.parse_args()
    files = existing_shipped_files(args.study_dir, SHIPPED_LEVEL)
    work = os.path.join(args.study_dir, "trigger_native")
    os.makedirs(work, exist_ok=True)

    measured = []
    for spec in rows(args.input_format, args.max_n):
        stem, n = spec["stem"], spec["n"]
        if args.only and args.only not in stem:
            continue
        float_path = float_model(args.study_dir, spec)
        model_path = quantized_model(os.path.join(work, f"{stem}.h5"), args.study_dir, float_path)
        nano_words = spec["family"] == "nanoPELICAN" and spec["input"] != CARTESIAN
        if nano_words:  # the tables' width searched
            stem = f"{stem}_tables"
            model_path = with_searched_tables(os.path.join(work, f"{stem}.h5"), args.study_dir, model_path, float_path)
        project = os.path.join(work, stem)
        report_path = os.path.join(project, "rtl_report.json")
        model = load_model(model_path)
        csim_path = os.path.join(project, "csim.json")
        if not os.path.exists(report_path) or not os.path.exists(csim_path):
            print(f"== {spec['label']}, N = {n}", flush=True)
            inputs = load_inputs(files["test"], input_spec_of(model), 0, args.jets)[0]
            if not os.path.exists(report_path):
                build_rtl(model, inputs, project)
            keras = model.predict(inputs, verbose=0, batch_size=1024).reshape(-1)
            csim = csim_logits(model, inputs, os.path.join(work, f"hls_{stem}"))
            write_json({"jets": len(keras), "csim_vs_keras_mismatches": int(np.sum(csim != keras))}, csim_path)
        if args.only:
            continue
        with open(report_path) as f:
            report = json.load(f)
        with open(csim_path) as f:
            csim_check = json.load(f)
        tables = model.get_layer("lorentz_dot").fraction_bits if nano_words else None
        row = {"model": spec["label"], "family": spec["family"], "input": spec["input"], "n_constituents": n, "table_fraction_bits": tables,
               **{k: report[k] for k in ("latency_cycles", "latency_ns", "pipeline_stages", "estimated_luts_da4ml")},
               "bit_exact": report["bit_exact"] and csim_check["csim_vs_keras_mismatches"] == 0,
               "csim_vs_keras_mismatches": csim_check["csim_vs_keras_mismatches"],
               **parse_stat(os.path.join(project, "yosys_stat.json")),
               "auc": evaluate(model_path, files["test"])[0]["auc"], "float_auc": evaluate(float_path, files["test"])[0]["auc"]}
        row["cost"] = row["LUT"] + DSP_IN_LUTS * row["DSP"]
        measured.append(row)
        print(row, flush=True)
    if args.only:
        return
    if not measured:
        raise KerasjetError("no row measured: nothing to tabulate")
    marked = mark_frontier(measured)
    provenance = {"test_file": os.path.basename(files["test"]), "jets": study_name(SHIPPED_LEVEL), "input_format": args.input_format,
                  "float_training": f"{BUDGETS['single-seed'].train_jets} jets, {BUDGETS['single-seed'].epochs} epochs, seed 0",
                  "qat": QAT, "rtl_check_jets": args.jets, "clock_ns": 5.0, "latency_cutoff": 5,
                  "synthesis": "Yosys (pyosys) synth_xilinx -family xcup -flatten; LUT includes SRL16E", "cost": f"LUT + {DSP_IN_LUTS}·DSP"}
    write_json({"provenance": provenance, "rows": marked}, os.path.join(args.results, "trigger_native.json"))
    lines = [f"**Trigger-native firmware** — nanoPELICAN C = {C_HIDDEN}, the pT-sorted MLP and Deep Sets, 8-bit weights, from the "
             f"'{args.input_format}' candidate words (everything from the words to the logit in the firmware: the peers' jet axis, "
             "relative coordinates, pT fractions and the MLP's sorting network included) beside nanoPELICAN from Cartesian momenta "
             "(their computation upstream, not counted). Float models trained at each N on "
             f"{BUDGETS['single-seed'].train_jets:,} detector-level jets of the default configuration ({study_name(SHIPPED_LEVEL)}), "
             f"{BUDGETS['single-seed'].epochs} epochs, seed 0; 8-bit QAT 2 epochs on 20,000 jets; AUC on "
             f"{BUDGETS['single-seed'].test_jets:,} test jets; da4ml pipeline at 5 ns (cutoff 5), Yosys synth_xilinx for "
             f"UltraScale+; Keras = hls4ml C simulation = da4ml = Verilator on {args.jets} test jets. "
             "`python benchmarks/trigger_native.py`", "",
             "The hls4ml-style tagger is not in this table: its 16 inputs (TopoDNN's rotated coordinates of 5 candidates and the jet "
             "mass) need a square root, an arctangent, sines, cosines and divisions per jet — no cheap firmware form; it stays in "
             "results/firmware/pareto.md with its features computed upstream.", "",
             f"cost = LUT + {DSP_IN_LUTS}·DSP; on the frontier: no row at its N has a higher AUC at no larger cost", "",
             "| Model | input | N | pair tables (fractional bits) | latency (cycles / ns) | LUT | FF | DSP | cost | AUC | float AUC | "
             "bit-exact | frontier |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in marked:
        tables = "—" if r["table_fraction_bits"] is None else r["table_fraction_bits"]
        lines.append(f"| {r['model']} | {r['input']} | {r['n_constituents']} | {tables} | {r['latency_cycles']} / {r['latency_ns']:.0f} | {r['LUT']} | "
                     f"{r['FF']} | {r['DSP']} | {r['cost']} | {r['auc']:.4f} | {r['float_auc']:.4f} | "
                     f"{'yes' if r['bit_exact'] else 'NO'} | {'yes' if r['on_frontier'] else ''} |")
    write_text("\n".join(lines) + "\n", os.path.join(args.results, "trigger_native.md"))
    print("\n".join(lines))


if __name__ == "__main__":
    run_script(main)
