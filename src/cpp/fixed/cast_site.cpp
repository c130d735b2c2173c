#include "cast_site.h"

#include <algorithm>
#include <cmath>

namespace l1emu::fixed {

namespace {

// Bits of the magnitude of m >= 0.
int bits(i128 m) { return bit_length(m); }

int trailing_zeros(i128 v) {
    const uint64_t lo = uint64_t(v), hi = uint64_t((unsigned __int128)v >> 64);
    return lo ? __builtin_ctzll(lo) : 64 + __builtin_ctzll(hi);
}

template <typename T>
void keep_max(T &a, T b) { a = std::max(a, b); }

}  // namespace

Target Target::of(const Spec &s) {
    Target t;
    t.frac = s.frac();
    t.lo = s.min_code();
    t.hi = s.max_code();
    t.q = s.q;
    t.wrap = s.o == OMode::WRAP;
    t.sym = s.o == OMode::SAT_SYM && s.is_signed && s.width > 1;
    return t;
}

i128 round_to_lsb(i128 v, int src_frac, const Spec &s) {
    const int sh = src_frac - s.frac();
    if (bits(v < 0 ? -(v + 1) : v) - sh >= 62) return sh >= 127 ? 0 : (sh > 0 ? v >> sh : v);  // huge anyway
    Spec wide = s;
    wide.width = 64;
    wide.integer = 64 - s.frac();
    wide.o = OMode::WRAP;
    return quantize(v, src_frac, wide);
}

namespace {
// v quantized to the target's LSB before overflow (q), floor(v) at that LSB, and whether bits were dropped.
struct Rounded {
    bool huge, rem;
    i128 q, floor_q;
};
Rounded round_for(i128 v, int src_frac, const Target &t) {
    const int sh = src_frac - t.frac;
    Rounded r{bits(v < 0 ? -(v + 1) : v) - sh >= 62, sh > 0 && (sh >= 127 ? v != 0 : (v & ((i128(1) << sh) - 1)) != 0), 0, 0};
    if (!r.huge) {
        Spec wide;
        wide.width = 64;
        wide.integer = 64 - t.frac;
        wide.q = t.q;
        wide.o = OMode::WRAP;
        r.q = quantize(v, src_frac, wide);
        r.floor_q = sh <= 0 ? r.q : (sh >= 127 ? (v < 0 ? -1 : 0) : v >> sh);
    }
    return r;
}
}  // namespace

void SiteStats::record(i128 v, int src_frac, const Target &t) {
    const Rounded r = round_for(v, src_frac, t);
    count(v, src_frac, r.rem, r.huge, r.q, r.floor_q, t);
    bits_of(v, src_frac, r.huge, r.q, t);
}

void SiteStats::record_sum(i128 v, int src_frac, const Target &t, i128 exact, int exact_frac, i128 ideal) {
    const Rounded r = round_for(v, src_frac, t);
    count(v, src_frac, r.rem, r.huge, r.q, r.floor_q, t);
    bits_of(exact, exact_frac, false, ideal, t);
}

void SiteStats::record_index(i128 v, int src_frac, int64_t index, int64_t n) {
    Target t;
    t.frac = 0;
    t.lo = 0;
    t.hi = n - 1;
    t.q = QMode::TRN_ZERO;
    const bool rem = src_frac > 0 && (src_frac >= 127 ? v != 0 : (v & ((i128(1) << src_frac) - 1)) != 0);
    const i128 floor_q = src_frac <= 0 ? i128(index) : (src_frac >= 127 ? (v < 0 ? -1 : 0) : v >> src_frac);
    count(v, src_frac, rem, false, index, floor_q, t);
    bits_of(v, src_frac, false, index, t);
}

void SiteStats::count(i128 v, int src_frac, bool rem, bool huge, i128 q, i128 floor_q, const Target &t) {
    ++casts;
    const bool over = huge || q < t.lo || q > t.hi;
    const bool sym_hit = !over && t.sym && q == t.lo;
    rounded += rem;
    if (over) ++(t.wrap ? wrapped : saturated);
    saturated += sym_hit;
    changed += rem || over || sym_hit;
    // outside [lo', hi] * 2^-frac (lo' = -hi for SAT_SYM): floor(v) < lo', or v > hi (floor >= hi, remainder)
    const i128 lo = t.sym ? -t.hi : t.lo;
    outside += huge || floor_q < lo || floor_q > t.hi || (floor_q == t.hi && rem);
    const double d = v == 0 ? 0.0 : std::ldexp(double(v), -src_frac);
    min = std::min(min, d);
    max = std::max(max, d);
}

void SiteStats::bits_of(i128 v, int src_frac, bool huge, i128 q, const Target &t) {
    if (v != 0) {
        // v > 0: v < 2^pos_bits; v < 0: v >= -2^neg_bits (v > -2^neg_bits for SAT_SYM targets)
        if (v > 0) keep_max(pos_bits, bits(v) - src_frac);
        else keep_max(neg_bits, (t.sym ? bits(-v) : bits(-(v + 1))) - src_frac);
        keep_max(lsb_bits, src_frac - trailing_zeros(v));
    }
    if (huge) {
        if (v > 0) keep_max(qpos_bits, pos_bits);
        else keep_max(qneg_bits, neg_bits);
    } else if (q > 0) {
        keep_max(qpos_bits, bits(q) - t.frac);
    } else if (q < 0) {
        keep_max(qneg_bits, (t.sym ? bits(-q) : bits(-(q + 1))) - t.frac);
    }
}

void SiteStats::merge(const SiteStats &o) {
    casts += o.casts;
    rounded += o.rounded;
    saturated += o.saturated;
    wrapped += o.wrapped;
    changed += o.changed;
    outside += o.outside;
    min = std::min(min, o.min);
    max = std::max(max, o.max);
    keep_max(pos_bits, o.pos_bits);
    keep_max(neg_bits, o.neg_bits);
    keep_max(lsb_bits, o.lsb_bits);
    keep_max(qpos_bits, o.qpos_bits);
    keep_max(qneg_bits, o.qneg_bits);
}

}  // namespace l1emu::fixed
