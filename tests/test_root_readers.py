"""CMS L1 ROOT files (L1Ntuple, NanoAOD) read into the event record: l1emu.events.root.

The files are written with uproot's TTree writer: an L1Ntuple-shaped tree at the L1Ntuple path with
the split members of L1AnalysisL1UpgradeDataFormat as flat branches (uproot cannot write the class),
and a NanoAOD-shaped ``Events`` tree. The expected records are computed here, object by object, with
plain Python from the hardware codes the test chose."""

import math
import sys

import numpy as np
import pytest

import awkward as ak  # noqa: E402
import uproot  # noqa: E402

from l1emu import events as ev  # noqa: E402
from l1emu.errors import EventFileError  # noqa: E402
from l1emu.events import record, root  # noqa: E402

CALO_PHI = 2 * math.pi / 144
MUON_PHI_CMS = 0.010908  # what CMSSW's uGMT translator multiplies hwPhi by
ACC = {"egamma": (3.0, 3.0), "muon": (3.0, 2.1), "jet": (15.0, 4.0)}
LSB_ETA = {"egamma": 0.0435, "jet": 0.0435, "muon": 0.010875}
LSB_PHI = {"egamma": CALO_PHI, "jet": CALO_PHI, "muon": 2 * math.pi / 576}
STEPS = {"egamma": 144, "jet": 144, "muon": 576}
SLOTS = {"egamma": 4, "muon": 4, "jet": 10}


def restrict(phi):
    """phi in (-pi, pi], as ROOT's PtEtaPhiM vectors store it."""
    while phi > math.pi:
        phi -= 2 * math.pi
    while phi <= -math.pi:
        phi += 2 * math.pi
    return phi


# ---------------------------------------------------------------------------------------------------
# events: per event, per object type, a list of (hwPt, hwEta, hwPhi, bx); sums (type, hwPt, hwPhi, bx)


def random_events(n, seed):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        e = {"pileup": int(rng.integers(0, 80))}
        empty = i % 7 == 3
        for name, nmax, ptmax, etamax in (("jet", 16, 400, 115), ("egamma", 7, 120, 68), ("muon", 6, 80, 220)):
            k = 0 if empty else int(rng.integers(0, nmax))
            objs = []
            for _ in range(k):
                objs.append((int(rng.integers(0, ptmax)), int(rng.integers(-etamax, etamax + 1)),
                             int(rng.integers(0, STEPS[name])), int(rng.choice([0, 0, 0, 0, -1, 1, 2]))))
            e[name] = objs
        sums = []
        if not empty:
            types = list(rng.permutation([0, 1, 2, 3, 8]))
            for t in types:
                sums.append((int(t), int(rng.integers(0, 1500)), int(rng.integers(0, 144)), 0))
            if i % 5 == 1:  # MET only out of time: record MET = 0
                sums = [(t, p, ph, 1 if t == 2 else b) for t, p, ph, b in sums]
            sums.append((2, int(rng.integers(0, 500)), int(rng.integers(0, 144)), -1))
        e["sums"] = sums
        out.append(e)
    # hand-made corner cases
    out[0]["jet"] = [(40, 10, 5, 0), (300, -20, 100, 0), (60, 0, 72, 0), (80, 95, 3, 0), (500, 3, 140, 1),
                     (29, 1, 1, 0), (30, 1, 2, 0), (41, 2, 143, 0), (100, 40, 0, 0), (100, 41, 1, 0),
                     (200, -91, 50, 0), (250, 5, 70, 0), (90, 6, 71, 0), (70, 7, 73, 0)]
    out[0]["muon"] = [(0, 0, 0, 0), (1, 10, 10, 0), (7, 5, 575, 0), (9, 193, 288, 0), (9, 192, 287, 0),
                      (50, -100, 300, 0), (60, 12, 13, 2)]
    out[0]["egamma"] = [(6, 1, 2, 0), (5, 2, 3, 0), (20, 68, 4, 0), (20, 69, 4, 0), (30, -3, 130, 0),
                        (10, 0, 0, 0), (11, 0, 0, 0)]
    out[0]["sums"] = [(0, 900, 0, 0), (8, 77, 5, 0), (2, 123, 100, -1), (3, 55, 6, 0), (2, 61, 100, 0),
                      (2, 999, 1, 0)]
    return out


