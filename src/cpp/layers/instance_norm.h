// l1emu's own instance normalization firmware (l1emu/firmware/nnet_instancenorm.h): per event and
// channel c over the S positions of a channel-last tensor, in the header's cast points and loop order:
// sum (accum_t, s order) -> mean = (mean_t)(sum * inv_n) -> d = (accum_t)(x - mean) -> sq += d*d (accum_t)
// -> var = (var_t)(sq * inv_n) -> r = table[index(var)] -> y = (res_t)(d * r * gamma_c + beta_c), exact.
#pragma once

#include <memory>

#include "desc.h"

namespace l1emu::layers {

class InstanceNorm : public Layer {
   public:
    // arrays: scale, bias [n_chan], table [table_size]; attributes: instance_norm_schema().
    explicit InstanceNorm(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    size_t ops() const override { return 3 * out.size; }
    std::vector<CastSite> sites() const override;  // sum, mean, diff, sq, var, result (the table index: not audited)
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    template <class Cast>
    void forward_scalar(const int64_t *x, int64_t *out, size_t n, const Cast &cast) const;
    TensorInfo in_;
    size_t n_chan_, n_spatial_;
    int64_t inv_n_code_, table_size_;
    int inv_n_frac_, range_log2_;
    std::vector<int64_t> scale_, bias_, table_;
    Spec accum_, mean_, var_, table_spec_, scale_spec_, bias_spec_;
    // int64 path: every per-position intermediate provably fits in int64 (checked in the constructor from
    // the types' widths and LSBs), so only the per-channel mean/var casts use i128.
    bool fast_ = false;
    void forward_fast(const int64_t *x, int64_t *y) const;
};

std::unique_ptr<Layer> make_instance_norm(const LayerDesc &d);
const Schema &instance_norm_schema();

}  // namespace l1emu::layers
