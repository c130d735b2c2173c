"""The replay on a Dask distributed cluster (loopback LocalCluster, 2 worker processes): the same report and
histograms as the single-process replay, bit for bit, on several shard layouts; a worker killed mid-run
changes nothing; a corrupt shard fails the run naming the file; an interrupt cancels every task."""

import json
import os
import pickle
import signal
import sys

import numpy as np
import pytest

import distributed

import l1emu  # noqa: E402
from l1emu import events  # noqa: E402
from l1emu.menu import Menu, ReplayError  # noqa: E402

from .cases.menu import MENU, toy_events

TIME_LIMIT_S = 180


@pytest.fixture(autouse=True)
def time_limit():
    """Every test here is bounded in time (no pytest-timeout in the stack): SIGALRM fails it."""
    def expired(signum, frame):
        raise TimeoutError(f"test exceeded {TIME_LIMIT_S} s")
    old = signal.signal(signal.SIGALRM, expired)
    signal.alarm(TIME_LIMIT_S)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(processes=True, n_workers=2, threads_per_worker=1, host="127.0.0.1",
                                       dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture(scope="module")
def menu_path(toy_model):
    path = toy_model.parent / "menu.yaml"
    path.write_text(MENU)
    return path


def _write(folder, name, sizes, seed, fmt="h5"):
    """Files of the given sizes cut from one stream of events."""
    data = toy_events(sum(sizes), seed)
    paths, start = [], 0
    for i, n in enumerate(sizes):
        part = {k: v[start:start + n] for k, v in data.items()}
        start += n
        paths.append(str(folder / f"{name}{i}.{fmt}"))
        events.write(paths[-1], [part], metadata={"sources": [{"process": "toy", "n_events": n}]})
    return paths


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shards")
    return {
        "one": _write(folder, "one", [25_000], 41),
        "three": _write(folder, "three", [4_000, 12_345, 8_655], 42),
        "three_joined": _write(folder, "joined", [25_000], 42),
        "five": _write(folder, "five", [1, 9_000, 3_333, 7_000, 5_666], 43, fmt="parquet"),
        "sig": _write(folder, "sig", [3_000, 4_500], 44),
        "sig2": _write(folder, "sig2", [2_222], 45, fmt="parquet"),
    }


def _diff(a, b, where=""):
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b), key=str) for d in _diff(a.get(k), b.get(k), f"{where}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _diff(x, y, f"{where}[{i}]")]
    return [] if a == b else [f"{where}: {a!r} != {b!r}"]


def _assert_same(a, b):
    assert a.report == b.report, [d for d in _diff(a.report, b.report) if "overlap" not in d and "pileup" not in d][:12]
    assert json.dumps(a.report, sort_keys=True) == json.dumps(b.report, sort_keys=True)
    assert set(a.histograms) == set(b.histograms)
    for name, h in a.histograms.items():
        g = b.histograms[name]
        assert (h.lsb, h.code_min, h.n_background, h.n_signals, h.threshold_raw) == \
               (g.lsb, g.code_min, g.n_background, g.n_signals, g.threshold_raw), name
        np.testing.assert_array_equal(h.background, g.background)
        assert set(h.signals) == set(g.signals)
        for k in h.signals:
            np.testing.assert_array_equal(h.signals[k], g.signals[k])
    for sample, c in a.counts.items():
        d = b.counts[sample]
        for field in ("n_events", "unprescaled", "prescaled", "pure", "overlap", "multiplicity", "total",
                      "pileup_events", "pileup_counts"):
            np.testing.assert_array_equal(getattr(c, field), getattr(d, field), err_msg=f"{sample}.{field}")


def test_menu_and_emulator_pickle(menu_path):
    menu = Menu.load(menu_path)
    again = pickle.loads(pickle.dumps(menu))
    x = np.random.default_rng(1).uniform(0, 1, (100, 16))
    np.testing.assert_array_equal(again.algorithms["toy"].emulator.predict_raw(x),
                                  menu.algorithms["toy"].emulator.predict_raw(x))
    assert again.order() == menu.order()
    assert [s.threshold_raw for s in again.seeds.values()] == [s.threshold_raw for s in menu.seeds.values()]


@pytest.mark.parametrize("layout", ["one", "three", "five"])
def test_identical_to_single_process(client, menu_path, samples, layout, report):
    menu = Menu.load(menu_path)
    sigs = {"sig": samples["sig"], "sig2": samples["sig2"]}
    local = menu.replay(samples[layout], signals=sigs, chunk_size=4000)
    ticks = []
    dist = menu.replay(samples[layout], signals=sigs, chunk_size=4000, dask=client, progress=ticks.append)
    _assert_same(local, dist)
    n_bkg = local.report["background"]["n_events"]
    n_sig = sum(v["n_events"] for v in local.report["signals"].values())
    assert sum(ticks) == 2 * n_bkg + n_sig  # pass 1 (a rate-solved seed) + pass 2, one tick per shard
    assert len(ticks) == 2 * len(samples[layout]) + 3
    assert dist.report["seeds"]["A_1MHz"]["threshold_raw"] is not None
    assert dist.report["background"]["files"] == samples[layout]
    if layout == "three":  # the threshold is solved from the histograms of all shards, merged
        joined = menu.replay(samples["three_joined"], dask=client).report["seeds"]["A_1MHz"]
        assert dist.report["seeds"]["A_1MHz"]["threshold_raw"] == joined["threshold_raw"]
        assert dist.report["seeds"]["A_1MHz"]["count"] == joined["count"]
        assert menu.replay(samples["three_joined"]).report["seeds"]["A_1MHz"] == joined
    report(f"dask replay == single-process replay ({layout}: {len(samples[layout])} background shards, "
           f"{n_bkg} crossings, thresholds and histograms included)")


def test_identical_with_a_prescale_column_and_chunking(client, menu_path, samples):
    menu = Menu.load(menu_path)
    local = menu.replay(samples["three"], chunk_size=999, column="tight")
    dist = menu.replay(samples["three"], chunk_size=999, column="tight", dask=client, threads=2)
    _assert_same(local, dist)
    assert dist.report["seeds"]["J50"]["count"] == 0


class KillOnce(distributed.WorkerPlugin):
    """Kills its worker process (no cleanup, as a crash or an OOM kill would) the first time any worker
    starts a pass-2 task; the marker file makes it happen once in the whole cluster."""

    def __init__(self, marker):
        self.marker = marker

    def setup(self, worker):
        self.worker = worker

    def transition(self, key, start, finish, **kwargs):
        if finish == "executing" and "l1emu-count" in str(key):
            try:
                fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(fd, str(key).encode())
            os.close(fd)
            os._exit(1)


def test_worker_killed_mid_run_changes_nothing(client, menu_path, samples, tmp_path):
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])  # workers need not import the tests
    menu = Menu.load(menu_path)
    sigs = {"sig": samples["sig"]}
    local = menu.replay(samples["five"], signals=sigs, chunk_size=2000)
    marker = str(tmp_path / "killed")
    before = set(client.scheduler_info()["workers"])
    client.register_plugin(KillOnce(marker), name="kill-once")
    try:
        dist = menu.replay(samples["five"], signals=sigs, chunk_size=2000, dask=client)
    finally:
        client.unregister_worker_plugin("kill-once")
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    assert os.path.exists(marker), "no worker was killed"
    client.wait_for_workers(2, timeout=60)
    assert set(client.scheduler_info()["workers"]) != before  # the nanny replaced the dead worker
    _assert_same(local, dist)


