"""Plots of a menu replay: rates vs threshold, ROC curves, score distributions, overlaps, rate vs pileup.

Input is a replay result (duck-typed): ``result.report`` is the report.json dict (DESIGN.md, "Replay
outputs") and ``result.histograms`` maps every score seed to its raw-code score histogram ``h`` with
``lsb, code_min, background, signals, n_background, n_signals, threshold_raw, rate_budget_hz``.

Figures are built as bare ``matplotlib.figure.Figure`` objects on an Agg canvas, never through pyplot,
inside an ``rc_context`` holding the mplhep CMS style: the user's pyplot figures, backend and rcParams
are left as they were. The label is ``l1emu Simulation`` (mplhep's experiment-label layout, not CMS's
name).

Public helpers: :func:`write_plots`, :func:`auc`, :func:`roc_points`, :func:`rate_curve`,
:func:`wilson_interval`, :func:`safe_name`.
"""

from __future__ import annotations

import collections
import hashlib
import math
import os
import re
from fractions import Fraction

import numpy as np

from ..errors import L1emuError

__all__ = ["write_plots", "auc", "roc_points", "rate_curve", "wilson_interval", "safe_name"]

DPI = 120
MAX_CELL_TEXT_SEEDS = 20
MAX_PILEUP_SEEDS = 8
_NAME_CHARS = 30
_MAX_STEM = 120

_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


# --------------------------------------------------------------------------------------------------
# numbers


def safe_name(name) -> str:
    """``name`` with every character outside ``[A-Za-z0-9_.-]`` replaced by ``_`` (never empty)."""
    s = _UNSAFE.sub("_", str(name))
    return s if s else "_"


def wilson_interval(k, n, z: float = 1.0):
    """Wilson score interval ``(lo, hi)`` of the fraction ``k / n`` (default z = 1: 68%).

    Works elementwise on arrays; where ``n == 0`` both bounds are NaN.
    """
    k = np.asarray(k, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2.0 * n)) / denom
        half = z * np.sqrt(np.clip(p * (1.0 - p) / n + z2 / (4.0 * n * n), 0.0, None)) / denom
        lo = np.clip(centre - half, 0.0, 1.0)
        hi = np.clip(centre + half, 0.0, 1.0)
    lo = np.where(k <= 0, 0.0, lo)
    hi = np.where(k >= n, 1.0, hi)
    bad = ~(n > 0)
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def _counts(a, what: str) -> np.ndarray:
    a = np.asarray(a)
    if a.ndim != 1:
        raise ValueError(f"{what}: expected a 1-d array of counts, got shape {a.shape}")
    if a.size and not np.issubdtype(a.dtype, np.integer):
        if not np.all(np.isfinite(a)) or np.any(a != np.round(a)):
            raise ValueError(f"{what}: counts must be integers")
    a = a.astype(np.int64)
    if np.any(a < 0):
        raise ValueError(f"{what}: counts must be >= 0")
    return a


def _with_failing(counts: np.ndarray, n_total, what: str) -> np.ndarray:
    """Prepend the events outside the histogram (failing ``require``) as one lowest-score bin."""
    if n_total is None:
        return counts
    extra = int(n_total) - int(counts.sum())
    if extra < 0:
        raise ValueError(f"{what}: total {int(n_total)} is smaller than the histogram's {int(counts.sum())}")
    return np.concatenate([[extra], counts]).astype(np.int64)


def auc(background_counts, signal_counts, n_background=None, n_signal=None) -> float:
    """Area under the ROC curve from two histograms on the same score bins (ascending scores).

    The probability that a signal event scores above a background event, ties counted half. If
    ``n_background`` / ``n_signal`` are given, the events they count beyond the histogram (those failing
    the seed's ``require`` cut) score below every bin and tie with each other. Exact (integer arithmetic);
    NaN when either sample is empty.
    """
    b = _counts(background_counts, "background_counts")
    s = _counts(signal_counts, "signal_counts")
    if b.shape != s.shape:
        raise ValueError(f"background and signal histograms differ in length ({b.size} vs {s.size})")
    b = _with_failing(b, n_background, "n_background")
    s = _with_failing(s, n_signal, "n_signal")
    nb, ns = int(b.sum()), int(s.sum())
    if nb == 0 or ns == 0:
        return float("nan")
    below = np.cumsum(b) - b  # background strictly below each bin
    # 2 * (signal-above-background pairs) + (tied pairs), in Python ints: no overflow
    twice = sum(int(si) * (2 * int(bl) + int(bi)) for si, bl, bi in zip(s, below, b) if si)
    return float(Fraction(twice, 2 * nb * ns))


