"""Hard processes of the parametric generator: truth partons, leptons and neutrinos per crossing.

Each process draws resonances from simple production spectra and decays them with exact two-body
kinematics (l1emu.events.kinematics); partons become jets (merged within dR < 0.4), boosted resonances
become one fat jet whose prongs are the decay products inside R = 0.8. Pileup and the detector are
added by the generator; see docs/events.md for the parameters and where the model is crude.
"""

from dataclasses import dataclass, field

import numpy as np

from . import kinematics as kin

# parton / prong types (they set fragmentation: multiplicity, width, particle content)
QUARK, GLUON, BQUARK, TAU = 1, 2, 3, 4
M_W, G_W, M_Z, G_Z, M_H, M_TOP, G_TOP, M_B = 80.4, 2.1, 91.19, 2.5, 125.0, 172.5, 1.4, 4.8
N_PRONGS = 3


@dataclass
class JetSet:
    """Truth jets of a block, each made of up to 3 prongs: arrays (n, jets, 3); type 0 = no prong."""

    pt: np.ndarray
    eta: np.ndarray
    phi: np.ndarray
    ptype: np.ndarray

    @classmethod
    def empty(cls, n, jets):
        z = np.zeros((n, jets, N_PRONGS))
        return cls(z, z.copy(), z.copy(), np.zeros((n, jets, N_PRONGS), np.int8))

    def concat(self, other):
        return JetSet(*(np.concatenate([a, b], 1) for a, b in zip(self.arrays(), other.arrays())))

    def arrays(self):
        return self.pt, self.eta, self.phi, self.ptype


@dataclass
class Truth:
    """Output of a hard process for n crossings."""

    jets: JetSet
    electrons: np.ndarray  # (n, k, 3) pt, eta, phi; pt = 0 for none
    muons: np.ndarray  # (n, k, 3)
    invisible: np.ndarray  # (n, 2) px, py of neutrinos


@dataclass
class _Builder:
    rng: np.random.Generator
    n: int
    partons: list = field(default_factory=list)
    fat: list = field(default_factory=list)
    electrons: list = field(default_factory=list)
    muons: list = field(default_factory=list)
    invisible: np.ndarray = None

    def __post_init__(self):
        self.invisible = np.zeros((self.n, 2))

    def parton(self, p4, ptype, mask=True):
        pt, eta, phi = kin.pt_eta_phi(p4)
        keep = np.broadcast_to(mask, pt.shape)
        self.partons.append((np.where(keep, pt, 0.0), eta, phi, np.where(keep, np.broadcast_to(ptype, pt.shape), 0)))

    def _lepton(self, target, p4, mask):
        pt, eta, phi = kin.pt_eta_phi(p4)
        target.append(np.stack([np.where(mask, pt, 0.0), eta, phi], -1))

    def electron(self, p4, mask=True):
        self._lepton(self.electrons, p4, np.broadcast_to(mask, p4.shape[:-1]))

    def muon(self, p4, mask=True):
        self._lepton(self.muons, p4, np.broadcast_to(mask, p4.shape[:-1]))

    def nu(self, p4, mask=True):
        self.invisible += np.where(np.broadcast_to(mask, p4.shape[:-1])[..., None], p4[..., 1:3], 0.0)

    def lepton(self, p4, flavour, mask=True):
        """A charged lepton of flavour 0 = e, 1 = mu, 2 = tau (which decays)."""
        mask = np.broadcast_to(mask, flavour.shape)
        self.electron(p4, mask & (flavour == 0))
        self.muon(p4, mask & (flavour == 1))
        self.tau(p4, mask & (flavour == 2))

    def tau(self, p4, mask=True):
        """Tau decays: 65% hadronic (a narrow 'tau' jet), 17.5% e, 17.5% mu; the rest goes to neutrinos."""
        mask = np.broadcast_to(mask, p4.shape[:-1])
        u = self.rng.random(p4.shape[:-1])
        hadronic = u < 0.648
        to_e = (u >= 0.648) & (u < 0.826)
        x = np.where(hadronic, self.rng.beta(2.0, 1.5, u.shape), self.rng.beta(2.5, 3.5, u.shape))
        vis = p4 * x[..., None]
        self.parton(vis, TAU, mask & hadronic)
        self.electron(vis, mask & to_e)
        self.muon(vis, mask & ~hadronic & ~to_e)
        self.nu(p4 - vis, mask)

    def w_decay(self, w):
        """W -> q q' (67.6%) or l nu (10.8% each of e, mu, tau)."""
        d1, d2 = kin.two_body(self.rng, w, 0.0, 0.0)
        u = self.rng.random(w.shape[:-1])
        hadronic = u < 0.676
        flavour = np.minimum(((u - 0.676) / 0.108).astype(np.int64), 2)
        self.parton(d1, QUARK, hadronic)
        self.parton(d2, QUARK, hadronic)
        self.lepton(d1, flavour, ~hadronic)
        self.nu(d2, ~hadronic)

    def fat_jet(self, axis, daughters, r=0.8):
        """One jet along ``axis`` whose prongs are the (p4, type) daughters within r of it; daughters
        outside r become ordinary partons."""
        _, a_eta, a_phi = kin.pt_eta_phi(axis)
        jets = JetSet.empty(self.n, 1)
        for k, (p4, ptype) in enumerate(daughters):
            pt, eta, phi = kin.pt_eta_phi(p4)
            inside = kin.delta_r(eta, phi, a_eta, a_phi) < r
            jets.pt[:, 0, k] = np.where(inside, pt, 0.0)
            jets.eta[:, 0, k], jets.phi[:, 0, k] = eta, phi
            jets.ptype[:, 0, k] = np.where(inside, ptype, 0)
            self.parton(p4, ptype, ~inside)
        self.fat.append(jets)

    def recoil(self, system, ptype=GLUON):
        """An initial-state-radiation parton recoiling against ``system``; it takes 50-90% of the
        system's pt (the rest is soft radiation), so the system's own jet is normally the leading one."""
        pt, _, phi = kin.pt_eta_phi(system)
        pt = pt * self.rng.uniform(0.5, 0.9, pt.shape)
        eta = self.rng.normal(0.0, 1.6, pt.shape)
        self.parton(kin.from_pt_eta_phi(pt, eta, kin.wrap(phi + np.pi)), ptype)

    def build(self, merge_r=0.4):
        jets = merge_partons(self.partons, self.n, merge_r)
        for fat in self.fat:
            jets = fat.concat(jets)
        return Truth(jets, _stack(self.electrons, self.n), _stack(self.muons, self.n), self.invisible)


