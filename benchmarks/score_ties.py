"""How many test jets share one score: the ties that flatten a tagger's ROC at tight working points.

    python benchmarks/score_ties.py MODEL.keras [MODEL.keras ...] --test data/study/data/test_50000_detector.h5 [--out FILE]

A model whose last hidden ReLUs all close on a class of jets gives each of them the same logit
(the output bias): they cannot be ranked among themselves, and a working point inside that block
of jets is reached only by drawing among them (the ROC's straight segment). Prints, per model,
the number of distinct scores, the largest block of equal scores (jets, and the fraction of the
test file's signal and background in it) and that score, then AUC and 1/εB at εS = 0.3 for
reference; ``--out`` writes the same table to a Markdown file.
"""

import argparse
import os

import numpy as np

from kerasjet.errors import KerasjetError, run_script
from kerasjet.evaluate import model_scores
from kerasjet.files import write_text
from kerasjet.metrics import background_rejection, roc_auc
from kerasjet.models import load_model


def largest_tie(labels, scores):
    """(jets, signal fraction, background fraction, score) of the most common score, scores
    compared as float32 (the model's precision)."""
    values, inverse, counts = np.unique(np.asarray(scores, np.float32), return_inverse=True, return_counts=True)
    block = inverse == np.argmax(counts)
    labels = np.asarray(labels)
    return int(block.sum()), float(block[labels == 1].mean()), float(block[labels == 0].mean()), float(values[np.argmax(counts)])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="+", help="trained models (best.keras of a run)")
    parser.add_argument("--test", required=True, help="test jets (HDF5)")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args()
    for path in [*args.models, args.test]:
        if not os.path.isfile(path):
            raise KerasjetError(f"{path}: no such file")
    lines = ["| model | distinct scores | largest tie: jets | of signal | of background | score | AUC | 1/εB (εS = 0.3) |",
             "|---|---|---|---|---|---|---|---|"]
    print("\n".join(lines))
    for path in args.models:
        labels, scores = model_scores(load_model(path), args.test)
        jets, signal, background, score = largest_tie(labels, scores)
        lines.append(f"| {path} | {len(np.unique(np.asarray(scores, np.float32)))} | {jets} | {signal:.1%} | {background:.1%} | "
                     f"{score:.4f} | {roc_auc(labels, scores):.4f} | {background_rejection(labels, scores, 0.3):.0f} |")
        print(lines[-1], flush=True)
    text = "\n".join(lines + ["", f"{len(labels)} test jets of {args.test}; benchmarks/score_ties.py"]) + "\n"
    if args.out:
        write_text(text, args.out)


if __name__ == "__main__":
    run_script(main)
