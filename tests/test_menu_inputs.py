"""Input builders: the uGT scaling against ap_fixed.h, the builders against the event record."""

import os
import subprocess

import numpy as np
import pytest

import l1emu
from l1emu import events
from l1emu.menu import inputs
from l1emu.reference import cache

HERE = os.path.dirname(__file__)


def _ap_types():
    import hls4ml

    return os.path.join(os.path.dirname(hls4ml.__file__), "templates", "vivado", "ap_types")


def _reference_binary(input_w, input_i):
    source = os.path.join(HERE, "cpp", "ugt_scaling.cpp")
    with open(source, "rb") as f:
        material = (f.read(), f"{input_w},{input_i}")

    def build(tmp):
        subprocess.run(["g++", "-O1", "-std=c++17", f"-DINPUT_W={input_w}", f"-DINPUT_I={input_i}", "-I", _ap_types(),
                        source, "-o", tmp], check=True, capture_output=True)

    return cache.cached_build("bin", material, build, name="ugt_scaling", digits=16)


def _reference(x, offsets, shifts, input_w, input_i):
    text = " ".join(map(str, [len(offsets), *offsets, *shifts, *np.asarray(x).reshape(-1)]))
    out = subprocess.run([_reference_binary(input_w, input_i)], input=text, capture_output=True, text=True, check=True)
    return np.array(out.stdout.split(), np.int64).reshape(np.shape(x))


@pytest.mark.parametrize("input_type", [(14, 6), (10, 4), (18, 13)])
def test_ugt_shift_scaling_matches_ap_fixed(input_type, report):
    rng = np.random.default_rng(7)
    n_in = 57
    offsets = rng.integers(-512, 512, n_in)
    shifts = rng.integers(-16, 16, n_in)
    offsets[:4], shifts[:4] = [511, -512, 0, 0], [15, -16, 0, 1]  # rails of ad_offset_t / ad_shift_t
    # hardware codes: typical, zero, the wrap of unscaled_t's 13 integer bits (+-4096), far beyond it
    rows = [rng.integers(-300, 2048, (3000, n_in)), np.zeros((1, n_in), np.int64),
            rng.choice([4095, 4096, -4096, -4097, 8191, 2047, -1, 1, 511, 512, -512], (500, n_in)),
            rng.integers(-20000, 20000, (500, n_in))]
    x = np.concatenate(rows)
    scaling = inputs.UgtShiftScaling("fixed<18,13>", offsets, shifts)
    input_t = f"fixed<{input_type[0]},{input_type[1]},RND_CONV,SAT>"
    got = l1emu.quantize(scaling.apply(x), input_t)
    want = _reference(x, offsets, shifts, *input_type)
    mismatches = int(np.sum(got != want))
    report(f"uGT input scaling vs ap_fixed.h ({input_t}): {x.size} inputs, {mismatches} mismatching codes")
    assert mismatches == 0


def test_builders_follow_the_event_record():
    chunk = events.generate_all("ttbar", 300, seed=3, with_constituents=True, with_images=True)
    x = inputs.build("l1_objects_57", chunk)
    assert x.shape == (300, 57) and x.dtype == np.float64
    jets = events.to_hardware(chunk, "jet")
    np.testing.assert_array_equal(x[:, 27:].reshape(300, 10, 3), jets)  # MET, 4 e/gamma, 4 muons, then jets
    np.testing.assert_array_equal(inputs.build("leading_jet_features", chunk), chunk["jet_features"])
    np.testing.assert_array_equal(inputs.build("leading_jet_constituents", chunk), chunk["jet_constituents"][:, 0])
    regions = inputs.build("calo_regions", chunk)
    np.testing.assert_array_equal(regions, chunk["calo_regions"] / 0.5)  # ET codes, 0.5 GeV LSB
    assert inputs.build("jet_image", chunk).shape == (300, 40, 40)
    with pytest.raises(inputs.InputError, match="no field 'jet_constituents'"):
        inputs.build("leading_jet_constituents", events.generate_all("ttbar", 10, seed=3))


def test_affine_scaling_and_scale_table_errors(tmp_path):
    s = inputs.scaling_from_dict({"kind": "affine", "offsets": [1.0, 2.0], "scales": [0.5, 2.0]}, 2, "t.yaml")
    np.testing.assert_array_equal(s.apply(np.array([[3.0, 3.0]])), [[1.0, 2.0]])
    bad = [({"kind": "ugt_shift", "offsets": [0] * 3, "shifts": [0] * 2}, "'shifts' must be a list of 3"),
           ({"kind": "ugt_shift", "offsets": [600, 0, 0], "shifts": [0] * 3}, r"offsets\[0\] = 600"),
           ({"kind": "ugt_shift", "offsets": [0] * 3, "shifts": [0, 1.5, 0]}, r"shifts\[1\] = 1.5"),
           ({"kind": "ugt_shift", "unscaled": "ufixed<18,13>", "offsets": [0] * 3, "shifts": [0] * 3}, "signed"),
           ({"kind": "nope"}, "kind = 'nope'"),
           ({"kind": "affine", "offsets": [0] * 3, "scales": [1] * 3, "extra": 1}, r"unknown key\(s\) \['extra'\]"),
           ([1, 2], "must be a mapping")]
    for doc, message in bad:
        with pytest.raises(inputs.InputError, match=message):
            inputs.scaling_from_dict(doc, 3, "t.yaml")
    path = tmp_path / "s.yaml"
    path.write_text("kind: ugt_shift\noffsets: [0, 1]\nshifts: [1, 2]\n")
    assert inputs.load_scaling(path, 2).unscaled == "fixed<18,13>"
    path.write_text("kind: [unclosed\n")
    with pytest.raises(inputs.InputError, match="not valid YAML"):
        inputs.load_scaling(path, 2)
    with pytest.raises(inputs.InputError, match="unknown input builder 'nope'"):
        inputs.builder("nope")
    x = np.zeros((5, 2))
    x[3, 1] = np.nan
    with pytest.raises(inputs.InputError, match="input 1 of event 3 is not finite"):
        inputs.UgtShiftScaling(
            "fixed<18,13>", np.zeros(2, np.int64), np.ones(2, np.int64)).apply(x)
