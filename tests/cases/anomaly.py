"""The custom anomaly layers (instance norm, KL score): their models, named configurations and inputs."""

import hls4ml
import numpy as np
import tensorflow as tf

import l1emu
import l1emu.firmware as fw
from l1emu import reference as ref
from l1emu.keras_layers import InstanceNormalization, KLScore

from . import adversarial_inputs, set_precision

N_RANDOM = 20_000
fw.register()


def exact_weights(rng, n, scale):
    """Exactly representable weights (multiples of 2^-6), so Keras and firmware hold the same gamma/beta."""
    return np.round(rng.normal(0, scale, n) * 64) / 64


# -- models and configurations -----------------------------------------------------------------------------
def inorm_model(shape, seed=0, epsilon=1e-3):
    tf.keras.utils.set_random_seed(seed)
    x = tf.keras.Input(shape, name="x")
    y = InstanceNormalization(epsilon=epsilon, name="inorm")(x)
    model = tf.keras.Model(x, y)
    rng = np.random.default_rng(seed)
    c = shape[-1]
    model.get_layer("inorm").set_weights([1 + exact_weights(rng, c, 0.5), exact_weights(rng, c, 0.5)])
    return model


def kl_model(latent, mode):
    x = tf.keras.Input((2 * latent,), name="z")
    return tf.keras.Model(x, KLScore(mode=mode, name="kl")(x))


# name -> (builder, io_type, configure(cfg), input scale)
INORM = {
    # (H, W, C) straight from the input, derived internal types, table over var in [0, 4)
    "hwc_derived_types": (lambda: inorm_model((4, 4, 3)), "io_parallel",
                          lambda c: (set_precision(c, "x", result="fixed<12,4,RND,SAT>"),
                                     c["LayerName"]["inorm"].update(TableRangeLog2=2))),
    # (L, C), narrow saturating types, small table
    "lc_narrow_sat": (lambda: inorm_model((6, 4), seed=1), "io_parallel",
                      lambda c: (set_precision(c, "x", result="fixed<10,4,RND,SAT>"),
                                 set_precision(c, "inorm", accum="fixed<16,8,RND,SAT>", mean="fixed<9,3,TRN,SAT>",
                                               var="ufixed<10,4,RND_CONV,SAT>", table="ufixed<10,3,RND,SAT>",
                                               result="fixed<8,3,RND,SAT>"),
                                 c["LayerName"]["inorm"].update(TableSize=64, TableRangeLog2=3))),
    # wrapping accumulator, table size not a power of two, non-power-of-two S (1/S inexact)
    "hwc_wrap_stream": (lambda: inorm_model((3, 5, 2), seed=2), "io_stream",
                        lambda c: (set_precision(c, "x", result="fixed<10,3>"),
                                   set_precision(c, "inorm", accum="fixed<14,6>", mean="fixed<12,3>", var="ufixed<12,4>",
                                                 table="ufixed<12,4,RND,SAT>", result="fixed<12,4>"),
                                   c["LayerName"]["inorm"].update(TableSize=200, TableRangeLog2=2))),
    "lc_narrow_stream": (lambda: inorm_model((8, 3), seed=3), "io_stream",
                         lambda c: (set_precision(c, "x", result="fixed<10,4,RND,SAT>"),
                                    set_precision(c, "inorm", accum="fixed<15,7,RND_ZERO,SAT_SYM>",
                                                  var="ufixed<9,3,RND,SAT>", table="ufixed<9,3,RND,SAT>",
                                                  result="fixed<10,4,RND_INF,SAT>"),
                                    c["LayerName"]["inorm"].update(TableSize=128, TableRangeLog2=1))),
}


