"""hls4ml's view of kerasjet's BitLinear quantizer inside QKeras QDense layers.

hls4ml maps any quantizer whose class name contains 'ternary' to int<2> weights, which is right
only when the ternary scale β is 1. BitLinear weights are {−β, 0, +β} with β = 2^k (po2_scale),
exactly the values of ap_fixed<2, k + 2>; with one β per output channel (β_j = 2^k_j) they are
exactly the values of ap_fixed<2 + k_max − k_min, k_max + 2>. This wrapper around hls4ml's own
QDense and QConv1D handlers gives them that type.
"""

import numpy as np
from hls4ml.converters.keras_v2_to_hls import get_layer_handlers
from hls4ml.model.quantizers import Quantizer
from hls4ml.model.types import FixedPrecisionType

from kerasjet.errors import KerasjetError
from kerasjet.quantizers import bitlinear_ternary


class PowerOfTwoTernary(Quantizer):
    """BitLinear weights {−2^k, 0, 2^k}, k from ``low`` to ``high`` (one per output channel), as
    the narrowest fixed point holding them: 2 + high − low bits."""

    def __init__(self, quantizer, low, high):
        super().__init__(2 + high - low, FixedPrecisionType(width=2 + high - low, integer=high + 2, signed=True))
        self.quantizer = quantizer
        self.alpha = 1  # no alpha to factor out: the scale is in the type

    def __call__(self, data):
        return self.quantizer(np.asarray(data, np.float32)).numpy()


def _wrap_qdense(original):
    def handler(keras_layer, input_names, input_shapes, data_reader):
        layer, output_shape = original(keras_layer, input_names, input_shapes, data_reader)
        config = keras_layer["config"].get("kernel_quantizer") or {}
        if config.get("class_name") == "bitlinear_ternary":
            quantizer = bitlinear_ternary.from_config(config["config"])
            kernel = data_reader.model.get_layer(layer["name"]).kernel
            values = quantizer(kernel).numpy()
            shifts = np.log2(np.unique(np.abs(values[values != 0])))
            if not len(shifts) or np.any(shifts != np.round(shifts)):
                raise KerasjetError(f"layer '{layer['name']}': BitLinear weights need a power-of-two scale (po2_scale=True)")
            layer["weight_quantizer"] = PowerOfTwoTernary(quantizer, int(shifts.min()), int(shifts.max()))
        return layer, output_shape

    handler.kerasjet_wrapped = True
    return handler


WRAPPED = ("QDense", "QConv1D")  # the BitLinear layers: dense taggers, Deep Sets' per-constituent φ


def register_qdense_handler():
    """Wrap hls4ml's QDense and QConv1D handlers once per process."""
    handlers = get_layer_handlers()
    for name in WRAPPED:
        if not getattr(handlers[name], "kerasjet_wrapped", False):
            handlers[name] = _wrap_qdense(handlers[name])
