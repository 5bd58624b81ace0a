"""Keras (v2 frontend) handlers: kerasjet layers → hls4ml IR layer dictionaries.

Weights are read from the live Keras layer (``data_reader.model``) through its
``effective_weights()``, i.e. after quantization, so the firmware gets exactly the numbers the
Keras model multiplies with.
"""

import math

import numpy as np
from qkeras.quantizers import quantized_bits

from kerasjet.errors import KerasjetError
from kerasjet.hls.layers import polynomial_bias
from kerasjet.hls.types import LAYER_MODES, Fixed, from_quantizer
from kerasjet.quantizers import bitlinear_ternary

# default internal formats of float (unquantized) models, overridable per layer in the YAML
FLOAT_WEIGHT = Fixed(18, 8)
FLOAT_BIAS = Fixed(18, 8)


def _keras_layer(data_reader, name):
    return data_reader.model.get_layer(name)


def _base(keras_layer, input_names, class_name):
    layer = {"class_name": class_name, "name": keras_layer["config"]["name"]}
    if input_names is not None:
        layer["inputs"] = input_names
    return layer


def _result_precision(quantizer):
    return None if quantizer is None else from_quantizer(quantizer).hls(*LAYER_MODES)


def parse_lorentz_dot(keras_layer, input_names, input_shapes, data_reader):
    layer = _base(keras_layer, input_names, "KJLorentzDot")
    source = _keras_layer(data_reader, layer["name"])
    n = input_shapes[0][1]
    layer["n_particles"] = n
    layer["result_precision"] = _result_precision(getattr(source, "output_quantizer", None))
    momentum = getattr(source, "input_quantizer", None)
    layer["momentum_fixed"] = from_quantizer(momentum) if momentum is not None else None
    return layer, [None, 1, n, n]


def parse_upstream_features(keras_layer, input_names, input_shapes, data_reader):
    """Jet features computed upstream of the firmware (trigonometry on the constituents): the
    firmware's input, replacing the Keras inputs they are computed from. Its type is that of the
    QActivation that quantizes them in a quantized model (kerasjet.hls.passes)."""
    model = data_reader.model
    source = model.get_layer(keras_layer["config"]["name"])
    position = model.layers.index(source) + 1
    while model.layers[position].__class__.__name__ == "Reshape":  # Deep Sets: the features as (N, 4) first
        position += 1
    following = model.layers[position]
    quantizer = getattr(following, "quantizer", None) if following.__class__.__name__ == "QActivation" else None
    layer = {"class_name": "InputLayer", "name": source.name, "input_shape": [int(source.output_shape[-1])],
             "replaces_inputs": list(input_names),
             "firmware_precision": from_quantizer(quantizer) if isinstance(quantizer, quantized_bits) else None}
    return layer, [None, int(source.output_shape[-1])]


def _equivariant(keras_layer, input_names, input_shapes, data_reader, class_name):
    source = _keras_layer(data_reader, keras_layer["config"]["name"])
    if source.normalize_input:
        raise KerasjetError(f"layer '{source.name}' normalises its input (BatchNorm) and has no firmware form: fold the model "
                            "first (kerasjet.hls.for_hls4ml(model, calibration_jets) absorbs BatchNorm)")
    if source.scaled:
        raise KerasjetError(f"layer '{source.name}': the N-scaled variant has no firmware form (non-integer powers of n); "
                            "deploy the unscaled model")
    log2_nbar = math.log2(source.n_bar)
    if log2_nbar != int(log2_nbar):
        raise KerasjetError(f"layer '{source.name}': N̄ = {source.n_bar:g} is not a power of two; fold the model for firmware "
                            "first: kerasjet.hls.for_hls4ml(model, {'pmu': pmu, 'mask': mask}) with calibration jets "
                            "(kerasjet.compress.folded_nanopelican)")
    layer = _base(keras_layer, input_names, class_name)
    weights = {k: np.asarray(v, np.float64) for k, v in source.effective_weights().items()}
    kernel = weights["kernel"]
    layer.update(
        n_particles=input_shapes[0][2], n_in=kernel.shape[1], n_out=kernel.shape[2], log2_nbar=int(log2_nbar),
        degree=source.multiplicity_degree, result_precision=_result_precision(getattr(source, "output_quantizer", None)),
    )
    kernel_quantizer = getattr(source, "kernel_quantizer", None)
    biases = [v for k, v in weights.items() if k != "kernel"]
    layer["bias_fixed"] = Fixed.holding(np.concatenate([b.ravel() for b in biases])) if getattr(source, "bias_quantizer", None) \
        is not None else FLOAT_BIAS
    layer["ternary_shift"] = None
    beta = np.unique(np.abs(kernel[kernel != 0]))
    if isinstance(kernel_quantizer, bitlinear_ternary) and len(beta) == 1 and math.log2(beta[0]) == round(math.log2(beta[0])):
        # one power-of-two β: codes {−1, 0, +1} and a shift, no multipliers
        layer["ternary_shift"] = int(round(math.log2(beta[0])))
        kernel = kernel / beta[0]
        layer["weight_fixed"] = Fixed(2, 2)
    elif kernel_quantizer is not None:
        layer["weight_fixed"] = Fixed.holding(kernel)  # exact type of the quantized constants
    else:
        layer["weight_fixed"] = FLOAT_WEIGHT
    layer["weight_data"] = kernel
    layer["bias_data"] = polynomial_bias(weights["bias"], weights.get("multiplicity_bias"), kernel.shape[2])
    return layer, source


