// The lane-wise ap_fixed assignment behind mac::Requant (quantization, then overflow), as always-inline
// templates on a lane type T so that loops over events auto-vectorize; shared by mac.cpp and the layers
// with their own lane kernels (kl_score.cpp). Valid on the caller's bounded codes (see Requant).
#pragma once

#include <algorithm>
#include <type_traits>

#include "mac.h"

#define L1EMU_AI inline __attribute__((always_inline))
// Lane kernels are compiled for AVX-512, AVX2 and baseline x86-64; the loader picks the CPU's best.
#define L1EMU_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))

namespace l1emu::layers::mac {

// Overflow handling of an already quantized lane value.
template <OMode O, typename T>
L1EMU_AI T overflow(T q, const Requant &r) {
    using U = std::make_unsigned_t<T>;
    if constexpr (O == OMode::WRAP) {
        return r.is_signed ? T(U(q) << r.wrap_drop) >> r.wrap_drop : T(U(q) & U(r.mask));
    } else if constexpr (O == OMode::SAT_ZERO) {
        return (q < T(r.lo)) | (q > T(r.hi)) ? T(0) : q;
    } else {  // SAT, SAT_SYM (rails in lo/hi)
        return std::min(std::max(q, T(r.lo)), T(r.hi));
    }
}

// The quantization step of the ap_fixed assignment of v * 2^-src_frac (fixed::quantize), branch-free on lanes.
template <QMode Q, typename T>
L1EMU_AI T round(T v, const Requant &r) {
    using U = std::make_unsigned_t<T>;
    v = T(U(v) << r.lsh);
    const T q0 = v >> r.rsh;
    const T rem = v - T(U(q0) << r.rsh);
    const T half = T(r.half);
    const T neg = T(v < 0);
    T up;
    if constexpr (Q == QMode::TRN)
        up = 0;
    else if constexpr (Q == QMode::TRN_ZERO)
        up = neg & T(rem != 0);
    else if constexpr (Q == QMode::RND)
        up = T(rem >= half);
    else if constexpr (Q == QMode::RND_ZERO)
        up = T(rem > half) | (T(rem == half) & neg);
    else if constexpr (Q == QMode::RND_MIN_INF)
        up = T(rem > half);
    else if constexpr (Q == QMode::RND_INF)
        up = T(rem > half) | (T(rem == half) & (neg ^ 1));
    else  // q0 & (0 or 1) is the parity bit at a tie; (q0 & 1) & tie stops GCC from vectorizing the loop
        up = T(rem > half) | (q0 & T(rem == half));
    return q0 + up;
}

// ap_fixed assignment of v * 2^-src_frac (fixed::quantize): quantization, then overflow.
template <QMode Q, OMode O, typename T>
L1EMU_AI T requant(T v, const Requant &r) {
    return overflow<O, T>(round<Q, T>(v, r), r);
}

// Calls f.template operator()<Q, O>() for the runtime modes (SAT_SYM runs as SAT with its own rails).
template <typename F>
L1EMU_AI void with_modes(QMode q, OMode o, F &&f) {
#define L1EMU_O(QV)                                                                       \
    switch (o) {                                                                          \
        case OMode::WRAP: f.template operator()<QV, OMode::WRAP>(); break;                \
        case OMode::SAT_ZERO: f.template operator()<QV, OMode::SAT_ZERO>(); break;        \
        default: f.template operator()<QV, OMode::SAT>(); break;                          \
    }
    switch (q) {
        case QMode::TRN: L1EMU_O(QMode::TRN) break;
        case QMode::TRN_ZERO: L1EMU_O(QMode::TRN_ZERO) break;
        case QMode::RND: L1EMU_O(QMode::RND) break;
        case QMode::RND_ZERO: L1EMU_O(QMode::RND_ZERO) break;
        case QMode::RND_MIN_INF: L1EMU_O(QMode::RND_MIN_INF) break;
        case QMode::RND_INF: L1EMU_O(QMode::RND_INF) break;
        case QMode::RND_CONV: L1EMU_O(QMode::RND_CONV) break;
    }
#undef L1EMU_O
}

}  // namespace l1emu::layers::mac
