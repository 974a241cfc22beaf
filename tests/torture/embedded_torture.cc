// The embedded modes: the process under test is this binary re-executed with --child,
// running tests/testlib/engine_workload.h on a data directory and reporting every
// announcement and acknowledgement through a pipe (fd 3). The parent keeps what arrives,
// so an acknowledgement that reached the workload's producer is known here even if the
// child dies a microsecond later (the pipe buffer belongs to the kernel, not the child).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernel/engine.h"
#include "tests/testlib/engine_workload.h"
#include "tests/testlib/stream_reader.h"
#include "tests/testlib/stream_verifier.h"
#include "tests/testlib/torture_records.h"
#include "tests/torture/process_stats.h"
#include "tests/torture/torture.h"

namespace shoal::torture {

namespace {

using Clock_ = std::chrono::steady_clock;

double SecondsSince(Clock_::time_point t) { return std::chrono::duration<double>(Clock_::now() - t).count(); }

// Soak clock: 48 h (the longest retention the soak workload sets) pass in one real minute,
// so the retention window fills, and trimming runs continuously, within the warm-up.
constexpr double kSoakClockSpeed = 48.0 * 60;
// Soak load: fixed (see WorkloadParams), well inside what this 2-core machine sustains
// while others build: 2 x 750 records/s, a control operation every 50 ms.
constexpr double kSoakPutRate = 750;
constexpr int kSoakControlMs = 50;

struct Child {
  pid_t pid = -1;
  int acks = -1;  // read end of the ack pipe, non-blocking
};

Child SpawnChild(const TortureOptions& o, const std::string& data_dir, uint64_t cycle, Durability durability,
                 WriteMode write_mode, int64_t clock_offset_ms, bool soak) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {};
  std::vector<std::string> args = {o.self_exe, "--child", "--data-dir", data_dir, "--cycle", std::to_string(cycle),
                                   "--seed", std::to_string(o.seed), "--durability",
                                   std::string(DurabilityName(durability)), "--write-mode",
                                   std::string(WriteModeName(write_mode)), "--clock-offset-ms",
                                   std::to_string(clock_offset_ms), "--parent", std::to_string(::getpid())};
  if (soak)
    args.insert(args.end(), {"--soak", "--clock-speed", std::to_string(kSoakClockSpeed), "--put-rate",
                             std::to_string(kSoakPutRate), "--control-interval-ms", std::to_string(kSoakControlMs)});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid < 0) return {};
  if (pid == 0) {
    if (::dup2(p[1], 3) != 3) ::_exit(127);  // dup2 leaves fd 3 without O_CLOEXEC
    ::fexecve(o.self_fd, argv.data(), environ);
    ::_exit(127);
  }
  ::close(p[1]);
  ::fcntl(p[0], F_SETFL, O_NONBLOCK);
  return {pid, p[0]};
}

// Reads what the pipe holds now (or waits up to `wait_ms` for something). False at EOF.
bool Drain(int fd, AckDecoder& dec, std::vector<Ack>* out, int wait_ms, std::string* error) {
  pollfd pfd{fd, POLLIN, 0};
  if (::poll(&pfd, 1, wait_ms) <= 0) return true;
  char buf[1 << 16];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      if (!dec.Feed(std::string_view(buf, static_cast<size_t>(n)), out, error)) return false;
      continue;
    }
    if (n == 0) return false;
    return errno == EAGAIN || errno == EINTR;
  }
}

std::string DescribeExit(int status) {
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) return "signal " + std::to_string(WTERMSIG(status));
  return "status " + std::to_string(status);
}

// Reopens the engine as the killed child left it and checks everything; every other cycle
// also runs a retention sweep and checks again; after the clean close, the directories.
bool VerifyOnDisk(StreamVerifier& v, const std::string& data_dir, uint64_t cycle, Durability durability,
                  WriteMode write_mode, std::shared_ptr<Clock> clock) {
  auto opened = Engine::Open(data_dir, WorkloadEngineOptions(clock, durability, write_mode));
  if (!opened.ok()) {
    std::fprintf(stderr, "cycle %" PRIu64 ": Engine::Open after the kill: %s\n", cycle, opened.status().ToString().c_str());
    return false;
  }
  std::unique_ptr<Engine> e = std::move(opened).value();
  EngineStreamReader reader(*e);
  bool ok = v.Check(reader, cycle, e->clock().NowMs());
  if (ok && cycle % 2 == 1) {
    e->Tick();
    ok = v.Check(reader, cycle, e->clock().NowMs());
  }
  if (Status st = e->Close(); !st.ok()) {
    std::fprintf(stderr, "cycle %" PRIu64 ": Close: %s\n", cycle, st.ToString().c_str());
    ok = false;
  }
  e.reset();
  return ok && v.CheckDirectories(data_dir);
}

