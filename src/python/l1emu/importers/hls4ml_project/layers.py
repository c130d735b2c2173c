"""nnet:: calls of a project's top function as hls4ml layers: each call becomes a ``ProjectLayer`` that
answers what the hls4ml importers ask of a layer (attributes, types, weights, shapes) from the call's
config struct, template arguments and weight arrays, so that the same importer code builds the layer dict.

Shapes are not in a call: they follow from the configs (dense n_out, conv/pool/pad out_* and n_filt,
concat n_elem*) and pass unchanged through element-wise layers."""

import dataclasses

import numpy as np

from .source import error

# nnet function -> (hls4ml class, role of the non-tensor arguments, weight names in argument order)
FUNCTIONS = {
    "dense": ("Dense", ("weight", "bias")),
    "normalize": ("BatchNormalization", ("scale", "bias")),
    "conv_1d_cl": ("Conv1D", ("weight", "bias")),
    "conv_2d_cl": ("Conv2D", ("weight", "bias")),
    "pointwise_conv_1d_cl": ("PointwiseConv1D", ("weight", "bias")),
    "pointwise_conv_2d_cl": ("PointwiseConv2D", ("weight", "bias")),
    "pooling1d_cl": ("Pooling1D", ()),
    "pooling2d_cl": ("Pooling2D", ()),
    "global_pooling1d_cl": ("GlobalPooling1D", ()),
    "global_pooling2d_cl": ("GlobalPooling2D", ()),
    "zeropad1d_cl": ("ZeroPadding1D", ()),
    "zeropad2d_cl": ("ZeroPadding2D", ()),
    "concatenate1d": ("Concatenate", ()),
    "concatenate2d": ("Concatenate", ()),
    "concatenate3d": ("Concatenate", ()),
    "clone_stream": ("Clone", ()),
    "repack_stream": ("Repack", ()),
    "softmax": ("Softmax", ()),
    "prelu": ("PReLU", ("param",)),
    "hard_sigmoid": ("HardActivation", ()),
    "hard_tanh": ("HardActivation", ()),
    "leaky_relu": ("ParametrizedActivation", ()),
    "thresholded_relu": ("ParametrizedActivation", ()),
    "elu": ("ParametrizedActivation", ()),
    "ternary_tanh": ("TernaryTanh", ()),
    "instancenorm": ("InstanceNorm", ("scale", "bias", "table")),
    "kl_score": ("KLScore", ("table",)),
}
for _fn in ("linear", "relu", "sigmoid", "tanh", "softplus", "softsign", "selu", "binary_tanh"):
    FUNCTIONS[_fn] = ("Activation", ())
for _fn in ("add", "subtract", "multiply", "average", "maximum", "minimum"):
    FUNCTIONS[_fn] = ("Merge", ())
# the elu call without its alpha argument (alpha 1) is the same layer
_PARAM_FUNCTIONS = {"leaky_relu", "thresholded_relu", "elu"}


@dataclasses.dataclass
class NamedType:
    name: str
    precision: str


@dataclasses.dataclass
class Variable:
    name: str
    shape: tuple
    type: NamedType


class WeightArray:
    """A weight array as hls4ml's WeightVariable presents it: iterates the values the firmware parses."""

    def __init__(self, name, values, precision):
        self.name, self.data = name, np.asarray(values, dtype=np.float64)
        self.type = NamedType(name, precision)

    def __iter__(self):
        return iter(self.data.tolist())


class _Backend:
    def __init__(self, name):
        self.name = name


class _ModelConfig:
    def __init__(self, backend, io_type):
        self.backend, self._io = _Backend(backend), io_type

    def get_config_value(self, key, default=None):
        return self._io if key == "IOType" else default


class _Model:
    def __init__(self, backend, io_type):
        self.config = _ModelConfig(backend, io_type)


