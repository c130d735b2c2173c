// conifer's cpp backend (conifer/backends/cpp/include/conifer.h), BDT<Config>::decision_function:
//   x is input_t (== threshold_t); per node: acc = threshold_t(0); acc += x[f] * weight_t(w[f]) over the
//   features; go left if split(acc, threshold_t(t)) with split '<' or '<='; a leaf (feature == -2) gives
//   score_t(value). Per class: y = std::accumulate(tree scores in tree order, score_t(init_predict)), each
//   addition assigned back to score_t; then y *= score_t(norm). Binary models have one output.
#pragma once

#include <memory>

#include "desc.h"

namespace l1emu::layers {

class BDT : public Layer {
   public:
    // arrays (trees flattened tree-major, class-minor: tree k adds to output k % n_out):
    //   tree_offsets [n_trees*n_out + 1]: first node of each tree; per node (children local to the tree):
    //   feature (-2 = leaf), children_left, children_right, threshold (threshold_t codes), value (score_t
    //   codes); weight_offsets [n_nodes + 1], weight_feature, weight (weight_t codes): the nonzero weight
    //   terms of each internal node in feature order; init_predict [n_out], norm [1] (score_t codes).
    // Attributes (split: "<" or "<="): bdt_schema().
    explicit BDT(const LayerDesc &d);
    void forward(const int64_t *const *in, int64_t *out, size_t n) const override;
    size_t ops() const override { return ops_; }  // node comparisons per event (longest paths)
    std::vector<CastSite> sites() const override;  // node_sum, score_sum, norm
    void audit(const int64_t *const *in, int64_t *out, size_t n, fixed::SiteStats *stats) const override;

   private:
    // A tree padded to a perfect binary tree of its depth (a short leaf becomes dummy splits whose both
    // sides carry its value): node i has children 2i+1 (split true) and 2i+2, so traversal is branch-free.
    // Used when every split compares one input with weight exactly 1 (axis-aligned, as all converters make).
    struct Perfect {
        int depth;
        size_t node0, leaf0;  // offsets into p_feature_/p_threshold_ and p_leaf_
        size_t out;
    };
    template <typename T>  // lanes of events, vectorized; T holds threshold_t codes (th: p_threshold_ or 32)
    void forward_blocked(const int64_t *x, int64_t *acc, size_t n, const std::vector<T> &th) const;
    template <bool LE>
    void forward_perfect(const int64_t *x, int64_t *acc, size_t n) const;
    // shadow (audit only): the score sums of a score_t that never overflows, per event and output
    template <bool LE, class Cast>
    void forward_general(const int64_t *x, int64_t *acc, size_t n, const Cast &cast, fixed::i128 *shadow) const;
    template <class Cast>
    int64_t node_value(const int64_t *xe, size_t node, const Cast &cast) const;  // threshold_t(sum x[f] * w)
    template <class Cast>
    void finish(int64_t *y, size_t n, const Cast &cast, const fixed::i128 *shadow) const;  // WRAP's wrap, y *= norm
    void add_score(int64_t &acc, int64_t v, const fixed::Fast &, fixed::i128 *) const;
    void add_score(int64_t &acc, int64_t v, const fixed::Count &cast, fixed::i128 *shadow) const;  // each sum to score_t

    size_t n_in_, n_out_, n_trees_;
    Spec t_, w_, s_;
    bool le_;
    std::vector<int64_t> offsets_, feature_, left_, right_, threshold_, value_;
    std::vector<int64_t> w_offsets_, w_feature_, weight_;
    std::vector<int64_t> init_;
    int64_t norm_;
    bool norm_identity_;
    bool perfect_;
    bool reference_ = false;
    std::vector<Perfect> trees_;
    std::vector<int32_t> p_feature_;
    std::vector<int64_t> p_threshold_, p_leaf_;
    std::vector<int32_t> p_threshold32_;  // p_threshold_ when threshold_t fits int32 (else empty)
    std::vector<uint32_t> p_keep_;        // per node of trees of depth <= 5: leaf bits kept when its test fails
    size_t ops_ = 0;
};

std::unique_ptr<Layer> make_bdt(const LayerDesc &d);
const Schema &bdt_schema();

}  // namespace l1emu::layers
