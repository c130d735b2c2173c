"""The test cases shared between test files (tests never import each other): the models, configurations and
inputs of each family in a module of its own (cases.dense, cases.conv, ...), and here adversarial inputs at
the edges of a model's input type."""

import numpy as np

import l1emu


def set_precision(cfg, names, **precision):
    """Update the Precision keys of layers (a name or a list of names) in an hls4ml config."""
    for name in [names] if isinstance(names, str) else names:
        entry = cfg["LayerName"].setdefault(name, {})
        if not isinstance(entry.get("Precision"), dict):
            entry["Precision"] = {"result": entry["Precision"]} if "Precision" in entry else {}
        entry["Precision"].update(precision)


def codes_of(values, spec):
    """Raw codes of csim output values, which must be values of the output type."""
    codes = l1emu.quantize(values, spec)
    assert np.array_equal(l1emu.to_double(codes, spec), values), "csim output is not a value of the output type"
    return codes


def adversarial_inputs(emu, rng, weights=None):
    """Inputs at the edges of the input type: rails, one LSB inside and outside, half-LSB ties, zeros,
    values far beyond the range (saturation/wrap of the input cast), and, given the first layer's weight
    matrix, sign patterns aligned with each output's weights (accumulator overflow)."""
    spec = emu.input_precision
    lsb = 2.0 ** -spec.frac
    hi = (2 ** (spec.width - (1 if spec.is_signed else 0)) - 1) * lsb
    lo = -(2 ** (spec.width - 1)) * lsb if spec.is_signed else 0.0
    n_in = int(np.prod(emu.input_shape))
    specials = np.array([0.0, lsb, -lsb, lsb / 2, -lsb / 2, 1.5 * lsb, -1.5 * lsb, hi, lo, hi + lsb / 2,
                         lo - lsb / 2, hi + lsb, lo - lsb, hi * 4, lo * 4 - 1, 2 * hi + 3 * lsb, 1e30, -1e30,
                         np.nextafter(lsb / 2, 0), np.nextafter(lsb / 2, 1), -np.nextafter(lsb / 2, 0)])
    rows = [np.full(n_in, s) for s in specials]
    rows += [rng.choice(specials, size=n_in) for _ in range(2000)]
    # ties: k + 1/2 LSB at random magnitudes
    rows += [(rng.integers(-2 ** (spec.width - 1), 2 ** (spec.width - 1), size=n_in) + 0.5) * lsb for _ in range(2000)]
    if weights is not None:
        w = np.asarray(weights).reshape(n_in, -1)
        for j in range(w.shape[1]):
            for mag in (hi, lo if lo else hi, hi / 2):
                rows.append(np.sign(w[:, j]) * abs(mag))
                rows.append(-np.sign(w[:, j]) * abs(mag))
    return np.array(rows, dtype=np.float64).reshape((len(rows),) + emu.input_shape)
