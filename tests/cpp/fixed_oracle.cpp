// Oracle test of l1emu::fixed against the Xilinx ap_fixed headers shipped with hls4ml, compared on raw bits.
//
//   fixed_oracle [--scale S] [--details N]
//
// Families (every one reaches all 28 (quantization, overflow) mode pairs of the target / operand type; each
// (source, target) pair runs in one half of them, see fixed_oracle_common.h):
//   cast_exhaustive        every code of 64 narrow source types (widths 1..10) cast to narrow targets
//                          (ap_fixed_base::operator=) against quantize(value, F_src, target)
//   from_double_exhaustive every code of those sources as a double, and +/- half an LSB of the target
//   to_double_exhaustive   to_double() of every source code and of every from_double result above
//   cast_random            >= 1e6 biased random casts per mode pair between types up to 64 bits
//   from_double_random     >= 1e6 random finite doubles per mode pair
//   from_double_nonfinite  inf / NaN bit patterns (ap_fixed's bit manipulation, reproduced by l1emu)
//   to_double_random       to_double() of the from_double_random results
//   arith_mul/add/sub      ap_fixed products / sums / differences (exact) assigned to targets, against
//                          quantize of the exact i128 result
//   compare                >, ==, <, >=, !=, <= between mixed types, against the exact values
//   shift                  a << k, a >> k (same type, plain bit shifts) against quantize in TRN/WRAP
// Every quantize of a value that fits in int64 is checked through both overloads (i128, and int64 where
// fixed.h has an inline fast path). The informational family shift_as_own_mode_cast counts how often a shift
// would differ from a cast in the type's own modes (it is not one).
//
// Prints one line per family and "TOTAL: N cases, M mismatches"; the first mismatches in detail; exits 1 on
// any mismatch. --scale multiplies the random case counts (exhaustive families are never scaled); --details
// sets how many mismatches are printed in full (default 20).
#include <algorithm>
#include <cfloat>
#include <chrono>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>

#include "fixed_oracle_common.h"

namespace oracle {

namespace {

std::vector<std::unique_ptr<Family>> g_families;
std::vector<std::string> g_details;
std::size_t g_max_details = 20;
double g_scale = 1.0;

std::string i128_str(i128 v) {
    if (v == 0) return "0";
    const bool neg = v < 0;
    unsigned __int128 m = neg ? (unsigned __int128)0 - (unsigned __int128)v : (unsigned __int128)v;
    std::string s;
    while (m) {
        s.insert(s.begin(), char('0' + int(m % 10)));
        m /= 10;
    }
    return neg ? "-" + s : s;
}

std::string full_name(const fx::Spec &s) {
    return std::string(s.is_signed ? "fixed<" : "ufixed<") + std::to_string(s.width) + "," +
           std::to_string(s.integer) + "," + fx::qmode_name(s.q) + "," + fx::omode_name(s.o) + ">";
}

uint64_t dbits(double d) {
    uint64_t b;
    std::memcpy(&b, &d, sizeof b);
    return b;
}

}  // namespace

Family &family(const std::string &name, bool informational) {
    for (auto &f : g_families)
        if (f->name == name) return *f;
    g_families.push_back(std::make_unique<Family>());
    g_families.back()->name = name;
    g_families.back()->informational = informational;
    return *g_families.back();
}

void mismatch(Family &f, const std::string &detail) {
    ++f.mismatches;
    if (!f.informational && g_details.size() < g_max_details) g_details.push_back(f.name + ": " + detail);
}

double scale() { return g_scale; }

std::mt19937_64 rng_for(const std::string &stream, uint64_t index) {
    uint64_t h = 1469598103934665603ULL;  // FNV-1a of the stream name: independent, order-free streams
    for (char c : stream) h = (h ^ uint8_t(c)) * 1099511628211ULL;
    return std::mt19937_64(h ^ (0x9e3779b97f4a7c15ULL * (index + 1)) ^ 20240611ULL);
}

std::string show(const fx::Spec &s, uint64_t raw) {
    char hex[40];
    std::snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)(raw & mask_bits(s.width)));
    const i128 v = fx::value_of(fx::wrap_bits(raw, s), s);
    return std::string(hex) + " (=" + i128_str(v) + "*2^" + std::to_string(-s.frac()) + ")";
}

