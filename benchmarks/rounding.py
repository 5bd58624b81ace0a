"""What rounding alone costs a trained float nanoPELICAN: its AUC with the weights quantized to
8, 6 or 4 bits or ternary (BitLinear, the recipe's power-of-two β per basis element of LinEq2→2
and per hidden channel of the readout) before any fine-tuning, at the N it was trained for.

    python benchmarks/rounding.py --train T.h5 --test TEST.h5 MODEL.keras [MODEL.keras ...]
                                  [--jets 10000] [--results results/compression]

Every quantized model of the compression table is fine-tuned from such a rounded start
(kerasjet.compress); a model that rounding alone costs much is one whose LinEq2→2 weights must
keep their ratios more finely than the weight grid, and whose fine-tuning has more to recover.
Calibration (hidden-channel scales, the ternary ReLU range): the first 2,000 training jets, as
`kerasjet compress`. AUC on the first --jets test jets. Writes rounding.md and rounding.json.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.compress import is_nanopelican, quantized_copy  # noqa: E402
from kerasjet.data.io import count_jets  # noqa: E402
from kerasjet.data.pipeline import InputSpec, load_inputs  # noqa: E402
from kerasjet.errors import KerasjetError  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402
from kerasjet.metrics import roc_auc  # noqa: E402
from kerasjet.models import load_model, n_constituents_of  # noqa: E402

WEIGHTS = ("8", "6", "4", "ternary")
CALIBRATION_JETS = 2000  # kerasjet.compress.compress's default


def rounded_aucs(path, train, test, jets):
    """{'float': AUC, '8': AUC, ...} of the model at ``path`` and its rounded copies, and its N."""
    model = load_model(path)
    if not is_nanopelican(model):
        raise KerasjetError(f"{path}: not a nanoPELICAN (no lineq_2to2 layer)")
    spec = InputSpec(n_constituents_of(model))
    calibration, _ = load_inputs(train, spec, 0, CALIBRATION_JETS)
    inputs, labels = load_inputs(test, spec, 0, jets)

    def auc(m):
        return float(roc_auc(labels, m.predict(inputs, batch_size=1024, verbose=0).reshape(-1)))

    aucs = {"float": auc(model)}
    for bits in WEIGHTS:
        aucs[bits] = auc(quantized_copy(model, bits, calibration))
        print(f"{path}: {bits:>7}  AUC {aucs[bits]:.4f} (float {aucs['float']:.4f})", flush=True)
    return aucs, spec.n_constituents, model.get_layer("lineq_2to2").units


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="trained float nanoPELICANs (.keras)")
    parser.add_argument("--train", required=True, help="calibration jets (the first 2,000)")
    parser.add_argument("--test", required=True)
    parser.add_argument("--jets", type=int, default=10000, help="test jets evaluated (the first)")
    parser.add_argument("--results", default="results/compression")
    args = parser.parse_args()
    try:
        for path in [args.train, args.test, *args.models]:
            if not os.path.isfile(path):
                raise KerasjetError(f"{path}: no such file")
        jets = min(args.jets, count_jets(args.test))
        rows = []
        for path in args.models:
            aucs, n, c_hidden = rounded_aucs(path, args.train, args.test, jets)
            rows.append({"model": path, "n_constituents": n, "c_hidden": c_hidden, "auc": aucs})
    except KerasjetError as err:
        raise SystemExit(f"kerasjet: error: {err}") from None
    title = (f"**Rounding alone** — test AUC of each float nanoPELICAN and of its quantized copies before any fine-tuning "
             f"(first {jets} jets of {args.test}; calibration on the first {CALIBRATION_JETS} of {args.train}). "
             f"Written by `python benchmarks/rounding.py`.")
    lines = [title, "", "| model | C | N | float | " + " | ".join(f"{b}{'' if b == 'ternary' else '-bit'}" for b in WEIGHTS) + " |",
             "|---|---|---|---|" + "---|" * len(WEIGHTS)]
    for r in rows:
        cells = " | ".join(f"{r['auc'][b]:.4f} ({r['auc'][b] - r['auc']['float']:+.4f})" for b in WEIGHTS)
        lines.append(f"| {r['model']} | {r['c_hidden']} | {r['n_constituents']} | {r['auc']['float']:.4f} | {cells} |")
    write_json({"test_file": args.test, "test_jets": jets, "train_file": args.train, "rows": rows},
               os.path.join(args.results, "rounding.json"))
    write_text("\n".join(lines) + "\n", os.path.join(args.results, "rounding.md"))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
