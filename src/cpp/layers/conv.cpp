#include "conv.h"

#include <numeric>

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::value_of;

namespace {
size_t positive(const LayerDesc &d, const std::string &key) {
    const long long v = d.int_attr(key);
    if (v <= 0) d.fail("attribute '" + key + "' must be positive");
    return size_t(v);
}
size_t nonneg(const LayerDesc &d, const std::string &key) {
    const long long v = d.int_attr(key);
    if (v < 0) d.fail("attribute '" + key + "' must be >= 0");
    return size_t(v);
}
}  // namespace

Conv::Conv(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()),
      in_(d.input_info.at(0)),
      w_(d.array("weight").data),
      w_spec_(d.spec_attr("weight_t")),
      accum_(d.spec_attr("accum_t")) {
    const size_t ih = positive(d, "in_height"), iw = positive(d, "in_width"), nc = positive(d, "n_chan");
    const size_t fh = positive(d, "filt_height"), fw = positive(d, "filt_width");
    const size_t sh = positive(d, "stride_height"), sw = positive(d, "stride_width");
    const size_t pt = nonneg(d, "pad_top"), pb = nonneg(d, "pad_bottom"), pl = nonneg(d, "pad_left"),
                 pr = nonneg(d, "pad_right");
    n_filt_ = positive(d, "n_filt");
    n_in_ = fh * fw * nc;
    if (in_.size != ih * iw * nc) d.fail("input size does not match in_height * in_width * n_chan");
    if (ih + pt + pb < fh || iw + pl + pr < fw) d.fail("filter larger than the padded input");
    const size_t oh = (ih + pt + pb - fh) / sh + 1, ow = (iw + pl + pr - fw) / sw + 1;
    n_pix_ = oh * ow;
    if (out.size != n_pix_ * n_filt_) d.fail("output size does not match the convolution geometry");
    if (w_.size() != n_in_ * n_filt_) d.fail("weights have the wrong size");
    const std::vector<int64_t> &bias = d.array("bias").data;
    if (bias.size() != n_filt_) d.fail("bias has the wrong size");
    if (in_.spec.width + w_spec_.width > 120) d.fail("data and weight widths too large for exact products");

    // im2col: window element (kh, kw, c) of output pixel (oy, ox), as the generated fill_buffer / line buffer.
    gather_.resize(n_pix_ * n_in_);
    for (size_t oy = 0; oy < oh; ++oy)
        for (size_t ox = 0; ox < ow; ++ox)
            for (size_t kh = 0; kh < fh; ++kh)
                for (size_t kw = 0; kw < fw; ++kw) {
                    const long long y = (long long)(oy * sh + kh) - (long long)pt;
                    const long long x = (long long)(ox * sw + kw) - (long long)pl;
                    const bool inside = y >= 0 && y < (long long)ih && x >= 0 && x < (long long)iw;
                    for (size_t c = 0; c < nc; ++c)
                        gather_[(oy * ow + ox) * n_in_ + (kh * fw + kw) * nc + c] =
                            inside ? (y * (long long)iw + x) * (long long)nc + (long long)c : -1;
                }

    if (d.has_array("order")) {
        order_ = d.array("order").data;
    } else {
        order_.resize(n_filt_ * n_in_);
        for (size_t f = 0; f < n_filt_; ++f) std::iota(order_.begin() + f * n_in_, order_.begin() + (f + 1) * n_in_, 0);
    }
    if (order_.size() != n_filt_ * n_in_) d.fail("accumulation order has the wrong size");
    for (auto i : order_)
        if (i < 0 || size_t(i) >= n_in_) d.fail("accumulation order index out of range");

    const Spec b_spec = d.spec_attr("bias_t");
    bias_acc_.resize(n_filt_);
    for (size_t f = 0; f < n_filt_; ++f) bias_acc_[f] = quantize(value_of(bias[f], b_spec), b_spec.frac(), accum_);
    prod_frac_ = in_.spec.frac() + w_spec_.frac();
    const int up = accum_.frac() - prod_frac_;
    const bool small = in_.spec.width + w_spec_.width <= 62;  // |data * weight| fits in int64
    if (up >= 0 && up < 64)
        prod_ = Prod::Exact;
    else if (up < 0 && -up < 62 && small && accum_.q == fixed::QMode::TRN)
        prod_ = Prod::Floor;
    else
        prod_ = Prod::General;
    if (prod_ != Prod::General) {
        down_ = up < 0 ? -up : 0;
        w_shifted_.resize(w_.size());
        for (size_t k = 0; k < w_.size(); ++k)
            w_shifted_[k] = uint64_t(int64_t(value_of(w_[k], w_spec_))) << (prod_ == Prod::Exact ? up : 0);
    }
    // Mac32: signed codes up to 32 bits, unsigned up to 31, are int32 values; so must the shifted weights be.
    const int in_bits = in_.spec.width + (in_.spec.is_signed ? 0 : 1);
    mac32_ = prod_ == Prod::Exact && accum_.o == fixed::OMode::WRAP && fixed::fits_int64(accum_) && in_bits <= 32 &&
             w_spec_.width + (w_spec_.is_signed ? 0 : 1) + (accum_.frac() - prod_frac_) <= 32 && n_in_ < (1u << 31) &&
             in_.size < (size_t(1) << 32);
    if (mac32_) {
        n_chan_ = nc;
        w32_.resize(w_.size());
        for (size_t k = 0; k < w_.size(); ++k) w32_[k] = int32_t(int64_t(w_shifted_[k]));
        const size_t n_pos = ih * iw;
        std::vector<std::vector<std::pair<uint32_t, uint32_t>>> by_pos(n_pos);
        for (size_t p = 0; p < n_pix_; ++p)
            for (size_t kpos = 0; kpos < fh * fw; ++kpos) {
                const int64_t src = gather_[p * n_in_ + kpos * nc];
                if (src >= 0) by_pos[size_t(src) / nc].emplace_back(uint32_t(p), uint32_t(kpos));
            }
        sc_start_.push_back(0);
        for (const auto &pairs : by_pos) {
            for (const auto &[p, kpos] : pairs) {
                sc_pix_.push_back(p);
                sc_kpos_.push_back(kpos);
            }
            sc_start_.push_back(uint32_t(sc_pix_.size()));
        }
    }
}

