#include "pool.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <string>
#include <condition_variable>
#include <deque>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace l1emu::graph {

namespace {

struct Job {
    const std::function<void(size_t)> *task;
    size_t n_tasks;
    std::atomic<size_t> next{0};
    size_t helpers_wanted = 0, helpers_joined = 0;  // under the pool mutex
    size_t running = 0;                             // participants still inside run(), under the job mutex
    std::mutex m;
    std::condition_variable done;
    std::exception_ptr error;

    void run() {
        for (size_t i; (i = next.fetch_add(1)) < n_tasks;) {
            try {
                (*task)(i);
            } catch (...) {
                std::lock_guard<std::mutex> lock(m);
                if (!error) error = std::current_exception();
                next.store(n_tasks);  // stop handing out tasks
            }
        }
    }
};

class Pool {
   public:
    Pool() {
        const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
        for (unsigned t = 1; t < hw; ++t) workers_.emplace_back([this] { loop(); });
    }
    ~Pool() {
        {
            std::lock_guard<std::mutex> lock(m_);
            stop_ = true;
        }
        cv_.notify_all();
        for (auto &w : workers_) w.join();
    }
    size_t capacity() const { return workers_.size(); }

    void submit(const std::shared_ptr<Job> &job) {
        {
            std::lock_guard<std::mutex> lock(m_);
            queue_.push_back(job);
        }
        if (job->helpers_wanted == 1)
            cv_.notify_one();
        else
            cv_.notify_all();
    }

    // Drop a finished job that still waits for helpers.
    void retire(const std::shared_ptr<Job> &job) {
        std::lock_guard<std::mutex> lock(m_);
        auto it = std::find(queue_.begin(), queue_.end(), job);
        if (it != queue_.end()) queue_.erase(it);
    }

   private:
    void loop() {
        for (;;) {
            std::shared_ptr<Job> job;
            {
                std::unique_lock<std::mutex> lock(m_);
                cv_.wait(lock, [this] { return stop_ || !queue_.empty(); });
                if (stop_) return;
                job = queue_.front();
                if (++job->helpers_joined >= job->helpers_wanted) queue_.pop_front();
                std::lock_guard<std::mutex> jl(job->m);
                ++job->running;
            }
            job->run();
            std::lock_guard<std::mutex> jl(job->m);
            if (--job->running == 0) job->done.notify_all();
        }
    }

    std::vector<std::thread> workers_;
    std::deque<std::shared_ptr<Job>> queue_;
    std::mutex m_;
    std::condition_variable cv_;
    bool stop_ = false;
};

Pool &pool() {
    static Pool p;
    return p;
}

size_t default_budget() {
    const char *env = std::getenv("L1EMU_THREADS");
    if (env && *env) {
        char *end = nullptr;
        const long v = std::strtol(env, &end, 10);
        if (*end == 0 && v >= 1) return size_t(v);
    }
    return std::max(1u, std::thread::hardware_concurrency());
}

std::atomic<size_t> &budget() {
    static std::atomic<size_t> b{default_budget()};
    return b;
}
std::atomic<size_t> lent{0};  // pool workers currently lent to calls

// Up to `want` helpers within the budget (budget - 1 helpers over all calls: every call has its own thread).
size_t borrow(size_t want) {
    size_t cur = lent.load();
    for (;;) {
        const size_t cap = budget().load() - 1, got = cur >= cap ? 0 : std::min(want, cap - cur);
        if (got == 0 || lent.compare_exchange_weak(cur, cur + got)) return got;
    }
}

}  // namespace

size_t pool_capacity() { return pool().capacity(); }
size_t thread_budget() { return budget().load(); }
void set_thread_budget(size_t n) { budget().store(std::max<size_t>(1, n)); }

void parallel_for(size_t n_tasks, size_t helpers, const std::function<void(size_t)> &task) {
    helpers = std::min({helpers, pool_capacity(), n_tasks > 0 ? n_tasks - 1 : 0});
    if (helpers > 0) helpers = borrow(helpers);
    if (helpers == 0) {  // no hand-off: everything on the calling thread
        for (size_t i = 0; i < n_tasks; ++i) task(i);
        return;
    }
    struct Return {
        size_t n;
        ~Return() { lent.fetch_sub(n); }
    } give_back{helpers};
    auto job = std::make_shared<Job>();
    job->task = &task;
    job->n_tasks = n_tasks;
    job->helpers_wanted = helpers;
    job->running = 1;  // the caller
    pool().submit(job);
    job->run();
    pool().retire(job);
    std::unique_lock<std::mutex> lock(job->m);
    --job->running;
    // Helpers that have not joined yet find no tasks left; only those already inside run() are waited for.
    job->done.wait(lock, [&] { return job->running == 0; });
    if (job->error) std::rethrow_exception(job->error);
}

}  // namespace l1emu::graph
