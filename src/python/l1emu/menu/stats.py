"""Counting statistics of a replay: uGT prescale counters, 68% intervals, thresholds solved from
histograms of raw score codes. Numpy and the standard library only."""

import math

import numpy as np

CL68 = 0.6826894921370859  # two-sided 1 sigma
Z68 = 1.0
PRESCALE_STEP = 100  # uGT fractional prescales: the counter advances by 100 per accepted event


class PrescaleCounter:
    """The uGT prescale counter (CMSSW l1t::GlobalBoard::PrescaleCounter): each event the seed accepts adds
    100 to the counter; when it reaches round(100 x P) the event passes and the counter drops by that much.
    P = 0 disables the seed. Vectorized over the accepted events of a chunk; the state carries across chunks."""

    def __init__(self, prescale, initial=0):
        self.count = int(round(prescale * PRESCALE_STEP))
        self.counter = int(initial)

    @property
    def passes_all(self):
        """Prescale 1 from a zero counter: every accepted event passes, the counter stays 0."""
        return self.count == PRESCALE_STEP and self.counter == 0

    def apply(self, accepted):
        """Boolean array: which of the events with ``accepted`` True pass the prescale."""
        accepted = np.asarray(accepted, bool)
        out = np.zeros_like(accepted)
        if self.count == 0:
            return out
        idx = np.flatnonzero(accepted)
        k = np.arange(1, len(idx) + 1, dtype=np.int64)
        level = (self.counter + PRESCALE_STEP * k) // self.count
        prev = np.concatenate([[self.counter // self.count], level[:-1]])  # counter < count, so 0
        out[idx] = level > prev
        self.counter = (self.counter + PRESCALE_STEP * len(idx)) % self.count
        return out


def wilson(k, n, z=Z68):
    """68% Wilson score interval [lo, hi] of the fraction k / n."""
    if n <= 0:
        return [0.0, 1.0]
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return [max(0.0, centre - half), min(1.0, centre + half)]


def _betacf(a, b, x):
    # continued fraction of the incomplete beta function (Lentz's method)
    tiny, qab, qap, qam = 1e-300, a + b, a + 1, a - 1
    c, d = 1.0, 1 - qab * x / qap
    d = 1 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1 + aa * d
        d = 1 / (d if abs(d) > tiny else tiny)
        c = 1 + aa / c if abs(1 + aa / c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1) < 1e-15:
            break
    return h


def betainc(a, b, x):
    """Regularized incomplete beta function I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    ln = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    if x < (a + 1) / (a + b + 2):
        return math.exp(ln) * _betacf(a, b, x) / a
    return 1 - math.exp(ln) * _betacf(b, a, 1 - x) / b


def _beta_ppf(q, a, b):
    lo, hi = 0.0, 1.0
    for _ in range(200):  # bisection to double precision
        mid = 0.5 * (lo + hi)
        if betainc(a, b, mid) < q:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-16:
            break
    return 0.5 * (lo + hi)


def clopper_pearson(k, n, cl=CL68):
    """Exact (Clopper-Pearson) central interval [lo, hi] of the efficiency k / n."""
    if n <= 0:
        return [0.0, 1.0]
    alpha = 1 - cl
    lo = 0.0 if k == 0 else _beta_ppf(alpha / 2, k, n - k + 1)
    hi = 1.0 if k == n else _beta_ppf(1 - alpha / 2, k + 1, n - k)
    return [lo, hi]


def solve_threshold(codes, counts, n_events, bx_rate_hz, target_hz, prescale=1.0, code_min=None):
    """The lowest raw threshold t (the seed fires on code >= t) whose rate does not exceed ``target_hz``:
    rate(t) = #(code >= t) / n_events x bx_rate / prescale, from a histogram (sorted distinct ``codes`` and
    their ``counts``). Returns (t, rate at t). Every threshold above the highest code gives rate 0; when no
    code is above the type's range, t = highest code + 1 is still returned (the caller checks the type)."""
    codes = np.asarray(codes, np.int64)
    counts = np.asarray(counts, np.int64)
    scale = bx_rate_hz / max(n_events, 1) / (prescale if prescale else math.inf)
    # at t = codes[i], the rate counts codes[i:]; between distinct codes it is flat, so only codes matter
    above = np.cumsum(counts[::-1])[::-1]  # events with code >= codes[i]
    ok = np.flatnonzero(above * scale <= target_hz)
    if len(ok) == len(codes) and len(codes):  # even the lowest code is within the budget: fire on everything
        t = int(codes[0]) if code_min is None else int(code_min)
        return t, float(above[0] * scale)
    if len(ok) == 0:
        t = int(codes[-1]) + 1 if len(codes) else (0 if code_min is None else int(code_min))
        return t, 0.0
    i = int(ok[0])
    # the lowest threshold reaching the same rate as codes[i] is one above the code below it
    t = int(codes[i - 1]) + 1 if i > 0 else int(codes[i])
    return t, float(above[i] * scale)
