// The engine torture workload: what the process under test does between two SIGKILLs.
// Shared by tests/crash/engine_crash_test.cc (forked child, ack file) and shoal-torture
// --embedded (exec'd child, ack pipe).
//
// It opens an Engine on the data directory and works it hard: `put_threads` producers
// PutRecords to "main"; a control thread splits, merges, runs UpdateShardCount, changes
// retention, creates / reshards / puts to / deletes the "side" stream, and calls Tick()
// (retention sweeps); a live consumer follows main's lineage (ChildShards) and checks every
// record it reads. Each put is announced (kAckSent) before and acknowledged (kAckPut)
// after, through the ack fd; control operations write intent and done entries.
//
// Time: the clock is the system clock plus `clock_offset_ms`, running `clock_speed` times
// as fast from the start. Crash cycles use speed 1 and offset cycle * 25 h (so each cycle
// gets a fresh UpdateShardCount budget and the side stream's 24 h records expire from one
// cycle to the next; main keeps >= 2000 h and never expires). Soak runs (`soak`) use a
// fast clock and keep main at 24..48 h, so trimming is continuous and the data bounded.
//
// It never returns: it ends by SIGKILL, or _exit(kWorkloadFailed) after printing why on
// stderr.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>

#include "kernel/clock.h"
#include "kernel/engine.h"

namespace shoal::torture {

inline constexpr int kWorkloadFailed = 3;
inline constexpr int64_t kCycleOffsetMs = 25LL * 3600 * 1000;

struct WorkloadParams {
  std::string data_dir;
  int ack_fd = -1;
  uint64_t cycle = 1;
  uint64_t seed = 0;
  Durability durability = Durability::kAlways;
  WriteMode write_mode = WriteMode::kDirect;
  int64_t clock_offset_ms = 0;
  double clock_speed = 1;
  bool soak = false;
  int put_threads = 2;
  // Soak: a fixed load, so the steady state (records and shards inside the retention
  // window) does not depend on how much CPU the machine has to spare at the moment.
  double put_rate_per_thread = 0;  // records per second (0: as fast as possible)
  int control_interval_ms = 0;     // between control operations (0: 0..5 ms at random)
  bool live_consumer = true;
  pid_t parent = 0;  // exits at once if the parent is gone (0: do not check)
};

// The system clock, shifted and sped up (from the moment it is made).
class ScaledClock final : public Clock {
 public:
  ScaledClock(int64_t offset_ms, double speed);
  int64_t NowMs() const override;

 private:
  const int64_t start_ms_;
  const int64_t offset_ms_;
  const double speed_;
};

// The options the workload opens the engine with (the verifier opens it the same way).
EngineOptions WorkloadEngineOptions(std::shared_ptr<Clock> clock, Durability durability,
                                    WriteMode write_mode = WriteMode::kDirect);

[[noreturn]] void RunEngineWorkload(const WorkloadParams& p);

}  // namespace shoal::torture
