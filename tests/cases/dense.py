"""Dense networks: the reference models, their named hls4ml configurations and inputs."""

import hls4ml
import numpy as np

from l1emu import reference as ref

from . import adversarial_inputs, set_precision


N_RANDOM = 100_000


def dense_names(model):
    return [layer.name for layer in model.layers if type(layer).__name__ in ("Dense", "QDense")]


def act_names(model):
    return [layer.name for layer in model.layers if type(layer).__name__ in ("Activation", "QActivation")]


def configure(model, name, backend="Vitis"):
    """hls4ml config and conversion kwargs of one named configuration."""
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    kwargs = {}
    dense, acts = dense_names(model), act_names(model)
    inp = model.layers[0].name
    if name == "default":
        pass
    elif name == "narrow_wrap":  # accumulators and results that wrap on overflow
        set_precision(cfg, dense, accum="fixed<10,4>", result="fixed<10,4>")
    elif name == "rnd_sat":  # rounding, saturating types: order of additions matters
        set_precision(cfg, dense, accum="fixed<14,5,RND_CONV,SAT>", result="fixed<12,4,RND,SAT>")
        set_precision(cfg, acts, result="ufixed<8,3,RND,SAT>")
    elif name == "unsigned_act":
        set_precision(cfg, acts, result="ufixed<6,2,RND_CONV,SAT_SYM>")
        set_precision(cfg, dense[-1:], result="fixed<18,8,RND_INF,SAT>")
    elif name == "auto":  # precisions inferred by hls4ml
        set_precision(cfg, dense, accum="auto", result="auto")
        set_precision(cfg, acts, result="auto")
    elif name == "resource_rf4":
        cfg["Model"]["Strategy"] = "Resource"
        for layer in cfg["LayerName"].values():
            layer["ReuseFactor"] = 4
        set_precision(cfg, dense, accum="fixed<16,6,RND,SAT>")
    elif name == "resource_rf_gt_nin":  # reuse factor > n_in and a multiple of it
        cfg["Model"]["Strategy"] = "Resource"
        for lname in dense:
            cfg["LayerName"][lname]["ReuseFactor"] = 2 * model.get_layer(lname).input_shape[-1]
        set_precision(cfg, dense, accum="fixed<15,5,RND,SAT>")
    elif name == "io_stream":
        kwargs["io_type"] = "io_stream"
        set_precision(cfg, dense, accum="fixed<14,5,RND,SAT>")
    elif name == "exotic_modes":
        set_precision(cfg, [inp], result="fixed<12,4,TRN_ZERO,SAT>")
        set_precision(cfg, dense, accum="fixed<13,4,RND_ZERO,SAT_SYM>", result="fixed<11,3,RND_MIN_INF,SAT_ZERO>")
        set_precision(cfg, acts, result="ufixed<7,2,RND_INF,SAT>")
    else:
        raise ValueError(name)
    return cfg, kwargs


CONFIGS = ["default", "narrow_wrap", "rnd_sat", "unsigned_act", "auto", "resource_rf4", "resource_rf_gt_nin",
           "io_stream", "exotic_modes"]


MODELS = {"jet_tagger": ref.jet_tagger, "autoencoder": ref.autoencoder}


def inputs(emu, keras_model, seed, n_random=N_RANDOM, shuffle=False):
    """Gaussian, wide and uniform random inputs, then the adversarial ones (spread over the rows if shuffle)."""
    rng = np.random.default_rng(seed)
    n_in = int(np.prod(emu.input_shape))
    parts = [rng.normal(0, 1, (n_random // 2, n_in)), rng.normal(0, 8, (n_random // 4, n_in)),
             rng.uniform(-40, 40, (n_random - n_random // 2 - n_random // 4, n_in))]
    first = next(layer for layer in keras_model.layers if layer.get_weights())
    adv = adversarial_inputs(emu, rng, first.get_weights()[0]).reshape(-1, n_in)
    X = np.concatenate(parts + [adv])
    return X[rng.permutation(len(X))] if shuffle else X


def jet_tagger_rnd_sat_accum():
    """The menu's jet tagger: weights fixed<8,1>, accum fixed<24,12,RND,SAT> (each product rounded to 12
    fractional bits), results fixed<16,6,RND,SAT>."""
    keras_model = ref.jet_tagger(bits=8)
    cfg = hls4ml.utils.config_from_keras_model(keras_model, granularity="name", backend="Vitis")
    set_precision(cfg, dense_names(keras_model), accum="fixed<24,12,RND,SAT>", result="fixed<16,6,RND,SAT>")
    return keras_model, ref.convert(keras_model, "jet_tagger8-accum24_12_rnd_sat", cfg)
