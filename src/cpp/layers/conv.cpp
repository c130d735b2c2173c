#include "conv.h"

#include "window.h"

#include <algorithm>
#include <cstring>
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
    gather_ = window_gather(Window{ih, iw, fh, fw, sh, sw, pt, pb, pl, pr}, nc);

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
    // F64: every partial sum, bias included, bounded by |bias| + sum_i |w_i| * max|x| < 2^53.
    if (prod_ == Prod::Exact && accum_.o == fixed::OMode::WRAP && accum_.width < 64 && in_.spec.width <= 53 &&
        n_in_ < (size_t(1) << 31) && in_.size < (size_t(1) << 31)) {
        const i128 max_x = std::max<i128>(-in_.spec.min_code(), in_.spec.max_code()), limit = i128(1) << 53;
        f64_ = true;
        for (size_t f = 0; f < n_filt_ && f64_; ++f) {
            i128 bound = bias_acc_[f] < 0 ? -i128(bias_acc_[f]) : i128(bias_acc_[f]);
            for (size_t i = 0; i < n_in_ && bound < limit; ++i) {
                const int64_t wv = int64_t(w_shifted_[i * n_filt_ + f]);
                bound += (wv < 0 ? -i128(wv) : i128(wv)) * max_x;
            }
            f64_ = bound < limit;
        }
    }
    if (f64_) {
        const size_t kp_n = fh * fw;
        n_fv_ = (n_filt_ + 7) / 8;
        f64_src_.resize(n_pix_ * kp_n);
        for (size_t p = 0; p < n_pix_; ++p)
            for (size_t kp = 0; kp < kp_n; ++kp) {
                const int64_t src = gather_[p * n_in_ + kp * nc];
                f64_src_[p * kp_n + kp] = int32_t(src >= 0 ? src : int64_t(in_.size));  // past the input: zeros
            }
        f64_w_.assign(n_in_ * n_fv_ * 8, 0.0);
        f64_bias_.assign(n_fv_ * 8, 0.0);
        for (size_t i = 0; i < n_in_; ++i)
            for (size_t f = 0; f < n_filt_; ++f) f64_w_[i * n_fv_ * 8 + f] = double(int64_t(w_shifted_[i * n_filt_ + f]));
        for (size_t f = 0; f < n_filt_; ++f) f64_bias_[f] = double(bias_acc_[f]);
    }
    src_.resize(gather_.size());
    for (size_t k = 0; k < gather_.size(); ++k) src_[k] = int32_t(gather_[k] < 0 ? int64_t(in_.size) : gather_[k]);
    const mac::MacTypes t{.in = in_.spec, .w = w_spec_, .accum = accum_, .res = out.spec, .n_in = n_in_,
                          .n_out = n_filt_, .w_codes = w_.data(), .bias_acc = &bias_acc_, .order = &order_};
    if (in_.size < (size_t(1) << 31)) plan_ = mac::plan_mac(t);
    if (plan_.engine == mac::Engine::Lanes) plan_.lanes.set_window(gather_, n_pix_, in_.size);
}

std::string Conv::path() const {
    if (plan_.engine == mac::Engine::GemmI64) return f64_ ? "f64" : "wrap_i64";
    return plan_.path();
}

