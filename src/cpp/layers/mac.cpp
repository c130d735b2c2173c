#include "mac.h"

#include <immintrin.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace l1emu::layers::mac {

#define L1EMU_AI inline __attribute__((always_inline))
#define L1EMU_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))

Requant::Requant(int src_frac, const Spec &to, int lane_bits) : q(to.q), o(to.o), is_signed(to.is_signed) {
    const int sh = src_frac - to.frac();
    rsh = sh > 0 ? sh : 0;
    lsh = sh < 0 ? -sh : 0;
    half = rsh > 0 ? int64_t(1) << (rsh - 1) : 1;  // rsh == 0: the remainder is 0, never reaching 1
    lo = int64_t(to.min_code());
    hi = int64_t(to.max_code());
    if (o == OMode::SAT_SYM && to.is_signed && to.width > 1) lo = -hi;
    wrap_drop = lane_bits - to.width;
    mask = to.width >= 64 ? ~uint64_t(0) : (uint64_t(1) << to.width) - 1;
}

namespace {

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

// ap_fixed assignment of v * 2^-src_frac (fixed::quantize), branch-free on lanes.
template <QMode Q, OMode O, typename T>
L1EMU_AI T requant(T v, const Requant &r) {
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
    else
        up = T(rem > half) | (T(rem == half) & (q0 & 1));
    return overflow<O, T>(q0 + up, r);
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

// ---- GEMM ---------------------------------------------------------------------------------------

template <int NV, int E>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) L1EMU_AI void vnni_tile(const int16_t *x, size_t ldx,
                                                                                const int16_t *w, size_t kp,
                                                                                size_t wstride, int32_t *s,
                                                                                size_t lds) {
    __m512i acc[E][NV];
    for (int e = 0; e < E; ++e)
        for (int v = 0; v < NV; ++v) acc[e][v] = _mm512_setzero_si512();
    for (size_t k = 0; k < kp; ++k) {
        __m512i wv[NV];
        for (int v = 0; v < NV; ++v) wv[v] = _mm512_loadu_si512(w + k * wstride + 32 * v);
        for (int e = 0; e < E; ++e) {
            int32_t pair;
            std::memcpy(&pair, x + size_t(e) * ldx + 2 * k, sizeof pair);
            const __m512i b = _mm512_set1_epi32(pair);
            for (int v = 0; v < NV; ++v) acc[e][v] = _mm512_dpwssd_epi32(acc[e][v], b, wv[v]);
        }
    }
    for (int e = 0; e < E; ++e)
        for (int v = 0; v < NV; ++v) _mm512_storeu_si512(s + size_t(e) * lds + 16 * v, acc[e][v]);
}

template <int NV, int E>
__attribute__((target("avx512f,avx512bw,avx512vnni"))) L1EMU_AI void vnni_columns(const int16_t *x, size_t n,
                                                                                   size_t ldx, const int16_t *w,
                                                                                   size_t kp, size_t wstride,
                                                                                   int32_t *s, size_t lds) {
    size_t e = 0;
    for (; e + E <= n; e += E) vnni_tile<NV, E>(x + e * ldx, ldx, w, kp, wstride, s + e * lds, lds);
    for (; e < n; ++e) vnni_tile<NV, 1>(x + e * ldx, ldx, w, kp, wstride, s + e * lds, lds);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) void gemm_vnni(const int16_t *x, size_t n,
                                                                       const PackedI16 &p, int32_t *s) {
    const size_t wstride = 32 * p.nv, ldx = p.ldx(), lds = p.lds();
    for (size_t v0 = 0; v0 < p.nv; v0 += 4) {
        const int16_t *w = p.w.data() + 32 * v0;
        int32_t *sv = s + 16 * v0;
        switch (std::min<size_t>(4, p.nv - v0)) {
            case 1: vnni_columns<1, 16>(x, n, ldx, w, p.kp, wstride, sv, lds); break;
            case 2: vnni_columns<2, 12>(x, n, ldx, w, p.kp, wstride, sv, lds); break;
            case 3: vnni_columns<3, 8>(x, n, ldx, w, p.kp, wstride, sv, lds); break;
            default: vnni_columns<4, 6>(x, n, ldx, w, p.kp, wstride, sv, lds); break;
        }
    }
}

// Without VNNI: the same sums, int32 lanes, auto-vectorized (vpmaddwd-friendly pairs).
L1EMU_CLONES void gemm_generic(const int16_t *x, size_t n, const int16_t *w, size_t kp, size_t lds, int32_t *s) {
    for (size_t e = 0; e < n; ++e) {
        int32_t *se = s + e * lds;
        std::fill(se, se + lds, 0);
        const int16_t *xe = x + e * 2 * kp;
        for (size_t k = 0; k < kp; ++k) {
            const int32_t a = xe[2 * k], b = xe[2 * k + 1];
            if (!(a | b)) continue;
            const int16_t *wk = w + k * 2 * lds;
            for (size_t j = 0; j < lds; ++j) se[j] += a * int32_t(wk[2 * j]) + b * int32_t(wk[2 * j + 1]);
        }
    }
}

L1EMU_CLONES void pack_rows(const int64_t *x64, size_t n, size_t n_in, size_t ldx, int16_t *x16) {
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x64 + e * n_in;
        int16_t *o = x16 + e * ldx;
        for (size_t i = 0; i < n_in; ++i) o[i] = int16_t(xe[i]);
        for (size_t i = n_in; i < ldx; ++i) o[i] = 0;
    }
}

