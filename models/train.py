"""Train the bundled reference-menu models on l1emu's own simulated events and write their artifacts.

    /work/main/.venv/bin/python models/train.py                 # all models
    /work/main/.venv/bin/python models/train.py --only jet_tagger --only jet_bdt

Per model: models/<name>.h5 (QKeras/Keras), <name>.hls4ml.yaml (hls4ml config: backend, io_type, hls_config),
<name>.l1emu (l1emu.from_hls4ml of the converted graph), <name>.scales.yaml (input scale table) where used; the BDT
writes jet_bdt.conifer.json (conifer's save()) and jet_bdt.l1emu. Seeded: a rerun reproduces the artifacts."""

import argparse
import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_DETERMINISTIC_OPS", "1")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import common as C  # noqa: E402
from l1emu.menu import inputs  # noqa: E402

# ---------------------------------------------------------------------------------------------------------------
# 1. ad_vae: AXOL1TL-style VAE on zero-bias l1_objects_57, uGT shift scaling; encoders ad_vae_mu2 / ad_vae_kl
AD = dict(n_train=200_000, latent=8, epochs=30, batch=1024, beta=0.5, bits=8, relu_bits=10, relu_int=5,
          input_t="fixed<14,6,RND_CONV,SAT>", accum_t="auto", hidden_t="fixed<18,8,RND,SAT>",
          head_t="fixed<18,10,RND,SAT>", score_t="fixed<24,16,RND,SAT>")


def train_ad_vae():
    import tensorflow as tf
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    from tensorflow.keras import layers

    from l1emu.keras_layers import KLScore

    chunk = C.sample("zerobias", AD["n_train"], C.TRAIN_SEEDS["ad_vae"])
    raw = inputs.build("l1_objects_57", chunk)
    scaling = C.save_scaling(C.ugt_shift_table(raw, "AXOL1TL-style uGT input scaling of ad_vae_mu2 / ad_vae_kl: "
                                               "(code - offset) >> shift; offset = zero-bias mean code, shift = "
                                               f"round(log2(std)); zero bias seed {C.TRAIN_SEEDS['ad_vae']}"),
                             "ad_vae", 57)
    X = inputs.build("l1_objects_57", chunk, scaling)
    import l1emu

    X = l1emu.to_double(l1emu.quantize(X, AD["input_t"]), AD["input_t"])  # what the firmware's input cast sees
    C.seed_everything(C.MODEL_SEEDS["ad_vae"])
    L, bits = AD["latent"], AD["bits"]
    q = dict(kernel_quantizer=quantized_bits(bits, 0, alpha=1), bias_quantizer=quantized_bits(bits, 0, alpha=1))
    x = layers.Input((57,), name="l1_objects")
    h = QDense(32, name="fc1", **q)(x)
    h = QActivation(quantized_relu(AD["relu_bits"], AD["relu_int"]), name="relu1")(h)
    h = QDense(16, name="fc2", **q)(h)
    h = QActivation(quantized_relu(AD["relu_bits"], AD["relu_int"]), name="relu2")(h)
    head = QDense(2 * L, name="mu_logvar", kernel_quantizer=quantized_bits(bits, 2, alpha=1),
                  bias_quantizer=quantized_bits(bits, 2, alpha=1))(h)
    encoder = tf.keras.Model(x, head, name="ad_vae_encoder")

    z_in = layers.Input((L,), name="z")
    d = layers.Dense(16, activation="relu", name="dec1")(z_in)
    d = layers.Dense(32, activation="relu", name="dec2")(d)
    d = layers.Dense(57, name="dec_out")(d)
    decoder = tf.keras.Model(z_in, d, name="ad_vae_decoder")

    inp = layers.Input((57,), name="vae_in")
    ml = encoder(inp)
    mu, logvar = ml[:, :L], tf.clip_by_value(ml[:, L:], -8.0, 8.0)
    eps = layers.Lambda(lambda t: tf.random.normal(tf.shape(t), seed=7), name="eps")(mu)
    z = mu + tf.exp(0.5 * logvar) * eps
    rec = decoder(z)
    vae = tf.keras.Model(inp, rec, name="ad_vae")
    kl = 0.5 * tf.reduce_sum(tf.square(mu) + tf.exp(logvar) - 1.0 - logvar, axis=-1)
    recon = tf.reduce_sum(tf.square(inp - rec), axis=-1)
    beta = AD["beta"]
    vae.add_loss(tf.reduce_mean((1 - beta) * recon + beta * kl))
    vae.add_metric(tf.reduce_mean(kl), name="kl")
    vae.add_metric(tf.reduce_mean(recon), name="recon")
    vae.compile(optimizer=tf.keras.optimizers.Adam(1e-3))
    hist = vae.fit(X, epochs=AD["epochs"], batch_size=AD["batch"], shuffle=True, verbose=2)
    # the trained VAE without its sampling (z = mu): encoder + decoder, loadable with the QKeras custom objects
    ae_in = layers.Input((57,), name="l1_objects")
    tf.keras.Model(ae_in, decoder(encoder(ae_in)[:, :L]), name="ad_vae").save(C.path("ad_vae.h5"),
                                                                              include_optimizer=False)

    info = {"loss": float(hist.history["loss"][-1])}
    for mode, name in (("mu2", "ad_vae_mu2"), ("full", "ad_vae_kl")):
        fx = tf.keras.layers.Input((57,), name="l1_objects")
        y = fx
        for layer in encoder.layers[1:]:
            y = layer(y)
        s = KLScore(mode=mode, name="kl_score")(y)
        fw = tf.keras.Model(fx, s, name=name)
        cfg = C.hls_config(fw)
        C.set_precision(cfg, "l1_objects", result=AD["input_t"])
        for dname in ("fc1", "fc2"):
            C.set_precision(cfg, dname, accum=AD["accum_t"], result=AD["hidden_t"])
            C.set_precision(cfg, f"{dname}_linear", result=AD["hidden_t"])
        C.set_precision(cfg, "mu_logvar", accum=AD["accum_t"], result=AD["head_t"])
        C.set_precision(cfg, "mu_logvar_linear", result=AD["head_t"])
        C.set_precision(cfg, "kl_score", result=AD["score_t"])
        emu = C.export_hls4ml(fw, name, cfg)
        sc = emu.predict(X[:50_000])[:, 0]
        info[name] = {"zb_train_max": float(sc.max()), "zb_train_q999": float(np.quantile(sc, 0.999))}
    return info