def parse_lineq2to2(keras_layer, input_names, input_shapes, data_reader):
    layer, source = _equivariant(keras_layer, input_names, input_shapes, data_reader, "KJLinEq2to2")
    layer["full_basis"] = source.basis == "full"
    accumulator = getattr(source, "accumulator_quantizer", None)
    layer["accumulator_fixed"] = from_quantizer(accumulator) if accumulator is not None else None
    diagonal = polynomial_bias(source.effective_weights()["diag_bias"], source.effective_weights().get("multiplicity_diag_bias"),
                               layer["n_out"])
    layer["bias_data"] = np.concatenate([layer["bias_data"], diagonal])  # the diagonal bias's coefficients follow
    n = layer["n_particles"]
    return layer, [None, layer["n_out"], n, n]


def parse_lineq2to0(keras_layer, input_names, input_shapes, data_reader):
    layer, _ = _equivariant(keras_layer, input_names, input_shapes, data_reader, "KJLinEq2to0")
    return layer, [None, layer["n_out"]]


def parse_unsupported(keras_layer, input_names, input_shapes, data_reader):
    raise KerasjetError(f"layer '{keras_layer['config']['name']}' ({keras_layer['class_name']}) has no firmware form: "
                        "fold the model first (kerasjet.hls.for_hls4ml(model, calibration_jets) absorbs BatchNorm)")


def parse_word_lorentz_dot(keras_layer, input_names, input_shapes, data_reader):
    """QWordLorentzDot → KJWordLorentzDot: its tables, pT shift and declared types (a float
    WordLorentzDot has none: refused, quantize it first)."""
    source = _keras_layer(data_reader, keras_layer["config"]["name"])
    if getattr(source, "output_quantizer", None) is None:
        raise KerasjetError(f"layer '{source.name}' ({keras_layer['class_name']}): a float model of trigger words has no firmware "
                            "form; fold and quantize it first (`kerasjet compress`, kerasjet.compress.compress)")
    layer = _base(keras_layer, input_names, "KJWordLorentzDot")
    tables, fmt = source.tables, source.tables.fmt
    n = input_shapes[0][1]
    pt_shift = int(round(math.log2(source.momentum_scale / fmt.pt.lsb)))  # QWordLorentzDot checked it is a power of two
    layer.update(
        n_particles=n, table_size=tables.size, phi_period=fmt.phi_period, pt_shift=pt_shift, phi_wraps=fmt.phi_wraps,
        eta_table_data=tables.eta, phi_table_data=tables.phi,
        table_fixed=Fixed.exact(tables.fraction_bits, float(max(tables.eta.max(), tables.phi.max())), signed=False),
        product_fixed=Fixed(source.product_integer_bits + source.product_fraction_bits, source.product_integer_bits, signed=False),
        pt_fixed=Fixed(fmt.pt.width + pt_shift, fmt.pt.width, signed=False),
        field_widths=(fmt.pt.width, fmt.eta.width, fmt.phi.width),
        result_precision=_result_precision(source.output_quantizer),
    )
    return layer, [None, 1, n, n]


def parse_word_features(keras_layer, input_names, input_shapes, data_reader):
    """WordConstituentFeatures → KJWordFeatures: the peers' features computed in the firmware from
    the words (kerasjet.data.words.RelativeCoordinates), every type declared."""
    source = _keras_layer(data_reader, keras_layer["config"]["name"])
    c, fmt = source.coordinates, source.coordinates.fmt
    n = input_shapes[0][1]
    per_slot = 4 if source.with_one else 3
    if source.sort and n & (n - 1):
        raise KerasjetError(f"layer '{source.name}': its sorting network needs N a power of two (got N = {n})")
    eta_span = fmt.eta.code_range[1] - fmt.eta.code_range[0]
    layer = _base(keras_layer, input_names, "KJWordFeatures")
    layer.update(
        n_particles=n, n_features=per_slot, sort=source.sort, key_bits=c.key_bits(n), sum_shift=c.sum_shift,
        reciprocal_size=c.reciprocal_size, angle_shift=c.angle_shift, phi_period=fmt.phi_period, phi_wraps=fmt.phi_wraps,
        reciprocal_data=c.reciprocals, table_fixed=Fixed.exact(c.reciprocal_bits, float(c.reciprocals.max()), signed=False),
        ratio_fixed=Fixed(1 + c.ratio_bits, 1, signed=False), field_widths=(fmt.pt.width, fmt.eta.width, fmt.phi.width),
        # every feature exactly: r < 2 with ratio_bits, the code differences (η's, the wrapped φ's) shifted by angle_shift
        result_precision=Fixed.exact(max(c.ratio_bits, c.angle_shift),
                                     max(2.0, eta_span / 2.0**c.angle_shift, (fmt.phi_period // 2) / 2.0**c.angle_shift)).hls(),
    )
    return layer, [None, per_slot * n]


HANDLERS = {
    "LorentzDot": parse_lorentz_dot, "QLorentzDot": parse_lorentz_dot,
    "LinEq2to2": parse_lineq2to2, "QLinEq2to2": parse_lineq2to2,
    "LinEq2to0": parse_lineq2to0, "QLinEq2to0": parse_lineq2to0,
    "WordLorentzDot": parse_word_lorentz_dot, "QWordLorentzDot": parse_word_lorentz_dot,
    "MaskedBatchNorm": parse_unsupported,
    "TopoDNNFeatures": parse_upstream_features, "DenseTaggerFeatures": parse_upstream_features,
    "ConstituentFeatures": parse_upstream_features, "DeepSetsFeatures": parse_upstream_features,
    "WordConstituentFeatures": parse_word_features,
}
