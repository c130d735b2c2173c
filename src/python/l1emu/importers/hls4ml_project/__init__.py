"""Import a generated hls4ml project directory (firmware/<name>.cpp, parameters.h, defines.h, weights)
without compiling it: the same layer graph ``from_hls4ml`` builds from the in-memory ModelGraph, read
from the C++ the project's C simulation compiles. The project's own nnet_utils headers are checked
against the ones l1emu emulates (nnet_check); anything l1emu does not read is refused with its file:line."""

import glob
import os

import numpy as np

from ...emulator import Emulator
from ...errors import L1emuError, ProjectError, UnsupportedLayerError
from ..hls4ml import BACKENDS, IMPORTERS
from . import nnet_check
from .config import Config, Types, int_expression
from .layers import FUNCTIONS, NamedType, ProjectLayer, Variable, WeightArray, _Model, output_shape
from .source import Declarations, Unit, error, type_text
from .top import Body, split

def _settings(path):
    """hls4ml_config.yml (written beside the firmware): Backend, IOType, InputShapes; {} if absent."""
    cfg = os.path.join(path, "hls4ml_config.yml")
    if not os.path.isfile(cfg):
        return {}
    import yaml

    class Loader(yaml.SafeLoader):  # hls4ml tags objects it wrote (!keras_model ...): read them as nothing
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    try:
        with open(cfg) as f:
            doc = yaml.load(f, Loader=Loader)
    except Exception as err:  # noqa: BLE001 - yaml errors come in many classes
        raise ProjectError(f"{cfg}: cannot read ({err})") from None
    return doc if isinstance(doc, dict) else {}


def _top_function(path, top):
    fw = os.path.join(path, "firmware")
    if not os.path.isdir(fw):
        raise ProjectError(f"{path}: not an hls4ml project directory (no firmware/)")
    candidates = []
    for cpp in sorted(glob.glob(os.path.join(fw, "*.cpp"))):
        with open(cpp, errors="replace") as f:  # files without layer calls cannot hold the top: not read
            if "nnet::" not in f.read():
                continue
        unit = Unit(fw)
        unit.add_file(cpp)
        decls = Declarations(unit)
        rel = unit.rel(cpp)
        for fn in decls.functions.values():
            if fn.where.split(":")[0] == rel and any(t.text == "nnet" for t in fn.body):
                candidates.append((fn, unit, decls))
    if top is not None:
        chosen = [c for c in candidates if c[0].name == top.split("::")[-1]]
        if not chosen:
            raise ProjectError(f"{path}: no top function '{top}' in firmware/*.cpp (functions with layer "
                               f"calls: {', '.join(c[0].name for c in candidates) or 'none'})")
        return chosen[0]
    if len(candidates) != 1:
        names = ", ".join(f"{c[0].name} ({c[0].where})" for c in candidates) or "none"
        raise ProjectError(f"{path}: {len(candidates)} functions with nnet:: layer calls in firmware/*.cpp "
                           f"({names}): name the top function (top=, or --top on the command line)")
    return candidates[0]


class _Project:
    def __init__(self, path, top):
        self.path = path
        self.top, self.unit, self.decls = _top_function(path, top)
        self.settings = _settings(path)
        self.types = Types(self.decls)
        self.body = Body(self.top, self.unit)
        stream = any(p.stream for p in self.body.ports)
        self.io_type = "io_stream" if stream else "io_parallel"
        declared_io = self.settings.get("IOType")
        if declared_io and declared_io != self.io_type:
            raise ProjectError(f"{path}: hls4ml_config.yml says IOType {declared_io} but {self.top.where} "
                               f"has {self.io_type} ports")
        self.backend = nnet_check.check(self.unit, self.settings.get("Backend"))
        if self.backend not in BACKENDS:
            raise UnsupportedLayerError(f"{path}: hls4ml backend '{self.backend}' is not emulated by l1emu")
        self.model = _Model(self.backend, self.io_type)
        self.named_types = {n: NamedType(n, None) for n in self.decls.typedefs}
        for n, t in self.named_types.items():
            try:
                t.precision = self.types.spec(n, self.top.where)
            except ProjectError:
                t.precision = None  # a type no layer takes (index types, arrays of arrays)
        self.named_types = {n: t for n, t in self.named_types.items() if t.precision is not None}

    # -- weights ------------------------------------------------------------------------------------
    def weight(self, name, where):
        arr = self.decls.arrays.get(name)
        if arr is None:
            raise error(where, f"weight array '{name}' is not declared in the project headers")
        size = _int_tokens(arr.size, arr.where)
        precision = self.types.spec(arr.type, arr.where)
        if name in self.body.weight_files:
            fname, at = self.body.weight_files[name]
            values = _read_txt(os.path.join(self.path, "firmware", "weights", fname), size, at)
        elif arr.init is not None:
            values = _initializer(arr)
            if len(values) > size:
                raise error(arr.where, f"{name}: {len(values)} initializers for {size} elements")
            values = values + [0.0] * (size - len(values))  # C++ zero-fills the rest
        else:
            values = [0.0] * size  # a static array neither loaded nor initialized is zero
        return WeightArray(name, values, precision)


