#include "dense.h"

#include <cstdlib>
#include <cstring>
#include <numeric>
#include <stdexcept>

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::value_of;

Dense::Dense(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()),
      in_(d.input_info.at(0)),
      n_in_(in_.size),
      w_(d.array("weight").data),
      w_spec_(d.spec_attr("weight_t")),
      accum_(d.spec_attr("accum_t")) {
    const size_t n_out = out.size;
    const Spec b_spec = d.spec_attr("bias_t");
    const std::vector<int64_t> &bias = d.array("bias").data;
    if (w_.size() != n_in_ * n_out)
        d.fail("weights have " + std::to_string(w_.size()) + " values, expected n_in*n_out = " +
               std::to_string(n_in_ * n_out));
    if (bias.size() != n_out) d.fail("bias has " + std::to_string(bias.size()) + " values, expected " + std::to_string(n_out));
    if (in_.spec.width + w_spec_.width > 120) d.fail("data and weight widths too large for exact products");
    if (d.has_array("order")) {
        order_ = d.array("order").data;
    } else {
        order_.resize(n_out * n_in_);
        for (size_t j = 0; j < n_out; ++j) std::iota(order_.begin() + j * n_in_, order_.begin() + (j + 1) * n_in_, 0);
    }
    if (order_.size() != n_out * n_in_) d.fail("accumulation order has the wrong size");
    for (auto i : order_)
        if (i < 0 || size_t(i) >= n_in_) d.fail("accumulation order index out of range");
    bias_acc_.resize(n_out);
    for (size_t j = 0; j < n_out; ++j) bias_acc_[j] = quantize(value_of(bias[j], b_spec), b_spec.frac(), accum_);
    prod_frac_ = in_.spec.frac() + w_spec_.frac();
    const int up = accum_.frac() - prod_frac_;
    exact_products_ = up >= 0 && up < 64;
    if (exact_products_) {
        w_shifted_.resize(w_.size());
        for (size_t k = 0; k < w_.size(); ++k) w_shifted_[k] = uint64_t(int64_t(value_of(w_[k], w_spec_))) << up;
    }
    plan_engine(d);
}

