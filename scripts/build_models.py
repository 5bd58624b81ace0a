#!/usr/bin/env python
"""Build the small trained models shipped in models/ (and used by hls_configs/).

    python scripts/build_models.py [--study-dir data/study] [--level detector] [--epochs 2] [--qat-jets 20000]

From the float models of `kerasjet study --budget single-seed --level LEVEL` (seed 0, trained on
100k generated jets, N = 80; the committed models come from the detector-level study,
kerasjet.study.SHIPPED_LEVEL):

* models/nanopelican_c2.keras — the float nanoPELICAN C = 2 of `make demo`;
* models/nanopelican_c2_n{8,16,32}.keras — the float nanoPELICAN C = 2 that the firmware's C = 2
  models at N = 8, 16, 32 start from: the one trained at that N (the study's budget and starts,
  kerasjet.study.nanopelican_float_model_at) or the N = 80 model read at N, whichever has the
  higher AUC on the study's validation jets at N (printed);
* models/nanopelican_c3_n{8,16,32}.keras — the float nanoPELICAN C = 3 trained at N = 8, 16, 32 (the
  same budget; the N = 80 C = 3 read at N = 16 reaches only 0.9490 validation AUC at 8 bits, the
  one trained at N = 16 0.9741 as a float model);
* models/nanopelican_c{2,3}_n{8,16,32}_{8bit,ternary}.h5 — those, folded and quantized;
  models/nanopelican_c{1,10}_n{16,32}_8bit.h5, models/nanopelican_c2_n80_8bit.h5 — the study's
  N = 80 models at N leading constituents (nanoPELICAN's weights do not depend on N), folded and
  quantized. 8-bit: fine-tuned (QAT) for --epochs on the first --qat-jets training jets at that N;
  ternary: the ternary recipe (kerasjet.compress: TERNARY_EPOCHS on every training jet);
* models/hls4ml_tagger_8bit.h5, models/hls4ml_tagger_bitlinear.h5 — the hls4ml-style dense tagger
  (N = 16 inputs; it reads the 5 leading constituents), 8-bit and BitLinear (ternary weights,
  static 8-bit activations; the ternary recipe);
* models/constituent_mlp_n{8,16,32}_{8bit,ternary}.h5, models/deep_sets_n{8,16,32}_{8bit,ternary}.h5 — the
  firmware's constituent-level peers, the pT-sorted MLP (kerasjet.models.mlp.constituent_mlp) and
  Deep Sets (kerasjet.models.deepsets) on the N leading constituents, trained here at each N on
  the study's files with the study's budget (seed 0; run folders runs_<level>/pt_sorted_mlp_n<N>/
  and deep_sets_n<N>/ beside the study's), then 8-bit QAT or the ternary recipe (Deep Sets with its
  first and last layer at 8 bits: PEER_TERNARY_PLACEMENT).

and, for each, hls_configs/<name>.yml with the LayerName types of its quantizers
(kerasjet.hls.config.render_shipped_config). Existing model files are kept (delete one to rebuild
it); every YAML is rewritten. Prints the test AUC of each.
"""

import argparse
import os
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import kerasjet  # noqa: E402,F401  (before TensorFlow: CPU allocator)
from kerasjet.compress import compress  # noqa: E402
from kerasjet.errors import run_script  # noqa: E402
from kerasjet.evaluate import evaluate, model_auc  # noqa: E402
from kerasjet.files import write_text  # noqa: E402
from kerasjet.hls.config import quantizer_types, render_shipped_config  # noqa: E402
from kerasjet.models import build_model, load_model, save_model  # noqa: E402
from kerasjet.models.nanopelican import with_constituents  # noqa: E402
from kerasjet.study import (FIRMWARE_FLOAT_N, MODELS_DIR, PEERS, SHIPPED_LEVEL, existing_shipped_files, nanopelican_float_model_at,  # noqa: E402
                            peer_float_model, run_dir, shipped_float, shipped_trained_n)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONFIGS_DIR = os.path.join(ROOT, "hls_configs")
