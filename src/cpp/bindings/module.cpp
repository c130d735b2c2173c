// l1emu._core: the C++ kernels' Python face. Batch calls release the GIL.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <cmath>
#include <optional>
#include <tuple>
#include <type_traits>
#include <stdexcept>

#include "../fixed/fixed.h"
#include "../graph/model.h"
#include "../graph/pool.h"
#include "../graph/registry.h"
#include "../layers/mac.h"
#include "../menu/cuts.h"
#include "../menu/hardware_codes.h"
#include "../menu/ugt_scaling.h"

namespace py = pybind11;
using namespace l1emu;
using fixed::Spec;

namespace {

using I64Array = py::array_t<int64_t, py::array::c_style | py::array::forcecast>;
using F64Array = py::array_t<double, py::array::c_style | py::array::forcecast>;

std::vector<int64_t> to_vec(const I64Array &a) { return std::vector<int64_t>(a.data(), a.data() + a.size()); }

// f(values) with x as a C-contiguous float32 array if it is float32, else as float64 (np.asarray(x, np.float64)).
template <class F>
auto with_values(const py::array &x, F &&f) {
    auto typed = [&](auto a) {
        if (!a) throw std::invalid_argument("expected an array of numbers");
        return f(a);
    };
    if (py::isinstance<py::array_t<float>>(x)) return typed(py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(x));
    return typed(F64Array::ensure(x));
}

// x: float32 values as they are, anything else as float64.
py::array_t<int64_t> quantize_values(const py::array &values, const std::string &spec) {
    const Spec s = fixed::parse_spec(spec);
    return with_values(values, [&](const auto &x) {
        py::array_t<int64_t> out(std::vector<py::ssize_t>(x.shape(), x.shape() + x.ndim()));
        const auto *src = x.data();
        int64_t *dst = out.mutable_data();
        const size_t n = size_t(x.size());
        {
            py::gil_scoped_release release;
            if constexpr (std::is_same_v<std::remove_cv_t<std::remove_pointer_t<decltype(src)>>, float>)
                layers::mac::from_floats(src, n, s, dst);
            else
                layers::mac::from_doubles(src, n, s, dst);
        }
        return out;
    });
}

py::array_t<double> codes_to_doubles(const I64Array &c, const std::string &spec) {
    const Spec s = fixed::parse_spec(spec);
    py::array_t<double> out(std::vector<py::ssize_t>(c.shape(), c.shape() + c.ndim()));
    const int64_t *src = c.data();
    double *dst = out.mutable_data();
    {
        py::gil_scoped_release release;
        layers::mac::to_doubles(src, size_t(c.size()), s, dst);
    }
    return out;
}

// x: float64 values, or int32 hardware codes (taken exactly, as the uGT receives them).
py::array_t<double> ugt_shift(const py::array &x, const I64Array &offsets, const I64Array &shifts,
                              const std::string &unscaled) {
    const Spec s = fixed::parse_spec(unscaled);
    auto run = [&](const auto &a) {
        if (!a || a.ndim() != 2 || a.shape(1) != offsets.size() || offsets.size() != shifts.size())
            throw std::invalid_argument("ugt_shift: expected x of shape (n_events, k) and k offsets and shifts");
        py::array_t<double> out(std::vector<py::ssize_t>{a.shape(0), a.shape(1)});
        const auto *src = a.data();
        double *dst = out.mutable_data();
        {
            py::gil_scoped_release release;
            menu::ugt_shift(src, size_t(a.shape(0)), size_t(a.shape(1)), offsets.data(), shifts.data(), s, dst);
        }
        return out;
    };
    if (py::isinstance<py::array_t<int32_t>>(x)) return run(py::array_t<int32_t, py::array::c_style | py::array::forcecast>::ensure(x));
    return run(F64Array::ensure(x));
}

// Hardware codes of float32 values as float32, of anything else as float64, into int32 codes of the input's
// shape; last_dim: the object width the kernel needs (0: any).
template <class Kernel>
py::array_t<int32_t> hardware_codes(const py::array &x, py::ssize_t last_dim, const Kernel &kernel) {
    return with_values(x, [&](const auto &a) {
        if (last_dim && (a.ndim() == 0 || a.shape(a.ndim() - 1) != last_dim))
            throw std::invalid_argument("expected values of shape (..., " + std::to_string(last_dim) + ")");
        py::array_t<int32_t> out(std::vector<py::ssize_t>(a.shape(), a.shape() + a.ndim()));
        const auto *src = a.data();
        int32_t *dst = out.mutable_data();
        const size_t n = size_t(a.size()) / size_t(last_dim ? last_dim : 1);
        {
            py::gil_scoped_release release;
            kernel(src, n, dst);
        }
        return out;
    });
}

menu::LinearUnit linear_unit(double lsb, bool floor, int64_t lo, int64_t hi) {
    if (!(lsb > 0) || lo > hi || lo < INT32_MIN || hi > INT32_MAX)
        throw std::invalid_argument("hardware unit: expected lsb > 0 and int32 code bounds lo <= hi");
    return {lsb, floor, lo, hi};
}

void check_phi(double lsb, int64_t period) {
    if (!(lsb > 0) || period <= 0 || period > INT32_MAX)
        throw std::invalid_argument("phi unit: expected lsb > 0 and a positive period");
}

// A cut program (expr.program) on a chunk: fields as (n, capacity, width) or (n, width) float32/float64
// arrays, seeds as (n,) bool arrays; -> (len(results), n) bool.
py::array_t<bool> eval_cuts(const I64Array &code, const F64Array &constants, const I64Array &reg_width, const I64Array &results,
                            const std::vector<py::array> &fields, const std::vector<py::array> &seeds, size_t n) {
    menu::CutProgram prog;
    if (code.ndim() != 2 || code.shape(1) != 5) throw std::invalid_argument("cut program: expected (k, 5) instructions");
    const auto nreg = reg_width.size();
    for (py::ssize_t i = 0; i < code.shape(0); ++i) {
        const int64_t *r = code.data(i, 0);
        if (r[0] < 0 || r[0] > int64_t(menu::CutOp::Ht) || r[1] < 0 || r[1] >= nreg)
            throw std::invalid_argument("cut program: bad instruction " + std::to_string(i));
        prog.code.push_back({menu::CutOp(r[0]), r[1], r[2], r[3], r[4]});
    }
    prog.constants.assign(constants.data(), constants.data() + constants.size());
    prog.reg_width.assign(reg_width.data(), reg_width.data() + nreg);
    prog.results.assign(results.data(), results.data() + results.size());
    std::vector<py::array> keep;  // the (possibly converted) arrays stay alive for the call
    std::vector<menu::CutField> fs;
    for (const py::array &f : fields) {
        const bool is_f32 = py::isinstance<py::array_t<float>>(f);
        py::array a = is_f32 ? py::array(py::array_t<float, py::array::c_style | py::array::forcecast>::ensure(f))
                             : py::array(F64Array::ensure(f));
        if (!a || (a.ndim() != 2 && a.ndim() != 3) || size_t(a.shape(0)) != n)
            throw std::invalid_argument("cut fields: expected (n, width) or (n, capacity, width) arrays of numbers");
        fs.push_back({a.data(), !is_f32, a.ndim() == 3 ? int64_t(a.shape(1)) : 0, int64_t(a.shape(a.ndim() - 1))});
        keep.push_back(a);
    }
    std::vector<const bool *> ss;
    for (const py::array &sd : seeds) {
        auto a = py::array_t<bool, py::array::c_style | py::array::forcecast>::ensure(sd);
        if (!a || a.ndim() != 1 || size_t(a.shape(0)) != n) throw std::invalid_argument("cut seeds: expected (n,) booleans");
        ss.push_back(a.data());
        keep.push_back(a);
    }
    for (const auto &in : prog.code) {  // operands in range (the Python compiler's contract, checked)
        auto reg = [&](int64_t r) { return r >= 0 && r < nreg; };
        bool ok = true;
        switch (in.op) {
            case menu::CutOp::Num: ok = in.a >= 0 && in.a < int64_t(prog.constants.size()); break;
            case menu::CutOp::Seed: ok = in.a >= 0 && in.a < int64_t(ss.size()); break;
            case menu::CutOp::Attr:
            case menu::CutOp::Each:
                ok = in.a >= 0 && in.a < int64_t(fs.size()) && in.c >= 0 && in.c < fs[size_t(in.a)].width && in.b >= 0 &&
                     (in.op == menu::CutOp::Attr || prog.reg_width[size_t(in.dst)] == fs[size_t(in.a)].capacity);
                break;
            case menu::CutOp::Cmp:
            case menu::CutOp::Arith:
            case menu::CutOp::And:
            case menu::CutOp::Or: ok = reg(in.a) && reg(in.b); break;
            case menu::CutOp::Not:
            case menu::CutOp::Neg:
            case menu::CutOp::Abs: ok = reg(in.a) && prog.reg_width[size_t(in.a)] == prog.reg_width[size_t(in.dst)]; break;
            case menu::CutOp::Count:
            case menu::CutOp::Ht: ok = in.a >= 0 && in.a < int64_t(fs.size()) && fs[size_t(in.a)].capacity > 0 && in.b < nreg; break;
            default: break;
        }
        if (!ok) throw std::invalid_argument("cut program: operand out of range");
    }
    for (const int64_t result : prog.results)
        if (result < 0 || result >= nreg || prog.reg_width[size_t(result)] != 1)
            throw std::invalid_argument("cut program: bad result register");
    py::array_t<bool> out(std::vector<py::ssize_t>{py::ssize_t(prog.results.size()), py::ssize_t(n)});
    bool *dst = out.mutable_data();
    {
        py::gil_scoped_release release;
        menu::eval_cuts(prog, fs, ss, n, dst);
    }
    return out;
}

// Raised by run/run_all(check_finite=True) on NaN or inf inputs, naming the first one.
struct NonFiniteInput : std::runtime_error {
    NonFiniteInput(size_t event, size_t input)
        : std::runtime_error("inputs contain NaN or inf (first at event " + std::to_string(event) + ", input " +
                             std::to_string(input) + ")") {}
};

// Events of a batch call, checked against the model's input size.
template <class Array>
size_t checked_events(const graph::Model &m, const Array &x) {
    const size_t n_in = m.tensor(0).size;
    if (x.ndim() != 2 || size_t(x.shape(1)) != n_in)
        throw std::invalid_argument("expected inputs of shape (n_events, " + std::to_string(n_in) + ")");
    return size_t(x.shape(0));
}

// One [n x size] array per tensor id, and their data pointers.
template <class T>
std::vector<py::array_t<T>> output_arrays(const graph::Model &m, const std::vector<int> &ids, size_t n,
                                          std::vector<T *> &ptrs) {
    std::vector<py::array_t<T>> outs;
    for (int id : ids) {
        outs.emplace_back(std::vector<py::ssize_t>{py::ssize_t(n), py::ssize_t(m.tensor(id).size)});
        ptrs.push_back(outs.back().mutable_data());
    }
    return outs;
}

// The run saw a NaN or inf input: name the first one.
template <class Array>
[[noreturn]] void throw_non_finite(const graph::Model &m, const Array &x) {
    const size_t n_in = m.tensor(0).size;
    const auto *v = x.data();
    size_t k = 0;
    const size_t total = size_t(x.size());
    while (k + 1 < total && std::isfinite(v[k])) ++k;
    throw NonFiniteInput(k / n_in, k % n_in);
}

// x: float32 values as they are (no float64 copy: half the memory traffic), anything else as float64.
std::vector<py::array_t<int64_t>> run(const graph::Model &m, const py::array &values, int threads, bool all_tensors,
                                      bool check_finite) {
    return with_values(values, [&](const auto &x) {
        const size_t n = checked_events(m, x);
        std::vector<int> ids = m.outputs();
        if (all_tensors) {
            ids.clear();
            for (size_t i = 0; i < m.n_tensors(); ++i) ids.push_back(int(i));
        }
        std::vector<int64_t *> ptrs;
        auto outs = output_arrays(m, ids, n, ptrs);
        bool non_finite;
        {
            py::gil_scoped_release release;
            non_finite = m.run(x.data(), n, ptrs, threads, all_tensors);
        }
        if (non_finite && check_finite) throw_non_finite(m, x);
        return outs;
    });
}

// The model outputs as float64 values, converted per block by the worker threads (no int64 arrays in between).
std::vector<py::array_t<double>> run_values(const graph::Model &m, const py::array &values, int threads,
                                            bool check_finite) {
    return with_values(values, [&](const auto &x) {
        const size_t n = checked_events(m, x);
        std::vector<double *> ptrs;
        auto outs = output_arrays(m, m.outputs(), n, ptrs);
        bool non_finite;
        {
            py::gil_scoped_release release;
            non_finite = m.run_values(x.data(), n, ptrs, threads);
        }
        if (non_finite && check_finite) throw_non_finite(m, x);
        return outs;
    });
}

py::object bits_or_none(int b) { return b == fixed::SiteStats::kMissing ? py::none() : py::object(py::int_(b)); }

py::dict site_dict(const fixed::SiteStats &s) {
    py::dict d;
    d["casts"] = s.casts;
    d["rounded"] = s.rounded;
    d["saturated"] = s.saturated;
    d["wrapped"] = s.wrapped;
    d["changed"] = s.changed;
    d["outside"] = s.outside;
    d["min"] = s.casts ? py::object(py::float_(s.min)) : py::none();
    d["max"] = s.casts ? py::object(py::float_(s.max)) : py::none();
    d["pos_bits"] = bits_or_none(s.pos_bits);
    d["neg_bits"] = bits_or_none(s.neg_bits);
    d["lsb_bits"] = bits_or_none(s.lsb_bits);
    d["qpos_bits"] = bits_or_none(s.qpos_bits);
    d["qneg_bits"] = bits_or_none(s.qneg_bits);
    return d;
}

// ([tensor][site] statistics dicts (tensor 0: the input cast), output codes of the audited run), computed with
// the GIL released.
py::tuple audit(const graph::Model &m, const F64Array &x, int threads) {
    const size_t n = checked_events(m, x);
    std::vector<int64_t *> ptrs;
    auto codes = output_arrays(m, m.outputs(), n, ptrs);
    graph::Model::SiteTable table;
    {
        py::gil_scoped_release release;
        table = m.audit(x.data(), n, threads, ptrs);
    }
    std::vector<std::vector<py::dict>> out;
    for (const auto &sites : table) {
        out.emplace_back();
        for (const auto &s : sites) out.back().push_back(site_dict(s));
    }
    return py::make_tuple(out, codes);
}

// Integers stay integers (Python int or numpy integer), text stays text; anything else is refused here,
// naming the key, rather than as pybind's list of overloads.
std::map<std::string, layers::AttrValue> attr_values(const std::string &layer, const py::dict &attrs) {
    std::map<std::string, layers::AttrValue> out;
    for (const auto &[k, v] : attrs) {
        const std::string key = py::str(k);
        if (py::isinstance<py::str>(v))
            out[key] = v.cast<std::string>();
        else if (!py::isinstance<py::bool_>(v) && PyIndex_Check(v.ptr()))
            out[key] = py::int_(v.cast<py::object>()).cast<int64_t>();
        else
            throw std::invalid_argument("layer '" + layer + "': attribute '" + key + "' must be an integer or a string, got " +
                                        std::string(py::str(py::type::of(v).attr("__name__"))));
    }
    return out;
}

py::dict layer_schemas() {
    py::dict out;
    for (const auto &[kind, schema] : graph::schemas()) {
        py::dict attrs, arrays;
        for (const auto &a : schema->attrs) {
            py::dict decl;
            decl["type"] = layers::type_name(a.type);
            decl["required"] = a.required;
            if (a.fallback) std::visit([&](const auto &v) { decl["default"] = v; }, *a.fallback);
            attrs[py::str(a.name)] = decl;
        }
        for (const auto &a : schema->arrays) arrays[py::str(a.name)] = py::dict(py::arg("required") = a.required);
        out[py::str(kind)] = py::dict(py::arg("attrs") = attrs, py::arg("arrays") = arrays);
    }
    return out;
}

}  // namespace

