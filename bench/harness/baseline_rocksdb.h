// The RocksDB baseline of scenario "baseline": (shard, offset) keys written with the WAL
// and sync=true per WriteBatch, then read back with an iterator. Built only when
// SHOAL_BENCH_ROCKSDB is on and librocksdb-dev is installed; otherwise RocksDbAvailable()
// is false and RunRocksDbBaseline fails with kInvalidArgument.
#pragma once

#include <cstdint>
#include <string>

#include "io/status.h"

namespace shoal::bench {

struct KvBaselineConfig {
  std::string dir;
  size_t record_bytes = 1024;
  size_t records_per_batch = 500;
  uint64_t total_bytes = 256ull << 20;
  double max_seconds = 2;
};

struct KvBaselineReport {
  uint64_t records = 0;
  uint64_t value_bytes = 0;
  double write_seconds = 0;
  double batch_p50_us = 0, batch_p99_us = 0;  // one WriteBatch with sync=true
  uint64_t read_bytes = 0;                    // key + value bytes of the second scan
  double read_seconds = 0;
  std::string version;
};

bool RocksDbAvailable();
Result<KvBaselineReport> RunRocksDbBaseline(const KvBaselineConfig& config);

}  // namespace shoal::bench
