"""The numpy 'parametric' backend: hard process + Poisson pileup + a parametrized L1 detector.

This is a fast parametric simulation, not a detector simulation: resolutions, fake rates and spectra
are simple formulas whose parameters are listed here and in docs/events.md. Per-candidate work is
float32 and angles are smeared only for the objects that are kept, which is what makes it fast.
"""

import math

import numpy as np

from . import fragmentation, kinematics as kin, record
from .features import hls4ml_features, jet_image
from .processes import BQUARK, GLUON, N_PRONGS, PROCESSES, QUARK, JetSet

VERSION = "parametric-1.1"  # 1.1: calorimeter regions in the CICADA layout (18 phi x 14 eta)
DEFAULT_PILEUP = 60.0
F32 = np.float32

# Pileup: each of the n_pu ~ Poisson(mu) interactions yields a dijet (leading pt > PU_JET_PT_MIN) with
# probability PU_JET_PROB; leading pt ~ PU_JET_PT_MIN * U^(-1/PU_JET_INDEX) (integral spectrum
# pt^-3.4, i.e. dN/dpt ~ pt^-4.4), the second jet takes a fraction U(0.7, 1), back to back in phi.
PU_JET_PROB = 0.06
PU_JET_PT_MIN = 12.0
PU_JET_INDEX = 3.4
PU_JET_ETA_MAX = 4.7
PU_EG_PROB, PU_EG_PT_MIN, PU_EG_INDEX = 0.02, 2.0, 3.5  # soft photons / electrons
PU_MU_PROB, PU_MU_PT_MIN, PU_MU_INDEX = 0.002, 3.0, 3.0  # heavy-flavour and punch-through muons
PU_SUMET_PER_INTERACTION = 5.0  # GeV of diffuse (unclustered) calorimeter ET per interaction
PU_SUMET_CENTRAL = 0.6  # fraction of it inside |eta| < 3 (the region image)
SOFT_MET_SCALE = 0.5  # sigma(MET_x) = SOFT_MET_SCALE * sqrt(sum ET), Student-t(4) tails
# Detector: relative pt resolution sqrt(a^2 / pt + b^2) (muons: sqrt(a^2 + (b pt)^2)), angular smearing
JET_RES = (1.1, 0.08)
JET_TAIL_PROB, JET_TAIL_RANGE = 0.02, (0.4, 1.0)  # badly measured jets: response x U(0.4, 1)
JET_ANGLE_RES = 0.04
EG_RES, EG_ANGLE_RES = (0.25, 0.02), 0.01
MU_RES, MU_ANGLE_RES = (0.12, 0.0008), 0.01
EG_FAKE_PROB = 0.025  # a jet gives an e/gamma candidate with pt = z pt_jet, z ~ Beta(2, 1)
B_MUON_PROB = 0.2  # semileptonic b -> mu in jets with a b prong, pt = z pt_jet, z ~ Beta(1, 3)


def _slots(mean):
    """Fixed number of candidate slots for a count of this mean (overflow probability ~ 1e-5)."""
    return max(2, int(math.ceil(mean + 4.5 * math.sqrt(mean) + 1)))


def _power_law(rng, n_pu, prob, xmin, index, slots):
    """(n, slots) pts: Binomial(n_pu, prob) of them from xmin * U^(-1/index), the others 0."""
    k = np.minimum(rng.binomial(n_pu, prob), slots)
    u = F32(1) - rng.random((n_pu.shape[0], slots), F32)  # in (0, 1]: no infinite pt
    pt = xmin * u ** F32(-1.0 / index)
    return np.where(np.arange(slots) < k[:, None], pt, F32(0))


def _pileup_jets(rng, n_pu, mu):
    """(n, 2k, 3) truth (pt, eta, phi) of pileup dijets and their types (gluon 75%)."""
    n = n_pu.shape[0]
    k = _slots(mu * PU_JET_PROB)
    pt1 = _power_law(rng, n_pu, PU_JET_PROB, PU_JET_PT_MIN, PU_JET_INDEX, k)
    u = rng.random((n, k), F32)
    pt2 = pt1 * (F32(0.7) + F32(0.3) * u)
    phi1 = rng.uniform(-np.pi, np.pi, (n, k)).astype(F32)
    phi2 = kin.wrap(phi1 + F32(np.pi) + F32(0.2) * rng.standard_normal((n, k), F32))
    eta = rng.uniform(-PU_JET_ETA_MAX, PU_JET_ETA_MAX, (n, 2 * k)).astype(F32)
    jets = np.stack([np.concatenate([pt1, pt2], 1), eta, np.concatenate([phi1, phi2], 1)], -1)
    ptype = np.where(rng.random((n, 2 * k), F32) < 0.75, GLUON, QUARK).astype(np.int8)
    return jets, ptype


