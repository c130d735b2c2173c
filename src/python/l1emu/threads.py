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


def set_thread_budget(n: int) -> None:
    """At most n threads evaluate at once in this process."""
    _core.set_thread_budget(_check(n, "thread budget"))


def thread_budget() -> int:
    """The current process-wide thread budget."""
    return int(_core.thread_budget())


_env = os.environ.get("L1EMU_THREADS")
if _env not in (None, ""):
    try:
        _value = int(_env)
    except ValueError:
        _value = _env
    set_thread_budget(_check(_value, "environment variable L1EMU_THREADS"))
