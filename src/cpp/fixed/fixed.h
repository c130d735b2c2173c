// Runtime-typed fixed point with the semantics of Xilinx ap_fixed (ap_fixed_base.h as shipped by hls4ml).
// A value is an integer code; its type (Spec) is chosen at run time. Every operation is exact on codes:
// products and sums are formed in __int128 and only `quantize` loses information, exactly where an
// ap_fixed assignment would. Knows nothing of layers.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>

namespace l1emu::fixed {

using i128 = __int128;

enum class QMode : uint8_t { TRN, TRN_ZERO, RND, RND_ZERO, RND_MIN_INF, RND_INF, RND_CONV };
enum class OMode : uint8_t { WRAP, SAT, SAT_ZERO, SAT_SYM };

struct Spec {
    int width = 16;    // total bits, 1..64
    int integer = 6;   // integer bits incl. sign; may be negative or exceed width
    bool is_signed = true;
    QMode q = QMode::TRN;
    OMode o = OMode::WRAP;

    int frac() const { return width - integer; }
    i128 max_code() const;
    i128 min_code() const;
    bool operator==(const Spec &b) const {
        return width == b.width && integer == b.integer && is_signed == b.is_signed && q == b.q && o == b.o;
    }
    bool operator!=(const Spec &b) const { return !(*this == b); }
};

// Codes are stored in int64: signed types sign-extended, unsigned types zero-extended (an unsigned 64-bit
// code keeps its bit pattern). `value_of` gives the code as the integer it stands for.
inline i128 value_of(int64_t code, const Spec &s) { return s.is_signed ? i128(code) : i128(uint64_t(code)); }

// Assign the exact value v * 2^-src_frac to a variable of type s: quantization then overflow, as
// ap_fixed_base::operator= does. Any src_frac (shifts beyond 128 bits are handled).
int64_t quantize(i128 v, int src_frac, const Spec &s);

// True when every code of s is its own value as an int64 (all but ufixed<64,..>): hot paths then skip i128.
inline bool fits_int64(const Spec &s) { return s.is_signed || s.width < 64; }

// Fast path of quantize for int64 values with moderate shifts (the common case in layers); falls back to
// the general routine for anything else. Same results by construction (tested exhaustively).
inline int64_t quantize(int64_t v, int src_frac, const Spec &s) {
    const int sh = src_frac - s.frac();
    int64_t q;
    if (sh > 0 && sh < 62) {
        q = v >> sh;
        const int64_t rem = v - int64_t(uint64_t(q) << sh);
        if (rem != 0 && s.q != QMode::TRN) {
            const int64_t half = int64_t(1) << (sh - 1);
            const bool neg = v < 0;
            bool up = false;
            switch (s.q) {
                case QMode::TRN: break;
                case QMode::TRN_ZERO: up = neg; break;
                case QMode::RND: up = rem >= half; break;
                case QMode::RND_ZERO: up = rem > half || (rem == half && neg); break;
                case QMode::RND_MIN_INF: up = rem > half; break;
                case QMode::RND_INF: up = rem > half || (rem == half && !neg); break;
                case QMode::RND_CONV: up = rem > half || (rem == half && (q & 1)); break;
            }
            q += up;
        }
    } else if (sh <= 0 && sh > -62 && (v >> (62 + sh)) == (v >> 63)) {  // v << -sh keeps its sign bit
        q = int64_t(uint64_t(v) << -sh);
    } else {
        return quantize(i128(v), src_frac, s);
    }
    if (s.width >= 63) return quantize(i128(q), s.frac(), s);  // bounds need more than int64
    const int64_t lo = s.is_signed ? -(int64_t(1) << (s.width - 1)) : 0;
    const int64_t hi = s.is_signed ? (int64_t(1) << (s.width - 1)) - 1 : (int64_t(1) << s.width) - 1;
    if (q < lo || q > hi) return quantize(i128(q), s.frac(), s);  // overflow handling
    if (s.o == OMode::SAT_SYM && s.is_signed && s.width > 1 && q == lo) return -hi;  // 1 bit: stays min
    return q;
}

// Plain int constants (e.g. quantize(1, 0, s)) take the int64 path instead of being ambiguous.
inline int64_t quantize(int v, int src_frac, const Spec &s) { return quantize(int64_t(v), src_frac, s); }

// quantize of an i128 value that usually fits in int64 (layer intermediates held in i128 for safety): the
// inline int64 path when it fits, the general routine otherwise.
inline int64_t quantize_fast(i128 v, int src_frac, const Spec &s) {
    const int64_t lo = int64_t(v);
    return i128(lo) == v ? quantize(lo, src_frac, s) : quantize(v, src_frac, s);
}

// quantize(v, src_frac, s) for one (src_frac, s) applied to many int64 values: the truncating and rounding
// (AP_TRN, AP_RND) casts of in-range results inline with precomputed bounds; anything else (other modes,
// left shifts, overflow, |v| near 2^63) through quantize.
struct Cast64 {
    Spec s;
    int src_frac, sh;
    int64_t lo, hi, half;
    bool inline_q;
    Cast64(int src_frac_, const Spec &s_) : s(s_), src_frac(src_frac_), sh(src_frac_ - s_.frac()) {
        inline_q = (s.q == QMode::TRN || s.q == QMode::RND) && sh >= 0 && sh < 62 && s.width < 63;
        lo = inline_q ? int64_t(s.min_code()) + ((s.o == OMode::SAT_SYM && s.is_signed) ? 1 : 0) : 0;
        hi = inline_q ? int64_t(s.max_code()) : 0;
        half = (s.q == QMode::RND && sh > 0) ? int64_t(1) << (sh - 1) : 0;
    }
    int64_t operator()(int64_t v) const {
        constexpr int64_t kLimit = int64_t(1) << 61;
        if (!inline_q || v >= kLimit || v <= -kLimit) return quantize(v, src_frac, s);
        const int64_t q = (v + half) >> sh;
        return (q < lo || q > hi) ? quantize(v, src_frac, s) : q;
    }
};

// A Cast64 that truncates or rounds (AP_TRN, AP_RND) and saturates (AP_SAT), branch-free (shift, round, clamp)
// so that loops over many values vectorize; for values at least 2^61 away from int64's limits.
struct SatCast64 {
    int sh;
    int64_t half, lo, hi;
    static bool applies(const Cast64 &c) { return c.inline_q && c.s.o == OMode::SAT; }
    explicit SatCast64(const Cast64 &c) : sh(c.sh), half(c.half), lo(c.lo), hi(c.hi) {}
    int64_t operator()(int64_t v) const { return std::clamp((v + half) >> sh, lo, hi); }
};

// True when assigning any value of `from` with a code in [lo, hi] to `to` keeps its code unchanged: same LSB,
// the codes inside `to`'s range (and not the one code SAT_SYM moves). Layers then copy codes instead of casting.
inline bool codes_preserved(const Spec &from, const Spec &to, i128 lo, i128 hi) {
    if (!fits_int64(from) || !fits_int64(to) || from.frac() != to.frac()) return false;
    const i128 tlo = to.min_code() + ((to.o == OMode::SAT_SYM && to.is_signed) ? 1 : 0);
    return lo >= tlo && hi <= to.max_code();
}
inline bool codes_preserved(const Spec &from, const Spec &to) {
    return codes_preserved(from, to, from.min_code(), from.max_code());
}

// ap_fixed_base(double): NaN/inf follow ap_fixed's bit manipulation (callers refuse them earlier).
int64_t from_double(double d, const Spec &s);
// The value from_double assigns: d as man * 2^-frac (as ap_fixed reads the bits; exact for finite d).
void double_parts(double d, int64_t &man, int &frac);

// ap_fixed_base::to_double(): exact value rounded to nearest even.
double to_double(int64_t code, const Spec &s);

// Parse hls4ml / Vivado precision strings: fixed<16,6,RND,SAT,0>, ufixed<8,0>, ap_fixed<16,6,AP_RND,AP_SAT>,
// ap_ufixed<..>, ap_int<8>, ap_uint<1>, int<8>, uint<1>. Throws std::invalid_argument naming the problem.
Spec parse_spec(const std::string &text);

// Canonical hls4ml-style name, e.g. "fixed<16,6,RND,SAT>" (modes omitted when TRN/WRAP).
std::string spec_name(const Spec &s);

const char *qmode_name(QMode q);
const char *omode_name(OMode o);

// The low `width` bits of x as a code of type s: AP_WRAP without quantization.
int64_t wrap_bits(uint64_t x, const Spec &s);

// Number of significant bits of |v| (0 for v == 0).
int bit_length(i128 v);

}  // namespace l1emu::fixed
