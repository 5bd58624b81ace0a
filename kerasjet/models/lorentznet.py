"""LorentzNet (Gong et al. 2022) with one Lorentz group equivariant block: the seed paper's
LorentzNet-3 baseline (3 hidden channels, about a hundred parameters)."""

import tensorflow as tf

from kerasjet.layers.lorentz import minkowski_products
from kerasjet.models.inputs import jet_inputs, jet_model


def psi(a):
    """sign(a) log(1 + |a|): LorentzNet's compression of invariants spanning decades."""
    return tf.sign(a) * tf.math.log1p(tf.abs(a))


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class LorentzNetBlock(tf.keras.layers.Layer):
    """One LGEB on node scalars h (B, N, H) and momenta x (B, N, 4), masked by m (B, N).

    m_ij = φ_e(h_i, h_j, ψ(‖x_i − x_j‖²), ψ(x_i·x_j)),  w_ij = sigmoid(φ_m(m_ij)),
    h_i ← h_i + φ_h(h_i, Σ_j m_j w_ij m_ij).  Only the scalars are updated: with one block the
    coordinate update of LorentzNet would not reach the output.
    """

    def __init__(self, hidden, **kwargs):
        super().__init__(**kwargs)
        self.hidden = int(hidden)
        dense = tf.keras.layers.Dense
        self.edge_1, self.edge_2 = dense(hidden, activation="relu"), dense(hidden, activation="relu")
        self.edge_weight = dense(1, activation="sigmoid")
        self.node_1, self.node_2 = dense(hidden, activation="relu"), dense(hidden)

    def call(self, inputs):
        h, x, mask = inputs
        n = tf.shape(h)[1]
        dot = minkowski_products(x)
        square = tf.linalg.diag_part(dot)
        norm = square[:, :, None] + square[:, None, :] - 2.0 * dot  # ‖x_i − x_j‖²
        pair = tf.concat(
            [tf.repeat(h[:, :, None, :], n, axis=2), tf.repeat(h[:, None, :, :], n, axis=1), psi(norm)[..., None], psi(dot)[..., None]],
            axis=-1,
        )
        message = self.edge_2(self.edge_1(pair))
        weighted = message * self.edge_weight(message) * mask[:, None, :, None]
        aggregate = tf.reduce_sum(weighted, axis=2)
        return (h + self.node_2(self.node_1(tf.concat([h, aggregate], axis=-1)))) * mask[..., None]

    def get_config(self):
        config = super().get_config()
        config["hidden"] = self.hidden
        return config


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class MaskedMean(tf.keras.layers.Layer):
    """[h (B, N, H), mask (B, N)] → (B, H) mean over real constituents."""

    def call(self, inputs):
        h, mask = inputs
        return tf.reduce_sum(h * mask[..., None], axis=1) / tf.maximum(tf.reduce_sum(mask, axis=1, keepdims=True), 1.0)


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class ScaledMomenta(tf.keras.layers.Layer):
    """[pmu (B, N, 4) GeV, mask] → masked momenta in units of ``momentum_scale`` GeV."""

    def __init__(self, momentum_scale=100.0, **kwargs):
        super().__init__(**kwargs)
        self.momentum_scale = float(momentum_scale)

    def call(self, inputs):
        pmu, mask = inputs
        return pmu * (mask[..., None] / self.momentum_scale)

    def get_config(self):
        return {**super().get_config(), "momentum_scale": self.momentum_scale}


@tf.keras.utils.register_keras_serializable(package="kerasjet")
class PsiMassSquared(tf.keras.layers.Layer):
    """x (B, N, 4) → ψ(x_i·x_i) (B, N, 1): the Lorentz-invariant node scalar of each constituent."""

    def call(self, x):
        return psi(tf.linalg.diag_part(minkowski_products(x)))[..., None]


def lorentznet(hidden=3, n_constituents=80, momentum_scale=100.0, name="lorentznet_3"):
    """LorentzNet-3: node scalar ψ(m_i²) → embedding → one block → masked mean → MLP → logit.
    Inputs [pmu (B, N, 4) GeV, mask (B, N)], momenta divided by ``momentum_scale`` (GeV); output (B, 1)."""
    pmu, mask = jet_inputs(n_constituents)
    x = ScaledMomenta(momentum_scale, name="scaled_momenta")([pmu, mask])
    mass_squared = PsiMassSquared(name="psi_mass2")(x)
    h = tf.keras.layers.Dense(hidden, name="embedding")(mass_squared)
    h = LorentzNetBlock(hidden, name="lgeb")([h, x, mask])
    pooled = MaskedMean(name="mean_pool")([h, mask])
    hidden_out = tf.keras.layers.Dense(hidden, activation="relu", name="decoder")(pooled)
    logit = tf.keras.layers.Dense(1, name="logit")(hidden_out)
    return jet_model(pmu, mask, logit, name)
