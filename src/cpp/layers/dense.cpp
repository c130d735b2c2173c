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
    plan_engine();
}

void Dense::plan_engine() {
    const mac::MacTypes t{.in = in_.spec, .w = w_spec_, .accum = accum_, .res = out.spec, .n_in = n_in_,
                          .n_out = out.size, .w_codes = w_.data(), .bias_acc = &bias_acc_, .order = &order_};
    plan_ = mac::plan_mac(t);
}

std::string Dense::path() const { return plan_.path(); }

void Dense::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    switch (plan_.engine) {
        case Engine::GemmI16: forward_gemm_i16(in[0], out_codes, n); break;
        case Engine::GemmI64:
            if (accum_.width <= 32)
                forward_wrap_exact<uint32_t>(in[0], out_codes, n);
            else
                forward_wrap_exact<uint64_t>(in[0], out_codes, n);
            break;
        case Engine::Lanes: mac::lanes_forward(plan_.lanes, in[0], n, out_codes); break;
        default: forward_reference(in[0], out_codes, n); return;
    }
    if (plan_.res_scalar && plan_.engine != Engine::GemmI64)
        for (size_t k = 0, total = n * out.size; k < total; ++k) out_codes[k] = cast_accum(out_codes[k]);
}

void Dense::forward_gemm_i16(const int64_t *x, int64_t *y, size_t n) const {
    thread_local std::vector<int16_t> x16;
    thread_local std::vector<int32_t> s;
    const size_t ldx = plan_.w16.ldx(), lds = plan_.w16.lds();
    if (x16.size() < n * ldx) x16.resize(n * ldx);
    if (s.size() < n * lds) s.resize(n * lds);
    mac::pack_rows_i16(x, n, n_in_, ldx, x16.data());
    mac::gemm_i16(x16.data(), n, plan_.w16, s.data(), plan_.vnni);
    mac::gemm_epilogue(s.data(), n, lds, out.size, bias_acc_.data(), plan_.epi, y);
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
