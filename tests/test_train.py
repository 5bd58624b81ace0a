"""Training regime: the learning-rate schedule's shape, resuming, run bookkeeping."""

import numpy as np
import pytest
import tensorflow as tf

from kerasjet.data.pipeline import InputSpec, load_inputs
from kerasjet.errors import KerasjetError
from kerasjet.models import load_model
from kerasjet.train import PaperSchedule, RunConfig, select_best, train


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
    assert straight["parameters"] == 21 + 2 * (1 + 2)  # BatchNorm: gamma and beta per channel, 1 then 2 channels


def test_changed_config_is_refused(jets_file, tmp_path):
    config = RunConfig(model="nanopelican", model_kwargs=dict(c_hidden=1, n_constituents=8), train=jets_file,
                       val=jets_file, epochs=1, batch_size=128)
    train(str(tmp_path / "run"), config, verbose=0)
    changed = RunConfig(**{**config.__dict__, "learning_rate": 1e-2})
    with pytest.raises(KerasjetError, match="'learning_rate' differs"):
        train(str(tmp_path / "run"), changed, verbose=0)