NANO = ([(c, n, "8") for c in (1, 2, 3, 10) for n in (16, 32)] + [(c, n, "ternary") for c in (2, 3) for n in (8, 16, 32)]
        + [(2, 8, "8"), (3, 8, "8"), (2, 80, "8")])
DENSE = [("8", "hls4ml_tagger_8bit.h5"), ("ternary", "hls4ml_tagger_bitlinear.h5")]
PEER_MODELS = [(builder, n, bits) for builder in PEERS for n in (8, 16, 32) for bits in ("8", "ternary")]
PEER_DESCRIPTIONS = {"constituent_mlp": "pT-sorted constituent MLP 3N→32→16→1 on the N={n} leading constituents, {weights}; "
                                        "input: their (pT/pT_jet, Δη, Δφ)",
                     "deep_sets": "Deep Sets φ 4→16→16 (per constituent, no bias), mean over the N={n} slots, ρ 16→16→1, "
                                  "{weights}; input: (pT/pT_jet, Δη, Δφ, 1) per constituent"}
NANO_NOTES = {8: " (the firmware tests' smallest model)", 80: " (the study's N): large; csim only on request"}
DENSE_DESCRIPTIONS = {"8": "hls4ml-style dense tagger 16→64→32→32→1, 8-bit weights; input: its 16 jet features",
                      "ternary": "hls4ml-style dense tagger, BitLinear: ternary weights, 8-bit static activations (the ternary recipe)"}


def nano_description(c, n, bits, trained_n=80):
    weights = "8-bit weights (QAT)" if bits == "8" else "ternary BitLinear weights (the ternary recipe, β a power of two)"
    return f"nanoPELICAN C={c}, N={n} leading constituents{NANO_NOTES.get(n, '')}, trained at N={trained_n}, {weights}"


def float_at(c, n, args, files):
    """kerasjet.study.shipped_float(n, c) (built once), the float model that the shipped C = ``c``
    models at the firmware's N = ``n`` start from, and the N it was trained at. C = 2: the one
    trained at N or the N = 80 one (shipped_float()) read at ``n`` slots, whichever has the higher
    validation AUC at N (printed); C = 3: the one trained at N."""
    path = shipped_float(n, c)
    if not os.path.exists(path):
        candidates = {n: load_model(nanopelican_float_model_at(args.study_dir, args.level, n, c))}
        if c == 2:
            candidates[80] = with_constituents(load_model(shipped_float()), n)
        val_auc = {trained_n: model_auc(model, files["val"]) for trained_n, model in candidates.items()}
        best = max(val_auc, key=val_auc.get)
        print(f"float C = {c} at N = {n}: validation AUC " + ", ".join(f"trained at N = {trained_n} {auc:.4f}" for trained_n, auc in val_auc.items())
              + f"; shipping the one trained at N = {best}")
        save_model(candidates[best], path)
    return path, shipped_trained_n(n, c)


def write_config(model_path, description, n_constituents):
    """hls_configs/<stem>.yml for the shipped model at ``model_path``, its LayerName types read
    from the model's quantizers (so that a rebuilt model never meets a stale YAML)."""
    model_file = os.path.basename(model_path)
    text = render_shipped_config(model_file, description, n_constituents, quantizer_types(load_model(model_path)))
    write_text(text, os.path.join(CONFIGS_DIR, os.path.splitext(model_file)[0] + ".yml"))


# where the ternary layers go, per peer (kerasjet.compress.PLACEMENTS), as measured on the detector-level study's
# test jets (seed 0): Deep Sets all ternary 0.8923 / 0.9188 at N = 8 / 16 (8-bit 0.9419 / 0.9617), with its first
# and last layer at 8 bits 0.9332 / 0.9505 — its 4-input first layer carries the constituent's bias as a weight
PEER_TERNARY_PLACEMENT = {"constituent_mlp": "all", "deep_sets": "ends-8bit"}


