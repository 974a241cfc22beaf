// shoal-torture: kill-and-recover and soak runs of the engine (embedded, in a child process)
// and of shoald (over HTTP), verified with tests/testlib/stream_verifier.h. See
// tests/torture/README.md for what each mode does and what it checks; scripts/torture runs it.
#pragma once

#include <cstdint>
#include <string>

namespace shoal::torture {

struct TortureOptions {
  double minutes = 0;          // stop starting cycles after this long (0: only max_cycles)
  uint64_t max_cycles = 0;     // stop after this many cycles (0: only minutes)
  uint64_t seed = 0;
  bool verbose = false;
  std::string work_dir;        // data directories and logs live here
  std::string self_exe;        // this binary, re-executed as the process under test
  std::string shoald;          // the server binary (server modes)
  // Both opened at start and run with fexecve(): a rebuild during a long run replaces the
  // files at those paths, and must not break (or change) the run.
  int self_fd = -1;
  int shoald_fd = -1;
  uint64_t epoch_cycles = 16;  // a fresh data directory after this many cycles (bounds each check)
};

// Each returns the process exit status: 0 if everything held.
int RunEmbeddedTorture(const TortureOptions& o);
int RunEmbeddedSoak(const TortureOptions& o);
int RunServerTorture(const TortureOptions& o);
int RunServerSoak(const TortureOptions& o);

// The process under test of the embedded modes (argv after "--child").
[[noreturn]] void EmbeddedChildMain(int argc, char** argv);

}  // namespace shoal::torture
