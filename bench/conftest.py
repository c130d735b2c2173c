"""Shared benchmark plumbing: each suite records events/s of l1emu and of its anchors measured in the same
run; the terminal summary prints them side by side as ratios."""

import os
from collections import defaultdict

import pytest

os.environ.setdefault("L1EMU_CACHE", os.path.join(os.path.dirname(__file__), ".cache"))

_RATES = defaultdict(dict)  # suite -> {implementation: events/s}


@pytest.fixture
def record_rate():
    def record(suite, implementation, n_events, benchmark):
        _RATES[suite][implementation] = n_events / benchmark.stats.stats.min
    return record


def pytest_terminal_summary(terminalreporter):
    if not _RATES:
        return
    terminalreporter.section("l1emu throughput ratios (same run)")
    for suite, rates in _RATES.items():
        base = rates.get("l1emu")
        for impl, rate in rates.items():
            ratio = f"   l1emu / {impl} = {base / rate:.1f}x" if base and impl != "l1emu" else ""
            terminalreporter.write_line(f"{suite:24s} {impl:14s} {rate:14,.0f} events/s {1e3 / rate:10.4f} ms/event"
                                        f"{ratio}")
