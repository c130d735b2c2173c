// nnet_activation.h element-wise activations. linear: res = (res_t)data; relu: res = data > 0 ? data : 0,
// assigned to res_t (QKeras quantized_relu arrives here as relu with a rounding, saturating res_t).
#pragma once

#include <memory>

#include "desc.h"

namespace l1emu::layers {

class Activation : public Layer {
   public:
    enum class Fn { Linear, ReLU };
    // attrs: activation (linear, relu).
    explicit Activation(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;

   private:
    TensorInfo in_;
    Fn fn_;
    bool copy_ = false;  // the cast keeps every (non-negative, for ReLU) input code: copy / max(x, 0)
};

std::unique_ptr<Layer> make_activation(const LayerDesc &d);

}  // namespace l1emu::layers
