"""Bad inputs, one row each: the command is refused with one line ``kerasjet: error: ...`` naming
the file or option, a non-zero exit, no traceback, and no output file appears or changes.

The bad files are built once, in a temporary folder, from the first 40 jets of the session's
generated file; the CLI runs in-process. Only the corrected-command test trains (one tiny epoch).
"""

import os
import shutil

import h5py
import numpy as np
import pytest
import tensorflow as tf

from kerasjet.cli import build_parser, main
from kerasjet.data.generate import generate
from kerasjet.data.io import JetArrays, read_jets, write_jets
from kerasjet.models import build_model, save_model

from conftest import SMALL_BLOCKS
from test_io import write_reference

N_JETS = 40


def mutated(jets, change):
    """A copy of ``jets`` after ``change(copy)``."""
    copy = JetArrays(jets.pmu.copy(), jets.nobj.copy(), jets.is_signal.copy(), jets.truth_pmu.copy())
    change(copy)
    return copy


def _set(array, index, value):
    array[index] = value


def _drop_slot(jets, jet):
    jets.pmu[jet] = 0
    jets.nobj[jet] = 0


# bad jet files that differ from the good one in one place: name → change of a copy
JET_CHANGES = {
    "nan.h5": lambda j: _set(j.pmu, (3, 0, 1), np.nan),
    "truth_nan.h5": lambda j: _set(j.truth_pmu, (5, 2), np.inf),
    "negative_e.h5": lambda j: _set(j.pmu, (2, 1, 0), -j.pmu[2, 1, 0]),
    "spacelike.h5": lambda j: _set(j.pmu, (1, 0, 0), 0.5 * j.pmu[1, 0, 0]),
    "label.h5": lambda j: _set(j.is_signal, 4, 2),
    "nobj_counts_padding.h5": lambda j: _set(j.nobj, 5, j.nobj[5] + 1),
    "nobj_misses_slot.h5": lambda j: _set(j.nobj, 6, j.nobj[6] - 1),
    "zero_constituents.h5": lambda j: _drop_slot(j, 7),
}


def write_raw(path, jets, **replace):
    """The PELICAN datasets written with h5py as given (``replace`` overrides one), Pmu in
    chunks of 10 jets so that a damaged chunk can sit anywhere in the file."""
    data = {"Pmu": jets.pmu, "Nobj": jets.nobj, "is_signal": jets.is_signal, "truth_Pmu": jets.truth_pmu, **replace}
    with h5py.File(path, "w") as f:
        for name, value in data.items():
            chunks = (10,) + value.shape[1:] if name == "Pmu" else None
            f.create_dataset(name, data=value, chunks=chunks, compression="gzip" if chunks else None)


