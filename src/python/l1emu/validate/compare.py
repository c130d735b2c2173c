"""Raw-code comparison of an emulator with its reference firmware simulation (hls4ml C simulation or conifer's
cpp backend), event by event and output by output, and a trace of the first mismatching events to name the
first layer that diverges."""

import dataclasses
import json

import numpy as np

from ..errors import L1emuError
from ..fixed import quantize, to_double

HLS4ML = "hls4ml"
CONIFER = "conifer"
PROJECT = "hls4ml project"


@dataclasses.dataclass
class ValidationReport:
    """Outcome of ``l1emu.validate``.

    ``lsb_diff_histogram``: {output: {"equal": count, diff: count, ...}} ("equal" always present) with
    diff = emu code - reference code in LSBs of the output type (only nonzero diffs listed); outputs are the
    flattened output values, keyed by index (one output tensor) or "tensor[index]" (several).
    ``n_unrepresentable``: reference values that are not values of the emulator's output type (counted as
    mismatches: the output types differ). ``traced_layers``: the layers compared, in model order, up to the
    first diverging one."""

    bit_exact: bool
    reference_kind: str
    n_events: int
    n_outputs: int
    n_mismatched_events: int
    mismatch_fraction: float
    first_mismatched_events: list
    lsb_diff_histogram: dict
    n_unrepresentable: int = 0
    first_diverging_layer: object = None
    trace_note: object = None
    traced_layers: list = dataclasses.field(default_factory=list)
    output_precisions: list = dataclasses.field(default_factory=list)

    def to_dict(self) -> dict:
        """JSON-serializable dict (plain ints, str keys): ``json.loads(json.dumps(d)) == d``."""
        d = dataclasses.asdict(self)
        d["lsb_diff_histogram"] = {str(out): {_diff_key(k): int(v) for k, v in hist.items()}
                                   for out, hist in self.lsb_diff_histogram.items()}
        d["first_mismatched_events"] = [int(i) for i in self.first_mismatched_events]
        for key in ("n_events", "n_outputs", "n_mismatched_events", "n_unrepresentable"):
            d[key] = int(d[key])
        d["mismatch_fraction"] = float(d["mismatch_fraction"])
        d["bit_exact"] = bool(d["bit_exact"])
        return d

    def to_json(self, **kwargs) -> str:
        return json.dumps(self.to_dict(), **kwargs)

    def __str__(self) -> str:
        if self.bit_exact:
            return (f"bit-exact: {self.n_events} events x {self.n_outputs} outputs, 0 mismatching events "
                    f"({self.reference_kind} reference)")
        first = self.first_mismatched_events[0] if self.first_mismatched_events else None
        parts = [f"NOT bit-exact: {self.n_mismatched_events}/{self.n_events} events differ (first at {first}) "
                 f"({self.reference_kind} reference)"]
        if self.first_diverging_layer is not None:
            parts.append(f"first diverging layer: {self.first_diverging_layer}")
        elif self.trace_note:
            parts.append(self.trace_note)
        diffs = [f"output {out}: {_short_histogram(hist)}" for out, hist in self.lsb_diff_histogram.items()
                 if len(hist) > 1]
        if diffs:
            shown = diffs[:3] + ([f"{len(diffs) - 3} more outputs differ"] if len(diffs) > 3 else [])
            parts.append("LSB differences " + "; ".join(shown))
        if self.n_unrepresentable:
            parts.append(f"{self.n_unrepresentable} reference values not in the emulator's output type")
        return "; ".join(parts)


def _short_histogram(hist, shown=4):
    """{+1: 12, -1: 1}: the most frequent nonzero differences, then how many others and their range."""
    diffs = sorted(((k, v) for k, v in hist.items() if k != "equal"), key=lambda kv: (-kv[1], abs(kv[0]), kv[0]))
    text = ", ".join(f"{_diff_key(k)}: {v}" for k, v in diffs[:shown])
    if len(diffs) > shown:
        keys = [k for k, _ in diffs]
        text += f", ... {len(diffs) - shown} more, {_diff_key(min(keys))}..{_diff_key(max(keys))}"
    return "{" + text + "}"


def _diff_key(k):
    return k if k == "equal" else f"{int(k):+d}"


# -- reference adapters ----------------------------------------------------------------------------------
def _is_instance_of(obj, module_prefix, class_names):
    return any(cls.__module__.split(".")[0] == module_prefix and cls.__name__ in class_names
               for cls in type(obj).__mro__)


def _kind(reference):
    from ..reference.project import ProjectReference

    if isinstance(reference, ProjectReference):
        return PROJECT
    if isinstance(reference, (str, bytes)) or hasattr(reference, "__fspath__"):
        import os

        if os.path.isdir(reference):
            return PROJECT
    if _is_instance_of(reference, "hls4ml", ("ModelGraph", "MultiModelGraph")):
        return HLS4ML
    if _is_instance_of(reference, "conifer", ("ModelBase",)):
        return CONIFER
    what = f"{type(reference).__module__}.{type(reference).__qualname__}"
    if isinstance(reference, (str, bytes)) or hasattr(reference, "__fspath__"):
        raise L1emuError(f"validate: reference {reference!r} is not a directory (an hls4ml project directory "
                         "was expected)")
    raise L1emuError(f"validate: reference is a {what}; expected an hls4ml ModelGraph (compiled C simulation), "
                     "an hls4ml project directory or a conifer model converted with Backend='cpp'")


