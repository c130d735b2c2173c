"""Import an hls4ml ModelGraph as hls4ml writes it to firmware: after its optimizer flows (fused layers,
inferred 'auto' precisions, transposed resource-strategy weights), with every type and the weights
quantized exactly as the generated C++ does (decimal text -> double -> weight_t)."""

import numpy as np

from ..emulator import Emulator, check_precision
from ..errors import L1emuError, UnsupportedLayerError
from ..fixed import quantize

_ACTIVATIONS = {"linear", "relu"}


def _precision(layer, type_name):
    t = layer.get_attr(type_name)
    if t is None:
        raise L1emuError(f"layer '{layer.name}': has no {type_name}")
    return check_precision(t.precision, f"layer '{layer.name}' {type_name}")


def _result_precision(layer):
    return check_precision(layer.get_output_variable().type.precision, f"layer '{layer.name}' result_t")


def _weight_codes(layer, key):
    """Codes of a weight array as the generated firmware holds them: hls4ml prints each value with the
    weight type's number of decimals, the C++ parses that text to double and assigns it to weight_t."""
    var = layer.weights[key]
    spec = check_precision(var.type.precision, f"layer '{layer.name}' {key} type")
    text = [float(x) for x in var]  # WeightVariable iterates as the writer does
    return quantize(np.array(text, dtype=np.float64), spec).reshape(var.data.shape), spec


