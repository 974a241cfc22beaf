// Append workload: producers appending fixed-size records to S shard logs sharing one
// LogWriter, measuring throughput and acknowledgement latency. Used by the Google
// Benchmark suite (bench/micro/shard_log_bench.cc) and the shoal-bench harness.
#pragma once

#include <cstdint>
#include <string>

#include "io/status.h"
#include "kernel/log_options.h"

namespace shoal::bench {

struct AppendConfig {
  std::string dir;               // created if absent; logs go in dir/shard-N
  int shards = 1;
  int producers = 1;
  size_t record_bytes = 1024;    // data bytes per record (key is 16 bytes)
  int records_per_call = 1;      // records per Append() call (one frame)
  uint64_t total_bytes = 256ull << 20;  // data bytes to append, across all shards
  double max_seconds = 20;       // stop early after this long
  size_t inflight_per_producer = 4096;  // appends a producer keeps in flight
  LogOptions log;                // durability, write mode, segment size, ...
};

struct AppendReport {
  uint64_t records = 0;
  uint64_t bytes = 0;          // data bytes acknowledged
  double seconds = 0;
  double mb_per_s = 0;         // data bytes / s / 1e6
  double records_per_s = 0;
  double p50_us = 0, p99_us = 0, p999_us = 0;  // ack latency
  uint64_t fsyncs = 0;
  uint64_t rounds = 0;         // writer flush rounds
  double bytes_per_fsync = 0;
  uint64_t rolls = 0;
  uint64_t inline_creates = 0;
};

Result<AppendReport> RunAppendWorkload(const AppendConfig& config);

}  // namespace shoal::bench
