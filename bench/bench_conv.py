"""Convolutional encoder on 40x40 images (the shape of the VAE conv encoder): l1emu vs hls4ml C simulation
(io_stream, Vitis), same run. Conv2D(8,3,same)-ReLU-MaxPool2-Conv2D(16,3,same)-ReLU-MaxPool2-Flatten-Dense(16)."""

import numpy as np
import pytest

pytest.importorskip("hls4ml")

import l1emu  # noqa: E402
from l1emu import reference  # noqa: E402

N_EVENTS = 5_000
SUITE = "conv_encoder_40x40 5e3"


@pytest.fixture(scope="module")
def setup():
    model = reference.conv_encoder_narrow()
    hls_model = reference.convert(model, "bench-conv_encoder", reference.conv_encoder_narrow_config(model),
                                  io_type="io_stream")
    X = np.random.default_rng(0).normal(0, 1, (N_EVENTS, 40, 40, 1))
    return hls_model, l1emu.from_hls4ml(hls_model), X


def test_l1emu(benchmark, setup, record_rate):
    _, emu, X = setup
    benchmark.pedantic(emu.predict, args=(X,), rounds=3, iterations=1)
    record_rate(SUITE, "l1emu", N_EVENTS, benchmark)


def test_hls4ml_csim(benchmark, setup, record_rate):
    hls_model, emu, X = setup
    out = benchmark.pedantic(hls_model.predict, args=(X,), rounds=1, iterations=1)
    record_rate(SUITE, "hls4ml csim", N_EVENTS, benchmark)
    assert np.array_equal(np.asarray(out).reshape(N_EVENTS, -1), emu.predict(X))  # timed = emulated
