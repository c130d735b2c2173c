"""The ``l1emu`` command line (click + rich progress bars)."""

import contextlib
import os
import sys

try:
    import click
except ImportError:  # the core needs numpy only; the CLI needs the 'cli' extra
    sys.exit("the l1emu command needs click and rich: pip install 'l1emu[cli]'")


class CliError(click.ClickException):
    """One line naming the file, key or argument that is wrong; exit status 2."""

    exit_code = 2


@click.group()
@click.version_option(package_name="l1emu")
def main():
    """l1emu: bit-exact emulation of Level-1 trigger firmware, menus and rates."""


def _progress_columns():
    from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"), TimeElapsedColumn(), TimeRemainingColumn())


def _parse_signals(values):
    signals = {}
    for v in values:
        name, sep, path = v.partition("=")
        if not sep or not name or not path:
            raise CliError(f"--signal {v!r}: expected NAME=FILE")
        signals.setdefault(name, []).append(path)
    return signals


@main.command()
@click.argument("menu", type=click.Path(dir_okay=False))
@click.argument("background", nargs=-1, required=True)
@click.option("--signal", "-s", "signal", multiple=True, metavar="NAME=FILE",
              help="A signal sample (repeat NAME=FILE for several files or samples).")
@click.option("--output", "-o", required=True, type=click.Path(), help="Output directory (report.json, rates.csv, plots).")
@click.option("--decisions", type=click.Path(dir_okay=False), default=None,
              help="Write per-event seed decisions (before prescale) of the background to this .h5/.parquet file.")
@click.option("--threads", type=int, default=0, show_default=True, help="Emulator threads (0 = all cores).")
@click.option("--chunk-size", type=int, default=None, help="Crossings per chunk [default: 16384].")
@click.option("--columns", "column", default=None, help="Use this prescale column of the menu.")
@click.option("--float", "compare_float", is_flag=True,
              help="Also run each algorithm's float_model at the same thresholds (needs TensorFlow).")
@click.option("--plots/--no-plots", default=None,
              help="Write the PNG plots [default: when the 'plots' extra (matplotlib, mplhep) is installed].")
@click.option("--overwrite", is_flag=True, help="Replace the output directory if it exists.")
@click.option("--workers", type=int, default=None,
              help="Replay the event files as tasks on a local Dask cluster of N worker processes "
                   "(needs the 'dask' extra).")
@click.option("--dask", "dask_address", default=None, metavar="ADDRESS",
              help="Replay on an existing Dask scheduler, e.g. tcp://host:8786 (see docs/scaling.md).")
def replay(menu, background, signal, output, decisions, threads, chunk_size, column, compare_float, plots, overwrite,
           workers, dask_address):
    """Replay a trigger MENU on BACKGROUND event files: rates, efficiencies, thresholds, overlaps."""
    import contextlib
    import os
    import time

    from rich.console import Console
    from rich.progress import Progress

    from .menu.plots import plots_available

    if plots is None:
        plots = plots_available()
    elif plots and not plots_available():
        raise CliError("--plots needs matplotlib and mplhep: pip install 'l1emu[plots]', or replay with --no-plots")

    from .errors import L1emuError
    from .menu import Menu
    from .menu.replay import needed_fields, source

    from .atomic import Terminated, interruptible, raise_pending

    console = Console(width=None if sys.stdout.isatty() else 160)
    previous = _identity(decisions)
    try:
        with interruptible():  # SIGTERM / SIGHUP clean up as Ctrl-C does
            signals = _parse_signals(signal)
            if os.path.exists(output) and not overwrite:
                raise CliError(f"output directory {output!r} exists; pass --overwrite to replace it")
            if workers is not None and dask_address is not None:
                raise CliError("--workers and --dask exclude each other: a local cluster or an existing scheduler")
            if workers is not None and workers < 1:
                raise CliError(f"--workers {workers}: expected a positive number of worker processes")
            if decisions is not None and (workers is not None or dask_address is not None):
                raise CliError("--decisions is written in input order by the single-process replay; "
                               "it is not available with --workers/--dask")
            m = Menu.load(menu)
            if column is not None:
                m = m.with_column(column)
            fields = needed_fields(m)
            n_bkg = source("background", list(background), fields).n_events
            n_sig = sum(source(k, v, fields).n_events for k, v in signals.items())
            solved = any(s.rate_hz is not None for s in m.seeds.values())
            total = n_bkg * (2 if solved else 1) + n_sig
            with contextlib.ExitStack() as stack:
                client = _dask_client(stack, workers, dask_address, console)
                start = time.perf_counter()
                with Progress(*_progress_columns(), console=console, transient=False) as bar:
                    task = bar.add_task(f"replay {m.name}", total=total, rate="")

                    def advance(n):
                        raise_pending()
                        done = bar.tasks[0].completed + n
                        bar.update(task, advance=n,
                                   rate=f"{done / max(time.perf_counter() - start, 1e-9):,.0f} crossings/s")

                    res = m.replay(list(background), signals=signals, threads=threads, chunk_size=chunk_size,
                                   progress=advance, decisions=decisions, compare_float=compare_float, dask=client)
                elapsed = time.perf_counter() - start
            res.write(output, overwrite=overwrite, plots=plots)
    except L1emuError as exc:
        _unpublish(decisions, previous)
        raise CliError(str(exc)) from None
    except KeyboardInterrupt as exc:
        _unpublish(decisions, previous)
        how = f"terminated by {exc}" if isinstance(exc, Terminated) else "interrupted"
        raise CliError(f"{how}: no output written") from None
    console.print(res.table())
    passes = " (background read twice: thresholds, then counts)" if solved else ""
    console.print(f"{n_bkg + n_sig:,} crossings replayed{passes} in {elapsed:.1f} s "
                  f"({(n_bkg + n_sig) / elapsed:,.0f} crossings/s); "
                  f"wrote {output}/report.json, rates.csv" + (", plots" if plots else "")
                  + (f"; decisions in {decisions}" if decisions else ""))


