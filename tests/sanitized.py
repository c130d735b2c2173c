"""An ASan+UBSan build of the C++ core (l1emu._core) and a runner that replays saved models in it.

The sanitized extension is built with CMake into tests/.cache/asan (rebuilt when the sources change) and
imported by a child Python started with libasan preloaded; the child needs numpy only (model files are
self-contained), so TensorFlow never runs under the sanitizer.
"""

import hashlib
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.path.join(os.path.dirname(__file__), ".cache", "asan")

RUNNER = r"""
import os, sys, numpy as np, l1emu
failures = 0
for case in sys.argv[1:]:
    X, want = np.load(case + ".x.npy"), np.load(case + ".want.npy")
    # every evaluation path: the fastest (auto), the forced across-events lanes kernel, the non-VNNI GEMM
    # loop, the scalar reference; batches of 7 on two pool threads next to one call
    bad = 0
    for engine in ("auto", "lanes", "gemm_generic", "reference"):
        os.environ["L1EMU_ENGINE"] = engine
        emu = l1emu.load(case + ".l1emu", threads=2)
        for batch in (len(X), 7):
            outs = [emu.predict_raw(X[i:i + batch]) for i in range(0, len(X), batch)]
            outs = [o if isinstance(o, list) else [o] for o in outs]
            got = np.concatenate([np.concatenate([o.reshape(len(o), -1) for o in out], axis=1) for out in outs])
            bad += int(np.sum(got != want))
    print(f"{case}: {want.size} codes x 4 engines x 2 batchings, {bad} mismatches")
    failures += bad
sys.exit(1 if failures else 0)
"""


def _digest():
    h = hashlib.sha256()
    for folder, _, files in sorted(os.walk(os.path.join(ROOT, "src"))):
        for name in sorted(files):
            with open(os.path.join(folder, name), "rb") as f:
                h.update(name.encode() + f.read())
    with open(os.path.join(ROOT, "CMakeLists.txt"), "rb") as f:
        h.update(f.read())
    return h.hexdigest()[:16]


def _run(cmd):
    """Run a build step; on failure the error carries the compiler's own messages (their tail)."""
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n" + (done.stdout + done.stderr)[-6000:])


def build():
    """Build the sanitized extension; returns a folder to put first on PYTHONPATH."""
    import pybind11

    pkg_root = os.path.join(BUILD, "py-" + _digest())
    if os.path.isdir(pkg_root):
        return pkg_root
    cmake_dir = os.path.join(BUILD, "cmake")
    _run(["cmake", "-S", ROOT, "-B", cmake_dir, "-DSKBUILD=ON", "-DL1EMU_SANITIZE=ON",
          "-DCMAKE_BUILD_TYPE=RelWithDebInfo", f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
          f"-DPython_EXECUTABLE={sys.executable}"])
    _run(["cmake", "--build", cmake_dir, "-j2"])
    tmp = pkg_root + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(os.path.join(ROOT, "src", "python", "l1emu"), os.path.join(tmp, "l1emu"))
    for name in os.listdir(cmake_dir):
        if name.startswith("_core") and name.endswith(".so"):
            shutil.copy(os.path.join(cmake_dir, name), os.path.join(tmp, "l1emu", name))
    os.replace(tmp, pkg_root)
    return pkg_root


def run(cases):
    """Replay saved cases (prefix.l1emu, prefix.x.npy, prefix.want.npy) in the sanitized build."""
    pkg_root = build()
    asan = subprocess.run(["g++", "-print-file-name=libasan.so"], capture_output=True, text=True).stdout.strip()
    env = dict(os.environ, PYTHONPATH=pkg_root, LD_PRELOAD=asan,
               ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:halt_on_error=1",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")
    return subprocess.run([sys.executable, "-c", RUNNER, *cases], env=env, capture_output=True, text=True,
                          timeout=900)
