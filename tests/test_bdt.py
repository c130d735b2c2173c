"""Bit-exactness of conifer BDTs against conifer's cpp backend (model.compile(); model.decision_function):
every raw output code of every event, for scikit-learn ensembles of several kinds, depths, tree counts,
precisions and both splitting conventions, on random inputs and on inputs exactly on, and one LSB either
side of, every threshold."""

import numpy as np
import pytest

import conifer

import l1emu
from l1emu.reference import bdt as ref

from .cases.bdt import CASES, N_FEATURES, N_RANDOM, bdt_model, estimator, inputs, threshold_inputs


def compare(model, emu, X, label):
    """Raw codes of conifer's decision_function vs the emulator; returns the number of mismatching codes."""
    out_spec = emu.output_precisions()[0]
    expected = np.asarray(model.decision_function(X))
    codes = l1emu.quantize(expected, out_spec)
    assert np.array_equal(l1emu.to_double(codes, out_spec), expected), "conifer output not representable in score_t"
    raw = emu.predict_raw(X)
    assert raw.shape == expected.shape
    bad = int((raw != codes).sum())
    print(f"{label}: {len(X)} events x {expected.shape[1]} outputs, {bad} mismatching raw codes")
    if bad == 0:
        assert np.array_equal(emu.predict(X), expected)
    return bad


@pytest.mark.parametrize("name", list(CASES))
def test_bit_exact(name):
    model = bdt_model(name)
    emu = l1emu.from_conifer(model)
    if CASES[name][2] == 20:  # covers the node-by-node traversal
        assert model.trees[0][0].max_depth() > 12
    X, adv = inputs(model, emu, seed=len(name))
    assert compare(model, emu, X, f"{name} random") == 0
    assert compare(model, emu, adv, f"{name} adversarial") == 0


def test_splitting_convention_is_exercised():
    """The on-threshold inputs do reach the comparison: flipping '<' and '<=' in the emulated graph changes
    outputs (so the zero mismatches above rest on the convention, not on luck)."""
    model = bdt_model("gbc2_t10_d3_18.8_le")
    emu = l1emu.from_conifer(model)
    adv = threshold_inputs(model, emu, np.random.default_rng(5))
    graph = l1emu.from_conifer(model).graph
    graph["layers"][0]["attrs"]["split"] = "<"
    flipped = l1emu.Emulator(graph)
    assert compare(model, emu, adv, "'<=' model") == 0
    assert compare(model, flipped, adv, "same model emulated with '<'") > 0


def test_jet_bdt():
    """The reference jet BDT (16 features, 5 classes) through conifer."""
    from l1emu.events.jets import synthetic_jets

    model = ref.jet_bdt()
    emu = l1emu.from_conifer(model)
    rng = np.random.default_rng(11)
    X, y = synthetic_jets(N_RANDOM, rng)
    assert compare(model, emu, X, "jet_bdt synthetic jets") == 0
    # a working tagger on simulated g/q/W/Z/t jets (chance is 0.2; the MLP tagger reaches ~0.74)
    assert (emu.predict(X).argmax(axis=1) == y).mean() > 0.6
    thresholds = np.array(sorted({t for trees in model.trees for tree in trees
                                  for f, t in zip(tree.feature, tree.threshold) if f != -2}))
    spec = emu.input_precision
    on = l1emu.to_double(l1emu.quantize(thresholds, spec), spec)
    lsb = 2.0 ** -spec.frac
    adv = rng.choice(np.concatenate([on - lsb, on, on + lsb]), (10_000, 16))
    assert compare(model, emu, adv, "jet_bdt on thresholds") == 0


def test_save_load_summary(tmp_path):
    model = bdt_model("gbc3_t10_d3_wrap_le")
    emu = l1emu.from_conifer(model)
    path = tmp_path / "bdt.l1emu"
    emu.save(path)
    loaded = l1emu.load(path)
    X = np.random.default_rng(3).normal(0, 2, (5000, N_FEATURES))
    assert np.array_equal(loaded.predict_raw(X), emu.predict_raw(X))
    assert np.array_equal(loaded.predict(X), model.decision_function(X))
    text = loaded.summary(print_fn=None)
    assert "BDT" in text and "fixed<10,2>" in text


def test_unsupported_models(tmp_path):
    clf = estimator("gbc2", 3, 2, np.random.default_rng(0))
    cfg = conifer.backends.xilinxhls.auto_config()
    cfg.update(OutputDir=str(tmp_path / "hls"), Precision="ap_fixed<18,8>")
    hls = conifer.converters.convert_from_sklearn(clf, cfg)
    with pytest.raises(l1emu.UnsupportedLayerError, match="backend 'xilinxhls'"):
        l1emu.from_conifer(hls)
    floats = conifer.converters.convert_from_sklearn(
        clf, {"Backend": "cpp", "ProjectName": "float", "OutputDir": str(tmp_path / "float"), "Precision": "float"})
    with pytest.raises(l1emu.UnsupportedLayerError, match="not an ap_fixed"):
        l1emu.from_conifer(floats)


@pytest.mark.parametrize("name", list(CASES))
def test_blocked_walk_equals_the_one_event_walk(name, monkeypatch):
    """The 64-event blocked traversal (calls of >= 16 events) against the one-event walk (L1EMU_ENGINE=reference)
    and conifer, across block edges and thread counts: whole calls and pool ranges straddle both paths."""
    model = bdt_model(name)
    X, adv = inputs(model, emu := l1emu.from_conifer(model), seed=len(name))
    X = np.concatenate([adv, X])[:1000]
    monkeypatch.setenv("L1EMU_ENGINE", "reference")
    want = l1emu.from_conifer(model).predict_raw(X)
    monkeypatch.delenv("L1EMU_ENGINE")
    assert compare(model, emu, X, f"{name} blocked") == 0
    for threads in (1, 2, 3):
        emu.threads = threads
        for batch in (1, 7, 15, 16, 63, 64, 65, 1000):
            got = np.concatenate([emu.predict_raw(X[i:i + batch]) for i in range(0, len(X), batch)])
            assert np.array_equal(got, want), (threads, batch)
