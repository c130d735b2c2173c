"""Event files: HDF5 (h5py) and Parquet (pyarrow), written and read in chunks (constant memory).

Both formats hold the record fields (record.FIELDS) as columns and a JSON metadata document:
format name and version, fields, n_events, and the list of sources (process, label, seed, backend and
generator version, pileup, event count) that were generated, appended or merged into the file.
Writes go to a temporary file in the target directory that is renamed only when complete, so an
interrupted write never leaves a partial file under the target name; an existing target is
replaced only with overwrite=True.
"""

import json
import os
import tempfile

import numpy as np

from ..errors import EventFileError
from . import record

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
PARQUET_MAGIC = b"PAR1"
ROOT_MAGIC = b"root"  # CMS L1Ntuples and NanoAOD, read by events.root
META_KEY = "l1emu.events"
DEFAULT_READ_CHUNK = 65536
_FORMATS = ("h5", "parquet")
DEFAULT_COMPRESSION = {"h5": "lzf", "parquet": "zstd"}
_CODECS = {"h5": (None, "lzf", "gzip"), "parquet": (None, "none", "snappy", "gzip", "brotli", "lz4", "zstd")}


def _format_from_name(path, fmt):
    if fmt is not None:
        if fmt not in _FORMATS:
            raise EventFileError(f"unknown event file format {fmt!r}; use 'h5' or 'parquet'")
        return fmt
    ext = os.path.splitext(str(path))[1].lower()
    if ext in (".h5", ".hdf5", ".hdf"):
        return "h5"
    if ext in (".parquet", ".pq"):
        return "parquet"
    raise EventFileError(f"cannot tell the format of {str(path)!r} from its extension: use .h5 or .parquet, or pass format=")


def detect_format(path):
    """'h5', 'parquet' or 'root' (a CMS L1 ROOT file, see events.root) from the file's magic bytes;
    EventFileError for anything else."""
    path = str(path)
    if not os.path.exists(path):
        raise EventFileError(f"no such event file: {path!r}")
    with open(path, "rb") as f:
        head = f.read(8)
    if head == HDF5_MAGIC:
        return "h5"
    if head[:4] == PARQUET_MAGIC:
        return "parquet"
    if head[:4] == ROOT_MAGIC:
        return "root"
    raise EventFileError(f"{path!r} is not an l1emu event file (neither HDF5 nor Parquet, nor a CMS ROOT file)")


def _check_meta(path, meta):
    if not isinstance(meta, dict) or meta.get("format") != record.FORMAT:
        raise EventFileError(f"{path!r} is not an l1emu event file (no '{record.FORMAT}' metadata)")
    if meta.get("format_version") != record.FORMAT_VERSION:
        raise EventFileError(
            f"{path!r} has event format version {meta.get('format_version')!r}; this l1emu reads version "
            f"{record.FORMAT_VERSION}"
        )
    unknown = [f for f in meta.get("fields", []) if f not in record.FIELD]
    if unknown:
        raise EventFileError(f"{path!r} has unknown fields {unknown}")
    return meta


def _new_meta(fields, sources):
    return {
        "format": record.FORMAT,
        "format_version": record.FORMAT_VERSION,
        "fields": list(fields),
        "n_events": 0,
        "sources": [dict(s) for s in sources],
    }


def _counts(sources):
    counts = {}
    for s in sources:
        counts[s.get("process", "unknown")] = counts.get(s.get("process", "unknown"), 0) + int(s.get("n_events", 0))
    return counts


# ---------------------------------------------------------------------------------------------------
# writers


