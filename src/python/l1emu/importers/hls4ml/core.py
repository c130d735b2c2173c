"""Dense and BatchNormalization."""

import numpy as np

from ...errors import UnsupportedLayerError
from .common import precision, weight_codes

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


def dense(layer, ins):
    w, w_t = weight_codes(layer, "weight")
    b, b_t = weight_codes(layer, "bias")
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
    attrs = {"weight_t": w_t, "bias_t": b_t, "accum_t": precision(layer, "accum_t"), "strategy": strategy,
             "reuse_factor": int(layer.get_attr("reuse_factor", 1))}
    return {"kind": "Dense", "inputs": ins, "attrs": attrs, "arrays": arrays}


def _product_kind(layer):
    if getattr(layer, "product_type", None):  # a project layer reads it from its config struct
        return layer.product_type
    from hls4ml.backends import get_backend

    return get_backend("vivado").product_type(layer.get_input_variable().type.precision,
                                              layer.get_weights("weight").type.precision)


def batchnorm(layer, ins):
    s, s_t = weight_codes(layer, "scale")
    b, b_t = weight_codes(layer, "bias")
    return {"kind": "BatchNormalization", "inputs": ins, "attrs": {"scale_t": s_t, "bias_t": b_t},
            "arrays": {"scale": s.reshape(-1), "bias": b.reshape(-1)}}
