"""Simulated boosted-jet samples for the reference taggers: the 16 hls4ml features of the leading jet of
g, q, W, Z, t jets (l1emu.events), standardized with a fixed reference transform."""

import numpy as np

CLASSES = ["g", "q", "W", "Z", "t"]
_PROCESSES = ["gjet", "qjet", "wjet", "zjet", "topjet"]
# Standardization of the 16 features, fixed once from a reference sample so that every call (training,
# replay) feeds the firmware the same transform: offsets/scales as the uGT applies them before the model.
_SCALE_SEED, _SCALE_EVENTS = 12345, 5000


def _raw_jets(n, seed):
    from .. import events

    per = -(-n // len(CLASSES))
    X = np.concatenate([events.jet_features(events.generate_all(p, per, seed=seed + k, with_constituents=True))
                        for k, p in enumerate(_PROCESSES)])
    y = np.repeat(np.arange(len(CLASSES)), per)
    order = np.random.default_rng(seed).permutation(len(y))[:n]
    return X[order], y[order]


def synthetic_jets(n, rng):
    """(X, y): the 16 hls4ml jet features of the leading jet of simulated boosted g, q, W, Z, t jets
    (l1emu.events), standardized; y is the class index in CLASSES."""
    ref, _ = _raw_jets(_SCALE_EVENTS, _SCALE_SEED)
    mean, std = ref.mean(0), ref.std(0) + 1e-9
    X, y = _raw_jets(n, int(rng.integers(2**31)))
    return (X - mean) / std, y
