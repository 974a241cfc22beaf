// Shard log append and read throughput (Google Benchmark).
//
//   SHOAL_BENCH_DIR=/mnt/nvme build/bench/shard_log_bench --benchmark_repetitions=3
//
// Each benchmark is one timed run of a workload (manual time); repeat with
// --benchmark_repetitions and read the median. Counters: MB/s of record data, records/s,
// acknowledgement latency percentiles, fsyncs and bytes per fsync.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "bench/lib/append_workload.h"
#include "bench/lib/device_probe.h"
#include "bench/lib/read_workload.h"

namespace shoal::bench {
namespace {

std::string BenchDirRoot() {
  const char* d = std::getenv("SHOAL_BENCH_DIR");
  return std::string(d && *d ? d : "/tmp");
}

std::string BenchDir(const std::string& leaf) {
  const char* d = std::getenv("SHOAL_BENCH_DIR");
  return std::string(d && *d ? d : "/tmp") + "/shoal-bench-" + leaf;
}

void Report(benchmark::State& state, const AppendReport& r) {
  state.SetIterationTime(r.seconds);
  state.SetBytesProcessed(static_cast<int64_t>(r.bytes));
  state.SetItemsProcessed(static_cast<int64_t>(r.records));
  state.counters["MBps"] = r.mb_per_s;
  state.counters["p50_us"] = r.p50_us;
  state.counters["p99_us"] = r.p99_us;
  state.counters["p999_us"] = r.p999_us;
  state.counters["fsyncs_per_s"] = static_cast<double>(r.fsyncs) / r.seconds;
  state.counters["MB_per_fsync"] = r.bytes_per_fsync / 1e6;
  state.counters["x_kinesis_1MiBps_per_shard"] =
      r.mb_per_s * 1e6 / static_cast<double>(1 << 20) / static_cast<double>(state.range(0));
}

// Args: shards, record bytes, durability (0 none, 1 interval, 2 always), write mode (0
// buffered, 1 direct), records per call.
void BM_Append(benchmark::State& state) {
  AppendConfig c;
  c.dir = BenchDir("append");
  c.shards = static_cast<int>(state.range(0));
  c.record_bytes = static_cast<size_t>(state.range(1));
  c.log.durability = static_cast<Durability>(state.range(2));
  c.log.write_mode = state.range(3) ? WriteMode::kDirect : WriteMode::kBuffered;
  c.records_per_call = static_cast<int>(state.range(4));
  c.producers = 2;
  c.total_bytes = 1ull << 30;
  c.max_seconds = 4;
  if (c.shards > 1) c.log.segment_bytes = 32ull << 20;  // keep disk use bounded
  for (auto _ : state) {
    auto r = RunAppendWorkload(c);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    Report(state, *r);
  }
}
BENCHMARK(BM_Append)
    ->ArgNames({"shards", "rec", "dur", "direct", "per_call"})
    ->ArgsProduct({{1}, {1024}, {0, 2}, {0, 1}, {1, 100}})
    ->Args({64, 1024, 2, 0, 100})
    ->Args({64, 1024, 2, 1, 100})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

// The references every append figure is divided by, measured in the same run: the device's
// O_DIRECT sequential write (1 MiB blocks, queue depth 16, io_uring) and a naive
// write()+fdatasync appender at 500 x 1 KiB per batch.
void BM_DeviceCeiling(benchmark::State& state) {
  for (auto _ : state) {
    DirectWriteOptions o;
    o.total_bytes = 1ull << 30;
    auto r = DirectWriteSeq(BenchDirRoot(), o);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(r->seconds);
    state.SetBytesProcessed(static_cast<int64_t>(r->bytes));
    state.counters["MBps"] = r->mb_per_s;
  }
}
BENCHMARK(BM_DeviceCeiling)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

void BM_NaiveAppender(benchmark::State& state) {
  for (auto _ : state) {
    NaiveAppenderOptions o;
    o.total_bytes = 512ull << 20;
    o.max_seconds = 4;
    auto r = NaiveAppender(BenchDirRoot(), o);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(r->seconds);
    state.SetBytesProcessed(static_cast<int64_t>(r->bytes));
    state.counters["MBps"] = r->mb_per_s;
  }
}
BENCHMARK(BM_NaiveAppender)->UseManualTime()->Iterations(1)->Unit(benchmark::kMillisecond);

// Catch-up read of a warm (page-cached) log through the mappings, CRCs verified.
void BM_ReadWarm(benchmark::State& state) {
  ReadConfig c;
  c.dir = BenchDir("read");
  c.record_bytes = static_cast<size_t>(state.range(0));
  c.verify_crc = state.range(1) != 0;
  c.total_bytes = 1ull << 30;
  for (auto _ : state) {
    auto r = RunReadWorkload(c);
    if (!r.ok()) {
      state.SkipWithError(r.status().ToString().c_str());
      return;
    }
    state.SetIterationTime(r->seconds);
    state.SetBytesProcessed(static_cast<int64_t>(r->bytes));
    state.SetItemsProcessed(static_cast<int64_t>(r->records));
    state.counters["MBps"] = r->mb_per_s;
    state.counters["memcpy_MBps"] = r->memcpy_mb_per_s;
    state.counters["x_memcpy"] = r->mb_per_s / r->memcpy_mb_per_s;
  }
}
BENCHMARK(BM_ReadWarm)
    ->ArgNames({"rec", "crc"})
    ->ArgsProduct({{1024, 65536}, {1}})
    ->Args({1024, 0})
    ->UseManualTime()
    ->Iterations(1)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace shoal::bench

BENCHMARK_MAIN();
