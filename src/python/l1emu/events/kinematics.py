"""Vectorized relativistic kinematics on arrays of four-vectors (..., 4) = (E, px, py, pz), float64."""

import numpy as np

TWO_PI = 2 * np.pi


def wrap(phi):
    """Angles mapped to [-pi, pi)."""
    return (phi + np.pi) % TWO_PI - np.pi


def from_pt_y_phi_m(pt, y, phi, m):
    """Four-vectors from transverse momentum, rapidity, azimuth and mass."""
    mt = np.sqrt(pt * pt + m * m)
    return np.stack([mt * np.cosh(y), pt * np.cos(phi), pt * np.sin(phi), mt * np.sinh(y)], -1)


def from_pt_eta_phi(pt, eta, phi):
    """Massless four-vectors from (pt, eta, phi)."""
    return np.stack([pt * np.cosh(eta), pt * np.cos(phi), pt * np.sin(phi), pt * np.sinh(eta)], -1)


def pt_eta_phi(p4):
    px, py, pz = p4[..., 1], p4[..., 2], p4[..., 3]
    pt = np.hypot(px, py)
    eta = np.arcsinh(pz / np.maximum(pt, 1e-12))
    return pt, eta, np.arctan2(py, px)


def mass(p4):
    m2 = p4[..., 0] ** 2 - p4[..., 1] ** 2 - p4[..., 2] ** 2 - p4[..., 3] ** 2
    return np.sqrt(np.maximum(m2, 0.0))


def boost(p4, beta):
    """Boost four-vectors p4 (..., 4) by velocity beta (..., 3)."""
    b2 = np.sum(beta * beta, -1)
    b2 = np.minimum(b2, 1 - 1e-15)
    gamma = 1.0 / np.sqrt(1.0 - b2)
    bp = np.sum(beta * p4[..., 1:], -1)
    # (gamma - 1) / b2 written so that it is finite (-> 1/2) at rest
    g2 = np.where(b2 > 1e-18, (gamma - 1.0) / np.where(b2 > 1e-18, b2, 1.0), 0.5)
    p3 = p4[..., 1:] + (g2 * bp + gamma * p4[..., 0])[..., None] * beta
    e = gamma * (p4[..., 0] + bp)
    return np.concatenate([e[..., None], p3], -1)


def two_body(rng, parent, m1, m2):
    """Isotropic two-body decays of ``parent`` (..., 4) into masses m1, m2 (broadcastable)."""
    shape = parent.shape[:-1]
    m = mass(parent)
    m1 = np.broadcast_to(m1, shape)
    m2 = np.broadcast_to(m2, shape)
    # a daughter heavier than allowed (Breit-Wigner tails) is scaled down to threshold
    scale = np.minimum(1.0, 0.999 * m / np.maximum(m1 + m2, 1e-12))
    m1, m2 = m1 * scale, m2 * scale
    p = np.sqrt(np.maximum((m * m - (m1 + m2) ** 2) * (m * m - (m1 - m2) ** 2), 0.0)) / (2 * np.maximum(m, 1e-12))
    cos_t = rng.uniform(-1.0, 1.0, shape)
    sin_t = np.sqrt(1.0 - cos_t * cos_t)
    phi = rng.uniform(-np.pi, np.pi, shape)
    d1 = np.stack([np.sqrt(p * p + m1 * m1), p * sin_t * np.cos(phi), p * sin_t * np.sin(phi), p * cos_t], -1)
    beta = parent[..., 1:] / parent[..., :1]
    d1 = boost(d1, beta)
    return d1, parent - d1


def breit_wigner(rng, m0, width, shape, n_widths=5.0):
    """Masses from a Breit-Wigner truncated at m0 +- n_widths x width."""
    u = rng.uniform(-1.0, 1.0, shape) * np.arctan(2 * n_widths)
    return m0 + 0.5 * width * np.tan(u)


def delta_r(eta1, phi1, eta2, phi2):
    return np.hypot(eta1 - eta2, wrap(phi1 - phi2))
