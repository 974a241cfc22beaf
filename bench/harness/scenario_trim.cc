// Scenario "trim": retention-trim latency when k segments expire at once, how long until
// their files are gone, and append latency while trimming against the same load without.
//
// Time is simulated, never waited for: the engine runs on a ManualClock (trim passes) or
// on a clock that runs 24 h per `window` of real time (under load), with the sweeper
// thread off (sweep_interval_ms = 0) and Engine::Tick() driving retention.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <set>
#include <thread>

#include "bench/harness/scenarios.h"
#include "bench/lib/engine_workload.h"
#include "io/unique_fd.h"
#include "kernel/clock.h"
#include "kernel/engine.h"
#include "kernel/format.h"

namespace shoal::bench {
namespace {

constexpr int64_t kDayMs = 24 * 3600 * 1000;

// A clock that runs `scale` times faster than real time (24 h of retention pass in
// 86400 / scale real seconds).
class ScaledClock final : public Clock {
 public:
  ScaledClock(int64_t start_ms, double scale) : start_ms_(start_ms), t0_(SteadyNowNs()), scale_(scale) {}
  int64_t NowMs() const override {
    return start_ms_ + static_cast<int64_t>(static_cast<double>(SteadyNowNs() - t0_) * scale_ / 1e6);
  }

