// TaskThread: one thread that runs scheduled tasks in FIFO order.
//
// Promises: tasks run one at a time, in the order scheduled; Drain() returns once every
// task scheduled before the call has finished; the destructor runs what is still queued,
// then joins. Drain() must not be called from a task (it would wait for itself).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace shoal {

class TaskThread {
 public:
  TaskThread();
  ~TaskThread();
  TaskThread(const TaskThread&) = delete;
  TaskThread& operator=(const TaskThread&) = delete;

  void Schedule(std::function<void()> task);
  void Drain();

 private:
  void Run();

  std::mutex mu_;
  std::condition_variable work_cv_;
  std::condition_variable idle_cv_;
  std::deque<std::function<void()>> tasks_;
  uint64_t scheduled_ = 0;
  uint64_t done_ = 0;
  bool stop_ = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace shoal
