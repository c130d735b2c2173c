"""Convolutions (Conv1D/Conv2D and their pointwise forms) and pooling (max/average, local and global).

hls4ml's convolution implementations differ in scheduling, not arithmetic: io_parallel gathers each output
pixel's window with a generated im2col fill_buffer and runs conv_*_latency_cl (ascending window order) or
conv_*_resource_cl (the dense_resource_rf_leq_nin order); io_stream shifts a line buffer and runs the
mult_config dense kernel (DenseLatency or DenseResource_*) on each full window. Padding: zeros of data_T in
io_parallel, an inserted ZeroPadding layer in io_stream. See src/cpp/layers/conv.h and pooling.h."""

from ...errors import UnsupportedLayerError
from .common import precision, weight_codes
from .core import _product_kind, _resource_order


def _io_type(layer):
    return str(layer.model.config.get_config_value("IOType")).lower()


def _backend(layer):
    return layer.model.config.backend.name.lower()


def _unsupported(layer, what):
    raise UnsupportedLayerError(f"layer '{layer.name}' ({layer.class_name}): {what}")


def conv(layer, ins):
    two_d = layer.class_name.endswith("2D")
    io = _io_type(layer)
    if layer.get_attr("data_format", "channels_last") != "channels_last":
        _unsupported(layer, "channels_first data is not supported")
    if two_d:
        if int(layer.get_attr("dilation_height", 1)) != 1 or int(layer.get_attr("dilation_width", 1)) != 1:
            _unsupported(layer, "dilated convolutions are not supported")
    elif int(layer.get_attr("dilation", 1)) != 1:
        _unsupported(layer, "dilated convolutions are not supported")
    impl = str(layer.get_attr("implementation", "linebuffer")).lower()
    if io == "io_stream" and impl != "linebuffer":
        _unsupported(layer, f"io_stream implementation '{impl}' is not supported (linebuffer is)")
    strategy = str(layer.get_attr("strategy", "latency")).lower()
    if strategy not in ("latency", "resource"):
        _unsupported(layer, f"strategy '{strategy}' is not supported (latency and resource are)")
    product = _product_kind(layer)
    if product != "mult":
        _unsupported(layer, f"product '{product}' (binary/ternary or exponential weights) is not supported")

    g = lambda key, default=None: int(layer.get_attr(key, default))  # noqa: E731
    attrs = {
        "in_height": g("in_height") if two_d else 1, "in_width": g("in_width"), "n_chan": g("n_chan"),
        "filt_height": g("filt_height") if two_d else 1, "filt_width": g("filt_width"), "n_filt": g("n_filt"),
        "stride_height": g("stride_height") if two_d else 1, "stride_width": g("stride_width"),
        "pad_top": g("pad_top") if two_d else 0, "pad_bottom": g("pad_bottom") if two_d else 0,
        "pad_left": g("pad_left"), "pad_right": g("pad_right"),
    }
    if io == "io_stream" and any(attrs[k] for k in ("pad_top", "pad_bottom", "pad_left", "pad_right")):
        _unsupported(layer, "io_stream convolution with padding (hls4ml inserts a ZeroPadding layer instead)")
    if (io == "io_stream" and attrs["filt_height"] == 1 and attrs["stride_height"] != 1
            and layer.class_name == "Conv2D"):
        # compute_output_buffer_1d ignores stride_height for filt_height == 1 non-pointwise convolutions
        _unsupported(layer, "io_stream Conv2D with filt_height 1 and stride_height > 1")
    n_in = attrs["filt_height"] * attrs["filt_width"] * attrs["n_chan"]
    n_filt = attrs["n_filt"]

    w, w_t = weight_codes(layer, "weight")
    b, b_t = weight_codes(layer, "bias")
    arrays = {"bias": b.reshape(n_filt)}
    if strategy == "latency":
        arrays["weight"] = w.reshape(n_in, n_filt)
    else:
        if not layer.get_attr("_weights_transposed", False):
            _unsupported(layer, "resource strategy without hls4ml's weight transpose")
        arrays["weight"] = w.reshape(n_filt, n_in).T.copy()  # (F, H, W, C) -> (H*W*C, F)
        rf = int(layer.get_attr("reuse_factor"))
        if io == "io_parallel" and rf > n_in:
            _unsupported(layer, f"io_parallel resource strategy with reuse factor {rf} > n_in = {n_in} "
                                "(conv_*_resource_cl requires reuse_factor <= filt_height * filt_width * n_chan)")
        arrays["order"] = _resource_order(n_in, n_filt, rf, layer.name)
    attrs.update(weight_t=w_t, bias_t=b_t, accum_t=precision(layer, "accum_t"), strategy=strategy,
                 reuse_factor=int(layer.get_attr("reuse_factor", 1)), io_type=io)
    return {"kind": "Conv", "inputs": ins, "attrs": attrs, "arrays": arrays}


def pooling(layer, ins):
    two_d = layer.class_name.endswith("2D")
    is_global = layer.class_name.startswith("Global")
    io = _io_type(layer)
    if layer.get_attr("data_format", "channels_last") != "channels_last":
        _unsupported(layer, "channels_first data is not supported")
    op = str(layer.get_attr("pool_op")).lower()
    if op not in ("max", "average"):
        _unsupported(layer, f"pool_op '{op}' is not supported")
    if io == "io_stream" and _backend(layer) != "vitis":
        _unsupported(layer, "io_stream pooling is supported for the Vitis backend only")
    shape = [int(d) for d in layer.get_input_variable().shape]
    ih, iw, nc = (shape if two_d else [1] + shape)
    attrs = {"pool_op": op, "in_height": ih, "in_width": iw, "n_chan": nc, "accum_t": precision(layer, "accum_t"),
             "io_type": io}
    if is_global:
        attrs.update(pool_height=ih, pool_width=iw, stride_height=1, stride_width=1, pad_top=0, pad_bottom=0,
                     pad_left=0, pad_right=0, count_pad=0, impl="global_stream" if io == "io_stream" else "parallel")
    else:
        g = lambda key: int(layer.get_attr(key))  # noqa: E731
        attrs.update(pool_height=g("pool_height") if two_d else 1, pool_width=g("pool_width"),
                     stride_height=g("stride_height") if two_d else 1, stride_width=g("stride_width"),
                     pad_top=g("pad_top") if two_d else 0, pad_bottom=g("pad_bottom") if two_d else 0,
                     pad_left=g("pad_left"), pad_right=g("pad_right"),
                     count_pad=int(bool(layer.get_attr("count_pad", False))), impl="parallel")
        if io == "io_stream":
            attrs["impl"] = "stream"
            impl = str(layer.get_attr("implementation", "linebuffer")).lower()
            if impl != "linebuffer":
                _unsupported(layer, f"io_stream implementation '{impl}' is not supported (linebuffer is)")
            if any(attrs[k] for k in ("pad_top", "pad_bottom", "pad_left", "pad_right")):
                _unsupported(layer, "io_stream pooling with padding (hls4ml's streamed pooling asserts no padding)")
            if two_d and (attrs["pool_height"] != attrs["stride_height"] or attrs["pool_width"] != attrs["stride_width"]):
                _unsupported(layer, "io_stream 2D pooling with stride != pool size (hls4ml asserts they are equal)")
    return {"kind": "Pooling", "inputs": ins, "attrs": attrs, "arrays": {}}
