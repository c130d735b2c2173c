#include "activation_lut.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::value_of;

int32_t mul_div_to_int(i128 v, int frac, long long mult, long long div) {
    const i128 q = v * i128(mult) / i128(div);  // sdiv/udiv of the raw codes: toward zero
    i128 r;
    if (frac <= -32) {
        r = 0;  // the integer part's low 32 bits are all below the type's LSB
    } else if (frac <= 0) {
        r = i128((unsigned __int128)q << (-frac));  // only the low 32 bits are kept below
    } else if (frac >= 127) {
        r = 0;
    } else {
        r = q >= 0 ? q >> frac : -((-q) >> frac);  // to_ap_int_base(Cnative): toward zero
    }
    return int32_t(uint32_t(uint64_t(r)));
}

namespace {

LUTActivation::Fn parse_fn(const LayerDesc &d) {
    const std::string &fn = d.attr("activation");
    if (fn == "sigmoid") return LUTActivation::Fn::Sigmoid;
    if (fn == "tanh") return LUTActivation::Fn::Tanh;
    if (fn == "softplus") return LUTActivation::Fn::Softplus;
    if (fn == "softsign") return LUTActivation::Fn::Softsign;
    if (fn == "elu") return LUTActivation::Fn::ELU;
    if (fn == "selu") return LUTActivation::Fn::SELU;
    d.fail("unsupported lookup-table activation '" + fn + "'");
}

// The init_*_table loops of nnet_activation.h, expression for expression (float/double promotions matter).
inline float sigmoid_fcn_float(float input) { return 1.0 / (1 + std::exp(-input)); }
inline float softplus_fcn_float(float input) { return std::log(std::exp(input) + 1.); }
inline float softsign_fcn_float(float input) { return input / (std::abs(input) + 1.); }
inline float elu_fcn_float(float input) { return std::exp(input) - 1.; }
inline float selu_fcn_float(float input) {
    return 1.0507009873554804934193349852946 * (1.6732632423543772848170429916717 * (std::exp(input) - 1.));
}

float table_value(LUTActivation::Fn fn, int ii, int n_table) {
    using Fn = LUTActivation::Fn;
    switch (fn) {
        case Fn::Tanh: {
            float in_val = 2 * 4.0 * (ii - float(n_table) / 2.0) / float(n_table);
            return std::tanh(in_val);  // the float overload, as <math.h> brings it into nnet's scope
        }
        case Fn::ELU:
        case Fn::SELU: {
            float in_val = -8.0 * ii / float(n_table);
            return fn == Fn::ELU ? elu_fcn_float(in_val) : selu_fcn_float(in_val);
        }
        default: {
            float in_val = 2 * 8.0 * (ii - float(n_table) / 2.0) / float(n_table);
            if (fn == Fn::Sigmoid) return sigmoid_fcn_float(in_val);
            if (fn == Fn::Softplus) return softplus_fcn_float(in_val);
            return softsign_fcn_float(in_val);
        }
    }
}

}  // namespace

LUTActivation::LUTActivation(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()),
      in_(d.input_info.at(0)),
      fn_(parse_fn(d)),
      table_size_(d.int_attr("table_size")),
      table_t_(d.spec_attr("table_t")) {
    if (in_.size != out.size) d.fail("input and output sizes differ");
    if (table_size_ < 1 || table_size_ > (1 << 24)) d.fail("table_size must be in 1..2^24");
    const std::string &io = d.attr("io_type");
    if (io != "io_parallel" && io != "io_stream") d.fail("io_type must be io_parallel or io_stream");
    stream_ = io == "io_stream";
    if (in_.spec.width + 33 > 120) d.fail("input too wide for the exact index computation");
    table_.resize(size_t(table_size_));
    for (int ii = 0; ii < int(table_size_); ++ii)
        table_[size_t(ii)] = fixed::from_double(double(table_value(fn_, ii, int(table_size_))), table_t_);
    // One result per table entry: the cast table_t -> res_t is done once.
    res_.resize(table_.size());
    for (size_t i = 0; i < table_.size(); ++i) res_[i] = quantize(value_of(table_[i], table_t_), table_t_.frac(), out.spec);
    if (fn_ == Fn::ELU) {
        param_t_ = d.spec_attr("param_t");
        param_ = d.int_attr("param");
        if (param_t_.width + table_t_.width > 120) d.fail("alpha and table widths too large for exact products");
    } else if (fn_ == Fn::SELU) {
        // io_parallel: static const ap_ufixed<16,1> lambda = 1.0507009873554805;
        // io_stream: (data_T::value_type)1.0507009873554804934193349852946 * datareg.
        param_t_ = stream_ ? in_.spec : fixed::parse_spec("ufixed<16,1>");
        param_ = fixed::from_double(1.0507009873554804934193349852946, param_t_);
        if (param_t_.width + in_.spec.width > 120) d.fail("input too wide for exact products");
    }
}

