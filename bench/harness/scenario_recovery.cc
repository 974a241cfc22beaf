// Scenario "recovery": time to open a log of a given size after a clean shutdown and
// after a crash, for one shard log (ShardLog::Open) and for an engine (Engine::Open).
//
// The data is written by a child process (this binary, re-executed as
// `shoal-bench __recovery-child ...`), so the crash is real: the child appends with
// durability always until the size is reached, then either closes cleanly and exits, or
// starts more appends and SIGKILLs itself while they are in flight. The parent then times
// the open. "crash" opens with the page cache as the dead process left it (a process
// crash); "crash_cold" first drops the files from the page cache (fdatasync +
// FADV_DONTNEED, see bench/lib/page_cache.h), closer to a reboot.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <cstring>
#include <thread>

#include "bench/harness/scenarios.h"
#include "bench/lib/engine_workload.h"
#include "bench/lib/page_cache.h"
#include "kernel/engine.h"
#include "kernel/log_writer.h"
#include "kernel/shard_log.h"

extern char** environ;

namespace shoal::bench {
namespace {

constexpr size_t kRecord = 1024;
constexpr int kPerCall = 256;

// --- child ------------------------------------------------------------------------------

int ChildShardLog(const std::string& dir, uint64_t bytes, bool crash) {
  auto writer = LogWriter::Create();
  if (!writer.ok()) return 10;
  auto log = ShardLog::Open(dir + "/shard", LogOptions{}, *writer);
  if (!log.ok()) {
    fmt::print(stderr, "child: {}\n", log.status().ToString());
    return 11;
  }
  std::string data(kRecord, 'c');
  const std::string key = "recovery-key-000";
  std::vector<RecordIn> recs(kPerCall, RecordIn{key, data, 0});
  std::atomic<int64_t> inflight{0};
  std::atomic<bool> failed{false};
  uint64_t written = 0;
  auto issue = [&] {
    inflight.fetch_add(1);
    (*log)->Append(recs, [&](const AppendResult& r) {
      if (!r.status.ok()) failed.store(true);
      inflight.fetch_sub(1);
    });
    written += kPerCall * kRecord;
  };
  while (written < bytes) {
    while (inflight.load() >= 64) std::this_thread::yield();
    issue();
  }
  while (inflight.load() > 0) std::this_thread::yield();
  if (failed.load()) return 12;
  if (crash) {
    for (int i = 0; i < 32; ++i) issue();  // in flight when the process dies
    ::raise(SIGKILL);
  }
  if (!(*log)->Close().ok()) return 13;
  return 0;
}

int ChildEngine(const std::string& dir, uint64_t per_shard, int shards, bool crash) {
  EngineOptions o;
  o.sweep_interval_ms = 0;
  auto engine = Engine::Open(dir, o);
  if (!engine.ok()) return 20;
  if (!(*engine)->CreateStream("recovery", shards).ok()) return 21;
  EngineLoadConfig c;
  c.stream = "recovery";
  c.producers = shards;
  for (int s = 0; s < shards; ++s) c.target_keys.push_back(KeyInShard(shards, s));
  c.record_bytes = kRecord;
  c.records_per_call = kPerCall;
  c.seconds = 0;
  c.max_bytes = per_shard * static_cast<uint64_t>(shards);
  auto r = RunEngineLoad(**engine, c);
  if (!r.ok() || r->failed) return 22;
  if (crash) {
    c.max_bytes = 0;
    c.seconds = 10;
    std::thread more([&] { RunEngineLoad(**engine, c).status().IgnoreError(); });
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    ::raise(SIGKILL);
    more.join();
  }
  if (!(*engine)->Close().ok()) return 23;
  return 0;
}

// --- parent -----------------------------------------------------------------------------

Status RunChild(const Context& ctx, const std::vector<std::string>& args, bool crash) {
  std::vector<std::string> all = {ctx.self_exe, "__recovery-child"};
  all.insert(all.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& a : all) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (int rc = ::posix_spawn(&pid, ctx.self_exe.c_str(), nullptr, nullptr, argv.data(), environ); rc != 0)
    return Status::FromErrno(rc, "posix_spawn " + ctx.self_exe);
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid) return Status::FromErrno(errno, "waitpid");
  if (crash) {
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) return Status::Ok();
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    return Status::Ok();
  }
  return Status::Make(Code::kInternal, "recovery child ended unexpectedly (status {:#x})", status);
}

enum class Variant { kClean, kCrash, kCrashCold };
const char* VariantName(Variant v) {
  switch (v) {
    case Variant::kClean: return "clean";
    case Variant::kCrash: return "crash";
    case Variant::kCrashCold: return "crash_cold";
  }
  return "?";
}

