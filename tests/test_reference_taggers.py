"""Bit-exactness of the reference jet taggers against hls4ml's C simulation: the classic 16->64->32->32->5
softmax MLP and the Deep Sets constituent tagger, every raw output code of >= 1e5 events plus adversarial
ones. The Deep Sets model needs the pointwise Conv1D and global pooling kernels of the conv family."""

import numpy as np
import pytest

import hls4ml

import l1emu  # noqa: E402
from l1emu import reference as ref  # noqa: E402

from .cases import adversarial_inputs  # noqa: E402

N_RANDOM = 100_000


def _configure(model, config):
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    kwargs = {}
    sm = cfg["LayerName"]["softmax"]
    if config == "stable":  # hls4ml's default implementation and types
        pass
    elif config == "latency_tables":
        sm["Implementation"] = "latency"
        sm["table_size"] = 2048
        sm["Precision"].update(exp_table="ufixed<18,6,RND,SAT>", inv_table="ufixed<18,4,RND,SAT>",
                               accum="ufixed<20,8,RND,SAT>", inv_inp="ufixed<16,8,RND,SAT>",
                               result="ufixed<16,0,RND,SAT>")
    elif config == "io_stream":
        kwargs["io_type"] = "io_stream"
        sm["Precision"].update(result="ufixed<12,0,RND,SAT>")
    else:
        raise ValueError(config)
    return cfg, kwargs


def _check(hls_model, emu, X, label):
    want = l1emu.quantize(np.asarray(hls_model.predict(X), dtype=np.float64).reshape(len(X), -1),
                          emu.output_precisions()[0])
    got = emu.predict_raw(X).reshape(len(X), -1)
    bad = int(np.sum(got != want))
    print(f"{label}: {len(X)} events x {got.shape[1]}, result {emu.output_precisions()[0]}, "
          f"{bad} mismatching raw codes")
    assert bad == 0
    assert len(np.unique(want)) > 20


@pytest.mark.parametrize("config", ["stable", "latency_tables", "io_stream"])
def test_jet_tagger_softmax(config):
    model = ref.jet_tagger_softmax()
    cfg, kwargs = _configure(model, config)
    hls_model = ref.convert(model, f"jet_tagger_softmax-{config}", cfg, **kwargs)
    emu = l1emu.from_hls4ml(hls_model)
    rng = np.random.default_rng(17)
    X = np.concatenate([rng.normal(0, 1, (N_RANDOM // 2, 16)), rng.normal(0, 4, (N_RANDOM // 2, 16)),
                        adversarial_inputs(emu, rng, model.get_layer("fc1").get_weights()[0])])
    _check(hls_model, emu, X, f"jet_tagger_softmax/{config}")


def _constituents(rng, n):
    """Jets of 1..16 constituents (pt, eta_rel, phi_rel, particle id), zero-padded, pt-ordered."""
    n_const = rng.integers(1, 17, n)
    pt = rng.exponential(8.0, (n, 16))
    pt = -np.sort(-pt, axis=1)
    X = np.stack([pt, rng.normal(0, 0.2, (n, 16)), rng.normal(0, 0.2, (n, 16)),
                  rng.integers(0, 8, (n, 16)).astype(np.float64)], axis=-1)
    X[np.arange(16)[None, :] >= n_const[:, None]] = 0.0
    return X


@pytest.mark.parametrize("pooling", ["mean", "max"])
def test_deepsets_tagger(pooling):
    model = ref.deepsets_tagger(pooling=pooling)
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = ref.convert(model, f"deepsets_tagger-{pooling}", cfg)
    emu = l1emu.from_hls4ml(hls_model)
    rng = np.random.default_rng(23)
    adv = adversarial_inputs(emu, rng)
    X = np.concatenate([_constituents(rng, N_RANDOM), rng.normal(0, 3, (20_000, 16, 4)), adv])
    _check(hls_model, emu, X, f"deepsets_tagger/{pooling}")
    # Permutation invariance of the firmware itself (mean pooling sums in a fixed order; max is exact).
    if pooling == "max":
        perm = rng.permutation(16)
        np.testing.assert_array_equal(emu.predict_raw(X[:5000, perm]), emu.predict_raw(X[:5000]))
