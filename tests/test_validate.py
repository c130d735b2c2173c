"""l1emu.validate: raw-code comparison of an emulator with its reference (hls4ml C simulation, conifer's cpp
backend), the mismatch report, and the first diverging layer of a deliberately perturbed emulator."""

import copy
import json

import hls4ml
import numpy as np
import pytest

import l1emu
from l1emu import reference as ref
from l1emu.reference import bdt as ref_bdt

from .cases.dense import configure, inputs

N_RANDOM = 16_000


def _tagger(trace):
    keras_model = ref.jet_tagger()
    cfg, kwargs = configure(keras_model, "default")
    if trace:
        for layer in cfg["LayerName"].values():
            layer["Trace"] = True
    # the projects of test_dense_models (same configurations): one compiled library each in the cache
    name = "jet_tagger-default-trace" if trace else "jet_tagger-default"
    return keras_model, ref.convert(keras_model, name, cfg, **kwargs)


@pytest.fixture(scope="module")
def tagger():
    keras_model, hls_model = _tagger(trace=True)
    emu = l1emu.from_hls4ml(hls_model)
    X = inputs(emu, keras_model, seed=21, n_random=N_RANDOM)
    return keras_model, hls_model, emu, X


def _perturbed(emu, layer_name, X):
    """A copy of emu's graph with one weight of layer_name moved by one LSB: the weight whose input is most
    often nonzero on X (so the change reaches the outputs). Returns (emulator, (input, output), delta)."""
    graph = copy.deepcopy(emu.graph)
    layer = next(layer for layer in graph["layers"] if layer["name"] == layer_name)
    assert layer["kind"] == "Dense"
    shape = np.shape(layer["arrays"]["weight"])
    w = np.array(layer["arrays"]["weight"], dtype=np.int64).reshape(-1, layer["shape"][-1])
    source = graph["layers"][layer["inputs"][0] - 1]["name"]  # tensor t is layer t - 1 (tensor 0 the input)
    active = (emu.trace(X, raw=True)[source].reshape(len(X), -1) != 0).sum(axis=0)
    i = int(np.argmax(active))
    j = 0
    wmax = 2 ** (l1emu.parse_precision(layer["attrs"]["weight_t"]).width - 1) - 1
    delta = 1 if w[i, j] < wmax else -1
    w[i, j] += delta
    layer["arrays"]["weight"] = w.reshape(shape)
    return l1emu.Emulator(graph), (i, j), delta, source


def _check_against_emulators(rep, good, bad, X, max_listed=20):
    """The report of bad vs the reference equals a direct comparison of bad with good (good is bit-exact)."""
    a, b = good.predict_raw(X).reshape(len(X), -1), bad.predict_raw(X).reshape(len(X), -1)
    differ = (a != b).any(axis=1)
    assert rep.n_events == len(X)
    assert rep.n_mismatched_events == int(differ.sum())
    assert rep.mismatch_fraction == pytest.approx(differ.mean())
    assert rep.first_mismatched_events == np.flatnonzero(differ)[:max_listed].tolist()
    for j in range(a.shape[1]):
        values, counts = np.unique(b[:, j] - a[:, j], return_counts=True)
        want = {"equal": 0, **{("equal" if v == 0 else int(v)): int(c) for v, c in zip(values, counts)}}
        assert rep.lsb_diff_histogram[j] == want, f"output {j}"
    return differ


def test_jet_tagger_bit_exact(tagger, report):
    _, hls_model, emu, X = tagger
    rep = l1emu.validate(emu, hls_model, X)
    report(f"validate jet_tagger: {rep.n_events} events x {rep.n_outputs} outputs, "
           f"{rep.n_mismatched_events} mismatching events")
    assert rep.bit_exact and rep.reference_kind == "hls4ml"
    assert rep.n_events == len(X) > 20_000 and rep.n_outputs == 5
    assert rep.n_mismatched_events == 0 and rep.mismatch_fraction == 0.0 and rep.first_mismatched_events == []
    assert rep.first_diverging_layer is None and rep.n_unrepresentable == 0
    assert rep.lsb_diff_histogram == {j: {"equal": len(X)} for j in range(5)}
    assert str(rep).startswith(f"bit-exact: {len(X)} events x 5 outputs, 0 mismatching events")
    d = rep.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["n_events"] == len(X) and type(d["n_events"]) is int and d["bit_exact"] is True
    assert d["lsb_diff_histogram"]["0"] == {"equal": len(X)}
    # non-trivial: the compared outputs vary
    assert len(np.unique(emu.predict_raw(X))) > 100


