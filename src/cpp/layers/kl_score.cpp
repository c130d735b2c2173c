#include "kl_score.h"

#include <algorithm>

#include "lut_index.h"
#include "mac_lanes.h"

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
    if (mac::engine_override() != "reference") plan_lanes();
}

namespace {

// |code| <= mag(s) for every code of s.
i128 mag(const Spec &s) { return std::max(-s.min_code(), s.max_code()); }

// m << sh when it stays below 2^62 (a lane value with room for one more addition), else -1.
i128 bound_at(i128 m, int sh) {
    if (m < 0 || sh < 0 || sh > 62 || m >= (i128(1) << 62)) return -1;
    const i128 v = m << sh;
    return v < (i128(1) << 62) ? v : -1;
}

}  // namespace

// The lanes_i64 path applies when, at the scalar path's common frac f, every lane value (the term's parts,
// each partial sum of term and accumulator, the table index arithmetic) provably stays below 2^62 and both
// casts are mac::Requant-exact on those values; otherwise vec_ stays false (the scalar i128 loop).
void KLScore::plan_lanes() {
    const Spec &in = in_.spec;
    if (!fixed::fits_int64(in) || !fixed::fits_int64(table_spec_) || !fixed::fits_int64(accum_) ||
        !fixed::fits_int64(out.spec) || in.width > 62 || table_spec_.width > 62)
        return;
    const int fx = in.frac(), ft = table_spec_.frac(), fa = accum_.frac();
    const int f = std::max({2 * fx, ft, fx, 0, fa});
    const i128 m_in = mag(in);
    i128 m_tab = mag(table_spec_);
    for (int64_t c : table_) {  // the entries as loaded, should one lie outside table_t
        const i128 v = fixed::value_of(c, table_spec_);
        m_tab = std::max(m_tab, v < 0 ? -v : v);
    }
    const i128 b_mu = bound_at(m_in * m_in, f - 2 * fx), b_acc = bound_at(mag(accum_), f - fa);
    i128 b_full = 0;  // |table value - 1| + |logvar|, at f
    if (full_) {
        const i128 b_tab = bound_at(m_tab, f - ft), b_one = bound_at(1, f), b_lv = bound_at(m_in, f - fx);
        b_full = (b_tab < 0 || b_one < 0 || b_lv < 0) ? -1 : b_tab + b_one + b_lv;
    }
    if (b_mu < 0 || b_acc < 0 || b_full < 0 || b_mu + b_acc + b_full >= (i128(1) << 62)) return;
    if (!mac::requant_ok(f, 62, accum_) || !mac::requant_ok(fa + (full_ ? 1 : 0), accum_.width, out.spec)) return;
    if (full_) {  // lut_index(lv, fx, n, r, true) on int64: g, num and the shift as there
        const int r = range_log2_, g = std::max(fx, -r);
        const i128 b_num = bound_at(m_in, g - fx), b_off = bound_at(1, r + g);
        if (b_num < 0 || b_off < 0 || (b_num + b_off) * table_size_ >= (i128(1) << 62)) return;
        idx_up_ = g - fx;
        idx_off_ = int64_t(i128(1) << (r + g));
        idx_shift_ = g + r + 1;  // >= 1 (g >= -r), <= 62 (2^(r+g) * n < 2^62)
        tab_f_.resize(table_.size());
        for (size_t k = 0; k < table_.size(); ++k)
            tab_f_[k] = int64_t((fixed::value_of(table_[k], table_spec_) << (f - ft)) - (i128(1) << f));
    }
    sh_mu_ = f - 2 * fx;
    sh_lv_ = f - fx;
    sh_acc_ = f - fa;
    to_acc_ = mac::Requant(f, accum_, 64);
    to_out_ = mac::Requant(fa + (full_ ? 1 : 0), out.spec, 64);
    vec_ = true;
}

namespace {

struct LanesArgs {
    const int64_t *x;
    size_t n, L;
    int sh_mu, sh_lv, sh_acc, idx_up, idx_shift;
    int64_t idx_off, n_tab;
    const int64_t *tab;
    mac::Requant to_acc;
    int64_t *acc_out;  // [n] accum_t codes
};

constexpr size_t kBlock = 64;

// Lane = event: per block, latent i outer and events inner (strided loads, no transpose), acc[] in the
// firmware's order; the term as the scalar path forms it, at f.
template <mac::QMode Q, mac::OMode O, bool Full>
L1EMU_AI void kl_lanes(const LanesArgs &a) {
    const mac::Requant r = a.to_acc;  // locals: the stores below could alias the arguments
    const size_t L = a.L, stride = 2 * L;
    const int sh_mu = a.sh_mu, sh_lv = a.sh_lv, sh_acc = a.sh_acc, idx_up = a.idx_up, idx_shift = a.idx_shift;
    const int64_t idx_off = a.idx_off, n_tab = a.n_tab, idx_hi = a.n_tab - 1;
    const int64_t *tab = a.tab;
    for (size_t e0 = 0; e0 < a.n; e0 += kBlock) {
        const size_t nb = std::min(kBlock, a.n - e0);
        const int64_t *xb = a.x + e0 * stride;
        int64_t acc[kBlock] = {};
        for (size_t i = 0; i < L; ++i) {
            for (size_t e = 0; e < nb; ++e) {
                const int64_t mu = xb[e * stride + i];
                int64_t t = int64_t(uint64_t(mu * mu) << sh_mu);
                if constexpr (Full) {
                    const int64_t lv = xb[e * stride + L + i];
                    const int64_t num = int64_t(uint64_t(lv) << idx_up) + idx_off;
                    // floor(num * n / 2^shift), clamped: num < 0 gives a negative quotient, hence index 0
                    const int64_t u = std::min(std::max((num * n_tab) >> idx_shift, int64_t(0)), idx_hi);
                    t += tab[u] - int64_t(uint64_t(lv) << sh_lv);
                }
                acc[e] = mac::requant<Q, O, int64_t>(int64_t(uint64_t(acc[e]) << sh_acc) + t, r);
            }
        }
        std::copy(acc, acc + nb, a.acc_out + e0);
    }
}

struct LanesOp {
    const LanesArgs &a;
    bool full;
    template <mac::QMode Q, mac::OMode O>
    L1EMU_AI void operator()() const {
        if (full)
            kl_lanes<Q, O, true>(a);
        else
            kl_lanes<Q, O, false>(a);
    }
};

L1EMU_CLONES void kl_lanes_dispatch(const LanesArgs &a, bool full) {
    LanesOp f{a, full};
    mac::with_modes(a.to_acc.q, a.to_acc.o, f);
}

}  // namespace

void KLScore::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    if (!vec_) {
        forward_scalar(in[0], out_codes, n, fixed::Fast{});
        return;
    }
    const LanesArgs a{in[0], n, n_latent_, sh_mu_, sh_lv_, sh_acc_, idx_up_, idx_shift_, idx_off_,
                      table_size_, tab_f_.data(), to_acc_, out_codes};
    kl_lanes_dispatch(a, full_);
    mac::requant_array(out_codes, n, to_out_, false, out_codes);  // accum_t -> res_t, in place
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
