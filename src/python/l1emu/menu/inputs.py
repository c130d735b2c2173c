"""Input builders: the arrays the Global Trigger feeds its ML models, built from event-record chunks.

Every builder returns values (n_events, *shape) that the model's own input cast then quantizes, exactly
as the firmware's input type would: float64, or int32 for hardware integer codes (uGT units, see
events.record.to_hardware), which the uGT scaling takes exactly; ``build`` returns float64. An optional scale table reproduces the uGT's AXOL1TL input interface in its
ap_fixed types: ``unscaled_t tmp = x - offset; input_t y = tmp >> shift`` with unscaled_t = ap_fixed<18,13>.
"""

from dataclasses import dataclass
import os

import numpy as np

from ..errors import L1emuError
from ..events import record
from .. import _core
from ..fixed import parse_precision


class InputError(L1emuError):
    """A scale table or an input builder request that is wrong."""


@dataclass(frozen=True)
class Builder:
    name: str
    fields: tuple  # event-record fields it reads
    shape: tuple  # per event
    build: object  # chunk -> float64 (n, *shape)
    doc: str


def _l1_objects_57(chunk):
    return record.l1_objects_57(chunk, np.int32)


def _field(name, shape, hardware=False):
    def build(chunk):
        if name not in chunk:
            raise InputError(f"the event stream has no field {name!r} (generate it with the option that stores it)")
        if hardware:
            return record.to_hardware(chunk, name)
        return np.asarray(chunk[name], np.float64).reshape(-1, *shape)
    return build


def _leading_jet_constituents(chunk):
    if "jet_constituents" not in chunk:
        raise InputError("the event stream has no field 'jet_constituents' (generate it with --constituents)")
    return np.asarray(chunk["jet_constituents"][:, 0], np.float64)


BUILDERS = {b.name: b for b in (
    Builder("l1_objects_57", ("met", "egamma", "muon", "jet"), (57,), _l1_objects_57,
            "MET, 4 e/gamma, 4 muons, 10 jets x (pt, eta, phi) hardware codes (the AXOL1TL input)"),
    Builder("leading_jet_features", ("jet_features",), (16,), _field("jet_features", (16,)),
            "the 16 hls4ml jet-substructure features of the leading jet"),
    Builder("leading_jet_constituents", ("jet_constituents",), (record.N_CONSTITUENTS, 4), _leading_jet_constituents,
            "16 leading-jet constituents x (pt, eta_rel, phi_rel, pid)"),
    Builder("calo_regions", ("calo_regions",), record.CALO_SHAPE, _field("calo_regions", record.CALO_SHAPE, True),
            "18 x 14 calorimeter region ET codes (0.5 GeV LSB), the CICADA input"),
    Builder("jet_image", ("jet_image",), (record.JET_IMAGE_SIZE, record.JET_IMAGE_SIZE),
            _field("jet_image", (record.JET_IMAGE_SIZE, record.JET_IMAGE_SIZE)), "40 x 40 pT image of the leading jet"),
)}


def builder(name, where="inputs"):
    try:
        return BUILDERS[name]
    except KeyError:
        raise InputError(f"{where}: unknown input builder {name!r}; known: {', '.join(BUILDERS)}") from None


# -- scale tables ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class UgtShiftScaling:
    """The uGT AXOL1TL interface: y = unscaled_t(unscaled_t(x) - offset) >> shift, in ap_fixed arithmetic.

    ap_fixed's ``>>`` keeps the type (bits below its LSB are dropped: floor); a negative shift shifts left and
    wraps. The model's input cast (input_t, usually RND_CONV/SAT) then applies to the exact value."""

    unscaled: str
    offsets: np.ndarray  # int64, ap_fixed<10,10> values
    shifts: np.ndarray  # int64, ap_fixed<5,5> values

    def apply(self, x):
        """x: float64 values or int32 hardware codes."""
        x = np.asarray(x)
        x = (x if x.dtype == np.int32 else x.astype(np.float64, copy=False)).reshape(len(x), -1)
        try:
            return _core.ugt_shift(x, self.offsets, self.shifts, self.unscaled)
        except ValueError as err:
            raise InputError(f"uGT input scaling: {err}") from None

    def to_dict(self):
        return {"kind": "ugt_shift", "unscaled": self.unscaled, "offsets": self.offsets.tolist(),
                "shifts": self.shifts.tolist()}


