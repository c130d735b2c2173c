"""l1emu.events: the parametric event generator, the event record and the HDF5 / Parquet files.

Statistical tests use fixed seeds (deterministic) with thresholds that a broken model fails: pileup
multiplicity, falling trigger rates, jet-mass peaks and substructure per boosted class, the A -> 4l
mass peak. The rest: reproducibility, chunk-size independence, round trips, errors, the CLI."""

import json
import math
import os

import numpy as np
import pytest
from scipy import stats

from l1emu import events as ev
from l1emu.errors import EventFileError, L1emuError
from l1emu.events import record

BX_RATE = 2544 * 11.245e3  # Hz, filled bunches x revolution frequency
MASS = dict(zip(record.JET_FEATURES, range(16)))["mass_mmdt"]
D2 = dict(zip(record.JET_FEATURES, range(16)))["d2_b1_mmdt"]
MULT = dict(zip(record.JET_FEATURES, range(16)))["multiplicity"]


@pytest.fixture(scope="module")
def zerobias():
    return ev.generate_all("zerobias", 200_000, seed=11)


@pytest.fixture(scope="module")
def boosted():
    names = ["wjet", "zjet", "hjet", "topjet", "qjet", "gjet"]
    return {p: ev.generate_all(p, ev.BLOCK_SIZE, seed=3, with_constituents=True)["jet_features"] for p in names}


@pytest.fixture(scope="module")
def full_chunks():
    """Every process with constituents and images: one block each."""
    return {p: ev.generate_all(p, 600, seed=7, with_constituents=True, with_images=True) for p in ev.PROCESSES}


def _same(a, b):
    return list(a) == list(b) and all(np.array_equal(a[k], b[k]) for k in a)


# ------------------------------------------------------------------------------------------------
# record


def test_processes_registry():
    assert list(ev.PROCESSES) == [
        "zerobias", "qcd", "ttbar", "hh4b", "wjet", "zjet", "hjet", "topjet", "qjet", "gjet",
        "ato4l", "lqtobtau", "htotautau", "hptotaunu",
    ]
    assert sorted(p.label for p in ev.PROCESSES.values()) == list(range(len(ev.PROCESSES)))
    assert all(p.description for p in ev.PROCESSES.values())


def test_record_fields_shapes_dtypes(full_chunks):
    for name, chunk in full_chunks.items():
        assert list(chunk) == [f.name for f in record.FIELDS]
        for f in record.FIELDS:
            assert chunk[f.name].shape == (600, *f.shape), (name, f.name)
            assert chunk[f.name].dtype == np.dtype(f.dtype), (name, f.name)
            assert np.all(np.isfinite(chunk[f.name])), (name, f.name)
        assert np.all(chunk["label"] == ev.PROCESSES[name].label)
        assert np.array_equal(chunk["event"], np.arange(600))


def test_objects_pt_ordered_zero_padded_in_acceptance(full_chunks):
    for chunk in full_chunks.values():
        for obj, acc in record.ACCEPT.items():
            o = chunk[obj]
            pt = o[..., 0]
            assert np.all(np.diff(pt, axis=1) <= 0)
            empty = pt == 0
            assert np.all(o[empty] == 0)
            assert np.all(pt[~empty] >= acc["pt_min"] - record.HARDWARE_UNITS[obj]["pt"].lsb)
            assert np.all(np.abs(o[..., 1][~empty]) <= acc["eta_max"] + 0.1)
            assert np.all(np.abs(o[..., 2]) <= math.pi + 1e-6)
        const = chunk["jet_constituents"]
        assert np.all(np.diff(const[..., 0], axis=-1) <= 0)
        no_jet = chunk["jet"][..., 0] == 0
        assert np.all(const[no_jet] == 0) and np.all(chunk["jet_multiplicity"][no_jet] == 0)
        in_cone = np.hypot(const[..., 1], const[..., 2]) < record.JET_R + 1e-5
        assert np.all(in_cone | (const[..., 0] == 0))
        pids = set(np.unique(np.abs(const[..., 3])).tolist())
        assert pids <= {0, 211, 130, 22, 11, 13}


def _phi_residual(a, b):
    """a - b reduced to [-pi, pi): the distance of two angles on the circle."""
    return (np.asarray(a, np.float64) - np.asarray(b, np.float64) + math.pi) % (2 * math.pi) - math.pi


def test_hardware_quantization(full_chunks):
    chunk = full_chunks["ttbar"]
    for name in ("egamma", "muon", "jet"):
        q = record.HARDWARE_UNITS[name]
        codes = record.to_hardware(chunk, name)
        assert codes.dtype == np.int32 and codes.shape == chunk[name].shape
        for i, var in enumerate(("pt", "eta")):
            np.testing.assert_allclose(codes[..., i] * q[var].lsb, chunk[name][..., i], atol=1e-4)
            assert codes[..., i].min() >= q[var].code_min and codes[..., i].max() <= q[var].code_max
        # phi: value = code x LSB modulo 2pi, and the stored float is in [-pi, pi)
        np.testing.assert_allclose(_phi_residual(codes[..., 2] * q["phi"].lsb, chunk[name][..., 2]), 0, atol=1e-5)
        assert codes[..., 2].min() >= 0 and codes[..., 2].max() <= q["phi"].code_max
    units = record.HARDWARE_UNITS
    assert units["jet"]["pt"].lsb == 0.5 and units["muon"]["phi"].lsb == pytest.approx(2 * math.pi / 576)
    x57 = ev.l1_objects_57(chunk)
    assert x57.shape == (600, 57) and x57.dtype == np.float32
    assert np.all(x57 == np.round(x57))
    np.testing.assert_array_equal(x57[:, 0], np.floor(chunk["met"][:, 0] / 0.5 + 1e-6))
    np.testing.assert_array_equal(x57[:, 1], 0)
    np.testing.assert_array_equal(x57[:, 2], np.round(chunk["met"][:, 1] / (2 * math.pi / 144)) % 144)
    np.testing.assert_array_equal(x57[:, 3 * 9 :].reshape(-1, 10, 3), record.to_hardware(chunk, "jet"))
    assert ev.leading_jet_constituents(chunk).shape == (600, 16, 4)
    assert ev.jet_features(chunk).shape == (600, 16)
    with pytest.raises(KeyError, match="constituents"):
        ev.leading_jet_constituents({"jet": chunk["jet"]})


