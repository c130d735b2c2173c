#include "pooling.h"

#include <algorithm>

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::value_of;

namespace {
size_t attr_size(const LayerDesc &d, const std::string &key, long long min) {
    const long long v = d.int_attr(key);
    if (v < min) d.fail("attribute '" + key + "' must be >= " + std::to_string(min));
    return size_t(v);
}
}  // namespace

Pool::Pool(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()), in_(d.input_info.at(0)), accum_(d.spec_attr("accum_t")) {
    const std::string &op = d.attr("pool_op"), &impl = d.attr("impl");
    if (op == "max")
        op_ = Op::Max;
    else if (op == "average")
        op_ = Op::Average;
    else
        d.fail("unknown pool_op '" + op + "'");
    if (impl == "parallel")
        impl_ = Impl::Parallel;
    else if (impl == "stream")
        impl_ = Impl::Stream;
    else if (impl == "global_stream")
        impl_ = Impl::GlobalStream;
    else
        d.fail("unknown impl '" + impl + "'");
    const size_t ih = attr_size(d, "in_height", 1), iw = attr_size(d, "in_width", 1);
    n_chan_ = attr_size(d, "n_chan", 1);
    const size_t ph = attr_size(d, "pool_height", 1), pw = attr_size(d, "pool_width", 1);
    const size_t sh = attr_size(d, "stride_height", 1), sw = attr_size(d, "stride_width", 1);
    const size_t pt = attr_size(d, "pad_top", 0), pb = attr_size(d, "pad_bottom", 0), pl = attr_size(d, "pad_left", 0),
                 pr = attr_size(d, "pad_right", 0);
    count_pad_ = d.int_attr("count_pad") != 0;
    if (in_.size != ih * iw * n_chan_) d.fail("input size does not match in_height * in_width * n_chan");
    if (ih + pt + pb < ph || iw + pl + pr < pw) d.fail("pool larger than the padded input");
    if (impl_ != Impl::Parallel && pt + pb + pl + pr != 0) d.fail("streamed pooling has no padding");
    in_pix_ = ih * iw;
    const size_t oh = (ih + pt + pb - ph) / sh + 1, ow = (iw + pl + pr - pw) / sw + 1;
    n_pix_ = oh * ow;
    win_ = ph * pw;
    if (out.size != n_pix_ * n_chan_) d.fail("output size does not match the pooling geometry");
    if (impl_ == Impl::GlobalStream && win_ != in_pix_) d.fail("global pooling must cover the input");
    gather_.resize(n_pix_ * win_);
    count_.resize(n_pix_);
    for (size_t oy = 0; oy < oh; ++oy)
        for (size_t ox = 0; ox < ow; ++ox) {
            size_t inside_n = 0;
            for (size_t ky = 0; ky < ph; ++ky)
                for (size_t kx = 0; kx < pw; ++kx) {
                    const long long y = (long long)(oy * sh + ky) - (long long)pt;
                    const long long x = (long long)(ox * sw + kx) - (long long)pl;
                    const bool inside = y >= 0 && y < (long long)ih && x >= 0 && x < (long long)iw;
                    inside_n += inside;
                    gather_[(oy * ow + ox) * win_ + ky * pw + kx] = inside ? y * (long long)iw + x : -1;
                }
            count_[oy * ow + ox] = (count_pad_ || impl_ != Impl::Parallel) ? win_ : inside_n;
            if (count_[oy * ow + ox] == 0) d.fail("a pooling window lies entirely in the padding");
        }
    // pad_val<T, Max>: T x = 0; x[x.width - 1] = 1.
    pad_code_ = in_.spec.is_signed ? int64_t(in_.spec.min_code()) : int64_t(uint64_t(1) << (in_.spec.width - 1));
}

template <class Cast>
int64_t Pool::add_acc(int64_t a, int64_t b, const Cast &cast) const {
    return cast(0, value_of(a, accum_) + value_of(b, accum_), accum_.frac(), accum_);
}

// ap_fixed / integer: the code divided as an integer, truncated toward zero, at accum_t's LSB.
template <class Cast>
int64_t Pool::divide(int64_t acc_code, size_t count, const Cast &cast) const {
    const i128 q = value_of(acc_code, accum_) / i128(count);
    return cast(1, q, accum_.frac(), out.spec);
}

// nnet::reduce: left part of pow2(floorlog2(n - 1)) elements, the rest on the right.
template <class Cast>
int64_t Pool::tree_sum(const int64_t *v, size_t n, const Cast &cast) const {
    if (n == 1) return v[0];
    if (n == 2) return add_acc(v[0], v[1], cast);
    size_t left = 1;
    while (left * 2 <= n - 1) left *= 2;
    return add_acc(tree_sum(v, left, cast), tree_sum(v + left, n - left, cast), cast);
}

