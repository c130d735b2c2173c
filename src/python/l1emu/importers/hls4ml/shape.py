"""Layout-only and element-wise layers: Reshape/Flatten/Clone (identity on channels_last flat codes),
ZeroPadding1D/2D and Concatenate (index gathers computed here), Merge (add, subtract, multiply, average,
maximum, minimum)."""

import numpy as np

from ...errors import UnsupportedLayerError


def _shape(var):
    return tuple(int(d) for d in var.shape)


def copy(layer, ins):
    return {"kind": "Copy", "inputs": ins[:1], "attrs": {}, "arrays": {}}


def zero_padding(layer, ins):
    if layer.get_attr("data_format", "channels_last") != "channels_last":
        raise UnsupportedLayerError(f"layer '{layer.name}' ({layer.class_name}): channels_first is not supported")
    shape = _shape(layer.get_input_variable())
    idx = np.arange(int(np.prod(shape)), dtype=np.int64).reshape(shape)
    g = lambda key: int(layer.get_attr(key, 0))  # noqa: E731
    if layer.class_name == "ZeroPadding1D":
        pads = [(g("pad_left"), g("pad_right")), (0, 0)]
    else:
        pads = [(g("pad_top"), g("pad_bottom")), (g("pad_left"), g("pad_right")), (0, 0)]
    out = np.pad(idx, pads, constant_values=-1).reshape(-1)
    return {"kind": "ZeroPadding", "inputs": ins, "attrs": {},
            "arrays": {"source": np.zeros_like(out), "index": out}}


def concatenate(layer, ins):
    a_shape, b_shape = (_shape(layer.get_input_variable(name)) for name in layer.inputs)
    axis = int(layer.get_attr("axis", -1))
    # nnet_merge.h: Keras axis (counting the batch dimension when positive); anything that is not the last or,
    # in 3D, the middle axis concatenates along the first
    rank = len(a_shape)
    np_axis = axis - 1 if axis > 0 else axis
    if not -rank <= np_axis < rank:
        raise UnsupportedLayerError(f"layer '{layer.name}' (Concatenate): axis {axis} out of range")
    a = np.arange(int(np.prod(a_shape)), dtype=np.int64).reshape(a_shape)
    b = np.arange(int(np.prod(b_shape)), dtype=np.int64).reshape(b_shape)
    index = np.concatenate([a, b], axis=np_axis).reshape(-1)
    source = np.concatenate([np.zeros_like(a), np.ones_like(b)], axis=np_axis).reshape(-1)
    return {"kind": "Concatenate", "inputs": ins, "attrs": {"axis": axis}, "arrays": {"source": source, "index": index}}


_MERGE_OPS = {"add", "subtract", "multiply", "average", "maximum", "minimum"}


def merge(layer, ins):
    op = str(layer.get_attr("op", "")).lower()
    if op not in _MERGE_OPS:
        raise UnsupportedLayerError(f"layer '{layer.name}' (Merge): op '{op}' is not supported "
                                    f"(supported: {', '.join(sorted(_MERGE_OPS))})")
    return {"kind": "Merge", "inputs": ins, "attrs": {"op": op}, "arrays": {}}
