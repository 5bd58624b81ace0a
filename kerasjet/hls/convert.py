"""Deploy a kerasjet model with hls4ml from its YAML: project, C simulation, agreement report.

``deploy(config)`` hands the YAML's hls4ml part to hls4ml's own ``convert_from_config`` — what a
user who calls it on the same file gets, apart from the reuse factor and paths given on the
command line —, compiles the C simulation, runs it on the test jets and writes ``report.json``
with the Keras-vs-csim agreement. The firmware sees (``firmware_inputs``):

* nanoPELICAN: momenta (N·4) in units of the model's momentum scale (for quantized models the
  input type's grid, exactly what QLorentzDot computes from GeV) and the mask (N), or for a
  model of trigger words the words' integer codes (N·3: pT, η, φ) and the mask;
* dense taggers: their jet features (the trigonometric preprocessing runs upstream of the
  firmware), or for the constituent peers of trigger words the words and the mask (their
  features are computed in the firmware).
"""

import copy
import os
import time

import numpy as np

from kerasjet.errors import KerasjetError
from kerasjet.files import write_json

FEATURE_LAYERS = ("topodnn_features", "dense_features", "constituent_features", "deep_sets_features")
PREDICT_BATCH = 1024  # the Keras reference's batch size, also that of the dense taggers' upstream features


def _is_nanopelican(model):
    return any(layer.name == "lorentz_dot" for layer in model.layers)


def for_hls4ml(model, calibration=None):
    """A kerasjet model in the form its firmware computes: a float nanoPELICAN as trained (with
    BatchNorm, or without it and with the training's N̄ = 49) folded into its inference form
    (kerasjet.compress.folded_nanopelican: N̄ = 64, biases polynomial in the multiplicity),
    calibrated on ``calibration`` ({'pmu': (B, N, 4) GeV, 'mask': (B, N)} jets, a few thousand);
    any other model as it is (folded and quantized nanoPELICANs, dense taggers: hls4ml converts
    them directly).
    """
    if not needs_folding(model):
        return model
    if calibration is None:
        from kerasjet.models.nanopelican import has_batchnorm

        what = "has BatchNorm layers" if has_batchnorm(model) else \
            f"is a float nanoPELICAN as trained (N̄ = {model.get_layer('lineq_2to2').n_bar:g}, not a power of two)"
        raise KerasjetError(f"model '{model.name}' {what}: fold it for firmware with calibration jets, "
                            "kerasjet.hls.for_hls4ml(model, {'pmu': pmu, 'mask': mask}) (pmu (B, N, 4) GeV, mask (B, N))")
    from kerasjet.compress import folded_nanopelican

    return folded_nanopelican(model, calibration)


def needs_folding(model):
    """Whether ``model`` is a float nanoPELICAN not yet in its firmware form: BatchNorm, or sums
    normalised by an N̄ that is not a power of two (the N-scaled variant has no firmware form
    and is left to the converter's refusal)."""
    from kerasjet.models.nanopelican import has_batchnorm

    if not _is_nanopelican(model) or hasattr(model.get_layer("lorentz_dot"), "quantized_momenta"):
        return False
    if has_batchnorm(model):
        return True
    lineq = model.get_layer("lineq_2to2")
    return not lineq.scaled and not float(np.log2(lineq.n_bar)).is_integer()


def firmware_inputs(model, inputs):
    """The C simulation's input arrays, in the order of the hls4ml model's inputs.

    model: a kerasjet model (as converted); inputs: {'pmu': (B, N, 4) GeV, 'mask': (B, N)} as
    ``model.predict`` takes them. nanoPELICAN: [momenta (B, 4N) in momentum-scale units (on the
    quantizer's grid for quantized models), mask (B, N)]; dense taggers: [features (B, F)]; any
    model of trigger words ({'words', 'mask'} inputs): [the words' codes (B, 3N), mask (B, N)].
    """
    if "words" in inputs:  # trigger words: the integer codes as they arrive (kerasjet.data.words), every feature in firmware
        words = np.asarray(inputs["words"], np.float64)
        return [np.ascontiguousarray(words.reshape(len(words), -1)), np.ascontiguousarray(inputs["mask"], np.float64)]
    if _is_nanopelican(model):
        dot = model.get_layer("lorentz_dot")
        if hasattr(dot, "quantized_momenta"):
            momenta = dot.quantized_momenta(inputs["pmu"], inputs["mask"]).numpy()
        else:
            momenta = inputs["pmu"] * inputs["mask"][..., None] / dot.momentum_scale
        return [np.ascontiguousarray(momenta.reshape(len(momenta), -1), np.float64), np.ascontiguousarray(inputs["mask"], np.float64)]
    if not any(layer.name in FEATURE_LAYERS for layer in model.layers):
        raise KerasjetError(f"model '{model.name}' is neither a nanoPELICAN nor a dense tagger")
    return [np.ascontiguousarray(feature_values(model, inputs), np.float64)]


