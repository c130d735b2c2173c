"""Atomic outputs: write to a hidden temporary next to the target, rename only when complete.

Temporaries are created with the user's umask (as open() would create the target), and removed on any
failure or interruption, so a target is either absent, the old version, or complete. While it is being
written, a target is claimed by its writer (an flock on a hidden ``.NAME.lock`` file next to it, released
and removed at the end, released by the kernel if the writer dies): a second writer of the same target
refuses at once instead of silently replacing the first one's output. Without ``overwrite`` the
complete file is hard-linked to the target name, which fails if a file appeared there meanwhile.

``interruptible()`` turns SIGTERM and SIGHUP into ``Terminated`` (a KeyboardInterrupt) so that the
same clean-up as for Ctrl-C runs when a job is killed or its terminal goes away."""

import contextlib
import os
import shutil
import signal
import sys
import threading
import uuid

from .errors import L1emuError

try:
    import fcntl
except ImportError:  # not POSIX: no claim (the rename is still atomic)
    fcntl = None


def _check_parent(path, what, error=L1emuError):
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise error(f"cannot write {what} {path!r}: directory {parent!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise error(f"cannot write {what} {path!r}: directory {parent!r} is not writable")
    return parent


def _temp_name(path):
    parent = os.path.dirname(os.path.abspath(path))
    return os.path.join(parent, f".{os.path.basename(path)}.{uuid.uuid4().hex[:8]}.tmp")


def _check_target(path, overwrite, what, error, want_dir):
    if os.path.isdir(path) and not want_dir:
        raise error(f"cannot write {what} {path!r}: it is a directory")
    if os.path.exists(path) and want_dir and not os.path.isdir(path):
        raise error(f"{what} {path!r} exists and is not a directory")
    if os.path.exists(path) and not overwrite:
        raise error(f"{what} {path!r} exists; pass overwrite (--overwrite) to replace it")


def check_target(path, overwrite=False, what="file", error=L1emuError):
    """``error`` naming ``path`` and what is wrong if a file could not be written there now (missing or
    read-only directory, a directory in its place, an existing file without overwrite)."""
    path = os.fspath(path)
    _check_parent(path, what, error)
    _check_target(path, overwrite, what, error, want_dir=False)


@contextlib.contextmanager
def claim(path, what="file", error=L1emuError):
    """Exclusive claim on writing ``path`` (see the module doc); ``error`` if another process holds it."""
    path = os.fspath(path)
    if fcntl is None:
        yield
        return
    lock = os.path.join(os.path.dirname(os.path.abspath(path)), f".{os.path.basename(path)}.lock")
    while True:
        fd = os.open(lock, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise error(f"cannot write {what} {path!r}: another process is writing it (lock file {lock!r})") from None
        try:  # the holder we waited for may have removed the lock file: then claim a fresh one
            st, now = os.fstat(fd), os.stat(lock)
            if (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino):
                break
        except FileNotFoundError:
            pass
        os.close(fd)
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.unlink(lock)
        os.close(fd)


def _publish(tmp, path, overwrite, what, error):
    if overwrite:
        os.replace(tmp, path)
        return
    try:
        os.link(tmp, path)  # never replaces a file that appeared meanwhile
    except FileExistsError:
        raise error(f"{what} {path!r} was created by someone else while it was being written; not replaced") from None
    except OSError:  # a file system without hard links
        if os.path.exists(path):
            raise error(f"{what} {path!r} was created by someone else while it was being written; not replaced") from None
        os.replace(tmp, path)
        return
    os.unlink(tmp)


@contextlib.contextmanager
def atomic_file(path, overwrite=False, what="file", error=L1emuError):
    """Yields a temporary path; on success it is renamed to ``path``. Problems with the target (missing
    or read-only directory, a directory, an existing file without overwrite, another writer) raise
    ``error`` naming it before anything is written."""
    path = os.fspath(path)
    check_target(path, overwrite, what, error)
    with claim(path, what, error):
        _check_target(path, overwrite, what, error, want_dir=False)  # the previous holder may have finished it
        tmp = _temp_name(path)
        os.close(os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))  # mode from the umask
        try:
            yield tmp
            _publish(tmp, path, overwrite, what, error)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise


@contextlib.contextmanager
def atomic_dir(path, overwrite=False, what="output directory", error=L1emuError):
    """Yields a temporary directory; on success it replaces ``path`` (an existing one only if overwrite)."""
    path = os.fspath(path)
    _check_parent(path, what, error)
    _check_target(path, overwrite, what, error, want_dir=True)
    with claim(path, what, error):
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


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP, raised where SIGINT raises KeyboardInterrupt (``signum`` says which)."""

    def __init__(self, signum):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


@contextlib.contextmanager
def interruptible(signums=(signal.SIGTERM, signal.SIGHUP)):
    """Within: these signals raise ``Terminated``; a second one ends the process at once (their default
    action), as when a clean-up hangs. Only in the main thread (elsewhere a no-op); the previous
    handlers are restored on exit."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum, frame):
        global _pending
        for s in signums:
            signal.signal(s, signal.SIG_DFL)
        _pending = signum  # raise_pending() re-raises it if this raise lands where Python ignores exceptions
        raise Terminated(signum)

    def unraisable(info, previous=sys.unraisablehook):
        if not isinstance(info.exc_value, Terminated):  # ours: re-raised by raise_pending(), not an error
            previous(info)

    old = {s: signal.signal(s, handler) for s in signums}
    old_hook, sys.unraisablehook = sys.unraisablehook, unraisable
    try:
        yield
    finally:
        global _pending
        _pending = None
        sys.unraisablehook = old_hook
        for s, h in old.items():
            signal.signal(s, h)


_pending = None


def raise_pending():
    """Raise Terminated for a signal whose exception was swallowed (e.g. it arrived in a weakref callback or
    a destructor); call it at safe points such as progress updates."""
    if _pending is not None:
        raise Terminated(_pending)
