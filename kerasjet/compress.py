"""Compression of trained taggers: quantization-aware training, BitLinear ternary weights, pruning.

Starting from a trained float model:

* nanoPELICAN is first folded into its inference form (BatchNorm absorbed, biases polynomial in
  the multiplicity, sums normalised by N̄ = 64), with each hidden channel scaled so that its
  pre-activations fill the hidden fixed-point type; it is then rebuilt from quantized layers
  (kerasjet.layers.quantized) and fine-tuned (QAT).
* the dense taggers (TopoDNN-style, hls4ml-style, the pT-sorted constituent MLP) and Deep Sets are rebuilt with
  QDense/QConv1D/QActivation.
* ternary (BitLinear, ``--bits ternary``) follows a recipe (``TERNARY_RECIPES``): latent float
  weights in the optimizer, absmean β per output channel (Dense), per hidden channel (the
  LinEq2→0 readout) or per basis element (LinEq2→2), each a power of two, straight-through
  gradients, 8-bit activations with a static scale calibrated as the absmax of the float
  model's activations (the firmware form, used in training too), and warm-up + cosine
  fine-tuning on the whole training set. ``placement`` keeps the first and last layer at 8 bits.
* pruning wraps the model with TFMOT ``prune_low_magnitude`` (PolynomialDecay to the target
  sparsity over the first 2/3 of the fine-tuning), then ``strip_pruning``.

Precisions are QKeras quantizers throughout, so hls4ml reads them from the model.
"""

from dataclasses import dataclass

import numpy as np
import tensorflow as tf
import tensorflow_model_optimization as tfmot
from qkeras import QConv1D, QDense, quantized_bits, quantized_relu

from kerasjet.data.pipeline import load_inputs, make_dataset
from kerasjet.errors import KerasjetError
from kerasjet.fold import firmware_weights, fold
from kerasjet.models import BUILDERS, DENSE_TAGGERS, input_format_of, input_spec_of, n_constituents_of, word_tables_of
from kerasjet.quantizers import (absmax_quantizer, apply_quantizer, bitlinear_ternary, blockwise_bits, fixed_for_range, mean_shift,
                                 pair_po2_bits)

WEIGHT_CHOICES = ("float", "16", "8", "6", "4", "ternary")
# how a ternary model is trained (benchmarks/ternary.py measures them; results/compression/ternary_recipe.md):
# finetune: from the float model; progressive: float → 8 → 4 → ternary bits, a third of the epochs each;
# scratch: from a re-initialised model
TERNARY_RECIPES = ("finetune", "progressive", "scratch")
DEFAULT_TERNARY_RECIPE = "finetune"
# which layers are ternary: all, or all but the first and the last (kept at 8 bits, BitNet's practice;
# for nanoPELICAN, whose two LinEq layers are both, the readout only)
PLACEMENTS = ("all", "ends-8bit")
# ternary (relative steps for nanoPELICAN, RelativeAdam): on the parity files, one seed, 6 epochs, 10⁻² beat 10⁻³
# for nanoPELICAN C = 10 (test AUC 0.9634 against 0.9466) and 10⁻³, 3·10⁻³ and 3·10⁻² for the hls4ml-style tagger
# (0.9570 against 0.9443, 0.9524, 0.9559), and 3·10⁻³ in its progressive recipe (0.9532 against 0.9491)
TERNARY_LEARNING_RATE = 1e-2
TERNARY_EPOCHS = 6  # results/compression/ternary_recipe.md
ACTIVATION_BITS = 8  # BitLinear's activations
DENSE_INPUT_BITS = 16  # the widest input type of a fixed-point dense tagger
FLOAT32_SIGNIFICAND = 24
PER_WEIGHT = (0, 1, 2)  # blockwise_bits axes of a LinEq kernel: a binary point per weight
# the fixed-point unit of the firmware's momenta (GeV), whatever unit the float model was trained
# in: folding re-expresses the trained weights in it (kerasjet.fold)
FIRMWARE_MOMENTUM_SCALE = 100.0