def expected(events, acceptance=True):
    """The record, computed object by object from the hardware codes."""
    n = len(events)
    exp = {
        "event": np.arange(n, dtype=np.int64),
        "label": np.full(n, -1, np.int16),
        "n_pileup": np.array([e["pileup"] for e in events], np.int16),
        "met": np.zeros((n, 2), np.float32),
        "egamma": np.zeros((n, 4, 3), np.float32),
        "muon": np.zeros((n, 4, 3), np.float32),
        "jet": np.zeros((n, 10, 3), np.float32),
    }
    codes = {name: np.zeros((n, SLOTS[name], 3), np.int64) for name in SLOTS}
    for i, e in enumerate(events):
        for name in SLOTS:
            rows = []
            for hw_pt, hw_eta, hw_phi, bx in e[name]:
                if bx != 0:
                    continue
                pt_code = hw_pt - 1 if name == "muon" else hw_pt
                phi_code = hw_phi if hw_phi < STEPS[name] // 2 else hw_phi - STEPS[name]
                pt, eta = pt_code * 0.5, hw_eta * LSB_ETA[name]
                if pt_code <= 0:
                    continue
                if acceptance and not (pt >= ACC[name][0] and abs(eta) < ACC[name][1]):
                    continue
                rows.append((pt, (pt_code, hw_eta, phi_code)))
            rows = sorted(rows, key=lambda r: -r[0])[: SLOTS[name]]
            for k, (_, (pc, ec, fc)) in enumerate(rows):
                codes[name][i, k] = (pc, ec, fc % STEPS[name])  # uGT codes: unsigned phi
                exp[name][i, k] = (np.float32(pc * 0.5), np.float32(ec * LSB_ETA[name]),
                                   np.float32(fc * LSB_PHI[name]))
        for t, hw_pt, hw_phi, bx in e["sums"]:
            if t == 2 and bx == 0:
                phi_code = hw_phi if hw_phi < 72 else hw_phi - 144
                exp["met"][i] = (np.float32(hw_pt * 0.5), np.float32(phi_code * CALO_PHI))
                break
    return exp, codes


# ---------------------------------------------------------------------------------------------------
# writers


def _jag(lists, dtype):
    counts = np.array([len(x) for x in lists], np.int64)
    flat = np.array([v for x in lists for v in x], dtype=dtype)
    return ak.unflatten(flat, counts)


def _floats(name, hw_pt, hw_eta, hw_phi):
    """The float branches as CMSSW fills them from the hardware codes."""
    if name == "muon":
        return (hw_pt - 1) * 0.5, hw_eta * 0.010875, restrict(hw_phi * MUON_PHI_CMS)
    return hw_pt * 0.5 + 1e-6, hw_eta * 0.0435, restrict(hw_phi * CALO_PHI)


def _columns(events, name, garbage_floats=False):
    fl = [[_floats(name, *o[:3]) for o in e[name]] for e in events]
    cols = {
        "pt": _jag([[f[0] for f in x] for x in fl], np.float32),
        "eta": _jag([[f[1] for f in x] for x in fl], np.float32),
        "phi": _jag([[f[2] for f in x] for x in fl], np.float32),
        "hwPt": _jag([[o[0] for o in e[name]] for e in events], np.int16),
        "hwEta": _jag([[o[1] for o in e[name]] for e in events], np.int16),
        "hwPhi": _jag([[o[2] for o in e[name]] for e in events], np.int16),
        "bx": _jag([[o[3] for o in e[name]] for e in events], np.int16),
    }
    if garbage_floats:  # prove that the hardware integers are preferred
        for k in ("pt", "eta", "phi"):
            cols[k] = cols[k] * 0 + 7.77
    return cols


