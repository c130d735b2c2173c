"""Atomic outputs: write to a hidden temporary next to the target, rename only when complete.

Temporaries are created with the user's umask (as open() would create the target), and removed on any
failure or interruption, so a target is either absent, the old version, or complete."""

import contextlib
import os
import shutil
import uuid

from .errors import L1emuError


def _check_parent(path, what):
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise L1emuError(f"cannot write {what} {path!r}: directory {parent!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise L1emuError(f"cannot write {what} {path!r}: directory {parent!r} is not writable")
    return parent


def _temp_name(path):
    parent = os.path.dirname(os.path.abspath(path))
    return os.path.join(parent, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")


@contextlib.contextmanager
def atomic_file(path, overwrite=False, what="file"):
    """Yields a temporary path; on success it is renamed to ``path``."""
    path = os.fspath(path)
    _check_parent(path, what)
    if os.path.isdir(path):
        raise L1emuError(f"cannot write {what} {path!r}: it is a directory")
    if os.path.exists(path) and not overwrite:
        raise L1emuError(f"{what} {path!r} exists; pass overwrite (--overwrite) to replace it")
    tmp = _temp_name(path)
    os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # mode from the umask
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_dir(path, overwrite=False, what="output directory"):
    """Yields a temporary directory; on success it replaces ``path`` (an existing one only if overwrite)."""
    path = os.fspath(path)
    _check_parent(path, what)
    if os.path.exists(path) and not overwrite:
        raise L1emuError(f"{what} {path!r} exists; pass overwrite (--overwrite) to replace it")
    if os.path.exists(path) and not os.path.isdir(path):
        raise L1emuError(f"{what} {path!r} exists and is not a directory")
    tmp = _temp_name(path)
    os.mkdir(tmp)  # 0o777 & ~umask
    try:
        yield tmp
        if os.path.exists(path):
            old = _temp_name(path)
            os.rename(path, old)
            os.rename(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