void PrintFailure(const std::string& m) { std::fprintf(stderr, "torture: FAILED: %s\n", m.c_str()); }

struct KillStats {
  uint64_t before_first_ack = 0;
  uint64_t in_op[6] = {};  // the last control intent without its done: split, merge, USC, retention, side, tick
  uint64_t in_puts = 0;    // otherwise: puts and reads only
};

void Accumulate(VerifyTotals& sum, const VerifyTotals& t) {
  sum.acks += t.acks;
  sum.puts_acked += t.puts_acked;
  sum.reads_folded += t.reads_folded;
  sum.lost += t.lost;
  sum.acked_verified += t.acked_verified;
  sum.acked_expired += t.acked_expired;
  sum.unacked_found += t.unacked_found;
  sum.records_read += t.records_read;
  sum.side_created += t.side_created;
  sum.side_deleted += t.side_deleted;
  sum.max_shards = std::max(sum.max_shards, t.max_shards);
  sum.side_max_shards = std::max(sum.side_max_shards, t.side_max_shards);
  sum.expired_parents += t.expired_parents;
  for (int i = 0; i < 6; ++i) sum.ops[i] += t.ops[i];
  sum.checks += t.checks;
}

}  // namespace

int RunEmbeddedTorture(const TortureOptions& o) {
  std::printf("torture embedded: seed %" PRIu64 ", %.1f minutes, up to %" PRIu64 " cycles, work dir %s\n", o.seed,
              o.minutes, o.max_cycles, o.work_dir.c_str());
  std::fflush(stdout);
  std::mt19937_64 rng(o.seed);
  const auto t0 = Clock_::now();
  VerifyTotals sum;
  KillStats ks;
  uint64_t cycle = 0, epoch = 0, unacked_present = 0, acked_last_epochs = 0;
  bool ok = true;
  while (ok) {
    ++epoch;
    const std::string data_dir = o.work_dir + "/data." + std::to_string(epoch);
    std::filesystem::remove_all(data_dir);
    StreamVerifier v(PrintFailure);
    // Odd epochs write with O_DIRECT (the default), even ones through the page cache.
    const WriteMode write_mode = epoch % 2 == 1 ? WriteMode::kDirect : WriteMode::kBuffered;
    uint64_t c = 0;
    if ((o.max_cycles && cycle >= o.max_cycles) || (o.minutes > 0 && SecondsSince(t0) > o.minutes * 60)) {
      --epoch;
      break;
    }
    for (; ok && c < o.epoch_cycles; ++c) {
      if ((o.max_cycles && cycle >= o.max_cycles) || (o.minutes > 0 && SecondsSince(t0) > o.minutes * 60)) break;
      ++cycle;
      // The cycle number inside an epoch names the records and shifts the clock 25 h.
      const uint64_t ec = c + 1;
      const Durability durability = ec % 3 == 0 ? Durability::kNone : Durability::kAlways;
      Child child = SpawnChild(o, data_dir, ec, durability, write_mode, static_cast<int64_t>(ec) * kCycleOffsetMs, false);
      if (child.pid < 0) {
        std::fprintf(stderr, "torture: cannot start the child: %s\n", std::strerror(errno));
        return 1;
      }
      std::vector<Ack> acks;
      AckDecoder dec;
      std::string error;
      // The kill: at a purely random moment (maybe during the child's recovery), or a
      // random time after its first acknowledgement.
      const bool early = rng() % 4 == 0;
      auto kill_at = Clock_::now() + std::chrono::milliseconds(early ? rng() % 400 : 30000);
      bool open = true, first_seen = false;
      while (open && Clock_::now() < kill_at) {
        open = Drain(child.acks, dec, &acks, 2, &error);
        if (!early && !first_seen && !acks.empty()) {
          first_seen = true;
          kill_at = Clock_::now() + std::chrono::milliseconds(50 + rng() % 1200);
        }
      }
      ::kill(child.pid, SIGKILL);
      int status = 0;
      ::waitpid(child.pid, &status, 0);
      while (open) open = Drain(child.acks, dec, &acks, 1000, &error);
      ::close(child.acks);
      if (!error.empty()) {
        std::fprintf(stderr, "cycle %" PRIu64 ": ack pipe: %s\n", cycle, error.c_str());
        ok = false;
        break;
      }
      if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
        std::fprintf(stderr, "cycle %" PRIu64 ": the child ended by itself (%s), see its message above\n", cycle,
                     DescribeExit(status).c_str());
        ok = false;
        break;
      }
      if (!dec.Finish()) {
        std::fprintf(stderr, "cycle %" PRIu64 ": the ack pipe ended inside an entry\n", cycle);
        ok = false;
        break;
      }
      bool classified = false;
      if (acks.empty()) ++ks.before_first_ack, classified = true;
      for (auto it = acks.rbegin(); !classified && it != acks.rend(); ++it) {
        if (it->type == kAckOpDone) break;
        if (it->type == kAckOpIntent) ++ks.in_op[OpKind(it->shard)], classified = true;
      }
      if (!classified) ++ks.in_puts;
      ok = v.Fold(acks) &&
           VerifyOnDisk(v, data_dir, ec, durability, write_mode, std::make_shared<ScaledClock>(static_cast<int64_t>(ec) * kCycleOffsetMs, 1.0));
      unacked_present += ok ? v.totals().unacked_found : 0;
      if (o.verbose)
        std::printf("cycle %" PRIu64 " (epoch %" PRIu64 "): %zu acks, %zu main records, %zu main shards, %.0f s\n", cycle,
                    epoch, acks.size(), v.main_records(), v.main_shards_known(), SecondsSince(t0));
      std::fflush(stdout);
    }
    // A clean close and reopen must see the same, twice (25 h later: this cycle's side
    // records expire, so they are no longer expected).
    if (ok && c > 0) {
      ok = v.Fold({}) && VerifyOnDisk(v, data_dir, c + 1, Durability::kAlways, write_mode,
                        std::make_shared<ScaledClock>(static_cast<int64_t>(c + 1) * kCycleOffsetMs, 1.0)) &&
           VerifyOnDisk(v, data_dir, c + 1, Durability::kAlways, write_mode,
                        std::make_shared<ScaledClock>(static_cast<int64_t>(c + 1) * kCycleOffsetMs, 1.0));
    }
    acked_last_epochs += v.main_acked();
    Accumulate(sum, v.totals());
    if (ok) std::filesystem::remove_all(data_dir);
    if (c < o.epoch_cycles) break;  // out of time or cycles
  }
  const double secs = SecondsSince(t0);
  std::printf("torture embedded: %s cycles=%" PRIu64 " epochs=%" PRIu64 " kills: before-first-ack=%" PRIu64
              " split=%" PRIu64 " merge=%" PRIu64 " update-shard-count=%" PRIu64 " retention=%" PRIu64
              " side-stream(create/put/reshard/delete)=%" PRIu64 " tick(trim)=%" PRIu64 " puts-only=%" PRIu64 "\n",
              ok ? "PASS" : "FAIL", cycle, epoch, ks.before_first_ack, ks.in_op[0], ks.in_op[1], ks.in_op[2], ks.in_op[3],
              ks.in_op[4], ks.in_op[5], ks.in_puts);
  std::printf("torture embedded: acked=%" PRIu64 " (records acknowledged, main+side) acked-checked=%" PRIu64
              " (acknowledged-or-read records found in place, summed over checks) distinct-main-acked-or-read=%" PRIu64
              " live-reads=%" PRIu64 " lost=%" PRIu64 " unacked-present=%" PRIu64 " records-read-by-verifier=%" PRIu64
              " side created/deleted=%" PRIu64 "/%" PRIu64 " max-main-shards=%zu control-ops: split=%" PRIu64
              " merge=%" PRIu64 " usc=%" PRIu64 " retention=%" PRIu64 " side=%" PRIu64 " tick=%" PRIu64 " %.0f s\n",
              sum.puts_acked, sum.acked_verified, acked_last_epochs, sum.reads_folded, sum.lost, unacked_present,
              sum.records_read, sum.side_created, sum.side_deleted, sum.max_shards, sum.ops[0], sum.ops[1], sum.ops[2],
              sum.ops[3], sum.ops[4], sum.ops[5], secs);
  return ok ? 0 : 1;
}