def _reverse_cumsum(a: np.ndarray) -> np.ndarray:
    """``out[i] = a[i:].sum()`` for i in 0..len(a) (the last entry is 0)."""
    out = np.zeros(a.size + 1, dtype=np.int64)
    out[:-1] = np.cumsum(a[::-1])[::-1]
    return out


def _hist_arrays(h):
    bg = _counts(h.background, "background histogram")
    sig = {}
    for name, arr in (getattr(h, "signals", None) or {}).items():
        a = _counts(arr, f"signal histogram {name!r}")
        if a.size != bg.size:
            raise ValueError(f"signal histogram {name!r} has {a.size} codes, background {bg.size}")
        sig[name] = a
    return bg, sig


def _n_signal(h, name, arr) -> int:
    n = (getattr(h, "n_signals", None) or {}).get(name)
    return int(arr.sum()) if n is None else int(n)


def _n_background(h, bg) -> int:
    n = getattr(h, "n_background", None)
    return int(bg.sum()) if n is None else int(n)


def roc_points(h):
    """Background and signal efficiencies of a score seed for every threshold code.

    Returns ``(bkg_eff, {signal: sig_eff})``; entry ``i`` is the threshold code ``h.code_min + i``
    (``i = 0 .. len(h.background)``: the last entry is a threshold above every code, nothing fires).
    Efficiencies are fractions of all events (``h.n_background``, ``h.n_signals``), so events failing the
    seed's ``require`` cut never fire; before prescale. An empty sample gives NaNs. Prepending the point
    (1, 1) (everything accepted) and integrating with the trapezoid rule gives :func:`auc` with the
    failing events at the lowest score.
    """
    bg, sig = _hist_arrays(h)
    nb = _n_background(h, bg)
    with np.errstate(divide="ignore", invalid="ignore"):
        bkg_eff = _reverse_cumsum(bg) / (nb if nb > 0 else np.nan)
        sig_eff = {}
        for name, arr in sig.items():
            ns = _n_signal(h, name, arr)
            sig_eff[name] = _reverse_cumsum(arr) / (ns if ns > 0 else np.nan)
    return bkg_eff, sig_eff


def rate_curve(h, bunch_crossing_rate_hz: float, prescale: float = 1.0):
    """Rate vs threshold code: ``(codes, rate_hz, lo_hz, hi_hz)`` for codes code_min .. code_max + 1.

    rate(t) = N_bkg(code >= t) / n_background * bunch_crossing_rate_hz / prescale; (lo, hi) is the 68%
    Wilson interval of the count fraction, scaled the same way.
    """
    bg, _ = _hist_arrays(h)
    nb = _n_background(h, bg)
    k = _reverse_cumsum(bg)
    codes = int(h.code_min) + np.arange(k.size, dtype=np.int64)
    scale = float(bunch_crossing_rate_hz) / (float(prescale) if prescale else 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = k / (nb if nb > 0 else np.nan) * scale
    lo, hi = wilson_interval(k, np.full(k.shape, nb))
    return codes, rate, lo * scale, hi * scale


def _index_of_code(h, n_codes: int, code):
    """Index into the (len + 1) threshold arrays for a threshold code, clamped to the array."""
    return int(min(max(int(code) - int(h.code_min), 0), n_codes))


# --------------------------------------------------------------------------------------------------
# figure plumbing


def _style():
    import matplotlib.font_manager as fm
    import mplhep

    style = dict(mplhep.style.CMS)
    available = {f.name for f in fm.fontManager.ttflist}
    fonts = [f for f in style.get("font.sans-serif", []) if f in available]
    style["font.sans-serif"] = fonts + ["DejaVu Sans"]
    style["savefig.dpi"] = DPI
    return style


def _new_figure(figsize):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path: str) -> str:
    try:
        fig.savefig(path, dpi=DPI)
    finally:
        fig.clear()
    return path


