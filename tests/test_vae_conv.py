"""Issue 3 (b): the thesis's convolutional VAE encoder (40x40x1 -> 11 QConv2D 3x3 same, each but the last
followed by instance norm + quantized_relu(16, 6) -> Flatten(50) -> QDense [mu, logvar] -> KL score), results
fixed<16,6>, against hls4ml's C simulation (Vitis) in io_parallel and io_stream: every raw code of the KL score
on random and adversarial images, and every raw code of every traced intermediate layer on a subset.

C simulation of this network runs at ~6-8 images/s (io_parallel compiles in ~7 min, io_stream in ~35 s; both
are cached), so the event counts are a few thousand, not 1e5; the csim outputs are cached by
(library, inputs) too, so reruns take seconds."""

import os

import numpy as np
import pytest

import l1emu
from l1emu import reference as ref

from .cases.vae_conv import build, images
IO_TYPES = ["io_stream", "io_parallel"]
N_TRACE = 256
# L1EMU_VALIDATION_SCALE=k compares k independent draws of every image group (k = 10: ~2e4 images), for a
# longer validation run than CI's.
SCALE = int(os.environ.get("L1EMU_VALIDATION_SCALE", "1"))


@pytest.mark.parametrize("io_type", IO_TYPES)
def test_bit_exact(io_type, report):
    """One test per io type, so that one worker builds the library (io_parallel: ~7 min) and runs both checks."""
    _, hls_model, emu = build(io_type)
    check_kl_score(hls_model, emu, io_type, report)
    check_trace_every_layer(hls_model, emu, io_type, report)


def check_kl_score(hls_model, emu, io_type, report):
    draws = [images(emu, np.random.default_rng(11 + 1000 * k)) for k in range(SCALE)]
    groups = {name: np.concatenate([d[name] for d in draws]) for name in draws[0]}
    X = np.concatenate(list(groups.values()))
    assert len(X) >= 2000
    expected = np.asarray(ref.csim_predict(hls_model, X)).reshape(len(X), -1)
    spec = emu.output_precisions()[0]
    want = l1emu.quantize(expected, spec)
    assert np.array_equal(l1emu.to_double(want, spec), expected), "csim output is not a value of the output type"
    got = emu.predict_raw(X).reshape(len(X), -1)
    start = 0
    for name, group in groups.items():  # per group, so a failure names the kind of image
        sl = slice(start, start + len(group))
        start += len(group)
        assert np.array_equal(got[sl], want[sl]), f"{name}: {int(np.sum(got[sl] != want[sl]))} mismatching raw codes"
    mismatches = int(np.sum(got != want))
    report(f"vae_encoder_conv/{io_type}: {len(X)} images ({', '.join(f'{k} {len(v)}' for k, v in groups.items())})"
           f" x {got.shape[1]} output, "
           f"output {spec}, {mismatches} mismatching raw codes")
    assert mismatches == 0
    assert len(np.unique(got)) > 200  # the score varies: the comparison is not between constants


def check_trace_every_layer(hls_model, emu, io_type, report):
    groups = images(emu, np.random.default_rng(12))
    rng = np.random.default_rng(13)
    X = np.concatenate([v[rng.choice(len(v), min(len(v), 40), replace=False)] for v in groups.values()])[:N_TRACE]
    _, hls_trace = ref.csim_predict(hls_model, X, trace=True)
    trace = emu.trace(X, raw=True)
    specs = dict(zip(emu._names, emu._specs))
    compared, values = [], 0
    for name, layer_values in hls_trace.items():
        if name not in trace:
            continue
        want = l1emu.quantize(np.asarray(layer_values).reshape(len(X), -1), specs[name])
        got = trace[name].reshape(len(X), -1)
        assert got.shape == want.shape, name
        assert np.array_equal(got, want), f"layer {name}: {int(np.sum(got != want))} mismatching raw codes"
        compared.append(name)
        values += got.size
    kinds = {layer["kind"] for layer in emu.graph["layers"] if layer["name"] in compared}
    report(f"vae_encoder_conv/{io_type} trace: {len(X)} images, {len(compared)} layers ({', '.join(sorted(kinds))}), "
           f"{values} values, 0 mismatching raw codes")
    assert {"Conv", "InstanceNorm", "Activation", "Dense", "KLScore"} <= kinds
    assert len(compared) >= 30
