#include "norm.h"

#include <algorithm>
#include <stdexcept>

namespace l1emu::layers {

using fixed::i128;
using fixed::value_of;

BatchNorm::BatchNorm(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()),
      in_(d.input_info.at(0)),
      scale_(d.array("scale").data),
      bias_(d.array("bias").data),
      scale_spec_(d.spec_attr("scale_t")),
      bias_spec_(d.spec_attr("bias_t")) {
    if (scale_.empty() || scale_.size() != bias_.size() || in_.size % scale_.size() != 0 || out.size != in_.size)
        d.fail("scale/bias sizes do not divide the input");
    if (in_.spec.width + scale_spec_.width > 120) d.fail("widths too large for exact products");
    const int fp = in_.spec.frac() + scale_spec_.frac(), fb = bias_spec_.frac(), f = std::max(fp, fb);
    if (mac::engine_override() != "reference" && fixed::fits_int64(in_.spec) && fixed::fits_int64(scale_spec_) && fixed::fits_int64(bias_spec_) &&
        f - fp < 60 && f - fb < 60) {
        const i128 x_abs = std::max(-in_.spec.min_code(), in_.spec.max_code());
        i128 bound = 0;
        for (size_t c = 0; c < scale_.size(); ++c) {
            const i128 s = value_of(scale_[c], scale_spec_), b = value_of(bias_[c], bias_spec_);
            bound = std::max(bound, (s < 0 ? -s : s) * x_abs * (i128(1) << (f - fp)) + (b < 0 ? -b : b) * (i128(1) << (f - fb)));
        }
        if (bound < (i128(1) << 61) && mac::requant_ok(f, fixed::bit_length(bound), out.spec)) {
            vec_ = true;
            for (size_t c = 0; c < scale_.size(); ++c) {
                vscale_.push_back(int64_t(value_of(scale_[c], scale_spec_) << (f - fp)));
                vbias_.push_back(int64_t(value_of(bias_[c], bias_spec_) << (f - fb)));
            }
            to_out_ = mac::Requant(f, out.spec, 64);
        }
    }
}

void BatchNorm::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    if (vec_) {
        mac::affine_requant(in[0], n, out.size, vscale_.data(), vbias_.data(), scale_.size(), to_out_, out_codes);
        return;
    }
    forward_scalar(in[0], out_codes, n, fixed::Fast{});
}

void BatchNorm::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in[0], out_codes, n, fixed::Count{stats});
}

template <class Cast>
void BatchNorm::forward_scalar(const int64_t *x0, int64_t *out_codes, size_t n, const Cast &cast) const {
    const size_t size = out.size, n_filt = scale_.size();
    const int fp = in_.spec.frac() + scale_spec_.frac(), fb = bias_spec_.frac();
    const int f = std::max(fp, fb);  // exact sum at the finer LSB
    for (size_t e = 0; e < n; ++e) {
        const int64_t *x = x0 + e * size;
        int64_t *y = out_codes + e * size;
        for (size_t i = 0; i < size; ++i) {
            const size_t c = i % n_filt;
            const i128 p = value_of(x[i], in_.spec) * value_of(scale_[c], scale_spec_);
            const i128 s = (p << (f - fp)) + (value_of(bias_[c], bias_spec_) << (f - fb));
            y[i] = cast(0, s, f, out.spec);
        }
    }
}

std::unique_ptr<Layer> make_batchnorm(const LayerDesc &d) { return std::make_unique<BatchNorm>(d); }

const Schema &batchnorm_schema() {
    static const Schema s{{required("scale_t", AttrType::Spec), required("bias_t", AttrType::Spec)},
                          {{"scale", true}, {"bias", true}}};
    return s;
}

}  // namespace l1emu::layers