def _prepare_hls4ml(model):
    if getattr(model, "_top_function_lib", None) is None:
        model.compile()


def _prepare_conifer(model):
    backend = str(getattr(getattr(model, "config", None), "backend", "")).lower()
    if backend != "cpp":
        raise L1emuError(f"validate: conifer model with backend '{backend}'; expected a conifer model converted "
                         "with Backend='cpp' (its decision_function is the reference)")
    if getattr(model, "bridge", None) is None:
        model.compile()


def _as_outputs(values, n):
    """hls4ml/conifer outputs as a list of (n, size) float64 arrays (hls4ml squeezes single events)."""
    if isinstance(values, (list, tuple)):
        return [np.asarray(v, dtype=np.float64).reshape(n, -1) for v in values]
    return [np.asarray(values, dtype=np.float64).reshape(n, -1)]


def _reference_outputs(kind, reference, X):
    if kind == PROJECT:
        return _as_outputs(reference.predict(X), len(X))
    if kind == HLS4ML:
        lib = getattr(reference, "_l1emu_lib", None)
        if lib is not None:  # built by l1emu.reference.convert: its outputs are cached by content
            from ..reference.csim import predict as csim_predict

            return _as_outputs(csim_predict(reference, X), len(X))
        return _as_outputs(reference.predict(X), len(X))
    return _as_outputs(reference.decision_function(X), len(X))


def _hls4ml_trace(reference, X):
    """{layer: values} of the traced layers of an hls4ml model on X. hls4ml's trace() rebuilds the library
    with tracing; a model built by l1emu.reference.convert has it built already (and a cached result)."""
    if getattr(reference, "_l1emu_lib", None) is not None and reference.config.trace_output:
        from ..reference.csim import predict as csim_predict

        _, layers = csim_predict(reference, X, trace=True)
    else:
        _, layers = reference.trace(X)
    return {k: np.asarray(v) for k, v in layers.items()}


# -- comparison ------------------------------------------------------------------------------------------
def _emu_outputs(emu, X):
    raw = emu.predict_raw(X)
    raw = raw if isinstance(raw, list) else [raw]
    return [np.asarray(r).reshape(len(X), -1) for r in raw]


def _codes(values, spec):
    """Raw codes of reference values in spec, and a mask of the values spec cannot hold exactly."""
    codes = quantize(values, spec)
    return codes, to_double(codes, spec) != values


def _diff(a, b, spec):
    if spec.width >= 63:  # int64 subtraction could overflow
        return (a.astype(object) - b.astype(object))
    return a - b


