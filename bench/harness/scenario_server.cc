// Scenario "server": shoald over HTTP/1.1 on loopback, driven by the load generator
// (bench/loadgen), against the same PutRecords workload on an embedded Engine in the same
// repetition and on the same file system (issue 5, "Speed").
//
// Each repetition starts a fresh shoald (its defaults: durability always, O_DIRECT, 2 I/O
// and 32 handler threads) on a free port with a new data directory under the run's data
// directory, creates an 8-shard stream, and runs:
//   PutRecords  8 clients, keep-alive, 500 x 1 KiB records per call, closed loop;
//   GetRecords  everything that was acknowledged read back (TRIM_HORIZON, Limit 10000,
//               8 clients sharing the shards) and counted per shard; a mismatch fails the
//               repetition;
//   PutRecord   1 KiB records, 8 clients, then 1 client;
// then stops shoald (it must exit cleanly) and runs the embedded workload: 8 threads of
// Engine::PutRecords, 500 x 1 KiB, same shard count, durability and write mode.
#include <fmt/format.h>

#include "bench/harness/scenarios.h"
#include "bench/loadgen/loadgen_run.h"
#include "kernel/log_options.h"

namespace shoal::bench {
namespace {

constexpr int kShards = 8;
constexpr int kClients = 8;
constexpr int kPerCall = 500;
constexpr size_t kRecordBytes = 1024;
constexpr int kGetLimit = 10000;

const std::string kPutId = "server/put_records/shards=8/clients=8/records=500x1KiB";
const std::string kEmbeddedId = "server/embedded/shards=8/producers=8/records=500x1KiB";
const std::string kGetId = "server/get_records/shards=8/clients=8/limit=10000";

std::string PutRecordId(int clients) { return fmt::format("server/put_record/clients={}/record=1KiB", clients); }

void AddCalls(Point& p, const loadgen::PhaseReport& r) {
  p.Add("calls_per_s", r.CallsPerSecond(), "calls/s");
  p.Add("call_p50", r.latency.Quantile(0.5) / 1e3, "us");
  p.Add("call_p99", r.latency.Quantile(0.99) / 1e3, "us");
  p.Add("call_p999", r.latency.Quantile(0.999) / 1e3, "us");
  p.Add("client_cpu", r.client_cpu_s, "s");
  if (r.server_cpu_s >= 0) p.Add("server_cpu", r.server_cpu_s, "s");
  p.Add("seconds", r.seconds, "s");
}

void AddThroughput(Point& p, const loadgen::PhaseReport& r) {
  p.Add("throughput", r.MegabytesPerSecond(), "MB/s");
  p.Add("records_per_s", static_cast<double>(r.records) / r.seconds, "records/s");
  const double wire = static_cast<double>(r.request_bytes + r.response_bytes) / r.seconds / 1e6;
  p.Add("http_bytes_per_s", wire, "MB/s");
  AddCalls(p, r);
}

void Params(Point& p, const std::string& api, int clients) {
  p.params.Set("api", api);
  p.params.Set("shards", kShards);
  p.params.Set("clients", clients);
  p.params.Set("record_bytes", kRecordBytes);
  p.params.Set("key_bytes", 16);
  p.params.Set("transport", api == "Engine::PutRecords" ? "in-process" : "HTTP/1.1 keep-alive, loopback");
}

}  // namespace

void RunServer(Context& ctx) {
  ctx.progress->BeginScenario("server", 1);
  const std::string shoald = ctx.shoald;
  const LogOptions defaults;
  const std::string durability(DurabilityName(defaults.durability));
  const std::string write_mode(WriteModeName(defaults.write_mode));

  Point& put = ctx.results->NewPoint(
      "server", kPutId, "PutRecords over HTTP to shoald: 8 keep-alive clients, 500 x 1 KiB records per call, 8 shards");
  Point& emb = ctx.results->NewPoint(
      "server", kEmbeddedId, "the same workload on an embedded Engine: 8 threads of Engine::PutRecords, 500 x 1 KiB");
  Point& get = ctx.results->NewPoint(
      "server", kGetId, "GetRecords over HTTP: everything PutRecords acknowledged, read back from TRIM_HORIZON");
  Point& one8 = ctx.results->NewPoint("server", PutRecordId(8), "PutRecord over HTTP (one 1 KiB record per call), 8 clients");
  Point& one1 = ctx.results->NewPoint("server", PutRecordId(1), "PutRecord over HTTP (one 1 KiB record per call), 1 client");
  Params(put, "PutRecords", kClients);
  put.params.Set("records_per_call", kPerCall);
  Params(emb, "Engine::PutRecords", kClients);
  emb.params.Set("records_per_call", kPerCall);
  Params(get, "GetRecords", kClients);
  get.params.Set("limit", kGetLimit);
  Params(one8, "PutRecord", 8);
  Params(one1, "PutRecord", 1);
  for (Point* p : {&put, &emb, &get, &one8, &one1}) {
    p->params.Set("durability", durability);
    p->params.Set("write_mode", write_mode);
    p->params.Set("put_seconds", ctx.budget.server_put_seconds);
    p->repetitions_planned = ctx.repeat;
  }
  put.notes.push_back("shoald started by the load generator with its defaults (durability " + durability +
                      ": fdatasync before the ack, concurrent calls share one; write mode " + write_mode +
                      "); binary " + (shoald.empty() ? std::string("(not found)") : shoald));
  put.notes.push_back("throughput counts record data only (1 KiB per record; the 16-byte keys, base64 and JSON are "
                      "excluded), like the embedded point; http_bytes_per_s counts request + response bytes");
  put.notes.push_back("call latency: request sent to answer parsed, one call in flight per client; "
                      "client_cpu/server_cpu: CPU seconds of the load generator / shoald during the phase (2 cores "
                      "shared by both)");
  emb.notes.push_back("bench/lib RunEngineLoad in this process, right after the server phases of the same "
                      "repetition, on the same file system, with the same shard count, durability and write mode");
  get.notes.push_back("8 clients share the 8 shards; each call's records are checked (Data size, sequence order) "
                      "and counted; the repetition fails unless every acknowledged record was read back, per shard");
  get.notes.push_back("the data was written with O_DIRECT, so it is read from the device, not the page cache, "
                      "unless the write mode says buffered");
  put.AddRatio("x_embedded", "metrics.throughput", "points." + kEmbeddedId + ".metrics.throughput", 1,
               "server PutRecords MB/s over the embedded engine's MB/s (medians)");
  put.AddRatio("fraction_of_device_ceiling", "metrics.throughput", "references.device_ceiling", 1,
               "server PutRecords MB/s over the O_DIRECT 1 MiB QD16 write ceiling");
  put.AddRatio("x_kinesis_write_bytes_per_shard", "metrics.throughput", "references.kinesis_write_bytes_per_shard",
               kShards, "per-shard data MB/s over Kinesis's 1 MiB/s");
  emb.AddRatio("fraction_of_device_ceiling", "metrics.throughput", "references.device_ceiling", 1,
               "embedded MB/s over the O_DIRECT 1 MiB QD16 write ceiling");
  get.AddRatio("x_put_records", "metrics.throughput", "points." + kPutId + ".metrics.throughput", 1,
               "GetRecords MB/s over PutRecords MB/s (medians)");
  get.AddRatio("x_kinesis_read_bytes_per_shard", "metrics.throughput", "references.kinesis_read_bytes_per_shard",
               kShards, "per-shard data MB/s over Kinesis's 2 MiB/s");
  one8.AddRatio("x_one_client", "metrics.calls_per_s", "points." + PutRecordId(1) + ".metrics.calls_per_s", 1,
                "PutRecord calls/s with 8 clients over 1 client");

  for (int rep = 1; rep <= ctx.repeat; ++rep) {
    ctx.progress->Step(1, "shoald PutRecords/GetRecords/PutRecord + embedded", rep, ctx.repeat);
    loadgen::RunConfig c;
    c.shards = kShards;
    c.load.clients = kClients;
    c.load.records_per_call = kPerCall;
    c.load.record_bytes = kRecordBytes;
    c.load.get_limit = kGetLimit;
    c.load.put_seconds = ctx.budget.server_put_seconds;
    c.load.putrecord_seconds = ctx.budget.server_putrecord_seconds;
    c.load.putrecord_clients = {8, 1};
    c.shoald = shoald;
    c.work_dir = ctx.FreshDir("server");
    c.durability = durability;
    c.write_mode = write_mode;
    Result<loadgen::RunReport> r = shoald.empty()
                                       ? Result<loadgen::RunReport>(Status(Code::kNotFound,
                                             "shoald not found next to shoal-bench (build the shoald target or pass "
                                             "--shoald)"))
                                       : loadgen::RunOnce(c, [&](const std::string& s) { ctx.progress->Note(s); });
    RemoveTree(c.work_dir).IgnoreError();
    if (!r.ok()) {
      const std::string msg = fmt::format("repetition {}: {}", rep, r.status().ToString());
      for (Point* p : {&put, &emb, &get, &one8, &one1}) p->error = p->error.empty() ? msg : p->error + "; " + msg;
      ctx.results->AddError("server", "server/*", msg);  // every point of the scenario carries it
      ctx.progress->Note("FAILED " + msg);
      continue;
    }
    const loadgen::ServerLoadReport& s = r->server;
    if (r->durability != durability) put.notes.push_back("shoald reported durability " + r->durability);
    AddThroughput(put, s.put_records);
    put.Add("records_read_back", static_cast<double>(s.read_back.read), "records");
    put.Add("records_acknowledged", static_cast<double>(s.read_back.put), "records");
    AddThroughput(get, s.get_records);
    for (const loadgen::PhaseReport& p : s.put_record) {
      Point& pt = p.clients == 8 ? one8 : one1;
      pt.Add("records_per_s", static_cast<double>(p.records) / p.seconds, "records/s");
      AddCalls(pt, p);
    }
    if (r->embedded) {
      const EngineLoadReport& e = r->embedded->load;
      emb.Add("throughput", r->embedded->MegabytesPerSecond(), "MB/s");
      emb.Add("records_per_s", static_cast<double>(e.records) / e.seconds, "records/s");
      emb.Add("calls_per_s", static_cast<double>(e.calls) / e.seconds, "calls/s");
      emb.Add("call_p50", e.latency.Quantile(0.5) / 1e3, "us");
      emb.Add("call_p99", e.latency.Quantile(0.99) / 1e3, "us");
      emb.Add("call_p999", e.latency.Quantile(0.999) / 1e3, "us");
      emb.Add("cpu", r->embedded->client_cpu_s, "s");
      emb.Add("seconds", e.seconds, "s");
      put.Add("x_embedded_same_repetition",
              s.put_records.MegabytesPerSecond() / r->embedded->MegabytesPerSecond(), "x");
    }
  }
  ctx.progress->EndScenario();
}

}  // namespace shoal::bench
