"""The build cache of reference firmware: one folder, content-addressed entries, cross-process locks, so
that parallel processes (test workers, several users of one $L1EMU_CACHE) share what one of them built.

    <cache>/projects/<name>/               hls4ml projects, written by one process at a time (<name>.lock)
    <cache>/libs/<name>-<key>.so           their compiled C simulation libraries
    <cache>/outputs/<key>.npz              C simulation outputs, keyed by library and input bytes
    <cache>/project-builds/<key>/          copies of project directories compiled by reference.project
    <cache>/native/<name>-<key>            native firmware loops (reference.native, l1emu bench)
    <cache>/conifer/projects/<name>/       conifer cpp-backend projects
    <cache>/conifer/libs/<key>-<stamp>.so  their compiled bridges
    <cache>/conifer/vhdl/<key>/            conifer VHDL projects compiled with GHDL (reference.bdt_rtl)
    <cache>/demo/                          the event samples of `l1emu demo`

<cache> is $L1EMU_CACHE, else .l1emu-cache/ in the working directory. Every entry is named by a hash of
what it is built from, so a stale entry is never reused; deleting the folder (or any part) is always safe."""

import contextlib
import fcntl
import hashlib
import os
import shutil


def root(cache=None):
    """The cache folder: ``cache`` if given, else $L1EMU_CACHE, else ./.l1emu-cache."""
    return os.fspath(cache or os.environ.get("L1EMU_CACHE") or os.path.join(os.getcwd(), ".l1emu-cache"))


def digest(material, digits=20):
    """Hex sha256 of ``material``: str/bytes parts hashed in order (the content address of an entry)."""
    h = hashlib.sha256()
    for part in material:
        h.update(part.encode() if isinstance(part, str) else part)
    return h.hexdigest()[:digits]


@contextlib.contextmanager
def locked(path):
    """Hold the exclusive lock of ``path`` (``path.lock``) against other processes while inside."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield path


def cached_build(kind, key_material, build, name=None, suffix="", digits=20, cache=None):
    """Path of the entry ``<cache>/<kind>/[<name>-]<key><suffix>``, ``key = digest(key_material)``, made by
    ``build(tmp)`` the first time: the builder writes the file or folder ``tmp`` (which ends in ``suffix``),
    moved into place atomically. Concurrent callers wait on the entry's lock and reuse the result."""
    key = digest(key_material, digits)
    path = os.path.join(root(cache), kind, f"{name}-{key}{suffix}" if name else f"{key}{suffix}")
    if os.path.exists(path):
        return path
    with locked(path):
        if not os.path.exists(path):
            tmp = f"{path[: len(path) - len(suffix)]}.{os.getpid()}.tmp{suffix}"
            try:
                build(tmp)
                os.replace(tmp, path)
            finally:
                if os.path.isdir(tmp):
                    shutil.rmtree(tmp, ignore_errors=True)
                elif os.path.lexists(tmp):
                    os.remove(tmp)
    return path
