#include "mac.h"
#include "mac_lanes.h"

#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace l1emu::layers::mac {

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
                            const Epilogue ep, int64_t *y) {
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

// acc [n_out][C] of output group (pixel) p: bias, then each product in the kernel's order. A wrapping
// accumulator (W <= lane bits) only depends on the sum modulo 2^lane bits: products are rounded, summed
// modularly and wrapped to W once at the end.
template <typename T, size_t C, QMode Q, OMode O>
L1EMU_AI void lanes_group(const LanesPlan &p, size_t pix, const T *xt, T *acc_out) {
    using U = std::make_unsigned_t<T>;
    const size_t n_in = p.n_in;
    const int32_t *src = &p.src[pix * n_in];
    for (size_t j = 0; j < p.n_out; ++j) {
        alignas(64) T acc[C];
        const T b = T(p.bias[j]);
        for (size_t e = 0; e < C; ++e) acc[e] = b;
        const int64_t *w = &p.w_ord[j * n_in];
        const int32_t *ii = &p.i_ord[j * n_in];
        for (size_t k = 0; k < n_in; ++k) {
            const T wk = T(w[k]);
            if (!wk) continue;  // (accum_t)0 added to accum_t: unchanged
            const T *xr = xt + size_t(src[ii[k]]) * C;
            if constexpr (O == OMode::WRAP) {
                for (size_t e = 0; e < C; ++e) acc[e] = T(U(acc[e]) + U(round<Q, T>(xr[e] * wk, p.prod)));
            } else {
                for (size_t e = 0; e < C; ++e)
                    acc[e] = overflow<O, T>(acc[e] + requant<Q, O, T>(xr[e] * wk, p.prod), p.sum);
            }
        }
        if constexpr (O == OMode::WRAP)
            for (size_t e = 0; e < C; ++e) acc[e] = overflow<O, T>(acc[e], p.sum);
        std::memcpy(acc_out + j * C, acc, sizeof acc);
    }
}

// y[e * stride + j] = res(acc[j][e]) for the c live lanes: the cast vectorized along the lanes into tile
// [n_out][C], then each event's outputs stored together (event rows far apart in memory, often a multiple of
// 4 KiB: one row at a time, not one column of rows).
template <typename T, size_t C, QMode Q, OMode O>
L1EMU_AI void lanes_res(const T *acc, size_t c, size_t n_out, size_t stride, const Requant r, int64_t *tile,
                        int64_t *y) {
    for (size_t j = 0; j < n_out; ++j)
        for (size_t e = 0; e < C; ++e) tile[j * C + e] = requant<Q, O, int64_t>(int64_t(acc[j * C + e]), r);
    for (size_t e = 0; e < c; ++e)
        for (size_t j = 0; j < n_out; ++j) y[e * stride + j] = tile[j * C + e];
}

// xt [rows + 1][C]: the codes of c events transposed, dead lanes and the padding row zero.
template <typename T, size_t C>
L1EMU_AI void lanes_transpose(const int64_t *x64, size_t c, size_t rows, T *xt) {
    std::memset(static_cast<void *>(xt + rows * C), 0, C * sizeof(T));
    for (size_t i = 0; i < rows; ++i) {
        T *row = xt + i * C;
        for (size_t e = 0; e < c; ++e) row[e] = T(x64[e * rows + i]);
        for (size_t e = c; e < C; ++e) row[e] = 0;
    }
}

template <typename T, size_t C>
struct LanesMac {
    const LanesPlan &p;
    size_t pix;
    const T *xt;
    T *acc;
    template <QMode Q, OMode O>
    L1EMU_AI void operator()() const {
        lanes_group<T, C, Q, O>(p, pix, xt, acc);
    }
};

template <typename T, size_t C>
struct LanesRes {
    const T *acc;
    size_t c, n_out, stride;
    const Requant &r;
    int64_t *tile, *y;
    template <QMode Q, OMode O>
    L1EMU_AI void operator()() const {
        lanes_res<T, C, Q, O>(acc, c, n_out, stride, r, tile, y);
    }
};

// Chunks of C events (kChunk; 16 for small calls, so a batch of one does not pay for 64 lanes).
template <typename T, size_t C>
L1EMU_AI void lanes_all(const LanesPlan &p, const int64_t *x64, size_t n, int64_t *y, T *xt, T *acc,
                        int64_t *tile) {
    const size_t out_size = p.n_pix * p.n_out;
    for (size_t e0 = 0; e0 < n; e0 += C) {
        const size_t c = std::min(C, n - e0);
        lanes_transpose<T, C>(x64 + e0 * p.in_rows, c, p.in_rows, xt);
        for (size_t pix = 0; pix < p.n_pix; ++pix) {
            LanesMac<T, C> mac{p, pix, xt, acc};
            with_modes(p.prod.q, p.prod.o, mac);
            LanesRes<T, C> res{acc, c, p.n_out, out_size, p.res, tile, y + e0 * out_size + pix * p.n_out};
            with_modes(p.res.q, p.res.o, res);
        }
    }
}

L1EMU_CLONES void lanes_i32(const LanesPlan &p, const int64_t *x64, size_t n, int64_t *y, int32_t *xt,
                            int32_t *acc, int64_t *tile) {
    if (n <= 16)
        lanes_all<int32_t, 16>(p, x64, n, y, xt, acc, tile);
    else
        lanes_all<int32_t, kChunk>(p, x64, n, y, xt, acc, tile);
}

L1EMU_CLONES void lanes_i64(const LanesPlan &p, const int64_t *x64, size_t n, int64_t *y, int64_t *xt,
                            int64_t *acc, int64_t *tile) {
    if (n <= 8)
        lanes_all<int64_t, 8>(p, x64, n, y, xt, acc, tile);
    else
        lanes_all<int64_t, kChunk>(p, x64, n, y, xt, acc, tile);
}

L1EMU_CLONES void im2col(const int64_t *x64, size_t n, size_t in_size, const int32_t *src, size_t n_pix,
                         size_t n_win, size_t ldx, int16_t *x16, int16_t *xe16) {
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x64 + e * in_size;
        for (size_t i = 0; i < in_size; ++i) xe16[i] = int16_t(xe[i]);
        xe16[in_size] = 0;
        int16_t *rows = x16 + e * n_pix * ldx;
        for (size_t p = 0; p < n_pix; ++p) {
            const int32_t *sp = src + p * n_win;
            int16_t *o = rows + p * ldx;
            for (size_t k = 0; k < n_win; ++k) o[k] = xe16[sp[k]];
            for (size_t k = n_win; k < ldx; ++k) o[k] = 0;
        }
    }
}

