"""The reference networks of the tests, benchmarks and the demo: a QKeras jet tagger 16->64->32->32->5
(standalone BatchNormalization, quantized_relu), the same tagger with softmax, a Deep Sets constituent tagger
and a Keras autoencoder 57-32-16-8-16-32-57 (BatchNormalization that hls4ml folds into Dense, float
weights that hls4ml quantizes to its default types). Weights are seeded, so each build is identical."""

import numpy as np


def _randomize_batchnorm(model, rng):
    from tensorflow.keras.layers import BatchNormalization

    for layer in model.layers:
        if isinstance(layer, BatchNormalization):
            n = layer.gamma.shape[0]
            layer.set_weights([rng.uniform(0.5, 1.5, n), rng.normal(0, 0.3, n), rng.normal(0, 0.2, n),
                               rng.uniform(0.5, 2.0, n)])


def jet_tagger(seed=1, bits=6):
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow.keras.layers import BatchNormalization, Input
    from tensorflow.keras.models import Model

    tf.keras.utils.set_random_seed(seed)
    q = dict(kernel_quantizer=quantized_bits(bits, 0, alpha=1), bias_quantizer=quantized_bits(bits, 0, alpha=1))
    x = Input((16,), name="features")
    h = QDense(64, name="fc1", **q)(x)
    h = BatchNormalization(name="bn1")(h)
    h = QActivation(quantized_relu(bits), name="relu1")(h)
    h = QDense(32, name="fc2", **q)(h)
    h = QActivation(quantized_relu(bits), name="relu2")(h)
    h = QDense(32, name="fc3", **q)(h)
    h = QActivation(quantized_relu(bits), name="relu3")(h)
    h = QDense(5, name="output", **q)(h)
    model = Model(x, h, name="jet_tagger")
    _randomize_batchnorm(model, np.random.default_rng(seed))
    return model


def autoencoder(seed=2):
    import tensorflow as tf
    from tensorflow.keras.layers import Activation, BatchNormalization, Dense, Input
    from tensorflow.keras.models import Model

    tf.keras.utils.set_random_seed(seed)
    x = Input((57,), name="l1_objects")
    h = x
    for i, n in enumerate([32, 16, 8, 16, 32]):
        h = Dense(n, name=f"fc{i + 1}")(h)
        h = BatchNormalization(name=f"bn{i + 1}")(h)
        h = Activation("relu", name=f"relu{i + 1}")(h)
    h = Dense(57, name="output")(h)
    model = Model(x, h, name="autoencoder")
    _randomize_batchnorm(model, np.random.default_rng(seed))
    return model


def vae_encoder_dense(seed=3, bits=8, mode="full"):
    """Issue 3's model (a), a dense VAE encoder with its on-chip anomaly score: 57 inputs -> QDense 32 ->
    relu -> QDense 16 -> relu -> QDense 16 = [mu (8), logvar (8)] -> KLScore (one head producing the
    concatenation, so the graph stays a chain)."""
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow.keras.layers import Input
    from tensorflow.keras.models import Model

    from ..keras_layers import KLScore

    tf.keras.utils.set_random_seed(seed)
    q = dict(kernel_quantizer=quantized_bits(bits, 0, alpha=1), bias_quantizer=quantized_bits(bits, 0, alpha=1))
    x = Input((57,), name="l1_objects")
    h = QDense(32, name="fc1", **q)(x)
    h = QActivation(quantized_relu(bits, 3), name="relu1")(h)
    h = QDense(16, name="fc2", **q)(h)
    h = QActivation(quantized_relu(bits, 3), name="relu2")(h)
    h = QDense(16, name="mu_logvar", **q)(h)
    s = KLScore(mode=mode, name="kl_score")(h)
    return Model(x, s, name=f"vae_encoder_dense_{mode}")


