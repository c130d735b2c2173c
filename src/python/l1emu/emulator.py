"""The Emulator: a model graph (plain data, see model_file) bound to the C++ engine."""

import numbers

import numpy as np

from . import _core, model_file
from .threads import apply_environment
from .errors import L1emuError, ModelFileError


class Emulator:
    """Bit-exact emulation of one firmware model.

    Inputs are quantized to the model's input type exactly as ``hls_model.predict`` does (ap_fixed's
    float/double constructor). NaN or infinite inputs raise ``L1emuError`` unless ``check_finite=False``,
    in which case they follow ap_fixed's bit manipulation like the firmware simulation would.
    """

    def __init__(self, graph: dict, threads: int = 0):
        self.threads = threads  # checked first: a bad argument fails before any work
        apply_environment()
        self.graph = graph
        inp = graph["input"]
        self.input_shape = tuple(inp["shape"])
        self._n_in = int(np.prod(self.input_shape))
        try:
            self._core = _core.Model(self._n_in, inp["spec"])
            for layer in graph["layers"]:
                self._core.add_layer(layer["name"], layer["kind"], layer["inputs"], layer["shape"], layer["spec"],
                                     dict(layer.get("attrs", {})),
                                     {k: np.asarray(v, dtype=np.int64) for k, v in layer.get("arrays", {}).items()})
            self._core.set_outputs(graph["outputs"])
        except (ValueError, KeyError, TypeError, AttributeError, IndexError) as err:
            if isinstance(err, L1emuError):
                raise
            raise ModelFileError(f"invalid model graph: {err}") from None
        self._specs = [self._core.tensor_spec(i) for i in range(self._core.n_tensors)]
        self._names = [inp["name"]] + [layer["name"] for layer in graph["layers"]]
        self._shapes = [self.input_shape] + [tuple(layer["shape"]) for layer in graph["layers"]]

    MAX_THREADS = 1024

    @property
    def threads(self) -> int:
        """Worker threads of predict/trace; 0 means as many as the process's thread budget (l1emu.set_thread_budget)."""
        return self._threads

    @threads.setter
    def threads(self, value):
        # checked here, not at the first predict, where the engine's int conversion fails obscurely
        ok = isinstance(value, numbers.Integral) and not isinstance(value, bool) and 0 <= value <= self.MAX_THREADS
        if not ok:
            raise L1emuError(f"threads must be an integer from 0 (one per hardware thread) to {self.MAX_THREADS}, "
                             f"got {value!r}")
        self._threads = int(value)

    # -- pickling: an Emulator travels as its model file (pickle, multiprocessing, joblib) ----------
    def __reduce__(self):
        return _from_bytes, (model_file.dumps(self.graph), self._threads)

    # -- evaluation -------------------------------------------------------------------------------
    def _prepare(self, X):
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise L1emuError(f"inputs must be a real numeric array, got dtype {X.dtype}")
        if X.ndim == 1 and X.size == self._n_in:
            X = X[None, :]
        ok = X.ndim >= 2 and (X.shape[1:] == self.input_shape or (X.ndim == 2 and X.shape[1] == self._n_in))
        if not ok:
            raise L1emuError(f"inputs have shape {X.shape}; expected (n_events, {', '.join(map(str, self.input_shape))})"
                             + (f" or (n_events, {self._n_in})" if len(self.input_shape) > 1 else ""))
        # float32 stays float32 (the engine widens each value exactly: the codes of its float64 copy, at half
        # the memory traffic); everything else becomes float64.
        dtype = np.float32 if X.dtype == np.float32 else np.float64
        return np.ascontiguousarray(X.reshape(len(X), self._n_in), dtype=dtype)

    _NON_FINITE_HINT = "; pass check_finite=False to quantize them as ap_fixed would"

    def _run(self, X, check_finite, all_tensors=False, values=False):
        """Codes of the outputs (or of every tensor, or the outputs' float64 values); the input cast itself
        notices NaN and inf."""
        run = self._core.run_values if values else self._core.run_all if all_tensors else self._core.run
        try:
            return run(X, self._threads, check_finite)
        except _core.NonFiniteInput as e:
            raise L1emuError(f"{e}{self._NON_FINITE_HINT}") from None

    def _require_finite(self, X):
        """The same check as a pass of its own, for paths that run events piecewise or not through run()."""
        if not np.isfinite(X).all():
            bad = np.argwhere(~np.isfinite(X))[0]
            raise L1emuError(f"inputs contain NaN or inf (first at event {bad[0]}, input {bad[1]})"
                             f"{self._NON_FINITE_HINT}")

    def _values(self, tid, codes):
        return _core.to_double(codes, str(self._specs[tid])).reshape((len(codes),) + self._shapes[tid])

    def _shaped_outputs(self, outs):
        """Each output as (n_events, *shape); the array alone for a single-output model."""
        shaped = [o.reshape((len(o),) + self._shapes[t]) for o, t in zip(outs, self.graph["outputs"])]
        return shaped[0] if len(shaped) == 1 else shaped

    def predict_raw(self, X, check_finite=True):
        """int64 raw codes of the outputs, shaped like ``predict``."""
        return self._shaped_outputs(self._run(self._prepare(X), check_finite))

    def predict(self, X, check_finite=True):
        """float64 values of the firmware outputs (same shape as ``hls_model.predict``)."""
        return self._shaped_outputs(self._run(self._prepare(X), check_finite, values=True))

    TRACE_CHUNK_BYTES = 64 << 20

    def trace(self, X, layers=None, raw=False, check_finite=True, chunk_size=None):
        """{layer name: outputs} (float64 values, or int64 codes with raw=True) for the input and every
        layer, or only for ``layers`` (names). The engine computes every tensor of the events it is given,
        so events go through in chunks of ``chunk_size`` (default: ~64 MB of tensors per chunk when
        ``layers`` is given, all events at once otherwise): memory is bounded by the selection."""
        if layers is None:
            ids = list(range(len(self._names)))
        else:
            layers = [layers] if isinstance(layers, str) else list(layers)
            unknown = [name for name in layers if name not in self._names]
            if unknown:
                raise L1emuError(f"trace: unknown layer(s) {', '.join(map(repr, unknown))}; "
                                 f"the model has {', '.join(self._names)}")
            ids = sorted({self._names.index(name) for name in layers})
        if chunk_size is not None and (not isinstance(chunk_size, numbers.Integral) or isinstance(chunk_size, bool)
                                       or chunk_size < 1):
            raise L1emuError(f"trace: chunk_size must be a positive integer, got {chunk_size!r}")
        X = self._prepare(X)
        n = len(X)
        if chunk_size is None:
            per_event = 8 * sum(self._core.tensor_size(t) for t in range(len(self._names)))
            chunk_size = n if layers is None else max(1, self.TRACE_CHUNK_BYTES // per_event)
        shaped = lambda t, o: o.reshape((len(o),) + self._shapes[t]) if raw else self._values(t, o)  # noqa: E731
        if chunk_size >= n:  # one pass, no copies
            codes = self._run(X, check_finite, all_tensors=True)
            return {self._names[t]: shaped(t, codes[t]) for t in ids}
        if check_finite:
            self._require_finite(X)
        out = {t: np.empty((n,) + self._shapes[t], dtype=np.int64 if raw else np.float64) for t in ids}
        for start in range(0, n, chunk_size):
            codes = self._core.run_all(X[start:start + chunk_size], self._threads)  # checked above
            for t in ids:
                out[t][start:start + len(codes[t])] = shaped(t, codes[t])
        return {self._names[t]: out[t] for t in ids}

    def audit(self, X, float_model=None, check_finite=True):
        """Precision audit on inputs ``X``: per layer and cast site (input cast, products, accumulator, result,
        table index and value, BDT sums) the counts of rounding changes, saturations, wraps and values outside
        the type, the ranges and bits used, and the narrowest exact types; with ``float_model`` (the Keras/QKeras
        model converted), per layer the divergence from its float outputs in LSBs and the cast that causes it.
        Returns an ``AuditReport`` (``.table()``, ``.to_dict()``, ``.to_json(path)``, ``.plot(path)``)."""
        from .validate.audit import run

        return run(self, X, float_model=float_model, check_finite=check_finite)

    # -- description ------------------------------------------------------------------------------
    @property
    def input_precision(self):
        return self._specs[0]

    def output_precisions(self):
        return [self._specs[t] for t in self.graph["outputs"]]

    def summary(self, print_fn=print) -> str:
        ops = [0] + list(self._core.layer_ops())
        rows = [("layer", "kind", "shape", "result", "types", "MACs")]
        rows.append((self._names[0], "Input", str(self.input_shape), str(self._specs[0]), "", ""))
        for t, layer in enumerate(self.graph["layers"], start=1):
            types = ", ".join(f"{k}={v}" for k, v in layer.get("attrs", {}).items() if k.endswith("_t"))
            extra = layer.get("attrs", {}).get("activation", "")
            kind = layer["kind"] + (f"({extra})" if extra else "")
            rows.append((layer["name"], kind, str(tuple(layer["shape"])), str(self._specs[t]), types,
                         str(ops[t]) if ops[t] else ""))
        widths = [max(len(r[c]) for r in rows) for c in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]
        lines.append(f"total MACs per event: {sum(ops)}; source: {self.graph.get('source', {})}")
        text = "\n".join(lines)
        if print_fn is not None:
            print_fn(text)
        return text

    def save(self, path, overwrite=True):
        """Write the self-contained model file (atomically; created with the user's umask)."""
        model_file.write(path, self.graph, overwrite=overwrite)


def _from_bytes(data, threads):
    return Emulator(model_file.loads(data, where="pickled l1emu.Emulator"), threads=threads)


def load(path, threads: int = 0) -> Emulator:
    """Load a ``.l1emu`` model file (needs numpy only)."""
    graph = model_file.read(path)
    try:
        return Emulator(graph, threads=threads)
    except ModelFileError as err:
        raise ModelFileError(f"{path}: {err}") from None
