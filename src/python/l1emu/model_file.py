"""The self-contained ``.l1emu`` model file: a zip of .npy members (numpy only, no pickle).

``header.npy`` holds the graph as UTF-8 JSON: format, version, input, layers (name, kind, inputs, shape,
spec, attrs) and outputs; each layer array is stored as ``a{layer index}_{array name}.npy``.
Writes are atomic: a temporary file is renamed over the target only once complete.
"""

import json
import os
import tempfile
import zipfile

import numpy as np

from .errors import ModelFileError

FORMAT = "l1emu-model"
VERSION = 1


def write(path, graph: dict) -> None:
    header = {k: v for k, v in graph.items() if k != "layers"}
    header["format"], header["version"] = FORMAT, VERSION
    header["layers"] = []
    arrays = {}
    for i, layer in enumerate(graph["layers"]):
        header["layers"].append({k: v for k, v in layer.items() if k != "arrays"})
        header["layers"][-1]["arrays"] = sorted(layer.get("arrays", {}))
        for name, arr in layer.get("arrays", {}).items():
            arr = np.asarray(arr)
            if arr.dtype.kind not in "iub":
                raise ModelFileError(f"layer '{layer.get('name')}': array '{name}' has dtype {arr.dtype}; "
                                     "model files hold integer codes only")
            arrays[f"a{i}_{name}"] = arr
    blob = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".l1emu-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f, zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as z:
            for name, arr in {"header": blob, **arrays}.items():
                with z.open(name + ".npy", "w") as member:
                    np.lib.format.write_array(member, arr, allow_pickle=False)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def read(path) -> dict:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: no such model file")
    try:
        with np.load(path, allow_pickle=False) as z:
            if "header" not in z.files:
                raise ModelFileError(f"{path}: not an l1emu model file (no header)")
            header = json.loads(z["header"].tobytes().decode())
            if header.get("format") != FORMAT:
                raise ModelFileError(f"{path}: not an l1emu model file (format {header.get('format')!r})")
            if header.get("version") != VERSION:
                raise ModelFileError(f"{path}: model file version {header.get('version')} is not supported "
                                     f"(this l1emu reads version {VERSION})")
            for i, layer in enumerate(header["layers"]):
                layer["arrays"] = {name: z[f"a{i}_{name}"] for name in layer["arrays"]}
    except ModelFileError:
        raise
    except (zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, UnicodeDecodeError) as err:
        raise ModelFileError(f"{path}: corrupt or truncated l1emu model file ({type(err).__name__}: {err})") from None
    return header
