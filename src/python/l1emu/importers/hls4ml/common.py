"""Helpers shared by the hls4ml layer importers: types and weights as the generated firmware holds them."""

import numpy as np

from ...fixed import check_precision
from ...errors import L1emuError
from ...fixed import quantize


def precision(layer, type_name):
    """The precision of one of the layer's named types (accum_t, table_t, ...) as an l1emu spec string."""
    t = layer.get_attr(type_name)
    if t is None:
        raise L1emuError(f"layer '{layer.name}': has no {type_name}")
    return check_precision(t.precision, f"layer '{layer.name}' {type_name}")


def result_precision(layer):
    return check_precision(layer.get_output_variable().type.precision, f"layer '{layer.name}' result_t")


def weight_codes(layer, key):
    """Codes of a weight array as the generated firmware holds them: hls4ml prints each value with the
    weight type's number of decimals, the C++ parses that text to double and assigns it to weight_t."""
    var = layer.weights[key]
    spec = check_precision(var.type.precision, f"layer '{layer.name}' {key} type")
    text = [float(x) for x in var]  # WeightVariable iterates as the writer does
    return quantize(np.array(text, dtype=np.float64), spec).reshape(var.data.shape), spec
