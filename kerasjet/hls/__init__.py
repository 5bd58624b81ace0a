"""hls4ml extension for kerasjet's layers, through hls4ml's extension API (no fork, no patch).

Importing this package registers, once per process, for the Vivado and Vitis backends:
the Keras handlers (kerasjet.hls.parsers; QDense learns BitLinear weights, kerasjet.hls.quantizers),
the IR layers (kerasjet.hls.layers), their config and function templates (kerasjet.hls.templates),
the C++ header nnet_utils/nnet_kerasjet.h, the precision-inference passes (kerasjet.hls.passes)
and the YAML tags of hls_configs/*.yml (kerasjet.hls.config). After that, hls4ml's own API —
``config_from_keras_model``, ``convert_from_keras_model``, ``convert_from_config`` — converts
kerasjet models as built or loaded (list inputs [pmu, mask], kerasjet.models.inputs); a float
nanoPELICAN as trained (with BatchNorm, or without it: N̄ = 49) is folded on calibration jets
first, ``for_hls4ml(model, {'pmu': (B, N, 4) GeV, 'mask': (B, N)})``; folded, quantized and
dense models convert as they are. docs/guide/python_api.md has the whole path.
``firmware_inputs`` gives the arrays their C simulation takes.
"""

import os

import hls4ml
from hls4ml.converters.keras_v2_to_hls import get_layer_handlers
from hls4ml.model.flow.flow import update_flow
from hls4ml.model.layers import register_layer
from hls4ml.model.optimizer import get_available_passes, register_pass

from kerasjet.hls.config import register_yaml_tags
from kerasjet.hls.convert import firmware_inputs, for_hls4ml, needs_folding
from kerasjet.hls.layers import IR_LAYERS
from kerasjet.hls.parsers import HANDLERS
from kerasjet.hls.passes import BACKEND_FLOW, BACKEND_PASSES, FIRST_FLOW, GENERIC_PASSES
from kerasjet.hls.quantizers import register_qdense_handler
from kerasjet.hls.templates import TEMPLATES

BACKENDS = ("Vivado", "Vitis")
HEADER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nnet_utils", "nnet_kerasjet.h")


def _register_passes():
    available = get_available_passes()
    for name, cls in GENERIC_PASSES.items():
        if name not in available:
            update_flow(FIRST_FLOW, add_optimizers=[register_pass(name, cls)])
    vivado = hls4ml.backends.get_backend("Vivado")
    for name, cls in BACKEND_PASSES.items():
        if f"vivado:{name}" not in available:
            vivado.register_pass(name, cls, flow=BACKEND_FLOW)


def register():
    """Register everything; calling it again does nothing (hls4ml raises on re-registration)."""
    handlers = get_layer_handlers()
    for keras_name, handler in HANDLERS.items():
        if keras_name not in handlers:
            hls4ml.converters.register_keras_v2_layer_handler(keras_name, handler)
    register_qdense_handler()
    for name, cls in IR_LAYERS.items():
        register_layer(name, cls)
    for backend_name in BACKENDS:
        backend = hls4ml.backends.get_backend(backend_name)
        available = get_available_passes()
        for template in TEMPLATES:
            if f"{backend.name.lower()}:{template().get_name()}" not in available:
                backend.register_template(template)
        backend.register_source(HEADER_PATH)
    _register_passes()
    register_yaml_tags()


register()
__all__ = ["firmware_inputs", "for_hls4ml", "needs_folding", "register"]
