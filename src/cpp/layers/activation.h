// nnet_activation.h element-wise activations without tables. Every product and sum below is formed at full
// precision by ap_fixed (exact here), compared exactly, and assigned once to res_t.
//   linear: res = data;  relu: data > 0 ? data : 0  (QKeras quantized_relu / quantized_bits arrive here with a
//   rounding, saturating res_t);
//   leaky_relu: data > 0 ? data : alpha * data;  thresholded_relu: data > theta ? data : 0  (alpha, theta: the
//   param_t literal of the function call);  prelu: data > 0 ? data : alpha[i] * data;
//   hard_sigmoid: clip(slope * data + shift, 0, 1);  hard_tanh: 2 * that - 1  (slope_t, shift_t constants);
//   binary_tanh: data >= 0 ? 1 : -1 (ap_uint<1> results: 1 : 0);
//   ternary_tanh: io_parallel d = (data_t)(2 * data): d > 1 ? 1 : d > -1 ? 0 : -1;
//                 io_stream: data > 1 ? 1 : data <= -1 ? -1 : 0.
#pragma once

#include <memory>

#include "desc.h"
#include "mac.h"

namespace l1emu::layers {

class Activation : public Layer {
   public:
    enum class Fn { Linear, ReLU, LeakyReLU, ThresholdedReLU, PReLU, HardSigmoid, HardTanh, BinaryTanh, TernaryTanh };
    // Attributes and arrays: activation_schema() (param, slope, shift: codes of their types).
    explicit Activation(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    bool is_identity() const override { return fn_ == Fn::Linear && copy_; }
    std::vector<CastSite> sites() const override;  // result
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    template <class Cast>
    void forward_scalar(const int64_t *x, int64_t *out, size_t n, const Cast &cast) const;

    TensorInfo in_;
    Fn fn_;
    Spec param_t_, shift_t_;
    int64_t param_ = 0, shift_ = 0;   // alpha / theta / slope codes; shift code
    std::vector<int64_t> alpha_;      // prelu, per element
    bool xnor_ = false, stream_ = false;
    int64_t pos_ = 0, zero_ = 0, neg_ = 0;  // +1, 0, -1 cast to res_t (binary/ternary tanh)
    bool vec_ = false;      // linear/ReLU through the vectorized cast
    mac::Requant to_out_;
    bool copy_ = false;  // the cast keeps every (non-negative, for ReLU) input code: copy / max(x, 0)
};

std::unique_ptr<Layer> make_activation(const LayerDesc &d);
const Schema &activation_schema();

}  // namespace l1emu::layers
