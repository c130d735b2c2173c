"""Replay a menu on event streams, chunk by chunk, into counts that merge exactly.

Per chunk: every algorithm's model runs once in the C++ core (raw output codes; only on the events its
seeds' `require` cuts let through when all its seeds have one), every seed is evaluated vectorized (cuts in
numpy, scores as integer code comparisons), prescale counters run in event order, and the chunk's integer
counts (per seed, pure, overlaps, fired multiplicity, pileup and turn-on bins) and raw-code histograms are
added to the shard's totals. A shard is one event file with fresh prescale counters, so shards merge
exactly in any grouping (threads, Dask). Seeds whose threshold is solved for a rate need the background's
score histogram first: pass 1 evaluates every seed but those thresholds and keeps the chunks so prepared
within a memory budget; pass 2 applies the solved thresholds to them and reads only the chunks beyond it.
"""

from collections import deque
from contextlib import closing
import ctypes
from dataclasses import dataclass, field
import functools
import itertools
import os
import threading

import numpy as np

from ..errors import L1emuError
from .. import events as _events
from ..threads import thread_budget
from . import expr, inputs
from .stats import PrescaleCounter, solve_threshold

DEFAULT_CHUNK_SIZE = 16384  # crossings per chunk: ~50-100 MB of fields with constituents and images
DEFAULT_PILEUP_EDGES = tuple(range(0, 151, 10))  # the last bin also holds the overflow
TURN_ON_EDGES = tuple(range(0, 601, 20))  # leading-jet pt [GeV]; the last bin also holds the overflow


class ReplayError(L1emuError):
    """A replay that cannot run on the given event streams."""


# -- histograms of raw codes -----------------------------------------------------------------------

class CodeHistogram:
    """Counts per raw code. Codes are added into a dense window of bins (one bincount per chunk) while their
    span stays within DENSE_SPAN; wider spans fall back to sorted sparse merging. ``codes``/``counts``: the
    distinct codes in increasing order and their counts, either way."""

    DENSE_SPAN = 1 << 20  # bins of the dense window (8 MB of int64)

    def __init__(self):
        self._lo, self._dense = 0, None  # dense window: bin i counts code _lo + i
        self._codes = np.zeros(0, np.int64)  # sparse part
        self._counts = np.zeros(0, np.int64)

    def add(self, codes):
        codes = np.asarray(codes, np.int64)
        if not len(codes):
            return
        lo, hi = int(codes.min()), int(codes.max())
        if self._dense is not None:
            lo, hi = min(lo, self._lo), max(hi, self._lo + len(self._dense) - 1)
        if not len(self._codes) and hi - lo < self.DENSE_SPAN:  # once sparse, always sparse
            self._grow(lo, hi)
            self._dense += np.bincount(codes - self._lo, minlength=len(self._dense))
        else:
            self._sparse_merge(*np.unique(codes, return_counts=True))

    def _grow(self, lo, hi):
        if self._dense is not None and lo == self._lo and hi == self._lo + len(self._dense) - 1:
            return
        dense = np.zeros(hi - lo + 1, np.int64)
        if self._dense is not None:
            dense[self._lo - lo:self._lo - lo + len(self._dense)] = self._dense
        self._lo, self._dense = lo, dense

    def _sparse_merge(self, codes, counts):
        if self._dense is not None:  # the window no longer suffices: everything goes sparse
            (nz,) = np.nonzero(self._dense)
            dense_codes, dense_counts = nz + self._lo, self._dense[nz]
            self._dense = None
            self._sparse_merge(dense_codes, dense_counts)
        if not len(self._codes):
            self._codes, self._counts = codes.astype(np.int64), counts.astype(np.int64)
            return
        u, inv = np.unique(np.concatenate([self._codes, codes]), return_inverse=True)
        merged = np.zeros(len(u), np.int64)
        np.add.at(merged, inv, np.concatenate([self._counts, counts]).astype(np.int64))
        self._codes, self._counts = u, merged

    def _compact(self):
        if self._dense is not None:
            (nz,) = np.nonzero(self._dense)
            self._codes, self._counts = (nz + self._lo).astype(np.int64), self._dense[nz]
            self._dense = None

    @property
    def codes(self):
        self._compact()
        return self._codes

    @property
    def counts(self):
        self._compact()
        return self._counts

    @classmethod
    def sparse(cls, codes, counts):
        h = cls()
        h._codes, h._counts = np.asarray(codes, np.int64), np.asarray(counts, np.int64)
        return h

    def merged(self, other):
        out = CodeHistogram.sparse(self.codes, self.counts)
        if len(other.codes):
            out._sparse_merge(other.codes, other.counts)
        return out

    def count_at_or_above(self, t):
        return int(self.counts[np.searchsorted(self.codes, t):].sum())

    @property
    def total(self):
        return int(self.counts.sum())


