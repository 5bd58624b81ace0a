"""Config and function-call templates of the kerasjet HLS layers (Vivado and Vitis backends)."""

from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate

import math

from kerasjet.hls.layers import KJLinEq2to0, KJLinEq2to2, KJLorentzDot, KJWordFeatures, KJWordLorentzDot

HEADER = ["nnet_utils/nnet_kerasjet.h"]

LORENTZ_CONFIG = """struct config{index} : nnet::lorentz_dot_config {{
    static const unsigned n_particles = {n_particles};
    static const unsigned reuse_factor = {reuse};
    typedef {accum_t.name} accum_t;
}};
"""

WORD_LORENTZ_CONFIG = """struct config{index} : nnet::word_lorentz_dot_config {{
    static const unsigned n_particles = {n_particles};
    static const unsigned table_size = {table_size};
    static const int phi_period = {phi_period};
    static const unsigned phi_wraps = {phi_wraps};
    static const unsigned pt_shift = {pt_shift};
    static const unsigned reuse_factor = {reuse};
    typedef ap_uint<{pt_width}> pt_code_t;
    typedef ap_int<{eta_width}> eta_code_t;
    typedef ap_int<{phi_width}> phi_code_t;
    typedef {pt_t.name} pt_t;
    typedef {product_t.name} product_t;
    typedef ap_uint<{index_bits}> index_t;
    typedef {table_t} table_t;
}};
"""

WORD_FEATURES_CONFIG = """struct config{index} : nnet::word_features_config {{
    static const unsigned n_particles = {n_particles};
    static const unsigned n_features = {n_features};
    static const bool sort = {sort_flag};
    static const unsigned key_bits = {key_bits};
    static const unsigned sum_shift = {sum_shift};
    static const unsigned reciprocal_size = {reciprocal_size};
    static const unsigned angle_shift = {angle_shift};
    static const int phi_period = {phi_period};
    static const unsigned phi_wraps = {phi_wraps};
    static const unsigned reuse_factor = {reuse};
    typedef ap_uint<{pt_width}> pt_code_t;
    typedef ap_int<{eta_width}> eta_code_t;
    typedef ap_int<{phi_width}> phi_code_t;
    typedef ap_uint<{key_width}> key_t;
    typedef {ratio_t.name} ratio_t;
    typedef {table_t} table_t;
}};
"""

EQUIVARIANT_CONFIG = """struct config{index} : nnet::{base}_config {{
    static const unsigned n_particles = {n_particles};
    static const unsigned n_in = {n_in};
    static const unsigned n_out = {n_out};
    static const unsigned log2_nbar = {log2_nbar};
    static const unsigned degree = {degree};{full_basis_line}
    static const bool ternary = {ternary};
    static const int ternary_shift = {ternary_shift};
    static const unsigned reuse_factor = {reuse};{node_lines}
    typedef {accum_t.name} accum_t;
    typedef {sum_t.name} sum_t;
    typedef {r_t.name} r_t;
    typedef {scale_t.name} scale_t;
    typedef {weight_t.name} weight_t;
    typedef {bias_t.name} bias_t;
}};
"""


def _two_inputs(template, node):
    params = template._default_function_params(node)
    data, mask = (node.get_input_variable(name) for name in node.inputs[:2])
    params.update(input_t=data.type.name, input=data.name, mask_t=mask.type.name, mask=mask.name)
    return params


class LorentzDotConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(KJLorentzDot)
        self.template = LORENTZ_CONFIG

    def format(self, node):
        return self.template.format(**self._default_config_params(node))


class LorentzDotFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(KJLorentzDot, include_header=HEADER)
        self.template = "nnet::lorentz_dot<{input_t}, {mask_t}, {output_t}, {config}>({input}, {mask}, {output});"

    def format(self, node):
        return self.template.format(**_two_inputs(self, node))


class WordLorentzDotConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(KJWordLorentzDot)
        self.template = WORD_LORENTZ_CONFIG

    def format(self, node):
        params = self._default_config_params(node)
        pt_width, eta_width, phi_width = node.get_attr("field_widths")
        params.update(pt_width=pt_width, eta_width=eta_width, phi_width=phi_width, table_t=node.get_weights("eta_table").type.name,
                      index_bits=max(1, math.ceil(math.log2(node.get_attr("table_size")))))
        return self.template.format(**params)


class WordLorentzDotFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(KJWordLorentzDot, include_header=HEADER)

    def format(self, node):
        params = _two_inputs(self, node)
        params.update(eta=node.get_weights("eta_table").name, phi=node.get_weights("phi_table").name)
        return "nnet::word_lorentz_dot<{input_t}, {mask_t}, {output_t}, {config}>({input}, {mask}, {output}, {eta}, {phi});".format(
            **params)


class WordFeaturesConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(KJWordFeatures)
        self.template = WORD_FEATURES_CONFIG

    def format(self, node):
        params = self._default_config_params(node)
        pt_width, eta_width, phi_width = node.get_attr("field_widths")
        n, key_bits = node.get_attr("n_particles"), node.get_attr("key_bits")
        params.update(pt_width=pt_width, eta_width=eta_width, phi_width=phi_width, sort_flag="true" if node.get_attr("sort") else "false",
                      # the key (pT code, slot bits) and the pT sum of N codes
                      key_width=max(pt_width + key_bits, pt_width + math.ceil(math.log2(n + 1))),
                      table_t=node.get_weights("reciprocal").type.name)
        return self.template.format(**params)


class WordFeaturesFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(KJWordFeatures, include_header=HEADER)

    def format(self, node):
        params = _two_inputs(self, node)
        params.update(table=node.get_weights("reciprocal").name)
        return "nnet::word_features<{input_t}, {mask_t}, {output_t}, {config}>({input}, {mask}, {output}, {table});".format(**params)


class _EquivariantConfigTemplate(LayerConfigTemplate):
    base = None

    def format(self, node):
        params = self._default_config_params(node)
        shift = node.get_attr("ternary_shift")
        params.update(
            base=self.base, ternary="true" if shift is not None else "false", ternary_shift=shift or 0,
            weight_t=node.get_weights("weight").type, bias_t=node.get_weights("bias").type,
            full_basis_line=f"\n    static const bool full_basis = {'true' if node.get_attr('full_basis') else 'false'};"
            if self.base == "lineq2to2" else "",
            node_lines=f"\n    typedef {node.get_attr('node_t').name} node_t;\n    typedef {node.get_attr('value_t').name} value_t;"
            if self.base == "lineq2to2" else "",
        )
        return EQUIVARIANT_CONFIG.format(**params)


class LinEq2to2ConfigTemplate(_EquivariantConfigTemplate):
    base = "lineq2to2"

    def __init__(self):
        super().__init__(KJLinEq2to2)


class LinEq2to0ConfigTemplate(_EquivariantConfigTemplate):
    base = "lineq2to0"

    def __init__(self):
        super().__init__(KJLinEq2to0)


class LinEq2to2FunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(KJLinEq2to2, include_header=HEADER)

    def format(self, node):
        params = _two_inputs(self, node)
        params.update(w=node.get_weights("weight").name, b=node.get_weights("bias").name)
        return "nnet::lineq2to2<{input_t}, {mask_t}, {output_t}, {config}>({input}, {mask}, {output}, {w}, {b});".format(**params)


class LinEq2to0FunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(KJLinEq2to0, include_header=HEADER)

    def format(self, node):
        params = _two_inputs(self, node)
        params.update(w=node.get_weights("weight").name, b=node.get_weights("bias").name)
        return "nnet::lineq2to0<{input_t}, {mask_t}, {output_t}, {config}>({input}, {mask}, {output}, {w}, {b});".format(**params)


TEMPLATES = (LorentzDotConfigTemplate, LorentzDotFunctionTemplate, WordLorentzDotConfigTemplate, WordLorentzDotFunctionTemplate,
             WordFeaturesConfigTemplate, WordFeaturesFunctionTemplate, LinEq2to2ConfigTemplate, LinEq2to2FunctionTemplate,
             LinEq2to0ConfigTemplate, LinEq2to0FunctionTemplate)