def _identity(path):
    """(device, inode, mtime) of an existing file, else None."""
    try:
        st = os.stat(path)
    except (OSError, TypeError):  # missing, or no path (None)
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns


def _unpublish(decisions, previous):
    """Remove the decisions file this run published when the report after it failed or was interrupted: the
    two outputs of a replay are all or nothing."""
    if decisions is not None and _identity(decisions) not in (None, previous):
        with contextlib.suppress(OSError):
            os.unlink(decisions)


def _dask_client(stack, workers, address, console):
    """A distributed.Client for --workers N (a loopback LocalCluster, closed on exit) or --dask ADDRESS."""
    if workers is None and address is None:
        return None
    try:
        import distributed
    except ImportError:
        raise CliError("--workers/--dask need the 'dask' extra: pip install 'l1emu[dask]'") from None
    if workers is not None:
        from .menu.distributed import local_cluster

        with console.status(f"starting a local Dask cluster of {workers} worker processes"):
            cluster = stack.enter_context(local_cluster(workers))
            return stack.enter_context(distributed.Client(cluster))
    try:
        return stack.enter_context(distributed.Client(address, timeout="20s"))
    except (OSError, TimeoutError, ValueError) as err:
        raise CliError(f"--dask {address!r}: cannot connect to the Dask scheduler ({err})") from None


@main.command()
@click.option("--models", "model_dir", default="models", show_default=True, type=click.Path(file_okay=False),
              help="Folder of the reference menu (menu.yaml and its models).")
@click.option("--events", "n_events", default=1_000_000, show_default=True, help="Zero-bias crossings.")
@click.option("--signal-events", default=20_000, show_default=True, help="Crossings per signal sample.")
@click.option("--check-events", default=2000, show_default=True,
              help="Events of every model checked against its hls4ml csim / conifer reference.")
