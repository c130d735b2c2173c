"""CMS L1 ROOT files read into the event record: L1Ntuples and NanoAOD L1 branches (via uproot).

Two layouts are recognised, by their tree names:

- **L1Ntuple** (``L1Trigger/L1TNtuples``): TTree ``l1UpgradeEmuTree/L1UpgradeTree`` (emulated objects,
  preferred) or ``l1UpgradeTree/L1UpgradeTree`` (unpacked), branch ``L1Upgrade`` of class
  ``L1Analysis::L1AnalysisL1UpgradeDataFormat``. Its split members (``jetEt``, ``jetIEt``, ``jetBx``,
  ``sumType``, ...) may appear as ``L1Upgrade/jetEt`` or as top-level ``jetEt`` branches; they are
  matched by the last component of their name.
- **NanoAOD**: TTree ``Events`` with the ``L1Jet_*``, ``L1EG_*``, ``L1Mu_*`` and ``L1EtSum_*``
  branches of ``PhysicsTools/NanoAOD/python/l1trig_cff.py``.

Only objects of bunch crossing 0 are kept. Values are put on l1emu's hardware grid
(``record.HARDWARE_UNITS``): from the hardware integers when the file has them (``jetIEt``, ``L1Jet_hwPt``,
...), else by digitizing the float branches with ``record.digitize``. The record's acceptance
(``record.ACCEPT``) is applied, then each list is pt-ordered and cut to its record length. See
docs/events.md, section "CMS ROOT files (L1Ntuple, NanoAOD)".

uproot and awkward are imported only when a ROOT file is read (``pip install 'l1emu[root]'``).
"""

from dataclasses import dataclass
import os

import numpy as np

from ..errors import EventFileError
from . import record

ROOT_MAGIC = b"root"
L1NTUPLE_TREES = ("l1UpgradeEmuTree/L1UpgradeTree", "l1UpgradeTree/L1UpgradeTree")
L1NTUPLE_EVENT_TREE = "l1EventTree/L1EventTree"
NANOAOD_TREE = "Events"
NANOAOD_PREFIXES = ("L1Jet_", "L1EG_", "L1Mu_", "L1EtSum_")
FIELDS = ("event", "label", "n_pileup", "met", "egamma", "muon", "jet")
DEFAULT_READ_CHUNK = 65536

# l1t::EtSum::EtSumType (DataFormats/L1Trigger/interface/EtSum.h), copied as L1Analysis::EtSumType into
# L1AnalysisL1UpgradeDataFormat.h: kTotalEt, kTotalHt, kMissingEt, kMissingHt, ...
K_MISSING_ET = 2

# uGMT: pt = (hwPt - 1) x 0.5 GeV (MuonRawDigiTranslator), so l1emu's pt code = hwPt - 1.
MUON_HWPT_OFFSET = 1
# Hardware phi codes per turn (calo towers, uGMT steps): hwPhi is 0..N-1, l1emu wraps to [-N/2, N/2).
PHI_STEPS = {"calo": 144, "muon": 576}


@dataclass(frozen=True)
class _Objects:
    """Branch names of one object list (one entry per object, per event)."""

    pt: str
    eta: str
    phi: str
    bx: str
    hw_pt: str
    hw_eta: str
    hw_phi: str
    kind: str  # "calo" or "muon"


@dataclass(frozen=True)
class _Sums:
    pt: str
    phi: str
    bx: str
    hw_pt: str
    hw_phi: str
    type: str


