// What the engine adds to a raw shard-log append (issue 3: routing + sequence assignment
// should cost no more than a few percent). Same thread, same records, same run:
//
//   SHOAL_BENCH_DIR=/tmp build/release/bench/engine_put_bench --benchmark_repetitions=5
//       --benchmark_report_aggregates_only=true   (one command line)
//
// BM_ShardLogAppend: ShardLog::Append of N records (1 KiB data, 16-byte keys), waiting for
// the acknowledgement. BM_EnginePutRecords: Engine::PutRecords of the same records into a
// one-shard stream: UTF-8 and size checks, MD5 routing, the append, and a result per record
// (shard and sequence-number fields; the strings are formatted by whoever wants them).
// Durability `none` isolates the CPU cost (no fdatasync to hide it); `always` is the
// default a user gets. Add --benchmark_enable_random_interleaving=true on a shared machine
// so both sides see the same background load.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "kernel/engine.h"
#include "kernel/shard_log.h"

namespace shoal::bench {
namespace {

std::string FreshDir(const std::string& leaf) {
  const char* d = std::getenv("SHOAL_BENCH_DIR");
  std::string dir = std::string(d && *d ? d : "/tmp") + "/shoal-bench-" + leaf;
  std::filesystem::remove_all(dir);
  return dir;
}

struct Records {
  explicit Records(size_t n) : keys(n), data(n, std::string(1024, 'x')) {
    for (size_t i = 0; i < n; ++i) keys[i] = "partition-" + std::to_string(100000 + i);
  }
  std::vector<std::string> keys;
  std::vector<std::string> data;
};

// Args: records per call, durability (0 none, 2 always).
void BM_ShardLogAppend(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Records recs(n);
  std::vector<RecordIn> in(n);
  for (size_t i = 0; i < n; ++i) in[i] = RecordIn{recs.keys[i], recs.data[i], 1700000000000};
  LogOptions o;
  o.durability = static_cast<Durability>(state.range(1));
  const std::string dir = FreshDir("engine-put-log");
  auto writer = LogWriter::Create();
  if (!writer.ok()) return state.SkipWithError(writer.status().ToString().c_str());
  auto log = ShardLog::Open(dir, o, *writer);
  if (!log.ok()) return state.SkipWithError(log.status().ToString().c_str());
  for (auto _ : state) {
    AppendResult r = (*log)->AppendSync(in);
    if (!r.status.ok()) return state.SkipWithError(r.status.ToString().c_str());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * 1024));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  (*log)->Close().IgnoreError();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_ShardLogAppend)->ArgNames({"records", "dur"})->ArgsProduct({{1, 500}, {0, 2}})->UseRealTime();

void BM_EnginePutRecords(benchmark::State& state) {
  const size_t n = static_cast<size_t>(state.range(0));
  Records recs(n);
  std::vector<PutInput> in(n);
  for (size_t i = 0; i < n; ++i) in[i] = PutInput{recs.keys[i], recs.data[i], std::nullopt};
  EngineOptions o;
  o.log.durability = static_cast<Durability>(state.range(1));
  o.sweep_interval_ms = 0;
  const std::string dir = FreshDir("engine-put-engine");
  auto engine = Engine::Open(dir, o);
  if (!engine.ok()) return state.SkipWithError(engine.status().ToString().c_str());
  if (Status st = (*engine)->CreateStream("s", 1); !st.ok()) return state.SkipWithError(st.ToString().c_str());
  for (auto _ : state) {
    Status stream;
    std::vector<PutOutput> out = (*engine)->PutRecords("s", in, &stream);
    if (!stream.ok() || !out.back().status.ok()) return state.SkipWithError("put failed");
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * n * 1024));
  state.SetItemsProcessed(static_cast<int64_t>(state.iterations() * n));
  (*engine)->Close().IgnoreError();
  std::filesystem::remove_all(dir);
}
BENCHMARK(BM_EnginePutRecords)->ArgNames({"records", "dur"})->ArgsProduct({{1, 500}, {0, 2}})->UseRealTime();

}  // namespace
}  // namespace shoal::bench

BENCHMARK_MAIN();
