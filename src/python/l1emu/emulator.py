"""The Emulator: a model graph (plain data, see model_file) bound to the C++ engine."""

import numpy as np

from . import _core, model_file
from .errors import L1emuError, ModelFileError
from .fixed import parse_precision


class Emulator:
    """Bit-exact emulation of one firmware model.

    Inputs are quantized to the model's input type exactly as ``hls_model.predict`` does (ap_fixed's
    float/double constructor). NaN or infinite inputs raise ``L1emuError`` unless ``check_finite=False``,
    in which case they follow ap_fixed's bit manipulation like the firmware simulation would.
    """

    def __init__(self, graph: dict, threads: int = 0):
        self.graph = graph
        self.threads = threads
        inp = graph["input"]
        self.input_shape = tuple(inp["shape"])
        self._n_in = int(np.prod(self.input_shape))
        try:
            self._core = _core.Model(self._n_in, inp["spec"])
            for layer in graph["layers"]:
                self._core.add_layer(layer["name"], layer["kind"], layer["inputs"], layer["shape"], layer["spec"],
                                     {k: str(v) for k, v in layer.get("attrs", {}).items()},
                                     {k: np.asarray(v, dtype=np.int64) for k, v in layer.get("arrays", {}).items()})
            self._core.set_outputs(graph["outputs"])
        except (ValueError, KeyError, TypeError) as err:
            if isinstance(err, L1emuError):
                raise
            raise ModelFileError(f"invalid model graph: {err}") from None
        self._specs = [self._core.tensor_spec(i) for i in range(self._core.n_tensors)]
        self._names = [inp["name"]] + [layer["name"] for layer in graph["layers"]]
        self._shapes = [self.input_shape] + [tuple(layer["shape"]) for layer in graph["layers"]]

    def __reduce__(self):  # pickles as its model graph (plain data): rebuilt in the receiving process
        return (Emulator, (self.graph, self.threads))

    # -- evaluation -------------------------------------------------------------------------------
    def _prepare(self, X, check_finite):
        X = np.asarray(X)
        if X.dtype.kind not in "fiub":
            raise L1emuError(f"inputs must be a real numeric array, got dtype {X.dtype}")
        if X.ndim == 1 and X.size == self._n_in:
            X = X[None, :]
        ok = X.ndim >= 2 and (X.shape[1:] == self.input_shape or (X.ndim == 2 and X.shape[1] == self._n_in))
        if not ok:
            raise L1emuError(f"inputs have shape {X.shape}; expected (n_events, {', '.join(map(str, self.input_shape))})"
                             + (f" or (n_events, {self._n_in})" if len(self.input_shape) > 1 else ""))
        X = np.ascontiguousarray(X.reshape(len(X), self._n_in), dtype=np.float64)
        if check_finite and not np.isfinite(X).all():
            bad = np.argwhere(~np.isfinite(X))[0]
            raise L1emuError(f"inputs contain NaN or inf (first at event {bad[0]}, input {bad[1]}); "
                             "pass check_finite=False to quantize them as ap_fixed would")
        return X

    def _values(self, tid, codes):
        return _core.to_double(codes, str(self._specs[tid])).reshape((len(codes),) + self._shapes[tid])

    def predict_raw(self, X, check_finite=True):
        """int64 raw codes of the outputs, shaped like ``predict``."""
        outs = self._core.run(self._prepare(X, check_finite), self.threads)
        shaped = [o.reshape((len(o),) + self._shapes[t]) for o, t in zip(outs, self.graph["outputs"])]
        return shaped[0] if len(shaped) == 1 else shaped

    def predict(self, X, check_finite=True):
        """float64 values of the firmware outputs (same shape as ``hls_model.predict``)."""
        outs = self._core.run(self._prepare(X, check_finite), self.threads)
        vals = [self._values(t, o) for o, t in zip(outs, self.graph["outputs"])]
        return vals[0] if len(vals) == 1 else vals

    def trace(self, X, raw=False, check_finite=True):
        """{layer name: outputs} for every layer (float64 values, or int64 codes with raw=True)."""
        outs = self._core.run_all(self._prepare(X, check_finite), self.threads)
        return {name: (o.reshape((len(o),) + self._shapes[t]) if raw else self._values(t, o))
                for t, (name, o) in enumerate(zip(self._names, outs))}

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

    def save(self, path):
        model_file.write(path, self.graph)


def load(path, threads: int = 0) -> Emulator:
    """Load a ``.l1emu`` model file (needs numpy only)."""
    return Emulator(model_file.read(path), threads=threads)


def check_precision(text, where):
    try:
        return str(parse_precision(text))
    except L1emuError as err:
        raise L1emuError(f"{where}: {err}") from None
