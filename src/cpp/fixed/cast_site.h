// The one caster of the layers' scalar reference paths, as a compile-time policy:
//   Fast  — the plain ap_fixed assignment (quantize); what forward() runs;
//   Count — the same assignment, plus what it did recorded in the statistics of its cast site (the precision
//           audit: saturations, wraps, rounding changes, ranges and the bits the values needed).
// A kernel written once as `template <class Cast> ... cast(site, v, src_frac, spec)` gives both; the Fast
// instantiation is the code it replaced. Statistics are integer counts and min/max, so merging the
// per-thread statistics is exact and independent of the thread count and the order of events.
#pragma once

#include <climits>
#include <cstdint>
#include <limits>

#include "fixed.h"

namespace l1emu::fixed {

// Where a cast site's values must land: codes lo..hi at LSB 2^-frac, out-of-range values wrapped or saturated.
struct Target {
    int frac = 0;
    i128 lo = 0, hi = 0;
    QMode q = QMode::TRN;
    bool wrap = false;
    bool sym = false;  // AP_SAT_SYM on a signed type: the code lo becomes -hi
    static Target of(const Spec &s);
};

// What one cast site saw.
struct SiteStats {
    uint64_t casts = 0;
    uint64_t rounded = 0;    // quantization dropped non-zero bits (the value changed by rounding)
    uint64_t saturated = 0;  // overflow handled by saturation (SAT, SAT_ZERO, SAT_SYM incl. its min code; clamps)
    uint64_t wrapped = 0;    // overflow handled by wrapping
    uint64_t changed = 0;    // result != source value: rounded, saturated or wrapped
    uint64_t outside = 0;    // source value outside the target's representable range
    double min = std::numeric_limits<double>::infinity(), max = -std::numeric_limits<double>::infinity();
    // Bits the values needed (kMissing until a non-zero value is seen): a value v satisfies
    // -2^neg_bits <= v < 2^pos_bits; lsb_bits: fractional bits down to its lowest non-zero bit;
    // qpos/qneg_bits: the same bounds after quantization to the target's LSB (overflow not applied).
    static constexpr int kMissing = INT_MIN;
    int pos_bits = kMissing, neg_bits = kMissing, lsb_bits = kMissing, qpos_bits = kMissing, qneg_bits = kMissing;

    void record(i128 v, int src_frac, const Target &t);
    // An accumulation step: counts and range of the sum v as it is; the bits from the sums an accumulator
    // that never overflows would hold (what a wider type must fit): `exact` (exact products, at exact_frac)
    // and `ideal` (the products as quantized, at the target's LSB).
    void record_sum(i128 v, int src_frac, const Target &t, i128 exact, int exact_frac, i128 ideal);
    // A table index: the exact value v * 2^-src_frac became the integer `index` (before clamping to 0..n-1).
    void record_index(i128 v, int src_frac, int64_t index, int64_t n);
    void merge(const SiteStats &o);

   private:
    void count(i128 v, int src_frac, bool rem, bool huge, i128 q, i128 floor_q, const Target &t);
    void bits_of(i128 v, int src_frac, bool huge, i128 q, const Target &t);
};

// v * 2^-src_frac at s's LSB, rounded as s's quantization mode rounds, overflow not applied (shadow
// accumulators of the audit; magnitudes beyond 2^61 are only truncated).
i128 round_to_lsb(i128 v, int src_frac, const Spec &s);

// Kernels may skip work that cannot change a result (adding an exact zero) only when !Cast::counting: the
// audit sees every cast the firmware makes. sum(): an accumulation step (SiteStats::record_sum).
struct Fast {
    static constexpr bool counting = false;
    int64_t operator()(int, i128 v, int src_frac, const Spec &s) const { return quantize_fast(v, src_frac, s); }
    int64_t sum(int, i128 v, int src_frac, const Spec &s, i128, int, i128) const { return quantize_fast(v, src_frac, s); }
    void index(int, i128, int, int64_t, int64_t) const {}
};

struct Count {
    static constexpr bool counting = true;
    SiteStats *sites;  // the layer's sites, indexed as its sites() lists them
    int64_t operator()(int site, i128 v, int src_frac, const Spec &s) const {
        sites[site].record(v, src_frac, Target::of(s));
        return quantize_fast(v, src_frac, s);
    }
    int64_t sum(int site, i128 v, int src_frac, const Spec &s, i128 exact, int exact_frac, i128 ideal) const {
        sites[site].record_sum(v, src_frac, Target::of(s), exact, exact_frac, ideal);
        return quantize_fast(v, src_frac, s);
    }
    // A table index: the exact value v * 2^-src_frac became `index` (before clamping to a table of n entries).
    void index(int site, i128 v, int src_frac, int64_t index, int64_t n) const {
        sites[site].record_index(v, src_frac, index, n);
    }
};

}  // namespace l1emu::fixed
