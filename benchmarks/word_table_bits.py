"""How many fractional bits the pair tables of a word nanoPELICAN need: test AUC and da4ml's
cost estimate of the same quantized model with its tables rounded to fewer bits.

    python benchmarks/word_table_bits.py [--study-dir data/study] [--n 8 16] [--bits 14 12 10 8 6 4] [--out results/firmware]

Reads the 8-bit word models that benchmarks/trigger_native.py built (<study-dir>/trigger_native/
nanopelican_c2_n<N>_words_8bit.h5: trained with 14-bit tables, fine-tuned at 8 bits) and, for each
table width F, the same model with its T_η and T_φ rounded to F fractional bits
(kerasjet.rtl.precision.with_fractions; no retraining), then prints and writes word_table_bits.md: the test AUC on the study's 50,000 test
jets, the bound on |d_ij(tables) − d_ij(exact)| / (pT_i pT_j) (2^-F, PairTables.error_bound), and
da4ml's cost estimate of the design (adders; the two products per pair are DSPs, unchanged).
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.data.pipeline import load_inputs  # noqa: E402
from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.files import write_text  # noqa: E402
from kerasjet.metrics import roc_auc  # noqa: E402
from kerasjet.models import input_spec_of, load_model  # noqa: E402
from kerasjet.rtl.precision import TABLES, with_fractions  # noqa: E402
from kerasjet.rtl.trace import nanopelican_cost  # noqa: E402
from kerasjet.study import SHIPPED_LEVEL, existing_shipped_files, study_name  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study-dir", default="data/study")
    parser.add_argument("--n", type=int, nargs="+", default=[8, 16])
    parser.add_argument("--bits", type=int, nargs="+", default=[14, 12, 10, 8, 6, 4])
    parser.add_argument("--out", default="results/firmware")
    args = parser.parse_args()
    test_file = existing_shipped_files(args.study_dir, SHIPPED_LEVEL, ("test",))["test"]
    lines = ["**Pair-table width of the word nanoPELICAN** (C = 2, 8-bit weights, from benchmarks/trigger_native.py; tables rounded "
             f"to F fractional bits without retraining; AUC on the 50,000 test jets of {study_name(SHIPPED_LEVEL)}). "
             "`python benchmarks/word_table_bits.py`", "",
             "| N | F | bound on \\|Δd\\| / (pT_i pT_j) | test AUC | da4ml estimate (adders) | products (DSP) |", "|---|---|---|---|---|---|"]
    for n in args.n:
        path = os.path.join(args.study_dir, "trigger_native", f"nanopelican_c2_n{n}_words_8bit.h5")
        if not os.path.exists(path):
            raise KerasjetError(f"{path}: no such model (python benchmarks/trigger_native.py --only n{n}_words builds it)")
        model = load_model(path)
        if model.get_layer("lorentz_dot").__class__.__name__ != "QWordLorentzDot":
            raise KerasjetError(f"{path}: not a quantized word nanoPELICAN")
        inputs, labels = load_inputs(test_file, input_spec_of(model))
        for bits in args.bits:
            variant = with_fractions(model, {TABLES: bits})
            auc = roc_auc(labels, variant.predict(inputs, batch_size=4096, verbose=0)[:, 0])
            adders, products = nanopelican_cost(variant)
            lines.append(f"| {n} | {bits} | 2^-{bits} | {auc:.4f} | {adders:,.0f} | {products} |")
            print(lines[-1], flush=True)
    write_text("\n".join(lines) + "\n", os.path.join(args.out, "word_table_bits.md"))


if __name__ == "__main__":
    run_script(main)
