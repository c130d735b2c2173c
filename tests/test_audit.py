"""Precision audit (Emulator.audit, l1emu audit): every counter equals a count made independently — each cast
recomputed here with numpy integers from the hls4ml C-simulation trace of the layer's input (and the
recomputed outputs checked equal to the C simulation's, so the recomputation is the firmware's) or from
conifer's trees; on small models built to saturate, wrap, round and clamp table indices, with inputs at the
rails, one LSB either side of the saturation points and on rounding ties. The narrowest-type suggestion is
checked by converting again with that type (no overflow) and one integer bit less (overflow)."""

import json
import os
import tempfile

import numpy as np
import pytest

import hls4ml

import l1emu  # noqa: E402
from l1emu import reference as ref  # noqa: E402

pytestmark = pytest.mark.xdist_group("audit")

# -- independent ap_fixed casts on numpy int64 codes --------------------------------------------------------


def _fields(precision):
    s = l1emu.parse_precision(precision)
    return s.width, s.frac, s.is_signed, s.quantization, s.overflow


def _bounds(width, signed):
    return (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)


def cast(v, f, precision):
    """v * 2^-f (int64 arrays) assigned to `precision`: (codes, stats dict of this batch of casts)."""
    width, frac, signed, qm, om = _fields(precision)
    v = np.asarray(v, dtype=np.int64)
    sh = f - frac
    if sh > 0:
        fl = v >> sh
        rem = v - (fl << sh)
        half = np.int64(1) << (sh - 1)
        up = {"TRN": np.zeros_like(v, bool), "RND": rem >= half, "TRN_ZERO": (v < 0) & (rem != 0),
              "RND_CONV": (rem > half) | ((rem == half) & (fl & 1 == 1)),
              "RND_ZERO": (rem > half) | ((rem == half) & (v < 0)), "RND_INF": (rem > half) | ((rem == half) & (v >= 0)),
              "RND_MIN_INF": rem > half}[qm]
        q = fl + up
        rounded = rem != 0
    else:
        fl = q = v << -sh
        rounded = np.zeros_like(v, bool)
    lo, hi = _bounds(width, signed)
    over = (q < lo) | (q > hi)
    sym = (om == "SAT_SYM") & signed & (width > 1) & (q == lo)
    if om == "WRAP":
        m = q & ((1 << width) - 1)
        codes = np.where(signed & (m > hi), m - (1 << width), m) if signed else m
    elif om == "SAT":
        codes = np.clip(q, lo, hi)
    elif om == "SAT_SYM":
        codes = np.clip(q, -hi if signed else 0, hi)
    else:  # SAT_ZERO
        codes = np.where(over, 0, q)
    lo_r = -hi if (om == "SAT_SYM" and signed and width > 1) else lo
    outside = (fl < lo_r) | (fl > hi) | ((fl == hi) & rounded)
    stats = {"casts": v.size, "rounded": int(rounded.sum()), "saturated": int((over & (om != "WRAP")).sum() + sym.sum()),
             "wrapped": int((over & (om == "WRAP")).sum()), "changed": int((rounded | over | sym).sum()),
             "outside": int(outside.sum())}
    return codes.astype(np.int64), stats


class Tally(dict):
    def add(self, stats):
        for k, v in stats.items():
            self[k] = self.get(k, 0) + int(v)


def _codes(values, precision):
    """Trace values (floats) as codes: exact, they are values of the type."""
    c = np.asarray(values, dtype=np.float64) * 2.0 ** l1emu.parse_precision(precision).frac
    assert np.array_equal(c, np.round(c))
    return c.astype(np.int64)