def _short(name, n: int = _NAME_CHARS) -> str:
    name = str(name)
    if len(name) <= n:
        return name
    tail = max(4, n // 3)
    return name[: n - tail - 1] + "\u2026" + name[-tail:]


def _mathsafe(text: str) -> str:
    """Escape ``$`` so that seed names never switch mathtext on."""
    return str(text).replace("$", r"\$")


def _fmt_rate(r_hz: float) -> str:
    if r_hz is None or not np.isfinite(r_hz):
        return "n/a"
    for unit, scale in (("MHz", 1e6), ("kHz", 1e3)):
        if abs(r_hz) >= scale:
            return f"{r_hz / scale:.3g} {unit}"
    return f"{r_hz:.3g} Hz"


def _menu_text(report) -> str:
    menu = report.get("menu") or ""
    bx = report.get("bunch_crossing_rate_hz")
    right = []
    if menu:
        right.append(_mathsafe(_short(menu, 24)))
    if bx:
        right.append(f"{float(bx) / 1e6:.3g} MHz")
    return ", ".join(right)


def _label(ax, report, loc: int = 0, right: bool = True) -> None:
    """``l1emu Simulation`` on the left, the menu name and bunch-crossing rate on the right."""
    import mplhep

    mplhep.label.exp_label(
        exp="l1emu", llabel="Simulation", rlabel=_menu_text(report) if right else "", loc=loc, ax=ax,  # never None: "(13 TeV)"
        fontsize=20, scilocator_adjust=False,  # True would reach for pyplot's current axes
    )


def _note(ax, text: str) -> None:
    """A grey explanatory line at the bottom centre of the axes (empty samples and the like)."""
    ax.text(0.5, 0.04, text, transform=ax.transAxes, ha="center", va="bottom", fontsize=16, color="dimgray")


def _log_limits(values, floor_fallback: float = 1.0):
    v = np.asarray([x for x in np.ravel(values) if np.isfinite(x) and x > 0], dtype=np.float64)
    if v.size == 0:
        return floor_fallback / 10.0, floor_fallback * 10.0
    lo, hi = v.min(), v.max()
    if hi <= lo:
        return lo / 10.0, hi * 10.0
    return lo / 2.0, hi


# --------------------------------------------------------------------------------------------------
# plots


def _seed_info(report, seed):
    return (report.get("seeds") or {}).get(seed) or {}


def _prescale(info) -> float:
    p = info.get("prescale")
    try:
        p = float(p)
    except (TypeError, ValueError):
        return 1.0
    return p if p > 0 and np.isfinite(p) else 1.0


def _budget(h, info):
    b = getattr(h, "rate_budget_hz", None)
    if b is None:
        b = info.get("rate_budget_hz")
    return float(b) if b is not None and np.isfinite(float(b)) and float(b) > 0 else None


_SeedView = collections.namedtuple("_SeedView", "bx prescale budget thr lsb bg sig nb")


def _seed_view(seed, h, report):
    """What the plots of one seed read: crossing rate, prescale, rate budget, threshold code, LSB, background and
    signal histograms, number of background events."""
    info = _seed_info(report, seed)
    bg, sig = _hist_arrays(h)
    return _SeedView(float(report.get("bunch_crossing_rate_hz") or 0.0), _prescale(info), _budget(h, info),
                     getattr(h, "threshold_raw", None), _lsb(h), bg, sig, _n_background(h, bg))


def _visible_range(h, bg, sig):
    """Index range [i0, i1] of threshold codes worth showing (where any events are, plus the threshold)."""
    total = bg.copy()
    for a in sig.values():
        total = total + a
    nz = np.flatnonzero(total)
    if nz.size:
        i0, i1 = int(nz[0]), int(nz[-1]) + 1
    else:
        i0, i1 = 0, bg.size
    thr = getattr(h, "threshold_raw", None)
    if thr is not None:
        it = _index_of_code(h, bg.size, thr)
        i0, i1 = min(i0, it), max(i1, it)
    if i1 <= i0:
        i1 = i0 + 1
    return i0, min(i1, bg.size)


def _lsb(h) -> float:
    lsb = float(getattr(h, "lsb", 1.0) or 1.0)
    return lsb if np.isfinite(lsb) and lsb > 0 else 1.0


def _plot_rate_vs_threshold(seed, h, report, path):
    bx, prescale, budget, thr, lsb, bg, sig, nb = _seed_view(seed, h, report)
    codes, rate, lo, hi = rate_curve(h, bx, prescale)
    i0, i1 = _visible_range(h, bg, sig)
    sl = slice(i0, i1 + 1)
    x = codes[sl] * lsb
    rate_s, lo_s, hi_s = rate[sl], lo[sl], hi[sl]
    if thr is not None and int(thr) < codes[0]:  # below the histogram: everything in it fires
        x = np.concatenate([[int(thr) * lsb], x])
        rate_s, lo_s, hi_s = (np.concatenate([[a[0]], a]) for a in (rate_s, lo_s, hi_s))
    if thr is not None and int(thr) > codes[-1]:  # above it: nothing fires
        x = np.concatenate([x, [int(thr) * lsb]])
        rate_s, lo_s, hi_s = (np.concatenate([a, [a[-1]]]) for a in (rate_s, lo_s, hi_s))

    fig = _new_figure((10, 9))
    ax = fig.add_subplot()
    floor_candidates = list(rate_s) + list(hi_s) + ([budget] if budget else [])
    ylo, yhi = _log_limits(floor_candidates, floor_fallback=bx or 1.0)
    ax.set_yscale("log")
    ax.fill_between(x, np.clip(lo_s, ylo, None), np.clip(hi_s, ylo, None), step="pre",
                    color="#5790fc", alpha=0.35, linewidth=0, label="68% interval (Wilson)")
    r = np.where(rate_s > 0, rate_s, np.nan)
    ax.step(x, r, where="pre", color="#1f3d99", linewidth=2,
            label="Background rate" + (f" (prescale {prescale:g})" if prescale != 1 else ""))
    if budget is not None:
        ax.axhline(budget, color="#e42536", linestyle="--", linewidth=2,
                   label=f"Rate budget {_fmt_rate(budget)}")
    if thr is not None:
        it = _index_of_code(h, bg.size, thr)
        xt = int(thr) * lsb
        rt, lot, hit = rate[it], lo[it], hi[it]
        ax.axvline(xt, color="#f89c20", linewidth=2,
                   label=f"Threshold {xt:.4g} (code {int(thr)})")
        if np.isfinite(rt):
            yt = rt if rt > 0 else ylo
            ax.plot([xt], [yt], marker="o", color="#f89c20", markersize=10, zorder=5,
                    label=f"Rate at threshold {_fmt_rate(rt)} [{_fmt_rate(lot)}, {_fmt_rate(hit)}]")
    if nb == 0:
        _note(ax, "no background events")
    elif not np.any(bg):
        _note(ax, "no background event passes the seed's require cut")
    # headroom for the legend
    ax.set_ylim(ylo, yhi * 10 ** (0.45 * max(1.0, math.log10(yhi / ylo))))
    xl, xr = x[0], (x[-1] if x[-1] > x[0] else x[0] + lsb)
    if thr is not None:  # keep the threshold line off the frame
        pad = 0.015 * (xr - xl)
        xl = xl - pad if int(thr) * lsb <= xl else xl
        xr = xr + pad if int(thr) * lsb >= xr else xr
    ax.set_xlim(xl, xr)
    ax.set_xlabel(f"{_mathsafe(_short(seed, 40))} threshold")
    ax.set_ylabel("Rate [Hz]")
    ax.tick_params(axis="x", which="both", top=False)
    top = ax.secondary_xaxis("top", functions=(lambda v: v / lsb, lambda c: c * lsb))
    top.set_xlabel("Threshold [raw code]", fontsize=18)
    top.tick_params(axis="x", labelsize=16)
    ax.legend(loc="upper right", fontsize=15, frameon=False, title=_menu_text(report) or None,
              title_fontsize=15)
    _label(ax, report, loc=2, right=False)
    return _save(fig, path)


_SIG_COLORS = ["#e42536", "#5790fc", "#f89c20", "#964a8b", "#9c9ca1", "#7a21dd", "#2ca02c", "#8c564b"]


def _plot_roc(seed, h, report, path):
    bx, prescale, budget, thr, _, bg, sig, nb = _seed_view(seed, h, report)
    bkg_eff, sig_eff = roc_points(h)
    rate_khz = bkg_eff * bx / prescale / 1e3

    fig = _new_figure((10, 9))
    ax = fig.add_subplot()
    ax.set_xscale("log")
    positive = rate_khz[np.isfinite(rate_khz) & (rate_khz > 0)]
    if positive.size:
        xlo, xhi = positive.min() / 2.0, positive.max() * 2.0
    else:
        xlo, xhi = (bx / 1e3 or 1.0) * 1e-6, (bx / 1e3 or 1.0)
    mask = np.isfinite(rate_khz) & (rate_khz > 0)
    it = _index_of_code(h, bg.size, thr) if thr is not None else None
    if not sig:
        ax.text(0.5, 0.5, "no signal samples", transform=ax.transAxes, ha="center", va="center",
                fontsize=20, color="gray")
    for i, (name, eff) in enumerate(sig_eff.items()):
        color = _SIG_COLORS[i % len(_SIG_COLORS)]
        ns = _n_signal(h, name, sig[name])
        label = _mathsafe(_short(name, 24))
        if ns == 0 or nb == 0:
            why = "no events" if ns == 0 else "no background events"
            ax.plot([], [], color=color, linewidth=2, label=f"{label} ({why})")
            continue
        a = auc(bg, sig[name], nb, ns)
        e = eff / prescale
        ax.plot(rate_khz[mask], e[mask], color=color, linewidth=2.5, drawstyle="steps-post",
                label=f"{label} (AUC = {a:.3f})")
        if it is not None and np.isfinite(rate_khz[it]) and np.isfinite(e[it]):
            if rate_khz[it] > 0:
                ax.plot([rate_khz[it]], [e[it]], marker="*", markersize=18, color=color,
                        markeredgecolor="black", zorder=5, linestyle="none")
            else:  # zero rate: on the left edge of the log axis, pointing left
                ax.plot([0.0], [e[it]], marker="<", markersize=14, color=color, markeredgecolor="black",
                        zorder=5, linestyle="none", clip_on=False, transform=ax.get_yaxis_transform())
    if it is not None and any(_n_signal(h, n, a) > 0 for n, a in sig.items()) and nb > 0:
        ax.plot([], [], marker="*", markersize=18, color="white", markeredgecolor="black",
                linestyle="none", label=f"Operating point (code {int(thr)}, {_fmt_rate(rate_khz[it] * 1e3)})")
    if budget is not None:
        ax.axvline(budget / 1e3, color="gray", linestyle="--", linewidth=2,
                   label=f"Rate budget {_fmt_rate(budget)}")
        xlo, xhi = min(xlo, budget / 1e3 / 2), max(xhi, budget / 1e3 * 2)
    if nb == 0 or not np.any(bg):
        _note(ax, "no background event passes: efficiencies at 0 Hz on the left edge"
              if sig else "no background event passes")
    ax.set_xlim(xlo, xhi)
    ax.set_ylim(0.0, 1.3 / prescale if prescale > 1 else 1.3)
    ax.set_xlabel("Background rate [kHz]")
    ax.set_ylabel("Signal efficiency" + (f" (prescale {prescale:g})" if prescale != 1 else ""))
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper left", fontsize=15, frameon=False,
                  title=_mathsafe(_short(seed, 36)), title_fontsize=16)
    else:
        ax.text(0.04, 0.95, _mathsafe(_short(seed, 36)), transform=ax.transAxes, ha="left", va="top",
                fontsize=16)
    _label(ax, report, loc=0)
    return _save(fig, path)


