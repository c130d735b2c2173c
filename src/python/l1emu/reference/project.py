"""C simulation of a generated hls4ml project directory as it stands on disk: its own build_lib.sh run on
a copy under the cache (the user's directory is never written), keyed by the content of its sources, and
its outputs cached by input bytes like csim.predict. A traced build adds nnet::save_layer_output after
every layer call (names and sizes from l1emu.from_project's reading of the same files), as hls4ml does
for layers built with Trace=True."""

import ctypes
import glob
import os
import re
import shutil
import subprocess

import numpy as np
import numpy.ctypeslib as npc

from ..errors import ProjectError
from . import cache as build_cache
from .csim import _firmware_material


class ProjectReference:
    """A compiled project directory: ``predict(X)``, ``trace(X)`` and ``layer_names`` (model order)."""

    def __init__(self, path, cache=None, top=None):
        from ..importers.hls4ml_project import graph_from_project

        self.path = os.path.abspath(os.fspath(path))
        self.cache = build_cache.root(cache)
        self.top = top
        self.graph = graph_from_project(self.path, top)
        self.layer_names = [layer["name"] for layer in self.graph["layers"]]
        bridges = glob.glob(os.path.join(self.path, "*_bridge.cpp"))
        if len(bridges) != 1 or not os.path.isfile(os.path.join(self.path, "build_lib.sh")):
            raise ProjectError(f"{self.path}: expected one *_bridge.cpp and build_lib.sh (hls4ml writes both) "
                               "to compile the C simulation")
        self._bridge = bridges[0]
        with open(self._bridge) as f:
            m = re.search(r"void\s+(\w+)_double\s*\(", f.read())
        if not m:
            raise ProjectError(f"{self._bridge}: no <project>_double bridge function")
        self._entry = m.group(1) + "_double"
        self._key = build_cache.digest(_firmware_material(self.path))
        self._libs = {}

    def _lib(self, trace):
        if trace in self._libs:
            return self._libs[trace]
        name = os.path.basename(self.path.rstrip(os.sep))
        lib = os.path.join(self.cache, "libs", f"{name}-{self._key}{'-trace' if trace else ''}.so")
        # (reference.convert caches its build of this very directory under the same name: reused)
        with build_cache.locked(lib):
            if not os.path.exists(lib):
                self._build(lib, trace)
        self._libs[trace] = ctypes.cdll.LoadLibrary(lib)
        return self._libs[trace]

    def _build(self, lib, trace):
        work = os.path.join(self.cache, "project-builds", f"{self._key}{'-trace' if trace else ''}")
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(self.path, work, ignore=shutil.ignore_patterns("*.so", "*.o"))
        if trace:
            self._instrument(work)
        result = subprocess.run(["bash", "build_lib.sh"], cwd=work, capture_output=True, text=True)
        built = glob.glob(os.path.join(work, "firmware", "*.so"))
        if result.returncode != 0 or not built:
            raise ProjectError(f"{self.path}: build_lib.sh failed: {(result.stderr or result.stdout).strip()[-2000:]}")
        shutil.copy(built[0], lib + ".tmp")
        os.replace(lib + ".tmp", lib)

    def _instrument(self, work):
        """Trace hooks after each layer call (at the end of its line) and their storage in the bridge."""
        from ..importers.hls4ml_project import _Project, _outputs

        p = _Project(self.path, self.top)
        edits = {}  # (file, line) -> code to append
        sizes = {}
        for call, layer in zip(p.body.calls, self.graph["layers"]):
            out = p.body.resolve(_outputs(call, p.body)[0][0].text)
            n = int(np.prod(layer["shape"]))
            sizes[layer["name"]] = n
            file, line = call.where.rsplit(":", 1)
            edits.setdefault((file, int(line)), []).append(
                f' nnet::save_layer_output<{p.body.locals[out].type if out in p.body.locals else _port(p, out)}>'
                f'({out}, "{layer["name"]}", {n});')
        for (file, line), code in edits.items():
            path = os.path.join(work, file)
            with open(path) as f:
                lines = f.read().split("\n")
            lines[line - 1] = lines[line - 1].split("//")[0] + "".join(code)
            with open(path, "w") as f:
                f.write("\n".join(lines))
        bridge = os.path.join(work, os.path.basename(self._bridge))
        with open(bridge) as f:
            text = f.read()
        alloc = "".join(f'\n    nnet::trace_outputs->insert(std::pair<std::string, void *>("{k}", (void *)malloc({n} '
                        f'* element_size)));' for k, n in sizes.items())
        text, count = re.subn(r"(nnet::trace_type_size\s*=\s*element_size;)", lambda m: m.group(1) + alloc, text)
        if count != 1:
            raise ProjectError(f"{self._bridge}: no allocate_trace_storage to add trace storage to")
        with open(bridge, "w") as f:
            f.write(text)

    def _run(self, X, trace):
        lib = self._lib(trace)
        fn = getattr(lib, self._entry)
        n_in = int(np.prod(self.graph["input"]["shape"]))
        out_sizes = [int(np.prod(self.graph["layers"][t - 1]["shape"])) for t in self.graph["outputs"]]
        fn.restype = None
        fn.argtypes = [npc.ndpointer(ctypes.c_double, flags="C_CONTIGUOUS")] * (1 + len(out_sizes))
        X = np.ascontiguousarray(X, dtype=np.float64).reshape(len(X), n_in)
        outs = [np.zeros((len(X), s)) for s in out_sizes]
        layers = {}
        if trace:
            class TraceData(ctypes.Structure):
                _fields_ = [("name", ctypes.c_char_p), ("data", ctypes.c_void_p)]

            lib.allocate_trace_storage.argtypes = [ctypes.c_size_t]
            lib.collect_trace_output.argtypes = [ctypes.POINTER(TraceData)]
            sizes = {layer["name"]: int(np.prod(layer["shape"])) for layer in self.graph["layers"]}
            data = (TraceData * len(sizes))()
            layers = {k: np.zeros((len(X), n)) for k, n in sizes.items()}
            lib.allocate_trace_storage(ctypes.sizeof(ctypes.c_double))
        try:
            for i in range(len(X)):
                row = [np.zeros(s) for s in out_sizes]
                fn(np.ascontiguousarray(X[i]), *row)
                for o, r in zip(outs, row):
                    o[i] = r
                if trace:
                    lib.collect_trace_output(data)
                    for d in data:
                        name = d.name.decode()
                        ptr = ctypes.cast(d.data, ctypes.POINTER(ctypes.c_double))
                        layers[name][i] = np.ctypeslib.as_array(ptr, shape=(sizes[name],))
        finally:
            if trace:
                lib.free_trace_storage()
        return outs, layers

    def _cached(self, X, trace):
        X = np.ascontiguousarray(X, dtype=np.float64)

        def run(tmp):
            outs, layers = self._run(X, trace)
            np.savez(tmp, **{f"__out{i}__": o for i, o in enumerate(outs)}, **layers)

        material = (f"project-{self._key}-{trace}-{X.shape}", X.tobytes())
        path = build_cache.cached_build("outputs", material, run, suffix=".npz", digits=24, cache=self.cache)
        with np.load(path) as f:
            outs = [f[f"__out{i}__"] for i in range(len(self.graph["outputs"]))]
            return outs, {k: f[k] for k in f.files if not k.startswith("__out")}

    def predict(self, X):
        """Float outputs of the project's C simulation: a list of (n_events, size) arrays."""
        return self._cached(X, False)[0]

    def trace(self, X):
        """(outputs, {layer name: (n_events, size) values}) from a traced build."""
        return self._cached(X, True)


def _port(p, name):
    return next(port.type for port in p.body.ports if port.name == name)


def compile_project(path, top=None, cache=None):
    """The C simulation of project directory ``path`` (``top``: its top function, as for from_project)."""
    return ProjectReference(path, cache, top)
