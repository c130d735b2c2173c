// The uGT AXOL1TL input interface (its emulator's _scaleNNInputs) on a block of events:
//   unscaled_t tmp = unscaled_t(x) - offset; y = tmp >> shift   (offset: ap_fixed<10,10>, shift: ap_fixed<5,5>)
// ap_fixed's >> keeps the type: a right shift drops bits below the LSB (floor), a left shift (negative
// shift) moves bits out of the top (wrap). The model's own input cast then applies to y.
#pragma once

#include <cstddef>
#include <cstdint>

#include "../fixed/fixed.h"

namespace l1emu::menu {

// x, y: [n x k] event-major; offsets, shifts: [k] integers; unscaled: a signed type of at most 32 bits.
// x: float64 values, or integer values (hardware codes) taken exactly.
void ugt_shift(const double *x, size_t n, size_t k, const int64_t *offsets, const int64_t *shifts,
               const fixed::Spec &unscaled, double *y);
void ugt_shift(const int32_t *x, size_t n, size_t k, const int64_t *offsets, const int64_t *shifts,
               const fixed::Spec &unscaled, double *y);

}  // namespace l1emu::menu
