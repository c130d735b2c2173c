"""Activations: element-wise (linear, relu, leaky/thresholded relu, prelu, hard sigmoid/tanh, binary/ternary
tanh), lookup tables (sigmoid, tanh, softplus, softsign, elu, selu) and softmax in its four implementations.

Table sizes, table types and softmax's implementation are read from the C++ config struct hls4ml generated
for the layer (``config_cpp``), since that, not the Python attributes, is what the firmware compiles;
scalar parameters (alpha, theta, slope, shift) are the literals hls4ml prints, assigned to their types."""

import re

from ...fixed import check_precision
from ...errors import UnsupportedLayerError
from ...fixed import quantize
from .common import precision, weight_codes

_ELEMENTWISE = {"linear", "relu", "binary_tanh", "ternary_tanh"}
_LUT = {"sigmoid", "tanh", "softplus", "softsign", "selu", "elu"}


def _unsupported(layer, what):
    return UnsupportedLayerError(f"layer '{layer.name}' ({layer.class_name}): {what}")


def _io_type(layer):
    return layer.model.config.get_config_value("IOType")


def _config_struct(layer):
    """{name: literal} of the static constants and {name: type text} of the typedefs of the layer's config."""
    text = layer.get_attr("config_cpp") or ""
    consts = dict(re.findall(r"static\s+(?:const|constexpr)\s+[\w:]+(?:\s+[\w:]+)?\s+(\w+)\s*=\s*([^;]+);", text))
    types = {name: t.strip() for t, name in re.findall(r"typedef\s+(.+?)\s+(\w+)\s*;", text)}
    return consts, types


def _type_of(layer, types, key, fallback):
    """Precision of a config typedef: a named type of the layer (e.g. softmax_exp_table_t) or a literal."""
    text = types.get(key)
    if text is None:
        return check_precision(fallback, f"layer '{layer.name}' {key}")
    for attr in layer.attributes.values():
        if getattr(attr, "name", None) == text and hasattr(attr, "precision"):
            return check_precision(attr.precision, f"layer '{layer.name}' {key}")
    return check_precision(text, f"layer '{layer.name}' {key}")


def _literal_code(layer, value, spec, what):
    """A float the template prints into the C++ (str(value)), parsed to double and assigned to spec."""
    try:
        x = float(str(value))
    except ValueError:
        raise _unsupported(layer, f"{what} '{value}' is not a number") from None
    return int(quantize([x], spec)[0])


def _lut(layer, ins, fn):
    consts, types = _config_struct(layer)
    attrs = {"activation": fn, "io_type": _io_type(layer),
             "table_size": int(consts.get("table_size", layer.get_attr("table_size"))),
             "table_t": _type_of(layer, types, "table_t", layer.get_attr("table_t").precision)}
    if fn == "elu":
        attrs["param_t"] = precision(layer, "param_t")
        attrs["param"] = _literal_code(layer, layer.get_attr("activ_param", 1.0), attrs["param_t"], "alpha")
    return {"kind": "LUTActivation", "inputs": ins, "attrs": attrs, "arrays": {}}


def _is_ap_uint1(layer):
    # hls4ml's IntegerPrecisionType(1, signed=False) prints as uint<1>, a project's type as ap_uint<1>
    return str(layer.get_output_variable().type.precision).replace(" ", "") in ("uint<1>", "ap_uint<1>")


def activation(layer, ins):
    fn = str(layer.get_attr("activation", "")).lower()
    if layer.class_name == "ReLU":
        fn = "relu"
    if layer.class_name == "TernaryTanh":
        fn = "ternary_tanh"
    if fn in _LUT:
        return _lut(layer, ins, fn)
    if fn not in _ELEMENTWISE:
        raise _unsupported(layer, f"activation '{fn}' is not supported (supported: "
                                  f"{', '.join(sorted(_ELEMENTWISE | _LUT | {'hard_sigmoid', 'hard_tanh'}))})")
    attrs = {"activation": fn}
    if fn == "binary_tanh":
        attrs["xnor"] = int(_is_ap_uint1(layer))
    if fn == "ternary_tanh":
        attrs["io_type"] = _io_type(layer)
    return {"kind": "Activation", "inputs": ins, "attrs": attrs, "arrays": {}}


