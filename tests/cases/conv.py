"""Convolution networks: the Conv1D/Conv2D family models, their named hls4ml configurations and inputs."""

import hls4ml
import numpy as np

from . import adversarial_inputs, set_precision


N_RANDOM = 20_000


def randomize_weights(model, rng, scale):
    from tensorflow.keras.layers import BatchNormalization

    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.3, n), rng.normal(0, 0.2, n),
                               rng.uniform(0.5, 2.0, n)])
        elif layer.get_weights():
            layer.set_weights([rng.normal(0, scale, w.shape) for w in layer.get_weights()])


def conv2d_model(stream, seed=3):
    """Conv2D family. io_stream models keep to what hls4ml's streamed pooling supports (no padding,
    stride == pool); io_parallel ones add padded, overlapping pooling windows."""
    import tensorflow as tf
    from tensorflow.keras import layers as L

    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((7, 7, 3), name="image")
    x = L.Conv2D(4, 3, padding="same", name="conv3_same")(inp)
    x = L.BatchNormalization(name="bn_fused")(x)
    x = L.ReLU(name="relu1")(x)
    if stream:
        p1 = L.MaxPooling2D(2, name="maxpool")(x)                              # 3x3x4
        p2 = L.AveragePooling2D(2, name="avgpool")(x)                          # 3x3x4
    else:
        p1 = L.MaxPooling2D(3, strides=2, padding="same", name="maxpool")(x)   # 4x4x4, padded windows
        p2 = L.AveragePooling2D(2, strides=2, padding="same", name="avgpool")(x)
    add = L.Add(name="add")([p1, p2])
    cat = L.Concatenate(name="concat_ch")([p1, add])                           # channels 8
    z = L.ZeroPadding2D(((1, 0), (0, 2)), name="zeropad")(cat)
    pw = L.Conv2D(3, 1, name="pointwise")(z)
    pw = L.ReLU(name="relu2")(pw)
    pw = L.BatchNormalization(name="bn_standalone")(pw)
    c5 = L.Conv2D(2, 5, strides=2, padding="same", name="conv5_s2_same")(inp)  # 4x4x2
    c3 = L.Conv2D(5, 3, strides=2, padding="valid", name="conv3_s2_valid")(z)
    g1 = L.GlobalAveragePooling2D(name="gap")(pw)
    g2 = L.GlobalMaxPooling2D(name="gmp")(c3)
    mx = L.Maximum(name="maximum")([L.Conv2D(2, 1, name="pw_a")(c5), L.Conv2D(2, 3, padding="same", name="c_b")(c5)])
    f = L.Flatten(name="flatten")(mx)
    d = L.Dense(4, name="dense")(f)
    out = L.Concatenate(name="concat_flat")([d, g1])
    model = tf.keras.Model(inp, [out, g2, L.Reshape((-1,), name="reshape")(pw)], name="conv2d_family")
    randomize_weights(model, np.random.default_rng(seed), 0.7)
    return model


def conv1d_model(stream, seed=4):
    import tensorflow as tf
    from tensorflow.keras import layers as L

    tf.keras.utils.set_random_seed(seed)
    inp = L.Input((12, 3), name="sequence")
    x = L.Conv1D(4, 5, padding="same", name="conv5_same")(inp)
    x = L.ReLU(name="relu1")(x)
    x1 = L.Conv1D(4, 3, strides=2, padding="valid", name="conv3_s2_valid")(x)   # 5x4
    if stream:
        m = L.MaxPooling1D(3, strides=2, name="maxpool")(x)                      # 5x4
        a = L.AveragePooling1D(3, strides=2, name="avgpool")(x)
    else:
        m = L.MaxPooling1D(3, strides=2, padding="valid", name="maxpool")(x)     # 5x4
        a = L.AveragePooling1D(2, strides=3, padding="same", name="avgpool")(x)  # 4x4 -> padded below
        a = L.ZeroPadding1D((1, 0), name="zeropad_a")(a)                          # 5x4
    mul = L.Multiply(name="multiply")([m, x1])
    sub = L.Subtract(name="subtract")([m, a])
    avg = L.Average(name="average")([mul, sub])
    mn = L.Minimum(name="minimum")([x1, a])
    cat = L.Concatenate(name="concat_time", axis=1)([avg, mn])                  # 10x4
    z = L.ZeroPadding1D((2, 1), name="zeropad")(cat)                            # 13x4
    pw = L.Conv1D(2, 1, strides=2, name="pointwise_s2")(z)                      # 7x2
    c3 = L.Conv1D(3, 3, strides=1, padding="same", name="conv3_same")(z)
    c3 = L.BatchNormalization(name="bn_fused")(c3)
    g1 = L.GlobalAveragePooling1D(name="gap")(c3)
    g2 = L.GlobalMaxPooling1D(name="gmp")(pw)
    r = L.Reshape((14,), name="reshape")(pw)
    out = L.Concatenate(name="concat_flat")([g1, g2])
    model = tf.keras.Model(inp, [out, r, L.Flatten(name="flatten")(c3)], name="conv1d_family")
    randomize_weights(model, np.random.default_rng(seed), 0.7)
    return model