def jet_tagger_softmax(seed=3, bits=8):
    """The classic hls4ml jet tagger (QKeras QAT): 16 jet features -> 64 -> 32 -> 32 -> 5 classes
    (g, q, W, Z, t) with softmax, quantized_relu hidden layers."""
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow.keras.layers import Activation, Input
    from tensorflow.keras.models import Model

    tf.keras.utils.set_random_seed(seed)
    q = dict(kernel_quantizer=quantized_bits(bits, 0, alpha=1), bias_quantizer=quantized_bits(bits, 0, alpha=1))
    x = Input((16,), name="jet_features")
    h = x
    for i, n in enumerate([64, 32, 32]):
        h = QDense(n, name=f"fc{i + 1}", **q)(h)
        h = QActivation(quantized_relu(bits, 2), name=f"relu{i + 1}")(h)
    h = QDense(5, name="output", **q)(h)
    h = Activation("softmax", name="softmax")(h)
    return Model(x, h, name="jet_tagger_softmax")


def deepsets_tagger(seed=4, bits=8, n_particles=16, pooling="mean"):
    """Permutation-invariant (Deep Sets) L1 jet tagger (QKeras QAT) on up to 16 constituents x (pt, eta_rel,
    phi_rel, particle id): a per-particle network shared by all constituents (Dense on the (particles,
    features) input, which hls4ml builds as a pointwise Conv1D), mean pooling over particles (global average
    pooling; 'max' for global max pooling), then an MLP to 5 classes with softmax."""
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow.keras.layers import Activation, GlobalAveragePooling1D, GlobalMaxPooling1D, Input
    from tensorflow.keras.models import Model

    tf.keras.utils.set_random_seed(seed)
    q = dict(kernel_quantizer=quantized_bits(bits, 0, alpha=1), bias_quantizer=quantized_bits(bits, 0, alpha=1))
    x = Input((n_particles, 4), name="constituents")
    h = x
    for i, n in enumerate([32, 32]):
        h = QDense(n, name=f"phi{i + 1}", **q)(h)
        h = QActivation(quantized_relu(bits, 2), name=f"phi_relu{i + 1}")(h)
    h = (GlobalAveragePooling1D if pooling == "mean" else GlobalMaxPooling1D)(name="pool")(h)
    h = QDense(32, name="rho1", **q)(h)
    h = QActivation(quantized_relu(bits, 2), name="rho_relu1")(h)
    h = QDense(5, name="output", **q)(h)
    h = Activation("softmax", name="softmax")(h)
    return Model(x, h, name="deepsets_tagger")


def conv_encoder_narrow(seed=7):
    """A small convolutional encoder on 40x40 images (the shape of the VAE conv encoder), built for a narrow
    accumulator (see its users' configs): Conv2D(8,3,same)-ReLU-MaxPool2-Conv2D(16,3,same)-ReLU-MaxPool2-
    Flatten-Dense(16)."""
    import tensorflow as tf
    from tensorflow.keras import layers as L

    tf.keras.utils.set_random_seed(seed)
    x = L.Input((40, 40, 1), name="image")
    h = L.ReLU(name="relu1")(L.Conv2D(8, 3, padding="same", name="conv1")(x))
    h = L.MaxPooling2D(2, name="pool1")(h)
    h = L.ReLU(name="relu2")(L.Conv2D(16, 3, padding="same", name="conv2")(h))
    h = L.MaxPooling2D(2, name="pool2")(h)
    h = L.Dense(16, name="latent")(L.Flatten(name="flatten")(h))
    return tf.keras.Model(x, h, name="conv_encoder")


def conv_encoder_narrow_config(model, backend="Vitis"):
    """hls4ml configuration of `conv_encoder_narrow`: results fixed<16,6>, accumulators fixed<24,10> (narrower
    than the exact sum: the wrap-around happens in the accumulator, so its order is hls4ml's)."""
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    for layer in ("conv1", "conv2", "latent"):
        cfg["LayerName"][layer]["Precision"] = {"result": "fixed<16,6>", "accum": "fixed<24,10>"}
    return cfg


