"""Bit-exactness of the convolution family against hls4ml's C simulation (Vitis backend): Conv1D/Conv2D
(kernels 1, 3, 5; strides 1, 2; same/valid), BatchNormalization after conv (fused and standalone), ReLU,
max/average pooling 1D/2D, global pooling, ZeroPadding, Flatten, Reshape, Add/Subtract/Multiply/
Average/Maximum/Minimum and Concatenate, in io_parallel and io_stream, latency and resource strategies.
Each model has several outputs so that every layer kind reaches an output through few exact layers;
every raw code of every output of every event is compared, for every evaluation path (the fastest one chosen at
load: im2col + int16 GEMM on VNNI or the ordered across-events lanes kernel; the forced lanes kernel; the non-VNNI
GEMM loop; the scalar reference paths, L1EMU_ENGINE) across thread counts and call sizes."""

import zlib

import numpy as np
import pytest

import hls4ml

import l1emu
from l1emu import reference as ref

from .cases import codes_of
from .cases.conv import MODELS, configure, conv2d_model, inputs


ENGINES = ("auto", "lanes", "gemm_generic")  # plus "reference", checked in one call
THREADS = (1, 2, 3)
BATCHES = (1, 7, 64, 1000)
N_ENGINE = 3000  # events of the engine sweep (every group of inputs: a strided subsample)
N_BATCH_ONE = 150  # events replayed one call each


def _emulator(hls_model, engine, monkeypatch):
    if engine == "auto":
        monkeypatch.delenv("L1EMU_ENGINE", raising=False)
    else:
        monkeypatch.setenv("L1EMU_ENGINE", engine)
    emu = l1emu.from_hls4ml(hls_model)
    monkeypatch.delenv("L1EMU_ENGINE", raising=False)
    return emu


def _flat(outputs, n):
    """predict_raw's output(s) -> one [n x total] array."""
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return np.concatenate([np.asarray(o).reshape(n, -1) for o in outputs], axis=1)


def _batched(emu, X, batch, threads):
    emu.threads = threads
    if batch == 1:
        X = X[:N_BATCH_ONE]
    return np.concatenate([_flat(emu.predict_raw(X[i:i + batch]), len(X[i:i + batch])) for i in range(0, len(X), batch)])


CONFIGS = ["default", "narrow_wrap", "wide_wrap", "rnd_sat", "resource", "stream", "stream_rnd_sat", "stream_resource"]