def _rebin(h, bg, sig, i0, i1, target: int = 60):
    """Group codes [i0, i1) into at most ~``target`` bins of whole codes, a bin edge on the threshold."""
    n = max(i1 - i0, 1)
    k = max(1, int(math.ceil(n / target))) if n > 1.5 * target else 1
    thr = getattr(h, "threshold_raw", None)
    start = i0
    if k > 1 and thr is not None:
        it = int(thr) - int(h.code_min)
        start = i0 - ((i0 - it) % k)
    edges_idx = np.arange(start, i1 + k, k)
    if edges_idx[-1] < i1:
        edges_idx = np.append(edges_idx, i1)

    def group(a):
        out = np.zeros(edges_idx.size - 1, dtype=np.int64)
        for j in range(out.size):
            lo, hi = max(edges_idx[j], 0), min(edges_idx[j + 1], a.size)
            if hi > lo:
                out[j] = a[lo:hi].sum()
        return out

    return edges_idx, group(bg), {name: group(a) for name, a in sig.items()}, k


def _plot_score(seed, h, report, path):
    import mplhep

    _, _, _, thr, lsb, bg, sig, nb = _seed_view(seed, h, report)
    i0, i1 = _visible_range(h, bg, sig)
    edges_idx, gbg, gsig, k = _rebin(h, bg, sig, i0, i1)
    edges = (int(h.code_min) + edges_idx) * lsb

    fig = _new_figure((10, 9))
    ax = fig.add_subplot()
    ax.set_yscale("log")
    fractions = []
    hist_args = []
    for name, counts, n_all, color, style in (
        [("Background", gbg, nb, "black", "-")]
        + [(f"{_mathsafe(_short(s, 24))}", gsig[s], _n_signal(h, s, sig[s]),
            _SIG_COLORS[i % len(_SIG_COLORS)], "-") for i, s in enumerate(gsig)]
    ):
        total = int(counts.sum())
        if total == 0:
            ax.plot([], [], color=color, linewidth=2, label=f"{name} (no events)")
            continue
        frac = counts / total
        fractions.extend(frac[frac > 0])
        lab = name
        if n_all > total:
            lab += f" ({100.0 * total / n_all:.3g}% pass require)"
        hist_args.append((frac, lab, color, style))
    for frac, lab, color, style in hist_args:
        mplhep.histplot(frac, edges, histtype="step", ax=ax, color=color, linestyle=style,
                        linewidth=2.5, label=lab, flow=None)
    ylo, yhi = _log_limits(fractions, floor_fallback=0.1)
    if not hist_args:
        _note(ax, "no events")
    ax.set_ylim(ylo, yhi * 10 ** (0.5 * max(1.0, math.log10(yhi / ylo))))
    if thr is not None:
        ax.axvline(int(thr) * lsb, color="#f89c20", linewidth=2, linestyle="--",
                   label=f"Threshold {int(thr) * lsb:.4g} (code {int(thr)})")
    xl, xr = edges[0], edges[-1]
    if thr is not None:
        pad = 0.02 * max(xr - xl, lsb)
        xl, xr = min(xl, int(thr) * lsb - pad), max(xr, int(thr) * lsb + pad)
    ax.set_xlim(xl, xr)
    ax.set_xlabel(f"{_mathsafe(_short(seed, 40))} score")
    ax.set_ylabel("Fraction of events" + (f" / {k} codes" if k > 1 else " / code"))
    ax.legend(loc="upper right", fontsize=15, frameon=False)
    _label(ax, report, loc=0)
    return _save(fig, path)