def _per_seed_bincount(mask, bins, n_bins):
    """[seed, bin] counts of the events where mask[event, seed] holds, by bins[event], in one bincount."""
    events, seeds = np.nonzero(mask)
    return np.bincount(seeds * n_bins + bins[events], minlength=mask.shape[1] * n_bins).reshape(-1, n_bins)


# -- per-sample accumulator ----------------------------------------------------------------------------

def _bin(values, edges):
    """Bin index of each value in ``edges`` (the last bin also holds the overflow, the first the underflow)."""
    b = np.searchsorted(np.asarray(edges, np.float64), values, side="right") - 1
    return np.clip(b, 0, len(edges) - 2).astype(np.int16)


@dataclass
class EventBins:
    """Per event of a chunk: its pileup bin (-1: no pileup known) and its turn-on bin in leading-jet pt, or
    None without those fields. Computed with the chunk's evaluation (in the chunk workers)."""

    pileup: np.ndarray = None
    turn_on: np.ndarray = None

    @classmethod
    def of(cls, chunk, pileup_edges):
        pileup = turn_on = None
        if "n_pileup" in chunk:
            n_pileup = np.asarray(chunk["n_pileup"], np.int64)
            pileup = np.where(n_pileup >= 0, _bin(n_pileup, pileup_edges), -1).astype(np.int16)
        if "jet" in chunk:
            turn_on = _bin(np.asarray(chunk["jet"][:, 0, 0], np.float64), TURN_ON_EDGES)
        return cls(pileup, turn_on)

    @property
    def nbytes(self):
        return sum(a.nbytes for a in (self.pileup, self.turn_on) if a is not None)


@dataclass
class Counts:
    """Integer totals of one sample (background or one signal) under one menu."""

    seeds: list
    pileup_edges: tuple
    n_events: int = 0
    unprescaled: np.ndarray = None
    prescaled: np.ndarray = None
    pure: np.ndarray = None
    overlap: np.ndarray = None
    multiplicity: np.ndarray = None  # [seed, k]: events the seed passes with exactly k seeds passing
    total: int = 0
    total_unprescaled: int = 0
    pileup_events: np.ndarray = None
    pileup_counts: np.ndarray = None  # [seed (+ total), bin]
    histograms: dict = field(default_factory=dict)  # score seed -> CodeHistogram (events passing require)
    turn_on_events: np.ndarray = None  # [bin of jet[0].pt]
    turn_on_counts: np.ndarray = None  # [seed, bin]: events the seed fires (before prescale)
    float_fired: np.ndarray = None  # [seed]: events the float model fires (before prescale), score seeds
    float_agree: np.ndarray = None  # [seed]: events where float and firmware decisions agree

    def __post_init__(self):
        s, b = len(self.seeds), len(self.pileup_edges) - 1
        self.unprescaled = np.zeros(s, np.int64)
        self.prescaled = np.zeros(s, np.int64)
        self.pure = np.zeros(s, np.int64)
        self.overlap = np.zeros((s, s), np.int64)
        self.multiplicity = np.zeros((s, s + 1), np.int64)
        self.pileup_events = np.zeros(b, np.int64)
        self.pileup_counts = np.zeros((s + 1, b), np.int64)
        self.float_fired = np.zeros(s, np.int64)
        self.turn_on_events = np.zeros(len(TURN_ON_EDGES) - 1, np.int64)
        self.turn_on_counts = np.zeros((s, len(TURN_ON_EDGES) - 1), np.int64)
        self.float_agree = np.zeros(s, np.int64)

    def add(self, decided, passed, bins, scores):
        """One chunk: decided/passed (n, seeds) bool, before/after prescale (passed implies decided); bins: its
        EventBins."""
        n, s = decided.shape
        # Per-seed counts only need the events some seed fires on: at trigger rates, a small fraction.
        rows = np.flatnonzero(decided.any(1))
        d, p = decided[rows], passed[rows]
        pf = p.astype(np.float64)  # float matmul (BLAS), exact: counts per chunk are far below 2^53
        k = p.sum(1)
        anyp = k > 0
        self.n_events += n
        self.unprescaled += d.sum(0)
        self.prescaled += p.sum(0)
        self.pure += p[k == 1].sum(0)
        self.overlap += np.rint(pf.T @ pf).astype(np.int64)
        self.multiplicity += _per_seed_bincount(p, k, s + 1)
        self.total += int(anyp.sum())
        self.total_unprescaled += len(rows)
        if bins.turn_on is not None:
            nb = len(TURN_ON_EDGES) - 1
            self.turn_on_events += np.bincount(bins.turn_on, minlength=nb)
            self.turn_on_counts += _per_seed_bincount(d, bins.turn_on[rows], nb)
        if bins.pileup is not None:
            nb = len(self.pileup_edges) - 1
            b = bins.pileup
            valid = b >= 0
            self.pileup_events += np.bincount(b[valid], minlength=nb)
            b = b[rows]
            valid = b >= 0
            b = np.maximum(b, 0)
            self.pileup_counts[:-1] += _per_seed_bincount(p & valid[:, None], b, nb)
            self.pileup_counts[-1] += np.bincount(b[valid & anyp], minlength=nb)
        for name, codes in scores.items():
            self.histograms.setdefault(name, CodeHistogram()).add(codes)

    def merged(self, other):
        """The exact sum of two shards' counts (same menu)."""
        if self.seeds != other.seeds or self.pileup_edges != other.pileup_edges:
            raise ReplayError("cannot merge counts of different menus or pileup binnings")
        out = Counts(self.seeds, self.pileup_edges)
        for name in ("n_events", "unprescaled", "prescaled", "pure", "overlap", "multiplicity", "total",
                     "total_unprescaled", "pileup_events", "pileup_counts", "float_fired", "float_agree",
                     "turn_on_events", "turn_on_counts"):
            setattr(out, name, getattr(self, name) + getattr(other, name))
        for name in set(self.histograms) | set(other.histograms):
            a, b = self.histograms.get(name), other.histograms.get(name)
            out.histograms[name] = a.merged(b) if a is not None and b is not None else (a or b)
        return out

    def proportional(self):
        k = np.arange(self.multiplicity.shape[1], dtype=np.float64)
        k[0] = np.inf
        return (self.multiplicity / k).sum(1)


