"""The generator seam: a ``Backend`` fills fixed-size blocks of crossings; ``generate`` streams them.

Reproducibility does not depend on the chunk size: block b of a stream is always generated from
SeedSequence(seed, spawn_key=(label, b)) with BLOCK_SIZE crossings, and chunks are cut from the
concatenated blocks. A stream of n events is therefore also the prefix of any longer stream with the
same process and seed. A Pythia8 backend would implement ``generate_block`` (showering one block of
events and building the same record) and register itself in ``BACKENDS``.
"""

from collections import deque
from concurrent.futures import ProcessPoolExecutor
import multiprocessing
import numbers
import os
import signal
import sys
from typing import Mapping, Protocol

import numpy as np

from ..errors import L1emuError
from . import record
from .generator import DEFAULT_PILEUP, ParametricBackend

BLOCK_SIZE = 4096
DEFAULT_CHUNK_SIZE = 16384  # 4 blocks
MAX_CHUNK_SIZE = 1 << 24


class Backend(Protocol):
    name: str
    version: str
    processes: Mapping  # name -> object with .label (int) and .description (str)

    def generate_block(self, process: str, seed_seq: np.random.SeedSequence, size: int, *,
                       with_constituents: bool, with_images: bool, pileup: float) -> dict:
        """The record fields (all but 'event') of ``size`` crossings, from ``seed_seq`` alone."""


BACKENDS = {"parametric": ParametricBackend()}


def get_backend(name):
    if isinstance(name, str):
        if name not in BACKENDS:
            raise L1emuError(f"unknown generator backend {name!r}; known: {', '.join(sorted(BACKENDS))}")
        return BACKENDS[name]
    return name  # an object implementing Backend


def check_args(backend, process, n_events, seed, chunk_size, pileup=DEFAULT_PILEUP, workers=1):
    """Validate generator arguments; one L1emuError naming what is wrong."""
    if not isinstance(process, str) or process not in backend.processes:
        raise L1emuError(f"unknown process {process!r}; known processes: {', '.join(backend.processes)}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise L1emuError(f"seed must be a non-negative integer, got {type(seed).__name__} {seed!r}")
    if seed < 0:
        raise L1emuError(f"seed must be a non-negative integer, got {seed}")
    if isinstance(n_events, bool) or not isinstance(n_events, numbers.Integral) or n_events <= 0:
        raise L1emuError(f"n_events must be a positive integer, got {n_events!r}")
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, numbers.Integral) or not (
        0 < chunk_size <= MAX_CHUNK_SIZE
    ):
        raise L1emuError(f"chunk_size must be an integer in [1, {MAX_CHUNK_SIZE}], got {chunk_size!r}")
    if isinstance(pileup, bool) or not isinstance(pileup, numbers.Real) or not (0 <= pileup <= 1000):
        raise L1emuError(f"pileup must be a number in [0, 1000], got {pileup!r}")
    if isinstance(workers, bool) or not isinstance(workers, numbers.Integral) or workers < 1:
        raise L1emuError(f"workers must be a positive integer, got {workers!r}")


def _block(backend, process, seed, label, b, options):
    ss = np.random.SeedSequence(int(seed), spawn_key=(int(label), int(b)))
    out = backend.generate_block(process, ss, BLOCK_SIZE, **options)
    out["event"] = np.arange(b * BLOCK_SIZE, (b + 1) * BLOCK_SIZE, dtype=np.int64)
    return out