def test_saturation_and_phi_wrap():
    q = record.HARDWARE_UNITS["jet"]["pt"]
    assert record.digitize(np.array([5000.0, -3.0, 0.74]), q).tolist() == [q.code_max, 0, 1]
    qphi = record.HARDWARE_UNITS["jet"]["phi"]
    # uGT calo phi codes are unsigned, 0..143: both ends of [-pi, pi] are code 72 (phi = pi)
    assert record.digitize_phi(np.array([math.pi, -math.pi]), qphi).tolist() == [72, 72]
    assert (qphi.code_min, qphi.code_max, qphi.bits, qphi.signed) == (0, 143, 8, False)
    qmu = record.HARDWARE_UNITS["muon"]["phi"]
    assert (qmu.code_min, qmu.code_max, qmu.bits, qmu.signed) == (0, 575, 10, False)
    assert record.HARDWARE_UNITS["met"]["phi"] == qphi and record.HARDWARE_UNITS["egamma"]["phi"] == qphi


def _numpy_digitize(x, q):  # the numpy definition the C++ kernels replaced
    scaled = np.asarray(x, np.float64) / q.lsb
    codes = np.floor(scaled + 1e-9) if q.rounding == "floor" else np.rint(scaled)
    return np.clip(codes, q.code_min, q.code_max).astype(np.int32)


def _numpy_phi(phi, q):
    codes = np.rint(np.asarray(phi, np.float64) / q.lsb).astype(np.int64)
    return (codes % q.period).astype(np.int32)


