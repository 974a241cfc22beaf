#include "kernel/clock.h"

#include <chrono>

namespace shoal {

// Defined out of line so the vtable has one home (this file) instead of a weak copy in
// every object file that includes the header.
Clock::~Clock() = default;

int64_t SystemClock::NowMs() const {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

SystemClock* SystemClock::Default() {
  static SystemClock clock;  // trivially destructible in effect; never freed
  return &clock;
}

}  // namespace shoal