def _int_tokens(toks, where):
    value = int_expression(type_text(toks).replace("u", "").replace("U", ""))
    if value is None:
        raise error(where, f"array size '{type_text(toks)}' is not an integer constant expression")
    return value


def _read_txt(path, size, where):
    """Values of a weights/*.txt file as load_weights_from_txt reads them (first line, comma-separated,
    each token parsed to double by operator>>)."""
    try:
        with open(path) as f:
            line = f.readline()
    except OSError as err:
        raise error(where, f"cannot read weight file {path} ({err.strerror})") from None
    tokens = line.rstrip("\n").split(",")
    try:
        values = [float(t) for t in tokens]
    except ValueError as err:
        raise error(f"{path}:1", f"not a number ({err})") from None
    if len(values) != size:
        raise error(f"{path}:1", f"{len(values)} values; the array declared at {where} holds {size}")
    return values


def _initializer(arr):
    toks = arr.init
    if not toks or toks[0].text != "{" or toks[-1].text != "}":
        raise error(arr.where, f"initializer of '{arr.name}' is not a brace list")
    values = []
    for part in split(toks[1:-1]):
        text = "".join(t.text for t in part)
        try:
            v = float(text.rstrip("fFlL")) if text.lower() not in ("true", "false") else float(text == "true")
        except ValueError:
            raise error(part[0], f"initializer '{text}' of '{arr.name}' is not a number") from None
        if text[-1] in "fF":  # a float literal: rounded to float first
            v = float(np.float32(v))
        values.append(v)
    return values


def graph_from_project(path, top=None) -> dict:
    path = os.fspath(path)
    p = _Project(path, top)
    body = p.body
    written = {body.resolve(_tensor_name(a)) for c in body.calls for a in _outputs(c, body)}
    inputs = [port for port in body.ports if port.name not in written]
    if len(inputs) != 1:
        raise ProjectError(f"{p.top.where}: {len(inputs)} input ports ({', '.join(x.name for x in inputs)}); "
                           "l1emu supports models with exactly one input")
    inp = inputs[0]
    in_spec = p.types.spec(inp.type, p.top.where)
    shapes = {inp.name: _input_shape(p, inp)}
    tensor_of = {inp.name: 0}
    graph = {"source": {"tool": "hls4ml", "backend": p.backend, "io_type": p.io_type},
             "input": {"name": inp.name, "shape": list(shapes[inp.name]), "spec": in_spec}, "layers": []}
    for call in body.calls:
        if call.function not in FUNCTIONS:
            raise UnsupportedLayerError(f"{call.where}: nnet::{call.function} is not supported by l1emu")
        tensors = [body.resolve(_tensor_name(a)) for a in call.args if _is_tensor(a, body)]
        outs = _outputs(call, body)
        outs = [body.resolve(_tensor_name(a)) for a in outs]
        ins = [t for t in tensors if t not in outs]
        for t in ins:
            if t not in tensor_of:
                raise error(call.where, f"nnet::{call.function} reads '{t}' before any layer writes it")
        cfg = _config(p, call)
        literal = [a for a in call.args if len(a) <= 2 and a[-1].kind == "num"]
        call.literal = "".join(t.text for t in literal[0]) if literal else None
        in_vars = [Variable(t, shapes[t], None) for t in ins]
        out_port = _port_of(body, outs[0], call.where)
        precision = p.types.spec(out_port.type, call.where)
        shape = output_shape(call, cfg, [shapes[t] for t in ins], call.where)
        if out_port.size is not None and int(np.prod(shape)) != out_port.size:
            raise error(call.where, f"nnet::{call.function}: output '{outs[0]}' holds {out_port.size} values, "
                                    f"its config gives shape {shape}")
        name = call.name or outs[0]
        out_var = Variable(name, shape, NamedType(out_port.type, p.types.element(out_port.type)[0]))
        weight_names = FUNCTIONS[call.function][1]
        arrays = [a[0].text for a in call.args if len(a) == 1 and a[0].text in p.decls.arrays]
        if len(arrays) != len(weight_names):
            raise error(call.where, f"nnet::{call.function} takes {len(weight_names)} weight arrays "
                                    f"({', '.join(weight_names) or 'none'}), the call passes {len(arrays)}")
        weights = {k: p.weight(a, call.where) for k, a in zip(weight_names, arrays)}
        layer = ProjectLayer(call, cfg, p, in_vars, out_var, weights)
        layer.name = name
        try:
            entry = IMPORTERS[layer.class_name](layer, [tensor_of[t] for t in ins])
        except ProjectError:
            raise  # names its own file:line
        except L1emuError as err:
            raise type(err)(f"{call.where}: {err}") from None
        except (KeyError, ValueError, TypeError, AttributeError, IndexError) as err:  # a config lacking a key
            raise error(call.where, f"nnet::{call.function}: cannot read its config "
                                    f"{cfg.name if cfg else ''} ({type(err).__name__}: {err})") from None
        entry.update(name=name, shape=[int(d) for d in shape], spec=precision)
        graph["layers"].append(entry)
        for t in outs:
            tensor_of[t] = len(graph["layers"])
            shapes[t] = shape
    graph["outputs"] = []
    for port in body.ports:
        if port is inp:
            continue
        name = body.resolve(port.name)
        if name not in tensor_of:
            raise error(p.top.where, f"output port '{port.name}' is written by no layer")
        graph["outputs"].append(tensor_of[name])
    return graph