def damage_last_chunk(path):
    """Overwrite the middle of the last compressed chunk of 'Pmu': the header stays readable."""
    with h5py.File(path, "r") as f:
        info = f["Pmu"].id.get_chunk_info(f["Pmu"].id.get_num_chunks() - 1)
    with open(path, "r+b") as f:
        f.seek(info.byte_offset + info.size // 2)
        f.write(b"\xff" * 64)


def write_bad_models(folder):
    """A model with a Lambda layer (.h5 and .keras), a model whose scores are NaN, a truncated one,
    one whose input is not kerasjet's 'pmu' and 'mask'."""
    foreign = tf.keras.Input((8, 4), name="constituents")
    tf.keras.Model(foreign, tf.keras.layers.Dense(1)(tf.keras.layers.Flatten()(foreign))).save(folder / "no_pmu.keras")
    inputs = {"pmu": tf.keras.Input((8, 4), name="pmu"), "mask": tf.keras.Input((8,), name="mask")}
    total = tf.keras.layers.Lambda(lambda p: tf.reduce_sum(p, axis=(1, 2)), name="stored_code")(inputs["pmu"])
    lambda_model = tf.keras.Model(inputs, tf.keras.layers.Reshape((1,))(total))
    lambda_model.save(folder / "lambda.h5")
    lambda_model.save(folder / "lambda.keras")
    model = build_model("nanopelican", c_hidden=1, n_constituents=8, batchnorm=True)  # lr 1e30 makes its loss NaN
    save_model(model, str(folder / "float.keras"))
    model.weights[-1].assign(np.full(model.weights[-1].shape, np.nan, np.float32))
    save_model(model, str(folder / "nan_scores.keras"))
    (folder / "truncated.keras").write_bytes((folder / "float.keras").read_bytes()[:400])
    save_model(build_model("nanopelican", c_hidden=1, n_constituents=8, scaled=True), str(folder / "scaled.keras"))


def write_shards(folder):
    """Shards of a 40-jet job (blocks of 20) split 3 ways (shard 0 has no block) and shard 0 of
    a 2-way split; copies with a changed setting and with a wrong shard index."""
    for shard, num_shards in ((0, 3), (1, 3), (2, 3), (0, 2)):
        generate(str(folder / f"s{shard}of{num_shards}.h5"), N_JETS, seed=5, settings=SMALL_BLOCKS, shard=shard,
                 num_shards=num_shards, show_progress=False)
    for name, key, value in (("radius.h5", "generator_jet_radius", 1.0), ("relabelled.h5", "shard", 0)):
        shutil.copy(folder / ("s2of3.h5" if key != "shard" else "s1of3.h5"), folder / name)
        with h5py.File(folder / name, "a") as f:
            f.attrs[key] = value
    for shard in range(3):  # every shard of the job tampered alike: a plan with blocks of 0 jets
        shutil.copy(folder / f"s{shard}of3.h5", folder / f"tampered{shard}.h5")
        with h5py.File(folder / f"tampered{shard}.h5", "a") as f:
            f.attrs["generator_block_size"] = 0


@pytest.fixture(scope="module")
def bad(jets_file, tmp_path_factory):
    """The folder of good and bad inputs."""
    folder = tmp_path_factory.mktemp("bad")
    jets = read_jets(jets_file, 0, N_JETS)
    write_jets(str(folder / "good.h5"), jets)
    for name, change in JET_CHANGES.items():
        write_jets(str(folder / name), mutated(jets, change))
    write_jets(str(folder / "empty.h5"), jets.select(slice(0, 0)))
    write_jets(str(folder / "qcd_only.h5"), jets.select(jets.is_signal == 0))
    write_raw(folder / "pmu_shape.h5", jets, Pmu=jets.pmu[..., :3])
    write_raw(folder / "nobj_length.h5", jets, Nobj=jets.nobj[:-1])
    write_raw(folder / "float_nobj.h5", jets, Nobj=jets.nobj.astype(np.float32))
    write_raw(folder / "damaged.h5", jets)
    damage_last_chunk(folder / "damaged.h5")
    write_reference(folder / "reference.h5", jets.select(slice(0, 10)))
    with h5py.File(folder / "reference.h5", "a") as f:
        items = f["table/block0_items"][:-1]
        del f["table/block0_items"]
        f["table/block0_items"] = items
    (folder / "text.h5").write_text("not HDF5")
    os.makedirs(folder / "study" / "data")
    from dataclasses import replace

    from kerasjet.study import BUDGETS, data_files

    study_files = data_files(str(folder / "study"), replace(BUDGETS["tiny"], level="particle"))  # named as the study names them
    shutil.copy(folder / "nan.h5", study_files["test"])
    shutil.copy(folder / "good.h5", study_files["train"])
    write_bad_models(folder)
    write_shards(folder)
    return folder


@pytest.fixture
def out(tmp_path):
    """An output folder holding a file and a folder that a bad output path may point at."""
    (tmp_path / "blocker").write_text("a file, not a folder")
    (tmp_path / "folder").mkdir()
    return tmp_path


def snapshot(*folders):
    """(every file below the folders with its size and modification time, every folder)."""
    files, dirs = {}, set()
    for folder in folders:
        for root, _, names in os.walk(folder):
            dirs.add(root)
            for name in names:
                stat = os.stat(os.path.join(root, name))
                files[os.path.join(root, name)] = (stat.st_size, stat.st_mtime_ns)
    return files, dirs


GOOD = "{bad}/good.h5"
TRAIN = f"train --train {GOOD} --val {GOOD} --out {{out}}/run --epochs 1 --batch-size 16 --n-constituents 8 --c-hidden 1 --verbose 0"
COMPRESS = f"compress {{bad}}/float.keras --train {GOOD} --val {GOOD} --epochs 0"
INFO = "info {bad}/%s --plot {out}/mass.png"
MERGE = "merge {bad}/s0of3.h5 {bad}/s1of3.h5 %s --out {out}/merged.h5"

# (id, command, exit status, words the one-line error must contain)
ROWS = [
    # 1. jet files: every dataset checked before any work
    ("nan-momenta", INFO % "nan.h5", 2, ["nan.h5", "'Pmu'", "NaN/inf", "jet 3"]),
    ("nan-truth", INFO % "truth_nan.h5", 2, ["truth_nan.h5", "'truth_Pmu'", "jet 5"]),
    ("negative-energy", INFO % "negative_e.h5", 2, ["negative_e.h5", "E < 0", "jet 2"]),
    ("energy-below-momentum", INFO % "spacelike.h5", 2, ["spacelike.h5", "E < |p|", "tolerance", "jet 1"]),
    ("label-not-0-or-1", INFO % "label.h5", 2, ["label.h5", "'is_signal'", "0 or 1", "jet 4"]),
    ("nobj-counts-padding", INFO % "nobj_counts_padding.h5", 2, ["'Nobj'", "padding slot", "jet 5"]),
    ("nobj-misses-constituent", INFO % "nobj_misses_slot.h5", 2, ["'Nobj'", "leaves out", "jet 6"]),
    ("zero-constituents", INFO % "zero_constituents.h5", 2, ["'Nobj'", "zero constituents", "jet 7"]),
    ("empty-file", INFO % "empty.h5", 2, ["empty.h5", "no jets"]),
    ("pmu-shape", INFO % "pmu_shape.h5", 2, ["pmu_shape.h5", "'Pmu'", "shape"]),
    ("nobj-length", INFO % "nobj_length.h5", 2, ["'Nobj'", "(39,)", "n = 40"]),
    ("nobj-dtype", INFO % "float_nobj.h5", 2, ["'Nobj'", "float32", "integers"]),
    ("damaged-chunk", INFO % "damaged.h5", 2, ["damaged.h5", "HDF5 read error"]),
    ("reference-blocks", INFO % "reference.h5", 2, ["reference.h5", "block0_values", "block0_items"]),
    ("not-hdf5", INFO % "text.h5", 2, ["text.h5", "not a readable HDF5 file"]),
    ("missing-file", INFO % "nope.h5", 2, ["nope.h5", "no such file"]),
    ("one-class-roc", "evaluate masscut {bad}/qcd_only.h5 --json {out}/m.json", 2, ["qcd_only.h5", "a ROC needs"]),
    ("train-bad-val", f"train --train {GOOD} --val {{bad}}/nan.h5 --out {{out}}/run", 2, ["nan.h5", "NaN/inf"]),
    ("train-bad-test", f"{TRAIN} --test {{bad}}/label.h5", 2, ["label.h5", "0 or 1"]),
    ("compress-bad-train", f"compress {{bad}}/float.keras --train {{bad}}/negative_e.h5 --val {GOOD} --out {{out}}/q.h5", 2,
     ["negative_e.h5", "E < 0"]),
    ("study-data-of-other-size", "study --budget tiny --level particle --dir {bad}/study --prepare-only", 2, ["train_300", "holds 40 jets", "needs 300"]),
    ("study-bad-test-file", "study --budget tiny --level particle --dir {bad}/study --collect --results {out}/results", 2, ["test_300", "NaN/inf"]),
    # 2. shards
    ("merge-num-shards", MERGE % "{bad}/s0of2.h5", 2, ["s0of2.h5", "attribute 'num_shards'"]),
    ("merge-duplicate", MERGE % "{bad}/s1of3.h5", 2, ["s1of3.h5", "attribute 'shard'", "given twice"]),
    ("merge-mixed-settings", MERGE % "{bad}/radius.h5", 2, ["radius.h5", "attribute 'generator_jet_radius'"]),
    ("merge-wrong-blocks", "merge {bad}/relabelled.h5 {bad}/s1of3.h5 {bad}/s2of3.h5 --out {out}/merged.h5", 2,
     ["relabelled.h5", "holds 20 jets", "has 0"]),
    ("merge-missing", "merge {bad}/s0of3.h5 {bad}/s1of3.h5 --out {out}/merged.h5", 2, ["shard 2 of 3 is missing"]),
    ("merge-tampered-attributes", "merge {bad}/tampered0.h5 {bad}/tampered1.h5 {bad}/tampered2.h5 --out {out}/merged.h5", 2,
     ["tampered0.h5", "attribute 'generator_block_size' is 0, expected an integer ≥ 1"]),
    ("merge-into-a-shard", "merge {bad}/s0of3.h5 {bad}/s1of3.h5 {bad}/s2of3.h5 --out {bad}/s2of3.h5", 2, ["output is one of the shards"]),
    # 3. output paths, checked before any work
    ("plot-extension", INFO % "good.h5" + "x", 2, ["mass.pngx", "unsupported extension"]),
    ("output-is-folder", "evaluate masscut {bad}/good.h5 --json {out}/folder", 2, ["folder", "is a folder"]),
    ("parent-is-file", "evaluate masscut {bad}/good.h5 --roc {out}/blocker/roc.png", 2, ["blocker", "is a file, not a folder"]),
    ("generate-into-folder", "generate --jets 5 --out {out}/folder", 2, ["folder", "is a folder"]),
    ("run-folder-is-file", f"train --train {GOOD} --val {GOOD} --out {{out}}/blocker", 2, ["blocker", "expected a folder"]),
    ("study-dir-is-file", "study --budget tiny --dir {out}/blocker --collect --results {out}/results", 2, ["blocker", "expected a folder"]),
    ("fold-json-parent-file", "fold {bad}/float.keras --json {out}/blocker/f.json", 2, ["blocker", "is a file"]),
    # 4. numbers
    ("seed-negative", "generate --jets 5 --seed -1 --out {out}/g.h5", 2, ["--seed", "≥ 0 and at most 2^63 - 1", "-1"]),
    ("jets-zero", "generate --jets 0 --out {out}/g.h5", 2, ["--jets", "positive and at most 100000000", "got 0"]),
    ("signal-fraction", "generate --jets 5 --signal-fraction 1.5 --out {out}/g.h5", 2, ["--signal-fraction", "[0, 1]"]),
    ("pthat-nan", "generate --jets 5 --pthat-min nan --out {out}/g.h5", 2, ["--pthat-min", "nan"]),
    ("shard-range", "generate --jets 5 --shard 3 --num-shards 2 --out {out}/g.h5", 2, ["--shard must lie"]),
    ("level-unknown", "generate --jets 5 --level hadron --out {out}/g.h5", 2, ["--level", "invalid choice", "hadron"]),
    ("study-level-unknown", "study --budget tiny --level hadron --list-jobs", 2, ["--level", "invalid choice", "hadron"]),
    ("lr-zero", f"{TRAIN} --lr 0", 2, ["--lr", "positive"]),
    ("lr-not-a-number", f"{TRAIN} --lr fast", 2, ["--lr", "expected a number", "fast"]),
    ("dropout-one", f"{TRAIN} --dropout 1", 2, ["--dropout", "[0, 1)"]),
    ("epochs-zero", f"{TRAIN} --epochs 0", 2, ["--epochs", "positive and at most 10000", "got 0"]),
    ("keep-best-above-seeds", f"{TRAIN} --seeds 2 --keep-best 3", 2, ["--keep-best", "3 of 2"]),
    ("sparsity-one", f"{COMPRESS} --prune 1 --out {{out}}/q.h5", 2, ["--prune", "[0, 1)"]),
    ("compress-epochs-negative", f"{COMPRESS} --epochs -1 --out {{out}}/q.h5", 2, ["--epochs", "≥ 0 and at most 10000", "got -1"]),
    ("compress-lr-inf", f"{COMPRESS} --lr inf --out {{out}}/q.h5", 2, ["--lr", "inf"]),
    ("test-jets-zero", "convert hls_configs/nanopelican_c2_n16.yml --jets 0", 2, ["--jets", "positive and at most 10000000", "got 0"]),
    ("study-judge-without-study-json", "study --judge-only --level particle --results {out}/nothing", 2, ["nothing/study.json", "no such file"]),
    ("job-index-negative", "study --budget tiny --dir {out}/s --job-index -1", 2, ["--job-index", "≥ 0 and at most 100000", "got -1"]),
    # 5. models
    ("compress-nan-loss", f"{COMPRESS} --epochs 1 --lr 1e30 --bits float --out {{out}}/q.keras", 2, ["no finite validation loss", "1e+30"]),
    ("quantized-into-keras", f"{COMPRESS} --bits 8 --out {{out}}/q.keras", 2, ["q.keras", "use .h5"]),
    ("quantize-n-scaled", f"compress {{bad}}/scaled.keras --train {GOOD} --val {GOOD} --epochs 0 --bits 8 --out {{out}}/q.h5", 2,
     ["N-scaled", "no fixed-point form"]),
    ("lambda-h5", "evaluate {bad}/lambda.h5 {bad}/good.h5 --json {out}/m.json", 2, ["lambda.h5", "Lambda layer 'stored_code'", "--allow-lambda"]),
    ("lambda-keras", "fold {bad}/lambda.keras --json {out}/f.json", 2, ["lambda.keras", "Lambda layer", "--allow-lambda"]),
    ("truncated-model", "evaluate {bad}/truncated.keras {bad}/good.h5 --json {out}/m.json", 2, ["truncated.keras", "not a loadable Keras model"]),
    ("model-without-pmu", "evaluate {bad}/no_pmu.keras {bad}/good.h5 --json {out}/m.json", 2,
     ["no_pmu.keras", "its inputs are ['constituents']", "'pmu'"]),
    ("model-extension", "evaluate {out}/blocker {bad}/good.h5", 2, ["blocker", "model files end in .keras"]),
    ("jets-file-as-model", "evaluate {bad}/good.h5 {bad}/good.h5", 2, ["good.h5", "not a loadable Keras model"]),
    ("nan-scores", "evaluate {bad}/nan_scores.keras {bad}/good.h5 --json {out}/m.json", 2, ["nan_scores.keras", "nan", "cannot be ranked"]),
    # 7. nothing hangs or exhausts the machine (issue 45, item 2): settings that cannot make a jet, sizes beyond their
    # stated bounds, memory-heavy settings estimated before anything is allocated
    ("pthat-window-above-jets", "generate --jets 10 --out {out}/g.h5 --pthat-min 1500 --pthat-max 2000", 2,
     ["--pthat-min/--pthat-max", "1500-2000 GeV cannot produce jets of 550-650 GeV", "367-975 GeV"]),
    ("pthat-window-below-jets", "generate --jets 10 --out {out}/g.h5 --pthat-min 10 --pthat-max 200", 2,
     ["--pthat-min/--pthat-max", "10-200 GeV cannot produce jets"]),
    ("jets-beyond-bound", "generate --jets 1000000000000 --out {out}/g.h5", 2, ["--jets", "positive and at most 100000000"]),
    ("seed-beyond-int64", "generate --jets 10 --seed 100000000000000000000000 --out {out}/g.h5", 2, ["--seed", "at most 2^63 - 1"]),
    ("max-constituents-beyond-bound", "generate --jets 10 --max-constituents 1000000000 --out {out}/g.h5", 2,
     ["--max-constituents", "positive and at most 1000"]),
    ("workers-beyond-bound", "generate --jets 10 --workers 100000 --out {out}/g.h5", 2, ["--workers", "positive and at most 256"]),
    ("num-shards-beyond-bound", "generate --jets 10 --shard 0 --num-shards 1000000 --out {out}/g.h5", 2, ["--num-shards", "positive and at most 100000"]),
    ("train-n-beyond-bound", f"{TRAIN} --n-constituents 5000", 2, ["--n-constituents", "positive and at most 1000"]),
    ("train-c-hidden-beyond-bound", f"{TRAIN} --c-hidden 100000", 2, ["--c-hidden", "positive and at most 1024"]),
    ("train-batch-beyond-bound", f"{TRAIN} --batch-size 100000000", 2, ["--batch-size", "positive and at most 65536"]),
    ("train-step-beyond-memory", f"{TRAIN} --c-hidden 1000 --n-constituents 1000 --batch-size 65536", 2,
     ["--batch-size 65536 with --n-constituents 1000 and --c-hidden 1000", "GiB, this machine has", "lower --batch-size"]),
    ("convert-reuse-beyond-bound", "convert hls_configs/nanopelican_c2_n8_8bit.yml --reuse-factor 1000000000", 2,
     ["--reuse-factor", "positive and at most 1048576"]),
    # 8. options that do not apply to the chosen model (issue 45, item 4)
    ("train-nanopelican-option-for-topodnn", f"{TRAIN} --model topodnn --scaled", 2, ["--c-hidden, --scaled", "--model topodnn has none"]),
    ("train-one-class-val", f"train --train {GOOD} --val {{bad}}/qcd_only.h5 --out {{out}}/run", 2, ["qcd_only.h5", "a ROC needs"]),
    ("compress-recipe-not-ternary", f"{COMPRESS} --bits 8 --recipe scratch --out {{out}}/q.h5", 2,
     ["--recipe applies to --bits ternary only", "--bits 8"]),
    ("compress-placement-not-ternary", f"{COMPRESS} --bits 4 --placement ends-8bit --out {{out}}/q.h5", 2, ["--placement applies to --bits ternary"]),
    ("compress-pair-weights-float", f"{COMPRESS} --bits float --pair-weights fixed --out {{out}}/q.keras", 2,
     ["--pair-weights applies to --bits 16, 8, 6 and 4 only"]),
    # 9. output names that name no file, refused before the jets are made
    ("generate-out-empty", "generate --jets 10 --out=", 2, ["''", "expected a file name"]),
    ("generate-out-folder-name", "generate --jets 10 --out {out}/new/", 2, ["new/", "expected a file name"]),
]


def run_cli(command, capsys):
    """(exit status, stdout, stderr) of the CLI run in-process on a command line."""
    capsys.readouterr()
    status = main(command.split())
    captured = capsys.readouterr()
    return status, captured.out, captured.err


@pytest.mark.parametrize("command,status,words", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_refused(command, status, words, bad, out, capsys):
    before = snapshot(bad, out)
    got, _, err = run_cli(command.format(bad=bad, out=out), capsys)
    lines = err.strip().splitlines()
    assert got == status and "Traceback" not in err
    assert len(lines) == 1 and lines[0].startswith("kerasjet: error: "), err
    for word in words:
        assert word in lines[0]
    assert snapshot(bad, out) == before  # no output appeared or changed


def test_nan_loss_then_the_corrected_command_trains_and_models_load_back(bad, out, capsys):
    """A NaN loss stops training with one line and leaves no run folder that would refuse the
    corrected command; that command trains (the one tiny epoch of this module), and the model
    it writes, and a compressed .keras copy, load back in `evaluate`, each row named by model."""
    before = snapshot(bad, out)
    status, _, err = run_cli(f"{TRAIN} --batchnorm --lr 1e30".format(bad=bad, out=out), capsys)
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "training loss became" in err and "nothing was kept" in err
    assert snapshot(bad, out) == before
    assert run_cli(TRAIN.format(bad=bad, out=out), capsys)[0] == 0
    status, table, _ = run_cli(f"evaluate {out}/run/best.keras {bad}/good.h5", capsys)
    assert status == 0 and "| run/best |" in table
    assert run_cli(f"{COMPRESS} --bits float --out {out}/small.keras".format(bad=bad), capsys)[0] == 0
    status, table, _ = run_cli(f"evaluate {out}/small.keras {bad}/good.h5", capsys)
    assert status == 0 and "| small |" in table


def test_empty_shard_is_valid_and_merges(bad, out, capsys):
    """More shards than blocks: shard 0 of 3 holds no jets, is a valid file, and merging works."""
    with h5py.File(bad / "s0of3.h5") as f:
        assert f["Pmu"].shape == (0, 200, 4)
    status, stdout, _ = run_cli(f"merge {bad}/s2of3.h5 {bad}/s0of3.h5 {bad}/s1of3.h5 --out {out}/merged.h5", capsys)
    assert status == 0 and "wrote 40 jets" in stdout
    assert len(read_jets(str(out / "merged.h5"))) == N_JETS


def test_lambda_model_loads_with_the_explicit_flag(bad, capsys):
    status, table, _ = run_cli(f"evaluate {bad}/lambda.h5 {bad}/good.h5 --allow-lambda", capsys)
    assert status == 0 and "| lambda |" in table


def test_version_and_help_defaults_units(capsys):
    assert run_cli("--version", capsys)[:2] == (0, f"kerasjet {__import__('kerasjet').__version__}\n")
    subcommands = build_parser()._subparsers._group_actions[0].choices
    for name, parser in subcommands.items():
        text = " ".join(parser.format_help().split())
        for action in parser._actions:
            if action.option_strings and action.default is not None and action.default is not False and action.dest != "help":
                assert f"(default: {action.default})" in text or "(default:" in (action.help or ""), (name, action.dest)
    generate_help = " ".join(subcommands["generate"].format_help().split())
    assert "window, ≥ 0 GeV (default: 500.0)" in generate_help
    for option, bound in (("--jets", "1 to 100,000,000"), ("--max-constituents", "1 to 1000"), ("--workers", "1 to 256"),
                          ("--seed", "0 to 2^63 - 1"), ("--num-shards", "1 to 100,000"), ("--pthat-max", "must reach into 367-975 GeV")):
        assert bound in " ".join(subcommands["generate"]._option_string_actions[option].help.split()), option
    train = subcommands["train"]._option_string_actions
    for option, words in (("--n-constituents", "1 to 1000"), ("--c-hidden", "nanoPELICAN only: hidden channels, 1 to 1024"),
                          ("--batch-size", "1 to 65,536"), ("--epochs", "1 to 10,000"), ("--scaled", "nanoPELICAN only"),
                          ("--dropout", "nanoPELICAN only"), ("--basis", "nanoPELICAN only"), ("--batchnorm", "nanoPELICAN only")):
        assert words in train[option].help, option
    compress = subcommands["compress"]._option_string_actions
    assert "--bits ternary only" in compress["--recipe"].help and "--bits ternary only" in compress["--placement"].help


def test_interrupt_says_what_was_kept(bad, out, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("kerasjet.train.train", interrupted)
    status, _, err = run_cli(TRAIN.format(bad=bad, out=out), capsys)
    assert status == 130 and "keeps the checkpoint of its last finished epoch" in err and "same command resumes" in err
    monkeypatch.setattr("kerasjet.data.generate.generate", interrupted)
    status, _, err = run_cli(f"generate --jets 5 --out {out}/g.h5", capsys)
    assert status == 130 and err == "kerasjet: interrupted; no partial output file was kept\n"


def test_scripts_end_a_refusal_with_one_line():
    """benchmarks/ and scripts/ run their main through kerasjet.errors.run_script: a KerasjetError
    from anywhere inside is one 'kerasjet: error:' line and exit status 1, not a traceback."""
    from kerasjet.errors import KerasjetError, run_script

    def main():
        raise KerasjetError("data/x.h5: no such file")

    with pytest.raises(SystemExit) as done:
        run_script(main)
    assert done.value.code == "kerasjet: error: data/x.h5: no such file"  # SystemExit prints it and exits 1
    assert done.value.__suppress_context__


# 6. job records and study.json (issue 45, item 3): refused with one line naming the file and key
# before any table, plot or claims.md is touched. A copy of the committed particle-level study is
# collected from its records alone (--collect) or judged from its study.json (--judge-only).
STUDY = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "results", "study", "particle")
RECORD = "jobs/deep_sets_seed_1.json"
COLLECT = "study --budget three-seed --level particle --collect --results {res} --dir {res}/nodata"
JUDGE = "study --judge-only --level particle --results {res}"


def _set_key(dotted, value):
    """A change of a JSON document: the key at ``dotted`` ('/'-separated, list indices as numbers) set (None: deleted)."""
    def change(data):
        *parents, last = dotted.split("/")
        for key in parents:
            data = data[int(key)] if isinstance(data, list) else data[key]
        if value is None:
            del data[last]
        else:
            data[int(last) if isinstance(data, list) else last] = value
    return change


NAN = float("nan")
# (id, command, file, change of its JSON (or its new text), words)
RECORD_ROWS = [
    ("record-auc-above-one", COLLECT, RECORD, _set_key("test/auc", 7.5), ["deep_sets_seed_1.json", "test.auc", "7.5", "[0, 1]"]),
    ("record-auc-nan", COLLECT, RECORD, _set_key("test/auc", NAN), ["deep_sets_seed_1.json", "test.auc", "nan"]),
    ("record-auc-string", COLLECT, RECORD, _set_key("test/auc", "0.9"), ["test.auc", "'0.9'"]),
    ("record-accuracy-missing", COLLECT, RECORD, _set_key("test/accuracy", None), ["deep_sets_seed_1.json", "test.accuracy: missing"]),
    ("record-accuracy-negative", COLLECT, RECORD, _set_key("test/accuracy", -0.1), ["test.accuracy", "[0, 1]"]),
    ("record-rejection-below-one", COLLECT, RECORD, _set_key("test/rejection_at_0.5", 0.5), ["test.rejection_at_0.5", "≥ 1"]),
    ("record-rejection-minus-inf", COLLECT, RECORD, _set_key("test/rejection_at_0.3", "-inf"), ["test.rejection_at_0.3", "'-inf'"]),
    ("record-val-loss-nan", COLLECT, RECORD, _set_key("summary/best_val_loss", NAN), ["summary.best_val_loss", "nan", "finite"]),
    ("record-val-loss-inf", COLLECT, RECORD, _set_key("summary/best_val_loss", "inf"), ["summary.best_val_loss", "'inf'", "finite"]),
    ("record-val-loss-missing", COLLECT, RECORD, _set_key("summary/best_val_loss", None), ["summary.best_val_loss: missing"]),
    ("record-roc-nan", COLLECT, RECORD, _set_key("roc/background_rejection/3", NAN), ["roc.background_rejection", "1/εB"]),
    ("record-roc-efficiency", COLLECT, RECORD, _set_key("roc/signal_efficiency/0", 2.0), ["roc.signal_efficiency", "(0, 1]"]),
    ("record-not-json", COLLECT, RECORD, "{'job': 1", ["deep_sets_seed_1.json", "not a readable job record"]),
    ("record-a-list", COLLECT, RECORD, "[]", ["deep_sets_seed_1.json", "(top level)", "not a JSON object"]),
    ("study-not-json", JUDGE, "study.json", "{rows", ["study.json", "the file: not readable JSON"]),
    ("study-nan-literal", JUDGE, "study.json", '{"provenance": {}, "rows": NaN}', ["study.json", "the file: holds NaN"]),
    ("study-a-list", JUDGE, "study.json", "[1, 2]", ["study.json", "(top level)", "not a JSON object"]),
    ("study-no-rows", JUDGE, "study.json", _set_key("rows", None), ["study.json", "rows: missing"]),
    ("study-no-provenance-key", JUDGE, "study.json", _set_key("provenance/test_jets", None), ["provenance.test_jets: missing"]),
    ("study-auc-above-one", JUDGE, "study.json", _set_key("rows/nanoPELICAN C=2/metrics/auc", [7.5, 0.01]),
     ["study.json", "rows.nanoPELICAN C=2.metrics.auc", "[mean, std]"]),
    ("study-accuracy-missing", JUDGE, "study.json", _set_key("rows/nanoPELICAN C=2/metrics/accuracy", None),
     ["rows.nanoPELICAN C=2.metrics.accuracy: missing"]),
    ("study-per-seed-accuracy", JUDGE, "study.json", _set_key("rows/nanoPELICAN C=2/per_seed/0/accuracy", 1.5),
     ["rows.nanoPELICAN C=2.per_seed[0].accuracy", "1.5"]),
    ("study-row-not-object", JUDGE, "study.json", _set_key("rows/nanoPELICAN C=2", 3), ["rows.nanoPELICAN C=2: not an object"]),
]


@pytest.mark.parametrize("command, name, change, words", [row[1:] for row in RECORD_ROWS], ids=[row[0] for row in RECORD_ROWS])
def test_bad_record_or_study_json_is_refused_before_any_table(command, name, change, words, tmp_path, capsys):
    import json

    res = tmp_path / "res"
    shutil.copytree(STUDY, res)
    path = res / name
    if isinstance(change, str):
        path.write_text(change)
    else:
        data = json.loads(path.read_text())
        change(data)
        path.write_text(json.dumps(data))
    before = snapshot(res)
    status, _, err = run_cli(command.format(res=res), capsys)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith(f"kerasjet: error: {path}: "), err
    for word in words:
        assert word in lines[0], lines[0]
    assert snapshot(res) == before  # tables.md, study.json, roc.png, claims.md, figure1.png untouched


def test_generate_refusals_come_within_seconds_and_before_tensorflow(tmp_path, bad):
    """The pTHat window that made generate loop forever is refused at once (the hang case: within
    a generous 60 s, start-up included), and trivial refusals come before TensorFlow is imported."""
    import subprocess
    import sys
    import time

    code = ("import sys; from kerasjet.cli import main; status = main(sys.argv[1:]); "
            "assert 'tensorflow' not in sys.modules, 'TensorFlow imported before the refusal'; sys.exit(status)")
    for argv in (["generate", "--jets", "10", "--out", str(tmp_path / "g.h5"), "--pthat-min", "1500", "--pthat-max", "2000"],
                 ["info", str(tmp_path / "missing.h5")],
                 ["convert", str(tmp_path / "missing.yml")],
                 ["evaluate", str(tmp_path / "missing.keras"), str(bad / "good.h5")],
                 ["fold", str(tmp_path / "model.txt")],
                 ["train", "--train", str(tmp_path / "missing.h5"), "--val", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "r")]):
        began = time.monotonic()
        done = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
        assert done.returncode == 2 and done.stderr.count("\n") == 1 and done.stderr.startswith("kerasjet: error: "), done.stderr
        assert time.monotonic() - began < 60
    assert list(tmp_path.iterdir()) == []


def test_a_generator_that_accepts_no_jet_says_so(monkeypatch):
    """Settings the up-front checks let through but that accept no jet (no jet within |η| < 0):
    the event loop stops after its bound with the reason instead of running forever."""
    from dataclasses import replace

    import kerasjet.data.generate as generate_module
    from kerasjet.data.generate import GeneratorSettings, ProcessJets
    from kerasjet.errors import KerasjetError

    import threading

    monkeypatch.setattr(generate_module, "MAX_EVENTS_WITHOUT_JET", 64)
    source = ProcessJets("background", 3, replace(GeneratorSettings(), level="particle", jet_abs_eta_max=0.0))
    raised = []

    def take():
        try:
            source.take(5)
        except KerasjetError as err:
            raised.append(str(err))

    worker = threading.Thread(target=take, daemon=True)  # without the bound it would never return
    worker.start()
    worker.join(timeout=120)
    assert not worker.is_alive(), "the event loop did not stop within 120 s"
    assert len(raised) == 1 and "the background generator accepted no jet in" in raised[0], raised
    assert 64 <= source.events < 64 + 256


def test_sigterm_during_generate_is_handled_like_ctrl_c(tmp_path):
    """SIGTERM (a batch system's time limit) while generate writes: exit 130 with the interrupt's
    one line, and no *.tmpPID file or output left behind."""
    import signal
    import subprocess
    import sys
    import time

    out = tmp_path / "g.h5"
    process = subprocess.Popen([sys.executable, "-m", "kerasjet.cli", "generate", "--jets", "3000", "--out", str(out)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(tmp_path.glob("g.h5.tmp*")) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert process.poll() is None, "generate finished before the signal"
    time.sleep(1.0)  # inside the event loop
    process.send_signal(signal.SIGTERM)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 130 and "kerasjet: interrupted; no partial output file was kept" in err, err
    assert "Traceback" not in err
    assert list(tmp_path.iterdir()) == []


def test_read_jets_refuses_an_empty_file_as_every_command_does(bad):
    from kerasjet.errors import KerasjetError

    with pytest.raises(KerasjetError, match=r"empty\.h5: the file holds no jets"):
        read_jets(str(bad / "empty.h5"))
    assert len(read_jets(str(bad / "s0of3.h5"), allow_empty=True).nobj) == 0  # an empty shard is a valid file


def test_a_resumed_run_names_the_option_that_differs(bad, out, capsys):
    """Resuming a run folder with another --lr names the option, not the internal key."""
    import json

    run = out / "run"
    run.mkdir()
    stored = {"model": "nanopelican", "model_kwargs": {"n_constituents": 8, "c_hidden": 1, "batchnorm": False, "scaled": False,
                                                      "dropout": 0.0, "basis": "nano"},
              "train": f"{bad}/good.h5", "val": f"{bad}/good.h5", "epochs": 1, "batch_size": 16, "learning_rate": 0.1}
    (run / "config.json").write_text(json.dumps(stored))
    before = snapshot(bad, out)
    status, _, err = run_cli(TRAIN.format(bad=bad, out=out), capsys)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and "config.json: --lr differs from this invocation" in lines[0], err
    assert "learning_rate = 0.1" in lines[0] and "(--out)" in lines[0]
    assert snapshot(bad, out) == before


def test_generate_stdout_holds_only_its_own_output(tmp_path):
    """FastJet's banner goes to stderr: stdout is the one line generate prints (1 and 2 workers)."""
    import subprocess
    import sys

    for workers in ("1", "2"):
        out = tmp_path / f"g{workers}.h5"
        done = subprocess.run([sys.executable, "-m", "kerasjet.cli", "generate", "--jets", "4", "--out", str(out), "--workers", workers],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == 1 and lines[0].startswith("wrote 4 detector-level jets (") and lines[0].endswith(f") to {out}"), lines


def test_an_interrupt_wrapped_by_a_c_extension_is_an_interrupt(out, capsys, monkeypatch):
    """Ctrl-C or SIGTERM while a C extension initialises (Pythia's import turns the
    KeyboardInterrupt into 'ImportError: initialization failed'): exit 130 with the interrupt's
    line, not a traceback."""
    def interrupted_import(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as interrupt:
            raise ImportError("initialization failed") from interrupt

    monkeypatch.setattr("kerasjet.data.generate.generate", interrupted_import)
    status, _, err = run_cli(f"generate --jets 5 --out {out}/g.h5", capsys)
    assert status == 130 and err == "kerasjet: interrupted; no partial output file was kept\n", err
