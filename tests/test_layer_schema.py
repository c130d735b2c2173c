"""One declared schema per layer kind, checked by the C++ engine: an unknown key (a misspelling in a
hand-edited model file), a missing required key or a mistyped value is one clear error naming the file,
the layer and the key; the shipped models and every importer agree with the schemas."""

import glob
import io
import json
import os
import zipfile

import numpy as np
import pytest

import l1emu
from l1emu import _core, model_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = sorted(glob.glob(os.path.join(ROOT, "models", "*.l1emu")))
PY_TYPES = {"int": int, "str": str, "spec": str}


def _dense_graph(**attrs):
    w = l1emu.quantize(np.array([[0.5, -0.25], [1.0, 0.75]]), "fixed<8,3>")
    a = {"weight_t": "fixed<8,3>", "bias_t": "fixed<8,3>", "accum_t": "fixed<14,6>", **attrs}
    return {"source": {"tool": "test"}, "input": {"name": "x", "shape": [2], "spec": "fixed<10,4>"},
            "layers": [{"name": "fc1", "kind": "Dense", "inputs": [0], "shape": [2], "spec": "fixed<12,5>",
                        "attrs": {k: v for k, v in a.items() if v is not None},
                        "arrays": {"weight": w, "bias": np.zeros(2, np.int64)}}],
            "outputs": [1]}


def _hand_edit(path, edit):
    """Rewrite a model file's JSON header the way a user with a script would: unzip, edit, zip."""
    with zipfile.ZipFile(path) as z:
        members = {name: z.read(name) for name in z.namelist()}
    header = json.loads(np.lib.format.read_array(io.BytesIO(members["header.npy"])).tobytes().decode())
    edit(header)
    buf = io.BytesIO()
    np.lib.format.write_array(buf, np.frombuffer(json.dumps(header).encode(), np.uint8))
    members["header.npy"] = buf.getvalue()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)


def test_misspelled_attribute_in_a_hand_edited_model_file(tmp_path):
    path = str(tmp_path / "m.l1emu")
    l1emu.Emulator(_dense_graph()).save(path)
    np.testing.assert_array_equal(l1emu.load(path).predict_raw(np.ones((1, 2))), [[192, 64]])  # loads unedited

    def misspell(header):
        attrs = header["layers"][0]["attrs"]
        attrs["acum_t"] = attrs.pop("accum_t")
    _hand_edit(path, misspell)
    with pytest.raises(l1emu.ModelFileError) as err:
        l1emu.load(path)
    msg = str(err.value)
    assert msg.startswith(path + ": ") and "layer 'fc1' (Dense): unknown attribute 'acum_t'" in msg
    assert "Dense takes weight_t, bias_t, accum_t" in msg and "\n" not in msg


def test_misspelled_optional_attribute_no_longer_takes_its_default():
    # ternary_tanh differs between io types; 'io_typ' used to leave io_type at its io_parallel default
    g = {"source": {"tool": "test"}, "input": {"name": "x", "shape": [3], "spec": "fixed<10,4>"},
         "layers": [{"name": "tt", "kind": "Activation", "inputs": [0], "shape": [3], "spec": "fixed<2,2>",
                     "attrs": {"activation": "ternary_tanh", "io_typ": "io_stream"}, "arrays": {}}],
         "outputs": [1]}
    with pytest.raises(l1emu.ModelFileError, match="layer 'tt' \\(Activation\\): unknown attribute 'io_typ'"):
        l1emu.Emulator(g)
    g["layers"][0]["attrs"] = {"activation": "ternary_tanh", "io_type": "io_stream"}
    l1emu.Emulator(g)  # spelled right it loads


@pytest.mark.parametrize("attrs, match", [
    ({"accum_t": None}, r"'fc1' \(Dense\): missing attribute 'accum_t' \(spec\)"),
    ({"reuse_factor": "4"}, r"attribute 'reuse_factor' must be an integer, got '4'"),
    ({"strategy": 1}, r"attribute 'strategy' must be a string, got the integer 1"),
    ({"weight_t": 8}, r"attribute 'weight_t' must be a type name, got the integer 8"),
    ({"bias_t": "fixed<8>"}, r"attribute 'bias_t': precision 'fixed<8>'"),
    ({"reuse_factor": 2.0}, r"layer 'fc1': attribute 'reuse_factor' must be an integer or a string, got float"),
    ({"reuse_factor": True}, r"attribute 'reuse_factor' must be an integer or a string, got bool"),
])
def test_mistyped_or_missing_attributes(attrs, match):
    with pytest.raises(l1emu.ModelFileError, match=match):
        l1emu.Emulator(_dense_graph(**attrs))


def test_numpy_integers_are_integers():
    emu = l1emu.Emulator(_dense_graph(reuse_factor=np.int32(2)))
    assert emu.predict_raw(np.ones((1, 2))).tolist() == [[192, 64]]


