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

// The process-wide thread budget: at most this many threads evaluate at once over all concurrent calls
// (each call's own thread plus the pool workers lent to it), so that several emulators, Python threads or
// Dask workers in one process do not oversubscribe the cores. Default: L1EMU_THREADS if set, else the
// hardware threads. Helpers beyond the budget are simply not lent; results do not depend on it.
size_t thread_budget();
void set_thread_budget(size_t n);  // n >= 1

}  // namespace l1emu::graph
