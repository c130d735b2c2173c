"""Jet constituents from truth prongs: a vectorized stick-breaking fragmentation model.

Each prong (quark, gluon, b, hadronic tau) shares its pt among particles by stick breaking
(x_i = v_i prod_{j<i} (1 - v_j), v ~ Beta(1, theta): the Poisson-Dirichlet / GEM law, whose expected
number of particles above a fraction eps is ~ theta ln(1/eps), so theta plays the role of the colour
factor: gluons have more). A particle of transverse momentum p sits at an angle kT / p from its prong,
kT ~ Exponential(kappa): hard particles are collinear, soft ones wide. One-prong quark and gluon jets
may radiate one hard gluon (z and angle log-uniform) so that QCD jets get a Sudakov-like mass tail.
Only the first 16 sticks (which carry most of the momentum) are simulated; the multiplicity adds the
expected count of the unsimulated soft tail.
"""

import numpy as np

from . import kinematics as kin
from .processes import GLUON, QUARK
from .record import (
    JET_R,
    N_CONSTITUENTS,
    PID_CHARGED_HADRON,
    PID_ELECTRON,
    PID_MUON,
    PID_NEUTRAL_HADRON,
    PID_PHOTON,
)

P_MIN = 1.0  # GeV: particles below are not kept and not counted in the multiplicity
# per prong type (index = type code): GEM concentration theta and kT scale kappa [GeV]
THETA = np.array([1.0, 3.0, 4.2, 3.5, 0.7])
KAPPA = np.array([1.0, 0.8, 1.1, 1.3, 0.3])
SPLIT_PROB = np.array([0.0, 0.45, 0.7, 0.0, 0.0])  # hard-gluon emission of one-prong q / g jets
SPLIT_Z = (0.05, 0.5)
SPLIT_ANGLE = (0.03, 0.8)
# particle content per type: probabilities of charged hadron, photon, neutral hadron, electron, muon
PID_PROB = np.array(
    [
        [0.62, 0.25, 0.12, 0.005, 0.005],
        [0.62, 0.25, 0.12, 0.005, 0.005],
        [0.62, 0.25, 0.12, 0.005, 0.005],
        [0.60, 0.24, 0.12, 0.02, 0.02],  # b: semileptonic decays
        [0.45, 0.47, 0.05, 0.015, 0.015],  # hadronic tau: pi+- and pi0 photons
    ]
)
_PID_BINS = 1000


def _pid_table():
    """(types * 2 * bins) lookup: a uniform u picks sign (first / second half) and kind by the CDF."""
    codes = np.array([PID_CHARGED_HADRON, PID_PHOTON, PID_NEUTRAL_HADRON, PID_ELECTRON, PID_MUON], np.float32)
    charged = np.array([1, 0, 0, 1, 1], bool)
    u = (np.arange(_PID_BINS) + 0.5) / _PID_BINS
    rows = []
    for probs in PID_PROB:
        kind = np.minimum(np.searchsorted(np.cumsum(probs / probs.sum()), u), 4)
        plus = codes[kind]
        rows.append(np.concatenate([plus, np.where(charged[kind], -plus, plus)]))
    return np.concatenate(rows).astype(np.float32)


PID_TABLE = _pid_table()


def _log_uniform(rng, lo, hi, shape):
    return lo * (hi / lo) ** rng.random(shape)


def radiate(rng, pt, eta, phi, ptype):
    """One-prong q/g jets (prong 1 empty) emit a hard gluon with probability SPLIT_PROB, keeping the
    pt-weighted centroid. Arrays (..., 3) are modified in place."""
    shape = pt.shape[:-1]
    single = (ptype[..., 1] == 0) & ((ptype[..., 0] == QUARK) | (ptype[..., 0] == GLUON))
    split = single & (rng.random(shape) < SPLIT_PROB[ptype[..., 0]])
    z = _log_uniform(rng, *SPLIT_Z, shape)
    angle = _log_uniform(rng, *SPLIT_ANGLE, shape)
    psi = rng.uniform(-np.pi, np.pi, shape)
    dx, dy = angle * np.cos(psi), angle * np.sin(psi)
    p0 = pt[..., 0]
    pt[..., 1] = np.where(split, z * p0, pt[..., 1])
    eta[..., 1] = np.where(split, eta[..., 0] + (1 - z) * dx, eta[..., 1])
    phi[..., 1] = np.where(split, phi[..., 0] + (1 - z) * dy, phi[..., 1])
    ptype[..., 1] = np.where(split, GLUON, ptype[..., 1])
    pt[..., 0] = np.where(split, (1 - z) * p0, p0)
    eta[..., 0] = np.where(split, eta[..., 0] - z * dx, eta[..., 0])
    phi[..., 0] = np.where(split, phi[..., 0] - z * dy, phi[..., 0])


def _per_slot(prong, a):
    """Value of the slot's prong: a (..., 3) -> (..., slots) for prong indices (..., slots)."""
    return np.where(prong == 0, a[..., 0:1], np.where(prong == 1, a[..., 1:2], a[..., 2:3]))


