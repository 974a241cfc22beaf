// Scenario "device": what the disk, the page cache and one core do on their own, measured
// with the probes of bench/lib/device_probe.h in the data directory. The O_DIRECT 1 MiB
// QD16 write into a fresh file is THE device ceiling every append figure is divided by.
#include <fmt/format.h>

#include <functional>

#include "bench/harness/scenarios.h"
#include "bench/lib/device_probe.h"
#include "kernel/log_options.h"

namespace shoal::bench {
namespace {

using Probe = std::function<Result<ProbeResult>()>;

void ProbePoint(Context& ctx, Point& p, int index, const Probe& probe, bool per_op_latency,
                const char* latency_what) {
  Repeat(ctx, p, index, p.id, [&](int) -> Status {
    SHOAL_ASSIGN_OR_RETURN(ProbeResult r, probe());
    p.Add("throughput", r.mb_per_s, "MB/s");
    p.Add("bytes", static_cast<double>(r.bytes), "B");
    p.Add("seconds", r.seconds, "s");
    if (per_op_latency && r.p50_us) p.Add(std::string(latency_what) + "_p50", *r.p50_us, "us");
    if (per_op_latency && r.p99_us) p.Add(std::string(latency_what) + "_p99", *r.p99_us, "us");
    p.extra.Set("description", r.description);
    return Status::Ok();
  });
}

const char* kCeilingId = "device/direct_write/1MiB/qd16/fresh";
const char* kMemcpyId = "device/memcpy";
const char* kMmapId = "device/mmap_read/warm";
const char* kReadDirectId = "device/read/1MiB/qd16/direct";

void Ceiling(Context& ctx, int index, int) {
  const std::string dir = ctx.data_dir;
  const uint64_t bytes = ctx.budget.device_bytes;
  Point& p = ctx.results->NewPoint("device", kCeilingId,
                                   "O_DIRECT sequential write, 1 MiB blocks, queue depth 16, fresh file (io_uring)");
  p.params.Set("block_bytes", kMiB);
  p.params.Set("queue_depth", 16);
  p.params.Set("file_state", "fresh");
  p.params.Set("total_bytes", bytes);
  p.notes.push_back("THE device ceiling: every append throughput is divided by this median");
  ProbePoint(ctx, p, index, [&] { return DirectWriteSeq(dir, {.total_bytes = bytes}); }, true, "io");
  ctx.results->AddMeasuredReference("device_ceiling", kCeilingId, "throughput",
                                    "O_DIRECT 1 MiB QD16 sequential write into a fresh file, this run");
}

void Memcpy(Context& ctx, int index) {
  const uint64_t bytes = ctx.budget.memcpy_bytes;
  Point& p = ctx.results->NewPoint("device", kMemcpyId, "one core's memcpy between two pre-touched buffers");
  p.params.Set("buffer_bytes", bytes);
  ProbePoint(ctx, p, index, [&] { return MemcpyBandwidth({.buffer_bytes = bytes, .repetitions = 4}); }, false, "");
  ctx.results->AddMeasuredReference("memcpy", kMemcpyId, "throughput", "one core's memcpy bandwidth, this run");
}

void MmapRead(Context& ctx, int index) {
  const std::string dir = ctx.data_dir;
  const uint64_t bytes = ctx.budget.device_bytes;
  Point& p = ctx.results->NewPoint("device", kMmapId,
                                   "reading a cached file through a read-only mapping (page tables populated)");
  p.params.Set("file_bytes", bytes);
  ProbePoint(ctx, p, index, [&] { return MmapReadBandwidth(dir, {.file_bytes = bytes, .passes = 3}); }, false, "");
  ctx.results->AddMeasuredReference("mmap_read", kMmapId, "throughput",
                                    "one core reading a cached file through a mapping, this run");
}

}  // namespace

void AddKinesisReferences(Results& results) {
  results.AddReference({"kinesis_write_bytes_per_shard", 1048576, "B/s", "Kinesis per-shard limit",
                        "write: 1 MiB/s of data + partition key per shard"});
  results.AddReference({"kinesis_write_records_per_shard", 1000, "records/s", "Kinesis per-shard limit",
                        "write: 1000 records/s per shard"});
  results.AddReference({"kinesis_read_bytes_per_shard", 2097152, "B/s", "Kinesis per-shard limit",
                        "read: 2 MiB/s per shard (shared by all polling consumers)"});
  results.AddReference({"kinesis_read_calls_per_shard", 5, "calls/s", "Kinesis per-shard limit",
                        "read: 5 GetRecords calls/s per shard"});
  results.AddReference({"kinesis_poll_interval", 200, "ms", "Kinesis per-shard limit",
                        "1 / (5 calls/s): the polling interval of a consumer that respects the read limit"});
}

namespace {
void ReadDirect(Context& ctx, int index) {
  const std::string dir = ctx.data_dir;
  const uint64_t bytes = ctx.budget.device_bytes;
  Point& p = ctx.results->NewPoint("device", kReadDirectId, "O_DIRECT sequential read, 1 MiB blocks, queue depth 16");
  p.params.Set("block_bytes", kMiB);
  p.params.Set("queue_depth", 16);
  p.params.Set("direct", true);
  ProbePoint(ctx, p, index, [&] { return ReadSeq(dir, {.total_bytes = bytes, .direct = true}); }, true, "io");
  p.AddRatio("x_device_ceiling", "metrics.throughput", "references.device_ceiling", 1,
             "read bandwidth over the write ceiling");
  ctx.results->AddMeasuredReference("device_read_direct", kReadDirectId, "throughput",
                                    "O_DIRECT 1 MiB QD16 sequential read, this run");
}
}  // namespace

void ReferenceProbes(Context& ctx) {
  ctx.progress->BeginScenario("device (references only)", 4);
  Ceiling(ctx, 1, 4);
  ReadDirect(ctx, 2);
  Memcpy(ctx, 3);
  MmapRead(ctx, 4);
  ctx.progress->EndScenario();
}

void RunDevice(Context& ctx) {
  const Budget& b = ctx.budget;
  const std::string dir = ctx.data_dir;
  const int n = 5 + 2 * static_cast<int>(b.fsync_chunks.size());
  ctx.progress->BeginScenario("device", n);
  int i = 0;
  Ceiling(ctx, ++i, n);
  const size_t flush = LogOptions{}.staging_bytes;
  for (uint64_t chunk : b.fsync_chunks) {
    for (bool direct : {false, true}) {
      const std::string id =
          fmt::format("device/write_fdatasync/{}/{}/fresh", HumanBytes(chunk), direct ? "direct" : "buffered");
      Point& p = ctx.results->NewPoint(
          "device", id,
          fmt::format("sequential {} writes each followed by fdatasync, {}, fresh file{}", HumanBytes(chunk),
                      direct ? "O_DIRECT" : "buffered",
                      chunk == flush ? " (the engine's flush size: LogOptions::staging_bytes)" : ""));
      p.params.Set("chunk_bytes", chunk);
      p.params.Set("write_mode", direct ? "direct" : "buffered");
      p.params.Set("file_state", "fresh");
      p.params.Set("engine_flush_size", chunk == flush);
      const double secs = b.fsync_seconds;
      const uint64_t total = std::max<uint64_t>(chunk * 4, b.device_bytes);
      ProbePoint(ctx, p, ++i, [&] {
        return WriteFsyncSeq(dir, {.chunk_bytes = chunk, .total_bytes = total, .direct = direct,
                                   .file_state = FileState::kFresh, .max_seconds = secs});
      }, true, "write_fdatasync");
      p.AddRatio("fraction_of_device_ceiling", "metrics.throughput", "references.device_ceiling");
    }
  }
  ReadDirect(ctx, ++i);
  {
    Point& p = ctx.results->NewPoint("device", "device/read/1MiB/qd16/page_cache",
                                     "sequential read of a cached file (page cache copy-out), 1 MiB, QD16");
    p.params.Set("block_bytes", kMiB);
    p.params.Set("queue_depth", 16);
    p.params.Set("direct", false);
    const uint64_t bytes = b.device_bytes;
    ProbePoint(ctx, p, ++i, [&] { return ReadSeq(dir, {.total_bytes = bytes, .direct = false}); }, true, "io");
    p.AddRatio("x_memcpy", "metrics.throughput", "references.memcpy", 1, "page-cache copy-out over memcpy");
  }
  Memcpy(ctx, ++i);
  MmapRead(ctx, ++i);
  ctx.progress->EndScenario();
}

}  // namespace shoal::bench
