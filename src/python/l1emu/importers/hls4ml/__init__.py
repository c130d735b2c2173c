"""Import an hls4ml ModelGraph as hls4ml writes it to firmware: after its optimizer flows (fused layers,
inferred 'auto' precisions, transposed resource-strategy weights), with every type and the weights
quantized exactly as the generated C++ does (decimal text -> double -> weight_t)."""

from ...emulator import Emulator
from ...errors import L1emuError, UnsupportedLayerError
from . import activation, anomaly, conv, core, shape
from .common import result_precision

# hls4ml layer class -> importer returning {"kind", "inputs", "attrs", "arrays"}; one module per family.
IMPORTERS = {
    "Dense": core.dense,
    "BatchNormalization": core.batchnorm,
    "Activation": activation.activation,
    "ReLU": activation.activation,
    "TernaryTanh": activation.activation,
    "ParametrizedActivation": activation.parametrized,
    "LeakyReLU": activation.parametrized,
    "ThresholdedReLU": activation.parametrized,
    "ELU": activation.parametrized,
    "PReLU": activation.prelu,
    "HardActivation": activation.hard,
    "Softmax": activation.softmax,
    "InstanceNorm": anomaly.instance_norm,
    "KLScore": anomaly.kl_score,
    "Conv1D": conv.conv,
    "Conv2D": conv.conv,
    "PointwiseConv1D": conv.conv,
    "PointwiseConv2D": conv.conv,
    "Pooling1D": conv.pooling,
    "Pooling2D": conv.pooling,
    "GlobalPooling1D": conv.pooling,
    "GlobalPooling2D": conv.pooling,
    "ZeroPadding1D": shape.zero_padding,
    "ZeroPadding2D": shape.zero_padding,
    "Reshape": shape.copy,
    "Clone": shape.copy,
    "Repack": shape.copy,
    "Concatenate": shape.concatenate,
    "Merge": shape.merge,
}


# Backends whose nnet_utils l1emu reproduces and verifies; the others (Quartus, oneAPI, Catapult, ...) have
# their own kernels and tables, so accepting them would emulate different firmware.
BACKENDS = ("Vivado", "Vitis")


def _check_model_graph(hls_model):
    if not any(c.__name__ == "ModelGraph" and c.__module__.startswith("hls4ml") for c in type(hls_model).__mro__):
        kind = f"{type(hls_model).__module__}.{type(hls_model).__qualname__}"
        raise L1emuError(f"expected an hls4ml ModelGraph, got {kind}: convert it first with "
                         "hls4ml.converters.convert_from_keras_model (or another hls4ml converter)")
    backend = hls_model.config.backend.name
    if backend not in BACKENDS:
        raise UnsupportedLayerError(f"hls4ml backend '{backend}' is not emulated by l1emu (it emulates "
                                    f"{' and '.join(BACKENDS)}): convert the model with backend='Vitis' or 'Vivado'")


def graph_from_hls4ml(hls_model) -> dict:
    _check_model_graph(hls_model)
    layers = list(hls_model.get_layers())
    inputs = [layer for layer in layers if layer.class_name == "Input"]
    if len(inputs) != 1:
        raise UnsupportedLayerError(f"models with {len(inputs)} inputs are not supported (exactly one is)")
    inp = inputs[0]
    tensor_of = {inp.name: 0}
    for out_name in inp.outputs:
        tensor_of[out_name] = 0
    graph = {
        "source": {"tool": "hls4ml", "backend": hls_model.config.backend.name,
                   "io_type": hls_model.config.get_config_value("IOType")},
        "input": {"name": inp.name, "shape": [int(d) for d in inp.get_output_variable().shape],
                  "spec": result_precision(inp)},
        "layers": [],
    }
    for layer in layers:
        if layer is inp:
            continue
        build = IMPORTERS.get(layer.class_name)
        if build is None:
            raise UnsupportedLayerError(f"layer '{layer.name}' of class {layer.class_name} is not supported by l1emu")
        try:
            ins = [tensor_of[name] for name in layer.inputs]
        except KeyError as err:
            raise UnsupportedLayerError(f"layer '{layer.name}': input {err} comes from an unsupported layer") from None
        entry = build(layer, ins)
        entry.update(name=layer.name, shape=[int(d) for d in layer.get_output_variable().shape],
                     spec=result_precision(layer))
        graph["layers"].append(entry)
        tensor_of[layer.name] = len(graph["layers"])
        for out_name in layer.outputs:
            tensor_of[out_name] = len(graph["layers"])
    outs = hls_model.get_output_variables()
    graph["outputs"] = []
    for var in outs:
        producer = [layer for layer in layers if layer.get_output_variable() is var]
        if not producer or producer[0].name not in tensor_of:
            raise UnsupportedLayerError(f"model output {var.name} is not produced by a supported layer")
        graph["outputs"].append(tensor_of[producer[0].name])
    return graph


def from_hls4ml(hls_model, threads: int = 0) -> Emulator:
    """Emulator of an hls4ml ModelGraph (Vivado or Vitis backend, io_parallel or io_stream)."""
    return Emulator(graph_from_hls4ml(hls_model), threads=threads)