 private:
  const int64_t start_ms_;
  const uint64_t t0_;
  const double scale_;
};

int64_t WallNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool SegmentHasFrames(const std::string& path) {
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return false;
  uint8_t hdr[4] = {0, 0, 0, 0};
  if (::pread(fd.get(), hdr, 4, format::kSegmentHeaderSize) != 4) return false;
  return format::Load32(hdr) != 0;
}

// Segment files (by ordinal) in one shard directory.
std::map<uint64_t, std::string> SegmentFiles(const std::string& dir) {
  std::map<uint64_t, std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(dir, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    uint64_t ord;
    if (format::ParseSegmentFileName(it->path().filename().string(), &ord)) out[ord] = it->path().string();
  }
  return out;
}

size_t CountSegments(const std::map<uint32_t, std::string>& dirs) {
  size_t n = 0;
  for (const auto& [i, d] : dirs) n += SegmentFiles(d).size();
  return n;
}

void TrimPasses(Context& ctx, int index, int k) {
  const int passes = ctx.budget.trim_passes;
  const uint64_t segment_bytes = 256 << 10;
  Point& p = ctx.results->NewPoint("trim", fmt::format("trim/pass/k={}", k),
                                   fmt::format("one retention pass (Engine::Tick) dropping {} expired segment(s)", k));
  p.params.Set("k_segments", k);
  p.params.Set("segment_bytes", segment_bytes);
  p.params.Set("passes_per_repetition", passes);
  p.params.Set("record_bytes", 1024);
  p.notes.push_back("per pass: fill until k sealed segments + the active one hold records, advance the "
                    "ManualClock by 24 h + 1 s, time Engine::Tick(), then poll until every dropped file is gone");
  p.notes.push_back("trim_pass_p50/p99 and files_gone_p50/p99 are percentiles over the passes of one "
                    "repetition (with few passes p99 is the maximum); median/min/max are over repetitions");
  Repeat(ctx, p, index, fmt::format("trim passes k={}", k), [&](int) -> Status {
    const std::string dir = ctx.FreshDir("trim");
    auto clock = std::make_shared<ManualClock>(WallNowMs());
    EngineOptions o;
    o.clock = clock;
    o.sweep_interval_ms = 0;
    o.log.durability = Durability::kNone;  // the fill is not what is measured
    o.log.segment_bytes = segment_bytes;
    o.log.staging_bytes = 64 << 10;
    SHOAL_ASSIGN_OR_RETURN(auto engine, Engine::Open(dir, o));
    SHOAL_RETURN_IF_ERROR(engine->CreateStream("trim", 1));
    SHOAL_ASSIGN_OR_RETURN(StreamDescription d, engine->DescribeStream("trim"));
    const std::string shard_dir = ShardDirs(dir, "trim", d.uid).at(0);
    std::string data(1024, 'r');
    std::vector<PutInput> batch(64, PutInput{"trim-key-0000000", data, std::nullopt});
    std::vector<double> pass_us, gone_us, dropped;
    std::set<std::string> nonempty;
    for (int pass = 0; pass < passes; ++pass) {
      for (int guard = 0;; ++guard) {
        Status st;
        auto out = engine->PutRecords("trim", batch, &st);
        SHOAL_RETURN_IF_ERROR(st);
        for (const PutOutput& r : out) SHOAL_RETURN_IF_ERROR(r.status);
        size_t with_data = 0;
        for (const auto& [ord, path] : SegmentFiles(shard_dir)) {
          if (!nonempty.count(path) && SegmentHasFrames(path)) nonempty.insert(path);
          with_data += nonempty.count(path);
        }
        if (with_data >= static_cast<size_t>(k) + 1) break;
        if (guard > 1000000) return Status(Code::kInternal, "segments never rolled");
      }
      // Every segment holding records except the newest (the active one) expires.
      std::vector<std::string> to_drop;
      auto files = SegmentFiles(shard_dir);
      for (const auto& [ord, path] : files)
        if (nonempty.count(path)) to_drop.push_back(path);
      if (!to_drop.empty()) to_drop.pop_back();
      clock->AdvanceMs(kDayMs + 1000);
      const uint64_t t0 = NowNs();
      engine->Tick();
      const uint64_t t1 = NowNs();
      for (;;) {
        bool any = false;
        for (const std::string& f : to_drop) {
          struct stat st;
          if (::stat(f.c_str(), &st) == 0) {
            any = true;
            break;
          }
        }
        if (!any) break;
        if (NowNs() - t0 > 10'000'000'000ull) return Status(Code::kInternal, "trimmed files still present after 10 s");
        std::this_thread::sleep_for(std::chrono::microseconds(20));
      }
      const uint64_t t2 = NowNs();
      for (const std::string& f : to_drop) nonempty.erase(f);
      pass_us.push_back(static_cast<double>(t1 - t0) / 1e3);
      gone_us.push_back(static_cast<double>(t2 - t0) / 1e3);
      dropped.push_back(static_cast<double>(to_drop.size()));
    }
    p.Add("trim_pass_p50", Percentile(pass_us, 0.5), "us");
    p.Add("trim_pass_p99", Percentile(pass_us, 0.99), "us");
    p.Add("files_gone_p50", Percentile(gone_us, 0.5), "us");
    p.Add("files_gone_p99", Percentile(gone_us, 0.99), "us");
    p.Add("segments_per_pass", MedianOf(dropped), "segments");
    SHOAL_RETURN_IF_ERROR(engine->Close());
    engine.reset();
    return RemoveTree(dir);
  });
}

struct PhaseResult {
  EngineLoadReport load;
  std::vector<std::pair<double, double>> passes;     // (t since start s, duration us)
  std::vector<std::pair<double, size_t>> seg_count;  // (t s, segment files)
  uint64_t t0_ns = 0;
};

Result<PhaseResult> LoadPhase(Context& ctx, bool trim, double window_s) {
  const std::string dir = ctx.FreshDir("trim-load");
  auto clock = std::make_shared<ScaledClock>(WallNowMs(), 86400.0 / window_s);
  EngineOptions o;
  o.clock = clock;
  o.sweep_interval_ms = 0;
  o.log.segment_bytes = 1 << 20;
  o.log.staging_bytes = 256 << 10;
  SHOAL_ASSIGN_OR_RETURN(auto engine, Engine::Open(dir, o));
  SHOAL_RETURN_IF_ERROR(engine->CreateStream("trim", 2));
  SHOAL_ASSIGN_OR_RETURN(StreamDescription d, engine->DescribeStream("trim"));
  const auto shard_dirs = ShardDirs(dir, "trim", d.uid);
  EngineLoadConfig c;
  c.stream = "trim";
  c.producers = 2;
  c.record_bytes = 1024;
  c.records_per_call = 100;
  c.seconds = std::min(1.0, ctx.budget.trim_load_seconds / 4);  // warm-up, not reported
  SHOAL_ASSIGN_OR_RETURN(EngineLoadReport warm, RunEngineLoad(*engine, c));
  (void)warm;
  PhaseResult r;
  r.t0_ns = NowNs();
  std::atomic<bool> stop{false};
  std::thread sampler([&] {
    while (!stop.load()) {
      r.seg_count.emplace_back(static_cast<double>(NowNs() - r.t0_ns) / 1e9, CountSegments(shard_dirs));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::thread trimmer([&] {
    while (trim && !stop.load()) {
      const uint64_t a = NowNs();
      engine->Tick();
      r.passes.emplace_back(static_cast<double>(a - r.t0_ns) / 1e9, static_cast<double>(NowNs() - a) / 1e3);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  c.seconds = ctx.budget.trim_load_seconds;
  c.record_calls = true;
  auto load = RunEngineLoad(*engine, c);
  stop.store(true);
  trimmer.join();
  sampler.join();
  if (!load.ok()) return load.status();
  r.load = std::move(load).value();
  SHOAL_RETURN_IF_ERROR(engine->Close());
  engine.reset();
  SHOAL_RETURN_IF_ERROR(RemoveTree(dir));
  return r;
}

Json Timeline(const PhaseResult& r, double window_s) {
  Json j = Json::MakeObject();
  Json windows = Json::MakeArray();
  const double end = r.load.seconds;
  for (double w = 0; w < end; w += window_s) {
    LatencyHistogram h;
    uint64_t calls = 0;
    for (const CallEvent& e : r.load.events) {
      const double t = static_cast<double>(e.start_ns - r.t0_ns) / 1e9;
      if (t >= w && t < w + window_s) {
        h.Record(e.end_ns - e.start_ns);
        ++calls;
      }
    }
    Json x = Json::MakeObject();
    x.Set("t_s", w);
    x.Set("calls", calls);
    x.Set("put_p50_us", h.Quantile(0.5) / 1e3);
    x.Set("put_p99_us", h.Quantile(0.99) / 1e3);
    windows.Push(std::move(x));
  }
  j.Set("windows", std::move(windows));
  Json segs = Json::MakeArray();
  for (const auto& [t, n] : r.seg_count) segs.Push(Json(Json::Array{Json(t), Json(static_cast<int64_t>(n))}));
  j.Set("segment_files", std::move(segs));
  Json passes = Json::MakeArray();
  for (const auto& [t, us] : r.passes) passes.Push(Json(Json::Array{Json(t), Json(us)}));
  j.Set("trim_passes", std::move(passes));
  return j;
}

void UnderLoad(Context& ctx, int index) {
  const double secs = ctx.budget.trim_load_seconds;
  const double window = std::max(0.15, secs / 3);
  Point& p = ctx.results->NewPoint("trim", "trim/under_load",
                                   "PutRecords latency with retention trimming (a pass every 20 ms) vs the same load without");
  p.params.Set("shards", 2);
  p.params.Set("producers", 2);
  p.params.Set("record_bytes", 1024);
  p.params.Set("records_per_call", 100);
  p.params.Set("segment_bytes", 1 << 20);
  p.params.Set("seconds_per_phase", secs);
  p.params.Set("retention_real_seconds", window);
  p.params.Set("tick_period_ms", 20);
  p.notes.push_back(fmt::format("the engine clock runs 24 h per {:.2f} s of real time, so records expire {:.2f} s "
                                "after they were put; a thread calls Engine::Tick() 20 ms after the previous "
                                "pass returned (with) or does nothing (without); another counts segment files every 20 ms; each phase starts from an empty directory and an "
                                "unreported warm-up of min(1 s, phase/4)",
                                window, window));
  Repeat(ctx, p, index, "trim under load", [&](int rep) -> Status {
    SHOAL_ASSIGN_OR_RETURN(PhaseResult without, LoadPhase(ctx, false, window));
    SHOAL_ASSIGN_OR_RETURN(PhaseResult with, LoadPhase(ctx, true, window));
    p.Add("put_p50_without_trim", without.load.latency.Quantile(0.5) / 1e3, "us");
    p.Add("put_p99_without_trim", without.load.latency.Quantile(0.99) / 1e3, "us");
    p.Add("put_p999_without_trim", without.load.latency.Quantile(0.999) / 1e3, "us");
    p.Add("put_p50_with_trim", with.load.latency.Quantile(0.5) / 1e3, "us");
    p.Add("put_p99_with_trim", with.load.latency.Quantile(0.99) / 1e3, "us");
    p.Add("put_p999_with_trim", with.load.latency.Quantile(0.999) / 1e3, "us");
    p.Add("throughput_without_trim", static_cast<double>(without.load.data_bytes) / without.load.seconds / 1e6, "MB/s");
    p.Add("throughput_with_trim", static_cast<double>(with.load.data_bytes) / with.load.seconds / 1e6, "MB/s");
    std::vector<double> pass_us;
    for (const auto& [t, us] : with.passes) pass_us.push_back(us);
    p.Add("trim_passes", static_cast<double>(pass_us.size()), "count");
    p.Add("trim_pass_p50_under_load", Percentile(pass_us, 0.5), "us");
    p.Add("trim_pass_p99_under_load", Percentile(pass_us, 0.99), "us");
    if (!without.seg_count.empty()) p.Add("segment_files_at_end_without_trim", static_cast<double>(without.seg_count.back().second), "files");
    if (!with.seg_count.empty()) p.Add("segment_files_at_end_with_trim", static_cast<double>(with.seg_count.back().second), "files");
    if (rep == 1) {
      Json t = Json::MakeObject();
      t.Set("window_s", 0.1);
      t.Set("without_trim", Timeline(without, 0.1));
      t.Set("with_trim", Timeline(with, 0.1));
      p.extra.Set("timeline", std::move(t));
    }
    return Status::Ok();
  });
  p.AddRatio("put_p99_with_over_without_trim", "metrics.put_p99_with_trim", "metrics.put_p99_without_trim");
  p.AddRatio("throughput_with_over_without_trim", "metrics.throughput_with_trim", "metrics.throughput_without_trim");
}

}  // namespace

void RunTrim(Context& ctx) {
  const auto& ks = ctx.budget.trim_k;
  const int n = static_cast<int>(ks.size()) + 1;
  ctx.progress->BeginScenario("trim", n);
  int i = 0;
  for (int k : ks) TrimPasses(ctx, ++i, k);
  UnderLoad(ctx, ++i);
  ctx.progress->EndScenario();
}

}  // namespace shoal::bench