@pytest.mark.parametrize("config", CONFIGS)
@pytest.mark.parametrize("model_name", list(MODELS))
def test_bit_exact(model_name, config, monkeypatch, report):
    cfg_stream = config.startswith("stream")
    keras_model = MODELS[model_name](cfg_stream)
    cfg, io_type = configure(keras_model, config)
    hls_model = ref.convert(keras_model, f"{model_name}-{config}", cfg, io_type=io_type)
    emu = l1emu.from_hls4ml(hls_model)
    X = inputs(emu, keras_model, seed=zlib.crc32(f"{model_name}/{config}".encode()))  # stable across processes
    expected = hls_model.predict(np.ascontiguousarray(X))
    got = emu.predict_raw(X)
    if not isinstance(expected, list):
        expected, got = [expected], [got]
    total = 0
    for k, (exp, g, spec) in enumerate(zip(expected, got, emu.output_precisions())):
        want = codes_of(np.asarray(exp).reshape(len(X), -1), spec)
        g = g.reshape(len(X), -1)
        mismatches = int(np.sum(g != want))
        total += mismatches
        print(f"{model_name}/{config} output {k}: {len(X)} events x {g.shape[1]} values, {spec}, "
              f"{mismatches} mismatching raw codes, {len(np.unique(g))} distinct codes")
        assert len(np.unique(g)) > 5  # not a constant output
    assert total == 0

    # every evaluation path, thread count and call size gives the same codes
    want = np.concatenate([codes_of(np.asarray(e).reshape(len(X), -1), spec)
                           for e, spec in zip(expected, emu.output_precisions())], axis=1)
    reference_emu = _emulator(hls_model, "reference", monkeypatch)
    assert int(np.sum(_flat(reference_emu.predict_raw(X), len(X)) != want)) == 0, "reference path differs from csim"
    paths = {"reference": sorted({p for p in reference_emu._core.layer_paths() if p})}
    sub = slice(None, None, max(1, len(X) // N_ENGINE))
    Xs, want_s = X[sub], want[sub]
    checked = 0
    for engine in ENGINES:
        engine_emu = emu if engine == "auto" else _emulator(hls_model, engine, monkeypatch)
        paths[engine] = sorted({p for p in engine_emu._core.layer_paths() if p})
        if engine != "auto" and paths[engine] == paths["auto"]:
            continue  # the same kernels
        for threads in THREADS:
            for batch in BATCHES:
                got = _batched(engine_emu, Xs, batch, threads)
                bad = int(np.sum(got != want_s[:len(got)]))
                assert bad == 0, (engine, threads, batch, bad)
                checked += got.size
    report(f"conv engines {model_name}/{config}: paths {paths}; threads {THREADS} x batches {BATCHES}: "
           f"{checked} codes, 0 mismatches vs csim")
    assert paths["reference"] == ["reference"]
    fast = {p for p in paths["auto"] if p not in ("reference", "f64", "wrap_i64", "gemm_i64")}
    assert fast, paths  # a vectorized kernel evaluates some convolution or dense layer


def _convert_only(model, tmp_path, backend="Vitis", io_type="io_parallel", **cfg_update):
    """hls4ml ModelGraph without compiling (the importer reads only the graph)."""
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    for name, layer_cfg in cfg_update.items():
        cfg["LayerName"][name].update(layer_cfg)
    if any("ReuseFactor" in c for c in cfg_update.values()):
        cfg["Model"]["Strategy"] = "Resource"
    return hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend=backend, io_type=io_type,
                                                      output_dir=str(tmp_path / "prj"))


def test_unsupported_configurations_raise(tmp_path):
    import tensorflow as tf
    from tensorflow.keras import layers as L

    # io_parallel resource convolution with reuse factor > n_in: conv_*_resource_cl asserts / reads past its buffer
    inp = L.Input((6, 6, 1))
    model = tf.keras.Model(inp, L.Conv2D(4, 1, name="pw")(inp))
    hls_model = _convert_only(model, tmp_path / "a", pw={"ReuseFactor": 4})
    with pytest.raises(l1emu.UnsupportedLayerError, match="'pw'.*reuse factor 4 > n_in = 1"):
        l1emu.from_hls4ml(hls_model)

    # streamed 2D pooling with padding: hls4ml's pooling2d_cl on streams asserts it has none
    inp = L.Input((6, 6, 2))
    model = tf.keras.Model(inp, L.MaxPooling2D(3, strides=2, padding="same", name="mp")(inp))
    hls_model = _convert_only(model, tmp_path / "b", io_type="io_stream")
    with pytest.raises(l1emu.UnsupportedLayerError, match="'mp'.*padding"):
        l1emu.from_hls4ml(hls_model)

    # the Vivado backend's "encoded" streamed convolution
    inp = L.Input((6, 6, 2))
    model = tf.keras.Model(inp, L.Conv2D(2, 3, name="conv")(inp))
    hls_model = _convert_only(model, tmp_path / "c", backend="Vivado", io_type="io_stream",
                              conv={"ConvImplementation": "Encoded"})
    with pytest.raises(l1emu.UnsupportedLayerError, match="'conv'.*encoded"):
        l1emu.from_hls4ml(hls_model)


def test_save_load_round_trip(tmp_path):
    keras_model = conv2d_model(True)
    cfg, io_type = configure(keras_model, "stream_resource")
    hls_model = ref.convert(keras_model, "conv2d-stream_resource", cfg, io_type=io_type)
    emu = l1emu.from_hls4ml(hls_model)
    emu.save(tmp_path / "conv.l1emu")
    again = l1emu.load(tmp_path / "conv.l1emu")
    X = np.random.default_rng(8).normal(0, 3, (3000,) + emu.input_shape)
    for a, b in zip(again.predict_raw(X), emu.predict_raw(X)):
        np.testing.assert_array_equal(a, b)
    assert again.summary(print_fn=None) == emu.summary(print_fn=None)
