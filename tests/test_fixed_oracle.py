"""The fixed-point core (src/cpp/fixed) against the Xilinx ap_fixed headers shipped with hls4ml, on raw bits.

Builds the C++ oracle tests/cpp/fixed_oracle*.cpp with g++ and runs it; see fixed_oracle.cpp for the case
families. Objects and binaries are cached in tests/.cache/fixed_oracle under a hash of their sources, the
headers they include (ours and ap_types), the compiler version and the flags, so they are rebuilt only when
one of these changes. A cold build takes a few minutes of CPU: the oracle instantiates ap_fixed conversions
for thousands of (type, type, mode) combinations.
"""

import glob
import hashlib
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor


import hls4ml

HERE = os.path.dirname(os.path.abspath(__file__))
CPP = os.path.join(HERE, "cpp")
SRC = os.path.join(os.path.dirname(HERE), "src", "cpp")
CACHE = os.path.join(HERE, ".cache", "fixed_oracle")
AP_TYPES = os.path.join(os.path.dirname(hls4ml.__file__), "templates", "vivado", "ap_types")

# The reference translation units instantiate the Xilinx templates (the heavy part of the build); the driver
# holds main(), case generation and every call into l1emu::fixed.
REFERENCE_TUS = ["fixed_oracle_exh_signed.cpp", "fixed_oracle_exh_unsigned.cpp", "fixed_oracle_random.cpp"]
DRIVER_TU = os.path.join(CPP, "fixed_oracle.cpp")
CORE_TU = os.path.join(SRC, "fixed", "fixed.cpp")

