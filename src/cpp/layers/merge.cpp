#include "merge.h"

#include <algorithm>

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::value_of;

Copy::Copy(const LayerDesc &d) : Layer(d.name, d.kind, d.inputs, d.out()), in_(d.input_info.at(0)) {
    if (in_.size != out.size) d.fail("input and output sizes differ");
}

void Copy::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    const size_t total = n * out.size;
    if (in_.spec == out.spec) {
        std::copy(in[0], in[0] + total, out_codes);
        return;
    }
    forward_scalar(in, out_codes, n, fixed::Fast{});
}

void Copy::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in, out_codes, n, fixed::Count{stats});
}

template <class Cast>
void Copy::forward_scalar(const int64_t *const *in, int64_t *out_codes, size_t n, const Cast &cast) const {
    const int f = in_.spec.frac();
    for (size_t k = 0, total = n * out.size; k < total; ++k) out_codes[k] = cast(0, value_of(in[0][k], in_.spec), f, out.spec);
}

Gather::Gather(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()),
      in_(d.input_info),
      src_(d.array("source").data),
      idx_(d.array("index").data) {
    if (src_.size() != out.size || idx_.size() != out.size) d.fail("source/index arrays must have the output size");
    for (size_t k = 0; k < out.size; ++k) {
        if (src_[k] < 0 || size_t(src_[k]) >= in_.size()) d.fail("source out of range");
        if (idx_[k] < -1 || (idx_[k] >= 0 && size_t(idx_[k]) >= in_[size_t(src_[k])].size)) d.fail("index out of range");
    }
    // A zero code is zero in every type, so padding needs no cast either.
    copy_ = in_.size() == 1 && fixed::codes_preserved(in_[0].spec, out.spec);
    if (copy_)
        for (size_t k = 0; k < out.size; ++k) {
            const bool extends = !runs_.empty() && (runs_.back().first < 0
                                                        ? idx_[k] < 0
                                                        : idx_[k] == runs_.back().first + int64_t(runs_.back().second));
            if (extends)
                ++runs_.back().second;
            else
                runs_.emplace_back(idx_[k] < 0 ? -1 : idx_[k], 1);
        }
}

void Gather::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    if (copy_) {
        const size_t n_in = in_[0].size;
        for (size_t e = 0; e < n; ++e) {
            const int64_t *x = in[0] + e * n_in;
            int64_t *y = out_codes + e * out.size;
            for (const auto &[start, len] : runs_) {
                if (start < 0)
                    std::fill(y, y + len, 0);
                else
                    std::copy(x + start, x + start + len, y);
                y += len;
            }
        }
        return;
    }
    forward_scalar(in, out_codes, n, fixed::Fast{});
}

void Gather::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in, out_codes, n, fixed::Count{stats});
}

// Padding zeros are constants, not casts.
template <class Cast>
void Gather::forward_scalar(const int64_t *const *in, int64_t *out_codes, size_t n, const Cast &cast) const {
    for (size_t e = 0; e < n; ++e) {
        int64_t *y = out_codes + e * out.size;
        for (size_t k = 0; k < out.size; ++k) {
            if (idx_[k] < 0) {
                y[k] = 0;
                continue;
            }
            const TensorInfo &t = in_[size_t(src_[k])];
            const int64_t x = in[src_[k]][e * t.size + size_t(idx_[k])];
            y[k] = cast(0, value_of(x, t.spec), t.spec.frac(), out.spec);
        }
    }
}

namespace {
Merge::Op parse_op(const LayerDesc &d) {
    const std::string &op = d.attr("op");
    if (op == "add") return Merge::Op::Add;
    if (op == "subtract") return Merge::Op::Subtract;
    if (op == "multiply") return Merge::Op::Multiply;
    if (op == "average") return Merge::Op::Average;
    if (op == "maximum") return Merge::Op::Maximum;
    if (op == "minimum") return Merge::Op::Minimum;
    d.fail("unsupported merge op '" + op + "'");
}
}  // namespace

Merge::Merge(const LayerDesc &d) : Layer(d.name, d.kind, d.inputs, d.out()), op_(parse_op(d)) {
    if (d.input_info.size() != 2) d.fail("merge layers take two inputs");
    a_ = d.input_info[0];
    b_ = d.input_info[1];
    if (a_.size == 0 || b_.size == 0) d.fail("empty input");
}

void Merge::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    forward_scalar(in, out_codes, n, fixed::Fast{});
}

void Merge::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in, out_codes, n, fixed::Count{stats});
}

template <class Cast>
void Merge::forward_scalar(const int64_t *const *in, int64_t *out_codes, size_t n, const Cast &cast) const {
    const int fa = a_.spec.frac(), fb = b_.spec.frac(), f = std::max(fa, fb);
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xa = in[0] + e * a_.size, *xb = in[1] + e * b_.size;
        int64_t *y = out_codes + e * out.size;
        for (size_t k = 0; k < out.size; ++k) {
            const i128 va = value_of(xa[k % a_.size], a_.spec), vb = value_of(xb[k % b_.size], b_.spec);
            const i128 a = va << (f - fa), b = vb << (f - fb);  // both at the finer LSB
            switch (op_) {
                case Op::Add: y[k] = cast(0, a + b, f, out.spec); break;
                case Op::Subtract: y[k] = cast(0, a - b, f, out.spec); break;
                case Op::Multiply: y[k] = cast(0, va * vb, fa + fb, out.spec); break;
                case Op::Average: y[k] = cast(0, a + b, f + 1, out.spec); break;
                case Op::Maximum: y[k] = a > b ? cast(0, va, fa, out.spec) : cast(0, vb, fb, out.spec); break;
                case Op::Minimum: y[k] = a < b ? cast(0, va, fa, out.spec) : cast(0, vb, fb, out.spec); break;
            }
        }
    }
}

std::unique_ptr<Layer> make_copy(const LayerDesc &d) { return std::make_unique<Copy>(d); }
std::unique_ptr<Layer> make_gather(const LayerDesc &d) { return std::make_unique<Gather>(d); }
std::unique_ptr<Layer> make_merge(const LayerDesc &d) { return std::make_unique<Merge>(d); }

const Schema &copy_schema() {
    static const Schema s{{}, {}};
    return s;
}

const Schema &zero_padding_schema() {
    static const Schema s{{}, {{"source", true}, {"index", true}}};
    return s;
}

const Schema &concatenate_schema() {
    static const Schema s{{optional("axis", AttrType::Int)}, {{"source", true}, {"index", true}}};
    return s;
}

const Schema &merge_schema() {
    static const Schema s{{required("op", AttrType::Str)}, {}};
    return s;
}

}  // namespace l1emu::layers
