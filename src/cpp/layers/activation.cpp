#include "activation.h"

#include <algorithm>
#include <stdexcept>

namespace l1emu::layers {

namespace {
Activation::Fn parse_fn(const LayerDesc &d) {
    const std::string &fn = d.attr("activation");
    if (fn == "linear") return Activation::Fn::Linear;
    if (fn == "relu") return Activation::Fn::ReLU;
    d.fail("unsupported activation '" + fn + "'");
}
}  // namespace

Activation::Activation(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()), in_(d.input_info.at(0)), fn_(parse_fn(d)) {
    if (in_.size != out.size) d.fail("input and output sizes differ");
    copy_ = fn_ == Fn::ReLU ? fixed::codes_preserved(in_.spec, out.spec, 0, std::max<fixed::i128>(0, in_.spec.max_code()))
                            : fixed::codes_preserved(in_.spec, out.spec);
}

void Activation::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    const size_t total = n * out.size;
    const int f = in_.spec.frac();
    const int64_t *x = in[0];
    const bool relu = fn_ == Fn::ReLU;
    if (copy_) {
        if (relu)
            for (size_t k = 0; k < total; ++k) out_codes[k] = std::max<int64_t>(x[k], 0);
        else
            std::copy(x, x + total, out_codes);
        return;
    }
    if (fixed::fits_int64(in_.spec)) {
        for (size_t k = 0; k < total; ++k) out_codes[k] = (relu && x[k] <= 0) ? 0 : fixed::quantize(x[k], f, out.spec);
        return;
    }
    for (size_t k = 0; k < total; ++k) {
        const fixed::i128 v = fixed::value_of(x[k], in_.spec);
        out_codes[k] = (relu && v <= 0) ? 0 : fixed::quantize(v, f, out.spec);
    }
}

std::unique_ptr<Layer> make_activation(const LayerDesc &d) { return std::make_unique<Activation>(d); }

}  // namespace l1emu::layers
