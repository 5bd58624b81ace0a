"""Minkowski products of constituent four-momenta: the Lorentz-invariant input of nanoPELICAN."""

import tensorflow as tf

# metric (+,-,-,-) on (E, px, py, pz)
METRIC = (1.0, -1.0, -1.0, -1.0)


def minkowski_products(pmu):
    """d_ij = p_i · p_j for (B, N, 4) momenta → (B, N, N) in the square of the momentum unit."""
    return tf.matmul(pmu * tf.constant(METRIC, pmu.dtype), pmu, transpose_b=True)


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class LorentzDot(tf.keras.layers.Layer):
    """[pmu (B, N, 4) GeV, mask (B, N)] → d (B, 1, N, N), zero where i or j is padding.

    d_ij = (p_i / s) · (p_j / s) with s = ``momentum_scale`` in GeV, so d is in units of s².
    The output is symmetric and invariant under Lorentz transformations of all momenta.
    """

    def __init__(self, momentum_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum_scale = float(momentum_scale)

    def call(self, inputs):
        pmu, mask = inputs
        return minkowski_products(pmu * (mask[..., None] / self.momentum_scale))[:, None]

    def compute_output_shape(self, input_shape):
        n = input_shape[0][1]
        return (input_shape[0][0], 1, n, n)

    def get_config(self):
        config = super().get_config()
        config["momentum_scale"] = self.momentum_scale
        return config