def firmware_momentum_scale(input_format=None):
    """The firmware's momentum unit (GeV): FIRMWARE_MOMENTUM_SCALE for Cartesian momenta; for
    trigger words (kerasjet.data.words) the pT step times the power of two nearest to it
    (128 GeV for the CMS Phase-2 words' 0.25 GeV), so that scaling a pT code is a shift."""
    if input_format is None:
        return FIRMWARE_MOMENTUM_SCALE
    from kerasjet.data.words import input_format as format_named

    step = format_named(input_format).pt.lsb
    return step * 2.0 ** round(np.log2(FIRMWARE_MOMENTUM_SCALE / step))


@dataclass
class NanoPrecision:
    """Every fixed-point type of a quantized nanoPELICAN (momenta in units of 100 GeV).

    input: momenta p/100 GeV; dot: Minkowski products; accumulator: LinEq2→2 partial results;
    hidden: LinEq2→2 output; activation:
    the ReLU; output: the logit. weight_bits: 16/8/6/4 significant bits per weight (blockwise_bits)
    or 'ternary' (BitLinear, a power-of-two β per basis element of LinEq2→2 and per hidden channel
    of the LinEq2→0 readout). readout_bits: the readout's, when it differs (placement 'ends-8bit').
    """

    input: object
    dot: object
    accumulator: object
    hidden: object
    activation: object
    output: object
    weight_bits: str
    readout_bits: str = None
    pair_po2: bool = False

    def weight_quantizer(self, layer_index, bias=False):
        """Quantizer of the kernel (or bias) of LinEq layer 0 (2→2, kernel (6, C_in, H)) or 1 (2→0,
        kernel (2, H, 1)). Fixed point: one binary point per kernel weight (each is a constant
        whose cost is its significant bits), one per bias tensor. Ternary: one power-of-two β per
        basis element of LinEq2→2 and per hidden channel of the readout. A binary point (or β)
        shared by hidden channels whose weights differ by decades rounds the weaker channels'
        weights to zero (4-bit C = 10: 4 of 10 hidden channels read out as zero). ``pair_po2``:
        the d_ij weights of LinEq2→2 are signed powers of two (pair_po2_bits)."""
        bits = self.readout_bits if layer_index == 1 and self.readout_bits else self.weight_bits
        if bits == "ternary" and not bias:
            return bitlinear_ternary(po2_scale=True, group_axis=0 if layer_index == 0 else 1)
        bits = 16 if bits == "ternary" else int(bits)  # ternary models keep 16-bit biases
        if self.pair_po2 and layer_index == 0 and not bias:
            return pair_po2_bits(bits, axis=PER_WEIGHT)
        return blockwise_bits(bits, axis=None if bias else PER_WEIGHT)


def nano_precision(weight_bits, placement="all", activation_range=None, pair_po2=False):
    """The default types (momenta in units of 100 GeV): 16-bit momenta (±32: a 600 GeV jet at
    |η| = 2 has constituents above 2 TeV; steps of 0.1 GeV),
    16-bit products (±1 unit², steps of 2^-15 units² = 0.3 GeV²: a constituent pair's p_i·p_j
    rarely exceeds 1 unit², largest 1.03 in 50k test jets, where it saturates; steps of 2^-10
    zero most soft pairs and cost 0.15 in AUC at N = 80), 16-bit partial sums (±32, steps of 2^-10),
    12-bit hidden values (±8, steps of 2^-8),
    an 11-bit ReLU with the hidden type's steps (so the ReLU never rounds), a 16-bit logit.

    Ternary: BitLinear's 8-bit ReLU instead, its range the calibrated ``activation_range``
    (max ReLU output) rounded up to a power of two, at most the hidden range; placement
    'ends-8bit' keeps the readout at 8 bits. ``pair_po2``: power-of-two d_ij weights (16/8/6/4 bits;
    ternary weights are powers of two already).
    """
    if weight_bits not in WEIGHT_CHOICES[1:]:
        raise KerasjetError(f"weight bits must be one of {', '.join(WEIGHT_CHOICES[1:])} (got '{weight_bits}')")
    hidden_integer = 3
    activation = quantized_relu(11, hidden_integer)
    if weight_bits == "ternary":
        integer = int(np.ceil(np.log2(max(activation_range or 2.0**hidden_integer, 2.0**-4))))
        activation = quantized_relu(ACTIVATION_BITS, min(integer, hidden_integer))
    return NanoPrecision(
        input=quantized_bits(16, 5, alpha=1),
        dot=quantized_bits(16, 0, alpha=1),
        accumulator=quantized_bits(16, 5, alpha=1),
        hidden=quantized_bits(12, hidden_integer, alpha=1),
        activation=activation,
        output=quantized_bits(16, 6, alpha=1),
        weight_bits=weight_bits,
        readout_bits="8" if weight_bits == "ternary" and placement == "ends-8bit" else None,
        pair_po2=bool(pair_po2) and weight_bits != "ternary",  # ternary β are powers of two already
    )


