"""nanoPELICAN: the Lorentz- and permutation-invariant tiny top tagger of the seed paper."""

import numpy as np
import tensorflow as tf

from kerasjet.errors import KerasjetError
from kerasjet.layers import LinEq2to0, LinEq2to2, LorentzDot, MaskedBatchNorm, WordLorentzDot
from kerasjet.layers.normalization import batch_statistics
from kerasjet.layers.pair_ops import pair_moments
from kerasjet.models.inputs import jet_inputs, jet_model, word_inputs

# the unit of a model built directly (GeV); `kerasjet train` calibrates it on the training jets
# (kerasjet.train.momentum_unit), and the firmware uses 100 GeV whatever the float model used
DEFAULT_MOMENTUM_SCALE = 100.0
INITIAL_HIDDEN_BIAS = 0.1


def nanopelican(c_hidden=2, n_constituents=80, scaled=False, batchnorm=False, dropout=0.0, basis="nano",
                momentum_scale=DEFAULT_MOMENTUM_SCALE, multiplicity_degree=0, input_format=None, name=None):
    """d → [BatchNorm → Dropout] → LinEq2→2 → ReLU → [BatchNorm → Dropout] → LinEq2→0 → logit.

    Inputs [pmu (B, N, 4) GeV, mask (B, N)] (or the {'pmu', 'mask'} dict); output (B, 1), the
    logit of "top".
    d_ij = p_i·p_j / momentum_scale² (GeV; training calibrates it on the data, kerasjet.train).
    The default is the seed paper's model: no BatchNorm, 10·c_hidden + 1 trainable parameters
    (11, 21, 31, 101 for C = 1, 2, 3, 10; ``scaled`` adds 6 + 2 exponents α, the pair element's inert), trained from a
    data-dependent start with relative steps (kerasjet.train: ``initialise_from_data``,
    ``RelativeAdam``). ``batchnorm=True`` adds two BatchNorms (2 + 2·c_hidden more). multiplicity_degree
    D gives it the biases polynomial in r = n/N̄ that folded BatchNorms provide (D·(2·c_hidden + 1)
    more; a model with BatchNorm has them already). Without Dropout each BatchNorm is the next
    equivariant layer's own input normalisation (the same function, several times cheaper to
    train); with Dropout it is a MaskedBatchNorm layer.

    ``input_format`` (a name of kerasjet.data.words.INPUT_FORMATS, e.g. 'cms-phase2'): the model
    starts from a trigger's candidate words, inputs [words (B, N, 3), mask (B, N)], and computes
    d_ij of the massless candidates from them through the firmware's tables (WordLorentzDot).
    """
    if batchnorm and multiplicity_degree:
        raise KerasjetError("multiplicity_degree is for nanoPELICAN without BatchNorm (BatchNorm adds these biases itself)")
    pmu, mask, x = _lorentz_products(n_constituents, input_format, momentum_scale)
    x = _normalise_and_drop(x, mask, batchnorm, dropout, "input")
    # Minkowski products of physical momenta are ≥ 0, so without BatchNorm a channel whose d_ij
    # weight starts negative would start dead; a small positive bias keeps every ReLU alive
    # on the many soft pairs (d ≈ 0) at initialisation.
    hidden_bias = "zeros" if batchnorm else tf.keras.initializers.Constant(INITIAL_HIDDEN_BIAS)
    fused = batchnorm and not dropout
    x = LinEq2to2(c_hidden, basis=basis, scaled=scaled, bias_initializer=hidden_bias, normalize_input=fused,
                  multiplicity_degree=multiplicity_degree, name="lineq_2to2")([x, mask])
    x = tf.keras.layers.ReLU(name="relu")(x)
    x = _normalise_and_drop(x, mask, batchnorm, dropout, "hidden")
    logit = LinEq2to0(1, scaled=scaled, normalize_input=fused, multiplicity_degree=multiplicity_degree,
                      name="lineq_2to0")([x, mask])
    default = (f"nanopelican_c{c_hidden}{'_scaled' if scaled else ''}{'' if basis == 'nano' else '_' + basis}"
               f"{'' if input_format is None else '_words'}")
    return jet_model(pmu, mask, logit, name or default)


