// Index into the uniform lookup tables of the l1emu custom layers (nnet_l1emu_fixed.h table_index): the
// table of n entries covers [0, 2^r) or, symmetric, [-2^r, 2^r); index = floor((x - lo) * n / range),
// clamped to [0, n-1]. Exact integer arithmetic on the code v of x (f fractional bits).
#pragma once

#include <cstdint>

#include "../fixed/fixed.h"

namespace l1emu::layers {

inline size_t lut_index(fixed::i128 v, int f, int64_t n, int r, bool symmetric) {
    using fixed::i128;
    i128 num;  // x - lo = num * 2^-g
    int g;
    if (symmetric) {
        g = f > -r ? f : -r;
        num = (v << (g - f)) + (i128(1) << (r + g));
    } else {
        g = f;
        num = v;
    }
    if (num < 0) return 0;
    const int shift = g + r + (symmetric ? 1 : 0);  // u = num * n * 2^-shift
    const i128 scaled = num * n;
    const i128 u = shift >= 0 ? (scaled >> shift) : (scaled << -shift);
    return u >= n ? size_t(n - 1) : size_t(u);
}

}  // namespace l1emu::layers