def _tensor_name(arg):
    return arg[0].text


def _is_tensor(arg, body):
    if len(arg) != 1 or arg[0].kind != "id":
        return False
    name = body.resolve(arg[0].text)
    return name in body.locals or any(port.name == name for port in body.ports)


def _outputs(call, body):
    """Argument token lists a call writes: the last tensor, or every copy of clone_stream."""
    tensors = [a for a in call.args if _is_tensor(a, body)]
    if call.function == "clone_stream":
        return tensors[1:]
    return tensors[-1:]


def _port_of(body, name, where):
    if name in body.locals:
        return body.locals[name]
    for port in body.ports:
        if port.name == name:
            return port
    raise error(where, f"'{name}' is not declared")


def _config(p, call):
    for targ in reversed(call.template_args):
        struct = p.decls.structs.get(targ.split("::")[-1])
        if struct is not None:
            return Config(struct, p.decls)
    if call.function in ("clone_stream", "repack_stream"):
        return None
    raise error(call.where, f"nnet::{call.function}: no config struct among its template arguments "
                            f"{', '.join(call.template_args)}")


def _input_shape(p, inp):
    """The input's shape: hls4ml_config.yml's InputShapes, else what its first reader's config takes."""
    shapes = p.settings.get("InputShapes")
    if isinstance(shapes, dict) and len(shapes) == 1:
        return tuple(int(d) for d in next(iter(shapes.values())))
    for call in p.body.calls:
        if any(_is_tensor(a, p.body) and p.body.resolve(a[0].text) == inp.name for a in call.args):
            cfg = _config(p, call)
            if cfg is None:
                break
            g = lambda k: cfg.value(k) if cfg.has(k) else None  # noqa: E731
            if call.function.endswith("2d_cl") and g("in_height") is not None:
                return (g("in_height"), g("in_width"), g("n_chan") if g("n_chan") is not None else g("n_filt"))
            if call.function.endswith("1d_cl") and g("in_width") is not None:
                return (g("in_width"), g("n_chan") if g("n_chan") is not None else g("n_filt"))
            if g("n_in") is not None:
                return (g("n_in"),)
            break
    if inp.size is not None:
        return (inp.size,)
    raise error(p.top.where, f"cannot tell the shape of input '{inp.name}' (no hls4ml_config.yml InputShapes)")


def from_project(path, top=None, threads: int = 0) -> Emulator:
    """Emulator of a generated hls4ml project directory (Vivado or Vitis, io_parallel or io_stream), read
    without compiling. ``top`` names the top function where firmware/*.cpp holds more than one."""
    return Emulator(graph_from_project(path, top), threads=threads)