# (filters, stride) of the thesis's convolutional encoder: 40 -> 20 -> 10 -> 5, then 5x5x2 = 50 features.
_CONV_ENCODER = [(16, 2), (16, 1), (16, 1), (20, 2), (20, 1), (20, 1), (20, 1), (20, 1), (4, 2), (4, 1), (2, 1)]


def vae_encoder_conv(seed=4, bits=16, integer=6, latent=32, mode="full"):
    """Issue 3's model (b), the thesis's convolutional VAE encoder with its anomaly score: a 40x40x1 image ->
    11 QConv2D (3x3, same padding; strides 2, 1, 1, 2, 1, 1, 1, 1, 2, 1, 1; filters 16, 16, 16, 20 x5, 4, 4, 2),
    each followed by InstanceNormalization and quantized_relu except the last -> Flatten (5x5x2 = 50) ->
    QDense(2 * latent) = [mu, logvar] (one head, so the graph stays a chain) -> KLScore. Weights and biases
    quantized_bits(16, 6); random-initialised (glorot), instance-norm gamma/beta seeded around (1, 0)."""
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
    from tensorflow.keras.layers import Flatten, Input
    from tensorflow.keras.models import Model

    from ..keras_layers import InstanceNormalization, KLScore

    tf.keras.utils.set_random_seed(seed)
    q = dict(kernel_quantizer=quantized_bits(bits, integer, alpha=1), bias_quantizer=quantized_bits(bits, integer, alpha=1))
    x = Input((40, 40, 1), name="image")
    h = x
    for i, (filters, stride) in enumerate(_CONV_ENCODER):
        h = QConv2D(filters, 3, strides=stride, padding="same", bias_initializer="random_normal", name=f"conv{i + 1}",
                    **q)(h)
        if i + 1 < len(_CONV_ENCODER):
            h = InstanceNormalization(name=f"inorm{i + 1}")(h)
            h = QActivation(quantized_relu(bits, integer), name=f"relu{i + 1}")(h)
    h = Flatten(name="flatten")(h)
    h = QDense(2 * latent, name="mu_logvar", **q)(h)
    s = KLScore(mode=mode, name="kl_score")(h)
    model = Model(x, s, name=f"vae_encoder_conv_{mode}")
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, InstanceNormalization):
            n = layer.gamma.shape[0]
            # multiples of 2^-6: exactly representable, so Keras and firmware hold the same gamma/beta
            layer.set_weights([1 + np.round(rng.normal(0, 0.2, n) * 64) / 64, np.round(rng.normal(0, 0.3, n) * 64) / 64])
    return model


def vae_encoder_conv_config(model, backend="Vitis", table_size=4096, table_range_log2=5):
    """hls4ml configuration of `vae_encoder_conv`: every layer's result fixed<16,6> (the image input, the
    convolutions and the dense head RND/SAT like the quantizers' rounding; the ReLUs as quantized_relu(16, 6)
    implies), hls4ml's inferred (exact, wrapping) accumulators, the instance-norm 1/sqrt table over
    var in [0, 2^table_range_log2) with table_size bins, the KL score fixed<24,14,RND,SAT>."""
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)

    def precision(name, **p):
        entry = cfg["LayerName"].setdefault(name, {})
        if not isinstance(entry.get("Precision"), dict):
            entry["Precision"] = {"result": entry["Precision"]} if "Precision" in entry else {}
        entry["Precision"].update(p)

    precision(model.layers[0].name, result="fixed<16,6,RND,SAT>")
    for layer in model.layers:
        kind = type(layer).__name__
        if kind in ("QConv2D", "QDense"):
            precision(layer.name, result="fixed<16,6,RND,SAT>")
        elif kind == "InstanceNormalization":
            precision(layer.name, result="fixed<16,6,RND,SAT>")
            cfg["LayerName"][layer.name].update(TableSize=table_size, TableRangeLog2=table_range_log2)
        elif kind == "KLScore":
            precision(layer.name, result="fixed<24,14,RND,SAT>")
    return cfg