BRANCHES = {
    "l1ntuple": {
        "egamma": _Objects("egEt", "egEta", "egPhi", "egBx", "egIEt", "egIEta", "egIPhi", "calo"),
        "muon": _Objects("muonEt", "muonEta", "muonPhi", "muonBx", "muonIEt", "muonIEta", "muonIPhi", "muon"),
        "jet": _Objects("jetEt", "jetEta", "jetPhi", "jetBx", "jetIEt", "jetIEta", "jetIPhi", "calo"),
        "met": _Sums("sumEt", "sumPhi", "sumBx", "sumIEt", "sumIPhi", "sumType"),
    },
    "nanoaod": {
        "egamma": _Objects("L1EG_pt", "L1EG_eta", "L1EG_phi", "L1EG_bx", "L1EG_hwPt", "L1EG_hwEta", "L1EG_hwPhi",
                           "calo"),
        "muon": _Objects("L1Mu_pt", "L1Mu_eta", "L1Mu_phi", "L1Mu_bx", "L1Mu_hwPt", "L1Mu_hwEta", "L1Mu_hwPhi",
                         "muon"),
        "jet": _Objects("L1Jet_pt", "L1Jet_eta", "L1Jet_phi", "L1Jet_bx", "L1Jet_hwPt", "L1Jet_hwEta",
                        "L1Jet_hwPhi", "calo"),
        "met": _Sums("L1EtSum_pt", "L1EtSum_phi", "L1EtSum_bx", "L1EtSum_hwPt", "L1EtSum_hwPhi",
                     "L1EtSum_etSumType"),
    },
}
# n_pileup, first branch found wins (true pileup before reconstructed vertices).
PILEUP_BRANCHES = {"l1ntuple": ("nPV_True", "nPV"), "nanoaod": ("Pileup_nPU", "PV_npvs")}
N_SLOTS = {"egamma": record.N_EGAMMA, "muon": record.N_MUON, "jet": record.N_JET}


def _imports():
    try:
        import awkward
        import uproot
    except ImportError as exc:
        raise EventFileError(
            f"reading CMS ROOT files needs uproot and awkward ({exc}): pip install 'l1emu[root]'"
        ) from None
    return uproot, awkward


def is_root(head):
    """True if the first bytes of a file are ROOT's magic."""
    return head[:4] == ROOT_MAGIC


# ---------------------------------------------------------------------------------------------------
# branch discovery and type checks


def _short_name(name):
    """Last component of a branch name: 'L1Upgrade/jetEt' or 'L1Upgrade.jetEt' -> 'jetEt'."""
    return name.replace(".", "/").rstrip("/").split("/")[-1]


def _branch_map(tree):
    out = {}
    for b in tree.itervalues(recursive=True):
        out.setdefault(_short_name(b.name), b)
    return out


def _numeric_kind(uproot, branch):
    """('jagged' | 'scalar' | None, numpy dtype kind) of a branch's interpretation."""
    interp = branch.interpretation
    if isinstance(interp, uproot.interpretation.jagged.AsJagged):
        content = interp.content
        if isinstance(content, uproot.interpretation.numerical.AsDtype):
            return "jagged", np.dtype(content.to_dtype).kind
        return None, None
    if isinstance(interp, uproot.interpretation.objects.AsObjects):
        model = getattr(interp, "model", None)
        if isinstance(model, uproot.containers.AsVector) and isinstance(model.values, np.dtype):
            return "jagged", model.values.kind
        return None, None
    if isinstance(interp, uproot.interpretation.numerical.AsDtype) and not interp.inner_shape:
        return "scalar", np.dtype(interp.to_dtype).kind
    return None, None


def _need(path, tree_name, branches, uproot, name, shape, kinds, what):
    b = branches.get(name)
    if b is None:
        raise EventFileError(f"{path!r}: tree {tree_name!r} has no branch {name!r} ({what})")
    got_shape, got_kind = _numeric_kind(uproot, b)
    if got_shape != shape or got_kind not in kinds:
        expected = f"{'a per-object vector' if shape == 'jagged' else 'a per-event number'} of " + (
            "integers" if kinds == "iu" else "numbers")
        raise EventFileError(
            f"{path!r}: branch {name!r} ({what}) has type {b.typename!r}; expected {expected}"
        )
    return b


