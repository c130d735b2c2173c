// Shared pieces of the ap_fixed oracle (tests/cpp/fixed_oracle*.cpp): type tables, the expansion over the 28
// (quantization, overflow) mode pairs, reference conversions instantiated from the real Xilinx headers, and the
// run-time comparison / reporting API (defined in fixed_oracle.cpp).
//
// Compile time is the constraint: every (source type, target type, mode pair) is its own instantiation of
// ap_fixed_base::operator= (or of the double constructor), and each costs 25-40 ms of g++ -O2, mostly in
// overload resolution inside ap_private. So
//  - everything that does not depend on a type at compile time (case generation, the l1emu::fixed side,
//    reporting) is plain code compiled once, and the templates only fill arrays of reference bits;
//  - a (source, target) pair is run in one half of the 28 mode pairs: those with (q + o + parity) even, q and
//    o being the indices of the modes. The parity alternates between the pairs of a table, so every mode
//    pair meets half of the type pairs, and each family reports how many mode pairs it reached and the
//    fewest cases any of them got (the test requires all 28);
//  - the instantiations are spread over translation units compiled in parallel.
#pragma once

// ap_private's default constructor sign-extends its still uninitialized word (clearUnusedBits), which GCC
// reports as -W(maybe-)uninitialized at our call sites once inlined, despite -isystem. Harmless: the value is
// always assigned right after. These two warnings are off in the oracle translation units.
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <ap_fixed.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "fixed/fixed.h"

namespace oracle {

namespace fx = l1emu::fixed;
using fx::i128;

// A fixed-point type without modes, usable as a template argument (C++20 class-type NTTP).
struct TD {
    int w, i;
    bool s;
};

template <int W, int I, bool S, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP>
using FX = std::conditional_t<S, ap_fixed<W, I, Q, O>, ap_ufixed<W, I, Q, O>>;

template <TD T, ap_q_mode Q = AP_TRN, ap_o_mode O = AP_WRAP>
using FXT = FX<T.w, T.i, T.s, Q, O>;

inline fx::Spec spec(TD t, fx::QMode q = fx::QMode::TRN, fx::OMode o = fx::OMode::WRAP) {
    return fx::Spec{t.w, t.i, t.s, q, o};
}

// Same order as fx::QMode / fx::OMode: mode pair k is (QMode(k / 4), OMode(k % 4)).
inline constexpr ap_q_mode kApQ[7] = {AP_TRN, AP_TRN_ZERO, AP_RND, AP_RND_ZERO, AP_RND_MIN_INF, AP_RND_INF, AP_RND_CONV};
inline constexpr ap_o_mode kApO[4] = {AP_WRAP, AP_SAT, AP_SAT_ZERO, AP_SAT_SYM};
inline constexpr int kModePairs = 28;

// Half 0 / 1 of the mode pairs: those with (q + o + half) even.
constexpr bool in_half(int k, int half) { return (k / 4 + k % 4 + half) % 2 == 0; }

template <int Half>
constexpr auto mode_list() {
    constexpr int n = [] {
        int c = 0;
        for (int k = 0; k < kModePairs; ++k) c += in_half(k, Half);
        return c;
    }();
    std::array<int, n> out{};
    int c = 0;
    for (int k = 0; k < kModePairs; ++k)
        if (in_half(k, Half)) out[c++] = k;
    return out;
}

template <int Half, class F, std::size_t... J>
void for_each_mode_impl(F &f, std::index_sequence<J...>) {
    constexpr auto ks = mode_list<Half>();
    (f.template operator()<kApQ[ks[J] / 4], kApO[ks[J] % 4]>(fx::QMode(ks[J] / 4), fx::OMode(ks[J] % 4)), ...);
}

// f.template operator()<Q, O>(fx::QMode, fx::OMode) for the 14 mode pairs of one half (0 or 1), e.g.
// [&]<ap_q_mode Q, ap_o_mode O>(fx::QMode q, fx::OMode o) { ... }.
template <int Half, class F>
void for_each_mode(F &&f) {
    for_each_mode_impl<Half>(f, std::make_index_sequence<mode_list<Half>().size()>{});
}

inline uint64_t mask_bits(int w) { return w >= 64 ? ~uint64_t(0) : (uint64_t(1) << w) - 1; }

// Raw bits of an ap_fixed of at most 64 bits.
template <class T>
inline uint64_t bits_of(const T &x) {
    static_assert(T::width <= 64);
    return uint64_t(x.V.get_VAL()) & mask_bits(T::width);
}

// ---- reference side: the Xilinx headers -------------------------------------------------------------------

// dst = src (ap_fixed_base::operator=) for every raw source pattern.
template <TD S, TD D, ap_q_mode Q, ap_o_mode O>
[[gnu::noinline]] void ref_cast(const uint64_t *in, uint64_t *out, std::size_t n) {
    FXT<S> src;
    for (std::size_t k = 0; k < n; ++k) {
        src.setBits(in[k]);
        const FXT<D, Q, O> dst = src;
        out[k] = bits_of(dst);
    }
}

// ap_fixed_base(double).
template <TD D, ap_q_mode Q, ap_o_mode O>
[[gnu::noinline]] void ref_from_double(const double *in, uint64_t *out, std::size_t n) {
    for (std::size_t k = 0; k < n; ++k) {
        const FXT<D, Q, O> x(in[k]);
        out[k] = bits_of(x);
    }
}

// to_double() of raw codes; it does not depend on the modes, so one instantiation per type serves all of them.
template <TD S>
[[gnu::noinline]] void ref_to_double(const uint64_t *in, double *out, std::size_t n) {
    FXT<S> x;
    for (std::size_t k = 0; k < n; ++k) {
        x.setBits(in[k]);
        out[k] = x.to_double();
    }
}

// ---- run-time side (fixed_oracle.cpp) ---------------------------------------------------------------------

struct Family {
    std::string name;
    uint64_t cases = 0, mismatches = 0;
    bool informational = false;  // counted and printed, but not part of TOTAL (documents a known difference)
    uint64_t per_mode[kModePairs] = {};  // cases per mode pair (of the target, or of the operand type)

