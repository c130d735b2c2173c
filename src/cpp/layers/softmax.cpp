#include "softmax.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "activation_lut.h"
#include "mac_lanes.h"

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::value_of;

namespace {

Softmax::Impl parse_impl(const LayerDesc &d) {
    const std::string &s = d.attr("implementation");
    if (s == "latency") return Softmax::Impl::Latency;
    if (s == "stable") return Softmax::Impl::Stable;
    if (s == "legacy") return Softmax::Impl::Legacy;
    if (s == "argmax") return Softmax::Impl::Argmax;
    d.fail("unknown softmax implementation '" + s + "' (latency, stable, legacy, argmax)");
}

// nnet_helpers.h
constexpr int ceillog2(int x) { return (x <= 2) ? 1 : 1 + ceillog2((x + 1) / 2); }
constexpr int floorlog2(int x) { return (x < 2) ? 0 : 1 + floorlog2(x / 2); }

// softmax_idx_from_real_val: the top n bits of the code, as unsigned.
inline size_t top_bits(int64_t code, const Spec &s, int n) {
    const uint64_t bits = s.width < 64 ? uint64_t(code) & ((uint64_t(1) << s.width) - 1) : uint64_t(code);
    return size_t(bits >> (s.width - n));
}

// softmax_real_val_from_idx: x(x.width - 1, x.width - N) = i; return (float)x.
inline float real_val_from_idx(size_t i, const Spec &s, int n) {
    return float(fixed::to_double(fixed::wrap_bits(uint64_t(i) << (s.width - n), s), s));
}

size_t table_size_attr(const LayerDesc &d, const char *key, const Spec &addr, bool sliced) {
    const long long n = d.int_attr(key);
    if (n < 1 || n > (1 << 24)) d.fail(std::string(key) + " must be in 1..2^24");
    if (sliced) {
        // The firmware addresses the table with the top ceillog2(n) bits of a value: other sizes (or more
        // address bits than the value has) read outside the table, which has no defined result.
        if ((n & (n - 1)) != 0)
            d.fail(std::string(key) + " = " + std::to_string(n) + " is not a power of two (the firmware would read "
                   "outside its table)");
        if (ceillog2(int(n)) > addr.width)
            d.fail(std::string(key) + " = " + std::to_string(n) + " needs more address bits than " +
                   fixed::spec_name(addr) + " has");
    }
    return size_t(n);
}

}  // namespace

