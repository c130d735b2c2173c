#include "instance_norm.h"

#include <algorithm>

#include "lut_index.h"

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::quantize_fast;
using fixed::value_of;

InstanceNorm::InstanceNorm(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()),
      in_(d.input_info.at(0)),
      n_chan_(size_t(d.int_attr("n_chan"))),
      n_spatial_(size_t(d.int_attr("n_spatial"))),
      inv_n_code_(d.int_attr("inv_n_code")),
      table_size_(d.int_attr("table_size")),
      inv_n_frac_(int(d.int_attr("inv_n_frac"))),
      range_log2_(int(d.int_attr("table_range_log2"))),
      scale_(d.array("scale").data),
      bias_(d.array("bias").data),
      table_(d.array("table").data),
      accum_(d.spec_attr("accum_t")),
      mean_(d.spec_attr("mean_t")),
      var_(d.spec_attr("var_t")),
      table_spec_(d.spec_attr("table_t")),
      scale_spec_(d.spec_attr("scale_t")),
      bias_spec_(d.spec_attr("bias_t")) {
    if (n_chan_ == 0 || n_chan_ * n_spatial_ != in_.size || out.size != in_.size)
        d.fail("n_chan * n_spatial must equal the input and output sizes");
    if (scale_.size() != n_chan_ || bias_.size() != n_chan_) d.fail("scale/bias need one value per channel");
    if (table_size_ < 2 || table_.size() != size_t(table_size_)) d.fail("table size does not match table_size");
    if (inv_n_code_ <= 0 || inv_n_code_ >= (int64_t(1) << 32) || inv_n_frac_ < 0 || inv_n_frac_ > 64)
        d.fail("inv_n constant out of range");
    if (std::abs(range_log2_) > 60) d.fail("table_range_log2 out of range");
    // Widest exact intermediates: d*d, d*r*gamma, sums with the mean.
    if (2 * accum_.width + 2 > 120 || accum_.width + table_spec_.width + scale_spec_.width + 2 > 120 ||
        accum_.width + 34 > 120 || std::max(in_.spec.width, mean_.width) + std::abs(in_.spec.frac() - mean_.frac()) > 120)
        d.fail("types too wide for exact emulation");
    // int64 path bounds (codes < 2^bits in magnitude): x, mean and accum codes aligned to accum_t's LSB;
    // |d| = |x - mean| < 2^(max(I_x, I_mean) + 1), so its code has at most dbits bits, d*d at most 2 dbits;
    // d * table * scale (table unsigned, scale signed) and the bias aligned to the product's LSB.
    const int fx = in_.spec.frac(), fa = accum_.frac(), fm = mean_.frac();
    const int fo = fa + table_spec_.frac() + scale_spec_.frac(), fb = bias_spec_.frac();
    const int dbits = std::min(accum_.width, std::max(in_.spec.integer, mean_.integer) + 1 + fa);
    fast_ = fa >= 0 && fa >= fx && fa >= fm && fo >= fb && fixed::fits_int64(in_.spec) && fixed::fits_int64(accum_) &&
            fixed::fits_int64(table_spec_) && fixed::fits_int64(mean_) &&
            fixed::fits_int64(scale_spec_) && fixed::fits_int64(bias_spec_) && accum_.width + fa <= 60 && in_.spec.width + 1 + (fa - fx) <= 60 &&
            mean_.width + (fa - fm) <= 60 && 2 * dbits <= 60 && dbits + table_spec_.width + scale_spec_.width <= 60 &&
            bias_spec_.width + (fo - fb) <= 60;
}

static inline int64_t shl(int64_t v, int k) { return int64_t(uint64_t(v) << k); }

