"""conifer's xgboost converter into l1emu: xgboost models (binary and 5-class, xgboost's own JSON as conifer
reads it) converted with conifer's cpp backend equal l1emu code for code, and the conifer model agrees with
xgboost's float margins (argmax) as far as ap_fixed rounding allows."""

import numpy as np
import pytest

import l1emu
from l1emu.events import jets
from l1emu.reference import bdt


@pytest.mark.xdist_group("conifer")
@pytest.mark.parametrize("n_classes", [2, 5])
def test_xgboost_conifer_bit_exact(n_classes, report):
    X, y = jets.synthetic_jets(3000, np.random.default_rng(0))
    keep = y < n_classes
    clf = bdt.train_jet_bdt_xgboost(n_estimators=30, max_depth=4, n_train=3000)
    if n_classes == 2:
        import xgboost

        clf = xgboost.XGBClassifier(n_estimators=30, max_depth=4, random_state=0, n_jobs=1).fit(X[keep], y[keep])
    model = bdt.convert_xgboost(clf, f"test-xgb-{n_classes}", precision="ap_fixed<18,8>")
    emu = l1emu.from_conifer(model)
    Xt, _ = jets.synthetic_jets(5000, np.random.default_rng(1))
    rep = l1emu.validate(emu, model, Xt)
    report(f"xgboost {n_classes}-class via conifer: {rep}")
    assert rep.bit_exact and rep.n_events == 5000
    margins = clf.predict(Xt, output_margin=True)
    scores = emu.predict(Xt)
    if n_classes == 2:
        assert ((scores.ravel() > 0) == (margins > 0)).mean() > 0.99
    else:
        assert (scores.argmax(1) == margins.argmax(1)).mean() > 0.99
