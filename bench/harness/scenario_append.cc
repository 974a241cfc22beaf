// Scenario "append": producers appending fixed-size records to S shard logs that share one
// LogWriter (bench/lib/append_workload.h), over shards x record size x durability x
// producers, plus a few points through the Engine (PutRecords: routing, sequence numbers).
//
// Grids (the suite picks one; results.json lists the points that ran):
//   full     shards {1,4,16,64} x record {100 B, 1 KiB, 64 KiB} x durability {none,
//            interval, always}, 2 producers, buffered; plus producers {1,4} at 1 and 16
//            shards, O_DIRECT at every shard count (1 KiB, always), and the engine at
//            {1,4,16,64} shards (8 producers, 500 records per PutRecords).
//   default  a sample that fits ~1 minute: the shard sweep {1,4,16,64} at 1 KiB/always;
//            record sizes {100 B, 64 KiB} and durabilities {none, interval} at 1 shard;
//            64 shards with durability none; O_DIRECT at 1 shard; 1 producer at 1 shard;
//            the engine at 1 and 4 shards (8 producers, 500 records per PutRecords).
//   quick    1 and 64 shards (1 KiB, always), O_DIRECT at 1 shard, 4 shards 100 B none,
//            the engine at 1 shard.
#include <fmt/format.h>

#include <algorithm>

#include "bench/harness/scenarios.h"
#include "bench/lib/append_workload.h"
#include "bench/lib/engine_workload.h"
#include "kernel/engine.h"