void Dense::plan_engine(const LayerDesc &) {
    using fixed::OMode;
    const size_t n_out = out.size;
    const std::string force = mac::engine_override();
    if (force == "reference") return;
    // Bounds from the types and the weights (products in units of data LSB x weight LSB).
    if (!fixed::fits_int64(in_.spec) || !fixed::fits_int64(w_spec_) || !fixed::fits_int64(accum_)) return;
    const i128 x_lo = in_.spec.min_code(), x_hi = in_.spec.max_code();
    const i128 x_abs = std::max(-x_lo, x_hi);
    i128 w_abs = 0;
    bool w16 = true;
    std::vector<int64_t> wv(w_.size());
    for (size_t k = 0; k < w_.size(); ++k) {
        const i128 v = value_of(w_[k], w_spec_);
        if (v > (i128(1) << 62) || v < -(i128(1) << 62)) return;
        wv[k] = int64_t(v);
        w_abs = std::max(w_abs, v < 0 ? -v : v);
        w16 = w16 && v >= -32768 && v <= 32767;
    }
    if (x_abs > (i128(1) << 62)) return;
    const i128 p_abs = x_abs * w_abs;  // < 2^124
    const int up = accum_.frac() - prod_frac_;
    const i128 a_lo = accum_.min_code() + ((accum_.o == OMode::SAT_SYM && accum_.is_signed) ? 1 : 0),
               a_hi = accum_.max_code();
    // Every partial sum (any order), every single product, within accum_t: saturation never triggers.
    bool in_range = exact_products_ && up < 60 && fixed::bit_length(p_abs) + up + fixed::bit_length(i128(n_in_)) < 120;
    i128 s_abs = 0;  // max |sum_i x_i w_ij| over outputs
    for (size_t j = 0; j < n_out && in_range; ++j) {
        i128 pos = 0, neg = 0;
        for (size_t i = 0; i < n_in_; ++i) {
            const i128 a = i128(wv[i * n_out + j]) * x_lo, b = i128(wv[i * n_out + j]) * x_hi;
            pos += std::max<i128>({i128(0), a, b});
            neg += std::min<i128>({i128(0), a, b});
        }
        s_abs = std::max(s_abs, std::max(pos, -neg));
        const i128 b = bias_acc_[j], P = pos << up, N = neg << up;
        in_range = b + N >= a_lo && b + P <= a_hi && N >= a_lo && P <= a_hi;
    }
    const bool wrap = accum_.o == OMode::WRAP;

    // res_t cast on int64 lanes: accum_t codes are below 2^width in magnitude.
    const int res_sh = accum_.frac() - out.spec.frac();
    res_scalar_ = !(out.spec.width <= 62 && res_sh < 63 && (res_sh >= 0 || accum_.width - res_sh <= 62));
    const mac::Requant to_res = res_scalar_ ? mac::Requant(accum_.frac(), accum_, 64)  // identity on accum codes
                                            : mac::Requant(accum_.frac(), out.spec, 64);

    // GemmI16: int16 codes, int32 sums exact (or modular within a <= 32-bit wrapping accumulator).
    const bool fits16 = x_lo >= -32768 && x_hi <= 32767 && w16 && exact_products_ && accum_.width <= 62;
    const bool sums32 = s_abs < (i128(1) << 31);
    if (force != "lanes" && fits16 && ((wrap && (accum_.width <= 32 || (in_range && sums32))) ||
                                       (!wrap && in_range && sums32))) {
        engine_ = Engine::GemmI16;
        vnni_ = force != "gemm_generic";
        w16_.pack(wv.data(), n_in_, n_out);
        epi_.up = up;
        epi_.accum_drop = wrap ? 64 - accum_.width : 0;
        epi_.accum_signed = accum_.is_signed;
        epi_.to_res = to_res;
        return;
    }
    // GemmI64: the modular MAC rows, exact products; a wrapping accumulator or proven in-range sums.
    if (force != "lanes" && exact_products_ && (wrap || in_range)) {
        engine_ = Engine::GemmI64;
        res_scalar_ = true;  // forward_wrap_exact casts per value
        return;
    }
    // Lanes: int32 when products, sums and shifts fit, else int64.
    const int lsh = up > 0 ? up : 0, rsh = up < 0 ? -up : 0;
    const int pbits = p_abs == 0 ? 0 : fixed::bit_length(p_abs) + lsh;
    const bool i32 = pbits <= 30 && accum_.width <= 30 && rsh < 31 && x_abs < (i128(1) << 30);
    const bool i64 = pbits <= 61 && accum_.width <= 61 && rsh < 63;
    if (!i32 && !i64) return;
    engine_ = Engine::Lanes;
    const int lane_bits = i32 ? 32 : 64;
    lanes_.i32 = i32;
    lanes_.n_in = n_in_;
    lanes_.n_out = n_out;
    lanes_.w_ord.resize(n_out * n_in_);
    lanes_.i_ord.resize(n_out * n_in_);
    for (size_t j = 0; j < n_out; ++j)
        for (size_t k = 0; k < n_in_; ++k) {
            const size_t i = size_t(order_[j * n_in_ + k]);
            lanes_.i_ord[j * n_in_ + k] = int32_t(i);
            lanes_.w_ord[j * n_in_ + k] = wv[i * n_out + j];
        }
    lanes_.bias = bias_acc_;
    lanes_.prod = mac::Requant(prod_frac_, accum_, lane_bits);
    lanes_.sum = mac::Requant(accum_.frac(), accum_, lane_bits);
    lanes_.res = to_res;
}