def _lorentz_products(n_constituents, input_format, momentum_scale, precision=None, word_tables=None):
    """(first input, mask input, d (B, 1, N, N)): the Keras inputs and the Lorentz-product layer
    'lorentz_dot' — of Cartesian momenta ('pmu') when ``input_format`` is None, else of the
    format's trigger words ('words'; ``word_tables``: {'size', 'fraction_bits'} of its tables,
    default the layer's); quantized with ``precision`` (a NanoPrecision), else float."""
    from kerasjet.layers import QLorentzDot, QWordLorentzDot

    if input_format is None:
        first, mask = jet_inputs(n_constituents)
        dot = LorentzDot(momentum_scale=momentum_scale, name="lorentz_dot") if precision is None else \
            QLorentzDot(momentum_scale, input_quantizer=precision.input, output_quantizer=precision.dot, name="lorentz_dot")
    else:
        first, mask = word_inputs(n_constituents)
        tables = {} if word_tables is None else {"table_size": word_tables["size"], "fraction_bits": word_tables["fraction_bits"]}
        dot = WordLorentzDot(input_format, momentum_scale=momentum_scale, name="lorentz_dot", **tables) if precision is None else \
            QWordLorentzDot(input_format, momentum_scale=momentum_scale, output_quantizer=precision.dot, name="lorentz_dot", **tables)
    return first, mask, dot([first, mask])


def _normalise_and_drop(x, mask, batchnorm, dropout, where):
    """[MaskedBatchNorm →] Dropout on a pair array when there is dropout (else nothing: the
    next layer normalises its own input)."""
    if not dropout:
        return x
    if batchnorm:
        x = MaskedBatchNorm(name=f"bn_{where}")([x, mask])
    return tf.keras.layers.Dropout(dropout, name=f"dropout_{where}")(x)


def has_batchnorm(model):
    """Whether a nanoPELICAN normalises a pair array: MaskedBatchNorm layers, or LinEq layers that
    normalise their own input (False for any other model)."""
    return any(isinstance(layer, MaskedBatchNorm) or getattr(layer, "normalize_input", False) for layer in model.layers)


def _standardisation(x, mask):
    """(scale, shift) (C,) per channel that standardise a pair array (B, C, N, N) over its real
    pairs: scale·x + shift has mean 0 and variance 1 there."""
    total, _, squares = pair_moments(x)
    mean, variance = batch_statistics(total, squares, mask)
    std = tf.sqrt(tf.maximum(variance, 1e-12))
    return 1.0 / std, -mean / std


def initialise_from_data(model, inputs):
    """Start a nanoPELICAN without BatchNorm where a BatchNorm model starts (a data-dependent
    initialisation): the LinEq2→2 weights see d_ij standardised over the real pairs of
    ``inputs`` ({'pmu', 'mask'}, a few thousand jets), and the LinEq2→0 weights each hidden channel
    standardised. The multiplicity-dependent shift a BatchNorm adds is replaced by its mean over
    the jets, the only constant this model has. Without it the hidden ReLUs start open on almost
    every pair, and training stays on the mass-like solution (kerasjet.train calls this)."""
    lineq2, lineq0, mask = model.get_layer("lineq_2to2"), model.get_layer("lineq_2to0"), inputs["mask"]
    if has_batchnorm(model):
        raise ValueError(f"model '{model.name}' has BatchNorm: it needs no data-dependent initialisation")
    d = model.get_layer("lorentz_dot")([inputs[model.input_names[0]], mask])
    scale, shift = _standardisation(d, mask)
    bias, diag_bias = lineq2.shift_biases(shift, lineq2.kernel, mask)
    lineq2.kernel.assign(lineq2.kernel * scale[None, :, None])
    lineq2.bias.assign(lineq2.bias + tf.reduce_mean(bias, axis=0))
    lineq2.diag_bias.assign(lineq2.diag_bias + tf.reduce_mean(diag_bias, axis=0))
    scale, shift = _standardisation(model.get_layer("relu")(lineq2([d, mask])), mask)
    lineq0.bias.assign(lineq0.bias + tf.reduce_mean(lineq0.shift_biases(shift, lineq0.kernel, mask)[0], axis=0))
    lineq0.kernel.assign(lineq0.kernel * scale[None, :, None])


def hidden_preactivations(model, inputs):
    """Per hidden channel of a nanoPELICAN, its LinEq2→2 outputs (the ReLU's inputs) on the real
    constituent pairs of ``inputs`` ({'pmu' (B, N, 4) GeV, 'mask' (B, N)}): a list of C arrays
    (P,), P the number of real pairs (i, j), diagonal included."""
    hidden = tf.keras.Model(model.inputs, model.get_layer("lineq_2to2").output)(inputs, training=False).numpy()  # (B, C, N, N)
    real = np.asarray(inputs["mask"]).astype(bool)
    pairs = real[:, :, None] & real[:, None, :]
    return [hidden[:, c][pairs] for c in range(hidden.shape[1])]


