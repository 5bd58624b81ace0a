"""Evaluate trained models (and the mass cut) on a jet file: metrics, ROC, seed aggregation."""

import numpy as np

from kerasjet.data.io import read_jets
from kerasjet.data.pipeline import load_inputs
from kerasjet.errors import KerasjetError
from kerasjet.metrics import evaluate_scores, roc_auc
from kerasjet.models import input_spec_of, load_model, trainable_parameters
from kerasjet.models.masscut import ACCURACY_THRESHOLDS, mass_cut_scores

MASS_CUT = "masscut"


def model_scores(model, data_path, batch_size=2048):
    """(labels (n,), logits (n,)) of a Keras model on every jet of ``data_path``."""
    inputs, labels = load_inputs(data_path, input_spec_of(model))
    logits = model.predict(inputs, batch_size=batch_size, verbose=0)
    return labels, np.asarray(logits).reshape(-1)


def model_auc(model, data_path):
    """ROC AUC of a Keras model on every jet of ``data_path``."""
    return float(roc_auc(*model_scores(model, data_path)))


def mass_cut(data_path, score="mass", n_constituents=None):
    """(labels, scores) of the jet-mass cut (``score`` 'mass' or 'window', see
    kerasjet.models.masscut) on every jet of ``data_path``, its mass taken over the
    ``n_constituents`` leading (stored, pT-ordered) constituents — all of them when None."""
    jets = read_jets(data_path)
    slots = jets.pmu.shape[1] if n_constituents is None else min(n_constituents, jets.pmu.shape[1])
    mask = np.arange(slots)[None, :] < jets.nobj[:, None]
    return jets.is_signal, mass_cut_scores(jets.pmu[:, :slots], mask, score)


def evaluate(model_path, data_path, allow_lambda=False, mass_score="mass", n_constituents=None):
    """(metrics dict, labels, scores) for a model file or the string 'masscut' (its score
    ``mass_score``, over the ``n_constituents`` leading constituents, all when None).

    A jet whose score is NaN/inf cannot be ranked: KerasjetError naming the model, file and jet.
    """
    if model_path == MASS_CUT:
        labels, scores = mass_cut(data_path, mass_score, n_constituents)
        threshold, n_parameters = ACCURACY_THRESHOLDS[mass_score], 0
    else:
        model = load_model(model_path, allow_lambda=allow_lambda)
        inputs = list(getattr(model, "input_names", None) or [])
        if not ({"pmu", "mask"} <= set(inputs) or {"words", "mask"} <= set(inputs)):
            raise KerasjetError(f"{model_path}: its inputs are {inputs}; kerasjet evaluates models whose inputs are 'pmu' "
                                "(B, N, 4) or 'words' (B, N, 3) and 'mask' (B, N), as kerasjet.models builds them")
        labels, scores = model_scores(model, data_path)
        threshold, n_parameters = 0.0, trainable_parameters(model)
    bad = ~np.isfinite(scores)
    if bad.any():
        raise KerasjetError(f"{model_path}: score {scores[bad][0]} for jet {int(np.argmax(bad))} of {data_path} "
                            "(a NaN/inf score cannot be ranked)")
    return evaluate_scores(labels, scores, threshold=threshold, n_parameters=n_parameters), labels, scores


def aggregate(metric_dicts):
    """Mean and standard deviation over runs: {key: (mean, std)} for every numeric key."""
    keys = [k for k, v in metric_dicts[0].items() if isinstance(v, (int, float))]
    out = {}
    for k in keys:
        values = np.array([m[k] for m in metric_dicts], dtype=np.float64)
        out[k] = (float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0)
    out["parameters"] = metric_dicts[0].get("parameters")
    out["runs"] = len(metric_dicts)
    notes = [m["threshold_note"] for m in metric_dicts if m.get("threshold_note")]
    if notes:
        out["threshold_note"] = f"{len(notes)} of {len(metric_dicts)} runs: {notes[0]}"
    return out
