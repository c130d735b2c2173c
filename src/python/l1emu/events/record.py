"""The event record: field names, per-event shapes, dtypes and the L1 hardware LSBs.

One bunch crossing = one row. L1 objects are stored as physical floats (GeV, rad) that lie exactly on
the hardware grid (value = code x LSB), so ``to_hardware`` recovers the integer codes the Global
Trigger sees, in the uGT conventions (pt and eta as in CMSSW's l1t objects' hwPt / hwEta, phi codes
unsigned, 0..143 for calo objects and 0..575 for muons, code c meaning phi = c x LSB in [0, 2pi)).
The stored phi floats lie in [-pi, pi): the same angle, so phi = code x LSB modulo 2pi.
Zero padding: an empty slot has pt = eta = phi = 0 (all codes 0).
"""

from dataclasses import dataclass
import math

import numpy as np

from .. import _core
from ..errors import EventFileError

FORMAT = "l1emu-events"
FORMAT_VERSION = 1

N_EGAMMA, N_MUON, N_JET = 4, 4, 10
N_CONSTITUENTS = 16
CALO_SHAPE = (18, 14)  # (phi, eta) regions: CICADA's input layout (DESIGN.md: 18 phi x 14 eta)
CALO_ETA_MAX = 3.0
# |eta| edges of the 7 barrel/endcap calorimeter regions per side (4 trigger towers each: towers
# 1-20 are 0.087 wide, 21-28 wider; HF excluded). These are the RCT / GCT region boundaries of CMSSW
# (l1CaloGeometry gctEtaBinBoundaries, central part): 0, 0.348, 0.695, 1.044, 1.392, 1.740, 2.172, 3.0.
CALO_REGION_ABS_ETA_EDGES = (0.0, 0.348, 0.695, 1.044, 1.392, 1.740, 2.172, 3.0)
# Region k in phi covers [k, k + 1) x 2pi/18 of phi taken in [0, 2pi) (region 0 starts at phi = 0).
# CMS's legacy GCT / Layer-1 regions are centred on multiples of 20 degrees instead (a -half-region
# offset, gctEmJetPhiBinOffset = -0.5): set this to -pi/18 to follow that.
CALO_REGION_PHI0 = 0.0
JET_IMAGE_SIZE = 40
JET_IMAGE_HALF_WIDTH = 0.8  # image spans [-R, R] in both directions, R = 0.8 (AK8-like)
JET_R = 0.8  # constituents are collected within this distance of the jet axis

# Particle-id codes of constituents (PDG-like, sign = charge where it exists).
PID_CHARGED_HADRON, PID_NEUTRAL_HADRON, PID_PHOTON, PID_ELECTRON, PID_MUON = 211, 130, 22, 11, 13

CALO_PHI_LSB = 2 * math.pi / 144  # uGT calo phi step: 2.5 degrees, half a 5-degree trigger tower
CALO_ETA_LSB = 0.0435  # half a barrel trigger tower (0.087 / 2), the uGT calo eta step
MUON_PHI_LSB = 2 * math.pi / 576  # uGMT phi step
MUON_ETA_LSB = 0.010875  # uGMT eta step


@dataclass(frozen=True)
class HardwareUnit:
    """Hardware unit of one quantity (its uGT digitization): code = floor or round(x / lsb), saturated to ``bits``.

    Azimuthal quantities have ``period`` = the number of codes in 2pi (144 calo, 576 muon): their
    codes are unsigned and wrap around, code = round(phi / lsb) mod period, in [0, period)."""

    lsb: float
    bits: int
    signed: bool
    rounding: str  # "floor" (energies: hardware truncates) or "round" (angles: nearest bin)
    period: int = 0  # codes per 2pi for phi (wrapping), 0 for everything else (saturating)

    @property
    def code_min(self):
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def code_max(self):
        if self.period:
            return self.period - 1
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


CALO_PHI = HardwareUnit(CALO_PHI_LSB, 8, False, "round", 144)  # uGT calo phi: unsigned, 0..143
MUON_PHI = HardwareUnit(MUON_PHI_LSB, 10, False, "round", 576)  # uGT muon phi (at the vertex): 0..575

