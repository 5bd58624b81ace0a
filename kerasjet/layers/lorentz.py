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


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class WordLorentzDot(tf.keras.layers.Layer):
    """[words (B, N, 3), mask (B, N)] → d (B, 1, N, N), zero where i or j is padding: the Lorentz
    products of massless candidates given as trigger words (kerasjet.data.words), in units of
    ``momentum_scale`` GeV squared,

        d_ij = pT_i pT_j [g_η(|Δη_ij|) + g_φ(|Δφ_ij|)],

    pT from its code, g_η and g_φ read from the firmware's tables (``PairTables`` of
    ``input_format`` with ``table_size`` entries and ``fraction_bits``) at the integer code
    differences, Δφ wrapped. The words are integer codes held in float32; the output is symmetric
    and invariant under permutations of the candidates and under boosts along the beam (Δη).
    """

    def __init__(self, input_format=None, table_size=512, fraction_bits=14, momentum_scale=100.0, **kwargs):
        super().__init__(**kwargs)
        from kerasjet.data.words import DEFAULT_INPUT_FORMAT, PairTables, input_format as format_named

        input_format = input_format or DEFAULT_INPUT_FORMAT
        self.input_format, self.table_size, self.fraction_bits = input_format, int(table_size), int(fraction_bits)
        self.momentum_scale = float(momentum_scale)
        self.tables = PairTables(format_named(input_format), self.table_size, self.fraction_bits)

    def call(self, inputs):
        words, mask = inputs
        pt = self.scaled_pt(words, mask)
        return (pt[:, :, None] * pt[:, None, :] * self.angular_terms(words))[:, None]

    def scaled_pt(self, words, mask):
        """(B, N) pT in units of ``momentum_scale``, zero on padding."""
        return words[..., 0] * (mask * (self.tables.fmt.pt.lsb / self.momentum_scale))

    def angular_terms(self, words):
        """(B, N, N) T_η[|Δη_ij|] + T_φ[|Δφ_ij|] from the tables, Δφ wrapped, differences beyond the
        tables read their last entry; in the words' dtype."""
        fmt, dtype = self.tables.fmt, words.dtype
        deta = tf.abs(words[:, :, None, 1] - words[:, None, :, 1])
        half = float(fmt.phi_period // 2)
        dphi = tf.abs(tf.math.floormod(words[:, :, None, 2] - words[:, None, :, 2] + half, float(fmt.phi_period)) - half)
        last = float(self.table_size - 1)
        g_eta = tf.gather(tf.constant(self.tables.eta, dtype), tf.cast(tf.minimum(deta, last), tf.int32))
        g_phi = tf.gather(tf.constant(self.tables.phi, dtype), tf.cast(tf.minimum(dphi, last), tf.int32))
        return g_eta + g_phi

    def compute_output_shape(self, input_shape):
        n = input_shape[0][1]
        return (input_shape[0][0], 1, n, n)

    def get_config(self):
        config = super().get_config()
        config.update(input_format=self.input_format, table_size=self.table_size, fraction_bits=self.fraction_bits,
                      momentum_scale=self.momentum_scale)
        return config
