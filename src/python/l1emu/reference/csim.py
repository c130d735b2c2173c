"""hls4ml conversion + C simulation, compiled libraries and outputs kept in the build cache (reference.cache)."""

import ctypes
import glob
import os
import shutil

import numpy as np

from . import cache as build_cache


def _firmware_material(output_dir):
    """What the compiled library is a function of (its cache key)."""
    yield os.path.abspath(output_dir)  # the library reads weights/*.txt from there
    files = sorted(glob.glob(os.path.join(output_dir, "firmware", "**", "*"), recursive=True))
    files.append(os.path.join(output_dir, "myproject_bridge.cpp"))  # build_lib.sh carries a random stamp
    for path in files:
        if os.path.isfile(path) and not path.endswith(".so"):
            yield os.path.relpath(path, output_dir)
            with open(path, "rb") as f:
                yield f.read()


def convert(keras_model, name, hls_config=None, backend="Vitis", io_type="io_parallel", cache=None, **kwargs):
    """Convert with hls4ml and compile its C simulation, or load the library compiled earlier from the
    same generated sources. Returns the hls4ml ModelGraph, ready for predict/trace."""
    cache = build_cache.root(cache)
    output_dir = os.path.join(cache, "projects", name)
    # Parallel test workers may ask for the same project: one writes and compiles it at a time.
    with build_cache.locked(output_dir):
        return _convert_locked(keras_model, output_dir, name, hls_config, backend, io_type, cache, **kwargs)


def _convert_locked(keras_model, output_dir, name, hls_config, backend, io_type, cache, **kwargs):
    import hls4ml

    if hls_config is None:
        hls_config = hls4ml.utils.config_from_keras_model(keras_model, granularity="name", backend=backend)
    hls_model = hls4ml.converters.convert_from_keras_model(
        keras_model, hls_config=hls_config, backend=backend, io_type=io_type, output_dir=output_dir, **kwargs)
    # Layers marked Trace: build the library with tracing now, so that trace() needs no recompilation (hls4ml's
    # trace() recompiles in place, outside this lock; see predict).
    hls_model.config.trace_output = any(layer.get_attr("trace", False) for layer in hls_model.get_layers())
    hls_model.write()
    compiled = []

    def build(tmp):
        hls_model.compile()
        compiled.append(max(glob.glob(os.path.join(output_dir, "firmware", "*.so")), key=os.path.getmtime))
        shutil.copy(compiled[0], tmp)

    lib = build_cache.cached_build("libs", _firmware_material(output_dir), build, name=name, suffix=".so", cache=cache)
    if not compiled:
        # The weights are read at run time from the project's weights/*.txt, which write() just produced.
        hls_model._top_function_lib = ctypes.cdll.LoadLibrary(lib)
    hls_model._l1emu_lib = lib
    # Load the weights now, while no other worker can rewrite the project.
    shapes = [var.shape for var in hls_model.get_input_variables()]
    hls_model.predict([np.zeros((1, *shape)) for shape in shapes] if len(shapes) > 1 else np.zeros((1, *shapes[0])))
    return hls_model


def predict(hls_model, X, trace=False, cache=None):
    """hls_model.predict(X) (or hls_model.trace(X) -> (outputs, {layer: outputs})) for a model from `convert`,
    stored under the cache keyed by the compiled library (content-addressed) and the exact input bytes: C
    simulation of large models runs at a few events per second, and its result is a pure function of both."""
    lib = getattr(hls_model, "_l1emu_lib", None)
    if lib is None:
        raise ValueError("predict: the hls4ml model was not built by l1emu.reference.convert")
    X = np.ascontiguousarray(X)
    if trace and not hls_model.config.trace_output:
        raise ValueError("predict(trace=True): convert the model with Trace set on the layers to trace")

    def run(tmp):
        if trace:
            hls_model.compile = lambda: None  # trace() would rebuild the library convert built with tracing
            try:
                out, layers = hls_model.trace(X)
            finally:
                del hls_model.compile
            layers = {k: np.asarray(v) for k, v in layers.items()}
        else:
            out, layers = hls_model.predict(X), {}
        with open(tmp, "wb") as f:
            np.savez(f, __out__=np.asarray(out), **layers)

    material = (os.path.basename(lib), f"{X.dtype.str}{X.shape}{trace}", X.tobytes())
    path = build_cache.cached_build("outputs", material, run, suffix=".npz", digits=24, cache=cache)
    with np.load(path) as f:
        out = f["__out__"]
        return (out, {k: f[k] for k in f.files if k != "__out__"}) if trace else out
