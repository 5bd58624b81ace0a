"""The hls4ml agreement table: every shipped config through hls4ml's C simulation.

    python benchmarks/hls_csim.py [--test-file data/study/data/test_50000_detector.h5] [--jets 5000]
                                  [--results results/hls]

For each YAML in hls_configs/ (its reuse factor, backend and precisions): convert, compile, run
the C simulation on the first --jets jets of the test file (the shipped models' level's) and compare with the Keras model —
largest |Keras − csim|, share of identical outputs and of identical decisions, AUC of each, and
the C simulation's throughput (jets/s, one core, after compilation). Writes csim.md and
csim.json; the HLS projects go to hls_projects/benchmark/.
"""

import argparse
import glob
import os
import sys

from tqdm import tqdm

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402
from kerasjet.hls.config import load_config  # noqa: E402
from kerasjet.hls.convert import deploy  # noqa: E402
from kerasjet.study import shipped_files  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def format_table(reports, caption):
    lines = [f"**{caption}**", "",
             "| config | reuse | max abs diff | identical outputs | identical decisions | AUC Keras | AUC csim | csim jets/s |",
             "|---|---|---|---|---|---|---|---|"]
    for r in reports:
        lines.append(f"| {os.path.basename(r['config'])} | {r['reuse_factor']} | {r['max_abs_diff']:.3g} | "
                     f"{r['identical_outputs']:.4f} | {r['decision_agreement']:.4f} | {r['auc_keras']:.4f} | "
                     f"{r['auc_csim']:.4f} | {r['csim_jets_per_second']:.0f} |")
    return "\n".join(lines) + "\n"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--test-file", default=shipped_files("data/study")["test"])
    parser.add_argument("--jets", type=int, default=5000)
    parser.add_argument("--results", default="results/hls")
    args = parser.parse_args()
    if not os.path.exists(args.test_file):
        raise KerasjetError(f"{args.test_file}: no such file (kerasjet study --budget single-seed --level detector "
                         "--prepare-only writes it; or pass --test-file)")
    reports = []
    for path in tqdm(sorted(glob.glob(os.path.join(ROOT, "hls_configs", "*.yml"))), desc="configs", unit="config"):
        name = os.path.basename(path)[:-4]
        report, _ = deploy(load_config(path), test_file=args.test_file, jets=args.jets,
                           output_dir=os.path.join(ROOT, "hls_projects", "benchmark", name), verbose=False)
        reports.append(report)
    caption = (f"hls4ml 1.3.0 C simulation (g++ 12) vs Keras on the first {args.jets} jets of "
               f"{os.path.basename(args.test_file)}, each config's own reuse factor and types")
    os.makedirs(args.results, exist_ok=True)
    write_json({"caption": caption, "reports": reports}, os.path.join(args.results, "csim.json"))
    table = format_table(reports, caption)
    write_text(table, os.path.join(args.results, "csim.md"))
    print(table)


if __name__ == "__main__":
    run_script(main)
