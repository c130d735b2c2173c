"""The menu: a synthetic menu whose counts are computed independently here, the threshold solver, uGT
prescale counters, chunk/thread invariance, per-event decisions, and bad menus refused at load."""

import json
import os

import numpy as np
import pytest

import l1emu
from l1emu.menu import Menu, MenuError, ReplayError, stats

from .cases.menu import MENU, toy_events

N_EVENTS = 120_000
BX = 28.6e6


def _chunks(data, size):
    n = len(data["event"])
    return [{k: v[i:i + size] for k, v in data.items()} for i in range(0, n, size)]


@pytest.fixture(scope="module")
def menu_path(toy_model):
    path = toy_model.parent / "menu.yaml"
    path.write_text(MENU)
    return path


def _ugt_prescale(fired, prescale):
    """The CMSSW PrescaleCounter loop, event by event (independent of the vectorized one)."""
    count, counter, out = round(prescale * 100), 0, []
    for f in fired:
        ok = False
        if f:
            counter += 100
            if count and counter >= count:
                counter -= count
                ok = True
        out.append(ok)
    return np.array(out, bool)


def _expected(data, solved_threshold):
    f0, f1 = data["jet_features"][:, 0].astype(np.float64), data["jet_features"][:, 1].astype(np.float64)
    pt, eta = data["jet"][:, 0, 0].astype(np.float64), data["jet"][:, 0, 1].astype(np.float64)
    a = f0 >= 0.75
    j100 = pt >= 100
    raw = {
        "A": a, "B": f1 >= 0.5, "J50": pt >= 50, "J100": j100, "A_or_J100": a | j100,
        "A_req": (f0 >= 0.5) & j100 & (np.abs(eta) <= 1.5), "A_1MHz": np.round(f0 * 1024) >= solved_threshold,
        "B_frac": f1 >= 0.25,
    }
    prescales = {"J100": 2, "B_frac": 2.5}
    passed = {k: _ugt_prescale(v, prescales[k]) if k in prescales else v for k, v in raw.items()}
    return raw, passed


