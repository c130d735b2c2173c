"""Jet BDT (16 features, 5 classes, 100 boosting rounds of depth-4 trees = 500 trees) on 1e5 events:
l1emu vs conifer's cpp backend decision_function vs scikit-learn's float decision_function, one run."""

import numpy as np
import pytest

pytest.importorskip("conifer")
pytest.importorskip("sklearn")

import l1emu  # noqa: E402
from l1emu.events.jets import synthetic_jets  # noqa: E402
from l1emu.reference import bdt as ref  # noqa: E402

N_EVENTS = 100_000
SUITE = "jet_bdt 100x4 5-class 1e5"


@pytest.fixture(scope="module")
def setup():
    clf = ref.train_jet_bdt(n_estimators=100, max_depth=4, n_train=3000)
    model = ref.jet_bdt(clf=clf, name="bench-jet_bdt")
    X, _ = synthetic_jets(N_EVENTS, np.random.default_rng(0))
    return clf, model, l1emu.from_conifer(model), X


def test_l1emu(benchmark, setup, record_rate):
    _, _, emu, X = setup
    benchmark.pedantic(emu.predict, args=(X,), rounds=10, iterations=1)
    record_rate(SUITE, "l1emu", N_EVENTS, benchmark)


def test_conifer_cpp(benchmark, setup, record_rate):
    _, model, emu, X = setup
    out = benchmark.pedantic(model.decision_function, args=(X,), rounds=1, iterations=1)
    record_rate(SUITE, "conifer cpp", N_EVENTS, benchmark)
    assert np.array_equal(out, emu.predict(X))  # what was timed is what is emulated


def test_sklearn_float(benchmark, setup, record_rate):
    clf, _, _, X = setup
    benchmark.pedantic(clf.decision_function, args=(X,), rounds=3, iterations=1)
    record_rate(SUITE, "sklearn float", N_EVENTS, benchmark)
