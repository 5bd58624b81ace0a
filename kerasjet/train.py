"""Training in the seed paper's regime, resumable, logged, deterministic, over one or many seeds.

Regime (for the full 140 epochs): batch 512, Adam without weight decay (a nanoPELICAN without
BatchNorm: steps relative to its weights, run_optimizer), binary cross-entropy on
the logit; learning rate: linear warm-up over 4 epochs to the peak, cosine annealing with warm
restarts (T0 = 4, T_mult = 2, cycles of 4, 8, 16, 32, 64 epochs, down to peak/100) for 124
epochs, then exponential decay (γ = 0.5 per epoch) for 12 epochs. ``epochs`` < 140 shrinks every
phase by epochs/140, keeping the shape.

A run directory holds ``config.json`` (everything needed to rebuild and resume), ``best.keras``
(lowest validation loss), ``checkpoint/`` (weights and optimizer after the last finished
epoch), ``state.json``, ``history.csv``, ``tensorboard/`` and, when done, ``summary.json``.
"""

import csv
import json
import math
import os
import shutil
from dataclasses import MISSING, asdict, dataclass, field, fields

import numpy as np
import tensorflow as tf

from kerasjet import kinematics
from kerasjet.data.io import signal_fraction
from kerasjet.data.pipeline import InputSpec, load_inputs, make_dataset
from kerasjet.errors import KerasjetError
from kerasjet.files import write_json
from kerasjet.metrics import called_top_from_accuracy, threshold_note
from kerasjet.models import build_model, save_model
from kerasjet.models.nanopelican import has_batchnorm, initialise_from_data

# models whose input unit is calibrated on the training jets (their builders take momentum_scale)
CALIBRATED_MODELS = ("nanopelican",)
CALIBRATION_JETS = 8192
INITIALISATION_JETS = 2048

