"""l1emu's custom anomaly layers (instance normalization, KL score): their HLS (l1emu/firmware) runs in
hls4ml's C simulation through the extension API; the emulator must reproduce it bit for bit, and the
firmware must agree with the Keras layers' float definition within a bound derived from its types."""

import os
import re
import zlib

import numpy as np
import pytest

import hls4ml
import tensorflow as tf

import l1emu
import l1emu.firmware as fw
from l1emu import reference as ref
from l1emu.keras_layers import InstanceNormalization, KLScore, custom_objects

from .cases import adversarial_inputs
from .cases.anomaly import INORM, KL, KL_PATHS, N_RANDOM, build, inorm_model, inputs, kl_model, set_precision


def _bit_exact(hls_model, emu, X, label):
    expected = np.asarray(hls_model.predict(X)).reshape(len(X), -1)
    spec = emu.output_precisions()[0]
    want = l1emu.quantize(expected, spec)
    assert np.array_equal(l1emu.to_double(want, spec), expected), "csim output is not a value of the output type"
    got = emu.predict_raw(X).reshape(len(X), -1)
    mismatches = int(np.sum(got != want))
    print(f"{label}: {len(X)} events x {got.shape[1]} outputs, output {spec}, {mismatches} mismatching raw codes")
    assert mismatches == 0
    assert len(np.unique(got)) > 20
    return got


@pytest.mark.parametrize("name", list(INORM))
def test_instance_norm_bit_exact(name):
    _, hls_model, emu = build(INORM, name)
    X = inputs(emu, np.random.default_rng(zlib.crc32(name.encode())), "inorm")
    assert len(X) >= N_RANDOM
    _bit_exact(hls_model, emu, X, f"InstanceNorm/{name}")


@pytest.mark.parametrize("name", list(KL))
def test_kl_score_bit_exact(name):
    _, hls_model, emu = build(KL, name)
    X = inputs(emu, np.random.default_rng(zlib.crc32(name.encode())), "kl")
    assert len(X) >= N_RANDOM
    _bit_exact(hls_model, emu, X, f"KLScore/{name}")


def _kl_rail_inputs(emu, rng):
    """Events of rail codes: every (mu, logvar) pair of {min, max, 0, +-1 LSB} for all latents at once (all
    mu at a rail: the largest accumulations, accum_t saturation/wrap), and per element random picks from the
    rails, table bin edges +-1 LSB and the table range's ends +-1 LSB (index rounding and both clamps)."""
    a = emu.graph["layers"][-1]["attrs"]
    L, size, r = int(a["n_latent"]), int(a["table_size"]), int(a["table_range_log2"])
    spec = emu.input_precision
    lsb = 2.0 ** -spec.frac
    hi = (2 ** (spec.width - (1 if spec.is_signed else 0)) - 1) * lsb
    lo = -(2 ** (spec.width - 1)) * lsb if spec.is_signed else 0.0
    rails = np.array([lo, hi, 0.0, lsb, -lsb, lo + lsb, hi - lsb])
    edges = -(2.0 ** r) + np.arange(size + 1) * 2.0 ** (r + 1) / size
    picks = np.concatenate([rails, edges, edges + lsb, edges - lsb])
    rows = [np.concatenate([np.full(L, m), np.full(L, v)]) for m in rails for v in rails]
    rows += list(rng.choice(picks, (4000, 2 * L)))
    big = np.concatenate([rng.choice([lo, hi], (1000, L)), rng.choice(picks, (1000, L))], axis=1)
    return np.clip(np.concatenate([np.array(rows), big]), lo, hi)  # the picks outside the type: its rails


