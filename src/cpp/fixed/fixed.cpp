#include "fixed.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <stdexcept>
#include <vector>

namespace l1emu::fixed {

i128 Spec::max_code() const {
    return is_signed ? (i128(1) << (width - 1)) - 1 : (i128(1) << width) - 1;
}

i128 Spec::min_code() const { return is_signed ? -(i128(1) << (width - 1)) : i128(0); }

int bit_length(i128 v) {
    unsigned __int128 m = v < 0 ? (unsigned __int128)(-(v + 1)) + 1 : (unsigned __int128)v;
    int n = 0;
    while (m) {
        m >>= 1;
        ++n;
    }
    return n;
}

int64_t wrap_bits(uint64_t x, const Spec &s) {
    if (s.width < 64) {
        x &= (uint64_t(1) << s.width) - 1;
        if (s.is_signed && (x >> (s.width - 1)) & 1) x |= ~uint64_t(0) << s.width;
    }
    return int64_t(x);
}

namespace {

// Rounding increment for a dropped remainder, classified against half an LSB. `neg` is the sign of the
// source value and `odd` the parity of the truncated result; mirrors quantization_adjust().
inline bool round_up(QMode q, int cmp_half, bool rem_nonzero, bool neg, bool odd) {
    switch (q) {
        case QMode::TRN: return false;
        case QMode::TRN_ZERO: return neg && rem_nonzero;
        case QMode::RND: return cmp_half >= 0;
        case QMode::RND_ZERO: return cmp_half > 0 || (cmp_half == 0 && neg);
        case QMode::RND_MIN_INF: return cmp_half > 0;
        case QMode::RND_INF: return cmp_half > 0 || (cmp_half == 0 && !neg);
        case QMode::RND_CONV: return cmp_half > 0 || (cmp_half == 0 && odd);
    }
    return false;
}

// AP_SAT_SYM's lower rail: ap_fixed writes the bits of min | 1, which is -max, except in a 1-bit signed type
// whose only bit is the sign bit: there it stays min (-1).
i128 sym_min(const Spec &s) { return s.width > 1 ? -s.max_code() : s.min_code(); }

int64_t overflow(i128 q, const Spec &s, uint64_t low_bits) {
    switch (s.o) {
        case OMode::WRAP: return wrap_bits(low_bits, s);
        case OMode::SAT: return int64_t(q > 0 ? s.max_code() : s.min_code());
        case OMode::SAT_ZERO: return 0;
        case OMode::SAT_SYM:
            if (q > 0) return int64_t(s.max_code());
            return s.is_signed ? int64_t(sym_min(s)) : 0;
    }
    return 0;
}

}  // namespace

int64_t quantize(i128 v, int src_frac, const Spec &s) {
    const int sh = src_frac - s.frac();
    const bool neg = v < 0;
    i128 q;
    if (sh > 0) {
        int cmp_half;  // remainder vs half an LSB of the target: -1, 0, +1
        bool rem_nonzero;
        if (sh >= 127) {  // |v| < 2^126 < half an LSB
            q = neg ? -1 : 0;
            rem_nonzero = v != 0;
            cmp_half = neg ? 1 : -1;
        } else {
            q = v >> sh;
            const i128 rem = v - (q << sh);
            const i128 half = i128(1) << (sh - 1);
            rem_nonzero = rem != 0;
            cmp_half = rem > half ? 1 : (rem == half ? 0 : -1);
        }
        if (round_up(s.q, cmp_half, rem_nonzero, neg, q & 1)) q += 1;
    } else if (sh < 0) {
        const int up = -sh;
        if (v != 0 && bit_length(v) + up > 125) {  // certainly out of range of a <= 64-bit type
            const uint64_t low = up < 64 ? uint64_t(v) << up : 0;
            return overflow(neg ? -1 : 1, s, low);
        }
        q = v << up;
    } else {
        q = v;
    }
    const i128 lo = s.min_code(), hi = s.max_code();
    if (q < lo || q > hi) return overflow(q, s, uint64_t(q));
    if (s.o == OMode::SAT_SYM && s.is_signed && q == lo) return int64_t(sym_min(s));
    return int64_t(q);
}

void double_parts(double d, int64_t &man, int &frac) {
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    if ((bits & 0x7fffffffffffffffULL) == 0) {
        man = 0, frac = 0;
        return;
    }
    const bool neg = bits >> 63;
    const int exp = int((bits >> 52) & 0x7ff) - 1023;
    // ap_fixed sets the hidden bit unconditionally (also for subnormals and inf/NaN).
    man = int64_t((bits & ((uint64_t(1) << 52) - 1)) | (uint64_t(1) << 52));
    if (neg) man = -man;
    frac = 52 - exp;
}

int64_t from_double(double d, const Spec &s) {
    int64_t man;
    int frac;
    double_parts(d, man, frac);
    return man == 0 ? 0 : quantize(man, frac, s);  // the int64 fast path
}

double to_double(int64_t code, const Spec &s) {
    const i128 v = value_of(code, s);
    const double m = s.is_signed ? double(int64_t(v)) : double(uint64_t(v));
    return std::ldexp(m, -s.frac());
}

const char *qmode_name(QMode q) {
    static const char *names[] = {"TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV"};
    return names[int(q)];
}

const char *omode_name(OMode o) {
    static const char *names[] = {"WRAP", "SAT", "SAT_ZERO", "SAT_SYM"};
    return names[int(o)];
}

std::string spec_name(const Spec &s) {
    std::string out = std::string(s.is_signed ? "fixed<" : "ufixed<") + std::to_string(s.width) + "," +
                      std::to_string(s.integer);
    if (s.q != QMode::TRN || s.o != OMode::WRAP) out += std::string(",") + qmode_name(s.q) + "," + omode_name(s.o);
    return out + ">";
}

namespace {

std::string trim(const std::string &x) {
    size_t a = 0, b = x.size();
    while (a < b && std::isspace((unsigned char)x[a])) ++a;
    while (b > a && std::isspace((unsigned char)x[b - 1])) --b;
    return x.substr(a, b - a);
}

int parse_int(const std::string &field, const std::string &text, const char *what) {
    const std::string t = trim(field);
    size_t used = 0;
    int v = 0;
    try {
        v = std::stoi(t, &used);
    } catch (const std::exception &) {
        used = 0;
    }
    if (t.empty() || used != t.size())
        throw std::invalid_argument("precision '" + text + "': " + what + " '" + t + "' is not an integer");
    return v;
}

}  // namespace

Spec parse_spec(const std::string &text) {
    const std::string t = trim(text);
    const size_t lt = t.find('<');
    if (lt == std::string::npos || t.back() != '>')
        throw std::invalid_argument("precision '" + text + "' is not of the form type<width,...> (e.g. fixed<16,6>)");
    std::string kind = trim(t.substr(0, lt));
    if (kind.rfind("ap_", 0) == 0) kind = kind.substr(3);
    std::vector<std::string> args;
    {
        const std::string inner = t.substr(lt + 1, t.size() - lt - 2);
        size_t start = 0;
        for (size_t i = 0; i <= inner.size(); ++i)
            if (i == inner.size() || inner[i] == ',') {
                args.push_back(trim(inner.substr(start, i - start)));
                start = i + 1;
            }
    }
    Spec s;
    const bool is_int = kind == "int" || kind == "uint";
    const bool is_fixed = kind == "fixed" || kind == "ufixed";
    if (!is_int && !is_fixed)
        throw std::invalid_argument("precision '" + text + "': unknown type '" + kind +
                                    "' (expected fixed, ufixed, int, uint, with or without ap_)");
    s.is_signed = kind == "int" || kind == "fixed";
    s.width = parse_int(args[0], text, "width");
    if (s.width < 1 || s.width > 64)
        throw std::invalid_argument("precision '" + text + "': width " + std::to_string(s.width) +
                                    " is outside 1..64 supported by l1emu");
    if (is_int) {
        if (args.size() != 1) throw std::invalid_argument("precision '" + text + "': integer types take one argument");
        s.integer = s.width;
        return s;
    }
    if (args.size() < 2 || args.size() > 5)
        throw std::invalid_argument("precision '" + text + "': fixed types take 2 to 5 arguments");
    s.integer = parse_int(args[1], text, "integer bits");
    if (args.size() >= 3) {
        std::string q = args[2];
        if (q.rfind("AP_", 0) == 0) q = q.substr(3);
        static const char *qn[] = {"TRN", "TRN_ZERO", "RND", "RND_ZERO", "RND_MIN_INF", "RND_INF", "RND_CONV"};
        bool found = false;
        for (int i = 0; i < 7; ++i)
            if (q == qn[i]) s.q = QMode(i), found = true;
        if (!found) throw std::invalid_argument("precision '" + text + "': unknown quantization mode '" + args[2] + "'");
    }
    if (args.size() >= 4) {
        std::string o = args[3];
        if (o.rfind("AP_", 0) == 0) o = o.substr(3);
        static const char *on[] = {"WRAP", "SAT", "SAT_ZERO", "SAT_SYM"};
        bool found = false;
        for (int i = 0; i < 4; ++i)
            if (o == on[i]) s.o = OMode(i), found = true;
        if (!found)
            throw std::invalid_argument("precision '" + text + "': unsupported overflow mode '" + args[3] +
                                        "' (WRAP, SAT, SAT_ZERO, SAT_SYM)");
    }
    if (args.size() == 5 && parse_int(args[4], text, "saturation bits") != 0)
        throw std::invalid_argument("precision '" + text + "': saturation bits N != 0 are not supported");
    return s;
}

}  // namespace l1emu::fixed
