// Reference for l1emu.menu.inputs.UgtShiftScaling: the uGT AXOL1TL input interface, as in its emulator
// (_scaleNNInputs): unscaled_t tmp0 = unscaled[i] - ad_offsets[i]; input_t tmp1 = tmp0 >> ad_shift[i].
// stdin: n_inputs, then offsets, shifts, then rows of n_inputs integer hardware codes until EOF.
// stdout: the raw codes of input_t per row.
#include <cstdio>
#include <vector>
#include "ap_fixed.h"

#ifndef UNSCALED_T
#define UNSCALED_T ap_fixed<18, 13>
#endif
typedef UNSCALED_T unscaled_t;
typedef ap_fixed<10, 10> ad_offset_t;
typedef ap_fixed<5, 5> ad_shift_t;
typedef ap_fixed<INPUT_W, INPUT_I, AP_RND_CONV, AP_SAT> input_t;

int main() {
  int n;
  if (scanf("%d", &n) != 1) return 1;
  std::vector<ad_offset_t> offsets(n);
  std::vector<ad_shift_t> shifts(n);
  for (int i = 0; i < n; i++) { long v; if (scanf("%ld", &v) != 1) return 1; offsets[i] = v; }
  for (int i = 0; i < n; i++) { long v; if (scanf("%ld", &v) != 1) return 1; shifts[i] = v; }
  long x;
  int i = 0;
  while (scanf("%ld", &x) == 1) {
    unscaled_t unscaled = x;
    unscaled_t tmp0 = unscaled - offsets[i];
    input_t tmp1 = tmp0 >> shifts[i];
    printf("%lld%c", (long long)tmp1.range().to_int64() - (tmp1 < 0 ? (1LL << INPUT_W) : 0), ++i == n ? '\n' : ' ');
    if (i == n) i = 0;
  }
  return 0;
}
