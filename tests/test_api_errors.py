"""Bad input gets one clear error: shapes, dtypes, NaN, unsupported layers and backends, wrong model objects,
corrupt files (every single-bit flip), bad save targets, bad thread counts; nothing is left on disk. Also the
Emulator's pickling and trace's layer selection."""

import json
import multiprocessing
import os
import pickle
import tracemalloc
import zipfile

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
    v = l1emu.to_double(l1emu.quantize(np.inf, "fixed<10,4>", check_finite=False), "fixed<10,4>")
    np.testing.assert_array_equal(emu.predict(np.array([[np.inf, 0, 0]]), check_finite=False),
                                  emu.predict(np.array([[v, 0, 0]])))
    assert emu.predict(np.array([1.0, 2.0, 0.5])).shape == (1, 2)  # one event as a flat vector


@pytest.mark.parametrize("threads", [1, 2])
def test_non_finite_inputs_are_named_by_the_first_one_on_every_path(threads):
    """The input cast notices NaN and inf as it quantizes (no pass of its own): among many blocks, run by
    several threads, the error names the first bad value, on predict, predict_raw, trace (in one pass and in
    chunks) and audit; the same values pass with check_finite=False."""
    emu = l1emu.Emulator(_tiny_graph(), threads=threads)
    X = np.random.default_rng(5).normal(0, 2, (50_000, 3))
    X[31_337, 1], X[40_000, 0], X[49_999, 2] = np.nan, -np.inf, np.inf
    calls = [lambda: emu.predict(X), lambda: emu.predict_raw(X), lambda: emu.trace(X),
             lambda: emu.trace(X, layers="fc", chunk_size=4096), lambda: emu.audit(X)]
    for call in calls:
        with pytest.raises(l1emu.L1emuError, match=r"NaN or inf \(first at event 31337, input 1\); "
                                                   r"pass check_finite=False"):
            call()
    assert emu.predict_raw(X, check_finite=False).shape == (50_000, 2)
    X[31_337, 1] = 1e300  # huge but finite: the scalar path, no error
    with pytest.raises(l1emu.L1emuError, match="first at event 40000, input 0"):
        emu.predict(X)


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
    from tensorflow.keras.layers import LSTM, Input
    from tensorflow.keras.models import Model

    from l1emu import reference

    x = Input((5, 3), name="x")
    model = Model(x, LSTM(4, name="my_lstm")(x))
    import hls4ml

    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend="Vitis",
                                                           output_dir=reference.cache.root() + "/ln")
    with pytest.raises(l1emu.UnsupportedLayerError, match="'my_lstm' of class LSTM"):
        l1emu.from_hls4ml(hls_model)


# -- model files: corruption, permissions, targets ----------------------------------------------------
def _canonical(graph):
    """A graph as comparable data: JSON of everything but the arrays, and the arrays' dtype/shape/bytes."""
    meta = json.dumps({k: v for k, v in graph.items() if k != "layers"}, sort_keys=True)
    layers = [(json.dumps({k: v for k, v in layer.items() if k != "arrays"}, sort_keys=True),
               {n: (np.asarray(a).dtype.str, np.shape(a), np.asarray(a).tobytes())
                for n, a in sorted(layer.get("arrays", {}).items())}) for layer in graph["layers"]]
    return meta, layers


def _byte_classes(data):
    """{class: byte positions} of a zip: local headers, member data, central directory, end record."""
    import io
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        infos = z.infolist()
        start_dir = z.start_dir
    classes = {"local header": [], "data": [], "central directory": [], "end record": []}
    for info in infos:
        # local header: 30 fixed bytes + name + extra (read back from the file itself)
        n_name, n_extra = int.from_bytes(data[info.header_offset + 26:info.header_offset + 28], "little"), \
            int.from_bytes(data[info.header_offset + 28:info.header_offset + 30], "little")
        begin = info.header_offset + 30 + n_name + n_extra
        classes["local header"] += range(info.header_offset, begin)
        classes["data"] += range(begin, begin + info.compress_size)
    end = len(data) - 22  # no archive comment
    classes["central directory"] = list(range(start_dir, end))
    classes["end record"] = list(range(end, len(data)))
    return classes


