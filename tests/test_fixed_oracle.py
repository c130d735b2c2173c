"""The fixed-point core (src/cpp/fixed) against the Xilinx ap_fixed headers shipped with hls4ml, on raw bits.

The C++ oracle tests/cpp/fixed_oracle*.cpp (see fixed_oracle.cpp for the case families) is the CTest test
fixed_oracle, and fixed_oracle_asan under AddressSanitizer + UndefinedBehaviorSanitizer (tests/cpp/CMakeLists.txt);
both are built and run here through cmake and ctest (tests/cmake_tests.py). A cold build takes a few minutes of
CPU: the oracle instantiates ap_fixed conversions for thousands of (type, type, mode) combinations.
"""

import re

from . import cmake_tests

# Minimum case counts at --scale 1: the oracle must run >= 1e6 random casts and from_double conversions per
# mode pair, and its exhaustive families are fixed in size.
MIN_PER_MODE = {"cast_random": 1_000_000, "from_double_random": 1_000_000}
MIN_TOTAL = 90_000_000
FAMILIES = ["cast_exhaustive", "from_double_exhaustive", "to_double_exhaustive", "cast_random",
            "from_double_random", "to_double_random", "from_double_nonfinite", "arith_mul", "arith_add",
            "arith_sub", "compare", "shift"]


def _summary(stdout):
    """{family: (cases, mismatches, mode pairs reached, fewest cases of a mode pair)} and (total, mismatches)."""
    families = {}
    for m in re.finditer(r"^(\w+): (\d+) cases, (\d+) mismatches \[(\d+)/28 mode pairs, min (\d+) cases", stdout,
                         re.M):
        families[m.group(1)] = tuple(int(g) for g in m.groups()[1:])
    total = re.search(r"^TOTAL: (\d+) cases, (\d+) mismatches$", stdout, re.M)
    assert total, "no TOTAL line in the oracle's output"
    return families, (int(total.group(1)), int(total.group(2)))


def _run(name):
    cmake_tests.build(name)
    status, output, log = cmake_tests.ctest(name)
    print(output)
    assert output, log[-5000:]
    return status, output


def _check(status, output, scale, report=None, label="oracle"):
    if report is not None:
        for line in output.splitlines():
            if re.match(r"^(\w+: \d+ cases|TOTAL:)", line):
                report(f"ap_fixed {label} {line}")
    assert status == 0, f"oracle failed (exit {status}); see the MISMATCH lines above"
    families, (cases, mismatches) = _summary(output)
    assert mismatches == 0
    assert sorted(families) == sorted(FAMILIES)
    for name, (n, bad, modes, fewest) in families.items():
        assert bad == 0, name
        assert modes == 28 and fewest > 0, f"{name} does not reach every (quantization, overflow) mode pair"
        assert fewest >= MIN_PER_MODE.get(name, 0) * scale, f"{name}: {fewest} cases for some mode pair"
    assert cases >= MIN_TOTAL * scale


def test_fixed_core_matches_ap_fixed(report):
    _check(*_run("fixed_oracle"), scale=1, report=report)


def test_fixed_core_matches_ap_fixed_under_sanitizers():
    # the driver (case generation, comparisons, every call into l1emu::fixed) and fixed.cpp instrumented, the
    # ap_fixed reference objects shared with the test above (tests/cpp/CMakeLists.txt); a quarter of the cases
    status, output = _run("fixed_oracle_asan")
    assert "runtime error" not in output and "Sanitizer" not in output, output[-5000:]
    _check(status, output, scale=0.25)
