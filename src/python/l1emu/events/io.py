"""Event files: HDF5 (h5py) and Parquet (pyarrow), written and read in chunks (constant memory).

Both formats hold the record fields (record.FIELDS) as columns and a JSON metadata document:
format name and version, fields, n_events, and the list of sources (process, label, seed, backend and
generator version, pileup, event count) that were generated, appended or merged into the file.
Writes go through ``l1emu.atomic.atomic_file``: a temporary file in the target directory (with the
user's umask), claimed against a second writer, renamed only when complete, removed on any error, so
an interrupted or failed write never leaves a partial file; an existing target is replaced only with
overwrite=True. Write errors (disk full, I/O errors) end in one EventFileError naming the target.
Reads check the metadata, the shapes and dtypes, and (HDF5 datasets: fletcher32, Parquet pages: CRC)
the checksums of the data, so a damaged file raises EventFileError naming the file and dataset.
"""

import contextlib
import io
import itertools
import json
import os
import signal
import zlib

import numpy as np

from ..atomic import atomic_file, check_target
from ..errors import EventFileError
from . import record

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
PARQUET_MAGIC = b"PAR1"
ROOT_MAGIC = b"root"  # CMS L1Ntuples and NanoAOD, read by events.root
META_KEY = "l1emu.events"
META_CRC_KEY = "l1emu.events.crc32"  # CRC-32 of the metadata text (HDF5 vlen strings and the Parquet footer have none)
DEFAULT_READ_CHUNK = 65536
_FORMATS = ("h5", "parquet")
_EXTENSIONS = {".h5": "h5", ".hdf5": "h5", ".hdf": "h5", ".parquet": "parquet", ".pq": "parquet"}
DEFAULT_COMPRESSION = {"h5": "lzf", "parquet": "zstd"}
_CODECS = {"h5": (None, "lzf", "gzip"), "parquet": (None, "none", "snappy", "gzip", "brotli", "lz4", "zstd")}
H5_CHUNK_BYTES = 1 << 20  # HDF5 chunks of ~1 MB, fewer rows for short streams
# HDF5 1.10 file format: its object headers, chunk indexes and heaps carry checksums (files readable by
# HDF5 >= 1.10, i.e. any h5py since 2.8); the datasets themselves get fletcher32.
H5_LIBVER = ("v110", "v110")


def _format_from_name(path, fmt):
    ext = os.path.splitext(str(path))[1].lower()
    by_ext = _EXTENSIONS.get(ext)
    if fmt is not None:
        if fmt not in _FORMATS:
            raise EventFileError(f"unknown event file format {fmt!r}; use 'h5' or 'parquet'")
        if by_ext is not None and by_ext != fmt:
            raise EventFileError(
                f"{str(path)!r}: format {fmt!r} does not match its extension {ext!r} (a {by_ext} file name); "
                f"name it .{'parquet' if fmt == 'parquet' else 'h5'} or drop the format"
            )
        return fmt
    if by_ext is not None:
        return by_ext
    raise EventFileError(f"cannot tell the format of {str(path)!r} from its extension: use .h5 or .parquet, or pass format=")


def detect_format(path):
    """'h5', 'parquet' or 'root' (a CMS L1 ROOT file, see events.root) from the file's magic bytes;
    EventFileError for anything else."""
    path = str(path)
    if not os.path.exists(path):
        raise EventFileError(f"no such event file: {path!r}")
    if os.path.isdir(path):
        raise EventFileError(f"{path!r} is a directory, not an event file")
    with open(path, "rb") as f:
        head = f.read(8)
    if head == HDF5_MAGIC:
        return "h5"
    if head[:4] == PARQUET_MAGIC:
        return "parquet"
    if head[:4] == ROOT_MAGIC:
        return "root"
    raise EventFileError(f"{path!r} is not an l1emu event file (neither HDF5 nor Parquet, nor a CMS ROOT file)")


def _first_line(exc):
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _reason(exc):
    """What went wrong, in words: the OS's text for an errno (e.g. 'No space left on device')."""
    if isinstance(exc, OSError) and exc.errno:
        return os.strerror(exc.errno)
    return _first_line(exc)


def _dump_meta(meta):
    """The metadata text and its CRC-32 (hex) to store beside it."""
    text = json.dumps(meta)
    return text, f"{zlib.crc32(text.encode()):08x}"


