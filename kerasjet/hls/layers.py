"""hls4ml IR layers for LorentzDot, LinEq2to2 and LinEq2to0 (float and quantized), QWordLorentzDot and
the constituent peers' WordConstituentFeatures.

The Keras parsers (kerasjet.hls.parsers) fill the attributes; ``initialize`` declares the output
and the weights with their exact types. The internal types (accumulators, sums, multiplicity
powers) depend on the input types, which hls4ml may know only after its precision inference
('auto' types): ``infer_types`` derives them (kerasjet.hls.types) and is called by the
extension's optimizer pass (kerasjet.hls.passes) once the inputs are known.
"""

import numpy as np
from hls4ml.model.attributes import Attribute, ConfigurableAttribute, TypeAttribute, WeightAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import IntegerPrecisionType, NamedType, UnspecifiedPrecisionType

from kerasjet.errors import KerasjetError
from kerasjet.hls.types import LAYER_MODES, Fixed, WeightFormat, equivariant_types, lorentz_accumulator


def _named(layer, name, fixed, modes=(None, None)):
    layer.set_attr(f"{name}_t", NamedType(f"{layer.name}_{name}_t", fixed.hls(*modes)))


class _KJLayer(Layer):
    """Shared by the kerasjet layers: io_parallel only, types derived from the data input's."""

    def _check_io_type(self):
        io_type = self.model.config.get_config_value("IOType")
        if io_type != "io_parallel":
            raise KerasjetError(f"layer '{self.name}' ({self.class_name}): kerasjet layers support io_type='io_parallel' only, "
                                f"got '{io_type}' (a pair array (C, N, N) has no streaming form here)")

    def input_known(self):
        """Whether hls4ml has resolved the data input's type (it may still be 'auto')."""
        return not isinstance(self.get_input_variable(self.inputs[0]).type.precision, UnspecifiedPrecisionType)

    def input_fixed(self):
        """The Fixed of the data input (KerasjetError if it is not fixed point)."""
        precision = self.get_input_variable(self.inputs[0]).type.precision
        try:
            return Fixed.of(precision)
        except ValueError as err:
            raise KerasjetError(f"layer '{self.name}' ({self.class_name}): {err}") from None

    def types_inferred(self):
        """Whether ``infer_types`` (each layer's: the internal types from the now known input
        type) has run."""
        return self.get_attr("accum_t") is not None


class KJLorentzDot(_KJLayer):
    """d_ij = p_i·p_j: inputs momenta (N·4) and mask (N); output (1, N, N).

    ``momentum_fixed``: the momentum type of a quantized model (its input quantizer), else None.
    """

    _expected_attributes = [Attribute("n_particles"), ConfigurableAttribute("reuse_factor", default=1), TypeAttribute("result")]

    def initialize(self):
        self._check_io_type()
        n = self.get_attr("n_particles")
        self.add_output_variable([1, n, n], precision=self.get_attr("result_precision"))

    def infer_types(self):
        _named(self, "accum", lorentz_accumulator(self.input_fixed()))


class KJWordLorentzDot(_KJLayer):
    """d_ij from trigger words: inputs the words' codes (N·3: pT, η, φ per candidate) and mask
    (N); output (1, N, N). Weights: the pair tables T_η and T_φ (``table_size`` entries each).
    Its types are all declared (the words' fields, the pT product's, the tables'): nothing is
    inferred."""

    _expected_attributes = [
        Attribute("n_particles"), Attribute("table_size"), Attribute("phi_period"), Attribute("phi_wraps"), Attribute("pt_shift"),
        ConfigurableAttribute("reuse_factor", default=1), WeightAttribute("eta_table"), WeightAttribute("phi_table"),
        TypeAttribute("result"),
    ]

    def initialize(self):
        self._check_io_type()
        n = self.get_attr("n_particles")
        self.add_output_variable([1, n, n], precision=self.get_attr("result_precision"))
        table = self.get_attr("table_fixed").hls()
        self.add_weights_variable(name="eta_table", var_name="te{index}", data="eta_table", precision=table)
        self.add_weights_variable(name="phi_table", var_name="tp{index}", data="phi_table", precision=table)
        _named(self, "product", self.get_attr("product_fixed"), LAYER_MODES)
        _named(self, "pt", self.get_attr("pt_fixed"))

    def types_inferred(self):
        return True


class KJWordFeatures(_KJLayer):
    """The constituent peers' features from trigger words: inputs the words' codes (N·3) and mask
    (N); output (F·N,), F = 3 or 4 per slot. Weights: the reciprocal table. Its types are all
    declared (the words' fields, the key, the ratio's, the table's, the features'): nothing is
    inferred."""

    _expected_attributes = [
        Attribute("n_particles"), Attribute("n_features"), Attribute("sort", value_type=bool), Attribute("key_bits"),
        Attribute("sum_shift"), Attribute("reciprocal_size"), Attribute("angle_shift"), Attribute("phi_period"),
        Attribute("phi_wraps"), ConfigurableAttribute("reuse_factor", default=1), WeightAttribute("reciprocal"), TypeAttribute("result"),
    ]

    def initialize(self):
        self._check_io_type()
        self.add_output_variable([self.get_attr("n_particles") * self.get_attr("n_features")],
                                 precision=self.get_attr("result_precision"))
        self.add_weights_variable(name="reciprocal", var_name="tr{index}", data="reciprocal", precision=self.get_attr("table_fixed").hls())
        _named(self, "ratio", self.get_attr("ratio_fixed"), LAYER_MODES)

    def types_inferred(self):
        return True