def _sum_columns(events, bx_dtype=np.int16):
    s = [e["sums"] for e in events]
    return {
        "type": _jag([[x[0] for x in e] for e in s], np.int32),
        "pt": _jag([[x[1] * 0.5 + 1e-6 for x in e] for e in s], np.float32),
        "phi": _jag([[restrict(x[2] * CALO_PHI) for x in e] for e in s], np.float32),
        "hwPt": _jag([[x[1] for x in e] for e in s], np.int32),
        "hwPhi": _jag([[x[2] for x in e] for e in s], np.int32),
        "bx": _jag([[x[3] for x in e] for e in s], bx_dtype),
    }


def _write_tree(f, path, groups, counters, field_name, scalars=None):
    data = {g: ak.zip(cols) for g, cols in groups.items()}
    data.update(scalars or {})
    types = {k: (v.type.content if isinstance(v, ak.Array) else v.dtype) for k, v in data.items()}
    tree = f.mktree(path, types, counter_name=lambda c: counters.get(c, "n" + c), field_name=field_name)
    tree.extend(data)


L1N_NAMES = {"pt": "Et", "eta": "Eta", "phi": "Phi", "hwPt": "IEt", "hwEta": "IEta", "hwPhi": "IPhi", "bx": "Bx",
             "type": "Type"}


def write_l1ntuple(path, events, *, tree="l1UpgradeEmuTree/L1UpgradeTree", drop=(), retype=None,
                   hardware=True, event_tree=True, garbage_floats=False):
    """An L1Ntuple-shaped file: branches jetEt, jetIEt, jetBx, ..., sumType, sumBx (float, as in CMSSW)."""
    groups = {}
    for name, prefix in (("egamma", "eg"), ("muon", "muon"), ("jet", "jet")):
        groups[prefix] = {L1N_NAMES[k]: v for k, v in _columns(events, name, garbage_floats).items()}
    groups["sum"] = {L1N_NAMES[k]: v for k, v in _sum_columns(events, np.float32).items()}
    groups["sum"]["Type"] = ak.values_astype(groups["sum"]["Type"], np.int16)
    for g, cols in groups.items():
        for k in list(cols):
            full = g + k
            if full in drop or (not hardware and k.startswith("I") and k != "Iso"):
                del cols[k]
            elif retype and full in retype:
                cols[k] = retype[full](cols[k])
    counters = {"eg": "nEGs", "muon": "nMuons", "jet": "nJets", "sum": "nSums"}
    with uproot.recreate(path) as f:
        _write_tree(f, tree, groups, counters, lambda outer, inner: outer + inner)
        if event_tree:
            t = f.mktree("l1EventTree/L1EventTree", {"event": np.int32, "nPV": np.int32})
            t.extend({"event": np.arange(len(events), dtype=np.int32) + 1000,
                      "nPV": np.array([e["pileup"] for e in events], np.int32)})


def write_nanoaod(path, events, *, hardware=True, drop=(), pileup="Pileup_nPU", extra=None):
    """A NanoAOD-shaped file: Events/nL1Jet, L1Jet_pt, ..., L1EtSum_etSumType, L1EtSum_bx."""
    groups = {}
    for name, table in (("egamma", "L1EG"), ("muon", "L1Mu"), ("jet", "L1Jet")):
        groups[table] = _columns(events, name)
    groups["L1EtSum"] = _sum_columns(events)
    groups["L1EtSum"]["etSumType"] = groups["L1EtSum"].pop("type")
    for g, cols in groups.items():
        for k in list(cols):
            if f"{g}_{k}" in drop or (not hardware and k.startswith("hw")):
                del cols[k]
    scalars = {"run": np.ones(len(events), np.uint32)}
    if pileup:
        scalars[pileup] = np.array([e["pileup"] for e in events], np.int32)
    scalars.update(extra or {})
    with uproot.recreate(path) as f:
        _write_tree(f, "Events", groups, {g: "n" + g for g in groups}, lambda outer, inner: f"{outer}_{inner}",
                    scalars)