std::string show_double(double d) {
    char buf[80];
    std::snprintf(buf, sizeof buf, "%a (%.17g)", d, d);
    return buf;
}

std::vector<uint64_t> all_codes(int width) {
    std::vector<uint64_t> out(std::size_t(1) << width);
    for (std::size_t k = 0; k < out.size(); ++k) out[k] = k;
    return out;
}

const std::vector<double> &exh_doubles_for_target(int t) {
    static std::map<int, std::vector<double>> cache;
    auto it = cache.find(t);
    if (it != cache.end()) return it->second;
    std::vector<double> out;
    const TD d = kExhTargets[t];
    const double half = std::ldexp(1.0, -(d.w - d.i) - 1);
    for (const PairIdx &p : kExhPairs) {
        if (p.dst != t) continue;
        const fx::Spec s = spec(kExhSources[p.src]);
        for (uint64_t raw : all_codes(s.width)) {
            // <= 10-bit codes, LSBs >= 2^-13 and |values| < 2^14: all three sums are exact doubles.
            const double v = std::ldexp(double(fx::value_of(fx::wrap_bits(raw, s), s)), -s.frac());
            out.insert(out.end(), {v, v + half, v - half});
        }
    }
    return cache.emplace(t, std::move(out)).first->second;
}

namespace {

// quantize(v, frac, dst) as raw bits, through the i128 routine and, when v fits in int64, also through the
// int64 overload (fixed.h's inline fast path, where there is one; otherwise the same i128 routine). True when
// both give `ref`; else *got describes what each gave.
bool quantize_matches(i128 v, int frac, const fx::Spec &dst, uint64_t ref, std::string *got) {
    const uint64_t m = mask_bits(dst.width);
    const uint64_t wide = uint64_t(fx::quantize(v, frac, dst)) & m;
    const bool fits = v >= INT64_MIN && v <= INT64_MAX;
    const uint64_t narrow = fits ? uint64_t(fx::quantize(int64_t(v), frac, dst)) & m : wide;
    if (wide == ref && narrow == ref) return true;
    *got = show(dst, wide) + (fits ? " [quantize(i128)], " + show(dst, narrow) + " [quantize(int64)]" : "");
    return false;
}

// The exact result of a OP b as (value, fractional bits).
std::pair<i128, int> exact(int op, const fx::Spec &sa, uint64_t ra, const fx::Spec &sb, uint64_t rb) {
    const i128 va = fx::value_of(fx::wrap_bits(ra, sa), sa), vb = fx::value_of(fx::wrap_bits(rb, sb), sb);
    if (op == MUL) return {va * vb, sa.frac() + sb.frac()};
    const int f = std::max(sa.frac(), sb.frac());
    const i128 xa = va * (i128(1) << (f - sa.frac())), xb = vb * (i128(1) << (f - sb.frac()));
    return {op == ADD ? xa + xb : xa - xb, f};
}

}  // namespace

void check_cast(Family &f, const fx::Spec &src, const fx::Spec &dst, const std::vector<uint64_t> &raw,
                const std::vector<uint64_t> &ref) {
    const int sf = src.frac();
    std::string got;
    for (std::size_t k = 0; k < raw.size(); ++k)
        if (!quantize_matches(fx::value_of(fx::wrap_bits(raw[k], src), src), sf, dst, ref[k], &got))
            mismatch(f, full_name(src) + " -> " + full_name(dst) + ": src " + show(src, raw[k]) + " expected " +
                            show(dst, ref[k]) + " got " + got);
    f.add(dst, raw.size());
}

