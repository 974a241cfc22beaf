// Engine crash test: a child process runs an Engine on a data directory and works it
// hard (PutRecords from two threads; splits, merges, UpdateShardCount, retention changes
// and create/delete of a side stream from a control thread), recording every
// acknowledgement; the parent SIGKILLs it at a random moment, reopens the Engine and
// verifies:
//   * the topology: the open shards tile [0, 2^128 - 1]; every shard's parents exist
//     (nothing can expire here: retention >= 2000 h) and are closed; every closed shard
//     has children that cover its range; shards seen before keep their range and lineage;
//   * every acknowledged record is present exactly once at its (shard, offset) with its
//     bytes; records seen by an earlier verification are still there; nothing that was
//     never sent appears (every record regenerates from the id it carries); every record
//     sits in a shard whose range holds its hash key;
//   * a consumer that follows the lineage (parents before children, ChildShards at the
//     end of closed shards) reads everything exactly once, per hash key and producer in
//     put order, with sequence numbers increasing in each shard and children above
//     parents;
//   * the side stream (resharded too, and kept at 24 h retention so that its records and
//     closed shards expire from one cycle to the next) is either absent (then every
//     incarnation created was being deleted) or one incarnation whose records all carry
//     its uid, with every record acknowledged for it in this cycle present, and every
//     shard's parent listed or expired.
// Then the next cycle continues on the same directory.
//
// Process layout: the parent is single-threaded whenever it forks (its verifying Engine
// is closed and destroyed, joining every thread, before the next fork). The child never
// returns into gtest: it is SIGKILLed, or _exit()s with kChildFailed after printing why.
//
// Time: the child's clock is the system clock plus cycle * 25 h, so each cycle gets a
// fresh UpdateShardCount budget (10 per rolling 24 h). The main stream's records never
// expire (retention is kept >= 2000 h; 80 cycles would be needed to reach it); the side
// stream's expire after one cycle (24 h), exercising the sweeper across crashes.
//
// Environment:
//   SHOAL_ENGINE_CRASH_CYCLES   cycles (default 14, at least 10)
//   SHOAL_ENGINE_CRASH_SEED     base seed (default: random; always printed)
//   SHOAL_ENGINE_CRASH_VERBOSE  1: one line per cycle
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/crc32c.h"
#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

constexpr int kChildFailed = 3;
constexpr int kPutThreads = 2;
constexpr int64_t kCycleOffsetMs = 25LL * 3600 * 1000;
constexpr int kMaxOpenShards = 10;
constexpr const char* kMain = "main";
constexpr const char* kSide = "side";

// ---------------------------------------------------------------------------------------
// Deterministic records

uint64_t Mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

// id = cycle << 40 | producer << 32 | counter. Producers 0, 1: main-stream threads;
// producer 2: side-stream puts by the control thread.
uint64_t MakeId(uint64_t cycle, uint64_t producer, uint64_t counter) {
  return (cycle << 40) | (producer << 32) | counter;
}
uint64_t IdProducer(uint64_t id) { return (id >> 32) & 0xff; }
uint64_t IdCycle(uint64_t id) { return id >> 40; }

std::string KeyFor(uint64_t id) { return "k" + std::to_string(Mix64(id ^ 0x55) % 400); }

std::optional<HashKey> ExplicitFor(uint64_t id) {
  const uint64_t pick = Mix64(id ^ 0xe4) % 64;
  if (pick < 5) return HashKey::FromParts(Mix64(id ^ 1), Mix64(id ^ 2));
  if (pick == 5) return HashKey::Min();
  if (pick == 6) return HashKey::Max();
  return std::nullopt;
}

HashKey HashFor(uint64_t id) {
  auto e = ExplicitFor(id);
  return e ? *e : HashPartitionKey(KeyFor(id));
}

std::string DataFor(uint64_t id, uint64_t uid) {
  const uint64_t h = Mix64(id ^ 0xda7a);
  size_t n = h % 1200;
  if (h % 97 == 0) n = 20000 + h % 20000;
  std::string d(16 + n, '\0');
  std::memcpy(d.data(), &id, 8);
  std::memcpy(d.data() + 8, &uid, 8);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = Mix64(h + i);
    std::memcpy(d.data() + 16 + i, &v, std::min<size_t>(8, n - i));
  }
  return d;
}

// ---------------------------------------------------------------------------------------
// Ack file

enum AckType : uint8_t {
  kAckPut = 1,
  kAckMainCreated = 2,
  kAckSideCreateIntent = 3,
  kAckSideCreated = 4,
  kAckSideDeleteIntent = 5,
  kAckOpDone = 6,    // a control operation completed (shard = its kind), for statistics
  kAckOpIntent = 7,  // a control operation is about to start (shard = its kind)
};
constexpr uint32_t kAckMagic = 0xe9c4a5e7;

struct Ack {
  uint32_t magic;
  uint8_t type;
  uint8_t stream;  // 0 main, 1 side
  uint16_t pad0;
  uint32_t shard;
  uint32_t pad1;
  uint64_t offset;
  uint64_t id;
  uint64_t uid;    // side: the incarnation
  uint32_t check;  // CRC32C of the bytes above
  uint32_t pad2;
};
static_assert(sizeof(Ack) == 48);

