"""Batch normalisation of pair arrays that ignores padding."""

import tensorflow as tf

from kerasjet.layers.pair_ops import affine_pairs, masked_batch_norm


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class MaskedBatchNorm(tf.keras.layers.Layer):
    """[x (B, C, N, N), mask (B, N)] → (B, C, N, N) normalised per channel, zero on padding.

    Training statistics are taken over the real (i, j) pairs only (x must be zero elsewhere), so
    they do not depend on how many padding slots a batch carries. At inference
    y = gamma (x − mean) / sqrt(var + ε) + beta on real pairs with the moving statistics: an
    affine map per channel, which ``kerasjet.fold`` absorbs into the next equivariant layer.
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        c = int(input_shape[0][1])
        self.gamma = self.add_weight("gamma", shape=(c,), initializer="ones")
        self.beta = self.add_weight("beta", shape=(c,), initializer="zeros")
        self.moving_mean = self.add_weight("moving_mean", shape=(c,), initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape=(c,), initializer="ones", trainable=False)
        super().build(input_shape)

    def call(self, inputs, training=None):
        x, mask = inputs
        if training:
            y, mean, variance = masked_batch_norm(x, mask, self.gamma, self.beta, self.epsilon)
            self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
            self.moving_variance.assign(self.momentum * self.moving_variance + (1 - self.momentum) * variance)
            return y
        scale, shift = self.affine()
        return affine_pairs(x, scale, shift, mask)

    def affine(self, mean=None, variance=None):
        """(scale, shift) per channel of the map x → scale·x + shift (moving statistics by default)."""
        mean = self.moving_mean if mean is None else mean
        variance = self.moving_variance if variance is None else variance
        scale = self.gamma * tf.math.rsqrt(variance + self.epsilon)
        return scale, self.beta - mean * scale

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, epsilon=self.epsilon)
        return config
