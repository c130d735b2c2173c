"""``l1emu bench``: every workload against its anchors in one run, as ratios.

A workload is a model (or the demo menu) and its inputs; its anchors are the other ways to run the same model:
hls4ml's C simulation, the natively compiled firmware loop (reference.native), QKeras/TF predict and TF
XLA-jit; for BDTs conifer's cpp backend, scikit-learn and xgboost on the same trees. Anchors that compute
the firmware arithmetic (csim, native loop, conifer cpp) are checked bit-exact against l1emu's raw output
codes on the very events they were timed on; an anchor whose package is missing is reported as such and
the rest still run. Rates are events/s of the best of a few repeats; latency is l1emu's per call, at batch 1
and batched. The menu replay runs in a subprocess, which reports crossings/s and its peak RSS."""

from dataclasses import dataclass, field
import json
import os
import platform
import subprocess
import sys
import time

import numpy as np

from .errors import L1emuError

BATCH = 1024  # events per call for the batched latency


@dataclass
class Size:
    events: int  # l1emu and the fast anchors
    slow: int  # hls4ml csim and the native loop (event-by-event C++), BDT conifer cpp


SIZES = {  # (full, quick)
    "mlp": (Size(1_000_000, 200_000), Size(100_000, 10_000)),
    "vae": (Size(1_000_000, 200_000), Size(100_000, 10_000)),
    "deepsets": (Size(200_000, 20_000), Size(20_000, 2_000)),
    "conv": (Size(5_000, 300), Size(300, 20)),
    "narrow_conv": (Size(5_000, 2_000), Size(500, 100)),
    "bdt": (Size(100_000, 20_000), Size(20_000, 5_000)),
    "bdt_xgb": (Size(100_000, 20_000), Size(20_000, 5_000)),
    "menu": (Size(1_000_000, 100_000), Size(20_000, 20_000)),  # crossings timed; slow = the smaller RSS point
    "menu_goal": (Size(4_000_000, 1_000_000), Size(200_000, 200_000)),
}


class BenchError(L1emuError):
    """A bench that cannot run as asked (unknown workload, bad sizes)."""


class Missing(Exception):
    """An anchor's package is not installed."""


@dataclass
class Anchor:
    name: str
    status: str = "ok"  # ok | missing | failed | not bit-exact
    events_per_s: float = None
    n_events: int = 0
    bit_exact: bool = None  # None: float anchor, not comparable code for code
    detail: str = ""

    def to_dict(self, l1emu_rate):
        ratio = l1emu_rate / self.events_per_s if self.events_per_s and l1emu_rate else None
        return {"status": self.status, "events_per_s": self.events_per_s, "ratio": ratio, "n_events": self.n_events,
                "bit_exact": self.bit_exact, "detail": self.detail}


@dataclass
class Result:
    name: str
    description: str
    unit: str = "events"
    status: str = "ok"
    detail: str = ""
    n_events: int = 0
    events_per_s: float = None
    latency_us: dict = field(default_factory=dict)  # {"batch1": {p50, p99}, "batched": {batch, p50, p99}}
    extra: dict = field(default_factory=dict)
    anchors: list = field(default_factory=list)

    def to_dict(self):
        return {"description": self.description, "unit": self.unit, "status": self.status, "detail": self.detail,
                "n_events": self.n_events, "events_per_s": self.events_per_s, "latency_us": self.latency_us,
                **self.extra, "anchors": {a.name: a.to_dict(self.events_per_s) for a in self.anchors}}


# -- timing -----------------------------------------------------------------------------------------

def _best(fn, repeats):
    """(first result, best wall seconds over ``repeats`` calls)."""
    out, best = None, float("inf")
    for i in range(repeats):
        t = time.perf_counter()
        r = fn()
        best = min(best, time.perf_counter() - t)
        out = r if i == 0 else out
    return out, best


def _percentiles(ns):
    us = np.asarray(ns, dtype=np.float64) / 1e3
    return {"p50": float(np.percentile(us, 50)), "p99": float(np.percentile(us, 99))}


def _latency(emu, X, budget_s):
    """Per-call latency of predict_raw at batch 1 and at batch BATCH (microseconds), each for up to
    ``budget_s`` seconds of calls (at least 5 calls)."""
    out = {}
    for key, batch in (("batch1", 1), ("batched", min(BATCH, len(X)))):
        ns, t_end = [], time.perf_counter() + budget_s
        emu.predict_raw(X[:batch])  # warm
        for i in range(len(X)):  # consecutive slices, wrapping around
            s = i * batch % (len(X) - batch + 1)
            x = X[s:s + batch]
            t = time.perf_counter_ns()
            emu.predict_raw(x)
            ns.append(time.perf_counter_ns() - t)
            if i >= 4 and time.perf_counter() > t_end:
                break
        out[key] = {"batch": int(batch), "calls": len(ns), **_percentiles(ns)}
    return out


