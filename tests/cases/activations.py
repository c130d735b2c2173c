"""Activations: the multi-output activation and softmax models, their configurations (table sizes and types),
and inputs at every table-index boundary."""

import hls4ml
import numpy as np

import l1emu
from l1emu import reference as ref


N_RANDOM = 100_000


N_FEATURES = 8


def lsb_range(spec):
    lsb = 2.0 ** -spec.frac
    hi = (2 ** (spec.width - (1 if spec.is_signed else 0)) - 1) * lsb
    lo = -(2 ** (spec.width - 1)) * lsb if spec.is_signed else 0.0
    return lsb, lo, hi


def boundary_values(spec, table_sizes):
    """Values at the edges of the input type and at every table-index boundary of the activations' lookups
    (x * size / 16 + size / 2 for the sigmoid family, x * size / 8 + size / 2 for tanh, x * size / -8 for
    elu/selu, and the top-bit slices of the softmax tables), each with one LSB either side."""
    lsb, lo, hi = lsb_range(spec)
    vals = [0.0, lsb, -lsb, lo, hi, hi + lsb, lo - lsb, 4 * hi, 4 * lo - 1, 1e30, -1e30, 1.0, -1.0, 0.5, -0.5, 2.0]
    for ts in table_sizes:
        k = np.arange(0, ts + 1, dtype=np.float64)
        vals += list((k - ts / 2) * 16 / ts) + list((k - ts / 2) * 8 / ts) + list(-8 * k / ts)
        n_bits = max(1, int(np.ceil(np.log2(ts))))
        step = 2.0 ** (spec.width - n_bits) * lsb  # one softmax table slot in the input's top bits
        vals += list(lo + np.arange(0, 2 ** n_bits) * step)
    vals = np.array(vals)
    vals = np.concatenate([vals, vals + lsb, vals - lsb])
    return vals[np.isfinite(vals)]


