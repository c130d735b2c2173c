// Random oracle families: wide casts (up to 64 bits), from_double, arithmetic, comparisons and shifts.
#include <cmath>
#include <cstring>

#include "fixed_oracle_common.h"

namespace oracle {

namespace {

std::size_t per_item(double total, std::size_t items) {
    return std::size_t(std::ceil(total * scale() / double(items)));
}

// ---- wide casts ---------------------------------------------------------------------------------------------

struct WidePair {
    TD src, dst;
};

// Sources: wide types, negative and beyond-width integer bits, and the exact types of ap_fixed<32,8> * and +
// ap_fixed<32,8> (ap_fixed<64,16>, ap_fixed<33,9>). Targets: widths 64, 63, 33, 32, 17 and 1. Per source, a
// mix of right shifts (including > source width), left shifts, overflow and sign changes.
constexpr TD kS64_20{64, 20, true}, kS64_m3{64, -3, true}, kU64_40{64, 40, false}, kS40_70{40, 70, true},
    kMul32{64, 16, true}, kAdd32{33, 9, true}, kU64_0{64, 0, false}, kS17_17{17, 17, true};
constexpr TD kT64_30{64, 30, true}, kU64_20{64, 20, false}, kT64_64{64, 64, true}, kT63_10{63, 10, true},
    kU63_m2{63, -2, false}, kT33_12{33, 12, true}, kU32_8{32, 8, false}, kT32_m5{32, -5, true},
    kT32_64{32, 64, true}, kT17_3{17, 3, true}, kU17_17{17, 17, false}, kU17_60{17, 60, false},
    kT1_1{1, 1, true}, kU1_0{1, 0, false}, kT1_m3{1, -3, true};

constexpr WidePair kWidePairs[] = {
    {kS64_20, kT64_30}, {kS64_20, kU63_m2}, {kS64_20, kT17_3},  {kS64_20, kU1_0},
    {kS64_m3, kU64_20}, {kS64_m3, kT32_m5}, {kS64_m3, kT1_m3},  {kS64_m3, kT63_10},
    {kU64_40, kT64_30}, {kU64_40, kT33_12}, {kU64_40, kU32_8},  {kU64_40, kU17_60},
    {kS40_70, kT32_64}, {kS40_70, kT64_64}, {kS40_70, kU17_17}, {kS40_70, kT1_1},
    {kMul32, kU32_8},   {kMul32, kT17_3},   {kMul32, kT64_64},  {kMul32, kU63_m2},
    {kAdd32, kT33_12},  {kAdd32, kU32_8},   {kAdd32, kU1_0},    {kAdd32, kU64_20},
    {kU64_0, kU63_m2},  {kU64_0, kT1_m3},   {kU64_0, kT64_30},  {kU64_0, kT32_m5},
    {kS17_17, kT17_3},  {kS17_17, kT1_1},   {kS17_17, kU17_60}, {kS17_17, kT32_64},
};
constexpr std::size_t kWidePairCount = sizeof kWidePairs / sizeof kWidePairs[0];

// The distinct targets above, for from_double.
constexpr TD kWideTargets[] = {kT64_30, kU64_20, kT64_64, kT63_10, kU63_m2, kT33_12, kU32_8, kT32_m5,
                               kT32_64, kT17_3,  kU17_17, kU17_60, kT1_1,  kU1_0,   kT1_m3};
constexpr std::size_t kWideTargetCount = sizeof kWideTargets / sizeof kWideTargets[0];

// Pair P in mode half P % 2: each source has two of its four targets in each half.
template <std::size_t P>
void wide_pair(Family &f, std::size_t n) {
    for_each_mode<P % 2>([&]<ap_q_mode Q, ap_o_mode O>(fx::QMode q, fx::OMode o) {
        std::mt19937_64 g = rng_for("cast_random", P * kModePairs + int(q) * 4 + int(o));
        const fx::Spec src = spec(kWidePairs[P].src), dst = spec(kWidePairs[P].dst, q, o);
        const std::vector<uint64_t> raw = random_codes(g, src, dst, n);
        std::vector<uint64_t> ref(n);
        ref_cast<kWidePairs[P].src, kWidePairs[P].dst, Q, O>(raw.data(), ref.data(), n);
        check_cast(f, src, dst, raw, ref);
    });
}

template <std::size_t T>
void wide_from_double(Family &f, Family &back_f, Family &nonfinite_f, std::size_t n) {
    from_double_modes<kWideTargets[T], T % 2>(f, back_f, [&](fx::QMode q, fx::OMode o) {
        std::mt19937_64 g = rng_for("from_double_random", T * kModePairs + int(q) * 4 + int(o));
        return random_doubles(g, spec(kWideTargets[T], q, o), n);
    });
    // inf and NaN: ap_fixed forces the hidden bit and treats exponent 1024 like any other.
    static const uint64_t kNonFinite[] = {0x7ff0000000000000ULL, 0xfff0000000000000ULL, 0x7ff8000000000000ULL,
                                          0xfff8000000000000ULL, 0x7ff0000000000001ULL, 0xfff0000000000001ULL,
                                          0x7fffffffffffffffULL, 0xffffffffffffffffULL, 0x7ff4000000000000ULL};
    std::vector<double> nf;
    for (uint64_t b : kNonFinite) {
        double x;
        std::memcpy(&x, &b, sizeof x);
        nf.push_back(x);
    }
    from_double_modes<kWideTargets[T], T % 2>(nonfinite_f, back_f, [&](fx::QMode, fx::OMode) { return nf; });
}

// ---- arithmetic ---------------------------------------------------------------------------------------------

struct ArithCase {
    TD a, b, t1, t2;
};

// Operand pairs (signed x signed, unsigned x signed with negative integer bits, the 64-bit product of
// ap_fixed<32,8>^2, and a 70-bit product held in multi-word ap_private) and two targets each, signed and
// unsigned.
constexpr ArithCase kArith[] = {
    {{16, 6, true}, {12, 3, true}, {12, 4, true}, {8, 2, false}},
    {{10, 2, false}, {8, -1, true}, {10, 3, true}, {6, 0, false}},
    {{32, 8, true}, {32, 8, true}, {32, 8, true}, {17, 12, false}},
    {{40, 10, true}, {30, 5, false}, {64, 20, true}, {24, 6, false}},
};
constexpr std::size_t kArithCount = sizeof kArith / sizeof kArith[0];

template <TD A, TD B, TD T, int OP, ap_q_mode Q, ap_o_mode O>
[[gnu::noinline]] void ref_arith(const uint64_t *a, const uint64_t *b, uint64_t *out, std::size_t n) {
    FXT<A> x;
    FXT<B> y;
    for (std::size_t k = 0; k < n; ++k) {
        x.setBits(a[k]);
        y.setBits(b[k]);
        if constexpr (OP == MUL) {
            const FXT<T, Q, O> r = x * y;
            out[k] = bits_of(r);
        } else if constexpr (OP == ADD) {
            const FXT<T, Q, O> r = x + y;
            out[k] = bits_of(r);
        } else {
            const FXT<T, Q, O> r = x - y;
            out[k] = bits_of(r);
        }
    }
}

// Case C, operation OP in mode half (C + OP) % 2.
template <std::size_t C, int OP, TD T>
void arith_target(Family &f, const std::vector<uint64_t> &a, const std::vector<uint64_t> &b) {
    for_each_mode<(C + OP) % 2>([&]<ap_q_mode Q, ap_o_mode O>(fx::QMode q, fx::OMode o) {
        std::vector<uint64_t> ref(a.size());
        ref_arith<kArith[C].a, kArith[C].b, T, OP, Q, O>(a.data(), b.data(), ref.data(), a.size());
        check_arith(f, OP, spec(kArith[C].a), spec(kArith[C].b), spec(T, q, o), a, b, ref);
    });
}

template <std::size_t C>
void arith_case(std::size_t n) {
    static constexpr ArithCase ac = kArith[C];
    std::mt19937_64 g = rng_for("arith", C);
    const fx::Spec sa = spec(ac.a), sb = spec(ac.b);
    // Operands biased towards the rails, zero, sign boundaries and trailing zeros (ties after the product).
    const std::vector<uint64_t> a = random_codes(g, sa, sa, n);
    const std::vector<uint64_t> b = operand_b(g, sa, a, sb);
    // One target per operation (each is 14 instantiations); t1 / t2 alternate over the cases.
    arith_target<C, MUL, ac.t1>(family("arith_mul"), a, b);
    arith_target<C, ADD, ac.t2>(family("arith_add"), a, b);
    arith_target<C, SUB, (C % 2 ? ac.t1 : ac.t2)>(family("arith_sub"), a, b);
}

// ---- comparisons --------------------------------------------------------------------------------------------

template <TD A, TD B, ap_q_mode Q, ap_o_mode O>
[[gnu::noinline]] void ref_compare(const uint64_t *a, const uint64_t *b, uint8_t *out, std::size_t n) {
    FXT<A, Q, O> x;
    FXT<B> y;
    for (std::size_t k = 0; k < n; ++k) {
        x.setBits(a[k]);
        y.setBits(b[k]);
        out[k] = uint8_t((x > y) | (x == y) << 1 | (x < y) << 2 | (x >= y) << 3 | (x != y) << 4 | (x <= y) << 5);
    }
}

// Comparisons do not depend on the modes; they are run with a's type in the mode pairs all the same (case C
// in half C % 2).
template <std::size_t C>
void compare_case(Family &f, std::size_t n) {
    for_each_mode<C % 2>([&]<ap_q_mode Q, ap_o_mode O>(fx::QMode q, fx::OMode o) {
        std::mt19937_64 g = rng_for("compare", C * kModePairs + int(q) * 4 + int(o));
        const fx::Spec sa = spec(kArith[C].a, q, o), sb = spec(kArith[C].b);
        const std::vector<uint64_t> a = random_codes(g, sa, sa, n);
        const std::vector<uint64_t> b = operand_b(g, sa, a, sb);
        std::vector<uint8_t> ref(n);
        ref_compare<kArith[C].a, kArith[C].b, Q, O>(a.data(), b.data(), ref.data(), n);
        check_compare(f, sa, sb, a, b, ref);
    });
}

// ---- shifts -------------------------------------------------------------------------------------------------

constexpr TD kShiftTypes[] = {{16, 6, true}, {10, 2, false}, {64, 20, true}, {64, 40, false}, {1, 1, true}, {7, -3, true}};
constexpr std::size_t kShiftTypeCount = sizeof kShiftTypes / sizeof kShiftTypes[0];

template <TD A, ap_q_mode Q, ap_o_mode O>
[[gnu::noinline]] void ref_shift(const uint64_t *a, const int *k, uint64_t *left, uint64_t *right, std::size_t n) {
    FXT<A, Q, O> x;
    for (std::size_t j = 0; j < n; ++j) {
        x.setBits(a[j]);
        left[j] = bits_of(x << k[j]);
        right[j] = bits_of(x >> k[j]);
    }
}

// ap_fixed's << and >> keep the operand's type (see check_shift).
template <std::size_t T>
void shift_case(Family &f, Family &own_f, std::size_t n) {
    for_each_mode<T % 2>([&]<ap_q_mode Q, ap_o_mode O>(fx::QMode q, fx::OMode o) {
        std::mt19937_64 g = rng_for("shift", T * kModePairs + int(q) * 4 + int(o));
        const fx::Spec s = spec(kShiftTypes[T], q, o);
        const std::vector<uint64_t> a = random_codes(g, s, s, n);
        std::vector<int> k(n);
        for (int &x : k) x = int(g() % uint64_t(s.width + 3));
        std::vector<uint64_t> left(n), right(n);
        ref_shift<kShiftTypes[T], Q, O>(a.data(), k.data(), left.data(), right.data(), n);
        check_shift(f, own_f, s, a, k, left, right);
    });
}

}  // namespace

void run_random() {
    // >= 1e6 cases per mode pair for the random casts and from_double, as required of the oracle: each mode
    // pair meets half of the pairs / targets (the smaller half for the odd count of targets).
    Family &cast_f = family("cast_random");
    const std::size_t n_cast = per_item(1e6, kWidePairCount / 2);
    [&]<std::size_t... P>(std::index_sequence<P...>) { (wide_pair<P>(cast_f, n_cast), ...); }(
        std::make_index_sequence<kWidePairCount>{});

    Family &fd_f = family("from_double_random");
    Family &back_f = family("to_double_random");
    Family &nf_f = family("from_double_nonfinite");
    const std::size_t n_fd = per_item(1e6, kWideTargetCount / 2);
    [&]<std::size_t... T>(std::index_sequence<T...>) { (wide_from_double<T>(fd_f, back_f, nf_f, n_fd), ...); }(
        std::make_index_sequence<kWideTargetCount>{});

    family("arith_mul");
    family("arith_add");
    family("arith_sub");
    const std::size_t n_arith = per_item(40000, 1);
    [&]<std::size_t... C>(std::index_sequence<C...>) { (arith_case<C>(n_arith), ...); }(
        std::make_index_sequence<kArithCount>{});

    Family &cmp_f = family("compare");
    [&]<std::size_t... C>(std::index_sequence<C...>) { (compare_case<C>(cmp_f, per_item(10000, 1)), ...); }(
        std::make_index_sequence<kArithCount>{});

    Family &sh_f = family("shift");
    Family &own_f = family("shift_as_own_mode_cast", true);
    [&]<std::size_t... T>(std::index_sequence<T...>) { (shift_case<T>(sh_f, own_f, per_item(10000, 1)), ...); }(
        std::make_index_sequence<kShiftTypeCount>{});
}

}  // namespace oracle