# -- evaluation of one chunk ---------------------------------------------------------------------------

_NOT_EVALUATED = np.iinfo(np.int64).min  # score code of events a model was not run on: below any threshold


class _Evaluator:
    """Evaluates a menu on a chunk. A model whose every seed has a cut-only ``require`` runs only on the
    events passing one of those cuts (the others cannot fire its seeds, and histograms keep only events
    that pass): the answer is the same, the work is what the seeds need."""

    def __init__(self, menu, seed_names):
        self.menu = menu
        self.names = seed_names  # evaluation order (dependencies first)
        seeds = menu.seeds
        self.cut_only = []  # seeds whose value needs no model, in order
        for n in seed_names:
            if seeds[n].kind == "cut" and all(r in self.cut_only for r in seeds[n].references()):
                self.cut_only.append(n)
        by_alg = {}
        for n in seed_names:
            if seeds[n].kind == "score":
                by_alg.setdefault(seeds[n].algorithm, []).append(seeds[n])
        self.masked = {a: [s.require for s in ss] for a, ss in by_alg.items()
                       if all(s.require is not None and s.references() <= set(self.cut_only) for s in ss)}
        # every cut that needs no model: the cut-only seeds' and the require cuts on them, by round (a
        # round's cuts reference only seeds of earlier rounds) -- each round is one program on the chunk
        cuts = [(n, seeds[n].cut) for n in self.cut_only]
        cuts += [(None, seeds[n].require) for n in seed_names if seeds[n].kind == "score"
                 and seeds[n].require is not None and seeds[n].require.seeds() <= set(self.cut_only)]
        self.rounds, known = [], set()
        while cuts:
            ready = [(n, node) for n, node in cuts if node.seeds() <= known]
            self.rounds.append(ready)
            known |= {n for n, _ in ready}
            cuts = [c for c in cuts if c not in ready]
        self._local = threading.local()  # per thread: the chunk being evaluated and its memo

    def _memo(self, chunk):
        local = self._local
        if getattr(local, "chunk", None) is not chunk:
            local.chunk, local.memo = chunk, {}
        return local.memo

    def _expr(self, node, chunk, decisions):
        """expr.evaluate, once per node and chunk: a require cut serves the masks, the decisions and the
        histograms of its seed (decisions are a function of the chunk, so the memo cannot go stale)."""
        memo, key = self._memo(chunk), id(node)
        if key not in memo:
            memo[key] = expr.evaluate(node, chunk, decisions)
        return memo[key]

    def cuts(self, chunk):
        """Decisions of the cut-only seeds; their rounds also leave the require cuts on them in the memo."""
        memo, decisions = self._memo(chunk), {}
        for ready in self.rounds:
            nodes = [node for _, node in ready if id(node) not in memo]
            for node, fired in zip(nodes, expr.evaluate_all(nodes, chunk, decisions) if nodes else ()):
                memo[id(node)] = fired
            decisions.update((name, memo[id(node)]) for name, node in ready if name is not None)
        return decisions

    def inputs(self, alg, chunk, rows=None):
        """The model inputs of ``alg`` on ``chunk`` (only its events ``rows``, from a memoized mask), built once
        per chunk for algorithms sharing a builder, scale table and rows (e.g. two anomaly scores of one
        encoder)."""
        memo = self._memo(chunk)
        key = (alg.inputs, alg.scaling or id(alg.scale), None if rows is None else id(rows))  # one file: one table
        if key not in memo:
            if rows is not None:  # the builder sees only the selected events
                chunk = {f: np.asarray(chunk[f])[rows] for f in inputs.BUILDERS[alg.inputs].fields}
            memo[key] = inputs.build(alg.inputs, chunk, alg.scale)
        return memo[key]

    def masks(self, chunk, cuts):
        """{algorithm: events it must be evaluated on} for the algorithms whose seeds all require cuts."""
        out = {}
        for alg, nodes in self.masked.items():
            m = self._expr(nodes[0], chunk, cuts)
            for node in nodes[1:]:
                m = m | self._expr(node, chunk, cuts)
            out[alg] = m
        return out

    def scores(self, chunk, algorithms, masks=None):
        out = {}
        for name in algorithms:
            alg = self.menu.algorithms[name]
            mask = None if masks is None else masks.get(name)
            if mask is None:
                out[name] = self._predict(alg, self.inputs(alg, chunk))
                continue
            memo = self._memo(chunk)
            rows = memo.setdefault(("rows", id(mask)), (mask, np.flatnonzero(mask)))[1]  # the mask stays alive
            full = np.full((len(mask), alg.n_outputs), _NOT_EVALUATED, np.int64)
            if len(rows):
                full[rows] = self._predict(alg, self.inputs(alg, chunk, rows))
            out[name] = full
        return out

    @staticmethod
    def _predict(alg, x):
        raw = alg.emulator.predict_raw(x)
        raw = raw[0] if isinstance(raw, list) else raw
        return np.asarray(raw).reshape(len(x), -1)

    def decide(self, chunk, scores, names=None, known=None):
        """{seed: bool (n,)} before prescale, for ``names`` (default: all) in dependency order."""
        decisions = dict(known or {})
        for name in (self.names if names is None else names):
            if name in decisions:
                continue
            seed = self.menu.seeds[name]
            if seed.kind == "cut":
                decisions[name] = self._expr(seed.cut, chunk, decisions)
            else:
                fired = scores[seed.algorithm][:, seed.output] >= seed.threshold_raw
                if seed.require is not None:
                    fired = fired & self._expr(seed.require, chunk, decisions)
                decisions[name] = fired
        return decisions

    def required(self, chunk, name, decisions):
        seed = self.menu.seeds[name]
        if seed.require is None:
            return np.ones(len(next(iter(chunk.values()))), bool)
        return self._expr(seed.require, chunk, decisions)