def is_nanopelican(model):
    return any(layer.name == "lineq_2to2" for layer in model.layers)


def folded_nanopelican(model, calibration, target=None, pair_po2=False):
    """The float inference form of a trained nanoPELICAN (a Keras model: [pmu (B, N, 4) GeV,
    mask (B, N)] → (B, 1) logit, d_ij in units of 100 GeV squared, N̄ = 64), calibrated on
    ``calibration`` ({'pmu': (B, N, 4) GeV, 'mask': (B, N)}, a few thousand jets), each hidden channel scaled so that the
    99.9% quantile of |pre-activation| over the calibration jets is ``target`` (default 2, a
    quarter of the hidden type's range). ``pair_po2``: the scale is instead the one nearest to
    that (on a log scale, within a factor √2) that makes the channel's d_ij weight a signed power
    of two — the same function (ReLU(λy) = λ·ReLU(y), the readout takes 1/λ), and no per-pair
    multiplication in firmware."""
    from kerasjet.models.nanopelican import nanopelican_folded

    words = input_format_of(model)
    folded = fold(model, momentum_scale=firmware_momentum_scale(words))
    n = n_constituents_of(model)
    c_hidden = len(folded["channels"])
    weights, degree = firmware_weights(folded)
    probe = nanopelican_folded(c_hidden, n, multiplicity_degree=degree, momentum_scale=folded["momentum_scale"], input_format=words,
                               word_tables=folded["word_tables"])
    probe.set_weights(weights)
    hidden = tf.keras.Model(probe.inputs, probe.get_layer("lineq_2to2").output)
    pre = hidden.predict(calibration, batch_size=1024, verbose=0)  # (B, C, N, N)
    pairs = (calibration["mask"][:, :, None] * calibration["mask"][:, None, :]).astype(bool)
    quantile = np.array([np.quantile(np.abs(pre[:, h][pairs]), 0.999) for h in range(c_hidden)])
    scale = (2.0 if target is None else target) / np.maximum(quantile, 1e-12)
    if pair_po2:
        pair_weight = np.abs(np.asarray(weights[0], np.float64)[0, 0])  # (C,) the d_ij weights at scale 1
        pair_weight = np.where(pair_weight > 0, pair_weight, 1.0)
        scale = 2.0 ** np.round(np.log2(pair_weight * scale)) / pair_weight
    weights, _ = firmware_weights(folded, hidden_scale=scale)
    probe.set_weights(weights)
    return probe


def quantize_nanopelican(model, weight_bits, calibration, placement="all", pair_po2=True):
    """A quantized nanoPELICAN initialised from a trained float one (not yet fine-tuned).

    calibration: {'pmu', 'mask'} jets for the hidden channels' scales and, ternary, the static
    range of the 8-bit ReLU (the absmax of the folded float model's ReLU outputs). ``pair_po2``:
    the power-of-two pair form (folded_nanopelican, pair_po2_bits)."""
    from kerasjet.models.nanopelican import qnanopelican

    check_quantizable(model)
    pair_po2 = pair_po2 and weight_bits != "ternary"  # ternary weights are powers of two already
    float_model = folded_nanopelican(model, calibration, pair_po2=pair_po2)
    lineq2 = float_model.get_layer("lineq_2to2")
    relu_max = None
    if weight_bits == "ternary":
        relu = tf.keras.Model(float_model.inputs, float_model.get_layer("relu").output)
        relu_max = float(np.max(relu.predict(calibration, batch_size=1024, verbose=0)))
    precision = nano_precision(weight_bits, placement, relu_max, pair_po2)
    quantized = qnanopelican(lineq2.units, n_constituents_of(model), precision,
                             multiplicity_degree=lineq2.multiplicity_degree, momentum_scale=float_model.get_layer("lorentz_dot").momentum_scale,
                             input_format=input_format_of(model), word_tables=word_tables_of(float_model))
    quantized.set_weights(float_model.get_weights())
    return quantized


