// nnet_dense_latency.h / nnet_dense_resource.h (io_parallel and io_stream share the arithmetic):
//   mult = (accum_t)(data * weight);  acc = (accum_t)bias;  acc += mult (in the kernel's loop order);
//   res = (res_t)acc.
#pragma once

#include "layer.h"

namespace l1emu::layers {

class Dense : public Layer {
   public:
    // weights: [n_in x n_out] codes of w_spec (Keras orientation); order: for each output, the sequence of
    // inputs in which the kernel accumulates them ([n_out x n_in]; empty = ascending, as dense_latency).
    Dense(std::string name, int input, TensorInfo in, std::vector<int64_t> weights, Spec w_spec,
          std::vector<int64_t> bias, Spec b_spec, Spec accum, TensorInfo out, std::vector<int32_t> order);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    size_t ops() const override { return n_in_ * out.size; }

   private:
    void forward_wrap(const int64_t *x, int64_t *y, size_t n) const;
    void forward_ordered(const int64_t *x, int64_t *y, size_t n) const;

    TensorInfo in_;
    size_t n_in_;
    std::vector<int64_t> w_;  // [n_in x n_out]
    Spec w_spec_, accum_;
    std::vector<int64_t> bias_acc_;  // biases already cast to accum_t
    std::vector<int32_t> order_;     // [n_out x n_in]
    int prod_frac_;                  // fractional bits of data * weight
    bool exact_products_;            // every product is representable at accum_t's LSB
    std::vector<uint64_t> w_shifted_;  // weights pre-shifted to accum_t's LSB (exact_products_ only)
};

}  // namespace l1emu::layers
