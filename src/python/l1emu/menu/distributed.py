"""The replay on a Dask ``distributed`` cluster: event files are tasks, partial results merge exactly.

    from distributed import Client
    client = Client("tcp://scheduler:8786")           # or Client(LocalCluster(...)), Client(HTCondorCluster(...))
    res = menu.replay(files, signals={"tt": tt_files}, dask=client)

Each task replays one shard (a whole event file, its prescale counters starting at zero, exactly as the
single-process replay does) with the C++ core and returns integers: pass 1 the raw-code histograms of the
rate-solved seeds over the background files, pass 2 a ``Counts`` per file. The client merges them (integer
sums, so the order tasks finish in does not matter), solves the thresholds from the merged histograms
between the two passes, and builds the same ``ReplayResult`` as the local replay, bit for bit.

The menu travels once per run as pickled bytes (its emulators as their model graphs); every worker thread
unpickles it once and keeps it. Tasks are pure (a file and a menu give one answer), so the scheduler may
rerun them: a worker that dies mid-task has its tasks moved to other workers
(``distributed.scheduler.allowed-failures`` times, default 3), and an exception that is not a data error
(a transient I/O failure) is retried ``retries`` times. A data error (an unreadable or corrupt file) is
deterministic: it is returned, not retried, and fails the run with a ``ReplayError`` naming the file. Any
failure, or a KeyboardInterrupt, cancels every outstanding task; nothing is written by this module.
"""

import hashlib
import os
import pickle
import threading
import uuid
import warnings

from ..errors import L1emuError
from .replay import ReplayError, count_shard, histogram_shard, solve_thresholds

DEFAULT_RETRIES = 2
_local = threading.local()


def _require_distributed():
    try:
        import distributed
    except ImportError:
        raise ReplayError("dask= needs the 'dask' extra: pip install 'l1emu[dask]'") from None
    return distributed


# -- worker side -----------------------------------------------------------------------------------------

def _passthrough(data):
    """The pickled menu as a task result: a worker that held it may die, the scheduler recomputes it."""
    return data


def _menu(data, key, threads):
    """The unpickled menu, once per worker thread (its emulators are not shared between threads)."""
    cache = getattr(_local, "menus", None)
    if cache is None:
        cache = _local.menus = {}
    menu = cache.get(key)
    if menu is None:
        menu = pickle.loads(data)
        for alg in menu.algorithms.values():
            alg.emulator.threads = threads
        if len(cache) >= 2:  # a run holds its pass-1 and pass-2 menus; older runs are dropped
            cache.pop(next(iter(cache)))
        cache[key] = menu
    return menu


def _shard_task(kind, menu_data, menu_key, threads, sample, path, chunk_size, fields, pileup_edges, compare_float):
    """One shard: ("ok", result) or ("error", message) for a data error (deterministic, not worth a retry).
    Any other exception propagates, and distributed retries the task."""
    menu = _menu(menu_data, menu_key, threads)
    try:
        if kind == "histogram":
            return "ok", histogram_shard(menu, sample, path, chunk_size, fields)
        return "ok", count_shard(menu, sample, path, chunk_size, fields, pileup_edges, None, None, compare_float)
    except L1emuError as err:
        return "error", str(err)


# -- client side -----------------------------------------------------------------------------------------

def check_client(client):
    distributed = _require_distributed()
    if not isinstance(client, distributed.Client):
        raise ReplayError(f"dask= expects a distributed.Client, got {type(client).__name__}")
    if client.status not in ("running", "connecting"):
        raise ReplayError(f"dask=: the client is {client.status}, not connected to a scheduler")
    return client


def _named(sample, path, message):
    """One line naming the sample and the file (unless the message names it already)."""
    message = " ".join(str(message).split())
    return f"sample {sample!r}: " + (message if path in message else f"{path!r}: {message}")


class _Pass:
    """The futures of one pass; gathered as they complete, cancelled on any failure."""

    def __init__(self, client, run, kind, menu, threads, retries):
        self.client, self.run, self.kind, self.threads, self.retries = client, run, kind, threads, retries
        data = pickle.dumps(menu, protocol=pickle.HIGHEST_PROTOCOL)
        self.menu_key = hashlib.sha256(data).hexdigest()
        self.menu_future = client.submit(_passthrough, data, key=f"l1emu-menu-{kind}-{run}", pure=False,
                                         retries=retries)
        self.futures = {}  # future -> (sample, original path)

    def submit(self, sample, index, path, chunk_size, fields, pileup_edges, compare_float):
        f = self.client.submit(_shard_task, self.kind, self.menu_future, self.menu_key, self.threads, sample,
                               os.path.abspath(path), chunk_size, fields, tuple(pileup_edges), compare_float,
                               key=f"l1emu-{self.kind}-{sample}-{index}-{self.run}", pure=False,
                               retries=self.retries)
        self.futures[f] = (sample, path)

    def results(self, tick):
        """Yield (sample, path, result) as shards complete; raise ReplayError naming the file on a failure."""
        distributed = _require_distributed()
        try:
            for future in distributed.as_completed(list(self.futures)):
                sample, path = self.futures[future]
                try:
                    status, value = future.result()
                except distributed.KilledWorker:
                    raise ReplayError(_named(sample, path, "the workers replaying it died repeatedly (see the "
                                             "worker logs: memory limit?)")) from None
                except Exception as err:  # noqa: BLE001 -- any task failure fails the run, naming the file
                    raise ReplayError(_named(sample, path, f"cannot be replayed ({type(err).__name__}: {err})")) \
                        from None
                if status == "error":
                    raise ReplayError(_named(sample, path, value))
                yield sample, path, value
                if tick:
                    tick(value[1] if self.kind == "histogram" else value.n_events)
        finally:
            self.cancel()

    def cancel(self):
        pending = [f for f in self.futures if not f.done()] + [self.menu_future]
        try:
            self.client.cancel(pending, force=True)
        except Exception:  # noqa: BLE001 -- a closing client: nothing left to cancel
            pass