COMMON = ["-std=c++20", "-Wall", "-Wextra", "-isystem", AP_TYPES, "-I", SRC]
# NDEBUG: ap_private's get_bit() asserts its index is below the width, yet ap_fixed_base::operator= reads
# the bit below a right shift before checking that the shift is within the source width (the value is then
# unused). Without NDEBUG such casts abort instead of producing their (well-defined) result.
OPT = ["-O2", "-DNDEBUG"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-O1", "-g", "-DNDEBUG"]
JOBS = 2  # the machines running the suite have two cores

# Minimum case counts at --scale 1: the oracle must run >= 1e6 random casts and from_double conversions per
# mode pair, and its exhaustive families are fixed in size.
MIN_PER_MODE = {"cast_random": 1_000_000, "from_double_random": 1_000_000}
MIN_TOTAL = 90_000_000
FAMILIES = ["cast_exhaustive", "from_double_exhaustive", "to_double_exhaustive", "cast_random",
            "from_double_random", "to_double_random", "from_double_nonfinite", "arith_mul", "arith_add",
            "arith_sub", "compare", "shift"]


def _compiler_id():
    out = subprocess.run(["g++", "--version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0]


def _headers_digest():
    """Everything an oracle translation unit may include: our headers and the ap_types tree."""
    h = hashlib.sha256(_compiler_id().encode())
    paths = [os.path.join(CPP, n) for n in sorted(os.listdir(CPP)) if n.endswith(".h")]
    paths.append(os.path.join(SRC, "fixed", "fixed.h"))
    for folder, _, files in sorted(os.walk(AP_TYPES)):
        paths += [os.path.join(folder, n) for n in sorted(files) if n.endswith(".h")]
    for path in paths:
        with open(path, "rb") as f:
            h.update(os.path.basename(path).encode() + b"\0" + f.read())
    return h.hexdigest()


def _cached(folder, stem, digest, suffix=""):
    """Path of a cache entry; older entries of the same stem (stale sources) are removed."""
    path = os.path.join(CACHE, folder, f"{stem}-{digest[:20]}{suffix}")
    for old in glob.glob(os.path.join(CACHE, folder, f"{stem}-*{suffix}")):
        if old != path and not old.endswith(".tmp"):
            try:
                os.remove(old)
            except OSError:
                pass
    return path


def _object(source, flags, headers):
    """(path of the cached object for source compiled with flags, whether it still has to be built)."""
    h = hashlib.sha256(headers.encode() + "\0".join(flags).encode())
    with open(source, "rb") as f:
        h.update(f.read())
    tag = "asan" if any(f.startswith("-fsanitize") for f in flags) else "opt"
    path = _cached("obj", f"{os.path.splitext(os.path.basename(source))[0]}-{tag}", h.hexdigest(), ".o")
    return path, not os.path.exists(path)


def _compile(source, flags, path):
    tmp = f"{path}.{os.getpid()}.tmp"
    cmd = ["g++", *COMMON, *flags, "-c", source, "-o", tmp]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-20000:]}")
    os.replace(tmp, path)  # atomic: concurrent runs never see half-written objects
    return source, result.stderr


def build(units, link_flags=()):
    """Compile units [(source, flags)] (cached per object) and link them; returns the binary's path."""
    os.makedirs(os.path.join(CACHE, "obj"), exist_ok=True)
    os.makedirs(os.path.join(CACHE, "bin"), exist_ok=True)
    headers = _headers_digest()
    objects, todo = [], []
    for source, flags in units:
        path, missing = _object(source, flags, headers)
        objects.append(path)
        if missing:
            todo.append((source, flags, path))
    with ThreadPoolExecutor(max_workers=JOBS) as pool:  # sources are listed heaviest first
        for source, warnings in pool.map(lambda job: _compile(*job), todo):
            if warnings:
                print(f"--- g++ diagnostics for {os.path.basename(source)}:\n{warnings[-5000:]}")
    h = hashlib.sha256("\0".join([*objects, *link_flags]).encode())
    binary = _cached("bin", "fixed_oracle-" + ("asan" if link_flags else "opt"), h.hexdigest())
    if not os.path.exists(binary):
        tmp = f"{binary}.{os.getpid()}.tmp"
        subprocess.run(["g++", *link_flags, *objects, "-o", tmp], check=True, capture_output=True, text=True)
        os.replace(tmp, binary)
    return binary


def _reference_units():
    return [(os.path.join(CPP, name), OPT) for name in REFERENCE_TUS]


def _run(binary, *args, env=None):
    result = subprocess.run([binary, *args], capture_output=True, text=True, timeout=1800, env=env)
    print(result.stdout)
    if result.stderr:
        print("--- stderr:\n" + result.stderr[-20000:], file=sys.stderr)
    return result


def _summary(stdout):
    """{family: (cases, mismatches, mode pairs reached, fewest cases of a mode pair)} and (total, mismatches)."""
    families = {}
    for m in re.finditer(r"^(\w+): (\d+) cases, (\d+) mismatches \[(\d+)/28 mode pairs, min (\d+) cases", stdout,
                         re.M):
        families[m.group(1)] = tuple(int(g) for g in m.groups()[1:])
    total = re.search(r"^TOTAL: (\d+) cases, (\d+) mismatches$", stdout, re.M)
    assert total, "no TOTAL line in the oracle's output"
    return families, (int(total.group(1)), int(total.group(2)))


def _check(result, scale, report=None, label="oracle"):
    if report is not None:
        for line in result.stdout.splitlines():
            if re.match(r"^(\w+: \d+ cases|TOTAL:)", line):
                report(f"ap_fixed {label} {line}")
    assert result.returncode == 0, f"oracle failed (exit {result.returncode}); see the MISMATCH lines above"
    families, (cases, mismatches) = _summary(result.stdout)
    assert mismatches == 0
    assert sorted(families) == sorted(FAMILIES)
    for name, (n, bad, modes, fewest) in families.items():
        assert bad == 0, name
        assert modes == 28 and fewest > 0, f"{name} does not reach every (quantization, overflow) mode pair"
        assert fewest >= MIN_PER_MODE.get(name, 0) * scale, f"{name}: {fewest} cases for some mode pair"
    assert cases >= MIN_TOTAL * scale


def test_fixed_core_matches_ap_fixed(report):
    binary = build([*_reference_units(), (DRIVER_TU, OPT), (CORE_TU, OPT)])
    _check(_run(binary), scale=1, report=report)


def test_fixed_core_matches_ap_fixed_under_sanitizers():
    # Sanitized: the driver (case generation, comparisons, every call into l1emu::fixed) and fixed.cpp. The
    # reference objects are the uninstrumented ones of the test above: ap_fixed.h is the oracle here, not code
    # under test, and instrumenting its thousands of template instantiations would double the build. Mixing
    # instrumented and plain objects is supported by ASan/UBSan; only the instrumented code is checked.
    binary = build([*_reference_units(), (DRIVER_TU, SANITIZE), (CORE_TU, SANITIZE)],
                   link_flags=["-fsanitize=address,undefined"])
    env = dict(os.environ, ASAN_OPTIONS="halt_on_error=1:detect_leaks=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    result = _run(binary, "--scale", "0.25", env=env)
    assert "runtime error" not in result.stderr and "Sanitizer" not in result.stderr, result.stderr[-5000:]
    _check(result, scale=0.25)
