"""Input builders: the uGT scaling against ap_fixed.h, the builders against the event record."""

import numpy as np
import pytest

import l1emu
from l1emu import events
from l1emu.menu import inputs

from .cases import ugt


# the uGT's unscaled_t (wrapping: the vectorized path) and others that take the general path: saturating,
# a negative frac, one narrower than the largest left shift (every bit shifted out); one whose LSB is above
# every integer's bits (wrapping: every integer code is 0)
UNSCALED = {"fixed<18,13>": "ap_fixed<18,13>", "fixed<12,9,RND,SAT>": "ap_fixed<12,9,AP_RND,AP_SAT>",
            "fixed<10,12>": "ap_fixed<10,12>", "fixed<12,12>": "ap_fixed<12,12>", "fixed<8,-2>": "ap_fixed<8,-2>"}


# x as float64 values and as the int32 hardware codes the l1_objects_57 builder hands over (its own path)
@pytest.mark.parametrize("dtype", [np.float64, np.int32])
@pytest.mark.parametrize("input_type, unscaled", [((14, 6), "fixed<18,13>"), ((10, 4), "fixed<18,13>"),
                                                  ((18, 13), "fixed<18,13>"), ((14, 6), "fixed<12,9,RND,SAT>"),
                                                  ((14, 6), "fixed<10,12>"), ((14, 6), "fixed<12,12>"),
                                                  ((14, 6), "fixed<8,-2>")])
def test_ugt_shift_scaling_matches_ap_fixed(input_type, unscaled, dtype, report):
    codes, offsets, shifts = ugt.case()
    x = codes.astype(dtype)
    if unscaled == "fixed<12,12>":
        shifts[4] = -12  # >= width: every bit leaves
    scaling = inputs.UgtShiftScaling(unscaled, offsets, shifts)
    input_t = f"fixed<{input_type[0]},{input_type[1]},RND_CONV,SAT>"
    got = l1emu.quantize(scaling.apply(x), input_t)
    want = ugt.reference(codes, offsets, shifts, *input_type, UNSCALED[unscaled])
    mismatches = int(np.sum(got != want))
    report(f"uGT input scaling vs ap_fixed.h ({np.dtype(dtype).name} x, unscaled_t {unscaled}, input_t {input_t}): {x.size} inputs, "
           f"{mismatches} mismatching codes")
    assert mismatches == 0


def test_builders_follow_the_event_record():
    chunk = events.generate_all("ttbar", 300, seed=3, with_constituents=True, with_images=True)
    x = inputs.build("l1_objects_57", chunk)
    assert x.shape == (300, 57) and x.dtype == np.float64
    jets = events.to_hardware(chunk, "jet")
    np.testing.assert_array_equal(x[:, 27:].reshape(300, 10, 3), jets)  # MET, 4 e/gamma, 4 muons, then jets
    met = events.to_hardware(chunk, "met")
    np.testing.assert_array_equal(x[:, :3], np.stack([met[:, 0], np.zeros(300), met[:, 1]], 1))
    np.testing.assert_array_equal(x[:, 3:15].reshape(300, 4, 3), events.to_hardware(chunk, "egamma"))
    np.testing.assert_array_equal(x[:, 15:27].reshape(300, 4, 3), events.to_hardware(chunk, "muon"))
    assert x[:, :3].any() and x[:, 3:15].any() and x[:, 15:27].any()
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
