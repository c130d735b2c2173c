"""The batched dense engine (int16 GEMM on VNNI, the ordered across-events lanes kernel, vectorized casts, the
persistent thread pool) against hls4ml's C simulation and against the scalar reference paths
(L1EMU_ENGINE=reference), on every dense reference model/configuration of test_dense_models plus the jet
tagger with a rounding, saturating accum_t (products rounded to accum_t before the sum), over random and
adversarial inputs, for 1, 2 and 3 threads and batches of 1, 7, 64, 1000 and 4096 + 3 events; the thread budget
and the vectorized input quantization."""

import math
import os

import numpy as np
import pytest

import l1emu
from l1emu import reference as ref

from .cases import dense

N_RANDOM = 20_000
BATCHES = (1, 7, 64, 1000, 4096 + 3)
THREADS = (1, 2, 3)
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
        for threads in THREADS:
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
           f"{len(X)} events x {want.shape[1]} outputs, threads {THREADS}, batches {BATCHES}: {checked} codes, "
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


def test_thread_budget(monkeypatch):
    """The process-wide budget caps the threads without changing a code; bad budgets are one clear error."""
    _, hls_model = dense.jet_tagger_rnd_sat_accum()
    emu = emulator(hls_model, "auto", monkeypatch)
    X = np.random.default_rng(2).normal(0, 3, (20_000, 16))
    before = l1emu.thread_budget()
    emu.threads = 1
    base = emu.predict_raw(X)
    try:
        for budget in (1, 2, 3):
            l1emu.set_thread_budget(budget)
            assert l1emu.thread_budget() == budget
            for threads in (0, 3):
                emu.threads = threads
                assert np.array_equal(emu.predict_raw(X), base)
        for bad in (0, -1, 2.5, "2", True):
            with pytest.raises(l1emu.L1emuError, match="thread budget"):
                l1emu.set_thread_budget(bad)
    finally:
        l1emu.set_thread_budget(before)


def test_thread_budget_environment():
    """L1EMU_THREADS sets the budget when l1emu is first used; a bad value is an error naming the variable,
    at the command line one line with exit status 2 (no traceback)."""
    import os
    import subprocess
    import sys

    code = "import l1emu; print(l1emu.thread_budget())"
    ok = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, L1EMU_THREADS="3"), capture_output=True,
                        text=True)
    assert ok.returncode == 0 and ok.stdout.strip() == "3", ok.stderr
    bad = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, L1EMU_THREADS="many"),
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "L1EMU_THREADS" in bad.stderr
    model = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models", "jet_tagger.l1emu")
    cli = subprocess.run([sys.executable, "-c", "from l1emu.cli import main; main()", "info", model],
                         env=dict(os.environ, L1EMU_THREADS="many"), capture_output=True, text=True)
    assert cli.returncode == 2 and "Traceback" not in cli.stderr, cli.stderr
    assert "environment variable L1EMU_THREADS must be an integer from 1 to 1024, got 'many'" in cli.stderr + cli.stdout
    pinned = subprocess.run([sys.executable, "-c", "import l1emu; l1emu.set_thread_budget(2); "
                             "l1emu.load(%r); print(l1emu.thread_budget())" % model],
                            env=dict(os.environ, L1EMU_THREADS="3"), capture_output=True, text=True)
    assert pinned.returncode == 0 and pinned.stdout.strip() == "2", pinned.stderr  # a call wins over the variable


def _exact_code(x, s):
    """ap_fixed's double constructor on exact rationals: the value scaled to the LSB, quantized, overflowed."""
    from fractions import Fraction
    from math import floor

    v = Fraction(x) * Fraction(2) ** s.frac
    q, rem, neg = floor(v), v - floor(v), v < 0
    half = Fraction(1, 2)
    up = {"TRN": False, "TRN_ZERO": neg and rem != 0, "RND": rem >= half, "RND_ZERO": rem > half or (rem == half and neg),
          "RND_MIN_INF": rem > half, "RND_INF": rem > half or (rem == half and not neg),
          "RND_CONV": rem > half or (rem == half and q % 2 == 1)}[s.quantization]
    q += int(up)
    lo, hi = (-(2 ** (s.width - 1)), 2 ** (s.width - 1) - 1) if s.is_signed else (0, 2 ** s.width - 1)
    if lo <= q <= hi:
        return -hi if (s.overflow == "SAT_SYM" and s.is_signed and s.width > 1 and q == lo) else q
    if s.overflow == "WRAP":
        q %= 2 ** s.width
        return q - 2 ** s.width if s.is_signed and q > hi else q
    if s.overflow == "SAT_ZERO":
        return 0
    if s.overflow == "SAT_SYM" and s.is_signed and s.width > 1:
        lo = -hi
    return min(max(q, lo), hi)


