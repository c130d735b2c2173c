"""The natively compiled firmware loop: a model's own generated hls4ml C++ (firmware/*.cpp of its project and
the project's bridge, whose ``<project>_double`` converts doubles to the input types and the outputs back, as a
CMSSW producer does around a model .so) built ``-O3 -march=native`` into a small program that reads events
from a binary file, calls the top function once per event in a loop, writes the outputs and prints how long
the loop took. Built once per generated-source content, compiler flags and CPU, in the build cache (reference.cache)."""

import os
import subprocess
import tempfile

import numpy as np

from . import cache as build_cache
from .csim import _firmware_material

FLAGS = ["-O3", "-march=native", "-std=c++17"]

_DRIVER = r"""
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

extern "C" void {top}_double({params});

static const long IN[] = {{{in_sizes}}}, OUT[] = {{{out_sizes}}};

int main(int argc, char **argv) {{
    if (argc != 4) {{ std::fprintf(stderr, "usage: %s IN OUT N_EVENTS\n", argv[0]); return 2; }}
    const long n = std::atol(argv[3]);
    std::vector<std::vector<double>> in, out;
    FILE *f = std::fopen(argv[1], "rb");
    if (!f) {{ std::perror(argv[1]); return 2; }}
    for (long s : IN) {{  // one (n, size) block per input
        in.emplace_back(n * s);
        if (std::fread(in.back().data(), sizeof(double), n * s, f) != size_t(n * s)) {{
            std::fprintf(stderr, "%s: short read\n", argv[1]); return 2; }}
    }}
    std::fclose(f);
    for (long s : OUT) out.emplace_back(n * s);
    std::vector<double> warm_in[{n_in}], warm_out[{n_out}];  // first call reads the weights' text files
    for (int k = 0; k < {n_in}; ++k) warm_in[k].assign(IN[k], 0.0);
    for (int k = 0; k < {n_out}; ++k) warm_out[k].assign(OUT[k], 0.0);
    {top}_double({warm_args});
    auto t0 = std::chrono::steady_clock::now();
    for (long i = 0; i < n; ++i) {top}_double({loop_args});
    auto t1 = std::chrono::steady_clock::now();
    std::printf("%.9f\n", std::chrono::duration<double>(t1 - t0).count());
    FILE *g = std::fopen(argv[2], "wb");
    if (!g) {{ std::perror(argv[2]); return 2; }}
    for (auto &o : out) std::fwrite(o.data(), sizeof(double), o.size(), g);
    return std::fclose(g) == 0 ? 0 : 2;
}}
"""


def _sizes(variables):
    return [int(np.prod(v.shape)) for v in variables]


def _cpu_key():
    with open("/proc/cpuinfo") as f:  # -march=native: the binary belongs to this CPU model
        return next((line for line in f if line.startswith(("model name", "flags"))), "")


def build(hls_model, cache=None):
    """Path of the native loop program of ``hls_model`` (a model from reference.convert, already written)."""
    prj = hls_model.config.get_output_dir()
    top = hls_model.config.get_project_name()
    ins, outs = _sizes(hls_model.get_input_variables()), _sizes(hls_model.get_output_variables())
    params = ", ".join(["double *"] * (len(ins) + len(outs)))
    args = lambda idx_in, idx_out: ", ".join(  # noqa: E731
        [idx_in(k) for k in range(len(ins))] + [idx_out(k) for k in range(len(outs))])
    driver = _DRIVER.format(top=top, params=params, in_sizes=", ".join(map(str, ins)),
                            out_sizes=", ".join(map(str, outs)), n_in=len(ins), n_out=len(outs),
                            warm_args=args(lambda k: f"warm_in[{k}].data()", lambda k: f"warm_out[{k}].data()"),
                            loop_args=args(lambda k: f"in[{k}].data() + i * IN[{k}]",
                                           lambda k: f"out[{k}].data() + i * OUT[{k}]"))
    firmware = build_cache.digest(_firmware_material(prj))

    def compile_loop(tmp):
        src = f"{tmp}.driver.cpp"
        with open(src, "w") as f:
            f.write(driver)
        weights = os.path.join(prj, "firmware", "weights")
        cmd = ["g++", *FLAGS, f"-I{prj}", f"-I{os.path.join(prj, 'firmware', 'ap_types')}",
               f'-DWEIGHTS_DIR="{weights}"', os.path.join(prj, "firmware", f"{top}.cpp"),
               os.path.join(prj, f"{top}_bridge.cpp"), src, "-o", tmp]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True)
        finally:
            os.remove(src)
        if done.returncode != 0:
            raise RuntimeError(f"building the native loop of {prj} failed: {done.stderr.strip()[-2000:]}")

    return build_cache.cached_build("native", (f"{firmware} {FLAGS} {_cpu_key()}", driver), compile_loop,
                                    name=os.path.basename(prj), cache=cache)


def run(exe, inputs, out_sizes):
    """(outputs as float64 arrays (n, size), seconds of the loop) of the program on ``inputs`` (a list of
    arrays, one per model input)."""
    inputs = [np.ascontiguousarray(np.asarray(x, dtype=np.float64).reshape(len(x), -1)) for x in inputs]
    n = len(inputs[0])
    with tempfile.TemporaryDirectory(prefix="l1emu-native-") as tmp:
        src, dst = os.path.join(tmp, "in.bin"), os.path.join(tmp, "out.bin")
        with open(src, "wb") as f:
            for x in inputs:
                f.write(x.tobytes())
        done = subprocess.run([exe, src, dst, str(n)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"{exe} failed: {done.stderr.strip()[-500:]}")
        flat = np.fromfile(dst, dtype=np.float64)
    outs, start = [], 0
    for s in out_sizes:
        outs.append(flat[start:start + n * s].reshape(n, s))
        start += n * s
    return outs, float(done.stdout.split()[-1])


def loop(hls_model, inputs, cache=None):
    """Build (cached) and run: (outputs, seconds)."""
    return run(build(hls_model, cache), inputs if isinstance(inputs, list) else [inputs],
               _sizes(hls_model.get_output_variables()))
