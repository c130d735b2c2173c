"""Replay results: report.json (DESIGN.md schema), rates.csv, the terminal table and the plots."""

from dataclasses import dataclass
import csv
import json
import math
import os

import numpy as np

from .replay import TURN_ON_EDGES
from .stats import clopper_pearson, solve_threshold, wilson

FORMAT, VERSION = "l1emu-rates", 1
_MAX_DENSE_CODES = 1 << 21  # plots rebin wider score ranges by powers of two


@dataclass
class SeedHistograms:
    """Dense raw-code histograms of one score seed (events passing its require cut), for plots."""

    lsb: float
    code_min: int
    background: np.ndarray
    signals: dict
    n_background: int
    n_signals: dict
    threshold_raw: int | None
    rate_budget_hz: float | None

    @classmethod
    def build(cls, seed, spec, sparse_bkg, sparse_sigs, n_bkg, n_sigs):
        all_codes = [h.codes for h in [sparse_bkg, *sparse_sigs.values()] if h is not None and len(h.codes)]
        lo = min(int(c[0]) for c in all_codes) if all_codes else 0
        hi = max(int(c[-1]) for c in all_codes) if all_codes else 0
        factor = 1
        while (hi - lo) // factor + 1 > _MAX_DENSE_CODES:
            factor *= 2
        lo_bin = lo // factor
        n_bins = hi // factor - lo_bin + 1

        def dense(h):
            out = np.zeros(n_bins, np.int64)
            if h is not None and len(h.codes):
                np.add.at(out, h.codes // factor - lo_bin, h.counts)
            return out

        thr = None if seed.threshold_raw is None else seed.threshold_raw // factor
        return cls(2.0 ** -spec.frac * factor, lo_bin, dense(sparse_bkg),
                   {k: dense(v) for k, v in sparse_sigs.items()}, n_bkg, dict(n_sigs), thr, seed.rate_hz)


def _auc(bkg_codes, bkg_counts, n_bkg, sig_codes, sig_counts, n_sig):
    """P(signal scores above background), ties half; events failing require score lowest of all."""
    if n_bkg == 0 or n_sig == 0:
        return None
    codes = np.union1d(bkg_codes, sig_codes)
    b = np.zeros(len(codes) + 1, np.float64)
    s = np.zeros(len(codes) + 1, np.float64)
    b[1:][np.searchsorted(codes, bkg_codes)] += bkg_counts
    s[1:][np.searchsorted(codes, sig_codes)] += sig_counts
    b[0], s[0] = n_bkg - b[1:].sum(), n_sig - s[1:].sum()  # failing require: one lowest bin
    below = np.cumsum(b) - b
    return float(((s * below).sum() + 0.5 * (s * b).sum()) / (n_bkg * n_sig))


class ReplayResult:
    """What a replay measured: ``report`` (the report.json dict) and ``histograms`` (score seeds)."""

    def __init__(self, report, histograms, counts):
        self.report, self.histograms, self.counts = report, histograms, counts

    @classmethod
    def build(cls, menu, bkg, sigs, results, reference_rate_hz, compare_float=False):
        bx = menu.bunch_crossing_rate_hz
        b = results["background"]
        n = b.n_events
        names = b.seeds

        def rate(k):
            return k / n * bx

        seeds = {}
        histograms = {}
        for j, name in enumerate(names):
            s = menu.seeds[name]
            lo, hi = wilson(int(b.prescaled[j]), n)
            entry = {
                "kind": s.kind,
                "prescale": s.prescale,
                "count": int(b.prescaled[j]),
                "count_unprescaled": int(b.unprescaled[j]),
                "rate_hz": rate(int(b.prescaled[j])),
                "rate_err_hz": [lo * bx, hi * bx],
                "rate_unprescaled_hz": rate(int(b.unprescaled[j])),
                "pure_count": int(b.pure[j]),
                "pure_rate_hz": rate(int(b.pure[j])),
                "proportional_rate_hz": float(b.proportional()[j] / n * bx),
                "threshold": s.threshold,
                "threshold_raw": s.threshold_raw,
                "efficiency": {},
                "efficiency_unprescaled": {},
            }
            if s.kind == "score":
                entry["score"] = s.score_label
                entry["rate_budget_hz"] = s.rate_hz
            for sig, c in results.items():
                if sig == "background":
                    continue
                k, ku, m = int(c.prescaled[j]), int(c.unprescaled[j]), c.n_events
                entry["efficiency"][sig] = {"value": k / m if m else 0.0, "err": clopper_pearson(k, m)}
                entry["efficiency_unprescaled"][sig] = {"value": ku / m if m else 0.0, "err": clopper_pearson(ku, m)}
            if s.kind == "score":
                spec = menu.algorithms[s.algorithm].emulator.output_precisions()[0]
                hb = b.histograms.get(name)
                hsig = {sig: c.histograms.get(name) for sig, c in results.items() if sig != "background"}
                entry["auc"] = {sig: _auc(hb.codes, hb.counts, n, h.codes, h.counts, results[sig].n_events)
                                for sig, h in hsig.items() if h is not None}
                t, r = solve_threshold(hb.codes, hb.counts, n, bx, reference_rate_hz, 1.0)
                entry["efficiency_at_rate"] = {
                    "rate_hz": reference_rate_hz, "achieved_rate_hz": r, "threshold_raw": t,
                    "threshold": t * 2.0 ** -spec.frac,
                    "efficiency": {sig: (h.count_at_or_above(t) / results[sig].n_events
                                         if results[sig].n_events else 0.0) for sig, h in hsig.items() if h is not None}}
                histograms[name] = SeedHistograms.build(s, spec, hb, hsig, n, {k: results[k].n_events for k in hsig})
                if compare_float and menu.algorithms[s.algorithm].float_model is not None:
                    entry["float"] = _float_entry(results, j, bx)
            seeds[name] = entry
        lo, hi = wilson(b.total, n)
        total = {"count": int(b.total), "count_unprescaled": int(b.total_unprescaled), "rate_hz": rate(b.total),
                 "rate_err_hz": [lo * bx, hi * bx], "efficiency": {}}
        for sig, c in results.items():
            if sig != "background":
                m = c.n_events
                total["efficiency"][sig] = {"value": c.total / m if m else 0.0, "err": clopper_pearson(c.total, m)}
        report = {
            "format": FORMAT, "version": VERSION, "menu": menu.name, "bunch_crossing_rate_hz": bx,
            "background": {"files": bkg.files, "n_events": n},
            "signals": {k: {"files": v.files, "n_events": results[k].n_events} for k, v in sigs.items()},
            "seeds": seeds, "total": total,
            "overlap": {"seeds": list(names), "counts": b.overlap.tolist()},
            "turn_on": {"variable": "jet[0].pt", "edges": list(TURN_ON_EDGES),
                        "n_events": {k: c.turn_on_events.tolist() for k, c in results.items()},
                        "counts": {k: {nm: c.turn_on_counts[j].tolist() for j, nm in enumerate(names)}
                                   for k, c in results.items()}},
            "pileup": {"edges": list(b.pileup_edges), "n_events": b.pileup_events.tolist(),
                       "counts": {**{nm: b.pileup_counts[j].tolist() for j, nm in enumerate(names)},
                                  "total": b.pileup_counts[-1].tolist()}},
        }
        return cls(report, histograms, results)

    # -- outputs ----------------------------------------------------------------------------------------
    def to_json(self, path=None):
        text = json.dumps(self.report, indent=1, default=_json_default)
        if path is None:
            return text
        from ..atomic import atomic_file

        with atomic_file(path, overwrite=True, what="report") as tmp:
            with open(tmp, "w") as f:
                f.write(text + "\n")
        return text

    def to_csv(self, path):
        from ..atomic import atomic_file

        sigs = list(self.report["signals"])
        with atomic_file(path, overwrite=True, what="rates table") as tmp, open(tmp, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["seed", "kind", "prescale", "threshold", "threshold_raw", "count", "count_unprescaled",
                        "rate_hz", "rate_lo_hz", "rate_hi_hz", "pure_rate_hz", "proportional_rate_hz",
                        *[f"eff_{s}" for s in sigs]])
            for name, e in list(self.report["seeds"].items()) + [("TOTAL", self.report["total"])]:
                w.writerow([name, e.get("kind", ""), e.get("prescale", ""), _fmt_none(e.get("threshold")),
                            _fmt_none(e.get("threshold_raw")), e["count"], e["count_unprescaled"],
                            f"{e['rate_hz']:.6g}", f"{e['rate_err_hz'][0]:.6g}", f"{e['rate_err_hz'][1]:.6g}",
                            f"{e.get('pure_rate_hz', e['rate_hz']):.6g}",
                            f"{e.get('proportional_rate_hz', e['rate_hz']):.6g}",
                            *[f"{e['efficiency'][s]['value']:.6g}" for s in sigs]])

    def table(self, max_signals=8):
        """A rich Table of rates and efficiencies (print it with rich.console.Console().print)."""
        from rich.table import Table

        r = self.report
        sigs = list(r["signals"])[:max_signals]
        t = Table(title=f"{r['menu']}: {r['background']['n_events']:,} crossings at "
                        f"{r['bunch_crossing_rate_hz'] / 1e6:.2f} MHz; rates in kHz (68% interval), "
                        "efficiencies after prescale", title_justify="left")
        for col in ["seed", "PS", "threshold", "rate", "pure", *sigs]:
            t.add_column(col, justify="left" if col == "seed" else "right", no_wrap=True)
        rows = list(r["seeds"].items()) + [("Total", r["total"])]
        for name, e in rows:
            thr = "" if e.get("threshold") is None else f"{e['threshold']:.4g} [{e['threshold_raw']}]"
            pure = "" if name == "Total" else f"{e['pure_rate_hz'] / 1e3:.3g}"
            effs = [f"{100 * e['efficiency'][s]['value']:.1f}%" for s in sigs]
            ps = "" if name == "Total" else f"{e['prescale']:g}"
            t.add_row(name, ps, thr, _rate_text(e), pure, *effs, end_section=(name == rows[-2][0]))
        return t

    def plots(self, folder):
        from .plots import write_plots

        return write_plots(self, folder)

    def write(self, out, overwrite=False, plots=True):
        """OUT/report.json, OUT/rates.csv and OUT/*.png, all or nothing."""
        from ..atomic import atomic_dir

        with atomic_dir(out, overwrite=overwrite) as tmp:
            self.to_json(os.path.join(tmp, "report.json"))
            self.to_csv(os.path.join(tmp, "rates.csv"))
            if plots:
                self.plots(tmp)
        return out


def _float_entry(results, j, bx):
    """The float model beside the firmware at the same threshold (before prescale): what fixed point changes."""
    b = results["background"]
    out = {"count_unprescaled": int(b.float_fired[j]), "rate_hz": b.float_fired[j] / b.n_events * bx,
           "rate_shift_hz": (int(b.unprescaled[j]) - int(b.float_fired[j])) / b.n_events * bx,
           "decision_agreement": b.float_agree[j] / b.n_events, "efficiency": {}, "efficiency_shift": {}}
    for sig, c in results.items():
        if sig != "background" and c.n_events:
            out["efficiency"][sig] = c.float_fired[j] / c.n_events
            out["efficiency_shift"][sig] = (int(c.unprescaled[j]) - int(c.float_fired[j])) / c.n_events
    return out


def _rate_text(e):
    lo, hi = e["rate_err_hz"]
    return f"{e['rate_hz'] / 1e3:.3g} ({lo / 1e3:.3g}-{hi / 1e3:.3g})"


def _fmt_none(v):
    return "" if v is None else v


def _json_default(o):
    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return float(o)
    if isinstance(o, float) and not math.isfinite(o):
        return None
    raise TypeError(f"not JSON serializable: {type(o).__name__}")
