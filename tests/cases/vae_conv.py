"""The convolutional VAE encoder (models.vae_encoder_conv) built for the C simulation, and its image groups."""

import numpy as np

import l1emu
import l1emu.firmware as fw
from l1emu import reference as ref

from . import adversarial_inputs

fw.register()


def build(io_type):
    """Trace is enabled on every layer for both tests (one compiled library per io type; it changes no result)."""
    model = ref.vae_encoder_conv()
    cfg = ref.vae_encoder_conv_config(model)
    for layer in cfg["LayerName"].values():
        layer["Trace"] = True
    hls_model = ref.convert(model, f"vae_encoder_conv-{io_type}", cfg, io_type=io_type)
    return model, hls_model, l1emu.from_hls4ml(hls_model)


def images(emu, rng):
    """(name, images) groups: dense and signed random images, sparse jet-like images, and adversarial ones
    (zeros, constants, rails and beyond, single hot pixels, checkerboards, values at the input type's edges)."""
    spec = emu.input_precision
    lsb, hi = 2.0 ** -spec.frac, 2.0 ** (spec.integer - 1)
    shape = (40, 40, 1)

    def jets(n):
        X = np.zeros((n, 40, 40))
        for k in range(n):
            for _ in range(rng.integers(1, 5)):  # a few showers: exponential core, sparse halo
                cy, cx = rng.integers(0, 40, 2)
                pt = rng.exponential(8)
                yy, xx = np.mgrid[:40, :40]
                core = pt * np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * rng.uniform(0.5, 3) ** 2))
                X[k] += np.where(core > rng.uniform(0.05, 0.5), core, 0)
            hits = rng.integers(0, 40, (rng.integers(0, 30), 2))  # pile-up hits
            X[k, hits[:, 0], hits[:, 1]] += rng.exponential(0.5, len(hits))
        return X

    consts = np.concatenate([[0, lsb, -lsb, hi - lsb, -hi, 2 * hi, -2 * hi, 1e6], rng.uniform(-hi, hi, 92)])
    single = np.zeros((100, 40 * 40))
    single[np.arange(100), rng.integers(0, 1600, 100)] = rng.choice([lsb, 1.0, hi - lsb, -hi, 5 * hi], 100)
    yy, xx = np.mgrid[:40, :40]
    checker = np.stack([((yy // s + xx // s) % 2) * v for s in (1, 2, 3, 5) for v in (lsb, 1, hi - lsb, -hi)])
    saturated = rng.uniform(0, 2, (200, 1600))
    mask = rng.random((200, 1600)) < rng.uniform(0.01, 0.5, (200, 1))
    saturated[mask] = rng.choice([hi - lsb, -hi, 3 * hi, -3 * hi], mask.sum())
    edge = adversarial_inputs(emu, rng)
    edge = edge[rng.choice(len(edge), 300, replace=False)]
    groups = {
        "uniform[0,4)": rng.uniform(0, 4, (400, 1600)),
        "normal(0,3)": rng.normal(0, 3, (300, 1600)),
        "jet-like": jets(500).reshape(500, 1600),
        "zeros": np.zeros((1, 1600)),
        "constant": np.repeat(consts[:, None], 1600, axis=1),
        "single pixel": single,
        "checkerboard": checker.reshape(len(checker), 1600),
        "saturated pixels": saturated,
        "input-type edges": edge.reshape(len(edge), 1600),
        "sparse uniform": rng.uniform(0, hi, (200, 1600)) * (rng.random((200, 1600)) < 0.03),
    }
    return {k: v.reshape((-1,) + shape) for k, v in groups.items()}
