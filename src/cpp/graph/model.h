// A model is an ordered graph of layers over tensors of integer codes. Tensor 0 is the model input
// (doubles quantized to the input type exactly as hls4ml's bridge does); tensor k is layer k-1's output.
// Evaluation is batched: blocks of events go through the graph layer by layer, blocks spread over threads.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "../layers/desc.h"

namespace l1emu::graph {

using layers::Layer;
using layers::TensorInfo;

class Model {
   public:
    Model(size_t n_inputs, fixed::Spec input_spec);

    // Build the layer's kernel (graph/registry.cpp) reading the tensors named by desc.inputs.
    void add(layers::LayerDesc desc);
    void set_outputs(std::vector<int> tensor_ids);

    const TensorInfo &tensor(int id) const;
    size_t n_tensors() const { return layers_.size() + 1; }
    const std::vector<int> &outputs() const { return outputs_; }
    const std::vector<std::unique_ptr<Layer>> &layers() const { return layers_; }

    // x: [n x n_inputs] values, Real = double or float (each float widened exactly: the codes of its double).
    // outs[k]: [n x size] codes of output k (or of every tensor if all_tensors).
    // Returns whether some input was NaN or infinite (noticed by the input cast itself: no extra pass).
    template <typename Real>
    bool run(const Real *x, size_t n, const std::vector<int64_t *> &outs, int threads, bool all_tensors) const;
    // The same run with the outputs written as float64 values (ap_fixed's to_double) instead of codes.
    template <typename Real>
    bool run_values(const Real *x, size_t n, const std::vector<double *> &outs, int threads) const;

    // Precision audit of n events: every layer on its scalar reference path with each cast recorded.
    // Result [0]: the input cast (one site), [l + 1]: layer l's sites (Layer::sites()). Statistics are
    // gathered per block and merged exactly: the same for any thread count. outs (if not empty): the codes of
    // the model outputs, as run() gives them.
    using SiteTable = std::vector<std::vector<fixed::SiteStats>>;
    SiteTable audit(const double *x, size_t n, int threads, const std::vector<int64_t *> &outs = {}) const;

   private:
    using Buffers = std::vector<std::vector<int64_t>>;
    // own: every tensor in buffer [tensor id] (audit, all tensors); else the planned slots (plan_slots).
    template <typename Real>
    bool run_block(const Real *x, size_t n, Buffers &buf, bool own, SiteTable *stats) const;
    // task(start, m, buf): events [start, start + m) of one block, with the thread's block buffers.
    using BlockTask = std::function<void(size_t, size_t, Buffers &)>;
    void each_block(size_t n, int threads, bool own, const BlockTask &task) const;
    void plan_slots();

    // write(k, start, m, codes): output k of events [start, start + m) from the block's codes.
    using OutputSink = std::function<void(size_t, size_t, size_t, const int64_t *)>;
    template <typename Real>
    bool run_into(const Real *x, size_t n, const std::vector<int> &ids, int threads, bool own,
                  const OutputSink &write) const;

    std::vector<TensorInfo> tensors_;
    std::vector<size_t> slot_;       // run()'s block buffer of each tensor (plan_slots)
    std::vector<size_t> slot_size_;  // codes per event of each buffer
    std::vector<std::unique_ptr<Layer>> layers_;
    std::vector<int> outputs_;
};

}  // namespace l1emu::graph
