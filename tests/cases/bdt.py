"""conifer BDT cases: scikit-learn ensembles of several kinds, depths, tree counts, precisions and splitting
conventions, built with conifer's cpp backend, and inputs on, and one LSB either side of, every threshold."""

import numpy as np
from sklearn.ensemble import GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier

import l1emu
from l1emu.reference import bdt as ref

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
# threshold_t wider than int32 (the blocked traversal's int64 lanes); score_t SAT_SYM (each addition scalar)
P_WIDE_SAT_SYM = {"precision": "ap_fixed<40,12>", "ScorePrecision": "ap_fixed<14,3,AP_RND,AP_SAT_SYM>"}
P_U32 = {"precision": "ap_ufixed<32,8>"}  # 32 unsigned bits do not fit int32 lanes

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
    "gbc3_t20_d5_wide_sat_sym_lt": ("gbc3", 20, 5, P_WIDE_SAT_SYM, "<"),  # 32 leaves: every bit of the leaf set
    "gbc2_t30_d4_u32_le": ("gbc2", 30, 4, P_U32, "<="),
}


def data(n, rng):
    X = rng.normal(0, 1.5, (n, N_FEATURES))
    score = np.sin(X[:, 0]) * 2 + X[:, 1] * X[:, 2] - 0.5 * X[:, 3] + rng.normal(0, 0.3, n)
    return X, score


def estimator(kind, n_trees, depth, rng):
    X, score = data(2000, rng)
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


_BUILT = {}


def bdt_model(name, project="test_bdt"):
    """The conifer model of CASES[name], built in the conifer project f"{project}-{name}"."""
    if (project, name) not in _BUILT:
        kind, n_trees, depth, precisions, split = CASES[name]
        clf = estimator(kind, n_trees, depth, np.random.default_rng(1))
        _BUILT[project, name] = ref.convert_sklearn(clf, f"{project}-{name}", split=split, **precisions)
    return _BUILT[project, name]


def threshold_inputs(model, emu, rng):
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
                row = data(1, rng)[0][0]
                row[f] = t + delta
                rows.append(row)
    for _ in range(20_000):
        rows.append(np.array([rng.choice(on[f]) + rng.choice([-lsb, 0.0, lsb]) for f in range(N_FEATURES)]))
    specials = np.array([0.0, lsb, -lsb, lsb / 2, hi, lo, hi + lsb, lo - lsb, 4 * hi, 4 * lo - 1, 1e30, -1e30])
    rows += [np.full(N_FEATURES, s) for s in specials]
    rows += [rng.choice(specials, N_FEATURES) for _ in range(2000)]
    return np.array(rows)


def inputs(model, emu, seed):
    rng = np.random.default_rng(seed)
    spec = emu.input_precision
    span = 2.0 ** (spec.integer - (1 if spec.is_signed else 0))
    X = np.concatenate([data(N_RANDOM // 2, rng)[0],  # where the thresholds are
                        rng.uniform(-1.2 * span, 1.2 * span, (N_RANDOM - N_RANDOM // 2, N_FEATURES))])
    return X, threshold_inputs(model, emu, rng)