def test_single_bit_flips_always_raise_model_file_error(tmp_path):
    data = model_file.dumps(_tiny_graph())
    want = _canonical(model_file.loads(data))
    classes = _byte_classes(data)
    assert all(classes.values()) and sum(map(len, classes.values())) == len(data)
    rng = np.random.default_rng(0)
    outcomes = {name: {"error": 0, "same": 0} for name in classes}
    for name, positions in classes.items():
        # every bit of every header/directory byte; every bit of a sample of the data bytes
        sample = positions if name != "data" else rng.choice(positions, min(len(positions), 120), replace=False)
        for pos in sample:
            for bit in range(8):
                flipped = bytearray(data)
                flipped[pos] ^= 1 << bit
                try:
                    got = model_file.loads(bytes(flipped), where="m.l1emu")
                except l1emu.ModelFileError as err:
                    assert str(err).startswith("m.l1emu: ")
                    outcomes[name]["error"] += 1
                else:  # a flip in a field the reader ignores (time stamp, attributes): the same model
                    assert _canonical(got) == want, f"{name} byte {pos} bit {bit} loaded a different model"
                    outcomes[name]["same"] += 1
    for name in ("local header", "data", "central directory", "end record"):
        assert outcomes[name]["error"] > 0, outcomes
    # data flips that load are in bits deflate ignores (padding after the final block): same bytes out
    assert outcomes["data"]["same"] < outcomes["data"]["error"] / 10, outcomes
    # the same through load() on files
    for pos in list(rng.choice(len(data), 20, replace=False)):
        flipped = bytearray(data)
        flipped[pos] ^= 0x10
        (tmp_path / "f.l1emu").write_bytes(bytes(flipped))
        try:
            emu = l1emu.load(tmp_path / "f.l1emu")
        except l1emu.ModelFileError as err:
            assert str(tmp_path / "f.l1emu") in str(err)
        else:
            assert _canonical(emu.graph) == want


def test_model_file_bytes_are_deterministic():
    assert model_file.dumps(_tiny_graph()) == model_file.dumps(_tiny_graph())


def test_saved_model_file_mode_follows_umask(tmp_path):
    emu = l1emu.Emulator(_tiny_graph())
    old = os.umask(0o022)
    try:
        emu.save(tmp_path / "a.l1emu")
        os.umask(0o077)
        emu.save(tmp_path / "b.l1emu")
    finally:
        os.umask(old)
    assert (tmp_path / "a.l1emu").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.l1emu").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.l1emu", "b.l1emu"]


def test_save_to_bad_targets_names_the_target(tmp_path):
    emu = l1emu.Emulator(_tiny_graph())
    with pytest.raises(l1emu.L1emuError, match=r"cannot write model file '.*nodir/x': directory '.*nodir' does not "
                                               r"exist"):
        emu.save(tmp_path / "nodir" / "x")
    (tmp_path / "adir").mkdir()
    with pytest.raises(l1emu.L1emuError, match=r"cannot write model file '.*adir': it is a directory"):
        emu.save(tmp_path / "adir")
    emu.save(tmp_path / "m.l1emu")
    emu.save(tmp_path / "m.l1emu")  # replaces, as before
    with pytest.raises(l1emu.L1emuError, match=r"model file '.*m.l1emu' exists"):
        emu.save(tmp_path / "m.l1emu", overwrite=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["adir", "m.l1emu"]
    assert list((tmp_path / "adir").iterdir()) == []


# -- wrong objects, backends -----------------------------------------------------------------------------
def test_from_hls4ml_wants_a_model_graph():
    with pytest.raises(l1emu.L1emuError, match=r"expected an hls4ml ModelGraph, got builtins.dict: convert it first "
                                               r"with hls4ml.converters.convert_from_keras_model"):
        l1emu.from_hls4ml({})
    from tensorflow import keras
    x = keras.Input((4,))
    model = keras.Model(x, keras.layers.Dense(2)(x))
    with pytest.raises(l1emu.L1emuError, match=r"expected an hls4ml ModelGraph, got .*Functional: convert it first"):
        l1emu.from_hls4ml(model)


def test_from_conifer_wants_a_conifer_model():
    import sklearn.ensemble as sklearn
    X = np.random.default_rng(0).normal(size=(200, 3))
    clf = sklearn.GradientBoostingClassifier(n_estimators=2, max_depth=2).fit(X, X[:, 0] > 0)
    with pytest.raises(l1emu.L1emuError, match=r"not a conifer model \(sklearn.*GradientBoostingClassifier\): "
                                               r"convert it with conifer.converters.convert_from_sklearn"):
        l1emu.from_conifer(clf)
    reg = sklearn.GradientBoostingRegressor(n_estimators=2, max_depth=2).fit(X, X[:, 0])
    with pytest.raises(l1emu.L1emuError, match=r"not a conifer model .*`reg.n_classes_ = 1`"):
        l1emu.from_conifer(reg)


def test_gradient_boosting_regressor_with_the_documented_workaround(tmp_path):
    import conifer
    import sklearn.ensemble as sklearn
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2000, 3))
    reg = sklearn.GradientBoostingRegressor(n_estimators=20, max_depth=3, random_state=0).fit(X, np.sin(X[:, 0]))
    cfg = {"Backend": "cpp", "ProjectName": "gbr", "OutputDir": str(tmp_path / "gbr"), "Precision": "ap_fixed<18,8>"}
    with pytest.raises(AttributeError, match="n_classes_"):  # conifer 1.11 as it is (README: the workaround)
        conifer.converters.convert_from_sklearn(reg, cfg)
    reg.n_classes_ = 1  # the workaround the README and from_conifer's message give
    emu = l1emu.from_conifer(conifer.converters.convert_from_sklearn(reg, cfg))
    y = emu.predict(X)
    assert y.shape == (len(X), 1)
    # quantized thresholds move a few events to the other branch; the rest agree to the precision
    close = np.abs(y[:, 0] - reg.predict(X)) < 20 * 2.0 ** -10
    assert close.mean() > 0.95