def test_synthetic_menu_counts(menu_path, report):
    data = toy_events(N_EVENTS, seed=5)
    menu = Menu.load(menu_path)
    res = menu.replay(_chunks(data, 10_000), signals={"sig": _chunks(toy_events(20_000, seed=6), 4096)})
    r = res.report
    # the solved threshold: lowest code whose rate <= 1 MHz, by brute force over every code
    codes = np.round(data["jet_features"][:, 0].astype(np.float64) * 1024).astype(int)
    rates = {t: (codes >= t).sum() / N_EVENTS * BX for t in range(-1, 1026)}
    t_star = min(t for t, v in rates.items() if v <= 1e6)
    assert r["seeds"]["A_1MHz"]["threshold_raw"] == t_star
    raw, passed = _expected(data, t_star)
    names = list(raw)
    for name in names:
        e = r["seeds"][name]
        assert e["count_unprescaled"] == raw[name].sum(), name
        assert e["count"] == passed[name].sum(), name
        others = np.any([passed[o] for o in names if o != name], axis=0)
        assert e["pure_count"] == (passed[name] & ~others).sum(), name
        assert e["rate_hz"] == pytest.approx(passed[name].sum() / N_EVENTS * BX)
        lo, hi = e["rate_err_hz"]
        assert lo < e["rate_hz"] < hi
        k = np.sum([passed[o] for o in names], axis=0)
        assert e["proportional_rate_hz"] == pytest.approx((passed[name] / np.maximum(k, 1)).sum() / N_EVENTS * BX)
    overlap = np.array(r["overlap"]["counts"])
    for i, x in enumerate(names):
        for j, y in enumerate(names):
            assert overlap[i, j] == (passed[x] & passed[y]).sum()
    total = np.any([passed[n] for n in names], axis=0)
    assert r["total"]["count"] == total.sum()
    # analytic expectations within 4 sigma: P(A) = 16/64, P(B) = 32/64, independent
    n = N_EVENTS
    for value, p in [(raw["A"].sum(), 0.25), (raw["B"].sum(), 0.5), (overlap[0, 1], 0.125)]:
        assert abs(value - n * p) < 4 * np.sqrt(n * p * (1 - p))
    # pileup bins: every event with a valid n_pileup counted once
    assert sum(r["pileup"]["n_events"]) == N_EVENTS
    assert sum(r["pileup"]["counts"]["J50"]) == passed["J50"].sum()
    # turn-on counts in bins of leading-jet pt (20 GeV, last bin with the overflow), before prescale
    t = r["turn_on"]
    bins = np.minimum(data["jet"][:, 0, 0] // 20, len(t["edges"]) - 2).astype(int)
    np.testing.assert_array_equal(t["n_events"]["background"], np.bincount(bins, minlength=len(t["edges"]) - 1))
    np.testing.assert_array_equal(t["counts"]["background"]["J100"],
                                  np.bincount(bins[raw["J100"]], minlength=len(t["edges"]) - 1))
    # efficiencies on the signal sample, with Clopper-Pearson intervals around them
    sig = toy_events(20_000, seed=6)
    sraw, spassed = _expected(sig, t_star)
    for name in names:
        eff = r["seeds"][name]["efficiency"]["sig"]
        assert eff["value"] == spassed[name].sum() / 20_000
        assert eff["err"][0] <= eff["value"] <= eff["err"][1]
    report(f"synthetic menu: {len(names)} seeds x {N_EVENTS} crossings, counts/pure/overlaps equal the independent count")
    json.loads(res.to_json())


def test_any_chunking_and_threads_give_identical_results(menu_path):
    data = toy_events(30_000, seed=9)
    menu = Menu.load(menu_path)
    reports = [menu.replay(_chunks(data, size), threads=threads).report
               for size, threads in [(30_000, 1), (1000, 2), (4097, 0), (333, 1)]]
    for rep in reports[1:]:
        assert rep == reports[0]


def test_scores_equal_predict_raw(menu_path, toy_model):
    data = toy_events(5000, seed=11)
    res = Menu.load(menu_path).replay(_chunks(data, 999))
    raw = l1emu.load(toy_model).predict_raw(data["jet_features"])
    h = res.histograms["A"]  # no require: every background event
    want = np.bincount(raw[:, 0] - h.code_min, minlength=len(h.background))
    np.testing.assert_array_equal(h.background, want)


def test_prescale_column(menu_path):
    data = toy_events(20_000, seed=12)
    res = Menu.load(menu_path).replay(_chunks(data, 5000), column="tight")
    assert res.report["seeds"]["J50"]["count"] == 0
    assert res.report["seeds"]["J50"]["count_unprescaled"] > 0
    raw, _ = _expected(data, 0)
    assert res.report["seeds"]["B_frac"]["count"] == raw["B_frac"].sum()
    with pytest.raises(MenuError, match="no prescale column 'nope'"):
        Menu.load(menu_path).replay(_chunks(data, 5000), column="nope")


def test_decisions_file_and_outputs(menu_path, tmp_path):
    import h5py
    import pyarrow.parquet as pq

    data = toy_events(12_345, seed=13)
    raw, _ = _expected(data, 10**9)
    for name in ("d.h5", "d.parquet"):
        path = tmp_path / name
        res = Menu.load(menu_path).replay(_chunks(data, 5000), decisions=path)
        if name.endswith(".h5"):
            with h5py.File(path) as f:
                cols = {k: f[k][:] for k in f}
        else:
            cols = {k: np.asarray(v) for k, v in pq.read_table(path).to_pydict().items()}
        np.testing.assert_array_equal(cols["event"], data["event"])
        for seed in ("A", "J50", "J100", "A_or_J100"):
            np.testing.assert_array_equal(np.asarray(cols[seed], bool), raw[seed])
    out = tmp_path / "out"
    res.write(out)
    assert {"report.json", "rates.csv"} <= set(os.listdir(out))
    assert any(p.endswith(".png") for p in os.listdir(out))
    with pytest.raises(l1emu.L1emuError, match="exists"):
        res.write(out)
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporaries left


def test_code_histogram_dense_and_sparse():
    """Dense window, its growth both ways, the fall-back to sparse beyond DENSE_SPAN and after it, and
    merging: always np.unique of everything added."""
    from l1emu.menu.replay import CodeHistogram

    rng = np.random.default_rng(4)
    span = CodeHistogram.DENSE_SPAN
    adds = [rng.integers(-50, 50, 1000), rng.integers(100, 300, 10), np.array([-5000]), np.zeros(0, np.int64),
            np.array([span - 5000]), rng.integers(-2**62, 2**62, 100), rng.integers(0, 10, 100),
            np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max])]
    for stop in range(1, len(adds) + 1):
        h = CodeHistogram()
        for a in adds[:stop]:
            h.add(a)
        u, c = np.unique(np.concatenate(adds[:stop]), return_counts=True)
        np.testing.assert_array_equal(h.codes, u)
        np.testing.assert_array_equal(h.counts, c)
        g = CodeHistogram()
        g.add(adds[0])
        m = h.merged(g)
        u, c = np.unique(np.concatenate(adds[:stop] + [adds[0]]), return_counts=True)
        np.testing.assert_array_equal(m.codes, u)
        np.testing.assert_array_equal(m.counts, c)
        assert m.count_at_or_above(0) == int(c[u >= 0].sum())