class _KJEquivariant(_KJLayer):
    """Shared: polynomial-bias arrays, weight formats, derived types."""

    def _add_weights(self):
        """Two weight arrays, as hls4ml's profiling and writers expect: the kernel and the biases
        (polynomial coefficients; LinEq2to2 appends its diagonal bias's, kerasjet.hls.parsers)."""
        ternary_shift = self.get_attr("ternary_shift")
        weight = self.get_attr("weight_fixed")
        precision = IntegerPrecisionType(2, True) if ternary_shift is not None else weight.hls()
        self.add_weights_variable(name="weight", var_name="w{index}", data="weight", precision=precision)
        self.add_weights_variable(name="bias", var_name="b{index}", data="bias", precision=self.get_attr("bias_fixed").hls())

    def _infer_equivariant_types(self, terms):
        """The sum, multiplicity, accumulator and scale types; ``terms``: basis elements per
        input channel."""
        weight_format = WeightFormat(self.get_attr("weight_fixed"), self.get_attr("ternary_shift"))
        sum_t, r_t, accum_t, scale_t = equivariant_types(
            self.input_fixed(), weight_format, self.get_attr("bias_fixed"), self.get_attr("n_particles"),
            self.get_attr("log2_nbar"), self.get_attr("degree"), self.get_attr("n_in"), terms, sum_depth=2)
        for name, fixed in (("sum", sum_t), ("r", r_t), ("accum", accum_t), ("scale", scale_t)):
            _named(self, name, fixed)


class KJLinEq2to2(_KJEquivariant):
    """Permutation-equivariant 2→2 map: input (C_in, N, N) and mask (N); output (C_out, N, N)."""

    _expected_attributes = [
        Attribute("n_particles"), Attribute("n_in"), Attribute("n_out"), Attribute("log2_nbar"), Attribute("degree"),
        Attribute("full_basis", value_type=bool), ConfigurableAttribute("reuse_factor", default=1),
        WeightAttribute("weight"), WeightAttribute("bias"), TypeAttribute("result"),
    ]

    def initialize(self):
        self._check_io_type()
        n = self.get_attr("n_particles")
        self.add_output_variable([self.get_attr("n_out"), n, n], precision=self.get_attr("result_precision"))
        self._add_weights()

    def infer_types(self):
        self._infer_equivariant_types(15 if self.get_attr("full_basis") else 6)
        # node sums stay exact; the partial results take the declared accumulator type (if any)
        exact = Fixed.of(self.get_attr("accum_t").precision)
        declared = self.get_attr("accumulator_fixed")
        partial = declared or exact
        _named(self, "node", exact)
        if declared is not None:
            _named(self, "accum", declared, LAYER_MODES)
        _named(self, "value", Fixed(partial.width + 2, partial.integer + 2, partial.signed))


class KJLinEq2to0(_KJEquivariant):
    """Invariant readout: input (C_in, N, N) and mask (N); output (C_out,)."""

    _expected_attributes = [
        Attribute("n_particles"), Attribute("n_in"), Attribute("n_out"), Attribute("log2_nbar"), Attribute("degree"),
        ConfigurableAttribute("reuse_factor", default=1), WeightAttribute("weight"), WeightAttribute("bias"), TypeAttribute("result"),
    ]

    def initialize(self):
        self._check_io_type()
        self.add_output_variable([self.get_attr("n_out")], precision=self.get_attr("result_precision"))
        self._add_weights()

    def infer_types(self):
        self._infer_equivariant_types(2)


def polynomial_bias(bias, multiplicity_bias, units):
    """(degree + 1, units) array: the constant bias, then the coefficients of r, r², …"""
    rows = [np.asarray(bias, np.float64).reshape(1, units)]
    if multiplicity_bias is not None:
        rows.append(np.asarray(multiplicity_bias, np.float64).reshape(-1, units))
    return np.concatenate(rows)


IR_LAYERS = {"KJLorentzDot": KJLorentzDot, "KJWordLorentzDot": KJWordLorentzDot, "KJWordFeatures": KJWordFeatures, "KJLinEq2to2": KJLinEq2to2,
             "KJLinEq2to0": KJLinEq2to0}
KJ_LAYERS = (KJLorentzDot, KJWordLorentzDot, KJWordFeatures, KJLinEq2to2, KJLinEq2to0)
__all__ = ["IR_LAYERS", "KJ_LAYERS", "polynomial_bias"]