std::string Dense::path() const {
    switch (engine_) {
        case Engine::GemmI16: return vnni_ && mac::has_vnni() ? "gemm_i16_vnni" : "gemm_i16";
        case Engine::GemmI64: return "gemm_i64";
        case Engine::Lanes: return lanes_.i32 ? "lanes_i32" : "lanes_i64";
        default: return "reference";
    }
}

void Dense::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    switch (engine_) {
        case Engine::GemmI16: forward_gemm_i16(in[0], out_codes, n); break;
        case Engine::GemmI64:
            if (accum_.width <= 32)
                forward_wrap_exact<uint32_t>(in[0], out_codes, n);
            else
                forward_wrap_exact<uint64_t>(in[0], out_codes, n);
            break;
        case Engine::Lanes: mac::lanes_forward(lanes_, in[0], n, out_codes); break;
        default: forward_reference(in[0], out_codes, n); return;
    }
    if (res_scalar_ && engine_ != Engine::GemmI64)
        for (size_t k = 0, total = n * out.size; k < total; ++k) out_codes[k] = cast_accum(out_codes[k]);
}

void Dense::forward_gemm_i16(const int64_t *x, int64_t *y, size_t n) const {
    thread_local std::vector<int16_t> x16;
    thread_local std::vector<int32_t> s;
    const size_t ldx = w16_.ldx(), lds = w16_.lds();
    if (x16.size() < n * ldx) x16.resize(n * ldx);
    if (s.size() < n * lds) s.resize(n * lds);
    mac::pack_rows_i16(x, n, n_in_, ldx, x16.data());
    mac::gemm_i16(x16.data(), n, w16_, s.data(), vnni_);
    mac::gemm_epilogue(s.data(), n, lds, out.size, bias_acc_.data(), epi_, y);
}

void Dense::forward_reference(const int64_t *x, int64_t *y, size_t n) const {
    // With a wrapping accumulator the sum is modular, so the kernel's loop order cannot change the result.
    if (accum_.o == fixed::OMode::WRAP)
        forward_wrap(x, y, n);
    else
        forward_ordered(x, y, n, fixed::Fast{});
}

namespace {

// acc[j] += x[i] * w[i][j] modulo 2^bits(U). Cloned for AVX2 so the inner loop runs 4 or 8 lanes wide.
__attribute__((target_clones("avx2", "default"))) void mac_rows(const uint32_t *x, const uint32_t *w, uint32_t *acc,
                                                                  size_t n_in, size_t n_out) {
    for (size_t i = 0; i < n_in; ++i) {
        const uint32_t xi = x[i];
        if (!xi) continue;
        const uint32_t *wr = w + i * n_out;
        for (size_t j = 0; j < n_out; ++j) acc[j] += xi * wr[j];
    }
}

__attribute__((target_clones("avx2", "default"))) void mac_rows(const uint64_t *x, const uint64_t *w, uint64_t *acc,
                                                                  size_t n_in, size_t n_out) {
    for (size_t i = 0; i < n_in; ++i) {
        const uint64_t xi = x[i];
        if (!xi) continue;
        const uint64_t *wr = w + i * n_out;
        for (size_t j = 0; j < n_out; ++j) acc[j] += xi * wr[j];
    }
}

}  // namespace

template <typename U>
void Dense::forward_wrap_exact(const int64_t *x, int64_t *y, size_t n) const {
    // A wrapping accumulator of W <= bits(U) bits only depends on the sum modulo 2^bits(U).
    const size_t n_out = out.size;
    const std::vector<U> w(w_shifted_.begin(), w_shifted_.end());
    std::vector<U> xs(n_in_), acc(n_out);
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x + e * n_in_;
        for (size_t i = 0; i < n_in_; ++i) xs[i] = U(uint64_t(int64_t(value_of(xe[i], in_.spec))));
        for (size_t j = 0; j < n_out; ++j) acc[j] = U(uint64_t(bias_acc_[j]));
        mac_rows(xs.data(), w.data(), acc.data(), n_in_, n_out);
        int64_t *ye = y + e * n_out;
        for (size_t j = 0; j < n_out; ++j) ye[j] = cast_accum(fixed::wrap_bits(uint64_t(acc[j]), accum_));
    }
}

