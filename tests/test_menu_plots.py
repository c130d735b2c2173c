"""l1emu.menu.plots: AUC / ROC helpers against brute force, and every plot written on fake replay results."""

from __future__ import annotations

import itertools
import struct
import zlib
from types import SimpleNamespace

import numpy as np
import pytest

from l1emu.menu import plots

BX = 28.6e6
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ------------------------------------------------------------------------------------------------
# fakes


def make_hist(rng, *, code_min=0, n_codes=200, n_bkg=20000, signals=None, require_frac=1.0,
              threshold_raw=None, lsb=0.125, budget=None, p=0.05):
    """A score histogram: background codes ~ geometric, each signal a shifted geometric."""
    signals = {"ttbar": (40, 3000), "HToBB": (80, 1500)} if signals is None else signals

    def sample(n, shift):
        n_pass = int(round(n * require_frac))
        codes = np.minimum(rng.geometric(p, size=n_pass) - 1 + shift, n_codes - 1)
        return np.bincount(codes, minlength=n_codes).astype(np.int64)

    return SimpleNamespace(
        lsb=lsb, code_min=code_min, background=sample(n_bkg, 0),
        signals={name: sample(n, shift) for name, (shift, n) in signals.items()},
        n_background=n_bkg, n_signals={name: n for name, (shift, n) in signals.items()},
        threshold_raw=threshold_raw, rate_budget_hz=budget,
    )


def seed_entry(h, prescale=1.0, kind="score", budget=None):
    if h is None:
        count, rate = 1000, 1000 / 20000 * BX
        thr = thr_raw = None
    else:
        thr_raw = h.threshold_raw
        count = int(h.background[max(thr_raw - h.code_min, 0):].sum()) if thr_raw is not None else 0
        rate = count / max(h.n_background, 1) * BX / prescale
        thr = None if thr_raw is None else thr_raw * h.lsb
    return {"prescale": prescale, "count": count, "count_unprescaled": count, "rate_hz": rate,
            "rate_err_hz": [rate * 0.9, rate * 1.1], "pure_count": count // 2, "pure_rate_hz": rate / 2,
            "threshold": thr, "threshold_raw": thr_raw, "efficiency": {}, "kind": kind,
            "rate_budget_hz": budget}


def make_result(rng, *, n_seeds_cut=4, score_seeds=None, pileup=True, n_bkg=20000, menu="demo"):
    if score_seeds is None:
        score_seeds = {
            "L1_AD_1kHz": make_hist(rng, threshold_raw=120, budget=1000.0, n_bkg=n_bkg),
            "L1_TopTag": make_hist(rng, threshold_raw=60, require_frac=0.3, n_bkg=n_bkg, code_min=-10,
                                   lsb=1 / 256),
        }
    seeds = {f"L1_Cut{i}_{'x' * (i * 12)}": seed_entry(None, kind="cut") for i in range(n_seeds_cut)}
    for name, h in score_seeds.items():
        seeds[name] = seed_entry(h, prescale=2.0 if name == "L1_TopTag" else 1.0, budget=h.rate_budget_hz)
    names = list(seeds)
    n = len(names)
    ov = rng.integers(0, 500, size=(n, n))
    ov = np.minimum(ov, ov.T)
    diag = rng.integers(500, 2000, size=n)
    ov[np.arange(n), np.arange(n)] = diag
    if n > 1:
        ov[1, :] = 0
        ov[:, 1] = 0  # a seed that never fired: its row is 0 / 0
    report = {
        "format": "l1emu-rates", "version": 1, "menu": menu, "bunch_crossing_rate_hz": BX,
        "background": {"files": ["bkg.h5"], "n_events": n_bkg},
        "signals": {s: {"files": [f"{s}.h5"], "n_events": 1000} for s in ("ttbar", "HToBB")},
        "seeds": seeds,
        "total": {"count": 5000, "rate_hz": 5000 / n_bkg * BX, "rate_err_hz": [1, 2], "efficiency": {}},
        "overlap": {"seeds": names, "counts": ov.tolist()},
    }
    if pileup:
        edges = [0.0, 20.0, 40.0, 60.0, 80.0, 100.0, 140.0, 200.0]
        n_ev = [0, 500, 3000, 8000, 6000, 2000, 500]  # first bin empty
        counts = {s: [int(rng.binomial(m, rng.uniform(0.001, 0.1))) for m in n_ev] for s in names}
        counts[names[0]] = [0] * len(n_ev)  # a seed that never fires
        counts["total"] = [int(rng.binomial(m, 0.2)) for m in n_ev]
        report["pileup"] = {"edges": edges, "n_events": n_ev, "counts": counts}
    return SimpleNamespace(report=report, histograms=score_seeds)


