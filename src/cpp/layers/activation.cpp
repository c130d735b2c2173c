#include "activation.h"

#include <algorithm>
#include <stdexcept>

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::value_of;

namespace {

Activation::Fn parse_fn(const LayerDesc &d) {
    using Fn = Activation::Fn;
    const std::string &fn = d.attr("activation");
    if (fn == "linear") return Fn::Linear;
    if (fn == "relu") return Fn::ReLU;
    if (fn == "leaky_relu") return Fn::LeakyReLU;
    if (fn == "thresholded_relu") return Fn::ThresholdedReLU;
    if (fn == "prelu") return Fn::PReLU;
    if (fn == "hard_sigmoid") return Fn::HardSigmoid;
    if (fn == "hard_tanh") return Fn::HardTanh;
    if (fn == "binary_tanh") return Fn::BinaryTanh;
    if (fn == "ternary_tanh") return Fn::TernaryTanh;
    d.fail("unsupported activation '" + fn + "'");
}

// a * 2^-fa compared with b * 2^-fb: -1, 0, +1 (exact; callers keep the shifted values inside 120 bits).
inline int compare(i128 a, int fa, i128 b, int fb) {
    if (fa < fb) a <<= (fb - fa);
    else b <<= (fa - fb);
    return a < b ? -1 : (a > b ? 1 : 0);
}

}  // namespace

Activation::Activation(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()), in_(d.input_info.at(0)), fn_(parse_fn(d)) {
    if (in_.size != out.size) d.fail("input and output sizes differ");
    switch (fn_) {
        case Fn::LeakyReLU:
        case Fn::ThresholdedReLU:
            param_t_ = d.spec_attr("param_t");
            param_ = d.int_attr("param");
            break;
        case Fn::PReLU:
            param_t_ = d.spec_attr("param_t");
            alpha_ = d.array("alpha").data;
            if (alpha_.size() != in_.size) d.fail("alpha has " + std::to_string(alpha_.size()) + " values, expected " +
                                                  std::to_string(in_.size));
            break;
        case Fn::HardSigmoid:
        case Fn::HardTanh:
            param_t_ = d.spec_attr("slope_t");
            param_ = d.int_attr("slope");
            shift_t_ = d.spec_attr("shift_t");
            shift_ = d.int_attr("shift");
            break;
        case Fn::BinaryTanh:
            xnor_ = d.int_attr("xnor") != 0;
            break;
        case Fn::TernaryTanh: {
            const std::string &io = d.attr("io_type");
            if (io != "io_parallel" && io != "io_stream") d.fail("io_type must be io_parallel or io_stream");
            stream_ = io == "io_stream";
            break;
        }
        default:
            break;
    }
    if (in_.spec.width + param_t_.width + std::abs(in_.spec.frac() + param_t_.frac() - shift_t_.frac()) + 4 > 120)
        d.fail("types too wide for exact products");
    pos_ = quantize(1, 0, out.spec);
    neg_ = quantize(-1, 0, out.spec);
    if (mac::engine_override() != "reference" && (fn_ == Fn::Linear || fn_ == Fn::ReLU) && fixed::fits_int64(in_.spec) &&
        mac::requant_ok(in_.spec.frac(), in_.spec.width, out.spec)) {
        vec_ = true;
        to_out_ = mac::Requant(in_.spec.frac(), out.spec, 64);
    }
    copy_ = fn_ == Fn::ReLU ? fixed::codes_preserved(in_.spec, out.spec, 0, std::max<fixed::i128>(0, in_.spec.max_code()))
                            : fixed::codes_preserved(in_.spec, out.spec);
}

void Activation::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    const size_t total = n * out.size;
    const int64_t *x = in[0];
    if (fn_ == Fn::Linear || fn_ == Fn::ReLU) {
        const bool relu = fn_ == Fn::ReLU;
        if (copy_) {
            if (relu)
                for (size_t k = 0; k < total; ++k) out_codes[k] = std::max<int64_t>(x[k], 0);
            else
                std::copy(x, x + total, out_codes);
            return;
        }
        if (vec_) {
            mac::requant_array(x, total, to_out_, relu, out_codes);
            return;
        }
    }
    forward_scalar(x, out_codes, n, fixed::Fast{});
}

