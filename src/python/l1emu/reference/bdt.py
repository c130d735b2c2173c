"""conifer BDTs as reference firmware: conversion to conifer's cpp backend and its build, cached by the
content of the generated bridge (the trees are read from JSON at run time, so one build serves every
model with the same precisions), plus the reference jet BDT. Needs the 'conifer' extra and the
nlohmann-json headers (Debian nlohmann-json3-dev)."""

import contextlib
import importlib.util
import os
import shutil
import sys

import numpy as np

from . import cache as build_cache

_LOADED = {}  # build key -> bridge module (an extension module is initialised once per process)


def ap_include():
    """hls4ml's copy of the Xilinx ap_types headers (conifer's cpp backend needs ap_fixed.h)."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is None:
        raise RuntimeError("conifer's cpp backend needs the ap_types headers; install hls4ml (the 'hls4ml' extra) "
                           "or set XILINX_AP_INCLUDE")
    return os.path.join(os.path.dirname(spec.origin), "templates", "vivado", "ap_types")


def setup_environment():
    """Point conifer at the ap_types headers and check the JSON headers are where g++ finds them."""
    if not os.path.isfile(os.path.join(os.environ.get("XILINX_AP_INCLUDE", ""), "ap_fixed.h")):
        os.environ["XILINX_AP_INCLUDE"] = ap_include()
    import conifer

    bundled = os.path.join(conifer.__path__[0], "external", "json", "include", "nlohmann", "json.hpp")
    system = [os.path.join(d, "nlohmann", "json.hpp") for d in ("/usr/include", "/usr/local/include")]
    if not any(os.path.isfile(p) for p in [bundled, *system]):
        raise RuntimeError("conifer's cpp backend needs the nlohmann-json headers: "
                           "apt-get install nlohmann-json3-dev (or brew install nlohmann-json)")


@contextlib.contextmanager
def _splitting_convention(library, split):
    from conifer import converters

    old = converters.splitting_conventions.get(library)
    if split is not None:
        converters.splitting_conventions[library] = split
    try:
        yield
    finally:
        if split is not None:
            converters.splitting_conventions[library] = old


def convert_sklearn(clf, name, precision="ap_fixed<18,8>", split=None, cache=None, **precisions):
    """Convert a scikit-learn ensemble with conifer's cpp backend and build it (cached). ``precisions``:
    InputPrecision, ThresholdPrecision, WeightPrecision, ScorePrecision overriding ``precision``;
    ``split`` ('<' or '<=') overrides the splitting convention (sklearn's own is '<=')."""
    import conifer

    cfg = {"Backend": "cpp", "ProjectName": "bdt", "OutputDir": os.path.join(build_cache.root(cache), "conifer",
                                                                              "projects", name),
           "Precision": precision, **precisions}
    # Parallel workers may build the same project: one writes, compiles and reads its JSON at a time.
    with build_cache.locked(cfg["OutputDir"]):
        with _splitting_convention("sklearn", split):
            model = conifer.converters.convert_from_sklearn(clf, cfg)
        return compile(model, cache=cache)


def convert_xgboost(booster, name, precision="ap_fixed<18,8>", cache=None, **precisions):
    """Convert an xgboost model (Booster, XGBClassifier or XGBRegressor) with conifer's cpp backend and build
    it (cached); ``precisions`` as for ``convert_sklearn``. The trees' scores are xgboost's margins."""
    import conifer

    cfg = {"Backend": "cpp", "ProjectName": "bdt", "OutputDir": os.path.join(build_cache.root(cache), "conifer",
                                                                              "projects", name),
           "Precision": precision, **precisions}
    with build_cache.locked(cfg["OutputDir"]):
        model = conifer.converters.convert_from_xgboost(booster, cfg)
        return compile(model, cache=cache)


def compile(model, cache=None):  # noqa: A001 - mirrors conifer's model.compile()
    """``model.compile()`` for a conifer cpp-backend model, reusing a library built earlier from the same
    bridge source, conifer header and ap_types headers. Returns the model, ready for decision_function."""
    import conifer

    setup_environment()
    cfg = model.config
    model.write()  # the model JSON and bridge.cpp
    with open(os.path.join(cfg.output_dir, "bridge.cpp")) as f:
        bridge = f.read().replace(f"conifer_bridge_{model._stamp}", "conifer_bridge_STAMP")
    header = os.path.join(os.path.dirname(conifer.backends.cpp.writer.__file__), "include", "conifer.h")
    with open(header, "rb") as f:
        material = (bridge, f.read(), f"{conifer.__version__} {os.environ['XILINX_AP_INCLUDE']} {sys.version}")
    key = build_cache.digest(material)
    # conifer names the module conifer_bridge_<seconds since epoch>: two models built in the same second share
    # a module name, and the second import in a process then returns the first module (other types, wrong
    # scores). A stamp derived from the content is unique per library.
    stamp = int(key[:12], 16)
    if key not in _LOADED:
        def build(tmp):
            model._stamp = stamp
            model.compile()
            shutil.copy(os.path.join(cfg.output_dir, f"conifer_bridge_{stamp}.so"), tmp)

        lib = build_cache.cached_build("conifer/libs", material, build, suffix=f"-{stamp}.so", cache=cache)
        spec = importlib.util.spec_from_file_location(f"conifer_bridge_{stamp}", lib)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        _LOADED[key] = module
    model.bridge = _LOADED[key].BDT(os.path.join(cfg.output_dir, f"{cfg.project_name}.json"))
    return model


def train_jet_bdt(n_estimators=20, max_depth=3, n_train=5000, seed=0):
    """A scikit-learn GradientBoostingClassifier on the synthetic 16-feature, 5-class jets of l1emu.events.jets."""
    from sklearn.ensemble import GradientBoostingClassifier

    from ..events.jets import synthetic_jets

    X, y = synthetic_jets(n_train, np.random.default_rng(seed))
    return GradientBoostingClassifier(n_estimators=n_estimators, max_depth=max_depth, random_state=seed).fit(X, y)


def train_jet_bdt_xgboost(n_estimators=20, max_depth=3, n_train=5000, seed=0):
    """An xgboost XGBClassifier on the same synthetic jets as ``train_jet_bdt``."""
    import xgboost

    from ..events.jets import synthetic_jets

    X, y = synthetic_jets(n_train, np.random.default_rng(seed))
    return xgboost.XGBClassifier(n_estimators=n_estimators, max_depth=max_depth, random_state=seed,
                                 n_jobs=1).fit(X, y)


def jet_bdt(n_estimators=20, max_depth=3, precision="ap_fixed<16,6>", clf=None, name=None, cache=None):
    """The reference jet BDT: 16 jet features -> 5 class scores, converted with conifer's cpp backend and
    built (cached). Pass ``clf`` to convert an already trained classifier."""
    clf = clf or train_jet_bdt(n_estimators, max_depth)
    name = name or f"jet_bdt-{len(clf.estimators_)}x{clf.max_depth}"
    return convert_sklearn(clf, name, precision=precision, cache=cache)
