#include "norm.h"

#include <algorithm>
#include <stdexcept>

namespace l1emu::layers {

using fixed::i128;
using fixed::value_of;

BatchNorm::BatchNorm(std::string name, int input, TensorInfo in, std::vector<int64_t> scale, Spec scale_spec,
                     std::vector<int64_t> bias, Spec bias_spec, TensorInfo out)
    : Layer(std::move(name), "BatchNormalization", {input}, out),
      in_(in),
      scale_(std::move(scale)),
      bias_(std::move(bias)),
      scale_spec_(scale_spec),
      bias_spec_(bias_spec) {
    if (scale_.empty() || scale_.size() != bias_.size() || in.size % scale_.size() != 0 || out.size != in.size)
        throw std::invalid_argument("BatchNormalization '" + this->name + "': scale/bias sizes do not divide the input");
    if (in.spec.width + scale_spec.width > 120)
        throw std::invalid_argument("BatchNormalization '" + this->name + "': widths too large for exact products");
}

void BatchNorm::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    const size_t size = out.size, n_filt = scale_.size();
    const int fp = in_.spec.frac() + scale_spec_.frac(), fb = bias_spec_.frac();
    const int f = std::max(fp, fb);  // exact sum at the finer LSB
    for (size_t e = 0; e < n; ++e) {
        const int64_t *x = in[0] + e * size;
        int64_t *y = out_codes + e * size;
        for (size_t i = 0; i < size; ++i) {
            const size_t c = i % n_filt;
            const i128 p = value_of(x[i], in_.spec) * value_of(scale_[c], scale_spec_);
            const i128 s = (p << (f - fp)) + (value_of(bias_[c], bias_spec_) << (f - fb));
            y[i] = fixed::quantize(s, f, out.spec);
        }
    }
}

}  // namespace l1emu::layers