Ack MakeAck(AckType type, uint8_t stream, uint32_t shard, uint64_t offset, uint64_t id, uint64_t uid) {
  Ack a;
  std::memset(&a, 0, sizeof a);
  a.magic = kAckMagic;
  a.type = type;
  a.stream = stream;
  a.shard = shard;
  a.offset = offset;
  a.id = id;
  a.uid = uid;
  a.check = io::Crc32c(&a, offsetof(Ack, check));
  return a;
}

bool AckValid(const Ack& a) { return a.magic == kAckMagic && a.check == io::Crc32c(&a, offsetof(Ack, check)); }

// ---------------------------------------------------------------------------------------
// Child

class OffsetClock final : public Clock {
 public:
  explicit OffsetClock(int64_t offset_ms) : offset_ms_(offset_ms) {}
  int64_t NowMs() const override { return SystemClock::Default()->NowMs() + offset_ms_; }

 private:
  const int64_t offset_ms_;
};

struct ChildParams {
  std::string data_dir;
  std::string ack_path;
  uint64_t cycle;
  uint64_t seed;
  Durability durability;
  pid_t parent;
};

EngineOptions MakeOptions(uint64_t cycle, Durability durability) {
  EngineOptions o;
  o.clock = std::make_shared<OffsetClock>(static_cast<int64_t>(cycle) * kCycleOffsetMs);
  o.sweep_interval_ms = 0;
  o.log.segment_bytes = 64 << 10;
  o.log.durability = durability;
  return o;
}

[[noreturn]] void ChildDie(const std::string& why) {
  std::string msg = "[engine crash child " + std::to_string(::getpid()) + "] " + why + "\n";
  ssize_t ignored = ::write(2, msg.data(), msg.size());
  (void)ignored;
  ::_exit(kChildFailed);
}

void WriteAcks(int fd, const std::vector<Ack>& acks) {
  if (acks.empty()) return;
  const size_t bytes = acks.size() * sizeof(Ack);
  ssize_t n = ::write(fd, acks.data(), bytes);
  if (n != static_cast<ssize_t>(bytes)) ChildDie("ack write failed: " + std::string(std::strerror(errno)));
}

void ChildPutter(Engine* engine, const ChildParams& p, int producer, int ack_fd) {
  std::mt19937_64 rng(Mix64(p.seed ^ (p.cycle << 8) ^ static_cast<uint64_t>(producer)));
  uint64_t counter = 0;
  std::vector<uint64_t> ids;
  std::vector<std::string> keys, datas;
  std::vector<PutInput> batch;
  std::vector<Ack> acks;
  while (true) {
    const size_t n = 1 + rng() % 30;
    ids.resize(n);
    keys.resize(n);
    datas.resize(n);
    batch.resize(n);
    for (size_t i = 0; i < n; ++i) {
      ids[i] = MakeId(p.cycle, static_cast<uint64_t>(producer), counter++);
      keys[i] = KeyFor(ids[i]);
      datas[i] = DataFor(ids[i], 0);
      batch[i] = PutInput{keys[i], datas[i], ExplicitFor(ids[i])};
    }
    Status st;
    auto out = engine->PutRecords(kMain, batch, &st);
    if (!st.ok()) ChildDie("PutRecords(main): " + st.ToString());
    acks.clear();
    for (size_t i = 0; i < n; ++i) {
      if (!out[i].status.ok()) {
        // A record routed to a shard that a reshard closed meanwhile is not stored.
        if (out[i].status.code() == Code::kInternal &&
            out[i].status.message().find("resharded") != std::string::npos)
          continue;
        ChildDie("PutRecords(main) entry: " + out[i].status.ToString());
      }
      acks.push_back(MakeAck(kAckPut, 0, out[i].shard_index, out[i].offset, ids[i], 0));
    }
    WriteAcks(ack_fd, acks);
    // Pause now and then: the stream lock lets new puts overtake a waiting reshard
    // (reader preference), so back-to-back puts from two threads can starve the control
    // thread for seconds (see EngineReshardTest.ReshardIsNotStarvedByConcurrentPuts).
    if (rng() % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % 1500));
  }
}

std::vector<ShardDescription> OpenShardsSorted(Engine* e) {
  auto d = e->DescribeStream(kMain);
  if (!d.ok()) ChildDie("DescribeStream(main): " + d.status().ToString());
  std::vector<ShardDescription> open;
  for (auto& s : d->shards)
    if (!s.closed) open.push_back(s);
  std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) { return a.range.start < b.range.start; });
  return open;
}

[[noreturn]] void ChildLoop(const ChildParams& p);

// Never lets an exception unwind into the Engine's destructor while other threads use it.
[[noreturn]] void ChildMain(const ChildParams& p) {
  try {
    ChildLoop(p);
  } catch (const std::exception& ex) {
    ChildDie(std::string("exception: ") + ex.what());
  } catch (...) {
    ChildDie("unknown exception");
  }
}