def _parse_meta(path, raw, crc=None):
    """The metadata document; EventFileError if it fails its CRC (files written since the CRC was added)
    or is not JSON."""
    if isinstance(crc, bytes):
        crc = crc.decode(errors="replace")
    if crc is not None:
        data = raw if isinstance(raw, bytes) else str(raw).encode(errors="surrogateescape")
        if f"{zlib.crc32(data):08x}" != crc:
            raise EventFileError(f"{path!r} is corrupt: its metadata fails its checksum")
    if isinstance(raw, bytes):
        try:
            raw = raw.decode()
        except UnicodeDecodeError:
            raise EventFileError(f"{path!r} has corrupt metadata (not UTF-8 text)") from None
    try:
        return json.loads(raw)
    except (TypeError, ValueError) as exc:
        raise EventFileError(f"{path!r} has corrupt metadata (not valid JSON: {_first_line(exc)})") from None


def _check_meta(path, meta):
    if not isinstance(meta, dict) or meta.get("format") != record.FORMAT:
        raise EventFileError(f"{path!r} is not an l1emu event file (no '{record.FORMAT}' metadata)")
    if meta.get("format_version") != record.FORMAT_VERSION:
        raise EventFileError(
            f"{path!r} has event format version {meta.get('format_version')!r}; this l1emu reads version "
            f"{record.FORMAT_VERSION}"
        )
    fields, n, sources = meta.get("fields"), meta.get("n_events"), meta.get("sources")
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise EventFileError(f"{path!r} has corrupt metadata: 'fields' is not a list of names")
    unknown = [f for f in fields if f not in record.FIELD]
    if unknown:
        raise EventFileError(f"{path!r} has unknown fields {unknown}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise EventFileError(f"{path!r} has corrupt metadata: n_events = {n!r}")
    if not isinstance(sources, list) or not all(isinstance(s, dict) for s in sources):
        raise EventFileError(f"{path!r} has corrupt metadata: 'sources' is not a list of records")
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


class _Sink(io.RawIOBase):
    """The HDF5 temporary as h5py's 'fileobj' driver sees it. The first failed write (disk full, quota,
    I/O error) is kept in ``error`` and later writes are dropped: the HDF5 library never sees a failed
    write, which it cannot recover from (an error on every later call, then a crash closing the file).
    The writer checks ``error`` after each call and gives up; the temporary is then deleted."""

    def __init__(self, path):
        super().__init__()
        self.f = open(path, "r+b", buffering=0)
        self.error = None

    def readable(self):
        return True

    def writable(self):
        return True

    def seekable(self):
        return True

    def seek(self, offset, whence=io.SEEK_SET):
        return self.f.seek(offset, whence)

    def tell(self):
        return self.f.tell()

    def readinto(self, b):
        return self.f.readinto(b)

    def write(self, b):
        n = memoryview(b).nbytes
        if self.error is None:
            try:
                done = 0
                with memoryview(b).cast("B") as view:
                    while done < n:  # a short write is not an error
                        done += self.f.write(view[done:])
                return n
            except OSError as exc:
                self.error = exc
        self.f.seek(n, io.SEEK_CUR)
        return n

    def truncate(self, size=None):
        if self.error is None:
            try:
                return self.f.truncate(size)
            except OSError as exc:
                self.error = exc
        return self.f.tell() if size is None else size

    def flush(self):
        pass

    def close(self):
        if not self.closed:
            self.f.close()
        super().close()


_HELD = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}


