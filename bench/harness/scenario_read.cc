// Scenario "read": catch-up scans from the start of a shard (TRIM_HORIZON) with the page
// cache warm and cold, through the shard log and through the Engine, and tail-following
// consumers measuring put -> get latency through the Engine.
//
// Cold, honestly: after writing, the log is closed (which unmaps its segments: the kernel
// keeps mapped pages), every file is fdatasync'ed and posix_fadvise(DONTNEED)'ed, the
// resident bytes left are measured with mincore() and reported next to the figure
// (resident_before_scan), and the log is reopened (a clean reopen reads no record data).
#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <thread>

#include "bench/harness/scenarios.h"
#include "bench/lib/engine_workload.h"
#include "bench/lib/page_cache.h"
#include "bench/lib/read_workload.h"
#include "kernel/engine.h"

namespace shoal::bench {
namespace {

void CatchUpRatios(Point& p, bool cold) {
  p.AddRatio("x_kinesis_read_bytes_per_shard", "metrics.throughput", "references.kinesis_read_bytes_per_shard", 1,
             "one shard's catch-up MB/s over Kinesis's 2 MiB/s per shard");
  p.AddRatio("fraction_of_memcpy", "metrics.throughput", "references.memcpy", 1,
             "over one core's memcpy bandwidth measured in this run");
  if (cold)
    p.AddRatio("fraction_of_device_read", "metrics.throughput", "references.device_read_direct", 1,
               "over the O_DIRECT 1 MiB QD16 read bandwidth measured in this run");
}

void ShardLogCatchUp(Context& ctx, int index, size_t record, bool cold) {
  const std::string id = fmt::format("read/catch_up/shard_log/record={}/{}", HumanBytes(record), cold ? "cold" : "warm");
  Point& p = ctx.results->NewPoint(
      "read", id,
      fmt::format("catch-up scan of one shard log from its start, {} records, CRCs verified, page cache {}",
                  HumanBytes(record), cold ? "cold" : "warm"));
  p.params.Set("path", "shard_log");
  p.params.Set("record_bytes", record);
  p.params.Set("data_bytes", ctx.budget.read_bytes);
  p.params.Set("cache", cold ? "cold" : "warm");
  p.params.Set("verify_crc", true);
  p.params.Set("max_records_per_read", 10000);
  p.params.Set("max_bytes_per_read", 10u << 20);
  p.notes.push_back(cold ? "cold: close, fdatasync + posix_fadvise(DONTNEED) every file, reopen, one scan"
                         : "warm: data just written (in the page cache); the second of two scans is reported "
                           "(the first populates the mapping's page tables)");
  p.notes.push_back("throughput counts partition key + data bytes returned");
  Repeat(ctx, p, index, id.substr(5), [&](int) -> Status {
    ReadConfig c;
    c.dir = ctx.FreshDir("read");
    c.record_bytes = record;
    c.total_bytes = ctx.budget.read_bytes;
    c.verify_crc = true;
    c.passes = cold ? 1 : 2;
    c.cold_cache = cold;
    c.measure_memcpy = false;
    SHOAL_ASSIGN_OR_RETURN(ReadReport r, RunReadWorkload(c));
    p.Add("throughput", r.pass_mb_per_s.back(), "MB/s");
    p.Add("records_per_pass", static_cast<double>(r.records), "records");
    p.Add("bytes_per_pass", static_cast<double>(r.bytes), "B");
    if (cold) {
      p.Add("resident_before_scan", static_cast<double>(r.resident_bytes.back()), "B");
      p.Add("file_bytes", static_cast<double>(r.file_bytes), "B");
    }
    return Status::Ok();
  });
  CatchUpRatios(p, cold);
}

void EngineCatchUp(Context& ctx, int index, bool cold) {
  const size_t record = 1024;
  const std::string id = fmt::format("read/catch_up/engine/record=1KiB/{}", cold ? "cold" : "warm");
  Point& p = ctx.results->NewPoint(
      "read", id,
      fmt::format("GetRecords from TRIM_HORIZON to the end of one shard, 10000 records per call, page cache {}",
                  cold ? "cold" : "warm"));
  p.params.Set("path", "engine");
  p.params.Set("record_bytes", record);
  p.params.Set("data_bytes", ctx.budget.read_bytes);
  p.params.Set("cache", cold ? "cold" : "warm");
  p.params.Set("limit_per_call", 10000);
  p.notes.push_back("includes formatting a sequence number per record; limits off");
  p.notes.push_back(cold ? "cold: Engine::Close, fdatasync + posix_fadvise(DONTNEED) every file, Engine::Open, one scan"
                         : "warm: the second of two scans right after writing");
  Repeat(ctx, p, index, id.substr(5), [&](int) -> Status {
    const std::string dir = ctx.FreshDir("read-engine");
    EngineOptions o;
    o.log.durability = Durability::kNone;  // the fill is not what is measured
    o.sweep_interval_ms = 0;
    SHOAL_ASSIGN_OR_RETURN(auto engine, Engine::Open(dir, o));
    SHOAL_RETURN_IF_ERROR(engine->CreateStream("read", 1));
    EngineLoadConfig fill;
    fill.stream = "read";
    fill.producers = 2;
    fill.record_bytes = record;
    fill.records_per_call = 500;
    fill.seconds = 0;
    fill.max_bytes = ctx.budget.read_bytes;
    SHOAL_ASSIGN_OR_RETURN(EngineLoadReport fr, RunEngineLoad(*engine, fill));
    (void)fr;
    ScanReport r;
    if (cold) {
      SHOAL_RETURN_IF_ERROR(engine->Close());
      engine.reset();
      SHOAL_RETURN_IF_ERROR(DropPageCache(dir));
      p.Add("resident_before_scan", static_cast<double>(ResidentBytes(dir)), "B");
      p.Add("file_bytes", static_cast<double>(TreeBytes(dir)), "B");
      SHOAL_ASSIGN_OR_RETURN(engine, Engine::Open(dir, o));
      SHOAL_ASSIGN_OR_RETURN(r, ScanShard(*engine, "read", 0, 10000));
    } else {
      SHOAL_ASSIGN_OR_RETURN(r, ScanShard(*engine, "read", 0, 10000));
      SHOAL_ASSIGN_OR_RETURN(r, ScanShard(*engine, "read", 0, 10000));
    }
    p.Add("throughput", static_cast<double>(r.bytes) / r.seconds / 1e6, "MB/s");
    p.Add("records_per_s", static_cast<double>(r.records) / r.seconds, "records/s");
    p.Add("calls", static_cast<double>(r.calls), "calls");
    SHOAL_RETURN_IF_ERROR(engine->Close());
    engine.reset();
    return RemoveTree(dir);
  });
  CatchUpRatios(p, cold);
}

void TailFollowing(Context& ctx, int index, int shards, Durability durability) {
  const std::string id = fmt::format("read/tail/shards={}/durability={}", shards, DurabilityName(durability));
  Point& p = ctx.results->NewPoint(
      "read", id,
      fmt::format("tail-following consumers, {} shard(s), durability {}: put -> get latency", shards,
                  DurabilityName(durability)));
  const double rate = 1000;  // records/s per shard: the Kinesis write limit
  const int per_call = 10;
  p.params.Set("shards", shards);
  p.params.Set("durability", DurabilityName(durability));
  p.params.Set("record_bytes", 1024);
  p.params.Set("records_per_call", per_call);
  p.params.Set("offered_records_per_s_per_shard", rate);
  p.params.Set("consumer_idle_sleep_us", 100);
  p.params.Set("seconds", ctx.budget.tail_seconds);
  p.notes.push_back("one paced producer and one consumer per shard; the consumer polls GetRecords from LATEST "
                    "without limits, sleeping 100 us after an empty response");
  p.notes.push_back("put -> get: from the start of the PutRecords call to the return of the GetRecords call "
                    "that delivered the record");
  Repeat(ctx, p, index, id.substr(5), [&](int) -> Status {
    const std::string dir = ctx.FreshDir("tail");
    EngineOptions o;
    o.log.durability = durability;
    o.sweep_interval_ms = 0;
    SHOAL_ASSIGN_OR_RETURN(auto engine, Engine::Open(dir, o));
    SHOAL_RETURN_IF_ERROR(engine->CreateStream("tail", shards));
    std::atomic<bool> stop{false};
    std::vector<LatencyHistogram> hists(static_cast<size_t>(shards));
    std::unique_ptr<std::atomic<uint64_t>[]> delivered(new std::atomic<uint64_t>[static_cast<size_t>(shards)]);
    for (int s = 0; s < shards; ++s) delivered[static_cast<size_t>(s)].store(0);
    std::vector<uint64_t> calls(static_cast<size_t>(shards), 0), empty(static_cast<size_t>(shards), 0);
    std::vector<Status> errors(static_cast<size_t>(shards));
    std::vector<ShardPosition> starts;
    for (int s = 0; s < shards; ++s) {
      SHOAL_ASSIGN_OR_RETURN(
          ShardPosition pos,
          engine->GetPosition("tail", static_cast<uint32_t>(s), PositionType::kLatest, std::nullopt, std::nullopt));
      starts.push_back(pos);
    }
    std::vector<std::thread> consumers;
    for (int s = 0; s < shards; ++s) {
      consumers.emplace_back([&, s, start = starts[static_cast<size_t>(s)]] {
        ShardPosition at = start;
        const size_t k = static_cast<size_t>(s);
        while (!stop.load(std::memory_order_relaxed)) {
          auto out = engine->GetRecords("tail", at, 10000);
          const uint64_t now = SteadyNowNs();
          if (!out.ok()) {
            errors[k] = out.status();
            return;
          }
          ++calls[k];
          for (const ReadRecord& r : out->records) {
            uint64_t sent;
            std::memcpy(&sent, r.data.data(), 8);
            hists[k].Record(now > sent ? now - sent : 0);
          }
          delivered[k].fetch_add(out->records.size(), std::memory_order_relaxed);
          if (out->next) at = *out->next;
          if (out->records.empty()) {
            ++empty[k];
            std::this_thread::sleep_for(std::chrono::microseconds(100));
          }
        }
      });
    }
    EngineLoadConfig c;
    c.stream = "tail";
    c.producers = shards;
    for (int s = 0; s < shards; ++s) c.target_keys.push_back(KeyInShard(shards, s));
    c.record_bytes = 1024;
    c.records_per_call = per_call;
    c.calls_per_second = rate / per_call;
    c.stamp_data = true;
    c.seconds = ctx.budget.tail_seconds;
    auto put = RunEngineLoad(*engine, c);
    // Let the consumers drain what was acknowledged (bounded wait).
    const uint64_t deadline = SteadyNowNs() + 2'000'000'000ull;
    auto total_delivered = [&] {
      uint64_t t = 0;
      for (int s = 0; s < shards; ++s) t += delivered[static_cast<size_t>(s)].load(std::memory_order_relaxed);
      return t;
    };
    while (put.ok() && total_delivered() < put->records && SteadyNowNs() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    stop.store(true);
    for (auto& t : consumers) t.join();
    if (!put.ok()) return put.status();
    for (const Status& st : errors) SHOAL_RETURN_IF_ERROR(st);
    LatencyHistogram all;
    uint64_t got = 0, ncalls = 0, nempty = 0;
    for (int s = 0; s < shards; ++s) {
      all.Merge(hists[static_cast<size_t>(s)]);
      got += delivered[static_cast<size_t>(s)].load();
      ncalls += calls[static_cast<size_t>(s)];
      nempty += empty[static_cast<size_t>(s)];
    }
    if (got != put->records)
      p.notes.push_back(fmt::format("a repetition delivered {} of {} acknowledged records", got, put->records));
    p.Add("put_to_get_p50", all.Quantile(0.5) / 1e3, "us");
    p.Add("put_to_get_p99", all.Quantile(0.99) / 1e3, "us");
    p.Add("put_to_get_p999", all.Quantile(0.999) / 1e3, "us");
    p.Add("put_call_p50", put->latency.Quantile(0.5) / 1e3, "us");
    p.Add("put_call_p99", put->latency.Quantile(0.99) / 1e3, "us");
    p.Add("delivered_records_per_s", static_cast<double>(got) / put->seconds, "records/s");
    p.Add("get_calls_per_s_per_shard", static_cast<double>(ncalls) / put->seconds / shards, "calls/s");
    p.Add("empty_gets", static_cast<double>(nempty), "calls");
    SHOAL_RETURN_IF_ERROR(engine->Close());
    engine.reset();
    return RemoveTree(dir);
  });
  p.AddRatio("p99_over_kinesis_poll_interval", "metrics.put_to_get_p99", "references.kinesis_poll_interval", 1,
             "put->get p99 over the 200 ms a consumer obeying 5 GetRecords/s waits between polls");
  p.AddRatio("x_kinesis_write_records_per_shard", "metrics.delivered_records_per_s",
             "references.kinesis_write_records_per_shard", shards, "delivered rate per shard (offered: the limit)");
}

}  // namespace

void RunRead(Context& ctx) {
  const bool quick = ctx.suite == Suite::kQuick;
  const int n = quick ? 5 : 8;
  ctx.progress->BeginScenario("read", n);
  int i = 0;
  ShardLogCatchUp(ctx, ++i, 1024, false);
  ShardLogCatchUp(ctx, ++i, 1024, true);
  if (!quick) ShardLogCatchUp(ctx, ++i, 65536, false);
  EngineCatchUp(ctx, ++i, false);
  EngineCatchUp(ctx, ++i, true);
  TailFollowing(ctx, ++i, 1, Durability::kAlways);
  if (!quick) {
    TailFollowing(ctx, ++i, 4, Durability::kAlways);
    TailFollowing(ctx, ++i, 1, Durability::kNone);
  }
  ctx.progress->EndScenario();
}

}  // namespace shoal::bench
