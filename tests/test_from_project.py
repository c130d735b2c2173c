"""l1emu.from_project: a generated hls4ml project directory read without compiling equals that very directory
compiled (its own build_lib.sh, C simulation), raw code for raw code, for every layer family in io_parallel
and io_stream; it builds the same layer graph as from_hls4ml of the ModelGraph that wrote the directory; it
follows hand edits (renamed top function, a namespace, weights in headers, a weight moved by one LSB, a
narrowed type), and l1emu.validate(emu, project_dir, X) names the first layer an edit makes diverge."""

import os
import re
import shutil

import numpy as np
import pytest

import hls4ml

import l1emu
from l1emu import reference as ref
from l1emu.reference import cache
from l1emu.reference.project import compile_project

from .cases import activations as acts
from .cases import adversarial_inputs, anomaly, conv, dense, set_precision

pytestmark = pytest.mark.xdist_group("from_project")
N_RANDOM = 3000


def _dense(config):
    def build():
        model = ref.jet_tagger()
        cfg, kwargs = dense.configure(model, config)
        return ref.convert(model, f"jet_tagger-{config}", cfg, **kwargs)
    return build


def _conv(family, config):
    def build():
        model = conv.MODELS[family](config.startswith("stream"))
        cfg, io_type = conv.configure(model, config)
        return ref.convert(model, f"{family}-{config}", cfg, io_type=io_type)
    return build


def _softmax_stream(impl):
    def build():
        config = "t256_rnd_sat" if impl != "legacy" else "default"
        model = acts.softmax_model(acts.SOFTMAX_CONFIGS[config][0], [impl])
        return ref.convert(model, f"softmax-stream-{impl}-{config}", acts.softmax_config(model, [impl], config),
                           io_type="io_stream")
    return build


def _softmax():
    model = acts.softmax_model(acts.SOFTMAX_CONFIGS["default"][0], acts.SOFTMAX_IMPLS)
    return ref.convert(model, "softmax-default", acts.softmax_config(model, acts.SOFTMAX_IMPLS, "default"))


def _lut_stream(act):
    def build():
        from tensorflow.keras.layers import Activation, Input
        from tensorflow.keras.models import Model

        x = Input((acts.N_FEATURES,), name="x")
        model = Model(x, Activation(act, name=act)(x))
        cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
        cfg["LayerName"]["x"]["Precision"] = {"result": "fixed<11,4,RND,SAT>"}
        cfg["LayerName"][act].update(table_size=512)
        cfg["LayerName"][act]["Precision"].update(table="fixed<14,3,RND,SAT>", result="fixed<13,5,RND,SAT>")
        return ref.convert(model, f"lut-stream-{act}", cfg, io_type="io_stream")
    return build


def _anomaly(table, name, backend="Vitis"):
    return lambda: anomaly.build(table, name, backend)[1]


def _vae(mode, io_type):
    def build():
        model = ref.vae_encoder_dense(mode=mode)
        cfg = hls4ml.utils.config_from_keras_model(model, granularity="name", backend="Vitis")
        set_precision(cfg, "l1_objects", result="fixed<14,6,RND,SAT>")
        for d in ("fc1", "fc2", "mu_logvar"):
            set_precision(cfg, d, accum="fixed<20,8,RND,SAT>", result="fixed<14,6,RND,SAT>")
        set_precision(cfg, "kl_score", result="fixed<20,12,RND,SAT>")
        return ref.convert(model, f"vae_encoder_dense-{mode}-{io_type}", cfg, backend="Vitis", io_type=io_type)
    return build


