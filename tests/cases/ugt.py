"""The uGT AXOL1TL input scaling: its reference (tests/cpp/ugt_scaling.cpp, the emulator's _scaleNNInputs compiled
against hls4ml's ap_fixed.h) and the adversarial inputs it is checked on."""

import os
import subprocess

import numpy as np

from l1emu.reference import cache

CPP = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "cpp")


def _ap_types():
    import hls4ml

    return os.path.join(os.path.dirname(hls4ml.__file__), "templates", "vivado", "ap_types")


def _reference_binary(input_w, input_i, unscaled_t):
    source = os.path.join(CPP, "ugt_scaling.cpp")
    with open(source, "rb") as f:
        material = (f.read(), f"{input_w},{input_i},{unscaled_t}")

    def build(tmp):
        subprocess.run(["g++", "-O1", "-std=c++17", f"-DINPUT_W={input_w}", f"-DINPUT_I={input_i}",
                        f"-DUNSCALED_T={unscaled_t}", "-I", _ap_types(), source, "-o", tmp], check=True,
                       capture_output=True)

    return cache.cached_build("bin", material, build, name="ugt_scaling", digits=16)


def reference(x, offsets, shifts, input_w, input_i, unscaled_t="ap_fixed<18,13>"):
    """input_t codes of the firmware's scaling of integer hardware codes x (n, k); unscaled_t as a C++ type."""
    text = " ".join(map(str, [len(offsets), *offsets, *shifts, *np.asarray(x).reshape(-1)]))
    out = subprocess.run([_reference_binary(input_w, input_i, unscaled_t)], input=text, capture_output=True, text=True, check=True)
    return np.array(out.stdout.split(), np.int64).reshape(np.shape(x))


def case(seed=7, n_in=57):
    """(x, offsets, shifts): typical codes, zeros, the wrap of unscaled_t's 13 integer bits, far beyond it,
    the rails of int32; the rails of ad_offset_t / ad_shift_t."""
    rng = np.random.default_rng(seed)
    offsets = rng.integers(-512, 512, n_in)
    shifts = rng.integers(-16, 16, n_in)
    offsets[:4], shifts[:4] = [511, -512, 0, 0], [15, -16, 0, 1]
    rows = [rng.integers(-300, 2048, (3000, n_in)), np.zeros((1, n_in), np.int64),
            rng.choice([4095, 4096, -4096, -4097, 8191, 2047, -1, 1, 511, 512, -512], (500, n_in)),
            rng.integers(-20000, 20000, (500, n_in)),
            rng.choice([2**31 - 1, -2**31, -2**31 + 1, 2**30, -2**30, 2**20 + 1, -2**24 - 1], (100, n_in))]
    return np.concatenate(rows), offsets, shifts
