"""Precision audit (``emu.audit(X)``): what every cast of the firmware did on given events.

A cast site is one assignment to a type at one place of a layer: the input cast, a Dense/Conv product and
accumulation (accum_t) and result (result_t), a table index and the table value, a BDT's node sums
(threshold_t), score sums and norm (score_t). The engine runs every layer on its scalar reference path with
each cast counted (src/cpp/fixed/cast_site.h); per site the report gives the counts of rounding changes,
saturations, wraps and values outside the type's range, the range seen against the representable range,
the bits the values used, and the narrowest types that would have been exact:

* ``exact``: (width, int bits) holding every value seen without any change (no rounding, no overflow);
* ``no_overflow``: the site's own LSB (and modes) with the fewest integer bits that never overflow.

Given the float Keras/QKeras model (``float_model=``), the report also gives per layer the divergence of the
firmware values from the float outputs in LSBs of the layer's result type, and the cast site that changed
the most values (in the layer, else upstream): accumulator rounding, result overflow, table resolution.
"""

import dataclasses
import json

import numpy as np

from ..errors import L1emuError
from ..fixed import parse_precision

COUNTS = ("casts", "rounded", "saturated", "wrapped", "changed", "outside")


@dataclasses.dataclass
class Site:
    """One cast site's statistics (see the module doc)."""

    layer: str
    kind: str
    site: str
    type: str  # the firmware type it assigns to (accum_t, result_t, ...) or "table_size"
    precision: str  # that type, or "index 0..n-1" for a table index
    casts: int
    rounded: int
    saturated: int
    wrapped: int
    changed: int
    outside: int
    min: object  # float values seen (None: no casts)
    max: object
    range: list  # [lo, hi] representable
    int_bits: object  # integer bits (incl. sign) the values used / the type has
    type_int_bits: int
    frac_bits: object  # fractional bits down to the lowest non-zero bit seen / the type has
    type_frac_bits: int
    exact: object  # [width, int bits] or None (all values zero / a table index)
    exact_signed: object
    no_overflow: object  # [width, int bits] at the site's LSB, or None
    exact_type: object  # the suggestions as precisions, with the site type's modes (None as above)
    no_overflow_type: object

    @property
    def overflows(self) -> int:
        return self.saturated + self.wrapped

    @property
    def label(self) -> str:
        return f"{self.layer}.{self.site}"


def _spec_range(spec):
    lsb = 2.0 ** -spec.frac
    if spec.is_signed:
        hi = (2.0 ** (spec.width - 1) - 1) * lsb
        lo = -hi if spec.overflow == "SAT_SYM" and spec.width > 1 else -(2.0 ** (spec.width - 1)) * lsb
    else:
        lo, hi = 0.0, (2.0 ** spec.width - 1) * lsb
    return [lo, hi]


def _int_bits(pos, neg, signed):
    """Integer bits (incl. the sign) holding -2^neg <= v < 2^pos; None when no non-zero value was seen."""
    if pos is None and neg is None:
        return None
    pos = -10**9 if pos is None else pos
    if signed:
        return max(pos, -10**9 if neg is None else neg) + 1
    return pos


def _site(layer, kind, info, st, spec_of):
    if info["table_size"]:
        n = int(info["table_size"])
        prec, rng, t_int, t_frac, signed = f"index 0..{n - 1}", [0.0, float(n - 1)], max(1, (n - 1).bit_length()), 0, False
    else:
        spec = spec_of(info["spec"])
        prec, rng, t_int, t_frac, signed = str(spec), _spec_range(spec), spec.integer, spec.frac, spec.is_signed
    signed_needed = signed or st["neg_bits"] is not None
    int_bits = _int_bits(st["pos_bits"], st["neg_bits"], signed_needed)
    exact = no_overflow = None
    if not info["table_size"]:
        if int_bits is not None:
            exact = [int_bits + st["lsb_bits"], int_bits]
        q_int = _int_bits(st["qpos_bits"], st["qneg_bits"], signed or st["qneg_bits"] is not None)
        if q_int is not None:
            w = max(q_int + t_frac, 1)
            no_overflow = [w, w - t_frac]
    modes = None if info["table_size"] else spec_of(info["spec"])
    return Site(layer=layer, kind=kind, site=info["name"], type=info["type"], precision=prec,
                **{k: int(st[k]) for k in COUNTS}, min=st["min"], max=st["max"], range=rng,
                int_bits=int_bits, type_int_bits=int(t_int), frac_bits=st["lsb_bits"], type_frac_bits=int(t_frac),
                exact=exact, exact_signed=bool(signed_needed), no_overflow=no_overflow,
                exact_type=_precision(exact, signed_needed, modes), no_overflow_type=_precision(no_overflow, signed_needed, modes))