// Site 0 sees the index as an exact value (x * table_size / div + offset) against the table's 0..n-1.
template <class Cast>
int64_t LUTActivation::table_index(int64_t code, const Cast &cast) const {
    const long long ts = table_size_;
    const uint32_t last = uint32_t(ts - 1);
    const i128 v = value_of(code, in_.spec);
    const int f = in_.spec.frac();
    if (fn_ == Fn::ELU || fn_ == Fn::SELU) {
        int32_t index = mul_div_to_int(v, f, ts, -8);
        if (Cast::counting) cast.index(0, -v * ts, f + 3, index, ts);
        // selu io_parallel clamps negatives to 0; elu and selu io_stream only compare (as unsigned) to the top.
        if (fn_ == Fn::SELU && !stream_ && index < 0) return 0;
        return uint32_t(index) > last ? last : index;
    }
    const long long div = fn_ == Fn::Tanh ? 8 : 16;
    const uint32_t offset = uint32_t((div / 2) * uint32_t(ts) / uint32_t(div));  // unsigned arithmetic
    const int32_t data_round = mul_div_to_int(v, f, ts, div);
    int32_t index = int32_t(uint32_t(data_round) + offset);
    if (Cast::counting) {  // exact index = (v * ts + offset * div * 2^f) * 2^-(f + log2 div), at a non-negative LSB
        const int F = f + (div == 8 ? 3 : 4), G = std::max(F, 0);
        cast.index(0, ((v * ts) << (G - F)) + (i128(offset) << G), G, index, ts);
    }
    if (index < 0) index = 0;
    if (uint32_t(index) > last) index = int32_t(last);
    return index;
}

void LUTActivation::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    if (fn_ == Fn::ELU || fn_ == Fn::SELU) {
        forward_scalar(in[0], out_codes, n, fixed::Fast{});
        return;
    }
    const int64_t *x = in[0];
    const fixed::Fast fast;
    for (size_t k = 0, total = n * out.size; k < total; ++k) out_codes[k] = res_[size_t(table_index(x[k], fast))];
}

std::vector<CastSite> LUTActivation::sites() const {
    CastSite index{"table_index", "table_size", fixed::parse_spec("ufixed<32,32>"), table_size_};
    if (fn_ == Fn::ELU || fn_ == Fn::SELU)
        return {index, {"table_value", "result_t", out.spec}, {"linear", "result_t", out.spec}};
    return {index, {"table_value", "result_t", out.spec}};
}

void LUTActivation::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in[0], out_codes, n, fixed::Count{stats});
}

// Sites: 0 the table index, 1 the table entry (times elu's alpha) cast to res_t, 2 elu/selu's x >= 0 branch.
template <class Cast>
void LUTActivation::forward_scalar(const int64_t *x, int64_t *out_codes, size_t n, const Cast &cast) const {
    const size_t total = n * out.size;
    const Spec &ds = in_.spec;
    if (fn_ != Fn::ELU && fn_ != Fn::SELU) {
        for (size_t k = 0; k < total; ++k) {
            const int64_t t = table_[size_t(table_index(x[k], cast))];
            out_codes[k] = cast(1, value_of(t, table_t_), table_t_.frac(), out.spec);
        }
        return;
    }
    const i128 p = value_of(param_, param_t_);
    for (size_t k = 0; k < total; ++k) {
        const i128 v = value_of(x[k], ds);
        if (v >= 0) {
            out_codes[k] = fn_ == Fn::ELU ? cast(2, v, ds.frac(), out.spec)
                                          : cast(2, p * v, param_t_.frac() + ds.frac(), out.spec);
        } else {
            const int64_t t = table_[size_t(table_index(x[k], cast))];
            out_codes[k] = fn_ == Fn::ELU ? cast(1, p * value_of(t, table_t_), param_t_.frac() + table_t_.frac(), out.spec)
                                          : cast(1, value_of(t, table_t_), table_t_.frac(), out.spec);
        }
    }
}

std::unique_ptr<Layer> make_lut_activation(const LayerDesc &d) { return std::make_unique<LUTActivation>(d); }

const Schema &lut_activation_schema() {
    static const Schema s{{required("activation", AttrType::Str), required("table_size", AttrType::Int),
                           required("table_t", AttrType::Spec), str_default("io_type", "io_parallel"),
                           optional("param_t", AttrType::Spec), optional("param", AttrType::Int)},  // elu's alpha
                          {}};
    return s;
}

}  // namespace l1emu::layers