PAPER_EPOCHS = 140
WARMUP_EPOCHS, FIRST_CYCLE, CYCLE_GROWTH, COSINE_EPOCHS, DECAY_EPOCHS, DECAY_GAMMA = 4, 4, 2, 124, 12, 0.5
MINIMUM_RATIO = 0.01


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class PaperSchedule(tf.keras.optimizers.schedules.LearningRateSchedule):
    """The seed paper's learning rate against the optimizer step (see the module docstring)."""

    def __init__(self, peak, steps_per_epoch, epochs=PAPER_EPOCHS):
        self.peak = float(peak)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = float(epochs)

    def __call__(self, step):
        # position in "paper epochs" (0 … 140)
        e = tf.cast(step, tf.float32) / self.steps_per_epoch * (PAPER_EPOCHS / self.epochs)
        floor = self.peak * MINIMUM_RATIO
        warmup = self.peak * (e + 1.0 / self.steps_per_epoch) / WARMUP_EPOCHS
        t = tf.maximum(e - WARMUP_EPOCHS, 0.0)
        cycle = tf.floor(tf.math.log(t / FIRST_CYCLE + 1.0) / math.log(CYCLE_GROWTH))
        start = FIRST_CYCLE * (CYCLE_GROWTH**cycle - 1.0)
        length = FIRST_CYCLE * CYCLE_GROWTH**cycle
        cosine = floor + 0.5 * (self.peak - floor) * (1.0 + tf.cos(math.pi * (t - start) / length))
        decay = floor * DECAY_GAMMA ** (e - WARMUP_EPOCHS - COSINE_EPOCHS)
        return tf.where(e < WARMUP_EPOCHS, warmup, tf.where(e < WARMUP_EPOCHS + COSINE_EPOCHS, cosine, decay))

    def get_config(self):
        return {"peak": self.peak, "steps_per_epoch": self.steps_per_epoch, "epochs": self.epochs}


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class WarmupCosine(tf.keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up over ``warmup_epochs`` to the peak, then one cosine down to peak/100 at the
    end of ``epochs`` (the learning rate against the optimizer step)."""

    def __init__(self, peak, steps_per_epoch, epochs, warmup_epochs=1.0):
        self.peak = float(peak)
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = float(epochs)
        self.warmup_epochs = float(warmup_epochs)

    def __call__(self, step):
        e = tf.cast(step, tf.float32) / self.steps_per_epoch
        floor = self.peak * MINIMUM_RATIO
        warmup = self.peak * (e + 1.0 / self.steps_per_epoch) / self.warmup_epochs
        progress = tf.clip_by_value((e - self.warmup_epochs) / max(self.epochs - self.warmup_epochs, 1e-9), 0.0, 1.0)
        cosine = floor + 0.5 * (self.peak - floor) * (1.0 + tf.cos(math.pi * progress))
        return tf.where(e < self.warmup_epochs, warmup, cosine)

    def get_config(self):
        return {"peak": self.peak, "steps_per_epoch": self.steps_per_epoch, "epochs": self.epochs,
                "warmup_epochs": self.warmup_epochs}


SCHEDULES = ("paper", "cosine")
# multi-start (RunConfig.starts > 1): epochs each start trains before the best one is kept, and
# the seed offset between starts (start i trains with seed + i·START_SEED_STRIDE)
PROBE_EPOCHS = 5
START_SEED_STRIDE = 10_000


@dataclass
class RunConfig:
    """Everything that defines a training run (stored as the run's config.json)."""

    model: str
    model_kwargs: dict
    train: str
    val: str
    epochs: int = PAPER_EPOCHS
    batch_size: int = 512
    learning_rate: float = 5e-3
    seed: int = 0
    schedule: str = "paper"
    starts: int = 1
    probe_epochs: int = PROBE_EPOCHS
    extra: dict = field(default_factory=dict)

    def input_spec(self):
        return InputSpec(n_constituents=self.model_kwargs.get("n_constituents", 80), input_format=self.model_kwargs.get("input_format"))


class _EpochState(tf.keras.callbacks.Callback):
    """After each epoch: save best.keras on a new lowest validation loss, checkpoint weights and
    optimizer, and record the epoch and the best loss (in that order, so a crash in between
    never loses the best model)."""

    def __init__(self, run_dir, checkpoint, best_val_loss):
        super().__init__()
        self.run_dir = run_dir
        self.checkpoint = checkpoint
        self.best_val_loss = best_val_loss

    def on_epoch_end(self, epoch, logs=None):
        val_loss = float(logs["val_loss"])
        if val_loss < self.best_val_loss:
            self.best_val_loss = val_loss
            save_model(self.model, os.path.join(self.run_dir, "best.keras"))
        self.checkpoint.write(os.path.join(self.run_dir, "checkpoint", "last"))
        write_json({"epochs_done": epoch + 1, "best_val_loss": self.best_val_loss}, os.path.join(self.run_dir, "state.json"))


class _StopOnNonFiniteLoss(tf.keras.callbacks.Callback):
    """Stop at the first NaN/inf training loss with a KerasjetError naming the cause and what
    was kept (the checkpoint of the last finished epoch, from which the run resumes)."""

    def __init__(self, run_dir):
        super().__init__()
        self.run_dir, self.epoch = run_dir, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        loss = float((logs or {}).get("loss", 0.0))
        if not math.isfinite(loss):
            kept = (f"the checkpoint after epoch {self.epoch} is kept: the same command resumes from it, a lower --lr "
                    "needs a new run folder" if self.epoch else "no epoch finished, so nothing was kept")
            raise KerasjetError(f"{self.run_dir}: training loss became {loss} in epoch {self.epoch + 1}, batch {batch + 1} "
                                f"(learning rate too high for these inputs?); {kept}")


class _ThresholdWatch(tf.keras.callbacks.Callback):
    """Say once, after the first epoch whose val_accuracy equals the validation file's fraction
    of one class while its val_auc is high (kerasjet.metrics.threshold_note), that the threshold
    is uncalibrated — rather than print accuracy 0.5000 epoch after epoch without a word. Quiet
    at verbose 0; the file's class fraction is read at the first epoch that needs it."""

    def __init__(self, val_path, verbose):
        super().__init__()
        self.val_path, self.verbose, self.signal_fraction, self.said = val_path, verbose, None, False

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.said or not self.verbose or "val_accuracy" not in logs or "val_auc" not in logs:
            return
        if self.signal_fraction is None:
            self.signal_fraction = signal_fraction(self.val_path)
        accuracy = float(logs["val_accuracy"])
        called_top = called_top_from_accuracy(accuracy, self.signal_fraction)
        note = None if called_top is None else threshold_note(accuracy, float(logs["val_auc"]), called_top)
        if note:
            print(f"note (epoch {epoch + 1}, validation jets): {note}")
            self.said = True


def _forget_failed_start(run_dir, created):
    """After a run that finished no epoch: remove what it wrote (the whole folder if this call
    created it), so that a corrected command is not refused by a stale config.json."""
    if created:
        shutil.rmtree(run_dir, ignore_errors=True)
    elif os.path.exists(os.path.join(run_dir, "config.json")):
        os.remove(os.path.join(run_dir, "config.json"))


def momentum_unit(pmu, mask):
    """The unit s in which the products d_ij = p_i·p_j / s² of the real constituent pairs of
    pmu (B, N, 4), mask (B, N) have unit root-mean-square, in the unit of pmu, to 4 significant
    digits. Momenta written in another unit scale s with them: a model built with
    ``momentum_scale=s`` sees the same d_ij whatever unit its inputs arrive in."""
    sum_squares, pairs = 0.0, 0.0
    for start in range(0, len(pmu), 1024):
        p = np.asarray(pmu[start:start + 1024], np.float64) * np.asarray(mask[start:start + 1024], np.float64)[..., None]
        d = kinematics.minkowski_dot(p[:, :, None, :], p[:, None, :, :])  # zero on padding
        sum_squares += float(np.sum(d * d))
        pairs += float(np.sum(np.sum(mask[start:start + 1024], axis=1, dtype=np.float64) ** 2))
    rms = math.sqrt(sum_squares / max(pairs, 1.0))
    if not rms > 0:
        raise KerasjetError("no constituent pair with p_i·p_j ≠ 0 to calibrate the momentum unit on")
    return float(f"{math.sqrt(rms):.4g}")


def calibrate_momentum_scale(path, spec, inputs=None):
    """``momentum_unit`` of the first CALIBRATION_JETS jets of ``path`` as the pipeline delivers
    them (in units of ``spec.momentum_scale`` GeV; trigger words as the massless momenta they
    describe, in GeV); ``inputs``: those jets, if already loaded."""
    if inputs is None:
        inputs, _ = load_inputs(path, spec, 0, CALIBRATION_JETS)
    if spec.input_format is None:
        pmu = inputs["pmu"]
    else:
        from kerasjet.data.words import input_format, massless_momenta

        pmu = massless_momenta(inputs["words"], inputs["mask"], input_format(spec.input_format))
    try:
        return momentum_unit(pmu, inputs["mask"])
    except KerasjetError as err:
        raise KerasjetError(f"{path}: {err}") from None


def build_run_model(config, spec):
    """The run's model and its builder arguments. A nanoPELICAN gets the momentum unit calibrated
    on the training file (unless the run fixes it) and, without BatchNorm, the data-dependent
    initialisation on the first INITIALISATION_JETS of the same jets."""
    kwargs = dict(config.model_kwargs)
    if config.model not in CALIBRATED_MODELS:
        return build_model(config.model, **kwargs), kwargs
    calibration, _ = load_inputs(config.train, spec, 0, CALIBRATION_JETS)
    kwargs.setdefault("momentum_scale", calibrate_momentum_scale(config.train, spec, calibration))
    model = build_model(config.model, **kwargs)
    if not has_batchnorm(model):
        initialise_from_data(model, {key: value[:INITIALISATION_JETS] for key, value in calibration.items()})
    return model, kwargs


def learning_rate_schedule(config, steps_per_epoch):
    """The run's learning rate against the optimizer step."""
    if config.schedule == "paper":
        return PaperSchedule(config.learning_rate, steps_per_epoch, config.epochs)
    if config.schedule == "cosine":
        return WarmupCosine(config.learning_rate, steps_per_epoch, config.epochs)
    raise KerasjetError(f"schedule '{config.schedule}' is not one of {', '.join(SCHEDULES)}")


class RelativeAdam(tf.keras.optimizers.Adam):
    """Adam whose step on a variable is multiplied by a fixed per-group ``scale`` — Adam on
    w / scale, in effect.

    Adam moves every weight by about the learning rate per step whatever its size. A nanoPELICAN's
    weights span decades: folded in the firmware's unit (the readout of the C = 10 parity model
    alone: 1 to 635; with plain Adam at 10⁻³, six epochs of ternary fine-tuning gave three seeds
    the same test AUC to four digits), and without BatchNorm, where each basis element's weights
    take the scale of its aggregate. ``step_scales`` gives each variable its group's absmean.
    """

    def __init__(self, scales, learning_rate, **kwargs):
        super().__init__(learning_rate, **kwargs)
        self._step_scales = {variable.ref(): tf.constant(scale, variable.dtype) for variable, scale in scales}

    def update_step(self, gradient, variable):
        scale = self._step_scales.get(variable.ref())
        if scale is None:
            return super().update_step(gradient, variable)
        before = tf.identity(variable)
        super().update_step(gradient, variable)
        variable.assign(before + scale * (variable - before))


def step_scales(model):
    """[(variable, scale)] for the LinEq layers of a nanoPELICAN (float, folded or quantized): a
    kernel's absmean per group (basis element of LinEq2→2, hidden channel of the readout: the
    ternary groups), a bias tensor's absmean (at least 2^-8, the hidden type's step); empty for
    other models."""
    scales = []
    for layer in model.layers:
        if layer.name not in ("lineq_2to2", "lineq_2to0"):
            continue
        for variable in layer.trainable_weights:
            value = np.abs(variable.numpy())
            if variable.name.split("/")[-1].startswith("kernel"):
                axes = tuple(a for a in range(value.ndim) if a != (0 if layer.name == "lineq_2to2" else 1))
                scale = np.maximum(value.mean(axis=axes, keepdims=True), 1e-6)
            else:
                scale = np.full_like(value, max(value.mean(), 2.0**-8))
            scales.append((variable, np.broadcast_to(scale, value.shape).astype(np.float32)))
    return scales


# a nanoPELICAN without BatchNorm takes steps relative to its weights' sizes (RelativeAdam), this
# many times the peak learning rate. On the detector-level study files (C = 2, the default peak
# 5e-3, 16 epochs), validation AUC of seeds 1 / 2: gain 1 0.9496 / —, gain 4 0.9685 / 0.9628,
# gain 10 0.9716 / 0.9652; plain Adam 0.9448 / —; the BatchNorm model 0.9702 / 0.9597
NO_BATCHNORM_STEP_GAIN = 10.0


def run_optimizer(model, config, steps_per_epoch):
    """The run's optimizer on the run's schedule: Adam, or for a nanoPELICAN without BatchNorm
    RelativeAdam, each weight group's steps NO_BATCHNORM_STEP_GAIN × the learning rate times its
    size after the data-dependent initialisation (step_scales) — the scale-free steps that
    BatchNorm gives the layers it normalises."""
    schedule = learning_rate_schedule(config, steps_per_epoch)
    if config.model in CALIBRATED_MODELS and not has_batchnorm(model):
        return RelativeAdam([(v, NO_BATCHNORM_STEP_GAIN * s) for v, s in step_scales(model)], schedule)
    return tf.keras.optimizers.Adam(schedule)


def _read_json(path):
    with open(path) as f:
        return json.load(f)


def config_difference(config_path, config, same_file_names=False):
    """The first key in which a run's stored config.json differs from ``config``, or None (keys
    that runs of older versions lack count as their defaults). With ``same_file_names`` the train
    and validation files count as equal when their file names are (a run recorded from another
    working directory)."""
    wanted = json.loads(json.dumps(asdict(config)))
    defaults = {f.name: f.default for f in fields(RunConfig) if f.default is not MISSING}
    stored = {**{key: defaults[key] for key in wanted if key in defaults}, **_read_json(config_path)}
    if same_file_names:
        for key in ("train", "val"):
            stored[key], wanted[key] = os.path.basename(str(stored.get(key))), os.path.basename(wanted[key])
    return next((k for k in wanted if stored.get(k) != wanted[k]), None)


# the command-line options of RunConfig's keys, for messages (option names, not internal keys)
OPTION_NAMES = {"model": "--model", "model_kwargs": "the model options (--n-constituents, --c-hidden, --basis, --scaled, "
                "--batchnorm, --dropout)", "train": "--train", "val": "--val", "epochs": "--epochs", "batch_size": "--batch-size",
                "learning_rate": "--lr", "seed": "--seed", "schedule": "--schedule", "starts": "--starts",
                "probe_epochs": "--probe-epochs"}


def _check_same_config(config_path, config):
    """Refuse to resume a run whose stored config.json differs from ``config``, naming the
    command-line option (and the key of config.json)."""
    key = config_difference(config_path, config)
    if key is not None:
        stored = _read_json(config_path).get(key)
        option = OPTION_NAMES.get(key, f"'{key}'")
        raise KerasjetError(f"{config_path}: {option} differs from this invocation (the run has {key} = {stored!r:.80}); "
                            "use a new run directory (--out)")


# nanoPELICAN holds its pair arrays (B, N, N, C) float32 several times at the peak of a training step
# (the LinEq2to2 basis' aggregations, activations and their gradients): at least this many
PAIR_ARRAYS_AT_PEAK = 8


def physical_memory():
    """Bytes of physical memory of this machine (0 if unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return 0


def memory_estimate(config):
    """A lower bound of the bytes one training step of ``config`` holds: nanoPELICAN's pair
    arrays (PAIR_ARRAYS_AT_PEAK × batch × N² × max(C, 1) float32), every model's input batch."""
    n = config.model_kwargs.get("n_constituents", 80)
    need = config.batch_size * n * 5 * 4
    if config.model == "nanopelican":
        need += PAIR_ARRAYS_AT_PEAK * config.batch_size * n * n * max(config.model_kwargs.get("c_hidden", 2), 1) * 4
    return need


def check_memory(config):
    """KerasjetError before anything is allocated when a training step of ``config`` cannot fit
    in this machine's memory (memory_estimate against physical_memory)."""
    need, have = memory_estimate(config), physical_memory()
    if have and need > have:
        kwargs = config.model_kwargs
        raise KerasjetError(
            f"--batch-size {config.batch_size} with --n-constituents {kwargs.get('n_constituents', 80)}"
            + (f" and --c-hidden {kwargs.get('c_hidden', 2)}" if config.model == "nanopelican" else "")
            + f": a training step needs at least {need / 2**30:.1f} GiB, this machine has {have / 2**30:.1f} GiB; "
            "lower --batch-size or the model's size")


def train(run_dir, config, verbose=1, callbacks=()):
    """Train (or resume) the run in ``run_dir``; returns its summary dict.

    With ``config.starts`` = K > 1 the run is a multi-start (see ``train_best_start``).
    Extra Keras ``callbacks`` run after kerasjet's own (checkpointing, logging). Every jet of
    ``config.train`` and ``config.val`` is validated first (by ``make_dataset``); config.json is
    written only when training starts, and removed again if no epoch finishes.
    """
    if config.starts < 1 or config.probe_epochs < 1:
        raise KerasjetError(f"starts and probe_epochs must be at least 1 (got {config.starts}, {config.probe_epochs})")
    check_memory(config)
    if config.starts > 1:
        return train_best_start(run_dir, config, verbose, callbacks)
    return _train_run(run_dir, config, verbose, callbacks)


def train_best_start(run_dir, config, verbose=1, callbacks=()):
    """Multi-start training: K = ``config.starts`` initialisations (seeds seed + i·START_SEED_STRIDE)
    each train the first ``config.probe_epochs`` epochs of the schedule in run_dir/starts/start_i;
    the one with the lowest validation loss at the end of its probe trains on to ``config.epochs``, and its
    best.keras, history.csv and summary are copied into ``run_dir``.

    Why: a nanoPELICAN start can settle on the mass-like solution (every hidden ReLU open on
    almost every pair, validation AUC 0.92–0.94), and whether it does shows in the validation
    loss of the first epochs (results/parity/recipe.md); starts are cheaper than whole seeds.
    Resumable like a single run.
    """
    summary_path = os.path.join(run_dir, "summary.json")
    config_path = os.path.join(run_dir, "config.json")
    if os.path.exists(config_path):
        _check_same_config(config_path, config)
    if os.path.exists(summary_path):
        return _read_json(summary_path)
    starts = [RunConfig(**{**asdict(config), "starts": 1, "seed": config.seed + i * START_SEED_STRIDE}) for i in range(config.starts)]
    probe_epochs = min(config.probe_epochs, config.epochs)
    start_dirs = [os.path.join(run_dir, "starts", f"start_{i}") for i in range(config.starts)]
    probe_losses = []
    for i, (start, start_dir) in enumerate(zip(starts, start_dirs)):
        if verbose:
            print(f"start {i + 1}/{config.starts} (starts/start_{i}, seed {start.seed}): {probe_epochs} epochs")
        _train_run(start_dir, start, verbose, callbacks, stop_after=config.probe_epochs)
        probe_losses.append(_probe_loss(start_dir, probe_epochs))
        if not os.path.exists(config_path):  # once a start has trained, as a single run writes it
            write_json(asdict(config), config_path)
    chosen = int(np.argmin(probe_losses))
    if verbose:
        print(f"kept start {chosen + 1}/{config.starts} (starts/start_{chosen}, summary.json 'start': {chosen}; validation loss "
              f"{probe_losses[chosen]:.4f} at epoch {probe_epochs})")
    summary = _train_run(start_dirs[chosen], starts[chosen], verbose, callbacks)
    for name in ("best.keras", "history.csv"):
        shutil.copyfile(os.path.join(start_dirs[chosen], name), os.path.join(run_dir, name))
    summary = {**summary, "run_dir": run_dir, "seed": config.seed, "start": chosen, "start_seed": starts[chosen].seed,
               "probe_val_losses": probe_losses}
    write_json(summary, summary_path)
    return summary


def _probe_loss(start_dir, probe_epochs):
    """The validation loss of a start at the end of its probe, epoch ``probe_epochs`` (its
    history.csv): the state the kept start trains on from. Not the probe's lowest: a start that
    collapsed during its probe (LorentzNet-3's detector-level seed 1, start 1: 0.279 at epoch 3,
    then AUC 0.5 from epoch 4, every ReLU closed) would otherwise be kept and never recover.
    On every nanoPELICAN multi-start run of the study and the parity benchmark both rules keep
    the same start. The row is found by its epoch, the last one written (an epoch logged and then
    interrupted before its checkpoint is trained again and logged twice); a non-finite loss
    counts as infinite, so that such a start is never kept."""
    with open(os.path.join(start_dir, "history.csv")) as f:
        rows = [row for row in csv.DictReader(f) if int(row["epoch"]) == probe_epochs - 1]
    if not rows:
        raise KerasjetError(f"{os.path.join(start_dir, 'history.csv')}: no row for epoch {probe_epochs - 1}, the probe's last; "
                            "remove the start to train it again")
    loss = float(rows[-1]["val_loss"])
    return loss if math.isfinite(loss) else math.inf


def _train_run(run_dir, config, verbose=1, callbacks=(), stop_after=None):
    """One training run (see ``train``); ``stop_after``: stop after that many epochs of the
    schedule (and write no summary unless the schedule is finished)."""
    created = not os.path.exists(run_dir)
    config_path = os.path.join(run_dir, "config.json")
    if os.path.exists(config_path):
        _check_same_config(config_path, config)
    summary_path = os.path.join(run_dir, "summary.json")
    if os.path.exists(summary_path):
        return _read_json(summary_path)
    state_path = os.path.join(run_dir, "state.json")
    state = _read_json(state_path) if os.path.exists(state_path) else {"epochs_done": 0, "best_val_loss": math.inf}
    last_epoch = config.epochs if stop_after is None else min(stop_after, config.epochs)
    if last_epoch < config.epochs and state["epochs_done"] >= last_epoch:  # an early stop, already reached
        return None

    tf.keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()
    spec = config.input_spec()
    train_data = make_dataset(config.train, spec, config.batch_size, shuffle=True, seed=config.seed,
                              first_pass=state["epochs_done"])
    steps = len(train_data)
    model, model_kwargs = build_run_model(config, spec)
    optimizer = run_optimizer(model, config, steps)
    model.compile(optimizer, tf.keras.losses.BinaryCrossentropy(from_logits=True),
                  metrics=[tf.keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy"), tf.keras.metrics.AUC(from_logits=True, name="auc")])
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer)
    if state["epochs_done"]:
        checkpoint.read(os.path.join(run_dir, "checkpoint", "last")).expect_partial()
        if verbose:
            print(f"resuming {run_dir} after epoch {state['epochs_done']}")
    val_data = make_dataset(config.val, spec, config.batch_size, shuffle=False)
    callbacks = [
        _StopOnNonFiniteLoss(run_dir),
        tf.keras.callbacks.CSVLogger(os.path.join(run_dir, "history.csv"), append=state["epochs_done"] > 0),
        tf.keras.callbacks.TensorBoard(os.path.join(run_dir, "tensorboard"), write_graph=False, profile_batch=0),
        _EpochState(run_dir, checkpoint, state["best_val_loss"]),
        _ThresholdWatch(config.val, verbose),
        *callbacks,
    ]
    os.makedirs(run_dir, exist_ok=True)
    write_json(asdict(config), config_path)
    try:
        model.fit(train_data, validation_data=val_data, epochs=last_epoch, initial_epoch=state["epochs_done"],
                  callbacks=callbacks, verbose=verbose)
    except BaseException:
        if not os.path.exists(state_path):
            _forget_failed_start(run_dir, created)
        raise
    if last_epoch < config.epochs:
        return None
    final_state = _read_json(state_path)
    summary = {
        "run_dir": run_dir,
        "model": config.model,
        "seed": config.seed,
        "epochs": config.epochs,
        "best_val_loss": final_state["best_val_loss"],
        "parameters": int(sum(np.prod(w.shape) for w in model.trainable_weights)),
        **({"momentum_scale": model_kwargs["momentum_scale"]} if "momentum_scale" in model_kwargs else {}),
    }
    write_json(summary, summary_path)
    return summary


def select_best(summaries, keep_best, key=lambda s: s["best_val_loss"]):
    """The ``keep_best`` summaries with the lowest validation loss (``key``), best first."""
    return sorted(summaries, key=key)[:keep_best]


def train_seeds(base_dir, config, seeds, keep_best, verbose=1):
    """Train seeds 0 … seeds−1 into base_dir/seed_K (resumable); return (all, kept) summaries."""
    if not 1 <= keep_best <= seeds:
        raise KerasjetError(f"--keep-best must lie in [1, --seeds] (got {keep_best} of {seeds})")
    summaries = []
    for seed in range(seeds):
        run = RunConfig(**{**asdict(config), "seed": seed})
        summaries.append(train(os.path.join(base_dir, f"seed_{seed}"), run, verbose))
    return summaries, select_best(summaries, keep_best)