namespace {
using Sat = fixed::SatCast64;

__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void inorm_sum(const int64_t *x, size_t S, size_t C,
                                                                                  size_t nc, int ux, Sat to_acc,
                                                                                  int64_t *sum) {
    for (size_t s = 0; s < S; ++s)
        for (size_t c = 0; c < nc; ++c) sum[c] = to_acc(sum[c] + shl(x[s * C + c], ux));
}

__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void inorm_sq(const int64_t *x, size_t S, size_t C,
                                                                                 size_t nc, int ux, int fa,
                                                                                 const int64_t *mean, Sat to_acc,
                                                                                 Sat sq_to_acc, int64_t *sq) {
    for (size_t s = 0; s < S; ++s)
        for (size_t c = 0; c < nc; ++c) {
            const int64_t d = to_acc(shl(x[s * C + c], ux) - mean[c]);
            sq[c] = sq_to_acc(shl(sq[c], fa) + d * d);
        }
}

__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void inorm_out(
    const int64_t *x, size_t S, size_t C, size_t nc, int ux, const int64_t *mean, const int64_t *rg, const int64_t *b,
    Sat to_acc, Sat to_out, int64_t *y) {
    for (size_t s = 0; s < S; ++s)
        for (size_t c = 0; c < nc; ++c) {
            const int64_t d = to_acc(shl(x[s * C + c], ux) - mean[c]);
            y[s * C + c] = to_out(d * rg[c] + b[c]);
        }
}
}  // namespace

void InstanceNorm::forward_fast(const int64_t *x, int64_t *y) const {
    const size_t C = n_chan_, S = n_spatial_;
    const int fx = in_.spec.frac(), fa = accum_.frac(), fm = mean_.frac(), fv = var_.frac();
    const int fo = fa + table_spec_.frac() + scale_spec_.frac(), fb = bias_spec_.frac();
    const int ux = fa - fx, um = fa - fm, ub = fo - fb;
    const fixed::Cast64 to_acc(fa, accum_), sq_to_acc(2 * fa, accum_), to_out(fo, out.spec);
    // Channels side by side (position-major, as the data lies); per channel the sums run in s order.
    int64_t sum[256], mean[256], sq[256], rg[256], b[256];
    const bool sat = Sat::applies(to_acc) && Sat::applies(sq_to_acc) && Sat::applies(to_out);
    for (size_t c0 = 0; c0 < C; c0 += 256) {
        const size_t nc = std::min<size_t>(256, C - c0);
        std::fill(sum, sum + nc, 0);
        std::fill(sq, sq + nc, 0);
        if (sat)
            inorm_sum(x + c0, S, C, nc, ux, Sat(to_acc), sum);
        else
            for (size_t s = 0; s < S; ++s)
                for (size_t c = 0; c < nc; ++c) sum[c] = to_acc(sum[c] + shl(x[s * C + c0 + c], ux));
        for (size_t c = 0; c < nc; ++c)
            mean[c] = shl(quantize(value_of(sum[c], accum_) * inv_n_code_, fa + inv_n_frac_, mean_), um);
        if (sat)
            inorm_sq(x + c0, S, C, nc, ux, fa, mean, Sat(to_acc), Sat(sq_to_acc), sq);
        else
            for (size_t s = 0; s < S; ++s)
                for (size_t c = 0; c < nc; ++c) {
                    const int64_t d = to_acc(shl(x[s * C + c0 + c], ux) - mean[c]);
                    sq[c] = sq_to_acc(shl(sq[c], fa) + d * d);
                }
        for (size_t c = 0; c < nc; ++c) {
            const int64_t var = quantize(value_of(sq[c], accum_) * inv_n_code_, fa + inv_n_frac_, var_);
            const size_t idx = lut_index(value_of(var, var_), fv, table_size_, range_log2_, false);
            rg[c] = table_[idx] * scale_[c0 + c];
            b[c] = shl(bias_[c0 + c], ub);
        }
        if (sat) {
            inorm_out(x + c0, S, C, nc, ux, mean, rg, b, Sat(to_acc), Sat(to_out), y + c0);
            continue;
        }
        for (size_t s = 0; s < S; ++s)
            for (size_t c = 0; c < nc; ++c) {
                const int64_t d = to_acc(shl(x[s * C + c0 + c], ux) - mean[c]);
                y[s * C + c0 + c] = to_out(d * rg[c] + b[c]);
            }
    }
}

// a * 2^-fa + b * 2^-fb, exact, at frac max(fa, fb)
static inline i128 add_exact(i128 a, int fa, i128 b, int fb, int &f) {
    f = std::max(fa, fb);
    return (a << (f - fa)) + (b << (f - fb));
}

void InstanceNorm::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    if (fast_) {
        for (size_t e = 0; e < n; ++e) forward_fast(in[0] + e * out.size, out_codes + e * out.size);
        return;
    }
    forward_scalar(in[0], out_codes, n, fixed::Fast{});
}