class _Plan:
    """What to read from an opened file: flavour, tree and the branch objects of every field."""

    def __init__(self, path, f, uproot, acceptance=True):
        self.path, self.acceptance = path, acceptance
        self.flavour, self.tree_name, self.tree = self._find_tree(path, f, uproot)
        self.n_events = int(self.tree.num_entries)
        branches = _branch_map(self.tree)
        self.objects, self.hardware = {}, {}
        for name, spec in BRANCHES[self.flavour].items():
            hw_names = (spec.hw_pt, spec.hw_phi) if name == "met" else (spec.hw_pt, spec.hw_eta, spec.hw_phi)
            self.hardware[name] = all(n in branches for n in hw_names)
            def need(branch_name, kinds, field=name):
                return _need(path, self.tree_name, branches, uproot, branch_name, "jagged", kinds, field)

            if name == "met":
                cols = {"type": need(spec.type, "iu"), "bx": need(spec.bx, "iuf")}
                if self.hardware[name]:
                    cols.update(pt=need(spec.hw_pt, "iu"), phi=need(spec.hw_phi, "iu"))
                else:
                    cols.update(pt=need(spec.pt, "iuf"), phi=need(spec.phi, "iuf"))
            else:
                cols = {"bx": need(spec.bx, "iuf")}
                if self.hardware[name]:
                    cols.update(pt=need(spec.hw_pt, "iu"), eta=need(spec.hw_eta, "iu"), phi=need(spec.hw_phi, "iu"))
                else:
                    cols.update(pt=need(spec.pt, "iuf"), eta=need(spec.eta, "iuf"), phi=need(spec.phi, "iuf"))
            self.objects[name] = cols
        self.pileup, self.pileup_tree = self._find_pileup(path, f, uproot, branches)

    @staticmethod
    def _find_tree(path, f, uproot):
        for flavour, names in (("l1ntuple", L1NTUPLE_TREES), ("nanoaod", (NANOAOD_TREE,))):
            for name in names:
                obj = f.get(name) if name in f else None
                if obj is None:
                    continue
                if not isinstance(obj, uproot.TTree):
                    raise EventFileError(f"{path!r}: {name!r} is a {type(obj).__name__}, expected a TTree")
                if flavour == "nanoaod" and not any(_short_name(k).startswith(NANOAOD_PREFIXES) for k in obj.keys()):
                    break
                return flavour, name, obj
        raise EventFileError(
            f"{path!r} is a ROOT file but neither a CMS L1Ntuple (no TTree "
            f"{' or '.join(repr(t) for t in L1NTUPLE_TREES)}) nor a NanoAOD file with L1 branches (no TTree "
            f"{NANOAOD_TREE!r} with L1Jet_*/L1EG_*/L1Mu_*/L1EtSum_* branches)"
        )

    def _find_pileup(self, path, f, uproot, branches):
        trees = [(self.tree_name, branches)]
        if self.flavour == "l1ntuple" and L1NTUPLE_EVENT_TREE in f:
            ev_tree = f[L1NTUPLE_EVENT_TREE]
            if isinstance(ev_tree, uproot.TTree) and int(ev_tree.num_entries) == self.n_events:
                trees.append((L1NTUPLE_EVENT_TREE, _branch_map(ev_tree)))
        for tree_name, bmap in trees:
            for name in PILEUP_BRANCHES[self.flavour]:
                if name in bmap:
                    return _need(path, tree_name, bmap, uproot, name, "scalar", "iuf", "n_pileup"), tree_name
        return None, None

    def info(self):
        n = self.n_events
        return {
            "format": "root",
            "file_format": "root",
            "root_flavour": self.flavour,
            "tree": self.tree_name,
            "fields": list(FIELDS),
            "n_events": n,
            "sources": [{"process": "data", "n_events": n, "file": self.path}],
            "counts": {"data": n},
            "hardware_integers": dict(self.hardware),
            "n_pileup_branch": None if self.pileup is None else f"{self.pileup_tree}:{self.pileup.name}",
            "acceptance": self.acceptance,
        }


def _open(path, uproot):
    try:
        return uproot.open(path)
    except EventFileError:
        raise
    except Exception as exc:  # uproot raises many kinds on corrupt input
        raise EventFileError(f"{path!r} is truncated or corrupt and cannot be read as ROOT ({exc})") from None


def _check_root_path(path):
    path = os.fspath(path)
    if not os.path.exists(path):
        raise EventFileError(f"no such event file: {path!r}")
    with open(path, "rb") as fh:
        if not is_root(fh.read(4)):
            raise EventFileError(f"{path!r} is not a ROOT file")
    return path


