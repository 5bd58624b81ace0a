"""Deep Sets on the N leading constituents: a constituent-level, permutation-invariant peer.

Each constituent j enters as x_j = (pT_j/pT_jet, η_j − η_jet, Δφ_j, 1) relative to the axis of the
sum of the N leading constituents (ConstituentFeatures, plus a 1 that marks a real constituent);
padding slots are all zero. A shared per-constituent network φ (kernel-size-1 Conv1D layers with
ReLU and no bias, 4 → 16 → 16) maps every slot; the mean over the N slots, (1/N) Σ_j φ(x_j), feeds
a head ρ (Dense 16 with ReLU, then the logit):

    logit = ρ( (1/N) Σ_j φ(x_j) ).

Without biases φ(0) = 0 exactly, in float and in fixed point, so padding adds nothing and no mask
multiplication is needed; the constant input 1 gives real constituents the first layer's bias.
The sum is permutation invariant by construction; with N a power of two the mean is a shift (the
firmware's exact type: kerasjet.hls.passes). 609 trainable parameters at every N.
"""

import tensorflow as tf

from kerasjet.models.inputs import jet_inputs, jet_model, word_inputs
from kerasjet.models.mlp import ConstituentFeatures, WordConstituentFeatures, quantization_of, weighted_layer

DEEP_SETS_PHI = (16, 16)  # the per-constituent network's widths
DEEP_SETS_RHO = (16,)  # the head's hidden widths
CONSTITUENT_INPUTS = 4  # (pT/pT_jet, Δη, Δφ, 1)


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class DeepSetsFeatures(ConstituentFeatures):
    """[pmu (B, N, 4) GeV, pT-ordered; mask (B, N)] → (B, 4·n): (pT/pT_jet, Δη, Δφ, 1) per slot of
    the n leading constituents, all zero on padding (computed upstream of the firmware)."""

    def call(self, inputs):
        features, mask = self.per_constituent(inputs)
        return tf.reshape(tf.concat([features, mask[..., None]], axis=-1), (-1, CONSTITUENT_INPUTS * self.n_constituents))


def deep_sets(n_constituents=16, name="deep_sets", weight_quantizers=None, activation_quantizers=None, input_quantizers=None,
              input_format=None):
    """The Deep Sets peer on the N leading constituents; output (B, 1) logit.

    Quantization as kerasjet.models.mlp.dense_tagger: one entry per weighted layer in the order
    phi_0, phi_1, rho_0, logit (the φ layers have no bias: their bias quantizer is unused).
    With ``input_format``: inputs [words (B, N, 3), mask], the features computed from the words
    in slot order (WordConstituentFeatures: the leading candidate found, no sorting).
    """
    quantization = quantization_of(weight_quantizers, activation_quantizers, input_quantizers)
    if input_format is None:
        pmu, mask = jet_inputs(n_constituents)
        features = DeepSetsFeatures(n_constituents=n_constituents, name="deep_sets_features")
    else:
        pmu, mask = word_inputs(n_constituents)
        features = WordConstituentFeatures(n_constituents, input_format, with_one=True, name="deep_sets_features")
    x = features([pmu, mask])
    x = tf.keras.layers.Reshape((n_constituents, CONSTITUENT_INPUTS), name="constituents")(x)
    for i, width in enumerate(DEEP_SETS_PHI):
        x = weighted_layer(x, i, width, f"phi_{i}", True, quantization, pointwise=True)
    x = tf.keras.layers.GlobalAveragePooling1D(name="constituent_mean")(x)
    offset = len(DEEP_SETS_PHI)
    for i, width in enumerate(list(DEEP_SETS_RHO) + [1]):
        last = i == len(DEEP_SETS_RHO)
        x = weighted_layer(x, offset + i, width, "logit" if last else f"rho_{i}", not last, quantization)
    return jet_model(pmu, mask, x, name)