@dataclass(frozen=True)
class AffineScaling:
    """y = (x - offset) * scale in float64 (software preprocessing before the firmware's input cast)."""

    offsets: np.ndarray
    scales: np.ndarray

    def apply(self, x):
        x = np.asarray(x, np.float64).reshape(len(x), -1)
        return (x - self.offsets) * self.scales

    def to_dict(self):
        return {"kind": "affine", "offsets": self.offsets.tolist(), "scales": self.scales.tolist()}


def _int_list(doc, key, n, lo, hi, where):
    values = doc.get(key)
    if not isinstance(values, list) or len(values) != n:
        raise InputError(f"{where}: '{key}' must be a list of {n} integers")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise InputError(f"{where}: {key}[{i}] = {v!r}, expected an integer in [{lo}, {hi}]")
    return np.asarray(values, np.int64)


def _float_list(doc, key, n, where):
    values = doc.get(key)
    if not isinstance(values, list) or len(values) != n:
        raise InputError(f"{where}: '{key}' must be a list of {n} numbers")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
            raise InputError(f"{where}: {key}[{i}] = {v!r}, expected a finite number")
    return np.asarray(values, np.float64)


def scaling_from_dict(doc, n_inputs, where):
    """A scale table (as read from YAML) checked against its schema; ``n_inputs`` = inputs per event."""
    if not isinstance(doc, dict):
        raise InputError(f"{where}: a scale table must be a mapping with 'kind'")
    kind = doc.get("kind")
    allowed = {"ugt_shift": {"kind", "unscaled", "offsets", "shifts", "description"},
               "affine": {"kind", "offsets", "scales", "description"}}
    if kind not in allowed:
        raise InputError(f"{where}: kind = {kind!r}, expected 'ugt_shift' or 'affine'")
    unknown = sorted(set(doc) - allowed[kind])
    if unknown:
        raise InputError(f"{where}: unknown key(s) {unknown} for kind {kind!r}; allowed: {sorted(allowed[kind])}")
    if kind == "affine":
        return AffineScaling(_float_list(doc, "offsets", n_inputs, where), _float_list(doc, "scales", n_inputs, where))
    unscaled = doc.get("unscaled", "fixed<18,13>")
    try:
        spec = parse_precision(unscaled)
    except L1emuError as err:
        raise InputError(f"{where}: unscaled: {err}") from None
    if not spec.is_signed or spec.width > 32:
        raise InputError(f"{where}: unscaled = {unscaled!r}, expected a signed fixed type of at most 32 bits")
    # ad_offset_t = ap_fixed<10,10>, ad_shift_t = ap_fixed<5,5> in the uGT firmware
    return UgtShiftScaling(str(spec), _int_list(doc, "offsets", n_inputs, -512, 511, where),
                           _int_list(doc, "shifts", n_inputs, -16, 15, where))


def load_scaling(path, n_inputs):
    import yaml

    from . import yamlfile

    try:
        with open(path) as f:
            doc = yamlfile.load(f)
    except OSError as err:
        raise InputError(f"cannot read scale table {os.fspath(path)!r}: {err.strerror}") from None
    except yaml.YAMLError as err:
        raise InputError(f"{os.fspath(path)}: not valid YAML ({str(err).splitlines()[0]})") from None
    return scaling_from_dict(doc, n_inputs, os.fspath(path))


def build(name, chunk, scaling=None):
    """float64 (n, *shape) model inputs of builder ``name`` from a chunk, scaled if a scale table is given."""
    b = builder(name)
    x = b.build(chunk)
    if scaling is None:
        return np.asarray(x, np.float64)
    return scaling.apply(x).reshape(x.shape)
