#!/usr/bin/env python
"""Build the small trained models shipped in models/ (and used by hls_configs/).

    python scripts/build_models.py [--study-dir data/study] [--level particle] [--epochs 2] [--qat-jets 20000]

From the float models of `kerasjet study --budget single-seed --level LEVEL` (seed 0, trained on
100k generated jets, N = 80; the committed models come from the particle-level study):

* models/nanopelican_c2.keras — the float nanoPELICAN C = 2 of `make demo`;
* models/nanopelican_c{1,2,3,10}_n{16,32}_8bit.h5, models/nanopelican_c2_n{8,16,32}_{8bit,ternary}.h5,
  models/nanopelican_c2_n80_8bit.h5 — the same model at N leading constituents (nanoPELICAN's
  weights do not depend on N), folded and quantized, fine-tuned (QAT) for --epochs on the first
  --qat-jets training jets at that N;
* models/hls4ml_tagger_8bit.h5, models/hls4ml_tagger_bitlinear.h5 — the hls4ml-style dense tagger
  (N = 16 inputs; it reads the 5 leading constituents), 8-bit and BitLinear (ternary weights,
  static 8-bit activations).

Existing files are kept; delete one to rebuild it. Prints the test AUC of each.
"""

import argparse
import os
import shutil
import sys
from dataclasses import replace

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.compress import compress  # noqa: E402
from kerasjet.evaluate import evaluate  # noqa: E402
from kerasjet.models import build_model, load_model, save_model  # noqa: E402
from kerasjet.models.nanopelican import with_constituents  # noqa: E402
from kerasjet.study import BUDGETS, data_files, run_dir  # noqa: E402

MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
NANO = [(c, n, "8") for c in (1, 2, 3, 10) for n in (16, 32)] + [(2, n, "ternary") for n in (8, 16, 32)] + [(2, 8, "8"), (2, 80, "8")]
DENSE = [("8", "hls4ml_tagger_8bit.h5"), ("ternary", "hls4ml_tagger_bitlinear.h5")]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study-dir", default="data/study")
    parser.add_argument("--level", choices=("particle", "detector"), default="particle", help="the study's jet level (default particle)")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--qat-jets", type=int, default=20000)
    args = parser.parse_args()
    files = data_files(args.study_dir, replace(BUDGETS["single-seed"], level=args.level))
    os.makedirs(MODELS_DIR, exist_ok=True)

    demo = os.path.join(MODELS_DIR, "nanopelican_c2.keras")
    if not os.path.exists(demo):
        shutil.copyfile(os.path.join(run_dir(args.study_dir, "nanoPELICAN C=2", 0, args.level), "best.keras"), demo)
    for c, n, bits in NANO:
        path = os.path.join(MODELS_DIR, f"nanopelican_c{c}_n{n}_{'8bit' if bits == '8' else bits}.h5")
        if not os.path.exists(path):
            print(f"== nanoPELICAN C={c} N={n} {bits}")
            float_model = with_constituents(load_model(os.path.join(run_dir(args.study_dir, f"nanoPELICAN C={c}", 0, args.level), "best.keras")), n)
            save_model(compress(float_model, files["train"], files["val"], bits, epochs=args.epochs, train_jets=args.qat_jets), path)
        print(f"{os.path.basename(path)}: test AUC {evaluate(path, files['test'])[0]['auc']:.4f}")
    for bits, name in DENSE:
        path = os.path.join(MODELS_DIR, name)
        if not os.path.exists(path):
            print(f"== hls4ml-style tagger {bits}")
            trained = load_model(os.path.join(run_dir(args.study_dir, "hls4ml-style tagger", 0, args.level), "best.keras"))
            float_model = build_model("hls4ml_tagger", n_constituents=16)  # it reads 5 constituents: N = 16 is plenty
            float_model.set_weights(trained.get_weights())
            save_model(compress(float_model, files["train"], files["val"], bits, epochs=args.epochs, train_jets=args.qat_jets), path)
        print(f"{name}: test AUC {evaluate(path, files['test'])[0]['auc']:.4f}")


if __name__ == "__main__":
    main()