[[noreturn]] void ChildLoop(const ChildParams& p) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != p.parent) ::_exit(kChildFailed);
  const int ack_fd = ::open(p.ack_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (ack_fd < 0) ChildDie("open " + p.ack_path + ": " + std::strerror(errno));
  auto opened = Engine::Open(p.data_dir, MakeOptions(p.cycle, p.durability));
  if (!opened.ok()) ChildDie("Engine::Open: " + opened.status().ToString());
  // Never destroyed: the child only ends by SIGKILL or _exit (an exception unwinding into
  // ~Engine while the put threads use it would crash instead of reporting).
  Engine* e = std::move(opened).value().release();
  std::mt19937_64 rng(Mix64(p.seed ^ (p.cycle << 16) ^ 0xc0de));

  auto d = e->DescribeStream(kMain);
  if (!d.ok()) {
    Status st = e->CreateStream(kMain, 2);
    if (!st.ok()) ChildDie("CreateStream(main): " + st.ToString());
    WriteAcks(ack_fd, {MakeAck(kAckMainCreated, 0, 0, 0, 0, 0)});
    d = e->DescribeStream(kMain);
    if (!d.ok()) ChildDie("DescribeStream(main) after create: " + d.status().ToString());
  }
  if (d->retention_hours < 2000) {
    Status st = e->SetRetention(kMain, 4000, true);
    if (!st.ok()) ChildDie("SetRetention(main, 4000): " + st.ToString());
  }
  uint64_t side_uid = 0;
  if (auto sd = e->DescribeStream(kSide); sd.ok()) {
    // Possibly created by a child killed before it acknowledged the creation: adopt it.
    side_uid = sd->uid;
    WriteAcks(ack_fd, {MakeAck(kAckSideCreated, 1, 0, 0, 0, side_uid)});
  }

  std::vector<std::thread> threads;
  for (int t = 0; t < kPutThreads; ++t) threads.emplace_back([&, t] { ChildPutter(e, p, t, ack_fd); });

  uint64_t side_counter = 0;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(rng() % 6));
    const uint64_t op = rng() % 100;
    const auto open = OpenShardsSorted(e);
    WriteAcks(ack_fd, {MakeAck(kAckOpIntent, 0, static_cast<uint32_t>(op), 0, 0, 0)});
    if (op < 22) {  // split
      if (open.size() >= static_cast<size_t>(kMaxOpenShards)) continue;
      const auto& s = open[rng() % open.size()];
      const Uint128 S = s.range.start.value, E = s.range.end.value;
      if (E - S < 3) continue;
      const Uint128 r = (static_cast<Uint128>(rng()) << 64) | rng();
      const HashKey k{S + 2 + r % (E - S - 2)};
      Status st = e->SplitShard(kMain, s.index, k);
      if (!st.ok()) ChildDie("SplitShard(" + std::to_string(s.index) + "): " + st.ToString());
    } else if (op < 40) {  // merge
      if (open.size() < 2) continue;
      const size_t i = rng() % (open.size() - 1);
      uint32_t a = open[i].index, b = open[i + 1].index;
      if (rng() % 2) std::swap(a, b);
      Status st = e->MergeShards(kMain, a, b);
      if (!st.ok()) ChildDie("MergeShards(" + std::to_string(a) + ", " + std::to_string(b) + "): " + st.ToString());
    } else if (op < 52) {  // UpdateShardCount
      const int64_t c = static_cast<int64_t>(open.size());
      const int64_t lo = (c + 1) / 2, hi = std::min<int64_t>(2 * c, kMaxOpenShards);
      if (hi < lo) continue;
      const int64_t t = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
      auto r = e->UpdateShardCount(kMain, t);
      if (!r.ok() && r.status().code() != Code::kLimitExceeded)
        ChildDie("UpdateShardCount(" + std::to_string(t) + "): " + r.status().ToString());
    } else if (op < 60) {  // retention
      static const int kChoices[] = {2000, 3000, 4000, 8760};
      auto cur = e->DescribeStream(kMain);
      if (!cur.ok()) ChildDie("DescribeStream(main): " + cur.status().ToString());
      const int h = kChoices[rng() % 4];
      Status st = e->SetRetention(kMain, h, h >= cur->retention_hours);
      if (!st.ok()) ChildDie("SetRetention(" + std::to_string(h) + "): " + st.ToString());
    } else if (op < 88) {  // side stream
      if (side_uid == 0) {
        WriteAcks(ack_fd, {MakeAck(kAckSideCreateIntent, 1, 0, 0, 0, 0)});
        Status st = e->CreateStream(kSide, 1 + static_cast<int64_t>(rng() % 3));
        if (!st.ok()) ChildDie("CreateStream(side): " + st.ToString());
        auto sd = e->DescribeStream(kSide);
        if (!sd.ok()) ChildDie("DescribeStream(side): " + sd.status().ToString());
        side_uid = sd->uid;
        WriteAcks(ack_fd, {MakeAck(kAckSideCreated, 1, 0, 0, 0, side_uid)});
      } else if (const uint64_t pick = rng() % 6; pick < 2) {  // reshard the side stream
        auto sd = e->DescribeStream(kSide);
        if (!sd.ok()) ChildDie("DescribeStream(side): " + sd.status().ToString());
        std::vector<ShardDescription> sopen;
        for (auto& x : sd->shards)
          if (!x.closed) sopen.push_back(x);
        std::sort(sopen.begin(), sopen.end(), [](const auto& a, const auto& b) { return a.range.start < b.range.start; });
        Status st;
        if ((pick == 0 && sopen.size() < 4) || sopen.size() == 1) {
          const auto& x = sopen[rng() % sopen.size()];
          const Uint128 S = x.range.start.value, E = x.range.end.value;
          const Uint128 r = (static_cast<Uint128>(rng()) << 64) | rng();
          if (E - S >= 3) st = e->SplitShard(kSide, x.index, HashKey{S + 2 + r % (E - S - 2)});
        } else {
          const size_t i = rng() % (sopen.size() - 1);
          st = e->MergeShards(kSide, sopen[i].index, sopen[i + 1].index);
        }
        if (!st.ok()) ChildDie("reshard side: " + st.ToString());
      } else if (pick == 2) {
        WriteAcks(ack_fd, {MakeAck(kAckSideDeleteIntent, 1, 0, 0, 0, side_uid)});
        Status st = e->DeleteStream(kSide);
        if (!st.ok()) ChildDie("DeleteStream(side): " + st.ToString());
        side_uid = 0;
      } else {
        const size_t n = 1 + rng() % 10;
        std::vector<uint64_t> ids(n);
        std::vector<std::string> keys(n), datas(n);
        std::vector<PutInput> batch(n);
        for (size_t i = 0; i < n; ++i) {
          ids[i] = MakeId(p.cycle, 2, side_counter++);
          keys[i] = KeyFor(ids[i]);
          datas[i] = DataFor(ids[i], side_uid);
          batch[i] = PutInput{keys[i], datas[i], ExplicitFor(ids[i])};
        }
        Status st;
        auto out = e->PutRecords(kSide, batch, &st);
        if (!st.ok()) ChildDie("PutRecords(side): " + st.ToString());
        std::vector<Ack> acks;
        for (size_t i = 0; i < n; ++i) {
          if (!out[i].status.ok()) ChildDie("PutRecords(side) entry: " + out[i].status.ToString());
          acks.push_back(MakeAck(kAckPut, 1, out[i].shard_index, out[i].offset, ids[i], side_uid));
        }
        WriteAcks(ack_fd, acks);
      }
    } else {
      e->Tick();
    }
    WriteAcks(ack_fd, {MakeAck(kAckOpDone, 0, static_cast<uint32_t>(op), 0, 0, 0)});
  }
}