template <QMode Q, OMode O>
L1EMU_AI void requant_rows(const int64_t *x, size_t n, const Requant r, bool relu, int64_t *y) {
    if (relu)  // (res_t)0 is 0 in every mode: branch-free
        for (size_t k = 0; k < n; ++k) y[k] = requant<Q, O, int64_t>(x[k] & ~(x[k] >> 63), r);  // max(x, 0)
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
                          size_t n_chan, const Requant r, int64_t *y) {
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

// ---- input quantization ---------------------------------------------------------------------------

// Returns whether any value needs the scalar routine (those lanes hold garbage). Branch-free, so that it
// vectorizes: the slow test is a lane mask, not a stored flag.
// float inputs are widened to double first (exact), so a float32 array gives the codes of its float64 copy.
template <QMode Q, OMode O, typename T>
L1EMU_AI bool from_reals_rows(const T *__restrict x, size_t n, double scale, const Requant r,
                              int64_t *__restrict y) {
    int any_slow = 0;
    for (size_t k = 0; k < n; ++k) {
        const double xk = double(x[k]), v0 = xk * scale, a = std::fabs(xk);
        const int slow = int(!(std::fabs(v0) < 0x1p62)) | (int(a < 0x1p-900) & int(a != 0));
        any_slow |= slow;
        const double v = slow ? 0.0 : v0, fl = std::floor(v), rem = v - fl;
        const int64_t q0 = int64_t(fl), neg = int64_t(v < 0);
        int64_t up;
        if constexpr (Q == QMode::TRN)
            up = 0;
        else if constexpr (Q == QMode::TRN_ZERO)
            up = neg & int64_t(rem != 0);
        else if constexpr (Q == QMode::RND)
            up = int64_t(rem >= 0.5);
        else if constexpr (Q == QMode::RND_ZERO)
            up = int64_t(rem > 0.5) | (int64_t(rem == 0.5) & neg);
        else if constexpr (Q == QMode::RND_MIN_INF)
            up = int64_t(rem > 0.5);
        else if constexpr (Q == QMode::RND_INF)
            up = int64_t(rem > 0.5) | (int64_t(rem == 0.5) & (neg ^ 1));
        else  // q0 & (0 or 1): see round() in mac_lanes.h
            up = int64_t(rem > 0.5) | (q0 & int64_t(rem == 0.5));
        y[k] = overflow<O, int64_t>(q0 + up, r);
    }
    return any_slow != 0;
}

template <typename T>
struct FromReals {
    const T *x;
    size_t n;
    double scale;
    const Requant &r;
    int64_t *y;
    bool &any_slow;
    template <QMode Q, OMode O>
    L1EMU_AI void operator()() const {
        // Input rows stream in from memory; the hardware prefetcher stops at each 4 KiB page, so the lines a
        // step ahead are requested here (a prefetch past the end is harmless: it never faults).
        constexpr size_t step = 512 / sizeof(T), ahead = 8192 / sizeof(T), line = 64 / sizeof(T);
        bool slow = false;
        for (size_t k0 = 0; k0 < n; k0 += step) {
            for (size_t k = k0 + ahead, end = std::min(n, k0 + ahead + step); k < end; k += line) __builtin_prefetch(x + k);
            slow |= from_reals_rows<Q, O>(x + k0, std::min(step, n - k0), scale, r, y + k0);
        }
        any_slow = slow;
    }
};

L1EMU_CLONES bool from_reals_dispatch(const double *x, size_t n, double scale, const Requant &r, int64_t *y) {
    bool any_slow = false;
    FromReals<double> f{x, n, scale, r, y, any_slow};
    with_modes(r.q, r.o, f);
    return any_slow;
}

L1EMU_CLONES bool from_reals_dispatch(const float *x, size_t n, double scale, const Requant &r, int64_t *y) {
    bool any_slow = false;
    FromReals<float> f{x, n, scale, r, y, any_slow};
    with_modes(r.q, r.o, f);
    return any_slow;
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

template <typename T>
bool from_reals(const T *x, size_t n, const Spec &s, int64_t *y) {
    bool non_finite = false;
    if (s.width > 62 || s.frac() > 1000 || s.frac() < -1000) {
        for (size_t k = 0; k < n; ++k) {
            const double xk = double(x[k]);
            y[k] = fixed::from_double(xk, s), non_finite |= !std::isfinite(xk);
        }
        return non_finite;
    }
    const Requant r(s.frac(), s, 64);  // its overflow step, on integers at s's LSB
    const double scale = std::ldexp(1.0, s.frac());
    if (!from_reals_dispatch(x, n, scale, r, y)) return false;
    for (size_t k = 0; k < n; ++k) {  // rare: huge, tiny or non-finite values
        const double xk = double(x[k]), a = std::fabs(xk);
        if (!(std::fabs(xk * scale) < 0x1p62) || (a < 0x1p-900 && a != 0)) y[k] = fixed::from_double(xk, s);
        non_finite |= !std::isfinite(xk);
    }
    return non_finite;
}

bool from_doubles(const double *x, size_t n, const Spec &s, int64_t *y) { return from_reals(x, n, s, y); }
bool from_floats(const float *x, size_t n, const Spec &s, int64_t *y) { return from_reals(x, n, s, y); }

namespace {
L1EMU_CLONES void scale_codes(const int64_t *__restrict x, size_t n, double scale, double *__restrict y) {
    for (size_t k = 0; k < n; ++k) y[k] = double(x[k]) * scale;
}
}  // namespace

void to_doubles(const int64_t *x, size_t n, const Spec &s, double *y) {
    // Codes of at most 53 bits convert exactly; the product with a normal power of two stays exact as long as
    // it is normal too (|code| >= 1, frac in [-900, 900]).
    if (s.width <= 53 && s.frac() <= 900 && s.frac() >= -900) {
        scale_codes(x, n, std::ldexp(1.0, -s.frac()), y);
        return;
    }
    for (size_t k = 0; k < n; ++k) y[k] = fixed::to_double(x[k], s);
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
    const size_t need = (p.in_rows + 1 + 2 * p.n_out) * kChunk;  // xt, acc, tile (int64 words)
    if (scratch.size() < need) scratch.resize(need);
    int64_t *tile = scratch.data() + (p.in_rows + 1 + p.n_out) * kChunk;
    if (p.i32) {
        int32_t *base = reinterpret_cast<int32_t *>(scratch.data());
        lanes_i32(p, x64, n, y, base, base + (p.in_rows + 1) * kChunk, tile);
    } else {
        lanes_i64(p, x64, n, y, scratch.data(), scratch.data() + (p.in_rows + 1) * kChunk, tile);
    }
}

void LanesPlan::set_window(const std::vector<int64_t> &gather, size_t n_pix_, size_t in_size) {
    n_pix = n_pix_;
    in_rows = in_size;
    src.resize(gather.size());
    for (size_t k = 0; k < gather.size(); ++k) src[k] = int32_t(gather[k] < 0 ? int64_t(in_size) : gather[k]);
}

void im2col_i16(const int64_t *x64, size_t n, size_t in_size, const int32_t *src, size_t n_pix, size_t n_win,
                size_t ldx, int16_t *x16) {
    thread_local std::vector<int16_t> xe16;
    if (xe16.size() < in_size + 1) xe16.resize(in_size + 1);
    im2col(x64, n, in_size, src, n_pix, n_win, ldx, x16, xe16.data());
}

std::string MacPlan::path() const {
    switch (engine) {
        case Engine::GemmI16: return vnni && has_vnni() ? "gemm_i16_vnni" : "gemm_i16";
        case Engine::GemmI64: return "gemm_i64";
        case Engine::Lanes: return lanes.i32 ? "lanes_i32" : "lanes_i64";
        default: return "reference";
    }
}

MacPlan plan_mac(const MacTypes &t) {
    using fixed::i128;
    MacPlan plan;
    const std::string force = engine_override();
    if (force == "reference") return plan;
    const size_t n_in = t.n_in, n_out = t.n_out;
    const std::vector<int64_t> &bias = *t.bias_acc, &order = *t.order;
    // Bounds from the types and the weights (products in units of data LSB x weight LSB).
    if (!fixed::fits_int64(t.in) || !fixed::fits_int64(t.w) || !fixed::fits_int64(t.accum)) return plan;
    const i128 x_lo = t.in.min_code(), x_hi = t.in.max_code();
    const i128 x_abs = std::max(-x_lo, x_hi);
    i128 w_abs = 0;
    bool w16 = true;
    std::vector<int64_t> wv(n_in * n_out);
    for (size_t k = 0; k < wv.size(); ++k) {
        const i128 v = fixed::value_of(t.w_codes[k], t.w);
        if (v > (i128(1) << 62) || v < -(i128(1) << 62)) return plan;
        wv[k] = int64_t(v);
        w_abs = std::max(w_abs, v < 0 ? -v : v);
        w16 = w16 && v >= -32768 && v <= 32767;
    }
    if (x_abs > (i128(1) << 62)) return plan;
    const i128 p_abs = x_abs * w_abs;  // < 2^124
    const int prod_frac = t.in.frac() + t.w.frac(), up = t.accum.frac() - prod_frac;
    const bool exact_products = up >= 0 && up < 64;
    const i128 a_lo = t.accum.min_code() + ((t.accum.o == OMode::SAT_SYM && t.accum.is_signed) ? 1 : 0),
               a_hi = t.accum.max_code();
    // Every partial sum (any order), every single product, within accum_t: saturation never triggers.
    bool in_range = exact_products && up < 60 && fixed::bit_length(p_abs) + up + fixed::bit_length(i128(n_in)) < 120;
    i128 s_abs = 0;  // max |sum_i x_i w_ij| over outputs
    for (size_t j = 0; j < n_out && in_range; ++j) {
        i128 pos = 0, neg = 0;
        for (size_t i = 0; i < n_in; ++i) {
            const i128 a = i128(wv[i * n_out + j]) * x_lo, b = i128(wv[i * n_out + j]) * x_hi;
            pos += std::max<i128>({i128(0), a, b});
            neg += std::min<i128>({i128(0), a, b});
        }
        s_abs = std::max(s_abs, std::max(pos, -neg));
        const i128 b = bias[j], P = pos << up, N = neg << up;
        in_range = b + N >= a_lo && b + P <= a_hi && N >= a_lo && P <= a_hi;
    }
    const bool wrap = t.accum.o == OMode::WRAP;

    // res_t cast on int64 lanes: accum_t codes are below 2^width in magnitude.
    const int res_sh = t.accum.frac() - t.res.frac();
    plan.res_scalar = !(t.res.width <= 62 && res_sh < 63 && (res_sh >= 0 || t.accum.width - res_sh <= 62));
    const Requant to_res = plan.res_scalar ? Requant(t.accum.frac(), t.accum, 64)  // identity on accum codes
                                           : Requant(t.accum.frac(), t.res, 64);

    // GemmI16: int16 codes, int32 sums exact (or modular within a <= 32-bit wrapping accumulator).
    const bool fits16 = x_lo >= -32768 && x_hi <= 32767 && w16 && exact_products && t.accum.width <= 62;
    const bool sums32 = s_abs < (i128(1) << 31);
    if (force != "lanes" && fits16 &&
        ((wrap && (t.accum.width <= 32 || (in_range && sums32))) || (!wrap && in_range && sums32))) {
        plan.engine = Engine::GemmI16;
        plan.vnni = force != "gemm_generic";
        plan.w16.pack(wv.data(), n_in, n_out);
        plan.epi.up = up;
        plan.epi.accum_drop = wrap ? 64 - t.accum.width : 0;
        plan.epi.accum_signed = t.accum.is_signed;
        plan.epi.to_res = to_res;
        return plan;
    }
    // GemmI64: the modular MAC rows, exact products; a wrapping accumulator or proven in-range sums.
    if (force != "lanes" && exact_products && (wrap || in_range)) {
        plan.engine = Engine::GemmI64;
        plan.res_scalar = true;
        return plan;
    }
    // Lanes: int32 when products, sums and shifts fit, else int64.
    const int lsh = up > 0 ? up : 0, rsh = up < 0 ? -up : 0;
    const int pbits = p_abs == 0 ? 0 : fixed::bit_length(p_abs) + lsh;
    const bool i32 = pbits <= 30 && t.accum.width <= 30 && rsh < 31 && x_abs < (i128(1) << 30);
    const bool i64 = pbits <= 61 && t.accum.width <= 61 && rsh < 63;
    if (!i32 && !i64) return plan;
    plan.engine = Engine::Lanes;
    const int lane_bits = i32 ? 32 : 64;
    LanesPlan &l = plan.lanes;
    l.i32 = i32;
    l.n_in = l.in_rows = n_in;
    l.n_out = n_out;
    l.src.resize(n_in);
    for (size_t i = 0; i < n_in; ++i) l.src[i] = int32_t(i);
    l.w_ord.resize(n_out * n_in);
    l.i_ord.resize(n_out * n_in);
    for (size_t j = 0; j < n_out; ++j)
        for (size_t k = 0; k < n_in; ++k) {
            const size_t i = size_t(order[j * n_in + k]);
            l.i_ord[j * n_in + k] = int32_t(i);
            l.w_ord[j * n_in + k] = wv[i * n_out + j];
        }
    l.bias = bias;
    l.prod = Requant(prod_frac, t.accum, lane_bits);
    l.sum = Requant(t.accum.frac(), t.accum, lane_bits);
    l.res = to_res;
    return plan;
}

}  // namespace l1emu::layers::mac
