"""Batch normalisation of pair arrays that ignores padding."""

import tensorflow as tf

from kerasjet.layers.pair_ops import affine_pairs, masked_batch_norm, pair_count


def batch_statistics(total, squares, mask):
    """(mean, variance) (C,) over the real pairs of a batch, from the per-jet sums Σ_ij x and
    Σ_ij x² (B, C) of a pair array that is zero on padding (the biased variance)."""
    count = pair_count(mask)
    mean = tf.reduce_sum(total, axis=0) / count
    return mean, tf.maximum(tf.reduce_sum(squares, axis=0) / count - tf.square(mean), 0.0)


class PairNormalization:
    """The weights of a masked batch normalisation over pair channels (a layer mixin).

    On real pairs x → gamma (x − mean) / sqrt(var + ε) + beta: training uses the batch's mean
    and (biased) variance over the real (i, j) pairs and updates the moving averages
    (``momentum`` per step); inference uses the moving averages. Either way the map is affine
    per channel, ``affine()``, which ``kerasjet.fold`` absorbs into the next equivariant layer.
    """

    def _init_normalization(self, momentum, epsilon):
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)

    def _build_normalization(self, channels):
        self.gamma = self.add_weight("gamma", shape=(channels,), initializer="ones")
        self.beta = self.add_weight("beta", shape=(channels,), initializer="zeros")
        self.moving_mean = self.add_weight("moving_mean", shape=(channels,), initializer="zeros", trainable=False)
        self.moving_variance = self.add_weight("moving_variance", shape=(channels,), initializer="ones", trainable=False)

    def _update_moving_statistics(self, mean, variance):
        self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mean)
        self.moving_variance.assign(self.momentum * self.moving_variance + (1 - self.momentum) * variance)

    def batch_affine(self, total, squares, mask):
        """Training: (scale, shift) per channel from the batch statistics, given the per-jet sums
        Σ_ij x and Σ_ij x² (B, C) of the pair array being normalised; updates the moving averages."""
        mean, variance = batch_statistics(total, squares, mask)
        self._update_moving_statistics(tf.stop_gradient(mean), tf.stop_gradient(variance))
        return self.affine(mean, variance)

    def affine(self, mean=None, variance=None):
        """(scale, shift) per channel of the map x → scale·x + shift (moving statistics by default)."""
        mean = self.moving_mean if mean is None else mean
        variance = self.moving_variance if variance is None else variance
        scale = self.gamma * tf.math.rsqrt(variance + self.epsilon)
        return scale, self.beta - mean * scale


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class MaskedBatchNorm(PairNormalization, tf.keras.layers.Layer):
    """[x (B, C, N, N), mask (B, N)] → (B, C, N, N) normalised per channel, zero on padding.

    Training statistics are taken over the real (i, j) pairs only (x must be zero elsewhere), so
    they do not depend on how many padding slots a batch carries (see PairNormalization). The
    nanoPELICAN builder uses this separate layer only where Dropout follows the normalisation;
    otherwise the next equivariant layer normalises its own input (``normalize_input``), which
    computes the same function without writing the normalised array.
    """

    def __init__(self, momentum=0.99, epsilon=1e-3, **kwargs):
        super().__init__(**kwargs)
        self._init_normalization(momentum, epsilon)

    def build(self, input_shape):
        self._build_normalization(int(input_shape[0][1]))
        super().build(input_shape)

    def call(self, inputs, training=None):
        x, mask = inputs
        if training:
            y, mean, variance = masked_batch_norm(x, mask, self.gamma, self.beta, self.epsilon)
            self._update_moving_statistics(mean, variance)
            return y
        scale, shift = self.affine()
        return affine_pairs(x, scale, shift, mask)

    def get_config(self):
        config = super().get_config()
        config.update(momentum=self.momentum, epsilon=self.epsilon)
        return config