// ---------------------------------------------------------------------------------------
// Parent

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

int CompareDecimal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

struct KnownShard {
  HashKeyRange range;
  std::optional<std::string> parent, adjacent;
  bool closed = false;
};

struct Totals {
  int cycles = 0;
  int killed_before_first_ack = 0;
  int killed_in_reshard = 0;  // split, merge or UpdateShardCount in progress (or about to)
  int killed_in_side_op = 0;
  uint64_t acks = 0;
  uint64_t acked_verified = 0;
  uint64_t unacked_found = 0;  // stored but the ack never made it
  uint64_t records_read = 0;
  uint64_t side_created = 0, side_deleted = 0;
  size_t max_shards = 0;
  uint64_t expired_parents = 0;  // side shards whose parent had expired (seen at verification)
  uint64_t ops[6] = {};  // split, merge, UpdateShardCount, retention, side, tick (attempted)
};

class EngineCrashTest : public ::testing::Test {
 protected:
  bool Fail(const std::string& msg) {
    ++failures_;
    if (failures_ <= 20) ADD_FAILURE() << "cycle " << cycle_ << ": " << msg;
    return false;
  }

  std::vector<Ack> ReadAcks(const std::string& path) {
    std::vector<Ack> acks;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return acks;
    std::string bytes;
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<size_t>(n));
    ::close(fd);
    const size_t whole = bytes.size() / sizeof(Ack);
    for (size_t i = 0; i < whole; ++i) {
      Ack a;
      std::memcpy(&a, bytes.data() + i * sizeof(Ack), sizeof a);
      if (!AckValid(a)) {
        if (i + 1 == whole) break;  // a torn last record
        Fail(path + ": ack " + std::to_string(i) + " of " + std::to_string(whole) + " is damaged");
        return {};
      }
      acks.push_back(a);
    }
    return acks;
  }

  // Checks one record's bytes against the generator; returns its id.
  bool CheckRecord(const ReadRecord& r, uint64_t want_uid, const std::string& where, uint64_t* id) {
    if (r.data.size() < 16) return Fail(where + ": record of " + std::to_string(r.data.size()) + " bytes was never sent");
    uint64_t uid;
    std::memcpy(id, r.data.data(), 8);
    std::memcpy(&uid, r.data.data() + 8, 8);
    if (IdCycle(*id) > static_cast<uint64_t>(cycle_) || IdProducer(*id) > 2)
      return Fail(where + ": record id " + std::to_string(*id) + " was never sent");
    if (uid != want_uid)
      return Fail(where + ": record " + std::to_string(*id) + " belongs to stream incarnation " + std::to_string(uid) +
                  ", read from " + std::to_string(want_uid));
    if (r.partition_key != KeyFor(*id)) return Fail(where + ": record " + std::to_string(*id) + " has the wrong key");
    const std::string want = DataFor(*id, uid);
    if (r.data != want) return Fail(where + ": record " + std::to_string(*id) + " bytes differ from what was sent");
    return true;
  }

  struct Found {
    std::map<std::pair<uint32_t, uint64_t>, uint64_t> at;  // (shard, offset) -> id
  };

  // Lineage consumer over `stream`; fills `found`. Verifies content, routing, order.
  // `expiring`: the stream's records and closed shards may have passed retention (the side
  // stream keeps 24 h, and each cycle is 25 h later): a shard may start above offset 0.
  bool ConsumeLineage(Engine& e, const std::string& stream, uint64_t uid, const StreamDescription& d, bool expiring,
                      Found* found) {
    std::map<std::string, const ShardDescription*> listed;
    for (const auto& s : d.shards) listed[s.shard_id] = &s;
    std::deque<std::string> ready;
    std::set<std::string> started, exhausted;
    std::map<std::string, std::vector<std::string>> parents_of;
    for (const auto& s : d.shards) {
      const bool has_parent = (s.parent && listed.count(*s.parent)) || (s.adjacent_parent && listed.count(*s.adjacent_parent));
      if (!has_parent) ready.push_back(s.shard_id);
    }
    std::set<uint64_t> ids;
    std::map<std::pair<Uint128, uint64_t>, uint64_t> last_by_hash_producer;
    std::map<std::string, std::pair<std::string, std::string>> span;
    std::mt19937_64 rng(static_cast<uint64_t>(cycle_));
    while (!ready.empty()) {
      const std::string sid = ready.front();
      ready.pop_front();
      if (!started.insert(sid).second) return Fail(stream + ": " + sid + " started twice");
      const ShardDescription& sd = *listed.at(sid);
      auto pos = e.GetPosition(stream, sd.index, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
      if (!pos.ok()) return Fail(stream + " " + sid + ": GetPosition: " + pos.status().ToString());
      std::optional<ShardPosition> p = *pos;
      uint64_t expect = 0;
      bool first = true;
      std::string prev;
      for (int guard = 0;; ++guard) {
        if (guard > 1000000) return Fail(stream + " " + sid + ": the read never ends");
        auto r = e.GetRecords(stream, *p, 1 + rng() % 700);
        if (!r.ok()) return Fail(stream + " " + sid + ": GetRecords: " + r.status().ToString());
        for (const ReadRecord& rec : r->records) {
          auto sp = ParseSequenceNumber(rec.sequence_number);
          if (!sp.ok()) return Fail(stream + " " + sid + ": bad sequence number " + rec.sequence_number);
          if (sp->shard.index.value != sd.index) return Fail(stream + " " + sid + ": sequence number of another shard");
          const uint64_t off = sp->counter - 1;
          const std::string where = stream + " " + sid + " offset " + std::to_string(off);
          if (first && expiring) expect = off;
          first = false;
          if (off != expect) return Fail(where + ": expected offset " + std::to_string(expect) + " (dense from 0)");
          ++expect;
          uint64_t id = 0;
          if (!CheckRecord(rec, uid, where, &id)) return false;
          if (!ids.insert(id).second) return Fail(where + ": record " + std::to_string(id) + " read twice");
          const HashKey h = HashFor(id);
          if (!sd.range.Contains(h))
            return Fail(where + ": record " + std::to_string(id) + " with hash " + FormatHashKey(h) +
                        " is outside the shard's range " + fmt::format("{}", sd.range));
          const auto hp = std::make_pair(h.value, IdProducer(id));
          auto it = last_by_hash_producer.find(hp);
          if (it != last_by_hash_producer.end() && it->second >= id)
            return Fail(where + ": record " + std::to_string(id) + " read after " + std::to_string(it->second) +
                        " of the same key and producer (put order violated across the lineage)");
          last_by_hash_producer[hp] = id;
          if (!prev.empty() && CompareDecimal(rec.sequence_number, prev) <= 0)
            return Fail(where + ": sequence numbers not increasing");
          prev = rec.sequence_number;
          if (span[sid].first.empty()) span[sid].first = rec.sequence_number;
          span[sid].second = rec.sequence_number;
          found->at[{sd.index, off}] = id;
          ++totals_.records_read;
        }
        if (!r->next) {
          if (!sd.closed) return Fail(stream + " " + sid + ": no next position on an open shard");
          exhausted.insert(sid);
          std::set<std::string> want_children;
          for (const auto& s : d.shards)
            if (s.parent == sid || s.adjacent_parent == sid) want_children.insert(s.shard_id);
          std::set<std::string> got_children;
          for (const ChildShard& c : r->child_shards) {
            got_children.insert(c.shard_id);
            parents_of[c.shard_id] = c.parents;
          }
          if (got_children != want_children)
            return Fail(stream + " " + sid + ": ChildShards disagree with DescribeStream's lineage");
          for (const std::string& c : got_children) {
            if (started.count(c) || std::find(ready.begin(), ready.end(), c) != ready.end()) continue;
            bool all = true;
            for (const std::string& par : parents_of[c])
              if (listed.count(par) && !exhausted.count(par)) all = false;
            if (all) ready.push_back(c);
          }
          break;
        }
        if (!r->child_shards.empty()) return Fail(stream + " " + sid + ": ChildShards before the end");
        if (r->records.empty()) {
          if (sd.closed) return Fail(stream + " " + sid + ": closed shard keeps returning a next position");
          break;
        }
        p = r->next;
      }
    }
    if (started.size() != d.shards.size())
      return Fail(stream + ": the lineage walk reached " + std::to_string(started.size()) + " of " +
                  std::to_string(d.shards.size()) + " shards");
    for (const auto& s : d.shards) {
      for (const auto& par : {s.parent, s.adjacent_parent}) {
        if (!par || !listed.count(*par)) continue;
        const ShardDescription* ps = listed.at(*par);
        if (!ps->ending_sequence_number || CompareDecimal(s.starting_sequence_number, *ps->ending_sequence_number) <= 0)
          return Fail(stream + " " + s.shard_id + ": StartingSequenceNumber not above parent's EndingSequenceNumber");
        if (span.count(s.shard_id) && span.count(*par) &&
            CompareDecimal(span[s.shard_id].first, span[*par].second) <= 0)
          return Fail(stream + " " + s.shard_id + ": a record numbered below its parent's");
      }
    }
    return true;
  }

  // `known`: the stream's shards as the previous verification saw them (updated here), or
  // null to skip that comparison.
  bool CheckTopology(const StreamDescription& d, const std::string& stream, std::map<std::string, KnownShard>* known,
                     bool expiring, int64_t now_ms) {
    std::vector<HashKeyRange> open;
    std::map<std::string, const ShardDescription*> listed;
    for (const auto& s : d.shards) listed[s.shard_id] = &s;
    for (const auto& s : d.shards) {
      if (!s.closed) open.push_back(s.range);
      if (s.closed != s.ending_sequence_number.has_value())
        return Fail(stream + " " + s.shard_id + ": closed flag and EndingSequenceNumber disagree");
      for (const auto& par : {s.parent, s.adjacent_parent}) {
        if (!par) continue;
        if (!listed.count(*par)) {
          // Main keeps >= 2000 h: nothing can expire, every parent is listed. Otherwise a
          // missing parent must have expired: closed (when s was created, one second
          // before s's creation second) at least 24 h ago.
          const int64_t created_s = ParseSequenceNumber(s.starting_sequence_number).value().shard.created_s;
          if (!expiring || now_ms - (created_s - 1) * 1000 < 24LL * 3600 * 1000)
            return Fail(stream + " " + s.shard_id + ": parent " + *par + " is missing but cannot have expired");
          ++totals_.expired_parents;
          continue;
        }
        if (!listed.at(*par)->closed) return Fail(stream + " " + s.shard_id + ": parent " + *par + " is open");
      }
      if (s.adjacent_parent && !s.parent) return Fail(stream + " " + s.shard_id + ": adjacent parent without parent");
    }
    std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) { return a.start < b.start; });
    if (Status t = CheckTiling(open); !t.ok()) return Fail(stream + ": open shards do not tile the key space: " + t.ToString());
    if (d.open_shard_count != open.size()) return Fail(stream + ": open_shard_count is wrong");
    // Every closed shard: two split children tiling it, or one merge child covering it.
    for (const auto& s : d.shards) {
      if (!s.closed) continue;
      std::vector<const ShardDescription*> kids;
      for (const auto& c : d.shards)
        if (c.parent == s.shard_id || c.adjacent_parent == s.shard_id) kids.push_back(&c);
      if (kids.size() == 2 && !kids[0]->adjacent_parent && !kids[1]->adjacent_parent) {
        auto a = kids[0], b = kids[1];
        if (b->range.start < a->range.start) std::swap(a, b);
        if (a->range.start != s.range.start || a->range.end.value + 1 != b->range.start.value || b->range.end != s.range.end)
          return Fail(stream + " " + s.shard_id + ": split children do not tile the parent's range");
      } else if (kids.size() == 1 && kids[0]->adjacent_parent) {
        if (!(kids[0]->range.start <= s.range.start && s.range.end <= kids[0]->range.end))
          return Fail(stream + " " + s.shard_id + ": merge child does not cover the parent");
      } else {
        return Fail(stream + " " + s.shard_id + ": closed with " + std::to_string(kids.size()) + " children");
      }
    }
    if (!known) return true;
    // Shards seen before keep their identity; closed stays closed.
    for (const auto& s : d.shards) {
      auto it = known->find(s.shard_id);
      if (it == known->end()) continue;
      if (it->second.range != s.range || it->second.parent != s.parent || it->second.adjacent != s.adjacent_parent)
        return Fail(stream + " " + s.shard_id + ": range or lineage changed since the last verification");
      if (it->second.closed && !s.closed) return Fail(stream + " " + s.shard_id + ": was closed, is open again");
    }
    for (const auto& [id, k] : *known)
      if (!listed.count(id)) return Fail(stream + " " + id + ": disappeared (nothing can expire here)");
    for (const auto& s : d.shards) (*known)[s.shard_id] = KnownShard{s.range, s.parent, s.adjacent_parent, s.closed};
    totals_.max_shards = std::max(totals_.max_shards, d.shards.size());
    return true;
  }

  bool Verify(const std::string& data_dir, const std::vector<Ack>& acks, Durability durability) {
    side_expected_.clear();
    // Fold this cycle's acks into what must hold from now on.
    for (const Ack& a : acks) {
      ++totals_.acks;
      switch (a.type) {
        case kAckPut:
          if (a.stream == 0) {
            auto [it, inserted] = main_expected_.emplace(std::make_pair(a.shard, a.offset), a.id);
            if (!inserted && it->second != a.id)
              return Fail("two acks for main shard " + std::to_string(a.shard) + " offset " + std::to_string(a.offset));
          } else {
            // Side records live 24 h, and each cycle is 25 h later: only this cycle's count.
            side_expected_[a.uid][{a.shard, a.offset}] = a.id;
          }
          break;
        case kAckMainCreated: main_created_ = true; break;
        case kAckSideCreateIntent: break;
        case kAckSideCreated:
          side_created_.insert(a.uid);
          ++totals_.side_created;
          break;
        case kAckSideDeleteIntent:
          side_delete_intent_.insert(a.uid);
          ++totals_.side_deleted;
          break;
        case kAckOpIntent: break;
        case kAckOpDone:
          ++totals_.ops[a.shard < 22 ? 0 : a.shard < 40 ? 1 : a.shard < 52 ? 2 : a.shard < 60 ? 3 : a.shard < 88 ? 4 : 5];
          break;
        default: return Fail("ack of unknown type " + std::to_string(a.type));
      }
    }
    auto opened = Engine::Open(data_dir, MakeOptions(static_cast<uint64_t>(cycle_), durability));
    if (!opened.ok()) return Fail("Engine::Open after the crash: " + opened.status().ToString());
    std::unique_ptr<Engine> e = std::move(opened).value();
    bool ok = VerifyOpen(*e);
    // Then let the sweeper run (expiring side shards) and check again.
    if (ok && cycle_ % 2 == 1) {
      e->Tick();
      ok = VerifyOpen(*e);
    }
    Status closed = e->Close();
    if (!closed.ok()) ok = Fail("Close: " + closed.ToString());
    e.reset();
    if (ok) ok = CheckDirectories(data_dir);
    return ok;
  }

  // After a clean close (which drains the engine's deferred deletions): the data directory
  // holds exactly the live streams, each with directories only for listed shards. This is
  // where leftovers of killed creates, deletes and reshards and of expired shards show.
  bool CheckDirectories(const std::string& data_dir) {
    std::map<std::string, std::set<uint32_t>> want;  // "<name>.<uid hex>" -> listed shards
    for (const auto& [name, uid_shards] : live_)
      want[fmt::format("{}.{:016x}", name, uid_shards.first)] = uid_shards.second;
    std::error_code ec;
    std::set<std::string> got;
    for (auto& ent : std::filesystem::directory_iterator(data_dir + "/streams", ec)) {
      const std::string n = ent.path().filename().string();
      got.insert(n);
      auto it = want.find(n);
      if (it == want.end()) return Fail("leftover stream directory streams/" + n);
      // Besides the listed shards: the spare logs kept for the next reshard, whose indices
      // lie above every shard the stream ever had (the newest shard is always listed).
      const uint32_t newest = it->second.empty() ? 0 : *it->second.rbegin();
      size_t spares = 0;
      for (auto& sub : std::filesystem::directory_iterator(ent.path(), ec)) {
        const std::string sn = sub.path().filename().string();
        uint32_t idx = 0;
        auto r = std::from_chars(sn.data(), sn.data() + sn.size(), idx);
        if (r.ec != std::errc() || r.ptr != sn.data() + sn.size())
          return Fail("leftover directory streams/" + n + "/" + sn);
        if (it->second.count(idx)) continue;
        if (idx <= newest || ++spares > EngineOptions{}.spare_shard_logs)
          return Fail("leftover shard directory streams/" + n + "/" + sn);
      }
    }
    for (const auto& [n, shards] : want)
      if (!got.count(n)) return Fail("missing stream directory streams/" + n);
    return true;
  }

  bool VerifyOpen(Engine& e) {
    live_.clear();
    for (const char* n : {kMain, kSide}) {
      if (auto d = e.DescribeStream(n); d.ok()) {
        std::set<uint32_t> idx;
        for (const auto& sh : d->shards) idx.insert(sh.index);
        live_[n] = {d->uid, idx};
      }
    }
    for (const std::string& n : e.ListStreams(100).names)
      if (n != kMain && n != kSide) return Fail("unexpected stream '" + n + "'");
    auto d = e.DescribeStream(kMain);
    if (!d.ok()) {
      if (main_created_) return Fail("stream main is gone: " + d.status().ToString());
      if (!main_expected_.empty()) return Fail("acked records but no stream");
    } else {
      if (d->status != StreamStatus::kActive) return Fail("main is not ACTIVE");
      if (d->retention_hours < 24) return Fail("bad retention");
      if (!CheckTopology(*d, kMain, &known_shards_, false, e.clock().NowMs())) return false;
      Found found;
      if (!ConsumeLineage(e, kMain, 0, *d, false, &found)) return false;
      for (const auto& [at, id] : main_expected_) {
        auto it = found.at.find(at);
        if (it == found.at.end())
          return Fail("acknowledged main record " + std::to_string(id) + " missing at shard " +
                      std::to_string(at.first) + " offset " + std::to_string(at.second));
        if (it->second != id)
          return Fail("main shard " + std::to_string(at.first) + " offset " + std::to_string(at.second) + " holds " +
                      std::to_string(it->second) + ", acknowledged " + std::to_string(id));
      }
      for (const auto& [at, id] : main_seen_) {
        auto it = found.at.find(at);
        if (it == found.at.end() || it->second != id)
          return Fail("record " + std::to_string(id) + " seen at shard " + std::to_string(at.first) + " offset " +
                      std::to_string(at.second) + " by an earlier verification is gone or changed");
      }
      totals_.acked_verified += main_expected_.size();
      totals_.unacked_found = found.at.size() - main_expected_.size();
      main_seen_ = std::move(found.at);
    }
    // Side stream.
    auto sd = e.DescribeStream(kSide);
    if (!sd.ok()) {
      for (uint64_t u : side_created_)
        if (!side_delete_intent_.count(u))
          return Fail("side stream incarnation " + std::to_string(u) + " vanished without a DeleteStream");
    } else {
      const uint64_t u = sd->uid;
      for (uint64_t c : side_created_)
        if (c != u && !side_delete_intent_.count(c))
          return Fail("side incarnation " + std::to_string(c) + " replaced without a DeleteStream");
      if (!CheckTopology(*sd, kSide, nullptr, true, e.clock().NowMs())) return false;
      Found found;
      if (!ConsumeLineage(e, kSide, u, *sd, true, &found)) return false;
      side_shards_max_ = std::max(side_shards_max_, sd->shards.size());
      if (!side_created_.count(u) && !found.at.empty())
        return Fail("an unacknowledged side incarnation holds records");
      for (const auto& [at, id] : side_expected_[u]) {
        auto it = found.at.find(at);
        if (it == found.at.end() || it->second != id)
          return Fail("acknowledged side record " + std::to_string(id) + " missing at shard " +
                      std::to_string(at.first) + " offset " + std::to_string(at.second));
      }
    }
    return true;
  }

  int cycle_ = 0;
  int failures_ = 0;
  Totals totals_;
  bool main_created_ = false;
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> main_expected_;  // acked
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> main_seen_;      // found by the last verification
  std::map<uint64_t, std::map<std::pair<uint32_t, uint64_t>, uint64_t>> side_expected_;
  std::set<uint64_t> side_created_, side_delete_intent_;
  size_t side_shards_max_ = 0;
  std::map<std::string, std::pair<uint64_t, std::set<uint32_t>>> live_;  // stream -> (uid, listed shards)
  std::map<std::string, KnownShard> known_shards_;  // main's shards
};

