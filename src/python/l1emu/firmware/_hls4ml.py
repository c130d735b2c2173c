"""hls4ml side of the l1emu custom layers: IR layer classes, Keras parsers, config/function templates."""

import math

import numpy as np
from hls4ml.backends.template import FunctionCallTemplate, LayerConfigTemplate
from hls4ml.model.attributes import ConfigurableAttribute, TypeAttribute
from hls4ml.model.layers import Layer
from hls4ml.model.types import (FixedPrecisionType, IntegerPrecisionType, NamedType, RoundingMode, SaturationMode,
                                UnspecifiedPrecisionType)

from . import inv_n_constant, quantized_table, table_centres


def _configured(layer, var):
    """The precision the user gave for `var` (layer name, then layer type), or None if absent or 'auto'."""
    cfg = layer.model.config
    p = cfg.layer_name_precision.get(f"{layer.name.lower()}_{var}")
    if p is None:
        p = cfg.layer_type_precision.get(f"{layer.class_name.lower()}_{var}")
    if p is None or str(p).strip().lower() == "auto":
        return None
    return cfg.backend.convert_precision_string(p)


def _fixed(width, integer, signed=True):
    return FixedPrecisionType(width, integer, signed, RoundingMode.RND, SaturationMode.SAT)


def _set_type(layer, var, default):
    p = _configured(layer, var) or default
    layer.set_attr(f"{var}_t", NamedType(f"{layer.name}_{var}_t", p))
    return p


def _input_fixed(layer):
    p = layer.get_input_variable().type.precision
    if isinstance(p, UnspecifiedPrecisionType):  # 'auto': hls4ml will give the input the model default
        p = layer.model.config.backend.convert_precision_string(layer.model.config.model_precision["default"])
    if isinstance(p, IntegerPrecisionType) and not isinstance(p, FixedPrecisionType):
        return p.width, p.width, p.signed
    if not isinstance(p, FixedPrecisionType):
        raise ValueError(f"layer '{layer.name}' ({layer.class_name}): input precision {p} is not fixed point "
                         "(set the previous layer's result precision explicitly)")
    return p.width, p.integer, p.signed


def _table_int_bits(max_value):
    return max(1, math.floor(math.log2(max_value)) + 1)


class InstanceNorm(Layer):
    _expected_attributes = [
        TypeAttribute("accum"),
        TypeAttribute("mean"),
        TypeAttribute("var"),
        ConfigurableAttribute("table_size", default=1024),
        ConfigurableAttribute("table_range_log2", value_type=int, default=None),  # None: cover the input's var range
    ]

    def initialize(self):
        inp = self.get_input_variable()
        shape = list(inp.shape)
        n_chan = int(shape[-1])
        n_spatial = int(np.prod(shape[:-1]))
        self.set_attr("n_chan", n_chan)
        self.set_attr("n_spatial", n_spatial)
        self.set_attr("n_in", n_chan * n_spatial)
        w, i, _ = _input_fixed(self)
        fx, lg = w - i, max(0, math.ceil(math.log2(n_spatial)))
        _set_type(self, "accum", _fixed(2 * i + 1 + lg + fx + 6, 2 * i + 1 + lg))
        _set_type(self, "mean", _fixed(i + fx + 6, i))
        _set_type(self, "var", _fixed(max(1, 2 * i - 2 + fx + 6), 2 * i - 2, signed=False))
        if self.get_attr("table_range_log2") is None:
            self.set_attr("table_range_log2", max(0, 2 * i - 2))
        size, rlog2 = int(self.get_attr("table_size")), int(self.get_attr("table_range_log2"))
        if size < 2:
            raise ValueError(f"layer '{self.name}' (InstanceNorm): TableSize must be >= 2, got {size}")
        self.set_attr("table_size", size)
        eps = float(self.get_attr("epsilon"))
        values = 1.0 / np.sqrt(table_centres(size, rlog2, symmetric=False) + eps)
        table_p = _configured(self, "table") or _fixed(_table_int_bits(values.max()) + 16,
                                                        _table_int_bits(values.max()), signed=False)
        self.add_weights_variable(name="table", var_name="t{index}", precision=table_p,
                                  data=quantized_table(values, table_p))
        code, frac = inv_n_constant(n_spatial)
        self.set_attr("inv_n_code", code)
        self.set_attr("inv_n_frac", frac)
        self.add_weights_variable(name="scale", var_name="s{index}", data=self.get_attr("gamma_data"))
        self.add_weights_variable(name="bias", var_name="b{index}", data=self.get_attr("beta_data"))
        result = _configured(self, "result") or _fixed(16, 6)
        self.add_output_variable(shape, precision=result)