void ShardLogPoint(Context& ctx, int index, uint64_t size, Variant v) {
  const std::string id = fmt::format("recovery/shard_log/size={}/{}", HumanBytes(size), VariantName(v));
  Point& p = ctx.results->NewPoint(
      "recovery", id, fmt::format("ShardLog::Open of a {} log after {}", HumanBytes(size),
                                  v == Variant::kClean ? "a clean Close()" : v == Variant::kCrash
                                                                                ? "SIGKILL (page cache warm)"
                                                                                : "SIGKILL, page cache dropped"));
  p.params.Set("path", "shard_log");
  p.params.Set("data_bytes", size);
  p.params.Set("variant", VariantName(v));
  p.params.Set("record_bytes", kRecord);
  p.params.Set("records_per_append", kPerCall);
  p.params.Set("segment_bytes", LogOptions{}.segment_bytes);
  Repeat(ctx, p, index, id.substr(9), [&](int) -> Status {
    const std::string dir = ctx.FreshDir("recovery");
    SHOAL_RETURN_IF_ERROR(RunChild(ctx, {"shard_log", VariantName(v), dir, std::to_string(size), "1"},
                                   v != Variant::kClean));
    if (v == Variant::kCrashCold) {
      SHOAL_RETURN_IF_ERROR(DropPageCache(dir));
      p.Add("resident_before_open", static_cast<double>(ResidentBytes(dir)), "B");
    }
    p.Add("file_bytes", static_cast<double>(TreeBytes(dir)), "B");
    SHOAL_ASSIGN_OR_RETURN(auto writer, LogWriter::Create());
    const uint64_t t0 = NowNs();
    SHOAL_ASSIGN_OR_RETURN(auto log, ShardLog::Open(dir + "/shard", LogOptions{}, writer));
    const uint64_t t1 = NowNs();
    const LogStats st = log->stats();
    p.Add("open_latency", static_cast<double>(t1 - t0) / 1e6, "ms");
    p.Add("records_recovered", static_cast<double>(log->end_offset()), "records");
    p.Add("truncated_bytes", static_cast<double>(st.recovered_truncated_bytes), "B");
    p.Add("recovered_clean", st.recovered_clean ? 1 : 0, "count");
    p.Add("segments", static_cast<double>(st.segments), "segments");
    SHOAL_RETURN_IF_ERROR(log->Close());
    log.reset();
    return RemoveTree(dir);
  });
  if (v != Variant::kClean)
    p.AddRatio("x_clean_open", "metrics.open_latency",
               fmt::format("points.recovery/shard_log/size={}/clean.metrics.open_latency", HumanBytes(size)), 1,
               "open after the crash over open after a clean shutdown");
}

void EnginePoint(Context& ctx, int index, Variant v) {
  const int shards = ctx.budget.recovery_engine_shards;
  const uint64_t per = ctx.budget.recovery_engine_shard_bytes;
  const std::string id = fmt::format("recovery/engine/shards={}/size={}/{}", shards, HumanBytes(per * shards),
                                     VariantName(v));
  Point& p = ctx.results->NewPoint("recovery", id,
                                   fmt::format("Engine::Open of {} shards x {} after {}", shards, HumanBytes(per),
                                               v == Variant::kClean ? "Engine::Close()" : "SIGKILL"));
  p.params.Set("path", "engine");
  p.params.Set("shards", shards);
  p.params.Set("shard_bytes", per);
  p.params.Set("variant", VariantName(v));
  Repeat(ctx, p, index, id.substr(9), [&](int) -> Status {
    const std::string dir = ctx.FreshDir("recovery-engine");
    SHOAL_RETURN_IF_ERROR(RunChild(ctx, {"engine", VariantName(v), dir, std::to_string(per), std::to_string(shards)},
                                   v != Variant::kClean));
    if (v == Variant::kCrashCold) {
      SHOAL_RETURN_IF_ERROR(DropPageCache(dir));
      p.Add("resident_before_open", static_cast<double>(ResidentBytes(dir)), "B");
    }
    p.Add("file_bytes", static_cast<double>(TreeBytes(dir)), "B");
    EngineOptions o;
    o.sweep_interval_ms = 0;
    const uint64_t t0 = NowNs();
    SHOAL_ASSIGN_OR_RETURN(auto engine, Engine::Open(dir, o));
    const uint64_t t1 = NowNs();
    p.Add("open_latency", static_cast<double>(t1 - t0) / 1e6, "ms");
    SHOAL_RETURN_IF_ERROR(engine->Close());
    engine.reset();
    return RemoveTree(dir);
  });
  if (v != Variant::kClean)
    p.AddRatio("x_clean_open", "metrics.open_latency",
               fmt::format("points.recovery/engine/shards={}/size={}/clean.metrics.open_latency", shards,
                           HumanBytes(per * shards)),
               1, "open after the crash over open after a clean shutdown");
}

}  // namespace

int RecoveryChildMain(int argc, char** argv) {
  // argv: exe __recovery-child <shard_log|engine> <clean|crash|crash_cold> <dir> <bytes> <shards>
  if (argc != 7) return 2;
  const std::string kind = argv[2], variant = argv[3], dir = argv[4];
  const uint64_t bytes = std::strtoull(argv[5], nullptr, 10);
  const int shards = std::atoi(argv[6]);
  const bool crash = variant != "clean";
  if (kind == "shard_log") return ChildShardLog(dir, bytes, crash);
  if (kind == "engine") return ChildEngine(dir, bytes, shards, crash);
  return 3;
}

void RunRecovery(Context& ctx) {
  const auto& sizes = ctx.budget.recovery_sizes;
  const bool quick = ctx.suite == Suite::kQuick;
  struct Item {
    uint64_t size;
    Variant v;
  };
  std::vector<Item> items;
  for (uint64_t s : sizes) {
    items.push_back({s, Variant::kClean});
    items.push_back({s, Variant::kCrash});
    if (!quick && (s == sizes.front() || ctx.suite == Suite::kFull)) items.push_back({s, Variant::kCrashCold});
  }
  const int n = static_cast<int>(items.size()) + (quick ? 2 : 3);
  ctx.progress->BeginScenario("recovery", n);
  int i = 0;
  for (const Item& it : items) {
    if (ctx.FreeBytes() < it.size * 2 + (1ull << 30)) {
      ctx.results->AddError("recovery", fmt::format("recovery/shard_log/size={}", HumanBytes(it.size)),
                            "skipped: not enough free space");
      ++i;
      continue;
    }
    ShardLogPoint(ctx, ++i, it.size, it.v);
  }
  EnginePoint(ctx, ++i, Variant::kClean);
  EnginePoint(ctx, ++i, Variant::kCrash);
  if (!quick) EnginePoint(ctx, ++i, Variant::kCrashCold);
  ctx.progress->EndScenario();
}

}  // namespace shoal::bench