namespace {
using v8d = double __attribute__((vector_size(64)));

// P output pixels x NV vectors of 8 filters, accumulated in registers over the window (kernel position,
// channel); the weight vectors of one (kernel position, channel) are loaded once for the P pixels.
template <int NV, int P>
inline __attribute__((always_inline)) void f64_tile(const double *xd, const int32_t *src, size_t kp_n, size_t nc,
                                                     const double *w, size_t w_stride, const double *bias, double *c,
                                                     size_t c_stride) {
    v8d acc[P][NV];
    for (int v = 0; v < NV; ++v) {
        v8d b;
        std::memcpy(&b, bias + 8 * v, sizeof b);
        for (int p = 0; p < P; ++p) acc[p][v] = b;
    }
    for (size_t kp = 0; kp < kp_n; ++kp) {
        const double *a[P];
        for (int p = 0; p < P; ++p) a[p] = xd + src[size_t(p) * kp_n + kp];
        const double *wk = w + kp * nc * w_stride;
        for (size_t ch = 0; ch < nc; ++ch) {
            v8d wv[NV];
            for (int v = 0; v < NV; ++v) std::memcpy(&wv[v], wk + ch * w_stride + 8 * v, sizeof(v8d));
            for (int p = 0; p < P; ++p) {
                const double s = a[p][ch];
                const v8d sb = {s, s, s, s, s, s, s, s};
                for (int v = 0; v < NV; ++v) acc[p][v] += sb * wv[v];
            }
        }
    }
    for (int p = 0; p < P; ++p)
        for (int v = 0; v < NV; ++v) std::memcpy(c + size_t(p) * c_stride + 8 * v, &acc[p][v], sizeof(v8d));
}

template <int NV, int P>
inline __attribute__((always_inline)) void f64_columns(const double *xd, const int32_t *src, size_t n_pix,
                                                        size_t kp_n, size_t nc, const double *w, size_t w_stride,
                                                        const double *bias, double *c) {
    size_t p = 0;
    for (; p + P <= n_pix; p += P)
        f64_tile<NV, P>(xd, src + p * kp_n, kp_n, nc, w, w_stride, bias, c + p * w_stride, w_stride);
    for (; p < n_pix; ++p) f64_tile<NV, 1>(xd, src + p * kp_n, kp_n, nc, w, w_stride, bias, c + p * w_stride, w_stride);
}

// One event: c [n_pix x 8 n_fv] = bias + window (x) weights, in column chunks of up to 4 vectors.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void f64_conv(
    const double *xd, const int32_t *src, size_t n_pix, size_t kp_n, size_t nc, const double *w, size_t n_fv,
    const double *bias, double *c) {
    const size_t stride = 8 * n_fv;
    for (size_t v0 = 0; v0 < n_fv; v0 += 4) {
        const double *wv = w + 8 * v0, *bv = bias + 8 * v0;
        double *cv = c + 8 * v0;
        switch (std::min<size_t>(4, n_fv - v0)) {
            case 1: f64_columns<1, 8>(xd, src, n_pix, kp_n, nc, wv, stride, bv, cv); break;
            case 2: f64_columns<2, 6>(xd, src, n_pix, kp_n, nc, wv, stride, bv, cv); break;
            case 3: f64_columns<3, 6>(xd, src, n_pix, kp_n, nc, wv, stride, bv, cv); break;
            default: f64_columns<4, 4>(xd, src, n_pix, kp_n, nc, wv, stride, bv, cv); break;
        }
    }
}

// c (exact integer sums) -> the accumulator wrapped to accum_t's width (the low bits, sign- or zero-extended),
// then cast to res_t by a saturating cast.
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void f64_to_codes(
    const double *c, size_t n_pix, size_t stride, size_t nf, int drop, bool is_signed, fixed::SatCast64 to_out,
    int64_t *y) {
    for (size_t p = 0; p < n_pix; ++p)
        for (size_t f = 0; f < nf; ++f) {
            const uint64_t low = uint64_t(int64_t(c[p * stride + f])) << drop;
            y[p * nf + f] = to_out(is_signed ? int64_t(low) >> drop : int64_t(low >> drop));
        }
}
}  // namespace

void Conv::forward_f64(const int64_t *x, int64_t *y, size_t n) const {
    const size_t kp_n = f64_src_.size() / n_pix_, nc = n_in_ / kp_n, stride = 8 * n_fv_;
    std::vector<double> xd(in_.size + nc, 0.0), c(n_pix_ * stride);
    const fixed::Cast64 to_out(accum_.frac(), out.spec);
    const int drop = 64 - accum_.width;  // f64_to_codes' inline wrap_bits: accum_t's low bits, sign- or zero-extended
    const bool sat = fixed::SatCast64::applies(to_out) && accum_.width <= 62;
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x + e * in_.size;
        for (size_t k = 0; k < in_.size; ++k) xd[k] = double(xe[k]);
        f64_conv(xd.data(), f64_src_.data(), n_pix_, kp_n, nc, f64_w_.data(), n_fv_, f64_bias_.data(), c.data());
        int64_t *ye = y + e * out.size;
        if (sat) {
            f64_to_codes(c.data(), n_pix_, stride, n_filt_, drop, accum_.is_signed, fixed::SatCast64(to_out), ye);
            continue;
        }
        for (size_t p = 0; p < n_pix_; ++p)
            for (size_t f = 0; f < n_filt_; ++f)
                ye[p * n_filt_ + f] = to_out(fixed::wrap_bits(uint64_t(int64_t(c[p * stride + f])), accum_));
    }
}

void Conv::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    switch (plan_.engine) {
        case mac::Engine::GemmI16: forward_gemm_i16(in[0], out_codes, n); break;
        case mac::Engine::Lanes: mac::lanes_forward(plan_.lanes, in[0], n, out_codes); break;
        case mac::Engine::GemmI64:
            if (f64_)
                forward_f64(in[0], out_codes, n);
            else
                forward_wrap(in[0], out_codes, n);
            return;
        default:
            // With a wrapping accumulator the sum is modular, so the kernel's loop order cannot change the result.
            if (accum_.o == fixed::OMode::WRAP)
                forward_wrap(in[0], out_codes, n);
            else
                forward_ordered(in[0], out_codes, n, fixed::Fast{});
            return;
    }
    if (plan_.res_scalar)
        for (size_t k = 0, total = n * out.size; k < total; ++k) out_codes[k] = cast_accum(out_codes[k]);
}

