"""What rounding alone costs a trained float model: its AUC with the weights quantized to 8, 6 or
4 bits or ternary (BitLinear as kerasjet.compress makes it: for nanoPELICAN a power-of-two β per
basis element of LinEq2→2 and per hidden channel of the readout, for the dense taggers and Deep
Sets per output channel; every layer, and with the first and last layer at 8 bits) before any
fine-tuning, at the N it was trained for.

    python benchmarks/rounding.py --train T.h5 --test TEST.h5 MODEL.keras [MODEL.keras ...]
                                  [--jets 10000] [--results results/compression]

Every quantized model of the compression table is fine-tuned from such a rounded start
(kerasjet.compress); a model that rounding alone costs much is one whose weights must keep their
ratios more finely than the weight grid, and whose fine-tuning has more to recover.
Calibration (hidden-channel scales, the ternary ReLU range): the first 2,000 training jets, as
`kerasjet compress`. AUC on the first --jets test jets. Writes rounding.md and rounding.json.
"""

import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.compress import check_quantizable, quantized_copy  # noqa: E402
from kerasjet.data.io import count_jets  # noqa: E402
from kerasjet.data.pipeline import InputSpec, load_inputs  # noqa: E402
from kerasjet.errors import KerasjetError, run_script  # noqa: E402
from kerasjet.files import write_json, write_text  # noqa: E402
from kerasjet.metrics import roc_auc  # noqa: E402
from kerasjet.models import load_model, n_constituents_of  # noqa: E402

VARIANTS = {"8-bit": ("8", "all"), "6-bit": ("6", "all"), "4-bit": ("4", "all"), "ternary": ("ternary", "all"),
            "ternary, ends 8-bit": ("ternary", "ends-8bit")}  # column → (weight bits, kerasjet.compress placement)
CALIBRATION_JETS = 2000  # kerasjet.compress.compress's default


def checked_model(path):
    """The model at ``path``, KerasjetError unless kerasjet.compress can quantize it."""
    model = load_model(path)
    try:
        check_quantizable(model)
    except KerasjetError as err:
        raise KerasjetError(f"{path}: {err}") from None
    return model


def rounded_aucs(model, path, train, test, jets):
    """{'float': AUC, '8-bit': AUC, ...} (VARIANTS) of ``model`` and its rounded copies."""
    spec = InputSpec(n_constituents_of(model))
    calibration, _ = load_inputs(train, spec, 0, CALIBRATION_JETS)
    inputs, labels = load_inputs(test, spec, 0, jets)

    def auc(m):
        return float(roc_auc(labels, m.predict(inputs, batch_size=1024, verbose=0).reshape(-1)))

    aucs = {"float": auc(model)}
    for variant, (bits, placement) in VARIANTS.items():
        aucs[variant] = auc(quantized_copy(model, bits, calibration, placement))
        print(f"{path}: {variant:>19}  AUC {aucs[variant]:.4f} (float {aucs['float']:.4f})", flush=True)
    return aucs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="trained float models (.keras): nanoPELICANs, dense taggers, Deep Sets")
    parser.add_argument("--train", required=True, help="calibration jets (the first 2,000)")
    parser.add_argument("--test", required=True)
    parser.add_argument("--jets", type=int, default=10000, help="test jets evaluated (the first)")
    parser.add_argument("--results", default="results/compression")
    args = parser.parse_args()
    if args.jets < 1:
        raise KerasjetError(f"--jets must be at least 1 (got {args.jets})")
    count_jets(args.train)  # the jet files and every model are checked before work starts
    jets = min(args.jets, count_jets(args.test))
    models = {path: checked_model(path) for path in args.models}
    rows = [{"model": path, "n_constituents": n_constituents_of(model), "auc": rounded_aucs(model, path, args.train, args.test, jets)}
            for path, model in models.items()]
    title = (f"**Rounding alone** — test AUC of each float model and of its quantized copies before any fine-tuning "
             f"(first {jets} jets of {args.test}; calibration on the first {CALIBRATION_JETS} of {args.train}). "
             f"Written by `python benchmarks/rounding.py`.")
    lines = [title, "", "| model | N | float | " + " | ".join(VARIANTS) + " |", "|---|---|---|" + "---|" * len(VARIANTS)]
    for r in rows:
        cells = " | ".join(f"{r['auc'][v]:.4f} ({r['auc'][v] - r['auc']['float']:+.4f})" for v in VARIANTS)
        lines.append(f"| {r['model']} | {r['n_constituents']} | {r['auc']['float']:.4f} | {cells} |")
    write_json({"test_file": args.test, "test_jets": jets, "train_file": args.train, "rows": rows},
               os.path.join(args.results, "rounding.json"))
    write_text("\n".join(lines) + "\n", os.path.join(args.results, "rounding.md"))
    print("\n".join(lines))


if __name__ == "__main__":
    run_script(main)
