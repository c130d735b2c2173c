// nnet_activation.h / nnet_activation_stream.h softmax, all four implementations, per slice of n_slice values
// (io_parallel softmax_multidim: slices (outer, inner) with stride n_inner; io_stream: one slice per pack).
//   latency: exp_res[i] = (accum_t)exp_table[top N bits of x_i]; sum = reduce(+) in accum_t, tree order;
//            inv = inv_table[top M bits of (inv_inp_t)sum]; res_i = exp_res[i] * inv.
//   stable:  as latency on d_i = (inp_norm_t)(max - x_i), exp table of exp(-x).
//   legacy:  exp_res[i] = sum_j table_t(j == i ? 1 : exp_table[idx(x_j - x_i)]); res_i = inv_table[idx(exp_res[i])]
//            with the sigmoid-style index (x * size / 16 + size / 2, clamped) and exp_res * size / 64.
//   argmax:  one-hot of the first maximum.
// latency/stable run on int64 lanes across events (lane = event, the firmware's tree order per event) when
// every cast is mac::Requant-exact on its bounded operands; else, and when auditing, the scalar i128 path.
// Tables are filled as init_exp_table / init_invert_table(_legacy) do: float libm calls cast to the table type.
#pragma once

#include <memory>

#include "desc.h"
#include "mac.h"

namespace l1emu::layers {

class Softmax : public Layer {
   public:
    enum class Impl { Latency, Stable, Legacy, Argmax };
    // Attributes (which types each implementation reads): softmax_schema().
    explicit Softmax(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    // latency/stable: exp_index, exp_value, accum, inv_input, inv_index, result (stable: norm);
    // legacy: exp_index, exp_sum, inv_index, result; argmax: result (constants, no casts).
    std::vector<CastSite> sites() const override;
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;
    std::string path() const override { return lanes_ ? "lanes_i64" : "reference"; }

   private:
    template <class Cast>
    void forward_scalar(const int64_t *x, int64_t *out, size_t n, const Cast &cast) const;
    template <class Cast>
    void slice(const int64_t *x, int64_t *y, size_t stride, std::vector<int64_t> &tmp, const Cast &cast) const;
    template <class Cast>
    int64_t reduce_sum(const int64_t *v, size_t n, const Cast &cast) const;
    void plan_lanes();
    void forward_lanes(const int64_t *x, int64_t *y, size_t n) const;
    void reduce_lanes(const int64_t *v, size_t n_terms, size_t n, int64_t *sum) const;

    TensorInfo in_;
    Impl impl_;
    size_t n_slice_, n_outer_, n_inner_;
    Spec exp_t_, inv_t_, accum_t_, inv_inp_t_, norm_t_;  // legacy: exp_t_ = inv_t_ = table_t
    size_t exp_size_ = 0, inv_size_ = 0;
    int exp_bits_ = 0, inv_bits_ = 0;  // address bits (ceillog2 of the table sizes)
    std::vector<int64_t> exp_table_, inv_table_;
    std::vector<int64_t> exp_acc_;     // exp table entries cast to accum_t (latency/stable)
    int64_t one_res_ = 0, zero_res_ = 0;  // argmax outputs
    bool lanes_ = false;                   // forward on int64 lanes (plan_lanes)
    mac::Requant to_norm_, to_sum_, to_inv_inp_, to_res_;
};

std::unique_ptr<Layer> make_softmax(const LayerDesc &d);
const Schema &softmax_schema();

}  // namespace l1emu::layers