# ---------------------------------------------------------------------------------------------------------------
# 2. cicada: float conv-autoencoder teacher on calo_regions, QKeras student regressing log(teacher loss)
CI = dict(n_train=100_000, teacher_epochs=4, student_epochs=12, batch=512, bits=8, scale=0.125,
          input_t="ufixed<10,7,RND_CONV,SAT>", accum_t="auto", conv_t="fixed<16,8,RND,SAT>",
          out_t="fixed<16,8,RND,SAT>")


def teacher_input(codes):
    return np.log1p(np.asarray(codes, np.float32))[..., None] / 4.0


def train_cicada():
    import tensorflow as tf
    from qkeras import QActivation, QConv2D, QDense, quantized_bits, quantized_relu
    from tensorflow.keras import layers

    chunk = C.sample("zerobias", CI["n_train"], C.TRAIN_SEEDS["cicada"], with_images=True)
    raw = inputs.build("calo_regions", chunk)  # (n, 18, 14) ET codes
    shape = raw.shape[1:]
    n_in = int(np.prod(shape))
    scaling = C.save_scaling({"kind": "affine", "description": "cicada student input: region ET code / 8",
                              "offsets": [0.0] * n_in, "scales": [CI["scale"]] * n_in}, "cicada", n_in)
    X = inputs.build("calo_regions", chunk, scaling)

    C.seed_everything(C.MODEL_SEEDS["cicada"])
    T = teacher_input(raw)
    ti = layers.Input((*shape, 1))
    t = layers.Conv2D(16, 3, padding="same", activation="relu")(ti)
    t = layers.AveragePooling2D(2)(t)
    t = layers.Conv2D(32, 3, padding="same", activation="relu")(t)
    t = layers.Flatten()(t)
    t = layers.Dense(16, activation="relu")(t)
    t = layers.Dense((shape[0] // 2) * (shape[1] // 2) * 16, activation="relu")(t)
    t = layers.Reshape((shape[0] // 2, shape[1] // 2, 16))(t)
    t = layers.UpSampling2D(2)(t)
    t = layers.Conv2D(16, 3, padding="same", activation="relu")(t)
    t = layers.Conv2D(1, 3, padding="same")(t)
    teacher = tf.keras.Model(ti, t, name="cicada_teacher")
    teacher.compile(optimizer=tf.keras.optimizers.Adam(1e-3), loss="mse")
    th = teacher.fit(T, T, epochs=CI["teacher_epochs"], batch_size=CI["batch"], verbose=2)
    teacher.save(C.path("cicada_teacher.h5"), include_optimizer=False)
    target = teacher_score(teacher, raw)

    bits = CI["bits"]
    q = dict(kernel_quantizer=quantized_bits(bits, 0, alpha=1), bias_quantizer=quantized_bits(bits, 0, alpha=1))
    x = layers.Input(shape, name="calo_regions")
    h = layers.Reshape((*shape, 1), name="reshape")(x)
    h = QConv2D(4, 2, strides=2, name="conv", **q)(h)
    h = QActivation(quantized_relu(10, 6), name="relu0")(h)
    h = layers.Flatten(name="flatten")(h)
    h = QDense(16, name="fc1", **q)(h)
    h = QActivation(quantized_relu(10, 6), name="relu1")(h)
    h = QDense(1, name="score", kernel_quantizer=quantized_bits(bits, 2, alpha=1),
               bias_quantizer=quantized_bits(bits, 3, alpha=1))(h)
    student = tf.keras.Model(x, h, name="cicada")
    student.compile(optimizer=tf.keras.optimizers.Adam(2e-3), loss="mse")
    sh = student.fit(X, target, epochs=CI["student_epochs"], batch_size=CI["batch"], validation_split=0.1, verbose=2)

    cfg = C.hls_config(student)
    C.set_precision(cfg, "calo_regions", result=CI["input_t"])
    C.set_precision(cfg, "conv", accum=CI["accum_t"], result=CI["conv_t"])
    C.set_precision(cfg, "fc1", accum=CI["accum_t"], result=CI["conv_t"])
    C.set_precision(cfg, "score", accum=CI["accum_t"], result=CI["out_t"])
    C.set_precision(cfg, "score_linear", result=CI["out_t"])  # the model output: saturating, never wrapping
    emu = C.export_hls4ml(student, "cicada", cfg)
    sc = emu.predict(X[:50_000])[:, 0]
    return {"teacher_loss": float(th.history["loss"][-1]), "student_val_mse": float(sh.history["val_loss"][-1]),
            "target_std": float(target.std()), "zb_train_max": float(sc.max())}


def teacher_score(teacher, raw):
    T = teacher_input(raw)
    rec = teacher.predict(T, batch_size=4096, verbose=0)
    return np.log(np.mean((T - rec) ** 2, axis=(1, 2, 3)) + 1e-6)


# ---------------------------------------------------------------------------------------------------------------
# 3.-5. jet taggers on the 5 jet processes (g, q, W, Z, t)
JET = dict(n_per_class=30_000, bdt_per_class=6_000, epochs=12, deepsets_epochs=20, batch=512, bits=8,
           input_t="fixed<16,6,RND_CONV,SAT>", accum_t="auto", hidden_t="fixed<16,6,RND,SAT>",
           bdt_precision="ap_fixed<18,8>", bdt_trees=60, bdt_depth=3)
_JET_CACHE = {}


def jets(builder):
    if builder not in _JET_CACHE:
        _JET_CACHE[builder] = C.jet_sample(JET["n_per_class"], C.TRAIN_SEEDS["jets"], builder)
    return _JET_CACHE[builder]


def _fit_tagger(model, X, y, epochs=None):
    import tensorflow as tf

    model.compile(optimizer=tf.keras.optimizers.Adam(2e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    h = model.fit(X, y, epochs=epochs or JET["epochs"], batch_size=JET["batch"], validation_split=0.1, verbose=2)
    return {"val_accuracy": float(h.history["val_accuracy"][-1])}


def _tagger_config(model, dense_names):
    cfg = C.hls_config(model)
    C.set_precision(cfg, model.layers[0].name, result=JET["input_t"])
    for name in dense_names:
        C.set_precision(cfg, name, accum=JET["accum_t"], result=JET["hidden_t"])
    return cfg


def train_jet_tagger():
    from l1emu import reference

    raw, y = jets("leading_jet_features")
    scaling = C.save_scaling(C.affine_table(raw, "jet_tagger input standardization (training jets, seed "
                                                 f"{C.TRAIN_SEEDS['jets']})"), "jet_tagger", 16)
    X = inputs.build("leading_jet_features", {"jet_features": raw}, scaling)
    C.seed_everything(C.MODEL_SEEDS["jet_tagger"])
    model = reference.jet_tagger_softmax(seed=C.MODEL_SEEDS["jet_tagger"], bits=JET["bits"])
    info = _fit_tagger(model, X, y)
    C.export_hls4ml(model, "jet_tagger", _tagger_config(model, ["fc1", "fc2", "fc3", "output"]))
    return info


def deepsets_model(seed, bits):
    """reference.deepsets_tagger's structure (phi 32 -> 32 per constituent, mean pooling, rho 32, 5 classes, softmax)
    with the per-constituent network as QConv1D(kernel 1) instead of QDense on the (16, 4) input: hls4ml 1.3 turns a
    multi-dimensional Dense into a pointwise convolution from the float kernel and drops its QKeras quantizer
    (hls4ml/model/optimizer/passes/multi_dense.py), so a QDense there is not what QKeras trained (weights of 1.0 wrap
    to -1 in fixed<8,1>). QConv1D keeps the quantizer."""
    import tensorflow as tf
    from qkeras import QActivation, QConv1D, QDense, quantized_bits, quantized_relu
    from tensorflow.keras.layers import Activation, GlobalAveragePooling1D, Input

    tf.keras.utils.set_random_seed(seed)
    q = dict(kernel_quantizer=quantized_bits(bits, 0, alpha=1), bias_quantizer=quantized_bits(bits, 0, alpha=1))
    x = Input((16, 4), name="constituents")
    h = x
    for i, n in enumerate([32, 32]):
        h = QConv1D(n, 1, name=f"phi{i + 1}", **q)(h)
        h = QActivation(quantized_relu(bits, 2), name=f"phi_relu{i + 1}")(h)
    h = GlobalAveragePooling1D(name="pool")(h)
    h = QDense(32, name="rho1", **q)(h)
    h = QActivation(quantized_relu(bits, 2), name="rho_relu1")(h)
    h = QDense(5, name="output", **q)(h)
    h = Activation("softmax", name="softmax")(h)
    return tf.keras.Model(x, h, name="deepsets")


def train_deepsets():
    raw, y = jets("leading_jet_constituents")
    scaling = C.save_scaling(C.affine_table(raw, "deepsets input standardization per constituent slot and feature "
                                                 f"(pt, eta_rel, phi_rel, pid; training jets, seed "
                                                 f"{C.TRAIN_SEEDS['jets']})"), "deepsets", raw[0].size)
    X = scaling.apply(raw).reshape(raw.shape)  # = inputs.build("leading_jet_constituents", chunk, scaling)
    C.seed_everything(C.MODEL_SEEDS["deepsets"])
    model = deepsets_model(C.MODEL_SEEDS["deepsets"], JET["bits"])
    info = _fit_tagger(model, X, y, JET["deepsets_epochs"])
    cfg = _tagger_config(model, ["phi1", "phi2", "rho1", "output"])
    C.set_precision(cfg, "pool", accum="fixed<24,12>", result=JET["hidden_t"])
    C.export_hls4ml(model, "deepsets", cfg)
    return info


def train_jet_bdt():
    import conifer
    from sklearn.ensemble import GradientBoostingClassifier

    import l1emu

    raw, y = jets("leading_jet_features")
    n = JET["bdt_per_class"] * len(C.JET_CLASSES)
    raw, y = raw[:n], y[:n]
    scaling = C.save_scaling(C.affine_table(raw, "jet_bdt input standardization (training jets, seed "
                                                 f"{C.TRAIN_SEEDS['jets']})"), "jet_bdt", 16)
    X = inputs.build("leading_jet_features", {"jet_features": raw}, scaling)
    clf = GradientBoostingClassifier(n_estimators=JET["bdt_trees"], max_depth=JET["bdt_depth"], learning_rate=0.3,
                                     random_state=C.MODEL_SEEDS["jet_bdt"]).fit(X, y)
    with tempfile.TemporaryDirectory(prefix="l1emu-jet_bdt-") as out:
        cfg = {"Backend": "cpp", "ProjectName": "jet_bdt", "OutputDir": out, "Precision": JET["bdt_precision"]}
        model = conifer.converters.convert_from_sklearn(clf, cfg)
        model.config.output_dir = "jet_bdt_prj"  # the saved config names no temporary directory
        model.save(C.path("jet_bdt.conifer.json"))
    emu = l1emu.from_conifer(model)
    emu.save(C.path("jet_bdt.l1emu"))
    return {"train_accuracy": float(clf.score(X, y))}


TRAIN = {"ad_vae": train_ad_vae, "cicada": train_cicada, "jet_tagger": train_jet_tagger, "deepsets": train_deepsets,
         "jet_bdt": train_jet_bdt}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", action="append", choices=sorted(TRAIN), help="train only this model (repeatable)")
    args = ap.parse_args(argv)
    names = args.only or list(TRAIN)
    log = {}
    t_all = time.perf_counter()
    for name in names:
        t0 = time.perf_counter()
        print(f"== {name}", flush=True)
        info = TRAIN[name]()
        info["seconds"] = round(time.perf_counter() - t0, 1)
        log[name] = info
        print(f"== {name}: {json.dumps(info)}", flush=True)
    print(f"total {time.perf_counter() - t_all:.1f} s")
    if not args.only:
        with open(C.path("train_log.json"), "w") as f:
            json.dump(log, f, indent=2)


if __name__ == "__main__":
    main()
