"""Keras inputs shared by every model: constituent momenta in GeV and the padding mask.

A kerasjet model is a functional model with list inputs [pmu, mask] whose input layers are
named 'pmu' and 'mask', the data pipeline's keys: Keras maps a {'pmu', 'mask'} dict given to
``predict``, ``fit``, ``evaluate`` or a call onto those inputs by name, and hls4ml's Keras reader
(which reads no dict inputs) converts the model as it is.
"""

import tensorflow as tf


def jet_inputs(n_constituents):
    """(pmu (B, N, 4) GeV, mask (B, N)) Keras inputs named as the data pipeline's keys."""
    pmu = tf.keras.Input((n_constituents, 4), name="pmu")
    mask = tf.keras.Input((n_constituents,), name="mask")
    return pmu, mask


def word_inputs(n_constituents):
    """(words (B, N, 3), mask (B, N)) Keras inputs: a trigger's candidate words
    (kerasjet.data.words), the pT, η and φ integer codes in float32."""
    words = tf.keras.Input((n_constituents, 3), name="words")
    mask = tf.keras.Input((n_constituents,), name="mask")
    return words, mask


def jet_model(pmu, mask, output, name):
    """The functional model [pmu (B, N, 4) GeV, mask (B, N)] → output (B, 1) logit."""
    return tf.keras.Model([pmu, mask], output, name=name)


def with_list_inputs(model):
    """A model with dict inputs {'pmu', 'mask'} (how kerasjet saved models before list inputs,
    e.g. the committed files under models/) rebuilt over the same layers and weights with list
    inputs [pmu, mask]; any other model unchanged."""
    if not isinstance(model.input, dict):
        return model
    return jet_model(model.input["pmu"], model.input["mask"], model.output, model.name)