def input_cast(X, precision):
    """float64 -> precision (ap_fixed's double constructor), counted, on the exact float64 arithmetic of x * 2^F."""
    width, frac, signed, qm, om = _fields(precision)
    s = np.asarray(X, dtype=np.float64) * 2.0 ** frac
    fl = np.floor(s)
    rem = s - fl  # exact: fl and s are within a factor 2 or |s| >= 2^52 (rem = 0)
    up = {"TRN": np.zeros(s.shape, bool), "RND": rem >= 0.5, "RND_CONV": (rem > 0.5) | ((rem == 0.5) & (np.fmod(fl, 2) != 0))}[qm]
    q = fl + up
    lo, hi = _bounds(width, signed)
    over = (q < lo) | (q > hi)
    assert om == "SAT"
    codes = np.clip(q, lo, hi).astype(np.int64)
    outside = (fl < lo) | (fl > hi) | ((fl == hi) & (rem != 0))
    return codes, {"casts": s.size, "rounded": int((rem != 0).sum()), "saturated": int(over.sum()), "wrapped": 0,
                   "changed": int(((rem != 0) | over).sum()), "outside": int(outside.sum())}


def dense_counts(x_codes, x_prec, w, b, w_prec, accum, result):
    """dense_latency: mult = accum_t(x * w); acc = accum_t(bias); acc += mult (ascending inputs); res_t(acc)."""
    fx, fw = l1emu.parse_precision(x_prec).frac, l1emu.parse_precision(w_prec).frac
    fa = l1emu.parse_precision(accum).frac
    wc = np.round(np.asarray(w) * 2.0 ** fw).astype(np.int64)
    bc = np.round(np.asarray(b) * 2.0 ** fa).astype(np.int64)  # biases chosen representable in accum_t
    prod, acc_t, res_t = Tally(), Tally(), Tally()
    n, n_in = x_codes.shape
    acc = np.repeat(bc[None, :], n, axis=0)
    for i in range(n_in):
        p, st = cast(x_codes[:, i:i + 1] * wc[i][None, :], fx + fw, accum)
        prod.add(st)
        acc, st = cast(acc + p, fa, accum)
        acc_t.add(st)
    y, st = cast(acc, fa, result)
    res_t.add(st)
    return y, {"product": prod, "accum": acc_t, "result": res_t}


def assert_site(rep, layer, site, expected):
    got = rep.site(layer, site)
    for k, v in expected.items():
        assert getattr(got, k) == v, f"{layer}.{site}.{k}: audit {getattr(got, k)}, independent count {v}"


# -- the model: Input -> fc1 (WRAP accum, RND/SAT result) -> fc2 (range beyond the table) -> sigmoid ------

IN_T = "fixed<10,4,RND_CONV,SAT>"
W_T = "fixed<16,6>"
FC1 = {"accum": "fixed<10,3>", "result": "fixed<7,2,RND,SAT>"}
FC2 = {"accum": "fixed<18,8>", "result": "fixed<14,6,RND_CONV,SAT>"}
SIG = {"table_size": 64, "result": "ufixed<8,0,RND,SAT>"}
N_IN = 6


def _keras_model():
    from tensorflow.keras.layers import Activation, Dense, Input
    from tensorflow.keras.models import Model

    rng = np.random.default_rng(7)
    x = Input((N_IN,), name="x")
    fc1 = Dense(4, name="fc1")
    fc2 = Dense(3, name="fc2")
    m = Model(x, Activation("sigmoid", name="sig")(fc2(fc1(x))))
    # weights on a 1/8 grid (exact in weight_t), biases on 1/4 (exact in both accumulators)
    fc1.set_weights([rng.integers(-12, 12, (N_IN, 4)) / 8, rng.integers(-4, 4, 4) / 4])
    fc2.set_weights([rng.choice([-1.75, -1.5, 1.5, 1.75], (4, 3)), rng.integers(-4, 4, 3) / 4])
    return m