void check_arith(Family &f, int op, const fx::Spec &sa, const fx::Spec &sb, const fx::Spec &dst,
                 const std::vector<uint64_t> &a, const std::vector<uint64_t> &b, const std::vector<uint64_t> &ref) {
    static const char *const kOpName[] = {"*", "+", "-"};
    std::string got;
    for (std::size_t k = 0; k < a.size(); ++k) {
        const auto [v, frac] = exact(op, sa, a[k], sb, b[k]);
        if (!quantize_matches(v, frac, dst, ref[k], &got))
            mismatch(f, full_name(sa) + " " + show(sa, a[k]) + " " + kOpName[op] + " " + full_name(sb) + " " +
                            show(sb, b[k]) + " -> " + full_name(dst) + ": expected " + show(dst, ref[k]) + " got " +
                            got);
    }
    f.add(dst, a.size());
}

void check_compare(Family &f, const fx::Spec &sa, const fx::Spec &sb, const std::vector<uint64_t> &a,
                   const std::vector<uint64_t> &b, const std::vector<uint8_t> &ref) {
    for (std::size_t k = 0; k < a.size(); ++k) {
        const i128 d = exact(SUB, sa, a[k], sb, b[k]).first;
        const uint8_t got =
            uint8_t((d > 0) | (d == 0) << 1 | (d < 0) << 2 | (d >= 0) << 3 | (d != 0) << 4 | (d <= 0) << 5);
        if (got != ref[k])
            mismatch(f, full_name(sa) + " " + show(sa, a[k]) + " vs " + full_name(sb) + " " + show(sb, b[k]) +
                            ": flags >,==,<,>=,!=,<= expected " + std::to_string(ref[k]) + " got " +
                            std::to_string(got));
    }
    f.add(sa, a.size());
}

// ap_fixed's << and >> keep the operand's type and, without __SC_COMPATIBLE__, do no quantization or overflow
// handling: the code is shifted within the width (ap_private: 0 once k >= W for <<, sign fill for >>). Our
// reading: quantize(v, F - k) / quantize(v, F + k) into the same type in TRN/WRAP (counted). The same casts in
// the type's own modes are counted in own_f, which documents that they are not what ap_fixed does.
void check_shift(Family &f, Family &own_f, const fx::Spec &s, const std::vector<uint64_t> &a,
                 const std::vector<int> &k, const std::vector<uint64_t> &left, const std::vector<uint64_t> &right) {
    const fx::Spec plain{s.width, s.integer, s.is_signed, fx::QMode::TRN, fx::OMode::WRAP};
    const uint64_t m = mask_bits(s.width);
    std::string got;
    for (std::size_t j = 0; j < a.size(); ++j) {
        const i128 v = fx::value_of(fx::wrap_bits(a[j], s), s);
        if (!quantize_matches(v, s.frac() - k[j], plain, left[j], &got))
            mismatch(f, full_name(s) + " " + show(s, a[j]) + " << " + std::to_string(k[j]) + ": expected " +
                            show(s, left[j]) + " got " + got);
        if (!quantize_matches(v, s.frac() + k[j], plain, right[j], &got))
            mismatch(f, full_name(s) + " " + show(s, a[j]) + " >> " + std::to_string(k[j]) + ": expected " +
                            show(s, right[j]) + " got " + got);
        own_f.mismatches += (uint64_t(fx::quantize(v, s.frac() - k[j], s)) & m) != left[j];
        own_f.mismatches += (uint64_t(fx::quantize(v, s.frac() + k[j], s)) & m) != right[j];
    }
    f.add(s, 2 * a.size());
    own_f.add(s, 2 * a.size());
}