def assert_record(got, exp, names=None):
    names = list(exp) if names is None else names
    assert list(got) == names
    for name in names:
        assert got[name].dtype == exp[name].dtype, name
        assert got[name].shape == exp[name].shape, name
        np.testing.assert_array_equal(got[name], exp[name], err_msg=name)


@pytest.fixture(scope="module")
def sample():
    return random_events(61, seed=7)


# ---------------------------------------------------------------------------------------------------
# content


def test_l1ntuple_every_field(tmp_path, sample):
    p = tmp_path / "l1.root"
    write_l1ntuple(p, sample)
    assert ev.detect_format(p) == "root"
    exp, codes = expected(sample)
    got = ev.read(p)
    assert_record(got, exp)
    for name in SLOTS:  # the values lie on the hardware grid: to_hardware gives the codes back
        np.testing.assert_array_equal(record.to_hardware(got, name), codes[name], err_msg=name)
    assert ev.l1_objects_57(got).shape == (61, 57)


def test_spelled_out_event(tmp_path, sample):
    """Event 0 by hand: bx != 0 dropped, sorted by pt, acceptance, 10 jets kept, MET among sums."""
    p = tmp_path / "l1.root"
    write_l1ntuple(p, sample)
    got = ev.read(p)
    c = {name: record.to_hardware(got, name)[0] for name in ("jet", "muon", "egamma", "met")}
    # jets: (500, bx 1) dropped; (80, eta 95 = 4.13) outside abs(eta) < 4; (29 = 14.5 GeV) below 15 GeV;
    # phi codes come back as the file's unsigned hwPhi; ties (100, 100) keep file order
    assert c["jet"].tolist() == [
        [300, -20, 100], [250, 5, 70], [200, -91, 50], [100, 40, 0], [100, 41, 1], [90, 6, 71],
        [70, 7, 73], [60, 0, 72], [41, 2, 143], [40, 10, 5],
    ]  # (30, 1, 2) is the 11th and is cut
    # muons: hwPt 0 and 1 mean pt <= 0 (dropped), 7 -> pt 3.0 kept, eta 193 (2.099) kept, 192... sorted
    assert c["muon"].tolist() == [[49, -100, 300], [8, 193, 288], [8, 192, 287], [6, 5, 575]]
    assert got["muon"][0, 0].tolist() == [np.float32(24.5), np.float32(-100 * 0.010875),
                                          np.float32(-276 * 2 * math.pi / 576)]
    # e/gamma: eta 69 (3.0015) outside abs(eta) < 3; 5 (2.5 GeV) below 3 GeV
    assert c["egamma"].tolist() == [[30, -3, 130], [20, 68, 4], [11, 0, 0], [10, 0, 0]]
    # MET: the first kMissingEt (type 2) sum at bx 0
    assert c["met"].tolist() == [61, 100]
    assert got["met"][0].tolist() == [30.5, np.float32(-44 * CALO_PHI)]
    assert got["n_pileup"][0] == sample[0]["pileup"] and got["label"][0] == -1 and got["event"][0] == 0


def test_nanoaod_every_field_hardware_and_floats(tmp_path, sample):
    exp, _ = expected(sample)
    hw, fl = tmp_path / "nano_hw.root", tmp_path / "nano_reduced.root"
    write_nanoaod(hw, sample)
    write_nanoaod(fl, sample, hardware=False)  # central NanoAOD: no hwPt/hwEta/hwPhi branches
    assert_record(ev.read(hw), exp)
    assert_record(ev.read(fl), exp)
    assert ev.info(hw)["hardware_integers"] == {"egamma": True, "muon": True, "jet": True, "met": True}
    assert ev.info(fl)["hardware_integers"] == {"egamma": False, "muon": False, "jet": False, "met": False}


def test_l1ntuple_float_members_only(tmp_path, sample):
    p = tmp_path / "l1_floats.root"
    write_l1ntuple(p, sample, hardware=False)
    assert_record(ev.read(p), expected(sample)[0])


