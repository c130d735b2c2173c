"""The self-contained ``.l1emu`` model file: a zip of .npy members (numpy only, no pickle).

``header.npy`` holds the graph as UTF-8 JSON: format, version, input, layers (name, kind, inputs, shape,
spec, attrs: integers as JSON integers, types and names as strings, checked by the engine against each
kind's declared schema) and outputs; each layer array is stored as ``a{layer index}_{array name}.npy``. The header
also holds the sha256 of every array member, and every member is read whole so that zip's own CRC is
checked too: a corrupt file always raises ``ModelFileError``, never loads as a different model.
Writes are atomic (l1emu.atomic): the target is either the old file or the complete new one.
"""

import hashlib
import io
import json
import os
import zipfile

import numpy as np

from .atomic import atomic_file
from .errors import L1emuError, ModelFileError

FORMAT = "l1emu-model"
VERSION = 1


def _npy(arr) -> bytes:
    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=False)
    return buf.getvalue()


def dumps(graph: dict) -> bytes:
    """The model file's bytes for ``graph``."""
    header = {k: v for k, v in graph.items() if k != "layers"}
    header["format"], header["version"] = FORMAT, VERSION
    header["layers"] = []
    members = {}
    for i, layer in enumerate(graph["layers"]):
        header["layers"].append({k: v for k, v in layer.items() if k != "arrays"})
        header["layers"][-1]["arrays"] = sorted(layer.get("arrays", {}))
        for name, arr in sorted(layer.get("arrays", {}).items()):
            arr = np.asarray(arr)
            if arr.dtype.kind not in "iub":
                raise ModelFileError(f"layer '{layer.get('name')}': array '{name}' has dtype {arr.dtype}; "
                                     "model files hold integer codes only")
            members[f"a{i}_{name}.npy"] = _npy(arr)
    header["sha256"] = {name: hashlib.sha256(data).hexdigest() for name, data in members.items()}
    blob = np.frombuffer(json.dumps(header).encode(), dtype=np.uint8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in {"header.npy": _npy(blob), **members}.items():
            # a fixed timestamp: the same graph always gives the same bytes
            z.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def write(path, graph: dict, overwrite: bool = True) -> None:
    data = dumps(graph)  # before any file is created: a graph that cannot be written leaves nothing
    try:
        with atomic_file(path, overwrite=overwrite, what="model file") as tmp, open(tmp, "wb") as f:
            f.write(data)
    except OSError as err:  # disk full, permissions: atomic_file has removed the temporary
        raise L1emuError(f"cannot write model file {os.fspath(path)!r}: {err.strerror or err}") from None


def _array(z, name):
    return np.lib.format.read_array(io.BytesIO(z.read(name)), allow_pickle=False)


def loads(data: bytes, where: str = "model file") -> dict:
    """The graph held in a model file's bytes; ``where`` names the file in errors."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            if "header.npy" not in z.namelist():
                raise ModelFileError(f"{where}: not an l1emu model file (no header)")
            header = json.loads(_array(z, "header.npy").tobytes().decode())
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                fmt = header.get("format") if isinstance(header, dict) else None
                raise ModelFileError(f"{where}: not an l1emu model file (format {fmt!r})")
            if header.get("version") != VERSION:
                raise ModelFileError(f"{where}: model file version {header.get('version')} is not supported "
                                     f"(this l1emu reads version {VERSION})")
            digests = header.pop("sha256", None)  # absent in files written before it was added
            for i, layer in enumerate(header["layers"]):
                arrays = {}
                for name in layer["arrays"]:
                    member = f"a{i}_{name}.npy"
                    raw = z.read(member)  # read whole: zipfile checks the member's CRC at its end
                    if digests is not None and hashlib.sha256(raw).hexdigest() != digests.get(member):
                        raise ModelFileError(f"{where}: corrupt l1emu model file (checksum of {member} differs)")
                    arrays[name] = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
                layer["arrays"] = arrays
    except ModelFileError:
        raise
    except Exception as err:  # noqa: BLE001 - a damaged zip/npy/JSON fails in many ways (zlib, tokenize, ...)
        raise ModelFileError(f"{where}: corrupt or truncated l1emu model file ({type(err).__name__}: {err})") from None
    return header


def read(path) -> dict:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ModelFileError(f"{path}: no such model file")
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as err:
        raise ModelFileError(f"{path}: cannot read model file ({err.strerror or err})") from None
    return loads(data, where=path)
