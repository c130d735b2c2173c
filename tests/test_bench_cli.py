"""`l1emu bench`: every selected workload and anchor has its row, the firmware-arithmetic anchors (hls4ml csim,
the natively compiled firmware loop, conifer cpp) are checked bit-exact against l1emu and pass, the JSON
report has its schema, and bad arguments are one-line errors with exit status 2. Correctness only: no
timing is asserted (tiny event counts)."""

import json
import os
import sys

import numpy as np
import pytest
from click.testing import CliRunner

from l1emu import bench
from l1emu.cli import main

MODELS = os.path.join(os.path.dirname(__file__), "..", "models")
NN_ANCHORS = {"hls4ml csim", "native -O3 loop", "QKeras/TF", "TF XLA-jit"}


@pytest.mark.xdist_group("bench")
def test_bench_rows_bit_exact_and_json(tmp_path):
    out = tmp_path / "bench.json"
    only = ["mlp", "bdt", "bdt_xgb", "menu", "menu_goal"]
    r = CliRunner().invoke(main, ["bench", "--only", ",".join(only), "--events", "300", "--models", MODELS,
                                  "--json", str(out)])
    assert r.exit_code == 0, r.output
    rep = json.loads(out.read_text())
    assert rep["format"] == "l1emu-bench" and rep["version"] == 1 and rep["quick"] is False
    assert rep["machine"]["cpu"] == bench.cpu_name() and rep["machine"]["threads"] == os.cpu_count()
    assert list(rep["workloads"]) == only
    for name, w in rep["workloads"].items():
        assert w["status"] == "ok", (name, w["detail"])
        assert w["n_events"] == 300 and w["events_per_s"] > 0
        for a in w["anchors"].values():
            assert a["status"] == "ok" and a["events_per_s"] > 0 and a["ratio"] > 0, (name, a)
            assert a["n_events"] == 300
    mlp = rep["workloads"]["mlp"]
    assert set(mlp["anchors"]) == NN_ANCHORS
    assert mlp["anchors"]["hls4ml csim"]["bit_exact"] is True and mlp["anchors"]["native -O3 loop"]["bit_exact"] is True
    assert mlp["anchors"]["QKeras/TF"]["bit_exact"] is None  # float: not compared code for code
    assert set(mlp["latency_us"]) == {"batch1", "batched"} and mlp["latency_us"]["batch1"]["batch"] == 1
    assert all(0 < lat["p50"] <= lat["p99"] for lat in mlp["latency_us"].values())
    for name, lib in (("bdt", "scikit-learn"), ("bdt_xgb", "xgboost")):
        anchors = rep["workloads"][name]["anchors"]
        assert set(anchors) == {"conifer cpp", lib} and anchors["conifer cpp"]["bit_exact"] is True
    for name in ("menu", "menu_goal"):
        menu = rep["workloads"][name]
        assert menu["unit"] == "crossings" and menu["peak_rss_mb"]["300"] > 0
    # the printed table: the CPU in its title, a row per workload and anchor
    assert bench.cpu_name() in r.output
    for name, w in rep["workloads"].items():
        assert name in r.output and all(a in r.output for a in w["anchors"])


def test_bench_comparison_sees_one_lsb():
    """The check the firmware anchors pass is able to fail: outputs one LSB off are counted per event."""
    from l1emu import load

    emu = load(os.path.join(MODELS, "jet_tagger.l1emu"))
    X = np.random.default_rng(0).normal(0, 2, (200, 16))
    y = emu.predict(X)
    assert bench._mismatched(emu, X, y) == 0
    off = y.copy()
    off[::4, 2] += 2.0 ** -emu.output_precisions()[0].frac
    assert bench._mismatched(emu, X, off) == 50


def test_bench_missing_packages_are_named_and_the_rest_runs(monkeypatch):
    """Without hls4ml the MLP still runs from its .l1emu file, its four anchors say what to install; without
    xgboost the xgboost BDT says so while the scikit-learn BDT runs."""
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "hls4ml", None)  # import hls4ml -> ImportError
        rep = bench.run(["mlp"], events=200, model_dir=MODELS)
    mlp = rep["workloads"]["mlp"]
    assert mlp["status"] == "ok" and mlp["events_per_s"] > 0 and set(mlp["anchors"]) == NN_ANCHORS
    assert all(a["status"] == "missing" and "pip install 'l1emu[hls4ml]'" in a["detail"]
               for a in mlp["anchors"].values())
    assert bench.table(rep).row_count == 4
    with monkeypatch.context() as m:
        m.setitem(sys.modules, "xgboost", None)
        rep = bench.run(["bdt_xgb", "bdt"], events=200, model_dir=MODELS)
    xgb = rep["workloads"]["bdt_xgb"]
    assert xgb["status"] == "missing" and xgb["detail"] == "needs xgboost (pip install 'l1emu[conifer]')"
    assert rep["workloads"]["bdt"]["status"] == "ok"
    assert rep["workloads"]["bdt"]["anchors"]["conifer cpp"]["bit_exact"] is True


def test_bench_registry_is_the_documented_list():
    assert bench.WORKLOADS == ("mlp", "vae", "deepsets", "conv", "narrow_conv", "bdt", "bdt_xgb", "menu", "menu_goal")
    r = CliRunner().invoke(main, ["bench", "--help"])
    assert all(name in r.output for name in bench.WORKLOADS)


@pytest.mark.parametrize("args, message", [
    (["--only", "mlp,nope"], "unknown workload(s) 'nope'"),
    (["--only", ","], "--only: give at least one workload name"),
    (["--events", "0"], "--events must be >= 1"),
    (["--threads", "-1"], "--threads must be >= 0"),
    (["--json", "/nonexistent-dir/b.json"], "/nonexistent-dir"),
    (["--only", "mlp", "--models", "/nonexistent-models"], "no jet_tagger.l1emu there"),
])
def test_bench_bad_arguments(args, message):
    r = CliRunner().invoke(main, ["bench", *args])
    assert r.exit_code == 2, r.output
    assert message in r.output and "Traceback" not in r.output and len(r.output.strip().splitlines()) == 1, r.output
