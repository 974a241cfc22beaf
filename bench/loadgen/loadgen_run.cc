#include "bench/loadgen/loadgen_run.h"

#include <unistd.h>

#include <filesystem>

#include "bench/loadgen/shoald_process.h"
#include "kernel/engine.h"
#include "kernel/log_options.h"

namespace shoal::loadgen {
namespace {

// Removes a directory tree when it goes out of scope.
class ScratchDir {
 public:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
    std::filesystem::create_directories(path_, ec);
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

Result<EmbeddedReport> RunEmbedded(const RunConfig& c, const LogOptions& log) {
  ScratchDir dir(c.work_dir + "/embedded");
  EngineOptions o;
  o.log = log;
  EmbeddedReport r;
  SHOAL_ASSIGN_OR_RETURN(auto engine, Engine::Open(dir.path(), o));
  SHOAL_RETURN_IF_ERROR(engine->CreateStream(c.load.stream, c.shards));
  bench::EngineLoadConfig lc;
  lc.stream = c.load.stream;
  lc.producers = c.load.clients;
  lc.record_bytes = c.load.record_bytes;
  lc.records_per_call = c.load.records_per_call;
  lc.seconds = c.load.put_seconds;
  lc.max_bytes = c.load.put_max_bytes;
  const double cpu0 = ProcessCpuSeconds();
  SHOAL_ASSIGN_OR_RETURN(r.load, bench::RunEngineLoad(*engine, lc));
  r.client_cpu_s = ProcessCpuSeconds() - cpu0;
  SHOAL_RETURN_IF_ERROR(engine->Close());
  if (r.load.failed > 0)
    return Status::Make(Code::kInternal, "embedded engine: {} records failed: {}", r.load.failed, r.load.first_error);
  return r;
}

}  // namespace

Result<RunReport> RunOnce(const RunConfig& c, const std::function<void(const std::string&)>& progress) {
  RunReport report;
  LogOptions log;
  if (!c.durability.empty()) {
    SHOAL_ASSIGN_OR_RETURN(log.durability, ParseDurability(c.durability));
  }
  if (!c.write_mode.empty()) {
    SHOAL_ASSIGN_OR_RETURN(log.write_mode, ParseWriteMode(c.write_mode));
  }
  report.write_mode = std::string(WriteModeName(log.write_mode));

  {
    std::unique_ptr<ShoaldProcess> shoald;
    std::optional<ScratchDir> server_dir;
    Endpoint ep;
    if (c.endpoint.empty()) {
      server_dir.emplace(c.work_dir + "/server");
      ShoaldOptions so;
      so.binary = c.shoald;
      so.data_dir = server_dir->path() + "/data";
      so.log_path = server_dir->path() + "/shoald.log";
      so.extra_args = {"--durability", std::string(DurabilityName(log.durability)), "--write-mode",
                       report.write_mode};
      so.extra_args.insert(so.extra_args.end(), c.shoald_args.begin(), c.shoald_args.end());
      SHOAL_ASSIGN_OR_RETURN(shoald, ShoaldProcess::Start(so));
      ep = shoald->endpoint();
      report.ready_line = shoald->ready_line();
      report.durability = shoald->durability();
      if (progress) progress(report.ready_line);
    } else {
      SHOAL_ASSIGN_OR_RETURN(ep, ParseEndpoint(c.endpoint));
      report.durability = "(the endpoint's)";
      report.write_mode = "(the endpoint's)";
    }
    report.endpoint = ep.ToString();
    {
      SHOAL_ASSIGN_OR_RETURN(auto control, KinesisClient::Connect(ep));
      SHOAL_RETURN_IF_ERROR(control->CreateStream(c.load.stream, c.shards));
      SHOAL_RETURN_IF_ERROR(control->WaitActive(c.load.stream, 60));
    }
    ShoaldProcess* proc = shoald.get();
    std::function<double()> server_cpu;
    if (proc) server_cpu = [proc] { return proc->CpuSeconds(); };
    auto server = RunServerLoad(ep, c.load, server_cpu, progress);
    if (!c.endpoint.empty()) {
      // Leave the endpoint as we found it (also after a failure).
      auto control = KinesisClient::Connect(ep);
      if (control.ok()) (*control)->DeleteStream(c.load.stream).IgnoreError();
    }
    SHOAL_RETURN_IF_ERROR(server.status());
    report.server = std::move(server).value();
    if (shoald) SHOAL_RETURN_IF_ERROR(shoald->Stop());
  }
  if (c.embedded) {
    if (progress)
      progress(fmt::format("embedded Engine::PutRecords: {} threads x {} records of {} B, durability {}, {}",
                           c.load.clients, c.load.records_per_call, c.load.record_bytes,
                           DurabilityName(log.durability), report.write_mode));
    SHOAL_ASSIGN_OR_RETURN(report.embedded, RunEmbedded(c, log));
  }
  return report;
}

}  // namespace shoal::loadgen