// im2col into int16 rows (one per output pixel), then Dense's GEMM and epilogue: [n * n_pix x n_filt] is the
// channels_last output.
void Conv::forward_gemm_i16(const int64_t *x, int64_t *y, size_t n) const {
    thread_local std::vector<int16_t> x16;
    thread_local std::vector<int32_t> s;
    const size_t ldx = plan_.w16.ldx(), lds = plan_.w16.lds(), rows = n * n_pix_;
    if (x16.size() < rows * ldx) x16.resize(rows * ldx);
    if (s.size() < rows * lds) s.resize(rows * lds);
    mac::im2col_i16(x, n, in_.size, src_.data(), n_pix_, n_in_, ldx, x16.data());
    mac::gemm_i16(x16.data(), rows, plan_.w16, s.data(), plan_.vnni);
    mac::gemm_epilogue(s.data(), rows, lds, n_filt_, bias_acc_.data(), plan_.epi, y);
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

// Every accumulator mode (a WRAP accumulator wraps at each addition, as the kernel's does).
template <class Cast>
void Conv::forward_ordered(const int64_t *x, int64_t *y, size_t n, const Cast &cast) const {
    enum { kProduct, kAccum, kResult };
    const int fa = accum_.frac(), fe = std::max(fa, prod_frac_);
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x + e * in_.size;
        int64_t *ye = y + e * out.size;
        for (size_t p = 0; p < n_pix_; ++p) {
            const int64_t *g = &gather_[p * n_in_];
            for (size_t f = 0; f < n_filt_; ++f) {
                int64_t acc = bias_acc_[f];
                i128 ideal = acc, exact = i128(acc) << (fe - fa);  // the sums of an accumulator that never overflows
                const int64_t *ord = &order_[f * n_in_];
                for (size_t k = 0; k < n_in_; ++k) {
                    const size_t i = size_t(ord[k]);
                    const int64_t w = w_[i * n_filt_ + f];
                    const int64_t xi = g[i] < 0 ? 0 : xe[g[i]];  // padding: a zero of data_T
                    if (!Cast::counting && (w == 0 || xi == 0)) continue;  // adding an exact zero leaves accum_t unchanged
                    const i128 v = value_of(xi, in_.spec) * value_of(w, w_spec_);
                    const int64_t prod = cast(kProduct, v, prod_frac_, accum_);
                    if constexpr (Cast::counting) {
                        exact += v << (fe - prod_frac_);
                        ideal += fixed::round_to_lsb(v, prod_frac_, accum_);
                    }
                    acc = cast.sum(kAccum, value_of(acc, accum_) + value_of(prod, accum_), fa, accum_, exact, fe, ideal);
                }
                ye[p * n_filt_ + f] = cast(kResult, value_of(acc, accum_), fa, out.spec);
            }
        }
    }
}

std::vector<CastSite> Conv::sites() const {
    return {{"product", "accum_t", accum_}, {"accum", "accum_t", accum_}, {"result", "result_t", out.spec}};
}

void Conv::audit(const int64_t *const *in, int64_t *y, size_t n, fixed::SiteStats *stats) const {
    forward_ordered(in[0], y, n, fixed::Count{stats});
}

std::unique_ptr<Layer> make_conv(const LayerDesc &d) { return std::make_unique<Conv>(d); }

const Schema &conv_schema() {
    static const Schema s{
        {required("in_height", AttrType::Int), required("in_width", AttrType::Int), required("n_chan", AttrType::Int),
         required("filt_height", AttrType::Int), required("filt_width", AttrType::Int),
         required("n_filt", AttrType::Int), required("stride_height", AttrType::Int),
         required("stride_width", AttrType::Int), required("pad_top", AttrType::Int),
         required("pad_bottom", AttrType::Int), required("pad_left", AttrType::Int),
         required("pad_right", AttrType::Int), required("weight_t", AttrType::Spec),
         required("bias_t", AttrType::Spec), required("accum_t", AttrType::Spec),
         optional("strategy", AttrType::Str), optional("reuse_factor", AttrType::Int),  // recorded
         optional("io_type", AttrType::Str)},
        {{"weight", true}, {"bias", true}, {"order", false}}};
    return s;
}

}  // namespace l1emu::layers
