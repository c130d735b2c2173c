#include "cuts.h"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "../layers/mac_lanes.h"  // L1EMU_AI, L1EMU_CLONES

namespace l1emu::menu {

namespace {

constexpr size_t kBlock = 256;  // events per pass: the registers of a block stay in L2

// A register holds w slots of kBlock events, slot-major: element (slot j, event e) at j * kBlock + e, so
// every loop runs over the events of one slot (contiguous, vectorized) and a width-1 operand broadcasts
// over the slots without index arithmetic.
struct Reg {
    std::vector<double> v;
    std::vector<uint8_t> ok;  // exists (numbers) or the condition (booleans)
    size_t w = 1;
};

// The kernels take restrict pointers: registers are single-assignment (a destination is never an operand),
// and without the promise every uint8_t store could alias the vectors' data pointers (scalar loops).
using Vals = double *__restrict;
using Oks = uint8_t *__restrict;
using CVals = const double *__restrict;
using COks = const uint8_t *__restrict;

// f(i, ia, ib) for the m events of every slot of d; a width-1 operand is read at slot 0.
template <class F>
L1EMU_AI void binary(size_t w, size_t wa, size_t wb, size_t m, F f) {
    for (size_t j = 0; j < w; ++j) {
        const size_t o = j * kBlock, oa = wa == 1 ? 0 : o, ob = wb == 1 ? 0 : o;
        for (size_t e = 0; e < m; ++e) f(o + e, oa + e, ob + e);
    }
}

template <class Cmp>
L1EMU_AI void compare(Reg &d, const Reg &a, const Reg &b, size_t m, Cmp cmp) {
    Oks dk = d.ok.data();
    CVals av = a.v.data(), bv = b.v.data();
    COks ak = a.ok.data(), bk = b.ok.data();
    binary(d.w, a.w, b.w, m, [&](size_t i, size_t ia, size_t ib) { dk[i] = ak[ia] & bk[ib] & uint8_t(cmp(av[ia], bv[ib])); });
}

template <class Op>
L1EMU_AI void arith(Reg &d, const Reg &a, const Reg &b, size_t m, Op op, bool divide) {
    Vals dv = d.v.data();
    Oks dk = d.ok.data();
    CVals av = a.v.data(), bv = b.v.data();
    COks ak = a.ok.data(), bk = b.ok.data();
    binary(d.w, a.w, b.w, m, [&](size_t i, size_t ia, size_t ib) {
        const double y = bv[ib], r = op(av[ia], y);
        const uint8_t ok = ak[ia] & bk[ib] & uint8_t(!divide || y != 0);
        dk[i] = ok;
        dv[i] = ok ? r : 0.0;
    });
}

// Slots [j0, j0 + nj) of field x (cap slots of `width` values per event) for events [e0, e0 + m): value
// attr c, and whether the slot exists (its pt > 0), into register slots 0..nj-1.
template <class T>
L1EMU_AI void slots(const T *__restrict x, size_t cap, size_t width, size_t e0, size_t m, size_t j0, size_t nj,
                    size_t c, Vals v, Oks ok) {
    const size_t stride = cap * width;  // between events
    for (size_t j = 0; j < nj; ++j) {
        const T *s = x + e0 * stride + (j0 + j) * width;
        for (size_t e = 0; e < m; ++e) {
            v[j * kBlock + e] = double(s[e * stride + c]);
            ok[j * kBlock + e] = s[e * stride] > 0;
        }
    }
}

// Number (or pt sum) of the existing slots where cond holds; the sum in slot order per event, as the
// reference adds them (slot loop outside, events vectorized inside).
template <class T>
L1EMU_AI void count_ht(const T *__restrict x, size_t cap, size_t width, size_t e0, size_t m, const Reg *cond, bool ht,
                       Reg &d) {
    Vals dv = d.v.data();
    Oks dk = d.ok.data();
    COks ck = cond ? cond->ok.data() : nullptr;
    const size_t cw = cond ? cond->w : 0, stride = cap * width;
    std::fill_n(dv, m, 0.0);
    std::fill_n(dk, m, uint8_t(1));
    for (size_t j = 0; j < cap; ++j) {
        const T *s = x + e0 * stride + j * width;
        COks cj = ck ? ck + (cw == 1 ? 0 : j * kBlock) : nullptr;
        for (size_t e = 0; e < m; ++e) {
            const double pt = double(s[e * stride]);
            const bool sel = (pt > 0) & (!cj || cj[e]);
            dv[e] += ht ? (sel ? pt : 0.0) : double(sel);
        }
    }
}

L1EMU_AI void run_block(const CutProgram &p, const std::vector<CutField> &fields, const std::vector<const bool *> &seeds,
               size_t e0, size_t m, std::vector<Reg> &regs) {
    for (const CutInstr &in : p.code) {
        Reg &d = regs[size_t(in.dst)];
        const size_t w = d.w;
        switch (in.op) {
            case CutOp::Num:  // width 1 (the compiler's constants)
                for (size_t j = 0; j < w; ++j) {
                    std::fill_n(d.v.begin() + ptrdiff_t(j * kBlock), m, p.constants[size_t(in.a)]);
                    std::fill_n(d.ok.begin() + ptrdiff_t(j * kBlock), m, 1);
                }
                break;
            case CutOp::Bool:
                for (size_t j = 0; j < w; ++j) std::fill_n(d.ok.begin() + ptrdiff_t(j * kBlock), m, uint8_t(in.a != 0));
                break;
            case CutOp::Seed: {
                const bool *__restrict sd = seeds[size_t(in.a)] + e0;
                Oks dk = d.ok.data();
                for (size_t e = 0; e < m; ++e) dk[e] = sd[e];
                break;
            }
            case CutOp::Attr:
            case CutOp::Each: {
                const CutField &f = fields[size_t(in.a)];
                const bool met = f.capacity == 0;
                const size_t cap = met ? 1 : size_t(f.capacity), width = size_t(f.width);
                const size_t j0 = in.op == CutOp::Each ? 0 : size_t(in.b), nj = in.op == CutOp::Each ? cap : 1;
                if (!met && j0 >= cap) {  // past the list: no object
                    std::fill_n(d.v.begin(), m, 0.0);
                    std::fill_n(d.ok.begin(), m, 0);
                    break;
                }
                if (f.is_double)
                    slots(static_cast<const double *>(f.data), cap, width, e0, m, j0, nj, size_t(in.c), d.v.data(), d.ok.data());
                else
                    slots(static_cast<const float *>(f.data), cap, width, e0, m, j0, nj, size_t(in.c), d.v.data(), d.ok.data());
                if (met) std::fill_n(d.ok.begin(), m, 1);  // MET exists always
                break;
            }
            case CutOp::Cmp: {
                const Reg &a = regs[size_t(in.a)], &b = regs[size_t(in.b)];
                switch (in.c) {
                    case 0: compare(d, a, b, m, [](double x, double y) { return x >= y; }); break;
                    case 1: compare(d, a, b, m, [](double x, double y) { return x > y; }); break;
                    case 2: compare(d, a, b, m, [](double x, double y) { return x <= y; }); break;
                    case 3: compare(d, a, b, m, [](double x, double y) { return x < y; }); break;
                    case 4: compare(d, a, b, m, [](double x, double y) { return x == y; }); break;
                    default: compare(d, a, b, m, [](double x, double y) { return x != y; }); break;
                }
                break;
            }
            case CutOp::Arith: {
                const Reg &a = regs[size_t(in.a)], &b = regs[size_t(in.b)];
                switch (in.c) {
                    case 0: arith(d, a, b, m, [](double x, double y) { return x + y; }, false); break;
                    case 1: arith(d, a, b, m, [](double x, double y) { return x - y; }, false); break;
                    case 2: arith(d, a, b, m, [](double x, double y) { return x * y; }, false); break;
                    default: arith(d, a, b, m, [](double x, double y) { return x / y; }, true); break;
                }
                break;
            }
            case CutOp::And:
            case CutOp::Or: {
                const Reg &a = regs[size_t(in.a)], &b = regs[size_t(in.b)];
                Oks dk = d.ok.data();
                COks ak = a.ok.data(), bk = b.ok.data();
                if (in.op == CutOp::And)
                    binary(w, a.w, b.w, m, [&](size_t i, size_t ia, size_t ib) { dk[i] = ak[ia] & bk[ib]; });
                else
                    binary(w, a.w, b.w, m, [&](size_t i, size_t ia, size_t ib) { dk[i] = ak[ia] | bk[ib]; });
                break;
            }
            case CutOp::Not: {
                COks ak = regs[size_t(in.a)].ok.data();
                Oks dk = d.ok.data();
                binary(w, w, w, m, [&](size_t i, size_t ia, size_t) { dk[i] = !ak[ia]; });
                break;
            }
            case CutOp::Neg:
            case CutOp::Abs: {
                const Reg &a = regs[size_t(in.a)];
                CVals av = a.v.data();
                COks ak = a.ok.data();
                Vals dv = d.v.data();
                Oks dk = d.ok.data();
                if (in.op == CutOp::Neg)
                    binary(w, w, w, m, [&](size_t i, size_t ia, size_t) { dk[i] = ak[ia], dv[i] = -av[ia]; });
                else
                    binary(w, w, w, m, [&](size_t i, size_t ia, size_t) { dk[i] = ak[ia], dv[i] = std::fabs(av[ia]); });
                break;
            }
            case CutOp::Count:
            case CutOp::Ht: {
                const CutField &f = fields[size_t(in.a)];
                const Reg *cond = in.b < 0 ? nullptr : &regs[size_t(in.b)];
                const bool ht = in.op == CutOp::Ht;
                if (f.is_double)
                    count_ht(static_cast<const double *>(f.data), size_t(f.capacity), size_t(f.width), e0, m, cond, ht, d);
                else
                    count_ht(static_cast<const float *>(f.data), size_t(f.capacity), size_t(f.width), e0, m, cond, ht, d);
                break;
            }
        }
    }
}

}  // namespace

L1EMU_CLONES void eval_cuts(const CutProgram &p, const std::vector<CutField> &fields, const std::vector<const bool *> &seeds,
                            size_t n, bool *out) {
    // out: [results x n]
    std::vector<Reg> regs(p.reg_width.size());
    for (size_t r = 0; r < regs.size(); ++r) {
        regs[r].w = size_t(p.reg_width[r]);
        regs[r].v.assign(kBlock * regs[r].w, 0.0);
        regs[r].ok.assign(kBlock * regs[r].w, 0);
    }
    for (size_t e0 = 0; e0 < n; e0 += kBlock) {
        const size_t m = std::min(kBlock, n - e0);
        run_block(p, fields, seeds, e0, m, regs);
        for (size_t k = 0; k < p.results.size(); ++k) {
            const uint8_t *r = regs[size_t(p.results[k])].ok.data();
            for (size_t e = 0; e < m; ++e) out[k * n + e0 + e] = r[e];
        }
    }
}

}  // namespace l1emu::menu