def _soft_objects(rng, n_pu, mu, prob, xmin, index):
    """(n, k, 3) soft pileup objects: pt from a power law, flat in eta (|eta| < 3) and phi."""
    k = _slots(mu * prob)
    pt = _power_law(rng, n_pu, prob, xmin, index, k)
    eta = rng.uniform(-3.0, 3.0, pt.shape).astype(F32)
    return np.stack([pt, eta, rng.uniform(-np.pi, np.pi, pt.shape).astype(F32)], -1)


def _smear_pt(rng, pt, res, per_gev=False):
    a, b = F32(res[0]), F32(res[1])
    if per_gev:
        sigma = np.sqrt(a * a + (b * pt) ** 2)
    else:
        sigma = np.sqrt(a * a / np.maximum(pt, F32(1e-3)) + b * b)
    return pt * np.maximum(F32(1) + sigma * rng.standard_normal(pt.shape, F32), F32(0.05))


def _select(pt_meas, eta, n_keep, pt_min, eta_max):
    """Indices (n, n_keep) of the pt-ordered leading candidates passing the acceptance, and validity."""
    n, k = pt_meas.shape
    key = np.where((pt_meas >= pt_min) & (np.abs(eta) < eta_max), pt_meas, F32(-1))
    if k < n_keep:
        key = np.concatenate([key, np.full((n, n_keep - k), -1, F32)], 1)
    if key.shape[1] > 2 * n_keep:  # partition first: cheaper than a full sort of many candidates
        part = np.argpartition(-key, n_keep - 1, axis=1)[:, :n_keep]
        idx = np.take_along_axis(part, np.argsort(-np.take_along_axis(key, part, 1), 1, kind="stable"), 1)
    else:
        idx = np.argsort(-key, 1, kind="stable")[:, :n_keep]
    return idx, np.take_along_axis(key, idx, 1) > 0


def _finish(rng, truth, pt_meas, idx, valid, angle_res, name):
    """Quantized (n, k, 3) objects: selected candidates with smeared angles, zero padded."""
    n, k = idx.shape
    if truth.shape[1] < k:
        truth = np.concatenate([truth, np.zeros((n, k - truth.shape[1], 3), F32)], 1)
        pt_meas = np.concatenate([pt_meas, np.zeros((n, k - pt_meas.shape[1]), F32)], 1)
    sel = np.take_along_axis(truth, idx[..., None], 1)
    noise = F32(angle_res) * rng.standard_normal((n, k, 2), F32)
    q = record.HARDWARE_UNITS[name]
    pt = record.to_hardware_grid(np.take_along_axis(pt_meas, idx, 1) * valid, q["pt"])
    eta = record.to_hardware_grid(sel[..., 1] + noise[..., 0], q["eta"])
    phi = record.to_hardware_grid(kin.wrap(sel[..., 2] + noise[..., 1]), q["phi"], phi=True)
    return np.stack([pt, eta, phi], -1) * (pt > 0)[..., None]


def _jet_axes(jets):
    """Truth jet (pt, eta, phi) of multi-prong jets from the vector sum of their massless prongs."""
    p4 = kin.from_pt_eta_phi(jets.pt, jets.eta, jets.phi).sum(-2)
    pt, eta, phi = kin.pt_eta_phi(p4)
    return np.stack([pt, np.where(pt > 0, eta, 0.0), phi], -1).astype(F32)


def _pxy(pt, phi):
    return np.stack([(pt * np.cos(phi)).sum(1), (pt * np.sin(phi)).sum(1)], -1)


# Region binning of deposits: a value less than this below a region edge is taken to be on it, so the
# float32 rounding of an edge (float32(-pi), float32(0.348), ...) belongs to the region that starts
# there. 3.5e-7 (1e-6 of a region width, phi in rad or eta) is above the float32 rounding error of
# angles and |eta| < 4 (<= 1.2e-7 rad) and far below any physical resolution.
_EDGE_TOL = 3.5e-7
_ABS_ETA_EDGES = np.array(record.CALO_REGION_ABS_ETA_EDGES, np.float64)