@contextlib.contextmanager
def _signals_held():
    """Hold back SIGINT / SIGTERM / SIGHUP while the HDF5 library runs: it calls back into Python (the
    _Sink), where the KeyboardInterrupt of a signal would abort it mid-write. They are delivered (and
    raise) as soon as the call returns."""
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _HELD)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class _H5Writer:
    def __init__(self, target, tmp, fields, compression, rows_hint):
        import h5py

        self.target, self.fields, self.n = target, fields, 0
        self.sink = _Sink(tmp)
        self.f = self.ds = None
        try:
            with _signals_held():
                self.f = h5py.File(self.sink, "w", libver=H5_LIBVER)
                self.ds = {}  # kept open: h5py objects are only ever closed or freed with signals held
                for name in fields:
                    fd = record.FIELD[name]
                    per_event = max(1, int(np.prod(fd.shape, dtype=np.int64)) * np.dtype(fd.dtype).itemsize)
                    rows = int(max(1, min(65536, H5_CHUNK_BYTES // per_event, rows_hint)))
                    self.ds[name] = self.f.create_dataset(
                        name,
                        shape=(0, *fd.shape),
                        maxshape=(None, *fd.shape),
                        dtype=fd.dtype,
                        chunks=(rows, *fd.shape),
                        compression=compression if fd.compress else None,
                        fletcher32=True,
                    )
        except OSError as exc:
            self.abort()
            raise self._error(exc) from None
        self._check()

    def _error(self, exc):
        return EventFileError(f"cannot write event file {self.target!r}: {_reason(self.sink.error or exc)}")

    def _check(self):
        if self.sink.error is not None:
            raise self._error(self.sink.error)

    def write(self, chunk, n):
        try:
            with _signals_held():
                for name in self.fields:
                    self.ds[name].resize(self.n + n, axis=0)
                    self.ds[name][self.n : self.n + n] = chunk[name]
        except OSError as exc:
            raise self._error(exc) from None
        self._check()
        self.n += n

    def close(self, meta):
        try:
            with _signals_held():
                self.f.attrs["format"] = record.FORMAT
                self.f.attrs["format_version"] = record.FORMAT_VERSION
                self.f.attrs["metadata"], self.f.attrs[META_CRC_KEY] = _dump_meta(meta)
                self.f.attrs["complete"] = True  # written last: a file without it was interrupted
                self._close()
            os.fsync(self.sink.f.fileno())  # report a failure (disk full, quota) now, not after the rename
        except OSError as exc:
            raise self._error(exc) from None
        self._check()
        self.sink.close()

    def abort(self):
        try:
            with _signals_held():
                self._close()
        except Exception:
            pass
        self.sink.close()

    def _close(self):  # (with signals held)
        f, self.f, self.ds = self.f, None, None
        if f is not None:
            f.close()
        del f


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
    def __init__(self, target, tmp, fields, compression, rows_hint):
        import pyarrow.parquet as pq

        self.target, self.fields, self.n, self.w = target, fields, 0, None
        self.schema = _arrow_schema(fields)
        try:
            self.w = pq.ParquetWriter(tmp, self.schema, compression=compression or "none", write_page_checksum=True)
        except OSError as exc:
            raise self._error(exc) from None

    def _error(self, exc):
        return EventFileError(f"cannot write event file {self.target!r}: {_reason(exc)}")

    def write(self, chunk, n):
        import pyarrow as pa

        arrays = []
        for name in self.fields:
            a = np.ascontiguousarray(chunk[name], dtype=record.FIELD[name].dtype)
            flat = pa.array(a.reshape(-1))
            arrays.append(pa.FixedSizeListArray.from_arrays(flat, int(a[0].size)) if a.ndim > 1 else flat)
        try:
            self.w.write_batch(pa.RecordBatch.from_arrays(arrays, schema=self.schema))
        except OSError as exc:
            raise self._error(exc) from None
        self.n += n

    def close(self, meta):
        try:
            text, crc = _dump_meta(meta)
            self.w.add_key_value_metadata({META_KEY: text, META_CRC_KEY: crc})
            self.w.close()
        except OSError as exc:
            raise self._error(exc) from None

    def abort(self):
        try:
            if self.w is not None:
                self.w.close()
        except Exception:
            pass


_WRITERS = {"h5": _H5Writer, "parquet": _ParquetWriter}


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

    ``compression``: "default" = lzf on the sparse constituent and image fields of HDF5 files (L1 objects
    and the leading-jet features, dense floats lzf hardly shrinks, stay uncompressed for fast reads), zstd
    for Parquet; None = uncompressed; or any h5py / pyarrow
    codec name. ``metadata``: sources to record (default: the ``metadata`` of a generated stream).
    ``progress`` is called with 0 once the target is checked and claimed (before the first chunk is
    asked for), then with the number of events of each chunk written. Returns the metadata.
    Problems with the target (format, directory, existing file, another writer) and write errors
    raise EventFileError naming it; nothing is left on disk."""
    path = os.fspath(path)
    check_target(path, overwrite, what="event file", error=EventFileError)  # first: a wrong directory, ...
    fmt = _format_from_name(path, format)
    if compression == "default":
        compression = DEFAULT_COMPRESSION[fmt]
    if compression not in _CODECS[fmt]:
        raise EventFileError(f"unknown {fmt} compression {compression!r}; use one of {_CODECS[fmt]}")
    if metadata is None:
        metadata = getattr(chunks, "metadata", None) or {"sources": [{"process": "unknown"}]}
    sources = [dict(s) for s in metadata.get("sources", [])]
    declared = sum(int(s.get("n_events", 0)) for s in sources)
    expected = declared if sources and all("n_events" in s for s in sources) else None
    with atomic_file(path, overwrite=overwrite, what="event file", error=EventFileError) as tmp:
        if progress is not None:
            progress(0)
        writer = None
        try:
            for chunk in chunks:
                if writer is None:
                    fields = [f.name for f in record.FIELDS if f.name in chunk]
                    n = _check_chunk(chunk, fields, path)
                    writer = _WRITERS[fmt](path, tmp, fields, compression, rows_hint=expected or max(n, 1))
                n = _check_chunk(chunk, writer.fields, path)
                if n:
                    writer.write(chunk, n)
                    if progress is not None:
                        progress(n)
            if writer is None or writer.n == 0:
                raise EventFileError(f"no events to write to {path!r}")
            meta = _new_meta(writer.fields, sources)
            meta["n_events"] = writer.n
            if declared != writer.n:  # sources that did not say how many events they gave
                if len(sources) == 1:
                    sources[0]["n_events"] = writer.n
                else:
                    raise EventFileError(f"sources declare {declared} events but {writer.n} were written")
            meta["sources"] = sources
            meta["counts"] = _counts(sources)
            writer.close(meta)
            writer = None
        finally:
            if writer is not None:
                writer.abort()
    return meta


def write_h5(path, chunks, **kwargs):
    """HDF5 event file (see ``write``)."""
    return write(path, chunks, format="h5", **kwargs)


def write_parquet(path, chunks, **kwargs):
    """Parquet event file (see ``write``)."""
    return write(path, chunks, format="parquet", **kwargs)


# ---------------------------------------------------------------------------------------------------
# readers


def _check_h5_dataset(path, f, name, n):
    import h5py

    fd = record.FIELD[name]
    ds = f.get(name)
    if not isinstance(ds, h5py.Dataset) or ds.ndim == 0:
        raise EventFileError(f"{path!r} is truncated: field {name!r} is missing")
    if ds.shape[1:] != fd.shape or ds.dtype != np.dtype(fd.dtype):
        raise EventFileError(
            f"{path!r}: dataset {name!r} has shape {ds.shape} and dtype {ds.dtype}; expected (n_events, "
            f"{', '.join(map(str, fd.shape))}) {np.dtype(fd.dtype)}"
        )
    if ds.shape[0] != n:
        raise EventFileError(f"{path!r} is truncated: dataset {name!r} has {ds.shape[0]} events, metadata says {n}")


def _same_type(a, b):
    """Arrow types equal up to the name of a list's item field (writers call it 'item' or 'element')."""
    import pyarrow as pa

    if pa.types.is_fixed_size_list(a) and pa.types.is_fixed_size_list(b):
        return a.list_size == b.list_size and a.value_type == b.value_type
    return a == b


def _parquet_file(path):
    import pyarrow.parquet as pq

    return pq.ParquetFile(path, page_checksum_verification=True)


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
                if "metadata" not in attrs:
                    raise EventFileError(f"{path!r} has no 'metadata' attribute")
                meta = _check_meta(path, _parse_meta(path, attrs["metadata"], attrs.get(META_CRC_KEY)))
                for name in meta["fields"]:
                    _check_h5_dataset(path, f, name, meta["n_events"])
        except EventFileError:
            raise
        except (OSError, RuntimeError, KeyError, ValueError) as exc:  # e.g. a damaged header or string
            raise EventFileError(
                f"{path!r} is truncated or corrupt and cannot be read as HDF5 ({_first_line(exc)})"
            ) from None
    else:
        import pyarrow as pa

        try:
            pf = _parquet_file(path)
            md, schema = pf.metadata, pf.schema_arrow
        except (pa.ArrowException, OSError) as exc:
            raise EventFileError(
                f"{path!r} is truncated or corrupt and cannot be read as Parquet ({_first_line(exc)})"
            ) from None
        kv = md.metadata or {}
        raw = kv.get(META_KEY.encode())
        if raw is None:
            raise EventFileError(f"{path!r} is not an l1emu event file (no '{META_KEY}' metadata)")
        meta = _check_meta(path, _parse_meta(path, raw, kv.get(META_CRC_KEY.encode())))
        expected = _arrow_schema(meta["fields"])
        for name in meta["fields"]:
            if name not in schema.names:
                raise EventFileError(f"{path!r} is corrupt: column {name!r} is missing")
            if not _same_type(schema.field(name).type, expected.field(name).type):
                raise EventFileError(
                    f"{path!r}: column {name!r} has type {schema.field(name).type}; expected {expected.field(name).type}"
                )
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


def _corrupt(path, name, start, stop, exc):
    return EventFileError(
        f"{path!r} is corrupt: dataset {name!r}, events {start}..{stop - 1}, fails its checksum or cannot be "
        f"decoded ({_first_line(exc)})"
    )


def _iter_h5(path, n, names, chunk_size, skip=0):
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise EventFileError(f"{path!r} is truncated or corrupt and cannot be read as HDF5 ({_first_line(exc)})") from None
    with f:
        datasets = {}  # opened once: a dataset's chunk cache lives as long as its handle (a chunk straddling
        # two reads is then read and checksummed once, not once per read)
        for start in range(skip * chunk_size, n, chunk_size):
            stop = min(start + chunk_size, n)
            out = {}
            for name in names:
                try:
                    if name not in datasets:
                        datasets[name] = f[name]
                    out[name] = datasets[name][start:stop]
                except (OSError, RuntimeError, ValueError) as exc:
                    raise _corrupt(path, name, start, stop, exc) from None
            yield out


def _iter_parquet(path, n, names, chunk_size):
    import pyarrow as pa

    pf = _parquet_file(path)
    start = 0
    batches = pf.iter_batches(batch_size=chunk_size, columns=names, use_threads=False)
    while True:
        try:
            batch = next(batches)
        except StopIteration:
            if start != n:  # e.g. a damaged row-group length in the footer
                raise EventFileError(f"{path!r} is corrupt: {start} events read, its metadata says {n}") from None
            return
        except (pa.ArrowException, OSError) as exc:
            name = _parquet_culprit(path, names, start)
            raise _corrupt(path, name, start, min(start + chunk_size, n), exc) from None
        out = {}
        for name in names:
            fd = record.FIELD[name]
            col = batch.column(name)
            values = col.flatten() if fd.shape else col
            out[name] = values.to_numpy(zero_copy_only=False).reshape(len(batch), *fd.shape).astype(fd.dtype, copy=False)
        start += len(batch)
        if start > n:
            raise EventFileError(f"{path!r} is corrupt: more events than its metadata says ({n})")
        yield out


def _parquet_culprit(path, names, start):
    """The first column that fails to read in the row group holding event ``start`` (for the message)."""
    import pyarrow as pa

    pf = _parquet_file(path)
    first = 0
    for g in range(pf.num_row_groups):
        rows = pf.metadata.row_group(g).num_rows
        if first + rows > start:
            for name in names:
                try:
                    pf.read_row_group(g, columns=[name], use_threads=False)
                except (pa.ArrowException, OSError):
                    return name
            break
        first += rows
    return "/".join(names)


def iter_chunks(path, chunk_size=DEFAULT_READ_CHUNK, fields=None, skip=0):
    """Yield record dicts of up to ``chunk_size`` events from an event file, in order, after the first ``skip``
    chunks (not read from HDF5; read and dropped from ROOT and Parquet)."""
    path = os.fspath(path)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size <= 0:
        raise EventFileError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    meta = info(path)
    names = _select_fields(path, meta, fields)
    n = meta["n_events"]
    if meta["file_format"] == "root":
        from . import root

        yield from itertools.islice(root.iter_chunks(path, chunk_size, names), skip, None)
    elif meta["file_format"] == "h5":
        yield from _iter_h5(path, n, names, chunk_size, skip)
    else:
        yield from itertools.islice(_iter_parquet(path, n, names, chunk_size), skip, None)


def read(path, fields=None):
    """A whole event file as one record dict (small files only; use iter_chunks for streams)."""
    if detect_format(path) == "root":
        from . import root

        return root.read(path, fields)
    chunks = list(iter_chunks(path, DEFAULT_READ_CHUNK, fields))
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}


def _source_key(source):
    seed = source.get("seed")
    return None if seed is None else (source.get("process"), seed)


class _Concat:
    """Chunks of several files (then extra chunk iterables), with the combined metadata. Refuses, unless
    ``allow_duplicates``, a file given twice and a (process, seed) coming from two inputs (the same
    events twice: a stream is the prefix of any longer one with the same process and seed)."""

    def __init__(self, paths, extra=(), extra_sources=(), chunk_size=DEFAULT_READ_CHUNK, *,
                 allow_duplicates=False, what="merge"):
        self.paths, self.extra, self.chunk_size = paths, extra, chunk_size
        metas = [info(p) for p in paths]
        fields = [tuple(m["fields"]) for m in metas]
        if len(set(fields)) > 1:
            raise EventFileError(f"cannot combine files with different fields: {dict(zip(paths, fields))}")
        self.fields = list(fields[0]) if fields else None
        for chunks in extra:
            extra_fields = getattr(chunks, "fields", None)
            if self.fields is not None and extra_fields is not None and set(extra_fields) != set(self.fields):
                raise EventFileError(
                    f"appended events have fields {sorted(extra_fields)}, the file has {sorted(self.fields)}"
                )
        origins = [(repr(p), s) for p, m in zip(paths, metas) for s in m["sources"]]
        origins += [("the appended events", dict(s)) for s in extra_sources]
        if not allow_duplicates:
            _check_duplicates(paths, origins, what)
        self.metadata = {"sources": [s for _, s in origins]}

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


def _check_duplicates(paths, origins, what):
    seen_files = {}
    for p in paths:
        st = os.stat(p)
        key = (st.st_dev, st.st_ino)
        if key in seen_files:
            again = "" if seen_files[key] == p else f" (also as {seen_files[key]!r})"
            raise EventFileError(f"{what}: input {p!r} is given twice{again}; pass allow_duplicates=True to repeat its events")
        seen_files[key] = p
    seen = {}
    for origin, source in origins:
        key = _source_key(source)
        if key is None:
            continue
        if key in seen and seen[key] != origin:
            raise EventFileError(
                f"{what}: process {key[0]!r} with seed {key[1]} is in both {seen[key]} and {origin}: the same "
                f"events would appear twice; pass allow_duplicates=True to combine them anyway"
            )
        seen.setdefault(key, origin)


def merge(inputs, output, *, format=None, overwrite=False, compression="default", progress=None,
          allow_duplicates=False):
    """Concatenate event files (same fields) into ``output``; metadata sources are combined. A file given
    twice, or the same (process, seed) in two inputs, is refused unless ``allow_duplicates``."""
    inputs = [os.fspath(p) for p in inputs]
    if not inputs:
        raise EventFileError("merge needs at least one input file")
    out = os.fspath(output)
    if any(os.path.abspath(p) == os.path.abspath(out) for p in inputs):
        raise EventFileError(f"merge output {out!r} is also an input; use append instead")
    stream = _Concat(inputs, allow_duplicates=allow_duplicates, what="merge")
    return write(out, stream, format=format, overwrite=overwrite, compression=compression,
                 metadata=stream.metadata, progress=progress)


def append(path, chunks, *, compression="default", progress=None, allow_duplicates=False):
    """Append chunks (e.g. another generated stream) to an existing event file.

    The file is rewritten through a temporary copy (streamed, constant memory) and replaced at the
    end, so an interrupted append leaves the original intact. Appending a (process, seed) the file
    already holds is refused unless ``allow_duplicates``."""
    path = os.fspath(path)
    meta = info(path)
    extra_meta = getattr(chunks, "metadata", None) or {"sources": [{"process": "unknown"}]}
    extra_sources = extra_meta.get("sources", [])
    if any("n_events" not in s for s in extra_sources):
        raise EventFileError("append needs chunks that declare their event count (use a generated stream)")
    stream = _Concat([path], extra=[chunks], extra_sources=extra_sources, allow_duplicates=allow_duplicates,
                     what="append")
    return write(path, stream, format=meta["file_format"], overwrite=True, compression=compression,
                 metadata=stream.metadata, progress=progress)
