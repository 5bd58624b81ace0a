"""Fast primitives on channels-first pair arrays (B, C, N, N), with hand-written gradients.

On a CPU the cost of a nanoPELICAN step is the number of (B, C, N, N) arrays written, not the
arithmetic. Automatic differentiation of the straightforward forward pass writes a dozen of
them. Here every pair array is produced by one small XLA-compiled elementwise kernel (one
write), and the gradients are assembled from reductions that only read the big arrays
(``benchmarks/train_step.py`` measures the result).

Conventions: x (B, C, N, N) is zero where i or j is padding; mask (B, N) is 1 for real
constituents; node arrays are (B, C, N).
"""

import tensorflow as tf

_fused = tf.function(jit_compile=True, reduce_retracing=True)


def _pairs_of(mask):
    """m_i m_j → (B, 1, N, N)."""
    return (mask[:, :, None] * mask[:, None, :])[:, None]


def pair_count(mask):
    """Real (i, j) pairs in a batch, Σ_b n_b² (at least 1), for a (B, N) mask."""
    return tf.maximum(tf.reduce_sum(tf.square(tf.reduce_sum(mask, axis=1))), 1.0)


def channel_sum(x):
    """Σ_b Σ_ij x_cij → (C,). Reducing the contiguous (i, j) axes first is much faster on a CPU."""
    return tf.reduce_sum(tf.reduce_sum(x, axis=(2, 3)), axis=0)


def _pair_dot(x, y):
    """Σ_b Σ_ij x_cij y_cij → (C,). (XLA's CPU reductions run on one thread: left to TensorFlow.)"""
    return channel_sum(x * y)


def _flat_pairs(x):
    """(B, C, N, N) → (B, C, N·N)."""
    shape = tf.shape(x)
    return tf.reshape(x, (shape[0], shape[1], shape[2] * shape[3]))


def channel_mix(x, kernel):
    """Σ_c x_cij kernel_ch: x (B, C, N, N), kernel (C, H) → (B, H, N, N)."""
    return _channel_mix(x, kernel)


@_fused
def _channel_mix(x, kernel):
    return tf.einsum("bcij,ch->bhij", x, kernel)


def _kernel_gradient(upstream, x):
    """Σ_b Σ_ij upstream_hij x_cij → (C, H)."""
    if x.shape[1] == 1:  # one batched matvec that only reads
        return tf.transpose(tf.reduce_sum(tf.matmul(_flat_pairs(upstream), _flat_pairs(x), transpose_b=True), axis=0))
    return tf.stack([_pair_dot(upstream, x[:, c : c + 1]) for c in range(x.shape[1])])


@_fused
def _assemble(x, kernel, kernel_transposed, row, col, diag, mask, use_transpose):
    pairs = _pairs_of(mask)
    n = tf.shape(x)[2]
    out = tf.einsum("bcij,ch->bhij", x, kernel)
    if use_transpose:  # a Python bool: fixed when traced
        out += tf.einsum("bcji,ch->bhij", x, kernel_transposed)
    out += (row[:, :, :, None] + col[:, :, None, :]) * pairs
    return out + tf.eye(n, dtype=x.dtype)[None, None] * (diag * mask[:, None, :])[:, :, :, None]


@tf.custom_gradient
def assemble_pairs(x, kernel, kernel_transposed, row, col, diag, mask):
    """The output of a LinEq2→2 layer from its pieces, zero where i or j is padding.

    y_hij = [Σ_c K_ch x_cij + Kᵀ_ch x_cji + row_hi + col_hj + δ_ij diag_hi] · m_i m_j

    with x (B, C, N, N), kernel and kernel_transposed (C, H) — the latter of shape (0, H) when
    the basis has no transposed term — row, col and diag (B, H, N) and mask (B, N).
    """
    use_transpose = kernel_transposed.shape[0] != 0
    out = _assemble(x, kernel, kernel_transposed, row, col, diag, mask, use_transpose)

    def gradient(upstream):
        m = tf.broadcast_to(mask[:, None, :], tf.shape(row))
        d_x = _channel_mix(upstream, tf.transpose(kernel))
        d_kernel_t = tf.zeros_like(kernel_transposed)
        if use_transpose:
            upstream_t = tf.transpose(upstream, (0, 1, 3, 2))
            d_x += _channel_mix(upstream_t, tf.transpose(kernel_transposed))
            d_kernel_t = _kernel_gradient(upstream_t, x)
        d_row = tf.matmul(upstream, m[..., None])[..., 0] * m
        d_col = tf.matmul(m[:, :, None, :], upstream)[:, :, 0, :] * m
        d_diag = tf.linalg.diag_part(upstream) * m
        return d_x, _kernel_gradient(upstream, x), d_kernel_t, d_row, d_col, d_diag, None

    return out, gradient