template <QMode Q, OMode O>
L1EMU_AI void epilogue_rows(const int32_t *s, size_t n, size_t lds, size_t n_out, const int64_t *bias,
                            const Epilogue &ep, int64_t *y) {
    const int drop = ep.accum_drop;
    for (size_t e = 0; e < n; ++e) {
        const int32_t *se = s + e * lds;
        int64_t *ye = y + e * n_out;
        for (size_t j = 0; j < n_out; ++j) {
            uint64_t a = uint64_t(bias[j]) + (uint64_t(int64_t(se[j])) << ep.up);
            int64_t acc = ep.accum_signed ? int64_t(a << drop) >> drop : int64_t((a << drop) >> drop);
            ye[j] = requant<Q, O, int64_t>(acc, ep.to_res);
        }
    }
}

struct EpilogueOp {
    const int32_t *s;
    size_t n, lds, n_out;
    const int64_t *bias;
    const Epilogue &ep;
    int64_t *y;
    template <QMode Q, OMode O>
    L1EMU_AI void operator()() const {
        epilogue_rows<Q, O>(s, n, lds, n_out, bias, ep, y);
    }
};

L1EMU_CLONES void epilogue_dispatch(const int32_t *s, size_t n, size_t lds, size_t n_out, const int64_t *bias,
                                    const Epilogue &ep, int64_t *y) {
    EpilogueOp f{s, n, lds, n_out, bias, ep, y};
    with_modes(ep.to_res.q, ep.to_res.o, f);
}

// ---- lanes: ordered accumulation across events -----------------------------------------------------

template <typename T, size_t C, QMode Q, OMode O>
L1EMU_AI void lanes_chunk(const LanesPlan &p, const T *xt, T *acc_out) {
    const size_t n_in = p.n_in;
    for (size_t j = 0; j < p.n_out; ++j) {
        alignas(64) T acc[C];
        const T b = T(p.bias[j]);
        for (size_t e = 0; e < C; ++e) acc[e] = b;
        const int64_t *w = &p.w_ord[j * n_in];
        const int32_t *ii = &p.i_ord[j * n_in];
        for (size_t k = 0; k < n_in; ++k) {
            const T wk = T(w[k]);
            if (!wk) continue;  // (accum_t)0 added to accum_t: unchanged
            const T *xr = xt + size_t(ii[k]) * C;
            for (size_t e = 0; e < C; ++e)
                acc[e] = overflow<O, T>(acc[e] + requant<Q, O, T>(xr[e] * wk, p.prod), p.sum);
        }
        std::memcpy(acc_out + j * C, acc, sizeof acc);
    }
}