def _stack(items, n):
    if not items:
        return np.zeros((n, 0, 3))
    return np.stack(items, 1)


def merge_partons(partons, n, r):
    """Resolved jets: partons sorted by pt; a parton within r of a harder jet's leading prong becomes
    one more prong of that jet (up to 3). No full clustering: good enough for dR-isolated partons."""
    if not partons:
        return JetSet.empty(n, 0)
    pt = np.stack([p[0] for p in partons], 1)
    eta = np.stack([np.broadcast_to(p[1], pt.shape[:1]) for p in partons], 1)
    phi = np.stack([np.broadcast_to(p[2], pt.shape[:1]) for p in partons], 1)
    ptype = np.stack([np.broadcast_to(p[3], pt.shape[:1]) for p in partons], 1).astype(np.int8)
    order = np.argsort(-pt, axis=1, kind="stable")
    pt, eta, phi, ptype = (np.take_along_axis(a, order, 1) for a in (pt, eta, phi, ptype))
    n_p = pt.shape[1]
    jets = JetSet.empty(n, n_p)
    jets.pt[:, :, 0], jets.eta[:, :, 0], jets.phi[:, :, 0], jets.ptype[:, :, 0] = pt, eta, phi, ptype
    nprong = np.ones((n, n_p), np.int64)
    alive = pt > 0
    for j in range(1, n_p):
        for i in range(j):
            hit = alive[:, i] & alive[:, j] & (nprong[:, i] < N_PRONGS)
            hit &= kin.delta_r(eta[:, i], phi[:, i], eta[:, j], phi[:, j]) < r
            rows = np.nonzero(hit)[0]
            if rows.size == 0:
                continue
            slot = nprong[rows, i]
            for dst, src in zip(jets.arrays(), (pt, eta, phi, ptype)):
                dst[rows, i, slot] = src[rows, j]
                dst[rows, j, 0] = 0
            nprong[rows, i] += 1
            alive[rows, j] = False
    return jets


# ---------------------------------------------------------------------------------------------------
# production spectra


def _resonance(rng, n, mass, pt, y_sigma):
    phi = rng.uniform(-np.pi, np.pi, n)
    return kin.from_pt_y_phi_m(pt, rng.normal(0.0, y_sigma, n), phi, mass)


