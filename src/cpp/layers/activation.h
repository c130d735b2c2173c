// nnet_activation.h element-wise activations. linear: res = (res_t)data; relu: res = data > 0 ? data : 0,
// assigned to res_t (QKeras quantized_relu arrives here as relu with a rounding, saturating res_t).
#pragma once

#include "layer.h"

namespace l1emu::layers {

class Activation : public Layer {
   public:
    enum class Fn { Linear, ReLU };
    Activation(std::string name, int input, TensorInfo in, Fn fn, TensorInfo out);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;

   private:
    TensorInfo in_;
    Fn fn_;
};

}  // namespace l1emu::layers