def test_prescale_counter_matches_cmssw_loop():
    rng = np.random.default_rng(3)
    for p in [1, 2, 2.5, 1.01, 7.33, 100, 0]:
        counter = stats.PrescaleCounter(p)
        fired = rng.random(5000) < 0.3
        got = np.concatenate([counter.apply(part) for part in np.array_split(fired, 7)])
        np.testing.assert_array_equal(got, _ugt_prescale(fired, p))


def test_threshold_solver_exact_on_integer_distributions():
    rng = np.random.default_rng(4)
    for trial in range(200):
        codes = np.unique(rng.integers(-20, 20, rng.integers(1, 12)))
        counts = rng.integers(1, 6, len(codes))  # ties: several events per code
        n = int(counts.sum() + rng.integers(0, 10))
        target = float(rng.choice([0.0, 0.5, 1.0, 2.0, 3.0, 100.0]))
        t, rate = stats.solve_threshold(codes, counts, n, n, target, code_min=-32)
        brute = {u: counts[codes >= u].sum() for u in range(-32, 32)}
        want = min(u for u, c in brute.items() if c <= target)
        assert t == want, (codes, counts, target)
        assert rate == brute[want]
    # plateau: codes 0 and 10 only, budget between their rates -> the threshold just above 0
    assert stats.solve_threshold([0, 10], [5, 5], 10, 10, 5)[0] == 1
    # unreachable (0 Hz with every code above the range): one above the highest code
    assert stats.solve_threshold([0, 10], [5, 5], 10, 10, 0)[0] == 11


def test_clopper_pearson_and_wilson_against_scipy():
    from scipy.stats import beta

    a = 1 - stats.CL68
    for k, n in [(0, 10), (3, 10), (10, 10), (5, 10**6), (1, 1), (499, 1000)]:
        lo, hi = stats.clopper_pearson(k, n)
        assert lo == pytest.approx(0.0 if k == 0 else beta.ppf(a / 2, k, n - k + 1), rel=1e-9, abs=1e-15)
        assert hi == pytest.approx(1.0 if k == n else beta.ppf(1 - a / 2, k + 1, n - k), rel=1e-9)
    lo, hi = stats.wilson(50, 100)
    assert (lo + hi) / 2 == pytest.approx(0.5) and hi - lo == pytest.approx(2 * 0.0498, rel=0.02)


BAD = [
    ("seeds: {S: {score: nope, threshold: 1}}", "unknown algorithm 'nope'"),
    ("seeds: {S: 'tau[0].pt >= 3'}", "tau"),
    ("seeds: {S: 'jet[0].mass >= 3'}", "mass"),
    ("seeds: {S: 'L1_Missing or jet[0].pt >= 3'}", "unknown seed"),
    ("seeds: {S: 'jet[0].pt and true'}", "S"),
    ("seeds: {S: 'T', T: 'S'}", "cycle"),
    ("seeds: {S: {score: 'toy[c]', threshold: 1}}", "no output 'c'"),
    ("seeds: {S: {score: toy, threshold: 1}}", "has 2 outputs"),
    ("seeds: {S: {score: 'toy[a]'}}", "exactly one of 'threshold' or 'rate_hz'"),
    ("seeds: {S: {score: 'toy[a]', threshold: 0.5, prescale: 0.5}}", "prescale"),
    ("seeds: {S: {score: 'toy[a]', threshold: 0.5, units: raw}}", "raw threshold is an integer"),
    ("seeds: {S: {cut: 'jet[0].pt >= 1', prescal: 2}}", "unknown key"),
    ("seeds: {S: !!python/object/apply:os.system ['true']}", "not a valid menu YAML"),
]


