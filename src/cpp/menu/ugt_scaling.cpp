#include "ugt_scaling.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "../layers/mac.h"

namespace l1emu::menu {

void ugt_shift(const double *x, size_t n, size_t k, const int64_t *offsets, const int64_t *shifts,
               const fixed::Spec &unscaled, double *y) {
    const fixed::Spec &s = unscaled;
    if (!s.is_signed || s.width > 32) throw std::invalid_argument("ugt_shift: unscaled_t must be signed, <= 32 bits");
    const int frac = s.frac(), f = std::max(frac, 0);  // the difference is exact at f (offsets are integers)
    std::vector<int64_t> off(k);
    for (size_t i = 0; i < k; ++i) off[i] = offsets[i] << f;
    const double lsb = std::ldexp(1.0, -frac);
    constexpr size_t kRows = 64;  // events per pass: their codes stay in L1
    std::vector<int64_t> codes(kRows * k);
    for (size_t e0 = 0; e0 < n; e0 += kRows) {
        const size_t rows = std::min(kRows, n - e0), m = rows * k;
        const double *xb = x + e0 * k;
        for (size_t j = 0; j < m; ++j)
            if (!std::isfinite(xb[j]))
                throw std::invalid_argument("ugt_shift: input " + std::to_string(j % k) + " of event " +
                                            std::to_string(e0 + j / k) + " is not finite");
        layers::mac::from_doubles(xb, m, s, codes.data());  // unscaled_t(x)
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

}  // namespace l1emu::menu
