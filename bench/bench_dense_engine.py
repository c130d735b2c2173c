"""The batched dense engine on the jet tagger MLP 16->64->32->32->5, side by side in one run with the scalar
reference paths it replaced (L1EMU_ENGINE=reference), QKeras/TF predict and TF XLA-jit float inference:
  * plain: the reference tagger (hls4ml's default types; exact int16 GEMM on VNNI);
  * rnd_sat_accum: weights fixed<8,1>, accum fixed<24,12,RND,SAT> (each product rounded to accum_t before
    the sum, so order matters: the across-events lanes kernel), results fixed<16,6,RND,SAT>.
Ratios are printed by bench/conftest.py as l1emu / anchor."""

import os

import numpy as np
import pytest

hls4ml = pytest.importorskip("hls4ml")

import l1emu  # noqa: E402
from l1emu import reference  # noqa: E402

N_EVENTS = 1_000_000
N_OLD = {"plain": 200_000, "rnd_sat_accum": 50_000}  # the scalar paths are slow: fewer events, same rate metric
CHUNK = 65_536  # events per XLA call


def _convert(kind):
    if kind == "plain":
        model = reference.jet_tagger()
        return model, reference.convert(model, "bench-jet_tagger")
    model = reference.jet_tagger(bits=8)
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    for layer in model.layers:
        if type(layer).__name__ in ("Dense", "QDense"):
            prec = cfg["LayerName"].setdefault(layer.name, {}).setdefault("Precision", {})
            prec.update(accum="fixed<24,12,RND,SAT>", result="fixed<16,6,RND,SAT>")
    return model, reference.convert(model, "bench-jet_tagger8-accum24_12_rnd_sat", cfg)


@pytest.fixture(scope="module", params=["plain", "rnd_sat_accum"])
def setup(request):
    kind = request.param
    model, hls_model = _convert(kind)
    old = os.environ.get("L1EMU_ENGINE")
    os.environ["L1EMU_ENGINE"] = "reference"
    emu_old = l1emu.from_hls4ml(hls_model)
    os.environ.pop("L1EMU_ENGINE")
    if old is not None:
        os.environ["L1EMU_ENGINE"] = old
    emu = l1emu.from_hls4ml(hls_model)
    X = np.random.default_rng(0).normal(0, 2, (N_EVENTS, 16))
    # what is timed is bit-exact: new engine == reference path == csim on a slice
    n = 20_000
    want = emu_old.predict_raw(X[:n])
    assert np.array_equal(emu.predict_raw(X[:n]), want)
    assert np.array_equal(l1emu.quantize(np.asarray(hls_model.predict(X[:n]), dtype=np.float64),
                                         emu.output_precisions()[0]), want)
    return kind, model, emu, emu_old, X


def _suite(kind):
    return f"dense_engine jet {kind}"


def test_l1emu(benchmark, setup, record_rate):
    kind, _, emu, _, X = setup
    benchmark.extra_info["paths"] = [p for p in emu._core.layer_paths() if p]
    benchmark.pedantic(emu.predict_raw, args=(X,), rounds=5, iterations=1, warmup_rounds=1)
    record_rate(_suite(kind), "l1emu", len(X), benchmark)


def test_l1emu_batch_of_one(benchmark, setup, record_rate):
    kind, _, emu, _, X = setup
    rows = [X[i:i + 1] for i in range(2000)]

    def run():
        for r in rows:
            emu.predict_raw(r)

    benchmark.pedantic(run, rounds=3, iterations=1, warmup_rounds=1)
    record_rate(_suite(kind), "l1emu batch=1", len(rows), benchmark)


def test_l1emu_old_path(benchmark, setup, record_rate):
    kind, _, _, emu_old, X = setup
    Xo = X[:N_OLD[kind]]
    benchmark.pedantic(emu_old.predict_raw, args=(Xo,), rounds=2, iterations=1)
    record_rate(_suite(kind), "l1emu old path", len(Xo), benchmark)


def test_qkeras_tf(benchmark, setup, record_rate):
    kind, model, _, _, X = setup
    benchmark.pedantic(model.predict, args=(X,), kwargs={"batch_size": 4096, "verbose": 0}, rounds=2, iterations=1)
    record_rate(_suite(kind), "QKeras/TF", len(X), benchmark)


def test_tf_xla(benchmark, setup, record_rate):
    import tensorflow as tf

    kind, model, _, _, X = setup
    f = tf.function(lambda x: model(x, training=False), jit_compile=True)
    chunks = [tf.constant(X[i:i + CHUNK].astype(np.float32)) for i in range(0, len(X), CHUNK)]
    for c in {c.shape[0]: c for c in chunks}.values():
        f(c)  # compile each shape once, outside the timing

    def run():
        return [f(c).numpy() for c in chunks]

    benchmark.pedantic(run, rounds=5, iterations=1)
    record_rate(_suite(kind), "TF XLA-jit", len(X), benchmark)
