"""hls4ml extension for kerasjet's layers, through hls4ml's extension API (no fork, no patch).

Importing this package registers, once per process, for the Vivado and Vitis backends:
the Keras handlers (kerasjet.hls.parsers; QDense learns BitLinear weights, kerasjet.hls.quantizers),
the IR layers (kerasjet.hls.layers), their config
and function templates (kerasjet.hls.templates) and the C++ header nnet_utils/nnet_kerasjet.h.
"""

import os

import hls4ml
from hls4ml.converters.keras_v2_to_hls import get_layer_handlers
from hls4ml.model.layers import register_layer
from hls4ml.model.optimizer import get_available_passes

from kerasjet.hls.layers import IR_LAYERS
from kerasjet.hls.parsers import HANDLERS
from kerasjet.hls.quantizers import register_qdense_handler
from kerasjet.hls.templates import TEMPLATES

BACKENDS = ("Vivado", "Vitis")
HEADER_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "nnet_utils", "nnet_kerasjet.h")


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


register()
