// Engine crash test: a child process runs the torture workload on a data directory
// (tests/testlib/engine_workload.h: PutRecords from two threads, a live lineage consumer,
// splits, merges, UpdateShardCount, retention changes, create / reshard / delete of a side
// stream and retention sweeps), recording every announcement and acknowledgement in an ack
// file; the parent SIGKILLs it at a random moment, reopens the Engine and verifies with
// tests/testlib/stream_verifier.h (topology, every acknowledged record exactly once in
// place and byte for byte, nothing never sent, a lineage consumer reads everything exactly
// once, the side stream's incarnations), then after a clean close that the data directory
// holds no leftovers. The next cycle continues on the same directory. (shoal-torture runs
// the same workload and verifier for minutes at a time; this is the bounded gtest.)
//
// Process layout: the parent is single-threaded whenever it forks (its verifying Engine
// is closed and destroyed, joining every thread, before the next fork). The child never
// returns into gtest: it is SIGKILLed, or _exit()s with kWorkloadFailed after printing why.
//
// Environment:
//   SHOAL_ENGINE_CRASH_CYCLES   cycles (default 14, at least 10)
//   SHOAL_ENGINE_CRASH_SEED     base seed (default: random; always printed)
//   SHOAL_ENGINE_CRASH_VERBOSE  1: one line per cycle
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "kernel/engine.h"
#include "tests/testlib/engine_workload.h"
#include "tests/testlib/stream_reader.h"
#include "tests/testlib/stream_verifier.h"
#include "tests/testlib/temp_dir.h"
#include "tests/testlib/torture_records.h"

namespace shoal {
namespace {

using namespace torture;

int ThreadCount() {
  FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return -1;
  char line[256];
  int n = -1;
  while (std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "Threads: %d", &n) == 1) break;
  std::fclose(f);
  return n;
}

uint64_t EnvU64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  return std::strtoull(v, nullptr, 0);
}

struct KillStats {
  int killed_before_first_ack = 0;
  int killed_in_reshard = 0;  // split, merge or UpdateShardCount in progress (or about to)
  int killed_in_side_op = 0;
};

// Reopens the engine as the crashed child left it and runs the verifier; every other
// cycle also lets the sweeper run (expiring side shards) and checks again.
bool VerifyCycle(StreamVerifier& v, const std::string& data_dir, uint64_t cycle, Durability durability,
                 const std::vector<Ack>& acks) {
  if (!v.Fold(acks)) return false;
  auto clock = std::make_shared<ScaledClock>(static_cast<int64_t>(cycle) * kCycleOffsetMs, 1.0);
  auto opened = Engine::Open(data_dir, WorkloadEngineOptions(clock, durability));
  if (!opened.ok()) {
    ADD_FAILURE() << "cycle " << cycle << ": Engine::Open after the crash: " << opened.status();
    return false;
  }
  std::unique_ptr<Engine> e = std::move(opened).value();
  EngineStreamReader reader(*e);
  bool ok = v.Check(reader, cycle, e->clock().NowMs());
  if (ok && cycle % 2 == 1) {
    e->Tick();
    ok = v.Check(reader, cycle, e->clock().NowMs());
  }
  Status closed = e->Close();
  if (!closed.ok()) {
    ADD_FAILURE() << "cycle " << cycle << ": Close: " << closed;
    ok = false;
  }
  e.reset();
  return ok && v.CheckDirectories(data_dir);
}