def _closure(menu, names):
    """``names`` and every seed they reference, in dependency order."""
    need = set()

    def visit(n):
        if n not in need:
            need.add(n)
            for r in menu.seeds[n].references():
                visit(r)
    for n in names:
        visit(n)
    return [n for n in menu.order() if n in need]


# -- event sources -------------------------------------------------------------------------------------

@dataclass
class Source:
    """One sample: event files (or in-memory chunk iterables, for tests and generated streams)."""

    name: str
    items: list
    n_events: int

    @property
    def files(self):
        return [it if isinstance(it, str) else "<stream>" for it in self.items]

    def chunks(self, chunk_size, fields, skip=0):
        """The chunks of every item, in order; ``skip``: leave out the first chunks (one-item sources)."""
        for it in self.items:
            if isinstance(it, str):
                try:
                    yield from _events.iter_chunks(it, chunk_size, fields=fields, skip=skip)
                except L1emuError as err:
                    raise ReplayError(str(err)) from None
                except Exception as err:  # h5py / pyarrow / uproot read errors: the file is unreadable
                    raise ReplayError(f"sample {self.name!r}: cannot read {it!r} ({type(err).__name__}: "
                                      f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from None
            else:
                for chunk in itertools.islice(it, skip, None):
                    missing = [f for f in fields if f not in chunk]
                    if missing:
                        raise ReplayError(f"sample {self.name!r}: a chunk has no field(s) {missing}")
                    yield chunk


def source(name, spec, fields):
    """A sample from a path, a list of paths, or one iterable of chunk dicts (e.g. a generated stream)."""
    is_path = lambda x: isinstance(x, (str, os.PathLike))  # noqa: E731
    if is_path(spec):
        items = [os.fspath(spec)]
    elif isinstance(spec, (list, tuple)) and spec and all(is_path(x) for x in spec):
        items = [os.fspath(x) for x in spec]
    elif isinstance(spec, dict) or spec is None or (isinstance(spec, (list, tuple)) and not spec):
        raise ReplayError(f"sample {name!r}: expected event file path(s) or an iterable of chunks, got {spec!r:.80}")
    else:
        items = [spec]
    n = 0
    for it in items:
        if isinstance(it, str):
            try:
                meta = _events.info(it)
            except L1emuError as err:
                raise ReplayError(f"sample {name!r}: {err}") from None
            missing = [f for f in fields if f not in meta["fields"]]
            if missing:
                raise ReplayError(f"sample {name!r}: {it!r} has no field(s) {missing} that the menu needs "
                                  f"(it has {meta['fields']})")
            n += int(meta["n_events"])
    return Source(name, items, n)


def needed_fields(menu):
    fields = {"n_pileup", "jet"}  # jet: the turn-on curves in leading-jet pt
    for seed in menu.seeds.values():
        for node in (seed.cut, seed.require):
            if node is not None:
                fields |= set(node.fields())
    for alg in menu.algorithms.values():
        fields |= set(inputs.BUILDERS[alg.inputs].fields)
    return sorted(fields)


# -- one shard: a file (or chunk iterable) replayed with fresh prescale counters ------------------------

def _chunks_of(sample, item, chunk_size, fields, skip=0):
    return Source(sample, [item], 0).chunks(chunk_size, fields, skip)


def _solved_plan(menu):
    """(solved, fixed): the rate-solved seeds, and the seeds whose decision does not depend on a solved
    threshold (nor references a seed that does), in evaluation order; the rest depend on one."""
    order = menu.order()
    solved = [n for n in order if menu.seeds[n].rate_hz is not None]
    fixed = []
    for n in order:
        if n not in solved and all(r in fixed for r in menu.seeds[n].references()):
            fixed.append(n)
    return solved, fixed


@dataclass
class Prepared:
    """One background chunk as pass 1 leaves it for pass 2: everything the counts need that does not depend
    on a solved threshold, so pass 2 only compares codes with the solved thresholds (no file is re-read)."""

    n: int
    fixed: np.ndarray  # np.packbits of the (n, len(fixed seeds)) decisions before prescale
    solved: dict  # solved seed -> (its score column (n,) int64, its require cut (n,) bool or None)
    hist_codes: dict  # other score seed -> codes of the events passing its require
    bins: EventBins
    event: np.ndarray = None

    @property
    def nbytes(self):
        arrays = [self.fixed, self.event, *self.hist_codes.values(), *(a for col in self.solved.values() for a in col)]
        return self.bins.nbytes + sum(a.nbytes for a in arrays if a is not None)


class PreparedCache:
    """The Prepared chunks of pass 1, in order from each shard's first chunk, within a memory budget (peak
    memory stays independent of the stream length); pass 2 re-reads only the chunks beyond it."""

    budget_bytes = 256 << 20

    def __init__(self):
        self.used, self.store = 0, {}
        self.overflowed, self.completed = set(), set()  # shards with chunks beyond the budget / all held

    def put(self, shard, k, prepared):
        if shard in self.overflowed or self.used + prepared.nbytes > self.budget_bytes:
            self.overflowed.add(shard)
            return
        self.store[shard, k] = prepared
        self.used += prepared.nbytes

    def close(self, shard, prepared_all):
        """End of pass 1 on the shard; ``prepared_all``: every chunk was offered to put."""
        if prepared_all and shard not in self.overflowed:
            self.completed.add(shard)

    def pop(self, shard, k):
        prepared = self.store.pop((shard, k), None)
        if prepared is not None:
            self.used -= prepared.nbytes
        return prepared

    def complete(self, shard):
        """Whether every chunk of the shard was held (pass 2 then reads nothing)."""
        return shard in self.completed


def in_order(fn, items, workers=1):
    """fn(item) for every item, the results in order. With workers > 1, that many items are evaluated at once
    in threads (numpy and the C++ core release the GIL), at most workers + 1 ahead of the consumer: the
    order-dependent steps (prescale counters, cache, decisions file) stay in the caller, in event order."""
    if workers <= 1:
        for item in items:
            yield fn(item)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(workers, thread_name_prefix="l1emu-chunk") as pool:
        pending = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) > workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