def _plot_overlap(report, path):
    ov = report.get("overlap") or {}
    seeds = list(ov.get("seeds") or [])
    counts = np.asarray(ov.get("counts") or [], dtype=np.float64)
    n = len(seeds)
    if n == 0 or counts.shape != (n, n):
        return None
    diag = np.diag(counts).copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = counts / diag[:, None]
    frac[~(diag > 0)] = np.nan

    side = min(max(10.0, 0.4 * n + 6.0), 30.0)
    fig = _new_figure((side + 2.0, side))
    ax = fig.add_subplot()
    import matplotlib

    cmap = matplotlib.colormaps["viridis"].with_extremes(bad="#d9d9d9")
    im = ax.imshow(np.ma.masked_invalid(frac), cmap=cmap, vmin=0.0, vmax=1.0, origin="upper",
                   aspect="equal", interpolation="nearest")
    cb = fig.colorbar(im, ax=ax, pad=0.02, aspect=30)
    cb.set_label(r"$N(A \wedge B)\,/\,N(A)$")
    names = [_mathsafe(_short(s)) for s in seeds]
    label_size = 16 if n <= 12 else max(7, int(16 - 0.25 * (n - 12)))
    ax.set_xticks(np.arange(n), names, rotation=60, ha="right", rotation_mode="anchor",
                  fontsize=label_size)
    ax.set_yticks(np.arange(n), names, fontsize=label_size)
    ax.tick_params(which="minor", length=0)
    ax.tick_params(which="both", top=False, right=False)
    ax.set_xlabel("Seed B", loc="center")
    ax.set_ylabel("Seed A (fired)", loc="center")
    if n <= MAX_CELL_TEXT_SEEDS:
        size = 16 if n <= 8 else max(7, int(16 - 0.6 * (n - 8)))
        for i in range(n):
            for j in range(n):
                v = frac[i, j]
                text = "n/a" if not np.isfinite(v) else f"{v:.2f}"
                color = "black" if (np.isfinite(v) and v > 0.6) else "white"
                if not np.isfinite(v):
                    color = "black"
                ax.text(j, i, text, ha="center", va="center", fontsize=size, color=color)
    _label(ax, report, loc=0)
    return _save(fig, path)