def test_hardware_integers_are_preferred(tmp_path, sample):
    p = tmp_path / "l1_garbage.root"
    write_l1ntuple(p, sample, garbage_floats=True)
    assert_record(ev.read(p), expected(sample)[0])


def test_float_branches_are_quantized(tmp_path):
    """Off-grid floats: energies truncate, angles round to the nearest code, phi wraps."""
    p = tmp_path / "offgrid.root"
    jets = [[(27.3, 1.01, 3.1), (15.2, -0.5, -3.12), (14.99, 0.0, 0.0), (1200.0, 0.3, 1.0)], []]
    groups = {"L1Jet": {
        "pt": _jag([[j[0] for j in e] for e in jets], np.float32),
        "eta": _jag([[j[1] for j in e] for e in jets], np.float32),
        "phi": _jag([[j[2] for j in e] for e in jets], np.float32),
        "bx": _jag([[0] * len(e) for e in jets], np.int16),
    }}
    for table in ("L1EG", "L1Mu"):
        groups[table] = {k: _jag([[], []], np.float32) for k in ("pt", "eta", "phi")}
        groups[table]["bx"] = _jag([[], []], np.int16)
    groups["L1EtSum"] = {"pt": _jag([[55.74, 3.0], []], np.float32), "phi": _jag([[-1.0, 0.0], []], np.float32),
                         "etSumType": _jag([[2, 0], []], np.int32), "bx": _jag([[0, 0], []], np.int16)}
    with uproot.recreate(p) as f:
        _write_tree(f, "Events", groups, {g: "n" + g for g in groups}, lambda o, i: f"{o}_{i}")
    got = ev.read(p)
    want = []
    for pt, eta, phi in jets[0]:
        code = min(math.floor(float(np.float32(pt)) / 0.5), 2047)
        if code * 0.5 >= 15:
            ph = round(float(np.float32(phi)) / CALO_PHI)
            ph = ph % 144
            want.append((code, round(float(np.float32(eta)) / 0.0435), ph))
    want.sort(key=lambda r: -r[0])
    assert record.to_hardware(got, "jet")[0, : len(want)].tolist() == [list(w) for w in want]
    assert want[0][0] == 2047 and len(want) == 3  # saturation at 11 bits; 14.99 GeV -> 14.5, cut
    np.testing.assert_array_equal(got["jet"][1], 0)
    assert record.to_hardware(got, "met")[0].tolist() == [111, round(-1.0 / CALO_PHI) % 144]
    np.testing.assert_array_equal(got["n_pileup"], [-1, -1])  # no pileup branch in this file


def test_acceptance_can_be_switched_off(tmp_path, sample):
    p = tmp_path / "l1.root"
    write_l1ntuple(p, sample)
    exp, _ = expected(sample, acceptance=False)
    assert_record(root.read(p, acceptance=False), exp)
    assert not np.array_equal(exp["jet"], expected(sample)[0]["jet"])  # the sample has objects it cuts


@pytest.mark.parametrize("writer", ["l1ntuple", "nanoaod"])
@pytest.mark.parametrize("chunk_size", [1, 4, 7, 60, 61, 1000])
def test_chunks_identical(tmp_path, sample, writer, chunk_size):
    p = tmp_path / f"{writer}.root"
    (write_l1ntuple if writer == "l1ntuple" else write_nanoaod)(p, sample)
    whole = ev.read(p)
    chunks = list(ev.iter_chunks(p, chunk_size=chunk_size))
    assert [len(c["event"]) for c in chunks[:-1]] == [chunk_size] * (len(chunks) - 1)
    assert sum(len(c["event"]) for c in chunks) == 61
    for name in whole:
        np.testing.assert_array_equal(np.concatenate([c[name] for c in chunks]), whole[name], err_msg=name)


