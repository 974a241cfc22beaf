// The engine the catalog, service and HTTP fuzz targets run against: a manual clock (so a
// replayed input behaves the same), no background thread, small segments and a small
// shard quota, so one input cannot fill the RAM disk with preallocated segment files.
#pragma once

#include <memory>

#include "kernel/clock.h"
#include "kernel/engine.h"
#include "tests/fuzz/support/log_fuzz_options.h"

namespace shoal::fuzz {

// 2026-01-01T00:00:00Z: a fixed start, so sequence numbers and timestamps are the same in
// every run of an input.
inline constexpr int64_t kFuzzEpochMs = 1767225600000;

inline EngineOptions EngineFuzzOptions(std::shared_ptr<ManualClock> clock) {
  EngineOptions o;
  o.clock = std::move(clock);
  o.log = LogFuzzOptions(0);  // durability none: fdatasync adds nothing a fuzzer can see
  o.sweep_interval_ms = 0;    // Tick() runs the sweeper when an input asks for it
  o.shard_limit = 12;
  o.max_record_bytes = 16 << 10;
  return o;
}

}  // namespace shoal::fuzz
