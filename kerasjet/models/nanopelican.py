"""nanoPELICAN: the Lorentz- and permutation-invariant tiny top tagger of the seed paper."""

import tensorflow as tf

from kerasjet.layers import LinEq2to0, LinEq2to2, LorentzDot, MaskedBatchNorm
from kerasjet.models.inputs import jet_inputs

# d_ij in units of (100 GeV)²: O(1) for the hard pairs of a 600 GeV jet
DEFAULT_MOMENTUM_SCALE = 100.0
INITIAL_HIDDEN_BIAS = 0.1


def nanopelican(c_hidden=2, n_constituents=80, scaled=False, batchnorm=True, dropout=0.0, basis="nano",
                momentum_scale=DEFAULT_MOMENTUM_SCALE, name=None):
    """d → [BatchNorm → Dropout] → LinEq2→2 → ReLU → [BatchNorm → Dropout] → LinEq2→0 → logit.

    Inputs {'pmu': (B, N, 4) GeV, 'mask': (B, N)}; output (B, 1), the logit of "top".
    Without BatchNorm the nano model has 10·c_hidden + 1 trainable parameters.
    """
    pmu, mask = jet_inputs(n_constituents)
    x = LorentzDot(momentum_scale=momentum_scale, name="lorentz_dot")([pmu, mask])
    if batchnorm:
        x = MaskedBatchNorm(name="bn_input")([x, mask])
    if dropout:
        x = tf.keras.layers.Dropout(dropout, name="dropout_input")(x)
    # Minkowski products of physical momenta are ≥ 0, so without BatchNorm a channel whose d_ij
    # weight starts negative would start dead; a small positive bias keeps every ReLU alive
    # on the many soft pairs (d ≈ 0) at initialisation.
    hidden_bias = "zeros" if batchnorm else tf.keras.initializers.Constant(INITIAL_HIDDEN_BIAS)
    x = LinEq2to2(c_hidden, basis=basis, scaled=scaled, bias_initializer=hidden_bias, name="lineq_2to2")([x, mask])
    x = tf.keras.layers.ReLU(name="relu")(x)
    if batchnorm:
        x = MaskedBatchNorm(name="bn_hidden")([x, mask])
    if dropout:
        x = tf.keras.layers.Dropout(dropout, name="dropout_hidden")(x)
    logit = LinEq2to0(1, scaled=scaled, name="lineq_2to0")([x, mask])
    default = f"nanopelican_c{c_hidden}{'_scaled' if scaled else ''}{'' if basis == 'nano' else '_' + basis}"
    return tf.keras.Model({"pmu": pmu, "mask": mask}, logit, name=name or default)


def with_constituents(model, n_constituents):
    """A trained float nanoPELICAN rebuilt for ``n_constituents`` slots with the same weights
    (nanoPELICAN's weights do not depend on N) and the same momentum unit."""
    lineq2 = model.get_layer("lineq_2to2")
    rebuilt = nanopelican(lineq2.units, n_constituents, scaled=lineq2.scaled, basis=lineq2.basis,
                          batchnorm=any(layer.name == "bn_input" for layer in model.layers),
                          momentum_scale=model.get_layer("lorentz_dot").momentum_scale)
    rebuilt.set_weights(model.get_weights())
    return rebuilt


def nanopelican_folded(c_hidden=2, n_constituents=80, n_bar=64.0, multiplicity_degree=2, momentum_scale=DEFAULT_MOMENTUM_SCALE,
                       name=None):
    """The inference form of a trained nanoPELICAN: no BatchNorm or Dropout, biases polynomial in
    r = n/N̄ (the folded BatchNorms) and a power-of-two N̄; what the quantized model starts from."""
    pmu, mask = jet_inputs(n_constituents)
    x = LorentzDot(momentum_scale=momentum_scale, name="lorentz_dot")([pmu, mask])
    x = LinEq2to2(c_hidden, n_bar=n_bar, multiplicity_degree=multiplicity_degree, name="lineq_2to2")([x, mask])
    x = tf.keras.layers.ReLU(name="relu")(x)
    logit = LinEq2to0(1, n_bar=n_bar, multiplicity_degree=multiplicity_degree, name="lineq_2to0")([x, mask])
    return tf.keras.Model({"pmu": pmu, "mask": mask}, logit, name=name or f"nanopelican_c{c_hidden}_folded")


def qnanopelican(c_hidden, n_constituents, precision, multiplicity_degree=2, momentum_scale=DEFAULT_MOMENTUM_SCALE, name=None):
    """Quantized nanoPELICAN (see kerasjet.layers.quantized): QLorentzDot → QLinEq2to2 →
    QActivation(quantized_relu) → QLinEq2to0, every type from ``precision`` (a NanoPrecision)."""
    from qkeras import QActivation

    from kerasjet.layers import QLinEq2to0, QLinEq2to2, QLorentzDot

    pmu, mask = jet_inputs(n_constituents)
    x = QLorentzDot(momentum_scale, input_quantizer=precision.input, output_quantizer=precision.dot, name="lorentz_dot")([pmu, mask])
    x = QLinEq2to2(c_hidden, kernel_quantizer=precision.weight_quantizer(0), bias_quantizer=precision.weight_quantizer(0, bias=True),
                   output_quantizer=precision.hidden, accumulator_quantizer=precision.accumulator,
                   multiplicity_degree=multiplicity_degree, name="lineq_2to2")([x, mask])
    x = QActivation(precision.activation, name="relu")(x)
    logit = QLinEq2to0(1, kernel_quantizer=precision.weight_quantizer(1), bias_quantizer=precision.weight_quantizer(1, bias=True),
                       output_quantizer=precision.output,
                       multiplicity_degree=multiplicity_degree, name="lineq_2to0")([x, mask])
    return tf.keras.Model({"pmu": pmu, "mask": mask}, logit, name=name or f"qnanopelican_c{c_hidden}")