int RunEmbeddedSoak(const TortureOptions& o) {
  const double minutes = o.minutes > 0 ? o.minutes : 2;
  std::printf("torture embedded soak: seed %" PRIu64 ", %.1f minutes, clock x%.0f, work dir %s\n", o.seed, minutes,
              kSoakClockSpeed, o.work_dir.c_str());
  std::fflush(stdout);
  const std::string data_dir = o.work_dir + "/soak";
  std::filesystem::remove_all(data_dir);
  const auto t0 = Clock_::now();
  Child child = SpawnChild(o, data_dir, 1, Durability::kAlways, WriteMode::kDirect, 0, true);
  if (child.pid < 0) return 1;
  // The verifier keeps only announcements and control entries: a soak acknowledges far
  // more records than fit in memory, and its records expire anyway. It still checks, at
  // the end, the topology, the lineage read and that nothing unsent is stored.
  StreamVerifier v(PrintFailure, /*main_expiring=*/true);
  std::vector<ProcessSample> samples;
  uint64_t puts = 0, reads = 0;
  AckDecoder dec;
  std::string error;
  std::vector<Ack> acks, keep;
  bool open = true;
  auto next_sample = t0;
  while (open && SecondsSince(t0) < minutes * 60) {
    acks.clear();
    open = Drain(child.acks, dec, &acks, 20, &error);
    for (const Ack& a : acks) {
      if (a.type == kAckPut) ++puts;
      else if (a.type == kAckRead) ++reads;
      else keep.push_back(a);
    }
    if (Clock_::now() >= next_sample) {
      ProcessSample s;
      s.t_s = SecondsSince(t0);
      if (SampleProcess(child.pid, data_dir, &s)) samples.push_back(s);
      next_sample += std::chrono::seconds(1);
      if (o.verbose && samples.size() % 30 == 0)
        std::printf("soak %.0f s: rss %" PRIu64 " KiB, fds %" PRIu64 ", maps %" PRIu64 ", %" PRIu64 " puts, %" PRIu64
                    " reads\n", s.t_s, s.rss_kib, s.fds, s.maps, puts, reads);
      std::fflush(stdout);
    }
  }
  ::kill(child.pid, SIGKILL);
  int status = 0;
  ::waitpid(child.pid, &status, 0);
  while (open) {
    acks.clear();
    open = Drain(child.acks, dec, &acks, 1000, &error);
    for (const Ack& a : acks)
      if (a.type != kAckPut && a.type != kAckRead) keep.push_back(a);
  }
  ::close(child.acks);
  bool ok = true;
  if (!error.empty()) std::fprintf(stderr, "soak: ack pipe: %s\n", error.c_str()), ok = false;
  if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL))
    std::fprintf(stderr, "soak: the child ended by itself (%s)\n", DescribeExit(status).c_str()), ok = false;
  const double elapsed_ms = SecondsSince(t0) * 1000;
  if (ok) {
    ok = v.Fold(keep) &&
         VerifyOnDisk(v, data_dir, 1, Durability::kAlways, WriteMode::kDirect,
                      std::make_shared<ScaledClock>(static_cast<int64_t>(elapsed_ms * kSoakClockSpeed), 1.0));
  }
  // Warm-up: the first 20% (at least 90 s: the retention window fills in one minute of the
  // fast clock) is start-up, not steady state; the bound applies to the rest.
  std::vector<ProcessSample> steady;
  const double warm = std::max(90.0, minutes * 60 * 0.2);
  for (const auto& s : samples)
    if (s.t_s >= warm) steady.push_back(s);
  // Margins: RSS may grow 50% + 64 MiB (allocator arenas and page-cache-backed mappings
  // counted in RSS vary with what was read last); fds and maps 50% + 64 (a reshard opens
  // up to 10 shards' segments at once, a sweep defers deletions).
  std::string why;
  for (auto r : {CheckBounded(steady, "RSS (KiB)", &ProcessSample::rss_kib, 1.5, 64 << 10),
                 CheckBounded(steady, "anonymous RSS (KiB)", &ProcessSample::rss_anon_kib, 1.5, 64 << 10),
                 CheckBounded(steady, "open fds", &ProcessSample::fds, 1.5, 64),
                 CheckBounded(steady, "mappings", &ProcessSample::maps, 1.5, 64)})
    if (!r.empty()) std::fprintf(stderr, "soak: FAILED: %s\n", r.c_str()), ok = false;
  auto show = [&](const char* what, uint64_t ProcessSample::*f) {
    if (steady.size() < 6) return;
    const size_t third = steady.size() / 3;
    uint64_t lo = UINT64_MAX, hi = 0;
    double a = 0, b = 0;
    for (const auto& s : steady) lo = std::min(lo, s.*f), hi = std::max(hi, s.*f);
    for (size_t i = 0; i < third; ++i) a += static_cast<double>(steady[i].*f);
    for (size_t i = steady.size() - third; i < steady.size(); ++i) b += static_cast<double>(steady[i].*f);
    std::printf("torture embedded soak: %s first-third-mean=%.0f last-third-mean=%.0f min=%" PRIu64 " max=%" PRIu64
                " (first sample %" PRIu64 ", last %" PRIu64 ")\n",
                what, a / static_cast<double>(third), b / static_cast<double>(third), lo, hi, samples.front().*f,
                samples.back().*f);
  };
  show("rss_kib", &ProcessSample::rss_kib);
  show("rss_anon_kib", &ProcessSample::rss_anon_kib);
  show("fds", &ProcessSample::fds);
  show("maps", &ProcessSample::maps);
  show("segment_files", &ProcessSample::segments);
  const VerifyTotals& t = v.totals();
  std::printf("torture embedded soak: %s %.0f s, %zu samples (%zu after warm-up), puts-acked=%" PRIu64
              " live-reads=%" PRIu64 " final-check: %" PRIu64 " records read, %zu shards; control-ops: split=%" PRIu64
              " merge=%" PRIu64 " usc=%" PRIu64 " retention=%" PRIu64 " side=%" PRIu64 " tick=%" PRIu64 "\n",
              ok ? "PASS" : "FAIL", SecondsSince(t0), samples.size(), steady.size(), puts, reads, t.records_read,
              t.max_shards, t.ops[0], t.ops[1], t.ops[2], t.ops[3], t.ops[4], t.ops[5]);
  if (ok) std::filesystem::remove_all(data_dir);
  return ok ? 0 : 1;
}