std::vector<CastSite> Activation::sites() const { return {{"result", "result_t", out.spec}}; }

void Activation::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in[0], out_codes, n, fixed::Count{stats});
}

// Element-wise, one cast to res_t per value (site 0); constant results (relu's 0, the tanh levels) are not casts.
template <class Cast>
void Activation::forward_scalar(const int64_t *x, int64_t *out_codes, size_t n, const Cast &cast) const {
    const size_t total = n * out.size;
    const Spec &ds = in_.spec;
    const int f = ds.frac(), fp = param_t_.frac();
    const i128 p = value_of(param_, param_t_);
    switch (fn_) {
        case Fn::Linear:
        case Fn::ReLU: {
            const bool relu = fn_ == Fn::ReLU;
            for (size_t k = 0; k < total; ++k) {
                const i128 v = value_of(x[k], ds);
                out_codes[k] = (relu && v <= 0) ? 0 : cast(0, v, f, out.spec);
            }
            return;
        }
        case Fn::LeakyReLU:
            for (size_t k = 0; k < total; ++k) {
                const i128 v = value_of(x[k], ds);
                out_codes[k] = v > 0 ? cast(0, v, f, out.spec) : cast(0, p * v, fp + f, out.spec);
            }
            return;
        case Fn::ThresholdedReLU:
            for (size_t k = 0; k < total; ++k) {
                const i128 v = value_of(x[k], ds);
                out_codes[k] = compare(v, f, p, fp) > 0 ? cast(0, v, f, out.spec) : 0;
            }
            return;
        case Fn::PReLU:
            for (size_t e = 0; e < n; ++e)
                for (size_t i = 0; i < out.size; ++i) {
                    const size_t k = e * out.size + i;
                    const i128 v = value_of(x[k], ds);
                    out_codes[k] = v > 0 ? cast(0, v, f, out.spec)
                                         : cast(0, value_of(alpha_[i], param_t_) * v, fp + f, out.spec);
                }
            return;
        case Fn::HardSigmoid:
        case Fn::HardTanh: {
            // slope * data + shift at a common LSB 2^-F (F >= 0 so that 1 is an integer there).
            const int fsh = shift_t_.frac();
            const int F = std::max({fp + f, fsh, 0});
            const i128 sh = value_of(shift_, shift_t_) << (F - fsh), one = i128(1) << F;
            const bool tanh = fn_ == Fn::HardTanh;
            for (size_t k = 0; k < total; ++k) {
                i128 v = ((p * value_of(x[k], ds)) << (F - fp - f)) + sh;
                if (v > one) v = one;
                else if (v < 0) v = 0;
                out_codes[k] = cast(0, tanh ? 2 * v - one : v, F, out.spec);
            }
            return;
        }
        case Fn::BinaryTanh:
            for (size_t k = 0; k < total; ++k) {
                const bool nonneg = value_of(x[k], ds) >= 0;
                out_codes[k] = xnor_ ? (nonneg ? 1 : 0) : (nonneg ? pos_ : neg_);
            }
            return;
        case Fn::TernaryTanh:
            for (size_t k = 0; k < total; ++k) {
                i128 v = value_of(x[k], ds);
                if (!stream_) v = value_of(quantize(2 * v, f, ds), ds);  // datareg = 2 * data[ii] (data_T)
                if (compare(v, f, 1, 0) > 0) out_codes[k] = pos_;
                else if (compare(v, f, -1, 0) <= 0) out_codes[k] = neg_;
                else out_codes[k] = zero_;
            }
            return;
    }
}

std::unique_ptr<Layer> make_activation(const LayerDesc &d) { return std::make_unique<Activation>(d); }

const Schema &activation_schema() {
    static const Schema s{
        {required("activation", AttrType::Str),
         optional("param_t", AttrType::Spec), optional("param", AttrType::Int),  // leaky/thresholded relu, prelu
         optional("slope_t", AttrType::Spec), optional("slope", AttrType::Int),  // hard sigmoid/tanh
         optional("shift_t", AttrType::Spec), optional("shift", AttrType::Int),
         int_default("xnor", 0),                 // binary_tanh with an ap_uint<1> result
         str_default("io_type", "io_parallel")},  // ternary_tanh differs between io types
        {{"alpha", false}}};                    // prelu
    return s;
}

}  // namespace l1emu::layers
