// Integer uGT codes of physical object values (events.record.HARDWARE_UNITS):
//   linear (pt, eta, et): c = floor(x / lsb + 1e-9) or rint(x / lsb) (ties to even), saturated to [lo, hi];
//   phi: rint(phi / lsb) mod period, in [0, period).
// An object (pt, eta, phi) whose pt code is 0 (an empty slot) has all codes 0. NaN (and a non-finite phi)
// has no code: std::invalid_argument naming the element.
#pragma once

#include <cstddef>
#include <cstdint>

namespace l1emu::menu {

struct LinearUnit {
    double lsb;
    bool floor;  // else round half to even
    int64_t lo, hi;
};

// Values are taken at their own precision (float or double), as np.asarray(x, np.float64) does.
#define L1EMU_HARDWARE_CODES(T)                                                                                 \
    void digitize(const T *x, size_t n, const LinearUnit &u, int32_t *codes);                                  \
    void digitize_phi(const T *x, size_t n, double lsb, int64_t period, int32_t *codes);                        \
    /* v: [n x 3] (pt, eta, phi) objects -> codes [n x 3] */                                                    \
    void object_codes(const T *v, size_t n, const LinearUnit &pt, const LinearUnit &eta, double phi_lsb,        \
                      int64_t period, int32_t *codes);                                                          \
    /* v: [n x 2] (pt, phi) MET -> codes [n x 2] */                                                             \
    void met_codes(const T *v, size_t n, const LinearUnit &pt, double phi_lsb, int64_t period, int32_t *codes);    \
    /* v: [n x count x 3] objects (or [n x 2] MET: count 1, eta null) -> codes (pt, eta, phi) per object, eta 0 */ \
    /* for MET, into columns [column, column + 3 count) of rows [n x row_width]; other columns untouched */      \
    void object_rows(const T *v, size_t n, size_t count, const LinearUnit &pt, const LinearUnit *eta,             \
                     double phi_lsb, int64_t period, size_t row_width, size_t column, int32_t *rows);
L1EMU_HARDWARE_CODES(float)
L1EMU_HARDWARE_CODES(double)
#undef L1EMU_HARDWARE_CODES

}  // namespace l1emu::menu
