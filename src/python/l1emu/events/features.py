"""Jet substructure features (the 16 of the hls4ml jet data set) and jet images, from constituents.

Inputs are constituents (n, k, 4) = (pt, eta_rel, phi_rel, pid), zero-padded. The energy correlation
functions use z_i = pt_i / sum pt and angles R_ij in the (eta, phi) plane (Larkoski, Salam, Thaler
2013; Moult, Necib, Thaler 2016). No mMDT grooming is applied: the '_mmdt' names are kept so that the
columns line up with the hls4ml data set, but the values are ungroomed (see docs/events.md).
"""

from functools import lru_cache
from itertools import combinations

import numpy as np

from .record import JET_FEATURES, JET_IMAGE_HALF_WIDTH, JET_IMAGE_SIZE

_TINY = 1e-12
F32_TINY = np.float32(1e-12)
F32 = np.float32


@lru_cache(maxsize=32)
def _index(k):
    """Pair (i < j) and triple (i < j < l) index arrays; for triples also the positions of their
    three pairs (ij, il, jl) in the pair list."""
    pairs = np.array(list(combinations(range(k), 2)), np.int64).reshape(-1, 2)
    pos = {tuple(p): n for n, p in enumerate(pairs.tolist())}
    tri = np.array(list(combinations(range(k), 3)), np.int64).reshape(-1, 3)
    tri_pairs = np.array([[pos[(i, j)], pos[(i, l)], pos[(j, l)]] for i, j, l in tri.tolist()], np.int64)
    return pairs, tri, tri_pairs.reshape(-1, 3)


def jet_mass(const):
    """Invariant mass of massless constituents (longitudinally boost invariant, so relative eta works)."""
    pt, eta, phi = (const[..., i].astype(np.float64) for i in range(3))
    e = np.sum(pt * np.cosh(eta), -1)
    px = np.sum(pt * np.cos(phi), -1)
    py = np.sum(pt * np.sin(phi), -1)
    pz = np.sum(pt * np.sinh(eta), -1)
    return np.sqrt(np.maximum(e * e - px * px - py * py - pz * pz, 0.0))


def hls4ml_features(const, multiplicity=None):
    """(n, 16) float32 features in the order of record.JET_FEATURES (ungroomed approximations).

    ``const`` must be pt-ordered with zero padding at the end. ``multiplicity`` (n,) overrides the
    count of non-zero constituents (the generator knows the particles beyond the 16 stored ones)."""
    const = np.asarray(const, np.float32)
    nonzero = const[..., 0] > 0
    k = max(int(nonzero.sum(-1).max(initial=0)), 3)  # zero padding sits at the end: drop it
    const = const[:, :k] if const.shape[1] >= k else np.pad(const, ((0, 0), (0, k - const.shape[1]), (0, 0)))
    pt, eta, phi = const[..., 0], const[..., 1], const[..., 2]
    z = pt / np.maximum(pt.sum(-1, keepdims=True), F32_TINY)
    pairs, tri, tri_pairs = _index(k)
    i, j = pairs[:, 0], pairs[:, 1]
    zz = z[:, i] * z[:, j]  # (n, pairs)
    r = np.sqrt((eta[:, i] - eta[:, j]) ** 2 + (phi[:, i] - phi[:, j]) ** 2)
    r2 = r * r
    e2_1, e2_2 = (zz * r).sum(-1), (zz * r2).sum(-1)
    c1_b0 = (zz * (r > 0)).sum(-1)  # beta = 0: pairs of distinct particles

    a, b, c = r[:, tri_pairs[:, 0]], r[:, tri_pairs[:, 1]], r[:, tri_pairs[:, 2]]
    z3 = zz[:, tri_pairs[:, 0]] * z[:, tri[:, 2]]
    lo = np.minimum(np.minimum(a, b), c)
    mid = np.maximum(np.minimum(a, b), np.minimum(np.maximum(a, b), c))
    abc = a * b * c
    lomid = lo * mid
    e3_1 = (z3 * abc).sum(-1, dtype=np.float64)
    e3_2 = (z3 * abc * abc).sum(-1, dtype=np.float64)
    m3_1, m3_2 = (z3 * lo).sum(-1, dtype=np.float64), (z3 * lo * lo).sum(-1, dtype=np.float64)  # 1e3
    n3_1 = (z3 * lomid).sum(-1, dtype=np.float64)  # 2e3: two smallest angles
    n3_2 = (z3 * lomid * lomid).sum(-1, dtype=np.float64)
    e2_1, e2_2 = e2_1.astype(np.float64), e2_2.astype(np.float64)

    def ratio(num, den):
        return np.where(den > _TINY, num / np.maximum(den, _TINY), 0.0)

    zlogz = np.sum(z * np.log(np.where(z > 0, z, F32(1))), -1)
    mult = nonzero.sum(-1) if multiplicity is None else np.asarray(multiplicity)
    cols = {
        "zlogz": zlogz,
        "c1_b0_mmdt": c1_b0,
        "c1_b1_mmdt": e2_1,
        "c1_b2_mmdt": e2_2,
        "c2_b1_mmdt": ratio(e3_1, e2_1**2),
        "c2_b2_mmdt": ratio(e3_2, e2_2**2),
        "d2_b1_mmdt": ratio(e3_1, e2_1**3),
        "d2_b2_mmdt": ratio(e3_2, e2_2**3),
        "d2_a1_b1_mmdt": ratio(e3_1, e2_1**3),  # D2^(alpha=1, beta=1) is D2^(1) by definition
        "d2_a1_b2_mmdt": ratio(e3_1, e2_2**1.5),
        "m2_b1_mmdt": ratio(m3_1, e2_1),
        "m2_b2_mmdt": ratio(m3_2, e2_2),
        "n2_b1_mmdt": ratio(n3_1, e2_1**2),
        "n2_b2_mmdt": ratio(n3_2, e2_2**2),
        "mass_mmdt": jet_mass(const),
        "multiplicity": mult,
    }
    return np.stack([cols[name] for name in JET_FEATURES], -1).astype(np.float32)


