// device_bench: the device ceiling probes (bench/lib/device_probe.h) as Google Benchmark
// runs, so results land in the same JSON/console formats as every other micro-benchmark.
//
// Each benchmark runs its probe once per iteration (Iterations(1)); the probe's own timed
// part is the iteration time (UseManualTime), so setup such as pre-writing a file never
// counts. Repeat from the command line:
//   device_bench --benchmark_repetitions=3 --benchmark_report_aggregates_only=true
// Counters: bytes_per_second (binary units on the console, bytes/s in JSON), MB_per_s
// (decimal, as DESIGN.md's table), p50_us / p99_us per operation where meaningful, ops.
//
// Environment: SHOAL_BENCH_DIR is the device under test (default /tmp; a tmpfs directory
// gets a warning, see main); SHOAL_BENCH_MIB is the bytes per write/read
// probe (default 256, which keeps a 3-repetition run well under a minute on 2 vCPUs).
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <utility>

#include "bench/lib/device_probe.h"

namespace shoal::bench {
namespace {

using Probe = std::function<Result<ProbeResult>()>;

void RunProbe(benchmark::State& state, const Probe& probe) {
  uint64_t bytes = 0, ops = 0;
  double seconds = 0;
  ProbeResult last;
  for (auto _ : state) {
    Result<ProbeResult> r = probe();
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(r->seconds);
    bytes += r->bytes;
    ops += r->ops;
    seconds += r->seconds;
    last = std::move(r).value();
  }
  state.SetBytesProcessed(static_cast<int64_t>(bytes));
  state.counters["MB_per_s"] = seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0;
  state.counters["ops"] = static_cast<double>(ops);
  if (last.p50_us) state.counters["p50_us"] = *last.p50_us;
  if (last.p99_us) state.counters["p99_us"] = *last.p99_us;
  state.SetLabel(last.description);
}

void Register(const std::string& name, Probe probe) {
  benchmark::RegisterBenchmark(
      name.c_str(), [probe = std::move(probe)](benchmark::State& state) { RunProbe(state, probe); })
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

void RegisterAll(const std::string& dir, uint64_t budget) {
  // CPU-only figures first: they need no disk and are the divisor for in-memory paths.
  // 256 MiB working sets measure DRAM; the 1 MiB ones stay in L2, which is where a reused
  // per-shard append buffer lives. On these VMs the two differ by about 2x, so both are
  // reported rather than letting one stand for "memory bandwidth".
  Register("Memcpy/256MiB", [] { return MemcpyBandwidth({.buffer_bytes = 256 * kMiB}); });
  Register("Memcpy/1MiB",
           [] { return MemcpyBandwidth({.buffer_bytes = kMiB, .repetitions = 1024}); });
  Register("MmapRead/warm",
           [dir, budget] { return MmapReadBandwidth(dir, {.file_bytes = budget}); });
  Register("MmapRead/warm/1MiB",
           [dir] { return MmapReadBandwidth(dir, {.file_bytes = kMiB, .passes = 1024}); });
  Register("MmapRead/first_touch", [dir, budget] {
    return MmapReadBandwidth(dir, {.file_bytes = budget, .first_touch = true});
  });

  // THE ceiling: O_DIRECT, 1 MiB blocks, QD16, into a freshly created file.
  for (FileState fs : {FileState::kFresh, FileState::kFallocated, FileState::kPrewritten}) {
    Register(fmt::format("DirectWriteSeq/1MiB/qd16/{}", FileStateName(fs)), [dir, budget, fs] {
      return DirectWriteSeq(dir, {.total_bytes = budget, .file_state = fs});
    });
  }

  struct FsyncCase {
    size_t chunk;
    bool direct;
    FileState state;
    uint64_t bytes;
  };
  // Small chunks get a smaller budget: 4 KiB + fdatasync runs at ~30-60 MB/s. The 1 s cap
  // bounds a run on a busy machine, where each fdatasync can wait a 4 ms scheduler tick.
  const FsyncCase fsync_cases[] = {
      {kMiB, false, FileState::kFresh, budget},
      {kMiB, true, FileState::kFresh, budget},
      {64 * kKiB, false, FileState::kFresh, budget / 4},
      {64 * kKiB, false, FileState::kPrewritten, budget / 4},
      {4 * kKiB, false, FileState::kFresh, budget / 32},
      {4 * kKiB, false, FileState::kFallocated, budget / 32},
      {4 * kKiB, false, FileState::kPrewritten, budget / 32},
  };
  for (const FsyncCase& c : fsync_cases) {
    Register(fmt::format("WriteFsyncSeq/{}KiB/{}/{}", c.chunk / kKiB,
                         c.direct ? "direct" : "buffered", FileStateName(c.state)),
             [dir, c] {
               return WriteFsyncSeq(dir, {.chunk_bytes = c.chunk,
                                          .total_bytes = c.bytes,
                                          .direct = c.direct,
                                          .file_state = c.state,
                                          .max_seconds = 1.0});
             });
  }

  Register("NaiveAppender/500x1KiB", [dir, budget] {
    return NaiveAppender(
        dir,
        {.record_size = kKiB, .records_per_batch = 500, .total_bytes = budget, .max_seconds = 1.0});
  });

  Register("ReadSeq/1MiB/qd16/direct",
           [dir, budget] { return ReadSeq(dir, {.total_bytes = budget, .direct = true}); });
  Register("ReadSeq/1MiB/qd16/cached",
           [dir, budget] { return ReadSeq(dir, {.total_bytes = budget, .direct = false}); });
}

}  // namespace
}  // namespace shoal::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;

  const std::string dir = shoal::bench::EnvOr("SHOAL_BENCH_DIR", "/tmp");
  const uint64_t mib =
      std::strtoull(shoal::bench::EnvOr("SHOAL_BENCH_MIB", "256").c_str(), nullptr, 10);
  const uint64_t budget = (mib == 0 ? 256 : mib) * shoal::bench::kMiB;

  // What the numbers were measured on travels with them (console header and JSON context).
  benchmark::AddCustomContext("shoal_bench_dir", dir);
  benchmark::AddCustomContext("shoal_bench_mib", std::to_string(budget / shoal::bench::kMiB));
  const shoal::bench::MachineInfo facts = shoal::bench::MachineFacts(dir);
  for (const auto& [key, value] : facts.Pairs()) benchmark::AddCustomContext(key, value);
  // tmpfs accepts O_DIRECT since Linux 6.6, so a RAM directory would "pass" and report
  // memory speed as the device ceiling. Say so loudly instead of refusing: it is still a
  // useful upper bound for the code path itself.
  if (facts.fs_type == "tmpfs" || facts.fs_type == "ramfs") {
    const std::string warning = fmt::format(
        "{} is on {}: these are memory figures, not a device ceiling; set SHOAL_BENCH_DIR to "
        "a directory on the disk under test",
        dir, facts.fs_type);
    std::fprintf(stderr, "WARNING: %s\n", warning.c_str());
    benchmark::AddCustomContext("warning", warning);
  }

  shoal::bench::RegisterAll(dir, budget);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
