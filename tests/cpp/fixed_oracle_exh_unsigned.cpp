// Exhaustive oracle families for the unsigned source types (see fixed_oracle_common.h, run_exhaustive_part).
#include "fixed_oracle_common.h"

namespace oracle {
void run_exhaustive_unsigned() { run_exhaustive_part<1>(); }
}  // namespace oracle