def _gamma_pt(rng, n, shape, scale):
    return rng.gamma(shape, scale, n)


def _boosted_pt(rng, n):
    # flat 500-1000 GeV for every boosted class, so that pt alone cannot tell them apart
    return rng.uniform(500.0, 1000.0, n)


# ---------------------------------------------------------------------------------------------------
# processes: each takes (rng, n) and returns Truth


def zerobias(rng, n):
    return _Builder(rng, n).build()


def qcd(rng, n):
    """QCD multijet: pT-hat from a power law above 30 GeV; 2-4 partons, 60% gluons."""
    b = _Builder(rng, n)
    pt1 = 30.0 * (1.0 - rng.random(n)) ** (-1.0 / 3.5)
    phi1 = rng.uniform(-np.pi, np.pi, n)
    pts = [pt1, pt1 * rng.uniform(0.6, 1.0, n)]
    phis = [phi1, kin.wrap(phi1 + np.pi + rng.normal(0.0, 0.25, n))]
    for prob in (0.6, 0.3):
        extra = rng.random(n) < prob
        pts.append(np.where(extra, pt1 * rng.uniform(0.08, 0.5, n), 0.0))
        phis.append(rng.uniform(-np.pi, np.pi, n))
    for pt, phi in zip(pts, phis):
        u = rng.random(n)
        ptype = np.where(u < 0.6, GLUON, np.where(u < 0.95, QUARK, BQUARK))
        b.parton(kin.from_pt_eta_phi(pt, rng.normal(0.0, 1.8, n), phi), ptype)
    return b.build()


def ttbar(rng, n):
    """t tbar, each top -> b W with W -> q q' / l nu."""
    b = _Builder(rng, n)
    pt = _gamma_pt(rng, n, 2.2, 45.0)
    phi = rng.uniform(-np.pi, np.pi, n)
    for sign in (0.0, 1.0):
        mt = kin.breit_wigner(rng, M_TOP, G_TOP, n)
        top = kin.from_pt_y_phi_m(pt * rng.uniform(0.7, 1.0, n), rng.normal(0, 1.1, n),
                                  kin.wrap(phi + sign * np.pi + rng.normal(0, 0.3, n)), mt)
        bq, w = kin.two_body(rng, top, M_B, kin.breit_wigner(rng, M_W, G_W, n))
        b.parton(bq, BQUARK)
        b.w_decay(w)
    return b.build()


def hh4b(rng, n):
    """Higgs pair, both H -> b bbar."""
    b = _Builder(rng, n)
    pt = _gamma_pt(rng, n, 2.5, 55.0)
    phi = rng.uniform(-np.pi, np.pi, n)
    for sign in (0.0, 1.0):
        h = kin.from_pt_y_phi_m(pt, rng.normal(0, 1.0, n), kin.wrap(phi + sign * np.pi), M_H)
        for q in kin.two_body(rng, h, M_B, M_B):
            b.parton(q, BQUARK)
    return b.build()


def _boosted(rng, n, mass, width, decay):
    b = _Builder(rng, n)
    m = kin.breit_wigner(rng, mass, width, n) if width else np.full(n, mass)
    res = _resonance(rng, n, m, _boosted_pt(rng, n), 0.8)
    b.fat_jet(res, decay(rng, res, n))
    b.recoil(res, np.where(rng.random(n) < 0.5, GLUON, QUARK))
    return b.build()


def wjet(rng, n):
    """Boosted W -> q q' (two prongs at 80 GeV), pt 500-1000 GeV, with a recoiling jet."""
    return _boosted(rng, n, M_W, G_W, lambda r, w, n: [(d, QUARK) for d in kin.two_body(r, w, 0.0, 0.0)])


def zjet(rng, n):
    """Boosted Z -> q qbar (15% b bbar), two prongs at 91 GeV."""

    def decay(r, z, n):
        ptype = np.where(r.random(n) < 0.15, BQUARK, QUARK)
        mq = np.where(ptype == BQUARK, M_B, 0.0)
        return [(d, ptype) for d in kin.two_body(r, z, mq, mq)]

    return _boosted(rng, n, M_Z, G_Z, decay)


def hjet(rng, n):
    """Boosted H -> b bbar, two b prongs at 125 GeV."""
    return _boosted(rng, n, M_H, 0.0, lambda r, h, n: [(d, BQUARK) for d in kin.two_body(r, h, M_B, M_B)])