namespace shoal::bench {
namespace {

struct GridPoint {
  int shards;
  size_t record;
  Durability durability;
  int producers;
  WriteMode mode;
  bool engine = false;  // through Engine::PutRecords instead of ShardLog::Append
};

std::vector<GridPoint> Grid(const Budget& b) {
  using D = Durability;
  using W = WriteMode;
  std::vector<GridPoint> g;
  if (b.append_tiny_grid) {
    g = {{1, 1024, D::kAlways, 2, W::kBuffered},
         {64, 1024, D::kAlways, 2, W::kBuffered},
         {1, 1024, D::kAlways, 2, W::kDirect},
         {4, 100, D::kNone, 2, W::kBuffered},
         {1, 1024, D::kAlways, 8, W::kBuffered, true}};
    return g;
  }
  if (!b.append_full_grid) {
    for (int s : {1, 4, 16, 64}) g.push_back({s, 1024, D::kAlways, 2, W::kBuffered});
    g.push_back({1, 100, D::kAlways, 2, W::kBuffered});
    g.push_back({1, 65536, D::kAlways, 2, W::kBuffered});
    g.push_back({1, 1024, D::kNone, 2, W::kBuffered});
    g.push_back({1, 1024, D::kInterval, 2, W::kBuffered});
    g.push_back({64, 1024, D::kNone, 2, W::kBuffered});
    g.push_back({1, 1024, D::kAlways, 2, W::kDirect});
    g.push_back({1, 1024, D::kAlways, 1, W::kBuffered});
    g.push_back({1, 1024, D::kAlways, 8, W::kBuffered, true});
    g.push_back({4, 1024, D::kAlways, 8, W::kBuffered, true});
    return g;
  }
  for (int s : {1, 4, 16, 64})
    for (size_t r : {size_t{100}, size_t{1024}, size_t{65536}})
      for (D d : {D::kNone, D::kInterval, D::kAlways}) g.push_back({s, r, d, 2, W::kBuffered});
  for (int s : {1, 16})
    for (int p : {1, 4}) g.push_back({s, 1024, D::kAlways, p, W::kBuffered});
  for (int s : {1, 4, 16, 64}) g.push_back({s, 1024, D::kAlways, 2, W::kDirect});
  for (int s : {1, 4, 16, 64}) g.push_back({s, 1024, D::kAlways, 8, W::kBuffered, true});
  return g;
}

// Segment size per shard count: keeps the preallocated files (active + spare per shard)
// within a few GiB at 64 shards.
uint64_t SegmentBytesFor(int shards) {
  if (shards <= 1) return 128ull << 20;
  if (shards <= 4) return 64ull << 20;
  if (shards <= 16) return 32ull << 20;
  return 16ull << 20;
}

std::string PointId(const GridPoint& g) {
  return fmt::format("append/{}/shards={}/record={}/durability={}/producers={}/{}", g.engine ? "engine" : "shard_log",
                     g.shards, HumanBytes(g.record), DurabilityName(g.durability), g.producers,
                     WriteModeName(g.mode));
}

void AddRatios(Point& p, int shards) {
  const double s = static_cast<double>(shards);
  p.AddRatio("x_kinesis_write_bytes_per_shard", "metrics.throughput", "references.kinesis_write_bytes_per_shard", s,
             "per-shard data MB/s over Kinesis's 1 MiB/s");
  p.AddRatio("x_kinesis_write_records_per_shard", "metrics.records_per_s", "references.kinesis_write_records_per_shard",
             s, "per-shard records/s over Kinesis's 1000 records/s");
  p.AddRatio("fraction_of_device_ceiling", "metrics.throughput", "references.device_ceiling", 1,
             "aggregate data MB/s over the O_DIRECT 1 MiB QD16 write ceiling");
}

Status RunShardLogPoint(Context& ctx, const GridPoint& g, Point& p) {
  AppendConfig c;
  c.dir = ctx.FreshDir("append");
  c.shards = g.shards;
  c.producers = g.producers;
  c.record_bytes = g.record;
  c.records_per_call = 1;
  c.max_seconds = ctx.budget.append_seconds;
  c.total_bytes = std::max<uint64_t>(64ull << 20, std::min<uint64_t>(4ull << 30, ctx.FreeBytes() / 3));
  c.log.durability = g.durability;
  c.log.write_mode = g.mode;
  c.log.segment_bytes = SegmentBytesFor(g.shards);
  SHOAL_ASSIGN_OR_RETURN(AppendReport r, RunAppendWorkload(c));
  p.Add("throughput", r.mb_per_s, "MB/s");
  p.Add("per_shard_throughput", r.mb_per_s / g.shards, "MB/s");
  p.Add("records_per_s", r.records_per_s, "records/s");
  p.Add("ack_p50", r.p50_us, "us");
  p.Add("ack_p99", r.p99_us, "us");
  p.Add("ack_p999", r.p999_us, "us");
  p.Add("fsyncs_per_s", static_cast<double>(r.fsyncs) / r.seconds, "fsyncs/s");
  p.Add("bytes_per_fsync", r.bytes_per_fsync, "B");
  p.Add("segment_rolls", static_cast<double>(r.rolls), "count");
  p.Add("inline_segment_creates", static_cast<double>(r.inline_creates), "count");
  p.Add("seconds", r.seconds, "s");
  return RemoveTree(c.dir);
}

Status RunEnginePoint(Context& ctx, const GridPoint& g, Point& p, int per_call) {
  const std::string dir = ctx.FreshDir("append-engine");
  EngineOptions o;
  o.log.durability = g.durability;
  o.log.write_mode = g.mode;
  o.log.segment_bytes = SegmentBytesFor(g.shards);
  o.sweep_interval_ms = 0;
  {
    SHOAL_ASSIGN_OR_RETURN(auto engine, Engine::Open(dir, o));
    SHOAL_RETURN_IF_ERROR(engine->CreateStream("bench", g.shards));
    EngineLoadConfig c;
    c.stream = "bench";
    c.producers = g.producers;
    c.record_bytes = g.record;
    c.records_per_call = per_call;
    c.seconds = ctx.budget.append_seconds;
    SHOAL_ASSIGN_OR_RETURN(EngineLoadReport r, RunEngineLoad(*engine, c));
    if (r.failed > 0) return Status::Make(Code::kInternal, "{} records failed: {}", r.failed, r.first_error);
    const double mbps = static_cast<double>(r.data_bytes) / r.seconds / 1e6;
    p.Add("throughput", mbps, "MB/s");
    p.Add("per_shard_throughput", mbps / g.shards, "MB/s");
    p.Add("records_per_s", static_cast<double>(r.records) / r.seconds, "records/s");
    p.Add("ack_p50", r.latency.Quantile(0.5) / 1e3, "us");
    p.Add("ack_p99", r.latency.Quantile(0.99) / 1e3, "us");
    p.Add("ack_p999", r.latency.Quantile(0.999) / 1e3, "us");
    p.Add("seconds", r.seconds, "s");
    SHOAL_RETURN_IF_ERROR(engine->Close());
  }
  return RemoveTree(dir);
}

}  // namespace

void RunAppend(Context& ctx) {
  const std::vector<GridPoint> grid = Grid(ctx.budget);
  const int n = static_cast<int>(grid.size());
  ctx.progress->BeginScenario("append", n);
  int i = 0;
  for (const GridPoint& g : grid) {
    ++i;
    const int per_call = g.engine ? 500 : 1;
    Point& p = ctx.results->NewPoint(
        "append", PointId(g),
        fmt::format("{} shard(s), {} records, durability {}, {} producer(s), {}{}", g.shards, HumanBytes(g.record),
                    DurabilityName(g.durability), g.producers, WriteModeName(g.mode),
                    g.engine ? ", through Engine::PutRecords (500 records per call)" : ", ShardLog::Append"));
    p.params.Set("path", g.engine ? "engine" : "shard_log");
    p.params.Set("shards", g.shards);
    p.params.Set("record_bytes", g.record);
    p.params.Set("key_bytes", 16);
    p.params.Set("durability", DurabilityName(g.durability));
    p.params.Set("producers", g.producers);
    p.params.Set("write_mode", WriteModeName(g.mode));
    p.params.Set("records_per_call", per_call);
    p.params.Set("inflight_per_producer", g.engine ? 1 : static_cast<int>(AppendConfig{}.inflight_per_producer));
    p.params.Set("segment_bytes", SegmentBytesFor(g.shards));
    p.params.Set("seconds", ctx.budget.append_seconds);
    p.notes.push_back(g.engine ? "ack latency = one PutRecords call of 500 records (synchronous: each producer has "
                                 "one call in flight, so 8 producers keep up to 4000 records in flight, against "
                                 "2 x 4096 for the shard-log points)"
                               : "ack latency = one Append call (1 record) from submit to completion");
    p.notes.push_back("throughput counts record data bytes only (the 16-byte partition key is excluded)");
    Repeat(ctx, p, i, p.id.substr(7), [&](int) {
      return g.engine ? RunEnginePoint(ctx, g, p, per_call) : RunShardLogPoint(ctx, g, p);
    });
    AddRatios(p, g.shards);
    if (g.engine) {
      GridPoint raw = g;
      raw.engine = false;
      raw.producers = 2;
      const std::string raw_id = PointId(raw);
      if (ctx.results->FindPoint(raw_id))
        p.AddRatio("x_shard_log", "metrics.throughput", "points." + raw_id + ".metrics.throughput", 1,
                   "engine put throughput over the shard log's at the same shards/record/durability");
    }
  }
  ctx.progress->EndScenario();
}

}  // namespace shoal::bench