Softmax::Softmax(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()),
      in_(d.input_info.at(0)),
      impl_(parse_impl(d)),
      n_slice_(size_t(d.int_attr("n_slice"))),
      n_outer_(size_t(d.int_attr("n_outer"))),
      n_inner_(size_t(d.int_attr("n_inner"))) {
    if (in_.size != out.size) d.fail("input and output sizes differ");
    if (n_slice_ == 0 || n_slice_ * n_outer_ * n_inner_ != in_.size)
        d.fail("n_slice * n_outer * n_inner must equal the input size");
    if (impl_ == Impl::Argmax) {
        one_res_ = quantize(1, 0, out.spec);
        return;
    }
    if (impl_ == Impl::Legacy) {
        exp_t_ = inv_t_ = d.spec_attr("table_t");
        exp_size_ = table_size_attr(d, "exp_table_size", exp_t_, false);
        inv_size_ = table_size_attr(d, "inv_table_size", inv_t_, false);
        if (in_.spec.width + 34 > 120 || exp_t_.width + 34 > 120) d.fail("types too wide for the index computation");
        exp_table_.resize(exp_size_);
        for (int ii = 0; ii < int(exp_size_); ++ii) {  // init_exp_table_legacy
            float in_val = 2 * 8.0 * (ii - float(exp_size_) / 2.0) / float(exp_size_);
            exp_table_[size_t(ii)] = fixed::from_double(double(std::exp(in_val)), exp_t_);
        }
        inv_table_.resize(inv_size_);
        for (int ii = 0; ii < int(inv_size_); ++ii) {  // init_invert_table_legacy
            float in_val = 64.0 * ii / float(inv_size_);
            inv_table_[size_t(ii)] = in_val > 0.0 ? fixed::from_double(1.0 / in_val, inv_t_) : 0;
        }
        one_res_ = quantize(1, 0, exp_t_);
        return;
    }
    exp_t_ = d.spec_attr("exp_table_t");
    inv_t_ = d.spec_attr("inv_table_t");
    accum_t_ = d.spec_attr("accum_t");
    inv_inp_t_ = d.spec_attr("inv_inp_t");
    const bool stable = impl_ == Impl::Stable;
    if (stable) norm_t_ = d.spec_attr("inp_norm_t");
    const Spec &exp_addr = stable ? norm_t_ : in_.spec;
    exp_size_ = table_size_attr(d, "exp_table_size", exp_addr, true);
    inv_size_ = table_size_attr(d, "inv_table_size", inv_inp_t_, true);
    exp_bits_ = ceillog2(int(exp_size_));
    inv_bits_ = ceillog2(int(inv_size_));
    if (accum_t_.width + inv_t_.width > 120) d.fail("accum_t and inv_table_t too wide for exact products");
    float exp_scale;
    try {
        exp_scale = float(std::stod(d.attr("exp_scale")));  // static constexpr float exp_scale = <literal>;
    } catch (const std::logic_error &) {
        d.fail("exp_scale '" + d.attr("exp_scale") + "' is not a number");
    }
    exp_table_.resize(exp_size_);
    exp_acc_.resize(exp_size_);
    for (size_t i = 0; i < exp_size_; ++i) {  // init_exp_table<data_T or inp_norm_t>(table, negative = stable)
        float x = real_val_from_idx(i, exp_addr, exp_bits_) * exp_scale;
        if (stable) x = -x;
        exp_table_[i] = fixed::from_double(double(std::exp(x)), exp_t_);
        exp_acc_[i] = quantize(value_of(exp_table_[i], exp_t_), exp_t_.frac(), accum_t_);
    }
    inv_table_.resize(inv_size_);
    for (size_t i = 0; i < inv_size_; ++i) {  // init_invert_table<inv_inp_t>
        float x = real_val_from_idx(i, inv_inp_t_, inv_bits_);
        inv_table_[i] = fixed::from_double(double(1 / x), inv_t_);
    }
    if (mac::engine_override() != "reference") plan_lanes();
}

// Every lane value is a code of a type that fits int64 (width <= 62), or a sum of two, or (the result) a
// product of an accum_t and an inv_table_t code, below 2^62; each cast is Requant-exact on those bounds.
void Softmax::plan_lanes() {
    const Spec &ds = in_.spec;
    const bool stable = impl_ == Impl::Stable;
    for (const Spec *s : std::initializer_list<const Spec *>{&ds, &accum_t_, &inv_inp_t_, &inv_t_, &out.spec, stable ? &norm_t_ : &ds})
        if (!fixed::fits_int64(*s) || s->width > 62) return;
    const int fa = accum_t_.frac(), fi = inv_t_.frac();
    if (stable && !mac::requant_ok(ds.frac(), ds.width + 1, norm_t_)) return;
    if (!mac::requant_ok(fa, accum_t_.width + 1, accum_t_) || !mac::requant_ok(fa, accum_t_.width, inv_inp_t_) ||
        accum_t_.width + inv_t_.width > 62 || !mac::requant_ok(fa + fi, accum_t_.width + inv_t_.width, out.spec))
        return;
    if (stable) to_norm_ = mac::Requant(ds.frac(), norm_t_, 64);
    to_sum_ = mac::Requant(fa, accum_t_, 64);
    to_inv_inp_ = mac::Requant(fa, inv_inp_t_, 64);
    to_res_ = mac::Requant(fa + fi, out.spec, 64);
    lanes_ = true;
}