# -- bit-exactness of an anchor's outputs ------------------------------------------------------------

def _mismatched(emu, X, outputs):
    """Events whose anchor outputs (float values of the firmware types, one array per model output)
    differ from l1emu's raw codes."""
    from .fixed import quantize

    raw = emu.predict_raw(X)
    raw = raw if isinstance(raw, list) else [raw]
    outputs = outputs if isinstance(outputs, list) else [outputs]
    bad = np.zeros(len(X), bool)
    for r, o, spec in zip(raw, outputs, emu.output_precisions()):
        o = np.asarray(o, dtype=np.float64).reshape(len(X), -1)
        bad |= (quantize(o, spec) != r.reshape(len(X), -1)).any(axis=1)
    return int(bad.sum())


def _one_line(exc):
    lines = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {lines[-1] if lines else ''}"


def _run_anchor(name, fn, n, repeats, emu=None, X=None, prepare=None):
    """Time ``fn`` (-> (outputs, seconds)) on n events, best of ``repeats``; with ``emu``, its outputs are
    checked bit-exact first, and only a bit-exact anchor gets a rate. ``prepare`` (-> fn) runs untimed."""
    a = Anchor(name, n_events=n)
    try:
        fn = prepare() if prepare is not None else fn
        out, seconds = fn()
        if emu is not None:
            bad = _mismatched(emu, X, out)
            a.bit_exact = bad == 0
            if bad:
                a.status, a.detail = "not bit-exact", f"{bad} of {n} events differ from l1emu"
                return a
        for _ in range(repeats - 1):
            seconds = min(seconds, fn()[1])
        a.events_per_s = n / seconds
    except Missing as exc:
        a.status, a.detail = "missing", str(exc)
    except Exception as exc:  # noqa: BLE001 - one anchor failing must not stop the others
        a.status, a.detail = "failed", _one_line(exc)
    return a


def _timed(fn):
    def run():
        t = time.perf_counter()
        out = fn()
        return out, time.perf_counter() - t
    return run


def _need(module, extra):
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise Missing(f"needs {module} (pip install 'l1emu[{extra}]')") from None


# -- the anchors of a neural network -------------------------------------------------------------------

def _nn_anchors(emu, X, size, repeats, hls_model, keras_model, tf_batch):
    """hls4ml csim, the native loop (both on size.slow events, bit-exact checked), QKeras/TF predict, TF XLA."""
    from .reference import native

    if hls_model is None:
        return [Anchor(n, status="missing", detail="needs hls4ml (pip install 'l1emu[hls4ml]')")
                for n in ("hls4ml csim", "native -O3 loop", "QKeras/TF", "TF XLA-jit")]

    def xla():
        import tensorflow as tf

        f = tf.function(lambda x: keras_model(x, training=False), jit_compile=True)
        chunk = 64 * tf_batch
        chunks = [tf.constant(X[i:i + chunk]) for i in range(0, len(X), chunk)]
        for c in {c.shape[0]: c for c in chunks}.values():
            f(c)  # compile each shape once, outside the timing
        return _timed(lambda: [f(c).numpy() for c in chunks])

    Xs = X[:size.slow]
    return [_run_anchor("hls4ml csim", _timed(lambda: hls_model.predict(Xs)), len(Xs), 1, emu, Xs),
            _run_anchor("native -O3 loop", lambda: native.loop(hls_model, Xs), len(Xs), repeats, emu, Xs),
            _run_anchor("QKeras/TF", _timed(lambda: keras_model.predict(X, batch_size=tf_batch, verbose=0)),
                        len(X), repeats),
            _run_anchor("TF XLA-jit", None, len(X), repeats, prepare=xla)]


def _shipped(ctx, stem):
    """l1emu emulator from models/<stem>.l1emu, and (hls4ml csim model, Keras model) of its reference beside it
    (None, None when hls4ml is not installed)."""
    from . import emulator

    path = os.path.join(ctx.model_dir, f"{stem}.l1emu")
    if not os.path.isfile(path):
        raise BenchError(f"--models {ctx.model_dir!r}: no {stem}.l1emu there (run from the l1emu source tree, "
                         "or pass --models)")
    emu = emulator.load(path, threads=ctx.threads)
    try:
        _need("hls4ml", "hls4ml")
    except Missing:
        return emu, None, None
    from .keras_layers import load_model
    from .validate import references

    hls_model, _ = references.for_model(path)
    return emu, hls_model, load_model(os.path.join(ctx.model_dir, f"{stem}.h5"))