def info(path, *, acceptance=True):
    """Metadata of a CMS L1 ROOT file (format 'root', root_flavour, fields, n_events, sources);
    checks the tree and every branch the record needs."""
    path = _check_root_path(path)
    uproot, _ = _imports()
    with _open(path, uproot) as f:
        try:
            return _Plan(path, f, uproot, acceptance).info()
        except EventFileError:
            raise
        except Exception as exc:
            raise EventFileError(f"{path!r} cannot be read as ROOT ({type(exc).__name__}: {exc})") from None


# ---------------------------------------------------------------------------------------------------
# reading


def _read(path, branch, start, stop, ak):
    try:
        return branch.array(entry_start=start, entry_stop=stop, library="ak")
    except Exception as exc:
        raise EventFileError(
            f"{path!r}: branch {branch.name!r} cannot be read at entries {start}..{stop} "
            f"({type(exc).__name__}: {exc})"
        ) from None


def _jagged(path, cols, start, stop, ak):
    """Flat numpy arrays of each column and the per-event counts (identical for all columns)."""
    counts, flat = None, {}
    for key, branch in cols.items():
        arr = _read(path, branch, start, stop, ak)
        c = np.asarray(ak.to_numpy(ak.num(arr, axis=1)), np.int64)
        if counts is None:
            counts, first = c, branch.name
        elif not np.array_equal(c, counts):
            bad = int(np.flatnonzero(c != counts)[0]) + start
            raise EventFileError(
                f"{path!r}: branch {branch.name!r} has a different number of objects than {first!r} "
                f"in entry {bad}"
            )
        flat[key] = np.asarray(ak.to_numpy(ak.flatten(arr, axis=1)))
    return counts, flat