def _corrupt_parquet(path):
    """Overwrite the middle of the file (the column data pages; the footer, which info() reads, survives)."""
    size = os.path.getsize(path)
    with open(path, "r+b") as f:
        f.seek(size // 4)
        f.write(os.urandom(size // 3))


def test_corrupt_shard_fails_the_run_naming_it(client, menu_path, samples, tmp_path):
    good = samples["three"]
    bad = _write(tmp_path, "bad", [6000], 46, fmt="parquet")[0]
    _corrupt_parquet(bad)
    l1emu.events.info(bad)  # the client's check before the run cannot see it: only reading the data does
    menu = Menu.load(menu_path)
    with pytest.raises(ReplayError) as err:
        menu.replay([good[0], bad, good[1]], dask=client)
    assert bad in str(err.value) and "background" in str(err.value)
    assert "\n" not in str(err.value)
    with pytest.raises(ReplayError, match="sample 'sig'.*" + os.path.basename(bad)):
        menu.replay(good, signals={"sig": [bad]}, dask=client)
    # a truncated file is refused before any task runs, as the local replay refuses it
    trunc = str(tmp_path / "trunc.h5")
    with open(good[0], "rb") as src, open(trunc, "wb") as dst:
        dst.write(src.read()[:5000])
    with pytest.raises(ReplayError, match="trunc.h5"):
        menu.replay([good[0], trunc], dask=client)
    _assert_no_tasks_left(client)


def _assert_no_tasks_left(client, timeout=10):
    import time

    deadline = time.time() + timeout
    while True:
        left = client.run_on_scheduler(
            lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks if "l1emu" in str(k)])
        if not left or time.time() > deadline:
            break
        time.sleep(0.1)
    assert not left, left


def test_interrupt_cancels_every_task(client, menu_path, samples):
    menu = Menu.load(menu_path)

    def interrupt(n):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        menu.replay(samples["five"], signals={"sig": samples["sig"]}, dask=client, progress=interrupt)
    _assert_no_tasks_left(client)
    # and the client still works
    _assert_same(menu.replay(samples["one"]), menu.replay(samples["one"], dask=client))


def test_refusals(client, menu_path, samples, tmp_path):
    menu = Menu.load(menu_path)
    with pytest.raises(ReplayError, match="decisions"):
        menu.replay(samples["one"], dask=client, decisions=tmp_path / "d.h5")
    with pytest.raises(ReplayError, match="event files"):
        menu.replay([toy_events(100, 1)], dask=client)
    with pytest.raises(ReplayError, match="distributed.Client"):
        menu.replay(samples["one"], dask="tcp://127.0.0.1:8786")
    assert not os.listdir(tmp_path)


def test_cli_workers_and_dask_address(client, menu_path, samples, tmp_path):
    from click.testing import CliRunner

    from l1emu.cli import main

    runner = CliRunner()
    args = ["replay", str(menu_path), *samples["three"], "-s", f"sig={samples['sig'][0]}", "-s",
            f"sig={samples['sig'][1]}", "--no-plots", "--chunk-size", "3000"]
    outs = {}
    for name, extra in [("local", []), ("workers", ["--workers", "2"]),
                        ("dask", ["--dask", client.scheduler.address])]:
        r = runner.invoke(main, args + ["-o", str(tmp_path / name)] + extra)
        assert r.exit_code == 0, r.output
        outs[name] = (tmp_path / name / "report.json").read_text()
        assert (tmp_path / name / "rates.csv").read_text() == (tmp_path / "local" / "rates.csv").read_text()
    assert outs["local"] == outs["workers"] == outs["dask"]
    r = runner.invoke(main, args + ["-o", str(tmp_path / "x"), "--workers", "2", "--decisions", str(tmp_path / "d.h5")])
    assert r.exit_code == 2 and "--decisions" in r.output
    r = runner.invoke(main, args + ["-o", str(tmp_path / "y"), "--workers", "2", "--dask", "tcp://127.0.0.1:1"])
    assert r.exit_code == 2 and "exclude" in r.output
    r = runner.invoke(main, args + ["-o", str(tmp_path / "z"), "--dask", "tcp://127.0.0.1:1"])
    assert r.exit_code == 2 and "cannot connect" in r.output
    assert not os.path.exists(tmp_path / "x") and not os.path.exists(tmp_path / "z")


def test_generate_files_on_the_cluster(client, tmp_path):
    from l1emu.menu.distributed import generate_files

    paths = [tmp_path / "zb_0.h5", tmp_path / "zb_1.parquet", tmp_path / "zb_2.h5"]
    ticks = []
    out = generate_files(client, "zerobias", paths, 3000, seed=7, pileup=40, progress=ticks.append)
    assert out == [str(p) for p in paths] and sum(ticks) == 9000
    for i, p in enumerate(paths):
        want = events.generate_all("zerobias", 3000, 7 + i, pileup=40)
        got = events.read(str(p))
        assert set(got) == set(want)
        for k in want:
            np.testing.assert_array_equal(got[k], want[k], err_msg=f"{p.name}:{k}")
        assert events.info(str(p))["n_events"] == 3000
    with pytest.raises(ReplayError, match="exists"):
        generate_files(client, "zerobias", paths[:1], 10)
    with pytest.raises(l1emu.L1emuError, match="nope"):
        generate_files(client, "nope", [tmp_path / "x.h5"], 10)
    assert not os.path.exists(tmp_path / "x.h5")
    assert not [p for p in os.listdir(tmp_path) if p.startswith(".")]  # no temporaries left