template <typename T, size_t C, QMode Q, OMode O>
L1EMU_AI void lanes_res(const T *acc, size_t c, size_t n_out, const Requant &r, int64_t *y) {
    for (size_t j = 0; j < n_out; ++j)
        for (size_t e = 0; e < c; ++e) y[e * n_out + j] = requant<Q, O, int64_t>(int64_t(acc[j * C + e]), r);
}

template <typename T, size_t C>
L1EMU_AI void lanes_transpose(const int64_t *x64, size_t c, size_t n_in, T *xt) {
    for (size_t i = 0; i < n_in; ++i) {
        T *row = xt + i * C;
        for (size_t e = 0; e < c; ++e) row[e] = T(x64[e * n_in + i]);
        for (size_t e = c; e < C; ++e) row[e] = 0;
    }
}

template <typename T, size_t C>
struct LanesMac {
    const LanesPlan &p;
    const T *xt;
    T *acc;
    template <QMode Q, OMode O>
    L1EMU_AI void operator()() const {
        lanes_chunk<T, C, Q, O>(p, xt, acc);
    }
};

template <typename T, size_t C>
struct LanesRes {
    const T *acc;
    size_t c, n_out;
    const Requant &r;
    int64_t *y;
    template <QMode Q, OMode O>
    L1EMU_AI void operator()() const {
        lanes_res<T, C, Q, O>(acc, c, n_out, r, y);
    }
};

// Chunks of C events (kChunk; 16 for small calls, so a batch of one does not pay for 64 lanes).
template <typename T, size_t C>
L1EMU_AI void lanes_all(const LanesPlan &p, const int64_t *x64, size_t n, int64_t *y, T *xt, T *acc) {
    for (size_t e0 = 0; e0 < n; e0 += C) {
        const size_t c = std::min(C, n - e0);
        lanes_transpose<T, C>(x64 + e0 * p.n_in, c, p.n_in, xt);
        LanesMac<T, C> mac{p, xt, acc};
        with_modes(p.prod.q, p.prod.o, mac);
        LanesRes<T, C> res{acc, c, p.n_out, p.res, y + e0 * p.n_out};
        with_modes(p.res.q, p.res.o, res);
    }
}

L1EMU_CLONES void lanes_i32(const LanesPlan &p, const int64_t *x64, size_t n, int64_t *y, int32_t *xt,
                            int32_t *acc) {
    if (n <= 16)
        lanes_all<int32_t, 16>(p, x64, n, y, xt, acc);
    else
        lanes_all<int32_t, kChunk>(p, x64, n, y, xt, acc);
}

L1EMU_CLONES void lanes_i64(const LanesPlan &p, const int64_t *x64, size_t n, int64_t *y, int64_t *xt,
                            int64_t *acc) {
    if (n <= 8)
        lanes_all<int64_t, 8>(p, x64, n, y, xt, acc);
    else
        lanes_all<int64_t, kChunk>(p, x64, n, y, xt, acc);
}

template <QMode Q, OMode O>
L1EMU_AI void requant_rows(const int64_t *x, size_t n, const Requant &r, bool relu, int64_t *y) {
    if (relu)
        for (size_t k = 0; k < n; ++k) y[k] = x[k] > 0 ? requant<Q, O, int64_t>(x[k], r) : 0;
    else
        for (size_t k = 0; k < n; ++k) y[k] = requant<Q, O, int64_t>(x[k], r);
}

struct RequantOp {
    const int64_t *x;
    size_t n;
    const Requant &r;
    bool relu;
    int64_t *y;
    template <QMode Q, OMode O>
    L1EMU_AI void operator()() const {
        requant_rows<Q, O>(x, n, r, relu, y);
    }
};

L1EMU_CLONES void requant_dispatch(const int64_t *x, size_t n, const Requant &r, bool relu, int64_t *y) {
    RequantOp f{x, n, r, relu, y};
    with_modes(r.q, r.o, f);
}