def test_perturbed_second_dense_names_it(tagger, report):
    _, hls_model, emu, X = tagger
    bad, (i, j), delta, _ = _perturbed(emu, "fc2", X)
    rep = l1emu.validate(bad, hls_model, X)
    report(f"validate jet_tagger, fc2 weight [{i},{j}] {delta:+d} LSB: {rep.n_mismatched_events}/{rep.n_events} "
           f"mismatching events, first diverging layer {rep.first_diverging_layer}")
    assert not rep.bit_exact
    assert rep.n_mismatched_events > 0
    assert rep.first_diverging_layer == "fc2"
    assert rep.traced_layers == ["fc1", "bn1", "relu1", "fc2"]
    _check_against_emulators(rep, emu, bad, X)
    text = str(rep)
    assert text.startswith(f"NOT bit-exact: {rep.n_mismatched_events}/{len(X)} events differ "
                           f"(first at {rep.first_mismatched_events[0]})")
    assert "first diverging layer: fc2" in text and "LSB differences output" in text
    d = rep.to_dict()
    assert json.loads(json.dumps(d)) == d
    assert d["first_diverging_layer"] == "fc2" and d["n_mismatched_events"] == rep.n_mismatched_events
    # chunking does not change the report
    assert l1emu.validate(bad, hls_model, X, chunk_size=3001).to_dict() == d
    short = l1emu.validate(bad, hls_model, X, max_listed=3, trace=False)
    assert short.first_mismatched_events == rep.first_mismatched_events[:3]
    assert short.first_diverging_layer is None and "trace=False" in short.trace_note


def test_perturbed_last_layer_names_it(tagger):
    _, hls_model, emu, X = tagger
    bad, (i, j), delta, source = _perturbed(emu, "output", X)
    rep = l1emu.validate(bad, hls_model, X)
    assert not rep.bit_exact and rep.n_mismatched_events > 0
    assert rep.first_diverging_layer == "output"
    assert rep.traced_layers == ["fc1", "bn1", "relu1", "fc2", "relu2", "fc3", "relu3", "output"]
    differ = _check_against_emulators(rep, emu, bad, X)
    # output j moves by delta * (its input i's code) LSBs: relu3 ufixed<6,0> x weight LSB 2^-5 = output LSB 2^-11
    assert bad.output_precisions()[0].frac == 11 and emu.trace(X[:1], raw=True)[source].dtype == np.int64
    a_i = emu.trace(X, raw=True)[source].reshape(len(X), -1)[:, i]
    np.testing.assert_array_equal(differ, a_i != 0)
    want = {int(v) * delta: int(c) for v, c in zip(*np.unique(a_i[a_i != 0], return_counts=True))}
    assert rep.lsb_diff_histogram[j] == {"equal": int((a_i == 0).sum()), **want}
    assert all(h == {"equal": len(X)} for k, h in rep.lsb_diff_histogram.items() if k != j)


def test_untraced_model_is_not_guessed(tagger):
    _, _, emu, X = tagger
    _, plain = _tagger(trace=False)
    X = X[:4000]
    assert l1emu.validate(emu, plain, X).bit_exact
    bad, *_ = _perturbed(emu, "fc2", X)
    rep = l1emu.validate(bad, plain, X)
    assert not rep.bit_exact and rep.n_mismatched_events > 0
    assert rep.first_diverging_layer is None
    assert "not built with tracing" in rep.trace_note and "Trace=True" in rep.trace_note
    assert rep.trace_note in str(rep)


def test_uncompiled_model_is_compiled(tmp_path):
    keras_model = ref.jet_tagger()
    cfg, kwargs = configure(keras_model, "default")
    hls_model = hls4ml.converters.convert_from_keras_model(keras_model, hls_config=cfg, backend="Vitis",
                                                           output_dir=str(tmp_path / "prj"), **kwargs)
    assert hls_model._top_function_lib is None
    emu = l1emu.from_hls4ml(hls_model)
    X = np.random.default_rng(4).normal(0, 3, (1500, 16)).astype(np.float32)  # float32 inputs too
    rep = l1emu.validate(emu, hls_model, X)
    assert hls_model._top_function_lib is not None
    assert rep.bit_exact and rep.n_events == 1500
    # a single event (hls4ml's predict returns it unbatched)
    assert l1emu.validate(emu, hls_model, X[:1]).bit_exact