# Every layer family l1emu emulates, io_parallel and io_stream (the names the family tests cache them under).
PROJECTS = {
    "dense": _dense("default"),
    "dense-rnd_sat": _dense("rnd_sat"),
    "dense-resource_rf4": _dense("resource_rf4"),
    "dense-resource_rf_gt_nin": _dense("resource_rf_gt_nin"),
    "dense-io_stream": _dense("io_stream"),
    "activations": lambda: acts.build_activations("default")[0],
    "activations-t4096_rnd_sat": lambda: acts.build_activations("t4096_rnd_sat")[0],
    "lut-stream-elu": _lut_stream("elu"),
    "lut-stream-selu": _lut_stream("selu"),
    "softmax": _softmax,
    **{f"softmax-stream-{impl}": _softmax_stream(impl) for impl in acts.SOFTMAX_IMPLS},
    "conv2d": _conv("conv2d", "default"),
    "conv2d-resource": _conv("conv2d", "resource"),
    "conv2d-stream": _conv("conv2d", "stream"),
    "conv2d-stream_resource": _conv("conv2d", "stream_resource"),
    "conv1d-rnd_sat": _conv("conv1d", "rnd_sat"),
    "conv1d-stream_rnd_sat": _conv("conv1d", "stream_rnd_sat"),
    "instance_norm": _anomaly(anomaly.INORM, "hwc_derived_types"),
    "instance_norm-Vivado": _anomaly(anomaly.INORM, "hwc_derived_types", "Vivado"),
    "instance_norm-stream": _anomaly(anomaly.INORM, "hwc_wrap_stream"),
    "kl_score": _anomaly(anomaly.KL, "full_default"),
    "kl_score-stream": _anomaly(anomaly.KL, "mu2_stream"),
    "vae_encoder": _vae("full", "io_parallel"),
    "vae_encoder-stream": _vae("mu2", "io_stream"),
}


def _locked(path):
    """The lock reference.convert holds while it (re)writes a project: read it only under it."""
    return cache.locked(path.rstrip(os.sep))


