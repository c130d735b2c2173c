"""``l1emu demo``: the bundled reference menu (models/menu.yaml) replayed on simulated zero-bias crossings and
BSM/SM signal samples. The anomaly seeds are solved to their rate budgets, rates and efficiencies are
printed and plotted, and a sample of events of every model is checked against its firmware reference
(hls4ml C simulation or conifer's cpp backend) inside the run."""

import os
import time

import numpy as np

SIGNALS = ["ato4l", "lqtobtau", "htotautau", "hptotaunu", "hh4b", "ttbar", "topjet"]  # topjet: boosted tops, for the taggers
BACKGROUND_SEED, SIGNAL_SEED = 1, 2  # the models are trained on seeds >= 100 (models/README.md)


def _cache():
    from .reference import cache

    return os.path.join(cache.root(), "demo")


def _sample(process, n, seed, fields, echo, progress):
    """An event file of ``process`` with the menu's fields, generated once and reused (keyed by the
    generator version, the process, seed, size and fields). Returns (path, whether it was generated now)."""
    from . import events
    from .reference import cache

    keep = set(fields) | {"event", "label", "n_pileup"}
    made = []

    def generate(tmp):
        stream = events.generate(process, n, seed, with_constituents=True, with_images="calo_regions" in keep)
        chunks = ({k: v for k, v in chunk.items() if k in keep} for chunk in stream)
        events.write(tmp, chunks, metadata=stream.metadata, progress=progress)
        made.append(tmp)

    path = cache.cached_build("demo", [" ".join(sorted(fields))], generate,
                              name=f"{process}-s{seed}-n{n}-{events.VERSION}", suffix=".h5", digits=8)
    return path, bool(made)


def run(model_dir="models", n_events=1_000_000, signal_events=20_000, out="demo-out", check_events=2000,
        threads=0, echo=print, progress_factory=None):
    from . import events
    from .menu import Menu, inputs
    from .menu.plots import plots_available
    from .menu.replay import needed_fields
    from .validate import references, validate

    t_start = time.perf_counter()
    menu_path = os.path.join(model_dir, "menu.yaml")
    menu = Menu.load(menu_path, threads=threads)
    echo(f"menu {menu.name!r}: {len(menu.seeds)} seeds, {len(menu.algorithms)} emulated models "
         f"({', '.join(menu.algorithms)}), {menu.bunch_crossing_rate_hz / 1e6:.2f} MHz crossings")
    fields = needed_fields(menu)

    # 1. samples (generated once, then reused)
    progress = progress_factory or (lambda total, label: (lambda n: None))
    bkg, made = _sample("zerobias", n_events, BACKGROUND_SEED, fields, echo,
                        progress(n_events, f"generate zerobias ({n_events:,})"))
    signals = {}
    for name in SIGNALS:
        signals[name], _ = _sample(name, signal_events, SIGNAL_SEED, fields, echo,
                                   progress(signal_events, f"generate {name} ({signal_events:,})"))
    echo(f"samples: {n_events:,} zero-bias crossings (seed {BACKGROUND_SEED}), {signal_events:,} per signal "
         f"(seed {SIGNAL_SEED}) in {_cache()}")

    # 2. the replay
    t0 = time.perf_counter()
    solved = any(s.rate_hz is not None for s in menu.seeds.values())
    total = n_events * (2 if solved else 1) + signal_events * len(signals)
    res = menu.replay(bkg, signals={k: v for k, v in signals.items()}, threads=threads,
                      progress=progress(total, "replay"))
    replay_s = time.perf_counter() - t0
    plots = plots_available()  # without the 'plots' extra: rates and report only
    res.write(out, overwrite=True, plots=plots)
    echo(res.table())
    distinct = n_events + signal_events * len(signals)
    echo(f"replay: {distinct:,} crossings ({n_events:,} zero bias read twice: thresholds, then counts) in "
         f"{replay_s:.1f} s = {distinct / replay_s:,.0f} crossings/s; report.json, rates.csv"
         f"{' and plots' if plots else ''} in {out}/")

    # 3. bit-exactness of every model on a sample of the replayed events
    checks = {}
    n_sig = max(1, check_events // (2 * len(signals)))
    chunk = events.read(bkg, fields=fields)
    sample = {k: v[: check_events // 2] for k, v in chunk.items()}
    for name in signals:
        part = events.read(signals[name], fields=fields)
        sample = {k: np.concatenate([sample[k], part[k][:n_sig]]) for k in sample}
    for name, alg in menu.algorithms.items():
        t1 = time.perf_counter()
        ref, kind = references.for_model(alg.model)
        X = inputs.build(alg.inputs, sample, alg.scale)
        rep = validate(alg.emulator, ref, X)
        checks[name] = {"reference": kind, "events": rep.n_events, "outputs": rep.n_outputs,
                        "mismatched_events": rep.n_mismatched_events, "bit_exact": rep.bit_exact,
                        "seconds": time.perf_counter() - t1}
    return {"result": res, "replay_seconds": replay_s, "crossings": total, "checks": checks,
            "seconds": time.perf_counter() - t_start, "out": out, "generated": made}