def _nn_workload(ctx, name, description, build, make_inputs, tf_batch=4096):
    size = ctx.size(name)
    res = Result(name, description, n_events=size.events)
    emu, hls_model, keras_model = build()
    X = make_inputs(size.events, np.random.default_rng(0))
    _, seconds = _best(lambda: emu.predict(X), ctx.repeats)
    res.events_per_s = size.events / seconds
    res.latency_us = _latency(emu, X, ctx.latency_budget)
    res.anchors = _nn_anchors(emu, X, size, ctx.repeats, hls_model, keras_model, tf_batch)
    return res


# Inputs are float32, as detector data and TF models are: every engine is handed the same array.
def _normal(shape, scale=2.0):
    return lambda n, rng: rng.normal(0, scale, (n, *shape)).astype(np.float32)


def _images(n, rng):
    return (rng.uniform(0, 4, (n, 40, 40, 1)) * (rng.random((n, 40, 40, 1)) < 0.5)).astype(np.float32)


def _converted(ctx, keras_model, project, cfg, io_type):
    from . import reference
    from .importers.hls4ml import from_hls4ml

    hls_model = reference.convert(keras_model, project, cfg, io_type=io_type)
    return from_hls4ml(hls_model, threads=ctx.threads), hls_model, keras_model


def _conv_thesis(ctx):
    _need("hls4ml", "hls4ml")
    from . import firmware, reference

    firmware.register()
    model = reference.vae_encoder_conv()
    return _converted(ctx, model, "bench-vae_encoder_conv", reference.vae_encoder_conv_config(model), "io_stream")


def _conv_narrow(ctx):
    _need("hls4ml", "hls4ml")
    from . import reference

    model = reference.conv_encoder_narrow()
    return _converted(ctx, model, "bench-conv_encoder", reference.conv_encoder_narrow_config(model), "io_stream")


# -- BDTs ----------------------------------------------------------------------------------------------

def _bdt_workload(ctx, name, library):
    """The jet BDT (16 features, 5 classes, 100 rounds of depth-4 trees) trained with ``library``
    (sklearn | xgboost), converted by conifer: l1emu vs conifer cpp (bit-exact checked) vs the library's own
    predict on the same trees."""
    from .events import jets
    from .reference import bdt

    size = ctx.size(name)
    what = "scikit-learn GradientBoosting" if library == "sklearn" else "xgboost"
    res = Result(name, f"jet BDT, {what} 100 rounds x depth 4, 16 features, 5 classes", n_events=size.events)
    _need("conifer", "conifer")
    _need(library, "conifer")
    X, _ = jets.synthetic_jets(size.events, np.random.default_rng(0))
    if library == "sklearn":
        clf = bdt.train_jet_bdt(n_estimators=100, max_depth=4, n_train=3000)
        model = bdt.jet_bdt(clf=clf, name="bench-jet_bdt")
        float_fn, float_name = (lambda: clf.decision_function(X)), "scikit-learn"
    else:
        clf = bdt.train_jet_bdt_xgboost(n_estimators=100, max_depth=4, n_train=3000)
        model = bdt.convert_xgboost(clf, "bench-jet_bdt_xgb", precision="ap_fixed<16,6>")
        float_fn, float_name = (lambda: clf.predict(X, output_margin=True)), "xgboost"
    from .importers.conifer import from_conifer

    emu = from_conifer(model, threads=ctx.threads)
    _, seconds = _best(lambda: emu.predict(X), ctx.repeats)
    res.events_per_s = size.events / seconds
    res.latency_us = _latency(emu, X, ctx.latency_budget)
    Xs = X[:size.slow]
    res.anchors = [_run_anchor("conifer cpp", _timed(lambda: model.decision_function(Xs)), len(Xs), 1, emu, Xs),
                   _run_anchor(float_name, _timed(float_fn), len(X), ctx.repeats)]
    return res


# -- the demo menu replay --------------------------------------------------------------------------------