def jet_image(const, size=JET_IMAGE_SIZE, half_width=JET_IMAGE_HALF_WIDTH):
    """(n, size, size) pT images, preprocessed as in jet-image studies: translated so the pt centroid
    is at the centre, rotated so the principal axis of the pt distribution is vertical, flipped so
    that the hardest constituent is in the upper half and the right half carries more pt.
    Image axes: [row = vertical (rotated eta), column = horizontal (rotated phi)]."""
    const = np.asarray(const, np.float32)
    n, k, _ = const.shape
    pt, x, y = const[..., 0], const[..., 1], const[..., 2]
    w = pt / np.maximum(pt.sum(-1, keepdims=True), _TINY)
    x = x - (w * x).sum(-1, keepdims=True)
    y = y - (w * y).sum(-1, keepdims=True)
    sxx, syy, sxy = (w * x * x).sum(-1), (w * y * y).sum(-1), (w * x * y).sum(-1)
    # angle of the principal axis; rotate it onto the vertical (x) image axis
    alpha = 0.5 * np.arctan2(2 * sxy, sxx - syy)
    ca, sa = np.cos(alpha)[:, None], np.sin(alpha)[:, None]
    u = ca * x + sa * y  # along the principal axis (vertical)
    v = -sa * x + ca * y
    lead = np.argmax(pt, -1)[:, None]
    flip_u = np.where(np.take_along_axis(u, lead, -1) < 0, -1.0, 1.0)
    u = u * flip_u
    flip_v = np.where((pt * (v > 0)).sum(-1, keepdims=True) < (pt * (v < 0)).sum(-1, keepdims=True), -1.0, 1.0)
    v = v * flip_v
    pix = 2 * half_width / size
    row = np.floor((half_width - u) / pix).astype(np.int64)  # upper half = rows 0 .. size/2 - 1
    col = np.floor((v + half_width) / pix).astype(np.int64)
    ok = (pt > 0) & (row >= 0) & (row < size) & (col >= 0) & (col < size)
    flat = (np.arange(n)[:, None] * size + row) * size + col
    img = np.zeros(n * size * size, np.float32)
    np.add.at(img, flat[ok], pt[ok])  # accumulates constituents that share a pixel
    return img.reshape(n, size, size)
