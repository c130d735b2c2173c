#include "bdt.h"

#include <algorithm>
#include <functional>

#include "mac.h"

namespace l1emu::layers {

using fixed::i128;
using fixed::quantize;
using fixed::value_of;

namespace {
constexpr int kMaxPerfectDepth = 12;            // deeper trees are walked node by node
constexpr size_t kMaxPerfectNodes = size_t(1) << 24;  // padded nodes over all trees
constexpr size_t kBlock = 64;  // events per block: lanes of the level-by-level traversal

// One perfect tree over a block of kBlock events, lane = event: xt is the block's inputs feature-major
// (xt[f * kBlock + e]), so each level is a gather and a compare per lane with no data-dependent branch.
// Gives each event's leaf index in idx. Lanes past the block's events walk zero inputs; their leaves are ignored.
// T: int32_t when threshold_t fits (16 lanes per AVX-512 gather), else int64_t.
template <typename T>
inline __attribute__((always_inline)) void walk(const T *xt, const int32_t *f, const T *th, int depth, bool le,
                                                uint32_t *idx) {
    for (size_t e = 0; e < kBlock; ++e) idx[e] = 0;
    for (int level = 0; level < depth; ++level) {
        if (le)
            for (size_t e = 0; e < kBlock; ++e) {
                const uint32_t i = idx[e];
                idx[e] = 2 * i + 2 - uint32_t(xt[size_t(f[i]) * kBlock + e] <= th[i]);
            }
        else
            for (size_t e = 0; e < kBlock; ++e) {
                const uint32_t i = idx[e];
                idx[e] = 2 * i + 2 - uint32_t(xt[size_t(f[i]) * kBlock + e] < th[i]);
            }
    }
}
#define L1EMU_BDT_CLONES __attribute__((target_clones("arch=x86-64-v4", "avx2", "default")))
L1EMU_BDT_CLONES void walk_block(const int32_t *xt, const int32_t *f, const int32_t *th, int depth, bool le,
                                 uint32_t *idx) {
    walk(xt, f, th, depth, le, idx);
}
L1EMU_BDT_CLONES void walk_block(const int64_t *xt, const int32_t *f, const int64_t *th, int depth, bool le,
                                 uint32_t *idx) {
    walk(xt, f, th, depth, le, idx);
}

// The same leaves for trees of depth <= kMaxBitDepth without any gather (QuickScorer's exit leaf): every
// node is tested on all lanes with contiguous loads; a node whose test fails (the event goes right) removes
// its left subtree's leaves from the lane's bit set (keep[n]); the exit leaf is the lowest leaf left. Leaf
// positions (0 = leftmost) go to idx.
constexpr int kMaxBitDepth = 5;  // 32 leaves: one uint32 bit set per lane
template <typename T>
inline __attribute__((always_inline)) void exit_leaves(const T *xt, const int32_t *f, const T *th,
                                                       const uint32_t *keep, int depth, bool le, uint32_t *idx) {
    alignas(64) uint32_t live[kBlock];
    for (size_t e = 0; e < kBlock; ++e) live[e] = ~0u;
    for (size_t n = 0, n_split = (size_t(1) << depth) - 1; n < n_split; ++n) {
        const T *xf = xt + size_t(f[n]) * kBlock;
        const T t = th[n];
        const uint32_t k = keep[n];
        if (le)
            for (size_t e = 0; e < kBlock; ++e) live[e] &= xf[e] <= t ? ~0u : k;
        else
            for (size_t e = 0; e < kBlock; ++e) live[e] &= xf[e] < t ? ~0u : k;
    }
    for (size_t e = 0; e < kBlock; ++e) idx[e] = uint32_t(__builtin_ctz(live[e]));  // never 0: the exit leaf stays
}
L1EMU_BDT_CLONES void exit_leaves_block(const int32_t *xt, const int32_t *f, const int32_t *th, const uint32_t *keep,
                                        int depth, bool le, uint32_t *idx) {
    exit_leaves(xt, f, th, keep, depth, le, idx);
}
L1EMU_BDT_CLONES void exit_leaves_block(const int64_t *xt, const int32_t *f, const int64_t *th, const uint32_t *keep,
                                        int depth, bool le, uint32_t *idx) {
    exit_leaves(xt, f, th, keep, depth, le, idx);
}

// acc[e] = score_t(acc[e] + leaf[idx[e] - first]) per lane: WRAP adds modulo 2^64 (wrapped once at the end),
// SAT clamps to the rails [lo, hi] (both terms are score_t codes of <= 62 bits: the sum cannot overflow).
L1EMU_BDT_CLONES void add_leaves(int64_t *acc, const int64_t *leaf, const uint32_t *idx, uint32_t first, bool sat,
                                 int64_t lo, int64_t hi) {
    if (sat)
        for (size_t e = 0; e < kBlock; ++e) acc[e] = std::clamp(acc[e] + leaf[idx[e] - first], lo, hi);
    else
        for (size_t e = 0; e < kBlock; ++e) acc[e] = int64_t(uint64_t(acc[e]) + uint64_t(leaf[idx[e] - first]));
}
}  // namespace

BDT::BDT(const LayerDesc &d)
    : Layer(d.name, d.kind, d.inputs, d.out()),
      n_in_(d.input_info.at(0).size),
      n_out_(out.size),
      t_(d.spec_attr("threshold_t")),
      w_(d.spec_attr("weight_t")),
      s_(out.spec),
      offsets_(d.array("tree_offsets").data),
      feature_(d.array("feature").data),
      left_(d.array("children_left").data),
      right_(d.array("children_right").data),
      threshold_(d.array("threshold").data),
      value_(d.array("value").data),
      w_offsets_(d.array("weight_offsets").data),
      w_feature_(d.array("weight_feature").data),
      weight_(d.array("weight").data),
      init_(d.array("init_predict").data) {
    const std::string split = d.attr("split");
    if (split != "<" && split != "<=") d.fail("split must be '<' or '<=', got '" + split + "'");
    le_ = split == "<=";
    if (d.input_info.at(0).spec != t_)
        d.fail("the input type must equal threshold_t (conifer's cpp backend compares inputs as threshold_t)");
    if (!t_.is_signed && t_.width == 64) d.fail("unsigned 64-bit threshold_t is not supported");
    if (n_out_ == 0) d.fail("no outputs");
    if (offsets_.size() < 2 || (offsets_.size() - 1) % n_out_ != 0)
        d.fail("tree_offsets must hold n_trees * n_outputs + 1 entries");
    n_trees_ = offsets_.size() - 1;
    const size_t n_nodes = feature_.size();
    if (offsets_.front() != 0 || size_t(offsets_.back()) != n_nodes)
        d.fail("tree_offsets must start at 0 and end at the number of nodes");
    for (size_t k = 0; k < n_trees_; ++k)
        if (offsets_[k + 1] <= offsets_[k]) d.fail("every tree needs at least one node");
    for (auto *a : {&left_, &right_, &threshold_, &value_})
        if (a->size() != n_nodes) d.fail("node arrays differ in length");
    if (w_offsets_.size() != n_nodes + 1 || w_offsets_.front() != 0 || size_t(w_offsets_.back()) != weight_.size() ||
        w_feature_.size() != weight_.size())
        d.fail("weight_offsets/weight_feature/weight are inconsistent");
    for (size_t i = 0; i < n_nodes; ++i)
        if (w_offsets_[i + 1] < w_offsets_[i]) d.fail("weight_offsets must not decrease");
    for (auto f : w_feature_)
        if (f < 0 || size_t(f) >= n_in_) d.fail("weight feature index out of range");
    if (init_.size() != n_out_) d.fail("init_predict must hold one score per output");
    const auto &norm = d.array("norm").data;
    if (norm.size() != 1) d.fail("norm must hold one score");
    norm_ = norm[0];
    const int fs = s_.frac();
    norm_identity_ = fs >= 0 && fs < 100 && value_of(norm_, s_) == (i128(1) << fs);
    if (!norm_identity_ && s_.width > 60) d.fail("score_t too wide for the exact norm product");
    if (t_.width + w_.width > 120) d.fail("threshold_t and weight_t too wide for exact products");

    // Check each tree is a tree (children in range, no node reached twice) and find its depth.
    const int fw = w_.frac();
    bool unit = true;  // every split is one input times weight exactly 1
    std::vector<int> depth(n_trees_, 0);
    for (size_t k = 0; k < n_trees_; ++k) {
        const int64_t base = offsets_[k], size = offsets_[k + 1] - base;
        std::vector<char> seen(size_t(size), 0);
        std::vector<std::pair<int64_t, int>> stack{{0, 0}};
        while (!stack.empty()) {
            auto [i, dep] = stack.back();
            stack.pop_back();
            if (seen[size_t(i)]) d.fail("tree " + std::to_string(k) + " reaches node " + std::to_string(i) + " twice");
            seen[size_t(i)] = 1;
            depth[k] = std::max(depth[k], dep);
            const size_t g = size_t(base + i);
            if (feature_[g] == -2) continue;
            for (int64_t c : {left_[g], right_[g]}) {
                if (c < 0 || c >= size) d.fail("tree " + std::to_string(k) + ": child index out of range");
                stack.push_back({c, dep + 1});
            }
            const int64_t t0 = w_offsets_[g], t1 = w_offsets_[g + 1];
            unit = unit && t1 - t0 == 1 && fw >= 0 && fw < 100 && value_of(weight_[size_t(t0)], w_) == (i128(1) << fw);
        }
        ops_ += size_t(depth[k]);
    }

    size_t padded = 0;
    for (int dep : depth) padded += size_t(1) << std::min(dep, kMaxPerfectDepth + 1);
    reference_ = mac::engine_override() == "reference";  // forces the one-event-at-a-time perfect walk
    perfect_ = unit && *std::max_element(depth.begin(), depth.end()) <= kMaxPerfectDepth && padded <= kMaxPerfectNodes;
    if (!perfect_) return;
    for (size_t k = 0; k < n_trees_; ++k) {
        const int dep = depth[k];
        Perfect p{dep, p_feature_.size(), p_leaf_.size(), k % n_out_};
        const size_t n_split = (size_t(1) << dep) - 1;
        p_feature_.resize(p.node0 + n_split, 0);
        p_threshold_.resize(p.node0 + n_split, 0);
        p_leaf_.resize(p.leaf0 + n_split + 1, 0);
        const int64_t base = offsets_[k];
        // node: original node; pos: its place in the perfect tree; level: its depth.
        std::function<void(int64_t, size_t, int)> fill = [&](int64_t node, size_t pos, int level) {
            const size_t g = size_t(base + node);
            if (level == dep) {
                p_leaf_[p.leaf0 + pos - n_split] = value_[g];
                return;
            }
            if (feature_[g] != -2) {
                p_feature_[p.node0 + pos] = int32_t(w_feature_[size_t(w_offsets_[g])]);
                p_threshold_[p.node0 + pos] = threshold_[g];
                fill(left_[g], 2 * pos + 1, level + 1);
                fill(right_[g], 2 * pos + 2, level + 1);
            } else {  // a short leaf: dummy split, its value on both sides
                fill(node, 2 * pos + 1, level + 1);
                fill(node, 2 * pos + 2, level + 1);
            }
        };
        fill(0, 0, 0);
        trees_.push_back(p);
        // keep[n]: the leaf bits that survive node n's failed test (all but its left subtree's leaves)
        p_keep_.resize(p.node0 + n_split, ~0u);
        for (int level = 0; dep <= kMaxBitDepth && level < dep; ++level)
            for (size_t q = 0; q < (size_t(1) << level); ++q) {
                const size_t span = size_t(1) << (dep - level - 1);  // leaves under each child
                const uint32_t left = uint32_t(((uint64_t(1) << span) - 1) << (2 * q * span));
                p_keep_[p.node0 + (size_t(1) << level) - 1 + q] = ~left;
            }
    }
    if (t_.width <= (t_.is_signed ? 32 : 31))  // inputs are threshold_t codes too: the walk's lanes can be int32
        p_threshold32_.assign(p_threshold_.begin(), p_threshold_.end());
}

// Sites: 0 node_sum (threshold_t), 1 score_sum (score_t), 2 norm (score_t).
enum { kNodeSum, kScoreSum, kNorm };

// acc = score_t(acc + v): exact sum assigned back to score_t (same LSB, so only overflow acts).
inline void BDT::add_score(int64_t &acc, int64_t v, const fixed::Count &cast, i128 *shadow) const {
    *shadow += value_of(v, s_);
    acc = cast.sum(kScoreSum, value_of(acc, s_) + value_of(v, s_), s_.frac(), s_, *shadow, s_.frac(), *shadow);
}

inline void BDT::add_score(int64_t &acc, int64_t v, const fixed::Fast &, i128 *) const {
    switch (s_.o) {
        case fixed::OMode::WRAP:  // modular: wrap once at the end
            acc = int64_t(uint64_t(acc) + uint64_t(v));
            return;
        case fixed::OMode::SAT: {
            const i128 s = value_of(acc, s_) + value_of(v, s_);
            acc = int64_t(std::clamp(s, s_.min_code(), s_.max_code()));
            return;
        }
        default:
            acc = quantize(value_of(acc, s_) + value_of(v, s_), s_.frac(), s_);
    }
}

template <class Cast>
int64_t BDT::node_value(const int64_t *xe, size_t node, const Cast &cast) const {
    // acc += x[f] * w, each step assigned to threshold_t, at the common LSB of acc and the product.
    const int ft = t_.frac(), fw = w_.frac();
    const int up_acc = std::max(fw, 0), up_prod = std::max(-fw, 0);
    int64_t acc = 0;
    for (int64_t j = w_offsets_[node]; j < w_offsets_[node + 1]; ++j) {
        const int64_t w = weight_[size_t(j)];
        if (!Cast::counting && w == 0) continue;  // adds an exact zero: acc is unchanged
        const i128 prod = value_of(xe[w_feature_[size_t(j)]], t_) * value_of(w, w_);
        acc = cast(kNodeSum, (value_of(acc, t_) << up_acc) + (prod << up_prod), ft + up_acc, t_);
    }
    return acc;
}

template <bool LE>
void BDT::forward_perfect(const int64_t *x, int64_t *acc, size_t n) const {
    // One tree over the whole block: its nodes stay in cache; events are independent chains, so the
    // CPU overlaps several traversals.
    for (const Perfect &t : trees_) {
        const int32_t *f = &p_feature_[t.node0];
        const int64_t *th = &p_threshold_[t.node0];
        const int64_t *leaf = &p_leaf_[t.leaf0];
        const size_t first_leaf = (size_t(1) << t.depth) - 1;
        int64_t *a = acc + t.out;
        for (size_t e = 0; e < n; ++e) {
            const int64_t *xe = x + e * n_in_;
            size_t i = 0;
            for (int level = 0; level < t.depth; ++level) {
                const int64_t v = xe[f[i]];
                const bool go_left = LE ? v <= th[i] : v < th[i];
                i = 2 * i + 2 - size_t(go_left);
            }
            add_score(a[e * n_out_], leaf[i - first_leaf], fixed::Fast{}, nullptr);
        }
    }
}

// Blocks of events, all trees per block in tree order: each event's score additions keep conifer's order
// (tree by tree), which matters when the score sum saturates. Scores stay in lanes [output][event] over
// the block when score_t wraps or saturates plainly (else each addition takes add_score).
template <typename T>
void BDT::forward_blocked(const int64_t *x, int64_t *acc, size_t n, const std::vector<T> &th) const {
    thread_local std::vector<T> xt;
    thread_local std::vector<int64_t> lanes;
    xt.assign(n_in_ * kBlock, 0);
    lanes.resize(n_out_ * kBlock);
    alignas(64) uint32_t idx[kBlock];
    const bool sat = s_.o == fixed::OMode::SAT && s_.width <= 62;
    const bool in_lanes = sat || s_.o == fixed::OMode::WRAP;
    for (size_t e0 = 0; e0 < n; e0 += kBlock) {
        const size_t nb = std::min(kBlock, n - e0);
        for (size_t e = 0; e < nb; ++e)
            for (size_t j = 0; j < n_in_; ++j) xt[j * kBlock + e] = T(x[(e0 + e) * n_in_ + j]);
        for (size_t e = nb; e < kBlock; ++e)
            for (size_t j = 0; j < n_in_; ++j) xt[j * kBlock + e] = 0;
        int64_t *ab = acc + e0 * n_out_;
        for (size_t o = 0; o < n_out_ && in_lanes; ++o)
            for (size_t e = 0; e < kBlock; ++e) lanes[o * kBlock + e] = e < nb ? ab[e * n_out_ + o] : 0;
        for (const Perfect &t : trees_) {
            uint32_t first_leaf = 0;  // idx: leaf positions (exit leaves) or perfect-tree node indices (walk)
            if (t.depth <= kMaxBitDepth) {
                exit_leaves_block(xt.data(), &p_feature_[t.node0], &th[t.node0], &p_keep_[t.node0], t.depth, le_, idx);
            } else {
                walk_block(xt.data(), &p_feature_[t.node0], &th[t.node0], t.depth, le_, idx);
                first_leaf = (uint32_t(1) << t.depth) - 1;
            }
            const int64_t *leaf = &p_leaf_[t.leaf0];
            if (in_lanes) {
                add_leaves(&lanes[t.out * kBlock], leaf, idx, first_leaf, sat, int64_t(s_.min_code()),
                           int64_t(s_.max_code()));
            } else {
                int64_t *a = ab + t.out;
                for (size_t e = 0; e < nb; ++e)
                    add_score(a[e * n_out_], leaf[idx[e] - first_leaf], fixed::Fast{}, nullptr);
            }
        }
        for (size_t o = 0; o < n_out_ && in_lanes; ++o)
            for (size_t e = 0; e < nb; ++e) ab[e * n_out_ + o] = lanes[o * kBlock + e];
    }
}

template <bool LE, class Cast>
void BDT::forward_general(const int64_t *x, int64_t *acc, size_t n, const Cast &cast, i128 *shadow) const {
    for (size_t k = 0; k < n_trees_; ++k) {
        const size_t base = size_t(offsets_[k]);
        int64_t *a = acc + k % n_out_;
        for (size_t e = 0; e < n; ++e) {
            const int64_t *xe = x + e * n_in_;
            size_t g = base;
            while (feature_[g] != -2) {
                const int64_t v = node_value(xe, g, cast), th = threshold_[g];
                const bool go_left = LE ? v <= th : v < th;
                g = base + size_t(go_left ? left_[g] : right_[g]);
            }
            add_score(a[e * n_out_], value_[g], cast, shadow ? shadow + e * n_out_ + k % n_out_ : nullptr);
        }
    }
}

void BDT::forward(const int64_t *const *in, int64_t *y, size_t n) const {
    for (size_t e = 0; e < n; ++e) std::copy(init_.begin(), init_.end(), y + e * n_out_);
    const fixed::Fast fast;
    if (perfect_ && !reference_ && n >= 16)  // small calls (latency): the one-event walk, no padded block
        p_threshold32_.empty() ? forward_blocked(in[0], y, n, p_threshold_) : forward_blocked(in[0], y, n, p_threshold32_);
    else if (perfect_)
        le_ ? forward_perfect<true>(in[0], y, n) : forward_perfect<false>(in[0], y, n);
    else
        le_ ? forward_general<true>(in[0], y, n, fast, nullptr) : forward_general<false>(in[0], y, n, fast, nullptr);
    finish(y, n, fast, nullptr);
}

template <class Cast>
void BDT::finish(int64_t *y, size_t n, const Cast &cast, const i128 *shadow) const {
    const bool wrap = s_.o == fixed::OMode::WRAP;
    const int fs = s_.frac();
    const i128 norm = value_of(norm_, s_);
    for (size_t k = 0; k < n * n_out_; ++k) {
        if (wrap) y[k] = fixed::wrap_bits(uint64_t(y[k]), s_);
        if constexpr (Cast::counting) {
            const i128 ideal = shadow[k] * norm;
            y[k] = cast.sum(kNorm, value_of(y[k], s_) * norm, 2 * fs, s_, ideal, 2 * fs, fixed::round_to_lsb(ideal, 2 * fs, s_));
        } else if (!norm_identity_) {
            y[k] = cast(kNorm, value_of(y[k], s_) * norm, 2 * fs, s_);  // y *= norm
        }
    }
}

std::vector<CastSite> BDT::sites() const {
    return {{"node_sum", "threshold_t", t_}, {"score_sum", "score_t", s_}, {"norm", "score_t", s_}};
}

// Node by node (the perfect layout's splits are the same comparisons), every score addition cast to score_t.
void BDT::audit(const int64_t *const *in, int64_t *y, size_t n, fixed::SiteStats *stats) const {
    for (size_t e = 0; e < n; ++e) std::copy(init_.begin(), init_.end(), y + e * n_out_);
    const fixed::Count count{stats};
    std::vector<i128> shadow(n * n_out_);
    for (size_t k = 0; k < shadow.size(); ++k) shadow[k] = value_of(y[k], s_);
    le_ ? forward_general<true>(in[0], y, n, count, shadow.data()) : forward_general<false>(in[0], y, n, count, shadow.data());
    finish(y, n, count, shadow.data());
}

std::unique_ptr<Layer> make_bdt(const LayerDesc &d) { return std::make_unique<BDT>(d); }

const Schema &bdt_schema() {
    static const Schema s{
        {required("threshold_t", AttrType::Spec), required("weight_t", AttrType::Spec), required("split", AttrType::Str),
         optional("score_t", AttrType::Spec), optional("n_trees", AttrType::Int),  // recorded: the layer spec is
         optional("n_classes", AttrType::Int)},                                     // the score type
        {{"tree_offsets", true}, {"feature", true}, {"children_left", true}, {"children_right", true},
         {"threshold", true}, {"value", true}, {"weight_offsets", true}, {"weight_feature", true}, {"weight", true},
         {"init_predict", true}, {"norm", true}}};
    return s;
}

}  // namespace l1emu::layers
