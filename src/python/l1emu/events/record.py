"""The event record: field names, per-event shapes, dtypes and the L1 hardware LSBs.

One bunch crossing = one row. L1 objects are stored as physical floats (GeV, rad) that lie exactly on
the hardware grid (value = code x LSB), so ``to_hardware`` recovers the integer codes the Global
Trigger sees. Zero padding: an empty slot has pt = eta = phi = 0.
"""

from dataclasses import dataclass
import math

import numpy as np

FORMAT = "l1emu-events"
FORMAT_VERSION = 1

N_EGAMMA, N_MUON, N_JET = 4, 4, 10
N_CONSTITUENTS = 16
CALO_SHAPE = (18, 14)  # (eta, phi) regions, as in DESIGN.md
CALO_ETA_MAX = 3.0
JET_IMAGE_SIZE = 40
JET_IMAGE_HALF_WIDTH = 0.8  # image spans [-R, R] in both directions, R = 0.8 (AK8-like)
JET_R = 0.8  # constituents are collected within this distance of the jet axis

# Particle-id codes of constituents (PDG-like, sign = charge where it exists).
PID_CHARGED_HADRON, PID_NEUTRAL_HADRON, PID_PHOTON, PID_ELECTRON, PID_MUON = 211, 130, 22, 11, 13

CALO_PHI_LSB = 2 * math.pi / 144  # one calorimeter trigger tower in phi (2.5 degrees)
CALO_ETA_LSB = 0.0435  # half a barrel trigger tower (0.087 / 2), the uGT calo eta step
MUON_PHI_LSB = 2 * math.pi / 576  # uGMT phi step
MUON_ETA_LSB = 0.010875  # uGMT eta step


@dataclass(frozen=True)
class Quant:
    """Hardware quantization of one quantity: code = floor or round(x / lsb), saturated to ``bits``."""

    lsb: float
    bits: int
    signed: bool
    rounding: str  # "floor" (energies: hardware truncates) or "round" (angles: nearest bin)

    @property
    def code_min(self):
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def code_max(self):
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1


QUANT = {
    "met": {"pt": Quant(0.5, 12, False, "floor"), "phi": Quant(CALO_PHI_LSB, 8, True, "round")},
    "egamma": {
        "pt": Quant(0.5, 9, False, "floor"),
        "eta": Quant(CALO_ETA_LSB, 8, True, "round"),
        "phi": Quant(CALO_PHI_LSB, 8, True, "round"),
    },
    "muon": {
        "pt": Quant(0.5, 9, False, "floor"),
        "eta": Quant(MUON_ETA_LSB, 9, True, "round"),
        "phi": Quant(MUON_PHI_LSB, 10, True, "round"),
    },
    "jet": {
        "pt": Quant(0.5, 11, False, "floor"),  # up to 1023.5 GeV
        "eta": Quant(CALO_ETA_LSB, 8, True, "round"),
        "phi": Quant(CALO_PHI_LSB, 8, True, "round"),
    },
    "calo_regions": {"et": Quant(0.5, 10, False, "floor")},
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
    ),
    Field("jet_multiplicity", (N_JET,), "int16", "constituents", "particles with pt > 1 GeV in each jet"),
    Field("jet_features", (16,), "float32", "constituents", "the 16 hls4ml jet features of the leading jet"),
    Field("calo_regions", CALO_SHAPE, "float32", "images", "calorimeter region ET (eta x phi), |eta| < 3"),
    Field(
        "jet_image",
        (JET_IMAGE_SIZE, JET_IMAGE_SIZE),
        "float32",
        "images",
        "pT image of the leading jet: centred, rotated, flipped",
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


def quantize_codes(x, q):
    """Integer hardware codes of physical values ``x`` (saturating)."""
    scaled = np.asarray(x, np.float64) / q.lsb
    codes = np.floor(scaled + 1e-9) if q.rounding == "floor" else np.rint(scaled)
    return np.clip(codes, q.code_min, q.code_max).astype(np.int32)


def quantize_phi_codes(phi, q):
    """Phi codes wrap around instead of saturating: code in [-N/2, N/2)."""
    n = round(2 * math.pi / q.lsb)
    codes = np.rint(np.asarray(phi, np.float64) / q.lsb).astype(np.int64)
    return (((codes + n // 2) % n) - n // 2).astype(np.int32)


def quantize(x, q, phi=False):
    """Physical values snapped onto the hardware grid (float32, exactly code x LSB)."""
    codes = quantize_phi_codes(x, q) if phi else quantize_codes(x, q)
    return (codes * q.lsb).astype(np.float32)


def to_hardware(chunk, name):
    """Integer hardware codes of an object field: 'met' -> (n, 2); 'egamma'/'muon'/'jet' -> (n, k, 3)."""
    values = np.asarray(chunk[name])
    q = QUANT[name]
    if name == "met":
        return np.stack([quantize_codes(values[:, 0], q["pt"]), quantize_phi_codes(values[:, 1], q["phi"])], -1)
    if name == "calo_regions":
        return quantize_codes(values, q["et"])
    return np.stack(
        [
            quantize_codes(values[..., 0], q["pt"]),
            quantize_codes(values[..., 1], q["eta"]),
            quantize_phi_codes(values[..., 2], q["phi"]),
        ],
        -1,
    )


def l1_objects_57(chunk):
    """(n, 57) float32 in hardware units: MET, 4 e/gamma, 4 muons, 10 jets, each (pt, eta, phi).

    MET's eta is 0. This is the input layout of the CMS / ADC2021 anomaly-detection models."""
    met = to_hardware(chunk, "met")
    n = met.shape[0]
    met3 = np.stack([met[:, 0], np.zeros(n, np.int32), met[:, 1]], -1)[:, None, :]
    parts = [met3, to_hardware(chunk, "egamma"), to_hardware(chunk, "muon"), to_hardware(chunk, "jet")]
    return np.concatenate(parts, axis=1).reshape(n, 57).astype(np.float32)


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
