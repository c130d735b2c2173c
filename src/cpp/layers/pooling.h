// nnet_pooling.h / nnet_pooling_stream.h (Vitis overrides), channels_last; 1D is the height-1 case.
// Three arithmetics, by where hls4ml puts the cast to accum_t:
//  parallel (pooling*d_cl, global_pooling*d_cl on arrays):
//    max: y = max over the window in data_T (padding = pad_val: the most negative code of a signed type,
//         the top bit alone for an unsigned one), res = (res_t)(accum_t)y;
//    avg: y = (accum_t)0; y += x (data_T, in window order, padding adds 0); y /= count (integer count:
//         code truncated toward zero); res = (res_t)y. count = window area, or the pixels inside the image
//         unless count_pad.
//  stream (pooling*d_cl on streams, line buffer, no padding): the window is first cast to accum_t;
//    max: res = (res_t)max;  avg: res = (res_t)((balanced tree of accum_t additions, nnet::reduce) / area).
//  global_stream (global_pooling*d_cl on streams): w = 0 (avg) or accum_t's minimum (max); for each pixel
//    w = w + (accum_t)x (assigned to accum_t) or max; res = (res_t)(w / (n pixels)) or (res_t)w.
#pragma once

#include <memory>

#include "desc.h"

namespace l1emu::layers {

class Pool : public Layer {
   public:
    enum class Op { Max, Average };
    enum class Impl { Parallel, Stream, GlobalStream };
    // pool_op: max, average; impl: parallel, stream, global_stream (the pool covers the input, one output
    // pixel); count_pad: 0/1. Attributes: pool_schema().
    explicit Pool(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    size_t ops() const override { return n_pix_ * win_ * n_chan_; }
    std::vector<CastSite> sites() const override {
        return {{"accum", "accum_t", accum_}, {"result", "result_t", out.spec}};
    }
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    // Cast sites: 0 every assignment to accum_t, 1 the result.
    template <class Cast>
    void forward_scalar(const int64_t *x, int64_t *out, size_t n, const Cast &cast) const;
    template <class Cast>
    int64_t parallel(const int64_t *xe, const int64_t *g, size_t c, const Cast &cast) const;
    template <class Cast>
    int64_t stream(const int64_t *xe, const int64_t *g, size_t c, int64_t *scratch, const Cast &cast) const;
    template <class Cast>
    int64_t global_stream(const int64_t *xe, size_t c, const Cast &cast) const;
    template <class Cast>
    int64_t tree_sum(const int64_t *v, size_t n, const Cast &cast) const;
    template <class Cast>
    int64_t add_acc(int64_t a, int64_t b, const Cast &cast) const;
    template <class Cast>
    int64_t divide(int64_t acc_code, size_t count, const Cast &cast) const;

    TensorInfo in_;
    Op op_;
    Impl impl_;
    Spec accum_;
    size_t n_chan_, n_pix_, win_, in_pix_;
    bool count_pad_;
    std::vector<int64_t> gather_;  // [n_pix x win]: input pixel index, -1 for padding
    std::vector<size_t> count_;    // [n_pix]: divisor of the average
    int64_t pad_code_;             // pad_val<data_T, Max>
};

std::unique_ptr<Layer> make_pool(const LayerDesc &d);
const Schema &pool_schema();

}  // namespace l1emu::layers