def exact_input_bits(n_inputs, weight_bits):
    """Bits of a QDense's fixed-point input type for which Keras computes it exactly in float32.

    With an input type of b_x bits (integer i_x, fraction f_x) and weights of b_w bits (i_w, f_w),
    every product is a multiple of 2^-(f_x + f_w) below 2^(i_x + i_w), and the sum of n products
    and the bias stays below (n + 1)·2^(i_x + i_w): it fits float32's 24-bit significand when
    ceil(log2(n + 1)) + (b_x − 1) + (b_w − 1) ≤ 24, whatever the binary points. A wider input
    can round partial sums in Keras but not in firmware (16-bit inputs × 8-bit weights over 48
    inputs need 29 bits). Capped at DENSE_INPUT_BITS.
    """
    return min(DENSE_INPUT_BITS, FLOAT32_SIGNIFICAND + 2 - int(weight_bits) - int(np.ceil(np.log2(n_inputs + 1))))


def _weighted_layers(model):
    """The Dense and Conv1D layers of a dense tagger or Deep Sets, in model order."""
    return [layer for layer in model.layers if isinstance(layer, (tf.keras.layers.Dense, tf.keras.layers.Conv1D))]


def _after_pooling(layer):
    """Whether ``layer`` reads a pooled (averaged) input: one whose grid is finer than its source's."""
    return isinstance(layer.input._keras_history.layer, tf.keras.layers.GlobalAveragePooling1D)


def _bias_quantizer(bits, bias):
    """A ``bits``-bit type holding a layer's bias (``bias``: [array] or [] for a layer without one,
    φ of Deep Sets: None)."""
    return fixed_for_range(bits, np.abs(bias[0]).max() + 1e-6, min_integer=0) if bias else None


def check_quantizable(model):
    """KerasjetError unless quantized_copy can make ``model`` exact in fixed point: an unscaled
    nanoPELICAN (the N-scaled one has non-integer powers of n), or a dense tagger or Deep Sets
    (DENSE_TAGGERS; Deep Sets' mean over the N slots needs N a power of two)."""
    if is_nanopelican(model):
        if model.get_layer("lineq_2to2").scaled:
            raise KerasjetError(f"model '{model.name}': the N-scaled nanoPELICAN has no fixed-point form (non-integer powers of n)")
        return
    if not _weighted_layers(model) or model.name not in DENSE_TAGGERS:
        raise KerasjetError(f"model '{model.name}' is not one of the dense taggers ({', '.join(DENSE_TAGGERS)})")
    n = n_constituents_of(model)
    if any(isinstance(layer, tf.keras.layers.GlobalAveragePooling1D) for layer in model.layers) and mean_shift(n) is None:
        raise KerasjetError(f"model '{model.name}' at N = {n}: its mean over the N slots is exact in fixed point only for N a "
                            "power of two (train it at N = 8, 16 or 32 to quantize it)")