def test_input_quantization_is_exact():
    """The vectorized input cast (mac::from_doubles: l1emu.quantize and every model's input) equals ap_fixed's
    double constructor computed on exact rationals, on values at every LSB, ties, quarter-LSBs, rails and beyond,
    subnormals, signed zeros and values past 2^62 LSBs, for every quantization and overflow mode."""
    rng = np.random.default_rng(3)
    for spec in ("fixed<16,6>", "fixed<16,6,RND,SAT>", "ufixed<8,3,RND_CONV,SAT>", "fixed<10,4,RND_ZERO,SAT_SYM>",
                 "fixed<12,2,RND_INF,SAT_ZERO>", "fixed<9,-2,RND_MIN_INF,WRAP>", "fixed<20,24,TRN_ZERO,SAT>",
                 "ufixed<6,6,RND,WRAP>", "fixed<1,1,RND,SAT_SYM>", "fixed<62,30,RND_CONV,WRAP>",
                 "fixed<8,3,RND_CONV,SAT_SYM>"):
        s = l1emu.Spec(spec)
        lsb = 2.0 ** -s.frac
        k = rng.integers(-2 ** (s.width + 1), 2 ** (s.width + 1), 3000).astype(np.float64)
        X = np.concatenate([k * lsb, (k + 0.5) * lsb, (k + 0.25) * lsb, (k - 0.75) * lsb,
                            rng.normal(0, 2.0 ** (s.integer + 1), 3000),
                            [0.0, -0.0, 5e-324, -5e-324, 1e-310, -1e-310, 1e300, -1e300, 2.0 ** 70, -(2.0 ** 70),
                             2.0 ** (61 - s.frac), -(2.0 ** (61 - s.frac)), 2.0 ** (62 - s.frac)]])
        got = l1emu.quantize(X, spec)
        want = np.array([_exact_code(float(x), s) for x in X], dtype=np.int64)
        assert int(np.sum(got != want)) == 0, (spec, X[got != want][:5], got[got != want][:5], want[got != want][:5])


def test_float32_inputs_are_exact():
    """float32 arrays go to the input cast as they are (mac::from_floats, no float64 copy): on every LSB, ties,
    rails and beyond, float32 subnormals, signed zeros, 1e38 and non-finite values, for every mode, the codes equal
    ap_fixed's on the exact values, and each model's outputs equal those of the array's float64 copy (a NaN named
    at the same event)."""
    rng = np.random.default_rng(4)
    for spec in ("fixed<16,6>", "fixed<16,6,RND,SAT>", "ufixed<8,3,RND_CONV,SAT>", "fixed<10,4,RND_ZERO,SAT_SYM>",
                 "fixed<12,2,RND_INF,SAT_ZERO>", "fixed<9,-2,RND_MIN_INF,WRAP>", "fixed<20,24,TRN_ZERO,SAT>",
                 "fixed<40,10,RND_CONV,WRAP>", "fixed<64,20,RND>"):
        s = l1emu.Spec(spec)
        lsb = 2.0 ** -s.frac
        k = rng.integers(-2 ** min(s.width + 1, 22), 2 ** min(s.width + 1, 22), 3000).astype(np.float64)
        X = np.concatenate([k * lsb, (k + 0.5) * lsb, (k + 0.25) * lsb, (k - 0.75) * lsb,
                            rng.normal(0, 2.0 ** (s.integer + 1), 3000),
                            [0.0, -0.0, 1e-45, -1e-45, 1e-40, 1e38, -1e38, 2.0 ** 70, 2.0 ** (61 - s.frac)]])
        X32 = X.astype(np.float32)
        got = l1emu.quantize(X32, spec)
        want = np.array([_exact_code(float(x), s) for x in X32], dtype=np.int64)
        assert int(np.sum(got != want)) == 0, (spec, X32[got != want][:5], got[got != want][:5], want[got != want][:5])
        special = np.array([np.nan, np.inf, -np.inf], dtype=np.float32)
        np.testing.assert_array_equal(l1emu.quantize(special, spec, check_finite=False),
                                      l1emu.quantize(special.astype(np.float64), spec, check_finite=False))
    models = os.path.join(os.path.dirname(__file__), "..", "models")
    for name in ("jet_tagger", "ad_vae_kl", "deepsets", "cicada", "jet_bdt"):
        emu = l1emu.load(os.path.join(models, f"{name}.l1emu"))
        X32 = rng.normal(0, 3, (3000, *emu.input_shape)).astype(np.float32)
        X32.reshape(len(X32), -1)[::7, 0] = np.float32(2.0 ** -140)  # a float32 subnormal
        for got, want in zip(np.atleast_1d(emu.predict_raw(X32)), np.atleast_1d(emu.predict_raw(X32.astype(np.float64)))):
            np.testing.assert_array_equal(got, want, err_msg=name)
        X32.reshape(len(X32), -1)[1234, 3] = np.nan
        with pytest.raises(l1emu.L1emuError, match=r"first at event 1234, input 3"):
            emu.predict(X32)


