"""Bit-exactness of every activation against hls4ml's C simulation: raw output codes of lookup-table
activations (sigmoid, tanh, softplus, softsign, elu, selu), softmax (latency, stable, legacy, argmax),
parametrized and hard activations and the QKeras activation quantizers, across table sizes, table types,
input types (down to ones whose table index overflows int) and result types, io_parallel and io_stream.
Each configuration is one multi-output model Input -> [activations] (one compile); each gets >= 1e5 random
events plus adversarial ones: every table-index boundary and one LSB either side, rails, zeros, far out of
range values, ties."""

import numpy as np
import pytest

import hls4ml

import l1emu
from l1emu import reference as ref

from .cases.activations import (ACT_CONFIGS, N_FEATURES, SOFTMAX_CONFIGS, SOFTMAX_IMPLS, SOFTMAX_SCALAR,
                                build_activations, inputs, softmax_config, softmax_model)


def _compare(hls_model, emu, X, label):
    expected = hls_model.predict(X)
    got = emu.predict_raw(X)
    if not isinstance(expected, list):
        expected, got = [expected], [got]
    names = list(hls_model.outputs) if len(expected) > 1 else ["out"]
    total = 0
    for name, e, g, spec in zip(names, expected, got, emu.output_precisions()):
        e = np.asarray(e, dtype=np.float64).reshape(len(X), -1)
        want = l1emu.quantize(e, spec)
        assert np.array_equal(l1emu.to_double(want, spec), e), f"{label}/{name}: csim output not a value of {spec}"
        bad = int(np.sum(g.reshape(len(X), -1) != want))
        print(f"{label}/{name}: {len(X)} events x {want.shape[1]}, result {spec}, {bad} mismatching raw codes")
        if "argmax" in label + name:  # one-hot: every position must win somewhere
            assert len(np.unique(want)) == 2 and (want != 0).any(axis=0).all(), f"{label}/{name}: trivial output"
        else:
            assert len(np.unique(want)) > 2, f"{label}/{name}: trivial output"
        total += bad
    assert total == 0


# -- element-wise and lookup-table activations, io_parallel -----------------------------------------------

@pytest.mark.parametrize("config", list(ACT_CONFIGS))
def test_activations_bit_exact(config):
    hls_model, emu = build_activations(config)
    X = inputs(emu, [ACT_CONFIGS[config][1] or 1024], seed=sum(map(ord, config)), n_features=N_FEATURES)
    _compare(hls_model, emu, X, f"activations/{config}")


# -- softmax, io_parallel: all four implementations in one model per configuration -------------------------

@pytest.mark.parametrize("config", list(SOFTMAX_CONFIGS))
def test_softmax_bit_exact(config, monkeypatch):
    n = SOFTMAX_CONFIGS[config][0]
    model = softmax_model(n, SOFTMAX_IMPLS)
    hls_model = ref.convert(model, f"softmax-{config}", softmax_config(model, SOFTMAX_IMPLS, config))
    emu = l1emu.from_hls4ml(hls_model)
    X = inputs(emu, [SOFTMAX_CONFIGS[config][2] or 1024, 256], seed=sum(map(ord, config)), n_features=n)
    _compare(hls_model, emu, X, f"softmax/{config}")
    # latency/stable run on int64 lanes across events where the types allow: equal to the scalar path
    # (L1EMU_ENGINE=reference) for 1 and 2 threads and batches that end in partial lane blocks.
    lanes = "reference" if config in SOFTMAX_SCALAR else "lanes_i64"
    want_paths = [lanes if i in ("latency", "stable") else "reference" for i in SOFTMAX_IMPLS]
    assert emu._core.layer_paths()[-len(SOFTMAX_IMPLS):] == want_paths
    monkeypatch.setenv("L1EMU_ENGINE", "reference")
    emu_ref = l1emu.Emulator(emu.graph)
    monkeypatch.delenv("L1EMU_ENGINE")
    assert set(emu_ref._core.layer_paths()[-len(SOFTMAX_IMPLS):]) == {"reference"}
    want = emu_ref.predict_raw(X)
    for threads, batch in ((1, len(X)), (2, len(X)), (2, 1000), (1, 1)):
        emu.threads = threads
        rows = X[:20000] if batch == 1 else X
        got = [np.concatenate(parts) for parts in
               zip(*(emu.predict_raw(rows[i:i + batch]) for i in range(0, len(rows), batch)))]
        bad = sum(int(np.sum(g != w[:len(rows)])) for g, w in zip(got, want))
        print(f"softmax/{config}: lanes vs scalar path, {threads} threads, batches of {batch}: {bad} mismatches")
        assert bad == 0


# -- io_stream: softmax per implementation, and the activations whose stream kernels differ ---------------

@pytest.mark.parametrize("impl", SOFTMAX_IMPLS)
def test_softmax_io_stream(impl):
    config = "t256_rnd_sat" if impl != "legacy" else "default"
    n = SOFTMAX_CONFIGS[config][0]
    model = softmax_model(n, [impl])
    hls_model = ref.convert(model, f"softmax-stream-{impl}-{config}", softmax_config(model, [impl], config),
                            io_type="io_stream")
    emu = l1emu.from_hls4ml(hls_model)
    X = inputs(emu, [SOFTMAX_CONFIGS[config][2] or 1024], seed=len(impl), n_features=n)
    _compare(hls_model, emu, X, f"softmax-stream/{impl}")


@pytest.mark.parametrize("act", ["selu", "sigmoid", "elu"])
def test_lut_activation_io_stream(act):
    # selu's positive slope is cast to the input type in the stream kernel (ap_ufixed<16,1> in io_parallel).
    from tensorflow.keras.layers import Activation, Input
    from tensorflow.keras.models import Model

    x = Input((N_FEATURES,), name="x")
    model = Model(x, Activation(act, name=act)(x))
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    cfg["LayerName"]["x"]["Precision"] = {"result": "fixed<11,4,RND,SAT>"}
    cfg["LayerName"][act].update(table_size=512)
    cfg["LayerName"][act]["Precision"].update(table="fixed<14,3,RND,SAT>", result="fixed<13,5,RND,SAT>")
    hls_model = ref.convert(model, f"lut-stream-{act}", cfg, io_type="io_stream")
    emu = l1emu.from_hls4ml(hls_model)
    X = inputs(emu, [512], seed=len(act), n_features=N_FEATURES)
    _compare(hls_model, emu, X, f"lut-stream/{act}")


def test_unsupported_softmax_table_size_is_named():
    """A non-power-of-two softmax table makes the firmware read outside its table: refused by name."""
    model = softmax_model(4, ["latency"])
    cfg = softmax_config(model, ["latency"], "default")
    cfg["LayerName"]["sm_latency"]["table_size"] = 1000
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis")
    with pytest.raises(l1emu.L1emuError, match="sm_latency.*not a power of two"):
        l1emu.from_hls4ml(hls_model)
