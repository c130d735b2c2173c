// Layout-only and element-wise layers (nnet_merge*.h, nnet_padding*.h, Reshape/Flatten/Clone):
//  Copy (Reshape, Flatten, Clone, Repack): res = (res_t)data, element by element — hls4ml's arrays are
//    channels_last flat, so reshaping never moves a value.
//  Gather (ZeroPadding, Concatenate): res[k] = (res_t)input[src[k]][idx[k]], or 0 where idx[k] = -1.
//  Merge: res = (res_t)(a op b) with the exact ap_fixed result of + - * (a + b) * 0.5, or the larger /
//    smaller of a, b cast to res_t; inputs broadcast as data[i % n_elem] (nnet_merge.h).
#pragma once

#include <memory>

#include "desc.h"

namespace l1emu::layers {

class Copy : public Layer {
   public:
    explicit Copy(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    std::vector<CastSite> sites() const override { return {{"result", "result_t", out.spec}}; }
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    template <class Cast>
    void forward_scalar(const int64_t *const *in, int64_t *out, size_t n, const Cast &cast) const;
    TensorInfo in_;
};

class Gather : public Layer {
   public:
    // arrays: source [out size] (which input, 0-based), index [out size] (-1: a zero).
    explicit Gather(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    std::vector<CastSite> sites() const override { return {{"result", "result_t", out.spec}}; }
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    template <class Cast>
    void forward_scalar(const int64_t *const *in, int64_t *out, size_t n, const Cast &cast) const;
    std::vector<TensorInfo> in_;
    std::vector<int64_t> src_, idx_;
    bool copy_ = false;  // one input whose codes the output type keeps: a plain index gather
    // copy_: the output as runs of consecutive input codes (start, or -1 for zeros; length), e.g. the rows of
    // a zero-padded image, so that evaluation is a few block copies and fills.
    std::vector<std::pair<int64_t, size_t>> runs_;
};

class Merge : public Layer {
   public:
    enum class Op { Add, Subtract, Multiply, Average, Maximum, Minimum };
    // op: add, subtract, multiply, average, maximum, minimum (merge_schema()). Two inputs.
    explicit Merge(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    size_t ops() const override { return out.size; }
    std::vector<CastSite> sites() const override { return {{"result", "result_t", out.spec}}; }
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    template <class Cast>
    void forward_scalar(const int64_t *const *in, int64_t *out, size_t n, const Cast &cast) const;
    TensorInfo a_, b_;
    Op op_;
};

std::unique_ptr<Layer> make_copy(const LayerDesc &d);
std::unique_ptr<Layer> make_gather(const LayerDesc &d);
std::unique_ptr<Layer> make_merge(const LayerDesc &d);
const Schema &copy_schema();
const Schema &zero_padding_schema();
const Schema &concatenate_schema();
const Schema &merge_schema();

}  // namespace l1emu::layers