_REPLAY = """
import json, resource, sys, time
from l1emu.menu import Menu
menu = Menu.load(sys.argv[1], threads=int(sys.argv[3]))
t = time.perf_counter()
res = menu.replay([sys.argv[2]], threads=int(sys.argv[3]))
seconds = time.perf_counter() - t
print(json.dumps({"seconds": seconds, "n_events": res.report["background"]["n_events"],
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def _menu_workload(ctx, name, menu_file, what):
    from . import demo
    from .menu import Menu
    from .menu.replay import needed_fields

    size = ctx.size(name)
    menu_path = os.path.join(ctx.model_dir, menu_file)
    if not os.path.isfile(menu_path):
        raise BenchError(f"--models {ctx.model_dir!r}: no {menu_file} there (run from the l1emu source tree, "
                         "or pass --models)")
    menu = Menu.load(menu_path)
    res = Result(name, f"{what} ({len(menu.algorithms)} models, {len(menu.seeds)} seeds) from HDF5, "
                 "in a subprocess", unit="crossings", n_events=size.events)
    solved = any(s.rate_hz is not None for s in menu.seeds.values())
    fields = needed_fields(menu)
    points = sorted({size.slow, size.events})
    rss, best = {}, None
    for n in points:
        path, _ = demo._sample("zerobias", n, demo.BACKGROUND_SEED, fields, None, lambda k: None)
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(
            [os.path.dirname(os.path.dirname(os.path.abspath(__file__))), os.environ.get("PYTHONPATH", "")]))
        runs = []
        for _ in range(min(ctx.repeats, 2) if n == size.events else 1):
            done = subprocess.run([sys.executable, "-c", _REPLAY, menu_path, path, str(ctx.threads)],
                                  capture_output=True, text=True, env=env)
            if done.returncode != 0:
                raise RuntimeError(f"menu replay subprocess failed: {done.stderr.strip().splitlines()[-1]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))
        rss[n] = max(r["max_rss_mb"] for r in runs)
        if n == size.events:
            best = min(r["seconds"] for r in runs)
    res.events_per_s = size.events / best
    res.extra = {"passes": 2 if solved else 1, "peak_rss_mb": {str(n): rss[n] for n in points}}
    res.detail = ("peak RSS " + ", ".join(f"{rss[n]:,.0f} MB at {n:,}" for n in points) + " crossings"
                  + ("; 2 passes (rate-solved thresholds), rate per distinct crossing" if solved else ""))
    return res


# -- the registry ------------------------------------------------------------------------------------------

def _workloads():
    return {
        "mlp": lambda ctx: _nn_workload(ctx, "mlp", "jet-tagger MLP 16-64-32-32-5 (models/jet_tagger)",
                                        lambda: _shipped(ctx, "jet_tagger"), _normal((16,))),
        "vae": lambda ctx: _nn_workload(ctx, "vae", "dense VAE encoder 57-32-16-16 + KL score (models/ad_vae_kl)",
                                        lambda: _shipped(ctx, "ad_vae_kl"), _normal((57,))),
        "deepsets": lambda ctx: _nn_workload(ctx, "deepsets", "Deep Sets tagger, 16 constituents x 4 (models/deepsets)",
                                             lambda: _shipped(ctx, "deepsets"), _normal((16, 4), 1.0)),
        "conv": lambda ctx: _nn_workload(ctx, "conv", "thesis conv VAE encoder 40x40, 11 QConv2D + KL (io_stream)",
                                         lambda: _conv_thesis(ctx), _images, tf_batch=256),
        "narrow_conv": lambda ctx: _nn_workload(ctx, "narrow_conv",
                                                "conv encoder 40x40, accum fixed<24,10> (io_stream)",
                                                lambda: _conv_narrow(ctx), _normal((40, 40, 1), 1.0), tf_batch=256),
        "bdt": lambda ctx: _bdt_workload(ctx, "bdt", "sklearn"),
        "bdt_xgb": lambda ctx: _bdt_workload(ctx, "bdt_xgb", "xgboost"),
        "menu": lambda ctx: _menu_workload(ctx, "menu", "menu.yaml", "demo menu replay"),
        "menu_goal": lambda ctx: _menu_workload(ctx, "menu_goal", "menu_goal.yaml",
                                                "issue-13 goal menu: dense AD VAE+KL, jet MLP, BDT, 10 cut seeds"),
    }


WORKLOADS = tuple(SIZES)


@dataclass
class Context:
    model_dir: str
    threads: int
    quick: bool
    events: int = None  # overrides every workload's sizes (tests)
    repeats: int = 3
    latency_budget: float = 2.0

    def size(self, name):
        s = SIZES[name][1 if self.quick else 0]
        return s if self.events is None else Size(self.events, min(self.events, s.slow))


def cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine():
    return {"cpu": cpu_name(), "threads": os.cpu_count(), "load_average": list(os.getloadavg()),
            "python": platform.python_version(), "platform": platform.platform()}


def run(only=None, quick=False, events=None, threads=0, model_dir="models", echo=lambda s: None):
    """Run the workloads (all, or the names in ``only``) with their anchors. Returns the report dict."""
    names = list(WORKLOADS if not only else only)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        raise BenchError(f"unknown workload(s) {', '.join(map(repr, unknown))}; choose from {', '.join(WORKLOADS)}")
    if events is not None and events < 1:
        raise BenchError(f"--events must be >= 1, got {events}")
    if threads < 0:
        raise BenchError(f"--threads must be >= 0 (0 = all cores), got {threads}")
    ctx = Context(model_dir, threads, quick, events, repeats=2 if quick or events else 3,
                  latency_budget=0.5 if quick or events else 2.0)
    registry = _workloads()
    report = {"format": "l1emu-bench", "version": 1, "quick": bool(quick), "emulator_threads": threads,
              "machine": machine(), "workloads": {}}
    t0 = time.perf_counter()
    for name in names:
        echo(f"{name} ...")
        t = time.perf_counter()
        try:
            res = registry[name](ctx)
        except BenchError:
            raise
        except Missing as exc:
            res = Result(name, name, status="missing", detail=str(exc))
        except Exception as exc:  # noqa: BLE001 - report it in its row and run the other workloads
            res = Result(name, name, status="failed", detail=_one_line(exc))
        report["workloads"][name] = res.to_dict() | {"seconds": time.perf_counter() - t}
    report["seconds"] = time.perf_counter() - t0
    report["machine"]["load_average_end"] = list(os.getloadavg())
    return report


# -- presentation ---------------------------------------------------------------------------------------------

def _rate(x):
    if x is None:
        return "-"
    return f"{x / 1e6:,.2f}M" if x >= 1e6 else f"{x / 1e3:,.1f}k" if x >= 1e3 else f"{x:,.1f}"


def _lat(d):
    return f"{d['p50']:,.0f} / {d['p99']:,.0f}" if d else "-"


def table(report):
    """A rich Table: one line per (workload, anchor); l1emu's figures on the workload's first line."""
    from rich.table import Table

    m = report["machine"]
    load = ", ".join(f"{x:.2f}" for x in m["load_average"])
    t = Table(title=f"l1emu bench{' --quick' if report['quick'] else ''}: {m['cpu']}, {m['threads']} hardware threads "
                    f"(emulator threads {report['emulator_threads'] or 'all'}), load average {load}",
              title_justify="left")
    for col, just in (("workload", "left"), ("events", "right"), ("l1emu /s", "right"), ("anchor", "left"),
                      ("anchor /s", "right"), ("l1emu / anchor", "right"), ("bit-exact", "center"),
                      ("lat b=1 p50/p99 us", "right"), (f"lat b={BATCH} p50/p99 us", "right")):
        t.add_column(col, justify=just)
    for name, w in report["workloads"].items():
        lat = w["latency_us"]
        head = [name, f"{w['n_events']:,}" if w["n_events"] else "-", _rate(w["events_per_s"])]
        tail = [_lat(lat.get("batch1")), _lat(lat.get("batched"))]
        if w["status"] != "ok":
            t.add_row(*head, f"[red]{w['status']}[/]: {w['detail']}", "", "", "", *tail)
            continue
        anchors = list(w["anchors"].items())
        if not anchors:
            t.add_row(*head, w["detail"], "", "", "", *tail)
        for i, (aname, a) in enumerate(anchors):
            if a["status"] == "ok":
                cells = [_rate(a["events_per_s"]) + (f" ({a['n_events']:,})" if a["n_events"] != w["n_events"] else ""),
                         f"{a['ratio']:,.1f}x" if a["ratio"] else "-",
                         {True: "yes", False: "[red]NO[/]", None: "float"}[a["bit_exact"]]]
            else:
                cells = [f"[yellow]{a['status']}[/]", a["detail"], "" if a["bit_exact"] is None else "[red]NO[/]"]
            t.add_row(*(head if i == 0 else ["", "", ""]), aname, *cells, *(tail if i == 0 else ["", ""]))
        t.add_section()
    return t


def write_json(report, path):
    from .atomic import atomic_file

    with atomic_file(path, overwrite=True, what="bench report", error=BenchError) as tmp, open(tmp, "w") as f:
        json.dump(report, f, indent=1)