std::vector<CastSite> InstanceNorm::sites() const {
    return {{"sum", "accum_t", accum_}, {"mean", "mean_t", mean_},  {"diff", "accum_t", accum_},
            {"sq", "accum_t", accum_},  {"var", "var_t", var_},     {"result", "result_t", out.spec}};
}

void InstanceNorm::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in[0], out_codes, n, fixed::Count{stats});
}

template <class Cast>
void InstanceNorm::forward_scalar(const int64_t *x0, int64_t *out_codes, size_t n, const Cast &cast) const {
    enum { kSum, kMean, kDiff, kSq, kVar, kResult };
    const size_t size = out.size, C = n_chan_, S = n_spatial_;
    const int fx = in_.spec.frac(), fa = accum_.frac(), fm = mean_.frac(), fv = var_.frac();
    const int ft = table_spec_.frac(), fs = scale_spec_.frac(), fb = bias_spec_.frac();
    std::vector<int64_t> diff(S);
    for (size_t e = 0; e < n; ++e) {
        const int64_t *x = x0 + e * size;
        int64_t *y = out_codes + e * size;
        for (size_t c = 0; c < C; ++c) {
            int f = 0, g = 0;
            int64_t sum = 0;
            i128 exact = 0, ideal = 0;  // the sums of an accumulator that never overflows (at fx; at accum_t's LSB)
            for (size_t s = 0; s < S; ++s) {
                const i128 xv = value_of(x[s * C + c], in_.spec);
                const i128 t = add_exact(value_of(sum, accum_), fa, xv, fx, f);
                if constexpr (Cast::counting) {
                    exact += xv;
                    ideal = fixed::round_to_lsb(add_exact(ideal, fa, xv, fx, g), g, accum_);
                }
                sum = cast.sum(kSum, t, f, accum_, exact, fx, ideal);
            }
            const int64_t mean = cast(kMean, value_of(sum, accum_) * inv_n_code_, fa + inv_n_frac_, mean_);
            int64_t sq = 0;
            exact = ideal = 0;  // at 2 fa; at accum_t's LSB
            for (size_t s = 0; s < S; ++s) {
                const i128 t = add_exact(value_of(x[s * C + c], in_.spec), fx, -value_of(mean, mean_), fm, f);
                diff[s] = cast(kDiff, t, f, accum_);
                const i128 dv = value_of(diff[s], accum_);
                const i128 q = add_exact(value_of(sq, accum_), fa, dv * dv, 2 * fa, f);
                if constexpr (Cast::counting) {
                    exact += dv * dv;
                    ideal = fixed::round_to_lsb(add_exact(ideal, fa, dv * dv, 2 * fa, g), g, accum_);
                }
                sq = cast.sum(kSq, q, f, accum_, exact, 2 * fa, ideal);
            }
            const int64_t var = cast(kVar, value_of(sq, accum_) * inv_n_code_, fa + inv_n_frac_, var_);
            const size_t idx = lut_index(value_of(var, var_), fv, table_size_, range_log2_, false);
            const i128 rg = value_of(table_[idx], table_spec_) * value_of(scale_[c], scale_spec_);
            const i128 b = value_of(bias_[c], bias_spec_);
            for (size_t s = 0; s < S; ++s) {
                const i128 t = add_exact(value_of(diff[s], accum_) * rg, fa + ft + fs, b, fb, f);
                y[s * C + c] = cast(kResult, t, f, out.spec);
            }
        }
    }
}

std::unique_ptr<Layer> make_instance_norm(const LayerDesc &d) { return std::make_unique<InstanceNorm>(d); }

const Schema &instance_norm_schema() {
    static const Schema s{
        {required("n_chan", AttrType::Int), required("n_spatial", AttrType::Int), required("inv_n_code", AttrType::Int),
         required("inv_n_frac", AttrType::Int), required("table_size", AttrType::Int),
         required("table_range_log2", AttrType::Int), required("accum_t", AttrType::Spec),
         required("mean_t", AttrType::Spec), required("var_t", AttrType::Spec), required("table_t", AttrType::Spec),
         required("scale_t", AttrType::Spec), required("bias_t", AttrType::Spec)},
        {{"scale", true}, {"bias", true}, {"table", true}}};
    return s;
}

}  // namespace l1emu::layers
