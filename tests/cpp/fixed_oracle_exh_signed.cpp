// Exhaustive oracle families for the signed source types (see fixed_oracle_common.h, run_exhaustive_part).
#include "fixed_oracle_common.h"

namespace oracle {
void run_exhaustive_signed() { run_exhaustive_part<0>(); }
}  // namespace oracle
