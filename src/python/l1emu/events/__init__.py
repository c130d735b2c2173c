"""Simulated L1 event streams (a fast parametric simulation, not a detector simulation).

    from l1emu import events
    stream = events.generate("zerobias", 1_000_000, seed=1)        # iterable of chunk dicts
    for chunk in stream:
        X = events.l1_objects_57(chunk)                             # (n, 57) hardware units
    events.write_h5("tt.h5", events.generate("ttbar", 10_000, seed=2, with_constituents=True))
    for chunk in events.iter_chunks("tt.h5", chunk_size=100_000):
        ...

See docs/events.md for the physics model, the LSBs and the file formats.
"""

import numpy as _np

from .backend import BACKENDS, BLOCK_SIZE, DEFAULT_CHUNK_SIZE, Backend, Stream, iter_generate
from .features import hls4ml_features, jet_image, jet_mass
from .generator import DEFAULT_PILEUP, VERSION, ParametricBackend
from .io import append, detect_format, info, iter_chunks, merge, read, write, write_h5, write_parquet
from .processes import LABELS, PROCESSES
from .record import (
    FIELDS,
    HARDWARE_UNITS,
    JET_FEATURES,
    fields_for,
    jet_features,
    l1_objects_57,
    leading_jet_constituents,
    to_hardware,
)


def generate(process, n_events, seed, chunk_size=DEFAULT_CHUNK_SIZE, *, with_constituents=False,
             with_images=False, pileup=DEFAULT_PILEUP, backend="parametric", workers=1):
    """A seeded, reproducible stream of ``n_events`` crossings of ``process`` (see PROCESSES):
    iterate it for chunks (dicts of numpy arrays, record order) of ``chunk_size`` events.

    The events do not depend on chunk_size or workers; the L1 objects do not depend on
    with_constituents / with_images. Bad arguments raise L1emuError at once."""
    return Stream(process, n_events, seed, chunk_size, with_constituents=with_constituents,
                  with_images=with_images, pileup=pileup, backend=backend, workers=workers)


def generate_all(process, n_events, seed, **kwargs):
    """The whole stream as one chunk dict (small streams only)."""
    chunks = list(generate(process, n_events, seed, **kwargs))
    return chunks[0] if len(chunks) == 1 else {k: _np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


__all__ = [
    "BACKENDS", "BLOCK_SIZE", "Backend", "DEFAULT_CHUNK_SIZE", "DEFAULT_PILEUP", "FIELDS", "HARDWARE_UNITS",
    "JET_FEATURES", "LABELS", "PROCESSES", "ParametricBackend", "Stream", "VERSION", "append", "detect_format",
    "fields_for", "generate", "generate_all", "hls4ml_features", "info", "iter_chunks", "iter_generate",
    "jet_features", "jet_image", "jet_mass", "l1_objects_57", "leading_jet_constituents", "merge", "read",
    "to_hardware", "write", "write_h5", "write_parquet",
]