HARDWARE_UNITS = {
    "met": {"pt": HardwareUnit(0.5, 12, False, "floor"), "phi": CALO_PHI},
    "egamma": {
        "pt": HardwareUnit(0.5, 9, False, "floor"),
        "eta": HardwareUnit(CALO_ETA_LSB, 8, True, "round"),
        "phi": CALO_PHI,
    },
    "muon": {
        "pt": HardwareUnit(0.5, 9, False, "floor"),
        "eta": HardwareUnit(MUON_ETA_LSB, 9, True, "round"),
        "phi": MUON_PHI,
    },
    "jet": {
        "pt": HardwareUnit(0.5, 11, False, "floor"),  # up to 1023.5 GeV
        "eta": HardwareUnit(CALO_ETA_LSB, 8, True, "round"),
        "phi": CALO_PHI,
    },
    "calo_regions": {"et": HardwareUnit(0.5, 10, False, "floor")},
}

# Acceptance of the L1 object lists (the ADC2021 anomaly-challenge selection).
ACCEPT = {
    "egamma": {"pt_min": 3.0, "eta_max": 3.0},
    "muon": {"pt_min": 3.0, "eta_max": 2.1},
    "jet": {"pt_min": 15.0, "eta_max": 4.0},
}


@dataclass(frozen=True)
class Field:
    name: str
    shape: tuple  # per event
    dtype: str
    group: str  # "objects" (always), "constituents", "images"
    doc: str
    compress: bool = False  # sparse arrays that a file codec shrinks; dense floats are stored raw (fast reads)


FIELDS = (
    Field("event", (), "int64", "objects", "index of the crossing in its generated stream"),
    Field("label", (), "int16", "objects", "truth process label (see l1emu.events.PROCESSES)"),
    Field("n_pileup", (), "int16", "objects", "number of pileup interactions in the crossing"),
    Field("met", (2,), "float32", "objects", "missing ET (pt, phi), calorimeter only as at L1"),
    Field("egamma", (N_EGAMMA, 3), "float32", "objects", "e/gamma candidates (pt, eta, phi), pt-ordered"),
    Field("muon", (N_MUON, 3), "float32", "objects", "muon candidates (pt, eta, phi), pt-ordered"),
    Field("jet", (N_JET, 3), "float32", "objects", "jets (pt, eta, phi), pt-ordered"),
    Field(
        "jet_constituents",
        (N_JET, N_CONSTITUENTS, 4),
        "float32",
        "constituents",
        "per jet up to 16 constituents (pt, eta_rel, phi_rel, pid), pt-ordered",
        compress=True,
    ),
    Field("jet_multiplicity", (N_JET,), "int16", "constituents", "particles with pt > 1 GeV in each jet", True),
    Field("jet_features", (16,), "float32", "constituents", "the 16 hls4ml jet features of the leading jet"),
    Field(
        "calo_regions",
        CALO_SHAPE,
        "float32",
        "images",
        "calorimeter region ET, phi x eta (CICADA): 18 x 20 deg from phi = 0, 14 RCT regions in |eta| < 3",
        compress=True,
    ),
    Field(
        "jet_image",
        (JET_IMAGE_SIZE, JET_IMAGE_SIZE),
        "float32",
        "images",
        "pT image of the leading jet: centred, rotated, flipped",
        compress=True,
    ),
)
FIELD = {f.name: f for f in FIELDS}

JET_FEATURES = (
    "zlogz",
    "c1_b0_mmdt",
    "c1_b1_mmdt",
    "c1_b2_mmdt",
    "c2_b1_mmdt",
    "c2_b2_mmdt",
    "d2_b1_mmdt",
    "d2_b2_mmdt",
    "d2_a1_b1_mmdt",
    "d2_a1_b2_mmdt",
    "m2_b1_mmdt",
    "m2_b2_mmdt",
    "n2_b1_mmdt",
    "n2_b2_mmdt",
    "mass_mmdt",
    "multiplicity",
)


def fields_for(with_constituents, with_images):
    """The fields a stream generated with these options holds, in record order."""
    groups = {"objects"} | ({"constituents"} if with_constituents else set()) | ({"images"} if with_images else set())
    return [f for f in FIELDS if f.group in groups]


def _linear(q):
    return (q.lsb, q.rounding == "floor", q.code_min, q.code_max)