def validate(emu, reference, X, *, chunk_size=65536, max_listed=20, trace=True) -> ValidationReport:
    """Compare the raw codes of every output of every event of ``emu`` with ``reference``'s.

    reference: an hls4ml ModelGraph (compiled first if it has not been; ``predict`` is the reference), an
    hls4ml project directory (its C simulation, compiled once per source content and cached) or a
    conifer model of the 'cpp' backend (``decision_function``). The reference's float outputs are converted to
    raw codes with the emulator's output precisions. With ``trace`` and mismatches, the first ``max_listed``
    mismatching events are traced through both (hls4ml models built with Trace=True layers) and the first
    layer, in model order, whose raw codes differ is reported."""
    from ..emulator import Emulator

    if not isinstance(emu, Emulator):
        raise L1emuError(f"validate: emu is a {type(emu).__module__}.{type(emu).__qualname__}; expected an "
                         "l1emu.Emulator (l1emu.from_hls4ml, from_conifer, load)")
    kind = _kind(reference)
    if kind == PROJECT:
        from ..reference.project import ProjectReference, compile_project

        if not isinstance(reference, ProjectReference):
            reference = compile_project(reference)  # compiled once per source content, cached
    else:
        (_prepare_hls4ml if kind == HLS4ML else _prepare_conifer)(reference)
    X = np.asarray(X)
    if X.dtype.kind not in "fiub":
        raise L1emuError(f"validate: inputs must be a real numeric array, got dtype {X.dtype}")
    if X.ndim == 0 or len(X) == 0:
        raise L1emuError(f"validate: inputs of shape {X.shape}; expected (n_events, ...) with n_events > 0")
    # float64 for both: ap_fixed's float and double constructors agree on float32 values, and float64 keeps
    # the reference's outputs and traces exact.
    X = np.ascontiguousarray(X, dtype=np.float64)
    if chunk_size < 1:
        raise L1emuError(f"validate: chunk_size must be >= 1, got {chunk_size}")
    specs = emu.output_precisions()
    names = [emu._names[t] for t in emu.graph["outputs"]]
    n = len(X)

    hists = None
    n_bad_events, n_unrep, listed = 0, 0, []
    for start in range(0, n, chunk_size):
        chunk = X[start:start + chunk_size]
        got = _emu_outputs(emu, chunk)
        want = _reference_outputs(kind, reference, chunk)
        if len(want) != len(got) or any(g.shape != w.shape for g, w in zip(got, want)):
            raise L1emuError(f"validate: the emulator's outputs {[g.shape[1:] for g in got]} and the {kind} "
                             f"reference's {[w.shape[1:] for w in want]} differ in shape: not the same model")
        if hists is None:
            hists = [[{"equal": 0} for _ in range(g.shape[1])] for g in got]
        bad = np.zeros(len(chunk), dtype=bool)
        for o, (g, w, spec) in enumerate(zip(got, want, specs)):
            codes, unrep = _codes(w, spec)
            n_unrep += int(unrep.sum())
            bad |= (g != codes).any(axis=1) | unrep.any(axis=1)
            diff = _diff(g, codes, spec)
            nonzero = diff != 0
            equal = len(chunk) - nonzero.sum(axis=0)
            for j in range(g.shape[1]):
                hist = hists[o][j]
                hist["equal"] += int(equal[j])
                if equal[j] < len(chunk):
                    values, counts = np.unique(diff[nonzero[:, j], j], return_counts=True)
                    for v, c in zip(values.tolist(), counts.tolist()):
                        hist[int(v)] = hist.get(int(v), 0) + int(c)
        idx = np.flatnonzero(bad)
        n_bad_events += len(idx)
        listed.extend((idx[:max(0, max_listed - len(listed))] + start).tolist())

    histogram = {}
    for o, per_output in enumerate(hists):
        for j, hist in enumerate(per_output):
            key = j if len(hists) == 1 else f"{names[o]}[{j}]"
            ordered = {"equal": hist["equal"]}
            ordered.update(sorted(((k, v) for k, v in hist.items() if k != "equal"), key=lambda kv: kv[0]))
            histogram[key] = ordered

    report = ValidationReport(
        bit_exact=n_bad_events == 0, reference_kind=kind, n_events=n, n_outputs=sum(len(h) for h in hists),
        n_mismatched_events=n_bad_events, mismatch_fraction=n_bad_events / n, first_mismatched_events=listed,
        lsb_diff_histogram=histogram, n_unrepresentable=n_unrep, output_precisions=[str(s) for s in specs])
    if report.bit_exact:
        return report
    if kind == CONIFER:
        report.trace_note = "conifer BDTs have no layers to trace: only outputs are compared"
    elif not trace:
        report.trace_note = "not traced (trace=False)"
    elif not listed:
        report.trace_note = "no mismatching event listed (max_listed=0): not traced"
    else:
        _locate(report, emu, reference, X[np.array(listed)])
    return report


def _locate(report, emu, reference, X_bad):
    """Trace the mismatching events X_bad through both and name the first layer, in the hls4ml model's
    order, whose raw codes differ."""
    if report.reference_kind == PROJECT:  # a project traces every layer call
        return _first_diverging(report, emu, reference.layer_names, reference.trace(X_bad)[1], X_bad, [])
    layers = reference.get_layers()
    traced = [layer.name for layer in layers if layer.get_attr("trace", False)]
    if not traced:
        report.trace_note = ("the hls4ml model was not built with tracing (no layer has Trace=True in its hls "
                             "config): first diverging layer not determined")
        return
    try:
        ref_trace = _hls4ml_trace(reference, X_bad)
    except NotImplementedError as err:  # MultiModelGraph
        report.trace_note = f"the hls4ml model cannot be traced ({err}): first diverging layer not determined"
        return
    untraced = [layer.name for layer in layers
                if layer.get_attr("function_cpp", None) and layer.name not in ref_trace]
    _first_diverging(report, emu, [layer.name for layer in layers], ref_trace, X_bad, untraced)


def _first_diverging(report, emu, order, ref_trace, X_bad, untraced):
    """Compare the traces layer by layer in ``order``; set the first diverging layer and notes."""
    emu_trace = emu.trace(X_bad, raw=True)
    specs = dict(zip(emu._names, emu._specs))
    n = len(X_bad)
    compared = []
    for name in order:
        if name not in ref_trace or name not in emu_trace:
            continue
        got = emu_trace[name].reshape(n, -1)
        values = ref_trace[name].reshape(n, -1)
        compared.append(name)
        if got.shape != values.shape:
            report.first_diverging_layer = name
            report.trace_note = f"layer {name}: emulator has {got.shape[1]} values, the reference {values.shape[1]}"
            break
        codes, unrep = _codes(values.astype(np.float64), specs[name])
        if (got != codes).any() or unrep.any():
            report.first_diverging_layer = name
            break
    report.traced_layers = compared
    notes = []
    if report.first_diverging_layer is None:
        notes.append(f"the {len(compared)} traced layers agree on the {n} traced mismatching events")
    if untraced:
        notes.append(f"layers without Trace=True not compared: {', '.join(untraced)}")
    if notes:
        report.trace_note = "; ".join(([report.trace_note] if report.trace_note else []) + notes)