namespace {
// Scatter the nonzero inputs of one event into acc [n_pix x n_filt]: products exact in int64 (int32 operands),
// sums modulo 2^64 (the accumulator wraps anyway, at a narrower width). The inner loop is vectorized.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void mac32_scatter(
    const int64_t *x, size_t n_pos, size_t nc, size_t nf, const uint32_t *start, const uint32_t *pix,
    const uint32_t *kpos, const int32_t *w, uint64_t *acc) {
    for (size_t q = 0; q < n_pos; ++q)
        for (size_t c = 0; c < nc; ++c) {
            const int64_t xv = int32_t(x[q * nc + c]);
            if (xv == 0) continue;
            for (uint32_t j = start[q]; j < start[q + 1]; ++j) {
                uint64_t *a = acc + size_t(pix[j]) * nf;
                const int32_t *wr = w + (size_t(kpos[j]) * nc + c) * nf;
                for (size_t f = 0; f < nf; ++f) a[f] += uint64_t(xv * int64_t(wr[f]));
            }
        }
}
}  // namespace

void Conv::forward_mac32(const int64_t *x, int64_t *y, size_t n) const {
    std::vector<uint64_t> acc(n_pix_ * n_filt_);
    const fixed::Cast64 to_out(accum_.frac(), out.spec);
    const size_t n_pos = sc_start_.size() - 1;
    const int drop = 64 - accum_.width;  // wrap: keep accum_t's low bits, sign- or zero-extended
    for (size_t e = 0; e < n; ++e) {
        for (size_t p = 0; p < n_pix_; ++p)
            for (size_t f = 0; f < n_filt_; ++f) acc[p * n_filt_ + f] = uint64_t(bias_acc_[f]);
        mac32_scatter(x + e * in_.size, n_pos, n_chan_, n_filt_, sc_start_.data(), sc_pix_.data(), sc_kpos_.data(),
                      w32_.data(), acc.data());
        int64_t *ye = y + e * out.size;
        for (size_t k = 0; k < out.size; ++k) {
            const uint64_t low = acc[k] << drop;
            ye[k] = to_out(accum_.is_signed ? int64_t(low) >> drop : int64_t(low >> drop));
        }
    }
}