@pytest.mark.parametrize("backend", ["Quartus", "oneAPI", "Catapult"])
def test_unemulated_hls4ml_backends_are_refused(tmp_path, backend):
    import hls4ml
    from tensorflow import keras
    x = keras.Input((4,), name="x")
    h = keras.layers.Activation("sigmoid", name="sig")(keras.layers.Dense(5, name="fc1")(x))
    model = keras.Model(x, keras.layers.Dense(3, name="fc2")(h))
    cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend=backend)
    hls_model = hls4ml.converters.convert_from_keras_model(model, hls_config=cfg, backend=backend,
                                                           output_dir=str(tmp_path / "prj"))
    with pytest.raises(l1emu.UnsupportedLayerError,
                       match=f"hls4ml backend '{backend}' is not emulated by l1emu .*Vivado and Vitis"):
        l1emu.from_hls4ml(hls_model)
    assert not (tmp_path / "prj").exists() or not any((tmp_path / "prj").iterdir())


# -- threads, quantize ------------------------------------------------------------------------------------
def test_threads_are_checked_when_set(tmp_path):
    emu = l1emu.Emulator(_tiny_graph())
    emu.save(tmp_path / "m.l1emu")
    for bad in ["a", 2 ** 31, -1, 1.5, True, None]:
        with pytest.raises(l1emu.L1emuError, match=r"threads must be an integer from 0 .* to 1024, got"):
            l1emu.load(tmp_path / "m.l1emu", threads=bad)
        with pytest.raises(l1emu.L1emuError, match=r"threads must be an integer"):
            emu.threads = bad
        with pytest.raises(l1emu.L1emuError, match=r"threads must be an integer"):
            l1emu.Emulator(_tiny_graph(), threads=bad)
    assert emu.threads == 0
    emu.threads = np.int64(2)
    assert emu.threads == 2 and type(emu.threads) is int
    np.testing.assert_array_equal(emu.predict_raw(np.eye(3)), l1emu.load(tmp_path / "m.l1emu", threads=1)
                                  .predict_raw(np.eye(3)))


def test_quantize_refuses_nan_like_predict():
    with pytest.raises(l1emu.L1emuError, match=r"quantize: values contain NaN or inf \(first at index \(1,\)\); "
                                               r"pass check_finite=False"):
        l1emu.quantize([0.5, np.nan], "fixed<8,3>")
    with pytest.raises(l1emu.L1emuError, match=r"NaN or inf; pass check_finite=False"):
        l1emu.quantize(-np.inf, "fixed<8,3>")
    codes = l1emu.quantize([0.5, np.nan, np.inf], "fixed<8,3>", check_finite=False)
    emu = l1emu.Emulator(_tiny_graph())
    x = np.array([[np.nan, np.inf, 0.5]])
    # the same codes as predict's input cast with check_finite=False
    v = l1emu.to_double(l1emu.quantize(x, "fixed<10,4>", check_finite=False), "fixed<10,4>")
    np.testing.assert_array_equal(emu.predict(x, check_finite=False), emu.predict(v))
    assert codes[0] == 0.5 * 32