def _wrap_phi(codes, steps):
    codes = np.asarray(codes, np.int64)
    return (((codes + steps // 2) % steps) - steps // 2).astype(np.int32)


def _object_codes(name, kind, hardware, flat):
    q = record.HARDWARE_UNITS[name]
    if hardware:
        pt = np.asarray(flat["pt"], np.int64) - (MUON_HWPT_OFFSET if kind == "muon" else 0)
        pt = np.clip(pt, q["pt"].code_min, q["pt"].code_max).astype(np.int32)
        eta = np.clip(np.asarray(flat["eta"], np.int64), q["eta"].code_min, q["eta"].code_max).astype(np.int32)
        phi = _wrap_phi(flat["phi"], PHI_STEPS[kind])
    else:
        pt = record.digitize(flat["pt"], q["pt"])
        eta = record.digitize(flat["eta"], q["eta"])
        phi = record.digitize_phi(flat["phi"], q["phi"])
    return pt, eta, phi


def _pack_objects(name, plan, start, stop, ak):
    n = stop - start
    cols = plan.objects[name]
    spec = BRANCHES[plan.flavour][name]
    counts, flat = _jagged(plan.path, cols, start, stop, ak)
    q = record.HARDWARE_UNITS[name]
    ptc, etac, phic = _object_codes(name, spec.kind, plan.hardware[name], flat)
    pt = (ptc * q["pt"].lsb).astype(np.float32)
    eta = (etac * q["eta"].lsb).astype(np.float32)
    phi = record.phi_from_codes(phic, q["phi"])
    keep = (np.asarray(flat["bx"]) == 0) & (ptc > 0)
    if plan.acceptance:
        acc = record.ACCEPT[name]
        keep &= (pt >= acc["pt_min"]) & (np.abs(eta) < acc["eta_max"])
    ev = np.repeat(np.arange(n, dtype=np.int64), counts)[keep]
    pt, eta, phi = pt[keep], eta[keep], phi[keep]
    order = np.lexsort((-pt, ev))  # by event, then pt descending; stable: ties keep file order
    ev, pt, eta, phi = ev[order], pt[order], eta[order], phi[order]
    first = np.searchsorted(ev, np.arange(n, dtype=np.int64))
    rank = np.arange(ev.size, dtype=np.int64) - first[ev]
    sel = rank < N_SLOTS[name]
    out = np.zeros((n, N_SLOTS[name], 3), np.float32)
    out[ev[sel], rank[sel]] = np.stack([pt[sel], eta[sel], phi[sel]], -1)
    return out


def _pack_met(plan, start, stop, ak):
    n = stop - start
    cols = plan.objects["met"]
    counts, flat = _jagged(plan.path, cols, start, stop, ak)
    q = record.HARDWARE_UNITS["met"]
    if plan.hardware["met"]:
        ptc = np.clip(np.asarray(flat["pt"], np.int64), q["pt"].code_min, q["pt"].code_max).astype(np.int32)
        phic = _wrap_phi(flat["phi"], PHI_STEPS["calo"])
    else:
        ptc = record.digitize(flat["pt"], q["pt"])
        phic = record.digitize_phi(flat["phi"], q["phi"])
    ev = np.repeat(np.arange(n, dtype=np.int64), counts)
    keep = (np.asarray(flat["type"]) == K_MISSING_ET) & (np.asarray(flat["bx"]) == 0)
    idx = np.flatnonzero(keep)
    events, first = np.unique(ev[idx], return_index=True)  # the first MET sum of each event
    idx = idx[first]
    out = np.zeros((n, 2), np.float32)
    out[events, 0] = (ptc[idx] * q["pt"].lsb).astype(np.float32)
    out[events, 1] = record.phi_from_codes(phic[idx], q["phi"])
    return out


def _pack_pileup(plan, start, stop):
    n = stop - start
    if plan.pileup is None:
        return np.full(n, -1, np.int16)
    try:
        values = np.asarray(plan.pileup.array(entry_start=start, entry_stop=stop, library="np"))
    except Exception as exc:
        raise EventFileError(
            f"{plan.path!r}: branch {plan.pileup.name!r} cannot be read at entries {start}..{stop} ({exc})"
        ) from None
    return np.clip(np.rint(values.astype(np.float64)), -1, np.iinfo(np.int16).max).astype(np.int16)


def _chunk(plan, names, start, stop, ak):
    n = stop - start
    out = {}
    for name in names:
        if name == "event":
            out[name] = np.arange(start, stop, dtype=np.int64)
        elif name == "label":
            out[name] = np.full(n, -1, np.int16)
        elif name == "n_pileup":
            out[name] = _pack_pileup(plan, start, stop)
        elif name == "met":
            out[name] = _pack_met(plan, start, stop, ak)
        else:
            out[name] = _pack_objects(name, plan, start, stop, ak)
    return out


def _names(path, fields):
    if fields is None:
        return list(FIELDS)
    fields = [fields] if isinstance(fields, str) else list(fields)
    missing = [f for f in fields if f not in FIELDS]
    if missing:
        raise EventFileError(f"{path!r} has no field(s) {missing}; it has {list(FIELDS)}")
    return fields


def iter_chunks(path, chunk_size=DEFAULT_READ_CHUNK, fields=None, *, acceptance=True):
    """Yield record dicts of up to ``chunk_size`` events of a CMS L1 ROOT file, in order.

    Reads only the branches of the requested fields, ``chunk_size`` entries at a time (constant
    memory). ``acceptance=False`` keeps objects outside ``record.ACCEPT`` (the raw bx-0 GT inputs)."""
    path = _check_root_path(path)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size <= 0:
        raise EventFileError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    names = _names(path, fields)
    uproot, ak = _imports()
    with _open(path, uproot) as f:
        try:
            plan = _Plan(path, f, uproot, acceptance)
        except EventFileError:
            raise
        except Exception as exc:
            raise EventFileError(f"{path!r} cannot be read as ROOT ({type(exc).__name__}: {exc})") from None
        for start in range(0, plan.n_events, int(chunk_size)):
            yield _chunk(plan, names, start, min(start + int(chunk_size), plan.n_events), ak)


def read(path, fields=None, *, acceptance=True):
    """A whole CMS L1 ROOT file as one record dict (small files only)."""
    chunks = list(iter_chunks(path, DEFAULT_READ_CHUNK, fields, acceptance=acceptance))
    names = _names(os.fspath(path), fields)
    if not chunks:
        return {name: np.zeros((0, *record.FIELD[name].shape), record.FIELD[name].dtype) for name in names}
    return {k: np.concatenate([c[k] for c in chunks]) for k in chunks[0]}