def test_fields_selection(tmp_path, sample):
    p = tmp_path / "nano.root"
    write_nanoaod(p, sample)
    exp, _ = expected(sample)
    got = list(ev.iter_chunks(p, chunk_size=16, fields=["jet", "met"]))
    assert all(list(c) == ["jet", "met"] for c in got)
    np.testing.assert_array_equal(np.concatenate([c["jet"] for c in got]), exp["jet"])
    assert list(ev.read(p, fields="muon")) == ["muon"]
    np.testing.assert_array_equal(ev.read(p, fields="muon")["muon"], exp["muon"])
    with pytest.raises(EventFileError, match="no field"):
        ev.read(p, fields=["jet_constituents"])


def test_only_needed_branches_are_read(tmp_path, sample, monkeypatch):
    p = tmp_path / "nano.root"
    write_nanoaod(p, sample)
    read = []
    original = uproot.behaviors.TBranch.TBranch.array

    def spy(self, *args, **kwargs):
        read.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(uproot.behaviors.TBranch.TBranch, "array", spy)
    list(ev.iter_chunks(p, chunk_size=30, fields=["muon", "event"]))
    assert set(read) == {"L1Mu_hwPt", "L1Mu_hwEta", "L1Mu_hwPhi", "L1Mu_bx"}


def test_info(tmp_path, sample):
    p1, p2 = tmp_path / "l1.root", tmp_path / "nano.root"
    write_l1ntuple(p1, sample, tree="l1UpgradeTree/L1UpgradeTree")
    write_nanoaod(p2, sample, pileup="PV_npvs")
    for p, flavour, tree, pu in ((p1, "l1ntuple", "l1UpgradeTree/L1UpgradeTree", "l1EventTree/L1EventTree:nPV"),
                                 (p2, "nanoaod", "Events", "Events:PV_npvs")):
        meta = ev.info(p)
        assert meta["format"] == "root" and meta["file_format"] == "root"
        assert meta["root_flavour"] == flavour and meta["tree"] == tree
        assert meta["fields"] == ["event", "label", "n_pileup", "met", "egamma", "muon", "jet"]
        assert meta["n_events"] == 61
        assert meta["sources"] == [{"process": "data", "n_events": 61, "file": str(p)}]
        assert meta["n_pileup_branch"] == pu
        np.testing.assert_array_equal(ev.read(p, fields="n_pileup")["n_pileup"], [e["pileup"] for e in sample])


def test_no_pileup_branch(tmp_path, sample):
    p = tmp_path / "l1.root"
    write_l1ntuple(p, sample, event_tree=False)
    assert ev.info(p)["n_pileup_branch"] is None
    np.testing.assert_array_equal(ev.read(p)["n_pileup"], np.full(61, -1, np.int16))


def test_root_to_h5(tmp_path, sample):
    p = tmp_path / "nano.root"
    write_nanoaod(p, sample)
    out = tmp_path / "out.h5"
    ev.merge([p], out)
    assert_record(ev.read(out), expected(sample)[0])


# ---------------------------------------------------------------------------------------------------
# errors


def test_foreign_root_file(tmp_path, sample):
    p = tmp_path / "foreign.root"
    with uproot.recreate(p) as f:
        f.mktree("ntuple", {"x": np.float64}).extend({"x": np.arange(3.0)})
    with pytest.raises(EventFileError, match=r"foreign\.root.*l1UpgradeEmuTree/L1UpgradeTree.*'Events'"):
        ev.info(p)
    q = tmp_path / "nano_no_l1.root"
    with uproot.recreate(q) as f:  # a NanoAOD without L1 objects (L1_ trigger bits only)
        f.mktree("Events", {"L1_SingleMu22": np.bool_, "Muon_pt": np.float32}).extend(
            {"L1_SingleMu22": np.ones(2, bool), "Muon_pt": np.ones(2, np.float32)})
    with pytest.raises(EventFileError, match="nor a NanoAOD file with L1 branches"):
        list(ev.iter_chunks(q))