def quantize_dense(model, weight_bits, calibration, dynamic_absmax=False, placement="all"):
    """QDense/QConv1D/QActivation copy of a trained dense tagger or Deep Sets (DENSE_TAGGERS), weights copied.

    weight_bits 16/8/6/4: quantized_bits weights and biases sized to each trained tensor's range,
    quantized_relu activations of the same width (at least 6 bits), and a 16-bit input type on
    the features and on the Deep Sets mean (narrower where Keras' float32 would not be exact,
    exact_input_bits; 16-bit weights keep 16-bit inputs and are not exact in Keras).
    'ternary': BitLinear — ternary weights with a power-of-two β per output channel
    (placement 'ends-8bit': the first and the logit layer with 8-bit weights), 16-bit biases,
    and 8-bit absmax quantization of the input of every weighted layer: static (a fixed-point type whose
    range is the calibrated max|x| rounded up to a power of two: the firmware form) or, with
    ``dynamic_absmax``, per sample as in the BitHEP paper (not deployable).
    calibration: {'pmu', 'mask'} inputs for the activation ranges.
    """
    check_quantizable(model)
    weighted = _weighted_layers(model)
    n = n_constituents_of(model)
    probe = tf.keras.Model(model.inputs, [layer.input for layer in weighted])
    ranges = [float(np.abs(x).max()) for x in probe.predict(calibration, verbose=0, batch_size=1024)]
    weight_quantizers, activations, inputs = [], [], []
    for i, (layer, input_range) in enumerate(zip(weighted, ranges)):
        w, *bias = layer.get_weights()
        if weight_bits == "ternary":
            end = placement == "ends-8bit" and i in (0, len(weighted) - 1)
            kernel = fixed_for_range(8, np.abs(w).max(), min_integer=0) if end else bitlinear_ternary(per_channel=True, po2_scale=True)
            weight_quantizers.append((kernel, _bias_quantizer(16, bias)))
            inputs.append(absmax_quantizer(ACTIVATION_BITS) if dynamic_absmax
                          else fixed_for_range(ACTIVATION_BITS, input_range, min_integer=0))
        else:
            bits = int(weight_bits)
            weight_quantizers.append((fixed_for_range(bits, np.abs(w).max(), min_integer=0), _bias_quantizer(bits, bias)))
            if i == 0 or _after_pooling(layer):  # the features, or the mean: the firmware's type for them
                input_bits = exact_input_bits(int(np.prod(w.shape[:-1])), bits) if bits <= 8 else DENSE_INPUT_BITS
                inputs.append(fixed_for_range(input_bits, input_range, min_integer=0))
            else:
                inputs.append(None)
        activations.append(quantized_relu(ACTIVATION_BITS if weight_bits == "ternary" else max(int(weight_bits), 6), 3))
    words = {} if input_format_of(model) is None else {"input_format": input_format_of(model)}
    quantized = BUILDERS[model.name](n_constituents=n, weight_quantizers=weight_quantizers,
                                     activation_quantizers=activations, input_quantizers=inputs, **words)
    for layer in weighted:
        quantized.get_layer(layer.name).set_weights(layer.get_weights())
    return quantized


MIN_PRUNED_DENSE = 100  # Dense layers with fewer kernel weights (and the logit layer) stay dense