@click.option("--output", "-o", default="demo-out", show_default=True, type=click.Path(), help="Output directory.")
@click.option("--threads", type=int, default=0, show_default=True, help="Emulator threads (0 = all cores).")
def demo(model_dir, n_events, signal_events, check_events, output, threads):
    """The reference menu on simulated crossings: rates at solved thresholds, efficiencies, plots, and a
    bit-exact check of every model against its firmware reference. Samples and compiled references are
    cached in .l1emu-cache/ (or $L1EMU_CACHE)."""
    import os
    import time

    from rich.console import Console
    from rich.progress import Progress

    from . import demo as demo_mod
    from .errors import L1emuError

    for name, value, low in (("--events", n_events, 1), ("--signal-events", signal_events, 1),
                             ("--check-events", check_events, 1), ("--threads", threads, 0)):
        if value < low:
            raise CliError(f"{name} must be >= {low}, got {value}")
    if not os.path.isfile(os.path.join(model_dir, "menu.yaml")):
        raise CliError(f"--models {model_dir!r}: no menu.yaml there (run from the l1emu source tree, or pass --models)")
    console = Console(width=None if sys.stdout.isatty() else 160)
    with Progress(*_progress_columns(), console=console, transient=True) as bar:
        def factory(total, label):
            task = bar.add_task(label, total=total, rate="")
            start = time.perf_counter()

            def advance(n):
                done = bar.tasks[task].completed + n
                bar.update(task, advance=n, rate=f"{done / max(time.perf_counter() - start, 1e-9):,.0f}/s")
            return advance

        try:
            out = demo_mod.run(model_dir, n_events, signal_events, output, check_events, threads,
                               echo=console.print, progress_factory=factory)
        except L1emuError as exc:
            raise CliError(str(exc)) from None
    bad = 0
    for name, c in out["checks"].items():
        bad += c["mismatched_events"]
        console.print(f"bit-exact check {name}: {c['events']:,} events x {c['outputs']} outputs vs {c['reference']}: "
                      f"{c['mismatched_events']} mismatching events")
    console.print(f"demo done in {out['seconds']:.0f} s")
    if bad:
        raise SystemExit(1)


@main.command()
@click.option("--process", "-p", required=True, help="Process to simulate (see docs/events.md), e.g. zerobias, ttbar.")
@click.option("--events", "-n", "n_events", type=int, required=True, help="Number of bunch crossings.")
@click.option("--output", "-o", required=True, help="Output .h5 or .parquet file.")
@click.option("--seed", type=int, default=1, show_default=True, help="Random seed (same seed -> identical file).")
@click.option("--chunk-size", type=int, default=None, help="Events per generated chunk [default: 16384].")
@click.option("--format", "fmt", type=click.Choice(["h5", "parquet"]), default=None,
              help="File format [default: from the extension].")
@click.option("--constituents/--no-constituents", default=False, show_default=True,
              help="Also store jet constituents, multiplicities and the 16 jet features.")
@click.option("--images/--no-images", default=False, show_default=True,
              help="Also store the 18x14 calorimeter region image and the 40x40 leading-jet image.")
@click.option("--pileup", type=float, default=None, help="Mean number of pileup interactions [default: 60].")
@click.option("--workers", type=int, default=1, show_default=True, help="Generator processes.")
@click.option("--overwrite", is_flag=True, help="Replace the output file if it exists.")
def generate(process, n_events, output, seed, chunk_size, fmt, constituents, images, pileup, workers, overwrite):
    """Generate simulated L1 bunch crossings (fast parametric simulation) into an event file."""
    import os
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from . import events
    from .atomic import Terminated, interruptible
    from .errors import L1emuError

    kwargs = dict(with_constituents=constituents, with_images=images, workers=workers)
    if chunk_size is not None:
        kwargs["chunk_size"] = chunk_size
    if pileup is not None:
        kwargs["pileup"] = pileup
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[rate]}"), TimeRemainingColumn())
    bar = Progress(*columns, transient=False)
    start = []

    def advance(n):  # the first call (n = 0) comes once the output is checked and claimed
        if not start:
            start.append(time.perf_counter())
            bar.start()
            bar.add_task(f"{process} -> {os.path.basename(output)}", total=n_events, rate="")
        done = bar.tasks[0].completed + n
        rate = done / max(time.perf_counter() - start[0], 1e-9)
        bar.update(bar.task_ids[0], advance=n, rate=f"{rate:,.0f} ev/s")

    try:
        with interruptible():  # SIGTERM / SIGHUP clean up as Ctrl-C does
            stream = events.generate(process, n_events, seed, **kwargs)
            try:
                meta = events.write(output, stream, format=fmt, overwrite=overwrite, progress=advance)
            finally:
                bar.stop()
    except L1emuError as exc:
        raise CliError(str(exc)) from None
    except KeyboardInterrupt as exc:
        how = f"terminated by {exc}" if isinstance(exc, Terminated) else "interrupted"
        raise CliError(f"{how}: nothing written to {output!r}") from None
    elapsed = time.perf_counter() - start[0]
    size = os.path.getsize(output) / 1e6
    click.echo(f"wrote {meta['n_events']:,} {process} crossings (seed {seed}) to {output}: "
               f"{size:,.1f} MB, {meta['n_events'] / elapsed:,.0f} crossings/s")