def run(client, menu, bkg, sigs, *, chunk_size, fields, pileup_edges, tick=None, compare_float=False,
        threads=0, retries=DEFAULT_RETRIES):
    """Both passes of the replay on ``client``: {sample: merged Counts}; solves ``menu``'s rate thresholds
    in place from the merged background histograms, as the local replay does."""
    check_client(client)
    samples = [("background", bkg)] + list(sigs.items())
    for name, sample in samples:
        bad = [it for it in sample.items if not isinstance(it, str)]
        if bad:
            raise ReplayError(f"sample {name!r}: dask= replays event files (paths the workers can read), "
                              f"not in-memory chunk streams")
    task_threads = threads or 1  # Dask's task slots are the parallelism: one emulator thread per task
    run_id = uuid.uuid4().hex[:12]
    passes = []
    try:
        if any(s.rate_hz is not None for s in menu.seeds.values()):
            passes.append(_Pass(client, run_id, "histogram", menu, task_threads, retries))
            for i, path in enumerate(bkg.items):
                passes[-1].submit("background", i, path, chunk_size, fields, pileup_edges, False)
            merged, n_bkg = None, 0
            for _, _, (hists, n) in passes[-1].results(tick):
                n_bkg += n
                merged = hists if merged is None else {k: merged[k].merged(v) for k, v in hists.items()}
            solve_thresholds(menu, merged, n_bkg)
        passes.append(_Pass(client, run_id, "count", menu, task_threads, retries))
        for name, sample in samples:
            for i, path in enumerate(sample.items):
                passes[-1].submit(name, i, path, chunk_size, fields, pileup_edges, compare_float)
        results = {name: None for name, _ in samples}
        for name, _, counts in passes[-1].results(tick):
            results[name] = counts if results[name] is None else results[name].merged(counts)
    finally:  # an error or a KeyboardInterrupt anywhere: no task keeps running for this run
        for p in passes:
            p.cancel()
    if results["background"].n_events == 0:
        raise ReplayError("the background sample has no events")
    return results


def local_cluster(n_workers, **kwargs):
    """A loopback ``distributed.LocalCluster`` of ``n_workers`` processes with one task slot each (the
    emulator runs one thread per task), quiet, without a dashboard."""
    _require_distributed()
    import logging

    from distributed import LocalCluster

    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise ReplayError(f"workers must be a positive integer, got {n_workers!r}")
    options = dict(n_workers=n_workers, threads_per_worker=1, processes=True, host="127.0.0.1",
                   dashboard_address=None, silence_logs=logging.ERROR)
    options.update(kwargs)
    with warnings.catch_warnings():  # the scheduler's loopback HTTP server moves off a busy port 8787: fine
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        return LocalCluster(**options)


# -- event files generated where they are replayed -------------------------------------------------------

def _generate_task(process, path, n_events, seed, options):
    from .. import events

    try:
        # overwrite: the client checked that no file was there; a rerun after a worker died mid-rename may find its own
        meta = events.write(path, events.generate(process, n_events, seed, **options), overwrite=True)
    except L1emuError as err:
        return "error", str(err)
    return "ok", int(meta["n_events"])


def generate_files(client, process, paths, n_events, seed=1, *, progress=None, retries=DEFAULT_RETRIES, **options):
    """Generate one event file per path on the cluster (a task each, written by the worker, atomically):
    file i holds ``n_events`` crossings of ``process`` with seed ``seed + i``, identical to
    ``l1emu generate -p PROCESS -n N --seed SEED+i -o PATH``. ``options``: as events.generate
    (with_constituents, with_images, pileup, chunk_size). Returns the absolute paths."""
    from .. import events

    check_client(client)
    paths = [os.path.abspath(os.fspath(p)) for p in paths]
    if len(set(paths)) != len(paths):
        raise ReplayError("generate_files: the same output path is given twice")
    for i, p in enumerate(paths):
        events.generate(process, n_events, seed + i, **options)  # bad arguments fail here, before any task
        if os.path.exists(p):
            raise ReplayError(f"{p!r} exists: remove it first (generated files are never overwritten)")
    distributed = _require_distributed()
    run_id = uuid.uuid4().hex[:12]
    futures = {client.submit(_generate_task, process, p, n_events, seed + i, dict(options),
                             key=f"l1emu-generate-{i}-{run_id}", pure=False, retries=retries): p
               for i, p in enumerate(paths)}
    try:
        for future in distributed.as_completed(list(futures)):
            path = futures[future]
            try:
                status, value = future.result()
            except Exception as err:  # noqa: BLE001
                raise ReplayError(_named(process, path, f"cannot be generated ({type(err).__name__}: {err})")) \
                    from None
            if status == "error":
                raise ReplayError(_named(process, path, value))
            if progress:
                progress(value)
    finally:
        client.cancel([f for f in futures if not f.done()], force=True)
    return paths