KL = {
    "full_default": (lambda: kl_model(8, "full"), "io_parallel",
                     lambda c: (set_precision(c, "z", result="fixed<12,4,RND,SAT>"),)),
    "full_narrow_stream": (lambda: kl_model(6, "full"), "io_stream",
                           lambda c: (set_precision(c, "z", result="fixed<10,3,RND,SAT>"),
                                      set_precision(c, "kl", accum="fixed<14,7,RND,SAT>", table="ufixed<10,4,RND,SAT>",
                                                    result="fixed<10,6,RND,SAT>"),
                                      c["LayerName"]["kl"].update(TableSize=100, TableRangeLog2=2))),
    "mu2_wrap": (lambda: kl_model(8, "mu2"), "io_parallel",
                 lambda c: (set_precision(c, "z", result="fixed<10,4>"),
                            set_precision(c, "kl", accum="fixed<12,6>", result="fixed<10,6>"))),
    "mu2_stream": (lambda: kl_model(5, "mu2"), "io_stream",
                   lambda c: (set_precision(c, "z", result="fixed<12,4,RND,SAT>"),
                              set_precision(c, "kl", accum="ufixed<16,8,RND,SAT>", result="ufixed<12,8,RND,SAT>"))),
    # wrapping accum_t (TRN), table of 37 bins over [-2, 2) (logvar in [-8, 8): both clamps), SAT_SYM output
    "full_wrap_clamp": (lambda: kl_model(7, "full"), "io_parallel",
                        lambda c: (set_precision(c, "z", result="fixed<11,4,RND,SAT>"),
                                   set_precision(c, "kl", accum="fixed<13,6>", table="ufixed<12,7,RND,SAT>",
                                                 result="fixed<12,6,RND_CONV,SAT_SYM>"),
                                   c["LayerName"]["kl"].update(TableSize=37, TableRangeLog2=1))),
    # unsigned inputs (logvar >= 0: the upper half of a table over [-16, 16)), SAT_ZERO accum_t, RND_INF output
    "full_unsigned_sat_zero": (lambda: kl_model(4, "full"), "io_parallel",
                               lambda c: (set_precision(c, "z", result="ufixed<10,4,RND,SAT>"),
                                          set_precision(c, "kl", accum="fixed<18,9,RND_ZERO,SAT_ZERO>",
                                                        table="ufixed<14,10,TRN,SAT>", result="ufixed<10,8,RND_INF,SAT>"),
                                          c["LayerName"]["kl"].update(TableSize=50, TableRangeLog2=4))),
    # a 63-bit accum_t: outside the int64 lanes, the scalar i128 path
    "full_wide_reference": (lambda: kl_model(5, "full"), "io_parallel",
                            lambda c: (set_precision(c, "z", result="fixed<28,8,RND,SAT>"),
                                       set_precision(c, "kl", accum="fixed<63,23,RND,SAT>", table="ufixed<24,12,RND,SAT>",
                                                     result="fixed<40,20,RND,SAT>"),
                                       c["LayerName"]["kl"].update(TableSize=512, TableRangeLog2=3))),
    # mu^2 of 32-bit codes reaches 2^62 (the lane bound) at frac 48: the scalar path
    "mu2_wide_reference": (lambda: kl_model(3, "mu2"), "io_parallel",
                           lambda c: (set_precision(c, "z", result="fixed<32,8,RND,SAT>"),
                                      set_precision(c, "kl", accum="fixed<60,12,RND,SAT>", result="fixed<40,12,RND,SAT>"))),
}

# The KLScore path each configuration takes (layer_paths; L1EMU_ENGINE=reference gives "reference").
KL_PATHS = {name: "reference" if name.endswith("_reference") else "lanes_i64" for name in KL}


def build(table, name, backend="Vitis"):
    builder, io_type, configure = table[name]
    model = builder()
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    configure(cfg)
    suffix = "" if backend == "Vitis" else f"-{backend}"
    hls_model = ref.convert(model, f"anomaly-{name}{suffix}", cfg, backend=backend, io_type=io_type)
    return model, hls_model, l1emu.from_hls4ml(hls_model)


# -- inputs ------------------------------------------------------------------------------------------------
def inputs(emu, rng, kind):
    shape = emu.input_shape
    n = int(np.prod(shape))
    spec = emu.input_precision
    lsb, hi = 2.0 ** -spec.frac, 2.0 ** (spec.integer - 1)
    k = N_RANDOM - N_RANDOM // 2 - N_RANDOM // 4  # per-event centre and spread: small to large variances
    parts = [rng.normal(0, hi / 4, (N_RANDOM // 2, n)), rng.uniform(-2 * hi, 2 * hi, (N_RANDOM // 4, n)),
             rng.normal(rng.normal(0, hi / 4, (k, 1)), 10 ** rng.uniform(-3, 0, (k, 1)) * hi, (k, n))]
    adv = [adversarial_inputs(emu, rng).reshape(-1, n)]
    if kind == "inorm":
        # constant channels (var = 0), channels one LSB apart (tiny var), rails
        const = np.repeat(rng.uniform(-hi, hi, (500, 1, shape[-1])), n // shape[-1], axis=1).reshape(500, n)
        tiny = const + rng.integers(-1, 2, (500, n)) * lsb
        adv += [const, tiny]
    if kind == "kl":
        # logvar on table bin edges (+-1 LSB), mu at the rails: probes the index arithmetic and saturation
        layer = emu.graph["layers"][-1]["attrs"]
        size, r = int(layer["table_size"]), int(layer["table_range_log2"])
        edges = -(2.0 ** r) + np.arange(size + 1) * 2.0 ** (r + 1) / size
        edges = np.concatenate([edges, edges + lsb, edges - lsb])
        m = 3000
        z = rng.normal(0, hi / 3, (m, n))
        z[:, n // 2:] = rng.choice(edges, (m, n // 2))
        z[: m // 4, : n // 2] = rng.choice([hi - lsb, -hi, hi * 3, -hi * 3], (m // 4, n // 2))
        adv.append(z)
    return np.concatenate(parts + adv).reshape((-1,) + shape)
