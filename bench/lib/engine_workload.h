// Engine workloads: producers calling Engine::PutRecords (routing by MD5 of the partition
// key, or an explicit hash key), and catch-up scans through Engine::GetRecords. Used by the
// shoal-bench scenarios that need Kinesis semantics on top of the shard logs: reads from
// TRIM_HORIZON, tail-following consumers, resharding and retention under load, and the
// Kinesis-emulation limits.
//
// PutRecords is synchronous (it returns when the records are acknowledged under the
// stream's durability), so a producer has one call in flight; concurrency comes from the
// number of producers. Latency is measured per call (start to return).
#pragma once

#include <atomic>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "bench/lib/latency_histogram.h"
#include "io/status.h"
#include "kernel/engine.h"

namespace shoal::bench {

uint64_t SteadyNowNs();

struct EngineLoadConfig {
  std::string stream;
  int producers = 2;
  size_t record_bytes = 1024;   // data bytes per record; the partition key adds 16
  int records_per_call = 100;   // PutRecords entries per call (Kinesis allows 500)
  double seconds = 1;           // run length (0: bounded by max_bytes or stop only)
  uint64_t max_bytes = 0;       // stop once this many data bytes were accepted (0: no bound)
  // Producer p sends every record to the shard owning target_keys[p % size] (explicit
  // hash key); empty: records are routed by the MD5 of varied partition keys.
  std::vector<HashKey> target_keys;
  double calls_per_second = 0;  // per producer; 0 = closed loop (next call at once)
  bool stamp_data = false;      // data bytes [0, 8) = SteadyNowNs() when the call started
  double throttled_sleep_ms = 1;  // pause after a call that had throttled records
  bool record_calls = false;    // keep one CallEvent per call (for timelines and rates)
  const std::atomic<bool>* stop = nullptr;  // optional external stop flag
};

struct CallEvent {
  uint64_t start_ns = 0;
  uint64_t end_ns = 0;
  uint32_t accepted = 0;
  uint32_t throttled = 0;
  uint32_t failed = 0;
  uint64_t accepted_bytes = 0;  // data + partition key (what the Kinesis limit counts)
};

struct EngineLoadReport {
  uint64_t calls = 0;
  uint64_t records = 0;          // accepted
  uint64_t data_bytes = 0;       // accepted data bytes
  uint64_t key_bytes = 0;        // accepted partition-key bytes
  uint64_t throttled = 0;        // records refused with kThrottled
  uint64_t failed = 0;           // records refused otherwise (e.g. shard resharded meanwhile)
  double seconds = 0;
  LatencyHistogram latency;      // per PutRecords call, ns
  std::vector<CallEvent> events; // by start time, if record_calls
  std::string first_error;       // the first non-throttle failure, for diagnosis
};

// Runs the producers until `seconds`, `max_bytes` or `*stop`. Fails only if the stream
// call itself fails (e.g. no such stream); per-record failures are counted.
Result<EngineLoadReport> RunEngineLoad(Engine& engine, const EngineLoadConfig& config);

// A key inside shard `index` of a stream created with `shard_count` shards (EvenSplit).
HashKey KeyInShard(int64_t shard_count, int64_t index);

struct ScanReport {
  uint64_t records = 0;
  uint64_t bytes = 0;  // partition key + data bytes returned
  uint64_t calls = 0;
  double seconds = 0;
};

// Reads shard `shard` of `stream` from TRIM_HORIZON to its current end with GetRecords
// calls of at most `limit` records, touching every record's data.
Result<ScanReport> ScanShard(Engine& engine, std::string_view stream, uint32_t shard, size_t limit);

}  // namespace shoal::bench
