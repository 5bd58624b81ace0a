"""Deploy a kerasjet model with hls4ml from its YAML: project, C simulation, agreement report.

``deploy(config)`` loads the model, builds the hls4ml configuration (backend, part, clock,
io_parallel, reuse factor, precisions read from the QKeras quantizers), writes the HLS project,
compiles the C simulation, runs it on the test jets and writes ``report.json`` with the
Keras-vs-csim agreement. The firmware sees:

* nanoPELICAN: momenta (N·4) in units of the model's momentum scale (for quantized models the
  input type's grid, exactly what QLorentzDot computes from GeV) and the mask (N, ap_uint<1>);
* dense taggers: their features (the trigonometric preprocessing runs upstream of the firmware).
"""

import os
import time

import numpy as np

from kerasjet.errors import KerasjetError
from kerasjet.files import write_json

FEATURE_LAYERS = ("topodnn_features", "dense_features")


def _is_nanopelican(model):
    return any(layer.name == "lorentz_dot" for layer in model.layers)


def firmware_view(model, inputs):
    """(Keras model with list inputs shaped as the firmware's, the firmware's input arrays,
    their names, the Keras outputs to compare with).

    inputs: {'pmu', 'mask'} arrays in GeV. Float nanoPELICANs with BatchNorm are folded first.
    """
    import tensorflow as tf

    if _is_nanopelican(model):
        if any(layer.__class__.__name__ == "MaskedBatchNorm" for layer in model.layers):
            from kerasjet.compress import folded_nanopelican

            model = folded_nanopelican(model, inputs)
        dot = model.get_layer("lorentz_dot")
        if hasattr(dot, "quantized_momenta"):
            momenta = dot.quantized_momenta(inputs["pmu"], inputs["mask"]).numpy()
        else:
            momenta = inputs["pmu"] * inputs["mask"][..., None] / dot.momentum_scale
        view = tf.keras.Model([model.input["pmu"], model.input["mask"]], model.output, name=model.name)
        arrays = [np.ascontiguousarray(momenta.reshape(len(momenta), -1), np.float64), np.ascontiguousarray(inputs["mask"], np.float64)]
        keras = model.predict(inputs, verbose=0, batch_size=1024).reshape(-1)
        return view, arrays, [model.input["pmu"].name, model.input["mask"].name], keras
    features = [layer for layer in model.layers if layer.name in FEATURE_LAYERS]
    if not features:
        raise KerasjetError(f"model '{model.name}' is neither a nanoPELICAN nor a dense tagger")
    computed = features[0]([tf.constant(inputs["pmu"]), tf.constant(inputs["mask"])]).numpy()
    start = tf.keras.Input(computed.shape[1:], name="features")
    x = start
    for layer in model.layers[model.layers.index(features[0]) + 1:]:
        x = layer(x)
    view = tf.keras.Model(start, x, name=model.name)
    keras = view.predict(computed, verbose=0, batch_size=1024).reshape(-1)
    return view, [np.ascontiguousarray(computed, np.float64)], ["features"], keras


def multiplications(layer, input_shape):
    """Multiplications of a layer per inference (what the reuse factor divides), or None."""
    kind = layer.__class__.__name__
    if kind in ("LorentzDot", "QLorentzDot"):
        n = input_shape[1]
        return 4 * n * (n + 1) // 2
    if kind in ("LinEq2to2", "QLinEq2to2"):
        n = input_shape[2]
        c_in, c_out = layer.kernel.shape[1], layer.kernel.shape[2]
        return c_in * c_out * n * n
    if kind in ("LinEq2to0", "QLinEq2to0"):
        return 2 * layer.kernel.shape[1] * layer.kernel.shape[2]
    if kind in ("Dense", "QDense"):
        return int(np.prod(layer.kernel.shape))
    return None


def hls_config(view, config, input_names):
    """The hls4ml configuration dict for the firmware view of a model."""
    import hls4ml

    from kerasjet.hls.types import QKERAS_MODES, from_quantizer

    reuse = config["reuse_factor"]
    precision = config["precision"]
    hls = hls4ml.utils.config_from_keras_model(view, granularity="name", backend=config["backend"],
                                               default_precision=precision.get("default", "ap_fixed<16,6>"), default_reuse_factor=reuse)
    for layer in view.layers:
        count = multiplications(layer, layer.input_shape[0] if isinstance(layer.input_shape, list) else layer.input_shape)
        if count is not None and (count % reuse != 0 or reuse > count):
            raise KerasjetError(f"{config['source']}: key 'reuse_factor' = {reuse} does not divide the {count} multiplications "
                                f"of layer '{layer.name}'")
    names = hls["LayerName"]
    if _is_nanopelican(view):
        dot = view.get_layer("lorentz_dot")
        quantizer = getattr(dot, "input_quantizer", None)
        momentum_type = from_quantizer(quantizer).cpp() if quantizer is not None else precision.get("default", "ap_fixed<16,6>")
        names[input_names[0]]["Precision"]["result"] = momentum_type
        names[input_names[1]]["Precision"]["result"] = "ap_uint<1>"
        if quantizer is None:  # float: the kerasjet layers derive their types from their inputs' when created,
            for layer_config in names.values():  # before hls4ml infers any 'auto' type
                layer_config["Precision"] = {var: momentum_type if kind == "auto" else kind
                                             for var, kind in layer_config["Precision"].items()}
    else:
        first = [layer for layer in view.layers if layer.name.endswith("_input") or layer.name == "input_quantizer"]
        if first and hasattr(first[0], "quantizer"):
            names["features"]["Precision"]["result"] = from_quantizer(first[0].quantizer).cpp(*QKERAS_MODES)
    for layer_name, overrides in precision.get("layers", {}).items():
        if layer_name not in names:
            raise KerasjetError(f"{config['source']}: key 'precision.layers.{layer_name}': the model has no such layer")
        if not isinstance(overrides, dict):
            raise KerasjetError(f"{config['source']}: key 'precision.layers.{layer_name}' must map variables to types")
        names[layer_name]["Precision"].update(overrides)
    return hls