@pytest.mark.parametrize("seeds, message", BAD)
def test_bad_menus_refused_at_load(menu_path, seeds, message):
    text = ("name: bad\nbunch_crossing_rate_hz: 28.6e6\nalgorithms:\n"
            "  toy: {model: toy.l1emu, inputs: leading_jet_features, classes: [a, b]}\n" + seeds + "\n")
    path = menu_path.parent / "bad.yaml"
    path.write_text(text)
    with pytest.raises(MenuError, match=message) as err:
        Menu.load(path)
    assert "bad.yaml" in str(err.value)


def test_bad_menu_files(menu_path):
    folder = menu_path.parent
    cases = [
        ("name: x\nbunch_crossing_rate_hz: 1e6\nalgorithms:\n  m: {model: missing.l1emu, inputs: jet_image}\n"
         "seeds: {S: 'jet[0].pt >= 1'}\n", "model file 'missing.l1emu' not found"),
        ("name: x\nbunch_crossing_rate_hz: 1e6\nalgorithms:\n  m: {model: toy.l1emu, inputs: jet_image}\n"
         "seeds: {S: 'jet[0].pt >= 1'}\n", "gives \\(40, 40\\) per event"),
        ("name: x\nseeds: {S: 'jet[0].pt >= 1'}\n", "exactly one of 'bunch_crossing_rate_hz' or 'filled_bunches'"),
        ("name: x\nfilled_bunches: 4000\nseeds: {S: 'jet[0].pt >= 1'}\n", "1..3564"),
        ("[1, 2]\n", "expected a mapping"),
    ]
    for text, message in cases:
        path = folder / "bad2.yaml"
        path.write_text(text)
        with pytest.raises(MenuError, match=message):
            Menu.load(path)
    with pytest.raises(MenuError, match="cannot read menu"):
        Menu.load(folder / "nope.yaml")
    menu = Menu.load(folder / "menu.yaml")
    with pytest.raises(ReplayError, match="no such event file"):
        menu.replay([str(folder / "missing.h5")])
    assert Menu.load(folder / "menu.yaml").bunch_crossing_rate_hz == BX


def test_float_model_beside_firmware(tmp_path):
    """A model y = 0.3 x: the firmware holds 0.3 as 307/1024, so near the threshold its decisions differ from
    the float model's; the report's float counts equal the float definition evaluated here."""
    import hls4ml
    from tensorflow.keras.layers import Dense, Input
    from tensorflow.keras.models import Model

    x = Input((16,), name="features")
    model = Model(x, Dense(1, use_bias=False, name="scale")(x))
    kernel = np.zeros((16, 1))
    kernel[0, 0] = 0.3
    model.layers[1].set_weights([kernel])
    model.save(tmp_path / "lin.h5")
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="model", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis",
                                                           output_dir=str(tmp_path / "prj"))
    emu = l1emu.from_hls4ml(hls_model)
    emu.save(tmp_path / "lin.l1emu")
    (tmp_path / "menu.yaml").write_text(
        "name: float\nbunch_crossing_rate_hz: 1e6\nalgorithms:\n"
        "  lin: {model: lin.l1emu, inputs: leading_jet_features, float_model: lin.h5}\n"
        "seeds:\n  S: {score: lin, threshold: 0.2}\n  J: 'jet[0].pt >= 50'\n")
    data = toy_events(20_000, seed=21)
    data["jet_features"][:, 0] = np.random.default_rng(22).uniform(0, 1, 20_000).astype(np.float32)
    res = Menu.load(tmp_path / "menu.yaml").replay(_chunks(data, 6000), compare_float=True)
    s = res.report["seeds"]["S"]
    x0 = data["jet_features"][:, 0].astype(np.float32)
    float_fired = (np.float32(0.3) * x0).astype(np.float64) >= s["threshold"]
    fw_fired = emu.predict_raw(data["jet_features"])[:, 0] >= s["threshold_raw"]
    assert s["count_unprescaled"] == fw_fired.sum()
    assert s["float"]["count_unprescaled"] == float_fired.sum()
    assert s["float"]["decision_agreement"] == (float_fired == fw_fired).mean()
    assert s["float"]["rate_shift_hz"] == pytest.approx((fw_fired.sum() - float_fired.sum()) / 20_000 * 1e6)
    assert (float_fired != fw_fired).sum() > 0  # the fixed-point weight moves events across the threshold
    assert "float" not in res.report["seeds"]["J"]


