// l1emu's own KL-score firmware (l1emu/firmware/nnet_kl_score.h) on [mu (L), logvar (L)]: per i in order
// acc += term (accum_t, term exact: mu*mu + e - 1 - logvar with e = table[index(logvar)], or mu*mu);
// output (res_t)(acc / 2) for the full KL, (res_t)acc for mu^2.
#pragma once

#include <memory>

#include "desc.h"
#include "mac.h"

namespace l1emu::layers {

class KLScore : public Layer {
   public:
    // mode: full | mu2. Attributes and the table: kl_score_schema().
    explicit KLScore(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    std::vector<CastSite> sites() const override {  // the table index is not audited
        return {{"accum", "accum_t", accum_}, {"result", "result_t", out.spec}};
    }
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;
    size_t ops() const override { return n_latent_; }
    // lanes_i64: events in blocks on int64 lanes (every intermediate proven to fit at load); reference: the
    // scalar i128 loop (wider types, or L1EMU_ENGINE=reference).
    std::string path() const override { return vec_ ? "lanes_i64" : "reference"; }

   private:
    template <class Cast>
    void forward_scalar(const int64_t *x, int64_t *out, size_t n, const Cast &cast) const;
    TensorInfo in_;
    bool full_;
    size_t n_latent_;
    int64_t table_size_;
    int range_log2_;
    std::vector<int64_t> table_;
    Spec accum_, table_spec_;
    // lanes_i64 plan (valid when vec_): the codes at the common frac f of the scalar path.
    bool vec_ = false;
    int sh_mu_ = 0, sh_lv_ = 0, sh_acc_ = 0;   // mu*mu, logvar, accum_t codes -> f
    int idx_up_ = 0, idx_shift_ = 0;           // lut_index: num = (lv << idx_up_) + idx_off_, (num * n) >> idx_shift_
    int64_t idx_off_ = 0;
    std::vector<int64_t> tab_f_;               // table value - 1, at f
    mac::Requant to_acc_, to_out_;             // (accum_t)(sum at f); (res_t)(accum_t code at fa (+1: full))
    void plan_lanes();
};

std::unique_ptr<Layer> make_kl_score(const LayerDesc &d);
const Schema &kl_score_schema();

}  // namespace l1emu::layers
