#include "bench/lib/read_workload.h"

#include <chrono>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include "bench/lib/page_cache.h"
#include "kernel/log_writer.h"
#include "kernel/shard_log.h"

namespace shoal::bench {
namespace {
// Keeps the compiler from dropping the measured work.
volatile char benchmark_sink_;
double Seconds(std::chrono::steady_clock::time_point a, std::chrono::steady_clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}
}  // namespace

double MeasureMemcpyMBps(size_t bytes, int reps) {
  std::vector<char> a(bytes, 1), b(bytes, 2);
  double best = 0;
  for (int i = 0; i < reps; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    std::memcpy(b.data(), a.data(), bytes);
    auto t1 = std::chrono::steady_clock::now();
    benchmark_sink_ = b[static_cast<size_t>(i) % bytes];
    best = std::max(best, static_cast<double>(bytes) / Seconds(t0, t1) / 1e6);
  }
  return best;
}

Result<ReadReport> RunReadWorkload(const ReadConfig& c) {
  std::error_code ec;
  std::filesystem::remove_all(c.dir, ec);
  std::filesystem::create_directories(c.dir, ec);
  SHOAL_ASSIGN_OR_RETURN(std::shared_ptr<LogWriter> writer, LogWriter::Create());
  LogOptions opts;
  opts.durability = Durability::kNone;  // the write side is not what is measured here
  opts.verify_crc_on_read = c.verify_crc;
  SHOAL_ASSIGN_OR_RETURN(auto log, ShardLog::Open(c.dir + "/shard", opts, writer));
  std::string data(c.record_bytes, 'r');
  const std::string key = "partition-key-00";
  const size_t per_call = std::max<size_t>(1, (256u << 10) / c.record_bytes);
  std::vector<RecordIn> recs(per_call, RecordIn{key, data, 0});
  uint64_t written = 0;
  while (written < c.total_bytes) {
    AppendResult r = log->AppendSync(recs);
    SHOAL_RETURN_IF_ERROR(r.status);
    written += per_call * c.record_bytes;
  }
  SHOAL_RETURN_IF_ERROR(log->Flush());
  ReadReport rep;
  rep.file_bytes = TreeBytes(c.dir + "/shard");
  ReadBatch batch;
  double best = 1e100;
  uint64_t checksum = 0;
  for (int pass = 0; pass < c.passes; ++pass) {
    if (c.cold_cache) {
      batch.Clear();
      SHOAL_RETURN_IF_ERROR(log->Close());
      log.reset();
      SHOAL_RETURN_IF_ERROR(DropPageCache(c.dir + "/shard"));
      rep.resident_bytes.push_back(ResidentBytes(c.dir + "/shard"));
      SHOAL_ASSIGN_OR_RETURN(log, ShardLog::Open(c.dir + "/shard", opts, writer));
    }
    uint64_t off = log->start_offset(), records = 0, bytes = 0;
    const uint64_t end = log->end_offset();
    auto t0 = std::chrono::steady_clock::now();
    while (off < end) {
      SHOAL_RETURN_IF_ERROR(log->Read(off, c.max_records, c.max_bytes, &batch));
      for (const RecordView& r : batch.records) checksum += static_cast<uint8_t>(r.data[0]);
      records += batch.records.size();
      bytes += batch.bytes;
      off = batch.next_offset;
    }
    auto t1 = std::chrono::steady_clock::now();
    rep.pass_mb_per_s.push_back(static_cast<double>(bytes) / Seconds(t0, t1) / 1e6);
    if (Seconds(t0, t1) < best) {
      best = Seconds(t0, t1);
      rep.records = records;
      rep.bytes = bytes;
    }
  }
  benchmark_sink_ = static_cast<char>(checksum);
  rep.seconds = best;
  rep.mb_per_s = static_cast<double>(rep.bytes) / best / 1e6;
  if (c.measure_memcpy) rep.memcpy_mb_per_s = MeasureMemcpyMBps(256u << 20, 5);
  batch.Clear();
  SHOAL_RETURN_IF_ERROR(log->Close());
  log.reset();
  std::filesystem::remove_all(c.dir, ec);
  return rep;
}

}  // namespace shoal::bench
