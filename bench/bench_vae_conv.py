"""Issue 3 (b), the thesis's convolutional VAE encoder + KL score (40x40x1 images, 11 QConv2D + instance norm,
fixed<16,6>): l1emu vs hls4ml C simulation (io_stream, Vitis) vs the QKeras model in TF, one run, per image.
C simulation runs at a few images/s, so it sees fewer images; the rates are per image, so they compare."""

import numpy as np
import pytest

pytest.importorskip("hls4ml")

import l1emu  # noqa: E402
import l1emu.firmware as fw  # noqa: E402
from l1emu import reference  # noqa: E402

N_EVENTS = 5_000
N_CSIM = 500
SUITE = "vae_encoder_conv 40x40"


@pytest.fixture(scope="module")
def setup():
    fw.register()
    model = reference.vae_encoder_conv()
    cfg = reference.vae_encoder_conv_config(model)
    hls_model = reference.convert(model, "bench-vae_encoder_conv", cfg, io_type="io_stream")
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 4, (N_EVENTS, 40, 40, 1)) * (rng.random((N_EVENTS, 40, 40, 1)) < 0.5)
    return model, hls_model, l1emu.from_hls4ml(hls_model), X


def test_l1emu(benchmark, setup, record_rate):
    _, _, emu, X = setup
    benchmark.pedantic(emu.predict, args=(X,), rounds=3, iterations=1)
    record_rate(SUITE, "l1emu", N_EVENTS, benchmark)


def test_hls4ml_csim(benchmark, setup, record_rate):
    _, hls_model, emu, X = setup
    out = benchmark.pedantic(hls_model.predict, args=(X[:N_CSIM],), rounds=1, iterations=1)
    record_rate(SUITE, "hls4ml csim", N_CSIM, benchmark)
    assert np.array_equal(np.asarray(out).reshape(N_CSIM, -1), emu.predict(X[:N_CSIM]))  # timed = emulated


def test_qkeras_tf(benchmark, setup, record_rate):
    model, _, _, X = setup
    model.predict(X[:512], batch_size=256, verbose=0)  # trace the graph outside the timing
    benchmark.pedantic(model.predict, args=(X,), kwargs={"batch_size": 256, "verbose": 0}, rounds=3, iterations=1)
    record_rate(SUITE, "QKeras/TF", N_EVENTS, benchmark)
