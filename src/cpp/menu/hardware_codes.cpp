#include "hardware_codes.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "../layers/mac_lanes.h"  // L1EMU_AI, L1EMU_CLONES

namespace l1emu::menu {

namespace {

constexpr double kPhiMax = 0x1p31;  // |phi / lsb| beyond this is no angle (and keeps the wrap exact)
constexpr size_t kBlock = 256;      // values checked, then coded, at a time (branch-free loops)

[[noreturn]] void no_code(size_t i, double x) {
    char value[32];
    std::snprintf(value, sizeof value, "%.9g", x);
    throw std::invalid_argument("element " + std::to_string(i) + " is " + value + ": it has no hardware code");
}

L1EMU_AI bool has_phi_code(double x, double lsb) { return std::fabs(std::nearbyint(x / lsb)) < kPhiMax; }

// Codes of values x[i * xs] into c[i * cs]; false (nothing trusted) when one of them has no code. One
// branch-free pass: a value without a code is coded 0 (no undefined conversion) and flags the block.
template <class T, bool Floor>
L1EMU_AI bool linear_block(const T *x, size_t n, size_t xs, const LinearUnit &u, int32_t *c, size_t cs) {
    const double lo = double(u.lo), hi = double(u.hi);
    unsigned bad = 0;
    for (size_t i = 0; i < n; ++i) {
        const double y = double(x[i * xs]), s = y / u.lsb;  // np.floor(x / lsb + 1e-9) or np.rint(x / lsb)
        const bool nan = std::isnan(y);  // +-inf saturate
        bad |= unsigned(nan);
        const double code = std::clamp(Floor ? std::floor(s + 1e-9) : std::nearbyint(s), lo, hi);
        c[i * cs] = int32_t(nan ? 0.0 : code);
    }
    return !bad;
}

template <class T>
L1EMU_AI bool linear_block(const T *x, size_t n, size_t xs, const LinearUnit &u, int32_t *c, size_t cs) {
    return u.floor ? linear_block<T, true>(x, n, xs, u, c, cs) : linear_block<T, false>(x, n, xs, u, c, cs);
}

template <class T>
L1EMU_AI bool phi_block(const T *x, size_t n, size_t xs, double lsb, int64_t period, int32_t *c, size_t cs) {
    const double p = double(period);
    unsigned bad = 0;
    for (size_t i = 0; i < n; ++i) {  // rint(phi / lsb) mod period, exact in double below kPhiMax
        double r = std::nearbyint(double(x[i * xs]) / lsb);
        const bool coded = std::fabs(r) < kPhiMax;  // false for NaN and inf
        bad |= unsigned(!coded);
        r = coded ? r : 0.0;
        double m = r - p * std::floor(r / p);
        m = m < 0 ? m + p : m;
        c[i * cs] = int32_t(m >= p ? m - p : m);
    }
    return !bad;
}

// Objects of `width` values: pt first, phi last, eta between when given. An empty slot (pt code 0) codes 0.
// first: the index of v[0] in the caller's array (for the error message). The attributes of a block are
// first split into contiguous float64 rows (exact), so every unit's loop runs vectorized.
template <class T>
L1EMU_AI void objects(const T *v, size_t n, size_t width, const LinearUnit &pt, const LinearUnit *eta, double phi_lsb,
                      int64_t period, int32_t *codes, size_t first = 0) {
    double x[3][kBlock];
    int32_t c[3][kBlock];
    const size_t phi = width - 1;
    for (size_t b = 0; b < n; b += kBlock) {
        const size_t m = std::min(kBlock, n - b);
        const T *o = v + b * width;
        for (size_t i = 0; i < m; ++i)
            for (size_t a = 0; a < width; ++a) x[a][i] = double(o[i * width + a]);
        const bool ok = linear_block(x[0], m, 1, pt, c[0], 1) && (!eta || linear_block(x[1], m, 1, *eta, c[1], 1)) &&
                        phi_block(x[phi], m, 1, phi_lsb, period, c[phi], 1);
        if (!ok)
            for (size_t i = 0; i < m * width; ++i) {
                const double y = double(o[i]);
                if (i % width == phi ? !has_phi_code(y, phi_lsb) : std::isnan(y)) no_code(first + b * width + i, y);
            }
        int32_t *out = codes + b * width;
        for (size_t i = 0; i < m; ++i) {
            const bool empty = c[0][i] == 0;
            out[i * width] = c[0][i];
            for (size_t a = 1; a < width; ++a) out[i * width + a] = empty ? 0 : c[a][i];
        }
    }
}

// The codes of `count` objects per event, each written as (pt, eta, phi) (eta 0 without an eta unit) into
// columns [column, column + 3 count) of rows of row_width codes; a few events at a time, so the object
// codes are rearranged while they are in L1.
template <class T>
L1EMU_AI void rows_of(const T *v, size_t n, size_t count, size_t width, const LinearUnit &pt, const LinearUnit *eta,
                      double phi_lsb, int64_t period, size_t row_width, size_t column, int32_t *rows) {
    constexpr size_t kEvents = 64;
    std::vector<int32_t> codes(kEvents * count * width);
    for (size_t e0 = 0; e0 < n; e0 += kEvents) {
        const size_t m = std::min(kEvents, n - e0), first = e0 * count * width;
        objects(v + first, m * count, width, pt, eta, phi_lsb, period, codes.data(), first);
        for (size_t e = 0; e < m; ++e) {
            int32_t *r = rows + (e0 + e) * row_width + column;
            const int32_t *o = codes.data() + e * count * width;
            for (size_t j = 0; j < count; ++j, o += width, r += 3) {
                r[0] = o[0];
                r[1] = eta ? o[1] : 0;
                r[2] = o[width - 1];
            }
        }
    }
}

}  // namespace

#define L1EMU_HARDWARE_CODES_DEF(T)                                                                                   \
    L1EMU_CLONES void digitize(const T *x, size_t n, const LinearUnit &u, int32_t *codes) {                    \
        for (size_t b = 0; b < n; b += kBlock)                                                                    \
            if (!linear_block(x + b, std::min(kBlock, n - b), 1, u, codes + b, 1))                                \
                for (size_t i = b; i < n; ++i)                                                                    \
                    if (std::isnan(x[i])) no_code(i, double(x[i]));                                               \
    }                                                                                                             \
    L1EMU_CLONES void digitize_phi(const T *x, size_t n, double lsb, int64_t period, int32_t *codes) {         \
        for (size_t b = 0; b < n; b += kBlock)                                                                    \
            if (!phi_block(x + b, std::min(kBlock, n - b), 1, lsb, period, codes + b, 1))                         \
                for (size_t i = b; i < n; ++i)                                                                    \
                    if (!has_phi_code(double(x[i]), lsb)) no_code(i, double(x[i]));                               \
    }                                                                                                             \
    L1EMU_CLONES void object_codes(const T *v, size_t n, const LinearUnit &pt, const LinearUnit &eta,          \
                                      double phi_lsb, int64_t period, int32_t *codes) {                           \
        objects(v, n, 3, pt, &eta, phi_lsb, period, codes);                                                       \
    }                                                                                                             \
    L1EMU_CLONES void met_codes(const T *v, size_t n, const LinearUnit &pt, double phi_lsb, int64_t period,    \
                                   int32_t *codes) {                                                              \
        objects(v, n, 2, pt, nullptr, phi_lsb, period, codes);                                                    \
    }                                                                                                             \
    L1EMU_CLONES void object_rows(const T *v, size_t n, size_t count, const LinearUnit &pt, const LinearUnit *eta, \
                                  double phi_lsb, int64_t period, size_t row_width, size_t column, int32_t *rows) {  \
        if (eta) /* each branch with its width a constant */                                                    \
            rows_of(v, n, count, 3, pt, eta, phi_lsb, period, row_width, column, rows);                          \
        else                                                                                                      \
            rows_of(v, n, count, 2, pt, nullptr, phi_lsb, period, row_width, column, rows);                      \
    }
L1EMU_HARDWARE_CODES_DEF(float)
L1EMU_HARDWARE_CODES_DEF(double)
#undef L1EMU_HARDWARE_CODES_DEF

}  // namespace l1emu::menu
