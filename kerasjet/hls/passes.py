"""The extension's optimizer passes: hls4ml's precision inference, extended to kerasjet's layers.

hls4ml resolves 'auto' (UnspecifiedPrecisionType) types in its 'infer_precision_types' pass; it
sets the result of a layer it does not know to the model's default precision. These passes add
what only kerasjet knows:

* ``kerasjet_upstream_inputs``: a preprocessing layer that runs upstream of the firmware (the
  dense taggers' jet features) becomes the graph's input, in place of the Keras inputs it reads.
* ``kerasjet_input_types`` (first flow, before any inference): the firmware input types a
  quantized model defines — the momenta take the QLorentzDot input quantizer's type, trigger
  words an integer type holding each field's codes, a mask ap_uint<1>, the jet features their QActivation's type — unless the config names a type for
  that input explicitly (LayerName or LayerType, not 'auto').
* ``kerasjet_mean_precision`` (first flow): the exact types of a global average pooling over
  N = 2^e slots (Deep Sets' mean), which hls4ml's inference leaves at the default precision: the
  sum with e more integer bits, the division by N a shift by e (e more fractional bits).
* ``kerasjet_infer_precision`` (the backend's 'optimize' flow, after hls4ml's inference): the
  internal types of a kerasjet layer (exact accumulators, kerasjet.hls.types), once its input
  type is known.
"""

from hls4ml.model.layers import GlobalPooling1D, Input
from hls4ml.model.optimizer import OptimizerPass
from hls4ml.model.types import IntegerPrecisionType, UnspecifiedPrecisionType

from kerasjet.hls.layers import KJ_LAYERS, KJLorentzDot, KJWordFeatures, KJWordLorentzDot
from kerasjet.hls.types import QKERAS_MODES, Fixed
from kerasjet.quantizers import mean_shift

MASK = IntegerPrecisionType(1, signed=False)


def _consumers(model, node):
    """(consumer, input position) for every use of ``node``'s output."""
    return [(other, other.inputs.index(node.outputs[0])) for other in model.graph.values() if node.outputs[0] in other.inputs]


def declared_input_type(node):
    """The hls4ml precision a kerasjet model defines for the graph input ``node``, or None."""
    declared = node.get_attr("firmware_precision")
    if declared is not None:
        return declared.hls(*QKERAS_MODES)
    for consumer, position in _consumers(node.model, node):
        if isinstance(consumer, KJ_LAYERS) and position == 1:
            return MASK
        if isinstance(consumer, (KJWordLorentzDot, KJWordFeatures)):  # the words' integer codes: every field fits, the unsigned pT with a sign bit
            pt_width, eta_width, phi_width = consumer.get_attr("field_widths")
            return IntegerPrecisionType(max(pt_width + 1, eta_width, phi_width), signed=True)
        if isinstance(consumer, KJLorentzDot) and consumer.get_attr("momentum_fixed") is not None:
            return consumer.get_attr("momentum_fixed").hls(*QKERAS_MODES)
    return None


def _explicit(node):
    """Whether the config names a (non-'auto') result type for this layer by name or type."""
    precision = node.model.config.get_layer_config(node).get("Precision")
    if isinstance(precision, dict):
        precision = precision.get("result")
    return precision is not None and str(precision).lower() != "auto"


class KerasjetUpstreamInputs(OptimizerPass):
    """An upstream-features Input replaces the graph inputs its Keras layer read."""

    def match(self, node):
        return isinstance(node, Input) and any(name in node.model.graph for name in node.get_attr("replaces_inputs") or ())

    def transform(self, model, node):
        replaced = node.get_attr("replaces_inputs")
        for name in replaced:
            del model.graph[name]
            del model.output_vars[name]
        model.inputs = [name for name in model.inputs if name not in replaced] + [node.outputs[0]]
        return True


class KerasjetInputTypes(OptimizerPass):
    """Graph inputs take the type the quantized model defines (unless configured explicitly)."""

    def match(self, node):
        if not isinstance(node, Input) or _explicit(node):
            return False
        declared = declared_input_type(node)
        return declared is not None and str(node.get_output_variable().type.precision) != str(declared)

    def transform(self, model, node):
        node.get_output_variable().type.precision = declared_input_type(node)
        return False


def _power_of_two_slots(node):
    """e with N = 2^e slots of a global pooling layer, or None."""
    return mean_shift(node.get_attr("n_in"))


class KerasjetMeanPrecision(OptimizerPass):
    """Exact types for an average over N = 2^e slots whose input type is fixed point and whose
    own types are 'auto': accumulator (W + 2e, I + e), result (W + e, I) — the mean lies within
    the input's range and has e more fractional bits."""

    def match(self, node):
        if not isinstance(node, GlobalPooling1D) or node.get_attr("pool_op") != "Average" or _power_of_two_slots(node) is None:
            return False
        if not all(isinstance(node.types[name].precision, UnspecifiedPrecisionType) for name in ("accum_t", "result_t")):
            return False
        try:
            Fixed.of(node.get_input_variable().type.precision)
        except ValueError:
            return False
        return True

    def transform(self, model, node):
        source, e = Fixed.of(node.get_input_variable().type.precision), _power_of_two_slots(node)
        node.types["accum_t"].name = f"{node.name}_accum_t"
        node.types["accum_t"].precision = Fixed(source.width + 2 * e, source.integer + e, source.signed).hls()
        node.get_output_variable().type.precision = Fixed(source.width + e, source.integer, source.signed).hls()
        return False


class KerasjetInferPrecision(OptimizerPass):
    """A kerasjet layer's internal types, once hls4ml knows its input type."""

    def match(self, node):
        return isinstance(node, KJ_LAYERS) and not node.types_inferred() and node.input_known()

    def transform(self, model, node):
        node.infer_types()
        return False


GENERIC_PASSES = {"kerasjet_upstream_inputs": KerasjetUpstreamInputs, "kerasjet_input_types": KerasjetInputTypes,
                  "kerasjet_mean_precision": KerasjetMeanPrecision}
FIRST_FLOW = "parse_qonnx"  # the first flow of every hls4ml conversion
BACKEND_PASSES = {"kerasjet_infer_precision": KerasjetInferPrecision}
BACKEND_FLOW = "vivado:optimize"  # the Vitis backend runs the Vivado optimize flow too
