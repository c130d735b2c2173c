"""The C++ test programs of tests/cpp as CMake/CTest targets: one CMake tree (tests/.cache/cmake) configured with
L1EMU_TESTS (and the core sanitized, for the sanitized kernels), built and run through cmake and ctest.
CMake rebuilds only what changed; a lock keeps parallel test workers from building the tree at once."""

import os
import re
import subprocess
import sys

from l1emu.reference import cache

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TREE = os.path.join(os.path.dirname(os.path.abspath(__file__)), ".cache", "cmake")


def _ap_types():
    import hls4ml

    return os.path.join(os.path.dirname(hls4ml.__file__), "templates", "vivado", "ap_types")


def _run(cmd, timeout=3600):
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stdout[-10000:]}\n{result.stderr[-10000:]}")
    return result


def build(*targets):
    """Configure the tree (first time) and build ``targets``."""
    import pybind11

    with cache.locked(TREE):
        _run(["cmake", "-S", ROOT, "-B", TREE, "-DL1EMU_TESTS=ON", f"-DL1EMU_AP_TYPES={_ap_types()}",
              "-DSKBUILD=ON", "-DL1EMU_SANITIZE=ON", "-DCMAKE_BUILD_TYPE=RelWithDebInfo",
              f"-Dpybind11_DIR={pybind11.get_cmake_dir()}", f"-DPython_EXECUTABLE={sys.executable}"])
        _run(["cmake", "--build", TREE, "-j2", "--target", *targets])


def ctest(name, env=None, timeout=3600):
    """Run the CTest test ``name``: (exit status, its output without ctest's line prefixes, ctest's output)."""
    result = subprocess.run(["ctest", "--test-dir", TREE, "-R", f"^{name}$", "-V", "--no-tests=error"],
                            capture_output=True, text=True, timeout=timeout, env=dict(os.environ, **(env or {})))
    output = "\n".join(m.group(1) for m in re.finditer(r"^\d+: (.*)$", result.stdout, re.M))
    return result.returncode, output, result.stdout + result.stderr