def feature_values(model, inputs):
    """(B, F) the outputs of a dense tagger's feature layer on ``inputs`` (what its Keras model
    feeds its network), computed as model.predict computes them (batches of PREDICT_BATCH):
    TensorFlow's trigonometry gives float32 results that depend on the batch shape (one call on
    5,000 jets differed in 30k of the 80k features, by up to 2e-4), and a feature on the other
    side of a rounding boundary of the input type would make the C simulation differ from Keras
    for a reason outside the firmware."""
    import tensorflow as tf

    layer = next(layer for layer in model.layers if layer.name in FEATURE_LAYERS)
    upstream = tf.keras.Model(model.inputs, layer(model.inputs))  # a new node: the layer may be shared
    return upstream.predict(inputs, verbose=0, batch_size=PREDICT_BATCH)


def firmware_view(model, inputs):
    """(Keras model with list inputs shaped as the firmware's, the firmware's input arrays,
    their names, the Keras outputs to compare with), for the RTL flow (kerasjet.rtl).

    inputs: {'pmu', 'mask'} arrays in GeV (or {'words', 'mask'}: a model of trigger words, whose
    firmware computes every feature, is its own view). Float nanoPELICANs with BatchNorm are
    folded first.
    """
    model = for_hls4ml(model, inputs)
    arrays = firmware_inputs(model, inputs)
    keras = model.predict(inputs, verbose=0, batch_size=PREDICT_BATCH).reshape(-1)
    if _is_nanopelican(model) or "words" in inputs:  # from the firmware's own inputs: the whole model
        return model, arrays, [tensor.name for tensor in model.inputs], keras
    return dense_view(model, arrays[0].shape[1:]), arrays, ["features"], keras


def dense_view(model, feature_shape):
    """The layers of a dense tagger or Deep Sets after its feature layer, as a Keras model whose
    input is the features (``feature_shape``: (F,), what firmware_inputs gives per jet)."""
    import tensorflow as tf

    features = [layer for layer in model.layers if layer.name in FEATURE_LAYERS][0]
    start = tf.keras.Input(feature_shape, name="features")
    x = start
    for layer in model.layers[model.layers.index(features) + 1:]:
        x = layer(x)
    return tf.keras.Model(start, x, name=model.name)


def quantized_features(view, features):
    """The features (B, F) on the grid of the quantized dense view's first quantizer, rounded and
    saturated as QKeras does (float64): the firmware input, as the quantized nanoPELICAN's
    momenta are on theirs."""
    from qkeras import QActivation

    from kerasjet.quantizers import apply_quantizer

    first = next(layer for layer in view.layers if isinstance(layer, QActivation))
    return np.asarray(apply_quantizer(first.quantizer, np.asarray(features, np.float32)), np.float64)


def multiplications(layer, input_shape):
    """Multiplications of a layer per inference (per constituent for a pointwise Conv1D): what the reuse factor divides; or None."""
    kind = layer.__class__.__name__
    if kind in ("LorentzDot", "QLorentzDot"):
        n = input_shape[1]
        return 4 * n * (n + 1) // 2
    if kind in ("WordLorentzDot", "QWordLorentzDot"):  # two per pair i ≤ j: pT_i·pT_j, then its product with the tables' sum
        n = input_shape[1]
        return n * (n + 1)
    if kind in ("LinEq2to2", "QLinEq2to2"):
        n = input_shape[2]
        c_in, c_out = layer.kernel.shape[1], layer.kernel.shape[2]
        return c_in * c_out * n * n
    if kind in ("LinEq2to0", "QLinEq2to0"):
        return 2 * layer.kernel.shape[1] * layer.kernel.shape[2]
    if kind in ("Dense", "QDense"):
        return int(np.prod(layer.kernel.shape))
    if kind in ("Conv1D", "QConv1D"):  # Deep Sets' φ: the reuse factor divides the products at one constituent
        return int(np.prod(layer.kernel.shape))
    return None