def digitize(x, q):
    """Integer hardware codes (int32) of physical values ``x``: floor(x / lsb + 1e-9) (energies, the hardware
    truncates) or round half to even (angles), saturated to the unit's code range. NaN has no code."""
    try:
        return _core.digitize(x, *_linear(q))
    except ValueError as err:
        raise EventFileError(f"event values: {err}") from None


def _period(q):
    return q.period or round(2 * math.pi / q.lsb)


def digitize_phi(phi, q):
    """Unsigned uGT phi codes: round(phi / lsb) mod N, in [0, N) (N = 144 calo, 576 muon).

    Any angle works (phi in [-pi, pi) or [0, 2pi)): code c stands for phi = c x lsb modulo 2pi."""
    try:
        return _core.digitize_phi(phi, q.lsb, _period(q))
    except ValueError as err:
        raise EventFileError(f"event phi values: {err}") from None


def phi_from_codes(codes, q):
    """Physical phi in [-pi, pi) (float32) of phi codes: the signed representative c - N if c >= N/2."""
    n = _period(q)
    signed = ((np.asarray(codes, np.int64) + n // 2) % n) - n // 2
    return (signed * q.lsb).astype(np.float32)


def to_hardware_grid(x, q, phi=False):
    """Physical values snapped onto the hardware grid (float32, exactly code x LSB; phi in [-pi, pi))."""
    if phi:
        return phi_from_codes(digitize_phi(x, q), q)
    return (digitize(x, q) * q.lsb).astype(np.float32)


def to_hardware(chunk, name):
    """Integer hardware codes (int32) of a field, as the uGT sees them.

    'met' -> (n, 2) (pt, phi); 'egamma'/'muon'/'jet' -> (n, k, 3) (pt, eta, phi); 'calo_regions' ->
    (n, 18, 14) region ET codes. pt codes floor(pt / 0.5 GeV); eta codes signed; phi codes unsigned
    (0..143 calo, 0..575 muon). A slot whose pt code is 0 (empty) has all codes 0."""
    return _object_codes(chunk, name, _core.object_codes)


def _object_codes(chunk, name, kernel, *args):
    """kernel(values, pt unit, eta unit or None (MET), phi lsb, phi period, *args) with the field's units
    (calo regions: their ET codes)."""
    values, q = np.asarray(chunk[name]), HARDWARE_UNITS[name]
    try:
        if name == "calo_regions":
            return _core.digitize(values, *_linear(q["et"]))
        eta = None if name == "met" else _linear(q["eta"])
        return kernel(values, _linear(q["pt"]), eta, q["phi"].lsb, _period(q["phi"]), *args)
    except ValueError as err:
        raise EventFileError(f"field {name!r}: {err}") from None


L1_OBJECTS_57 = (("met", 0), ("egamma", 3), ("muon", 15), ("jet", 27))  # field, first column


def l1_objects_57(chunk, dtype=np.float32):
    """(n, 57) in hardware units (float32 by default, or e.g. np.int32): MET, 4 e/gamma, 4 muons, 10 jets,
    each (pt, eta, phi).

    The codes of ``to_hardware`` (uGT conventions: phi unsigned, 0..143 calo, 0..575 muon); MET's eta
    is 0. This is the input layout of the CMS / ADC2021 anomaly-detection models."""
    rows = np.empty((len(chunk["met"]), 57), np.int32)
    for name, column in L1_OBJECTS_57:  # each field's codes written straight into its columns (all 57)
        _object_codes(chunk, name, _core.object_rows, rows, column)
    return rows if np.dtype(dtype) == np.int32 else rows.astype(dtype)


def leading_jet_constituents(chunk):
    """(n, 16, 4) constituents of the leading jet: pt, eta_rel, phi_rel, pid."""
    if "jet_constituents" not in chunk:
        raise KeyError("this stream has no constituents: generate it with constituents enabled")
    return np.asarray(chunk["jet_constituents"][:, 0])


def jet_features(chunk):
    """(n, 16) hls4ml jet features of the leading jet, in the order of ``JET_FEATURES``."""
    if "jet_features" not in chunk:
        raise KeyError("this stream has no jet features: generate it with constituents enabled")
    return np.asarray(chunk["jet_features"])
