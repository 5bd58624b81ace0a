"""Model builders by name: every Keras model takes [pmu (B, N, 4) GeV, mask (B, N)] — or the
{'pmu', 'mask'} dict, mapped onto its inputs by name (kerasjet.models.inputs) — and returns a
(B, 1) logit of "top"."""

from kerasjet.errors import KerasjetError, first_line
from kerasjet.models.inputs import with_list_inputs
from kerasjet.models.deepsets import deep_sets
from kerasjet.models.lorentznet import lorentznet
from kerasjet.models.mlp import constituent_mlp, hls4ml_tagger, topodnn
from kerasjet.models.nanopelican import nanopelican

BUILDERS = {"nanopelican": nanopelican, "lorentznet": lorentznet, "topodnn": topodnn, "hls4ml_tagger": hls4ml_tagger,
            "constituent_mlp": constituent_mlp, "deep_sets": deep_sets}
# QDense/QConv1D models on features computed upstream of the firmware (kerasjet.models.mlp.weighted_layer)
DENSE_TAGGERS = ("topodnn", "hls4ml_tagger", "constituent_mlp", "deep_sets")


def build_model(name, **kwargs):
    """A model from its builder name and keyword arguments (as stored in a run's config.json):
    inputs {'pmu': (B, N, 4) GeV, 'mask': (B, N)}, output the (B, 1) logit of "top"."""
    if name not in BUILDERS:
        raise KerasjetError(f"unknown model '{name}' (choose from {', '.join(sorted(BUILDERS))})")
    try:
        return BUILDERS[name](**kwargs)
    except TypeError as err:
        raise KerasjetError(f"model '{name}': {err}") from None


def custom_objects():
    """Every custom class a kerasjet model may hold: our layers and quantizers, and QKeras'."""
    import tensorflow as tf
    from qkeras.utils import _add_supported_quantized_objects

    import kerasjet.layers  # noqa: F401  (registers the custom layers)
    import kerasjet.quantizers  # noqa: F401  (registers the quantizers)

    objects = dict(tf.keras.utils.get_custom_objects())
    _add_supported_quantized_objects(objects)
    return objects


MODEL_SUFFIXES = (".keras", ".h5")


def _stored_architecture(path):
    """The model's JSON architecture as stored: config.json of a .keras zip, the attribute
    'model_config' of a legacy .h5 file; read without building (or running) anything."""
    import json
    import zipfile

    import h5py

    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            return json.loads(archive.read("config.json"))
    with h5py.File(path, "r") as f:
        text = f.attrs["model_config"]
    return json.loads(text.decode() if isinstance(text, bytes) else text)


def _lambda_layers(config):
    """Names of the Keras Lambda layers anywhere in an architecture (nested models included)."""
    if isinstance(config, dict):
        own = [config.get("config", {}).get("name", "?")] if config.get("class_name") == "Lambda" else []
        return own + [name for value in config.values() for name in _lambda_layers(value)]
    if isinstance(config, list):
        return [name for value in config for name in _lambda_layers(value)]
    return []


def load_model(path, allow_lambda=False):
    """A saved kerasjet model (inputs pmu (B, N, 4) GeV and mask (B, N), output a (B, 1) logit),
    float (.keras) or quantized (.h5, the format QKeras layers reload
    from), its custom objects registered, with list inputs [pmu, mask] (a file saved with dict
    inputs is rebuilt so); KerasjetError if unreadable.

    Keras Lambda layers store Python code that runs when the model is loaded (legacy .h5) or
    called: a model holding one is refused unless ``allow_lambda``.
    """
    import os

    import tensorflow as tf

    if not os.path.isfile(path):
        raise KerasjetError(f"{path}: no such model file")
    if os.path.splitext(path)[1] not in MODEL_SUFFIXES:
        raise KerasjetError(f"{path}: model files end in .keras (float) or .h5 (quantized)")
    try:
        lambdas = _lambda_layers(_stored_architecture(path))
    except Exception as err:  # any damage to the file: one line, no traceback
        raise KerasjetError(f"{path}: not a loadable Keras model ({first_line(err)})") from None
    if lambdas and not allow_lambda:
        raise KerasjetError(f"{path}: holds the Lambda layer '{lambdas[0]}', whose stored Python code would run on "
                            "loading; refused (pass --allow-lambda only for a file you trust)")
    try:
        model = tf.keras.models.load_model(path, custom_objects=custom_objects(), compile=False, safe_mode=not allow_lambda)
    except Exception as err:
        raise KerasjetError(f"{path}: not a loadable Keras model ({first_line(err)})") from None
    return with_list_inputs(model)


def save_model(model, path):
    """Save atomically: quantized models (QKeras layers) as .h5, others as .keras (``path``'s
    suffix must match; load_model reads both)."""
    import os

    from kerasjet.files import atomic_output

    suffix = os.path.splitext(path)[1]
    if suffix not in (".keras", ".h5"):
        raise KerasjetError(f"{path}: model files end in .keras (float) or .h5 (quantized)")
    with atomic_output(path) as tmp:
        model.save(tmp + suffix)
        os.replace(tmp + suffix, tmp)


def n_constituents_of(model):
    """N, the constituent slots a model's 'pmu' (B, N, 4) or 'words' (B, N, 3) input expects."""
    return int(model.inputs[0].shape[1])


def input_format_of(model):
    """The trigger word format a model starts from (the name held by its WordLorentzDot or
    WordConstituentFeatures), or None for a model of Cartesian momenta."""
    from kerasjet.layers import WordLorentzDot
    from kerasjet.models.mlp import WordConstituentFeatures

    return next((layer.input_format for layer in model.layers if isinstance(layer, (WordLorentzDot, WordConstituentFeatures))), None)


def word_tables_of(model):
    """{'size', 'fraction_bits'} of the pair tables of a model of trigger words (its
    WordLorentzDot's), or None for a model of Cartesian momenta."""
    from kerasjet.layers import WordLorentzDot

    dot = next((layer for layer in model.layers if isinstance(layer, WordLorentzDot)), None)
    return None if dot is None else {"size": dot.table_size, "fraction_bits": dot.fraction_bits}


def input_spec_of(model):
    """The kerasjet.data.pipeline.InputSpec whose inputs ``model`` takes: its N and word format."""
    from kerasjet.data.pipeline import InputSpec

    return InputSpec(n_constituents=n_constituents_of(model), input_format=input_format_of(model))


def trainable_parameters(model):
    """Number of trainable scalars (BatchNorm moving statistics excluded)."""
    import numpy as np

    return int(sum(np.prod(w.shape) for w in model.trainable_weights))
