// ShoaldProcess: a shoald child started for one load-generator run, on a free loopback
// port (--port 0; the port is read from its ready line) and its own data directory.
//
// Owns the process: the destructor stops it (SIGTERM, then SIGKILL after a grace period)
// and reaps it, so an error path never leaves a server behind. Stop() is the clean way and
// reports how shoald exited (0 = it closed its engine cleanly). The child's stderr goes to
// `log_path`; errors quote its last lines.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "bench/loadgen/http_connection.h"
#include "io/status.h"
#include "io/unique_fd.h"

namespace shoal::loadgen {

struct ShoaldOptions {
  std::string binary;      // path to shoald
  std::string data_dir;    // passed as --data-dir
  std::string log_path;    // the child's stderr
  std::vector<std::string> extra_args;  // e.g. {"--durability", "always"}
  double ready_timeout_s = 30;
};

class ShoaldProcess {
 public:
  static Result<std::unique_ptr<ShoaldProcess>> Start(const ShoaldOptions& options);
  ~ShoaldProcess();
  ShoaldProcess(const ShoaldProcess&) = delete;
  ShoaldProcess& operator=(const ShoaldProcess&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }
  // The line shoald printed when it was ready ("shoald listening on ... durability X)").
  const std::string& ready_line() const { return ready_line_; }
  // The durability named in the ready line ("always", ...).
  const std::string& durability() const { return durability_; }
  pid_t pid() const { return pid_; }
  // User + system CPU seconds the process has used so far (from /proc/PID/stat).
  double CpuSeconds() const;
  // SIGTERM and wait (up to `timeout_s`, then SIGKILL). Fails unless shoald exited 0.
  Status Stop(double timeout_s = 60);

 private:
  ShoaldProcess() = default;
  std::string LogTail() const;
  pid_t pid_ = -1;
  io::UniqueFd stdout_;
  std::string log_path_;
  Endpoint endpoint_;
  std::string ready_line_;
  std::string durability_;
};

// `name` next to the running executable, or in the build tree's tools/ folder relative to
// it (build/X/bench/{harness,loadgen}/ -> build/X/tools/); "" if neither exists.
std::string FindSiblingBinary(const std::string& name);

}  // namespace shoal::loadgen
