"""Jet tagger MLP 16->64->32->32->5 on 1e6 events: l1emu vs hls4ml C simulation vs QKeras (TF), one run."""

import numpy as np
import pytest

pytest.importorskip("hls4ml")

import l1emu  # noqa: E402
from l1emu import reference  # noqa: E402

N_EVENTS = 1_000_000
SUITE = "jet_tagger_mlp 1e6"


@pytest.fixture(scope="module")
def setup():
    model = reference.jet_tagger()
    hls_model = reference.convert(model, "bench-jet_tagger")
    X = np.random.default_rng(0).normal(0, 2, (N_EVENTS, 16))
    return model, hls_model, l1emu.from_hls4ml(hls_model), X


def test_l1emu(benchmark, setup, record_rate):
    _, _, emu, X = setup
    benchmark.pedantic(emu.predict, args=(X,), rounds=5, iterations=1)
    record_rate(SUITE, "l1emu", N_EVENTS, benchmark)


def test_hls4ml_csim(benchmark, setup, record_rate):
    _, hls_model, emu, X = setup
    out = benchmark.pedantic(hls_model.predict, args=(X,), rounds=1, iterations=1)
    record_rate(SUITE, "hls4ml csim", N_EVENTS, benchmark)
    assert np.array_equal(np.asarray(out), emu.predict(X))  # what was timed is what is emulated


def test_qkeras_tf(benchmark, setup, record_rate):
    model, _, _, X = setup
    benchmark.pedantic(model.predict, args=(X,), kwargs={"batch_size": 4096, "verbose": 0}, rounds=2, iterations=1)
    record_rate(SUITE, "QKeras/TF", N_EVENTS, benchmark)