std::vector<uint64_t> operand_b(std::mt19937_64 &g, const fx::Spec &sa, const std::vector<uint64_t> &a,
                                const fx::Spec &sb) {
    std::vector<uint64_t> b = random_codes(g, sb, sb, a.size());
    const fx::Spec trunc{sb.width, sb.integer, sb.is_signed, fx::QMode::TRN, fx::OMode::WRAP};
    for (std::size_t k = 0; k < a.size(); ++k)
        if (g() % 3 == 0) {
            const i128 va = fx::value_of(fx::wrap_bits(a[k], sa), sa);
            b[k] = uint64_t(fx::quantize(va, sa.frac(), trunc)) & mask_bits(sb.width);
        }
    return b;
}

void check_from_double(Family &f, Family &back_f, const fx::Spec &dst, const std::vector<double> &in,
                       const std::vector<uint64_t> &ref, const std::vector<double> &back) {
    const uint64_t m = mask_bits(dst.width);
    for (std::size_t k = 0; k < in.size(); ++k) {
        const uint64_t got = uint64_t(fx::from_double(in[k], dst)) & m;
        if (got != ref[k])
            mismatch(f, full_name(dst) + "(" + show_double(in[k]) + "): expected " + show(dst, ref[k]) + " got " +
                            show(dst, got));
        // to_double of the reference result, so that it is checked independently of from_double.
        const double ours = fx::to_double(fx::wrap_bits(ref[k], dst), dst);
        if (dbits(ours) != dbits(back[k]))
            mismatch(back_f, full_name(dst) + " code " + show(dst, ref[k]) + ": expected " + show_double(back[k]) +
                                 " got " + show_double(ours));
    }
    f.add(dst, in.size());
    back_f.add(dst, in.size());
}

void check_to_double(Family &f, const fx::Spec &src, const std::vector<uint64_t> &raw, const std::vector<double> &ref) {
    for (std::size_t k = 0; k < raw.size(); ++k) {
        const double ours = fx::to_double(fx::wrap_bits(raw[k], src), src);
        if (dbits(ours) != dbits(ref[k]))
            mismatch(f, full_name(src) + " code " + show(src, raw[k]) + ": expected " + show_double(ref[k]) +
                            " got " + show_double(ours));
    }
    f.add(src, raw.size());
}

namespace {

// 2^sh as a 64-bit pattern (0 when it falls off the top): codes only matter modulo 2^64 >= 2^width.
uint64_t pow2_bits(int sh) { return sh >= 0 && sh < 64 ? uint64_t(1) << sh : 0; }

// t * 2^sh modulo 2^64 (sh >= 0), or floor(t * 2^sh) (sh < 0).
uint64_t scale_bits(i128 t, int sh) {
    if (sh >= 0) return sh < 64 ? uint64_t(t) << sh : 0;
    if (-sh >= 127) return t < 0 ? ~uint64_t(0) : 0;
    return uint64_t(t >> -sh);
}

}  // namespace