_PU_MARKERS = ["o", "s", "^", "v", "D", "P", "X", "<", ">"]
_PU_COLORS = ["#5790fc", "#f89c20", "#e42536", "#964a8b", "#9c9ca1", "#7a21dd", "#2ca02c", "#8c564b"]


def _plot_rate_vs_pileup(report, path):
    pu = report.get("pileup") or {}
    edges = np.asarray(pu.get("edges") or [], dtype=np.float64)
    n_ev = np.asarray(pu.get("n_events") or [], dtype=np.float64)
    counts = pu.get("counts") or {}
    if edges.size < 2 or n_ev.size != edges.size - 1 or not counts:
        return None
    bx = float(report.get("bunch_crossing_rate_hz") or 0.0)
    seeds_info = report.get("seeds") or {}

    def order_key(name):
        r = (seeds_info.get(name) or {}).get("rate_hz")
        total = float(np.sum(counts[name]))
        return (r if r is not None and np.isfinite(r) else -1.0, total)

    names = [s for s in counts if s != "total"]
    names.sort(key=order_key, reverse=True)
    chosen = names[:MAX_PILEUP_SEEDS]
    if "total" in counts:
        chosen.append("total")

    centres = 0.5 * (edges[1:] + edges[:-1])
    half = 0.5 * (edges[1:] - edges[:-1])
    fig = _new_figure((14, 9))
    ax = fig.add_subplot()
    ax.set_yscale("log")
    shown = []
    n_sel = len(chosen)
    width = np.min(half) if half.size else 0.0
    for i, name in enumerate(chosen):
        c = np.asarray(counts[name], dtype=np.float64)
        if c.size != n_ev.size:
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            rate = c / n_ev * bx
        lo, hi = wilson_interval(c, n_ev)
        lo, hi = lo * bx, hi * bx
        ok = (n_ev > 0) & (rate > 0)
        if not np.any(ok):
            ax.plot([], [], linestyle="none", marker=_PU_MARKERS[i % len(_PU_MARKERS)],
                    label=f"{_mathsafe(_short(name))} (no events)")
            continue
        is_total = name == "total"
        color = "black" if is_total else _PU_COLORS[i % len(_PU_COLORS)]
        # small horizontal offsets so that the error bars of different seeds do not hide each other
        dx = (i - (n_sel - 1) / 2.0) * 0.08 * width if n_sel > 1 else 0.0
        ax.errorbar(centres[ok] + dx, rate[ok], xerr=half[ok], yerr=[rate[ok] - lo[ok], hi[ok] - rate[ok]],
                    linestyle="none", marker=_PU_MARKERS[i % len(_PU_MARKERS)], markersize=9,
                    color=color, elinewidth=1.5, capsize=0,
                    label=("Total" if is_total else _mathsafe(_short(name))))
        shown.extend(list(lo[ok]) + list(hi[ok]) + list(rate[ok]))
    ylo, yhi = _log_limits(shown, floor_fallback=bx or 1.0)
    ax.set_ylim(ylo, yhi * 10 ** (0.3 * max(1.0, math.log10(yhi / ylo))))
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("Number of pileup interactions")
    ax.set_ylabel("Rate [Hz]")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=14, frameon=False)
    _label(ax, report, loc=0)
    return _save(fig, path)


