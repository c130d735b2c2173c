"""RTL truth for conifer BDTs: conifer's VHDL backend, simulated with GHDL (Debian ``ghdl``).

The VHDL project of a model (same precision as its cpp build) is written and compiled once per content and
cached under ``<cache>/conifer/vhdl/<hash>``; each ``predict_raw`` runs the testbench in a private
directory on the events, one per clock, and reads back the raw output codes.

conifer's float -> fixed converter is a pybind11 module named ``fixed_point`` whatever its precision: in one
process the first precision imported serves every later converter (a second precision gets the first's
codes). The project is therefore written, and events converted, by conifer in a fresh Python process.
"""

import glob
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

from ..atomic import atomic_file
from ..errors import L1emuError
from . import cache as build_cache
from .bdt import setup_environment

# Runs in a fresh interpreter (see the module docstring): argv[1] is a job file written by _conifer_job.
_CONIFER_JOB = """
import json, sys
import numpy as np
import conifer
job = json.load(open(sys.argv[1]))
conifer.backends.vhdl.set_simulator("ghdl")  # write GHDL's scripts even where Vivado's xsim is installed
model = conifer.model.make_model(job["ensemble"], job["config"])  # builds conifer's converter for the precision
if job["write"]:
    model.write()
if job["events"]:
    X = np.load(job["events"])
    np.save(job["codes"], np.array([model._fp_converter.to_int(float(x)) for x in X.ravel()],
                                   dtype=np.int64).reshape(X.shape))
"""
_CLOCK_NS = 5  # the testbench's clock period


def _ensemble(model):
    """The model's ensemble as conifer's save() writes it, without config and metadata (time stamps)."""
    from conifer.model import DecisionTreeBase, ModelBase

    ens = {key: getattr(model, key) for key in ModelBase._ensemble_fields}
    ens["trees"] = [[{key: getattr(tree, key) for key in DecisionTreeBase._tree_fields} for tree in per_class]
                    for per_class in model.trees]
    return json.loads(json.dumps(ens))  # plain JSON types


def _precision(model):
    """The one precision of the VHDL project: conifer's VHDL backend takes equal input, threshold and score
    precisions and a signed type (its tx/ty are numeric_std ``signed``)."""
    cfg = model.config
    precisions = {k: str(getattr(cfg, k)) for k in ("input_precision", "threshold_precision", "score_precision")}
    if len(set(precisions.values())) != 1:
        raise L1emuError(f"conifer VHDL backend: input, threshold and score precisions must be equal, model has "
                         f"{precisions}")
    precision = precisions["input_precision"]
    if not precision.replace(" ", "").startswith(("ap_fixed<", "ap_int<")):
        raise L1emuError(f"conifer VHDL backend: precision {precision} is not a signed ap_fixed or ap_int")
    return precision


def _ghdl_version():
    if shutil.which("ghdl") is None:
        raise RuntimeError("the RTL reference needs GHDL: apt-get install ghdl")
    return subprocess.run(["ghdl", "--version"], capture_output=True, text=True, check=True).stdout


def _backend_hash():
    """conifer's VHDL backend sources: the writer, firmware templates and GHDL compile script."""
    import conifer

    root = os.path.dirname(conifer.backends.vhdl.writer.__file__)
    h = hashlib.sha256(f"{conifer.__version__} {os.environ['XILINX_AP_INCLUDE']}".encode())
    for path in sorted(glob.glob(os.path.join(root, "**", "*"), recursive=True)):
        if os.path.isfile(path) and "__pycache__" not in path:
            h.update(os.path.relpath(path, root).encode())
            with open(path, "rb") as f:
                h.update(f.read())
    return h


