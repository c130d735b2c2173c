"""The project's own nnet_utils headers are the truth of its arithmetic: each header l1emu's kernels
reproduce is compared, entity by entity (each template function and config struct, comments, pragmas
and whitespace removed), with the headers of the hls4ml release l1emu emulates (hashes in
nnet_hashes.json, made from hls4ml 1.3.0's templates by ``python -m l1emu.importers.hls4ml_project.nnet_check``)
and with l1emu's own firmware headers. A header that differs is refused, naming the entities that differ."""

import hashlib
import json
import os
import re
import sys

from ...errors import ProjectError
from .source import _TOKEN, _strip_comments

HLS4ML_VERSION = "1.3.0"
# headers whose functions l1emu's kernels reproduce (arithmetic, loop order, table contents)
HEADERS = (
    "nnet_activation.h", "nnet_activation_stream.h", "nnet_batchnorm.h", "nnet_batchnorm_stream.h", "nnet_common.h",
    "nnet_conv1d.h", "nnet_conv1d_latency.h", "nnet_conv1d_resource.h", "nnet_conv1d_stream.h", "nnet_conv2d.h",
    "nnet_conv2d_latency.h", "nnet_conv2d_resource.h", "nnet_conv2d_stream.h", "nnet_conv_stream.h", "nnet_dense.h",
    "nnet_dense_latency.h", "nnet_dense_resource.h", "nnet_dense_stream.h", "nnet_merge.h", "nnet_merge_stream.h",
    "nnet_mult.h", "nnet_padding.h", "nnet_padding_stream.h", "nnet_pooling.h", "nnet_pooling_stream.h",
    "nnet_stream.h", "nnet_types.h",
)
OWN_HEADERS = ("nnet_instancenorm.h", "nnet_kl_score.h", "nnet_l1emu_fixed.h")  # l1emu.firmware's
TABLE = os.path.join(os.path.dirname(__file__), "nnet_hashes.json")


def entities(text):
    """{entity name: sha256 prefix} of a header: its top-level template functions and structs (overloads
    of one name hashed together, in order), as token sequences: reformatting does not change them."""
    text, _ = _strip_comments(text)
    text = "\n".join(line for line in text.split("\n") if not line.strip().startswith("#"))
    text = " ".join(m.group() for m in _TOKEN.finditer(text) if m.lastgroup != "ws")  # formatting aside
    found = {}
    pos = 0
    for m in re.finditer(r"namespace\s+nnet\s*\{", text):
        pos = m.end()
        break
    depth, start, i = 0, pos, pos
    while i < len(text):
        c = text[i]
        if c == "{":
            depth += 1
        elif c == "}":
            if depth == 0:  # end of namespace nnet
                break
            depth -= 1
            if depth == 0 and not text[i + 1:i + 3].lstrip().startswith(";"):
                _record(found, text[start:i + 1])
                start = i + 1
        elif c == ";" and depth == 0:
            _record(found, text[start:i + 1])
            start = i + 1
        i += 1
    return {k: hashlib.sha256("\x00".join(v).encode()).hexdigest()[:16] for k, v in found.items()}


def _record(found, segment):
    seg = segment.strip()
    if not seg or seg == ";":
        return
    head = seg.split("{")[0]
    m = re.search(r"(?:struct|class|enum)\s+(?:class\s+)?(\w+)", head) if "(" not in head else None
    if m is None:
        m = re.search(r"(\w+)\s*\(", head) or re.search(r"(\w+)\s*(?:=|;|$)", head)
    name = m.group(1) if m else seg[:40]
    found.setdefault(name, []).append(seg)


def _read(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read()


def reference_tables(hls4ml_templates):
    """{backend: {header: entities}} of an installed hls4ml's templates (Vitis overrides some of Vivado's)."""
    tables = {}
    for backend in ("Vivado", "Vitis"):
        tables[backend] = {}
        for header in HEADERS:
            path = os.path.join(hls4ml_templates, "vivado", "nnet_utils", header)
            override = os.path.join(hls4ml_templates, "vitis", "nnet_utils", header)
            if backend == "Vitis" and os.path.isfile(override):
                path = override
            if os.path.isfile(path):
                tables[backend][header] = entities(_read(path))
    return tables


def _own_table():
    from ... import firmware

    folder = os.path.dirname(firmware.__file__)
    return {h: entities(_read(os.path.join(folder, h))) for h in OWN_HEADERS}


def _diff(got, want):
    changed = sorted(k for k in got.keys() & want.keys() if got[k] != want[k])
    missing = sorted(want.keys() - got.keys())
    extra = sorted(got.keys() - want.keys())
    parts = []
    if changed:
        parts.append("differs in " + ", ".join(changed))
    if missing:
        parts.append("lacks " + ", ".join(missing))
    if extra:
        parts.append("adds " + ", ".join(extra))
    return "; ".join(parts)


def check(unit, declared_backend=None):
    """The backend whose nnet_utils the project's headers are (declared in hls4ml_config.yml, or the one
    they match); ProjectError naming the first header that matches none."""
    with open(TABLE) as f:
        tables = json.load(f)["backends"]
    folder = os.path.join(unit.firmware_dir, "nnet_utils")
    present = {h: entities(_read(os.path.join(folder, h))) for h in HEADERS + OWN_HEADERS
               if os.path.isfile(os.path.join(folder, h))}
    for header in OWN_HEADERS:
        if header in present:
            want = _own_table()[header]
            if present[header] != want:
                raise ProjectError(f"{unit.rel(os.path.join(folder, header))}: not the l1emu firmware layer this "
                                   f"l1emu emulates ({_diff(present[header], want)})")
    if declared_backend is not None and declared_backend not in tables:
        return declared_backend  # refused by the caller as a backend l1emu does not emulate
    candidates = [declared_backend] if declared_backend else list(tables)
    first_problem = None
    for backend in candidates:
        bad = [(h, _diff(present[h], tables[backend][h])) for h in HEADERS
               if h in present and h in tables[backend] and present[h] != tables[backend][h]]
        if not bad:
            return backend
        if first_problem is None:
            first_problem = (backend, bad[0])
    backend, (header, what) = first_problem
    raise ProjectError(f"{unit.rel(os.path.join(folder, header))}: not hls4ml {HLS4ML_VERSION}'s {backend} {header} "
                       f"({what}); l1emu emulates hls4ml {HLS4ML_VERSION}'s arithmetic")


def main():
    import hls4ml

    templates = os.path.join(os.path.dirname(hls4ml.__file__), "templates")
    doc = {"hls4ml": hls4ml.__version__, "backends": reference_tables(templates)}
    data = json.dumps(doc, indent=1, sort_keys=True) + "\n"
    with open(TABLE, "w") as f:
        f.write(data)
    print(f"wrote {TABLE} from hls4ml {hls4ml.__version__}", file=sys.stderr)


if __name__ == "__main__":
    main()
