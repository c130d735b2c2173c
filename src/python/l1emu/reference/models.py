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
