#include "activation.h"

#include <stdexcept>

namespace l1emu::layers {

Activation::Activation(std::string name, int input, TensorInfo in, Fn fn, TensorInfo out)
    : Layer(std::move(name), fn == Fn::ReLU ? "ReLU" : "Linear", {input}, out), in_(in), fn_(fn) {
    if (in.size != out.size) throw std::invalid_argument("Activation '" + this->name + "': input and output sizes differ");
}

void Activation::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    const size_t total = n * out.size;
    const int f = in_.spec.frac();
    const int64_t *x = in[0];
    const bool relu = fn_ == Fn::ReLU;
    for (size_t k = 0; k < total; ++k) {
        const fixed::i128 v = fixed::value_of(x[k], in_.spec);
        out_codes[k] = (relu && v <= 0) ? 0 : fixed::quantize(v, f, out.spec);
    }
}

}  // namespace l1emu::layers
