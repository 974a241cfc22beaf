// shoal-loadgen: a load generator for shoald (or any Kinesis endpoint) that also measures
// the same PutRecords workload on an embedded Engine, for the server/embedded ratio.
// bench/loadgen/README.md says how to run it; `shoal-loadgen --help` lists the options.
//
// Output: a table per run and the medians on stdout (progress on stderr); --json FILE
// writes every figure (schema "shoal-loadgen/1", described in the README). Exit status:
// 0 every run completed and read back every acknowledged record; 1 a run failed; 2 usage.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "bench/harness/json.h"
#include "bench/lib/device_probe.h"
#include "bench/loadgen/loadgen_run.h"
#include "bench/loadgen/shoald_process.h"

namespace shoal::loadgen {
namespace {

using bench::Json;

Json PhaseJson(const PhaseReport& p) {
  Json j = Json::MakeObject();
  j.Set("clients", p.clients);
  j.Set("calls", p.calls);
  j.Set("records", p.records);
  j.Set("data_bytes", p.data_bytes);
  j.Set("request_bytes", p.request_bytes);
  j.Set("response_bytes", p.response_bytes);
  j.Set("seconds", p.seconds);
  j.Set("data_mb_per_s", p.MegabytesPerSecond());
  j.Set("calls_per_s", p.CallsPerSecond());
  j.Set("records_per_s", p.seconds > 0 ? static_cast<double>(p.records) / p.seconds : 0.0);
  j.Set("call_p50_us", p.latency.Quantile(0.5) / 1e3);
  j.Set("call_p99_us", p.latency.Quantile(0.99) / 1e3);
  j.Set("call_p999_us", p.latency.Quantile(0.999) / 1e3);
  j.Set("client_cpu_s", p.client_cpu_s);
  j.Set("server_cpu_s", p.server_cpu_s < 0 ? Json() : Json(p.server_cpu_s));
  return j;
}

Json RunJson(int rep, const RunReport& r) {
  Json j = Json::MakeObject();
  j.Set("repetition", rep);
  j.Set("endpoint", r.endpoint);
  j.Set("shoald_ready_line", r.ready_line);
  j.Set("durability", r.durability);
  j.Set("write_mode", r.write_mode);
  j.Set("put_records", PhaseJson(r.server.put_records));
  j.Set("get_records", PhaseJson(r.server.get_records));
  Json singles = Json::MakeArray();
  for (const PhaseReport& p : r.server.put_record) singles.Push(PhaseJson(p));
  j.Set("put_record", std::move(singles));
  Json rb = Json::MakeObject();
  rb.Set("records_put", r.server.read_back.put);
  rb.Set("records_read", r.server.read_back.read);
  rb.Set("put_per_shard", Json::ArrayOf(r.server.read_back.put_per_shard));
  rb.Set("read_per_shard", Json::ArrayOf(r.server.read_back.read_per_shard));
  rb.Set("complete", r.server.read_back.complete());
  rb.Set("records_refused", r.server.failed_records);
  j.Set("read_back", std::move(rb));
  if (r.embedded) {
    const bench::EngineLoadReport& e = r.embedded->load;
    Json em = Json::MakeObject();
    em.Set("calls", e.calls);
    em.Set("records", e.records);
    em.Set("data_bytes", e.data_bytes);
    em.Set("seconds", e.seconds);
    em.Set("data_mb_per_s", r.embedded->MegabytesPerSecond());
    em.Set("call_p50_us", e.latency.Quantile(0.5) / 1e3);
    em.Set("call_p99_us", e.latency.Quantile(0.99) / 1e3);
    em.Set("cpu_s", r.embedded->client_cpu_s);
    j.Set("embedded", std::move(em));
    j.Set("server_over_embedded", r.embedded->MegabytesPerSecond() > 0
                                      ? r.server.put_records.MegabytesPerSecond() / r.embedded->MegabytesPerSecond()
                                      : 0.0);
  }
  j.Set("get_over_put", r.server.put_records.MegabytesPerSecond() > 0
                            ? r.server.get_records.MegabytesPerSecond() / r.server.put_records.MegabytesPerSecond()
                            : 0.0);
  return j;
}

double Median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

void PrintRun(int rep, const RunReport& r) {
  auto line = [](const std::string& what, const PhaseReport& p) {
    fmt::print("  {:<26} {:>9.1f} MB/s {:>9.0f} calls/s  p50 {:>9.0f} us  p99 {:>9.0f} us  cpu client {:.2f} s, server {:.2f} s\n",
               what, p.MegabytesPerSecond(), p.CallsPerSecond(), p.latency.Quantile(0.5) / 1e3,
               p.latency.Quantile(0.99) / 1e3, p.client_cpu_s, p.server_cpu_s);
  };
  fmt::print("run {}: {} (durability {}, write mode {})\n", rep, r.endpoint, r.durability, r.write_mode);
  line(fmt::format("PutRecords x{}", r.server.put_records.clients), r.server.put_records);
  line(fmt::format("GetRecords x{}", r.server.get_records.clients), r.server.get_records);
  for (const PhaseReport& p : r.server.put_record) line(fmt::format("PutRecord x{}", p.clients), p);
  if (r.embedded) {
    const auto& e = r.embedded->load;
    fmt::print("  {:<26} {:>9.1f} MB/s {:>9.0f} calls/s  p50 {:>9.0f} us  p99 {:>9.0f} us\n", "embedded Engine::PutRecords",
               r.embedded->MegabytesPerSecond(), static_cast<double>(e.calls) / e.seconds, e.latency.Quantile(0.5) / 1e3,
               e.latency.Quantile(0.99) / 1e3);
  }
  fmt::print("  read back {} of {} acknowledged records\n", r.server.read_back.read, r.server.read_back.put);
}

}  // namespace
}  // namespace shoal::loadgen