class ProjectLayer:
    """One nnet:: call, shaped as the hls4ml layer the importers expect."""

    def __init__(self, call, config, project, inputs, output, weights):
        self.call, self.cfg, self.project = call, config, project
        self.name = call.name
        self.class_name = FUNCTIONS[call.function][0]
        self.inputs = [v.name for v in inputs]
        self._inputs = inputs
        self.outputs = [output.name]
        self._output = output
        self.weights = weights
        self.model = project.model
        self.attributes = project.named_types
        self.product_type = self._product()

    def get_output_variable(self):
        return self._output

    def get_input_variable(self, name=None):
        if name is None:
            return self._inputs[0]
        return next(v for v in self._inputs if v.name == name)

    def get_weights(self, key):
        return self.weights[key]

    def _get_act_function_name(self):
        return self.call.function

    def _product(self):
        cfg = self.cfg
        if cfg is not None and cfg.nested("mult_config") is not None:
            cfg = cfg.nested("mult_config")
        text = cfg.type_name("product") if cfg is not None else None
        if text is None:
            return "mult"
        return text.split("<")[0].split("::")[-1]

    def _type(self, name):
        return NamedType(name, self.project.types.spec(name, self.call.where))

    def get_attr(self, key, default=None):
        fn, cfg = self.call.function, self.cfg
        if key == "activation":
            return fn
        if key == "op":
            return fn
        if key == "config_cpp":
            return cfg.struct.text if cfg else None
        if key == "activ_param":
            if fn in _PARAM_FUNCTIONS:
                return self.call.literal if self.call.literal is not None else default
            return default
        if key == "param_t" and fn in _PARAM_FUNCTIONS | {"prelu"}:
            return self._type(self.call.template_args[1])
        if key == "data_format":
            return "channels_last"
        if key == "_weights_transposed":
            return True
        if key == "mode":
            return "full" if cfg.value("full") else "mu2"
        if cfg is None:
            return default
        if key.endswith("_t"):
            member = key[:-2]
            if cfg.type_name(key) is not None:
                return self._type(cfg.type_name(key))
            if member in cfg.struct.members and cfg.type_name(member):  # hard_sigmoid's slope: slope_t
                return self._type(cfg.type_name(member))
            return default
        if key in ("slope", "shift"):
            return cfg.literal(key)
        if not cfg.has(key):
            return default
        value = cfg.value(key)
        if key == "count_pad":
            return bool(value)
        return value


def output_shape(call, cfg, in_shapes, where):
    """Shape of a call's output from its config (channels_last), or its first input's."""
    fn = call.function
    v = cfg.value if cfg is not None else None
    if fn == "dense":
        return (v("n_out"),)
    if fn in ("conv_1d_cl", "pointwise_conv_1d_cl"):
        return (v("out_width"), v("n_filt"))
    if fn in ("conv_2d_cl", "pointwise_conv_2d_cl"):
        return (v("out_height"), v("out_width"), v("n_filt"))
    if fn == "pooling1d_cl":
        return (v("n_out"), v("n_filt"))
    if fn == "pooling2d_cl":
        return (v("out_height"), v("out_width"), v("n_filt"))
    if fn in ("global_pooling1d_cl", "global_pooling2d_cl"):
        return (v("n_filt"),)
    if fn == "zeropad1d_cl":
        return (v("out_width"), v("n_chan"))
    if fn == "zeropad2d_cl":
        return (v("out_height"), v("out_width"), v("n_chan"))
    if fn == "kl_score":
        return (1,)
    if fn.startswith("concatenate"):
        a, b = in_shapes
        axis = v("axis")
        rank = len(a)
        ax = axis - 1 if axis > 0 else axis
        if not -rank <= ax < rank or len(b) != rank:
            raise error(where, f"concatenate of shapes {a} and {b} along axis {axis}")
        ax %= rank
        return tuple(a[d] + b[d] if d == ax else a[d] for d in range(rank))
    return in_shapes[0]