def prunable(model, target_sparsity, steps):
    """TFMOT pruning wrapper: PolynomialDecay from 0 to ``target_sparsity`` over ``steps`` steps.

    Wraps the LinEq layers and the Dense layers except the logit layer and those with fewer
    than MIN_PRUNED_DENSE weights: pruning 70% of TopoDNN's 6→1 logit and 12→6 layers left
    too few paths to the output, and its fine-tuning collapsed to AUC 0.5.
    """
    schedule = tfmot.sparsity.keras.PolynomialDecay(0.0, target_sparsity, begin_step=0, end_step=max(1, steps), frequency=max(1, steps // 20))

    def wrap(layer):
        dense = isinstance(layer, (tf.keras.layers.Dense, QDense)) and layer.name != "logit" \
            and int(np.prod(layer.kernel.shape)) >= MIN_PRUNED_DENSE
        if isinstance(layer, tfmot.sparsity.keras.PrunableLayer) or dense:
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=schedule)
        return layer

    return tf.keras.models.clone_model(model, clone_function=wrap)


def sparsity(model):
    """Fraction of exactly-zero kernel weights over all kernels of the model (recursively)."""
    zeros = total = 0
    for w in model.weights:
        if "kernel" in w.name and "pruning" not in w.name and "mask" not in w.name:
            value = w.numpy()
            zeros += int((value == 0).sum())
            total += value.size
    return zeros / max(total, 1)


def fine_tune(model, train_path, val_path, epochs, learning_rate=1e-3, batch_size=512, seed=0, prune_to=None, train_jets=None,
              warmup=False, relative_steps=False, verbose=2):
    """Fine-tune (QAT and/or pruning) with Adam and a cosine decay; keeps the best validation loss.
    ``train_path``, ``val_path``: jet files (HDF5), read at the model's N (inputs as make_dataset gives them).

    ``train_jets`` limits the fine-tuning to the first jets of the file. ``warmup``: a linear
    warm-up over the first epoch (a quarter of the epochs if fewer than 4) before the cosine.
    ``relative_steps``: a nanoPELICAN's LinEq weights take steps relative to their size
    (RelativeAdam; no effect on other models). Returns the model with the best weights, pruning wrappers stripped; KerasjetError if no
    epoch reached a finite validation loss.
    """
    from kerasjet.train import RelativeAdam, WarmupCosine, step_scales

    tf.keras.utils.set_random_seed(seed)
    spec = input_spec_of(model)
    train_data = make_dataset(train_path, spec, batch_size, shuffle=True, seed=seed, stop=train_jets)
    val_data = make_dataset(val_path, spec, batch_size, shuffle=False)
    steps = len(train_data) * epochs
    callbacks = []
    if prune_to:
        model = prunable(model, prune_to, int(steps * 2 / 3))
        callbacks.append(tfmot.sparsity.keras.UpdatePruningStep())
    best = _BestWeights()
    callbacks.append(best)
    schedule = WarmupCosine(learning_rate, len(train_data), epochs, warmup_epochs=min(1.0, epochs / 4)) if warmup and epochs \
        else tf.keras.optimizers.schedules.CosineDecay(learning_rate, max(steps, 1), alpha=0.01)
    scales = step_scales(model) if relative_steps else []
    model.compile(RelativeAdam(scales, schedule) if scales else tf.keras.optimizers.Adam(schedule),
                  tf.keras.losses.BinaryCrossentropy(from_logits=True))
    if epochs:
        model.fit(train_data, validation_data=val_data, epochs=epochs, callbacks=callbacks, verbose=verbose)
        if best.weights is None:
            raise KerasjetError(f"{val_path}: the fine-tuning reached no finite validation loss (NaN/inf in every epoch; "
                                f"learning rate {learning_rate:g} too high?); no model was written")
        model.set_weights(best.weights)
    return tfmot.sparsity.keras.strip_pruning(model) if prune_to else model


class _BestWeights(tf.keras.callbacks.Callback):
    """Remember the weights of the epoch with the lowest validation loss."""

    def __init__(self):
        super().__init__()
        self.best, self.weights = np.inf, None

    def on_epoch_end(self, epoch, logs=None):
        if logs["val_loss"] < self.best:
            self.best, self.weights = logs["val_loss"], self.model.get_weights()


def quantized_copy(model, weight_bits, calibration, placement="all", pair_po2=True):
    """The quantized form (16/8/6/4/ternary weights) of a trained float model, not yet fine-tuned
    (``pair_po2``: nanoPELICAN's power-of-two pair form). ``weight_bits``: '16', '8', '6', '4' or
    'ternary'; ``calibration``: {'pmu': (B, N, 4) GeV, 'mask': (B, N)} jets for the activation
    ranges. The copy takes the same inputs and returns the (B, 1) logit on fixed-point grids."""
    if is_nanopelican(model):
        return quantize_nanopelican(model, weight_bits, calibration, placement, pair_po2)
    return quantize_dense(model, weight_bits, calibration, placement=placement)


def reinitialised(model, calibration, seed=0):
    """A copy of ``model`` with fresh weights (a nanoPELICAN without BatchNorm initialised from
    the data, as kerasjet.train does)."""
    from kerasjet.models.nanopelican import has_batchnorm, initialise_from_data

    tf.keras.utils.set_random_seed(seed)
    fresh = tf.keras.models.clone_model(model)
    if is_nanopelican(fresh) and not has_batchnorm(fresh):
        initialise_from_data(fresh, calibration)
    return fresh


PROGRESSIVE_BITS = ("8", "4", "ternary")


def train_ternary(model, calibration, train_path, val_path, epochs, learning_rate=None, recipe=None, placement="all",
                  train_jets=None, seed=0, verbose=2):
    """A BitLinear ternary model from a trained float one by ``recipe`` (TERNARY_RECIPES), every
    stage fine-tuned with warm-up + cosine; learning_rate None: TERNARY_LEARNING_RATE.

    progressive: PROGRESSIVE_BITS in turn, the epochs split evenly (the last stage takes the
    remainder), each stage starting from the previous stage's latent float weights.
    """
    recipe = recipe or DEFAULT_TERNARY_RECIPE
    if recipe not in TERNARY_RECIPES:
        raise KerasjetError(f"--recipe must be one of {', '.join(TERNARY_RECIPES)} (got '{recipe}')")
    if placement not in PLACEMENTS:
        raise KerasjetError(f"--placement must be one of {', '.join(PLACEMENTS)} (got '{placement}')")
    learning_rate = learning_rate or TERNARY_LEARNING_RATE

    def tune(quantized, stage_epochs):
        return fine_tune(quantized, train_path, val_path, stage_epochs, learning_rate, seed=seed, train_jets=train_jets, warmup=True,
                         relative_steps=True, verbose=verbose)

    if recipe != "progressive":
        start = reinitialised(model, calibration, seed) if recipe == "scratch" else model
        return tune(quantized_copy(start, "ternary", calibration, placement), epochs)
    stages = len(PROGRESSIVE_BITS)
    latent = None
    for i, bits in enumerate(PROGRESSIVE_BITS):
        stage = quantized_copy(model, bits, calibration, placement)
        if latent is not None:
            stage.set_weights(latent)
        stage = tune(stage, epochs // stages + (epochs % stages if i == stages - 1 else 0))
        latent = stage.get_weights()
    return stage


def compress(model, train_path, val_path, weight_bits="8", prune_to=None, epochs=None, learning_rate=None, calibration_jets=2000,
             train_jets=None, recipe=None, placement="all", seed=0, pair_po2=True, verbose=2):
    """Quantize (weight_bits: float/16/8/6/4/ternary) and/or prune a trained model, then fine-tune.

    Ternary follows ``recipe`` and ``placement`` (train_ternary). None: 3 epochs at 1e-3, or for
    ternary TERNARY_EPOCHS at TERNARY_LEARNING_RATE. ``pair_po2``: a fixed-point nanoPELICAN in
    the power-of-two pair form (quantize_nanopelican), the default: the same function with
    shifts for the per-pair multiplications (benchmarks/firmware_cost.py measures what it saves).
    """
    if weight_bits not in WEIGHT_CHOICES:
        raise KerasjetError(f"--bits must be one of {', '.join(WEIGHT_CHOICES)} (got '{weight_bits}')")
    if epochs is None:
        epochs = TERNARY_EPOCHS if weight_bits == "ternary" else 3
    calibration, _ = load_inputs(train_path, input_spec_of(model), 0, calibration_jets)
    if weight_bits == "ternary" and not prune_to:
        return train_ternary(model, calibration, train_path, val_path, epochs, learning_rate, recipe, placement, train_jets, seed,
                             verbose)
    if weight_bits != "float":
        model = quantized_copy(model, weight_bits, calibration, placement, pair_po2)
    elif is_nanopelican(model) and prune_to:
        model = folded_nanopelican(model, calibration)
    else:
        copy = tf.keras.models.clone_model(model)  # fine-tuning must not touch the original
        copy.set_weights(model.get_weights())
        model = copy
    return fine_tune(model, train_path, val_path, epochs, learning_rate or 1e-3, seed=seed, prune_to=prune_to, train_jets=train_jets,
                     verbose=verbose)


def weight_summary(model):
    """(bits per kernel weight, non-zero weights) of a model: 32 for float kernels, the kernel
    quantizer's bits otherwise (log2 3 ≈ 1.58 for ternary); non-zero counts kernels and biases
    as used in the forward pass (after quantization)."""
    bits, nonzero = [], 0
    for layer in model.layers:
        if not layer.trainable_weights:
            continue
        if hasattr(layer, "effective_weights"):
            quantizer = getattr(layer, "kernel_quantizer", None)
            used = [w.numpy() for w in layer.effective_weights().values()]
        elif isinstance(layer, (QDense, QConv1D)):
            quantizer = layer.kernel_quantizer_internal
            used = [apply_quantizer(quantizer, layer.kernel).numpy()]
            if layer.use_bias:
                used.append(apply_quantizer(layer.bias_quantizer_internal, layer.bias).numpy())
        else:
            quantizer = None
            used = [w.numpy() for w in layer.trainable_weights if not w.name.split("/")[-1].startswith(("gamma", "beta", "alpha"))]
        if not used:  # BatchNorm: folded away at inference
            continue
        nonzero += int(sum((u != 0).sum() for u in used))
        kernel_size = used[0].size
        width = 32.0 if quantizer is None else (np.log2(3) if "ternary" in quantizer.__class__.__name__ else float(quantizer.bits))
        bits.append((width, kernel_size))
    total = sum(n for _, n in bits)
    return sum(w * n for w, n in bits) / max(total, 1), nonzero


def write_hls_config(model_path, yaml_path=None, test_file=None, description=None, output_dir=None,
                     writer="kerasjet.compress.write_hls_config"):
    """Write the deployment YAML (hls_configs/*.yml's schema; a text file, N and types as the
    model's input (B, N, 4) and quantizers give them) of a saved quantized model, so that
    ``python convert.py YAML`` converts, simulates and checks it untouched; returns the YAML's path.

    model_path: the model file (.h5, as ``kerasjet compress`` or ``save_model`` wrote it).
    yaml_path: default the model's path with .yml. test_file: the jets the C simulation runs on
    (required: convert compares Keras and csim on them). output_dir: the hls4ml project (default
    ``hls_<model stem>`` beside the YAML). The LayerName precisions are read from the model's
    quantizers (kerasjet.hls.config.quantizer_types), N from its input, the paths are written
    relative to the YAML's folder (where convert resolves them), the tolerances are bit-exact, the
    C simulation runs on 2,000 test jets (all of them if the file holds fewer).
    """
    import os

    from kerasjet.files import write_text
    from kerasjet.hls.config import quantizer_types, render_config
    from kerasjet.models import load_model

    if test_file is None:
        raise KerasjetError(f"{model_path}: the deployment YAML names the test jets of its C simulation: give test_file")
    model = load_model(model_path)
    if not any(layer.__class__.__name__.startswith("Q") for layer in model.layers):
        raise KerasjetError(f"{model_path}: model '{model.name}' has no quantizers: a float model has no bit-exact firmware form "
                            "to write a YAML for (quantize it first: kerasjet compress --bits 8)")
    stem = os.path.splitext(os.path.basename(model_path))[0]
    yaml_path = yaml_path or os.path.splitext(model_path)[0] + ".yml"
    folder = os.path.dirname(os.path.abspath(yaml_path))
    output_dir = output_dir or os.path.join(folder, f"hls_{stem}")

    def relative(path):
        return os.path.relpath(os.path.abspath(path), folder)

    words = input_format_of(model)
    types = quantizer_types(model)
    description = description or f"{model.name}, N = {n_constituents_of(model)}, from {os.path.basename(model_path)}"
    if words:
        description += f"; starts from '{words}' trigger words"
    text = render_config(relative(model_path), relative(output_dir), relative(test_file), description.replace('"', "'"),
                         n_constituents_of(model), types, writer)
    if os.path.exists(test_file):  # the C simulation's jets: render_config's 2,000, or all the file holds when fewer
        from kerasjet.data.io import count_jets

        jets = min(2000, count_jets(test_file))
        text = text.replace("\n    jets: 2000\n", f"\n    jets: {jets}\n", 1)
    write_text(text, yaml_path)
    return yaml_path
