#include "kernel/task_thread.h"

namespace shoal {

TaskThread::TaskThread() : thread_([this] { Run(); }) {}

TaskThread::~TaskThread() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  thread_.join();
}

void TaskThread::Schedule(std::function<void()> task) {
  {
    std::lock_guard lk(mu_);
    tasks_.push_back(std::move(task));
    ++scheduled_;
  }
  work_cv_.notify_one();
}

void TaskThread::Drain() {
  std::unique_lock lk(mu_);
  const uint64_t target = scheduled_;
  idle_cv_.wait(lk, [&] { return done_ >= target; });
}

void TaskThread::Run() {
  std::unique_lock lk(mu_);
  while (true) {
    work_cv_.wait(lk, [&] { return stop_ || !tasks_.empty(); });
    if (tasks_.empty() && stop_) return;
    auto task = std::move(tasks_.front());
    tasks_.pop_front();
    lk.unlock();
    task();
    task = nullptr;  // drop captured references outside the lock
    lk.lock();
    ++done_;
    idle_cv_.notify_all();
  }
}

}  // namespace shoal