void Conv::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    // With a wrapping accumulator the sum is modular, so the kernel's loop order cannot change the result.
    if (mac32_)
        forward_mac32(in[0], out_codes, n);
    else if (accum_.o == fixed::OMode::WRAP)
        forward_wrap(in[0], out_codes, n);
    else
        forward_ordered(in[0], out_codes, n);
}

void Conv::forward_wrap(const int64_t *x, int64_t *y, size_t n) const {
    std::vector<uint64_t> acc(n_filt_);
    const int fa = accum_.frac();
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x + e * in_.size;
        int64_t *ye = y + e * out.size;
        for (size_t p = 0; p < n_pix_; ++p) {
            const int64_t *g = &gather_[p * n_in_];
            for (size_t f = 0; f < n_filt_; ++f) acc[f] = uint64_t(bias_acc_[f]);
            for (size_t i = 0; i < n_in_; ++i) {
                if (g[i] < 0) continue;  // padding: a zero of data_T
                const int64_t xi = xe[g[i]];
                if (xi == 0) continue;
                // the code is the integer the value stands for (unsigned codes are zero-extended)
                const uint64_t *w = &w_shifted_[i * n_filt_];
                if (prod_ == Prod::Exact) {
                    const uint64_t ux = uint64_t(xi);
                    for (size_t f = 0; f < n_filt_; ++f) acc[f] += ux * w[f];
                } else if (prod_ == Prod::Floor) {  // AP_TRN: floor, an arithmetic shift of the exact product
                    for (size_t f = 0; f < n_filt_; ++f) acc[f] += uint64_t((xi * int64_t(w[f])) >> down_);
                } else {
                    const i128 xv = value_of(xi, in_.spec);
                    const int64_t *wc = &w_[i * n_filt_];
                    for (size_t f = 0; f < n_filt_; ++f)
                        if (wc[f]) acc[f] += uint64_t(quantize(xv * value_of(wc[f], w_spec_), prod_frac_, accum_));
                }
            }
            for (size_t f = 0; f < n_filt_; ++f)
                ye[p * n_filt_ + f] = fixed::fits_int64(accum_)
                                          ? quantize(fixed::wrap_bits(acc[f], accum_), fa, out.spec)
                                          : quantize(value_of(fixed::wrap_bits(acc[f], accum_), accum_), fa, out.spec);
        }
    }
}

void Conv::forward_ordered(const int64_t *x, int64_t *y, size_t n) const {
    const int fa = accum_.frac();
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x + e * in_.size;
        int64_t *ye = y + e * out.size;
        for (size_t p = 0; p < n_pix_; ++p) {
            const int64_t *g = &gather_[p * n_in_];
            for (size_t f = 0; f < n_filt_; ++f) {
                int64_t acc = bias_acc_[f];
                const int64_t *ord = &order_[f * n_in_];
                for (size_t k = 0; k < n_in_; ++k) {
                    const size_t i = size_t(ord[k]);
                    const int64_t w = w_[i * n_filt_ + f];
                    if (w == 0 || g[i] < 0 || xe[g[i]] == 0) continue;  // adding an exact zero leaves accum_t unchanged
                    const int64_t prod =
                        quantize(value_of(xe[g[i]], in_.spec) * value_of(w, w_spec_), prod_frac_, accum_);
                    acc = quantize(value_of(acc, accum_) + value_of(prod, accum_), fa, accum_);
                }
                ye[p * n_filt_ + f] = quantize(value_of(acc, accum_), fa, out.spec);
            }
        }
    }
}

std::unique_ptr<Layer> make_conv(const LayerDesc &d) { return std::make_unique<Conv>(d); }

}  // namespace l1emu::layers
