#include "model.h"

#include "pool.h"
#include "registry.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>

namespace l1emu::graph {

namespace {
constexpr size_t kBlock = 512;  // events per block: buffers stay in cache, threads get many blocks
constexpr size_t kBlockCodes = 1 << 15;  // at most ~256 KiB per tensor block
}

Model::Model(size_t n_inputs, fixed::Spec input_spec) { tensors_.push_back(TensorInfo{n_inputs, input_spec}); }

void Model::add(layers::LayerDesc desc) {
    desc.input_info.clear();
    for (int id : desc.inputs) {
        if (id < 0 || size_t(id) >= tensors_.size())
            desc.fail("reads tensor " + std::to_string(id) + " which does not exist yet");
        desc.input_info.push_back(tensors_[size_t(id)]);
    }
    auto layer = make_layer(desc);
    tensors_.push_back(layer->out);
    layers_.push_back(std::move(layer));
    outputs_ = {int(tensors_.size()) - 1};
}

void Model::set_outputs(std::vector<int> ids) {
    for (int id : ids)
        if (id < 0 || size_t(id) >= tensors_.size()) throw std::invalid_argument("output tensor id out of range");
    outputs_ = std::move(ids);
}

const TensorInfo &Model::tensor(int id) const {
    if (id < 0 || size_t(id) >= tensors_.size()) throw std::out_of_range("tensor id out of range");
    return tensors_[size_t(id)];
}

void Model::run_block(const double *x, size_t n, std::vector<std::vector<int64_t>> &buf, SiteTable *stats) const {
    const TensorInfo &in = tensors_[0];
    int64_t *q = buf[0].data();
    if (stats) {
        const fixed::Count cast{(*stats)[0].data()};
        for (size_t k = 0, total = n * in.size; k < total; ++k) {
            int64_t man;
            int frac;
            fixed::double_parts(x[k], man, frac);
            q[k] = cast(0, man, frac, in.spec);
        }
    } else {
        for (size_t k = 0, total = n * in.size; k < total; ++k) q[k] = fixed::from_double(x[k], in.spec);
    }
    std::vector<const int64_t *> ins;
    for (size_t l = 0; l < layers_.size(); ++l) {
        ins.clear();
        for (int id : layers_[l]->inputs) ins.push_back(buf[size_t(id)].data());
        if (stats)
            layers_[l]->audit(ins.data(), buf[l + 1].data(), n, (*stats)[l + 1].data());
        else
            layers_[l]->forward(ins.data(), buf[l + 1].data(), n);
    }
}

void Model::each_block(size_t n, int threads, const BlockTask &task) const {
    // Events per block: up to kBlock, fewer for large tensors, so that a layer's input and output blocks stay
    // in cache (image models have ~1e4 codes per tensor and event).
    size_t widest = 1;
    for (const auto &t : tensors_) widest = std::max(widest, t.size);
    const size_t block = std::clamp<size_t>(kBlockCodes / widest, 1, kBlock);
    const size_t n_blocks = (n + block - 1) / block;
    // threads <= 0: one per hardware thread. The calling thread always works; the rest come from the
    // persistent pool (graph/pool.h), and a single block never leaves the calling thread.
    const size_t want = threads > 0 ? size_t(threads) : std::max(1u, std::thread::hardware_concurrency());
    const size_t n_threads = std::max<size_t>(1, std::min(want, n_blocks));
    const size_t rows = std::min(block, n);
    auto run_one = [&](size_t b) {
        // Per-thread scratch, reused across calls (layers write every code of their outputs).
        thread_local std::vector<std::vector<int64_t>> buf;
        if (buf.size() < tensors_.size()) buf.resize(tensors_.size());
        for (size_t t = 0; t < tensors_.size(); ++t)
            if (buf[t].size() < rows * tensors_[t].size) buf[t].resize(rows * tensors_[t].size);
        const size_t start = b * block;
        task(start, std::min(block, n - start), buf);
    };
    parallel_for(n_blocks, n_threads - 1, run_one);
}

void Model::run(const double *x, size_t n, const std::vector<int64_t *> &outs, int threads, bool all_tensors) const {
    const std::vector<int> ids = [&] {
        if (!all_tensors) return outputs_;
        std::vector<int> all(tensors_.size());
        for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
        return all;
    }();
    if (outs.size() != ids.size()) throw std::invalid_argument("wrong number of output buffers");
    each_block(n, threads, [&](size_t start, size_t m, std::vector<std::vector<int64_t>> &buf) {
        run_block(x + start * tensors_[0].size, m, buf, nullptr);
        for (size_t k = 0; k < ids.size(); ++k) {
            const size_t size = tensors_[size_t(ids[k])].size;
            std::memcpy(outs[k] + start * size, buf[size_t(ids[k])].data(), m * size * sizeof(int64_t));
        }
    });
}

Model::SiteTable Model::audit(const double *x, size_t n, int threads, const std::vector<int64_t *> &outs) const {
    if (!outs.empty() && outs.size() != outputs_.size()) throw std::invalid_argument("wrong number of output buffers");
    SiteTable total(layers_.size() + 1);
    total[0].resize(1);
    for (size_t l = 0; l < layers_.size(); ++l) total[l + 1].resize(layers_[l]->sites().size());
    std::mutex mu;
    each_block(n, threads, [&](size_t start, size_t m, std::vector<std::vector<int64_t>> &buf) {
        SiteTable local(total.size());
        for (size_t l = 0; l < total.size(); ++l) local[l].resize(total[l].size());
        run_block(x + start * tensors_[0].size, m, buf, &local);
        for (size_t k = 0; k < outs.size(); ++k) {
            const size_t size = tensors_[size_t(outputs_[k])].size;
            std::memcpy(outs[k] + start * size, buf[size_t(outputs_[k])].data(), m * size * sizeof(int64_t));
        }
        const std::lock_guard<std::mutex> lock(mu);  // integer counts, min/max: any merge order gives the same
        for (size_t l = 0; l < total.size(); ++l)
            for (size_t s = 0; s < total[l].size(); ++s) total[l][s].merge(local[l][s]);
    });
    return total;
}

}  // namespace l1emu::graph
