#include "kl_score.h"

#include <algorithm>

#include "lut_index.h"

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::value_of;

KLScore::KLScore(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()),
      in_(d.input_info.at(0)),
      n_latent_(size_t(d.int_attr("n_latent"))),
      table_size_(d.int_attr("table_size")),
      range_log2_(int(d.int_attr("table_range_log2"))),
      table_(d.array("table").data),
      accum_(d.spec_attr("accum_t")),
      table_spec_(d.spec_attr("table_t")) {
    const std::string mode = d.attr("mode");
    if (mode != "full" && mode != "mu2") d.fail("mode must be 'full' or 'mu2', got '" + mode + "'");
    full_ = mode == "full";
    if (n_latent_ == 0 || 2 * n_latent_ != in_.size) d.fail("input size must be 2 * n_latent");
    if (out.size != 1) d.fail("output size must be 1");
    if (table_size_ < 2 || table_.size() != size_t(table_size_)) d.fail("table size does not match table_size");
    if (std::abs(range_log2_) > 60) d.fail("table_range_log2 out of range");
    const int fx = in_.spec.frac(), f = std::max({2 * fx, table_spec_.frac(), fx, 0, accum_.frac()});
    const int lo = std::min({2 * fx, table_spec_.frac(), fx, 0, accum_.frac()});
    if (f - lo + std::max({2 * in_.spec.width, table_spec_.width, accum_.width}) + 4 > 120)
        d.fail("types too wide for exact emulation");
}

void KLScore::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    forward_scalar(in[0], out_codes, n, fixed::Fast{});
}

void KLScore::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in[0], out_codes, n, fixed::Count{stats});
}

template <class Cast>
void KLScore::forward_scalar(const int64_t *x0, int64_t *out_codes, size_t n, const Cast &cast) const {
    const size_t L = n_latent_;
    const int fx = in_.spec.frac(), ft = table_spec_.frac(), fa = accum_.frac();
    const int f = std::max({2 * fx, ft, fx, 0, fa});  // every term and the sum exact at this frac
    for (size_t e = 0; e < n; ++e) {
        const int64_t *x = x0 + e * 2 * L;
        int64_t acc = 0;
        i128 exact = 0, ideal = 0;  // the sums of an accumulator that never overflows (at f; at accum_t's LSB)
        for (size_t i = 0; i < L; ++i) {
            const i128 mu = value_of(x[i], in_.spec);
            i128 t = (mu * mu) << (f - 2 * fx);
            if (full_) {
                const i128 lv = value_of(x[L + i], in_.spec);
                const size_t idx = lut_index(lv, fx, table_size_, range_log2_, true);
                t += (value_of(table_[idx], table_spec_) << (f - ft)) - (i128(1) << f) - (lv << (f - fx));
            }
            if constexpr (Cast::counting) {
                exact += t;
                ideal = fixed::round_to_lsb((ideal << (f - fa)) + t, f, accum_);
            }
            acc = cast.sum(0, (value_of(acc, accum_) << (f - fa)) + t, f, accum_, exact, f, ideal);
        }
        out_codes[e] = cast(1, value_of(acc, accum_), fa + (full_ ? 1 : 0), out.spec);
    }
}

std::unique_ptr<Layer> make_kl_score(const LayerDesc &d) { return std::make_unique<KLScore>(d); }

const Schema &kl_score_schema() {
    static const Schema s{{required("mode", AttrType::Str), required("n_latent", AttrType::Int),
                           required("table_size", AttrType::Int), required("table_range_log2", AttrType::Int),
                           required("accum_t", AttrType::Spec), required("table_t", AttrType::Spec)},
                          {{"table", true}}};
    return s;
}

}  // namespace l1emu::layers
