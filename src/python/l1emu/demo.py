"""``l1emu demo``: a QKeras jet tagger, trained briefly, converted with hls4ml, replayed on 1e6 events
by l1emu and by hls4ml's C simulation; prints the bit-exact agreement and the throughput ratios."""

import time

import numpy as np

CLASSES = ["g", "q", "W", "Z", "t"]
_PROCESSES = ["gjet", "qjet", "wjet", "zjet", "topjet"]
# Standardization of the 16 features, fixed once from a reference sample so that every call (training,
# replay) feeds the firmware the same transform: offsets/scales as the uGT applies them before the model.
_SCALE_SEED, _SCALE_EVENTS = 12345, 5000


def _raw_jets(n, seed):
    from . import events

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


def run(n_events=1_000_000, csim_events=None, echo=print):
    import tensorflow as tf

    from . import from_hls4ml, reference

    rng = np.random.default_rng(42)
    model = reference.jet_tagger()
    X_train, y_train = synthetic_jets(100_000, rng)
    model.compile(optimizer="adam", loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(X_train, y_train, epochs=3, batch_size=512, verbose=0)
    echo("trained QKeras jet tagger 16->64->32->32->5 (3 epochs on 1e5 simulated g/q/W/Z/t jets)")

    t0 = time.perf_counter()
    hls_model = reference.convert(model, "demo-jet_tagger")
    echo(f"hls4ml conversion + C-simulation build: {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    emu = from_hls4ml(hls_model)
    echo(f"l1emu import (no compilation): {1e3 * (time.perf_counter() - t0):.0f} ms")
    emu.summary(print_fn=echo)

    t0 = time.perf_counter()
    X, y = synthetic_jets(n_events, rng)
    echo(f"simulated {n_events} jets in {time.perf_counter() - t0:.1f} s")
    timings = {}
    t0 = time.perf_counter()
    raw = emu.predict_raw(X)
    timings["l1emu"] = n_events / (time.perf_counter() - t0)
    n_csim = n_events if csim_events is None else min(csim_events, n_events)
    t0 = time.perf_counter()
    csim = np.asarray(hls_model.predict(X[:n_csim]))
    timings["hls4ml csim"] = n_csim / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    keras_out = model.predict(X, batch_size=4096, verbose=0)
    timings["QKeras/TF"] = n_events / (time.perf_counter() - t0)

    from .fixed import quantize

    spec = emu.output_precisions()[0]
    mismatches = int(np.sum(quantize(csim, spec) != raw[:n_csim]))
    agree_tf = float(np.mean(np.argmax(keras_out, 1) == np.argmax(raw, 1)))
    accuracy = float(np.mean(np.argmax(raw, 1) == y))
    echo(f"\nbit-exact check: {n_csim} events x {raw.shape[1]} outputs vs hls4ml csim: "
         f"{mismatches} mismatching raw codes")
    echo(f"firmware accuracy on simulated jets: {accuracy:.3f}; argmax agreement with float QKeras: {agree_tf:.4f}")
    echo("\nthroughput (events/s):")
    for name, rate in timings.items():
        ratio = "" if name == "l1emu" else f"   l1emu is {timings['l1emu'] / rate:.1f}x {name}"
        echo(f"  {name:12s} {rate:12,.0f}{ratio}")
    return {"mismatches": mismatches, "events": n_csim, "rates": timings}
