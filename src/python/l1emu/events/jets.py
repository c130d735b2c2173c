"""Labelled boosted-jet samples for the reference taggers: the 16 hls4ml features of the leading jet of
simulated g, q, W, Z, t jets, standardized with a frozen reference transform."""

import numpy as np

from . import generate_all
from .record import jet_features

CLASSES = ["g", "q", "W", "Z", "t"]
PROCESSES = ["gjet", "qjet", "wjet", "zjet", "topjet"]

# Standardization of the 16 features (order of record.JET_FEATURES), frozen so that every call (training,
# replay) feeds the firmware the same transform. Computed once, in float32 as the features are, as
#     ref, _ = labelled_jets(REFERENCE_EVENTS, REFERENCE_SEED)
#     FEATURE_MEAN, FEATURE_STD = ref.mean(0), ref.std(0) + 1e-9
# with generator version parametric-1.1; tests/test_events.py recomputes them.
REFERENCE_EVENTS, REFERENCE_SEED = 5000, 12345
FEATURE_MEAN = np.array([-2.0963178, 0.41002753, 0.054332476, 0.01950968, 0.09661952, 0.044530552, 3.2865195,
                         9.061141, 3.2865195, 0.1529048, 0.055039667, 0.018962111, 0.2675986, 0.15384133, 88.27706,
                         35.653], dtype=np.float32)
FEATURE_STD = np.array([0.28486538, 0.039669443, 0.038824294, 0.022284018, 0.0526013, 0.050859742, 3.7022698,
                        16.006527, 3.7022698, 0.06775231, 0.023883287, 0.015447629, 0.10466969, 0.10415639, 50.91342,
                        11.773594], dtype=np.float32)


def labelled_jets(n, seed):
    """(X, y): raw float32 features of ``n`` jets, the five classes in equal parts, shuffled; y indexes CLASSES."""
    per = -(-n // len(CLASSES))
    X = np.concatenate([jet_features(generate_all(p, per, seed=seed + k, with_constituents=True))
                        for k, p in enumerate(PROCESSES)])
    y = np.repeat(np.arange(len(CLASSES)), per)
    order = np.random.default_rng(seed).permutation(len(y))[:n]
    return X[order], y[order]


def synthetic_jets(n, rng):
    """(X, y): the 16 hls4ml jet features of the leading jet of simulated boosted g, q, W, Z, t jets,
    standardized with FEATURE_MEAN / FEATURE_STD; y is the class index in CLASSES."""
    X, y = labelled_jets(n, int(rng.integers(2**31)))
    return (X - FEATURE_MEAN) / FEATURE_STD, y
