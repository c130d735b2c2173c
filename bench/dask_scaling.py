"""Crossings/s of the menu replay against Dask worker count (a script, not a pytest-benchmark suite).

    PYTHONPATH=src/python python bench/dask_scaling.py [--files 8] [--events 100000] [--workers 1,2]

A toy menu (an hls4ml MLP 57 -> 32 -> 16 -> 1 on the 57 L1-object inputs, one fixed-threshold and one
rate-solved score seed, a few cut seeds with a prescale) replayed on generated zero-bias files, which are
written once into a cache folder. Timed: the single-process replay (threads=1 and threads=0) and the
distributed replay on a loopback LocalCluster of 1, 2, ... worker processes (one task slot and one emulator
thread each); cluster start-up is timed separately. Every distributed report is checked equal to the local one.
"""

import argparse
import os
import time

import numpy as np

MENU = """
name: bench-dask
bunch_crossing_rate_hz: 28.6e6
algorithms:
  mlp: {model: mlp.l1emu, inputs: l1_objects_57}
seeds:
  L1_SingleJet180: "jet[0].pt >= 180"
  L1_HTT360er: "ht(jet, pt >= 30 and abs(eta) <= 2.4) >= 360"
  L1_DoubleMu_15_7: "mu[0].pt >= 15 and mu[1].pt >= 7"
  L1_SingleEG20: {cut: "eg[0].pt >= 20", prescale: 50}
  L1_MLP_fixed: {score: mlp, threshold: 0.5}
  L1_MLP_1kHz: {score: mlp, rate_hz: 1000}
"""


def build_model(folder):
    import hls4ml
    from tensorflow.keras.layers import Dense, Input
    from tensorflow.keras.models import Model

    x = Input((57,), name="objects")
    h = Dense(32, activation="relu", name="d1")(x)
    h = Dense(16, activation="relu", name="d2")(h)
    model = Model(x, Dense(1, name="out")(h))
    rng = np.random.default_rng(0)
    model.set_weights([rng.normal(0, 0.05, w.shape) for w in model.get_weights()])
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="model", backend="Vitis")
    cfg["Model"]["Precision"] = "ap_fixed<16,8>"
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis",
                                                           output_dir=os.path.join(folder, "prj"))
    import l1emu

    l1emu.from_hls4ml(hls_model).save(os.path.join(folder, "mlp.l1emu"))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=8)
    ap.add_argument("--events", type=int, default=100_000, help="crossings per file")
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--repeat", type=int, default=3, help="best of this many runs per configuration")
    ap.add_argument("--cache", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "l1emu-bench-dask"))
    args = ap.parse_args()

    import distributed

    from l1emu import events
    from l1emu.menu import Menu
    from l1emu.menu.distributed import local_cluster

    os.makedirs(args.cache, exist_ok=True)
    if not os.path.exists(os.path.join(args.cache, "mlp.l1emu")):
        build_model(args.cache)
    menu_path = os.path.join(args.cache, "menu.yaml")
    with open(menu_path, "w") as f:
        f.write(MENU)
    files = []
    for i in range(args.files):
        path = os.path.join(args.cache, f"zb{i}_{args.events}.h5")
        if not os.path.exists(path):
            events.write(path, events.generate("zerobias", args.events, seed=100 + i))
        files.append(path)
    n = args.files * args.events
    menu = Menu.load(menu_path)
    crossings = 2 * n  # a rate-solved seed: two passes over the background

    rows = []
    def best(run, cpu):
        """(result, best wall time, CPU seconds of that run): CPU time stays meaningful on a loaded machine."""
        runs = []
        for _ in range(args.repeat):
            c, t = cpu(), time.perf_counter()
            out = run()
            runs.append((time.perf_counter() - t, cpu() - c))
        dt, used = min(runs)
        return out, dt, used

    for threads in (1, 0):
        local, dt, used = best(lambda: menu.replay(files, threads=threads), time.process_time)
        rows.append((f"single process, threads={threads}", dt, used))
    for w in [int(x) for x in args.workers.split(",")]:
        t = time.perf_counter()
        with local_cluster(w) as cluster, distributed.Client(cluster) as client:
            startup = time.perf_counter() - t
            menu.replay(files[:1], dask=client)  # warm: workers import l1emu and unpickle a menu once
            def cpu():
                return time.process_time() + sum(client.run(time.process_time).values())

            res, dt, used = best(lambda: menu.replay(files, dask=client), cpu)
        assert res.report == local.report, "distributed report differs from the local one"
        rows.append((f"dask, {w} worker(s) x 1 thread (start-up {startup:.1f} s)", dt, used))
    print(f"{args.files} files x {args.events:,} crossings, 2 passes = {crossings:,} crossings replayed; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}; best of {args.repeat}")
    print(f"  {'':<50s} {'wall':>9s}  {'crossings/s':>12s}  {'CPU (client+workers)':>20s}  {'per CPU-s':>10s}")
    for name, dt, used in rows:
        print(f"  {name:<50s} {dt:7.2f} s  {crossings / dt:>12,.0f}  {used:>18.2f} s  {crossings / used:>10,.0f}")


if __name__ == "__main__":
    main()