def hidden_open_fractions(model, inputs):
    """Per hidden channel of a nanoPELICAN, the fraction of the real constituent pairs of
    ``inputs`` ({'pmu' (B, N, 4) GeV, 'mask' (B, N)}) on which its ReLU is open (list of C floats)."""
    return [float(np.mean(values > 0)) for values in hidden_preactivations(model, inputs)]


def with_constituents(model, n_constituents):
    """A trained float nanoPELICAN rebuilt for ``n_constituents`` slots with the same weights
    (nanoPELICAN's weights do not depend on N) and the same momentum unit."""
    from kerasjet.models import input_format_of
    lineq2 = model.get_layer("lineq_2to2")
    dropout = [layer.rate for layer in model.layers if isinstance(layer, tf.keras.layers.Dropout)]
    rebuilt = nanopelican(lineq2.units, n_constituents, scaled=lineq2.scaled, basis=lineq2.basis,
                          batchnorm=has_batchnorm(model),
                          dropout=dropout[0] if dropout else 0.0, momentum_scale=model.get_layer("lorentz_dot").momentum_scale,
                          multiplicity_degree=lineq2.multiplicity_degree,
                          input_format=input_format_of(model))
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def nanopelican_folded(c_hidden=2, n_constituents=80, n_bar=64.0, multiplicity_degree=2, momentum_scale=DEFAULT_MOMENTUM_SCALE,
                       input_format=None, word_tables=None, name=None):
    """The inference form of a trained nanoPELICAN: no BatchNorm or Dropout, biases polynomial in
    r = n/N̄ (the folded BatchNorms) and a power-of-two N̄; what the quantized model starts from.
    Inputs [pmu (B, N, 4) GeV, mask (B, N)] (or [words (B, N, 3), mask] with ``input_format``,
    its tables ``word_tables``; d_ij in units of ``momentum_scale`` GeV squared); output (B, 1)."""
    pmu, mask, x = _lorentz_products(n_constituents, input_format, momentum_scale, word_tables=word_tables)
    x = LinEq2to2(c_hidden, n_bar=n_bar, multiplicity_degree=multiplicity_degree, name="lineq_2to2")([x, mask])
    x = tf.keras.layers.ReLU(name="relu")(x)
    logit = LinEq2to0(1, n_bar=n_bar, multiplicity_degree=multiplicity_degree, name="lineq_2to0")([x, mask])
    return jet_model(pmu, mask, logit, name or f"nanopelican_c{c_hidden}_folded{'' if input_format is None else '_words'}")


def qnanopelican(c_hidden, n_constituents, precision, multiplicity_degree=2, momentum_scale=DEFAULT_MOMENTUM_SCALE, input_format=None,
                 word_tables=None, name=None):
    """Quantized nanoPELICAN (see kerasjet.layers.quantized): QLorentzDot → QLinEq2to2 →
    QActivation(quantized_relu) → QLinEq2to0, every type from ``precision`` (a NanoPrecision).
    Inputs [pmu (B, N, 4) GeV, mask (B, N)], momenta quantized in units of ``momentum_scale`` GeV;
    with ``input_format``, [words (B, N, 3), mask] through QWordLorentzDot (``momentum_scale``:
    the pT step times a power of two; ``word_tables`` as nanopelican_folded's). Output (B, 1)."""
    from qkeras import QActivation

    from kerasjet.layers import QLinEq2to0, QLinEq2to2

    pmu, mask, x = _lorentz_products(n_constituents, input_format, momentum_scale, precision, word_tables)
    x = QLinEq2to2(c_hidden, kernel_quantizer=precision.weight_quantizer(0), bias_quantizer=precision.weight_quantizer(0, bias=True),
                   output_quantizer=precision.hidden, accumulator_quantizer=precision.accumulator,
                   multiplicity_degree=multiplicity_degree, name="lineq_2to2")([x, mask])
    x = QActivation(precision.activation, name="relu")(x)
    logit = QLinEq2to0(1, kernel_quantizer=precision.weight_quantizer(1), bias_quantizer=precision.weight_quantizer(1, bias=True),
                       output_quantizer=precision.output,
                       multiplicity_degree=multiplicity_degree, name="lineq_2to0")([x, mask])
    return jet_model(pmu, mask, logit, name or f"qnanopelican_c{c_hidden}{'' if input_format is None else '_words'}")
