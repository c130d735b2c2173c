"""The synthetic menu of the menu tests: a toy firmware model, its menu and events with known distributions."""

import numpy as np

import l1emu


def toy_model(folder):
    """toy.l1emu in folder: a firmware model whose two outputs are jet_features[0] and [1] in fixed<16,6> (an
    identity Dense)."""
    import hls4ml
    from tensorflow.keras.layers import Dense, Input
    from tensorflow.keras.models import Model

    x = Input((16,), name="features")
    y = Dense(2, use_bias=False, name="pick")(x)
    model = Model(x, y)
    kernel = np.zeros((16, 2))
    kernel[0, 0] = kernel[1, 1] = 1.0
    model.layers[1].set_weights([kernel])
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="model", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis",
                                                           output_dir=str(folder / "prj"))
    path = folder / "toy.l1emu"
    l1emu.from_hls4ml(hls_model).save(path)
    return path


def toy_events(n, seed):
    """Chunk dict: jet_features[0], [1] uniform on k/64 (independent); jet[0].pt uniform on the 0.5 GeV grid."""
    rng = np.random.default_rng(seed)
    feats = np.zeros((n, 16), np.float32)
    feats[:, 0] = rng.integers(0, 64, n) / 64
    feats[:, 1] = rng.integers(0, 64, n) / 64
    jet = np.zeros((n, 10, 3), np.float32)
    jet[:, 0, 0] = rng.integers(0, 512, n) * 0.5
    jet[:, 1, 0] = np.minimum(jet[:, 0, 0], rng.integers(0, 512, n) * 0.5)
    jet[:, :2, 1] = rng.integers(-50, 50, (n, 2)) * 0.0435
    jet[jet[:, :, 0] == 0] = 0
    return {"event": np.arange(n, dtype=np.int64), "n_pileup": rng.integers(20, 80, n).astype(np.int16),
            "jet_features": feats, "jet": jet, "egamma": np.zeros((n, 4, 3), np.float32),
            "muon": np.zeros((n, 4, 3), np.float32), "met": np.zeros((n, 2), np.float32)}


MENU = """
name: synthetic
bunch_crossing_rate_hz: 28.6e6
algorithms:
  toy: {model: toy.l1emu, inputs: leading_jet_features, classes: [a, b]}
seeds:
  A: {score: "toy[a]", threshold: 0.75}
  B: {score: "toy[b]", threshold: 512, units: raw}
  J50: "jet[0].pt >= 50"
  J100: {cut: "jet[0].pt >= 100", prescale: 2}
  A_or_J100: "A or J100"
  A_req: {score: "toy[a]", threshold: 0.5, require: "jet[0].pt >= 100 and abs(jet[0].eta) <= 1.5"}
  A_1MHz: {score: "toy[a]", rate_hz: 1.0e6}
  B_frac: {score: "toy[b]", threshold: 0.25, prescale: 2.5}
prescale_columns:
  tight: {J50: 0, B_frac: 1}
"""