def histogram_shard(menu, sample, item, chunk_size, fields, tick=None, cache=None, shard=0, workers=1,
                    keep_events=False, pileup_edges=DEFAULT_PILEUP_EDGES):
    """Pass 1 on one background shard: raw-code histograms of the rate-solved seeds (events passing their
    require cut) and the number of crossings. Partial results merge by addition. With ``cache`` (and no seed
    depending on a solved one), every chunk is evaluated in full and kept there as a Prepared chunk."""
    order = menu.order()
    ev = _Evaluator(menu, order)
    solved, fixed = _solved_plan(menu)
    prepare = cache is not None and len(solved) + len(fixed) == len(order)
    if prepare:
        algs = sorted({menu.seeds[n].algorithm for n in order if menu.seeds[n].kind == "score"})
        deps = fixed
    else:
        deps = _closure(menu, [r for n in solved for r in menu.seeds[n].references()])
        algs = sorted({menu.seeds[n].algorithm for n in solved + deps if menu.seeds[n].kind == "score"})
    hists = {n: CodeHistogram() for n in solved}
    n_events = 0

    def evaluate(chunk):
        n = len(next(iter(chunk.values())))
        cuts = ev.cuts(chunk)
        scores = ev.scores(chunk, algs, ev.masks(chunk, cuts))
        dec = ev.decide(chunk, scores, deps, known=cuts)
        columns = {}
        for name in solved:
            s = menu.seeds[name]
            req = None if s.require is None else ev.required(chunk, name, dec)
            columns[name] = (np.ascontiguousarray(scores[s.algorithm][:, s.output]), req)
        if not prepare:
            return n, columns, None
        hist_codes = {name: scores[menu.seeds[name].algorithm][ev.required(chunk, name, dec), menu.seeds[name].output]
                      for name in fixed if menu.seeds[name].kind == "score"}
        bits = np.packbits(np.stack([dec[name] for name in fixed], 1), axis=1) if fixed else np.zeros((n, 0), np.uint8)
        return n, columns, Prepared(
            n, bits, columns, hist_codes, EventBins.of(chunk, pileup_edges),
            event=np.asarray(chunk["event"], np.int64) if keep_events and "event" in chunk else None)

    chunks = _chunks_of(sample, item, chunk_size, fields)
    with closing(in_order(evaluate, chunks, workers)) as evaluated:  # an exception here joins the workers first
        for k, (n, columns, prepared) in enumerate(evaluated):
            if prepared is not None:
                cache.put(shard, k, prepared)
            for name, (col, req) in columns.items():
                hists[name].add(col if req is None else col[req])
            n_events += n
            if tick:
                tick(n)
    if cache is not None:
        cache.close(shard, prepare)
    return hists, n_events