MODELS = {"conv2d": conv2d_model, "conv1d": conv1d_model}


def layers_of(model, *types):
    return [layer.name for layer in model.layers if type(layer).__name__ in types]


def reuse_factor(layer, stream):
    """A reuse factor > 1 that hls4ml accepts for the layer (n_in = kernel area x channels). hls4ml 1.3 cannot
    compile a pointwise convolution whose reuse factor is > n_in and not a multiple of it (its template names
    a missing nnet::DenseResource_rf_gt_nin), and silently keeps an invalid one for pointwise layers, so the
    choice is made here: 3 or 2 (dividing n_in), or, for io_stream pointwise layers, the fully
    serial n_in * n_out (> n_in, the dense_resource_rf_gt_nin_rem0 schedule)."""
    kernel = getattr(layer, "kernel_size", (1,))
    n_in = int(np.prod(kernel)) * int(layer.input_shape[-1])
    n_out = int(layer.units if hasattr(layer, "units") else layer.filters)
    if stream and int(np.prod(kernel)) == 1 and not hasattr(layer, "units"):
        return n_in * n_out
    for rf in (3, 2):
        if n_in % rf == 0:  # the conv resource kernels move to the next output every n_in / rf blocks
            return rf
    return 1


def configure(model, config):
    """(hls4ml config, io_type) of one named configuration."""
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    convs = layers_of(model, "Conv1D", "Conv2D", "Dense")
    pools = layers_of(model, "MaxPooling1D", "MaxPooling2D", "AveragePooling1D", "AveragePooling2D",
                       "GlobalAveragePooling1D", "GlobalAveragePooling2D", "GlobalMaxPooling1D", "GlobalMaxPooling2D")
    merges = layers_of(model, "Add", "Subtract", "Multiply", "Average", "Maximum", "Minimum")
    relus = layers_of(model, "ReLU")
    io_type = "io_stream" if config.startswith("stream") else "io_parallel"
    if config in ("default", "stream"):  # hls4ml's inferred accumulators (wide, wrapping), bounded results
        set_precision(cfg, convs, result="fixed<16,6>")
    elif config == "narrow_wrap":  # accumulators and results that wrap
        set_precision(cfg, convs, accum="fixed<10,4>", result="fixed<10,4>")
        set_precision(cfg, pools, accum="fixed<9,3>", result="fixed<8,3>")
        set_precision(cfg, merges, result="fixed<8,2>")
    elif config == "wide_wrap":  # data x weights too wide for the exact double-precision MAC: the int64 path
        set_precision(cfg, [model.layers[0].name], result="fixed<32,16>")
        set_precision(cfg, convs, weight="fixed<28,8>", bias="fixed<28,8>", accum="fixed<64,24>", result="fixed<24,10>")
    elif config in ("rnd_sat", "stream_rnd_sat"):  # rounding, saturating: the order of additions matters
        set_precision(cfg, convs, accum="fixed<13,4,RND_CONV,SAT>", result="fixed<12,4,RND,SAT>")
        set_precision(cfg, pools, accum="fixed<10,3,RND,SAT>", result="fixed<9,3,RND_ZERO,SAT_SYM>")
        set_precision(cfg, relus, result="ufixed<8,3,RND,SAT>")  # unsigned data into (padded) max pooling
        set_precision(cfg, merges, result="fixed<10,3,RND_INF,SAT>")
    elif config in ("resource", "stream_resource"):
        cfg["Model"]["Strategy"] = "Resource"
        for name in convs:
            cfg["LayerName"][name]["ReuseFactor"] = reuse_factor(model.get_layer(name), config == "stream_resource")
        set_precision(cfg, convs, accum="fixed<14,5,RND,SAT>", result="fixed<13,5,RND,SAT>")
        set_precision(cfg, pools, accum="fixed<11,4,TRN_ZERO,SAT>")
    else:
        raise ValueError(config)
    for layer in cfg["LayerName"].values():
        layer.pop("Trace", None)
    return cfg, io_type


def inputs(emu, keras_model, seed):
    rng = np.random.default_rng(seed)
    n_in = int(np.prod(emu.input_shape))
    parts = [rng.normal(0, 1, (N_RANDOM // 2, n_in)), rng.normal(0, 6, (N_RANDOM // 4, n_in)),
             rng.uniform(-40, 40, (N_RANDOM - N_RANDOM // 2 - N_RANDOM // 4, n_in))]
    adv = adversarial_inputs(emu, rng).reshape(-1, n_in)
    # sign patterns aligned with the first convolution's kernels, tiled over the image (accumulator overflow)
    first = next(layer for layer in keras_model.layers if layer.get_weights())
    w = first.get_weights()[0]
    rows = []
    for j in range(w.shape[-1]):
        kernel = np.sign(w[..., j])
        img = np.resize(np.moveaxis(kernel, -1, 0), emu.input_shape[::-1][:1] + emu.input_shape[:-1])
        img = np.moveaxis(img, 0, -1).reshape(-1)
        for mag in (30.0, -30.0, 7.5):
            rows.append(img * mag)
    return np.concatenate(parts + [adv, np.array(rows)]).reshape((-1,) + emu.input_shape)