namespace {
enum { kExpIndex, kExpValue, kSum, kInvInput, kInvIndex, kResult, kNorm };  // latency/stable sites
enum { kLegacyExpIndex, kLegacySum, kLegacyInvIndex, kLegacyResult };       // legacy sites

// The top-n-bits table address of a code, as a table index (site statistics: the bits below are dropped).
template <class Cast>
size_t top_index(int64_t code, const Spec &s, int n, int site, const Cast &cast) {
    const size_t index = top_bits(code, s, n);
    if (Cast::counting) {
        const uint64_t bits = s.width < 64 ? uint64_t(code) & ((uint64_t(1) << s.width) - 1) : uint64_t(code);
        cast.index(site, i128(bits), s.width - n, int64_t(index), int64_t(1) << n);
    }
    return index;
}

// The sigmoid-style index of the legacy tables: int(v * 2^-f * size / div) (+ offset), clamped to 0..size-1.
template <class Cast>
int32_t legacy_index(i128 v, int f, size_t size, long long div, uint32_t offset, int site, const Cast &cast) {
    const int32_t data_round = mul_div_to_int(v, f, (long long)size, div);
    int32_t index = int32_t(uint32_t(data_round) + offset);
    if (Cast::counting) {
        const int F = f + (div == 16 ? 4 : 6), G = std::max(F, 0);
        cast.index(site, ((v * i128(size)) << (G - F)) + (i128(offset) << G), G, index, int64_t(size));
    }
    if (index < 0) index = 0;
    if (uint32_t(index) > uint32_t(size - 1)) index = int32_t(size - 1);
    return index;
}
}  // namespace

std::vector<CastSite> Softmax::sites() const {
    switch (impl_) {
        case Impl::Argmax: return {{"result", "result_t", out.spec}};
        case Impl::Legacy:
            return {{"exp_index", "table_size", exp_t_, int64_t(exp_size_)}, {"exp_sum", "table_t", exp_t_},
                    {"inv_index", "table_size", exp_t_, int64_t(inv_size_)}, {"result", "result_t", out.spec}};
        default: {
            std::vector<CastSite> s{{"exp_index", "table_size", exp_t_, int64_t(exp_size_)},
                                    {"exp_value", "accum_t", accum_t_},
                                    {"accum", "accum_t", accum_t_},
                                    {"inv_input", "inv_inp_t", inv_inp_t_},
                                    {"inv_index", "table_size", inv_inp_t_, int64_t(inv_size_)},
                                    {"result", "result_t", out.spec}};
            if (impl_ == Impl::Stable) s.push_back({"norm", "inp_norm_t", norm_t_});
            return s;
        }
    }
}

// reduce<accum_t, N, Op_add<accum_t>>: balanced tree, every partial sum assigned to accum_t.
template <class Cast>
int64_t Softmax::reduce_sum(const int64_t *v, size_t n, const Cast &cast) const {
    if (n == 1) return v[0];
    const int fa = accum_t_.frac();
    if (n == 2) return cast(kSum, value_of(v[0], accum_t_) + value_of(v[1], accum_t_), fa, accum_t_);
    const size_t left = size_t(1) << floorlog2(int(n - 1));
    const int64_t a = reduce_sum(v, left, cast), b = reduce_sum(v + left, n - left, cast);
    return cast(kSum, value_of(a, accum_t_) + value_of(b, accum_t_), fa, accum_t_);
}