class KLScore(Layer):
    _expected_attributes = [
        TypeAttribute("accum"),
        ConfigurableAttribute("table_size", default=1024),
        ConfigurableAttribute("table_range_log2", value_type=int, default=3),
    ]

    def initialize(self):
        n_in = int(np.prod(self.get_input_variable().shape))
        self.set_attr("n_in", n_in)
        self.set_attr("n_latent", n_in // 2)
        w, i, _ = _input_fixed(self)
        fx, lg = w - i, max(0, math.ceil(math.log2(n_in // 2)))
        full = self.get_attr("mode") == "full"
        size, rlog2 = int(self.get_attr("table_size")), int(self.get_attr("table_range_log2"))
        if size < 2:
            raise ValueError(f"layer '{self.name}' (KLScore): TableSize must be >= 2, got {size}")
        self.set_attr("table_size", size)
        term_int = 2 * i - 1
        if full:
            values = np.exp(table_centres(size, rlog2, symmetric=True))
            t_int = _table_int_bits(values.max())
            table_p = _configured(self, "table") or _fixed(t_int + 14, t_int, signed=False)
            term_int = max(term_int, t_int, i) + 1
        else:
            values, table_p = np.ones(size), _fixed(2, 2, signed=False)  # unused by mode mu2
        self.add_weights_variable(name="table", var_name="t{index}", precision=table_p,
                                  data=quantized_table(values, table_p))
        _set_type(self, "accum", _fixed(term_int + lg + 1 + fx + 6, term_int + lg + 1))
        result = _configured(self, "result") or _fixed(20, 12)
        self.add_output_variable([1], precision=result)


# -- Keras parsers ---------------------------------------------------------------------------------------
def _weights(data_reader, name, var, n, default):
    from hls4ml.converters.keras_v2_to_hls import get_weights_data

    data = get_weights_data(data_reader, name, var)
    return np.full(n, default, dtype=np.float64) if data is None else np.asarray(data, dtype=np.float64)


def parse_instancenorm(keras_layer, input_names, input_shapes, data_reader):
    cfg = keras_layer["config"]
    shape = list(input_shapes[0])
    if len(shape) < 3:
        raise ValueError(f"InstanceNormalization '{cfg['name']}': needs (batch, spatial..., channels) input, "
                         f"got {shape}")
    n_chan = int(shape[-1])
    layer = {"class_name": "InstanceNorm", "name": cfg["name"], "inputs": input_names,
             "epsilon": float(cfg["epsilon"]),
             "gamma_data": _weights(data_reader, cfg["name"], "gamma", n_chan, 1.0) if cfg["scale"]
             else np.ones(n_chan),
             "beta_data": _weights(data_reader, cfg["name"], "beta", n_chan, 0.0) if cfg["center"]
             else np.zeros(n_chan)}
    return layer, shape


def parse_kl_score(keras_layer, input_names, input_shapes, data_reader):
    cfg = keras_layer["config"]
    shape = list(input_shapes[0])
    if len(shape) != 2 or shape[-1] % 2:
        raise ValueError(f"KLScore '{cfg['name']}': needs (batch, 2 * latent) input, got {shape}")
    layer = {"class_name": "KLScore", "name": cfg["name"], "inputs": input_names, "mode": cfg["mode"]}
    return layer, [shape[0], 1]


# -- templates -------------------------------------------------------------------------------------------
_instancenorm_config = """struct config{index} : nnet::instancenorm_config {{
    typedef {accum_t.name} accum_t;
    typedef {mean_t.name} mean_t;
    typedef {var_t.name} var_t;
    typedef {table_t.name} table_t;
    typedef {scale_t.name} scale_t;
    typedef {bias_t.name} bias_t;
    static const unsigned n_spatial = {n_spatial};
    static const unsigned n_chan = {n_chan};
    static const unsigned n_in = {n_in};
    static const unsigned inv_n_code = {inv_n_code};
    static const int inv_n_frac = {inv_n_frac};
    static const unsigned table_size = {table_size};
    static const int table_range_log2 = {table_range_log2};
    static const unsigned io_type = nnet::{iotype};
    static const unsigned reuse_factor = {reuse};
}};\n"""

_kl_config = """struct config{index} : nnet::kl_score_config {{
    typedef {accum_t.name} accum_t;
    typedef {table_t.name} table_t;
    static const unsigned n_latent = {n_latent};
    static const unsigned n_in = {n_in};
    static const bool full = {full};
    static const unsigned table_size = {table_size};
    static const int table_range_log2 = {table_range_log2};
    static const unsigned io_type = nnet::{iotype};
    static const unsigned reuse_factor = {reuse};
}};\n"""


class InstanceNormConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(InstanceNorm)
        self.template = _instancenorm_config

    def format(self, node):
        return self.template.format(**self._default_config_params(node))


class InstanceNormFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(InstanceNorm, include_header=["nnet_utils/nnet_instancenorm.h"])
        self.template = "nnet::instancenorm<{input_t}, {output_t}, {config}>({input}, {output}, {scale}, {bias}, {table});"

    def format(self, node):
        params = self._default_function_params(node)
        for w in ("scale", "bias", "table"):
            params[w] = node.get_weights(w).name
        return self.template.format(**params)


class KLScoreConfigTemplate(LayerConfigTemplate):
    def __init__(self):
        super().__init__(KLScore)
        self.template = _kl_config

    def format(self, node):
        params = self._default_config_params(node)
        params["full"] = "true" if node.get_attr("mode") == "full" else "false"
        return self.template.format(**params)


class KLScoreFunctionTemplate(FunctionCallTemplate):
    def __init__(self):
        super().__init__(KLScore, include_header=["nnet_utils/nnet_kl_score.h"])
        self.template = "nnet::kl_score<{input_t}, {output_t}, {config}>({input}, {output}, {table});"

    def format(self, node):
        params = self._default_function_params(node)
        params["table"] = node.get_weights("table").name
        return self.template.format(**params)


TEMPLATES = (InstanceNormConfigTemplate, InstanceNormFunctionTemplate, KLScoreConfigTemplate, KLScoreFunctionTemplate)
