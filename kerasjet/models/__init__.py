"""Model builders by name: every Keras model takes {'pmu': (B, N, 4) GeV, 'mask': (B, N)} and
returns a (B, 1) logit of "top"."""

from kerasjet.errors import KerasjetError
from kerasjet.models.lorentznet import lorentznet
from kerasjet.models.mlp import topodnn
from kerasjet.models.nanopelican import nanopelican

BUILDERS = {"nanopelican": nanopelican, "lorentznet": lorentznet, "topodnn": topodnn}


def build_model(name, **kwargs):
    """A model from its builder name and keyword arguments (as stored in a run's config.json)."""
    if name not in BUILDERS:
        raise KerasjetError(f"unknown model '{name}' (choose from {', '.join(sorted(BUILDERS))})")
    try:
        return BUILDERS[name](**kwargs)
    except TypeError as err:
        raise KerasjetError(f"model '{name}': {err}") from None


def load_model(path):
    """A saved kerasjet model (.keras), its custom layers registered; KerasjetError if unreadable."""
    import os

    import tensorflow as tf

    import kerasjet.layers  # noqa: F401  (registers the custom layers)

    if not os.path.exists(path):
        raise KerasjetError(f"{path}: no such model file")
    try:
        return tf.keras.models.load_model(path, compile=False)
    except (OSError, ValueError, TypeError) as err:
        raise KerasjetError(f"{path}: not a loadable Keras model ({str(err).splitlines()[0]})") from None


def n_constituents_of(model):
    """N, the constituent slots a model's 'pmu' input expects."""
    return int(model.input["pmu"].shape[1])


def trainable_parameters(model):
    """Number of trainable scalars (BatchNorm moving statistics excluded)."""
    import numpy as np

    return int(sum(np.prod(w.shape) for w in model.trainable_weights))