template <class Cast>
void Softmax::slice(const int64_t *x, int64_t *y, size_t stride, std::vector<int64_t> &tmp, const Cast &cast) const {
    const size_t n = n_slice_;
    const Spec &ds = in_.spec;
    if (impl_ == Impl::Argmax) {
        size_t idx = 0;
        i128 best = value_of(x[0], ds);
        for (size_t i = 1; i < n; ++i) {
            const i128 v = value_of(x[i * stride], ds);
            if (v > best) best = v, idx = i;
        }
        for (size_t i = 0; i < n; ++i) y[i * stride] = i == idx ? one_res_ : zero_res_;
        return;
    }
    if (impl_ == Impl::Legacy) {
        const int f = ds.frac(), ft = exp_t_.frac();
        const uint32_t offset = uint32_t(8 * uint32_t(exp_size_) / 16);
        for (size_t i = 0; i < n; ++i) {
            int64_t acc = 0;
            const i128 xi = value_of(x[i * stride], ds);
            for (size_t j = 0; j < n; ++j) {
                int64_t diff = one_res_;
                if (i != j)
                    diff = exp_table_[size_t(legacy_index(value_of(x[j * stride], ds) - xi, f, exp_size_, 16, offset,
                                                          kLegacyExpIndex, cast))];
                acc = cast(kLegacySum, value_of(acc, exp_t_) + value_of(diff, exp_t_), ft, exp_t_);
            }
            const int32_t index = legacy_index(value_of(acc, exp_t_), ft, inv_size_, 64, 0, kLegacyInvIndex, cast);
            y[i * stride] = cast(kLegacyResult, value_of(inv_table_[size_t(index)], inv_t_), inv_t_.frac(), out.spec);
        }
        return;
    }
    // exp_res[i] = (accum_t)exp_table[address]: exp_acc_ holds the casts (counted when auditing).
    auto exp_value = [&](size_t address) {
        return Cast::counting ? cast(kExpValue, value_of(exp_table_[address], exp_t_), exp_t_.frac(), accum_t_)
                              : exp_acc_[address];
    };
    if (impl_ == Impl::Latency) {
        for (size_t i = 0; i < n; ++i) tmp[i] = exp_value(top_index(x[i * stride], ds, exp_bits_, kExpIndex, cast));
    } else {
        i128 x_max = value_of(x[0], ds);
        for (size_t i = 1; i < n; ++i) x_max = std::max(x_max, value_of(x[i * stride], ds));
        for (size_t i = 0; i < n; ++i) {
            const int64_t d = cast(kNorm, x_max - value_of(x[i * stride], ds), ds.frac(), norm_t_);
            tmp[i] = exp_value(top_index(d, norm_t_, exp_bits_, kExpIndex, cast));
        }
    }
    const int64_t sum = cast(kInvInput, value_of(reduce_sum(tmp.data(), n, cast), accum_t_), accum_t_.frac(), inv_inp_t_);
    const i128 inv = value_of(inv_table_[top_index(sum, inv_inp_t_, inv_bits_, kInvIndex, cast)], inv_t_);
    const int fp = accum_t_.frac() + inv_t_.frac();
    for (size_t i = 0; i < n; ++i) y[i * stride] = cast(kResult, value_of(tmp[i], accum_t_) * inv, fp, out.spec);
}

namespace {

constexpr size_t kLanes = 256;  // events per lane block

// y[e] = table[top n bits of the width-bit code x[e * xs]] (softmax_idx_from_real_val).
L1EMU_CLONES void lookup_top_bits(const int64_t *x, size_t xs, size_t n, const Spec &s, int bits,
                                  const int64_t *table, int64_t *y) {
    const uint64_t mask = (uint64_t(1) << s.width) - 1;
    const int shift = s.width - bits;
    for (size_t e = 0; e < n; ++e) y[e] = table[(uint64_t(x[e * xs]) & mask) >> shift];
}

enum class LaneOp { Add, Sub, Mul };  // a + b, b - a, a * b

// y[e * ys] = requant(a[e * as] op b[e]).
template <LaneOp Op>
struct LaneCast {
    const int64_t *a;
    size_t as;
    const int64_t *b;
    size_t n;
    const mac::Requant &r;
    int64_t *y;
    size_t ys;
    template <mac::QMode Q, mac::OMode O>
    L1EMU_AI void operator()() const {
        const mac::Requant rr = r;
        for (size_t e = 0; e < n; ++e) {
            const int64_t u = a[e * as], v = b[e];
            const int64_t w = Op == LaneOp::Add ? u + v : Op == LaneOp::Sub ? v - u : u * v;
            y[e * ys] = mac::requant<Q, O, int64_t>(w, rr);
        }
    }
};

template <LaneOp Op>
L1EMU_CLONES void lane_cast(const int64_t *a, size_t as, const int64_t *b, size_t n, const mac::Requant &r,
                            int64_t *y, size_t ys) {
    mac::with_modes(r.q, r.o, LaneCast<Op>{a, as, b, n, r, y, ys});
}

}  // namespace

// reduce<accum_t, N, Op_add<accum_t>> on lanes: v holds n_terms rows of kLanes accum_t codes.
void Softmax::reduce_lanes(const int64_t *v, size_t n_terms, size_t n, int64_t *sum) const {
    if (n_terms == 1) {
        std::copy(v, v + n, sum);
        return;
    }
    if (n_terms == 2) return lane_cast<LaneOp::Add>(v, 1, v + kLanes, n, to_sum_, sum, 1);
    const size_t left = size_t(1) << floorlog2(int(n_terms - 1));
    int64_t a[kLanes], b[kLanes];
    reduce_lanes(v, left, n, a);
    reduce_lanes(v + left * kLanes, n_terms - left, n, b);
    lane_cast<LaneOp::Add>(a, 1, b, n, to_sum_, sum, 1);
}

