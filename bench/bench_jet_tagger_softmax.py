"""Softmax jet tagger MLP 16->64->32->32->5 (classes g, q, W, Z, t) on 2e5 events: l1emu vs hls4ml C
simulation, one run each; the ratio is printed in the terminal summary."""

import numpy as np
import pytest

pytest.importorskip("hls4ml")

import l1emu  # noqa: E402
from l1emu import reference  # noqa: E402

N_EVENTS = 200_000
SUITE = "jet_tagger_softmax 2e5"


@pytest.fixture(scope="module")
def setup():
    model = reference.jet_tagger_softmax()
    hls_model = reference.convert(model, "bench-jet_tagger_softmax")
    X = np.random.default_rng(0).normal(0, 2, (N_EVENTS, 16))
    return hls_model, l1emu.from_hls4ml(hls_model), X


def test_l1emu(benchmark, setup, record_rate):
    _, emu, X = setup
    benchmark.pedantic(emu.predict, args=(X,), rounds=3, iterations=1)
    record_rate(SUITE, "l1emu", N_EVENTS, benchmark)


def test_hls4ml_csim(benchmark, setup, record_rate):
    hls_model, emu, X = setup
    out = benchmark.pedantic(hls_model.predict, args=(X,), rounds=1, iterations=1)
    record_rate(SUITE, "hls4ml csim", N_EVENTS, benchmark)
    assert np.array_equal(np.asarray(out), emu.predict(X))  # what was timed is what is emulated