void EmbeddedChildMain(int argc, char** argv) {
  CLI::App app{"shoal-torture child"};
  WorkloadParams p;
  std::string durability = "always", write_mode = "direct";
  int parent = 0;
  app.add_flag("--child");
  app.add_option("--data-dir", p.data_dir)->required();
  app.add_option("--cycle", p.cycle);
  app.add_option("--seed", p.seed);
  app.add_option("--durability", durability);
  app.add_option("--write-mode", write_mode);
  app.add_option("--clock-offset-ms", p.clock_offset_ms);
  app.add_option("--clock-speed", p.clock_speed);
  app.add_option("--parent", parent);
  app.add_flag("--soak", p.soak);
  app.add_option("--put-rate", p.put_rate_per_thread);
  app.add_option("--control-interval-ms", p.control_interval_ms);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    ::_exit(app.exit(e) == 0 ? kWorkloadFailed : kWorkloadFailed);
  }
  auto d = ParseDurability(durability);
  if (!d.ok()) ::_exit(kWorkloadFailed);
  p.durability = *d;
  auto m = ParseWriteMode(write_mode);
  if (!m.ok()) ::_exit(kWorkloadFailed);
  p.write_mode = *m;
  p.ack_fd = 3;
  p.parent = parent;
  RunEngineWorkload(p);
}

}  // namespace shoal::torture