TEST_F(EngineCrashTest, KillAndRecover) {
  const uint64_t cycles = std::max<uint64_t>(10, EnvU64("SHOAL_ENGINE_CRASH_CYCLES", 14));
  const uint64_t seed = EnvU64("SHOAL_ENGINE_CRASH_SEED", std::random_device{}() | (uint64_t{std::random_device{}()} << 32));
  const bool verbose = EnvU64("SHOAL_ENGINE_CRASH_VERBOSE", 0) != 0;
  std::printf("engine crash test: seed %" PRIu64 " (SHOAL_ENGINE_CRASH_SEED), %" PRIu64 " cycles\n", seed, cycles);
  std::fflush(stdout);
  testing::TempDir dir;
  const std::string data_dir = dir.Sub("data");
  std::mt19937_64 rng(seed);
  const auto t_start = std::chrono::steady_clock::now();
  for (uint64_t c = 1; c <= cycles && failures_ == 0; ++c) {
    cycle_ = static_cast<int>(c);
    const std::string ack_path = dir.Sub("ack." + std::to_string(c));
    const Durability durability = c % 3 == 0 ? Durability::kNone : Durability::kAlways;
    // fork() copies only this thread: the verifying Engine of the previous cycle must have
    // joined all of its threads when it was closed and destroyed.
    ASSERT_EQ(ThreadCount(), 1) << "threads left running before fork (after Engine::Close and destruction)";
    ChildParams p{data_dir, ack_path, c, seed, durability, ::getpid()};
    std::fflush(stdout);
    std::fflush(stderr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << std::strerror(errno);
    if (pid == 0) ChildMain(p);
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
    const std::vector<Ack> acks = ReadAcks(ack_path);
    if (acks.empty()) ++totals_.killed_before_first_ack;
    // Killed inside a control operation: its intent is the last control record.
    for (auto it = acks.rbegin(); it != acks.rend(); ++it) {
      if (it->type == kAckOpDone) break;
      if (it->type == kAckOpIntent) {
        const uint32_t k = it->shard;
        if (k < 52) ++totals_.killed_in_reshard;
        else if (k >= 60 && k < 88) ++totals_.killed_in_side_op;
        break;
      }
    }
    ++totals_.cycles;
    Verify(data_dir, acks, durability);
    if (verbose)
      std::printf("cycle %" PRIu64 ": %zu acks, %zu main records, %zu main shards, %" PRIu64 " control ops so far\n", c,
                  acks.size(), main_seen_.size(), known_shards_.size(),
                  totals_.ops[0] + totals_.ops[1] + totals_.ops[2] + totals_.ops[3] + totals_.ops[4] + totals_.ops[5]);
  }
  // A last clean close and reopen must see the same.
  if (failures_ == 0) {
    cycle_ = static_cast<int>(cycles) + 1;
    Verify(data_dir, {}, Durability::kAlways);
    Verify(data_dir, {}, Durability::kAlways);
  }
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
  std::printf("engine crash test: %d cycles (%d killed before any ack, %d during a reshard, %d during a side-stream "
              "operation), %" PRIu64 " acks, %" PRIu64
              " acknowledged records verified in place (last cycle: %zu), %" PRIu64
              " unacknowledged-but-stored found, %" PRIu64 " records read, side stream %" PRIu64 " created / %" PRIu64
              " deleted, up to %zu main shards; control ops: %" PRIu64 " split, %" PRIu64 " merge, %" PRIu64
              " UpdateShardCount, %" PRIu64 " retention, %" PRIu64 " side, %" PRIu64 " tick; %.1f s\n",
              totals_.cycles, totals_.killed_before_first_ack, totals_.killed_in_reshard, totals_.killed_in_side_op,
              totals_.acks, totals_.acked_verified,
              main_expected_.size(), totals_.unacked_found, totals_.records_read, totals_.side_created,
              totals_.side_deleted, totals_.max_shards, totals_.ops[0], totals_.ops[1], totals_.ops[2], totals_.ops[3],
              totals_.ops[4], totals_.ops[5], secs);
  std::printf("side stream: up to %zu shards listed, %" PRIu64 " shard listings with an expired parent\n",
              side_shards_max_, totals_.expired_parents);
  EXPECT_GE(totals_.cycles, 10);
  EXPECT_GT(main_expected_.size(), 0u) << "no record was ever acknowledged";
}

}  // namespace
}  // namespace shoal