def _precision(wi, signed, spec):
    """fixed<W,I[,Q,O]> with the modes of spec (omitted when TRN, WRAP)."""
    if wi is None:
        return None
    modes = "" if (spec.quantization, spec.overflow) == ("TRN", "WRAP") else f",{spec.quantization},{spec.overflow}"
    return f"{'fixed' if signed else 'ufixed'}<{wi[0]},{wi[1]}{modes}>"


def _type_suggestions(sites):
    """{layer: {type: {"exact": [w, i], "no_overflow": [w, i]}}}: one type for all sites that cast to it
    (a Dense's products and sums share accum_t)."""
    out = {}
    for s in sites:
        if s.type == "table_size":
            continue
        t = out.setdefault(s.layer, {}).setdefault(s.type, {"exact": None, "no_overflow": None, "sites": [],
                                                             "precision": s.precision, "signed": False})
        t["sites"].append(s.site)
        t["signed"] = t["signed"] or s.exact_signed
        for key in ("exact", "no_overflow"):
            new = getattr(s, key)
            if new is None:
                continue
            old = t[key]
            if old is None:
                t[key] = list(new)
            else:  # the union: the larger integer part and the finer LSB
                i = max(old[1], new[1])
                f = max(old[0] - old[1], new[0] - new[1])
                t[key] = [i + f, i]
    for layer in out.values():
        for t in layer.values():
            spec = parse_precision(t.pop("precision"))
            signed = t.pop("signed")
            t["exact_type"] = _precision(t["exact"], signed, spec)
            t["no_overflow_type"] = _precision(t["no_overflow"], signed, spec)
    return out


