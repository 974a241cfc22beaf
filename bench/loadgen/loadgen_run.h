// One load-generator run: the server figure and, for comparison, the same PutRecords
// workload straight into an embedded kernel Engine, both on the same file system.
//
//   1. start shoald (fresh data directory under work_dir, a free loopback port) unless an
//      endpoint is given; create the stream and wait for ACTIVE;
//   2. RunServerLoad (PutRecords, read-back by GetRecords, PutRecord);
//   3. delete the stream (endpoint) or stop shoald, which must exit cleanly (exit 0);
//   4. embedded: Engine::Open on a fresh directory under work_dir, same shard count, same
//      durability and write mode, and bench/lib's RunEngineLoad with the same clients,
//      records per call, record size and duration.
//
// Directories made here are removed when the run ends (also on failure).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "bench/lib/engine_workload.h"
#include "bench/loadgen/server_load.h"
#include "io/status.h"

namespace shoal::loadgen {

struct RunConfig {
  LoadConfig load;
  int shards = 8;
  std::string endpoint;                  // "" = start shoald
  std::string shoald;                    // its binary (when starting it)
  std::vector<std::string> shoald_args;  // extra arguments for shoald
  // Passed to shoald and used by the embedded engine alike; "" = LogOptions' default,
  // which is also shoald's (the run reports the value it used).
  std::string durability;
  std::string write_mode;
  std::string work_dir;                  // data directories go here (the device under test)
  bool embedded = true;
};

struct EmbeddedReport {
  bench::EngineLoadReport load;
  double client_cpu_s = 0;  // this process while it ran (the engine runs in it)
  double MegabytesPerSecond() const {
    return load.seconds > 0 ? static_cast<double>(load.data_bytes) / load.seconds / 1e6 : 0;
  }
};

struct RunReport {
  std::string endpoint;
  std::string ready_line;     // shoald's, when started here
  std::string durability;     // what the server acknowledged under
  std::string write_mode;
  ServerLoadReport server;
  std::optional<EmbeddedReport> embedded;
};

Result<RunReport> RunOnce(const RunConfig& config, const std::function<void(const std::string&)>& progress);

}  // namespace shoal::loadgen
