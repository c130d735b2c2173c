"""The kernels under AddressSanitizer + UndefinedBehaviorSanitizer reproduce the references' raw codes: every
layer family and every evaluation path (dense, convolution through im2col + the int16 GEMM, the across-events
lanes kernel over windows, its double-precision, wrapping and ordered MACs, vectorized max pooling, the
vectorized input cast, lookup-table activations and softmax, instance norm, KL score, the conv VAE encoder,
the menu's uGT hardware codes and compiled cut programs,
conifer BDTs), replayed on a subsample of each family test's events by the CTest test sanitized_kernels
(tests/cpp), in a Python that imports the sanitized build of the core."""

import zlib

import numpy as np

import l1emu
from l1emu import reference as ref

from . import cmake_tests
from .cases import activations as act
from .cases import anomaly, bdt, conv, dense, ugt
from .cases import vae_conv as vae

N_EVENTS = 2000  # per case: every adversarial group keeps some events


def _subsample(X):
    return np.ascontiguousarray(X[:: max(1, len(X) // N_EVENTS)])


def _codes(outputs, emu, n):
    """csim/conifer outputs -> [n x total outputs] raw codes of the emulator's output types."""
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return np.concatenate([l1emu.quantize(np.asarray(o, dtype=np.float64).reshape(n, -1), spec)
                           for o, spec in zip(outputs, emu.output_precisions())], axis=1)


def _dense(model_name, config):
    keras_model = {"jet_tagger": ref.jet_tagger, "autoencoder": ref.autoencoder}[model_name]()
    cfg, kwargs = dense.configure(keras_model, config)
    hls_model = ref.convert(keras_model, f"{model_name}-{config}", cfg, **kwargs)
    emu = l1emu.from_hls4ml(hls_model)
    X = _subsample(dense.inputs(emu, keras_model, seed=7))
    return emu, X, _codes(hls_model.predict(X), emu, len(X))


def _conv(model_name, config):
    keras_model = conv.MODELS[model_name](config.startswith("stream"))
    cfg, io_type = conv.configure(keras_model, config)
    hls_model = ref.convert(keras_model, f"{model_name}-{config}", cfg, io_type=io_type)
    emu = l1emu.from_hls4ml(hls_model)
    X = _subsample(conv.inputs(emu, keras_model, seed=7))
    return emu, X, _codes(hls_model.predict(X), emu, len(X))


def _activations(config):
    hls_model, emu = act.build_activations(config)
    X = _subsample(act.inputs(emu, [act.ACT_CONFIGS[config][1] or 1024], seed=7, n_features=act.N_FEATURES))
    return emu, X, _codes(hls_model.predict(X), emu, len(X))


def _softmax(config):
    model = act.softmax_model(act.SOFTMAX_CONFIGS[config][0], act.SOFTMAX_IMPLS)
    hls_model = ref.convert(model, f"softmax-{config}", act.softmax_config(model, act.SOFTMAX_IMPLS, config))
    emu = l1emu.from_hls4ml(hls_model)
    X = _subsample(act.inputs(emu, [act.SOFTMAX_CONFIGS[config][2] or 1024, 256], seed=7,
                               n_features=act.SOFTMAX_CONFIGS[config][0]))
    return emu, X, _codes(hls_model.predict(X), emu, len(X))


def _anomaly(table, name, kind):
    _, hls_model, emu = anomaly.build(table, name)
    X = _subsample(anomaly.inputs(emu, np.random.default_rng(zlib.crc32(name.encode())), kind))
    return emu, X, _codes(hls_model.predict(X), emu, len(X))


def _vae_conv():
    _, hls_model, emu = vae.build("io_stream")
    groups = vae.images(emu, np.random.default_rng(5))
    X = np.concatenate([g[:4] for g in groups.values()])  # csim runs a few images/s
    return emu, X, _codes(ref.csim_predict(hls_model, X), emu, len(X))


def _bdt(name):
    model = bdt.bdt_model(name, project="sanitized-bdt")  # a project of its own: no sharing across workers
    emu = l1emu.from_conifer(model)
    X, adv = bdt.inputs(model, emu, seed=7)
    X = np.concatenate([_subsample(X), _subsample(adv)])
    return emu, X, _codes(model.decision_function(X), emu, len(X))


def _dense_engine():
    keras_model, hls_model = dense.jet_tagger_rnd_sat_accum()
    emu = l1emu.from_hls4ml(hls_model)
    X = _subsample(dense.inputs(emu, keras_model, seed=7, n_random=20_000, shuffle=True))
    return emu, X, _codes(hls_model.predict(X), emu, len(X))


CASES = {
    # the batched dense engine: int16 GEMM (VNNI) + vectorized BatchNorm/ReLU casts, lanes_i32, lanes_i64
    "dense/jet_tagger-default": lambda: _dense("jet_tagger", "default"),
    "dense/autoencoder-default": lambda: _dense("autoencoder", "default"),
    "dense/jet_tagger8-accum24_12_rnd_sat": _dense_engine,
    "dense/jet_tagger-rnd_sat": lambda: _dense("jet_tagger", "rnd_sat"),
    "dense/jet_tagger-narrow_wrap": lambda: _dense("jet_tagger", "narrow_wrap"),
    "dense/autoencoder-resource_rf4": lambda: _dense("autoencoder", "resource_rf4"),
    "dense/autoencoder-exotic_modes": lambda: _dense("autoencoder", "exotic_modes"),
    "dense/jet_tagger-io_stream": lambda: _dense("jet_tagger", "io_stream"),
    # conv: auto = im2col + int16 GEMM or lanes over windows; forced lanes; reference = the scalar MACs
    "conv/conv2d-default": lambda: _conv("conv2d", "default"),            # GEMM; max pooling with padding
    "conv/conv2d-stream": lambda: _conv("conv2d", "stream"),              # GEMM; streamed max pooling
    "conv/conv1d-wide_wrap": lambda: _conv("conv1d", "wide_wrap"),        # double-precision / int64 wrapping MAC
    "conv/conv1d-narrow_wrap": lambda: _conv("conv1d", "narrow_wrap"),    # truncated products: lanes_i32
    "conv/conv2d-stream_rnd_sat": lambda: _conv("conv2d", "stream_rnd_sat"),  # ordered, saturating: lanes
    "activations/t4096_rnd_sat": lambda: _activations("t4096_rnd_sat"),
    "activations/t2048_index_overflow": lambda: _activations("t2048_index_overflow"),
    "softmax/t256_rnd_sat": lambda: _softmax("t256_rnd_sat"),
    "inorm/hwc_derived_types": lambda: _anomaly(anomaly.INORM, "hwc_derived_types", "inorm"),
    "inorm/lc_narrow_stream": lambda: _anomaly(anomaly.INORM, "lc_narrow_stream", "inorm"),
    "kl/full_default": lambda: _anomaly(anomaly.KL, "full_default", "kl"),
    "kl/mu2_wrap": lambda: _anomaly(anomaly.KL, "mu2_wrap", "kl"),
    # KL lanes_i64 with wrapping accum_t and both index clamps; a configuration on the scalar i128 path
    "kl/full_wrap_clamp": lambda: _anomaly(anomaly.KL, "full_wrap_clamp", "kl"),
    "kl/full_wide_reference": lambda: _anomaly(anomaly.KL, "full_wide_reference", "kl"),
    "vae_encoder_conv/io_stream": _vae_conv,
    "bdt/gbc3_t10_d3_mixed_lt": lambda: _bdt("gbc3_t10_d3_mixed_lt"),
    "bdt/rfc2_t1_d20_18.8_lt": lambda: _bdt("rfc2_t1_d20_18.8_lt"),
    "bdt/gbr_t10_d6_neg_weight_le": lambda: _bdt("gbr_t10_d6_neg_weight_le"),  # the blocked level-by-level walk
    "bdt/gbc3_t20_d5_wide_sat_sym_lt": lambda: _bdt("gbc3_t20_d5_wide_sat_sym_lt"),  # exit leaves on int64 lanes
}


def _menu_kernels(tmp_path):
    """The menu's uGT hardware codes (adversarial values, the numpy definition as reference) and compiled cut
    programs (random expressions, their per-event Python meaning as reference)."""
    from l1emu.events import record

    from .test_events import _adversarial, _numpy_digitize, _numpy_phi
    from .test_menu_expr import gen_bool, make_chunk

    rng = np.random.default_rng(8)
    hw = {}
    for name in ("jet", "egamma", "muon", "met"):
        units = record.HARDWARE_UNITS[name]
        n = 3000
        cols = [_adversarial(units[v], n, rng, np.float32)[:n] for v in ("pt",) + (() if name == "met" else ("eta",))]
        phi = _adversarial(units["phi"], n, rng, np.float32)
        cols.append(phi[np.abs(np.rint(phi.astype(np.float64) / units["phi"].lsb)) < 2.0**31][:n])
        m = min(len(c) for c in cols)
        values = np.stack([c[:m] for c in cols], -1)
        values = values if name == "met" else values[: m // 5 * 5].reshape(-1, 5, 3)
        pt = _numpy_digitize(values[..., 0], units["pt"])
        want = [pt] + ([] if name == "met" else [_numpy_digitize(values[..., 1], units["eta"])])
        want = np.stack(want + [_numpy_phi(values[..., -1], units["phi"])], -1) * (pt > 0)[..., None]
        hw[name], hw[name + ".want"] = values, want
    np.savez(tmp_path / "hardware_codes.npz", **hw)
    chunk, seeds = make_chunk(200, seed=12)
    seeds = {k: seeds[k] for k in ("a", "b")}
    events = [{k: v[i] for k, v in chunk.items()} for i in range(200)]
    texts, wants = [], []
    for _ in range(60):
        text, f = gen_bool(rng, 4, None)
        texts.append(text)
        wants.append([bool(f(ev, {k: bool(v[i]) for k, v in seeds.items()}, None)) for i, ev in enumerate(events)])
    np.savez(tmp_path / "cuts.npz", texts=np.array(texts), want=np.array(wants), **chunk,
             **{"seed." + k: v for k, v in seeds.items()})


def test_kernels_under_sanitizers(tmp_path, report):
    prefixes = []
    for name, make in CASES.items():
        emu, X, want = make()
        prefix = str(tmp_path / name.replace("/", "--"))
        emu.save(prefix + ".l1emu")
        np.save(prefix + ".x.npy", X)
        np.save(prefix + ".want.npy", want)
        prefixes.append(prefix)
    x, offsets, shifts = ugt.case()  # the menu's uGT input scaling kernel, checked as the firmware casts it
    np.savez(tmp_path / "ugt_scaling.npz", x=x, offsets=offsets, shifts=shifts,
             want=ugt.reference(x, offsets, shifts, 14, 6))
    _menu_kernels(tmp_path)
    cmake_tests.build("sanitized_package")  # the ASan + UBSan _core beside a copy of the package
    status, output, log = cmake_tests.ctest("sanitized_kernels", env={"L1EMU_SANITIZED_CASES": str(tmp_path)},
                                            timeout=900)
    lines = [line for line in output.splitlines() if line.endswith(" mismatches")]
    for line in lines:
        report("asan+ubsan " + line.split("/")[-1].replace("--", "/"))
    assert status == 0, log[-3000:]
    assert "Sanitizer" not in output and "runtime error" not in output
    assert len(lines) == len(CASES) + 3 and all(line.endswith(" 0 mismatches") for line in lines), log[-3000:]
