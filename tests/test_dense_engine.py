"""The batched dense engine (int16 GEMM on VNNI, the ordered across-events lanes kernel, vectorized casts, the
persistent thread pool) against hls4ml's C simulation and against the scalar reference paths
(L1EMU_ENGINE=reference), on every dense reference model/configuration of test_dense_models plus the jet
tagger with a rounding, saturating accum_t (products rounded to accum_t before the sum), over random and
adversarial inputs, for 1 and 2 threads and batches of 1, 7 and 4096 + 3 events."""

import numpy as np
import pytest

import l1emu
from l1emu import reference as ref

from .cases import dense

N_RANDOM = 20_000
BATCHES = (1, 7, 4096 + 3)
N_BATCH_ONE = 1500  # events replayed one call each


def build(model_name, config):
    if model_name == "jet_tagger8":
        return dense.jet_tagger_rnd_sat_accum()
    keras_model = dense.MODELS[model_name]()
    cfg, kwargs = dense.configure(keras_model, config)
    return keras_model, ref.convert(keras_model, f"{model_name}-{config}", cfg, **kwargs)


def emulator(hls_model, engine, monkeypatch):
    if engine == "auto":
        monkeypatch.delenv("L1EMU_ENGINE", raising=False)
    else:
        monkeypatch.setenv("L1EMU_ENGINE", engine)
    emu = l1emu.from_hls4ml(hls_model)
    monkeypatch.delenv("L1EMU_ENGINE", raising=False)
    return emu


def batched(emu, X, batch, threads):
    emu.threads = threads
    if batch == 1:
        X = X[:N_BATCH_ONE]
    out = [emu.predict_raw(X[i:i + batch]).reshape(len(X[i:i + batch]), -1) for i in range(0, len(X), batch)]
    return np.concatenate(out)


CASES = [(m, c) for m in dense.MODELS for c in dense.CONFIGS] + [("jet_tagger8", "accum24_12_rnd_sat")]


@pytest.mark.parametrize("model_name,config", CASES, ids=[f"{m}-{c}" for m, c in CASES])
def test_engine_bit_exact(model_name, config, monkeypatch, report):
    keras_model, hls_model = build(model_name, config)
    emus = {engine: emulator(hls_model, engine, monkeypatch) for engine in ("reference", "auto", "lanes", "gemm_generic")}
    X = dense.inputs(emus["auto"], keras_model, seed=sum(map(ord, model_name + config)), n_random=N_RANDOM,
                     shuffle=True)
    spec = emus["auto"].output_precisions()[0]
    want = l1emu.quantize(np.asarray(ref.csim_predict(hls_model, X), dtype=np.float64).reshape(len(X), -1), spec)
    ref_codes = emus["reference"].predict_raw(X).reshape(len(X), -1)
    assert int(np.sum(ref_codes != want)) == 0, "reference path differs from csim"
    dense_paths = {engine: sorted({p for p in emu._core.layer_paths() if p}) for engine, emu in emus.items()}
    assert dense_paths["reference"] == ["reference"]
    checked = 0
    for engine in ("auto", "lanes") + (("gemm_generic",) if dense_paths["gemm_generic"] != dense_paths["auto"] else ()):
        emu = emus[engine]
        for threads in (1, 2):
            for batch in BATCHES:
                got = batched(emu, X, batch, threads)
                n = len(got)
                bad_csim = int(np.sum(got != want[:n]))
                bad_ref = int(np.sum(got != ref_codes[:n]))
                assert bad_csim == 0 and bad_ref == 0, (engine, threads, batch, bad_csim, bad_ref)
                checked += got.size
        # one call over everything, default threads
        emu.threads = 0
        assert np.array_equal(emu.predict_raw(X).reshape(len(X), -1), want)
    report(f"dense engine {model_name}/{config}: paths auto={dense_paths['auto']} lanes={dense_paths['lanes']} "
           f"gemm_generic={dense_paths['gemm_generic']}; "
           f"{len(X)} events x {want.shape[1]} outputs, threads 1/2, batches {BATCHES}: {checked} codes, "
           f"0 mismatches vs csim and vs the reference path")
    if model_name == "jet_tagger8":
        assert dense_paths["auto"] == ["lanes_i32"]  # order-dependent accumulator: lanes across events
    if (model_name, config) == ("jet_tagger", "default"):
        assert all(p.startswith("gemm_i16") for p in dense_paths["auto"])


def test_threads_and_blocks_are_deterministic(monkeypatch):
    """Any thread count and call size gives the same codes (several calls racing on the pool too)."""
    import threading

    _, hls_model = dense.jet_tagger_rnd_sat_accum()
    emu = emulator(hls_model, "auto", monkeypatch)
    X = np.random.default_rng(1).normal(0, 3, (50_000, 16))
    emu.threads = 1
    base = emu.predict_raw(X)
    for threads in (2, 3, 8, 0):
        emu.threads = threads
        assert np.array_equal(emu.predict_raw(X), base)
    results = [None] * 4

    def call(k):
        results[k] = emu.predict_raw(X)

    workers = [threading.Thread(target=call, args=(k,)) for k in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert all(np.array_equal(r, base) for r in results)