def test_files_are_shards_with_their_own_prescale_counters(menu_path, tmp_path):
    """Event files: counts are the sum over files, each file's prescale counters starting at zero."""
    from l1emu import events

    data = toy_events(30_000, seed=31)
    parts = [{k: v[a:b] for k, v in data.items()} for a, b in [(0, 11_111), (11_111, 30_000)]]
    paths = []
    for i, part in enumerate(parts):
        paths.append(str(tmp_path / f"part{i}.h5"))
        events.write(paths[-1], [part], metadata={"sources": [{"process": "toy", "n_events": len(part["event"])}]})
    menu = Menu.load(menu_path)
    r = menu.replay(paths, chunk_size=4000).report
    want = [_expected(p, 10**9)[1] for p in parts]
    for name in ("J100", "B_frac", "A", "J50"):
        assert r["seeds"][name]["count"] == sum(w[name].sum() for w in want), name
    assert r["background"]["files"] == paths and r["background"]["n_events"] == 30_000
    # the rate-solved threshold comes from the histograms of both files together
    codes = np.round(data["jet_features"][:, 0].astype(np.float64) * 1024).astype(int)
    t_star = min(t for t in range(-1, 1026) if (codes >= t).sum() / 30_000 * BX <= 1e6)
    assert r["seeds"]["A_1MHz"]["threshold_raw"] == t_star
    one = menu.replay([paths[0]], chunk_size=777).report
    assert one["seeds"]["J100"]["count"] == want[0]["J100"].sum()


def test_pass_one_prepares_chunks_within_its_budget(menu_path, tmp_path, monkeypatch):
    """Pass 1 keeps every chunk prepared for pass 2 within the memory budget: with the whole stream held,
    pass 2 reads nothing; beyond the budget it reads just the rest; with no budget, everything. Reports,
    histograms and per-event decisions are identical in every case, and equal the independent counts, also
    for a seed that depends on a solved one (no preparation then)."""
    import importlib

    import h5py
    from l1emu import events

    rp = importlib.import_module("l1emu.menu.replay")  # the module (l1emu.menu.replay is also a function)

    data = toy_events(30_000, seed=61)
    path = str(tmp_path / "bkg.h5")
    events.write(path, [data], metadata={"sources": [{"process": "toy", "n_events": 30_000}]})
    reads = []
    real = rp._events.iter_chunks

    def counted(p, chunk_size, fields=None, skip=0):
        for chunk in real(p, chunk_size, fields=fields, skip=skip):
            reads.append(len(chunk["event"]))
            yield chunk
    monkeypatch.setattr(rp._events, "iter_chunks", counted)
    dependent = menu_path.parent / "dependent.yaml"
    dependent.write_text(menu_path.read_text().replace("prescale_columns:", "  A_1MHz_or_J50: 'A_1MHz or J50'\n"
                                                                            "prescale_columns:"))
    for menu_file in (menu_path, dependent):
        reports = {}
        # budgets: all, a few chunks of 4000 crossings (~100 kB each prepared), none
        for budget, read_in_pass2 in [(256 << 20, 0), (300_000, None), (0, 30_000)]:
            monkeypatch.setattr(rp.PreparedCache, "budget_bytes", budget)
            reads.clear()
            out = tmp_path / f"dec-{budget}-{menu_file.stem}.h5"
            res = Menu.load(menu_file).replay(path, chunk_size=4000, decisions=out)
            if menu_file == dependent:
                assert sum(reads) == 60_000  # nothing prepared: both passes read everything
            elif read_in_pass2 is None:
                assert 30_000 < sum(reads) < 60_000  # part held, the rest read again
            else:
                assert sum(reads) == 30_000 + read_in_pass2
            with h5py.File(out) as f:
                decisions = {k: f[k][:] for k in f}
            reports[budget] = (res.report, res.histograms["A_1MHz"].background, decisions)
        first = reports[256 << 20]
        for rep, hist, dec in reports.values():
            assert rep == first[0]
            np.testing.assert_array_equal(hist, first[1])
            for k in first[2]:
                np.testing.assert_array_equal(dec[k], first[2][k])
        t_star = first[0]["seeds"]["A_1MHz"]["threshold_raw"]
        raw, passed = _expected(data, t_star)
        np.testing.assert_array_equal(first[2]["event"], data["event"])
        for name in raw:
            assert first[0]["seeds"][name]["count"] == passed[name].sum(), name
            np.testing.assert_array_equal(first[2][name], raw[name])
        if menu_file == dependent:
            want = raw["A_1MHz"] | raw["J50"]
            assert first[0]["seeds"]["A_1MHz_or_J50"]["count"] == want.sum()
            np.testing.assert_array_equal(first[2]["A_1MHz_or_J50"], want)