@main.command()
@click.argument("path", type=click.Path(exists=True))
@click.option("--top", default=None, help="Top function of a project directory holding more than one.")
def info(path, top):
    """Describe a model file (.l1emu), a generated hls4ml project directory, an event file
    (.h5/.parquet/.root) or a menu (.yaml)."""
    import json

    from .errors import L1emuError

    try:
        if os.path.isdir(path):
            from .importers.hls4ml_project import from_project

            from_project(path, top=top).summary(print_fn=click.echo)
        elif path.endswith((".yaml", ".yml")):
            from .menu import Menu

            m = Menu.load(path)
            click.echo(f"menu {m.name!r}: {m.bunch_crossing_rate_hz / 1e6:.4g} MHz crossings, {len(m.seeds)} seeds")
            for name, a in m.algorithms.items():
                click.echo(f"  algorithm {name}: {a.model} <- {a.inputs}" + (f" (scaled by {a.scaling})" if a.scaling else "")
                           + (f", classes {a.classes}" if a.classes else ""))
            for name, s in m.seeds.items():
                what = (f"score {s.score_label} >= {s.threshold:g} [raw {s.threshold_raw}]" if s.threshold is not None
                        else f"score {s.score_label} solved for {s.rate_hz:g} Hz") if s.kind == "score" else "cut"
                click.echo(f"  seed {name}: {what}" + (f", prescale {s.prescale:g}" if s.prescale != 1 else ""))
        elif path.endswith(".l1emu"):
            from .emulator import load

            load(path).summary(print_fn=click.echo)
        else:
            from . import events

            meta = events.info(path)
            click.echo(json.dumps({k: meta[k] for k in meta if k != "sources"} | {"sources": meta.get("sources", [])},
                                  indent=1))
    except L1emuError as exc:
        raise CliError(str(exc)) from None