def iter_generate(process, n_events, seed, chunk_size=DEFAULT_CHUNK_SIZE, *, with_constituents=False,
                  with_images=False, pileup=DEFAULT_PILEUP, backend="parametric", workers=1):
    """Yield chunks (dicts of numpy arrays, record order) of exactly ``chunk_size`` crossings (the last
    may be shorter). ``workers`` > 1 generates blocks in that many worker processes; the output does
    not depend on it."""
    be = get_backend(backend)
    check_args(be, process, n_events, seed, chunk_size, pileup, workers)
    label = be.processes[process].label
    names = [f.name for f in record.fields_for(with_constituents, with_images)]
    options = dict(with_constituents=with_constituents, with_images=with_images, pileup=float(pileup))
    n_blocks = -(-n_events // BLOCK_SIZE)

    def blocks():
        if workers == 1:
            for b in range(n_blocks):
                yield _block(be, process, seed, label, b, options)
        else:
            yield from _parallel_blocks(be, process, seed, label, n_blocks, options, workers, names)

    buf, held, produced = [], 0, 0
    for blk in blocks():
        take = min(BLOCK_SIZE, n_events - produced - held)
        buf.append({k: blk[k][:take] for k in names})
        held += take
        while held >= chunk_size or (held and produced + held == n_events):
            size = min(chunk_size, held)
            chunk, buf = _split(buf, size)
            held -= size
            produced += size
            yield chunk


_SLOTS = []  # shared anonymous mappings, inherited by forked workers


def _layout(names):
    """Byte offsets of each field of one block inside a shared slot (64-byte aligned)."""
    layout, offset = {}, 0
    for name in names:
        f = record.FIELD[name]
        nbytes = BLOCK_SIZE * int(np.prod(f.shape, dtype=np.int64)) * np.dtype(f.dtype).itemsize
        layout[name] = (offset, (BLOCK_SIZE, *f.shape), np.dtype(f.dtype))
        offset += -(-nbytes // 64) * 64
    return layout, offset


def _view(slot, spec):
    offset, shape, dtype = spec
    return np.ndarray(shape, dtype, buffer=slot, offset=offset)


def _worker_init(parent):
    """In our forked worker processes. Signals: the parent alone handles Ctrl-C, SIGTERM and SIGHUP
    (it stops the workers itself), and a worker is killed when its parent dies by any means (Linux
    PR_SET_PDEATHSIG), so no worker outlives an interrupted, killed or crashed run. Memory: let glibc
    keep freed memory for reuse instead of returning it to the kernel after every block (re-faulting
    tens of MB per block costs as much as generating it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):  # (a mask held by the parent when it forked)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGTERM, signal.SIGHUP})
    for s in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(s, signal.SIG_DFL)
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        libc.mallopt(-3, 256 << 20)  # M_MMAP_THRESHOLD: block-sized arrays come from the heap
        libc.mallopt(-1, 1 << 30)  # M_TRIM_THRESHOLD: do not trim the heap top eagerly
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the death signal was armed
        os._exit(1)


def _stop(pool):
    """Stop a pool at once (interrupted or abandoned stream): cancel what is queued, kill the workers."""
    procs = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for p in procs:
        p.terminate()
    for p in procs:
        p.join(10)


def _block_to_slot(slot, layout, *args):
    out = _block(*args)
    for name, spec in layout.items():
        _view(_SLOTS[slot], spec)[...] = out[name]
    return slot


def _parallel_blocks(be, process, seed, label, n_blocks, options, workers, names):
    """Blocks generated by forked worker processes that write into shared memory slots (pickling
    tens of MB per block through a pipe would cost more than generating it); falls back to pickled
    results where fork is unavailable."""
    import mmap

    if not sys.platform.startswith("linux"):
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=ctx) as pool:
            futures = [pool.submit(_block, be, process, seed, label, b, options) for b in range(n_blocks)]
            for fut in futures:  # (no look-ahead bound on this fallback path)
                yield fut.result()
        return
    layout, nbytes = _layout(names)
    n_slots = workers + 1
    slots = [mmap.mmap(-1, max(nbytes, 1)) for _ in range(n_slots)]
    _SLOTS[:] = slots
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_worker_init, initargs=(os.getpid(),))
    try:
        free, pending = deque(range(n_slots)), deque()
        for b in range(n_blocks):
            if not free:
                yield _take(pending, slots, layout, free)
            pending.append(pool.submit(_block_to_slot, free.popleft(), layout, be, process, seed, label, b, options))
        while pending:
            yield _take(pending, slots, layout, free)
    except BaseException:  # an error, an interruption, or the consumer closed the stream early
        _stop(pool)
        raise
    else:
        pool.shutdown()
    finally:
        _SLOTS[:] = []
        for m in slots:
            m.close()


def _take(pending, slots, layout, free):
    slot = pending.popleft().result()
    out = {name: _view(slots[slot], spec).copy() for name, spec in layout.items()}
    free.append(slot)
    return out


def _split(buf, size):
    """First ``size`` rows of a list of chunk dicts, and the rest."""
    taken, rest, need = [], [], size
    for part in buf:
        n = len(part["event"])
        if need >= n:
            taken.append(part)
            need -= n
        elif need > 0:
            taken.append({k: v[:need] for k, v in part.items()})
            rest.append({k: v[need:] for k, v in part.items()})
            need = 0
        else:
            rest.append(part)
    chunk = taken[0] if len(taken) == 1 else {k: np.concatenate([p[k] for p in taken]) for k in taken[0]}
    return chunk, rest


class Stream:
    """A seeded stream of crossings: iterate it for chunks (each iteration regenerates the identical
    stream); ``metadata`` describes it for the file writers."""

    def __init__(self, process, n_events, seed, chunk_size=DEFAULT_CHUNK_SIZE, *, with_constituents=False,
                 with_images=False, pileup=DEFAULT_PILEUP, backend="parametric", workers=1):
        be = get_backend(backend)
        check_args(be, process, n_events, seed, chunk_size, pileup, workers)
        self.process, self.n_events, self.seed, self.chunk_size = process, int(n_events), int(seed), int(chunk_size)
        self.options = dict(with_constituents=bool(with_constituents), with_images=bool(with_images),
                            pileup=float(pileup), backend=backend, workers=int(workers))
        self.fields = [f.name for f in record.fields_for(with_constituents, with_images)]
        self.metadata = {
            "sources": [
                {
                    "process": process,
                    "label": int(be.processes[process].label),
                    "seed": self.seed,
                    "n_events": self.n_events,
                    "backend": be.name,
                    "generator_version": be.version,
                    "pileup": float(pileup),
                    "block_size": BLOCK_SIZE,
                    "with_constituents": bool(with_constituents),
                    "with_images": bool(with_images),
                }
            ]
        }

    def __len__(self):
        return self.n_events

    def __iter__(self):
        return iter_generate(self.process, self.n_events, self.seed, self.chunk_size, **self.options)