@dataclasses.dataclass
class AuditReport:
    """Outcome of ``Emulator.audit``: ``sites`` in model order; ``types`` the narrowest exact types per layer
    and firmware type; ``divergence`` (with ``float_model``) per compared layer: max/mean |firmware - float|
    in LSBs of the layer's result type and the cast ``cause`` that changed the most values. ``outputs_raw``: the
    output codes the audited run computed (the counted reference paths; equal to ``predict_raw``)."""

    n_events: int
    sites: list
    types: dict
    divergence: object = None
    uninstrumented: list = dataclasses.field(default_factory=list)
    outputs_raw: list = dataclasses.field(default_factory=list, repr=False)

    def site(self, layer, site):
        for s in self.sites:
            if s.layer == layer and s.site == site:
                return s
        raise KeyError(f"no cast site {layer}.{site}; the report has {', '.join(s.label for s in self.sites)}")

    @property
    def total_overflows(self) -> int:
        return sum(s.overflows for s in self.sites)

    def to_dict(self) -> dict:
        """JSON-serializable dict: ``json.loads(json.dumps(d)) == d``."""
        return {"format": "l1emu-audit", "version": 1, "n_events": int(self.n_events),
                "sites": [dataclasses.asdict(s) for s in self.sites], "types": self.types,
                "divergence": self.divergence, "uninstrumented": list(self.uninstrumented)}

    def to_json(self, path, overwrite=True):
        """Write ``to_dict()`` as JSON (atomically)."""
        from ..atomic import atomic_file

        with atomic_file(path, overwrite=overwrite, what="audit report") as tmp, open(tmp, "w") as f:
            json.dump(self.to_dict(), f, indent=1)
        return path

    def table(self):
        """A rich Table: one row per cast site."""
        from rich.table import Table

        t = Table(title=f"precision audit: {self.n_events:,} events", header_style="bold")
        for col, just in (("layer", "left"), ("site", "left"), ("type", "left"), ("casts", "right"),
                          ("rounded", "right"), ("sat", "right"), ("wrap", "right"), ("outside", "right"),
                          ("seen", "right"), ("range", "right"), ("int bits", "right"), ("frac bits", "right"),
                          ("exact", "left"), ("no overflow", "left")):
            t.add_column(col, justify=just)
        for s in self.sites:
            seen = "-" if s.min is None else f"[{s.min:.4g}, {s.max:.4g}]"
            rng = f"[{s.range[0]:.4g}, {s.range[1]:.4g}]"
            red = lambda n: f"[red]{n:,}[/red]" if n else "0"  # noqa: E731
            used = lambda b, have: "-" if b is None else (f"[red]{b}[/red]/{have}" if b > have else f"{b}/{have}")  # noqa: E731
            t.add_row(s.layer, s.site, s.precision, f"{s.casts:,}", f"{s.rounded:,}", red(s.saturated),
                      red(s.wrapped), f"{s.outside:,}", seen, rng, used(s.int_bits, s.type_int_bits),
                      used(s.frac_bits, s.type_frac_bits), _fmt_type(s.exact, s.exact_signed),
                      _fmt_type(s.no_overflow, s.exact_signed))
        return t

    def divergence_table(self):
        """A rich Table of the float-model divergence per layer (None without ``float_model``)."""
        if self.divergence is None:
            return None
        from rich.table import Table

        t = Table(title="firmware vs float model", header_style="bold")
        for col in ("layer", "float layer", "max |diff| LSB", "mean |diff| LSB", "cause"):
            t.add_column(col)
        for layer, d in self.divergence.items():
            t.add_row(layer, d["float_layer"], f"{d['max_abs_lsb']:.4g}", f"{d['mean_abs_lsb']:.4g}",
                      d["cause"] or "-")
        return t

    def plot(self, path):
        """Per site, the bit range the values used (LSB to MSB: 2^-frac .. 2^int) against the type's; PNG,
        written atomically. Needs the 'plots' extra (matplotlib)."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        from ..atomic import atomic_file

        rows = [s for s in self.sites if s.type != "table_size"]
        fig = Figure(figsize=(9, 1.2 + 0.32 * max(len(rows), 1)), layout="constrained")
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        for y, s in enumerate(rows):
            ax.barh(y, s.type_int_bits + s.type_frac_bits, left=-s.type_frac_bits, height=0.8, color="#c6dbef",
                    label="type" if y == 0 else None)
            if s.int_bits is not None:
                lo = -min(s.frac_bits, s.type_frac_bits + 8)
                color = "#d62728" if s.overflows else ("#ff7f0e" if s.rounded else "#2171b5")
                ax.barh(y, s.int_bits - lo, left=lo, height=0.4, color=color, label="used" if y == 0 else None)
        ax.set_yticks(range(len(rows)), [s.label for s in rows], fontsize=8)
        ax.invert_yaxis()
        ax.axvline(0, color="k", lw=0.5)
        ax.set_xlabel("bit position (2^k): fractional < 0 <= integer; red: overflow, orange: rounding")
        ax.set_title(f"precision audit, {self.n_events:,} events")
        ax.legend(loc="lower right", fontsize=8)
        with atomic_file(path, overwrite=True, what="audit plot") as tmp:
            fig.savefig(tmp, format="png", dpi=110)
        return path


def _fmt_type(wi, signed):
    return "-" if wi is None else f"{'fixed' if signed else 'ufixed'}<{wi[0]},{wi[1]}>"


def run(emu, X, float_model=None, check_finite=True) -> AuditReport:
    """The audit of ``emu`` on inputs ``X`` (see ``Emulator.audit``)."""
    Xp = emu._prepare(X)
    if check_finite:
        emu._require_finite(Xp)
    stats, codes = emu._core.audit(Xp, emu.threads)
    infos = [[{"name": "input", "type": "result_t", "spec": str(emu._specs[0]), "table_size": 0}]]
    infos += emu._core.layer_sites()
    kinds = ["Input"] + [layer["kind"] for layer in emu.graph["layers"]]
    sites, uninstrumented = [], []
    for name, kind, info, st in zip(emu._names, kinds, infos, stats):
        if not info:
            uninstrumented.append(name)
        sites += [_site(name, kind, i, s, parse_precision) for i, s in zip(info, st)]
    shapes = [emu._shapes[t] for t in emu.graph["outputs"]]
    rep = AuditReport(n_events=len(Xp), sites=sites, types=_type_suggestions(sites), uninstrumented=uninstrumented,
                      outputs_raw=[c.reshape((len(c),) + shape) for c, shape in zip(codes, shapes)])
    if float_model is not None:
        rep.divergence = _divergence(emu, float_model, Xp, X, sites)
    return rep


def _cause(layer, sites, names):
    """The site with the most value changes in ``layer``, else in the layers before it."""
    def describe(s):
        if s.type == "table_size":
            what = "table index clamped" if s.saturated >= s.rounded else "table resolution"
        elif s.overflows >= s.rounded:
            what = f"{s.site} overflow ({'wrap' if s.wrapped >= s.saturated else 'saturation'})"
        else:
            what = f"{s.site} rounding"
        return f"{s.label}: {what}, {s.changed:,} values changed"

    own = [s for s in sites if s.layer == layer and s.changed]
    if own:
        return describe(max(own, key=lambda s: s.changed))
    before = set(names[:names.index(layer)])
    up = [s for s in sites if s.layer in before and s.changed]
    return ("upstream " + describe(max(up, key=lambda s: s.changed))) if up else None


def _divergence(emu, float_model, Xp, X, sites):
    """{emulator layer: {...}} for the layers the Keras model has (a split-off activation "<name>_<act>" stands
    for its Keras layer, whose output includes the activation)."""
    try:
        import tensorflow as tf
    except ImportError:
        raise L1emuError("audit(float_model=...) needs TensorFlow (the 'hls4ml' extra)") from None
    if not isinstance(float_model, tf.keras.Model):
        raise L1emuError(f"float_model must be a Keras model, got {type(float_model).__name__}")
    names = emu._names
    keras = {layer.name: layer for layer in float_model.layers}
    pairs = []  # (emulator tensor id, keras layer name)
    for t, name in enumerate(names):
        if name not in keras or type(keras[name]).__name__ == "InputLayer":
            continue
        nxt = names[t + 1] if t + 1 < len(names) else ""
        act = getattr(keras[name], "activation", None)
        act_name = getattr(act, "__name__", None) or type(act).__name__ if act is not None else "linear"
        if nxt.startswith(name + "_") and nxt not in keras and act_name != "linear":
            pairs.append((t + 1, name))
        else:
            pairs.append((t, name))
    if not pairs:
        raise L1emuError("audit: the float model has none of the emulator's layer names "
                         f"({', '.join(names)}); was the emulator converted from it?")
    probe = tf.keras.Model(float_model.inputs, [keras[k].output for _, k in pairs])
    x = np.asarray(X, dtype=np.float32).reshape((len(Xp),) + tuple(float_model.inputs[0].shape[1:]))
    outs = probe.predict(x, verbose=0, batch_size=4096)
    outs = outs if isinstance(outs, list) else [outs]
    trace = emu.trace(Xp)
    out = {}
    for (t, kname), f in zip(pairs, outs):
        emu_v = trace[names[t]].reshape(len(Xp), -1)
        f = np.asarray(f, dtype=np.float64).reshape(len(Xp), -1)
        if f.shape != emu_v.shape:
            continue
        lsb = 2.0 ** -emu._specs[t].frac
        d = np.abs(emu_v - f) / lsb
        out[names[t]] = {"float_layer": kname, "precision": str(emu._specs[t]), "max_abs_lsb": float(d.max()),
                         "mean_abs_lsb": float(d.mean()), "cause": _cause(names[t], sites, names)}
    return out