@_fused
def _broadcast_sums(d_total, d_trace, n):
    out = tf.broadcast_to(d_total[:, :, None, None], tf.stack([tf.shape(d_total)[0], tf.shape(d_total)[1], n, n]))
    return out + tf.eye(n, dtype=d_total.dtype)[None, None] * d_trace[:, :, None, None]


@tf.custom_gradient
def pair_sums(x):
    """(Σ_ij x_cij, Σ_i x_cii) of a (B, C, N, N) array → two (B, C) arrays."""
    total = tf.reduce_sum(x, axis=(2, 3))
    trace = tf.reduce_sum(tf.linalg.diag_part(x), axis=2)

    def gradient(d_total, d_trace):
        return _broadcast_sums(d_total, d_trace, tf.shape(x)[2])

    return (total, trace), gradient


@_fused
def _moments_gradient(x, d_total, d_trace, d_squares):
    n = tf.shape(x)[2]
    out = d_total[:, :, None, None] + tf.eye(n, dtype=x.dtype)[None, None] * d_trace[:, :, None, None]
    return out + 2.0 * x * d_squares[:, :, None, None]


@tf.custom_gradient
def pair_moments(x):
    """(Σ_ij x_cij, Σ_i x_cii, Σ_ij x_cij²) of a (B, C, N, N) array → three (B, C) arrays.

    What a normalisation of x over its real pairs needs (x is zero on padding); the gradient is
    one fused write."""
    total = tf.reduce_sum(x, axis=(2, 3))
    trace = tf.reduce_sum(tf.linalg.diag_part(x), axis=2)
    squares = tf.reduce_sum(tf.square(x), axis=(2, 3))

    def gradient(d_total, d_trace, d_squares):
        return _moments_gradient(x, d_total, d_trace, d_squares)

    return (total, trace, squares), gradient


@_fused
def affine_pairs(x, scale, shift, mask):
    """scale_c x_cij + shift_c m_i m_j for x (B, C, N, N) zero on padding; scale, shift (C,)."""
    return x * scale[:, None, None] + _pairs_of(mask) * shift[:, None, None]


@_fused
def _batch_norm_input_gradient(upstream, x, scale, x_coefficient, pair_coefficient, mask):
    return upstream * scale[:, None, None] + x * x_coefficient[:, None, None] + _pairs_of(mask) * pair_coefficient[:, None, None]


def _masked_sum(x, mask):
    """Σ_b Σ_ij m_i m_j x_cij per channel → (C,), read-only."""
    m = tf.broadcast_to(mask[:, None, :], tf.shape(x)[:3])
    return tf.reduce_sum(tf.matmul(x, m[..., None])[..., 0] * m, axis=(0, 2))


def masked_batch_norm(x, mask, gamma, beta, epsilon):
    """Batch normalisation over the real pairs of x (B, C, N, N), zero on padding.

    Returns (y, mean, variance): y = gamma (x − mean)/sqrt(variance + ε) + beta on real pairs and
    0 on padding, with the batch mean and variance per channel (for the moving averages). The
    gradient of y is the usual batch-norm gradient over the real pairs; its value at padding
    positions of x is unspecified (every kerasjet layer ignores those).
    """
    count = pair_count(mask)
    mean = channel_sum(x) / count
    variance = tf.maximum(_pair_dot(x, x) / count - tf.square(mean), 0.0)
    y = _batch_normalise(x, mask, gamma, beta, tf.stop_gradient(mean), tf.stop_gradient(variance), count, epsilon)
    return y, mean, variance


@tf.custom_gradient
def _batch_normalise(x, mask, gamma, beta, mean, variance, count, epsilon):
    inv_std = tf.math.rsqrt(variance + epsilon)
    scale = gamma * inv_std
    y = affine_pairs(x, scale, beta - mean * scale, mask)

    def gradient(upstream):
        d_beta = _masked_sum(upstream, mask)
        d_gamma = (_pair_dot(upstream, x) - mean * d_beta) * inv_std
        # dx = scale (dy − d_beta/count − x̂ d_gamma/count) on real pairs, x̂ = (x − mean) inv_std
        x_coefficient = -scale * inv_std * d_gamma / count
        pair_coefficient = scale * (inv_std * mean * d_gamma - d_beta) / count
        d_x = _batch_norm_input_gradient(upstream, x, scale, x_coefficient, pair_coefficient, mask)
        return d_x, None, d_gamma, d_beta, None, None, None, None

    return y, gradient