void Softmax::forward_lanes(const int64_t *x0, int64_t *y0, size_t n) const {
    const size_t size = out.size, ns = n_slice_;
    const bool stable = impl_ == Impl::Stable;
    std::vector<int64_t> exp_res(ns * kLanes);  // [slice element][lane]
    int64_t top[kLanes], sum[kLanes], inv[kLanes];
    for (size_t e0 = 0; e0 < n; e0 += kLanes) {
        const size_t m = std::min(kLanes, n - e0);
        for (size_t o = 0; o < n_outer_; ++o)
            for (size_t k = 0; k < n_inner_; ++k) {
                const size_t base = o * ns * n_inner_ + k;
                const int64_t *x = x0 + e0 * size + base;
                int64_t *y = y0 + e0 * size + base;
                if (stable) {  // exp(-(inp_norm_t)(max - x_i)); unsigned codes are below 2^62: same order
                    for (size_t e = 0; e < m; ++e) top[e] = x[e * size];
                    for (size_t i = 1; i < ns; ++i)
                        for (size_t e = 0; e < m; ++e) top[e] = std::max(top[e], x[e * size + i * n_inner_]);
                    for (size_t i = 0; i < ns; ++i) {
                        int64_t *d = exp_res.data() + i * kLanes;
                        lane_cast<LaneOp::Sub>(x + i * n_inner_, size, top, m, to_norm_, d, 1);
                        lookup_top_bits(d, 1, m, norm_t_, exp_bits_, exp_acc_.data(), d);
                    }
                } else {
                    for (size_t i = 0; i < ns; ++i)
                        lookup_top_bits(x + i * n_inner_, size, m, in_.spec, exp_bits_, exp_acc_.data(),
                                        exp_res.data() + i * kLanes);
                }
                reduce_lanes(exp_res.data(), ns, m, sum);
                mac::requant_array(sum, m, to_inv_inp_, false, sum);
                lookup_top_bits(sum, 1, m, inv_inp_t_, inv_bits_, inv_table_.data(), inv);
                for (size_t i = 0; i < ns; ++i)
                    lane_cast<LaneOp::Mul>(exp_res.data() + i * kLanes, 1, inv, m, to_res_, y + i * n_inner_, size);
            }
    }
}

void Softmax::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    if (lanes_) return forward_lanes(in[0], out_codes, n);
    forward_scalar(in[0], out_codes, n, fixed::Fast{});
}

void Softmax::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in[0], out_codes, n, fixed::Count{stats});
}

template <class Cast>
void Softmax::forward_scalar(const int64_t *x0, int64_t *out_codes, size_t n, const Cast &cast) const {
    std::vector<int64_t> tmp(n_slice_);
    const size_t size = out.size;
    for (size_t e = 0; e < n; ++e) {
        const int64_t *x = x0 + e * size;
        int64_t *y = out_codes + e * size;
        for (size_t o = 0; o < n_outer_; ++o)
            for (size_t k = 0; k < n_inner_; ++k) {
                const size_t base = o * n_slice_ * n_inner_ + k;
                slice(x + base, y + base, n_inner_, tmp, cast);
            }
    }
}

std::unique_ptr<Layer> make_softmax(const LayerDesc &d) { return std::make_unique<Softmax>(d); }

const Schema &softmax_schema() {
    static const Schema s{
        {required("implementation", AttrType::Str), required("n_slice", AttrType::Int),
         required("n_outer", AttrType::Int), required("n_inner", AttrType::Int),
         // latency/stable: the five types, two sizes, exp_scale; stable: inp_norm_t; legacy: table_t, two sizes
         optional("table_t", AttrType::Spec), optional("exp_table_t", AttrType::Spec),
         optional("inv_table_t", AttrType::Spec), optional("accum_t", AttrType::Spec),
         optional("inv_inp_t", AttrType::Spec), optional("inp_norm_t", AttrType::Spec),
         optional("exp_table_size", AttrType::Int), optional("inv_table_size", AttrType::Int),
         optional("exp_scale", AttrType::Str)},  // the float literal of the generated C++
        {}};
    return s;
}

}  // namespace l1emu::layers
