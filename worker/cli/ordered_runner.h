// Runs tasks 0..n-1 on a few threads and hands their results on in index
// order, each as soon as it and all before it are done. At most `window`
// tasks run ahead of the one being handed on, which bounds memory.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace frameprint::cli {

// make_task() is called once per thread (per-thread state such as a PDQ
// backend lives in the function it returns); sink runs on the calling
// thread. If the sink throws, the threads are released and joined and the
// exception propagates.
template <typename Result>
void run_ordered(size_t n, int threads, size_t window,
                 const std::function<std::function<Result(size_t)>()>& make_task,
                 const std::function<void(Result&&)>& sink) {
  window = std::max<size_t>(window, 1);
  std::vector<std::optional<Result>> slots(n);
  std::mutex mu;
  std::condition_variable cv;
  size_t handed_on = 0;
  std::atomic<size_t> next{0};

  auto work = [&] {
    auto task = make_task();
    for (;;) {
      const size_t i = next.fetch_add(1);
      if (i >= n) return;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return i < handed_on + window; });
      }
      Result r = task(i);
      std::lock_guard lock(mu);
      slots[i] = std::move(r);
      cv.notify_all();
    }
  };
  std::vector<std::jthread> pool;
  const int count = std::max(1, std::min<int>(threads, static_cast<int>(n)));
  for (int t = 0; t < count; ++t) pool.emplace_back(work);

  try {
    for (size_t i = 0; i < n; ++i) {
      Result r;
      {
        std::unique_lock lock(mu);
        cv.wait(lock, [&] { return slots[i].has_value(); });
        r = std::move(*slots[i]);
        slots[i].reset();
        handed_on = i + 1;
        cv.notify_all();
      }
      sink(std::move(r));
    }
  } catch (...) {
    // No new tasks and no look-ahead limit, so the threads finish and join.
    next = n;
    {
      std::lock_guard lock(mu);
      handed_on = n + window;
    }
    cv.notify_all();
    throw;
  }
}

}  // namespace frameprint::cli
