"""Bit-exactness of conifer BDTs against conifer's cpp backend (model.compile(); model.decision_function):
every raw output code of every event, for scikit-learn ensembles of several kinds, depths, tree counts,
precisions and both splitting conventions, on random inputs and on inputs exactly on, and one LSB either
side of, every threshold."""

import numpy as np
import pytest

import conifer
from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor,
                              RandomForestClassifier)

import l1emu  # noqa: E402
from l1emu.reference import bdt as ref  # noqa: E402

N_RANDOM = 100_000
N_FEATURES = 6

P18 = {"precision": "ap_fixed<18,8>"}
P_RND_SAT = {"precision": "ap_fixed<12,4,AP_RND,AP_SAT>"}
P_WRAP = {"precision": "ap_fixed<10,2>"}  # narrow, wrapping: inputs, thresholds and sums wrap
# score_t cannot hold 1.0: norm saturates to 1 - 2^-9, so y *= norm rounds; inputs saturate symmetrically
P_MIXED = {"precision": "ap_fixed<14,5,AP_RND_CONV,AP_SAT_SYM>", "ScorePrecision": "ap_fixed<10,1,AP_RND,AP_SAT>"}
# weight_t wraps 1.0 to -1.0: every split compares threshold_t(-x); score_t wraps norm to -1.0 too
P_NEG_WEIGHT = {"precision": "ap_fixed<12,4>", "WeightPrecision": "ap_fixed<8,1>", "ScorePrecision": "ap_fixed<10,1>"}
P_UNSIGNED = {"precision": "ap_ufixed<10,4>", "ScorePrecision": "ap_fixed<16,6,AP_RND,AP_SAT>"}

# name: (estimator, n_trees, max_depth, precisions, splitting convention)
CASES = {
    "gbc2_t10_d3_18.8_le": ("gbc2", 10, 3, P18, "<="),
    "gbc2_t100_d3_rnd_sat_lt": ("gbc2", 100, 3, P_RND_SAT, "<"),
    "gbc3_t10_d3_wrap_le": ("gbc3", 10, 3, P_WRAP, "<="),
    "gbc3_t10_d3_mixed_lt": ("gbc3", 10, 3, P_MIXED, "<"),
    "gbr_t1_d6_18.8_lt": ("gbr", 1, 6, P18, "<"),
    "gbr_t100_d3_wrap_lt": ("gbr", 100, 3, P_WRAP, "<"),
    "gbr_t10_d6_neg_weight_le": ("gbr", 10, 6, P_NEG_WEIGHT, "<="),
    "rfc2_t10_d6_rnd_sat_le": ("rfc2", 10, 6, P_RND_SAT, "<="),
    "rfc2_t1_d20_18.8_lt": ("rfc2", 1, 20, P18, "<"),  # deeper than the perfect-tree layout takes
    "gbc2_t100_d1_unsigned_le": ("gbc2", 100, 1, P_UNSIGNED, "<="),
}


def _data(n, rng):
    X = rng.normal(0, 1.5, (n, N_FEATURES))
    score = np.sin(X[:, 0]) * 2 + X[:, 1] * X[:, 2] - 0.5 * X[:, 3] + rng.normal(0, 0.3, n)
    return X, score


def _estimator(kind, n_trees, depth, rng):
    X, score = _data(2000, rng)
    if kind == "gbr":
        reg = GradientBoostingRegressor(n_estimators=n_trees, max_depth=depth, random_state=0).fit(X, score)
        # conifer 1.11's sklearn converter reads n_classes_, which scikit-learn removed from regressors in
        # 1.1 (it was 1 there); without it conifer cannot convert a regressor at all.
        reg.n_classes_ = 1
        return reg
    if kind == "gbc2":
        return GradientBoostingClassifier(n_estimators=n_trees, max_depth=depth, random_state=0).fit(X, score > 0)
    if kind == "gbc3":
        y = np.digitize(score, np.quantile(score, [1 / 3, 2 / 3]))
        return GradientBoostingClassifier(n_estimators=n_trees, max_depth=depth, random_state=0).fit(X, y)
    if kind == "rfc2":
        return RandomForestClassifier(n_estimators=n_trees, max_depth=depth, random_state=0).fit(X, score > 0)
    raise ValueError(kind)


_MODELS = {}