def solve_thresholds(menu, hists, n_events):
    """Set the threshold of every rate-solved seed from the merged background histograms (in place)."""
    if n_events == 0:
        raise ReplayError("the background sample has no events: cannot solve rate thresholds")
    for name, h in hists.items():
        s = menu.seeds[name]
        spec = menu.algorithms[s.algorithm].emulator.output_precisions()[0]
        lo, hi = _code_range(spec)
        t, _ = solve_threshold(h.codes, h.counts, n_events, menu.bunch_crossing_rate_hz, s.rate_hz,
                               s.prescale or 0, code_min=lo)
        s.threshold_raw = min(t, hi + 1)  # hi + 1: nothing can fire (an unreachable target)
        s.threshold = s.threshold_raw * 2.0 ** -spec.frac


def _float_decisions(menu, chunk, dec, compare_float, masks):
    """{score seed: float-model decision} at the seed's threshold value, for algorithms with a float model."""
    out, values = {}, {}
    for name, s in menu.seeds.items():
        alg = menu.algorithms.get(s.algorithm) if s.kind == "score" else None
        if alg is None or alg.float_model is None or not compare_float:
            continue
        if alg.name not in values:
            x = inputs.build(alg.inputs, chunk, alg.scale)
            mask = masks.get(alg.name, np.ones(len(x), bool))
            v = np.full((len(x), alg.n_outputs), -np.inf)
            if mask.any():
                v[mask] = alg.float_predict(x[mask])
            values[alg.name] = v
        fired = values[alg.name][:, s.output] >= s.threshold
        if s.require is not None:
            fired &= expr.evaluate(s.require, chunk, dec)
        out[name] = fired
    return out


