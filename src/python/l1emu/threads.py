"""The process-wide thread budget: at most this many threads evaluate at once over every emulator and call in
the process (each call's own thread plus the pool workers lent to it), so that several emulators, Python
threads or Dask workers sharing a process do not oversubscribe the cores. The default is the environment
variable L1EMU_THREADS, else the number of hardware threads. Results never depend on it."""

import numbers
import os

from . import _core
from .errors import L1emuError

MAX_THREADS = 1024


def _check(value, where):
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and 1 <= value <= MAX_THREADS
    if not ok:
        raise L1emuError(f"{where} must be an integer from 1 to {MAX_THREADS}, got {value!r}")
    return int(value)


_from_environment = None  # None: L1EMU_THREADS not read yet; then True/False (read / overridden by a call)


def set_thread_budget(n: int) -> None:
    """At most n threads evaluate at once in this process (takes precedence over L1EMU_THREADS)."""
    global _from_environment
    _core.set_thread_budget(_check(n, "thread budget"))
    _from_environment = False


def thread_budget() -> int:
    """The current process-wide thread budget."""
    apply_environment()
    return int(_core.thread_budget())


def apply_environment() -> None:
    """Read L1EMU_THREADS once, when the first emulator is made (not at import: a bad value is then one
    L1emuError where l1emu is used, which the CLI reports as one line)."""
    global _from_environment
    if _from_environment is not None:
        return
    env = os.environ.get("L1EMU_THREADS")
    if env not in (None, ""):
        try:
            value = int(env)
        except ValueError:
            value = env
        _core.set_thread_budget(_check(value, "environment variable L1EMU_THREADS"))
    _from_environment = True
