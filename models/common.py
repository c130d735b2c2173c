"""Shared helpers of the bundled reference-menu models (models/train.py, models/evaluate.py).

Everything a model sees goes through l1emu.menu.inputs.build(builder, chunk, scaling), exactly as the menu
replay builds it. Seeds: training samples use seeds >= 100 (TRAIN_SEEDS); the evaluation samples use the
demo's seeds (zero bias 1, signals 2), so training and evaluation streams are independent."""

import json
import os
import sys
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "src", "python"))

import l1emu  # noqa: E402
from l1emu import events  # noqa: E402
from l1emu.menu import inputs  # noqa: E402

BACKEND, IO_TYPE = "Vitis", "io_parallel"
JET_CLASSES = ["g", "q", "w", "z", "t"]
JET_PROCESSES = ["gjet", "qjet", "wjet", "zjet", "topjet"]
AD_SIGNALS = ["ato4l", "lqtobtau", "htotautau", "hptotaunu", "hh4b", "ttbar"]

# Training seeds (all >= 100). Evaluation: zero bias seed 1, signals / jets seed 2 (as l1emu demo does).
TRAIN_SEEDS = {"ad_vae": 100, "cicada": 101, "jets": 110}
EVAL_SEEDS = {"zerobias": 1, "signal": 2}
# Training seeds of TF / numpy / sklearn per model
MODEL_SEEDS = {"ad_vae": 1000, "cicada": 1001, "jet_tagger": 1002, "deepsets": 1003, "jet_bdt": 1004}

DEFAULT_CACHE = os.environ.get("L1EMU_CACHE", os.path.join(tempfile.gettempdir(), "l1emu-models-cache"))


def path(name):
    return os.path.join(HERE, name)


# -- events -------------------------------------------------------------------------------------------------------
def sample(process, n, seed, **kwargs):
    """One chunk dict with n crossings of process (a seeded l1emu.events stream)."""
    return events.generate_all(process, n, seed, **kwargs)


def jet_sample(n_per_class, seed, builder):
    """(X, y): builder inputs of the leading jet of the 5 jet processes (class index into JET_CLASSES), unscaled,
    shuffled with the seed. Each process is its own l1emu stream (process, seed)."""
    xs, ys = [], []
    for k, p in enumerate(JET_PROCESSES):
        xs.append(inputs.build(builder, sample(p, n_per_class, seed, with_constituents=True)))
        ys.append(np.full(n_per_class, k))
    X, y = np.concatenate(xs), np.concatenate(ys)
    order = np.random.default_rng(seed).permutation(len(y))
    return X[order], y[order]


# -- scale tables --------------------------------------------------------------------------------------------------
def write_yaml(doc, filename):
    import yaml

    with open(filename + ".tmp", "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False, default_flow_style=None, width=120)
    os.replace(filename + ".tmp", filename)


def read_yaml(filename):
    import yaml

    with open(filename) as f:
        return yaml.safe_load(f)


def affine_table(X, description, eps=1e-6):
    """Standardization (x - mean) / std per input, from a training sample (n, ...)."""
    X = np.asarray(X, np.float64).reshape(len(X), -1)
    mean, std = X.mean(0), X.std(0)
    scale = np.where(std > eps, 1.0 / np.maximum(std, eps), 1.0)
    return {"kind": "affine", "description": description,
            "offsets": [float(v) for v in mean], "scales": [float(v) for v in scale]}


def ugt_shift_table(X, description):
    """uGT AXOL1TL-style table: offset = mean code (rounded, clipped to ap_fixed<10,10>), shift = round(log2 std)
    (clipped to [0, 15]), so that (x - offset) >> shift is O(1)."""
    X = np.asarray(X, np.float64)
    offsets = np.clip(np.rint(X.mean(0)), -512, 511).astype(int)
    std = np.maximum(X.std(0), 1.0)
    shifts = np.clip(np.rint(np.log2(std)), 0, 15).astype(int)
    return {"kind": "ugt_shift", "description": description, "unscaled": "fixed<18,13>",
            "offsets": [int(v) for v in offsets], "shifts": [int(v) for v in shifts]}


def save_scaling(doc, name, n_inputs):
    """Write models/<name>.scales.yaml and return the l1emu scaling read back from the file."""
    filename = path(f"{name}.scales.yaml")
    write_yaml(doc, filename)
    return inputs.load_scaling(filename, n_inputs)


def load_scaling(name, n_inputs):
    filename = path(f"{name}.scales.yaml")
    return inputs.load_scaling(filename, n_inputs) if os.path.exists(filename) else None


# -- training ------------------------------------------------------------------------------------------------------
def seed_everything(seed):
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)  # python, numpy and TF
    tf.config.experimental.enable_op_determinism()
    return np.random.default_rng(seed)