def _calo_region_index(eta, phi):
    """(iphi, ieta, inside) region indices of deposits at (eta, phi), any shape, CICADA's layout.

    iphi in 0..17: region k covers phi in [k, k + 1) x 20 degrees with phi taken in [0, 2pi) (plus
    ``record.CALO_REGION_PHI0``). ieta in 0..13 increases with eta: 0..6 are eta < 0 (6 next to
    eta = 0), 7..13 eta >= 0; |eta| in [e_j, e_j+1) of ``record.CALO_REGION_ABS_ETA_EDGES`` is region
    j on its side, so |eta| >= 3 (HF) is outside."""
    n_phi, n_eta = record.CALO_SHAPE
    half = n_eta // 2
    eta = np.asarray(eta, np.float64)
    phi = np.mod(np.asarray(phi, np.float64) - record.CALO_REGION_PHI0, 2 * np.pi)
    iphi = np.floor((phi + _EDGE_TOL) * (n_phi / (2 * np.pi))).astype(np.int64) % n_phi
    j = np.searchsorted(_ABS_ETA_EDGES, np.abs(eta) + _EDGE_TOL, side="right") - 1
    inside = j < half
    ieta = np.where(eta < 0, half - 1 - j, half + j)
    return iphi, np.where(inside, ieta, 0), inside


def _calo_regions(rng, sumet, deposits):
    """(n, 18, 14) region ET, phi x eta (CICADA): diffuse pileup ET (exponential fluctuations) + deposits.

    ``deposits``: (n, k, 3) measured (pt, eta, phi), each deposited in the region of its axis."""
    n_phi, n_eta = record.CALO_SHAPE
    n_reg = n_phi * n_eta
    n = sumet.shape[0]
    mean = (sumet * PU_SUMET_CENTRAL / n_reg).astype(F32)[:, None]
    diffuse = rng.standard_exponential((n, n_reg), F32) * mean
    pt = deposits[..., 0]
    iphi, ieta, inside = _calo_region_index(deposits[..., 1], deposits[..., 2])
    ok = (pt > 0) & inside
    flat = np.arange(n)[:, None] * n_reg + iphi * n_eta + ieta
    et = diffuse.reshape(-1)
    np.add.at(et, flat[ok], pt[ok].astype(F32))
    return record.to_hardware_grid(et, record.HARDWARE_UNITS["calo_regions"]["et"]).reshape(n, n_phi, n_eta)