PYBIND11_MODULE(_core, mod) {
    mod.doc() = "l1emu C++ core: runtime-typed ap_fixed arithmetic and hls4ml layer kernels";

    py::class_<Spec>(mod, "Spec")
        .def(py::init([](const std::string &text) { return fixed::parse_spec(text); }), py::arg("text"))
        .def_readonly("width", &Spec::width)
        .def_readonly("integer", &Spec::integer)
        .def_readonly("is_signed", &Spec::is_signed)
        .def_property_readonly("frac", &Spec::frac)
        .def_property_readonly("quantization", [](const Spec &s) { return fixed::qmode_name(s.q); })
        .def_property_readonly("overflow", [](const Spec &s) { return fixed::omode_name(s.o); })
        .def("__eq__", [](const Spec &a, const Spec &b) { return a == b; })
        .def("__str__", &fixed::spec_name)
        .def("__repr__", [](const Spec &s) { return "Spec('" + fixed::spec_name(s) + "')"; });

    mod.def("quantize", &quantize_values, py::arg("x"), py::arg("spec"),
            "Codes of float32 or float64 values assigned to the given type (ap_fixed's double constructor).");
    mod.def("to_double", &codes_to_doubles, py::arg("codes"), py::arg("spec"),
            "float64 values of codes (ap_fixed's to_double).");

    mod.def("ugt_shift", &ugt_shift, py::arg("x"), py::arg("offsets"), py::arg("shifts"), py::arg("unscaled"),
            "The uGT AXOL1TL input scaling: float64 values of (unscaled_t(x) - offset) >> shift; x float64 or int32 codes.");
    mod.def(
        "digitize",
        [](const py::array &x, double lsb, bool floor, int64_t lo, int64_t hi) {
            const menu::LinearUnit u = linear_unit(lsb, floor, lo, hi);
            return hardware_codes(x, 0, [&](auto *v, size_t n, int32_t *c) { menu::digitize(v, n, u, c); });
        },
        py::arg("x"), py::arg("lsb"), py::arg("floor"), py::arg("lo"), py::arg("hi"),
        "int32 codes clip(floor(x / lsb + 1e-9) or rint(x / lsb), lo, hi); ValueError on NaN.");
    mod.def(
        "digitize_phi",
        [](const py::array &x, double lsb, int64_t period) {
            check_phi(lsb, period);
            return hardware_codes(x, 0, [&](auto *v, size_t n, int32_t *c) { menu::digitize_phi(v, n, lsb, period, c); });
        },
        py::arg("x"), py::arg("lsb"), py::arg("period"), "int32 codes rint(phi / lsb) mod period; ValueError if not finite.");
    mod.def(
        "object_codes",
        [](const py::array &v, std::tuple<double, bool, int64_t, int64_t> pt,
           std::optional<std::tuple<double, bool, int64_t, int64_t>> eta, double phi_lsb, int64_t phi_period) {
            check_phi(phi_lsb, phi_period);
            const menu::LinearUnit p = std::apply(linear_unit, pt);
            if (!eta)
                return hardware_codes(v, 2, [&](auto *x, size_t n, int32_t *c) {
                    menu::met_codes(x, n, p, phi_lsb, phi_period, c);
                });
            const menu::LinearUnit e = std::apply(linear_unit, *eta);
            return hardware_codes(v, 3, [&](auto *x, size_t n, int32_t *c) {
                menu::object_codes(x, n, p, e, phi_lsb, phi_period, c);
            });
        },
        py::arg("v"), py::arg("pt"), py::arg("eta"), py::arg("phi_lsb"), py::arg("phi_period"),
        "int32 codes of objects (..., 3) (pt, eta, phi), or with eta None of MET (..., 2) (pt, phi); an object "
        "whose pt code is 0 has all codes 0. Units: (lsb, floor, lo, hi).");
    mod.def(
        "object_rows",
        [](const py::array &v, std::tuple<double, bool, int64_t, int64_t> pt,
           std::optional<std::tuple<double, bool, int64_t, int64_t>> eta, double phi_lsb, int64_t phi_period,
           py::array_t<int32_t, py::array::c_style> rows, size_t column) {
            check_phi(phi_lsb, phi_period);
            const menu::LinearUnit p = std::apply(linear_unit, pt);
            const std::optional<menu::LinearUnit> e =
                eta ? std::optional<menu::LinearUnit>(std::apply(linear_unit, *eta)) : std::nullopt;
            with_values(v, [&](const auto &a) {
                const bool met = !e;
                if (a.ndim() != (met ? 2 : 3) || a.shape(a.ndim() - 1) != (met ? 2 : 3))
                    throw std::invalid_argument(met ? "expected MET values of shape (n, 2)"
                                                    : "expected objects of shape (n, count, 3)");
                const size_t n = size_t(a.shape(0)), count = met ? 1 : size_t(a.shape(1));
                if (rows.ndim() != 2 || size_t(rows.shape(0)) != n || column + 3 * count > size_t(rows.shape(1)))
                    throw std::invalid_argument("rows: expected (n, width) int32 with room for 3 codes per object");
                const auto *src = a.data();
                int32_t *dst = rows.mutable_data();
                const size_t width = size_t(rows.shape(1));
                py::gil_scoped_release release;
                menu::object_rows(src, n, count, p, e ? &*e : nullptr, phi_lsb, phi_period, width, column, dst);
                return 0;
            });
        },
        py::arg("v"), py::arg("pt"), py::arg("eta"), py::arg("phi_lsb"), py::arg("phi_period"), py::arg("rows"),
        py::arg("column"),
        "object_codes written into int32 rows: each object as (pt, eta, phi) codes (MET's eta 0) from `column` on.");
    mod.def("eval_cuts", &eval_cuts, py::arg("code"), py::arg("constants"), py::arg("reg_width"), py::arg("results"),
            py::arg("fields"), py::arg("seeds"), py::arg("n"),
            "Compiled seed cuts (menu.expr.program) on a chunk: (len(results), n) decisions.");
    mod.def("set_thread_budget", &graph::set_thread_budget, py::arg("n"),
            "At most n threads evaluate at once in this process, over all emulators and calls.");
    mod.def("thread_budget", &graph::thread_budget, "The process-wide thread budget (L1EMU_THREADS or hardware threads).");

    mod.def("layer_schemas", &layer_schemas,
            "{kind: {'attrs': {name: {'type', 'required'[, 'default']}}, 'arrays': {name: {'required'}}}}: the "
            "declared schema of every layer kind, as the engine checks it.");

    py::class_<graph::Model>(mod, "Model")
        .def(py::init([](size_t n_inputs, const std::string &spec) {
                 return new graph::Model(n_inputs, fixed::parse_spec(spec));
             }),
             py::arg("n_inputs"), py::arg("input_spec"))
        .def(
            "add_layer",
            [](graph::Model &m, const std::string &name, const std::string &kind, const std::vector<int> &inputs,
               const std::vector<size_t> &shape, const std::string &spec, const py::dict &attrs,
               const std::map<std::string, I64Array> &arrays) {
                layers::LayerDesc d;
                d.name = name;
                d.kind = kind;
                d.inputs = inputs;
                d.shape = shape;
                d.spec = fixed::parse_spec(spec);
                d.attrs = attr_values(name, attrs);
                for (const auto &[key, a] : arrays)
                    d.arrays[key] = layers::Array{to_vec(a), std::vector<size_t>(a.shape(), a.shape() + a.ndim())};
                m.add(std::move(d));
            },
            py::arg("name"), py::arg("kind"), py::arg("inputs"), py::arg("shape"), py::arg("spec"), py::arg("attrs"),
            py::arg("arrays"))
        .def("set_outputs", &graph::Model::set_outputs, py::arg("tensor_ids"))
        .def_property_readonly("outputs", &graph::Model::outputs)
        .def_property_readonly("n_tensors", &graph::Model::n_tensors)
        .def("tensor_size", [](const graph::Model &m, int id) { return m.tensor(id).size; })
        .def("tensor_spec", [](const graph::Model &m, int id) { return m.tensor(id).spec; })
        .def("layer_ops", [](const graph::Model &m) {
            std::vector<size_t> ops;
            for (auto &l : m.layers()) ops.push_back(l->ops());
            return ops;
        })
        .def("layer_paths",
             [](const graph::Model &m) {
                 std::vector<std::string> paths;
                 for (auto &l : m.layers()) paths.push_back(l->path());
                 return paths;
             })
        .def("layer_sites",
             [](const graph::Model &m) {
                 std::vector<std::vector<py::dict>> out;
                 for (auto &l : m.layers()) {
                     out.emplace_back();
                     for (const auto &site : l->sites())
                         out.back().push_back(py::dict(py::arg("name") = site.name, py::arg("type") = site.type,
                                                       py::arg("spec") = fixed::spec_name(site.spec),
                                                       py::arg("table_size") = site.table_size));
                 }
                 return out;
             })
        .def("audit", &audit, py::arg("x"), py::arg("threads") = 0,
             "Precision audit: ([tensor][site] cast statistics (tensor 0: the input cast; layer sites: layer_sites()), "
             "[output codes of the audited run]).")
        .def(
            "run",
            [](const graph::Model &m, const py::array &x, int threads, bool check_finite) {
                return run(m, x, threads, false, check_finite);
            },
            py::arg("x"), py::arg("threads") = 0, py::arg("check_finite") = false)
        .def("run_values", &run_values, py::arg("x"), py::arg("threads") = 0, py::arg("check_finite") = false,
             "The outputs as float64 values (predict), converted per block.")
        .def(
            "run_all",
            [](const graph::Model &m, const py::array &x, int threads, bool check_finite) {
                return run(m, x, threads, true, check_finite);
            },
            py::arg("x"), py::arg("threads") = 0, py::arg("check_finite") = false);
    py::register_exception<NonFiniteInput>(mod, "NonFiniteInput", PyExc_ValueError);
}