def custom_objects():
    from qkeras.utils import _add_supported_quantized_objects

    from l1emu.keras_layers import custom_objects as l1emu_objects

    co = dict(l1emu_objects())
    _add_supported_quantized_objects(co)
    return co


def load_keras(name):
    import tensorflow as tf

    return tf.keras.models.load_model(path(f"{name}.h5"), custom_objects=custom_objects(), compile=False)


# -- hls4ml --------------------------------------------------------------------------------------------------------
def hls_config(model):
    import hls4ml

    from l1emu import firmware

    firmware.register()
    return hls4ml.utils.config_from_keras_model(model, granularity="name", backend=BACKEND)


def set_precision(cfg, name, **precision):
    entry = cfg["LayerName"].setdefault(name, {})
    if not isinstance(entry.get("Precision"), dict):
        entry["Precision"] = {"result": entry["Precision"]} if "Precision" in entry else {}
    entry["Precision"].update(precision)


def _plain(obj):
    return json.loads(json.dumps(obj, default=lambda o: o.item() if hasattr(o, "item") else str(o)))


def export_hls4ml(model, name, cfg):
    """models/<name>.h5 (Keras), models/<name>.hls4ml.yaml ({backend, io_type, hls_config}: the exact arguments of
    convert_from_keras_model) and models/<name>.l1emu (l1emu.from_hls4ml of the converted ModelGraph)."""
    import hls4ml

    from l1emu import firmware

    firmware.register()
    cfg = _plain(cfg)
    model.save(path(f"{name}.h5"), include_optimizer=False)
    write_yaml({"backend": BACKEND, "io_type": IO_TYPE, "hls_config": cfg}, path(f"{name}.hls4ml.yaml"))
    with tempfile.TemporaryDirectory(prefix=f"l1emu-{name}-") as out:
        hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend=BACKEND,
                                                               io_type=IO_TYPE, output_dir=out)
        emu = l1emu.from_hls4ml(hls_model)
    emu.save(path(f"{name}.l1emu"))
    return emu


def reference_hls4ml(name, cache=None):
    """hls4ml csim of the committed artifacts: models/<name>.h5 converted with models/<name>.hls4ml.yaml and
    compiled (l1emu.reference.convert, cached)."""
    from l1emu import firmware, reference

    firmware.register()
    doc = read_yaml(path(f"{name}.hls4ml.yaml"))
    model = load_keras(name)
    return reference.convert(model, f"models-{name}", doc["hls_config"], backend=doc["backend"],
                             io_type=doc["io_type"], cache=cache or DEFAULT_CACHE)


def csim_mismatches(name, X, cache=None):
    """(n_events, n_mismatching_raw_codes, n_codes) of l1emu.load(models/<name>.l1emu) vs hls4ml csim."""
    from l1emu import reference

    emu = l1emu.load(path(f"{name}.l1emu"))
    hls_model = reference_hls4ml(name, cache)
    csim = np.asarray(reference.csim_predict(hls_model, np.ascontiguousarray(X, np.float64), cache=cache or DEFAULT_CACHE))
    raw = emu.predict_raw(X)
    codes = l1emu.quantize(csim.reshape(raw.shape), emu.output_precisions()[0])
    return len(X), int(np.sum(codes != raw)), int(raw.size)


def auc(score_bkg, score_sig):
    from sklearn.metrics import roc_auc_score

    s = np.concatenate([score_bkg, score_sig])
    t = np.concatenate([np.zeros(len(score_bkg)), np.ones(len(score_sig))])
    return float(roc_auc_score(t, s))