void Dense::forward_wrap(const int64_t *x, int64_t *y, size_t n) const {
    if (exact_products_) {
        if (accum_.width <= 32)
            forward_wrap_exact<uint32_t>(x, y, n);
        else
            forward_wrap_exact<uint64_t>(x, y, n);
        return;
    }
    // Products finer than accum_t's LSB: each is quantized (rounding per accum_t) before the modular sum.
    const size_t n_out = out.size;
    std::vector<uint64_t> acc(n_out);
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x + e * n_in_;
        for (size_t j = 0; j < n_out; ++j) acc[j] = uint64_t(bias_acc_[j]);
        for (size_t i = 0; i < n_in_; ++i) {
            if (xe[i] == 0) continue;
            const i128 xv = value_of(xe[i], in_.spec);
            const int64_t *w = &w_[i * n_out];
            for (size_t j = 0; j < n_out; ++j)
                if (w[j]) acc[j] += uint64_t(quantize(xv * value_of(w[j], w_spec_), prod_frac_, accum_));
        }
        int64_t *ye = y + e * n_out;
        for (size_t j = 0; j < n_out; ++j) ye[j] = cast_accum(fixed::wrap_bits(acc[j], accum_));
    }
}

// Every accumulator mode (a WRAP accumulator wraps at each addition, as the kernel's does).
template <class Cast>
void Dense::forward_ordered(const int64_t *x, int64_t *y, size_t n, const Cast &cast) const {
    enum { kProduct, kAccum, kResult };
    const size_t n_out = out.size;
    const int fa = accum_.frac(), fe = std::max(fa, prod_frac_);
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x + e * n_in_;
        int64_t *ye = y + e * n_out;
        for (size_t j = 0; j < n_out; ++j) {
            int64_t acc = bias_acc_[j];
            i128 ideal = acc, exact = i128(acc) << (fe - fa);  // the sums of an accumulator that never overflows
            const int64_t *ord = &order_[j * n_in_];
            for (size_t k = 0; k < n_in_; ++k) {
                const size_t i = size_t(ord[k]);
                const int64_t w = w_[i * n_out + j];
                if (!Cast::counting && (w == 0 || xe[i] == 0)) continue;  // adding an exact zero leaves accum_t unchanged
                const i128 prod = value_of(xe[i], in_.spec) * value_of(w, w_spec_);
                const int64_t p = cast(kProduct, prod, prod_frac_, accum_);
                if constexpr (Cast::counting) {
                    exact += prod << (fe - prod_frac_);
                    ideal += fixed::round_to_lsb(prod, prod_frac_, accum_);
                }
                acc = cast.sum(kAccum, value_of(acc, accum_) + value_of(p, accum_), fa, accum_, exact, fe, ideal);
            }
            ye[j] = cast(kResult, value_of(acc, accum_), fa, out.spec);
        }
    }
}

std::vector<CastSite> Dense::sites() const {
    return {{"product", "accum_t", accum_}, {"accum", "accum_t", accum_}, {"result", "result_t", out.spec}};
}

void Dense::audit(const int64_t *const *in, int64_t *y, size_t n, fixed::SiteStats *stats) const {
    forward_ordered(in[0], y, n, fixed::Count{stats});
}

std::unique_ptr<Layer> make_dense(const LayerDesc &d) { return std::make_unique<Dense>(d); }

const Schema &dense_schema() {
    static const Schema s{
        {required("weight_t", AttrType::Spec), required("bias_t", AttrType::Spec), required("accum_t", AttrType::Spec),
         optional("strategy", AttrType::Str), optional("reuse_factor", AttrType::Int)},  // recorded: summary, audit
        {{"weight", true}, {"bias", true}, {"order", false}}};
    return s;
}

}  // namespace l1emu::layers
