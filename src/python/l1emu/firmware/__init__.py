"""The l1emu custom firmware layers (instance normalization, KL score) for hls4ml: HLS headers in this
package (nnet_instancenorm.h, nnet_kl_score.h, nnet_l1emu_fixed.h) and their registration through
hls4ml's extension API. `register()` (idempotent) makes `convert_from_keras_model(...)` accept models
containing l1emu.keras_layers.InstanceNormalization / KLScore, for the Vivado and Vitis backends.

Lookup tables (1/sqrt(var + eps), exp(logvar)) are computed here, at conversion time, and shipped as
weight arrays of type table_t holding exactly representable values; the C++ never touches floating point.
Per-layer hls4ml config: 'Precision' keys accum, mean, var (instance norm), table, scale, bias, result;
'TableSize' and 'TableRangeLog2'. Types left out (or 'auto') get the defaults derived below."""

import math
import os

import numpy as np

HEADERS = ("nnet_l1emu_fixed.h", "nnet_instancenorm.h", "nnet_kl_score.h")
HEADER_DIR = os.path.dirname(os.path.abspath(__file__))
BACKENDS = ("Vivado", "Vitis")

_registered = False


def header_paths():
    return [os.path.join(HEADER_DIR, h) for h in HEADERS]


# -- table contents (shared with the tests: the emulator takes the codes hls4ml writes) ------------------
def table_centres(table_size, range_log2, symmetric):
    """Centres of the uniform bins the firmware indexes: [0, 2^R) or [-2^R, 2^R) split in table_size."""
    lo = -(2.0 ** range_log2) if symmetric else 0.0
    width = 2.0 ** (range_log2 + (1 if symmetric else 0))
    return lo + (np.arange(table_size) + 0.5) * width / table_size


def quantized_table(values, precision):
    """values rounded to nearest and saturated into the table type, as exact float64 values."""
    from ..fixed import quantize, to_double

    spec = _spec_text(precision, quantization="RND", overflow="SAT")
    return to_double(quantize(np.asarray(values, dtype=np.float64), spec), spec)


def _spec_text(p, quantization="TRN", overflow="WRAP"):
    """An l1emu precision with the modes named as Spec.quantization / Spec.overflow name them."""
    base = "fixed" if p.signed else "ufixed"
    return f"{base}<{p.width},{p.integer},{quantization},{overflow}>"


def inv_n_constant(n, bits=18):
    """~1/n as code * 2^-frac with `bits` significant bits (exact when n is a power of two)."""
    frac = bits - 1 + math.ceil(math.log2(n)) if n > 1 else 0
    return int(round(2.0 ** frac / n)), frac


def register():
    """Register the layers, their Keras parsers, templates and HLS sources with hls4ml (once)."""
    global _registered
    if _registered:
        return
    import hls4ml

    from . import _hls4ml

    for name, cls in (("InstanceNorm", _hls4ml.InstanceNorm), ("KLScore", _hls4ml.KLScore)):
        hls4ml.model.layers.register_layer(name, cls)
    hls4ml.converters.register_keras_v2_layer_handler("InstanceNormalization", _hls4ml.parse_instancenorm)
    hls4ml.converters.register_keras_v2_layer_handler("KLScore", _hls4ml.parse_kl_score)
    for backend_name in BACKENDS:
        backend = hls4ml.backends.get_backend(backend_name)
        for template in _hls4ml.TEMPLATES:
            backend.register_template(template)
        for path in header_paths():
            backend.register_source(os.path.abspath(path))
    _registered = True
