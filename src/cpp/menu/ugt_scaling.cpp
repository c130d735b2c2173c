#include "ugt_scaling.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "../layers/mac.h"

namespace l1emu::menu {

namespace {

// The uGT's own case: unscaled_t wraps (ap_fixed's default overflow) and has no negative frac, so the
// difference is exact at unscaled_t's LSB and both wraps are sign extensions of the low `width` bits:
// branch-free, vectorized (variable per-lane shifts: AVX-512 / AVX2 clones).
__attribute__((target_clones("arch=x86-64-v4", "avx2", "default"))) void shift_rows_wrap(
    const int64_t *codes, size_t rows, size_t k, const int64_t *off, const int64_t *right, const int64_t *left,
    int drop, double lsb, double *y) {
    for (size_t r = 0; r < rows; ++r) {
        const int64_t *c = codes + r * k;
        double *yr = y + r * k;
        for (size_t i = 0; i < k; ++i) {
            const int64_t t = int64_t(uint64_t(c[i] - off[i]) << drop) >> drop;
            const int64_t shifted = int64_t(uint64_t(t) << (left[i] + drop)) >> drop;  // left[i] = 0 if right
            yr[i] = double(shifted >> right[i]) * lsb;
        }
    }
}

// unscaled_t(x) for a block of m values: float64 as ap_fixed's double constructor (NaN/inf are an error),
// integer codes exactly. `wrapping` (WRAP, frac >= 0): the low `width` bits of x << frac, sign-extended.
void unscaled_codes(const double *x, size_t m, size_t e0, size_t k, const fixed::Spec &s, bool, int64_t *codes) {
    bool finite = true;
    for (size_t j = 0; j < m; ++j) finite &= std::isfinite(x[j]);
    for (size_t j = 0; !finite && j < m; ++j)
        if (!std::isfinite(x[j]))
            throw std::invalid_argument("ugt_shift: input " + std::to_string(j % k) + " of event " +
                                        std::to_string(e0 + j / k) + " is not finite");
    layers::mac::from_doubles(x, m, s, codes);
}

void unscaled_codes(const int32_t *x, size_t m, size_t, size_t, const fixed::Spec &s, bool wrapping, int64_t *codes) {
    const int frac = s.frac(), drop = 64 - s.width;
    if (wrapping && frac >= s.width) {  // every bit of an integer lands above unscaled_t's MSB
        std::fill_n(codes, m, 0);
    } else if (wrapping) {
        for (size_t j = 0; j < m; ++j) codes[j] = int64_t(uint64_t(int64_t(x[j])) << (frac + drop)) >> drop;
    } else {
        for (size_t j = 0; j < m; ++j) codes[j] = fixed::quantize(int64_t(x[j]), 0, s);
    }
}

template <class T>
void shift(const T *x, size_t n, size_t k, const int64_t *offsets, const int64_t *shifts, const fixed::Spec &unscaled,
           double *y) {
    const fixed::Spec &s = unscaled;
    if (!s.is_signed || s.width > 32) throw std::invalid_argument("ugt_shift: unscaled_t must be signed, <= 32 bits");
    const int frac = s.frac(), f = std::max(frac, 0);  // the difference is exact at f (offsets are integers)
    std::vector<int64_t> off(k), right(k), left(k);
    for (size_t i = 0; i < k; ++i) {
        off[i] = offsets[i] << f;
        right[i] = std::clamp<int64_t>(shifts[i], 0, 63);
        left[i] = std::clamp<int64_t>(-shifts[i], 0, 63 - (64 - s.width));
    }
    bool wrap_fast = s.o == fixed::OMode::WRAP && frac >= 0;
    for (size_t i = 0; i < k; ++i) wrap_fast &= -shifts[i] < s.width;  // else every bit leaves: the general path
    const double lsb = std::ldexp(1.0, -frac);
    constexpr size_t kRows = 64;  // events per pass: their codes stay in L1
    std::vector<int64_t> codes(kRows * k);
    for (size_t e0 = 0; e0 < n; e0 += kRows) {
        const size_t rows = std::min(kRows, n - e0), m = rows * k;
        unscaled_codes(x + e0 * k, m, e0, k, s, wrap_fast, codes.data());  // unscaled_t(x)
        if (wrap_fast) {
            shift_rows_wrap(codes.data(), rows, k, off.data(), right.data(), left.data(), 64 - s.width, lsb,
                            y + e0 * k);
            continue;
        }
        for (size_t r = 0; r < rows; ++r) {
            const int64_t *c = codes.data() + r * k;
            double *yr = y + (e0 + r) * k;
            for (size_t i = 0; i < k; ++i) {
                // unscaled_t - ad_offset_t is exact in ap_fixed's result type, then assigned to unscaled_t
                int64_t t = fixed::quantize((c[i] << (f - frac)) - off[i], f, s);
                const int64_t sh = shifts[i];
                t = sh >= 0 ? t >> std::min<int64_t>(sh, 63)
                            : fixed::wrap_bits(uint64_t(t) << std::min<int64_t>(-sh, 63), s);
                yr[i] = double(t) * lsb;
            }
        }
    }
}

}  // namespace

void ugt_shift(const double *x, size_t n, size_t k, const int64_t *offsets, const int64_t *shifts,
               const fixed::Spec &unscaled, double *y) {
    shift(x, n, k, offsets, shifts, unscaled, y);
}

void ugt_shift(const int32_t *x, size_t n, size_t k, const int64_t *offsets, const int64_t *shifts,
               const fixed::Spec &unscaled, double *y) {
    shift(x, n, k, offsets, shifts, unscaled, y);
}

}  // namespace l1emu::menu