std::vector<uint64_t> random_codes(std::mt19937_64 &g, const fx::Spec &src, const fx::Spec &dst, std::size_t n) {
    std::vector<uint64_t> out;
    out.reserve(n);
    const int sh = src.frac() - dst.frac();  // > 0: the cast drops sh bits (rounding)
    const int w2 = src.width;
    const i128 smin = src.min_code(), smax = src.max_code(), tmin = dst.min_code(), tmax = dst.max_code();
    auto pick = [&](std::initializer_list<i128> xs) { return *(xs.begin() + g() % xs.size()); };
    auto small = [&]() { return i128(int64_t(g() % 7) - 3); };
    for (std::size_t k = 0; k < n; ++k) {
        uint64_t raw = 0;
        switch (g() % 10) {
            case 0:
            case 1:  // uniform
                raw = g();
                break;
            case 2:  // rails of the source
                raw = uint64_t(pick({smin, smax, smin + 1, smax - 1, 0, 1, -1, smin + 2, smax - 2}));
                break;
            case 3: {  // the source value of a target rail, plus a fraction of a target LSB
                const i128 t = pick({tmin, tmax, tmin + 1, tmax - 1, tmax + 1, tmin - 1, 0, 1, -1});
                raw = scale_bits(t, sh);
                if (sh > 0) {
                    const uint64_t half = pow2_bits(sh - 1);
                    raw += pick({0, 1, -1, i128(half), i128(half) - 1, i128(half) + 1, -i128(half),
                                 i128(g() & (pow2_bits(sh) - 1))}) & 0xffffffffffffffffULL;
                } else {
                    raw += uint64_t(small());
                }
                break;
            }
            case 4:  // exact ties of the target LSB (and their neighbours) at random or near-rail values
                if (sh > 0) {
                    const i128 t = g() % 2 ? i128(int64_t(g()) >> (g() % 64)) : pick({tmin, tmax, -1, 0, 1, tmax - 1});
                    raw = scale_bits(t, sh) + pow2_bits(sh - 1) + uint64_t(pick({0, 0, 0, 1, -1}));
                } else {
                    raw = g() >> (g() % 64);
                }
                break;
            case 5:  // around zero and around the sign boundary of the source
                raw = g() % 2 ? uint64_t(small()) : uint64_t(pow2_bits(w2 - 1) + uint64_t(small()));
                break;
            case 6: {  // small magnitude
                const int m = int(g() % (w2 + 1));
                raw = uint64_t(int64_t(g()) >> (63 - std::min(m, 63)));
                break;
            }
            case 7:  // many trailing zeros (exact products and sums often look like this)
                raw = g() << (g() % 64);
                break;
            case 8:  // all ones / all zeros below a random bit
                raw = g() % 2 ? ~uint64_t(0) << (g() % 64) : ~(~uint64_t(0) << (g() % 64));
                break;
            default:  // uniform with the sign bit of the source forced
                raw = g() | pow2_bits(w2 - 1);
                break;
        }
        out.push_back(raw & mask_bits(w2));
    }
    return out;
}

std::vector<double> random_doubles(std::mt19937_64 &g, const fx::Spec &dst, std::size_t n) {
    std::vector<double> out;
    out.reserve(n);
    const int f = dst.frac();
    const int top = dst.integer - (dst.is_signed ? 1 : 0);  // |values| < 2^top
    auto sgn = [&]() { return g() % 2 ? -1.0 : 1.0; };
    for (std::size_t k = 0; k < n; ++k) {
        double d = 0;
        switch (g() % 10) {
            case 0:
            case 1: {  // random finite bit pattern (normals, subnormals, zeros)
                uint64_t b = g();
                if (((b >> 52) & 0x7ff) == 0x7ff) b &= ~(uint64_t(1) << 62);
                std::memcpy(&d, &b, sizeof d);
                break;
            }
            case 2: {  // a target code (rounded to 53 bits) nudged by a few ulps of the double
                const i128 c = i128(int64_t(g())) >> (64 - std::min(dst.width, 64));
                d = std::ldexp(double(int64_t(c)), -f);
                for (int j = int(g() % 5) - 2; j != 0; j += j > 0 ? -1 : 1)
                    d = std::nextafter(d, j > 0 ? INFINITY : -INFINITY);
                break;
            }
            case 3: {  // exact tie (k + 1/2) LSB, k < 2^52 (exact), often near the rails
                int64_t kk = int64_t(g()) >> (12 + g() % 52);
                if (g() % 2) {
                    const int64_t rail = dst.width >= 53 ? (int64_t(1) << 51) : int64_t(dst.max_code());
                    kk = g() % 2 ? rail - int64_t(g() % 3) : -rail - int64_t(g() % 3);
                }
                d = std::ldexp(double(2 * kk + 1), -f - 1);
                break;
            }
            case 4: {  // just inside / outside the range: +-2^top * (1 +- eps), +-(max +- half LSB)
                const double r = std::ldexp(1.0, top);
                const int e = int(g() % 60);
                d = sgn() * (g() % 2 ? r * (1 + std::ldexp(1.0, -1 - e) * (g() % 2 ? 1 : -1))
                                     : r - std::ldexp(1.0, -f) * double(int(g() % 3)) + std::ldexp(1.0, -f - 1));
                break;
            }
            case 5: {  // tiny: far below half an LSB, down to subnormals
                const int hi = std::max(-1074, -f - 60);
                const int e = -1074 + int(g() % uint64_t(hi + 1075));
                d = sgn() * std::ldexp(double((g() >> 11) | 1), e);
                break;
            }
            case 6: {  // huge exponents
                const int e = std::max(top, 0) + int(g() % std::max(1, 1023 - std::max(top, 0)));
                d = sgn() * std::ldexp(1.0 + double(g() >> 12) * 0x1p-52, e);
                break;
            }
            case 7: {  // simple values and special finite doubles
                static const double xs[] = {0.0, -0.0, 0.5, -0.5, 1.0, -1.0, 1.5, -1.5, 0.25, -0.75,
                                            DBL_MIN, -DBL_MIN, DBL_TRUE_MIN, -DBL_TRUE_MIN, DBL_MAX, -DBL_MAX};
                d = xs[g() % (sizeof xs / sizeof xs[0])];
                break;
            }
            default: {  // uniform in +-2^(top+2) with 63 random bits (rounded to a double)
                d = std::ldexp(double(int64_t(g())), top + 2 - 63);
                break;
            }
        }
        out.push_back(d);
    }
    return out;
}

}  // namespace oracle