@main.command()
@click.argument("target", type=click.Path(exists=True))
@click.option("--events", "event_file", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Event file whose crossings feed the models (through the menu's input builders).")
@click.option("--random", "n_random", type=int, default=None, help="Compare on N random inputs instead (model files).")
@click.option("-n", "n_events", type=int, default=5000, show_default=True, help="Events of --events compared.")
@click.option("--reference", "ref_path", type=click.Path(exists=True), default=None,
              help="Reference of a model file: a generated hls4ml project directory, a .conifer.json, or a .h5 "
                   "with its .hls4ml.yaml beside it [default: the files beside the model].")
@click.option("--top", default=None, help="Top function of a project directory holding more than one.")
@click.option("--output", "-o", type=click.Path(dir_okay=False), default=None, help="Write the reports as JSON.")
def validate(target, event_file, n_random, n_events, ref_path, top, output):
    """Bit-exactness of a model file (.l1emu), of a project directory read by from_project, or of every
    model of a menu (.yaml) against its firmware reference (hls4ml C simulation of a project directory or
    of the files beside the model, or conifer's cpp backend; compiled once and cached). Exit status 1 on
    any mismatching output code."""
    import json

    import numpy as np

    from . import events as ev
    from .atomic import atomic_file
    from .errors import L1emuError
    from .validate import references
    from .validate import validate as run_validate

    try:
        if (event_file is None) == (n_random is None):
            raise CliError("give exactly one of --events FILE or --random N")
        if n_events < 1 or (n_random is not None and n_random < 1):
            raise CliError("-n and --random need a positive number of events")
        jobs = []  # (name, emulator, model path, inputs or None)
        if target.endswith((".yaml", ".yml")):
            from .menu import Menu, inputs

            m = Menu.load(target)
            if ref_path is not None:
                raise CliError("--reference applies to a model file; a menu's references lie beside its models")
            chunk = None
            if event_file is not None:
                chunk = next(ev.iter_chunks(event_file, n_events))
            for name, alg in m.algorithms.items():
                x = inputs.build(alg.inputs, chunk, alg.scale) if chunk is not None else None
                jobs.append((name, alg.emulator, alg.model, x))
        else:
            if os.path.isdir(target):
                from .importers.hls4ml_project import from_project

                emu = from_project(target, top=top)
                ref_path = target if ref_path is None else ref_path
            else:
                from .emulator import load

                emu = load(target)
            if event_file is not None:
                raise CliError("--events needs a menu (its input builders say how crossings feed the model); "
                               "for a model file use --random N")
            jobs.append((os.path.basename(target), emu, target, None))
        results, bad = {}, 0
        for name, emu, model, x in jobs:
            if x is None:
                x = _random_inputs(emu, n_random or n_events, np.random.default_rng(1))
            if ref_path is not None and os.path.isdir(ref_path):
                from .reference.project import compile_project

                ref, kind = compile_project(ref_path, top=top), f"hls4ml project {ref_path} csim"
            elif ref_path is not None:
                ref, kind = references.build(*_reference_files(ref_path))
            else:
                ref, kind = references.for_model(model)
            rep = run_validate(emu, ref, x)
            results[name] = rep.to_dict() | {"reference": kind}
            bad += rep.n_mismatched_events
            click.echo(f"{name}: {rep} [{kind}]")
        if output is not None:
            with atomic_file(output, overwrite=True, what="validation report") as tmp, open(tmp, "w") as f:
                json.dump(results, f, indent=1)
    except L1emuError as exc:
        raise CliError(str(exc)) from None
    if bad:
        raise SystemExit(1)


@main.command()
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("events", type=click.Path(exists=True, dir_okay=False))
@click.option("--algorithm", "-a", default=None,
              help="MODEL is a menu: audit this algorithm (default: its only one).")
@click.option("-n", "n_events", type=int, default=None, help="Audit the first N events [default: all].")
@click.option("--float-model", "float_model", type=click.Path(exists=True, dir_okay=False), default=None,
              help="The float Keras/QKeras model (.h5) converted: per-layer divergence in LSBs (needs TensorFlow); "
                   "a menu algorithm's float_model by default.")
@click.option("--json", "-o", "json_path", type=click.Path(dir_okay=False), default=None,
              help="Write the report as JSON (atomically).")
@click.option("--plot", "plot_path", type=click.Path(dir_okay=False), default=None,
              help="Write the used-vs-representable bit ranges as a PNG (needs matplotlib).")
@click.option("--threads", type=int, default=0, show_default=True, help="Emulator threads (0 = all cores).")
@click.option("--fail-on-overflow", is_flag=True, help="Exit status 1 if any cast saturated or wrapped.")
def audit(model, events, algorithm, n_events, float_model, json_path, plot_path, threads, fail_on_overflow):
    """Precision audit of a model on events: per layer and cast site, rounding changes, saturations, wraps,
    values outside the type, ranges and bits used, the narrowest exact types. MODEL: a .l1emu file (EVENTS:
    a .npy array of model inputs, n_events x input shape) or a menu .yaml (EVENTS: an event file, fed
    through the algorithm's input builder)."""
    import numpy as np
    from rich.console import Console

    from .errors import L1emuError

    console = Console(width=None if sys.stdout.isatty() else 200)
    try:
        if n_events is not None and n_events < 1:
            raise CliError(f"-n {n_events}: expected a positive number of events")
        if threads < 0:
            raise CliError(f"--threads {threads}: expected 0 (all cores) or a positive number")
        keras_path = float_model
        if model.endswith((".yaml", ".yml")):
            from . import events as ev
            from .menu import Menu, inputs

            m = Menu.load(model)
            if algorithm is None and len(m.algorithms) != 1:
                raise CliError(f"{model}: the menu has algorithms {', '.join(m.algorithms)}; choose one with --algorithm")
            name = algorithm or next(iter(m.algorithms))
            if name not in m.algorithms:
                raise CliError(f"--algorithm {name!r}: not in {model} (it has {', '.join(m.algorithms)})")
            alg = m.algorithms[name]
            emu, keras_path = alg.emulator, keras_path or alg.float_model
            chunk = next(ev.iter_chunks(events, n_events or 100_000))
            x = inputs.build(alg.inputs, chunk, alg.scale)
        else:
            if algorithm is not None:
                raise CliError("--algorithm applies to a menu; MODEL is a model file")
            from .emulator import load

            emu = load(model)
            if not events.endswith(".npy"):
                raise CliError(f"{events}: a model file is audited on a .npy array of its inputs "
                               "(event files need a menu: its input builders say how crossings feed the model)")
            try:
                x = np.load(events, mmap_mode="r", allow_pickle=False)
            except (ValueError, OSError) as exc:
                raise CliError(f"{events}: not a readable .npy array ({str(exc).splitlines()[0]})") from None
            if n_events is not None:
                x = x[:n_events]
        emu.threads = threads
        keras = None
        if keras_path is not None:
            from .keras_layers import load_model

            try:
                keras = load_model(keras_path)
            except (OSError, ValueError, ImportError) as exc:
                raise CliError(f"--float-model {keras_path}: cannot load it ({str(exc).splitlines()[0]})") from None
        rep = emu.audit(np.asarray(x), float_model=keras)
        console.print(rep.table())
        if rep.divergence is not None:
            console.print(rep.divergence_table())
        if rep.uninstrumented:
            console.print(f"layers without cast sites (not audited): {', '.join(rep.uninstrumented)}")
        if json_path is not None:
            rep.to_json(json_path)
        if plot_path is not None:
            rep.plot(plot_path)
    except L1emuError as exc:
        raise CliError(str(exc)) from None
    n_over = rep.total_overflows
    console.print(f"{rep.n_events:,} events audited; {n_over:,} saturated or wrapped casts"
                  + (f"; wrote {json_path}" if json_path else "") + (f"; plot {plot_path}" if plot_path else ""))
    if fail_on_overflow and n_over:
        raise SystemExit(1)


def _reference_files(path):
    if path.endswith(".conifer.json"):
        return "conifer", path
    stem = os.path.splitext(path)[0]
    return "hls4ml", (path, stem + ".hls4ml.yaml")


def _random_inputs(emu, n, rng):
    """Uniform over the input type's range, plus its rails and zeros (random, not adversarial per model)."""
    spec = emu.input_precision
    lsb = 2.0 ** -spec.frac
    hi = (2 ** (spec.width - (1 if spec.is_signed else 0)) - 1) * lsb
    lo = -(2 ** (spec.width - 1)) * lsb if spec.is_signed else 0.0
    shape = (n,) + tuple(emu.input_shape)
    x = rng.uniform(lo, hi, shape)
    k = max(1, n // 20)
    x[:k] = rng.choice([lo, hi, 0.0, lsb, -lsb if spec.is_signed else lsb], (k,) + shape[1:])
    return x


@main.command()
@click.option("--quick", is_flag=True, help="Fewer events per workload (about a minute once references are built).")
@click.option("--only", "only", default=None, metavar="NAMES",
              help="Comma-separated workloads to run [default: all]: mlp, vae, deepsets, conv, narrow_conv, bdt, "
                   "bdt_xgb, menu, menu_goal.")
@click.option("--events", type=int, default=None, help="Events per workload (and at most this many for the slow "
                                                       "anchors), instead of the built-in sizes.")
@click.option("--threads", type=int, default=0, show_default=True, help="Emulator threads (0 = all cores).")
@click.option("--models", "model_dir", default="models", show_default=True, type=click.Path(file_okay=False),
              help="Folder of the bundled models, menu.yaml and menu_goal.yaml.")
@click.option("--json", "json_path", default=None, type=click.Path(dir_okay=False), help="Write the results as JSON.")
def bench(quick, only, events, threads, model_dir, json_path):
    """Throughput of every workload against its anchors (hls4ml csim, the natively compiled firmware loop,
    QKeras/TF, TF XLA-jit; conifer, scikit-learn, xgboost for BDTs) in one run, as ratios, with l1emu's
    latency at batch 1 and batched. Anchors computing firmware arithmetic are checked bit-exact first; an
    anchor whose package is missing is reported and the rest run. Exit status 1 if any is not bit-exact."""
    from rich.console import Console

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # TensorFlow's start-up chatter would bury the table
    from . import bench as bench_mod
    from .atomic import check_target
    from .errors import L1emuError

    console = Console(width=None if sys.stdout.isatty() else 200)
    names = [n.strip() for n in only.split(",") if n.strip()] if only is not None else None
    try:
        if names is not None and not names:
            raise CliError("--only: give at least one workload name")
        if json_path is not None:
            check_target(json_path, True, "bench report", CliError)
        with console.status("benchmarking") as status:
            report = bench_mod.run(names, quick=quick, events=events, threads=threads, model_dir=model_dir,
                                   echo=lambda s: status.update(f"benchmarking {s}"))
        console.print(bench_mod.table(report))
        if json_path is not None:
            bench_mod.write_json(report, json_path)
            console.print(f"wrote {json_path}")
    except L1emuError as exc:
        raise CliError(str(exc)) from None
    if any(a["bit_exact"] is False for w in report["workloads"].values() for a in w["anchors"].values()):
        raise SystemExit(1)