def check_layers(model, config, reuse_factor):
    """KerasjetError unless every LayerName of the YAML is a layer of ``model`` and every reuse
    factor (``reuse_factor`` for the model, LayerName overrides) divides its layer's
    multiplications."""
    from kerasjet.hls.config import check_identifier

    names = config["hls4ml"]["HLSConfig"].get("LayerName", {})
    layers = {layer.name: layer for layer in model.layers}
    for name in layers:  # they become C++ names and file names of the project
        check_identifier(name, config["source"], f"KerasModel: layer {name!r}", "layer name")
    for name in names:
        if name not in layers:
            raise KerasjetError(f"{config['source']}: HLSConfig.LayerName.{name}: the model has no such layer")
    for layer in model.layers:
        shape = layer.input_shape[0] if isinstance(layer.input_shape, list) else layer.input_shape
        count = multiplications(layer, shape)
        reuse = names.get(layer.name, {}).get("ReuseFactor", reuse_factor)
        if count is not None and (count % reuse != 0 or reuse > count):
            key = f"LayerName.{layer.name}.ReuseFactor" if layer.name in names and "ReuseFactor" in names[layer.name] \
                else "Model.ReuseFactor"
            raise KerasjetError(f"{config['source']}: HLSConfig.{key}: {reuse} does not divide the {count} multiplications "
                                f"of layer '{layer.name}'")


def hls4ml_config(config, model, output_dir, reuse_factor):
    """The dict ``hls4ml.converters.convert_from_config`` takes: the YAML's hls4ml keys with the
    loaded (or folded) Keras model, the output folder and the model's reuse factor."""
    hls = copy.deepcopy({k: v for k, v in config["hls4ml"].items() if k != "KerasModel"})
    hls.update(KerasModel=model, OutputDir=output_dir)
    hls["HLSConfig"]["Model"]["ReuseFactor"] = reuse_factor
    return hls


def _invalidate(report_path):
    """Delete an old report.json, so that a failed run never leaves one that looks fresh."""
    if os.path.exists(report_path):
        os.remove(report_path)


def deploy(config, test_file=None, jets=None, reuse_factor=None, output_dir=None, verbose=True):
    """Convert, compile and simulate; returns (report dict, hls4ml model); the report is also
    written to OUTPUT_DIR/report.json (an old one is deleted first)."""
    import hls4ml

    import kerasjet.hls  # noqa: F401  (registers the extension)
    from kerasjet.data.pipeline import load_inputs
    from kerasjet.models import input_spec_of, load_model, n_constituents_of

    reuse_factor = reuse_factor or config["reuse_factor"]
    output_dir = output_dir or config["output_dir"]
    test_file = test_file or config["test_data"]["file"]
    jets = jets or config["test_data"]["jets"]
    report_path = os.path.join(output_dir, "report.json")
    model = load_model(config["model"])
    if not _is_nanopelican(model) and not any(layer.name in FEATURE_LAYERS for layer in model.layers):
        raise KerasjetError(f"{config['source']}: KerasModel: {config['model']} is neither a nanoPELICAN nor a dense tagger "
                            "(constituent MLP, hls4ml-style tagger, TopoDNN, Deep Sets): kerasjet converts only those")
    n = n_constituents_of(model)
    if n != config["n_constituents"]:
        raise KerasjetError(f"{config['source']}: kerasjet.n_constituents: {config['n_constituents']} but the model takes N = {n}")
    if not os.path.exists(test_file):
        raise KerasjetError(f"{config['source']}: kerasjet.test_data.file: no such file {test_file} "
                            "(run `make demo` to create data/demo.h5)")
    inputs, labels = load_inputs(test_file, input_spec_of(model), 0, jets)
    model = for_hls4ml(model, inputs)
    check_layers(model, config, reuse_factor)
    _invalidate(report_path)
    say = print if verbose else (lambda *a, **k: None)
    say(f"converting {os.path.relpath(config['model'])} ({config['backend']}, {config['part']}, {config['clock_period']} ns, "
        f"reuse factor {reuse_factor}) into {output_dir}")
    if verbose:  # da4ml's quick resource estimate, before the long steps (kerasjet.rtl.flow.estimate_line)
        from kerasjet.rtl.flow import estimate_line

        say(estimate_line(model, inputs), flush=True)
    hls_model = hls4ml.converters.convert_from_config(hls4ml_config(config, model, output_dir, reuse_factor))
    say("compiling the C simulation (g++, seconds to a minute) ...", flush=True)
    start = time.perf_counter()
    hls_model.compile()
    say(f"compiled in {time.perf_counter() - start:.0f} s; simulating {len(labels)} jets")
    keras = model.predict(inputs, verbose=0, batch_size=PREDICT_BATCH).reshape(-1)
    arrays = firmware_inputs(model, inputs)
    start = time.perf_counter()
    csim = np.asarray(hls_model.predict(arrays if len(arrays) > 1 else arrays[0])).reshape(-1)
    seconds = time.perf_counter() - start
    report = agreement(keras, csim, labels, config["tolerance"], exact=fixed_point_reference(model, arrays))
    report.update(config=config["source"], model=config["model"], output_dir=output_dir, test_file=test_file,
                  backend=config["backend"], reuse_factor=reuse_factor, csim_jets_per_second=len(labels) / seconds)
    write_json(report, report_path)
    return report, hls_model