int main(int argc, char **argv) {
    using namespace oracle;
    for (int a = 1; a < argc; ++a) {
        if (!std::strcmp(argv[a], "--scale") && a + 1 < argc) {
            g_scale = std::atof(argv[++a]);
        } else if (!std::strcmp(argv[a], "--details") && a + 1 < argc) {
            g_max_details = std::size_t(std::atol(argv[++a]));
        } else {
            std::fprintf(stderr, "usage: %s [--scale S] [--details N]\n", argv[0]);
            return 2;
        }
    }
    using clock = std::chrono::steady_clock;
    const auto t0 = clock::now();
    auto phase = [&](const char *name, void (*fn)()) {
        const auto t = clock::now();
        fn();
        std::printf("phase %s: %.1f s\n", name, std::chrono::duration<double>(clock::now() - t).count());
        std::fflush(stdout);
    };
    phase("exhaustive (signed sources)", run_exhaustive_signed);
    phase("exhaustive (unsigned sources)", run_exhaustive_unsigned);
    phase("random", run_random);

    for (const std::string &d : g_details) std::printf("MISMATCH %s\n", d.c_str());
    uint64_t cases = 0, bad = 0;
    for (const auto &f : g_families) {
        int modes = 0;
        uint64_t fewest = ~uint64_t(0);
        for (uint64_t c : f->per_mode) {
            modes += c > 0;
            fewest = std::min(fewest, c);
        }
        char cover[96];
        std::snprintf(cover, sizeof cover, " [%d/%d mode pairs, min %llu cases per mode pair]", modes, kModePairs,
                      (unsigned long long)fewest);
        if (f->informational) {
            std::printf("%s (informational, not in TOTAL): %llu cases, %llu differ%s\n", f->name.c_str(),
                        (unsigned long long)f->cases, (unsigned long long)f->mismatches, cover);
            continue;
        }
        std::printf("%s: %llu cases, %llu mismatches%s\n", f->name.c_str(), (unsigned long long)f->cases,
                    (unsigned long long)f->mismatches, cover);
        cases += f->cases;
        bad += f->mismatches;
    }
    std::printf("elapsed: %.1f s\n", std::chrono::duration<double>(clock::now() - t0).count());
    std::printf("TOTAL: %llu cases, %llu mismatches\n", (unsigned long long)cases, (unsigned long long)bad);
    return bad ? 1 : 0;
}
