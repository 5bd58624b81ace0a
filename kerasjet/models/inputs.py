"""Keras inputs shared by every model: constituent momenta in GeV and the padding mask."""

import tensorflow as tf


def jet_inputs(n_constituents):
    """(pmu (B, N, 4) GeV, mask (B, N)) Keras inputs named as the data pipeline's keys."""
    pmu = tf.keras.Input((n_constituents, 4), name="pmu")
    mask = tf.keras.Input((n_constituents,), name="mask")
    return pmu, mask
