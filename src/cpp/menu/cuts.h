// Seed cut expressions on blocks of events: the program menu/expr.py compiles from a cut's AST.
//
// Registers hold, per event, one value (width 1) or one per object slot of a field (width = its capacity,
// inside n()/ht()); numbers are (value, exists) pairs, conditions booleans. Semantics (expr.py's docstring):
// a slot exists when its pt > 0; arithmetic on a missing value stays missing (value 0); a comparison
// involving one is false; x / 0 is missing. Numbers are float64 (float32 fields widened exactly).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace l1emu::menu {

enum class CutOp : int64_t {
    Num,    // dst = (x, exists)                           x: constants[a]
    Bool,   // dst = a != 0
    Seed,   // dst = seeds[a][event]
    Attr,   // dst = fields[a][event, b, c] (exists: its pt > 0; b >= capacity: missing)   met: b = 0
    Each,   // dst[slot] = fields[a][event, slot, c]        (width: the capacity of field a)
    Cmp,    // dst = a <cmp c> b, and both exist            c: 0 >=, 1 >, 2 <=, 3 <, 4 ==, 5 !=
    Arith,  // dst = a <op c> b, existing if both do (and b != 0 for /)   c: 0 +, 1 -, 2 *, 3 /
    And,
    Or,
    Not,
    Neg,
    Abs,
    Count,  // dst = number of existing slots of field a where b holds (b < 0: all)
    Ht,     // dst = sum of the pt of those slots, in slot order
};

struct CutInstr {
    CutOp op;
    int64_t dst, a, b, c;
};

struct CutField {  // (n, capacity, width) object slots or (n, width) MET, float32 or float64
    const void *data;
    bool is_double;
    int64_t capacity;  // 0 for MET
    int64_t width;     // values per slot (3: pt, eta, phi; MET 2: pt, phi)
};

struct CutProgram {
    std::vector<CutInstr> code;
    std::vector<double> constants;
    std::vector<int64_t> reg_width;  // per register: 1, or the capacity of the field it iterates
    std::vector<int64_t> results;    // boolean registers of width 1: the cuts the program evaluates at once
};

// out[k * n + e] = result k on event e, for events [0, n): fields and seeds (bool arrays of n) indexed as the
// program refers to them. Several cuts in one program share the loads and subexpressions they have in common.
void eval_cuts(const CutProgram &p, const std::vector<CutField> &fields, const std::vector<const bool *> &seeds,
               size_t n, bool *out);

}  // namespace l1emu::menu