def fine_tuning(bits, args, placement="all"):
    """compress() keywords: the ternary recipe's own epochs and jets (and ``placement``), --epochs/--qat-jets otherwise."""
    return {"placement": placement} if bits == "ternary" else {"epochs": args.epochs, "train_jets": args.qat_jets}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--study-dir", default="data/study")
    parser.add_argument("--level", choices=("particle", "detector"), default=SHIPPED_LEVEL, help=f"the study's jet level (default {SHIPPED_LEVEL})")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--qat-jets", type=int, default=20000)
    parser.add_argument("--only", default="", help="build only the models whose file name contains this text "
                        "(to build in parallel processes, or before every float model has trained)")
    args = parser.parse_args()
    files = existing_shipped_files(args.study_dir, args.level)
    os.makedirs(MODELS_DIR, exist_ok=True)

    demo = shipped_float()
    if not os.path.exists(demo) and args.only in os.path.basename(demo):
        shutil.copyfile(os.path.join(run_dir(args.study_dir, "nanoPELICAN C=2", 0, args.level), "best.keras"), demo)
    for c, n, bits in NANO:
        path = os.path.join(MODELS_DIR, f"nanopelican_c{c}_n{n}_{'8bit' if bits == '8' else bits}.h5")
        if args.only not in os.path.basename(path):
            continue
        float_path, trained_n = float_at(c, n, args, files) if n in FIRMWARE_FLOAT_N.get(c, ()) else (None, 80)
        if not os.path.exists(path):
            print(f"== nanoPELICAN C={c} N={n} {bits}")
            float_model = load_model(float_path) if float_path else with_constituents(
                load_model(os.path.join(run_dir(args.study_dir, f"nanoPELICAN C={c}", 0, args.level), "best.keras")), n)
            save_model(compress(float_model, files["train"], files["val"], bits, **fine_tuning(bits, args)), path)
        write_config(path, nano_description(c, n, bits, trained_n), n)
        print(f"{os.path.basename(path)}: test AUC {evaluate(path, files['test'])[0]['auc']:.4f}")
    for bits, name in DENSE:
        path = os.path.join(MODELS_DIR, name)
        if args.only not in name:
            continue
        if not os.path.exists(path):
            print(f"== hls4ml-style tagger {bits}")
            trained = load_model(os.path.join(run_dir(args.study_dir, "hls4ml-style tagger", 0, args.level), "best.keras"))
            float_model = build_model("hls4ml_tagger", n_constituents=16)  # it reads 5 constituents: N = 16 is plenty
            float_model.set_weights(trained.get_weights())
            save_model(compress(float_model, files["train"], files["val"], bits, **fine_tuning(bits, args)), path)
        write_config(path, DENSE_DESCRIPTIONS[bits], 16)
        print(f"{name}: test AUC {evaluate(path, files['test'])[0]['auc']:.4f}")
    for builder, n, bits in PEER_MODELS:
        path = os.path.join(MODELS_DIR, f"{builder}_n{n}_{'8bit' if bits == '8' else bits}.h5")
        if args.only not in os.path.basename(path):
            continue
        if not os.path.exists(path):
            print(f"== {PEERS[builder]} N={n} {bits}")
            float_model = load_model(peer_float_model(args.study_dir, args.level, n, builder))
            save_model(compress(float_model, files["train"], files["val"], bits, **fine_tuning(bits, args, PEER_TERNARY_PLACEMENT[builder])),
                       path)
        weights = "8-bit weights (QAT)" if bits == "8" else "BitLinear: ternary weights, 8-bit static activations (the ternary recipe)"
        if bits == "ternary" and PEER_TERNARY_PLACEMENT[builder] == "ends-8bit":
            weights = "BitLinear: ternary weights but the first and last layer's (8-bit), 8-bit static activations (the ternary recipe)"
        write_config(path, PEER_DESCRIPTIONS[builder].format(n=n, weights=weights), n)
        print(f"{os.path.basename(path)}: test AUC {evaluate(path, files['test'])[0]['auc']:.4f}")

if __name__ == "__main__":
    run_script(main)