def inputs(emu, table_sizes, seed, n_features):
    rng = np.random.default_rng(seed)
    spec = emu.input_precision
    lsb, lo, hi = lsb_range(spec)
    span = max(abs(lo), abs(hi))
    parts = [rng.uniform(lo - span / 4, hi + span / 4, (N_RANDOM // 2, n_features)),
             rng.normal(0, min(4.0, span / 2), (N_RANDOM // 4, n_features)),
             rng.normal(0, min(0.5, span / 4), (N_RANDOM - N_RANDOM // 2 - N_RANDOM // 4, n_features))]
    specials = boundary_values(spec, table_sizes)
    # Every special value in every column, then random mixes of them (softmax: ties, dominant entries).
    n_sp = len(specials)
    cover = np.stack([np.roll(specials, 7 * j) for j in range(n_features)], axis=1)
    mixes = rng.choice(specials, size=(max(20_000, n_sp), n_features))
    ties = np.repeat(rng.choice(specials, size=(5000, 1)), n_features, axis=1)
    ties[:2500, rng.integers(0, n_features)] -= lsb
    return np.concatenate(parts + [cover, mixes, ties])


def activation_model(seed=3):
    import tensorflow as tf
    from qkeras import QActivation, quantized_bits, quantized_relu, quantized_sigmoid, quantized_tanh
    from tensorflow.keras.layers import ELU, Activation, Input, LeakyReLU, PReLU, ThresholdedReLU
    from tensorflow.keras.models import Model

    tf.keras.utils.set_random_seed(seed)
    x = Input((N_FEATURES,), name="x")
    outs = [Activation(a, name=a)(x) for a in ["sigmoid", "tanh", "softplus", "softsign", "elu", "selu",
                                                "hard_sigmoid"]]
    outs += [LeakyReLU(0.3, name="leaky")(x), ThresholdedReLU(0.7, name="thresholded")(x), ELU(0.6, name="elu_a")(x)]
    prelu = PReLU(name="prelu")
    outs.append(prelu(x))
    prelu.set_weights([np.random.default_rng(seed).uniform(-0.9, 0.9, (N_FEATURES,))])
    outs += [QActivation(quantized_tanh(8), name="q_tanh")(x),
             QActivation(quantized_sigmoid(8), name="q_sigmoid")(x),
             QActivation(quantized_bits(8, 2, alpha=1), name="q_bits")(x),
             QActivation(quantized_tanh(10, use_real_tanh=True), name="q_real_tanh")(x),
             QActivation(quantized_sigmoid(10, use_real_sigmoid=True), name="q_real_sigmoid")(x),
             QActivation(quantized_relu(8, 3, negative_slope=0.25), name="q_leaky")(x)]
    return Model(x, outs, name="activations")


LUT_LAYERS = ["sigmoid", "tanh", "softplus", "softsign", "elu", "selu", "elu_a", "q_real_tanh", "q_real_sigmoid"]


PLAIN_LAYERS = ["hard_sigmoid", "leaky", "thresholded", "prelu"]


# name: (input type, table_size, table_t, result type of the plain Keras activations)
ACT_CONFIGS = {
    "default": ("fixed<16,6>", None, None, None),
    "t256_ufixed16": ("fixed<10,5,RND,SAT>", 256, "ufixed<16,0>", "fixed<12,4,RND,SAT>"),
    "t4096_rnd_sat": ("fixed<24,10>", 4096, "fixed<12,4,RND,SAT>", "ufixed<10,2,RND_CONV,SAT_SYM>"),
    "t2048_index_overflow": ("fixed<44,34>", 2048, "fixed<18,8,RND_INF,SAT>", "fixed<16,6>"),
    "t512_narrow_input": ("fixed<6,2>", 512, "fixed<10,2,RND,WRAP>", "fixed<8,1,RND,SAT>"),
    "t1000_not_pow2": ("ufixed<12,5,RND,SAT>", 1000, "fixed<14,3,RND_ZERO,SAT>", "fixed<14,4>"),
}


def build_activations(config):
    """(hls_model, emulator) of the activation model in one of ACT_CONFIGS."""
    in_t, table_size, table_t, res_t = ACT_CONFIGS[config]
    model = activation_model()
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    cfg["LayerName"]["x"]["Precision"] = {"result": in_t}
    for name in LUT_LAYERS:
        if table_size:
            cfg["LayerName"][name]["table_size"] = table_size
            cfg["LayerName"][name]["Precision"]["table"] = table_t
    if res_t:
        for name in LUT_LAYERS[:7] + PLAIN_LAYERS:
            cfg["LayerName"][name]["Precision"]["result"] = res_t
    hls_model = ref.convert(model, f"activations-{config}", cfg)
    return hls_model, l1emu.from_hls4ml(hls_model)


SOFTMAX_IMPLS = ["latency", "stable", "legacy", "argmax"]
SOFTMAX_SCALAR = {"wide_accum_scalar"}  # configurations whose latency/stable softmax stays off the int64 lanes


# name: (n, input type, table_size, exp_table_t, inv_table_t, accum_t, inv_inp_t, result type)
SOFTMAX_CONFIGS = {
    "default": (5, "fixed<16,6>", None, None, None, None, None, None),
    "t256_rnd_sat": (6, "fixed<12,4,RND,SAT>", 256, "ufixed<16,4,RND,SAT>", "fixed<18,4,RND,SAT>",
                     "fixed<20,10,RND,SAT>", "fixed<16,8,RND,SAT>", "ufixed<16,0,RND,SAT>"),
    "t4096_wrap_n13": (13, "fixed<18,8>", 4096, "fixed<12,4,RND,SAT>", "ufixed<12,2,RND,SAT>", "fixed<14,6>",
                       "fixed<12,6>", "fixed<10,1,RND_CONV,SAT>"),
    # accum_t x inv_table_t products of 66 bits: outside the int64 lanes, the scalar i128 path
    "wide_accum_scalar": (5, "fixed<16,6>", 1024, "ufixed<18,8>", "ufixed<18,4>", "fixed<48,24,RND,SAT>",
                          "fixed<18,8>", "fixed<18,8,RND,SAT>"),
    "t1024_narrow_input": (4, "fixed<8,3>", 1024, "fixed<18,8,RND,SAT>", "fixed<18,8,RND,SAT>",
                           "fixed<18,8,RND,SAT>", "fixed<18,8,RND,SAT>", "ufixed<12,1,RND_INF,SAT_SYM>"),
}


def softmax_model(n, impls):
    from tensorflow.keras.layers import Activation, Input
    from tensorflow.keras.models import Model

    x = Input((n,), name="x")
    return Model(x, [Activation("softmax", name=f"sm_{i}")(x) for i in impls], name="softmax")


def softmax_config(model, impls, config):
    _, in_t, table_size, exp_t, inv_t, acc_t, inv_inp_t, res_t = SOFTMAX_CONFIGS[config]
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    cfg["LayerName"]["x"]["Precision"] = {"result": in_t}
    for i in impls:
        layer = cfg["LayerName"][f"sm_{i}"]
        layer["Implementation"] = i
        if table_size:
            layer["table_size"] = table_size
            layer["Precision"].update(exp_table=exp_t, inv_table=inv_t, accum=acc_t, inv_inp=inv_inp_t, result=res_t)
    return cfg