def _conifer_job(ensemble, config, write=False, events=None):
    """Run _CONIFER_JOB in a fresh interpreter inside a private directory (conifer's converter builds in the
    working directory). Returns the converted event codes, if events were given."""
    with tempfile.TemporaryDirectory(prefix="l1emu-conifer-") as tmp:
        job = {"ensemble": ensemble, "config": config, "write": write, "events": None,
               "codes": os.path.join(tmp, "codes.npy")}
        if events is not None:
            job["events"] = os.path.join(tmp, "events.npy")
            np.save(job["events"], events)
        with open(os.path.join(tmp, "job.json"), "w") as f:
            json.dump(job, f)
        env = dict(os.environ)
        # the converter compiles with `python3 -m pybind11 --includes`: this interpreter's
        env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
        run = subprocess.run([sys.executable, "-c", _CONIFER_JOB, "job.json"], cwd=tmp, env=env,
                             capture_output=True, text=True)
        if run.returncode != 0:
            raise RuntimeError(f"conifer VHDL backend failed:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
        return np.load(job["codes"]) if events is not None else None


def _config(model, output_dir):
    from conifer.backends.vhdl.writer import VHDLConfig

    return {**VHDLConfig.default_config(), "Backend": "vhdl", "ProjectName": "bdt", "OutputDir": output_dir,
            "Precision": _precision(model)}


def project(model, cache=None):
    """The compiled GHDL project of the conifer model (content-addressed, built on first use)."""
    return _prepare(model, None, cache)[0]


def _prepare(model, X, cache):
    """The compiled project and, given events X, their raw input codes as conifer's VHDL backend converts
    them (its ap_fixed converter for the model's precision; cached beside the project by event bytes). What
    is missing is made by one conifer job: each job compiles a converter."""
    setup_environment()  # XILINX_AP_INCLUDE: the same ap_fixed casts as the cpp build
    cache = build_cache.root(cache)
    ensemble, precision = _ensemble(model), _precision(model)
    h = _backend_hash()
    h.update(json.dumps([ensemble, precision, _ghdl_version(), _CONIFER_JOB], sort_keys=True).encode())
    path = os.path.join(cache, "conifer", "vhdl", h.hexdigest()[:20])
    done = os.path.join(path, "l1emu-compiled")
    inputs = None
    if X is not None:
        h.update(f"{X.dtype.str} {X.shape}".encode())
        h.update(X.tobytes())
        inputs = os.path.join(f"{path}-inputs", h.hexdigest()[:24] + ".npy")  # under the project's lock
        os.makedirs(os.path.dirname(inputs), exist_ok=True)
    with build_cache.locked(path):
        build = not os.path.exists(done)
        convert = inputs is not None and not os.path.exists(inputs)
        if build:
            shutil.rmtree(path, ignore_errors=True)  # an interrupted earlier build
        if build or convert:
            codes = _conifer_job(ensemble, _config(model, path), write=build, events=X if convert else None)
        if build:
            run = subprocess.run(["sh", "ghdl_compile.sh"], cwd=path, capture_output=True, text=True)
            if run.returncode != 0:
                raise RuntimeError(f"GHDL failed to compile {path}:\n{run.stdout[-3000:]}{run.stderr[-3000:]}")
            with atomic_file(done, what="GHDL build marker"):
                pass
        if convert:
            with atomic_file(inputs, what="input codes") as tmp, open(tmp, "wb") as f:
                np.save(f, codes)
    return path, (np.load(inputs) if inputs else None)


def predict_raw(model, X, cache=None):
    """Raw output codes (int64, events x outputs) of the GHDL simulation of the model's VHDL, the testbench
    fed one event per clock."""
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != int(model.n_features):
        raise L1emuError(f"RTL reference: events of shape {X.shape}, expected (n, {model.n_features})")
    n_out = 1 if int(model.n_classes) == 2 else int(model.n_classes)
    if len(X) == 0:  # the testbench would wait for its stop time and write nothing
        return np.zeros((0, n_out), np.int64)
    prj, codes = _prepare(model, np.ascontiguousarray(X), cache)
    latency = 1 + model.max_depth + 3 + math.ceil(math.log2(model.n_trees + 1)) + 1  # Tree + AddReduce + norm
    stop_ns = (len(X) + latency + 100) * _CLOCK_NS
    with tempfile.TemporaryDirectory(prefix="l1emu-ghdl-") as run_dir:
        np.savetxt(os.path.join(run_dir, "SimulationInput.txt"), codes, fmt="%d", delimiter=" ")
        run = subprocess.run(["ghdl", "-r", "--std=08", f"--workdir={prj}", f"-P{prj}", "--work=xil_defaultlib",
                              "testbench", f"--stop-time={stop_ns}ns"], cwd=run_dir, capture_output=True, text=True)
        out = os.path.join(run_dir, "SimulationOutput.txt")
        y = np.loadtxt(out, dtype=np.int64, ndmin=2) if run.returncode == 0 and os.path.exists(out) else None
        if y is None or y.shape != (len(X), n_out):
            got = "no output" if y is None else f"output of shape {y.shape}"
            raise RuntimeError(f"GHDL simulation of {prj} gave {got} for {len(X)} events x {n_out} outputs:\n"
                               f"{run.stdout[-3000:]}{run.stderr[-3000:]}")
    return y