def parametrized(layer, ins):
    """LeakyReLU, ThresholdedReLU, ELU: nnet::<fn><data_t, param_t, res_t, config>(data, <literal>, res)."""
    fn = layer._get_act_function_name()
    if fn == "elu":
        return _lut(layer, ins, "elu")
    if fn not in ("leaky_relu", "thresholded_relu"):
        raise _unsupported(layer, f"parametrized activation '{fn}' is not supported")
    param_t = precision(layer, "param_t")
    code = _literal_code(layer, layer.get_attr("activ_param", 1.0), param_t, "parameter")
    return {"kind": "Activation", "inputs": ins, "attrs": {"activation": fn, "param_t": param_t, "param": code},
            "arrays": {}}


def prelu(layer, ins):
    alpha, alpha_t = weight_codes(layer, "param")
    return {"kind": "Activation", "inputs": ins, "attrs": {"activation": "prelu", "param_t": alpha_t},
            "arrays": {"alpha": alpha.reshape(-1)}}


def hard(layer, ins):
    fn = str(layer.get_attr("activation", "")).lower()
    if fn not in ("hard_sigmoid", "hard_tanh"):
        raise _unsupported(layer, f"hard activation '{fn}' is not supported")
    slope_t, shift_t = precision(layer, "slope_t"), precision(layer, "shift_t")
    attrs = {"activation": fn, "slope_t": slope_t, "shift_t": shift_t,
             "slope": _literal_code(layer, layer.get_attr("slope"), slope_t, "slope"),
             "shift": _literal_code(layer, layer.get_attr("shift"), shift_t, "shift")}
    return {"kind": "Activation", "inputs": ins, "attrs": attrs, "arrays": {}}


def softmax(layer, ins):
    consts, types = _config_struct(layer)
    if not consts:
        raise _unsupported(layer, "no generated config (convert the model with hls4ml first)")
    impl = consts["implementation"].split("::")[-1].strip()
    io = _io_type(layer)
    shape = [int(d) for d in layer.get_output_variable().shape]
    n_in = int(consts["n_in"])
    if io == "io_stream":  # one softmax per stream pack (the last dimension)
        n_slice, n_outer, n_inner = shape[-1], n_in // shape[-1], 1
    else:
        n_slice, n_outer, n_inner = int(consts["n_slice"]), int(consts["n_outer"]), int(consts["n_inner"])
    attrs = {"implementation": impl, "n_slice": n_slice, "n_outer": n_outer, "n_inner": n_inner}
    if impl == "legacy":
        # Neither table_t nor (io_stream) table_size is in the softmax config: the kernels use the ones it
        # inherits from nnet::activ_config, ap_fixed<18,8> and 1024.
        attrs["table_t"] = _type_of(layer, types, "table_t", "fixed<18,8>")
        if io == "io_stream":
            attrs["exp_table_size"] = attrs["inv_table_size"] = int(consts.get("table_size", 1024))
        else:
            attrs["exp_table_size"] = int(consts["exp_table_size"])
            attrs["inv_table_size"] = int(consts["inv_table_size"])
    elif impl in ("latency", "stable"):
        for key in ("exp_table_t", "inv_table_t", "accum_t", "inv_inp_t"):
            if key not in types:
                raise _unsupported(layer, f"generated config has no {key}")
            attrs[key] = _type_of(layer, types, key, None)
        attrs["exp_table_size"] = int(consts["exp_table_size"])
        attrs["inv_table_size"] = int(consts["inv_table_size"])
        attrs["exp_scale"] = consts.get("exp_scale", "1.0").strip()
        if impl == "stable":
            attrs["inp_norm_t"] = _type_of(layer, types, "inp_norm_t", None)
    elif impl != "argmax":
        raise _unsupported(layer, f"softmax implementation '{impl}' is not supported")
    return {"kind": "Softmax", "inputs": ins, "attrs": attrs, "arrays": {}}

