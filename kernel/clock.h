// Clock: where the kernel reads the time, so tests can control it.
//
// Stream-layer code never calls the OS for the time directly; it asks a Clock. Production
// uses SystemClock; tests use ManualClock and move time by hand, so time-dependent logic
// (token buckets, iterator expiry, retention) is tested without sleeping and without
// timing thresholds.
#pragma once

#include <atomic>
#include <cstdint>

namespace shoal {

class Clock {
 public:
  virtual ~Clock();

  // Milliseconds since the Unix epoch. Safe to call from any thread. Wall-clock time:
  // Kinesis reports ApproximateArrivalTimestamp and compares AT_TIMESTAMP iterators in
  // wall-clock terms, so it may step backwards when the system time is corrected, and
  // callers that measure intervals must tolerate that (TokenBucket does).
  virtual int64_t NowMs() const = 0;
};

// The real-time clock (CLOCK_REALTIME through std::chrono::system_clock; a vDSO call on
// Linux, no system call). Stateless; share Default() freely.
class SystemClock final : public Clock {
 public:
  int64_t NowMs() const override;

  // A process-wide instance that lives forever.
  static SystemClock* Default();
};

// A clock that only moves when told to. Thread-safe: any thread may read it while a test
// thread sets or advances it.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t start_ms = 0) : now_ms_(start_ms) {}

  int64_t NowMs() const override { return now_ms_.load(std::memory_order_acquire); }

  // Sets the time; may go backwards, to test code against wall-clock corrections.
  void SetMs(int64_t now_ms) { now_ms_.store(now_ms, std::memory_order_release); }
  // Moves the time by `delta_ms` (negative moves it back) and returns the new time.
  int64_t AdvanceMs(int64_t delta_ms) {
    return now_ms_.fetch_add(delta_ms, std::memory_order_acq_rel) + delta_ms;
  }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace shoal