def assert_png(path, min_bytes=5000):
    data = open(path, "rb").read()
    assert data[:8] == PNG_MAGIC, path
    assert len(data) > min_bytes, (path, len(data))
    # IHDR: width, height
    assert data[12:16] == b"IHDR"
    w, h = struct.unpack(">II", data[16:24])
    assert 400 <= w <= 6000 and 400 <= h <= 6000, (path, w, h)
    # last chunk is IEND with a valid CRC: the file was written completely
    assert data[-12:-8] == b"\x00\x00\x00\x00" and data[-8:-4] == b"IEND"
    assert struct.unpack(">I", data[-4:])[0] == zlib.crc32(b"IEND")
    return w, h


# ------------------------------------------------------------------------------------------------
# AUC / ROC


def brute_force_auc(bkg_scores, sig_scores):
    total = 0.0
    for s, b in itertools.product(sig_scores, bkg_scores):
        total += 1.0 if s > b else (0.5 if s == b else 0.0)
    return total / (len(sig_scores) * len(bkg_scores))


def test_auc_matches_brute_force_on_random_integer_samples():
    rng = np.random.default_rng(1234)
    for trial in range(200):
        n_codes = int(rng.integers(1, 8))  # few codes: many ties
        bkg = rng.integers(0, n_codes, size=int(rng.integers(1, 30)))
        sig = rng.integers(0, n_codes, size=int(rng.integers(1, 30))) + int(rng.integers(0, 3))
        sig = np.minimum(sig, n_codes - 1)
        hb = np.bincount(bkg, minlength=n_codes)
        hs = np.bincount(sig, minlength=n_codes)
        got = plots.auc(hb, hs)
        assert got == pytest.approx(brute_force_auc(bkg, sig), abs=1e-12), trial


def test_auc_failing_require_counts_as_lowest_score():
    rng = np.random.default_rng(7)
    for trial in range(100):
        n_codes = int(rng.integers(1, 6))
        bkg = rng.integers(0, n_codes, size=int(rng.integers(0, 20)))
        sig = rng.integers(0, n_codes, size=int(rng.integers(0, 20)))
        nb_fail, ns_fail = int(rng.integers(0, 10)), int(rng.integers(0, 10))
        if len(bkg) + nb_fail == 0 or len(sig) + ns_fail == 0:
            continue
        hb = np.bincount(bkg, minlength=n_codes)
        hs = np.bincount(sig, minlength=n_codes)
        got = plots.auc(hb, hs, n_background=len(bkg) + nb_fail, n_signal=len(sig) + ns_fail)
        want = brute_force_auc(np.concatenate([bkg, [-1] * nb_fail]), np.concatenate([sig, [-1] * ns_fail]))
        assert got == pytest.approx(want, abs=1e-12), trial


def test_auc_trivial_cases():
    h = np.array([3, 0, 7, 1, 9])
    assert plots.auc(h, h) == 0.5
    assert plots.auc(h, 5 * h) == 0.5
    assert plots.auc([4, 2, 0, 0], [0, 0, 1, 6]) == 1.0
    assert plots.auc([0, 0, 1, 6], [4, 2, 0, 0]) == 0.0
    assert plots.auc([0, 5, 0], [0, 3, 0]) == 0.5  # all tied
    assert np.isnan(plots.auc([0, 0], [1, 2]))
    assert np.isnan(plots.auc([1, 2], [0, 0]))
    # large counts: exact, no overflow
    big = np.array([2**40, 2**40], dtype=np.int64)
    assert plots.auc(big, big) == 0.5
    assert plots.auc(np.array([2**40, 0]), np.array([0, 2**40])) == 1.0