class ParametricBackend:
    """Fast numpy generator. ``generate_block`` fills one block of crossings from three independent
    random streams (objects, constituents, images), so the L1 objects do not depend on whether
    constituents or images are requested."""

    name = "parametric"
    version = VERSION
    processes = PROCESSES

    def generate_block(self, process, seed_seq, size, *, with_constituents=False, with_images=False,
                       pileup=DEFAULT_PILEUP):
        r_obj, r_const, r_img = (np.random.Generator(np.random.PCG64(s)) for s in seed_seq.spawn(3))
        n = size
        proc = PROCESSES[process]
        truth = proc.hard(r_obj, n)
        n_pu = r_obj.poisson(pileup, n)
        hard = _jet_axes(truth.jets)  # (n, jh, 3)
        pu, pu_type = _pileup_jets(r_obj, n_pu, pileup)
        jet_true = np.concatenate([hard, pu], 1)
        pt = jet_true[..., 0]

        # jets: Gaussian resolution plus a low-response tail (one uniform decides both)
        u = r_obj.random(pt.shape, F32)
        tail = u < JET_TAIL_PROB
        lo, hi = JET_TAIL_RANGE
        scale = np.where(tail, F32(lo) + F32(hi - lo) * (u / F32(JET_TAIL_PROB)), F32(1))
        jet_pt = _smear_pt(r_obj, pt, JET_RES) * scale

        # e/gamma: hard electrons, jets faking e/gamma (z ~ Beta(2, 1)), soft pileup e/gamma
        u = r_obj.random(pt.shape, F32)
        fake_pt = np.where(u < EG_FAKE_PROB, np.sqrt(u / F32(EG_FAKE_PROB)) * pt, F32(0))
        fakes = np.stack([fake_pt, jet_true[..., 1], jet_true[..., 2]], -1)
        pu_eg = _soft_objects(r_obj, n_pu, pileup, PU_EG_PROB, PU_EG_PT_MIN, PU_EG_INDEX)
        eg_true = np.concatenate([truth.electrons.astype(F32), fakes, pu_eg], 1)
        eg_pt = _smear_pt(r_obj, eg_true[..., 0], EG_RES)

        # muons: hard muons, semileptonic b decays (z ~ Beta(1, 3)), soft pileup muons
        jh = hard.shape[1]
        has_b = (truth.jets.ptype == BQUARK).any(-1)
        u = r_obj.random((n, jh), F32)
        b_pt = np.where(has_b & (u < B_MUON_PROB), (1 - np.cbrt(u / F32(B_MUON_PROB))) * hard[..., 0], F32(0))
        pu_mu = _soft_objects(r_obj, n_pu, pileup, PU_MU_PROB, PU_MU_PT_MIN, PU_MU_INDEX)
        b_mu = np.stack([b_pt, hard[..., 1], hard[..., 2]], -1)
        mu_true = np.concatenate([truth.muons.astype(F32), b_mu, pu_mu], 1)
        mu_pt = _smear_pt(r_obj, mu_true[..., 0], MU_RES, per_gev=True)

        # calorimeter-only MET: neutrinos + muons (invisible to the calorimeter) + pt mismeasurement
        # of jets and electrons + the unclustered pileup term
        n_el = truth.electrons.shape[1]
        sumet = r_obj.standard_gamma(2.0 * n_pu + 1e-3) * (PU_SUMET_PER_INTERACTION / 2.0)
        soft = r_obj.standard_t(4.0, (n, 2)) * (SOFT_MET_SCALE * np.sqrt(sumet) / math.sqrt(2.0))[:, None]
        met_xy = truth.invisible + soft + _pxy(mu_true[..., 0], mu_true[..., 2])
        met_xy += _pxy(pt - jet_pt, jet_true[..., 2]) + _pxy(eg_true[:, :n_el, 0] - eg_pt[:, :n_el], eg_true[:, :n_el, 2])
        met_q = record.HARDWARE_UNITS["met"]
        met = np.stack(
            [
                record.to_hardware_grid(np.hypot(met_xy[:, 0], met_xy[:, 1]), met_q["pt"]),
                record.to_hardware_grid(np.arctan2(met_xy[:, 1], met_xy[:, 0]), met_q["phi"], phi=True),
            ],
            -1,
        )
        met[:, 1] *= met[:, 0] > 0

        acc = record.ACCEPT
        eg_idx, eg_ok = _select(eg_pt, eg_true[..., 1], record.N_EGAMMA, **acc["egamma"])
        mu_idx, mu_ok = _select(mu_pt, mu_true[..., 1], record.N_MUON, **acc["muon"])
        jet_idx, jet_ok = _select(jet_pt, jet_true[..., 1], record.N_JET, **acc["jet"])
        out = {
            "label": np.full(n, proc.label, np.int16),
            "n_pileup": n_pu.astype(np.int16),
            "met": met,
            "egamma": _finish(r_obj, eg_true, eg_pt, eg_idx, eg_ok, EG_ANGLE_RES, "egamma"),
            "muon": _finish(r_obj, mu_true, mu_pt, mu_idx, mu_ok, MU_ANGLE_RES, "muon"),
            "jet": _finish(r_obj, jet_true, jet_pt, jet_idx, jet_ok, JET_ANGLE_RES, "jet"),
        }

        if with_constituents or with_images:
            # prongs of the selected jets: hard jets have up to 3, pileup jets one
            pu_jets = JetSet.empty(n, pu.shape[1])
            pu_jets.pt[..., 0], pu_jets.eta[..., 0], pu_jets.phi[..., 0] = pu[..., 0], pu[..., 1], pu[..., 2]
            pu_jets.ptype[..., 0] = np.where(pu[..., 0] > 0, pu_type, 0)
            jets = truth.jets.concat(pu_jets)
            if jets.pt.shape[1] < record.N_JET:
                jets = jets.concat(JetSet.empty(n, record.N_JET - jets.pt.shape[1]))
                jet_true = np.concatenate([jet_true, np.zeros((n, record.N_JET - jet_true.shape[1], 3), F32)], 1)
            idx3 = np.repeat(jet_idx[..., None], N_PRONGS, -1)
            pr = [np.take_along_axis(a, idx3, 1) for a in jets.arrays()]
            valid = out["jet"][..., 0] > 0
            pr[3] = np.where(valid[..., None], pr[3], 0).astype(np.int8)
            ax = np.take_along_axis(jet_true, jet_idx[..., None], 1)
            const, mult = fragmentation.constituents(r_const, *pr, ax[..., 1], ax[..., 2])
            mult = mult * valid
            if with_constituents:
                out["jet_constituents"] = const
                out["jet_multiplicity"] = mult.astype(np.int16)
                out["jet_features"] = hls4ml_features(const[:, 0], mult[:, 0])
            if with_images:
                deposits = np.concatenate(
                    [np.stack([jet_pt, jet_true[:, : jet_pt.shape[1], 1], jet_true[:, : jet_pt.shape[1], 2]], -1),
                     np.stack([eg_pt[:, :n_el], eg_true[:, :n_el, 1], eg_true[:, :n_el, 2]], -1)],
                    1,
                )
                out["calo_regions"] = _calo_regions(r_img, sumet, deposits)
                out["jet_image"] = jet_image(const[:, 0])
        return out
