"""Firmware references stored beside a model file, as the bundled models (models/) are shipped:
``name.l1emu`` next to ``name.h5`` (QKeras/Keras) + ``name.hls4ml.yaml`` ({backend, io_type, hls_config}: the
arguments of hls4ml's convert_from_keras_model), or next to ``name.conifer.json`` (a conifer cpp model).
The reference is built (hls4ml csim / conifer cpp) once and cached by content (l1emu.reference)."""

import hashlib
import json
import os

from ..errors import L1emuError


def find(model_path):
    """The reference files of ``model_path``: ("conifer", json) or ("hls4ml", (h5, yaml)); L1emuError if none."""
    stem = os.path.splitext(os.fspath(model_path))[0]
    if os.path.isfile(stem + ".conifer.json"):
        return "conifer", stem + ".conifer.json"
    if os.path.isfile(stem + ".h5") and os.path.isfile(stem + ".hls4ml.yaml"):
        return "hls4ml", (stem + ".h5", stem + ".hls4ml.yaml")
    raise L1emuError(f"{model_path}: no firmware reference beside it (expected {os.path.basename(stem)}.conifer.json, "
                     f"or {os.path.basename(stem)}.h5 with {os.path.basename(stem)}.hls4ml.yaml)")


def build(kind, files):
    """(reference object for l1emu.validate, description) from ``find``'s answer."""
    from .. import reference
    from ..menu import yamlfile

    tag = hashlib.sha256(os.path.abspath(files if isinstance(files, str) else files[0]).encode()).hexdigest()[:10]
    if kind == "conifer":
        import conifer

        from ..reference import bdt

        bdt.setup_environment()
        try:
            with open(files) as f:
                config = json.load(f)["config"]
        except (OSError, ValueError, KeyError) as err:
            raise L1emuError(f"{files}: not a conifer model file ({err})") from None
        config["output_dir"] = os.path.join(reference.cache.root(), "conifer", "projects", f"ref-{tag}")
        with reference.cache.locked(config["output_dir"]):  # one writer of the project at a time
            return bdt.compile(conifer.model.load_model(files, new_config=config)), "conifer cpp"
    from .. import firmware
    from ..keras_layers import load_model

    firmware.register()
    h5, cfg = files
    with open(cfg) as f:
        doc = yamlfile.load(f)
    if not isinstance(doc, dict) or not {"backend", "io_type", "hls_config"} <= set(doc):
        raise L1emuError(f"{cfg}: expected the keys backend, io_type and hls_config")
    name = os.path.splitext(os.path.basename(h5))[0]
    hls_model = reference.convert(load_model(h5), f"ref-{name}-{tag}", doc["hls_config"], backend=doc["backend"],
                                  io_type=doc["io_type"])
    return hls_model, f"hls4ml {doc['backend']} csim"


def for_model(model_path):
    return build(*find(model_path))