@pytest.mark.parametrize("name", list(KL))
def test_kl_score_fast_path_equals_reference(name, monkeypatch):
    """KLScore's lanes_i64 path (events on int64 lanes, chosen at load when the types' bounds allow) against
    the scalar i128 path (L1EMU_ENGINE=reference) and csim on random, adversarial and rail inputs, whole and
    in batches that leave partial blocks of 64 events, on 1 and 2 threads; the configurations outside the
    lane bounds must take the scalar path."""
    _, hls_model, emu = build(KL, name)
    monkeypatch.setenv("L1EMU_ENGINE", "reference")
    emu_ref = l1emu.Emulator(emu.graph)
    monkeypatch.delenv("L1EMU_ENGINE")
    assert emu._core.layer_paths()[-1] == KL_PATHS[name]
    assert emu_ref._core.layer_paths()[-1] == "reference"
    rng = np.random.default_rng(zlib.crc32(name.encode()) + 2)
    X = np.concatenate([inputs(emu, rng, "kl").reshape(-1, emu.input_shape[0]), _kl_rail_inputs(emu, rng)])
    want = emu_ref.predict_raw(X).reshape(len(X), -1)
    _bit_exact(hls_model, emu_ref, X, f"KLScore/{name} reference path vs csim")
    checked = 0
    for threads in (1, 2):
        emu.threads = threads
        for batch in (len(X), 65, 63, 7, 1):
            part = X[: 3000] if batch == 1 else X
            got = np.concatenate([emu.predict_raw(part[i:i + batch]).reshape(-1, 1) for i in range(0, len(part), batch)])
            assert np.array_equal(got, want[: len(part)]), (threads, batch, int(np.sum(got != want[: len(part)])))
            checked += got.size
    acc = emu.audit(X).site("kl", "accum")
    if name not in ("full_default", "full_wide_reference"):  # types where the sum can leave accum_t
        assert acc.overflows > 0, "the inputs never saturate or wrap accum_t"
    print(f"KLScore/{name}: path {KL_PATHS[name]}, {checked} codes equal to the reference path, accum_t "
          f"saturated {acc.saturated} wrapped {acc.wrapped} of {acc.casts} casts")


@pytest.mark.parametrize("table,name", [(INORM, "hwc_derived_types"), (INORM, "hwc_wrap_stream"),
                                        (KL, "full_narrow_stream"), (KL, "mu2_wrap")])
def test_vivado_backend_bit_exact(table, name):
    """The firmware layers are registered for the Vivado backend too: same codes as its C simulation."""
    _, hls_model, emu = build(table, name, backend="Vivado")
    kind = "inorm" if table is INORM else "kl"
    X = inputs(emu, np.random.default_rng(zlib.crc32(name.encode()) + 1), kind)
    _bit_exact(hls_model, emu, X, f"{kind}/{name}/Vivado")


@pytest.mark.parametrize("backend,io_type", [("Vitis", "io_parallel"), ("Vitis", "io_stream"),
                                             ("Vivado", "io_parallel")])
