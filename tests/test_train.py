"""Training regime: the learning-rate schedule's shape, resuming, run bookkeeping."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf

from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.errors import KerasjetError
from kerasjet.fold import fold, folded_logits
from kerasjet.models import build_model, load_model
from kerasjet.train import (NO_BATCHNORM_STEP_GAIN, START_SEED_STRIDE, PaperSchedule, RelativeAdam, RunConfig, WarmupCosine, build_run_model,
                            calibrate_momentum_scale, momentum_unit, run_optimizer, select_best, step_scales, train)


def lr_at(schedule, epoch):
    return float(schedule(int(round(epoch * schedule.steps_per_epoch))))


@pytest.mark.parametrize("epochs", [140, 14])
def test_schedule_shape(epochs):
    schedule = PaperSchedule(1e-2, steps_per_epoch=50, epochs=epochs)
    f = epochs / 140  # paper epoch → our epoch
    assert lr_at(schedule, 0) < 1e-3
    assert lr_at(schedule, 2 * f) == pytest.approx(5e-3, rel=0.02)  # half-way up the warm-up
    for restart in (4, 8, 16, 32, 64):  # cycles of 4, 8, 16, 32, 64 epochs after the warm-up
        assert lr_at(schedule, restart * f) == pytest.approx(1e-2, rel=1e-3)
    assert lr_at(schedule, 7.7 * f) < 5e-4  # end of the first cycle ≈ the floor, peak/100
    assert lr_at(schedule, 12 * f) == pytest.approx(0.5e-2 + 0.5e-4, rel=1e-2)  # half-way through the second
    assert lr_at(schedule, 128 * f) == pytest.approx(1e-4, rel=1e-3)  # start of the decay
    assert lr_at(schedule, 130 * f) == pytest.approx(0.25e-4, rel=1e-3)  # γ = 0.5 per paper epoch


def test_select_best():
    runs = [{"seed": s, "best_val_loss": v} for s, v in enumerate([0.3, 0.1, 0.4, 0.2])]
    assert [r["seed"] for r in select_best(runs, 2)] == [1, 3]


class Interrupt(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if epoch == 0:
            raise KeyboardInterrupt


def test_resume_after_interruption_matches_an_uninterrupted_run(jets_file, tmp_path):
    config = RunConfig(model="nanopelican", model_kwargs=dict(c_hidden=2, n_constituents=16), train=jets_file,
                       val=jets_file, epochs=2, batch_size=64, seed=3)
    straight = train(str(tmp_path / "straight"), config, verbose=0)
    with pytest.raises(KeyboardInterrupt):
        train(str(tmp_path / "resumed"), config, verbose=0, callbacks=[Interrupt()])
    assert not (tmp_path / "resumed" / "summary.json").exists()
    resumed = train(str(tmp_path / "resumed"), config, verbose=0)
    assert resumed["best_val_loss"] == pytest.approx(straight["best_val_loss"], rel=1e-6)
    history = [np.genfromtxt(tmp_path / run / "history.csv", delimiter=",", names=True) for run in ("straight", "resumed")]
    np.testing.assert_allclose(history[1]["loss"], history[0]["loss"], rtol=1e-6)
    inputs, _ = load_inputs(jets_file, InputSpec(16), 0, 50)
    outputs = [load_model(str(tmp_path / run / "best.keras")).predict(inputs, verbose=0) for run in ("straight", "resumed")]
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-5, atol=1e-6)
    assert straight["parameters"] == 21  # the default: the seed paper's model, without BatchNorm
    # the momentum unit is calibrated on the training jets and stored in the model
    assert straight["momentum_scale"] == calibrate_momentum_scale(jets_file, InputSpec(16))
    assert load_model(str(tmp_path / "straight" / "best.keras")).get_layer("lorentz_dot").momentum_scale == straight["momentum_scale"]


def test_changed_config_is_refused(jets_file, tmp_path):
    config = RunConfig(model="nanopelican", model_kwargs=dict(c_hidden=1, n_constituents=8), train=jets_file,
                       val=jets_file, epochs=1, batch_size=128)
    train(str(tmp_path / "run"), config, verbose=0)
    changed = RunConfig(**{**config.__dict__, "learning_rate": 1e-2})
    with pytest.raises(KerasjetError, match="--lr differs from this invocation \\(the run has learning_rate = 0.005\\)"):
        train(str(tmp_path / "run"), changed, verbose=0)


def test_multi_start_keeps_the_start_with_the_lowest_probe_loss(jets_file, tmp_path):
    """starts = 2: both starts train the probe epochs, the one with the lower validation loss
    trains on to the end, and the run folder holds its model, history and summary."""
    config = RunConfig(model="nanopelican", model_kwargs=dict(c_hidden=1, n_constituents=8), train=jets_file,
                       val=jets_file, epochs=3, batch_size=128, seed=4, starts=2, probe_epochs=1)
    summary = train(str(tmp_path / "run"), config, verbose=0)
    starts = [json.load(open(tmp_path / "run" / "starts" / f"start_{i}" / "state.json")) for i in range(2)]
    chosen = summary["start"]
    histories = [np.genfromtxt(tmp_path / "run" / "starts" / f"start_{i}" / "history.csv", delimiter=",", names=True) for i in range(2)]
    # each start is judged by its validation loss at the probe's last epoch, and the lowest is kept
    assert summary["probe_val_losses"] == [float(np.atleast_1d(h["val_loss"])[0]) for h in histories]
    assert chosen == int(np.argmin(summary["probe_val_losses"]))
    assert [s["epochs_done"] for s in starts] == [3 if i == chosen else 1 for i in range(2)]
    assert summary["seed"] == 4 and summary["start_seed"] == 4 + chosen * START_SEED_STRIDE
    assert len(np.genfromtxt(tmp_path / "run" / "history.csv", delimiter=",", names=True)) == 3
    assert (tmp_path / "run" / "best.keras").exists()
    assert train(str(tmp_path / "run"), config, verbose=0) == summary  # finished: reloaded, not retrained
    with pytest.raises(KerasjetError, match="--probe-epochs differs from this invocation \\(the run has probe_epochs = 1\\)"):
        train(str(tmp_path / "run"), RunConfig(**{**config.__dict__, "probe_epochs": 2}), verbose=0)


def test_a_start_is_judged_by_its_loss_at_the_end_of_its_probe(tmp_path):
    """A start that reached a low validation loss and then collapsed within its probe (LorentzNet-3,
    detector level, seed 1, start 1) is judged by where it ended, the state it would train on from."""
    from kerasjet.train import _probe_loss

    (tmp_path / "history.csv").write_text("epoch,val_loss\n0,0.55\n1,0.48\n2,0.279\n3,0.703\n4,0.6928\n5,0.2\n")
    assert _probe_loss(str(tmp_path), 5) == 0.6928  # not 0.279, and epoch 6 is past the probe
    # epoch 4 logged, interrupted before its checkpoint, trained again: the row written last counts
    (tmp_path / "history.csv").write_text("epoch,val_loss\n3,0.5\n4,0.45\n4,0.41\n")
    assert _probe_loss(str(tmp_path), 5) == 0.41
    (tmp_path / "history.csv").write_text("epoch,val_loss\n4,nan\n")
    assert _probe_loss(str(tmp_path), 5) == float("inf")  # never kept
    with pytest.raises(KerasjetError, match="no row for epoch 5"):
        _probe_loss(str(tmp_path), 6)


def _trained_logits(inputs, labels, momentum_scale, batchnorm, steps=40):
    """Logits and folded-form logits of a nanoPELICAN after ``steps`` Adam steps on one batch."""
    tf.keras.utils.set_random_seed(5)
    model = build_model("nanopelican", c_hidden=2, n_constituents=16, batchnorm=batchnorm, momentum_scale=momentum_scale)
    model.compile(tf.keras.optimizers.Adam(1e-2), tf.keras.losses.BinaryCrossentropy(from_logits=True))
    for _ in range(steps):
        model.train_on_batch(inputs, labels)
    logits = model.predict(inputs, verbose=0)[:, 0]
    return logits, folded_logits(fold(model), inputs["pmu"], inputs["mask"]), model


@pytest.mark.parametrize("batchnorm", [True, False])
def test_training_does_not_depend_on_the_momentum_unit(jets_file, batchnorm):
    """Momenta in GeV or in units of 100 GeV: the calibrated unit follows them, and the trained
    models (and their folded forms) give the same logits."""
    gev, labels = load_inputs(jets_file, InputSpec(16), 0, 128)
    hecto, _ = load_inputs(jets_file, InputSpec(16, momentum_scale=100.0), 0, 128)
    unit_gev, unit_hecto = momentum_unit(gev["pmu"], gev["mask"]), momentum_unit(hecto["pmu"], hecto["mask"])
    assert unit_gev == pytest.approx(100 * unit_hecto, rel=1e-3)
    logits_gev, folded_gev, model_gev = _trained_logits(gev, labels, unit_gev, batchnorm)
    logits_hecto, folded_hecto, _ = _trained_logits(hecto, labels, unit_hecto, batchnorm)
    assert np.std(logits_gev) > 0.1  # it learned something
    np.testing.assert_allclose(logits_hecto, logits_gev, rtol=1e-3, atol=1e-3 * np.std(logits_gev))
    np.testing.assert_allclose(folded_hecto, folded_gev, rtol=1e-3, atol=1e-3 * np.std(logits_gev))
    # the firmware's unit (100 GeV) is a separate choice that folding absorbs
    firmware_form = fold(model_gev, momentum_scale=100.0)
    assert firmware_form["momentum_scale"] == 100.0
    np.testing.assert_allclose(folded_logits(firmware_form, gev["pmu"], gev["mask"]), folded_gev, rtol=1e-6, atol=1e-6)


def test_model_without_batchnorm_learns(thousand_jets):
    """The 21-parameter model in the calibrated unit: the loss falls from ln 2 = 0.69 below 0.40 in
    300 steps (in units of 100 GeV it stayed at 0.69: every d_ij ≪ the initial hidden bias)."""
    inputs, labels = load_inputs(thousand_jets, InputSpec(32))
    tf.keras.utils.set_random_seed(0)
    model = build_model("nanopelican", c_hidden=2, n_constituents=32, batchnorm=False,
                        momentum_scale=momentum_unit(inputs["pmu"], inputs["mask"]))
    model.compile(tf.keras.optimizers.Adam(5e-3), tf.keras.losses.BinaryCrossentropy(from_logits=True))
    history = model.fit(inputs, labels, batch_size=128, epochs=38, verbose=0)  # 8 batches an epoch
    assert history.history["loss"][-1] < 0.40


def test_warmup_cosine_shape():
    schedule = WarmupCosine(1e-2, steps_per_epoch=50, epochs=16, warmup_epochs=1)
    assert lr_at(schedule, 0) < 1e-3
    assert lr_at(schedule, 0.5) == pytest.approx(5e-3, rel=0.05)  # half-way up the warm-up
    assert lr_at(schedule, 1) == pytest.approx(1e-2, rel=1e-3)
    assert lr_at(schedule, 8.5) == pytest.approx(0.5e-2 + 0.5e-4, rel=1e-3)  # half-way down the cosine
    assert lr_at(schedule, 16) == pytest.approx(1e-4, rel=1e-3)  # peak/100 at the end


def test_parity_benchmark_tiny_mode(tmp_path):
    """benchmarks/parity.py --tiny: the kerasjet side end to end (files, both models, table); then
    --finished-only (under another --name), --reference-from, and a refused --name."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    done = subprocess.run([sys.executable, f"{root}/benchmarks/parity.py", "--tiny", "--workers", "1", "--data", str(tmp_path / "data"),
                           "--out", str(tmp_path / "out")], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    sides = json.loads((tmp_path / "out" / "parity.json").read_text())["sides"]
    assert set(sides) == {"kerasjet, BatchNorm", "kerasjet, BatchNorm, best of 3 starts", "kerasjet, no BatchNorm"}
    assert [run["parameters"] for run in (sides["kerasjet, BatchNorm"]["runs"][0], sides["kerasjet, no BatchNorm"]["runs"][0])] == [27, 21]
    assert all(0.5 < side["runs"][0]["auc"] <= 1 for side in sides.values())
    assert "| kerasjet, no BatchNorm | 21 |" in (tmp_path / "out" / "parity.md").read_text()
    # --finished-only trains nothing: the reference's runs (a checkout given, nothing trained) are named as not run
    reference = tmp_path / "PELICAN-nano"
    reference.mkdir()
    (reference / "train_pelican_nano.py").write_text("raise SystemExit('must not run')\n")
    done = subprocess.run([sys.executable, f"{root}/benchmarks/parity.py", "--tiny", "--data", str(tmp_path / "data"), "--finished-only",
                           "--reference", str(reference), "--out", str(tmp_path / "finished"), "--name", "finished"],
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    stored = json.loads((tmp_path / "finished" / "finished.json").read_text())
    assert "--name finished" in (tmp_path / "finished" / "finished.md").read_text()  # the invocation that wrote it
    assert set(stored["sides"]) == set(sides)
    assert stored["budget"]["not_run"] == ["PELICAN-nano, BatchNorm, seed 1", "PELICAN-nano, no BatchNorm, seed 1"]
    # --reference-from: the committed comparison's rows are carried over only onto the same files and budget
    committed = os.path.join(root, "results", "parity", "parity.json")
    refused = subprocess.run([sys.executable, f"{root}/benchmarks/parity.py", "--tiny", "--data", str(tmp_path / "data"), "--finished-only",
                              "--reference-from", committed, "--out", str(tmp_path / "carried")], capture_output=True, text=True, timeout=600)
    assert refused.returncode == 1 and "Traceback" not in refused.stderr
    assert "budget key 'jets'" in refused.stderr and not (tmp_path / "carried").exists()
    tiny = json.loads((tmp_path / "out" / "parity.json").read_text())
    tiny["sides"]["PELICAN-nano, BatchNorm"] = tiny["sides"]["kerasjet, BatchNorm"]
    (tmp_path / "tiny_with_reference.json").write_text(json.dumps(tiny))
    carried = subprocess.run([sys.executable, f"{root}/benchmarks/parity.py", "--tiny", "--data", str(tmp_path / "data"), "--finished-only",
                              "--reference-from", str(tmp_path / "tiny_with_reference.json"), "--out", str(tmp_path / "carried")],
                             capture_output=True, text=True, timeout=600)
    assert carried.returncode == 0, carried.stderr[-2000:]
    assert set(json.loads((tmp_path / "carried" / "parity.json").read_text())["sides"]) == set(sides) | {"PELICAN-nano, BatchNorm"}
    assert "carried over from" in (tmp_path / "carried" / "parity.md").read_text()
    assert "Not finished, so not in the table" in (tmp_path / "finished" / "finished.md").read_text()
    refused = subprocess.run([sys.executable, f"{root}/benchmarks/parity.py", "--tiny", "--name", "../elsewhere"],
                             capture_output=True, text=True, timeout=600)
    assert refused.returncode == 1 and refused.stderr.strip() == "kerasjet: error: --name '../elsewhere': a file name without folder (the folder is --out)"


def test_no_batchnorm_runs_take_steps_relative_to_their_weights(thousand_jets):
    """run_optimizer: a nanoPELICAN without BatchNorm gets RelativeAdam, whose first step moves every
    weight of a LinEq2→2 basis element by the same fraction of that element's mean |w|
    (NO_BATCHNORM_STEP_GAIN × the learning rate), whatever the element's scale; with BatchNorm, Adam."""
    kwargs = {"c_hidden": 2, "n_constituents": 16}
    no_bn = RunConfig("nanopelican", {**kwargs, "batchnorm": False}, thousand_jets, thousand_jets, epochs=2)
    model, _ = build_run_model(no_bn, no_bn.input_spec())
    optimizer = run_optimizer(model, no_bn, steps_per_epoch=8)
    assert isinstance(optimizer, RelativeAdam)
    with_bn = RunConfig("nanopelican", {**kwargs, "batchnorm": True}, thousand_jets, thousand_jets, epochs=2)
    assert type(run_optimizer(build_run_model(with_bn, with_bn.input_spec())[0], with_bn, 8)) is tf.keras.optimizers.Adam

    kernel = model.get_layer("lineq_2to2").kernel  # (6 basis elements, 1, C)
    size = np.abs(kernel.numpy()).mean(axis=(1, 2), keepdims=True)
    assert size.max() / size.min() > 3  # the elements' scales differ after the data-dependent initialisation
    before = kernel.numpy()
    constant = RelativeAdam([(v, NO_BATCHNORM_STEP_GAIN * s) for v, s in step_scales(model)], 1e-3)
    constant.apply_gradients([(tf.ones_like(kernel), kernel)])
    np.testing.assert_allclose((before - kernel.numpy()) / size, NO_BATCHNORM_STEP_GAIN * 1e-3, rtol=1e-3)


def test_train_builds_the_papers_nanopelican_unless_told_otherwise():
    """`kerasjet train` flags → builder arguments: no BatchNorm by default, --batchnorm adds it,
    four-momenta unless --input-format names trigger words (nanoPELICAN and the constituent
    peers), and these flags with another model are refused."""
    from kerasjet.cli import _model_kwargs, build_parser
    from kerasjet.errors import KerasjetError

    base = "train --train t.h5 --val v.h5 --out runs/x --n-constituents 16".split()
    parse = build_parser().parse_args
    assert _model_kwargs(parse(base))["batchnorm"] is False
    assert _model_kwargs(parse(base + ["--batchnorm"]))["batchnorm"] is True
    assert _model_kwargs(parse(base + ["--no-batchnorm"]))["batchnorm"] is False
    for flag in ("--batchnorm", "--no-batchnorm"):
        with pytest.raises(KerasjetError, match="--batchnorm/--no-batchnorm: nanoPELICAN options"):
            _model_kwargs(parse(base + ["--model", "topodnn", flag]))
    assert _model_kwargs(parse(base + ["--model", "topodnn"])) == {"n_constituents": 16}
    assert "input_format" not in _model_kwargs(parse(base))  # four-momenta unless told otherwise
    assert _model_kwargs(parse(base + ["--input-format", "cms-phase2"]))["input_format"] == "cms-phase2"
    assert _model_kwargs(parse(base + ["--model", "deep_sets", "--input-format", "cms-phase2"])) == \
        {"n_constituents": 16, "input_format": "cms-phase2"}
    with pytest.raises(KerasjetError, match="--input-format: --model topodnn does not start from trigger words"):
        _model_kwargs(parse(base + ["--model", "topodnn", "--input-format", "cms-phase2"]))