def test_auc_rejects_bad_input():
    with pytest.raises(ValueError):
        plots.auc([1, 2], [1, 2, 3])
    with pytest.raises(ValueError):
        plots.auc([1, -2], [1, 2])
    with pytest.raises(ValueError):
        plots.auc([1, 2], [1, 2], n_background=2)  # fewer than the histogram holds


def test_roc_points_efficiencies_and_area():
    rng = np.random.default_rng(5)
    h = make_hist(rng, n_codes=30, n_bkg=3000, require_frac=0.6, p=0.2,
                  signals={"a": (5, 800), "empty": (0, 0), "same": (0, 3000)})
    bkg_eff, sig_eff = plots.roc_points(h)
    assert bkg_eff.shape == (31,) and set(sig_eff) == {"a", "empty", "same"}
    # independent: efficiency at each threshold code by direct comparison of per-event codes
    codes = np.repeat(np.arange(30), h.background)
    for t in range(31):
        assert bkg_eff[t] == pytest.approx(np.count_nonzero(codes >= t) / h.n_background)
    assert bkg_eff[0] == pytest.approx(h.background.sum() / h.n_background)
    assert bkg_eff[-1] == 0.0 and sig_eff["a"][-1] == 0.0
    assert np.all(np.diff(bkg_eff) <= 0) and np.all(np.diff(sig_eff["a"]) <= 0)
    assert np.all(np.isnan(sig_eff["empty"]))
    # area under the ROC (with the accept-everything point) == auc with failing events at the bottom
    x = np.concatenate([[1.0], bkg_eff])
    y = np.concatenate([[1.0], sig_eff["a"]])
    area = float(np.sum((x[:-1] - x[1:]) * (y[:-1] + y[1:]) / 2))
    want = plots.auc(h.background, h.signals["a"], h.n_background, h.n_signals["a"])
    assert area == pytest.approx(want, abs=1e-12)
    assert 0.55 < want < 1.0


def test_rate_curve_reverse_cumsum_and_wilson():
    h = SimpleNamespace(lsb=0.5, code_min=10, background=np.array([5, 0, 3, 2]), signals={},
                        n_background=20, n_signals={}, threshold_raw=12, rate_budget_hz=None)
    codes, rate, lo, hi = plots.rate_curve(h, 1000.0, prescale=2.0)
    assert codes.tolist() == [10, 11, 12, 13, 14]
    assert rate.tolist() == pytest.approx([10 / 20 * 500, 5 / 20 * 500, 5 / 20 * 500, 2 / 20 * 500, 0.0])
    assert np.all(lo <= rate + 1e-12) and np.all(hi >= rate - 1e-12)
    assert lo[-1] == 0.0 and hi[-1] > 0.0  # zero passing: the band still has an upper edge
    # Wilson, z = 1, k = 5, n = 20 by hand
    p, n = 0.25, 20
    c = (p + 1 / (2 * n)) / (1 + 1 / n)
    d = np.sqrt(p * (1 - p) / n + 1 / (4 * n * n)) / (1 + 1 / n)
    wl, wh = plots.wilson_interval(5, 20)
    assert (float(wl), float(wh)) == pytest.approx((c - d, c + d))
    assert np.all(np.isnan(plots.wilson_interval(0, 0)))


def test_safe_name():
    assert plots.safe_name("L1_AD_1kHz") == "L1_AD_1kHz"
    assert plots.safe_name("jettag[t] >= 0.8 / x") == "jettag_t_____0.8___x"
    assert plots.safe_name("") == "_"
    assert plots.safe_name("a-b.c") == "a-b.c"


# ------------------------------------------------------------------------------------------------
# plots


