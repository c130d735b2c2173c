// nnet_dense_latency.h / nnet_dense_resource.h (io_parallel and io_stream share the arithmetic):
//   mult = (accum_t)(data * weight);  acc = (accum_t)bias;  acc += mult (in the kernel's loop order);
//   res = (res_t)acc.
#pragma once

#include <memory>

#include "desc.h"
#include "mac.h"

namespace l1emu::layers {

class Dense : public Layer {
   public:
    // arrays: weight [n_in x n_out] codes of weight_t (Keras orientation), bias [n_out] codes of bias_t,
    // optional order [n_out x n_in]: per output, the inputs in the kernel's accumulation order
    // (absent = ascending, as dense_latency). Attributes: dense_schema().
    explicit Dense(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    size_t ops() const override { return n_in_ * out.size; }
    std::string path() const override;
    std::vector<CastSite> sites() const override;  // product, accum, result
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    void forward_wrap(const int64_t *x, int64_t *y, size_t n) const;
    // res = (res_t)acc
    int64_t cast_accum(int64_t acc) const {
        return fixed::fits_int64(accum_) ? fixed::quantize(acc, accum_.frac(), out.spec)
                                         : fixed::quantize(fixed::value_of(acc, accum_), accum_.frac(), out.spec);
    }
    template <typename U>
    void forward_wrap_exact(const int64_t *x, int64_t *y, size_t n) const;
    template <class Cast>
    void forward_ordered(const int64_t *x, int64_t *y, size_t n, const Cast &cast) const;
    void forward_reference(const int64_t *x, int64_t *y, size_t n) const;
    void forward_gemm_i16(const int64_t *x, int64_t *y, size_t n) const;
    void plan_engine(const LayerDesc &d);

   public:
    // How forward evaluates a block (chosen at load from the types and weights; see plan_engine):
    //   GemmI16: int16 x int16 -> int32 GEMM (VNNI) over the block, every partial sum proven to fit (or a
    //            modular accumulator of <= 32 bits), bias + accum_t wrap + res_t cast in the epilogue;
    //   GemmI64: per event, int64/int32 modular MAC rows (exact products, wrapping or proven in-range sums);
    //   Lanes:   the kernel's accumulation order per output, vectorized across events (int32/int64 lanes);
    //   Reference: the scalar per-event paths (forward_wrap / forward_ordered), also forced by
    //            L1EMU_ENGINE=reference (tests); L1EMU_ENGINE=lanes forces Lanes where it applies.
    enum class Engine { Reference, GemmI16, GemmI64, Lanes };
    Engine engine() const { return engine_; }

   private:

    TensorInfo in_;
    size_t n_in_;
    std::vector<int64_t> w_;  // [n_in x n_out]
    Spec w_spec_, accum_;
    std::vector<int64_t> bias_acc_;  // biases already cast to accum_t
    std::vector<int64_t> order_;     // [n_out x n_in]
    int prod_frac_;                  // fractional bits of data * weight
    bool exact_products_;            // every product is representable at accum_t's LSB
    std::vector<uint64_t> w_shifted_;  // weights pre-shifted to accum_t's LSB (exact_products_ only)

    Engine engine_ = Engine::Reference;
    bool vnni_ = true;         // gemm_i16 may use VNNI (L1EMU_ENGINE=gemm_generic: no)
    bool res_scalar_ = false;  // the kernels leave accum_t codes; cast_accum runs per value afterwards
    mac::PackedI16 w16_;
    mac::Epilogue epi_;
    mac::LanesPlan lanes_;
};

std::unique_ptr<Layer> make_dense(const LayerDesc &d);
const Schema &dense_schema();

}  // namespace l1emu::layers
