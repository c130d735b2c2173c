// Batched multiply-accumulate kernels shared by the MAC layers (Dense today): a block of events is a matrix.
//   * gemm_i16: S[e][j] = sum_k x[e][k] * w[k][j] on int16 codes with int32 accumulation (AVX-512 VNNI
//     vpdpwssd when the CPU has it, an auto-vectorized AVX-512/AVX2/SSE loop otherwise); the caller proves
//     at load time that every partial sum fits (or that the accumulator is modular within 32 bits).
//   * lanes: the accumulation in the kernel's own order, for accumulators where order matters (products
//     quantized to accum_t, saturating sums), vectorized across events (lane = event): per output j and
//     input k in order, acc = (accum_t)(acc + (accum_t)(x[k] * w[k][j])) on int32 or int64 lanes.
//   * Requant: a vectorizable ap_fixed assignment (any quantization and overflow mode) on codes whose
//     magnitudes the caller has bounded so that no lane operation overflows.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "../fixed/fixed.h"

namespace l1emu::layers::mac {

using fixed::OMode;
using fixed::QMode;
using fixed::Spec;

// Assign v * 2^-src_frac to type `to` (quantization, then overflow), lane-wise. Valid when |v| << lsh and
// every intermediate fit the lane type (the caller's bound) and to.width < lane bits - 1.
struct Requant {
    QMode q = QMode::TRN;
    OMode o = OMode::WRAP;
    int lsh = 0, rsh = 0;       // at most one is non-zero
    int64_t half = 0;           // 1 << (rsh - 1), or a value no remainder reaches when rsh == 0
    int64_t lo = 0, hi = 0;     // saturation rails (SAT_SYM: -max, 1-bit signed types keep min)
    int wrap_drop = 0;          // lane bits - width (WRAP)
    bool is_signed = true;
    uint64_t mask = 0;          // unsigned WRAP: low width bits
    Requant() = default;
    Requant(int src_frac, const Spec &to, int lane_bits);
};

// L1EMU_ENGINE: "reference" keeps every layer on its scalar reference path (tests and old-vs-new benches),
// "gemm_generic" keeps the int16 GEMM off VNNI, "lanes" forces Dense onto the across-events ordered kernel where it applies; unset = the fastest path.
// Read when a layer is built.
std::string engine_override();

// True when Requant(src_frac, to, 64) is exact for every source value below 2^src_bits in magnitude.
bool requant_ok(int src_frac, int src_bits, const Spec &to);
// y[k] = requant(x[k]) (relu: non-positive x give 0) for k < n, vectorized.
void requant_array(const int64_t *x, size_t n, const Requant &r, bool relu, int64_t *y);
// Per-channel affine on event-major rows [n_events x size]: y = requant(x * scale[c] + bias[c]) with
// c = i % n_chan, scale/bias as integers at the source LSB of r; the caller bounds |x * scale + bias| < 2^62.
void affine_requant(const int64_t *x, size_t n_events, size_t size, const int64_t *scale, const int64_t *bias,
                    size_t n_chan, const Requant &r, int64_t *y);

// y[k] = fixed::from_double(x[k], s) for k < n (ap_fixed's double constructor), vectorized: the value scaled
// by 2^frac (exact), floored, the quantization decided from the exact remainder, then the overflow; values
// outside +-2^62 LSBs, near-zero subnormal-range values and non-finite ones take the scalar routine.
// Returns whether some x[k] was NaN or infinite (its code is ap_fixed's; callers that reject those report them).
bool from_doubles(const double *x, size_t n, const Spec &s, int64_t *y);
// The same on float values (each widened to double, exactly): the codes of the array's float64 copy.
bool from_floats(const float *x, size_t n, const Spec &s, int64_t *y);
// y[k] = fixed::to_double(x[k], s) (ap_fixed's to_double) for k < n: one exact multiply by 2^-frac per code
// (vectorized) where every code is below 2^53 and the power of two is normal, the scalar routine otherwise.
void to_doubles(const int64_t *x, size_t n, const Spec &s, double *y);

// Packed weights for gemm_i16: [kp][16 * nv][2] int16, pairs of consecutive inputs per output lane.
struct PackedI16 {
    size_t n_in = 0, n_out = 0, kp = 0, nv = 0;  // kp = ceil(n_in / 2), nv = ceil(n_out / 16)
    std::vector<int16_t> w;
    void pack(const int64_t *w_codes /*[n_in x n_out] values*/, size_t n_in, size_t n_out);
    size_t ldx() const { return 2 * kp; }      // int16 per event row of the packed input
    size_t lds() const { return 16 * nv; }     // int32 per event row of S
};

// x64 [n x n_in] codes (values) -> x16 [n x 2 kp] (zero padded); caller guarantees they fit int16.
void pack_rows_i16(const int64_t *x64, size_t n, size_t n_in, size_t ldx, int16_t *x16);
// S [n x lds] = x16 (x) packed weights; vnni = false takes the auto-vectorized loop (tests).
void gemm_i16(const int16_t *x16, size_t n, const PackedI16 &w, int32_t *s, bool vnni = true);
// True when this CPU runs gemm_i16 on VNNI.
bool has_vnni();

// GEMM epilogue: y[e][j] = res(accfix(bias[j] + (S[e][j] << up))) for j < n_out, where accfix wraps to
// accum_t's width (WRAP accumulators; a no-op for proven in-range sums) and res is `to_res`.
struct Epilogue {
    int up = 0;
    int accum_drop = 0;  // 64 - accum width, for the wrap (0: no wrap)
    bool accum_signed = true;
    Requant to_res;      // accum_t -> res_t on int64 lanes
};
void gemm_epilogue(const int32_t *s, size_t n, size_t lds, size_t n_out, const int64_t *bias, const Epilogue &ep,
                   int64_t *y);

// Ordered accumulation across events. Layout per chunk of C events: xt [in_rows + 1][C] lanes (the last row
// zeros: padding). Outputs are n_pix groups of n_out (Dense: one group; Conv: one per output pixel, whose
// window src[p][*] names the input rows); per output j of group p, inputs k in accumulation order.
constexpr size_t kChunk = 64;
struct LanesPlan {
    size_t n_in = 0, n_out = 0;    // window (Dense: input) size, outputs per group
    size_t n_pix = 1, in_rows = 0; // groups; input codes per event
    std::vector<int64_t> w_ord;    // [n_out][n_in] weight values in accumulation order
    std::vector<int32_t> i_ord;    // [n_out][n_in] window index in accumulation order
    std::vector<int32_t> src;      // [n_pix][n_in] input row of each window index (in_rows: padding)
    std::vector<int64_t> bias;     // accum_t codes
    Requant prod, sum, res;        // product -> accum_t; accum_t + accum_t -> accum_t; accum_t -> res_t
    bool i32 = true;               // int32 lanes (else int64)
    // Conv: window of every output pixel, [n_pix][n_in] flat input index or -1 (padding).
    void set_window(const std::vector<int64_t> &gather, size_t n_pix, size_t in_size);
};
// x64 [n x in_rows] codes (values) -> y [n x n_pix * n_out] res_t codes, any n (chunks of C internally).
void lanes_forward(const LanesPlan &p, const int64_t *x64, size_t n, int64_t *y);

// Conv as a GEMM: x64 [n x in_size] codes -> x16 [n * n_pix rows x ldx] windows (im2col), src [n_pix][n_win]
// input index or in_size (padding, a zero); codes fit int16 (the caller's bound).
void im2col_i16(const int64_t *x64, size_t n, size_t in_size, const int32_t *src, size_t n_pix, size_t n_win,
                size_t ldx, int16_t *x16);

// ---- the evaluation plan of one MAC layer (Dense; Conv per output pixel), chosen at load -------------------
//   GemmI16: int16 x int16 -> int32 GEMM (VNNI) over the block, every partial sum proven to fit (or a modular
//            accumulator of <= 32 bits), bias + accum_t wrap + res_t cast in the epilogue;
//   GemmI64: the layer's exact-product modular MAC (wrapping or proven in-range sums; order-free);
//   Lanes:   the kernel's accumulation order per output, vectorized across events (int32/int64 lanes);
//   Reference: the layer's scalar per-event paths, also forced by L1EMU_ENGINE=reference.
enum class Engine { Reference, GemmI16, GemmI64, Lanes };
struct MacTypes {
    Spec in, w, accum, res;
    size_t n_in = 0, n_out = 0;
    const int64_t *w_codes = nullptr;        // [n_in x n_out] weight_t codes
    const std::vector<int64_t> *bias_acc;    // [n_out] biases cast to accum_t
    const std::vector<int64_t> *order;       // [n_out x n_in] accumulation order
};
struct MacPlan {
    Engine engine = Engine::Reference;
    bool vnni = true;         // gemm_i16 may use VNNI (L1EMU_ENGINE=gemm_generic: no)
    bool res_scalar = false;  // the kernels leave accum_t codes; the layer casts them to res_t per value
    PackedI16 w16;
    Epilogue epi;
    LanesPlan lanes;
    std::string path() const;  // gemm_i16_vnni, gemm_i16, gemm_i64, lanes_i32, lanes_i64, reference
};
MacPlan plan_mac(const MacTypes &t);

}  // namespace l1emu::layers::mac