def test_write_plots_full_menu(tmp_path):
    import matplotlib
    import matplotlib.pyplot as plt

    rng = np.random.default_rng(42)
    res = make_result(rng)
    rc_before = dict(matplotlib.rcParams)
    figs_before = plt.get_fignums()
    out = tmp_path / "plots"
    paths = plots.write_plots(res, out)
    names = sorted(p.rsplit("/", 1)[-1] for p in paths)
    assert names == sorted([
        "rate_vs_threshold_L1_AD_1kHz.png", "roc_L1_AD_1kHz.png", "score_L1_AD_1kHz.png",
        "rate_vs_threshold_L1_TopTag.png", "roc_L1_TopTag.png", "score_L1_TopTag.png",
        "overlap.png", "rate_vs_pileup.png",
    ])
    assert sorted(f.name for f in out.iterdir()) == names
    for p in paths:
        assert_png(p, min_bytes=15000)
    # no figure left open, user's rcParams untouched
    assert plt.get_fignums() == figs_before
    assert {k: v for k, v in matplotlib.rcParams.items() if k != "backend"} == \
        {k: v for k, v in rc_before.items() if k != "backend"}


def test_write_plots_edge_cases(tmp_path):
    rng = np.random.default_rng(3)
    n = 200
    nothing = make_hist(rng, threshold_raw=50, budget=10.0)
    nothing.background[:] = 0  # no background event passes require
    empty_signal = make_hist(rng, threshold_raw=5000, signals={"none": (0, 0), "ok": (10, 100)})
    below = make_hist(rng, threshold_raw=-100, signals={})
    no_thr = make_hist(rng, threshold_raw=None, signals={})
    blank = SimpleNamespace(lsb=1.0, code_min=0, background=np.zeros(n, np.int64), signals={"s": np.zeros(n, np.int64)},
                            n_background=0, n_signals={"s": 0}, threshold_raw=None, rate_budget_hz=None)
    long_name = "L1_" + "VeryLongSeedName/with spaces&symbols" * 6
    hists = {"L1_NoBkg": nothing, "L1_EmptySig": empty_signal, "L1 below/thr": below, "L1:no_thr": no_thr,
             "L1_Blank": blank, long_name: make_hist(rng, threshold_raw=30)}
    res = make_result(rng, score_seeds=hists, n_seeds_cut=25, pileup=False)
    paths = plots.write_plots(res, tmp_path)
    names = {p.rsplit("/", 1)[-1] for p in paths}
    assert "rate_vs_pileup.png" not in names and "overlap.png" in names
    assert "score_L1_below_thr.png" in names and "roc_L1_no_thr.png" in names
    long_files = [n for n in names if n.startswith("roc_L1_VeryLong")]
    assert len(long_files) == 1 and len(long_files[0]) < 140, long_files
    assert len(paths) == 3 * len(hists) + 1
    for p in paths:
        w, h = assert_png(p)
        assert max(w, h) < 6000


def test_write_plots_one_seed_no_signals_and_name_collisions(tmp_path):
    rng = np.random.default_rng(11)
    h = make_hist(rng, threshold_raw=20, signals={})
    res = make_result(rng, score_seeds={"L1 A": h}, n_seeds_cut=0, pileup=True)
    paths = plots.write_plots(res, tmp_path / "a")
    assert {p.rsplit("/", 1)[-1] for p in paths} == {
        "rate_vs_threshold_L1_A.png", "roc_L1_A.png", "score_L1_A.png", "overlap.png", "rate_vs_pileup.png"}
    for p in paths:
        assert_png(p)
    # two names that sanitize alike do not overwrite each other
    res2 = make_result(rng, score_seeds={"L1 A": h, "L1/A": make_hist(rng, threshold_raw=20)}, n_seeds_cut=0)
    paths2 = plots.write_plots(res2, tmp_path / "b")
    assert len(paths2) == len(set(paths2)) == 8


def test_write_plots_without_report_extras(tmp_path):
    rng = np.random.default_rng(2)
    h = make_hist(rng, threshold_raw=10)
    res = SimpleNamespace(report={"bunch_crossing_rate_hz": BX, "seeds": {}}, histograms={"s": h})
    paths = plots.write_plots(res, tmp_path)
    assert sorted(p.rsplit("/", 1)[-1] for p in paths) == ["rate_vs_threshold_s.png", "roc_s.png", "score_s.png"]
    assert plots.write_plots(SimpleNamespace(report={}, histograms={}), tmp_path / "x") == []