def _adversarial(q, n, rng, dtype):
    """Values on and around every code boundary of unit q: k x lsb, ties (k + 1/2) x lsb, +-1 ulp, the
    floor epsilon, both rails and beyond them, zeros, infinities, and random values."""
    k = rng.integers(q.code_min - 3, q.code_max + 4, n).astype(np.float64)
    frac = rng.choice([0.0, 0.5, -0.5, 1e-9, -1e-9, 2e-9, 0.25], n)
    x = ((k + frac) * q.lsb).astype(dtype)
    ulp = rng.choice([-1, 0, 1], n)
    x = np.where(ulp == 0, x, np.nextafter(x, np.where(ulp > 0, np.inf, -np.inf).astype(dtype)))
    specials = np.array([0.0, -0.0, np.inf, -np.inf, 1e30, -1e30, q.code_max * q.lsb, q.code_min * q.lsb], dtype)
    return np.concatenate([x, specials, (rng.normal(0, 1, n) * q.lsb * (q.code_max + 1)).astype(dtype)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_hardware_codes_equal_the_numpy_definition(dtype):
    """The C++ digitization (record.digitize / digitize_phi / to_hardware) equals its numpy definition on
    every unit, on adversarial values, for float32 and float64 inputs; NaN (and a non-finite phi) is one
    clear error naming the field and the element."""
    rng = np.random.default_rng(17)
    n = 20_000
    for name, units in record.HARDWARE_UNITS.items():
        for var, q in units.items():
            if var == "phi":
                x = _adversarial(q, n, rng, dtype)
                angle = np.abs(np.rint(x.astype(np.float64) / q.lsb)) < 2.0**31  # beyond: no angle, an error
                x = np.concatenate([x[angle], np.array([np.pi, -np.pi, 2 * np.pi, -7 * np.pi, 1e6, -1e6], dtype)])
                np.testing.assert_array_equal(record.digitize_phi(x, q), _numpy_phi(x, q), err_msg=name)
                with pytest.raises(EventFileError, match="element 1 is -?[0-9.e+]+: it has no hardware code"):
                    record.digitize_phi(np.array([0.0, q.lsb * 2.0**32 * (-1) ** len(name)], dtype), q)
            else:
                x = _adversarial(q, n, rng, dtype)
                np.testing.assert_array_equal(record.digitize(x, q), _numpy_digitize(x, q), err_msg=f"{name}.{var}")
        if name == "calo_regions":
            continue
        width = 2 if name == "met" else 3
        cols = [_adversarial(units[v], n, rng, dtype)[:n] for v in (("pt", "phi") if width == 2 else ("pt", "eta"))]
        if width == 3:
            cols.append(rng.uniform(-10, 10, n).astype(dtype))
        values = np.stack(cols, -1)
        values[::7, 0] = 0.2  # empty slots: pt below one LSB
        values = values.reshape((n // 4, 4, width) if width == 3 else (n, 2))
        got = record.to_hardware({name: values}, name)
        q = units
        pt = _numpy_digitize(values[..., 0], q["pt"])
        want = [pt] + ([] if width == 2 else [_numpy_digitize(values[..., 1], q["eta"])]) + [_numpy_phi(values[..., -1], q["phi"])]
        want = np.stack(want, -1) * (pt > 0)[..., None]
        assert got.dtype == np.int32
        np.testing.assert_array_equal(got, want, err_msg=name)
    bad = np.zeros((5, 10, 3), dtype)
    bad[3, 2, 1] = np.nan
    with pytest.raises(EventFileError, match=r"field 'jet': element 97 is nan"):
        record.to_hardware({"jet": bad}, "jet")
    bad[3, 2, 1], bad[4, 0, 2] = 0, np.inf
    with pytest.raises(EventFileError, match=r"field 'jet': element 122 is inf"):
        record.to_hardware({"jet": bad}, "jet")
    with pytest.raises(EventFileError, match="element 1 is nan"):
        record.digitize(np.array([1.0, np.nan], dtype), record.HARDWARE_UNITS["jet"]["pt"])
    # the 57-input rows name the same element, also past the first block of events they code at a time
    chunk = {"met": np.zeros((200, 2), dtype), "egamma": np.zeros((200, 4, 3), dtype),
             "muon": np.zeros((200, 4, 3), dtype), "jet": np.zeros((200, 10, 3), dtype)}
    chunk["muon"][150, 1, 2] = np.nan
    with pytest.raises(EventFileError, match=r"field 'muon': element 1805 is nan"):
        record.l1_objects_57(chunk)


@pytest.mark.parametrize("name, n", [("jet", 144), ("egamma", 144), ("met", 144), ("muon", 576)])
def test_phi_codes_round_trip_at_the_wrap(name, n):
    q = record.HARDWARE_UNITS[name]["phi"]
    lsb = 2 * math.pi / n
    assert q.lsb == pytest.approx(lsb, rel=1e-15)
    half = n // 2
    # (physical phi, expected code), the codes written out by hand: code c <-> phi = c x 2pi / n
    cases = [
        (0.0, 0),
        (-math.pi, half),  # the lower end of [-pi, pi) is phi = pi
        (np.float32(-math.pi), half),  # also its float32 rounding (slightly below -pi)
        (math.pi, half),
        (math.pi - lsb, half - 1),  # the last step below pi
        (math.pi - 0.4 * lsb, half),  # rounds up onto pi
        (-lsb, n - 1),  # just below 0 = just below 2pi
        (-0.4 * lsb, 0),
        (-0.6 * lsb, n - 1),
        (2 * math.pi - lsb, n - 1),  # [0, 2pi) input gives the same codes
        (2 * math.pi, 0),
        (math.pi / 2, n // 4),
        (-math.pi / 2, 3 * n // 4),
        (-math.pi + lsb, half + 1),
        (0.49 * lsb, 0),
        (0.51 * lsb, 1),
    ]
    phi = np.array([c[0] for c in cases], np.float64)
    codes = record.digitize_phi(phi, q)
    assert codes.tolist() == [c[1] for c in cases]
    assert codes.dtype == np.int32
    # physical floats: in [-pi, pi), exactly code x LSB modulo 2pi (code >= n/2 is phi - 2pi)
    back = record.phi_from_codes(codes, q)
    expected = [(c if c < half else c - n) * lsb for c in codes.tolist()]
    np.testing.assert_array_equal(back, np.array(expected, np.float64).astype(np.float32))
    assert np.all(back >= np.float32(-math.pi)) and np.all(back < math.pi)
    assert record.to_hardware_grid(phi, q, phi=True).tolist() == back.tolist()
    # every code survives code -> phi -> code, and phi -> code -> phi is a fixed point
    all_codes = np.arange(n)
    assert record.digitize_phi(record.phi_from_codes(all_codes, q), q).tolist() == all_codes.tolist()
    grid = record.phi_from_codes(all_codes, q)
    np.testing.assert_array_equal(record.to_hardware_grid(grid, q, phi=True), grid)
    # the stored floats are the signed grid of before: code x LSB for codes in [-n/2, n/2)
    signed = np.arange(-half, half)
    np.testing.assert_array_equal(np.sort(grid), (signed * lsb).astype(np.float32))


def test_hardware_codes_unsigned_over_a_stream(zerobias):
    chunk = {k: v[:50_000] for k, v in zerobias.items()}
    met = record.to_hardware(chunk, "met")
    assert met.dtype == np.int32 and met.shape == (50_000, 2)
    assert 0 <= met[:, 0].min() and met[:, 0].max() <= 4095
    assert 0 <= met[:, 1].min() and met[:, 1].max() <= 143
    assert np.all(met[met[:, 0] == 0] == 0)
    np.testing.assert_allclose(_phi_residual(met[:, 1] * record.CALO_PHI_LSB, chunk["met"][:, 1]), 0, atol=1e-5)
    limits = {"egamma": (511, 143), "muon": (511, 575), "jet": (2047, 143)}
    for name, (pt_max, phi_max) in limits.items():
        codes = record.to_hardware(chunk, name)
        pt, eta, phi = codes[..., 0], codes[..., 1], codes[..., 2]
        assert 0 <= pt.min() and pt.max() <= pt_max, name
        assert 0 <= phi.min() and phi.max() <= phi_max, name
        assert np.all(codes[pt == 0] == 0), name  # empty slots: all three codes 0
        filled = pt > 0
        # unsigned phi codes fill their whole range (both halves of the circle), eta codes are signed
        assert phi[filled].max() > phi_max - 4 and phi[filled].min() < 4, name
        assert (phi[filled] > phi_max // 2).mean() == pytest.approx(0.5, abs=0.05), name
        assert eta[filled].min() < 0 < eta[filled].max(), name
        eta_lsb = record.HARDWARE_UNITS[name]["eta"].lsb  # acceptance on truth eta, codes of the smeared eta
        assert np.abs(eta).max() * eta_lsb <= record.ACCEPT[name]["eta_max"] + 0.25, name
    x57 = ev.l1_objects_57(chunk).reshape(-1, 19, 3)
    assert x57[:, 5:9, 2].max() <= 575 and x57[:, [0, 1, 2, 3, 4], 2].max() <= 143
    assert x57[:, 9:, 2].max() <= 143 and x57[..., 2].min() >= 0


def test_to_hardware_zeroes_empty_slots():
    # a slot whose pt truncates to code 0 is empty: eta and phi codes are 0 too
    jet = np.array([[[0.0, 1.0, -1.0], [0.3, 2.0, 2.0], [20.0, -0.0435, -math.pi / 2]]], np.float32)
    codes = record.to_hardware({"jet": jet}, "jet")
    assert codes.tolist() == [[[0, 0, 0], [0, 0, 0], [40, -1, 108]]]
    met = record.to_hardware({"met": np.array([[0.0, 1.0], [10.0, -0.1]], np.float32)}, "met")
    assert met.tolist() == [[0, 0], [20, 142]]


def _region_expected(eta, phi):
    """Independent reference for the region of a deposit: plain Python, degrees, explicit edge list.

    Documented convention: a value less than 3.5e-7 (rad, or units of eta) below an edge is on it."""
    tol = 3.5e-7
    edges = [0.0, 0.348, 0.695, 1.044, 1.392, 1.740, 2.172, 3.0]  # CMS RCT region |eta| edges
    phi = phi % (2 * math.pi)
    iphi = next(k for k in range(18, -1, -1) if phi >= math.radians(20.0 * k) - tol) % 18
    a = abs(eta)
    if a >= 3.0 - tol:
        return None
    j = max(k for k in range(7) if a >= edges[k] - tol)
    return iphi, (7 + j if eta >= 0 else 6 - j)


def test_calo_region_of_a_single_deposit():
    from l1emu.events import generator as gen

    assert record.CALO_SHAPE == (18, 14) and record.FIELD["calo_regions"].shape == (18, 14)
    cases = [  # (eta, phi, (iphi, ieta) or None), written out by hand
        (0.0, 0.0, (0, 7)),
        (0.1, math.radians(19.9), (0, 7)),
        (0.1, math.radians(20.1), (1, 7)),
        (-0.1, math.radians(-0.1), (17, 6)),  # negative phi is phi + 2pi
        (0.5, 2 * math.pi - 1e-4, (17, 8)),  # just below 2pi
        (0.5, -math.pi, (9, 8)),  # -pi = pi: region 9 starts there
        (0.5, float(np.float32(-math.pi)), (9, 8)),
        (0.5, math.pi - 1e-4, (8, 8)),
        (0.5, -math.pi / 2, (13, 8)),  # 270 degrees
        (0.5, math.radians(-20.0), (17, 8)),
        (0.5, math.radians(-20.01), (16, 8)),
        (0.348, 1.0, (2, 8)),  # eta at region edges: a region starts at its lower |eta| edge
        (0.3479, 1.0, (2, 7)),
        (-0.348, 1.0, (2, 5)),
        (-0.3479, 1.0, (2, 6)),
        (1.74, 1.0, (2, 12)),
        (1.7399, 1.0, (2, 11)),
        (2.172, 1.0, (2, 13)),
        (-2.172, 1.0, (2, 0)),
        (2.9999, 1.0, (2, 13)),
        (-2.9999, 1.0, (2, 0)),
        (-1e-6, 1.0, (2, 6)),
        (3.0, 1.0, None),  # HF: outside the image
        (-3.0, 1.0, None),
        (4.2, 1.0, None),
    ]
    eta = np.array([c[0] for c in cases], np.float32)
    phi = np.array([c[1] for c in cases], np.float32)
    for (e, p, want), e32, p32 in zip(cases, eta, phi):
        assert _region_expected(float(e32), float(p32)) == want, (e, p)
    iphi, ieta, inside = gen._calo_region_index(eta, phi)
    got = [(int(a), int(b)) if ok else None for a, b, ok in zip(iphi, ieta, inside)]
    assert got == [c[2] for c in cases]

    # one deposit on an empty detector (no pileup ET): all of its ET in that region, phi axis first
    rng = np.random.default_rng(0)
    for e, p, want in cases:
        dep = np.array([[[100.0, e, p]]], np.float32)
        img = gen._calo_regions(rng, np.zeros(1), dep)
        assert img.shape == (1, 18, 14) and img.dtype == np.float32
        if want is None:
            assert img.sum() == 0, (e, p)
        else:
            assert img[0][want] == 100.0 and img.sum() == 100.0, (e, p)

    # random deposits against the plain-Python reference (float32 inputs, as in the generator)
    eta = rng.uniform(-3.5, 3.5, 4000).astype(np.float32)
    phi = rng.uniform(-math.pi, math.pi, 4000).astype(np.float32)
    iphi, ieta, inside = gen._calo_region_index(eta, phi)
    for k in range(4000):
        want = _region_expected(float(eta[k]), float(phi[k]))
        assert (None if not inside[k] else (iphi[k], ieta[k])) == want, (eta[k], phi[k])


def test_calo_regions_follow_the_objects(full_chunks):
    # the leading jet of boosted W events (pt > 500 GeV) is deposited in the region it points to (phi
    # axis first, eta second): that region holds most of its ET; the stored jet angles are smeared by
    # 0.04 against the deposited axis, so near region edges it may sit next door
    from l1emu.events import generator as gen

    chunk = full_chunks["wjet"]
    jet = chunk["jet"][:, 0]
    central = (np.abs(jet[:, 1]) < 2.9) & (jet[:, 0] > 0)
    iphi, ieta, inside = gen._calo_region_index(jet[:, 1], jet[:, 2])
    img = chunk["calo_regions"]
    rows = np.arange(len(img))
    full = 0.5 * np.minimum(jet[:, 0], 511.5)
    assert central.sum() > 400
    assert np.mean(img[rows, iphi, ieta][central] >= full[central]) > 0.7
    # within one region of it (phi wraps around, 17 next to 0), always
    near = np.max([img[rows, (iphi + dp) % 18, np.clip(ieta + de, 0, 13)] for dp in (-1, 0, 1) for de in (-1, 0, 1)], 0)
    assert np.mean(near[central] >= full[central]) > 0.98
    # transposed (eta, phi) indexing would not find it
    et_t = img.reshape(len(img), 14, 18)[np.arange(len(img)), np.minimum(ieta, 13), iphi % 18]
    assert np.mean(et_t[central] >= full[central]) < 0.3
    # regions sum to at most the saturated code and are on the 0.5 GeV grid
    assert img.max() <= 511.5 and np.all(img * 2 == np.round(img * 2))


# ------------------------------------------------------------------------------------------------
# features and images on configurations with known values


def test_features_analytic():
    r = 0.3
    two = np.zeros((1, 16, 4), np.float32)
    two[0, 0, :3], two[0, 1, :3] = (100, 0, 0), (100, r, 0)
    f = dict(zip(record.JET_FEATURES, ev.hls4ml_features(two)[0]))
    assert f["c1_b0_mmdt"] == pytest.approx(0.25)
    assert f["c1_b1_mmdt"] == pytest.approx(0.25 * r, rel=1e-5)
    assert f["c1_b2_mmdt"] == pytest.approx(0.25 * r * r, rel=1e-5)
    assert f["zlogz"] == pytest.approx(math.log(0.5), rel=1e-5)
    assert f["d2_b1_mmdt"] == 0 and f["multiplicity"] == 2
    # two massless particles: m^2 = 2 pt1 pt2 (cosh(deta) - cos(dphi))
    assert f["mass_mmdt"] == pytest.approx(math.sqrt(2 * 100 * 100 * (math.cosh(r) - 1)), rel=1e-4)
    tri = np.zeros((1, 16, 4), np.float32)
    for k in range(3):
        a = 2 * math.pi * k / 3
        tri[0, k, :3] = (50, r / math.sqrt(3) * math.cos(a), r / math.sqrt(3) * math.sin(a))
    f = dict(zip(record.JET_FEATURES, ev.hls4ml_features(tri)[0]))
    # equilateral triangle of side R, z = 1/3: e2 = R/3, e3 = R^3/27 (D2 = 1, C2 = R/3), 1e3 = R/27, 2e3 = R^2/27
    assert f["d2_b1_mmdt"] == pytest.approx(1.0, rel=1e-4)
    assert f["d2_b2_mmdt"] == pytest.approx(1.0, rel=1e-4)
    assert f["c2_b1_mmdt"] == pytest.approx(r / 3, rel=1e-4)
    assert f["m2_b1_mmdt"] == pytest.approx((r / 27) / (r / 3), rel=1e-4)
    assert f["n2_b1_mmdt"] == pytest.approx((r * r / 27) / (r / 3) ** 2, rel=1e-4)
    assert f["d2_a1_b2_mmdt"] == pytest.approx((r**3 / 27) / (r * r / 3) ** 1.5, rel=1e-4)


def test_jet_image_preprocessing(full_chunks):
    chunk = full_chunks["topjet"]
    img, const = chunk["jet_image"], chunk["jet_constituents"][:, 0]
    assert img.shape == (600, 40, 40)
    total = const[..., 0].sum(-1)
    on_image = img.sum((1, 2))
    assert np.all(on_image <= total * 1.0001 + 0.01)
    assert np.mean(np.isclose(on_image, total, rtol=1e-3, atol=0.6)) > 0.95  # a few fall off the edge
    has = total > 0
    upper, lower = img[:, :20].sum((1, 2)), img[:, 20:].sum((1, 2))
    right, left = img[:, :, 20:].sum((1, 2)), img[:, :, :20].sum((1, 2))
    assert np.mean(upper[has] >= lower[has]) > 0.6
    assert np.all(right[has] >= left[has] - 1e-3)
    # the centroid is at the centre
    rows = np.arange(40) + 0.5
    cy = (img.sum(2) * rows).sum(1)[has] / img.sum((1, 2))[has]
    assert abs(np.median(cy) - 20) < 2


# ------------------------------------------------------------------------------------------------
# statistics of the model


def test_pileup_multiplicity_poisson():
    for mu in (60.0, 140.0):
        n_pu = ev.generate_all("zerobias", 2 * ev.BLOCK_SIZE, seed=2, pileup=mu)["n_pileup"].astype(float)
        z = (n_pu.mean() - mu) / math.sqrt(mu / len(n_pu))
        assert abs(z) < 4, (mu, n_pu.mean())
        # dispersion test: sum (x - mean)^2 / mean ~ chi2(n - 1) for a Poisson sample
        p = stats.chi2.sf(((n_pu - n_pu.mean()) ** 2).sum() / n_pu.mean(), len(n_pu) - 1)
        assert 1e-4 < p < 1 - 1e-4, (mu, n_pu.var())


def test_zero_bias_rates_fall_with_threshold(zerobias):
    jet, eg, mu, met = zerobias["jet"][:, 0, 0], zerobias["egamma"][:, 0, 0], zerobias["muon"][:, 0, 0], zerobias["met"][:, 0]
    for x, thresholds in ((jet, [20, 40, 60, 90, 120, 180]), (eg, [5, 10, 20, 30, 40]), (mu, [3, 5, 10, 22]),
                          (met, [20, 40, 60, 80, 100])):
        frac = np.array([(x > t).mean() for t in thresholds])
        assert np.all(np.diff(frac) < 0), frac
        assert frac[0] / frac[-1] > 50, frac
    # documented calibration: SingleJet180 ~ 10 kHz, SingleMu22 ~ 6 kHz at 28.6 MHz (factor 2.5 windows)
    assert 4e3 < (jet > 180).mean() * BX_RATE < 25e3
    assert 2e3 < (mu > 22).mean() * BX_RATE < 15e3
    # the tail of the leading-jet spectrum is the documented power law: integral index ~ 3.4
    tail = jet[jet > 60].astype(float)
    index = len(tail) / np.log(tail / 60).sum()
    assert 2.9 < index < 3.9, index


def test_boosted_jet_mass_peaks(boosted):
    peaks = {"wjet": 80.4, "zjet": 91.2, "hjet": 125.0, "topjet": 172.5}
    for name, m0 in peaks.items():
        m = boosted[name][:, MASS]
        hist, edges = np.histogram(m, bins=np.arange(0, 300, 5))
        mode = edges[np.argmax(hist)] + 2.5
        assert abs(mode - m0) < 0.1 * m0, (name, mode)
        assert np.mean(np.abs(m - m0) < 0.15 * m0) > 0.5, name
    med = {k: np.median(v[:, MASS]) for k, v in boosted.items()}
    for name, m0 in peaks.items():
        assert abs(med[name] / m0 - 1) < 0.06, (name, med[name])
    # mass ratios cancel the common upward shift from the constituents' angular spread
    assert abs(med["wjet"] / med["zjet"] - 80.4 / 91.2) < 0.03
    assert abs(med["hjet"] / med["zjet"] - 125.0 / 91.2) < 0.04
    for name in ("qjet", "gjet"):
        assert med[name] < 60
    # W vs Z separated (about 11 GeV apart), and W vs quark jets by far
    assert stats.mannwhitneyu(boosted["wjet"][:, MASS], boosted["zjet"][:, MASS]).pvalue < 1e-20
    assert stats.ks_2samp(boosted["wjet"][:, MASS], boosted["qjet"][:, MASS]).pvalue < 1e-100


def test_boosted_substructure(boosted):
    d2 = {k: np.median(v[:, D2]) for k, v in boosted.items()}
    assert d2["wjet"] < 0.5 * d2["qjet"] and d2["zjet"] < 0.5 * d2["qjet"], d2
    # gluon jets have more particles than quark jets (colour factor)
    g, q = boosted["gjet"][:, MULT], boosted["qjet"][:, MULT]
    assert 1.3 < np.median(g) / np.median(q) < 2.0  # ~ C_A / C_F damped, as in real jets
    assert stats.mannwhitneyu(g, q, alternative="greater").pvalue < 1e-50
    # three prongs: N2 of top jets differs from the two-prong W
    n2 = record.JET_FEATURES.index("n2_b1_mmdt")
    assert stats.ks_2samp(boosted["topjet"][:, n2], boosted["wjet"][:, n2]).pvalue < 1e-10


def test_jet_standardization_is_the_reference_sample_s():
    """The frozen standardization of l1emu.events.jets is the mean/std of its reference sample, to the bit."""
    from l1emu.events import jets

    ref, y = jets.labelled_jets(jets.REFERENCE_EVENTS, jets.REFERENCE_SEED)
    assert ref.dtype == np.float32 and np.bincount(y).tolist() == [1000] * 5
    assert ref.mean(0).tobytes() == jets.FEATURE_MEAN.tobytes()
    assert (ref.std(0) + 1e-9).tobytes() == jets.FEATURE_STD.tobytes()
    X, _ = jets.synthetic_jets(500, np.random.default_rng(3))
    assert X.dtype == np.float32 and abs(X.mean()) < 0.2 and 0.5 < X.std() < 1.5


def test_a_to_4l_mass_peak():
    c = ev.generate_all("ato4l", ev.BLOCK_SIZE, seed=5)
    lep = np.concatenate([c["egamma"], c["muon"]], 1).astype(float)
    four = (lep[..., 0] > 0).sum(1) == 4
    assert four.mean() > 0.3
    lep = lep[four]
    order = np.argsort(-lep[..., 0], 1)[:, :4]
    pt, eta, phi = (np.take_along_axis(lep[..., i], order, 1) for i in range(3))
    e, px = (pt * np.cosh(eta)).sum(1), (pt * np.cos(phi)).sum(1)
    py, pz = (pt * np.sin(phi)).sum(1), (pt * np.sinh(eta)).sum(1)
    m = np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0))
    assert abs(np.median(m) - 50) < 3


def test_signals_differ_from_background(zerobias):
    met_zb = zerobias["met"][: ev.BLOCK_SIZE, 0]
    c = ev.generate_all("hptotaunu", ev.BLOCK_SIZE, seed=1)
    assert stats.ks_2samp(c["met"][:, 0], met_zb, alternative="less").pvalue < 1e-20  # more MET
    tt = ev.generate_all("ttbar", ev.BLOCK_SIZE, seed=1)
    assert np.mean((tt["jet"][..., 0] > 30).sum(1)) > 2 * np.mean((zerobias["jet"][..., 0] > 30).sum(1))


# ------------------------------------------------------------------------------------------------
# reproducibility


def test_same_seed_identical_different_seed_differs():
    a = ev.generate_all("ttbar", 3000, seed=42, with_constituents=True)
    b = ev.generate_all("ttbar", 3000, seed=42, with_constituents=True)
    c = ev.generate_all("ttbar", 3000, seed=43)
    assert _same(a, b)
    assert not np.array_equal(a["jet"], c["jet"])
    assert not np.array_equal(a["jet"], ev.generate_all("qcd", 3000, seed=42)["jet"])


def test_chunk_size_and_workers_independence():
    n = ev.BLOCK_SIZE + 3000
    ref = ev.generate_all("hh4b", n, seed=9, chunk_size=n, with_constituents=True)
    for chunk_size in (1000, 7777):
        chunks = list(ev.generate("hh4b", n, seed=9, chunk_size=chunk_size, with_constituents=True))
        assert [len(c["event"]) for c in chunks[:-1]] == [chunk_size] * (len(chunks) - 1)
        assert sum(len(c["event"]) for c in chunks) == n
        assert _same({k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}, ref)
    two = ev.generate_all("hh4b", n, seed=9, chunk_size=5000, with_constituents=True, workers=2)
    assert _same(two, ref)
    # a shorter stream is a prefix of a longer one
    short = ev.generate_all("hh4b", 1234, seed=9)
    assert all(np.array_equal(short[k], ref[k][:1234]) for k in short)


def test_objects_do_not_depend_on_optional_parts():
    plain = ev.generate_all("topjet", 2000, seed=4)
    full = ev.generate_all("topjet", 2000, seed=4, with_constituents=True, with_images=True)
    assert all(np.array_equal(plain[k], full[k]) for k in plain)


# ------------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(process="zerobais"), "unknown process 'zerobais'"),
        (dict(process=3), "unknown process"),
        (dict(seed="1"), "seed must be a non-negative integer"),
        (dict(seed=1.5), "seed must be a non-negative integer"),
        (dict(seed=None), "seed must be a non-negative integer"),
        (dict(seed=True), "seed must be a non-negative integer"),
        (dict(seed=-1), "seed must be a non-negative integer"),
        (dict(n_events=0), "n_events must be a positive integer"),
        (dict(n_events=-5), "n_events must be a positive integer"),
        (dict(n_events=2.5), "n_events must be a positive integer"),
        (dict(chunk_size=0), "chunk_size must be an integer"),
        (dict(chunk_size="big"), "chunk_size must be an integer"),
        (dict(pileup=-1), "pileup must be a number"),
        (dict(workers=0), "workers must be a positive integer"),
        (dict(backend="pythia9"), "unknown generator backend"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(process="zerobias", n_events=10, seed=1) | kwargs
    with pytest.raises(L1emuError, match=message):
        ev.generate(args.pop("process"), args.pop("n_events"), args.pop("seed"), **args)


# ------------------------------------------------------------------------------------------------
# files


@pytest.fixture(scope="module")
def stream():
    return ev.generate("wjet", 3000, seed=21, chunk_size=1100, with_constituents=True, with_images=True)


@pytest.mark.parametrize("ext", ["h5", "parquet"])
def test_round_trip_and_metadata(tmp_path, stream, ext):
    path = tmp_path / f"w.{ext}"
    meta = ev.write(path, stream)
    assert meta["n_events"] == 3000 and meta["counts"] == {"wjet": 3000}
    back = ev.read(path)
    assert _same(back, ev.generate_all("wjet", 3000, seed=21, with_constituents=True, with_images=True))
    info = ev.info(path)
    assert info["file_format"] == ext and info["format"] == "l1emu-events"
    (src,) = info["sources"]
    assert src["process"] == "wjet" and src["seed"] == 21 and src["generator_version"] == ev.VERSION
    assert src["label"] == ev.PROCESSES["wjet"].label
    sizes = [len(c["label"]) for c in ev.iter_chunks(path, chunk_size=1200, fields=["jet", "label"])]
    assert sizes == [1200, 1200, 600]
    part = next(ev.iter_chunks(path, chunk_size=7, fields="jet_constituents"))
    assert list(part) == ["jet_constituents"] and part["jet_constituents"].shape == (7, 10, 16, 4)
    with pytest.raises(EventFileError, match="no field"):
        next(ev.iter_chunks(path, fields=["tau"]))


@pytest.mark.parametrize("ext", ["h5", "parquet"])
def test_same_seed_identical_file(tmp_path, ext):
    a, b = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}"
    ev.write(a, ev.generate("qcd", 3000, seed=5, chunk_size=1000))
    ev.write(b, ev.generate("qcd", 3000, seed=5, chunk_size=777))
    assert _same(ev.read(a), ev.read(b))
    ev.write(b, ev.generate("qcd", 3000, seed=5, chunk_size=1000), overwrite=True)
    assert a.read_bytes() == b.read_bytes()


@pytest.mark.parametrize("ext", ["h5", "parquet"])
def test_append_and_merge(tmp_path, ext):
    a, b, m = tmp_path / f"a.{ext}", tmp_path / f"b.{ext}", tmp_path / f"m.{ext}"
    ev.write(a, ev.generate("zerobias", 3000, seed=1))
    ev.write(b, ev.generate("ato4l", 2000, seed=2))
    meta = ev.merge([a, b], m)
    assert meta["counts"] == {"zerobias": 3000, "ato4l": 2000} and meta["n_events"] == 5000
    merged = ev.read(m)
    assert np.array_equal(merged["label"][:3000], np.zeros(3000)) and np.all(merged["label"][3000:] == 10)
    ev.append(a, ev.generate("ato4l", 2000, seed=2))
    assert _same(ev.read(a), merged)
    assert [s["process"] for s in ev.info(a)["sources"]] == ["zerobias", "ato4l"]
    ev.write(b, ev.generate("ato4l", 100, seed=2, with_constituents=True), overwrite=True)
    with pytest.raises(EventFileError, match="different fields"):
        ev.merge([a, b], tmp_path / f"x.{ext}")
    with pytest.raises(EventFileError, match="fields"):
        ev.append(a, ev.generate("ato4l", 100, seed=2, with_constituents=True))
    assert ev.info(a)["n_events"] == 5000  # the failed append left the file intact


def test_existing_file_not_overwritten(tmp_path):
    path = tmp_path / "zb.h5"
    ev.write(path, ev.generate("zerobias", 100, seed=1))
    before = path.read_bytes()
    with pytest.raises(EventFileError, match="exists.*overwrite"):
        ev.write(path, ev.generate("zerobias", 100, seed=2))
    assert path.read_bytes() == before
    ev.write(path, ev.generate("zerobias", 100, seed=2), overwrite=True)
    assert not np.array_equal(ev.read(path)["jet"], ev.generate_all("zerobias", 100, seed=1)["jet"])


def test_interrupted_write_leaves_nothing(tmp_path):
    def broken():
        yield from ev.generate("zerobias", 100, seed=1)
        raise RuntimeError("generator died")

    for ext in ("h5", "parquet"):
        with pytest.raises(RuntimeError, match="died"):
            ev.write(tmp_path / f"x.{ext}", broken())
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("ext", ["h5", "parquet"])
def test_truncated_and_foreign_files_refused(tmp_path, ext):
    good = tmp_path / f"good.{ext}"
    ev.write(good, ev.generate("ttbar", 2000, seed=1))
    data = good.read_bytes()
    cut = tmp_path / f"cut.{ext}"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(EventFileError, match="truncated"):
        ev.info(cut)
    with pytest.raises(EventFileError, match="truncated"):
        next(ev.iter_chunks(cut))
    foreign = tmp_path / f"foreign.{ext}"
    if ext == "h5":
        import h5py

        with h5py.File(foreign, "w") as f:
            f["x"] = np.arange(10)
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        pq.write_table(pa.table({"x": np.arange(10)}), foreign)
    with pytest.raises(EventFileError, match="not an l1emu event file"):
        ev.info(foreign)
    text = tmp_path / f"notes.{ext}"
    text.write_text("hello")
    with pytest.raises(EventFileError, match="neither HDF5 nor Parquet"):
        ev.read(text)
    with pytest.raises(EventFileError, match="no such event file"):
        ev.read(tmp_path / f"missing.{ext}")


def test_write_argument_errors(tmp_path):
    with pytest.raises(EventFileError, match="extension"):
        ev.write(tmp_path / "x.csv", ev.generate("zerobias", 10, seed=1))
    with pytest.raises(EventFileError, match="compression"):
        ev.write(tmp_path / "x.h5", ev.generate("zerobias", 10, seed=1), compression="zip")
    with pytest.raises(EventFileError, match="no events"):
        ev.write(tmp_path / "x.h5", [])
    with pytest.raises(EventFileError, match="chunk_size"):
        next(ev.iter_chunks(tmp_path / "x.h5", chunk_size=0))
    assert os.listdir(tmp_path) == []


def test_incomplete_h5_refused(tmp_path):
    import h5py

    path = tmp_path / "a.h5"
    ev.write(path, ev.generate("zerobias", 100, seed=1))
    with h5py.File(path, "a") as f:
        del f.attrs["complete"]
    with pytest.raises(EventFileError, match="incomplete"):
        ev.info(path)
    with h5py.File(path, "a") as f:
        f.attrs["complete"] = True
        meta = json.loads(f.attrs["metadata"])
        meta["format_version"] = 99
        f.attrs["metadata"], f.attrs[ev.io.META_CRC_KEY] = ev.io._dump_meta(meta)
    with pytest.raises(EventFileError, match="version 99"):
        ev.info(path)


# ------------------------------------------------------------------------------------------------
# CLI


def test_cli_generate(tmp_path):
    from click.testing import CliRunner

    from l1emu.cli import main

    runner = CliRunner()
    out = tmp_path / "zb.h5"
    res = runner.invoke(main, ["generate", "--process", "zerobias", "--events", "2500", "-o", str(out), "--seed", "3"])
    assert res.exit_code == 0, res.output
    assert "wrote 2,500 zerobias crossings" in res.output
    assert _same(ev.read(out), ev.generate_all("zerobias", 2500, seed=3))
    res = runner.invoke(main, ["generate", "--process", "zerobias", "--events", "10", "-o", str(out)])
    assert res.exit_code != 0 and "exists" in res.output and "--overwrite" in res.output
    res = runner.invoke(main, ["generate", "-p", "ttbar", "-n", "300", "-o", str(out), "--overwrite",
                               "--constituents", "--images", "--chunk-size", "100"])
    assert res.exit_code == 0, res.output
    assert ev.info(out)["counts"] == {"ttbar": 300} and "jet_image" in ev.info(out)["fields"]
    pq_out = tmp_path / "x.data"
    res = runner.invoke(main, ["generate", "-p", "hjet", "-n", "50", "-o", str(pq_out), "--format", "parquet"])
    assert res.exit_code == 0 and ev.detect_format(pq_out) == "parquet"
    res = runner.invoke(main, ["generate", "-p", "higgs", "-n", "50", "-o", str(tmp_path / "y.h5")])
    assert res.exit_code != 0 and "unknown process 'higgs'" in res.output
    res = runner.invoke(main, ["generate", "-p", "qcd", "-n", "0", "-o", str(tmp_path / "y.h5")])
    assert res.exit_code != 0 and "n_events must be a positive integer" in res.output
