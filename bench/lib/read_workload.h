// Read workload: a catch-up scan of one shard log from its start to its end through the
// segment mappings (page cache warm), with or without CRC verification, next to one
// core's memcpy bandwidth measured in the same call.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/status.h"
#include "kernel/log_options.h"

namespace shoal::bench {

struct ReadConfig {
  std::string dir;
  size_t record_bytes = 1024;
  uint64_t total_bytes = 1ull << 30;  // data written before the scan
  size_t max_records = 10000;         // per Read call (Kinesis GetRecords cap)
  size_t max_bytes = 10u << 20;       // per Read call (Kinesis GetRecords cap)
  bool verify_crc = true;
  int passes = 3;                     // scans; the best is reported (warm cache)
  // Cold page cache before every pass: close the log (which unmaps its segments), write
  // back and drop the files' cached pages (bench/lib/page_cache.h), reopen (untimed; a
  // clean reopen reads no record data), then scan. ReadReport::resident_bytes says how
  // much stayed cached anyway.
  bool cold_cache = false;
  bool measure_memcpy = true;         // fill ReadReport::memcpy_mb_per_s (costs ~1 s)
};

struct ReadReport {
  uint64_t records = 0;
  uint64_t bytes = 0;  // key + data bytes returned per pass
  double seconds = 0;  // of the best pass
  double mb_per_s = 0;
  double memcpy_mb_per_s = 0;  // one core, same run, same byte count
  std::vector<double> pass_mb_per_s;    // every pass, in order
  std::vector<uint64_t> resident_bytes; // per pass: segment bytes cached before it (cold_cache)
  uint64_t file_bytes = 0;              // bytes of the log's files after writing
};

Result<ReadReport> RunReadWorkload(const ReadConfig& config);

// One core's memcpy bandwidth (MB/s, 1e6) over two pre-touched buffers of `bytes`.
double MeasureMemcpyMBps(size_t bytes, int reps);

}  // namespace shoal::bench
