import os

import pytest

# Compiled hls4ml reference projects are cached inside the test tree (content-addressed, see
# l1emu.reference.csim), so repeated runs skip the C++ compilation.
os.environ.setdefault("L1EMU_CACHE", os.path.join(os.path.dirname(__file__), ".cache"))


@pytest.fixture(scope="module")
def toy_model(tmp_path_factory):
    """Path of the toy firmware model of the menu tests (tests/cases/menu.py), built once per test module."""
    from .cases.menu import toy_model

    return toy_model(tmp_path_factory.mktemp("toy"))


@pytest.fixture
def report(record_property):
    """Record a measured figure (bit-exact counts, ...): printed in the run's summary, also under xdist."""
    def add(line):
        record_property("l1emu", line)
        print(line)
    return add


def pytest_terminal_summary(terminalreporter):
    reports = [rep for key in ("passed", "failed") for rep in terminalreporter.stats.get(key, []) if rep.when == "call"]
    lines = {value for rep in reports for name, value in getattr(rep, "user_properties", []) if name == "l1emu"}
    # and every bit-exactness count a test printed
    lines |= {line for rep in reports for line in rep.capstdout.splitlines() if "mismatch" in line}
    if lines:
        terminalreporter.section("l1emu measured figures")
        for line in sorted(lines):
            terminalreporter.write_line(line)
