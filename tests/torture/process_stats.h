// ProcessStats: what a soak run watches of the process under test, from /proc/<pid>:
// resident memory (VmRSS of status), open file descriptors (entries of fd/) and memory
// mappings (lines of maps).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace shoal::torture {

struct ProcessSample {
  double t_s = 0;  // since the soak started
  uint64_t rss_kib = 0;       // VmRSS: includes file pages of mapped segments
  uint64_t rss_anon_kib = 0;  // RssAnon: heap and stacks only, what a leak grows
  uint64_t fds = 0;
  uint64_t maps = 0;
  uint64_t segments = 0;             // segment files in the data directory
  uint64_t maps_beyond_segments = 0; // maps - segments (0 if fewer)
};

// False if the process is gone (or /proc is unreadable). `data_dir`: count its segment
// files too ("" to skip).
bool SampleProcess(pid_t pid, const std::string& data_dir, ProcessSample* out);

// The bound a soak enforces on a series of samples: the mean of the last third may exceed
// the mean of the first third (after warm-up) by at most `factor` times plus `slack`.
// Steady load reaches a plateau (caches, pools and the retention window fill and then stay
// full), so a leak shows as a last third well above the first; the margin absorbs what
// legitimately varies with the moment of sampling (a reshard's extra open segments, a
// sweep's deferred deletions, allocator retention). Returns "" or why the series failed.
std::string CheckBounded(const std::vector<ProcessSample>& samples, const char* what, uint64_t ProcessSample::*field,
                         double factor, uint64_t slack);

}  // namespace shoal::torture