template <class Cast>
int64_t Pool::parallel(const int64_t *xe, const int64_t *g, size_t c, const Cast &cast) const {
    const Spec &ds = in_.spec;
    if (op_ == Op::Max) {
        i128 y = value_of(g[0] < 0 ? pad_code_ : xe[g[0] * n_chan_ + c], ds);
        for (size_t k = 1; k < win_; ++k) y = std::max(y, value_of(g[k] < 0 ? pad_code_ : xe[g[k] * n_chan_ + c], ds));
        const int64_t acc = cast(0, y, ds.frac(), accum_);
        return cast(1, value_of(acc, accum_), accum_.frac(), out.spec);
    }
    // y += x: the exact sum of accum_t and data_T, assigned to accum_t
    const int f = std::max(accum_.frac(), ds.frac());
    int64_t acc = 0;
    for (size_t k = 0; k < win_; ++k) {
        const int64_t x = g[k] < 0 ? 0 : xe[g[k] * n_chan_ + c];  // padding adds zero
        if (!Cast::counting && x == 0) continue;
        const i128 s = (value_of(acc, accum_) << (f - accum_.frac())) + (value_of(x, ds) << (f - ds.frac()));
        acc = cast(0, s, f, accum_);
    }
    return acc;  // divided by the caller
}

template <class Cast>
int64_t Pool::stream(const int64_t *xe, const int64_t *g, size_t c, int64_t *w, const Cast &cast) const {
    for (size_t k = 0; k < win_; ++k) w[k] = cast(0, value_of(xe[g[k] * n_chan_ + c], in_.spec), in_.spec.frac(), accum_);
    if (op_ == Op::Max) {
        i128 y = value_of(w[0], accum_);
        for (size_t k = 1; k < win_; ++k) y = std::max(y, value_of(w[k], accum_));
        return cast(1, y, accum_.frac(), out.spec);
    }
    return tree_sum(w, win_, cast);
}

template <class Cast>
int64_t Pool::global_stream(const int64_t *xe, size_t c, const Cast &cast) const {
    const int fd = in_.spec.frac();
    if (op_ == Op::Max) {
        i128 y = accum_.min_code();  // hls::numeric_limits<accum_t>::min()
        for (size_t p = 0; p < in_pix_; ++p)
            y = std::max(y, value_of(cast(0, value_of(xe[p * n_chan_ + c], in_.spec), fd, accum_), accum_));
        return cast(1, y, accum_.frac(), out.spec);
    }
    int64_t acc = 0;
    for (size_t p = 0; p < in_pix_; ++p) acc = add_acc(acc, cast(0, value_of(xe[p * n_chan_ + c], in_.spec), fd, accum_), cast);
    return acc;
}

void Pool::forward(const int64_t *const *in, int64_t *out_codes, size_t n) const {
    forward_scalar(in[0], out_codes, n, fixed::Fast{});
}

void Pool::audit(const int64_t *const *in, int64_t *out_codes, size_t n, fixed::SiteStats *stats) const {
    forward_scalar(in[0], out_codes, n, fixed::Count{stats});
}

template <class Cast>
void Pool::forward_scalar(const int64_t *x, int64_t *out_codes, size_t n, const Cast &cast) const {
    const bool avg = op_ == Op::Average;
    std::vector<int64_t> scratch(win_);  // the window cast to accum_t (stream)
    for (size_t e = 0; e < n; ++e) {
        const int64_t *xe = x + e * in_.size;
        int64_t *ye = out_codes + e * out.size;
        for (size_t p = 0; p < n_pix_; ++p) {
            const int64_t *g = &gather_[p * win_];
            for (size_t c = 0; c < n_chan_; ++c) {
                int64_t r;
                switch (impl_) {
                    case Impl::Parallel: r = parallel(xe, g, c, cast); break;
                    case Impl::Stream: r = stream(xe, g, c, scratch.data(), cast); break;
                    default: r = global_stream(xe, c, cast); break;
                }
                ye[p * n_chan_ + c] = avg ? divide(r, count_[p], cast) : r;
            }
        }
    }
}

std::unique_ptr<Layer> make_pool(const LayerDesc &d) { return std::make_unique<Pool>(d); }

const Schema &pool_schema() {
    static const Schema s{
        {required("pool_op", AttrType::Str), required("impl", AttrType::Str), required("in_height", AttrType::Int),
         required("in_width", AttrType::Int), required("n_chan", AttrType::Int),
         required("pool_height", AttrType::Int), required("pool_width", AttrType::Int),
         required("stride_height", AttrType::Int), required("stride_width", AttrType::Int),
         required("pad_top", AttrType::Int), required("pad_bottom", AttrType::Int),
         required("pad_left", AttrType::Int), required("pad_right", AttrType::Int),
         required("count_pad", AttrType::Int), required("accum_t", AttrType::Spec),
         optional("io_type", AttrType::Str)},  // recorded: impl already says how the firmware pools
        {}};
    return s;
}

}  // namespace l1emu::layers
