// A process-wide persistent thread pool: workers are started once (on first use) and reused by every
// Model::run, so no threads are created per call. parallel_for runs a job on the calling thread plus up to
// `helpers` workers; several jobs (e.g. concurrent Python threads) may run at once.
#pragma once

#include <cstddef>
#include <functional>

namespace l1emu::graph {

// Calls task(i) for every i < n_tasks, each exactly once, on the calling thread and up to `helpers` pool
// workers; returns when all are done. The first exception a task throws is rethrown here.
void parallel_for(size_t n_tasks, size_t helpers, const std::function<void(size_t)> &task);

// Workers the pool may lend (hardware threads - 1).
size_t pool_capacity();

}  // namespace l1emu::graph
