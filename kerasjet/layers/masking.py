"""Padding masks for pair arrays.

Pair arrays are channels-first, (B, C, N, N): each channel is one contiguous N×N matrix, which
keeps TensorFlow's CPU kernels vectorised along j (channels-last with C = 1 or 2 is several
times slower). Every kerasjet layer returns pair arrays that are exactly zero where i or j is
padding, and expects its pair input to be so.
"""

import tensorflow as tf


def pair_mask(mask):
    """m_i m_j for a (B, N) node mask → (B, 1, N, N), broadcastable over channels."""
    return (mask[:, :, None] * mask[:, None, :])[:, None]


def multiplicity(mask):
    """n = Σ_i m_i for a (B, N) mask → (B,)."""
    return tf.reduce_sum(mask, axis=1)


def diagonal(x):
    """x_ii of a (B, C, N, N) pair array → (B, C, N)."""
    return tf.linalg.diag_part(x)