int main(int argc, char** argv) {
  using namespace shoal::loadgen;
  using shoal::bench::Json;
  RunConfig c;
  int repeat = 3;
  std::string json_path, data_dir;
  bool no_embedded = false, quiet = false;
  std::string put_bytes_text;
  CLI::App app{"shoal-loadgen: PutRecords / GetRecords / PutRecord load on shoald over keep-alive HTTP/1.1, "
               "and the same PutRecords workload on an embedded Engine for the ratio"};
  app.add_option("--shoald", c.shoald, "shoald binary to start (default: next to this program in the build tree)");
  app.add_option("--endpoint", c.endpoint, "use this server (http://HOST:PORT) instead of starting shoald");
  app.add_option("--shoald-arg", c.shoald_args, "extra argument for shoald (repeatable), e.g. --shoald-arg=--threads=3")
      ->allow_extra_args(false);
  app.add_option("--data-dir", data_dir,
                 "where data directories go: the device under test (default: $SHOAL_BENCH_DIR, else /tmp)");
  app.add_option("--durability", c.durability, "none | interval | always (default: shoald's, always)")
      ->check(CLI::IsMember({"none", "interval", "always"}));
  app.add_option("--write-mode", c.write_mode, "buffered | direct (default: shoald's, direct)")
      ->check(CLI::IsMember({"buffered", "direct"}));
  app.add_option("--shards", c.shards, "shards of the stream")->capture_default_str()->check(CLI::Range(1, 10000));
  app.add_option("--clients", c.load.clients, "concurrent clients (one connection each)")
      ->capture_default_str()
      ->check(CLI::Range(1, 1024));
  app.add_option("--record-bytes", c.load.record_bytes, "data bytes per record")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1} << 20));
  app.add_option("--records-per-call", c.load.records_per_call, "records per PutRecords")
      ->capture_default_str()
      ->check(CLI::Range(1, 500));
  app.add_option("--put-seconds", c.load.put_seconds, "PutRecords phase length (0: bounded by --put-bytes only)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--put-bytes", c.load.put_max_bytes, "stop PutRecords after this much data (0: no bound)")
      ->capture_default_str();
  app.add_option("--get-limit", c.load.get_limit, "Limit of each GetRecords")->capture_default_str()->check(CLI::Range(1, 10000));
  app.add_option("--putrecord-seconds", c.load.putrecord_seconds, "each PutRecord phase's length (0: skip)")
      ->capture_default_str()
      ->check(CLI::Range(0.0, 3600.0));
  app.add_option("--putrecord-clients", c.load.putrecord_clients, "client counts of the PutRecord phases")
      ->delimiter(',')
      ->capture_default_str();
  app.add_option("--repeat", repeat, "runs (each with a fresh server and data directory)")
      ->capture_default_str()
      ->check(CLI::Range(1, 100));
  app.add_flag("--no-embedded", no_embedded, "skip the embedded-engine run");
  app.add_flag("--verify-data", c.load.verify_data, "decode every record read back and check its bytes");
  app.add_option("--json", json_path, "write every figure to this file");
  app.add_flag("--quiet", quiet, "no progress lines on stderr");
  CLI11_PARSE(app, argc, argv);

  if (c.load.put_seconds <= 0 && c.load.put_max_bytes == 0) {
    fmt::print(stderr, "shoal-loadgen: --put-seconds 0 needs --put-bytes\n");
    return 2;
  }
  c.load.putrecord_clients.erase(std::remove(c.load.putrecord_clients.begin(), c.load.putrecord_clients.end(), 0),
                                 c.load.putrecord_clients.end());
  if (c.endpoint.empty() && c.shoald.empty()) c.shoald = FindSiblingBinary("shoald");
  if (c.endpoint.empty() && c.shoald.empty()) {
    fmt::print(stderr, "shoal-loadgen: no shoald next to this program; pass --shoald PATH or --endpoint URL\n");
    return 2;
  }
  if (data_dir.empty()) {
    const char* env = std::getenv("SHOAL_BENCH_DIR");
    data_dir = env && *env ? env : "/tmp";
  }
  std::string tmpl = data_dir + "/shoal-loadgen-XXXXXX";
  if (!::mkdtemp(tmpl.data())) {
    fmt::print(stderr, "shoal-loadgen: cannot create a directory in {}: {}\n", data_dir, std::strerror(errno));
    return 1;
  }
  c.work_dir = tmpl;
  c.embedded = !no_embedded && (c.endpoint.empty() || !data_dir.empty());
  c.load.stream = fmt::format("loadgen-{}", ::getpid());

  Json doc = Json::MakeObject();
  doc.Set("schema", "shoal-loadgen/1");
  Json cfg = Json::MakeObject();
  cfg.Set("endpoint", c.endpoint.empty() ? Json() : Json(c.endpoint));
  cfg.Set("shoald", c.shoald);
  cfg.Set("shoald_args", Json::ArrayOf(c.shoald_args));
  cfg.Set("work_dir", c.work_dir);
  cfg.Set("shards", c.shards);
  cfg.Set("clients", c.load.clients);
  cfg.Set("record_bytes", c.load.record_bytes);
  cfg.Set("records_per_call", c.load.records_per_call);
  cfg.Set("put_seconds", c.load.put_seconds);
  cfg.Set("put_max_bytes", c.load.put_max_bytes);
  cfg.Set("get_limit", c.load.get_limit);
  cfg.Set("putrecord_seconds", c.load.putrecord_seconds);
  cfg.Set("putrecord_clients", Json::ArrayOf(c.load.putrecord_clients));
  cfg.Set("verify_data", c.load.verify_data);
  cfg.Set("embedded", c.embedded);
  cfg.Set("repeat", repeat);
  doc.Set("config", std::move(cfg));
  Json machine = Json::MakeObject();
  for (const auto& [k, v] : shoal::bench::MachineFacts(c.work_dir).Pairs()) machine.Set(k, v);
  machine.Set("online_cpus", static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
  double load[3] = {0, 0, 0};
  if (::getloadavg(load, 3) == 3) machine.Set("load_average_start", Json(Json::Array{Json(load[0]), Json(load[1]), Json(load[2])}));
  doc.Set("machine", std::move(machine));

  auto progress = [&](const std::string& s) {
    if (!quiet) fmt::print(stderr, "[shoal-loadgen] {}\n", s);
  };
  Json runs = Json::MakeArray();
  Json errors = Json::MakeArray();
  std::vector<double> put, get, emb, ratio, pr8;
  int failed = 0;
  for (int rep = 1; rep <= repeat; ++rep) {
    progress(fmt::format("run {}/{}", rep, repeat));
    auto r = RunOnce(c, progress);
    if (!r.ok()) {
      ++failed;
      fmt::print(stderr, "shoal-loadgen: run {} failed: {}\n", rep, r.status().ToString());
      errors.Push(fmt::format("run {}: {}", rep, r.status().ToString()));
      continue;
    }
    PrintRun(rep, *r);
    runs.Push(RunJson(rep, *r));
    put.push_back(r->server.put_records.MegabytesPerSecond());
    get.push_back(r->server.get_records.MegabytesPerSecond());
    if (r->embedded) {
      emb.push_back(r->embedded->MegabytesPerSecond());
      ratio.push_back(r->server.put_records.MegabytesPerSecond() / r->embedded->MegabytesPerSecond());
    }
  }
  std::error_code ec;
  std::filesystem::remove_all(c.work_dir, ec);
  if (::getloadavg(load, 3) == 3)
    doc["machine"].Set("load_average_end", Json(Json::Array{Json(load[0]), Json(load[1]), Json(load[2])}));
  doc.Set("runs", std::move(runs));
  doc.Set("errors", std::move(errors));
  Json med = Json::MakeObject();
  med.Set("put_records_mb_per_s", Median(put));
  med.Set("get_records_mb_per_s", Median(get));
  if (!emb.empty()) {
    med.Set("embedded_mb_per_s", Median(emb));
    med.Set("server_over_embedded", Median(ratio));
  }
  doc.Set("medians", std::move(med));
  if (!put.empty()) {
    fmt::print("medians of {} run(s): PutRecords {:.1f} MB/s, GetRecords {:.1f} MB/s", put.size(), Median(put),
               Median(get));
    if (!emb.empty()) fmt::print(", embedded {:.1f} MB/s, server/embedded {:.3f}", Median(emb), Median(ratio));
    fmt::print("\n");
  }
  if (!json_path.empty()) {
    std::ofstream out(json_path);
    out << doc.Dump();
    if (!out) {
      fmt::print(stderr, "shoal-loadgen: cannot write {}\n", json_path);
      return 1;
    }
  }
  return failed == 0 ? 0 : 1;
}