def deploy(config, test_file=None, jets=None, reuse_factor=None, output_dir=None, verbose=True):
    """Convert, compile and simulate; returns the report dict (also written to report.json)."""
    import hls4ml

    import kerasjet.hls  # noqa: F401  (registers the extension)
    from kerasjet.data.pipeline import InputSpec, load_inputs
    from kerasjet.metrics import roc_auc
    from kerasjet.models import load_model

    config = dict(config)
    if reuse_factor is not None:
        config["reuse_factor"] = reuse_factor
    output_dir = output_dir or config["output_dir"]
    test_file = test_file or config["test_data"]["file"]
    jets = jets or config["test_data"]["jets"]
    model = load_model(config["model"])
    n = int(model.input["pmu"].shape[1])
    if n != config["n_constituents"]:
        raise KerasjetError(f"{config['source']}: key 'n_constituents' is {config['n_constituents']} but the model takes N = {n}")
    if not os.path.exists(test_file):
        raise KerasjetError(f"{config['source']}: key 'test_data.file': no such file {test_file} (run `make demo` to create data/demo.h5)")
    inputs, labels = load_inputs(test_file, InputSpec(n), 0, jets)
    view, arrays, input_names, keras = firmware_view(model, inputs)
    hls = hls_config(view, config, input_names)
    say = print if verbose else (lambda *a, **k: None)
    say(f"converting {os.path.relpath(config['model'])} ({config['backend']}, {config['part']}, {config['clock_period']} ns, "
        f"reuse factor {config['reuse_factor']}) into {output_dir}")
    hls_model = hls4ml.converters.convert_from_keras_model(
        view, hls_config=hls, backend=config["backend"], io_type=config["io_type"], part=config["part"],
        clock_period=config["clock_period"], output_dir=output_dir, project_name="kerasjet")
    say("compiling the C simulation")
    hls_model.compile()
    order = [v.name for v in hls_model.get_input_variables()]
    by_name = dict(zip(input_names, arrays))
    csim_inputs = [by_name[name] for name in order] if len(arrays) > 1 else arrays[0]
    start = time.perf_counter()
    csim = np.asarray(hls_model.predict(csim_inputs)).reshape(-1)
    seconds = time.perf_counter() - start
    report = {
        "config": config["source"], "model": config["model"], "output_dir": output_dir, "test_file": test_file, "jets": len(labels),
        "backend": config["backend"], "reuse_factor": config["reuse_factor"],
        "max_abs_diff": float(np.max(np.abs(csim - keras))),
        "identical_outputs": float(np.mean(csim == keras)),
        "distinct_outputs": int(len(np.unique(csim))),
        "decision_agreement": float(np.mean((csim > 0) == (keras > 0))),
        "auc_keras": roc_auc(labels, keras), "auc_csim": roc_auc(labels, csim),
        "csim_jets_per_second": len(labels) / seconds,
    }
    report["auc_diff"] = abs(report["auc_keras"] - report["auc_csim"])
    tolerance = config["tolerance"]
    failures = [k for k, limit, worse in (("max_abs_diff", tolerance["max_abs_diff"], lambda v, l: v > l),
                                           ("decision_agreement", tolerance["decision_agreement"], lambda v, l: v < l),
                                           ("auc_diff", tolerance["auc_diff"], lambda v, l: v > l)) if worse(report[k], limit)]
    report["passed"] = not failures
    report["failed_checks"] = failures
    write_json(report, os.path.join(output_dir, "report.json"))
    return report, hls_model


def format_report(report):
    """One agreement line and a verdict."""
    return (f"{os.path.basename(report['config'])}: {report['jets']} jets, max |Keras − csim| = {report['max_abs_diff']:.3g}, "
            f"identical outputs {report['identical_outputs']:.1%}, same decisions {report['decision_agreement']:.1%}, "
            f"AUC Keras {report['auc_keras']:.4f} / csim {report['auc_csim']:.4f}, csim {report['csim_jets_per_second']:.0f} jets/s"
            + ("" if report["passed"] else f" — FAILED: {', '.join(report['failed_checks'])} outside tolerance"))