@pytest.mark.parametrize("kind, kwargs, branch", [
    ("l1ntuple", {"drop": ("jetBx",)}, "jetBx"),
    ("l1ntuple", {"drop": ("sumType",)}, "sumType"),
    ("l1ntuple", {"hardware": False, "drop": ("muonPhi",)}, "muonPhi"),
    ("nanoaod", {"drop": ("L1EG_bx",)}, "L1EG_bx"),
    ("nanoaod", {"hardware": False, "drop": ("L1Jet_eta",)}, "L1Jet_eta"),
    ("nanoaod", {"drop": ("L1EtSum_etSumType",)}, "L1EtSum_etSumType"),
])
def test_missing_branch(tmp_path, sample, kind, kwargs, branch):
    p = tmp_path / "missing.root"
    (write_l1ntuple if kind == "l1ntuple" else write_nanoaod)(p, sample, **kwargs)
    for call in (ev.info, ev.read, lambda q: list(ev.iter_chunks(q, 8, fields=["event"]))):
        with pytest.raises(EventFileError, match=rf"missing\.root.*no branch '{branch}'"):
            call(p)


def test_wrong_branch_types(tmp_path, sample):
    p = tmp_path / "wrong.root"
    write_l1ntuple(p, sample, retype={"jetIEt": lambda a: ak.values_astype(a, np.float32)})
    with pytest.raises(EventFileError, match=r"wrong\.root.*'jetIEt'.*float.*integers"):
        ev.read(p)
    q = tmp_path / "scalar.root"
    write_nanoaod(q, sample, hardware=False, drop=("L1Mu_pt",), extra={"L1Mu_pt": np.ones(61, np.float32)})
    with pytest.raises(EventFileError, match=r"scalar\.root.*'L1Mu_pt'.*per-object vector"):
        ev.info(q)


def test_mismatched_object_counts(tmp_path, sample):
    p = tmp_path / "mismatch.root"
    write_nanoaod(p, sample, drop=("L1Jet_bx",),
                  extra={"L1Jet_bx": _jag([[0] * (len(e["jet"]) + 1) for e in sample], np.int16)})
    with pytest.raises(EventFileError, match=r"mismatch\.root.*different number of objects") as err:
        ev.read(p)
    assert "'L1Jet_bx'" in str(err.value) and "entry 0" in str(err.value)


def test_not_root_and_corrupt(tmp_path, sample):
    text = tmp_path / "notes.root"
    text.write_text("hello, not a ROOT file")
    with pytest.raises(EventFileError, match="neither HDF5 nor Parquet"):
        ev.read(text)
    with pytest.raises(EventFileError, match="not a ROOT file"):
        root.info(text)
    good = tmp_path / "good.root"
    write_nanoaod(good, sample)
    data = good.read_bytes()
    bad = tmp_path / "truncated.root"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(EventFileError, match=r"truncated\.root"):
        ev.read(bad)
    with pytest.raises(EventFileError, match="no such event file"):
        ev.read(tmp_path / "missing.root")


def test_missing_uproot_is_explained(tmp_path, sample, monkeypatch):
    p = tmp_path / "nano.root"
    write_nanoaod(p, sample)
    monkeypatch.setitem(sys.modules, "uproot", None)
    with pytest.raises(EventFileError, match=r"pip install 'l1emu\[root\]'"):
        ev.info(p)


def test_split_class_branch_names():
    """Members of the split L1Upgrade branch are found by the last component of their name."""
    assert root._short_name("L1Upgrade/jetEt") == "jetEt"
    assert root._short_name("L1Upgrade.jetEt") == "jetEt"
    assert root._short_name("jetEt") == "jetEt"

    class Branch:
        def __init__(self, name):
            self.name = name

    class Tree:
        def itervalues(self, recursive):
            assert recursive
            return iter([Branch("L1Upgrade"), Branch("L1Upgrade/nJets"), Branch("L1Upgrade/jetEt"),
                         Branch("L1Upgrade.jetIEt")])

    m = root._branch_map(Tree())
    assert sorted(m) == ["L1Upgrade", "jetEt", "jetIEt", "nJets"]
    assert m["jetEt"].name == "L1Upgrade/jetEt"