def _inputs(emu, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(emu.input_shape))
    spec = emu.input_precision
    hi = 2.0 ** (spec.integer - (1 if spec.is_signed else 0))
    X = np.concatenate([rng.normal(0, hi / 4, (N_RANDOM, n)), rng.uniform(-2 * hi, 2 * hi, (N_RANDOM // 2, n)),
                        adversarial_inputs(emu, rng).reshape(-1, n)])
    return X.reshape((-1,) + emu.input_shape)


def _mismatches(emu, project, X):
    """Events whose raw codes differ between emu and the compiled project (every output)."""
    got = emu.predict_raw(X)
    got = got if isinstance(got, list) else [got]
    want = project.predict(X)
    assert len(got) == len(want)
    bad = np.zeros(len(X), dtype=bool)
    distinct = 0
    for g, w, spec in zip(got, want, emu.output_precisions()):
        codes = l1emu.quantize(w, spec)
        assert np.array_equal(l1emu.to_double(codes, spec), w), "csim output is not a value of the output type"
        bad |= (g.reshape(len(X), -1) != codes).any(axis=1)
        distinct = max(distinct, len(np.unique(codes)))
    return int(bad.sum()), distinct


def _comparable(graph):
    """The graph without layout-only copies (io_parallel Reshape/Flatten write no C++), tensors renumbered."""
    keep, index = [], {0: 0}
    for i, layer in enumerate(graph["layers"], start=1):
        if layer["kind"] == "Copy":
            index[i] = index[layer["inputs"][0]]
            continue
        keep.append(dict(layer, inputs=[index[t] for t in layer["inputs"]]))
        index[i] = len(keep)
    return keep, [index[t] for t in graph["outputs"]], graph["input"]["spec"]


def _same_graph(a, b):
    la, oa, ia = _comparable(a)
    lb, ob, ib = _comparable(b)
    assert ia == ib and oa == ob
    assert [x["name"] for x in la] == [x["name"] for x in lb]
    for x, y in zip(la, lb):
        for key in ("kind", "inputs", "spec", "attrs"):
            assert x[key] == y[key], f"layer {x['name']}: {key} {x[key]} != {y[key]}"
        assert int(np.prod(x["shape"])) == int(np.prod(y["shape"])), x["name"]
        assert sorted(x["arrays"]) == sorted(y["arrays"]), x["name"]
        for k in x["arrays"]:
            np.testing.assert_array_equal(np.asarray(x["arrays"][k]), np.asarray(y["arrays"][k]),
                                          err_msg=f"layer {x['name']} array {k}")


@pytest.mark.parametrize("name", list(PROJECTS))
def test_project_equals_its_compiled_csim(name, report):
    hls_model = PROJECTS[name]()
    path = hls_model.config.get_output_dir()
    with _locked(path):
        emu = l1emu.from_project(path)
        project = compile_project(path)
        X = _inputs(emu, seed=sum(map(ord, name)))
        bad, distinct = _mismatches(emu, project, X)
    _same_graph(emu.graph, l1emu.from_hls4ml(hls_model).graph)
    report(f"from_project {name} ({emu.graph['source']['io_type']}): {len(X)} events, {bad} mismatching events "
           f"vs the compiled directory")
    assert bad == 0
    assert distinct >= 2  # the outputs vary (argmax: one-hot)


# -- hand-edited projects ---------------------------------------------------------------------------------
def _edited(variant, edit, base="jet_tagger-default", build=PROJECTS["dense"]):
    """A copy of a real project with `edit(dir)` applied, at a fixed place in the cache (so that its compiled
    library is cached across runs)."""
    hls_model = build()
    src = hls_model.config.get_output_dir()
    dst = os.path.join(cache.root(), "projects", f"edited-{base}-{variant}")
    with _locked(src), _locked(dst):
        shutil.rmtree(dst, ignore_errors=True)
        shutil.copytree(src, dst, ignore=shutil.ignore_patterns("*.so"))
        edit(dst)
    return hls_model, src, dst


def _sub(path, pattern, repl, count=0):
    with open(path) as f:
        text = f.read()
    new, n = re.subn(pattern, repl, text, count=count, flags=re.M)
    assert n, f"{pattern!r} not in {path}"
    with open(path, "w") as f:
        f.write(new)


def _fw(d, name):
    return os.path.join(d, "firmware", name)


def _rename_top(d):
    for f in (_fw(d, "myproject.cpp"), _fw(d, "myproject.h"), os.path.join(d, "myproject_bridge.cpp")):
        _sub(f, r"\bmyproject\(", "jet_tagger_top(")
    # other code with layer calls beside the top function (never called), and C++ l1emu does not read
    with open(_fw(d, "myproject.cpp"), "a") as f:
        f.write("\nvoid unused_helper(input_t x[16], layer5_t y[64]) {\n"
                "    nnet::relu<input_t, layer5_t, relu_config5>(x, y); // helper\n}\n")
    with open(_fw(d, "helpers.cpp"), "w") as f:
        f.write("int helper(int n) {\n    int s = 0;\n    for (int i = 0; i < n; i++) s += i;\n    return s;\n}\n")


def _namespace(d):
    for name in ("defines.h", "myproject.h", "parameters.h"):
        path = _fw(d, name)
        with open(path) as f:
            lines = f.read().split("\n")
        includes = [i for i, line in enumerate(lines) if line.startswith("#include")]
        weights = [i for i, line in enumerate(lines) if line.startswith('#include "weights/')]
        at = (weights[0] if weights else includes[-1] + 1)
        end = max(i for i, line in enumerate(lines) if line.startswith("#endif"))
        lines.insert(end, "}  // namespace l1")
        lines.insert(at, "namespace l1 {")
        with open(path, "w") as f:
            f.write("\n".join(lines))
    _sub(_fw(d, "myproject.cpp"), r'^(#include "parameters.h")$', r"\1\nnamespace l1 {")
    with open(_fw(d, "myproject.cpp"), "a") as f:
        f.write("\n}  // namespace l1\n")
    _sub(os.path.join(d, "myproject_bridge.cpp"), r'^(#include "firmware/myproject.h")$', r"\1\nusing namespace l1;")
    _sub(_fw(d, "myproject.cpp"), r'^(#include "myproject.h")$', r"\1\nusing namespace nnet;")


def _weight_arrays(d):
    """(type, name, size, values text) of every array the project loads from weights/*.txt."""
    with open(_fw(d, "myproject.cpp")) as f:
        calls = re.findall(r"nnet::load_weights_from_txt<(\w+), (\d+)>\((\w+), \"(\w+\.txt)\"\);", f.read())
    out = []
    for t, size, name, txt in calls:
        with open(_fw(d, os.path.join("weights", txt))) as f:
            out.append((t, name, size, f.read().strip()))
        os.remove(_fw(d, os.path.join("weights", txt)))
    _sub(_fw(d, "myproject.cpp"), r"^\s*nnet::load_weights_from_txt<.*$\n", "")
    return out


def _header_weights(d):
    for t, name, size, values in _weight_arrays(d):
        with open(_fw(d, f"weights/{name}.h"), "w") as f:
            f.write(f"#ifndef {name.upper()}_H_\n#define {name.upper()}_H_\n\n{t} {name}[{size}] = {{{values}}};\n\n"
                    "#endif\n")


def _combined_weights(d):
    arrays = _weight_arrays(d)
    for _, name, _, _ in arrays:
        os.remove(_fw(d, f"weights/{name}.h"))
    with open(_fw(d, "weights/weights.h"), "w") as f:
        f.write("// all weights of the model\n#ifndef WEIGHTS_H_\n#define WEIGHTS_H_\n")
        for t, name, size, values in arrays:
            f.write(f"{t} {name}[{size}] = {{\n    {values}\n}};\n")
        f.write("#endif\n")
    _sub(_fw(d, "parameters.h"), r'^#include "weights/\w+\.h"$\n', "")
    _sub(_fw(d, "parameters.h"), r"^(// hls-fpga-machine-learning insert weights)$", r'\1\n#include "weights/weights.h"')


def _one_lsb(d):
    """w2[k] moved by one LSB of weight2_t towards zero (stays in range), k the largest weight."""
    with open(_fw(d, "defines.h")) as f:
        lsb = 2.0 ** -l1emu.parse_precision(re.search(r"typedef (.+) weight2_t;", f.read()).group(1)).frac
    path = _fw(d, "weights/w2.txt")
    with open(path) as f:
        values = [float(v) for v in f.read().split(",")]
    k = int(np.argmax(np.abs(values)))
    values[k] += lsb * (1 if values[k] < 0 else -1)
    with open(path, "w") as f:
        f.write(", ".join(f"{v:.10f}" for v in values))


def _narrow_type(d):
    """fc2's result type narrowed, through a nested typedef with quantization and overflow modes."""
    _sub(_fw(d, "defines.h"), r"^typedef ap_fixed<19,8> fc2_result_t;$",
         "typedef ap_fixed<10,3,AP_RND_CONV,AP_SAT> fc2_narrow_t;\ntypedef fc2_narrow_t fc2_result_t;")


EDITS = {"renamed_top": _rename_top, "namespace": _namespace, "header_weights": _header_weights,
         "combined_weights": _combined_weights}


def _check_defaults(d):
    with open(_fw(d, "defines.h")) as f:
        assert "typedef ap_fixed<19,8> fc2_result_t;" in f.read(), "jet_tagger-default's fc2 result type changed"


@pytest.mark.parametrize("variant", list(EDITS))
def test_hand_edited_project_equals_its_compiled_csim(variant, report):
    hls_model, _, d = _edited(variant, EDITS[variant])
    top = "jet_tagger_top" if variant == "renamed_top" else None
    if variant == "renamed_top":
        with pytest.raises(l1emu.ProjectError, match="jet_tagger_top.*unused_helper|unused_helper.*jet_tagger_top"):
            l1emu.from_project(d)
    emu = l1emu.from_project(d, top=top)
    _same_graph(emu.graph, l1emu.from_hls4ml(hls_model).graph)
    project = compile_project(d, top=top)
    X = _inputs(emu, seed=11)
    bad, _ = _mismatches(emu, project, X)
    report(f"from_project edited jet_tagger ({variant}): {len(X)} events, {bad} mismatching events vs the "
           "compiled directory")
    assert bad == 0
    assert l1emu.validate(l1emu.from_hls4ml(hls_model), project if top else d, X).bit_exact


@pytest.mark.parametrize("variant,edit,layer", [("one_lsb", _one_lsb, "fc1"), ("narrow_type", _narrow_type, "fc2")])
def test_perturbed_project_is_followed_and_validate_names_the_layer(variant, edit, layer, report):
    hls_model, src, d = _edited(variant, edit)
    with _locked(src):
        _check_defaults(src)  # the edit has the effect the test expects
    emu = l1emu.from_project(d)
    X = _inputs(emu, seed=12)
    bad, _ = _mismatches(emu, compile_project(d), X)
    assert bad == 0  # from_project follows the edited files
    original = l1emu.from_hls4ml(hls_model)
    rep = l1emu.validate(original, d, X)
    report(f"validate original jet_tagger vs edited project ({variant}): {rep.n_mismatched_events}/{rep.n_events} "
           f"events differ, first diverging layer {rep.first_diverging_layer}")
    assert not rep.bit_exact and rep.reference_kind == "hls4ml project"
    assert rep.first_diverging_layer == layer
    assert rep.traced_layers[-1] == layer


# -- refusals -------------------------------------------------------------------------------------------------
def _copy(tmp_path, build=PROJECTS["dense"]):
    src = build().config.get_output_dir()
    d = str(tmp_path / "prj")
    with _locked(src):
        shutil.copytree(src, d, ignore=shutil.ignore_patterns("*.so"))
    return d


def test_changed_nnet_utils_header_is_refused(tmp_path):
    d = _copy(tmp_path)
    _sub(_fw(d, "nnet_utils/nnet_dense_latency.h"), r"acc\[jj\] \+= mult\[index\];", "acc[jj] -= mult[index];",
         count=1)
    with pytest.raises(l1emu.ProjectError, match=r"nnet_dense_latency\.h.*differs in dense_latency"):
        l1emu.from_project(d)


def test_unsupported_construct_is_refused_with_file_and_line(tmp_path):
    d = _copy(tmp_path)
    _sub(_fw(d, "myproject.cpp"), r"^(\s*nnet::relu<bn1_result_t.*)$", r"    for (int i = 0; i < 2; i++) {}\n\1")
    with open(_fw(d, "myproject.cpp")) as f:
        line = next(i for i, text in enumerate(f.read().split("\n"), start=1) if "for (int i" in text)
    with pytest.raises(l1emu.ProjectError, match=rf"firmware/myproject\.cpp:{line}: unsupported statement 'for"):
        l1emu.from_project(d)


def test_config_without_a_constant_is_refused(tmp_path):
    d = _copy(tmp_path)
    _sub(_fw(d, "parameters.h"), r"^\s*static const unsigned n_out = 64;\n", "", count=1)
    with pytest.raises(l1emu.ProjectError, match=r"firmware/parameters\.h:\d+: config config2 has no 'n_out'"):
        l1emu.from_project(d)


def test_unknown_layer_function_is_refused(tmp_path):
    d = _copy(tmp_path)
    _sub(_fw(d, "myproject.cpp"), r"nnet::relu<bn1_result_t", "nnet::mystery<bn1_result_t")
    with pytest.raises(l1emu.UnsupportedLayerError, match=r"myproject\.cpp:\d+: nnet::mystery is not supported"):
        l1emu.from_project(d)


def test_not_a_project_and_missing_top_are_refused(tmp_path):
    with pytest.raises(l1emu.ProjectError, match="not an hls4ml project directory"):
        l1emu.from_project(tmp_path)
    d = _copy(tmp_path)
    with pytest.raises(l1emu.ProjectError, match="no top function 'nope'.*myproject"):
        l1emu.from_project(d, top="nope")


def test_hash_table_is_hls4ml_1_3_templates():
    """nnet_hashes.json is what nnet_check computes from the installed hls4ml's templates."""
    import json

    from l1emu.importers.hls4ml_project import nnet_check

    assert hls4ml.__version__ == nnet_check.HLS4ML_VERSION
    templates = os.path.join(os.path.dirname(hls4ml.__file__), "templates")
    with open(nnet_check.TABLE) as f:
        assert json.load(f)["backends"] == nnet_check.reference_tables(templates)


# -- command line ------------------------------------------------------------------------------------------
def test_cli_validate_and_info_with_a_project_directory(tmp_path):
    from click.testing import CliRunner

    from l1emu.cli import main

    _, _, edited_src = _edited("narrow_type", _narrow_type)
    # private copies: other test workers rewrite the cached projects (reference.convert, _edited) meanwhile
    copies = tmp_path / "copies"
    path, edited = _copy(copies), str(copies / "edited")
    with _locked(edited_src):
        shutil.copytree(edited_src, edited, ignore=shutil.ignore_patterns("*.so"))
    emu = l1emu.from_project(path)
    model = str(tmp_path / "jet.l1emu")
    emu.save(model)
    runner = CliRunner()
    r = runner.invoke(main, ["validate", model, "--random", "2000", "--reference", path])
    assert r.exit_code == 0, r.output
    assert "bit-exact: 2000 events" in r.output
    r = runner.invoke(main, ["validate", model, "--random", "2000", "--reference", edited, "-o", str(tmp_path / "v.json")])
    assert r.exit_code == 1, r.output
    assert "first diverging layer: fc2" in r.output
    r = runner.invoke(main, ["validate", edited, "--random", "500"])  # the directory read by from_project
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["info", edited])
    assert r.exit_code == 0 and "fc2" in r.output and "fixed<10,3,RND_CONV,SAT>" in r.output, r.output
    r = runner.invoke(main, ["info", str(tmp_path)])
    assert r.exit_code == 2 and "not an hls4ml project directory" in r.output


# -- projects of older hls4ml releases ----------------------------------------------------------------------
OLD = os.path.join(os.path.dirname(__file__), "data", "hls4ml-0.8.1")


def _old_project(tmp_path, io_type):
    """An hls4ml 0.8.1 project as that release writes it (see tests/data/hls4ml-0.8.1/generate.py)."""
    d = str(tmp_path / f"dense-{io_type}")
    shutil.copytree(os.path.join(OLD, f"dense-{io_type}"), d)
    shutil.copytree(os.path.join(OLD, "nnet_utils"), _fw(d, "nnet_utils"))
    shutil.copytree(os.path.join(os.path.dirname(hls4ml.__file__), "templates", "vivado", "ap_types"),
                    _fw(d, "ap_types"))
    return d


@pytest.mark.parametrize("io_type", ["io_parallel", "io_stream"])
def test_older_hls4ml_project_is_refused_naming_header_and_functions(tmp_path, io_type):
    d = _old_project(tmp_path, io_type)
    with pytest.raises(l1emu.ProjectError, match=r"firmware/nnet_utils/nnet_activation\.h: not hls4ml 1\.3\.0's "
                                                 r"Vitis nnet_activation\.h \(differs in .*softmax_latency"):
        l1emu.from_project(d)
    # its C++ itself is read: with 1.3.0's headers in place it is an ordinary project
    shutil.rmtree(_fw(d, "nnet_utils"))
    shutil.copytree(_fw(PROJECTS["dense"]().config.get_output_dir(), "nnet_utils"), _fw(d, "nnet_utils"))
    emu = l1emu.from_project(d)
    assert [layer["name"] for layer in emu.graph["layers"]] == ["fc1", "fc1_linear", "relu1", "fc2", "tanh", "out"]
