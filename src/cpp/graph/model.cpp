#include "model.h"

#include "../layers/mac.h"
#include "pool.h"
#include "registry.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <type_traits>

namespace l1emu::graph {

namespace {
constexpr size_t kBlock = 512;  // events per block: buffers stay in cache, threads get many blocks
constexpr size_t kBlockCodes = 1 << 13;  // at most 64 KiB per tensor block: a layer's input and output stay in L2
constexpr size_t kLanesBlockCodes = size_t(1) << 23;  // lanes kernels: at most 64 MiB of block buffers per thread
}

Model::Model(size_t n_inputs, fixed::Spec input_spec) {
    tensors_.push_back(TensorInfo{n_inputs, input_spec});
    plan_slots();
}

// Block buffers of run(): an identity layer's output is its input's buffer; any other output takes a buffer
// whose tensor no later layer reads and that is no model output (never one of its own inputs), so that a
// thread's working set is a few live tensors, not the whole graph (image models: tens of MB per block).
void Model::plan_slots() {
    const size_t n_t = tensors_.size();
    std::vector<size_t> root(n_t), last_use(n_t, 0);
    for (size_t t = 0; t < n_t; ++t)
        root[t] = t > 0 && layers_[t - 1]->is_identity() ? root[size_t(layers_[t - 1]->inputs.at(0))] : t;
    for (size_t l = 0; l < layers_.size(); ++l)
        for (int id : layers_[l]->inputs) last_use[root[size_t(id)]] = std::max(last_use[root[size_t(id)]], l);
    for (int id : outputs_) last_use[root[size_t(id)]] = SIZE_MAX;
    slot_.assign(n_t, 0);
    slot_size_.assign(1, tensors_[0].size);
    std::vector<size_t> owner{0};  // the root tensor whose codes each slot holds
    for (size_t t = 1; t < n_t; ++t) {
        if (root[t] != t) {
            slot_[t] = slot_[root[t]];
            continue;
        }
        const size_t l = t - 1;  // the layer computing t: slots of tensors read before it are free
        size_t s = owner.size();
        for (size_t c = 0; c < owner.size(); ++c)
            if (last_use[owner[c]] < l && (s == owner.size() || slot_size_[c] > slot_size_[s])) s = c;
        if (s == owner.size()) owner.push_back(t), slot_size_.push_back(0);
        owner[s] = t;
        slot_size_[s] = std::max(slot_size_[s], tensors_[t].size);
        slot_[t] = s;
    }
}

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
    plan_slots();
}

void Model::set_outputs(std::vector<int> ids) {
    for (int id : ids)
        if (id < 0 || size_t(id) >= tensors_.size()) throw std::invalid_argument("output tensor id out of range");
    outputs_ = std::move(ids);
    plan_slots();
}

const TensorInfo &Model::tensor(int id) const {
    if (id < 0 || size_t(id) >= tensors_.size()) throw std::out_of_range("tensor id out of range");
    return tensors_[size_t(id)];
}

template <typename Real>
bool Model::run_block(const Real *x, size_t n, Buffers &buf, bool own, SiteTable *stats) const {
    const TensorInfo &in = tensors_[0];
    int64_t *q = buf[0].data();  // tensor 0 is slot 0
    bool non_finite = false;
    if (stats) {
        const fixed::Count cast{(*stats)[0].data()};
        for (size_t k = 0, total = n * in.size; k < total; ++k) {
            int64_t man;
            int frac;
            const double xk = double(x[k]);
            fixed::double_parts(xk, man, frac);
            q[k] = cast(0, man, frac, in.spec);
            non_finite |= !std::isfinite(xk);
        }
    } else {
        if constexpr (std::is_same_v<Real, float>)
            non_finite = layers::mac::from_floats(x, n * in.size, in.spec, q);
        else
            non_finite = layers::mac::from_doubles(x, n * in.size, in.spec, q);
    }
    // own: every tensor in its own buffer, every layer run (the audit counts identity layers' casts too).
    const auto at = [&](size_t t) { return buf[own ? t : slot_[t]].data(); };
    std::vector<const int64_t *> ins;
    for (size_t l = 0; l < layers_.size(); ++l) {
        if (!own && layers_[l]->is_identity()) continue;
        ins.clear();
        for (int id : layers_[l]->inputs) ins.push_back(at(size_t(id)));
        if (stats)
            layers_[l]->audit(ins.data(), at(l + 1), n, (*stats)[l + 1].data());
        else
            layers_[l]->forward(ins.data(), at(l + 1), n);
    }
    return non_finite;
}