def test_arrays_are_checked_too():
    g = _dense_graph()
    g["layers"][0]["arrays"]["wieght"] = g["layers"][0]["arrays"].pop("weight")
    with pytest.raises(l1emu.ModelFileError, match="unknown array 'wieght' \\(Dense takes weight, bias, order\\)"):
        l1emu.Emulator(g)
    g["layers"][0]["arrays"].pop("wieght")
    with pytest.raises(l1emu.ModelFileError, match="missing array 'weight'"):
        l1emu.Emulator(g)


def test_unknown_kind_lists_the_known_kinds():
    g = _dense_graph()
    g["layers"][0]["kind"] = "Dens"
    with pytest.raises(l1emu.ModelFileError, match="'fc1' \\(Dens\\): unknown layer kind \\(l1emu has .*Dense"):
        l1emu.Emulator(g)


def test_schemas_are_exported_for_every_kind():
    schemas = _core.layer_schemas()
    assert set(schemas) == {"Activation", "BDT", "BatchNormalization", "Concatenate", "Conv", "Copy", "Dense",
                            "InstanceNorm", "KLScore", "LUTActivation", "Merge", "Pooling", "Softmax", "ZeroPadding"}
    dense = schemas["Dense"]
    assert dense["attrs"]["accum_t"] == {"type": "spec", "required": True}
    assert dense["arrays"]["order"] == {"required": False}
    assert schemas["Activation"]["attrs"]["io_type"] == {"type": "str", "required": False, "default": "io_parallel"}
    assert schemas["Activation"]["attrs"]["xnor"]["default"] == 0


def _check_graph_against_schemas(graph, where):
    schemas = _core.layer_schemas()
    for layer in graph["layers"]:
        schema = schemas[layer["kind"]]
        for key, value in layer["attrs"].items():
            assert key in schema["attrs"], f"{where}: {layer['name']}: {key} not declared"
            want = PY_TYPES[schema["attrs"][key]["type"]]
            assert isinstance(value, want) and not isinstance(value, bool), f"{where}: {layer['name']}.{key}={value!r}"
        for key, decl in schema["attrs"].items():
            assert not decl["required"] or key in layer["attrs"], f"{where}: {layer['name']}: {key} missing"
        assert set(layer["arrays"]) <= set(schema["arrays"]), where
    return len(graph["layers"])


def test_shipped_model_files_agree_with_the_schemas():
    assert len(SHIPPED) >= 6
    n = sum(_check_graph_against_schemas(model_file.read(p), p) for p in SHIPPED)
    assert n > 20


def _importer_graphs(tmp):
    """One model per importer family, converted (not compiled) by hls4ml, both io types; and conifer."""
    import hls4ml
    from tensorflow import keras

    import conifer

    import l1emu.firmware as fw
    from l1emu.reference import models

    fw.register()

    def convert(km, io="io_parallel", cfg=None):
        cfg = cfg or hls4ml.utils.config_from_keras_model(km, granularity="name", backend="Vitis")
        return l1emu.from_hls4ml(hls4ml.converters.convert_from_keras_model(
            km, hls_config=cfg, backend="Vitis", io_type=io, output_dir=str(tmp / "hls")))

    x = keras.Input((8, 3))
    a = keras.layers.Conv1D(4, 3)(keras.layers.ZeroPadding1D(1)(x))
    a = keras.layers.LeakyReLU(0.25)(keras.layers.BatchNormalization()(a))
    b = keras.layers.Activation("sigmoid")(a)
    d = keras.layers.Concatenate()([keras.layers.Add()([a, b]), a])
    d = keras.layers.Flatten()(keras.layers.MaxPooling1D(2)(d))
    d = keras.layers.ELU()(keras.layers.Dense(3, activation="hard_sigmoid")(d))
    mixed = keras.Model(x, d)
    vae = models.vae_encoder_conv()
    graphs = {f"mixed/{io}": convert(mixed, io) for io in ("io_parallel", "io_stream")}
    graphs.update({f.__name__: convert(f()) for f in (models.jet_tagger, models.jet_tagger_softmax,
                                                      models.deepsets_tagger)})
    graphs["vae_encoder_conv"] = convert(vae, cfg=models.vae_encoder_conv_config(vae))
    graphs["bdt"] = l1emu.from_conifer(conifer.model.load_model(os.path.join(ROOT, "models", "jet_bdt.conifer.json")))
    return {name: emu.graph for name, emu in graphs.items()}


def test_importers_agree_with_the_schemas(tmp_path):
    """Every importer's output as Python builds it, before the engine sees it (the C++ check is the other
    half: it runs when each Emulator is built)."""
    graphs = _importer_graphs(tmp_path)
    kinds = {layer["kind"] for g in graphs.values() for layer in g["layers"]}
    assert kinds == set(_core.layer_schemas())  # every kind is produced by some importer here
    for name, graph in graphs.items():
        _check_graph_against_schemas(graph, name)
