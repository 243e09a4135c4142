// The job board both thread pools share: threadpool.cc (the addon's OS
// threads) and wasm/runtime.cc (the wasm module's workers). A job's parts are
// claimed through one atomic word holding (generation << 32 | next part), so
// a thread that comes late to a job, or to a job already replaced by the
// next, claims nothing: a successful claim proves the job was still live and
// its function, context and part count belong to it.
#pragma once

#include <atomic>
#include <cstdint>

#include "common.h"

namespace neurite {

struct JobBoard {
  std::atomic<uint64_t> claim{0};
  std::atomic<int> remaining{0};
  std::atomic<int> nparts{1};
  std::atomic<TaskFn> fn{nullptr};
  std::atomic<void*> ctx{nullptr};

  uint32_t generation() const { return static_cast<uint32_t>(claim.load(std::memory_order_acquire) >> 32); }

  // Publishes job g (the caller then wakes the workers).
  void post(uint32_t g, int parts, TaskFn f, void* c) {
    fn.store(f, std::memory_order_relaxed);
    ctx.store(c, std::memory_order_relaxed);
    nparts.store(parts, std::memory_order_relaxed);
    remaining.store(parts, std::memory_order_relaxed);
    claim.store(static_cast<uint64_t>(g) << 32, std::memory_order_seq_cst);
  }

  // Claims and runs parts of job g until none is left; returns how many ran here.
  int work(uint32_t g) {
    int done = 0;
    for (;;) {
      uint64_t c = claim.load(std::memory_order_acquire);
      if ((c >> 32) != g) return done;
      const uint32_t p = static_cast<uint32_t>(c);
      const int n = nparts.load(std::memory_order_relaxed);
      if (p >= static_cast<uint32_t>(n)) return done;
      TaskFn f = fn.load(std::memory_order_relaxed);
      void* x = ctx.load(std::memory_order_relaxed);
      if (!claim.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) continue;
      f(x, static_cast<int>(p), n);
      ++done;
      remaining.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  // Retires every part of job g still unclaimed (after a part threw).
  void drain(uint32_t g) {
    for (;;) {
      uint64_t c = claim.load(std::memory_order_acquire);
      const uint32_t p = static_cast<uint32_t>(c);
      if ((c >> 32) != g || p >= static_cast<uint32_t>(nparts.load(std::memory_order_relaxed))) return;
      if (claim.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel)) remaining.fetch_sub(1, std::memory_order_acq_rel);
    }
  }

  // Spins until every part of the current job has run.
  void wait_done() const {
    while (remaining.load(std::memory_order_acquire) != 0) {
    }
  }
};

}  // namespace neurite
