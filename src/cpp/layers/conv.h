// nnet_conv1d*.h / nnet_conv2d*.h / nnet_conv_stream.h / nnet_sepconv*_stream.h (pointwise), channels_last.
// Every implementation hls4ml generates (io_parallel im2col + conv_*_latency_cl / conv_*_resource_cl,
// io_stream line buffer + the mult_config dense kernel, pointwise variants) computes, per output pixel,
//   mult = (accum_t)(data * weight);  acc = (accum_t)bias;  acc += mult (in the kernel's order);
//   res = (res_t)acc,
// over the window of (kh, kw, c) inputs, padded positions being zeros of data_T (io_stream convolutions
// see an explicit ZeroPadding layer instead). Conv1D is the height-1 case. The window of every output
// pixel is gathered once (im2col) in the constructor, so evaluation is a dense MAC over gathered inputs.
#pragma once

#include <memory>

#include "desc.h"

namespace l1emu::layers {

class Conv : public Layer {
   public:
    // Attributes: conv_schema().
    // arrays: weight [filt_height*filt_width*n_chan x n_filt] codes (Keras orientation), bias [n_filt],
    // optional order [n_filt x n_in]: per filter, window indices in the kernel's accumulation order
    // (absent = ascending, as the latency kernels).
    explicit Conv(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    std::vector<CastSite> sites() const override;  // product, accum, result
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;
    size_t ops() const override { return n_pix_ * n_in_ * n_filt_; }

   private:
    void forward_wrap(const int64_t *x, int64_t *y, size_t n) const;
    template <class Cast>
    void forward_ordered(const int64_t *x, int64_t *y, size_t n, const Cast &cast) const;
    void forward_f64(const int64_t *x, int64_t *y, size_t n) const;

    TensorInfo in_;
    size_t n_in_, n_filt_, n_pix_;
    std::vector<int64_t> gather_;  // [n_pix x n_in]: flat input index, -1 for padding
    std::vector<int64_t> w_;       // [n_in x n_filt]
    Spec w_spec_, accum_;
    std::vector<int64_t> bias_acc_;    // biases already cast to accum_t
    std::vector<int64_t> order_;       // [n_filt x n_in]
    int prod_frac_;  // fractional bits of data * weight
    // How (accum_t)(data * weight) is formed in the wrapping fast path: Exact (representable at accum_t's
    // LSB: weights pre-shifted), Floor (AP_TRN: an int64 product shifted down by down_ bits), General
    // (fixed::quantize per product).
    enum class Prod { Exact, Floor, General } prod_;
    int down_ = 0;
    std::vector<uint64_t> w_shifted_;  // Exact: weights pre-shifted to accum_t's LSB; Floor: weight values
    // F64 (Exact wrapping accumulator whose every partial sum is an integer below 2^53 in magnitude): the
    // MAC runs as a dense double-precision GEMM, exact because no product or partial sum needs rounding,
    // so it is the integer sum; it then wraps to accum_t like the integer paths. Filters padded to lanes of 8.
    bool f64_ = false;
    size_t n_fv_ = 0;                 // vectors of 8 filters
    std::vector<int32_t> f64_src_;    // [n_pix x fh*fw]: offset of the window position's channels, or of zeros
    std::vector<double> f64_w_, f64_bias_;  // [n_in x 8 n_fv] pre-shifted weights; [8 n_fv] accum_t biases
};

std::unique_ptr<Layer> make_conv(const LayerDesc &d);
const Schema &conv_schema();

}  // namespace l1emu::layers