# -- pickling -----------------------------------------------------------------------------------------------
def _predict_raw(args):
    emu, X = args
    return emu.predict_raw(X)


def test_emulator_pickles_as_its_model_file():
    emu = l1emu.Emulator(_tiny_graph(), threads=2)
    X = np.random.default_rng(0).uniform(-8, 8, (1000, 3))
    back = pickle.loads(pickle.dumps(emu))
    assert back.threads == 2
    np.testing.assert_array_equal(back.predict_raw(X), emu.predict_raw(X))
    assert model_file.dumps(back.graph) == model_file.dumps(emu.graph)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        parts = pool.map(emu.predict_raw, np.array_split(X, 4))
    np.testing.assert_array_equal(np.concatenate(parts), emu.predict_raw(X))
    import joblib
    parts = joblib.Parallel(n_jobs=2)(joblib.delayed(_predict_raw)((emu, x)) for x in np.array_split(X, 3))
    np.testing.assert_array_equal(np.concatenate(parts), emu.predict_raw(X))


# -- trace ----------------------------------------------------------------------------------------------------
def _wide_graph(hidden=64):
    """x(3) -> Dense(hidden) -> Dense(2): many intermediate codes per event, few at the output."""
    rng = np.random.default_rng(1)
    w1 = l1emu.quantize(rng.uniform(-1, 1, (3, hidden)), "fixed<8,3>")
    w2 = l1emu.quantize(rng.uniform(-1, 1, (hidden, 2)), "fixed<8,3>")
    dense = lambda name, inp, w, n: {  # noqa: E731
        "name": name, "kind": "Dense", "inputs": [inp], "shape": [n], "spec": "fixed<16,6,RND,SAT>",
        "attrs": {"weight_t": "fixed<8,3>", "bias_t": "fixed<8,3>", "accum_t": "fixed<24,10>"},
        "arrays": {"weight": w, "bias": np.zeros(n, np.int64)}}
    return {"source": {"tool": "test"}, "input": {"name": "x", "shape": [3], "spec": "fixed<10,4>"},
            "layers": [dense("hidden", 0, w1, hidden), dense("out", 1, w2, 2)], "outputs": [2]}


def test_trace_layer_selection_and_chunks():
    emu = l1emu.Emulator(_wide_graph())
    X = np.random.default_rng(2).uniform(-8, 8, (3001, 3))
    full = emu.trace(X)
    assert list(full) == ["x", "hidden", "out"] and full["hidden"].shape == (3001, 64)
    for raw in (False, True):
        ref = emu.trace(X, raw=raw)
        for chunk in (None, 1, 7, 1000, 5000):
            got = emu.trace(X, layers=["out", "x"], raw=raw, chunk_size=chunk)
            assert list(got) == ["x", "out"]
            for name in got:
                assert got[name].dtype == ref[name].dtype
                np.testing.assert_array_equal(got[name], ref[name])
        np.testing.assert_array_equal(emu.trace(X, layers="hidden", raw=raw, chunk_size=100)["hidden"], ref["hidden"])
        np.testing.assert_array_equal(emu.trace(X, raw=raw, chunk_size=500)["hidden"], ref["hidden"])
    np.testing.assert_array_equal(full["out"], emu.predict(X))
    with pytest.raises(l1emu.L1emuError, match=r"trace: unknown layer\(s\) 'nope'; the model has x, hidden, out"):
        emu.trace(X, layers=["out", "nope"])
    with pytest.raises(l1emu.L1emuError, match=r"chunk_size must be a positive integer, got 0"):
        emu.trace(X, layers=["out"], chunk_size=0)
    assert emu.trace(X[:0], layers=["out"])["out"].shape == (0, 2)


def test_trace_memory_is_bounded_by_the_selection():
    emu = l1emu.Emulator(_wide_graph(hidden=256))
    X = np.random.default_rng(3).uniform(-8, 8, (100_000, 3))

    def peak(**kw):
        tracemalloc.start()
        try:
            emu.trace(X, **kw)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    selected, everything = peak(layers=["out"], chunk_size=5000), peak()
    # all tensors: 1e5 x 261 codes (+ values) > 200 MB; the output alone and a chunk: ~ 15 MB
    assert everything > 200e6 and selected < 25e6, (selected, everything)
