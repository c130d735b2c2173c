"""Bit-exactness of dense networks against hls4ml's C simulation: every raw output code of every event,
for each reference model under each configuration."""

import zlib

import numpy as np
import pytest

import l1emu
from l1emu import reference as ref

from .cases import codes_of
from .cases.dense import CONFIGS, MODELS, configure, inputs


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("model_name", list(MODELS))
def test_bit_exact(model_name, config, report):
    keras_model = MODELS[model_name]()
    cfg, kwargs = configure(keras_model, config)
    hls_model = ref.convert(keras_model, f"{model_name}-{config}", cfg, **kwargs)
    emu = l1emu.from_hls4ml(hls_model)
    X = inputs(emu, keras_model, seed=zlib.crc32(f"{model_name}/{config}".encode()))  # stable across processes
    expected = np.asarray(hls_model.predict(X)).reshape(len(X), -1)
    got = emu.predict_raw(X).reshape(len(X), -1)
    spec = emu.output_precisions()[0]
    want = codes_of(expected, spec)
    mismatches = int(np.sum(got != want))
    report(f"dense {model_name}/{config}: {len(X)} events x {got.shape[1]} outputs, output {spec}, "
           f"{mismatches} mismatching raw codes")
    assert mismatches == 0
    # Non-trivial: the outputs are not constant.
    assert len(np.unique(got)) > 10


@pytest.mark.parametrize("config", ["default", "rnd_sat", "io_stream"])
def test_trace_matches_every_layer(config):
    keras_model = ref.jet_tagger()
    cfg, kwargs = configure(keras_model, config)
    for layer in cfg["LayerName"].values():
        layer["Trace"] = True
    hls_model = ref.convert(keras_model, f"jet_tagger-{config}-trace", cfg, **kwargs)
    emu = l1emu.from_hls4ml(hls_model)
    X = np.random.default_rng(5).normal(0, 2, (2000, 16))
    _, hls_trace = ref.csim_predict(hls_model, X, trace=True)
    trace = emu.trace(X)
    compared = 0
    for name, values in hls_trace.items():
        if name in trace:
            np.testing.assert_array_equal(trace[name].reshape(len(X), -1), np.asarray(values).reshape(len(X), -1),
                                          err_msg=f"layer {name}")
            compared += 1
    assert compared >= 7


def test_float32_inputs_quantize_like_the_float_bridge():
    keras_model = ref.jet_tagger()
    cfg, kwargs = configure(keras_model, "default")
    hls_model = ref.convert(keras_model, "jet_tagger-default", cfg, **kwargs)
    emu = l1emu.from_hls4ml(hls_model)
    X = np.random.default_rng(9).normal(0, 3, (20000, 16)).astype(np.float32)
    expected = np.asarray(hls_model.predict(X))
    assert expected.dtype == np.float32
    np.testing.assert_array_equal(emu.predict(X).astype(np.float32), expected)
    np.testing.assert_array_equal(emu.predict(X), emu.predict(X.astype(np.float64)))


def test_save_load_round_trip(tmp_path):
    keras_model = ref.autoencoder()
    cfg, kwargs = configure(keras_model, "rnd_sat")
    hls_model = ref.convert(keras_model, "autoencoder-rnd_sat", cfg, **kwargs)
    emu = l1emu.from_hls4ml(hls_model)
    path = tmp_path / "ae.l1emu"
    emu.save(path)
    again = l1emu.load(path)
    X = np.random.default_rng(3).normal(0, 4, (5000, 57))
    np.testing.assert_array_equal(again.predict_raw(X), emu.predict_raw(X))
    assert again.summary(print_fn=None) == emu.summary(print_fn=None)


@pytest.mark.parametrize("config", ["default", "resource_rf4", "io_stream"])
def test_vivado_backend(config, report):
    keras_model = ref.jet_tagger()
    cfg, kwargs = configure(keras_model, config, backend="Vivado")
    hls_model = ref.convert(keras_model, f"jet_tagger-vivado-{config}", cfg, backend="Vivado", **kwargs)
    emu = l1emu.from_hls4ml(hls_model)
    X = inputs(emu, keras_model, seed=11)
    want = codes_of(np.asarray(hls_model.predict(X)), emu.output_precisions()[0])
    mismatches = int(np.sum(emu.predict_raw(X) != want))
    report(f"dense jet_tagger/vivado-{config}: {len(X)} events, {mismatches} mismatching raw codes")
    assert mismatches == 0
