"""Event generation throughput (zero-bias crossings/s) against the documented goals: >= 200k/s with L1
objects only and >= 20k/s with constituents and images, on 2 cores. Measured in-process (1 worker)
and with 2 worker processes; the summary prints rate / goal.

Wall-clock rates depend on what else the machine runs, so each case also prints the CPU cost
(crossings per CPU-second, main process + workers), which is what the rate on idle cores approaches:
x1 with 1 worker, ~x2 with 2 workers."""

import os
import resource
from types import SimpleNamespace

import pytest

from l1emu import events as ev

GOALS = {"objects": 200_000, "constituents+images": 20_000}
N = {"objects": 64 * ev.BLOCK_SIZE, "constituents+images": 8 * ev.BLOCK_SIZE}


def _cpu_seconds():
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime  # children: after the pool exits


def _run(n, workers, full, cpu):
    start = _cpu_seconds()
    for _ in ev.generate("zerobias", n, seed=1, with_constituents=full, with_images=full, workers=workers):
        pass
    cpu.append(_cpu_seconds() - start)


@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.parametrize("mode", ["objects", "constituents+images"])
def test_generate(benchmark, record_rate, mode, workers):
    if workers > (os.cpu_count() or 1):
        pytest.skip("needs 2 cores")
    n, cpu = N[mode], []
    benchmark.pedantic(_run, args=(n, workers, mode != "objects", cpu), rounds=3, iterations=1)
    suite = f"generate {mode}, {workers} proc"
    record_rate(suite, "l1emu", n, benchmark)
    # the goal as an anchor: the summary then prints l1emu / goal
    goal = SimpleNamespace(stats=SimpleNamespace(stats=SimpleNamespace(min=n / GOALS[mode])))
    record_rate(suite, "goal", n, goal)
    rate, per_cpu = n / benchmark.stats.stats.min, n / min(cpu)
    print(f"\n{suite}: {rate:,.0f} crossings/s = {rate / GOALS[mode]:.2f} x goal ({GOALS[mode]:,}/s); "
          f"CPU cost {1e6 / per_cpu:.1f} us/crossing = {per_cpu:,.0f} crossings per CPU-second; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