def test_models_run_only_where_their_seeds_require(menu_path):
    """A model whose every seed has a cut-only require runs on the events passing it; the counts, pure
    rates and histograms equal those of a menu that forces the model onto every event."""
    base = ("name: m\nbunch_crossing_rate_hz: 28.6e6\nalgorithms:\n"
            "  toy: {model: toy.l1emu, inputs: leading_jet_features, classes: [a, b]}\nseeds:\n"
            "  J100: 'jet[0].pt >= 100'\n"
            "  A_req: {score: 'toy[a]', threshold: 0.5, require: 'J100 and abs(jet[0].eta) <= 1.5'}\n"
            "  B_req: {score: 'toy[b]', threshold: 0.25, require: 'jet[0].pt >= 150', prescale: 2}\n")
    masked = menu_path.parent / "masked.yaml"
    masked.write_text(base)
    full = menu_path.parent / "full.yaml"
    full.write_text(base + "  B_all: {score: 'toy[b]', threshold: 2.0}\n")  # no require: toy runs everywhere
    m = Menu.load(masked)
    from l1emu.menu.replay import _Evaluator

    assert "toy" in _Evaluator(m, m.order()).masked
    data = toy_events(40_000, seed=51)
    a = m.replay(_chunks(data, 9000))
    b = Menu.load(full).replay(_chunks(data, 9000))
    f0, f1 = data["jet_features"][:, 0], data["jet_features"][:, 1]
    pt, eta = data["jet"][:, 0, 0], data["jet"][:, 0, 1]
    want = (f0 >= 0.5) & (pt >= 100) & (np.abs(eta) <= 1.5)
    assert a.report["seeds"]["A_req"]["count"] == want.sum()
    assert a.report["seeds"]["B_req"]["count"] == _ugt_prescale((f1 >= 0.25) & (pt >= 150), 2).sum()
    for seed in ("A_req", "B_req", "J100"):
        for key in ("count", "count_unprescaled", "threshold_raw"):
            assert a.report["seeds"][seed][key] == b.report["seeds"][seed][key]
    for seed in ("A_req", "B_req"):
        np.testing.assert_array_equal(a.histograms[seed].background, b.histograms[seed].background)
    assert a.histograms["A_req"].background.sum() == ((pt >= 100) & (np.abs(eta) <= 1.5)).sum()


def test_corrupt_data_pages_are_named_in_the_local_replay(menu_path, tmp_path):
    from l1emu import events

    data = toy_events(6000, seed=61)
    bad = str(tmp_path / "bad.parquet")
    events.write(bad, [data], metadata={"sources": [{"process": "toy", "n_events": 6000}]})
    size = os.path.getsize(bad)
    with open(bad, "r+b") as f:  # the column pages; the footer that info() reads survives
        f.seek(size // 4)
        f.write(np.random.default_rng(0).bytes(size // 3))
    with pytest.raises(ReplayError) as err:
        Menu.load(menu_path).replay([bad])
    assert "bad.parquet" in str(err.value) and "\n" not in str(err.value)