def _config(model, fc1=FC1, fc2=FC2, sig=SIG):
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    cfg["LayerName"]["x"]["Precision"] = {"result": IN_T}
    for name, p in (("fc1", fc1), ("fc2", fc2)):
        cfg["LayerName"][name]["Precision"].update(weight=W_T, bias=W_T, **p)
    cfg["LayerName"]["sig"]["table_size"] = sig["table_size"]
    cfg["LayerName"]["sig"]["Precision"]["result"] = sig["result"]
    for layer in cfg["LayerName"].values():
        layer["Trace"] = True
    return cfg


def _tag(**p):
    return "-".join(f"{k}{v}" for k, v in sorted(p.items())).replace("<", "").replace(">", "").replace(",", "_")


def _inputs(seed=3, n=20_000):
    """Random values over and beyond the input range, and adversarial ones: the rails, +-1 LSB around them
    (the saturation points), rounding ties (k + 1/2 LSB), zeros, far out of range."""
    rng = np.random.default_rng(seed)
    lsb, lo, hi = 2.0 ** -6, -8.0, 8.0 - 2.0 ** -6
    special = np.array([0.0, lsb, -lsb, lo, hi, hi + lsb, lo - lsb, hi + lsb / 2, lo - lsb / 2, hi - lsb / 2,
                        lsb / 2, -lsb / 2, 1.5 * lsb, -1.5 * lsb, 2.5 * lsb, 1e30, -1e30, 7.75, -7.75])
    parts = [rng.uniform(-10, 10, (n // 2, N_IN)), rng.normal(0, 2, (n // 4, N_IN)),
             (rng.integers(-512, 512, (n // 8, N_IN)) + 0.5) * lsb,  # ties
             rng.choice(special, (n // 8, N_IN)), np.repeat(special[:, None], N_IN, axis=1)]
    return np.concatenate(parts)


_BUILT = {}


def _build(fc1=FC1, fc2=FC2, sig=SIG):
    """(keras model, hls model, emulator) with these types; the C simulation is compiled for the default types
    only (the variants are emulated, not simulated)."""
    key = (_tag(**fc1), _tag(**fc2), _tag(**sig))
    if key not in _BUILT:
        model = _keras_model()
        cfg = _config(model, fc1, fc2, sig)
        if (fc1, fc2, sig) == (FC1, FC2, SIG):
            hls_model = ref.convert(model, "audit-" + "-".join(key), cfg)
        else:
            hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis",
                                                                   output_dir=os.path.join(tempfile.gettempdir(), "l1emu-audit-variant"))
        _BUILT[key] = (model, hls_model, l1emu.from_hls4ml(hls_model))
    return _BUILT[key]


def _sigmoid_table(n):
    """nnet_activation.h init_sigmoid_table in float32 (checked against the C simulation's outputs below)."""
    ii = np.arange(n, dtype=np.float64)
    in_val = (2 * 8.0 * (ii - n / 2.0) / n).astype(np.float32)
    return (1.0 / (1 + np.exp(-in_val).astype(np.float32).astype(np.float64))).astype(np.float32)


@pytest.fixture(scope="module")
def dense_case():
    model, hls_model, emu = _build()
    X = _inputs()
    _, trace = ref.csim_predict(hls_model, X, trace=True)
    return model, hls_model, emu, X, trace


def test_counters_equal_independent_counts(dense_case, report):
    model, _, emu, X, trace = dense_case
    rep = emu.audit(X)
    fc1, fc2 = model.get_layer("fc1").get_weights(), model.get_layer("fc2").get_weights()

    x_codes, st = input_cast(X, IN_T)
    assert_site(rep, "x", "input", st)
    y1, counts = dense_counts(x_codes, IN_T, *fc1, W_T, **FC1)
    np.testing.assert_array_equal(y1, _codes(trace["fc1"], FC1["result"]))  # the recomputation is the firmware's
    for site, st in counts.items():
        assert_site(rep, "fc1", site, st)
    y2, counts = dense_counts(_codes(trace["fc1"], FC1["result"]), FC1["result"], *fc2, W_T, **FC2)
    np.testing.assert_array_equal(y2, _codes(trace["fc2"], FC2["result"]))
    for site, st in counts.items():
        assert_site(rep, "fc2", site, st)

    # sigmoid: index = int(x * n / 16) (toward zero) + n / 2, clamped; res_t(table[index])
    n, f2 = SIG["table_size"], l1emu.parse_precision(FC2["result"]).frac
    c = _codes(trace["fc2"], FC2["result"]).ravel()
    num = c * n  # x * n / 16 = num * 2^-(f2 + 4)
    trunc = np.where(num >= 0, num >> (f2 + 4), -((-num) >> (f2 + 4)))
    index = trunc + n // 2
    exact_index = num / 2.0 ** (f2 + 4) + n // 2
    assert_site(rep, "sig", "table_index", {
        "casts": c.size, "rounded": int((num % (1 << (f2 + 4)) != 0).sum()),
        "saturated": int(((index < 0) | (index > n - 1)).sum()), "wrapped": 0,
        "outside": int(((exact_index < 0) | (exact_index > n - 1)).sum())})
    table = _codes(ref_table := np.floor(_sigmoid_table(n).astype(np.float64) * 2 ** 10) / 2 ** 10, "fixed<18,8>")
    assert ref_table.max() <= 1
    y3, st = cast(table[np.clip(index, 0, n - 1)], 10, SIG["result"])
    np.testing.assert_array_equal(y3, _codes(trace["sig"], SIG["result"]).ravel())
    assert_site(rep, "sig", "table_value", st)

    s = {k: rep.site(*k.split(".")) for k in ("fc1.accum", "fc1.result", "sig.table_index", "x.input")}
    # the model does what it was built for: every kind of event occurs
    assert s["fc1.accum"].wrapped > 0 and s["fc1.result"].saturated > 0 and s["fc1.result"].rounded > 0
    assert s["sig.table_index"].saturated > 0 and s["x.input"].saturated > 0 and s["x.input"].rounded > 0
    report(f"audit: {len(X)} events, fc1 accum wraps {s['fc1.accum'].wrapped}, fc1 result saturations "
           f"{s['fc1.result'].saturated}, sigmoid index clamps {s['sig.table_index'].saturated}: "
           f"all {sum(1 for _ in rep.sites)} sites equal the independent counts")


def test_same_counts_any_thread_count(dense_case):
    _, _, emu, X, _ = dense_case
    emu.threads = 1
    one = emu.audit(X).to_dict()
    emu.threads = 2
    two = emu.audit(X).to_dict()
    assert one == two
    # the counted reference paths compute the firmware's codes
    np.testing.assert_array_equal(emu.audit(X).outputs_raw[0], emu.predict_raw(X))
    emu.threads = 0


def test_ranges_and_bits(dense_case):
    model, _, emu, X, trace = dense_case
    rep = emu.audit(X)
    r = rep.site("fc1", "result")  # accum_t codes (frac 7) cast to fixed<7,2>
    fc1 = model.get_layer("fc1").get_weights()
    x_codes, _ = input_cast(X, IN_T)
    # the accumulator's final values, recomputed: min/max and the bits they need
    fa = 7
    wc = np.round(fc1[0] * 2.0 ** 10).astype(np.int64)
    acc = np.repeat(np.round(fc1[1] * 2.0 ** fa).astype(np.int64)[None, :], len(X), axis=0)
    for i in range(N_IN):
        p, _ = cast(x_codes[:, i:i + 1] * wc[i][None, :], 16, FC1["accum"])
        acc, _ = cast(acc + p, fa, FC1["accum"])
    acc_vals = acc.ravel()
    assert r.min == acc_vals.min() / 2 ** fa and r.max == acc_vals.max() / 2 ** fa
    assert r.range == [-2.0, 2.0 - 2 ** -5]
    big = max(int(acc_vals.max()).bit_length(), int(~acc_vals.min()).bit_length())
    assert r.int_bits == big - fa + 1
    nz = acc_vals[acc_vals != 0]
    assert r.frac_bits == fa - int(min((int(v) & -int(v)).bit_length() - 1 for v in nz))
    d = rep.to_dict()
    assert json.loads(json.dumps(d)) == d and d["format"] == "l1emu-audit"


def _one_int_bit_less(precision):
    kind, args = precision.rstrip(">").split("<")
    w, i, *modes = args.split(",")
    return f"{kind}<{','.join([str(int(w) - 1), str(int(i) - 1), *modes])}>"


def test_narrowest_type_suggestion_reconverts(dense_case):
    """fc1's result_t and accum_t (a wrapping accumulator: its sums as an accumulator that never wraps holds
    them): the suggested no-overflow type gives 0 saturations/wraps when the model is converted with it; one
    integer bit less gives some."""
    _, _, emu, X, _ = dense_case
    types = emu.audit(X).types["fc1"]
    res, acc = types["result_t"]["no_overflow_type"], types["accum_t"]["no_overflow_type"]
    assert res == "fixed<9,4,RND,SAT>" or l1emu.parse_precision(res).integer > 2
    for key, prec, sites in (("result", res, ["result"]), ("accum", acc, ["product", "accum"])):
        rep = _build(fc1={**FC1, key: prec})[2].audit(X)
        assert sum(rep.site("fc1", s).overflows for s in sites) == 0, (key, prec)
        assert rep.types["fc1"][f"{key}_t"]["no_overflow_type"] == prec  # a fixed point of the suggestion
        narrower = _one_int_bit_less(prec)
        rep = _build(fc1={**FC1, key: narrower})[2].audit(X)
        assert sum(rep.site("fc1", s).overflows for s in sites) > 0, (key, narrower)


def test_exact_type_suggestion_changes_nothing(dense_case):
    """The sigmoid's result: the suggested exact type changes no value (no rounding, no overflow); one
    fractional bit less rounds, one integer bit less overflows."""
    _, _, emu, X, _ = dense_case
    ex = emu.audit(X).site("sig", "table_value").exact_type
    assert emu.audit(X).site("sig", "table_value").changed > 0
    assert _build(sig={**SIG, "result": ex})[2].audit(X).site("sig", "table_value").changed == 0
    kind, args = ex.rstrip(">").split("<")
    w, i, *modes = args.split(",")
    coarser = f"{kind}<{int(w) - 1},{i},{','.join(modes)}>"
    assert _build(sig={**SIG, "result": coarser})[2].audit(X).site("sig", "table_value").rounded > 0
    assert _build(sig={**SIG, "result": _one_int_bit_less(ex)})[2].audit(X).site("sig", "table_value").overflows > 0


def test_float_model_divergence(dense_case):
    model, _, emu, X, _ = dense_case
    rep = emu.audit(X, float_model=model)
    div = rep.divergence
    assert set(div) == {"fc1", "fc2", "sig"}
    xf = np.asarray(X, np.float32)
    import tensorflow as tf

    fc1_float = tf.keras.Model(model.inputs, model.get_layer("fc1").output).predict(xf, verbose=0)
    fw = emu.trace(X)["fc1"]
    d = np.abs(fw - fc1_float) * 2 ** 5
    assert div["fc1"]["max_abs_lsb"] == pytest.approx(d.max()) and div["fc1"]["mean_abs_lsb"] == pytest.approx(d.mean())
    # the cause: fc1's site that changed the most values (its counts are checked in the test above)
    top = max((s for s in rep.sites if s.layer == "fc1"), key=lambda s: s.changed)
    assert div["fc1"]["cause"].startswith(f"fc1.{top.site}: ") and f"{top.changed:,} values changed" in div["fc1"]["cause"]
    assert rep.divergence_table() is not None


def test_report_outputs(dense_case, tmp_path):
    _, _, emu, X, _ = dense_case
    rep = emu.audit(X[:500])
    from rich.console import Console

    console = Console(width=250, record=True)
    console.print(rep.table())
    text = console.export_text()
    assert "fc1" in text and "accum" in text and "table_index" in text
    path = rep.to_json(tmp_path / "a.json")
    assert json.load(open(path)) == rep.to_dict()
    png = rep.plot(tmp_path / "a.png")
    assert open(png, "rb").read(8) == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporaries left


# -- BDT with wrapping score sums ------------------------------------------------------------------------

BDT_P = {"precision": "ap_fixed<12,4>", "ScorePrecision": "ap_fixed<8,2>"}  # score_t wraps beyond [-2, 2)


def test_bdt_score_sums_wrap():
    from sklearn.ensemble import GradientBoostingRegressor

    rng = np.random.default_rng(2)
    Xt = rng.normal(0, 1.5, (2000, 4))
    yt = 3 * np.tanh(Xt[:, 0]) + Xt[:, 1] * 2 + rng.normal(0, 0.1, 2000)
    reg = GradientBoostingRegressor(n_estimators=12, max_depth=3, learning_rate=0.5, random_state=0).fit(Xt, yt)
    reg.n_classes_ = 1  # conifer 1.11 reads it (see test_bdt)
    model = ref.convert_sklearn(reg, "audit-bdt-wrap", split="<", **BDT_P)
    emu = l1emu.from_conifer(model)
    lsb = 2.0 ** -8
    X = np.concatenate([rng.normal(0, 2, (5000, 4)), np.full((4, 4), 8 - lsb), np.full((4, 4), -8.0),
                        np.full((4, 4), 8.0), np.full((4, 4), -8 - lsb)])
    rep = emu.audit(X)

    # independent: quantize inputs and thresholds (TRN, WRAP), walk conifer's trees, wrap each score sum
    xc, _ = cast(np.floor(X * 2 ** 8).astype(np.int64), 8, "fixed<12,4>")  # ap_fixed(double), TRN: floor
    score = "fixed<8,2>"
    fs = 6
    trees = [t for est in model.trees for t in est]
    init = int(np.floor(model.init_predict[0] * 2 ** fs))
    acc, _ = cast(np.full(len(X), init), fs, score)
    tally = Tally()
    for tree in trees:
        feature, left, right = np.array(tree.feature), np.array(tree.children_left), np.array(tree.children_right)
        th = np.floor(np.asarray(tree.threshold, dtype=np.float64) * 2 ** 8).astype(np.int64)
        th, _ = cast(th, 8, "fixed<12,4>")
        val, _ = cast(np.floor(np.asarray(tree.value, dtype=np.float64).ravel() * 2 ** fs).astype(np.int64), fs, score)
        node = np.zeros(len(X), dtype=np.int64)
        for _ in range(20):
            inner = feature[node] != -2
            if not inner.any():
                break
            go_left = xc[np.arange(len(X)), np.maximum(feature[node], 0)] < th[node]
            node = np.where(inner, np.where(go_left, left[node], right[node]), node)
        acc, st = cast(acc + val[node], fs, score)
        tally.add(st)
    norm, _ = cast(np.array([int(np.floor(model.norm * 2 ** fs))]), fs, score)
    y, _ = cast(acc * norm[0], 2 * fs, score)
    np.testing.assert_array_equal(y, l1emu.quantize(model.decision_function(X).ravel(), score))
    got = rep.site(rep.sites[1].layer, "score_sum")
    for k, v in tally.items():
        assert getattr(got, k) == v, f"score_sum.{k}: audit {getattr(got, k)}, independent {v}"
    assert got.wrapped > 0


# -- CLI ---------------------------------------------------------------------------------------------------


def _cli(*args):
    from click.testing import CliRunner

    from l1emu.cli import main

    return CliRunner().invoke(main, [str(a) for a in args])


def test_cli_audit(dense_case, tmp_path):
    _, _, emu, X, _ = dense_case
    model = tmp_path / "m.l1emu"
    emu.save(model)
    np.save(tmp_path / "x.npy", X[:2000])
    out = _cli("audit", model, tmp_path / "x.npy", "--json", tmp_path / "r.json", "--plot", tmp_path / "r.png")
    assert out.exit_code == 0, out.output
    assert "fc1" in out.stdout and "table_index" in out.stdout and "saturated or wrapped" in out.stdout
    assert json.load(open(tmp_path / "r.json")) == emu.audit(X[:2000]).to_dict()
    assert (tmp_path / "r.png").stat().st_size > 1000
    assert _cli("audit", model, tmp_path / "x.npy", "--fail-on-overflow").exit_code == 1
    assert _cli("audit", model, tmp_path / "x.npy", "-n", "3", "--json", tmp_path / "r3.json").exit_code == 0
    assert json.load(open(tmp_path / "r3.json"))["n_events"] == 3
    # bad input: one line, exit 2, no report written
    np.save(tmp_path / "bad.npy", np.zeros((5, 3)))
    (tmp_path / "junk.npy").write_bytes(b"not numpy")
    for args in ((tmp_path / "bad.npy",), (tmp_path / "junk.npy",), (tmp_path / "x.npy", "-n", "0"),
                 (tmp_path / "x.npy", "--json", tmp_path / "missing" / "r.json"), (tmp_path / "r.json",)):
        bad = _cli("audit", model, *args)
        assert bad.exit_code == 2, (args, bad.output)
        lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and lines[0].startswith("Error:") and "Traceback" not in bad.output, bad.stderr
    assert not (tmp_path / "missing").exists()


# -- every shipped model: the counted reference paths compute the firmware's codes ------------------------

MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")


@pytest.mark.parametrize("name", ["jet_tagger", "deepsets", "cicada", "ad_vae_kl", "jet_bdt"])
def test_audit_outputs_are_predicts_on_shipped_models(name):
    """Dense, BatchNorm-free activations, Conv, Copy, Pooling, stable Softmax, KL score, BDT: the audited run's
    outputs equal predict_raw (validated against csim/conifer elsewhere), every layer has cast sites, and the
    statistics do not depend on the thread count."""
    emu = l1emu.load(os.path.join(MODELS, f"{name}.l1emu"))
    rng = np.random.default_rng(11)
    X = rng.normal(0, 4, (600,) + emu.input_shape)
    X[:50] = 1e9  # the input's rails
    X[50:100] = -1e9
    emu.threads = 1
    rep = emu.audit(X)
    raw = emu.predict_raw(X)
    for got, want in zip(rep.outputs_raw, raw if isinstance(raw, list) else [raw]):
        np.testing.assert_array_equal(got, want)
    assert rep.uninstrumented == []
    assert all(s.casts > 0 for s in rep.sites)
    assert rep.site(emu._names[0], "input").overflows > 0
    emu.threads = 2
    assert emu.audit(X).to_dict() == rep.to_dict()


@pytest.mark.parametrize("table,name", [("INORM", "lc_narrow_sat"), ("INORM", "hwc_wrap_stream"),
                                        ("KL", "full_narrow_stream"), ("KL", "mu2_wrap")])
def test_audit_outputs_are_predicts_on_custom_layers(table, name):
    """InstanceNorm (whose forward takes an int64 path) and the KL score: the audited reference path computes
    predict_raw's codes (predict is checked against csim in test_anomaly_layers) and counts every site."""
    from .cases import anomaly

    _, _, emu = anomaly.build(getattr(anomaly, table), name)
    X = anomaly.inputs(emu, np.random.default_rng(4), "inorm" if table == "INORM" else "kl")[::20]
    rep = emu.audit(X)
    np.testing.assert_array_equal(rep.outputs_raw[0], emu.predict_raw(X))
    assert rep.uninstrumented == [] and all(s.casts > 0 for s in rep.sites)
    assert sum(s.changed for s in rep.sites) > 0
