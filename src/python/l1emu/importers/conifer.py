"""Import a conifer BDT as conifer's cpp backend evaluates it (conifer/backends/cpp/include/conifer.h):
inputs, thresholds and weights cast from double to their ap_fixed types, leaf values, init_predict and
norm to score_t, per-class sums in tree order assigned to score_t, then multiplied by score_t(norm)."""

import numpy as np

from ..emulator import Emulator
from ..errors import L1emuError, UnsupportedLayerError
from ..fixed import check_precision, quantize

LAYER = "bdt"


def _precision(cfg, key):
    text = getattr(cfg, key, None)
    if text is None:
        raise UnsupportedLayerError(f"conifer model: configuration has no {key}")
    try:
        return check_precision(text, f"conifer {key}")
    except L1emuError:
        raise UnsupportedLayerError(f"conifer model: {key} '{text}' is not an ap_fixed/ap_int type; l1emu emulates "
                                    "fixed-point BDTs only") from None


def _check_conifer_model(model):
    if any(c.__name__ == "ModelBase" and c.__module__.startswith("conifer") for c in type(model).__mro__):
        return
    kind = f"{type(model).__module__}.{type(model).__qualname__}"
    hint = ""
    if type(model).__name__ == "GradientBoostingRegressor":
        # conifer 1.11 reads n_classes_, which scikit-learn removed from regressors in 1.1 (where it was 1)
        hint = " (conifer 1.11 needs `reg.n_classes_ = 1` on a GradientBoostingRegressor before converting)"
    raise L1emuError(f"not a conifer model ({kind}): convert it with conifer.converters.convert_from_sklearn "
                     f"(or another conifer converter) and config Backend='cpp'{hint}")


def graph_from_conifer(model) -> dict:
    _check_conifer_model(model)
    cfg = getattr(model, "config", None)
    backend = str(getattr(cfg, "backend", "")).lower()
    if backend != "cpp":
        raise UnsupportedLayerError(
            f"conifer model with backend '{backend}': l1emu emulates conifer's 'cpp' backend (the HLS and VHDL "
            "backends sum the trees in an adder tree, a different order under saturation); convert with "
            "config Backend='cpp'")
    input_t = _precision(cfg, "input_precision")
    threshold_t = _precision(cfg, "threshold_precision")
    weight_t = _precision(cfg, "weight_precision")
    score_t = _precision(cfg, "score_precision")
    if input_t != threshold_t:
        raise UnsupportedLayerError(f"conifer model: input precision {input_t} differs from threshold precision "
                                    f"{threshold_t} (conifer's cpp backend requires them equal)")
    split = model.splitting_convention
    if split not in ("<", "<="):
        raise UnsupportedLayerError(f"conifer model: splitting convention {split!r} (expected '<' or '<=')")
    n_features = int(model.n_features)
    n_out = 1 if int(model.n_classes) == 2 else int(model.n_classes)  # BDT(): if(n_classes == 2) n_classes = 1
    if len(model.trees) != int(model.n_trees):
        raise UnsupportedLayerError(f"conifer model: n_trees is {model.n_trees} but {len(model.trees)} trees given")
    init = np.asarray(model.init_predict, dtype=np.float64).reshape(-1)
    if len(init) < n_out:
        raise UnsupportedLayerError(f"conifer model: init_predict has {len(init)} values for {n_out} outputs")

    offsets, feature, left, right, threshold, value = [0], [], [], [], [], []
    w_offsets, w_feature, weight = [0], [], []
    for i, per_class in enumerate(model.trees):
        if len(per_class) < n_out:
            raise UnsupportedLayerError(f"conifer model: tree {i} has {len(per_class)} class trees, {n_out} "
                                        f"needed for {model.n_classes} classes (conifer's cpp backend fails too)")
        for c in range(n_out):  # BDT::decision_function reads trees[i][c] for c < n_classes
            tree = per_class[c]
            f = np.asarray(tree.feature, dtype=np.int64)
            n = len(f)
            arrays = [np.asarray(getattr(tree, k)).reshape(-1) for k in ("children_left", "children_right",
                                                                         "threshold", "value")]
            if any(len(a) != n for a in arrays):
                raise UnsupportedLayerError(f"conifer model: tree {i} class {c} has node arrays of different lengths")
            w = np.asarray(tree.weight, dtype=np.float64)
            if w.shape != (n, n_features):
                raise UnsupportedLayerError(f"conifer model: tree {i} class {c} has weights of shape {w.shape}, "
                                            f"expected {(n, n_features)}")
            feature.append(f)
            left.append(arrays[0].astype(np.int64))
            right.append(arrays[1].astype(np.int64))
            threshold.append(quantize(arrays[2].astype(np.float64), threshold_t))  # (T) t
            value.append(quantize(arrays[3].astype(np.float64), score_t))  # (U) v
            codes = quantize(w, weight_t)  # (W) w
            codes[f == -2] = 0  # leaves compute no split
            rows, cols = np.nonzero(codes)
            w_feature.append(cols)
            weight.append(codes[rows, cols])
            w_offsets.extend((w_offsets[-1] + np.cumsum(np.bincount(rows, minlength=n))).tolist())
            offsets.append(offsets[-1] + n)

    cat = lambda parts: np.concatenate(parts).astype(np.int64)  # noqa: E731
    layer = {
        "name": LAYER, "kind": "BDT", "inputs": [0], "shape": [n_out], "spec": score_t,
        "attrs": {"threshold_t": threshold_t, "weight_t": weight_t, "score_t": score_t, "split": split,
                  "n_trees": int(model.n_trees), "n_classes": int(model.n_classes)},
        "arrays": {"tree_offsets": np.array(offsets, dtype=np.int64), "feature": cat(feature),
                   "children_left": cat(left), "children_right": cat(right), "threshold": cat(threshold),
                   "value": cat(value), "weight_offsets": np.array(w_offsets, dtype=np.int64),
                   "weight_feature": cat(w_feature), "weight": cat(weight),
                   "init_predict": quantize(init[:n_out], score_t),
                   "norm": quantize(np.array([float(model.norm)]), score_t)},
    }
    return {
        "source": {"tool": "conifer", "backend": "cpp", "library": str(getattr(model, "library", "")),
                   "splitting_convention": split},
        "input": {"name": "input", "shape": [n_features], "spec": input_t},
        "layers": [layer],
        "outputs": [1],
    }


def from_conifer(model, threads: int = 0) -> Emulator:
    """Emulator of a conifer model converted with the 'cpp' backend and ap_fixed precisions; ``predict``
    equals ``model.decision_function`` (shape (n, 1) for binary models, (n, n_classes) otherwise)."""
    return Emulator(graph_from_conifer(model), threads=threads)