def _model(name, project="test_bdt"):
    """The conifer model of CASES[name], built in the conifer project f"{project}-{name}"."""
    if (project, name) not in _MODELS:
        kind, n_trees, depth, precisions, split = CASES[name]
        clf = _estimator(kind, n_trees, depth, np.random.default_rng(1))
        _MODELS[project, name] = ref.convert_sklearn(clf, f"{project}-{name}", split=split, **precisions)
    return _MODELS[project, name]


def _adversarial(model, emu, rng):
    """Inputs on every threshold (as threshold_t holds it, and its negation) and one LSB either side, alone on a random event
    and all features at once; rails, zeros and out-of-range values."""
    spec = emu.input_precision
    lsb = 2.0 ** -spec.frac
    hi = (2 ** (spec.width - (1 if spec.is_signed else 0)) - 1) * lsb
    lo = -(2 ** (spec.width - 1)) * lsb if spec.is_signed else 0.0
    thresholds = [set() for _ in range(N_FEATURES)]
    for per_class in model.trees:
        for tree in per_class:
            for f, t in zip(tree.feature, tree.threshold):
                if f != -2:
                    thresholds[f].update((t, -t))  # -t: splits whose weight_t turns 1 into -1 compare -x
    on = [l1emu.to_double(l1emu.quantize(sorted(t), spec), spec) if t else np.zeros(1) for t in thresholds]
    rows = []
    for f in range(N_FEATURES):
        for t in on[f]:
            for delta in (-lsb, 0.0, lsb):
                row = _data(1, rng)[0][0]
                row[f] = t + delta
                rows.append(row)
    for _ in range(20_000):
        rows.append(np.array([rng.choice(on[f]) + rng.choice([-lsb, 0.0, lsb]) for f in range(N_FEATURES)]))
    specials = np.array([0.0, lsb, -lsb, lsb / 2, hi, lo, hi + lsb, lo - lsb, 4 * hi, 4 * lo - 1, 1e30, -1e30])
    rows += [np.full(N_FEATURES, s) for s in specials]
    rows += [rng.choice(specials, N_FEATURES) for _ in range(2000)]
    return np.array(rows)


def _inputs(model, emu, seed):
    rng = np.random.default_rng(seed)
    spec = emu.input_precision
    span = 2.0 ** (spec.integer - (1 if spec.is_signed else 0))
    X = np.concatenate([_data(N_RANDOM // 2, rng)[0],  # where the thresholds are
                        rng.uniform(-1.2 * span, 1.2 * span, (N_RANDOM - N_RANDOM // 2, N_FEATURES))])
    return X, _adversarial(model, emu, rng)


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
    model = _model(name)
    emu = l1emu.from_conifer(model)
    if CASES[name][2] == 20:  # covers the node-by-node traversal
        assert model.trees[0][0].max_depth() > 12
    X, adv = _inputs(model, emu, seed=len(name))
    assert compare(model, emu, X, f"{name} random") == 0
    assert compare(model, emu, adv, f"{name} adversarial") == 0


def test_splitting_convention_is_exercised():
    """The on-threshold inputs do reach the comparison: flipping '<' and '<=' in the emulated graph changes
    outputs (so the zero mismatches above rest on the convention, not on luck)."""
    model = _model("gbc2_t10_d3_18.8_le")
    emu = l1emu.from_conifer(model)
    adv = _adversarial(model, emu, np.random.default_rng(5))
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
    model = _model("gbc3_t10_d3_wrap_le")
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
    clf = _estimator("gbc2", 3, 2, np.random.default_rng(0))
    cfg = conifer.backends.xilinxhls.auto_config()
    cfg.update(OutputDir=str(tmp_path / "hls"), Precision="ap_fixed<18,8>")
    hls = conifer.converters.convert_from_sklearn(clf, cfg)
    with pytest.raises(l1emu.UnsupportedLayerError, match="backend 'xilinxhls'"):
        l1emu.from_conifer(hls)
    floats = conifer.converters.convert_from_sklearn(
        clf, {"Backend": "cpp", "ProjectName": "float", "OutputDir": str(tmp_path / "float"), "Precision": "float"})
    with pytest.raises(l1emu.UnsupportedLayerError, match="not an ap_fixed"):
        l1emu.from_conifer(floats)