template <QMode Q, OMode O>
L1EMU_AI void affine_rows(const int64_t *x, size_t n_events, size_t size, const int64_t *scale, const int64_t *bias,
                          size_t n_chan, const Requant &r, int64_t *y) {
    for (size_t e = 0; e < n_events; ++e)
        for (size_t i0 = 0; i0 < size; i0 += n_chan) {
            const size_t m = std::min(n_chan, size - i0);
            const int64_t *xe = x + e * size + i0;
            int64_t *ye = y + e * size + i0;
            for (size_t c = 0; c < m; ++c) ye[c] = requant<Q, O, int64_t>(xe[c] * scale[c] + bias[c], r);
        }
}

struct AffineOp {
    const int64_t *x;
    size_t n_events, size;
    const int64_t *scale, *bias;
    size_t n_chan;
    const Requant &r;
    int64_t *y;
    template <QMode Q, OMode O>
    L1EMU_AI void operator()() const {
        affine_rows<Q, O>(x, n_events, size, scale, bias, n_chan, r, y);
    }
};

L1EMU_CLONES void affine_dispatch(const int64_t *x, size_t n_events, size_t size, const int64_t *scale,
                                  const int64_t *bias, size_t n_chan, const Requant &r, int64_t *y) {
    AffineOp f{x, n_events, size, scale, bias, n_chan, r, y};
    with_modes(r.q, r.o, f);
}

}  // namespace

std::string engine_override() {
    const char *env = std::getenv("L1EMU_ENGINE");
    return env ? env : "";
}

bool requant_ok(int src_frac, int src_bits, const Spec &to) {
    const int sh = src_frac - to.frac();
    return to.width <= 62 && sh < 63 && src_bits <= 62 && (sh >= 0 || src_bits - sh <= 62);
}

void requant_array(const int64_t *x, size_t n, const Requant &r, bool relu, int64_t *y) {
    requant_dispatch(x, n, r, relu, y);
}

void affine_requant(const int64_t *x, size_t n_events, size_t size, const int64_t *scale, const int64_t *bias,
                    size_t n_chan, const Requant &r, int64_t *y) {
    affine_dispatch(x, n_events, size, scale, bias, n_chan, r, y);
}

bool has_vnni() {
    static const bool yes = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                            __builtin_cpu_supports("avx512vnni");
    return yes;
}

void PackedI16::pack(const int64_t *wc, size_t n_in_, size_t n_out_) {
    n_in = n_in_;
    n_out = n_out_;
    kp = (n_in + 1) / 2;
    nv = (n_out + 15) / 16;
    w.assign(kp * 16 * nv * 2, 0);
    for (size_t i = 0; i < n_in; ++i)
        for (size_t j = 0; j < n_out; ++j) w[((i / 2) * 16 * nv + j) * 2 + (i & 1)] = int16_t(wc[i * n_out + j]);
}

void pack_rows_i16(const int64_t *x64, size_t n, size_t n_in, size_t ldx, int16_t *x16) {
    pack_rows(x64, n, n_in, ldx, x16);
}

void gemm_i16(const int16_t *x16, size_t n, const PackedI16 &w, int32_t *s, bool vnni) {
    if (vnni && has_vnni())
        gemm_vnni(x16, n, w, s);
    else
        gemm_generic(x16, n, w.w.data(), w.kp, w.lds(), s);
}

void gemm_epilogue(const int32_t *s, size_t n, size_t lds, size_t n_out, const int64_t *bias, const Epilogue &ep,
                   int64_t *y) {
    epilogue_dispatch(s, n, lds, n_out, bias, ep, y);
}

void lanes_forward(const LanesPlan &p, const int64_t *x64, size_t n, int64_t *y) {
    thread_local std::vector<int64_t> scratch;
    const size_t need = (p.n_in + p.n_out) * kChunk;
    if (scratch.size() < need) scratch.resize(need);
    if (p.i32) {
        int32_t *base = reinterpret_cast<int32_t *>(scratch.data());
        lanes_i32(p, x64, n, y, base, base + p.n_in * kChunk);
    } else {
        lanes_i64(p, x64, n, y, scratch.data(), scratch.data() + p.n_in * kChunk);
    }
}

}  // namespace l1emu::layers::mac
