// Fixed-point helpers shared by the l1emu custom layers (instance norm, KL score). Integer / ap_fixed only:
// constants are built from bits, never from floating-point literals.
#ifndef NNET_L1EMU_FIXED_H_
#define NNET_L1EMU_FIXED_H_

#include "ap_fixed.h"

namespace nnet {
namespace l1emu {

// The exact constant 2^P as a one-bit ap_ufixed (any sign of P).
template <int P> struct pow2 {
    typedef ap_ufixed<1, P + 1> type;
    static type value() {
        type t = 0;
        t[0] = 1;
        return t;
    }
};

// Index of x in a uniform table of N entries covering [-2^R, 2^R) (SYMMETRIC) or [0, 2^R):
// floor((x - lo) * N / 2^(R + SYMMETRIC)), clamped to [0, N-1]. Every step is exact ap_fixed arithmetic.
template <class x_T, unsigned N, int R, bool SYMMETRIC> unsigned table_index(const x_T &x) {
    #pragma HLS INLINE
    const ap_uint<32> n = N;
    if (SYMMETRIC) {
        const auto u = (x + pow2<R>::value()) * n * pow2<-(R + 1)>::value();
        if (u < 0) return 0;
        if (u >= N) return N - 1;
        return u.to_uint();  // non-negative: truncation is floor
    } else {
        const auto u = x * n * pow2<-R>::value();
        if (u < 0) return 0;
        if (u >= N) return N - 1;
        return u.to_uint();
    }
}

} // namespace l1emu
} // namespace nnet

#endif