    void add(const fx::Spec &s, uint64_t n) {
        cases += n;
        per_mode[int(s.q) * 4 + int(s.o)] += n;
    }
};

// Registered in first-use order, which is the print order.
Family &family(const std::string &name, bool informational = false);
// Counts a mismatch; the first few details are kept for printing.
void mismatch(Family &f, const std::string &detail);
// Multiplier on the random case counts (--scale); exhaustive families are never scaled.
double scale();
// Deterministic generator for one named stream of cases (fixed seed mixed with the name and an index).
std::mt19937_64 rng_for(const std::string &stream, uint64_t index = 0);

// "0x1a3 (=-93*2^-4)" for a raw code of type s.
std::string show(const fx::Spec &s, uint64_t raw);
std::string show_double(double d);

// Compare reference bits of `dst = src` with fx::quantize, case by case.
void check_cast(Family &f, const fx::Spec &src, const fx::Spec &dst, const std::vector<uint64_t> &raw,
                const std::vector<uint64_t> &ref);
// Compare ap_fixed(double) bits with fx::from_double, and to_double() of the result with fx::to_double.
void check_from_double(Family &f, Family &back_f, const fx::Spec &dst, const std::vector<double> &in,
                       const std::vector<uint64_t> &ref, const std::vector<double> &back);
void check_to_double(Family &f, const fx::Spec &src, const std::vector<uint64_t> &raw, const std::vector<double> &ref);

// Operations of the arithmetic families.
enum Op { MUL, ADD, SUB };
// Reference results of a OP b assigned to dst, against quantize of the exact i128 result.
void check_arith(Family &f, int op, const fx::Spec &sa, const fx::Spec &sb, const fx::Spec &dst,
                 const std::vector<uint64_t> &a, const std::vector<uint64_t> &b, const std::vector<uint64_t> &ref);
// Reference flags (>, ==, <, >=, !=, <=) as bits 0..5, against comparing the exact values.
void check_compare(Family &f, const fx::Spec &sa, const fx::Spec &sb, const std::vector<uint64_t> &a,
                   const std::vector<uint64_t> &b, const std::vector<uint8_t> &ref);
// Reference a << k and a >> k (type of a) against quantize into a's type in TRN/WRAP; own_f counts how often
// quantize in a's own modes would differ (informational).
void check_shift(Family &f, Family &own_f, const fx::Spec &s, const std::vector<uint64_t> &a,
                 const std::vector<int> &k, const std::vector<uint64_t> &left, const std::vector<uint64_t> &right);
// Second operand: random, or a's value truncated into b's type (so that a == b happens often).
std::vector<uint64_t> operand_b(std::mt19937_64 &g, const fx::Spec &sa, const std::vector<uint64_t> &a,
                                const fx::Spec &sb);

// Random raw source codes biased towards the rails of source and target, ties of the target LSB and sign
// boundaries.
std::vector<uint64_t> random_codes(std::mt19937_64 &g, const fx::Spec &src, const fx::Spec &dst, std::size_t n);
// Random finite doubles biased towards the range, LSB ties and rails of dst, plus tiny and huge magnitudes.
std::vector<double> random_doubles(std::mt19937_64 &g, const fx::Spec &dst, std::size_t n);

// Templated drivers: one (source, target) pair in the mode pairs of one half.
template <TD S, TD D, int Half>
void cast_pair(Family &f, const std::vector<uint64_t> &raw) {
    std::vector<uint64_t> ref(raw.size());
    for_each_mode<Half>([&]<ap_q_mode Q, ap_o_mode O>(fx::QMode q, fx::OMode o) {
        ref_cast<S, D, Q, O>(raw.data(), ref.data(), raw.size());
        check_cast(f, spec(S), spec(D, q, o), raw, ref);
    });
}

// `in_for(q, o)` gives the doubles to try for one mode pair (may depend on it, e.g. for a random stream).
template <TD D, int Half, class In>
void from_double_modes(Family &f, Family &back_f, In &&in_for) {
    for_each_mode<Half>([&]<ap_q_mode Q, ap_o_mode O>(fx::QMode q, fx::OMode o) {
        const std::vector<double> in = in_for(q, o);
        std::vector<uint64_t> ref(in.size());
        std::vector<double> back(in.size());
        ref_from_double<D, Q, O>(in.data(), ref.data(), in.size());
        ref_to_double<D>(ref.data(), back.data(), ref.size());
        check_from_double(f, back_f, spec(D, q, o), in, ref, back);
    });
}

// ---- exhaustive type tables ----------------------------------------------------------------------------

// Sources: widths {1,2,3,5,8,10} x integer bits {-2, 0, 1, W/2, W, W+3} (duplicates dropped), signed then unsigned.
inline constexpr int kExhWidths[] = {1, 2, 3, 5, 8, 10};
inline constexpr int kExhSrcPerSign = 32;
inline constexpr int kExhSrcCount = 2 * kExhSrcPerSign;

constexpr std::array<TD, kExhSrcCount> make_exh_sources() {
    std::array<TD, kExhSrcCount> out{};
    int n = 0;
    for (int s = 1; s >= 0; --s)
        for (int w : kExhWidths) {
            const int is[] = {-2, 0, 1, w / 2, w, w + 3};
            for (int a = 0; a < 6; ++a) {
                bool dup = false;
                for (int b = 0; b < a; ++b) dup |= is[b] == is[a];
                if (!dup) out[n++] = TD{w, is[a], s == 1};
            }
        }
    if (n != kExhSrcCount) throw "source count";  // not a constant expression -> compile error
    return out;
}
inline constexpr auto kExhSources = make_exh_sources();

// Targets: widths 1..10, both signs, integer bits negative, zero, inside, equal to and beyond the width.
inline constexpr TD kExhTargets[] = {
    {1, 1, true},  {1, -1, true}, {2, 0, true},  {3, 1, true},   {3, 8, true},   {4, -2, true},  {4, 2, true},
    {4, 10, true}, {5, 5, true},  {6, 3, true},  {7, 9, true},   {8, 1, true},   {9, 12, true},  {10, 4, true},
    {10, -3, true}, {1, 0, false}, {1, 3, false}, {2, 2, false}, {2, 7, false},  {3, -1, false}, {4, 1, false},
    {5, 2, false}, {6, 8, false}, {7, 0, false}, {8, 4, false},  {9, -2, false}, {10, 5, false}, {10, 11, false},
};
inline constexpr int kExhTgtCount = int(sizeof kExhTargets / sizeof kExhTargets[0]);

struct PairIdx {
    int src, dst;
};

// Each source is cast to two targets from the table (two, not more: every (source, target, mode) triple is a
// ~25 ms template instantiation), chosen by rotation so that every target is reached from several sources:
// (A) one with fewer fractional bits and no more integer bits (rounding, ties, carries into overflow);
// (B) one of the other signedness: for odd sources preferably not wider in integer bits (saturation of
//     negatives, sign changes), for even sources preferably one whose LSB lies at or above the source's MSB
//     (right shift >= source width: the all-sign-bits paths of quantization) or with more fractional bits
//     (left shifts).
inline constexpr int kExhPairsPerSrc = 2;
inline constexpr int kExhPairCount = kExhSrcCount * kExhPairsPerSrc;

constexpr bool target_rule(int src, int t, int rule) {
    const TD s = kExhSources[src], d = kExhTargets[t];
    const int f2 = s.w - s.i, f = d.w - d.i;
    switch (rule) {
        case 0: return f < f2 && d.i <= s.i;
        case 1: return f < f2;
        case 2: return d.s != s.s && d.i <= s.i + 1;
        case 3: return d.s != s.s && f <= f2 - s.w;
        case 4: return d.s != s.s && f > f2;
        case 5: return d.s != s.s;
        default: return true;
    }
}

// Among the targets allowed by the first satisfiable rule of the set, the least used so far (ties broken by
// a rotation), which spreads the pairs over the whole target table.
constexpr int pick_target(int src, int which, int avoid, const int *used) {
    const int tries[3][4] = {{0, 1, 6, 6}, {2, 5, 6, 6}, {3, 4, 5, 6}};
    const int set = which == 0 ? 0 : (src % 2 ? 1 : 2);
    for (int r : tries[set]) {
        int best = -1;
        for (int j = 0; j < kExhTgtCount; ++j) {
            const int t = (j + src * 7 + which * 3) % kExhTgtCount;
            if (t != avoid && target_rule(src, t, r) && (best < 0 || used[t] < used[best])) best = t;
        }
        if (best >= 0) return best;
    }
    throw "no target";  // not a constant expression -> compile error
}

constexpr std::array<PairIdx, kExhPairCount> make_exh_pairs() {
    std::array<PairIdx, kExhPairCount> out{};
    int used[kExhTgtCount] = {};
    for (int s = 0; s < kExhSrcCount; ++s) {
        const int a = pick_target(s, 0, -1, used);
        ++used[a];
        const int b = pick_target(s, 1, a, used);
        ++used[b];
        out[kExhPairsPerSrc * s] = {s, a};
        out[kExhPairsPerSrc * s + 1] = {s, b};
    }
    for (int t = 0; t < kExhTgtCount; ++t)
        if (!used[t]) throw "unused target";
    return out;
}
inline constexpr auto kExhPairs = make_exh_pairs();

// Per-target doubles for the exhaustive from_double check: every code of every source paired with the target,
// as an exact double, and that value +/- half an LSB of the target (fixed_oracle.cpp).
const std::vector<double> &exh_doubles_for_target(int t);
// Every raw code of a type of width <= 16.
std::vector<uint64_t> all_codes(int width);

// Pair number N of kExhPairs, in the mode half (source + which-target) % 2: every source meets every mode
// pair, through one of its two targets, and both target rules meet every mode pair.
template <int N>
void exh_pair(Family &f) {
    static constexpr PairIdx p = kExhPairs[N];
    static constexpr TD s = kExhSources[p.src], d = kExhTargets[p.dst];
    cast_pair<s, d, (p.src + N % kExhPairsPerSrc) % 2>(f, all_codes(s.w));
}

// Target T in mode half (T / 2) % 2, so that both translation units (even / odd T) see both halves.
template <int T>
void exh_from_double(Family &f, Family &back_f) {
    const std::vector<double> &in = exh_doubles_for_target(T);
    from_double_modes<kExhTargets[T], (T / 2) % 2>(f, back_f, [&](fx::QMode, fx::OMode) { return in; });
}

template <int S>
void exh_to_double(Family &f) {
    const std::vector<uint64_t> raw = all_codes(kExhSources[S].w);
    std::vector<double> ref(raw.size());
    ref_to_double<kExhSources[S]>(raw.data(), ref.data(), raw.size());
    check_to_double(f, spec(kExhSources[S]), raw, ref);
}

// Part 0: signed sources (and even-numbered targets for from_double), part 1: unsigned sources (odd targets).
// Instantiated in fixed_oracle_exh_signed.cpp / fixed_oracle_exh_unsigned.cpp so both compile in parallel.
template <int Part>
void run_exhaustive_part() {
    constexpr int first_src = Part * kExhSrcPerSign;
    constexpr int first_pair = first_src * kExhPairsPerSrc;
    Family &cast_f = family("cast_exhaustive");
    Family &fd_f = family("from_double_exhaustive");
    Family &td_f = family("to_double_exhaustive");
    [&]<std::size_t... P>(std::index_sequence<P...>) {
        (exh_pair<first_pair + int(P)>(cast_f), ...);
    }(std::make_index_sequence<kExhSrcPerSign * kExhPairsPerSrc>{});
    [&]<std::size_t... S>(std::index_sequence<S...>) {
        (exh_to_double<first_src + int(S)>(td_f), ...);
    }(std::make_index_sequence<kExhSrcPerSign>{});
    [&]<std::size_t... T>(std::index_sequence<T...>) {
        (exh_from_double<2 * int(T) + Part>(fd_f, td_f), ...);
    }(std::make_index_sequence<(kExhTgtCount + 1 - Part) / 2>{});
}

void run_exhaustive_signed();    // fixed_oracle_exh_signed.cpp
void run_exhaustive_unsigned();  // fixed_oracle_exh_unsigned.cpp
// Random wide casts, random from_double, arithmetic / compare / shift (fixed_oracle_random.cpp).
void run_random();

}  // namespace oracle
