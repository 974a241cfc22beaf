// Scenario "baseline": what a user would pick instead, on the same records (1 KiB data,
// batches of 500) and the same durability (acknowledged after fdatasync), in this run:
//   naive    write() of the batch + fdatasync() in a loop (bench/lib/device_probe.h)
//   rocksdb  WriteBatch of 500 (shard, offset) -> record puts with sync=true (WAL), then
//            an iterator scan of everything written
//   shoal    one shard log: the same batches one at a time (sync: wait for each ack, the
//            naive loop's protocol), and pipelined (2 producers x 8 batches in flight:
//            group commit); and a catch-up read of the same amount of data
#include <fmt/format.h>

#include "bench/harness/baseline_rocksdb.h"
#include "bench/harness/scenarios.h"
#include "bench/lib/append_workload.h"
#include "bench/lib/device_probe.h"
#include "bench/lib/read_workload.h"

namespace shoal::bench {
namespace {

constexpr size_t kRecord = 1024;
constexpr size_t kBatch = 500;

const char* kNaive = "baseline/naive_write_fdatasync/500x1KiB";
const char* kRocksWrite = "baseline/rocksdb/write/500x1KiB";
const char* kRocksRead = "baseline/rocksdb/read";
const char* kShoalSync = "baseline/shoal/sync/500x1KiB";
const char* kShoalPipe = "baseline/shoal/pipelined/500x1KiB";
const char* kShoalRead = "baseline/shoal/read";

void Common(Point& p, const Budget& b) {
  p.params.Set("record_bytes", kRecord);
  p.params.Set("records_per_batch", kBatch);
  p.params.Set("total_bytes", b.baseline_bytes);
  p.params.Set("max_seconds", b.baseline_seconds);
}

Status ShoalAppend(Context& ctx, Point& p, int producers, size_t inflight) {
  AppendConfig c;
  c.dir = ctx.FreshDir("baseline-shoal");
  c.shards = 1;
  c.producers = producers;
  c.record_bytes = kRecord;
  c.records_per_call = static_cast<int>(kBatch);
  c.inflight_per_producer = inflight;
  c.total_bytes = ctx.budget.baseline_bytes;
  c.max_seconds = ctx.budget.baseline_seconds;
  c.log.durability = Durability::kAlways;
  SHOAL_ASSIGN_OR_RETURN(AppendReport r, RunAppendWorkload(c));
  p.Add("throughput", r.mb_per_s, "MB/s");
  p.Add("records_per_s", r.records_per_s, "records/s");
  p.Add("batch_p50", r.p50_us, "us");
  p.Add("batch_p99", r.p99_us, "us");
  p.Add("bytes_per_fsync", r.bytes_per_fsync, "B");
  return RemoveTree(c.dir);
}

}  // namespace

void RunBaseline(Context& ctx) {
  const Budget& b = ctx.budget;
  ctx.progress->BeginScenario("baseline", 5);
  Point& naive = ctx.results->NewPoint("baseline", kNaive,
                                       "naive appender: copy 500 x 1 KiB, one write(), fdatasync(), repeat");
  Common(naive, b);
  Repeat(ctx, naive, 1, "naive write+fdatasync", [&](int) -> Status {
    SHOAL_ASSIGN_OR_RETURN(ProbeResult r, NaiveAppender(ctx.data_dir, {.record_size = kRecord,
                                                                        .records_per_batch = kBatch,
                                                                        .total_bytes = b.baseline_bytes,
                                                                        .max_seconds = b.baseline_seconds}));
    naive.Add("throughput", r.mb_per_s, "MB/s");
    naive.Add("records_per_s", static_cast<double>(r.bytes / kRecord) / r.seconds, "records/s");
    if (r.p50_us) naive.Add("batch_p50", *r.p50_us, "us");
    if (r.p99_us) naive.Add("batch_p99", *r.p99_us, "us");
    return Status::Ok();
  });

  Point& rw = ctx.results->NewPoint("baseline", kRocksWrite,
                                    "RocksDB: WriteBatch of 500 (shard, offset) keys, sync=true (WAL fdatasync)");
  Point& rr = ctx.results->NewPoint("baseline", kRocksRead, "RocksDB: iterator scan of everything written (warm)");
  Common(rw, b);
  Common(rr, b);
  rw.params.Set("key_bytes", 12);
  rr.params.Set("key_bytes", 12);
  if (!RocksDbAvailable()) {
    rw.error = rr.error = "RocksDB baseline not built (SHOAL_BENCH_ROCKSDB=OFF or librocksdb-dev missing)";
    ctx.results->AddError("baseline", kRocksWrite, rw.error);
  } else {
    Repeat(ctx, rw, 2, "rocksdb write+read", [&](int) -> Status {
      KvBaselineConfig c;
      c.dir = ctx.FreshDir("baseline-rocksdb");
      c.record_bytes = kRecord;
      c.records_per_batch = kBatch;
      c.total_bytes = b.baseline_bytes;
      c.max_seconds = b.baseline_seconds;
      SHOAL_ASSIGN_OR_RETURN(KvBaselineReport r, RunRocksDbBaseline(c));
      rw.Add("throughput", static_cast<double>(r.value_bytes) / r.write_seconds / 1e6, "MB/s");
      rw.Add("records_per_s", static_cast<double>(r.records) / r.write_seconds, "records/s");
      rw.Add("batch_p50", r.batch_p50_us, "us");
      rw.Add("batch_p99", r.batch_p99_us, "us");
      rr.Add("throughput", static_cast<double>(r.read_bytes) / r.read_seconds / 1e6, "MB/s");
      rr.Add("bytes", static_cast<double>(r.read_bytes), "B");
      rw.params.Set("rocksdb_version", r.version);
      return RemoveTree(c.dir);
    });
    rr.repetitions_planned = rw.repetitions_planned;
    rr.notes.push_back("bytes = key + value of every record; the second of two scans right after writing");
  }

  Point& sync = ctx.results->NewPoint("baseline", kShoalSync,
                                      "Shoal, one shard log: one 500-record Append at a time, each waiting for its "
                                      "fdatasync (the naive loop's protocol)");
  Common(sync, b);
  sync.params.Set("producers", 1);
  sync.params.Set("inflight_per_producer", 1);
  Repeat(ctx, sync, 3, "shoal sync batches", [&](int) { return ShoalAppend(ctx, sync, 1, 1); });

  Point& pipe = ctx.results->NewPoint("baseline", kShoalPipe,
                                      "Shoal, one shard log: 500-record Appends, 2 producers x 8 in flight "
                                      "(group commit)");
  Common(pipe, b);
  pipe.params.Set("producers", 2);
  pipe.params.Set("inflight_per_producer", 8);
  Repeat(ctx, pipe, 4, "shoal pipelined batches", [&](int) { return ShoalAppend(ctx, pipe, 2, 8); });

  Point& read = ctx.results->NewPoint("baseline", kShoalRead,
                                      "Shoal: catch-up scan of one shard log (1 KiB records, CRCs verified, warm)");
  Common(read, b);
  read.notes.push_back("bytes = partition key (16 B) + data of every record; the second of two scans");
  Repeat(ctx, read, 5, "shoal read", [&](int) -> Status {
    ReadConfig c;
    c.dir = ctx.FreshDir("baseline-read");
    c.record_bytes = kRecord;
    c.total_bytes = b.baseline_bytes;
    c.passes = 2;
    c.measure_memcpy = false;
    SHOAL_ASSIGN_OR_RETURN(ReadReport r, RunReadWorkload(c));
    read.Add("throughput", r.pass_mb_per_s.back(), "MB/s");
    read.Add("bytes", static_cast<double>(r.bytes), "B");
    return Status::Ok();
  });

  const std::string thr = ".metrics.throughput";
  for (Point* p : {&sync, &pipe}) {
    p->AddRatio("x_naive", "metrics.throughput", std::string("points.") + kNaive + thr,
                1, "Shoal MB/s over the naive write()+fdatasync loop");
    p->AddRatio("x_rocksdb", "metrics.throughput", std::string("points.") + kRocksWrite + thr, 1,
                "Shoal MB/s over RocksDB WAL sync=true");
    p->AddRatio("fraction_of_device_ceiling", "metrics.throughput", "references.device_ceiling");
  }
  naive.AddRatio("fraction_of_device_ceiling", "metrics.throughput", "references.device_ceiling");
  rw.AddRatio("fraction_of_device_ceiling", "metrics.throughput", "references.device_ceiling");
  read.AddRatio("x_rocksdb", "metrics.throughput", std::string("points.") + kRocksRead + thr, 1,
                "Shoal catch-up read MB/s over a RocksDB iterator scan");
  read.AddRatio("fraction_of_memcpy", "metrics.throughput", "references.memcpy");
  ctx.progress->EndScenario();
}

}  // namespace shoal::bench
