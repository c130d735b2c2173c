"""Bad input gets one clear error: shapes, dtypes, NaN, unsupported layers, corrupt files, bad precisions."""

import numpy as np
import pytest

import l1emu
from l1emu import model_file


def _tiny_graph():
    """A one-layer dense model built directly as a graph (no hls4ml needed)."""
    w = l1emu.quantize(np.array([[0.5, -0.25], [1.0, 0.75], [-1.5, 0.125]]), "fixed<8,3>")
    return {
        "source": {"tool": "test"},
        "input": {"name": "x", "shape": [3], "spec": "fixed<10,4>"},
        "layers": [{"name": "fc", "kind": "Dense", "inputs": [0], "shape": [2], "spec": "fixed<12,5,RND,SAT>",
                    "attrs": {"weight_t": "fixed<8,3>", "bias_t": "fixed<8,3>", "accum_t": "fixed<14,6>"},
                    "arrays": {"weight": w, "bias": l1emu.quantize(np.array([0.5, -1.0]), "fixed<8,3>")}}],
        "outputs": [1],
    }


def test_tiny_model_matches_hand_arithmetic():
    emu = l1emu.Emulator(_tiny_graph())
    x = np.array([[1.0, 2.0, 0.5]])
    # exact: 0.5*1 + 1*2 - 1.5*0.5 + 0.5 = 2.25 ; -0.25 + 1.5 + 0.0625 - 1 = 0.3125
    np.testing.assert_array_equal(emu.predict(x), [[2.25, 0.3125]])
    np.testing.assert_array_equal(emu.predict_raw(x), [[2.25 * 128, 0.3125 * 128]])


def test_shape_dtype_nan_errors():
    emu = l1emu.Emulator(_tiny_graph())
    with pytest.raises(l1emu.L1emuError, match=r"expected \(n_events, 3\)"):
        emu.predict(np.zeros((4, 5)))
    with pytest.raises(l1emu.L1emuError, match="dtype"):
        emu.predict(np.array([["a", "b", "c"]]))
    with pytest.raises(l1emu.L1emuError, match="NaN or inf.*event 1, input 2"):
        emu.predict(np.array([[0, 0, 0], [0, 0, np.nan]]))
    # check_finite=False: inf goes through the same input cast as l1emu.quantize (ap_fixed's double ctor)
    v = l1emu.to_double(l1emu.quantize(np.inf, "fixed<10,4>"), "fixed<10,4>")
    np.testing.assert_array_equal(emu.predict(np.array([[np.inf, 0, 0]]), check_finite=False),
                                  emu.predict(np.array([[v, 0, 0]])))
    assert emu.predict(np.array([1.0, 2.0, 0.5])).shape == (1, 2)  # one event as a flat vector


def test_precision_parser_errors():
    assert str(l1emu.parse_precision("ap_fixed<16,6,AP_RND,AP_SAT>")) == "fixed<16,6,RND,SAT>"
    assert str(l1emu.parse_precision("ap_uint<1>")) == "ufixed<1,1>"
    assert l1emu.parse_precision("fixed<8,-2,RND_CONV,SAT_SYM,0>").integer == -2
    for bad, msg in [("fixed<16>", "2 to 5"), ("float", "form"), ("fixed<0,1>", "width 0"),
                     ("fixed<16,6,RND,WRAP_SM>", "overflow mode"), ("fixed<16,6,RND,SAT,3>", "saturation bits"),
                     ("fixed<16,x>", "integer bits"), ("fixed<80,6>", "outside 1..64"), ("auto", "form")]:
        with pytest.raises(l1emu.L1emuError, match=msg):
            l1emu.parse_precision(bad)


def test_model_file_errors(tmp_path):
    emu = l1emu.Emulator(_tiny_graph())
    path = tmp_path / "m.l1emu"
    emu.save(path)
    np.testing.assert_array_equal(l1emu.load(path).predict_raw(np.eye(3)), emu.predict_raw(np.eye(3)))
    data = path.read_bytes()
    (tmp_path / "trunc.l1emu").write_bytes(data[: len(data) // 2])
    with pytest.raises(l1emu.ModelFileError, match="corrupt or truncated"):
        l1emu.load(tmp_path / "trunc.l1emu")
    (tmp_path / "foreign.l1emu").write_text("hello")
    with pytest.raises(l1emu.ModelFileError):
        l1emu.load(tmp_path / "foreign.l1emu")
    np.savez(tmp_path / "other.npz", a=np.zeros(3))
    with pytest.raises(l1emu.ModelFileError, match="not an l1emu model file"):
        l1emu.load(tmp_path / "other.npz")
    with pytest.raises(l1emu.ModelFileError, match="no such model file"):
        l1emu.load(tmp_path / "missing.l1emu")
    g = _tiny_graph()
    g["version"] = 99
    model_file.write(tmp_path / "v99.l1emu", g)
    raw = dict(np.load(tmp_path / "v99.l1emu"))
    import json
    header = json.loads(raw["header"].tobytes())
    header["version"] = 99
    raw["header"] = np.frombuffer(json.dumps(header).encode(), np.uint8)
    np.savez(tmp_path / "v99.npz", **raw)
    with pytest.raises(l1emu.ModelFileError, match="version 99"):
        l1emu.load(tmp_path / "v99.npz")


def test_failed_save_leaves_no_partial_file(tmp_path):
    g = _tiny_graph()
    g["layers"][0]["arrays"]["weight"] = object()  # cannot be written as an array without pickle
    emu = l1emu.Emulator(_tiny_graph())
    emu.graph = g
    with pytest.raises(Exception):
        emu.save(tmp_path / "bad.l1emu")
    assert list(tmp_path.iterdir()) == []


def test_invalid_graph_errors():
    g = _tiny_graph()
    g["layers"][0]["kind"] = "Conv9D"
    with pytest.raises(l1emu.L1emuError, match="'fc'.*unknown layer kind"):
        l1emu.Emulator(g)
    g = _tiny_graph()
    g["layers"][0]["arrays"]["weight"] = np.zeros(5, np.int64)
    with pytest.raises(l1emu.L1emuError, match="weights have 5 values"):
        l1emu.Emulator(g)
    g = _tiny_graph()
    g["layers"][0]["attrs"]["accum_t"] = "fixed<14>"
    with pytest.raises(l1emu.L1emuError, match="fixed<14>"):
        l1emu.Emulator(g)


def test_unsupported_hls4ml_layer_is_named():
    pytest.importorskip("hls4ml")
    from tensorflow.keras.layers import LSTM, Input
    from tensorflow.keras.models import Model

    from l1emu import reference

    x = Input((5, 3), name="x")
    model = Model(x, LSTM(4, name="my_lstm")(x))
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis",
                                                           output_dir=str(reference.csim.default_cache()) + "/ln")
    with pytest.raises(l1emu.UnsupportedLayerError, match="'my_lstm' of class LSTM"):
        l1emu.from_hls4ml(hls_model)
