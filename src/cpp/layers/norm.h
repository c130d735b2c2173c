// nnet_batchnorm.h normalize(): res = (res_t)(data * scale[c] + bias[c]), the product and the sum exact
// (ap_fixed's full-precision operator types), c = i % n_filt (n_filt = -1: one scale per input).
#pragma once

#include <memory>

#include "desc.h"
#include "mac.h"

namespace l1emu::layers {

class BatchNorm : public Layer {
   public:
    // arrays: scale, bias [n_filt]; attributes: batchnorm_schema().
    explicit BatchNorm(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    size_t ops() const override { return out.size; }
    std::vector<CastSite> sites() const override { return {{"result", "result_t", out.spec}}; }
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    template <class Cast>
    void forward_scalar(const int64_t *x, int64_t *out, size_t n, const Cast &cast) const;
    TensorInfo in_;
    std::vector<int64_t> scale_, bias_;
    Spec scale_spec_, bias_spec_;
    bool vec_ = false;  // int64 lanes: |x * scale + bias| at the common LSB stays below 2^61
    std::vector<int64_t> vscale_, vbias_;  // scale and bias at the common LSB
    mac::Requant to_out_;
};

std::unique_ptr<Layer> make_batchnorm(const LayerDesc &d);
const Schema &batchnorm_schema();

}  // namespace l1emu::layers