TEST(EngineCrashTest, KillAndRecover) {
  const uint64_t cycles = std::max<uint64_t>(10, EnvU64("SHOAL_ENGINE_CRASH_CYCLES", 14));
  const uint64_t seed = EnvU64("SHOAL_ENGINE_CRASH_SEED", std::random_device{}() | (uint64_t{std::random_device{}()} << 32));
  const bool verbose = EnvU64("SHOAL_ENGINE_CRASH_VERBOSE", 0) != 0;
  std::printf("engine crash test: seed %" PRIu64 " (SHOAL_ENGINE_CRASH_SEED), %" PRIu64 " cycles\n", seed, cycles);
  std::fflush(stdout);
  testing::TempDir dir;
  const std::string data_dir = dir.Sub("data");
  StreamVerifier v([](const std::string& m) { ADD_FAILURE() << m; });
  KillStats ks;
  int done_cycles = 0;
  std::mt19937_64 rng(seed);
  const auto t_start = std::chrono::steady_clock::now();
  for (uint64_t c = 1; c <= cycles && v.failures() == 0; ++c) {
    const std::string ack_path = dir.Sub("ack." + std::to_string(c));
    const Durability durability = c % 3 == 0 ? Durability::kNone : Durability::kAlways;
    // fork() copies only this thread: the verifying Engine of the previous cycle must have
    // joined all of its threads when it was closed and destroyed.
    ASSERT_EQ(ThreadCount(), 1) << "threads left running before fork (after Engine::Close and destruction)";
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) {
      WorkloadParams p;
      p.data_dir = data_dir;
      p.ack_fd = ::open(ack_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
      if (p.ack_fd < 0) ::_exit(kWorkloadFailed);
      p.cycle = c;
      p.seed = seed;
      p.durability = durability;
      p.clock_offset_ms = static_cast<int64_t>(c) * kCycleOffsetMs;
      p.parent = parent;
      RunEngineWorkload(p);
    }
    // The kill: at a purely random moment (maybe during the child's recovery), or a
    // random time after the child's first acknowledgement.
    const bool early = rng() % 4 == 0;
    if (early) {
      std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 400));
    } else {
      struct stat st;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while ((::stat(ack_path.c_str(), &st) != 0 || st.st_size < static_cast<off_t>(sizeof(Ack))) &&
             std::chrono::steady_clock::now() < deadline) {
        int status;
        if (::waitpid(pid, &status, WNOHANG) == pid) {
          ADD_FAILURE() << "cycle " << c << ": the child exited on its own (status " << status << "), see stderr";
          return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50 + rng() % 1200));
    }
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (!(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)) {
      ADD_FAILURE() << "cycle " << c << ": the child ended by itself ("
                    << (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                          : "signal " + std::to_string(WTERMSIG(status)))
                    << "), see its message on stderr";
      return;
    }
    std::vector<Ack> acks;
    std::string error;
    ASSERT_TRUE(ReadAckFile(ack_path, &acks, &error)) << error;
    if (acks.empty()) ++ks.killed_before_first_ack;
    // Killed inside a control operation: its intent is the last control record.
    for (auto it = acks.rbegin(); it != acks.rend(); ++it) {
      if (it->type == kAckOpDone) break;
      if (it->type == kAckOpIntent) {
        const int k = OpKind(it->shard);
        if (k <= 2) ++ks.killed_in_reshard;
        else if (k == 4) ++ks.killed_in_side_op;
        break;
      }
    }
    ++done_cycles;
    VerifyCycle(v, data_dir, c, durability, acks);
    if (verbose)
      std::printf("cycle %" PRIu64 ": %zu acks, %zu main records, %zu main shards\n", c, acks.size(), v.main_records(),
                  v.main_shards_known());
  }
  // A last clean close and reopen must see the same.
  if (v.failures() == 0) {
    VerifyCycle(v, data_dir, cycles + 1, Durability::kAlways, {});
    VerifyCycle(v, data_dir, cycles + 1, Durability::kAlways, {});
  }
  const VerifyTotals& t = v.totals();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("engine crash test: %d cycles (%d killed before any ack, %d during a reshard, %d during a side-stream "
              "operation), %" PRIu64 " acks, %" PRIu64 " acknowledged records verified in place (last cycle: %zu), %" PRIu64
              " unacknowledged-but-stored found, %" PRIu64 " records read, %" PRIu64 " read live, side stream %" PRIu64
              " created / %" PRIu64 " deleted, up to %zu main shards; control ops: %" PRIu64 " split, %" PRIu64
              " merge, %" PRIu64 " UpdateShardCount, %" PRIu64 " retention, %" PRIu64 " side, %" PRIu64 " tick; %.1f s\n",
              done_cycles, ks.killed_before_first_ack, ks.killed_in_reshard, ks.killed_in_side_op, t.acks,
              t.acked_verified, v.main_acked(), t.unacked_found, t.records_read, t.reads_folded, t.side_created,
              t.side_deleted, t.max_shards, t.ops[0], t.ops[1], t.ops[2], t.ops[3], t.ops[4], t.ops[5], secs);
  std::printf("side stream: up to %zu shards listed, %" PRIu64 " shard listings with an expired parent\n",
              t.side_max_shards, t.expired_parents);
  EXPECT_GE(done_cycles, 10);
  EXPECT_GT(v.main_acked(), 0u) << "no record was ever acknowledged";
}

}  // namespace
}  // namespace shoal