def constituents(rng, pt, eta, phi, ptype, axis_eta, axis_phi):
    """Constituents of jets given by prongs (n, jets, 3) around axes (n, jets).

    Returns (n, jets, 16, 4) float32 [pt, eta_rel, phi_rel, pid], pt-ordered, zero-padded, and the
    (n, jets) int16 multiplicity of particles above P_MIN. Only jets with a prong are simulated."""
    n, nj, _ = pt.shape
    jets = np.flatnonzero(((ptype > 0) & (pt > 0)).any(-1).reshape(-1))
    out = np.zeros((n * nj, N_CONSTITUENTS, 4), np.float32)
    mult = np.zeros(n * nj, np.int16)
    if jets.size:
        def take(a):
            return a.reshape(n * nj, *a.shape[2:])[jets]

        out[jets], mult[jets] = _fragment(rng, *(take(a) for a in (pt, eta, phi, ptype, axis_eta, axis_phi)))
    return out.reshape(n, nj, N_CONSTITUENTS, 4), mult.reshape(n, nj)


def _fragment(rng, pt, eta, phi, ptype, axis_eta, axis_phi):
    """Constituents (m, 16, 4) and multiplicities (m,) of m jets given by prongs (m, 3)."""
    f32 = np.float32
    pt, eta, phi, ptype = pt.copy(), eta.copy(), phi.copy(), ptype.copy()
    radiate(rng, pt, eta, phi, ptype)
    m, ns = pt.shape[0], N_CONSTITUENTS
    deta = (eta - axis_eta[:, None]).astype(f32)
    dphi = kin.wrap(phi - axis_phi[:, None]).astype(f32)
    theta = THETA[ptype]
    present = (ptype > 0) & (pt > 0)
    # slots are shared among prongs in proportion to their expected multiplicities
    nu = np.where(present, theta * np.log(np.maximum(pt / P_MIN, 1.0)) + 1.0, 0.0)
    bounds = np.rint(ns * np.cumsum(nu, -1) / np.maximum(nu.sum(-1, keepdims=True), 1e-12)).astype(np.int64)
    slots = np.arange(ns)
    prong = (slots >= bounds[:, 0:1]).astype(np.int8) + (slots >= bounds[:, 1:2])
    start = np.concatenate([np.zeros((m, 1), np.int64), bounds[:, :2]], -1)  # first slot per prong
    last = np.concatenate([bounds[:, :2], np.full((m, 1), ns)], -1) - 1  # last slot per prong
    ptyp = _per_slot(prong, ptype)
    # stick breaking within each prong's run of slots: log(1 - v) = -E / theta, E ~ Exp(1)
    step = -rng.standard_exponential((m, ns), f32) / _per_slot(prong, theta.astype(f32))
    cs = np.cumsum(step, -1)
    excl = cs - step
    rows = np.arange(m)[:, None]
    start_val = excl[rows, np.minimum(start, ns - 1)]  # (m, 3): log remainder at each prong's start
    left = np.exp(excl - _per_slot(prong, start_val))
    # the last slot of each prong takes what the stick breaking left (the unsimulated soft remainder),
    # so that the constituents add up to the prong and resonance masses are not biased low
    is_last = slots == _per_slot(prong, last)
    x = np.where(is_last, left, (1 - np.exp(step)) * left)
    ppt = x * _per_slot(prong, pt.astype(f32))
    # angle kT / p around the prong, kT ~ Exp(kappa)
    kt = rng.standard_exponential((m, ns), f32) * KAPPA.astype(f32)[ptyp]
    ang = np.minimum(kt / np.maximum(ppt, f32(1e-3)), f32(2 * JET_R))
    psi = rng.random((m, ns), f32) * f32(2 * np.pi)
    eta_rel = _per_slot(prong, deta) + ang * np.cos(psi)
    phi_rel = _per_slot(prong, dphi) + ang * np.sin(psi)
    keep = (ppt >= P_MIN) & (eta_rel * eta_rel + phi_rel * phi_rel < f32(JET_R * JET_R)) & (ptyp > 0)
    u = rng.random((m, ns), f32)
    pid = PID_TABLE[ptyp.astype(np.int64) * (2 * _PID_BINS) + (u * (2 * _PID_BINS)).astype(np.int64)]
    ppt = np.where(keep, ppt, f32(0))
    order = np.argsort(-ppt, axis=-1, kind="stable")
    out = np.stack([ppt, eta_rel, phi_rel, pid], -1)[rows, order]
    out *= (out[..., 0] > 0)[..., None]
    # multiplicity: kept particles + expected soft tail of each prong (GEM is self-similar: the
    # remainder r of a prong is again a GEM(theta) stick, with ~ theta ln(r p / P_MIN) particles)
    seg = last >= start
    remainder = np.where(seg, np.exp(cs[rows, np.clip(last, 0, ns - 1)] - start_val), 1.0) * pt
    tail = np.where(present, theta * np.log(np.maximum(remainder / P_MIN, 1.0)), 0.0).sum(-1)
    mult = keep.sum(-1) + rng.poisson(tail)
    return out, mult.astype(np.int16)