class _H5Writer:
    def __init__(self, path, fields, compression):
        import h5py

        self.f = h5py.File(path, "w")
        self.fields = fields
        self.n = 0
        for name in fields:
            fd = record.FIELD[name]
            per_event = max(1, int(np.prod(fd.shape, dtype=np.int64)) * np.dtype(fd.dtype).itemsize)
            rows = int(max(1, min(65536, (1 << 20) // per_event)))  # ~1 MB HDF5 chunks
            self.f.create_dataset(
                name,
                shape=(0, *fd.shape),
                maxshape=(None, *fd.shape),
                dtype=fd.dtype,
                chunks=(rows, *fd.shape),
                compression=compression if fd.group != "objects" else None,
            )

    def write(self, chunk, n):
        for name in self.fields:
            ds = self.f[name]
            ds.resize(self.n + n, axis=0)
            ds[self.n : self.n + n] = chunk[name]
        self.n += n

    def close(self, meta):
        self.f.attrs["format"] = record.FORMAT
        self.f.attrs["format_version"] = record.FORMAT_VERSION
        self.f.attrs["metadata"] = json.dumps(meta)
        self.f.attrs["complete"] = True  # written last: a file without it was interrupted
        self.f.close()

    def abort(self):
        self.f.close()


def _arrow_schema(fields):
    import pyarrow as pa

    cols = []
    for name in fields:
        fd = record.FIELD[name]
        t = pa.from_numpy_dtype(np.dtype(fd.dtype))
        size = int(np.prod(fd.shape, dtype=np.int64))
        if fd.shape:
            t = pa.list_(t, size)
        cols.append(pa.field(name, t, nullable=False, metadata={"shape": json.dumps(list(fd.shape))}))
    return pa.schema(cols)


class _ParquetWriter:
    def __init__(self, path, fields, compression):
        import pyarrow.parquet as pq

        self.fields = fields
        self.schema = _arrow_schema(fields)
        self.w = pq.ParquetWriter(path, self.schema, compression=compression or "none")
        self.n = 0

    def write(self, chunk, n):
        import pyarrow as pa

        arrays = []
        for name in self.fields:
            a = np.ascontiguousarray(chunk[name], dtype=record.FIELD[name].dtype)
            flat = pa.array(a.reshape(-1))
            arrays.append(pa.FixedSizeListArray.from_arrays(flat, int(a[0].size)) if a.ndim > 1 else flat)
        self.w.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        self.n += n

    def close(self, meta):
        self.w.add_key_value_metadata({META_KEY: json.dumps(meta)})
        self.w.close()

    def abort(self):
        self.w.close()


def _check_chunk(chunk, fields, where):
    if set(chunk) != set(fields):
        missing, extra = sorted(set(fields) - set(chunk)), sorted(set(chunk) - set(fields))
        raise EventFileError(f"{where}: chunk fields differ from the file's (missing {missing}, extra {extra})")
    n = None
    for name in fields:
        fd = record.FIELD[name]
        a = np.asarray(chunk[name])
        if a.shape[1:] != fd.shape:
            raise EventFileError(f"{where}: field {name!r} has per-event shape {a.shape[1:]}, expected {fd.shape}")
        if n is None:
            n = a.shape[0]
        elif a.shape[0] != n:
            raise EventFileError(f"{where}: fields of one chunk have different lengths")
    return n


def write(path, chunks, *, format=None, overwrite=False, compression="default", metadata=None, progress=None):
    """Write chunks (an iterable of record dicts, e.g. ``generate(...)``) to an event file.

    ``compression``: "default" = lzf on the constituent and image fields of HDF5 files (L1 objects
    stay uncompressed for fast reads), zstd for Parquet; None = uncompressed; or any h5py / pyarrow
    codec name. ``metadata``: sources to record (default: the ``metadata`` of a generated stream).
    ``progress`` is called with the number of events of each chunk written. Returns the metadata."""
    path = os.fspath(path)
    fmt = _format_from_name(path, format)
    if compression == "default":
        compression = DEFAULT_COMPRESSION[fmt]
    if compression not in _CODECS[fmt]:
        raise EventFileError(f"unknown {fmt} compression {compression!r}; use one of {_CODECS[fmt]}")
    if os.path.exists(path) and not overwrite:
        raise EventFileError(f"{path!r} exists; pass overwrite=True (--overwrite) to replace it")
    if metadata is None:
        metadata = getattr(chunks, "metadata", None) or {"sources": [{"process": "unknown"}]}
    sources = [dict(s) for s in metadata.get("sources", [])]
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=directory)
    os.close(fd)
    writer = None
    try:
        for chunk in chunks:
            if writer is None:
                fields = [f.name for f in record.FIELDS if f.name in chunk]
                _check_chunk(chunk, fields, path)
                writer = (_H5Writer if fmt == "h5" else _ParquetWriter)(tmp, fields, compression)
            n = _check_chunk(chunk, writer.fields, path)
            if n:
                writer.write(chunk, n)
                if progress is not None:
                    progress(n)
        if writer is None or writer.n == 0:
            raise EventFileError(f"no events to write to {path!r}")
        meta = _new_meta(writer.fields, sources)
        meta["n_events"] = writer.n
        declared = sum(int(s.get("n_events", 0)) for s in sources)
        if declared != writer.n:  # sources that did not say how many events they gave
            if len(sources) == 1:
                sources[0]["n_events"] = writer.n
            else:
                raise EventFileError(f"sources declare {declared} events but {writer.n} were written")
        meta["sources"] = sources
        meta["counts"] = _counts(sources)
        writer.close(meta)
        writer = None
        os.replace(tmp, path)
        return meta
    except BaseException:
        if writer is not None:
            try:
                writer.abort()
            except Exception:
                pass
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def write_h5(path, chunks, **kwargs):
    """HDF5 event file (see ``write``)."""
    return write(path, chunks, format="h5", **kwargs)


def write_parquet(path, chunks, **kwargs):
    """Parquet event file (see ``write``)."""
    return write(path, chunks, format="parquet", **kwargs)


# ---------------------------------------------------------------------------------------------------
# readers


def info(path):
    """Metadata of an event file (format, fields, n_events, sources, counts); validates the file."""
    path = os.fspath(path)
    fmt = detect_format(path)
    if fmt == "root":
        from . import root

        return root.info(path)
    if fmt == "h5":
        import h5py

        try:
            with h5py.File(path, "r") as f:
                attrs = dict(f.attrs)
                if attrs.get("format") != record.FORMAT:
                    raise EventFileError(f"{path!r} is not an l1emu event file (no '{record.FORMAT}' attribute)")
                if not attrs.get("complete", False):
                    raise EventFileError(f"{path!r} is incomplete: its write was interrupted")
                meta = _check_meta(path, json.loads(attrs["metadata"]))
                for name in meta["fields"]:
                    if name not in f or f[name].shape[0] != meta["n_events"]:
                        raise EventFileError(f"{path!r} is truncated: field {name!r} is missing or short")
        except OSError as exc:
            raise EventFileError(f"{path!r} is truncated or corrupt and cannot be read as HDF5 ({exc})") from None
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            md = pq.ParquetFile(path).metadata
        except (pa.ArrowException, OSError) as exc:
            raise EventFileError(f"{path!r} is truncated or corrupt and cannot be read as Parquet ({exc})") from None
        kv = md.metadata or {}
        raw = kv.get(META_KEY.encode())
        if raw is None:
            raise EventFileError(f"{path!r} is not an l1emu event file (no '{META_KEY}' metadata)")
        meta = _check_meta(path, json.loads(raw))
        if md.num_rows != meta["n_events"]:
            raise EventFileError(f"{path!r} is truncated: {md.num_rows} rows, metadata says {meta['n_events']}")
    meta["file_format"] = fmt
    return meta


def _select_fields(path, meta, fields):
    if fields is None:
        return list(meta["fields"])
    fields = [fields] if isinstance(fields, str) else list(fields)
    missing = [f for f in fields if f not in meta["fields"]]
    if missing:
        raise EventFileError(f"{path!r} has no field(s) {missing}; it has {meta['fields']}")
    return fields


def iter_chunks(path, chunk_size=DEFAULT_READ_CHUNK, fields=None):
    """Yield record dicts of up to ``chunk_size`` events from an event file, in order."""
    path = os.fspath(path)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size <= 0:
        raise EventFileError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    meta = info(path)
    names = _select_fields(path, meta, fields)
    n = meta["n_events"]
    if meta["file_format"] == "root":
        from . import root

        yield from root.iter_chunks(path, chunk_size, names)
        return
    if meta["file_format"] == "h5":
        import h5py

        with h5py.File(path, "r") as f:
            for start in range(0, n, chunk_size):
                yield {name: f[name][start : start + chunk_size] for name in names}
        return
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    for batch in pf.iter_batches(batch_size=chunk_size, columns=names, use_threads=False):
        out = {}
        for name in names:
            fd = record.FIELD[name]
            col = batch.column(name)
            values = col.flatten() if fd.shape else col
            out[name] = values.to_numpy(zero_copy_only=False).reshape(len(batch), *fd.shape).astype(fd.dtype, copy=False)
        yield out


def read(path, fields=None):
    """A whole event file as one record dict (small files only; use iter_chunks for streams)."""
    if detect_format(path) == "root":
        from . import root

        return root.read(path, fields)
    chunks = list(iter_chunks(path, DEFAULT_READ_CHUNK, fields))
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


class _Concat:
    """Chunks of several files (then extra chunk iterables), with the combined metadata."""

    def __init__(self, paths, extra=(), extra_sources=(), chunk_size=DEFAULT_READ_CHUNK):
        self.paths, self.extra, self.chunk_size = paths, extra, chunk_size
        metas = [info(p) for p in paths]
        fields = [tuple(m["fields"]) for m in metas]
        if len(set(fields)) > 1:
            raise EventFileError(f"cannot combine files with different fields: {dict(zip(paths, fields))}")
        sources = [s for m in metas for s in m["sources"]] + [dict(s) for s in extra_sources]
        self.metadata = {"sources": sources}
        self.fields = list(fields[0]) if fields else None

    def __iter__(self):
        for p in self.paths:
            yield from iter_chunks(p, self.chunk_size)
        for chunks in self.extra:
            for chunk in chunks:
                if self.fields is not None and set(chunk) != set(self.fields):
                    raise EventFileError(
                        f"appended events have fields {sorted(chunk)}, the file has {sorted(self.fields)}"
                    )
                yield chunk


def merge(inputs, output, *, format=None, overwrite=False, compression="default", progress=None):
    """Concatenate event files (same fields) into ``output``; metadata sources are combined."""
    inputs = [os.fspath(p) for p in inputs]
    if not inputs:
        raise EventFileError("merge needs at least one input file")
    out = os.fspath(output)
    if any(os.path.abspath(p) == os.path.abspath(out) for p in inputs):
        raise EventFileError(f"merge output {out!r} is also an input; use append instead")
    stream = _Concat(inputs)
    return write(out, stream, format=format, overwrite=overwrite, compression=compression,
                 metadata=stream.metadata, progress=progress)


def append(path, chunks, *, compression="default", progress=None):
    """Append chunks (e.g. another generated stream) to an existing event file.

    The file is rewritten through a temporary copy (streamed, constant memory) and replaced at the
    end, so an interrupted append leaves the original intact."""
    path = os.fspath(path)
    meta = info(path)
    extra_meta = getattr(chunks, "metadata", None) or {"sources": [{"process": "unknown"}]}
    extra_sources = extra_meta.get("sources", [])
    if any("n_events" not in s for s in extra_sources):
        raise EventFileError("append needs chunks that declare their event count (use a generated stream)")
    stream = _Concat([path], extra=[chunks], extra_sources=extra_sources)
    return write(path, stream, format=meta["file_format"], overwrite=True, compression=compression,
                 metadata=stream.metadata, progress=progress)