def test_code_values_are_exact():
    """The vectorized code -> float64 conversion (mac::to_doubles: l1emu.to_double and every predict) equals the
    value of each code rounded once to float64 (exact below 2^53), on rails, zero, +-1 LSB and random codes of
    narrow, 53-bit, wide and unsigned 64-bit types, fractional widths from -900 to 960 bits. predict gives the
    same values as its codes."""
    rng = np.random.default_rng(5)
    for spec in ("fixed<16,6>", "ufixed<8,2>", "fixed<1,1>", "fixed<53,20>", "ufixed<53,53>", "fixed<54,10>",
                 "fixed<64,32>", "ufixed<64,0>", "fixed<20,920>", "fixed<24,-876>", "fixed<24,-900>", "fixed<40,-920>"):
        s = l1emu.Spec(spec)
        lo, hi = (-(2 ** (s.width - 1)), 2 ** (s.width - 1) - 1) if s.is_signed else (0, 2 ** s.width - 1)
        values = [lo, lo + 1, -1, 0, 1, hi - 1, hi] + [int(v) for v in rng.integers(lo, hi, 2000, endpoint=True,
                                                                                    dtype=np.uint64 if not s.is_signed else np.int64)]
        values = [v for v in values if lo <= v <= hi]
        codes = np.array([v - 2 ** 64 if v >= 2 ** 63 else v for v in values], dtype=np.int64)
        want = np.array([math.ldexp(float(v), -s.frac) for v in values])
        got = l1emu.to_double(codes, spec)
        assert int(np.sum(got != want)) == 0, (spec, codes[got != want][:5], got[got != want][:5])
    emu = l1emu.load(os.path.join(os.path.dirname(__file__), "..", "models", "jet_tagger.l1emu"))
    X = rng.normal(0, 2, (3000, 16))
    np.testing.assert_array_equal(emu.predict(X), l1emu.to_double(emu.predict_raw(X), str(emu.output_precisions()[0])))


def test_block_buffers_keep_every_output():
    """run() hands a tensor's block buffer to a later layer once no layer reads it (graph/model.cpp plan_slots) and
    lets identity layers share their input's: outputs that are intermediate tensors (an identity layer's, one a
    later layer reads, the input) still come out exactly as trace computes them, for 1 and 2 threads."""
    import copy

    base = l1emu.load(os.path.join(os.path.dirname(__file__), "..", "models", "jet_tagger.l1emu"))
    names = [layer["name"] for layer in base.graph["layers"]]
    picked = ["fc1_linear", "relu2", "fc3", "softmax"]
    graph = copy.deepcopy(base.graph)
    graph["outputs"] = [0] + [names.index(name) + 1 for name in picked]
    X = np.random.default_rng(6).normal(0, 2, (5000, 16))
    traced = base.trace(X, raw=True)
    for threads in (1, 2):
        outs = l1emu.Emulator(graph, threads=threads).predict_raw(X)
        assert len(outs) == len(picked) + 1
        for out, name in zip(outs, [base.graph["input"]["name"]] + picked):
            np.testing.assert_array_equal(out.reshape(len(X), -1), np.asarray(traced[name]).reshape(len(X), -1),
                                          err_msg=f"{name}, {threads} threads")