def _plot_turn_on(report, sample, path, max_seeds=8):
    """Efficiency (before prescale) vs leading-jet pt in one sample: score seeds first, then the cut seeds
    that fire most."""
    t = report.get("turn_on") or {}
    edges = np.asarray(t.get("edges") or [], dtype=np.float64)
    n_ev = np.asarray((t.get("n_events") or {}).get(sample) or [], dtype=np.float64)
    counts = (t.get("counts") or {}).get(sample) or {}
    if edges.size < 2 or n_ev.size != edges.size - 1 or not counts or n_ev.sum() == 0:
        return None
    seeds_info = report.get("seeds") or {}
    score = [s for s in counts if (seeds_info.get(s) or {}).get("kind") == "score"]
    cuts = sorted((s for s in counts if s not in score), key=lambda s: -float(np.sum(counts[s])))
    chosen = (score + cuts)[:max_seeds]
    centres, half = 0.5 * (edges[1:] + edges[:-1]), 0.5 * (edges[1:] - edges[:-1])
    fig = _new_figure((14, 9))
    ax = fig.add_subplot()
    ok = n_ev > 0
    for i, name in enumerate(chosen):
        c = np.asarray(counts[name], dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            eff = np.where(ok, c / np.maximum(n_ev, 1), np.nan)
        lo, hi = wilson_interval(c, n_ev)
        ax.errorbar(centres[ok], eff[ok], xerr=half[ok], yerr=[eff[ok] - lo[ok], hi[ok] - eff[ok]],
                    linestyle="none", marker=_PU_MARKERS[i % len(_PU_MARKERS)], markersize=8,
                    color=_PU_COLORS[i % len(_PU_COLORS)], elinewidth=1.2, capsize=0,
                    label=_mathsafe(_short(name)))
    ax.set_ylim(0, 1.35)
    ax.set_xlim(edges[0], edges[-1])
    ax.set_xlabel("Leading jet $p_T$ [GeV]")
    ax.set_ylabel(f"Efficiency ({_mathsafe(_short(sample))}, before prescale)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=14, frameon=False)
    _label(ax, report, loc=0)
    return _save(fig, path)


# --------------------------------------------------------------------------------------------------
# entry point


def plots_available() -> bool:
    """Whether the 'plots' extra (matplotlib, mplhep) is installed."""
    import importlib.util

    return all(importlib.util.find_spec(name) is not None for name in ("matplotlib", "mplhep"))


def write_plots(result, folder) -> list[str]:
    """Write the replay's PNG plots into ``folder`` (created if missing); returns the paths written.

    Per score seed: ``rate_vs_threshold_<seed>.png``, ``roc_<seed>.png``, ``score_<seed>.png``; for the
    menu: ``overlap.png`` (if the report has overlaps) and ``rate_vs_pileup.png`` (if it has pileup bins).
    Seed names go through :func:`safe_name` (cut to 120 characters plus a hash of the name when longer);
    names that collide after it get ``_2``, ``_3``... suffixes. L1emuError if matplotlib or mplhep is missing.
    """
    if not plots_available():
        raise L1emuError("the plots need matplotlib and mplhep: pip install 'l1emu[plots]'")
    import matplotlib

    report = getattr(result, "report", None) or {}
    histograms = getattr(result, "histograms", None) or {}
    folder = os.fspath(folder)
    os.makedirs(folder, exist_ok=True)
    written: list[str] = []
    used: set[str] = set()

    def unique(stem: str) -> str:
        name, i = stem, 2
        while name.lower() in used:
            name = f"{stem}_{i}"
            i += 1
        used.add(name.lower())
        return name

    with matplotlib.rc_context(_style()):
        for seed, h in histograms.items():
            stem = safe_name(seed)
            if len(stem) > _MAX_STEM:  # file names stay well below the 255-byte limit
                digest = hashlib.sha1(str(seed).encode()).hexdigest()[:8]
                stem = f"{stem[:_MAX_STEM - 9]}_{digest}"
            stem = unique(stem)
            for kind, fn in (("rate_vs_threshold", _plot_rate_vs_threshold), ("roc", _plot_roc),
                             ("score", _plot_score)):
                written.append(fn(seed, h, report, os.path.join(folder, f"{kind}_{stem}.png")))
        p = _plot_overlap(report, os.path.join(folder, "overlap.png"))
        if p:
            written.append(p)
        p = _plot_rate_vs_pileup(report, os.path.join(folder, "rate_vs_pileup.png"))
        if p:
            written.append(p)
        for sample in (report.get("signals") or {}):
            p = _plot_turn_on(report, sample, os.path.join(folder, f"turn_on_{unique(safe_name(sample))}.png"))
            if p:
                written.append(p)
    return written