def count_shard(menu, sample, item, chunk_size, fields, pileup_edges=DEFAULT_PILEUP_EDGES, tick=None, writer=None,
                compare_float=False, cache=None, shard=0, workers=1):
    """Pass 2 on one shard: the integer Counts of every seed. Prescale counters start at zero for each
    shard (a file is a run), so any grouping of whole files gives the same totals. The chunks ``cache``
    holds for the shard are finished from there; the others are read and evaluated."""
    order = menu.order()
    ev = _Evaluator(menu, order)
    seeds = list(menu.seeds)
    column = {n: j for j, n in enumerate(seeds)}
    score_algs = sorted({menu.seeds[n].algorithm for n in order if menu.seeds[n].kind == "score"})
    score_seeds = [n for n in order if menu.seeds[n].kind == "score"]
    _, fixed = _solved_plan(menu)
    counts = Counts(seeds, tuple(pileup_edges))
    counters = [PrescaleCounter(menu.seeds[n].prescale) for n in seeds]
    prescaled = [j for j, c in enumerate(counters) if not c.passes_all]

    def evaluate(chunk):  # everything that does not depend on the events before this chunk
        cuts = ev.cuts(chunk)
        masks = ev.masks(chunk, cuts)
        scores = ev.scores(chunk, score_algs, masks)
        dec = ev.decide(chunk, scores, known=cuts)
        decided = np.stack([dec[n] for n in seeds], 1)
        hist_codes = {n: scores[menu.seeds[n].algorithm][ev.required(chunk, n, dec), menu.seeds[n].output]
                      for n in score_seeds}
        floats = _float_decisions(menu, chunk, dec, compare_float, masks)
        return decided, hist_codes, EventBins.of(chunk, counts.pileup_edges), chunk.get("event"), floats

    def finish(p):  # a Prepared chunk of pass 1, with the solved thresholds applied
        decided = np.empty((p.n, len(seeds)), bool)
        bits = np.unpackbits(p.fixed, axis=1, count=len(fixed)).view(bool)
        for j, name in enumerate(fixed):
            decided[:, column[name]] = bits[:, j]
        hist_codes = dict(p.hist_codes)
        for name, (col, req) in p.solved.items():
            fired = col >= menu.seeds[name].threshold_raw
            decided[:, column[name]] = fired if req is None else fired & req
            hist_codes[name] = col if req is None else col[req]
        return decided, hist_codes, p.bins, p.event, {}

    def results():
        k = 0
        if cache is not None:
            while (p := cache.pop(shard, k)) is not None:
                yield finish(p)
                k += 1
            if cache.complete(shard):
                return
        yield from in_order(evaluate, _chunks_of(sample, item, chunk_size, fields, skip=k), workers)

    with closing(results()) as evaluated:  # an exception here joins the workers first
        for decided, hist_codes, bins, event, floats in evaluated:
            passed = decided.copy()
            for j in prescaled:  # in event order
                passed[:, j] = counters[j].apply(decided[:, j])
            counts.add(decided, passed, bins, hist_codes)
            for name, fired in floats.items():
                j = column[name]
                counts.float_fired[j] += int(fired.sum())
                counts.float_agree[j] += int((fired == decided[:, j]).sum())
            if writer is not None:
                writer.write(event, decided)
            if tick:
                tick(len(decided))
    return counts


# -- the replay ------------------------------------------------------------------------------------------

def prepare(menu, background, signals, *, threads=0, chunk_size=None, column=None, decisions=None):
    """Checked arguments: (a private copy of the menu, chunk size, fields to read, background, signals)."""
    import copy

    menu = menu.with_column(column) if column is not None else copy.copy(menu)
    menu.seeds = {name: copy.copy(s) for name, s in menu.seeds.items()}  # solved thresholds stay ours
    chunk_size = DEFAULT_CHUNK_SIZE if chunk_size is None else chunk_size
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, int) or chunk_size <= 0:
        raise ReplayError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 0:
        raise ReplayError(f"threads must be a non-negative integer (0 = all cores), got {threads!r}")
    for alg in menu.algorithms.values():
        alg.emulator.threads = threads
    fields = needed_fields(menu)
    read_fields = sorted(set(fields) | ({"event"} if decisions is not None else set()))
    bkg = source("background", background, fields)
    sigs = {name: source(name, spec, fields) for name, spec in (signals or {}).items()}
    return menu, chunk_size, read_fields, bkg, sigs


@functools.lru_cache(maxsize=None)
def recycle_freed_memory():
    """Have glibc keep freed blocks below 64 MB for reuse (M_MMAP_THRESHOLD; M_TRIM_THRESHOLD 512 MB) instead
    of unmapping them: every chunk allocates the same few-MB arrays, which would otherwise be mapped afresh
    and page-faulted in again (a fifth of a goal-menu replay's time went to the kernel). Peak memory is the
    same (the blocks are reused, not added to); once per process, nothing elsewhere than glibc."""
    try:
        libc = ctypes.CDLL(None)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    m_trim_threshold, m_mmap_threshold = -1, -3  # glibc's malloc.h
    return bool(mallopt(m_mmap_threshold, 64 << 20)) and bool(mallopt(m_trim_threshold, 512 << 20))