def fixed_point_reference(model, arrays):
    """The exact logits (B,) of a quantized dense tagger or Deep Sets on its firmware input
    ``arrays`` (firmware_inputs), fixed_point_logits of its dense view on its features; None for
    a nanoPELICAN (its quantized Keras layers compute exactly). A peer of trigger words gets its
    features from its own (exact) feature layer on the words and the mask.

    QKeras' float32 is exact only while products and sums need at most 24 bits: a 16-bit dense
    tagger's Keras logits differ from its fixed-point arithmetic (by up to 7e-4 for the
    hls4ml-style tagger), and its C simulation is compared with this reference instead.
    """
    if _is_nanopelican(model):
        return None
    features = arrays[0]
    if len(arrays) > 1:  # trigger words (B, 3N) and the mask: the features as the firmware computes them
        features = feature_values(model, [features.reshape(len(features), -1, 3), arrays[1]])
    view = dense_view(model, features.shape[1:])
    return fixed_point_logits(view, quantized_features(view, features))


def fixed_point_logits(view, rows):
    """kerasjet.rtl.trace.exact_dense_logits of a dense view on its quantized feature ``rows``;
    None for a float view (no fixed-point form) and for types whose sums need more than
    float64's 53 bits."""
    from qkeras import QConv1D, QDense

    if not any(isinstance(layer, (QDense, QConv1D)) for layer in view.layers):
        return None
    from kerasjet.rtl.trace import exact_dense_logits

    try:
        return exact_dense_logits(view, rows)
    except KerasjetError:  # no exact form (sums wider than float64 holds, a layer without one): Keras it is
        return None


def agreement(keras, csim, labels, tolerance, exact=None):
    """Agreement numbers of the report and the verdict against the YAML's tolerances: csim against
    the ``exact`` fixed-point logits where given (fixed_point_reference; then also Keras against
    them), else against Keras."""
    from kerasjet.metrics import roc_auc

    reference = keras if exact is None else exact
    report = {
        "jets": len(labels),
        "reference": "Keras" if exact is None else "exact fixed point",
        "max_abs_diff": float(np.max(np.abs(csim - reference))),
        "identical_outputs": float(np.mean(csim == reference)),
        "distinct_outputs": int(len(np.unique(csim))),
        "decision_agreement": float(np.mean((csim > 0) == (reference > 0))),
        "auc_keras": roc_auc(labels, keras), "auc_csim": roc_auc(labels, csim),
    }
    if exact is not None:
        report["keras_vs_exact_max_abs_diff"] = float(np.max(np.abs(keras - exact)))
    report["auc_diff"] = abs(report["auc_keras"] - report["auc_csim"])
    failures = [k for k, worse in (("max_abs_diff", lambda v, l: v > l), ("decision_agreement", lambda v, l: v < l),
                                   ("auc_diff", lambda v, l: v > l)) if worse(report[k], tolerance[k])]
    report["passed"] = not failures
    report["failed_checks"] = failures
    return report


def format_report(report):
    """One agreement line and a verdict."""
    keras_float32 = (f" (Keras' float32 differs from it by up to {report['keras_vs_exact_max_abs_diff']:.3g})"
                     if report.get("keras_vs_exact_max_abs_diff") else "")
    return (f"{os.path.basename(report['config'])}: {report['jets']} jets, max |{report['reference']} − csim| = "
            f"{report['max_abs_diff']:.3g}{keras_float32}, "
            f"identical outputs {report['identical_outputs']:.1%}, same decisions {report['decision_agreement']:.1%}, "
            f"AUC Keras {report['auc_keras']:.4f} / csim {report['auc_csim']:.4f}, csim {report['csim_jets_per_second']:.0f} jets/s"
            + ("" if report["passed"] else f" — FAILED: {', '.join(report['failed_checks'])} outside tolerance"))