void Model::each_block(size_t n, int threads, bool own, const BlockTask &task) const {
    // Events per block: up to kBlock, fewer for large tensors, so that a layer's input and output blocks stay
    // in cache (image models have ~1e4 codes per tensor and event).
    // Kernels vectorized across events (layer min_block) get blocks of their width while all of a thread's
    // block buffers stay within kLanesBlockCodes.
    size_t widest = 1, all_codes = 0, lanes = 1;
    for (const auto &t : tensors_) widest = std::max(widest, t.size), all_codes += t.size;
    for (const auto &l : layers_) lanes = std::max(lanes, l->min_block());
    size_t block = std::clamp<size_t>(kBlockCodes / widest, 1, kBlock);
    if (block < lanes) block = std::clamp<size_t>(kLanesBlockCodes / all_codes, block, lanes);
    const size_t n_blocks = (n + block - 1) / block;
    // threads <= 0: as many as the process's thread budget. The calling thread always works; the rest come
    // from the persistent pool (graph/pool.h) within the budget, and a single block (a batch of one) never
    // leaves the calling thread.
    const size_t want = threads > 0 ? size_t(threads) : thread_budget();
    const size_t n_threads = std::max<size_t>(1, std::min(want, n_blocks));
    const size_t rows = std::min(block, n);
    auto run_one = [&](size_t b) {
        // Per-thread scratch, reused across calls (layers write every code of their outputs).
        thread_local Buffers buf;
        const size_t n_buf = own ? tensors_.size() : slot_size_.size();
        if (buf.size() < n_buf) buf.resize(n_buf);
        for (size_t i = 0; i < n_buf; ++i) {
            const size_t need = rows * (own ? tensors_[i].size : slot_size_[i]);
            if (buf[i].size() < need) buf[i].resize(need);
        }
        const size_t start = b * block;
        task(start, std::min(block, n - start), buf);
    };
    parallel_for(n_blocks, n_threads - 1, run_one);
}

template <typename Real>
bool Model::run_into(const Real *x, size_t n, const std::vector<int> &ids, int threads, bool own,
                     const OutputSink &write) const {
    std::atomic<bool> non_finite{false};
    each_block(n, threads, own, [&](size_t start, size_t m, Buffers &buf) {
        if (run_block(x + start * tensors_[0].size, m, buf, own, nullptr)) non_finite = true;
        for (size_t k = 0; k < ids.size(); ++k) {
            const size_t t = size_t(ids[k]);
            write(k, start, m, buf[own ? t : slot_[t]].data());
        }
    });
    return non_finite;
}

template <typename Real>
bool Model::run(const Real *x, size_t n, const std::vector<int64_t *> &outs, int threads, bool all_tensors) const {
    const std::vector<int> ids = [&] {
        if (!all_tensors) return outputs_;
        std::vector<int> all(tensors_.size());
        for (size_t i = 0; i < all.size(); ++i) all[i] = int(i);
        return all;
    }();
    if (outs.size() != ids.size()) throw std::invalid_argument("wrong number of output buffers");
    return run_into(x, n, ids, threads, all_tensors, [&](size_t k, size_t start, size_t m, const int64_t *codes) {
        const size_t size = tensors_[size_t(ids[k])].size;
        std::memcpy(outs[k] + start * size, codes, m * size * sizeof(int64_t));
    });
}

template <typename Real>
bool Model::run_values(const Real *x, size_t n, const std::vector<double *> &outs, int threads) const {
    if (outs.size() != outputs_.size()) throw std::invalid_argument("wrong number of output buffers");
    return run_into(x, n, outputs_, threads, false, [&](size_t k, size_t start, size_t m, const int64_t *codes) {
        const TensorInfo &t = tensors_[size_t(outputs_[k])];
        layers::mac::to_doubles(codes, m * t.size, t.spec, outs[k] + start * t.size);
    });
}

Model::SiteTable Model::audit(const double *x, size_t n, int threads, const std::vector<int64_t *> &outs) const {
    if (!outs.empty() && outs.size() != outputs_.size()) throw std::invalid_argument("wrong number of output buffers");
    SiteTable total(layers_.size() + 1);
    total[0].resize(1);
    for (size_t l = 0; l < layers_.size(); ++l) total[l + 1].resize(layers_[l]->sites().size());
    std::mutex mu;
    each_block(n, threads, true, [&](size_t start, size_t m, Buffers &buf) {
        SiteTable local(total.size());
        for (size_t l = 0; l < total.size(); ++l) local[l].resize(total[l].size());
        run_block(x + start * tensors_[0].size, m, buf, true, &local);
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

template bool Model::run(const double *, size_t, const std::vector<int64_t *> &, int, bool) const;
template bool Model::run(const float *, size_t, const std::vector<int64_t *> &, int, bool) const;
template bool Model::run_values(const double *, size_t, const std::vector<double *> &, int) const;
template bool Model::run_values(const float *, size_t, const std::vector<double *> &, int) const;

}  // namespace l1emu::graph
