"""Keras layers of the l1emu custom firmware layers. They are the float definitions the firmware
(l1emu/firmware/*.h) approximates in fixed point, so training, float evaluation and firmware share one
formula. Usable in QKeras models; `custom_objects()` for `load_model`."""

import tensorflow as tf


@tf.keras.utils.register_keras_serializable(package="l1emu")
class InstanceNormalization(tf.keras.layers.Layer):
    """Per event and per channel (last axis) normalization over all the other (spatial) axes:
    y = gamma * (x - mean) / sqrt(var + epsilon) + beta, with the biased variance."""

    def __init__(self, epsilon=1e-3, center=True, scale=True, **kwargs):
        super().__init__(**kwargs)
        if not epsilon > 0:
            raise ValueError(f"InstanceNormalization: epsilon must be positive, got {epsilon}")
        self.epsilon = float(epsilon)
        self.center = bool(center)
        self.scale = bool(scale)

    def build(self, input_shape):
        if len(input_shape) < 3:
            raise ValueError(f"InstanceNormalization needs (batch, spatial..., channels) inputs, got {input_shape}")
        n_chan = int(input_shape[-1])
        if self.scale:
            self.gamma = self.add_weight(name="gamma", shape=(n_chan,), initializer="ones", trainable=True)
        if self.center:
            self.beta = self.add_weight(name="beta", shape=(n_chan,), initializer="zeros", trainable=True)
        super().build(input_shape)

    def call(self, inputs):
        axes = list(range(1, len(inputs.shape) - 1))
        mean = tf.reduce_mean(inputs, axis=axes, keepdims=True)
        var = tf.reduce_mean(tf.square(inputs - mean), axis=axes, keepdims=True)
        y = (inputs - mean) * tf.math.rsqrt(var + self.epsilon)
        if self.scale:
            y = y * self.gamma
        if self.center:
            y = y + self.beta
        return y

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "center": self.center, "scale": self.scale}


@tf.keras.utils.register_keras_serializable(package="l1emu")
class KLScore(tf.keras.layers.Layer):
    """Anomaly score from a VAE encoder output [mu (L values), logvar (L values)] of shape (batch, 2L):
    mode 'full': 0.5 * sum(mu^2 + exp(logvar) - 1 - logvar), the KL divergence to N(0, 1);
    mode 'mu2' : sum(mu^2), the CMS AXOL1TL score. Output shape (batch, 1)."""

    MODES = ("full", "mu2")

    def __init__(self, mode="full", **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f"KLScore: mode must be one of {self.MODES}, got {mode!r}")
        self.mode = mode

    def build(self, input_shape):
        if len(input_shape) != 2 or input_shape[-1] is None or int(input_shape[-1]) % 2:
            raise ValueError(f"KLScore needs (batch, 2 * latent) inputs [mu, logvar], got {input_shape}")
        super().build(input_shape)

    def call(self, inputs):
        mu, logvar = tf.split(inputs, 2, axis=-1)
        if self.mode == "mu2":
            return tf.reduce_sum(tf.square(mu), axis=-1, keepdims=True)
        return 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(logvar) - 1.0 - logvar, axis=-1, keepdims=True)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def custom_objects():
    return {"InstanceNormalization": InstanceNormalization, "KLScore": KLScore}


def load_model(path):
    """A saved QKeras/Keras model with l1emu's and QKeras's custom objects (float evaluation, references)."""
    from qkeras.utils import _add_supported_quantized_objects

    objects = dict(custom_objects())
    _add_supported_quantized_objects(objects)
    return tf.keras.models.load_model(path, custom_objects=objects, compile=False)
