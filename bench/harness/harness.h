// shoal-bench's shared machinery: the suite budgets (quick / default / full), the run
// context every scenario receives, the progress line, and file-system helpers the
// scenarios use as evidence (file snapshots, segment inspection, /proc counters).
#pragma once

#include <sys/types.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "bench/harness/results.h"
#include "io/status.h"

namespace shoal::bench {

enum class Suite { kQuick, kDefault, kFull };
std::string_view SuiteName(Suite s);

// Sizes and durations per suite. Every scenario reads its knobs from here, so the three
// suites differ in one place (results.json records the whole struct under run.budget).
struct Budget {
  // device
  uint64_t device_bytes;          // per write/read probe
  std::vector<uint64_t> fsync_chunks;  // write+fdatasync sizes (the first is the engine's flush size)
  double fsync_seconds;           // cap per write+fdatasync probe
  uint64_t memcpy_bytes;
  // append
  double append_seconds;          // per grid point and repetition
  bool append_full_grid;          // else the sampled default grid (see scenario_append.cc)
  bool append_tiny_grid;          // --quick: the smallest sample
  // read
  uint64_t read_bytes;            // written before each catch-up scan
  double tail_seconds;            // tail-following run
  // reshard
  std::vector<uint64_t> reshard_sizes;
  double reshard_load_seconds;    // per phase of the under-load run
  uint64_t update_count_shard_bytes;  // data per shard before UpdateShardCount 4->8->4
  // trim
  std::vector<int> trim_k;        // segments expiring at once
  int trim_passes;                // trim passes per k and repetition
  double trim_load_seconds;       // per phase of the under-load run
  // limits
  double limits_warmup_seconds;
  double limits_window_seconds;
  // recovery
  std::vector<uint64_t> recovery_sizes;
  uint64_t recovery_engine_shard_bytes;
  int recovery_engine_shards;
  // baseline
  uint64_t baseline_bytes;
  double baseline_seconds;
  // server (shoald over HTTP, bench/loadgen)
  double server_put_seconds;       // PutRecords phase (and the embedded run) per repetition
  double server_putrecord_seconds;  // each PutRecord phase (8 clients, then 1)
};
Budget BudgetFor(Suite s);
Json BudgetJson(const Budget& b);

// A line on stderr per long step: scenario, point i/n, repetition, elapsed and ETA.
class Progress {
 public:
  // Planned seconds per scenario, in run order (the ETA of later scenarios scales with
  // how far the finished ones ran over or under plan).
  void Plan(std::vector<std::pair<std::string, double>> plan);
  void BeginScenario(const std::string& name, int points);
  void Step(int point, const std::string& what, int rep = 0, int reps = 0);
  void Note(const std::string& text);
  void EndScenario();

 private:
  double Elapsed() const;
  std::vector<std::pair<std::string, double>> plan_;
  std::chrono::steady_clock::time_point start_ = std::chrono::steady_clock::now();
  std::chrono::steady_clock::time_point scenario_start_ = start_;
  std::string scenario_;
  int points_ = 0;
  double planned_done_ = 0, actual_done_ = 0;
};

struct Context {
  Suite suite = Suite::kDefault;
  Budget budget = BudgetFor(Suite::kDefault);
  int repeat = 3;
  std::string data_dir;  // the device under test; scenarios work in subdirectories
  std::string self_exe;  // for child processes (recovery)
  std::string shoald;    // the shoald binary the server scenario starts ("" = not found)
  Results* results = nullptr;
  Progress* progress = nullptr;

  // A fresh, empty directory data_dir/<name> (removed first if it exists).
  std::string FreshDir(const std::string& name) const;
  // Free bytes on the data directory's file system.
  uint64_t FreeBytes() const;
};

// Runs `body` for each repetition, records failures as the point's error and in the run's
// error list, and keeps going (a failed repetition leaves fewer samples, never a fake one).
void Repeat(Context& ctx, Point& point, int point_index, const std::string& label,
            const std::function<Status(int rep)>& body);

// --- helpers ---------------------------------------------------------------------------
uint64_t NowNs();
std::array<double, 3> LoadAverage();
// /proc/self/io fields (bytes); 0 if unreadable.
uint64_t ProcIoField(const std::string& field);
Status RemoveTree(const std::string& path);
Status SyncFileSystem(const std::string& path);  // syncfs(2) on the file system holding path
std::string HumanBytes(uint64_t n);
// Percentile of a sample vector (nearest rank), for per-pass figures.
double Percentile(std::vector<double> v, double q);

// One file as seen before/after an operation that must not touch it.
struct FileFact {
  std::string path;
  ino_t ino = 0;
  uint64_t size = 0;
  int64_t mtime_ns = 0;
  std::optional<uint32_t> crc;  // CRC32C of the whole file, when asked for
};
// Regular files under `dir` (recursive), by path. CRC32C of the files `want_crc` accepts.
Result<std::map<std::string, FileFact>> SnapshotTree(const std::string& dir,
                                                     const std::function<bool(const std::string&)>& want_crc);
// CRC32C of the first `len` bytes of `path`.
Result<uint32_t> FileCrc(const std::string& path, uint64_t len);

// Record-frame bytes in a segment file: frames walked from the segment header on, until
// a zero length or the file's end (headers only; no CRC check).
Result<uint64_t> SegmentFrameBytes(const std::string& path);

// The directory of each shard of stream `stream` (incarnation `uid`, from DescribeStream)
// in an engine data directory, by shard index: only the ones that exist.
std::map<uint32_t, std::string> ShardDirs(const std::string& engine_dir, const std::string& stream,
                                          uint64_t uid);

}  // namespace shoal::bench