def _resource_order(n_in, n_out, rf, name):
    """Per output, the order in which nnet_dense_resource.h adds the inputs (weights transposed: index
    w = out * n_in + in). Replays the kernel's ReuseLoop/MultLoop index arithmetic."""
    n = n_in * n_out
    block_factor = -(-n // rf)
    multfactor = min(n_in, rf)
    multiplier_limit = -(-n // multfactor)
    multscale = multiplier_limit // n_out
    terms = []  # (out, in, w) in execution order
    if rf <= n_in:  # dense_resource_rf_leq_nin
        for ir in range(rf):
            w, i, o, step = ir, ir, 0, 0
            for _ in range(block_factor):
                terms.append((o, i, w))
                w += rf
                i += rf
                if i >= n_in:
                    i = ir
                if step + 1 >= multscale:
                    step, o = 0, o + 1
                else:
                    step += 1
    elif rf % n_in == 0:  # dense_resource_rf_gt_nin_rem0
        rufactor = min(rf, n)
        outscale = rufactor // n_in
        outidx, outstep = [], 0
        for ir in range(rufactor):
            outidx.append(outstep)
            if (ir + 1) % n_in == 0:
                outstep += 1
        i = 0
        for ir in range(rufactor):
            w, o = ir, outidx[ir]
            for _ in range(block_factor):
                terms.append((o, i, w))
                w += rufactor
                if w >= n:
                    break
                o += outscale
            i = 0 if i + 1 >= n_in else i + 1
    else:
        raise UnsupportedLayerError(f"layer '{name}': resource strategy with reuse factor {rf} > n_in={n_in} "
                                    "not a multiple of n_in (hls4ml does not generate it)")
    seen = np.zeros((n_out, n_in), dtype=bool)
    order = [[] for _ in range(n_out)]
    for o, i, w in terms:
        if not (0 <= w < n and w == o * n_in + i) or seen[o, i]:
            raise UnsupportedLayerError(f"layer '{name}': reuse factor {rf} gives a weight schedule l1emu "
                                        "cannot represent")
        seen[o, i] = True
        order[o].append(i)
    if not seen.all():
        raise UnsupportedLayerError(f"layer '{name}': reuse factor {rf} leaves weights unused")
    return np.array(order, dtype=np.int32)


def _dense(layer, ins):
    w, w_t = _weight_codes(layer, "weight")
    b, b_t = _weight_codes(layer, "bias")
    n_in, n_out = int(layer.get_attr("n_in")), int(layer.get_attr("n_out"))
    strategy = str(layer.get_attr("strategy", "latency")).lower()
    arrays = {"bias": b.reshape(n_out)}
    if strategy == "latency":
        arrays["weight"] = w.reshape(n_in, n_out)
    elif strategy == "resource":
        arrays["weight"] = w.reshape(n_out, n_in).T.copy()  # hls4ml stores resource weights transposed
        arrays["order"] = _resource_order(n_in, n_out, int(layer.get_attr("reuse_factor")), layer.name)
    else:
        raise UnsupportedLayerError(f"layer '{layer.name}' (Dense): strategy '{strategy}' is not supported "
                                    "(latency and resource are)")
    product = _product_kind(layer)
    if product != "mult":
        raise UnsupportedLayerError(f"layer '{layer.name}' (Dense): product '{product}' (binary/ternary or "
                                    "exponential weights) is not supported")
    attrs = {"weight_t": w_t, "bias_t": b_t, "accum_t": _precision(layer, "accum_t"), "strategy": strategy,
             "reuse_factor": int(layer.get_attr("reuse_factor", 1))}
    return {"kind": "Dense", "inputs": ins, "attrs": attrs, "arrays": arrays}


def _product_kind(layer):
    from hls4ml.backends import get_backend

    return get_backend("vivado").product_type(layer.get_input_variable().type.precision,
                                              layer.get_weights("weight").type.precision)


def _batchnorm(layer, ins):
    s, s_t = _weight_codes(layer, "scale")
    b, b_t = _weight_codes(layer, "bias")
    return {"kind": "BatchNormalization", "inputs": ins, "attrs": {"scale_t": s_t, "bias_t": b_t},
            "arrays": {"scale": s.reshape(-1), "bias": b.reshape(-1)}}


def _activation(layer, ins):
    fn = str(layer.get_attr("activation", "")).lower()
    if layer.class_name == "ReLU":
        fn = "relu"
    if fn not in _ACTIVATIONS:
        raise UnsupportedLayerError(f"layer '{layer.name}' ({layer.class_name}): activation '{fn}' is not "
                                    f"supported yet (supported: {', '.join(sorted(_ACTIVATIONS))})")
    return {"kind": "Activation", "inputs": ins, "attrs": {"activation": fn}, "arrays": {}}


_IMPORTERS = {"Dense": _dense, "BatchNormalization": _batchnorm, "Activation": _activation, "ReLU": _activation}


def graph_from_hls4ml(hls_model) -> dict:
    layers = list(hls_model.get_layers())
    inputs = [layer for layer in layers if layer.class_name == "Input"]
    if len(inputs) != 1:
        raise UnsupportedLayerError(f"models with {len(inputs)} inputs are not supported (exactly one is)")
    inp = inputs[0]
    tensor_of = {inp.name: 0}
    for out_name in inp.outputs:
        tensor_of[out_name] = 0
    graph = {
        "source": {"tool": "hls4ml", "backend": hls_model.config.backend.name,
                   "io_type": hls_model.config.get_config_value("IOType")},
        "input": {"name": inp.name, "shape": [int(d) for d in inp.get_output_variable().shape],
                  "spec": _result_precision(inp)},
        "layers": [],
    }
    for layer in layers:
        if layer is inp:
            continue
        build = _IMPORTERS.get(layer.class_name)
        if build is None:
            raise UnsupportedLayerError(f"layer '{layer.name}' of class {layer.class_name} is not supported by l1emu")
        try:
            ins = [tensor_of[name] for name in layer.inputs]
        except KeyError as err:
            raise UnsupportedLayerError(f"layer '{layer.name}': input {err} comes from an unsupported layer") from None
        entry = build(layer, ins)
        entry.update(name=layer.name, shape=[int(d) for d in layer.get_output_variable().shape],
                     spec=_result_precision(layer))
        graph["layers"].append(entry)
        tensor_of[layer.name] = len(graph["layers"])
        for out_name in layer.outputs:
            tensor_of[out_name] = len(graph["layers"])
    outs = hls_model.get_output_variables()
    graph["outputs"] = []
    for var in outs:
        producer = [layer for layer in layers if layer.get_output_variable() is var]
        if not producer or producer[0].name not in tensor_of:
            raise UnsupportedLayerError(f"model output {var.name} is not produced by a supported layer")
        graph["outputs"].append(tensor_of[producer[0].name])
    return graph


def from_hls4ml(hls_model, threads: int = 0) -> Emulator:
    """Emulator of an hls4ml ModelGraph (Vivado or Vitis backend, io_parallel or io_stream)."""
    return Emulator(graph_from_hls4ml(hls_model), threads=threads)