@pytest.mark.parametrize("mode", ["full", "mu2"])
def test_vae_encoder_dense_bit_exact(mode, backend, io_type):
    model = ref.vae_encoder_dense(mode=mode)
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    set_precision(cfg, "l1_objects", result="fixed<14,6,RND,SAT>")
    for d in ("fc1", "fc2", "mu_logvar"):
        set_precision(cfg, d, accum="fixed<20,8,RND,SAT>", result="fixed<14,6,RND,SAT>")
    set_precision(cfg, "kl_score", result="fixed<20,12,RND,SAT>")
    suffix = "" if backend == "Vitis" else f"-{backend}"
    hls_model = ref.convert(model, f"vae_encoder_dense-{mode}-{io_type}{suffix}", cfg, backend=backend, io_type=io_type)
    emu = l1emu.from_hls4ml(hls_model)
    rng = np.random.default_rng(17)
    X = np.concatenate([rng.normal(0, 4, (N_RANDOM, 57)), np.abs(rng.normal(0, 20, (N_RANDOM // 4, 57))),
                        adversarial_inputs(emu, rng, model.get_layer("fc1").get_weights()[0])])
    _bit_exact(hls_model, emu, X, f"vae_encoder_dense/{mode}/{backend}/{io_type}")


# -- agreement with the float definition (the Keras layers) ---------------------------------------------------
def _lsb(spec):
    return 2.0 ** -spec.frac


def _quantized_inputs(emu, X):
    return l1emu.to_double(l1emu.quantize(X.reshape(len(X), -1), emu.input_precision), emu.input_precision)


def test_instance_norm_matches_float_definition():
    """|firmware - keras| <= bound, per output, the bound propagated from the types (full LSBs, whatever the
    rounding mode) through mean, variance, the 1/sqrt table (bin half-width + table LSB) and the output cast:
      e_mean = |sum| |inv_n - 1/S| + S q_acc / S + q_mean ;  e_d = e_mean + q_acc
      e_var  = 2 max|d| e_d + e_d^2 + q_acc (sq adds) + sq |inv_n - 1/S| + q_var
      e_r    = f(v - D) - f(v + D) + q_table,  D = bin/2 + e_var, f(v) = 1/sqrt(v + eps)
      e_y    = |gamma| (|d| e_r + e_d r + e_d e_r) + q_out  (+ float32 evaluation slack of Keras)
    Valid while nothing saturates and var stays inside the table: the test checks both."""
    model, hls_model, emu = build(INORM, "hwc_derived_types")
    layer = emu.graph["layers"][-1]
    a = layer["attrs"]
    specs = {k: l1emu.parse_precision(a[k]) for k in ("accum_t", "mean_t", "var_t", "table_t")}
    q_out = _lsb(emu.output_precisions()[0])
    rng = np.random.default_rng(123)
    n = N_RANDOM
    X = rng.normal(rng.normal(0, 0.5, (n, 1, 1, 1)), 10 ** rng.uniform(-1.3, 0.3, (n, 1, 1, 1)), (n, 4, 4, 3))
    xq = _quantized_inputs(emu, X).reshape(n, 4, 4, 3)
    y_fw = emu.predict(X)
    _bit_exact(hls_model, emu, X, "InstanceNorm/hwc_derived_types float-check inputs")
    y_k = model.predict(xq, verbose=0, batch_size=4096).astype(np.float64)

    S, eps = 16, model.get_layer("inorm").epsilon
    gamma, _ = (w.astype(np.float64) for w in model.get_layer("inorm").get_weights())
    inv_err = abs(a["inv_n_code"] * 2.0 ** -a["inv_n_frac"] - 1 / S)
    x = xq.reshape(n, S, 3)
    m = x.mean(axis=1, keepdims=True)
    d = x - m
    v = (d ** 2).mean(axis=1, keepdims=True)
    qa, qm, qv, qt = (_lsb(specs[k]) for k in ("accum_t", "mean_t", "var_t", "table_t"))
    e_m = np.abs(x.sum(axis=1, keepdims=True)) * inv_err + qa + qm
    e_d = e_m + qa
    e_v = 2 * np.abs(d).max(axis=1, keepdims=True) * e_d + e_d ** 2 + qa + (d ** 2).sum(1, keepdims=True) * inv_err + qv
    vmax = 2.0 ** a["table_range_log2"]
    D = vmax / a["table_size"] / 2 + e_v

    def f(t):
        return 1 / np.sqrt(np.maximum(t, 0) + eps)

    r = f(v)
    e_r = f(v - D) - f(v + D) + qt
    bound = np.abs(gamma) * (np.abs(d) * e_r + e_d * r + e_d * e_r) + q_out
    bound = bound + 1e-5 * (1 + np.abs(y_k.reshape(n, S, 3)))  # Keras evaluates in float32
    err = np.abs(y_fw.reshape(n, S, 3) - y_k.reshape(n, S, 3))
    in_range = ((v + e_v) < vmax).all(axis=(1, 2)) & (np.abs(y_k.reshape(n, -1)) < 2 ** 5 - 1).all(axis=1)
    assert in_range.mean() > 0.95
    err, bound = err[in_range], bound[in_range]
    print(f"InstanceNorm float check: {in_range.sum()} events, max |err| {err.max():.4g}, median bound "
          f"{np.median(bound):.4g}, worst err/bound {np.max(err / bound):.3f}")
    assert np.all(err <= bound)
    assert np.median(bound) < 0.05  # the bound is tight enough to catch a wrong formula


@pytest.mark.parametrize("name", ["full_default", "full_narrow_stream", "mu2_stream"])
def test_kl_score_matches_float_definition(name):
    """|firmware - keras| <= 0.5 sum_i (|exp(c_i) - exp(lv_i)| + q_table) + L q_acc + q_out for the full KL
    (table entry c_i within half a bin of lv_i: |exp(c) - exp(lv)| <= exp(lv) (e^(bin/2) - 1)), and
    L q_acc + q_out for mu^2; inputs inside the table range and scores inside the output range."""
    model, hls_model, emu = build(KL, name)
    a = emu.graph["layers"][-1]["attrs"]
    L, full = int(a["n_latent"]), a["mode"] == "full"
    spec_in = emu.input_precision
    rng = np.random.default_rng(7)
    n = N_RANDOM
    r = float(a["table_range_log2"])
    lim = min(2.0 ** (spec_in.integer - 1), 2.0 ** r)
    X = np.concatenate([rng.normal(0, lim / 3, (n, L)), rng.uniform(-lim, lim, (n, L))], axis=1)
    X = np.clip(X, -lim, lim - 2 * _lsb(spec_in))
    if full:  # keep exp(logvar) inside the table type (a saturated table entry is outside any LSB bound)
        t = l1emu.parse_precision(a["table_t"])
        lv_hi = np.log(2.0 ** (t.integer - (1 if t.is_signed else 0)) - _lsb(t)) - 2.0 ** (r + 1) / int(a["table_size"])
        X[:, L:] = np.minimum(X[:, L:], lv_hi)
    _bit_exact(hls_model, emu, X, f"KLScore/{name} float-check inputs")
    xq = _quantized_inputs(emu, X)
    y_k = model.predict(xq, verbose=0, batch_size=4096).astype(np.float64).ravel()
    y_fw = emu.predict(X).ravel()
    q_acc, q_out = _lsb(l1emu.parse_precision(a["accum_t"])), _lsb(emu.output_precisions()[0])
    if full:
        lv = xq[:, L:]
        half_bin = 2.0 ** (r + 1) / int(a["table_size"]) / 2
        q_t = _lsb(l1emu.parse_precision(a["table_t"]))
        bound = 0.5 * (np.sum(np.exp(lv) * np.expm1(half_bin) + q_t, axis=1) + L * q_acc) + q_out
    else:
        bound = np.full(n, L * q_acc + q_out)
    bound = bound + 1e-5 * (1 + np.abs(y_k))  # Keras evaluates in float32
    out = emu.output_precisions()[0]
    in_range = np.abs(y_k) < 2.0 ** (out.integer - (1 if out.is_signed else 0)) - 1
    assert in_range.sum() >= N_RANDOM // 2
    err = np.abs(y_fw - y_k)[in_range]
    bound = bound[in_range]
    print(f"KLScore/{name} float check: {in_range.sum()} events, max |err| {err.max():.4g}, median bound "
          f"{np.median(bound):.4g}, worst err/bound {np.max(err / bound):.3f}")
    assert np.all(err <= bound)


# -- static and API checks -------------------------------------------------------------------------------------
def test_hls_has_no_floating_point():
    """The HLS of the custom layers and the generated configs of these layers: no float/double anywhere
    (tables are weight arrays computed at conversion time; constants are built from bits)."""
    pattern = re.compile(r"\b(float|double|half|sqrt|exp|log|pow)\s*[(<]|\b(float|double)\b")
    for path in fw.header_paths():
        text = re.sub(r"//[^\n]*|/\*.*?\*/", "", open(path).read(), flags=re.S)  # code, not comments
        assert not pattern.search(text), f"{os.path.basename(path)} uses floating point"
    for table, name in ((INORM, "lc_narrow_sat"), (KL, "full_default")):
        _, hls_model, _ = build(table, name)
        params = open(os.path.join(hls_model.config.get_output_dir(), "firmware", "parameters.h")).read()
        block = params[params.index("struct config"):]
        assert not re.search(r"\b(float|double)\b", block)


def test_tables_are_exact_in_the_written_firmware():
    """The table the firmware loads equals the Python-computed table codes (no text round-trip loss)."""
    _, hls_model, emu = build(KL, "full_default")
    layer = hls_model.graph["kl"]
    a = emu.graph["layers"][-1]["attrs"]
    prec = layer.get_weights("table").type.precision
    expect = fw.quantized_table(np.exp(fw.table_centres(int(a["table_size"]), int(a["table_range_log2"]), True)), prec)
    spec = l1emu.parse_precision(a["table_t"])
    np.testing.assert_array_equal(l1emu.to_double(np.asarray(emu.graph["layers"][-1]["arrays"]["table"]), spec), expect)


def test_keras_layers_save_load(tmp_path):
    model = inorm_model((4, 3))
    path = str(tmp_path / "m.h5")
    model.save(path)
    again = tf.keras.models.load_model(path, custom_objects=custom_objects())
    X = np.random.default_rng(0).normal(0, 1, (10, 4, 3))
    np.testing.assert_array_equal(again.predict(X, verbose=0), model.predict(X, verbose=0))
    k = kl_model(4, "mu2")
    k.save(str(tmp_path / "k.h5"))
    k2 = tf.keras.models.load_model(str(tmp_path / "k.h5"), custom_objects=custom_objects())
    assert k2.get_layer("kl").mode == "mu2"


def test_bad_configurations_are_refused():
    with pytest.raises(ValueError, match="mode"):
        KLScore(mode="kl")
    with pytest.raises(ValueError, match="epsilon"):
        InstanceNormalization(epsilon=0)
    emu_graph = build(KL, "mu2_wrap")[2].graph
    bad = {**emu_graph, "layers": [{**emu_graph["layers"][0], "attrs": {**emu_graph["layers"][0]["attrs"],
                                                                         "mode": "kl"}}]}
    with pytest.raises(l1emu.L1emuError, match="mode"):
        l1emu.Emulator(bad)
