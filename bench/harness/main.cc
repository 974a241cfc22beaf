// shoal-bench: Shoal's benchmark harness (issue 4). Runs the scenarios against the data
// directory (the device under test), repeats each point, and writes results.json (schema:
// results/README.md). scripts/bench builds it, runs it with the micro-benchmarks and turns
// the JSON into report.md and plots (scripts/plot.py).
//
//   shoal-bench [--quick|--full] [--scenario device,append,...] [--repeat N]
//               [--data-dir DIR] [--out DIR] [--shoald PATH]
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/chrono.h>
#include <fmt/format.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <set>

#include "bench/harness/baseline_rocksdb.h"
#include "bench/harness/scenarios.h"
#include "bench/lib/device_probe.h"
#include "bench/loadgen/shoald_process.h"

#ifndef SHOAL_SOURCE_DIR
#define SHOAL_SOURCE_DIR ""
#endif

namespace shoal::bench {

const std::vector<ScenarioInfo>& Scenarios() {
  static const std::vector<ScenarioInfo> all = {
      {"device", RunDevice, "device ceiling: O_DIRECT write QD16, write+fdatasync, reads, memcpy"},
      {"append", RunAppend, "shards x record size x durability x producers; engine puts"},
      {"read", RunRead, "catch-up scans (warm/cold) and tail-following put->get latency"},
      {"reshard", RunReshard, "split/merge cost vs parent size, zero-copy check, under load, 4->8->4"},
      {"trim", RunTrim, "retention trim of k segments, files gone, append p99 with/without trim"},
      {"limits", RunLimits, "Kinesis-emulation limits under overload"},
      {"recovery", RunRecovery, "open after clean close vs after SIGKILL"},
      {"baseline", RunBaseline, "naive write+fdatasync, RocksDB WAL sync, vs Shoal"},
      {"server", RunServer, "shoald over HTTP (bench/loadgen): PutRecords, GetRecords, PutRecord vs embedded"},
  };
  return all;
}

double PlannedSeconds(const std::string& scenario, Suite suite, int repeat) {
  static const std::map<std::string, std::array<double, 3>> plan = {
      // quick (1 rep), default (3 reps), full (3 reps), on a busy 2-vCPU VM
      {"device", {3, 30, 90}},     {"append", {3, 60, 600}},   {"read", {5, 50, 150}},
      {"reshard", {5, 60, 240}},   {"trim", {3, 35, 150}},     {"limits", {2, 15, 40}},
      {"recovery", {4, 30, 150}},  {"baseline", {3, 25, 60}},   {"server", {6, 75, 130}},
  };
  auto it = plan.find(scenario);
  if (it == plan.end()) return 10;
  const int col = suite == Suite::kQuick ? 0 : suite == Suite::kDefault ? 1 : 2;
  const double base_reps = suite == Suite::kQuick ? 1 : 3;
  return it->second[static_cast<size_t>(col)] * repeat / base_reps;
}

namespace {

std::string RunCommand(const std::string& cmd) {
  std::string out;
  if (FILE* f = ::popen(cmd.c_str(), "r")) {
    char buf[256];
    while (std::fgets(buf, sizeof buf, f)) out += buf;
    ::pclose(f);
  }
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

std::string Hostname() {
  char buf[256] = {0};
  ::gethostname(buf, sizeof buf - 1);
  std::string h = buf;
  if (auto dot = h.find('.'); dot != std::string::npos) h.resize(dot);
  return h.empty() ? "unknown-host" : h;
}

std::string Iso8601Utc(std::time_t t) {
  std::tm tm;
  ::gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string LocalDate(std::time_t t) {
  std::tm tm;
  ::localtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

Json LoadJson() {
  auto a = LoadAverage();
  return Json(Json::Array{Json(a[0]), Json(a[1]), Json(a[2])});
}

std::string SelfExe() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string() : p.string();
}

}  // namespace
}  // namespace shoal::bench

int main(int argc, char** argv) {
  using namespace shoal::bench;
  if (argc >= 2 && std::string(argv[1]) == "__recovery-child") return RecoveryChildMain(argc, argv);

  CLI::App app{"shoal-bench: Shoal's benchmark harness (scenarios of issue 4). Writes <out>/results.json."};
  bool quick = false, full = false, list = false, keep_data = false;
  std::vector<std::string> scenarios;
  int repeat = -1;
  std::string data_dir, out_dir, git_commit, shoald;
  auto* q = app.add_flag("--quick", quick, "tiny sizes, 1 repetition: the whole suite in under a minute");
  auto* f = app.add_flag("--full", full, "the full grids and larger sizes (tens of minutes)");
  q->excludes(f);
  app.add_option("--scenario", scenarios, "scenarios to run, comma-separated (default: all)")->delimiter(',');
  app.add_option("--repeat", repeat, "repetitions per point (default 3; 1 with --quick)")->check(CLI::Range(1, 100));
  app.add_option("--data-dir", data_dir,
                 "directory on the device under test (default: $SHOAL_BENCH_DIR, else a new temp dir in /tmp)");
  app.add_option("--out", out_dir, "results folder (default results/<YYYY-MM-DD>-<hostname>)");
  app.add_option("--git-commit", git_commit, "commit to record (default: git rev-parse HEAD of the source tree)");
  app.add_option("--shoald", shoald,
                 "shoald binary for the server scenario (default: the build tree's, next to shoal-bench)");
  app.add_flag("--keep-data", keep_data, "keep the data directory's scratch files");
  app.add_flag("--list", list, "list the scenarios and exit");
  std::vector<uint64_t> reshard_mib;
  app.add_option("--reshard-mib", reshard_mib,
                 "parent sizes for the split/merge cost points, in MiB, comma-separated (e.g. 1,10240)")
      ->delimiter(',')
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 20));
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const ScenarioInfo& s : Scenarios()) fmt::print("{:10} {}\n", s.name, s.summary);
    return 0;
  }
  std::set<std::string> selected(scenarios.begin(), scenarios.end());
  for (const std::string& s : selected) {
    bool known = false;
    for (const ScenarioInfo& info : Scenarios()) known |= s == info.name;
    if (!known) {
      fmt::print(stderr, "shoal-bench: unknown scenario '{}' (see --list)\n", s);
      return 2;
    }
  }
  if (selected.empty())
    for (const ScenarioInfo& s : Scenarios()) selected.insert(s.name);

  Context ctx;
  ctx.suite = quick ? Suite::kQuick : full ? Suite::kFull : Suite::kDefault;
  ctx.budget = BudgetFor(ctx.suite);
  if (!reshard_mib.empty()) {
    ctx.budget.reshard_sizes.clear();
    for (uint64_t m : reshard_mib) ctx.budget.reshard_sizes.push_back(m << 20);
  }
  ctx.repeat = repeat > 0 ? repeat : (quick ? 1 : 3);
  ctx.self_exe = SelfExe();
  ctx.shoald = shoald.empty() ? shoal::loadgen::FindSiblingBinary("shoald") : shoald;

  // The data directory: flag, environment, or a fresh temp dir in /tmp (removed at the end).
  bool temp_dir = false;
  std::string root = data_dir;
  if (root.empty()) {
    const char* env = std::getenv("SHOAL_BENCH_DIR");
    root = env && *env ? env : "";
  }
  if (root.empty()) {
    char tmpl[] = "/tmp/shoal-bench-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      std::perror("shoal-bench: mkdtemp");
      return 1;
    }
    ctx.data_dir = tmpl;
    temp_dir = true;
  } else {
    ctx.data_dir = root + "/shoal-bench-" + std::to_string(::getpid());
    std::error_code ec;
    std::filesystem::create_directories(ctx.data_dir, ec);
    if (ec) {
      fmt::print(stderr, "shoal-bench: cannot create {}: {}\n", ctx.data_dir, ec.message());
      return 1;
    }
  }

  const std::time_t started = std::time(nullptr);
  if (out_dir.empty()) out_dir = "results/" + LocalDate(started) + "-" + Hostname();

  Results results;
  Progress progress;
  ctx.results = &results;
  ctx.progress = &progress;

  std::vector<std::string> order;
  for (const ScenarioInfo& s : Scenarios())
    if (selected.count(s.name)) order.push_back(s.name);
  std::vector<std::pair<std::string, double>> plan;
  if (!selected.count("device")) plan.emplace_back("device (references only)", 3);
  double planned_total = 0;
  for (const std::string& s : order) {
    plan.emplace_back(s, PlannedSeconds(s, ctx.suite, ctx.repeat));
    planned_total += plan.back().second;
  }
  progress.Plan(plan);

  Json& run = results.run;
  run.Set("suite", std::string(SuiteName(ctx.suite)));
  run.Set("repeat", ctx.repeat);
  run.Set("scenarios", Json::ArrayOf(order));
  run.Set("data_dir", ctx.data_dir);
  run.Set("data_dir_is_temporary", temp_dir);
  run.Set("out_dir", out_dir);
  run.Set("started_at", Iso8601Utc(started));
  std::string cmdline;
  for (int i = 0; i < argc; ++i) cmdline += (i ? " " : "") + std::string(argv[i]);
  run.Set("command_line", cmdline);
  run.Set("budget", BudgetJson(ctx.budget));
  run.Set("rocksdb_built", RocksDbAvailable());
  run.Set("shoald", ctx.shoald);
  run.Set("statistic", "each metric: value = median over repetitions, with min, max and every sample");

  Json& machine = results.machine;
  const MachineInfo facts = MachineFacts(ctx.data_dir);
  for (const auto& [k, v] : facts.Pairs()) machine.Set(k, v);
  machine.Set("hostname", Hostname());
  machine.Set("online_cpus", static_cast<int64_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
  machine.Set("load_average_start", LoadJson());
  machine.Set("free_bytes_at_start", ctx.FreeBytes());

  Json& git = results.git;
  if (git_commit.empty() && *SHOAL_SOURCE_DIR) {
    git_commit = RunCommand(fmt::format("git -C '{}' rev-parse HEAD 2>/dev/null", SHOAL_SOURCE_DIR));
    const std::string dirty =
        RunCommand(fmt::format("git -C '{}' status --porcelain --untracked-files=no 2>/dev/null | wc -l", SHOAL_SOURCE_DIR));
    if (!git_commit.empty()) git.Set("uncommitted_changes", dirty != "0");
  }
  git.Set("commit", git_commit.empty() ? "unknown" : git_commit);
  git.Set("source_dir", SHOAL_SOURCE_DIR);

  fmt::print(stderr, "[shoal-bench] suite {} x{} repetition(s), scenarios {}, data dir {} ({} on {}), planned ~{:.0f} s\n",
             SuiteName(ctx.suite), ctx.repeat, fmt::join(order, ","), ctx.data_dir, facts.fs_type,
             facts.mount_source, planned_total);

  AddKinesisReferences(results);
  if (!selected.count("device")) ReferenceProbes(ctx);
  for (const ScenarioInfo& s : Scenarios()) {
    if (!selected.count(s.name)) continue;
    try {
      s.run(ctx);
    } catch (const std::exception& e) {
      results.AddError(s.name, "", std::string("exception: ") + e.what());
      fmt::print(stderr, "[shoal-bench] scenario {} aborted: {}\n", s.name, e.what());
    }
  }

  const std::time_t finished = std::time(nullptr);
  run.Set("finished_at", Iso8601Utc(finished));
  run.Set("duration_s", static_cast<double>(finished - started));
  machine.Set("load_average_end", LoadJson());

  if (!keep_data) RemoveTree(ctx.data_dir).IgnoreError();

  std::error_code ec;
  std::filesystem::create_directories(out_dir, ec);
  const std::string path = out_dir + "/results.json";
  Json doc = results.ToJson();
  {
    std::ofstream out(path);
    out << doc.Dump();
    if (!out) {
      fmt::print(stderr, "shoal-bench: cannot write {}\n", path);
      return 1;
    }
  }
  const Json* errors = doc.Find("errors");
  const size_t nerr = errors ? errors->size() : 0;
  fmt::print(stderr, "[shoal-bench] wrote {} ({} points, {} error(s)) in {} s\n", path, results.points().size(), nerr,
             finished - started);
  return nerr == 0 ? 0 : 1;
}