def topjet(rng, n):
    """Boosted t -> b W(-> q q'), three prongs at 173 GeV (W at 80 GeV inside)."""

    def decay(r, t, n):
        bq, w = kin.two_body(r, t, M_B, kin.breit_wigner(r, M_W, G_W, n))
        q1, q2 = kin.two_body(r, w, 0.0, 0.0)
        return [(bq, BQUARK), (q1, QUARK), (q2, QUARK)]

    return _boosted(rng, n, M_TOP, G_TOP, decay)


def _one_prong(ptype):
    def make(rng, n):
        b = _Builder(rng, n)
        p = kin.from_pt_eta_phi(_boosted_pt(rng, n), rng.normal(0, 0.8, n), rng.uniform(-np.pi, np.pi, n))
        b.fat_jet(p, [(p, ptype)])
        b.recoil(p, np.where(rng.random(n) < 0.5, GLUON, QUARK))
        return b.build()

    return make


qjet = _one_prong(QUARK)
qjet.__doc__ = "One-prong light-quark jet, pt 500-1000 GeV (QCD background to the boosted taggers)."
gjet = _one_prong(GLUON)
gjet.__doc__ = "One-prong gluon jet, pt 500-1000 GeV: wider and with more particles than a quark jet."


def ato4l(rng, n):
    """BSM: neutral scalar A (50 GeV) -> two virtual bosons -> 4 leptons (e or mu pairs)."""
    b = _Builder(rng, n)
    a = _resonance(rng, n, 50.0, _gamma_pt(rng, n, 2.0, 12.0), 1.2)
    m1 = rng.uniform(12.0, 36.0, n)
    m2 = rng.uniform(0.15, 0.95, n) * (50.0 - m1)
    for v in kin.two_body(rng, a, m1, m2):
        flavour = (rng.random(n) < 0.5).astype(np.int64)
        for lep in kin.two_body(rng, v, 0.0, 0.0):
            b.lepton(lep, flavour)
    b.recoil(a)
    return b.build()


def lqtobtau(rng, n):
    """BSM: leptoquark (80 GeV) -> b tau."""
    b = _Builder(rng, n)
    lq = _resonance(rng, n, 80.0, _gamma_pt(rng, n, 2.0, 15.0), 1.2)
    bq, tau = kin.two_body(rng, lq, M_B, 1.777)
    b.parton(bq, BQUARK)
    b.tau(tau)
    b.recoil(lq)
    return b.build()


def htotautau(rng, n):
    """BSM: neutral scalar h0 (60 GeV) -> tau tau."""
    b = _Builder(rng, n)
    h = _resonance(rng, n, 60.0, _gamma_pt(rng, n, 2.0, 15.0), 1.2)
    for tau in kin.two_body(rng, h, 1.777, 1.777):
        b.tau(tau)
    b.recoil(h)
    return b.build()


def hptotaunu(rng, n):
    """BSM: charged scalar h+ (60 GeV) -> tau nu."""
    b = _Builder(rng, n)
    h = _resonance(rng, n, 60.0, _gamma_pt(rng, n, 2.0, 15.0), 1.2)
    tau, nu = kin.two_body(rng, h, 1.777, 0.0)
    b.tau(tau)
    b.nu(nu)
    b.recoil(h)
    return b.build()


@dataclass(frozen=True)
class Process:
    name: str
    label: int
    hard: object  # callable (rng, n) -> Truth
    description: str


_DEFS = [
    ("zerobias", zerobias, "zero-bias crossings: pileup only (minimum bias with Poisson pileup)"),
    ("qcd", qcd, qcd.__doc__),
    ("ttbar", ttbar, ttbar.__doc__),
    ("hh4b", hh4b, hh4b.__doc__),
    ("wjet", wjet, wjet.__doc__),
    ("zjet", zjet, zjet.__doc__),
    ("hjet", hjet, hjet.__doc__),
    ("topjet", topjet, topjet.__doc__),
    ("qjet", qjet, qjet.__doc__),
    ("gjet", gjet, gjet.__doc__),
    ("ato4l", ato4l, ato4l.__doc__),
    ("lqtobtau", lqtobtau, lqtobtau.__doc__),
    ("htotautau", htotautau, htotautau.__doc__),
    ("hptotaunu", hptotaunu, hptotaunu.__doc__),
]
PROCESSES = {name: Process(name, label, fn, doc.strip()) for label, (name, fn, doc) in enumerate(_DEFS)}
LABELS = {p.label: p.name for p in PROCESSES.values()}