@pytest.fixture(scope="module")
def jet_bdt():
    model = ref_bdt.jet_bdt()
    emu = l1emu.from_conifer(model)
    spec = emu.input_precision
    thresholds = np.array(sorted({t for trees in model.trees for tree in trees
                                  for f, t in zip(tree.feature, tree.threshold) if f != -2}))
    on = l1emu.to_double(l1emu.quantize(thresholds, spec), spec)
    lsb = 2.0 ** -spec.frac
    rng = np.random.default_rng(17)
    from l1emu.events.jets import synthetic_jets

    X = np.concatenate([synthetic_jets(3000, rng)[0], rng.choice(np.concatenate([on - lsb, on, on + lsb]), (3000, 16))])
    return model, emu, X


def test_conifer_bit_exact(jet_bdt, report):
    model, emu, X = jet_bdt
    rep = l1emu.validate(emu, model, X, chunk_size=2500)
    report(f"validate jet_bdt: {rep.n_events} events x {rep.n_outputs} outputs, "
           f"{rep.n_mismatched_events} mismatching events")
    assert rep.bit_exact and rep.reference_kind == "conifer"
    assert rep.n_events == len(X) and rep.n_outputs == 5 and rep.n_mismatched_events == 0
    assert rep.lsb_diff_histogram == {j: {"equal": len(X)} for j in range(5)}
    d = rep.to_dict()
    assert json.loads(json.dumps(d)) == d


def test_conifer_perturbed_threshold(jet_bdt, report):
    model, emu, X = jet_bdt
    graph = copy.deepcopy(emu.graph)
    arrays = graph["layers"][0]["arrays"]
    node = int(np.flatnonzero(np.asarray(arrays["feature"]) != -2)[0])  # tree 0, class 0: its root split
    threshold = np.array(arrays["threshold"], dtype=np.int64)
    threshold[node] += 1
    arrays["threshold"] = threshold
    bad = l1emu.Emulator(graph)
    # plus events whose split feature sits one LSB above the original threshold: they change sides
    spec = emu.input_precision
    f = int(np.asarray(arrays["feature"])[node])
    on = X[3000:3500].copy()
    on[:, f] = l1emu.to_double(threshold[node:node + 1], spec)[0]
    X = np.concatenate([X, on])
    rep = l1emu.validate(bad, model, X)
    report(f"validate jet_bdt, root threshold +1 LSB: {rep.n_mismatched_events}/{rep.n_events} mismatching events")
    assert not rep.bit_exact and rep.n_mismatched_events > 0
    assert rep.first_diverging_layer is None and "conifer" in rep.trace_note
    differ = _check_against_emulators(rep, emu, bad, X)
    assert differ[-len(on):].mean() > 0.5
    assert f"{rep.n_mismatched_events}/{len(X)} events differ" in str(rep)
    d = rep.to_dict()
    assert json.loads(json.dumps(d)) == d


def test_wrong_reference_type(tagger, tmp_path):
    keras_model, hls_model, emu, X = tagger
    with pytest.raises(l1emu.L1emuError, match=r"reference is a .*keras.*expected an hls4ml ModelGraph"):
        l1emu.validate(emu, keras_model, X[:10])
    with pytest.raises(l1emu.ProjectError, match="not an hls4ml project directory"):
        l1emu.validate(emu, str(tmp_path), X[:10])  # a directory is read as a project
    with pytest.raises(l1emu.L1emuError, match="is not a directory.*project directory"):
        l1emu.validate(emu, str(tmp_path / "missing"), X[:10])
    with pytest.raises(l1emu.L1emuError, match="reference is a builtins.object"):
        l1emu.validate(emu, object(), X[:10])
    with pytest.raises(l1emu.L1emuError, match="emu is a .*ModelGraph.*expected an l1emu.Emulator"):
        l1emu.validate(hls_model, hls_model, X[:10])
    with pytest.raises(l1emu.L1emuError, match="shape"):
        l1emu.validate(emu, hls_model, X[:10, :8])


def test_conifer_backend_other_than_cpp(jet_bdt, tmp_path):
    import conifer
    from sklearn.ensemble import GradientBoostingClassifier

    model, emu, X = jet_bdt
    clf = GradientBoostingClassifier(n_estimators=2, max_depth=2).fit(X[:200], X[:200, 0] > 0)
    cfg = conifer.backends.xilinxhls.auto_config()
    cfg.update(OutputDir=str(tmp_path / "hls"), Precision="ap_fixed<16,6>")
    hls = conifer.converters.convert_from_sklearn(clf, cfg)
    with pytest.raises(l1emu.L1emuError, match="backend 'xilinxhls'.*Backend='cpp'"):
        l1emu.validate(emu, hls, X[:10])
