// Scenario "limits": Kinesis-emulation mode (EngineOptions::kinesis_limits = true) under
// overload. Four shards of one stream run at once, each pushed past one limit:
//   shard 0  writes of 64 KiB records (bytes-bound: 1 MiB/s)
//   shard 1  writes of 100 B records (records-bound: 1000 records/s)
//   shard 2  GetRecords of 1000 x 1 KiB (about 1 MiB per call: bytes-bound, 2 MiB/s)
//   shard 3  GetRecords of 1 record (calls-bound: 5 calls/s)
// Every client retries at once, sleeping 1 ms after a throttled call. Rates are measured
// after a warm-up that drains the burst allowance: writes as bytes (data + partition
// key, what the limit counts) and records accepted in the window over its length; reads,
// which are admitted in a few large steps, as the bytes (calls) of every admitted call but
// the last in the window over the time between the first and the last admission.
#include <fmt/format.h>

#include <atomic>
#include <thread>

#include "bench/harness/scenarios.h"
#include "bench/lib/engine_workload.h"
#include "kernel/engine.h"

namespace shoal::bench {
namespace {

struct ReadEvent {
  uint64_t t_ns;
  uint64_t bytes;
};

struct ReaderResult {
  std::vector<ReadEvent> admitted;
  std::vector<uint64_t> throttled;  // times
  Status status;
};

void Reader(Engine& e, uint32_t shard, size_t limit, uint64_t end_ns, ReaderResult* out) {
  auto pos = e.GetPosition("limits", shard, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  if (!pos.ok()) {
    // GetPosition is not limited by the read buckets; a failure is real.
    out->status = pos.status();
    return;
  }
  ShardPosition at = *pos;
  while (SteadyNowNs() < end_ns) {
    auto r = e.GetRecords("limits", at, limit);
    const uint64_t t = SteadyNowNs();
    if (!r.ok()) {
      if (r.status().code() != Code::kThrottled) {
        out->status = r.status();
        return;
      }
      out->throttled.push_back(t);
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
      continue;
    }
    uint64_t bytes = 0;
    for (const ReadRecord& rec : r->records) bytes += rec.data.size() + rec.partition_key.size();
    out->admitted.push_back({t, bytes});
    if (r->next) at = *r->next;
  }
}

struct Window {
  uint64_t from, to;
  bool In(uint64_t t) const { return t >= from && t < to; }
  double Seconds() const { return static_cast<double>(to - from) / 1e9; }
};

void WritePoint(Point& p, const EngineLoadReport& r, const Window& w) {
  uint64_t bytes = 0, records = 0, throttled = 0;
  for (const CallEvent& e : r.events) {
    if (!w.In(e.start_ns)) continue;
    bytes += e.accepted_bytes;
    records += e.accepted;
    throttled += e.throttled;
  }
  p.Add("accepted_bytes_per_s", static_cast<double>(bytes) / w.Seconds(), "B/s");
  p.Add("accepted_records_per_s", static_cast<double>(records) / w.Seconds(), "records/s");
  p.Add("throttled_records", static_cast<double>(throttled), "records");
  p.Add("throttled_records_per_s", static_cast<double>(throttled) / w.Seconds(), "records/s");
}

void ReadPoint(Point& p, const ReaderResult& r, const Window& w) {
  std::vector<ReadEvent> in;
  for (const ReadEvent& e : r.admitted)
    if (w.In(e.t_ns)) in.push_back(e);
  uint64_t throttled = 0;
  for (uint64_t t : r.throttled) throttled += w.In(t);
  p.Add("throttled_calls", static_cast<double>(throttled), "calls");
  if (in.size() < 2) {
    p.notes.push_back("a repetition admitted fewer than 2 calls in the window: no rate");
    return;
  }
  uint64_t bytes = 0;
  for (size_t i = 0; i + 1 < in.size(); ++i) bytes += in[i].bytes;
  const double span = static_cast<double>(in.back().t_ns - in.front().t_ns) / 1e9;
  p.Add("admitted_bytes_per_s", static_cast<double>(bytes) / span, "B/s");
  p.Add("admitted_calls_per_s", static_cast<double>(in.size() - 1) / span, "calls/s");
  p.Add("admitted_calls", static_cast<double>(in.size()), "calls");
}

}  // namespace

void RunLimits(Context& ctx) {
  ctx.progress->BeginScenario("limits", 1);
  const double warm = ctx.budget.limits_warmup_seconds, window = ctx.budget.limits_window_seconds;
  Point& wb = ctx.results->NewPoint("limits", "limits/write/bytes_bound",
                                    "PutRecords overload with 64 KiB records (bytes limit binds)");
  Point& wr = ctx.results->NewPoint("limits", "limits/write/records_bound",
                                    "PutRecords overload with 100 B records (records limit binds)");
  Point& rb = ctx.results->NewPoint("limits", "limits/read/bytes_bound",
                                    "GetRecords overload, 1000 x 1 KiB per call (bytes limit binds)");
  Point& rc = ctx.results->NewPoint("limits", "limits/read/calls_bound",
                                    "GetRecords overload, 1 record per call (calls limit binds)");
  wb.params.Set("record_bytes", 65536);
  wb.params.Set("records_per_call", 16);
  wr.params.Set("record_bytes", 100);
  wr.params.Set("records_per_call", 500);
  rb.params.Set("record_bytes", 1024);
  rb.params.Set("limit_per_call", 1000);
  rc.params.Set("record_bytes", 1024);
  rc.params.Set("limit_per_call", 1);
  for (Point* p : {&wb, &wr, &rb, &rc}) {
    p->params.Set("kinesis_limits", true);
    p->params.Set("warmup_seconds", warm);
    p->params.Set("window_seconds", window);
    p->params.Set("key_bytes", 16);
    p->params.Set("retry_sleep_ms", 1);
  }
  const std::string dir = ctx.FreshDir("limits");
  const uint64_t fill = static_cast<uint64_t>((2.0 * 1048576 * (warm + window) + 8.0 * 1048576) * 1.25);
  {
    EngineOptions o;
    o.log.durability = Durability::kNone;
    o.sweep_interval_ms = 0;
    auto e = Engine::Open(dir, o);
    Status st = e.ok() ? (*e)->CreateStream("limits", 4) : e.status();
    for (int s : {2, 3}) {
      if (!st.ok()) break;
      EngineLoadConfig c;
      c.stream = "limits";
      c.producers = 1;
      c.target_keys = {KeyInShard(4, s)};
      c.record_bytes = 1024;
      c.records_per_call = 500;
      c.seconds = 0;
      c.max_bytes = fill;
      auto r = RunEngineLoad(**e, c);
      st = r.ok() ? Status::Ok() : r.status();
    }
    if (st.ok()) st = (*e)->Close();
    if (!st.ok()) {
      for (Point* p : {&wb, &wr, &rb, &rc}) p->error = "setup: " + st.ToString();
      ctx.results->AddError("limits", "limits/*", "setup: " + st.ToString());
      ctx.progress->EndScenario();
      return;
    }
  }
  Repeat(ctx, wb, 1, "4 shards at once", [&](int) -> Status {
    EngineOptions o;
    o.kinesis_limits = true;
    o.sweep_interval_ms = 0;
    SHOAL_ASSIGN_OR_RETURN(auto engine, Engine::Open(dir, o));
    const uint64_t t0 = SteadyNowNs();
    const Window w{t0 + static_cast<uint64_t>(warm * 1e9), t0 + static_cast<uint64_t>((warm + window) * 1e9)};
    ReaderResult r2, r3;
    std::thread reader2([&] { Reader(*engine, 2, 1000, w.to, &r2); });
    std::thread reader3([&] { Reader(*engine, 3, 1, w.to, &r3); });
    Result<EngineLoadReport> w1 = Status(Code::kInternal, "not run"), w0 = Status(Code::kInternal, "not run");
    std::thread writer1([&] {
      EngineLoadConfig c;
      c.stream = "limits";
      c.producers = 1;
      c.target_keys = {KeyInShard(4, 1)};
      c.record_bytes = 100;
      c.records_per_call = 500;
      c.seconds = warm + window;
      c.record_calls = true;
      w1 = RunEngineLoad(*engine, c);
    });
    {
      EngineLoadConfig c;
      c.stream = "limits";
      c.producers = 1;
      c.target_keys = {KeyInShard(4, 0)};
      c.record_bytes = 65536;
      c.records_per_call = 16;
      c.seconds = warm + window;
      c.record_calls = true;
      w0 = RunEngineLoad(*engine, c);
    }
    writer1.join();
    reader2.join();
    reader3.join();
    SHOAL_RETURN_IF_ERROR(w0.status());
    SHOAL_RETURN_IF_ERROR(w1.status());
    SHOAL_RETURN_IF_ERROR(r2.status);
    SHOAL_RETURN_IF_ERROR(r3.status);
    WritePoint(wb, *w0, w);
    WritePoint(wr, *w1, w);
    ReadPoint(rb, r2, w);
    ReadPoint(rc, r3, w);
    if (w0->failed + w1->failed > 0)
      return Status::Make(Code::kInternal, "{} records failed: {}", w0->failed + w1->failed,
                          w0->first_error.empty() ? w1->first_error : w0->first_error);
    return engine->Close();
  });
  for (Point* p : {&wr, &rb, &rc}) p->repetitions_planned = wb.repetitions_planned;
  for (Point* p : {&wb, &wr}) {
    p->AddRatio("x_kinesis_write_bytes_per_shard", "metrics.accepted_bytes_per_s",
                "references.kinesis_write_bytes_per_shard", 1, "accepted data+key bytes/s over 1 MiB/s");
    p->AddRatio("x_kinesis_write_records_per_shard", "metrics.accepted_records_per_s",
                "references.kinesis_write_records_per_shard", 1, "accepted records/s over 1000/s");
  }
  for (Point* p : {&rb, &rc}) {
    p->AddRatio("x_kinesis_read_bytes_per_shard", "metrics.admitted_bytes_per_s",
                "references.kinesis_read_bytes_per_shard", 1, "admitted bytes/s over 2 MiB/s");
    p->AddRatio("x_kinesis_read_calls_per_shard", "metrics.admitted_calls_per_s",
                "references.kinesis_read_calls_per_shard", 1, "admitted calls/s over 5/s");
  }
  RemoveTree(dir).IgnoreError();
  ctx.progress->EndScenario();
}

}  // namespace shoal::bench