def replay(menu, background, signals=None, *, threads=0, chunk_size=None, dask=None, progress=None,
           decisions=None, pileup_edges=DEFAULT_PILEUP_EDGES, reference_rate_hz=1000.0, column=None,
           compare_float=False):
    """Rates, efficiencies and solved thresholds of ``menu`` (see DESIGN.md "Replay outputs").

    background / signals[name]: an event file path, a list of them, or one chunk iterable. ``progress`` is
    called with the number of crossings of each processed chunk. ``decisions``: an .h5/.parquet path for
    the per-event seed decisions of the background (before prescale). ``compare_float``: also evaluate the
    float model of every algorithm that declares one, at the same thresholds (needs TensorFlow). Returns a
    ReplayResult."""
    from .report import ReplayResult

    if dask is not None:
        from . import distributed

        distributed.check_client(dask)
        if decisions is not None:
            raise ReplayError("decisions= (--decisions) is written in input order by the single-process replay; "
                              "it is not available with dask= (--workers/--dask)")
    menu, chunk_size, fields, bkg, sigs = prepare(menu, background, signals, threads=threads,
                                                  chunk_size=chunk_size, column=column, decisions=decisions)
    recycle_freed_memory()
    tick = progress or (lambda n: None)
    cache = None if compare_float else PreparedCache()  # float decisions need the chunks again
    # Chunks evaluated at once (in_order): two on two or more threads, one chunk ahead of the in-order steps.
    workers = min(2, threads if threads > 0 else thread_budget())
    if dask is not None:
        results = distributed.run(dask, menu, bkg, sigs, chunk_size=chunk_size, fields=fields,
                                  pileup_edges=pileup_edges, tick=tick, compare_float=compare_float, threads=threads)
        return ReplayResult.build(menu, bkg, sigs, results, reference_rate_hz, compare_float)
    if any(s.rate_hz is not None for s in menu.seeds.values()):
        merged, n_bkg = None, 0
        for i, item in enumerate(bkg.items):
            hists, n = histogram_shard(menu, "background", item, chunk_size, fields, tick, cache, i, workers,
                                       keep_events=decisions is not None, pileup_edges=pileup_edges)
            n_bkg += n
            merged = hists if merged is None else {k: merged[k].merged(v) for k, v in hists.items()}
        solve_thresholds(menu, merged, n_bkg)
    results = {}
    writer = _DecisionWriter(decisions, list(menu.seeds)) if decisions is not None else None
    try:
        for sample_name, sample in [("background", bkg)] + list(sigs.items()):
            total = None
            for i, item in enumerate(sample.items):
                bkg_cache = cache if sample_name == "background" else None
                c = count_shard(menu, sample_name, item, chunk_size, fields, pileup_edges, tick,
                                writer if sample_name == "background" else None, compare_float, bkg_cache, i,
                                workers)
                total = c if total is None else total.merged(c)
            results[sample_name] = total
        if results["background"].n_events == 0:
            raise ReplayError("the background sample has no events")
        if writer is not None:
            writer.commit()
    finally:
        if writer is not None:
            writer.abort()
    return ReplayResult.build(menu, bkg, sigs, results, reference_rate_hz, compare_float)


def _code_range(spec):
    if spec.is_signed:
        return -(1 << (spec.width - 1)), (1 << (spec.width - 1)) - 1
    return 0, (1 << spec.width) - 1


# -- per-event decisions ---------------------------------------------------------------------------------

class _DecisionWriter:
    """Per-event decisions (before prescale) of the background, streamed to a temporary file that is
    renamed over the target only when the replay completes."""

    def __init__(self, path, seeds):
        from ..atomic import atomic_file

        self.path, self.seeds = os.fspath(path), seeds
        ext = os.path.splitext(self.path)[1].lower()
        if ext not in (".h5", ".hdf5", ".parquet", ".pq"):
            raise ReplayError(f"--decisions {self.path!r}: use a .h5 or .parquet file name")
        self.fmt = "h5" if ext in (".h5", ".hdf5") else "parquet"
        self._ctx = atomic_file(self.path, overwrite=True, what="decisions file")
        self.tmp = self._ctx.__enter__()
        self.n = 0
        self._open = None
        self._done = False

    def write(self, event, decided):
        event = np.arange(self.n, self.n + len(decided)) if event is None else np.asarray(event, np.int64)
        if self.fmt == "h5":
            import h5py

            if self._open is None:
                self._open = h5py.File(self.tmp, "w")
                for name in ["event"] + self.seeds:
                    self._open.create_dataset(name, shape=(0,), maxshape=(None,),
                                              dtype=np.int64 if name == "event" else bool, chunks=(65536,))
            f = self._open
            for j, name in enumerate(["event"] + self.seeds):
                col = event if j == 0 else decided[:, j - 1]
                f[name].resize(self.n + len(col), axis=0)
                f[name][self.n:] = col
        else:
            import pyarrow as pa
            import pyarrow.parquet as pq

            table = pa.table({"event": event, **{n: decided[:, j] for j, n in enumerate(self.seeds)}})
            if self._open is None:
                self._open = pq.ParquetWriter(self.tmp, table.schema, compression="zstd")
            self._open.write_table(table)
        self.n += len(decided)

    def commit(self):
        if self._open is not None:
            self._open.close()
            self._open = None
        self._ctx.__exit__(None, None, None)
        self._done = True

    def abort(self):
        if self._done:
            return
        if self._open is not None:
            self._open.close()
        try:
            self._ctx.__exit__(ReplayError, ReplayError("aborted"), None)
        except ReplayError:
            pass
