// Process-local time sources for the storage layer.
#pragma once

#include <chrono>
#include <cstdint>

namespace shoal {

// Steady milliseconds, for intervals (fdatasync cadence); never goes back.
inline int64_t MonotonicMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Wall-clock milliseconds since the epoch, for segment creation times.
inline int64_t WallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace shoal
