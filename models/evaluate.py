"""Metrics of the committed models on independent samples (zero bias seed 1, signals and jets seed 2) with the
firmware emulation (l1emu.load(...).predict), and the bit-exact check of every model against its reference
(hls4ml C simulation of models/<name>.h5 + <name>.hls4ml.yaml; conifer's cpp decision_function for the BDT).

    /work/main/.venv/bin/python models/evaluate.py [--only NAME] [--no-csim]

Writes models/metrics.json."""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import common as C  # noqa: E402
import l1emu  # noqa: E402
from l1emu.menu import inputs  # noqa: E402

N_ZB, N_SIG, N_JET, N_CHECK = 200_000, 20_000, 10_000, 2000
RATE_HZ = 2544 * 11245.6  # filled bunches x revolution frequency


def _ad_samples(builder, with_images):
    kw = {"with_images": with_images}
    zb = C.sample("zerobias", N_ZB, C.EVAL_SEEDS["zerobias"], **kw)
    sig = {p: C.sample(p, N_SIG, C.EVAL_SEEDS["signal"], **kw) for p in C.AD_SIGNALS}
    return zb, sig


_AD_CACHE = {}


def eval_ad(name, builder, with_images, n_in, csim):
    key = (builder, with_images)
    if key not in _AD_CACHE:
        _AD_CACHE[key] = _ad_samples(builder, with_images)
    zb, sig = _AD_CACHE[key]
    scaling_name = "ad_vae" if name.startswith("ad_vae") else name
    scaling = C.load_scaling(scaling_name, n_in)
    emu = l1emu.load(C.path(f"{name}.l1emu"))
    spec = emu.output_precisions()[0]
    top = (1 << (spec.width - 1)) - 1 if spec.is_signed else (1 << spec.width) - 1  # the largest code
    Xz = inputs.build(builder, zb, scaling)
    rz = emu.predict_raw(Xz)[:, 0]
    sz = emu.predict(Xz)[:, 0]
    # threshold for 1 kHz: the smallest raw code with pass fraction (>=) <= 1 kHz / rate
    codes = np.sort(rz)[::-1]
    k = int(np.floor(1000.0 / RATE_HZ * len(codes)))
    thr_1khz = int(codes[k]) + 1 if k < len(codes) else int(codes[-1])
    out = {"output_precision": str(spec), "zb_events": len(rz), "zb_max": float(sz.max()),
           "zb_max_raw": int(rz.max()), "saturation_raw": top, "zb_saturated": int(np.sum(rz >= top)),
           "threshold_1khz_raw": thr_1khz, "auc": {}, "signal_max": {}, "signal_saturated_fraction": {},
           "efficiency_1khz": {}}
    sk = C.load_keras(name).predict(Xz[:20000], batch_size=4096, verbose=0)[:, 0]
    from scipy.stats import spearmanr

    out["keras_score_rank_correlation"] = round(float(spearmanr(sk, sz[:20000]).correlation), 5)
    Xs_all = []
    for p, chunk in sig.items():
        Xs = inputs.build(builder, chunk, scaling)
        Xs_all.append(Xs[: N_CHECK // 2 // len(sig) + 1])
        rs = emu.predict_raw(Xs)[:, 0]
        out["auc"][p] = round(C.auc(rz, rs), 4)
        out["signal_max"][p] = float(l1emu.to_double(np.array([rs.max()]), spec)[0])
        out["signal_saturated_fraction"][p] = float(np.mean(rs >= top))
        out["efficiency_1khz"][p] = round(float(np.mean(rs >= thr_1khz)), 4)
    if csim:
        X = np.concatenate([Xz[: N_CHECK // 2], *Xs_all])[:N_CHECK]
        out["csim_check"] = _check(name, X)
    return out


def _check(name, X):
    t0 = time.perf_counter()
    n, bad, total = C.csim_mismatches(name, X)
    print(f"  {name}: l1emu vs hls4ml csim on {n} events: {bad} mismatching raw codes of {total} "
          f"({time.perf_counter() - t0:.0f} s incl. build)", flush=True)
    return {"events": n, "codes": total, "mismatching_codes": bad}


_JET_CACHE = {}


def eval_tagger(name, builder, csim, bdt=False):
    from sklearn.metrics import roc_auc_score

    if builder not in _JET_CACHE:
        _JET_CACHE[builder] = C.jet_sample(N_JET, C.EVAL_SEEDS["signal"], builder)
    raw, y = _JET_CACHE[builder]
    shape = raw.shape[1:]
    scaling = C.load_scaling(name, int(np.prod(shape)))
    X = scaling.apply(raw).reshape(raw.shape) if scaling is not None else raw
    emu = l1emu.load(C.path(f"{name}.l1emu"))
    p = emu.predict(X)
    out = {"events": len(y), "accuracy": round(float(np.mean(np.argmax(p, 1) == y)), 4), "auc": {}}
    if not bdt:  # firmware vs the float QKeras model it was converted from
        pk = C.load_keras(name).predict(X, batch_size=4096, verbose=0)
        out["keras_argmax_agreement"] = round(float(np.mean(np.argmax(pk, 1) == np.argmax(p, 1))), 4)
    for k, c in enumerate(C.JET_CLASSES):
        out["auc"][c] = round(float(roc_auc_score(y == k, p[:, k])), 4)
    if csim:
        out["csim_check"] = _check_bdt(name, X[:N_CHECK]) if bdt else _check(name, X[:N_CHECK])
    return out


def _check_bdt(name, X):
    import conifer

    from l1emu.reference import bdt

    t0 = time.perf_counter()
    bdt.setup_environment()
    doc = json.load(open(C.path(f"{name}.conifer.json")))
    cfg = dict(doc["config"])
    cfg["output_dir"] = os.path.join(C.DEFAULT_CACHE, "conifer", "projects", f"models-{name}")
    model = conifer.model.load_model(C.path(f"{name}.conifer.json"), new_config=cfg)
    model = bdt.compile(model, cache=C.DEFAULT_CACHE)
    ref = np.asarray(model.decision_function(np.ascontiguousarray(X, np.float64)))
    emu = l1emu.load(C.path(f"{name}.l1emu"))
    raw = emu.predict_raw(X)
    codes = l1emu.quantize(ref.reshape(raw.shape), emu.output_precisions()[0])
    bad = int(np.sum(codes != raw))
    print(f"  {name}: l1emu vs conifer cpp decision_function on {len(X)} events: {bad} mismatching raw codes of "
          f"{raw.size} ({time.perf_counter() - t0:.0f} s incl. build)", flush=True)
    return {"events": len(X), "codes": int(raw.size), "mismatching_codes": bad}


EVAL = {
    "ad_vae_mu2": lambda csim: eval_ad("ad_vae_mu2", "l1_objects_57", False, 57, csim),
    "ad_vae_kl": lambda csim: eval_ad("ad_vae_kl", "l1_objects_57", False, 57, csim),
    "cicada": lambda csim: eval_ad("cicada", "calo_regions", True, 252, csim),
    "jet_tagger": lambda csim: eval_tagger("jet_tagger", "leading_jet_features", csim),
    "deepsets": lambda csim: eval_tagger("deepsets", "leading_jet_constituents", csim),
    "jet_bdt": lambda csim: eval_tagger("jet_bdt", "leading_jet_features", csim, bdt=True),
}


def model_size(name):
    emu = l1emu.load(C.path(f"{name}.l1emu"))
    if name == "jet_bdt":
        doc = json.load(open(C.path(f"{name}.conifer.json")))
        return {"trees": doc["n_trees"] * doc["n_classes"], "max_depth": doc["max_depth"]}
    from tensorflow import keras  # noqa: F401

    model = C.load_keras(name)
    return {"params": int(model.count_params()), "file_bytes": os.path.getsize(C.path(f"{name}.l1emu")),
            "input_precision": str(emu.input_precision)}


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", choices=sorted(EVAL))
    ap.add_argument("--no-csim", action="store_true")
    args = ap.parse_args(argv)
    path = C.path("metrics.json")
    metrics = json.load(open(path)) if os.path.exists(path) else {}
    for name in args.only or list(EVAL):
        t0 = time.perf_counter()
        m = EVAL[name](not args.no_csim)
        m["size"] = model_size(name)
        m["seconds"] = round(time.perf_counter() - t0, 1)
        metrics[name] = m
        print(name, json.dumps(m), flush=True)
        with open(path + ".tmp", "w") as f:
            json.dump(metrics, f, indent=1)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    main()
