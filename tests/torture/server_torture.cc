// The server modes: shoald is the process under test; this process is its client
// (KinesisHttpClient) and keeps every announcement and acknowledgement in memory, so an
// ack that reached the client is known whatever happens to the server.
//
// A cycle: producer threads PutRecords to "main", a control thread reshards (SplitShard,
// MergeShards, UpdateShardCount), changes retention and creates / puts to / reshards /
// deletes "side", and a live consumer follows main's lineage with checkpoints that survive
// the server's crashes (it resumes AFTER_SEQUENCE_NUMBER of the last record it read, as a
// KCL application would), so it checks exactly-once delivery across restarts. At a random
// moment shoald is SIGKILLed, restarted at once on the same data directory (sometimes
// killed again during its recovery), and verified over HTTP with the shared verifier.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "api/json_writer.h"
#include "kernel/sequence_number.h"
#include "tests/testlib/stream_verifier.h"
#include "tests/testlib/torture_records.h"
#include "tests/torture/kinesis_http_client.h"
#include "tests/torture/process_stats.h"
#include "tests/torture/torture.h"

namespace shoal::torture {

namespace {

using SteadyClock = std::chrono::steady_clock;
constexpr int kProducers = 3;
constexpr int kMaxOpenShards = 10;

double SecondsSince(SteadyClock::time_point t) { return std::chrono::duration<double>(SteadyClock::now() - t).count(); }

void Sleep(int ms) { std::this_thread::sleep_for(std::chrono::milliseconds(ms)); }

// ---------------------------------------------------------------------------------------
// shoald

struct Server {
  pid_t pid = -1;
  uint16_t port = 0;
};

// Starts shoald and waits for its ready line (or, with `kill_after_ms` >= 0, SIGKILLs it
// that long after the start, ready or not, and returns pid -1).
// How an epoch runs shoald. A process crash loses nothing acknowledged in any of these:
// even durability none acknowledges only once the write reached the page cache (buffered)
// or the device (direct).
// With `state_delay_ms`, streams stay CREATING / UPDATING / DELETING that long (as on AWS)
// and the pending change lives in the catalog, so kills land while one is pending.
struct ServerConfig {
  uint64_t segment_bytes = 256 << 10;
  const char* durability = "always";
  const char* write_mode = "direct";
  int state_delay_ms = 0;
};

ServerConfig EpochConfig(uint64_t epoch) {
  static const ServerConfig kConfigs[] = {
      {256 << 10, "always", "direct", 0},   {256 << 10, "always", "buffered", 0}, {256 << 10, "none", "direct", 0},
      {256 << 10, "always", "direct", 150}, {256 << 10, "interval", "buffered", 0}, {256 << 10, "none", "buffered", 0},
      {256 << 10, "interval", "direct", 0}, {256 << 10, "none", "buffered", 150}};
  return kConfigs[(epoch - 1) % (sizeof kConfigs / sizeof kConfigs[0])];
}

Server StartShoald(const TortureOptions& o, const std::string& data_dir, const std::string& log_path,
                   const ServerConfig& cfg, int kill_after_ms, std::string* error) {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) return *error = "pipe", Server{};
  std::vector<std::string> args = {o.shoald, "--data-dir", data_dir, "--port", "0", "--segment-bytes",
                                   std::to_string(cfg.segment_bytes), "--durability", cfg.durability,
                                   "--write-mode", cfg.write_mode, "--handler-threads", "16"};
  if (cfg.state_delay_ms > 0)
    for (const char* f : {"--create-delay-ms", "--update-delay-ms", "--delete-delay-ms"})
      args.insert(args.end(), {f, std::to_string(cfg.state_delay_ms)});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  std::fflush(stdout);
  std::fflush(stderr);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    if (log >= 0) ::dup2(log, 2);
    ::fexecve(o.shoald_fd, argv.data(), environ);
    ::_exit(127);
  }
  ::close(out[1]);
  if (log >= 0) ::close(log);
  if (pid < 0) return ::close(out[0]), *error = "fork", Server{};
  if (kill_after_ms >= 0) {
    Sleep(kill_after_ms);
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    ::close(out[0]);
    return Server{};
  }
  std::string line;
  const auto deadline = SteadyClock::now() + std::chrono::seconds(120);
  while (line.find('\n') == std::string::npos && SteadyClock::now() < deadline) {
    pollfd pfd{out[0], POLLIN, 0};
    if (::poll(&pfd, 1, 100) <= 0) continue;
    char buf[512];
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n <= 0) break;
    line.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  const size_t at = line.find("http://127.0.0.1:");
  if (line.find('\n') == std::string::npos || at == std::string::npos) {
    ::kill(pid, SIGKILL);
    int st = 0;
    ::waitpid(pid, &st, 0);
    *error = "shoald did not become ready (see " + log_path + "): '" + line + "'";
    return Server{};
  }
  return Server{pid, static_cast<uint16_t>(std::stoi(line.substr(at + 17)))};
}

void KillServer(Server& s) {
  if (s.pid <= 0) return;
  ::kill(s.pid, SIGKILL);
  ::waitpid(s.pid, nullptr, 0);
  s.pid = -1;
}

bool StopServer(Server& s, std::string* error) {
  ::kill(s.pid, SIGTERM);
  int st = 0;
  ::waitpid(s.pid, &st, 0);
  s.pid = -1;
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) return *error = fmt::format("shoald's clean stop ended with {}", st), false;
  return true;
}

// ---------------------------------------------------------------------------------------
// The client side of a cycle

// What the driver knows, shared by the threads of a cycle.
struct Shared {
  std::mutex mu;
  std::vector<Ack> acks;  // this cycle's
  bool keep_puts = true;  // soak: count puts and reads instead of keeping them
  uint64_t puts = 0, reads = 0;
  std::atomic<bool> stop{false};
  std::atomic<bool> server_down{false};
  std::atomic<uint64_t> announced[kMaxProducers] = {};
  std::string failure;  // the first unexpected error
  uint16_t port = 0;
  uint64_t cycle = 0, seed = 0;
  // Soak: a fixed load (see WorkloadParams in tests/testlib/engine_workload.h).
  double put_rate_per_thread = 0;
  int control_interval_ms = 0;

  void Log(const std::vector<Ack>& a) {
    std::lock_guard<std::mutex> l(mu);
    for (const Ack& x : a) {
      if (!keep_puts && (x.type == kAckPut || x.type == kAckRead)) {
        ++(x.type == kAckPut ? puts : reads);
        continue;
      }
      if (x.type == kAckPut) ++puts;
      if (x.type == kAckRead) ++reads;
      acks.push_back(x);
    }
  }
  void Fail(const std::string& why) {
    std::lock_guard<std::mutex> l(mu);
    if (failure.empty()) failure = why;
    stop = true;
  }
  // An error from the server: a transport error means it died (expected: we kill it);
  // anything else is a failure. Returns true if the thread should keep going.
  bool Handle(const Status& st, const std::string& what) {
    if (st.code() == Code::kIOError) {
      server_down = true;
      return false;
    }
    Fail(what + ": " + st.ToString());
    return false;
  }
};

std::string PutBody(const char* stream, const std::vector<uint64_t>& ids, uint64_t uid) {
  std::string b;
  api::JsonWriter w(&b);
  w.BeginObject();
  w.Field("StreamName", stream);
  w.Key("Records");
  w.BeginArray();
  for (uint64_t id : ids) {
    w.BeginObject();
    w.Key("Data");
    w.Blob(DataFor(id, uid));
    w.Field("PartitionKey", KeyFor(id));
    if (auto e = ExplicitFor(id)) w.Field("ExplicitHashKey", FormatHashKey(*e));
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return b;
}

// Puts `ids` and logs the outcome. False when the thread should stop.
bool PutAndLog(Shared& sh, KinesisHttpClient& c, const char* stream, uint8_t stream_no, const std::vector<uint64_t>& ids,
               uint64_t uid) {
  sh.Log({MakeAck(kAckSent, stream_no, 0, 0, ids.back(), uid)});
  const uint64_t producer = IdProducer(ids.back());
  sh.announced[producer].store(IdCounter(ids.back()) + 1, std::memory_order_release);
  auto r = c.Call("PutRecords", PutBody(stream, ids, uid));
  if (!r.ok()) return sh.Handle(r.status(), std::string("PutRecords(") + stream + ")");
  auto entries = ParsePutRecords(*r);
  if (!entries.ok() || entries->size() != ids.size()) {
    sh.Fail("PutRecords response: " + (entries.ok() ? std::string("wrong count") : entries.status().ToString()));
    return false;
  }
  std::vector<Ack> acks;
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto& e = (*entries)[i];
    if (e.ok) {
      acks.push_back(MakeAck(kAckPut, stream_no, e.shard, e.offset, ids[i], uid));
    } else if (e.error.find("resharded") == std::string::npos) {
      // A record routed to a shard a reshard closed meanwhile is not stored; others fail.
      sh.Fail(std::string("PutRecords(") + stream + ") entry: " + e.error);
      return false;
    }
  }
  sh.Log(acks);
  return true;
}

void Producer(Shared& sh, int producer) {
  KinesisHttpClient c("127.0.0.1", sh.port);
  std::mt19937_64 rng(Mix64(sh.seed ^ (sh.cycle << 8) ^ static_cast<uint64_t>(producer)));
  uint64_t counter = 0;
  auto due = SteadyClock::now();
  while (!sh.stop) {
    if (sh.server_down) {
      Sleep(2);
      continue;
    }
    const size_t n = 1 + rng() % 30;
    if (sh.put_rate_per_thread > 0) {
      const auto now = SteadyClock::now();
      if (due < now - std::chrono::seconds(1)) due = now;
      std::this_thread::sleep_until(due);
      due += std::chrono::microseconds(static_cast<int64_t>(1e6 * static_cast<double>(n) / sh.put_rate_per_thread));
    }
    std::vector<uint64_t> ids(n);
    for (auto& id : ids) id = MakeId(sh.cycle, static_cast<uint64_t>(producer), counter++);
    if (!PutAndLog(sh, c, kMainStream, 0, ids, 0)) continue;
    if (rng() % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % 1500));
  }
}

std::vector<ShardDescription> OpenSorted(const StreamDescription& d) {
  std::vector<ShardDescription> open;
  for (auto& s : d.shards)
    if (!s.closed) open.push_back(s);
  std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) { return a.range.start < b.range.start; });
  return open;
}

std::string Body(std::initializer_list<std::pair<const char*, std::string>> strs,
                 std::initializer_list<std::pair<const char*, int64_t>> ints = {}) {
  std::string b;
  api::JsonWriter w(&b);
  w.BeginObject();
  for (auto& [k, v] : strs) w.Field(k, v);
  for (auto& [k, v] : ints) w.FieldInt(k, v);
  w.EndObject();
  return b;
}

// The side stream's state as the client knows it, across cycles.
struct SideState {
  uint64_t uid = 0;          // the incarnation in use (0: none)
  uint64_t pending = 0;      // a create was sent but not acknowledged: its nonce
  uint64_t delete_sent = 0;  // the incarnation a DeleteStream was last sent for
  uint64_t next_nonce = 1;
};

void Control(Shared& sh, SideState& side) {
  KinesisHttpClient c("127.0.0.1", sh.port);
  KinesisHttpReader reader(c);
  std::mt19937_64 rng(Mix64(sh.seed ^ (sh.cycle << 16) ^ 0xc0de));
  uint64_t side_counter = 0;
  auto ok = [&](const Status& st, const std::string& what) { return st.ok() || sh.Handle(st, what); };
  // Where the last cycle left the side stream.
  {
    auto d = reader.Describe(kSideStream);
    if (!d.ok() && d.status().code() != Code::kNotFound) {
      ok(d.status(), "DescribeStream(side)");
      return;
    }
    if (d.ok() && side.uid == 0 && side.pending != 0) {
      side.uid = side.pending;  // created, but the acknowledgement was lost: adopt it
      sh.Log({MakeAck(kAckSideCreated, 1, 0, 0, 0, side.uid)});
    } else if (!d.ok()) {
      side.uid = 0;  // deleted, the acknowledgement lost
    }
    side.pending = 0;
  }
  while (!sh.stop && !sh.server_down) {
    Sleep(sh.control_interval_ms > 0 ? sh.control_interval_ms : static_cast<int>(rng() % 6));
    auto d = reader.Describe(kMainStream);
    if (!ok(d.status(), "DescribeStream(main)")) return;
    // A reshard or retention change is refused while a previous one is pending (UPDATING).
    if (d->status != StreamStatus::kActive) continue;
    const auto open = OpenSorted(*d);
    const uint32_t op = static_cast<uint32_t>(rng() % 100);
    sh.Log({MakeAck(kAckOpIntent, 0, op, 0, 0, 0)});
    Status st;
    std::string what;
    if (op < 22) {
      if (open.size() >= static_cast<size_t>(kMaxOpenShards)) continue;
      const auto& s = open[rng() % open.size()];
      const Uint128 S = s.range.start.value, E = s.range.end.value;
      if (E - S < 3) continue;
      const Uint128 x = (static_cast<Uint128>(rng()) << 64) | rng();
      what = "SplitShard";
      auto r = c.Call("SplitShard", Body({{"StreamName", kMainStream}, {"ShardToSplit", s.shard_id},
                                          {"NewStartingHashKey", FormatHashKey(HashKey{S + 2 + x % (E - S - 2)})}}));
      st = r.status();
    } else if (op < 40) {
      if (open.size() < 2) continue;
      const size_t i = rng() % (open.size() - 1);
      std::string a = open[i].shard_id, b = open[i + 1].shard_id;
      if (rng() % 2) std::swap(a, b);
      what = "MergeShards";
      st = c.Call("MergeShards", Body({{"StreamName", kMainStream}, {"ShardToMerge", a}, {"AdjacentShardToMerge", b}}))
               .status();
    } else if (op < 52) {
      const int64_t n = static_cast<int64_t>(open.size());
      const int64_t lo = (n + 1) / 2, hi = std::min<int64_t>(2 * n, kMaxOpenShards);
      if (hi < lo) continue;
      const int64_t t = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
      what = "UpdateShardCount";
      st = c.Call("UpdateShardCount", Body({{"StreamName", kMainStream}, {"ScalingType", "UNIFORM_SCALING"}},
                                           {{"TargetShardCount", t}}))
               .status();
      if (st.code() == Code::kLimitExceeded) st = Status::Ok();  // 10 per rolling 24 h
    } else if (op < 60) {
      static const int kChoices[] = {24, 48, 168, 8760};
      const int h = kChoices[rng() % 4];
      if (h == d->retention_hours) continue;
      what = "retention";
      st = c.Call(h > d->retention_hours ? "IncreaseStreamRetentionPeriod" : "DecreaseStreamRetentionPeriod",
                  Body({{"StreamName", kMainStream}}, {{"RetentionPeriodHours", h}}))
               .status();
    } else if (op < 88) {
      // With state delays the side stream may be CREATING, UPDATING or DELETING: act only
      // once it settled (ACTIVE, or gone for a create).
      auto sd = reader.Describe(kSideStream);
      if (!sd.ok() && sd.status().code() != Code::kNotFound) {
        ok(sd.status(), "DescribeStream(side)");
        return;
      }
      if (!sd.ok() && side.uid != 0 && side.uid == side.delete_sent) side.uid = 0;  // its delete went through
      if (sd.ok() ? sd->status != StreamStatus::kActive || side.uid == 0 : side.uid != 0) continue;
      if (side.uid == 0) {
        side.pending = side.next_nonce++;
        sh.Log({MakeAck(kAckSideCreateIntent, 1, 0, 0, 0, side.pending)});
        what = "CreateStream(side)";
        st = c.Call("CreateStream", Body({{"StreamName", kSideStream}}, {{"ShardCount", 1 + static_cast<int64_t>(rng() % 3)}}))
                 .status();
        if (st.ok()) {
          side.uid = side.pending;
          side.pending = 0;
          sh.Log({MakeAck(kAckSideCreated, 1, 0, 0, 0, side.uid)});
        }
      } else if (const uint64_t pick = rng() % 6; pick < 2) {
        const auto sopen = OpenSorted(*sd);
        if ((pick == 0 && sopen.size() < 4) || sopen.size() == 1) {
          const auto& x = sopen[rng() % sopen.size()];
          const Uint128 S = x.range.start.value, E = x.range.end.value;
          if (E - S >= 3) {
            const Uint128 r = (static_cast<Uint128>(rng()) << 64) | rng();
            what = "SplitShard(side)";
            st = c.Call("SplitShard", Body({{"StreamName", kSideStream}, {"ShardToSplit", x.shard_id},
                                            {"NewStartingHashKey", FormatHashKey(HashKey{S + 2 + r % (E - S - 2)})}}))
                     .status();
          }
        } else {
          const size_t i = rng() % (sopen.size() - 1);
          what = "MergeShards(side)";
          st = c.Call("MergeShards", Body({{"StreamName", kSideStream}, {"ShardToMerge", sopen[i].shard_id},
                                           {"AdjacentShardToMerge", sopen[i + 1].shard_id}}))
                   .status();
        }
      } else if (pick == 2) {
        sh.Log({MakeAck(kAckSideDeleteIntent, 1, 0, 0, 0, side.uid)});
        side.delete_sent = side.uid;
        what = "DeleteStream(side)";
        st = c.Call("DeleteStream", Body({{"StreamName", kSideStream}})).status();
        if (st.ok()) side.uid = 0;
      } else {
        std::vector<uint64_t> ids(1 + rng() % 10);
        for (auto& id : ids) id = MakeId(sh.cycle, kSideProducer, side_counter++);
        if (!PutAndLog(sh, c, kSideStream, 1, ids, side.uid)) return;
      }
    }
    if (!st.ok()) {
      ok(st, what);
      return;
    }
    sh.Log({MakeAck(kAckOpDone, 0, op, 0, 0, 0)});
  }
}

// The live consumer's checkpoints: they outlive server crashes (and cycles).
struct ConsumerState {
  struct Shard {
    ShardDescription desc;
    std::string checkpoint;  // the last sequence number read ("" none yet)
    uint64_t expect = 0;     // the next offset
    std::map<uint64_t, uint64_t> last_by_producer;
  };
  std::map<std::string, Shard> active;
  std::set<std::string> done;
  std::unordered_set<uint64_t> ids;  // every id read (not in soak: memory)
  bool track_ids = true;
  uint64_t resumed = 0;  // iterators re-created from a checkpoint after a crash
};

void Consumer(Shared& sh, ConsumerState& cs) {
  KinesisHttpClient c("127.0.0.1", sh.port);
  KinesisHttpReader reader(c);
  std::map<std::string, std::string> iterators;  // this cycle's, per shard
  std::mt19937_64 rng(Mix64(sh.seed ^ (sh.cycle << 12) ^ 0xc05));
  while (!sh.stop && !sh.server_down) {
    auto d = reader.Describe(kMainStream);
    if (!d.ok()) {
      if (d.status().code() == Code::kNotFound) {
        Sleep(5);
        continue;
      }
      sh.Handle(d.status(), "consumer: DescribeStream(main)");
      return;
    }
    std::set<std::string> listed;
    for (const auto& s : d->shards) listed.insert(s.shard_id);
    for (const auto& s : d->shards) {
      if (cs.active.count(s.shard_id) || cs.done.count(s.shard_id)) continue;
      bool ready = true;
      for (const auto& par : {s.parent, s.adjacent_parent})
        if (par && listed.count(*par) && !cs.done.count(*par)) ready = false;
      if (ready) cs.active[s.shard_id] = ConsumerState::Shard{s, "", 0, {}};
    }
    bool any = false;
    for (auto it = cs.active.begin(); it != cs.active.end() && !sh.stop;) {
      auto& s = it->second;
      std::string& iter = iterators[it->first];
      if (iter.empty()) {
        const bool resume = !s.checkpoint.empty();
        auto r = c.Call("GetShardIterator",
                        resume ? Body({{"StreamName", kMainStream}, {"ShardId", s.desc.shard_id},
                                       {"ShardIteratorType", "AFTER_SEQUENCE_NUMBER"},
                                       {"StartingSequenceNumber", s.checkpoint}})
                               : Body({{"StreamName", kMainStream}, {"ShardId", s.desc.shard_id},
                                       {"ShardIteratorType", "TRIM_HORIZON"}}));
        if (!r.ok()) return (void)sh.Handle(r.status(), "consumer: GetShardIterator " + s.desc.shard_id);
        const size_t k = r->find("\"ShardIterator\":\"");
        if (k == std::string::npos) return sh.Fail("consumer: GetShardIterator response " + *r);
        iter = r->substr(k + 17, r->find('"', k + 17) - (k + 17));
        cs.resumed += resume;
      }
      auto r = c.Call("GetRecords", Body({{"ShardIterator", iter}}, {{"Limit", static_cast<int64_t>(1 + rng() % 500)}}));
      if (!r.ok()) return (void)sh.Handle(r.status(), "consumer: GetRecords " + s.desc.shard_id);
      auto page = ParseGetRecords(*r, &iter);
      if (!page.ok()) return sh.Fail("consumer: GetRecords " + s.desc.shard_id + ": " + page.status().ToString());
      std::vector<Ack> reads;
      for (const auto& rec : page->records) {
        auto sp = ParseSequenceNumber(rec.sequence_number);
        if (!sp.ok() || sp->shard.index.value != s.desc.index) return sh.Fail("consumer: bad sequence number");
        const uint64_t off = sp->counter - 1;
        const std::string where = "consumer: " + s.desc.shard_id + " offset " + std::to_string(off);
        if (off != s.expect)
          return sh.Fail(where + ": expected offset " + std::to_string(s.expect) +
                         (s.checkpoint.empty() ? "" : " (resumed after " + s.checkpoint + ")"));
        s.expect = off + 1;
        uint64_t id = 0, uid = 0;
        if (rec.data.size() >= 16) std::memcpy(&id, rec.data.data(), 8), std::memcpy(&uid, rec.data.data() + 8, 8);
        if (rec.data.size() < 16 || uid != 0 || IdProducer(id) >= kSideProducer || IdCycle(id) > sh.cycle ||
            (IdCycle(id) == sh.cycle && IdCounter(id) >= sh.announced[IdProducer(id)].load(std::memory_order_acquire)))
          return sh.Fail(where + ": a record that was never sent");
        if (rec.partition_key != KeyFor(id) || rec.data != DataFor(id, 0))
          return sh.Fail(where + ": record " + std::to_string(id) + " differs from what was sent");
        if (!s.desc.range.Contains(HashFor(id))) return sh.Fail(where + ": record outside the shard's range");
        if (cs.track_ids && !cs.ids.insert(id).second)
          return sh.Fail(where + ": record " + std::to_string(id) + " delivered twice");
        auto [pit, fresh] = s.last_by_producer.emplace(IdProducer(id), id);
        if (!fresh) {
          if (pit->second >= id) return sh.Fail(where + ": out of put order");
          pit->second = id;
        }
        s.checkpoint = rec.sequence_number;
        reads.push_back(MakeAck(kAckRead, 0, s.desc.index, off, id, 0));
      }
      sh.Log(reads);
      any |= !page->records.empty();
      if (page->end) {
        if (page->child_shards.empty()) return sh.Fail("consumer: " + s.desc.shard_id + " ended without ChildShards");
        cs.done.insert(it->first);
        iterators.erase(it->first);
        it = cs.active.erase(it);
        continue;
      }
      ++it;
    }
    if (!any) Sleep(2);
  }
}

// ---------------------------------------------------------------------------------------

void PrintFailure(const std::string& m) { std::fprintf(stderr, "torture: FAILED: %s\n", m.c_str()); }

// Waits until no state change is pending on either stream (each is ACTIVE or gone): with
// state delays, one may be pending after a restart, and must complete by itself.
bool WaitSettled(KinesisHttpClient& c, std::string* error, bool* was_pending = nullptr) {
  KinesisHttpReader reader(c);
  const auto deadline = SteadyClock::now() + std::chrono::seconds(60);
  for (const char* stream : {kMainStream, kSideStream}) {
    while (true) {
      auto d = reader.Describe(stream);
      if (!d.ok() && d.status().code() != Code::kNotFound) return *error = d.status().ToString(), false;
      if (!d.ok() || d->status == StreamStatus::kActive) break;
      if (was_pending) *was_pending = true;
      if (SteadyClock::now() > deadline)
        return *error = std::string(stream) + " stayed in a pending state for 60 s after the restart", false;
      Sleep(10);
    }
  }
  return true;
}

bool EnsureMain(KinesisHttpClient& c, Shared& sh, std::string* error) {
  KinesisHttpReader reader(c);
  auto d = reader.Describe(kMainStream);
  if (d.ok()) return WaitSettled(c, error);
  if (d.status().code() != Code::kNotFound) return *error = d.status().ToString(), false;
  auto r = c.Call("CreateStream", Body({{"StreamName", kMainStream}}, {{"ShardCount", 2}}));
  if (!r.ok()) return *error = r.status().ToString(), false;
  sh.Log({MakeAck(kAckMainCreated, 0, 0, 0, 0, 0)});
  return WaitSettled(c, error);
}

int64_t NowMs() { return SystemClock::Default()->NowMs(); }

}  // namespace

int RunServerTorture(const TortureOptions& o) {
  std::printf("torture server: seed %" PRIu64 ", %.1f minutes, up to %" PRIu64 " cycles, shoald %s, work dir %s\n",
              o.seed, o.minutes, o.max_cycles, o.shoald.c_str(), o.work_dir.c_str());
  std::fflush(stdout);
  std::mt19937_64 rng(o.seed);
  const auto t0 = SteadyClock::now();
  const std::string log_path = o.work_dir + "/shoald.stderr";
  uint64_t cycle = 0, epochs = 0, recovery_kills = 0, puts = 0, reads = 0, lost = 0, acked_checked = 0,
           unacked_present = 0, resumed = 0, pending_at_restart = 0, ops[6] = {}, kills_in_op[6] = {}, kills_puts_only = 0;
  bool ok = true;
  std::string error;
  while (ok) {
    if ((o.max_cycles && cycle >= o.max_cycles) || (o.minutes > 0 && SecondsSince(t0) > o.minutes * 60)) break;
    ++epochs;
    const std::string data_dir = o.work_dir + "/server-data." + std::to_string(epochs);
    std::filesystem::remove_all(data_dir);
    StreamVerifier v(PrintFailure);
    SideState side;
    ConsumerState consumer;
    const ServerConfig cfg = EpochConfig(epochs);
    if (o.verbose)
      std::printf("epoch %" PRIu64 ": durability %s, write mode %s, state delays %d ms\n", epochs, cfg.durability,
                  cfg.write_mode, cfg.state_delay_ms);
    Server srv = StartShoald(o, data_dir, log_path, cfg, -1, &error);
    if (srv.pid < 0) {
      std::fprintf(stderr, "torture server: %s\n", error.c_str());
      return 1;
    }
    uint64_t c = 0;
    for (; ok && c < o.epoch_cycles; ++c) {
      if ((o.max_cycles && cycle >= o.max_cycles) || (o.minutes > 0 && SecondsSince(t0) > o.minutes * 60)) break;
      ++cycle;
      Shared sh;
      sh.port = srv.port;
      sh.cycle = c + 1;
      sh.seed = o.seed;
      {
        KinesisHttpClient admin("127.0.0.1", srv.port);
        if (!EnsureMain(admin, sh, &error)) {
          std::fprintf(stderr, "cycle %" PRIu64 ": CreateStream(main): %s\n", cycle, error.c_str());
          ok = false;
          break;
        }
      }
      std::vector<std::thread> threads;
      for (int p = 0; p < kProducers; ++p) threads.emplace_back(Producer, std::ref(sh), p);
      threads.emplace_back(Control, std::ref(sh), std::ref(side));
      threads.emplace_back(Consumer, std::ref(sh), std::ref(consumer));
      // The kill: at a random moment soon after the start, or a random time after the
      // first acknowledged put.
      const bool early = rng() % 4 == 0;
      auto kill_at = SteadyClock::now() + std::chrono::milliseconds(early ? rng() % 300 : 30000);
      bool first = false;
      while (SteadyClock::now() < kill_at && !sh.stop) {
        Sleep(1);
        if (!early && !first) {
          std::lock_guard<std::mutex> l(sh.mu);
          if (sh.puts > 0) first = true, kill_at = SteadyClock::now() + std::chrono::milliseconds(50 + rng() % 2000);
        }
      }
      KillServer(srv);
      sh.stop = true;
      for (auto& t : threads) t.join();
      if (!sh.failure.empty()) {
        std::fprintf(stderr, "cycle %" PRIu64 ": %s\n", cycle, sh.failure.c_str());
        ok = false;
        break;
      }
      bool classified = false;
      for (auto it = sh.acks.rbegin(); !classified && it != sh.acks.rend(); ++it) {
        if (it->type == kAckOpDone) break;
        if (it->type == kAckOpIntent) ++kills_in_op[OpKind(it->shard)], classified = true;
      }
      if (!classified) ++kills_puts_only;
      // Restart at once on the same directory, as a supervisor would; now and then kill
      // it again during recovery first.
      if (rng() % 5 == 0) {
        StartShoald(o, data_dir, log_path, cfg, static_cast<int>(rng() % 300), &error);
        ++recovery_kills;
      }
      srv = StartShoald(o, data_dir, log_path, cfg, -1, &error);
      if (srv.pid < 0) {
        std::fprintf(stderr, "cycle %" PRIu64 ": restart: %s\n", cycle, error.c_str());
        ok = false;
        break;
      }
      KinesisHttpClient vc("127.0.0.1", srv.port);
      KinesisHttpReader reader(vc);
      bool was_pending = false;
      if (!WaitSettled(vc, &error, &was_pending)) {
        std::fprintf(stderr, "cycle %" PRIu64 ": %s\n", cycle, error.c_str());
        ok = false;
        break;
      }
      pending_at_restart += was_pending;
      ok = v.Fold(sh.acks) && v.Check(reader, c + 1, NowMs());
      if (o.verbose)
        std::printf("cycle %" PRIu64 " (epoch %" PRIu64 "): %zu acks, %zu main records, %zu shards, consumer at %zu "
                    "records, %.0f s\n",
                    cycle, epochs, sh.acks.size(), v.main_records(), v.main_shards_known(), consumer.ids.size(),
                    SecondsSince(t0));
      std::fflush(stdout);
    }
    // A clean stop and start must see the same.
    if (ok && StopServer(srv, &error)) {
      srv = StartShoald(o, data_dir, log_path, cfg, -1, &error);
      if (srv.pid < 0) {
        ok = false;
      } else {
        KinesisHttpClient vc("127.0.0.1", srv.port);
        KinesisHttpReader reader(vc);
        ok = WaitSettled(vc, &error) && v.Check(reader, c + 1, NowMs()) && StopServer(srv, &error);
      }
    } else if (ok) {
      ok = false;
    }
    if (!ok && !error.empty()) std::fprintf(stderr, "torture server: %s\n", error.c_str());
    KillServer(srv);
    const VerifyTotals& t = v.totals();
    puts += t.puts_acked;
    reads += t.reads_folded;
    lost += t.lost;
    acked_checked += t.acked_verified;
    unacked_present += t.unacked_found;
    resumed += consumer.resumed;
    for (int i = 0; i < 6; ++i) ops[i] += t.ops[i];
    if (ok) std::filesystem::remove_all(data_dir);
  }
  std::printf("torture server: %s cycles=%" PRIu64 " epochs=%" PRIu64 " shoald-sigkills=%" PRIu64
              " (of which during recovery %" PRIu64 ") restarts-with-a-pending-state-change=%" PRIu64
              " kills: split=%" PRIu64 " merge=%" PRIu64 " usc=%" PRIu64
              " retention=%" PRIu64 " side=%" PRIu64 " puts-only=%" PRIu64 "\n",
              ok ? "PASS" : "FAIL", cycle, epochs, cycle + recovery_kills, recovery_kills, pending_at_restart, kills_in_op[0],
              kills_in_op[1], kills_in_op[2], kills_in_op[3], kills_in_op[4], kills_puts_only);
  std::printf("torture server: acked=%" PRIu64 " acked-checked=%" PRIu64 " live-reads=%" PRIu64
              " consumer-resumes=%" PRIu64 " lost=%" PRIu64 " unacked-present=%" PRIu64 " control-ops: split=%" PRIu64
              " merge=%" PRIu64 " usc=%" PRIu64 " retention=%" PRIu64 " side=%" PRIu64 " %.0f s\n",
              puts, acked_checked, reads, resumed, lost, unacked_present, ops[0], ops[1], ops[2], ops[3], ops[4],
              SecondsSince(t0));
  return ok ? 0 : 1;
}

int RunServerSoak(const TortureOptions& o) {
  const double minutes = o.minutes > 0 ? o.minutes : 2;
  std::printf("torture server soak: seed %" PRIu64 ", %.1f minutes, shoald %s\n", o.seed, minutes, o.shoald.c_str());
  std::fflush(stdout);
  const std::string data_dir = o.work_dir + "/server-soak";
  std::filesystem::remove_all(data_dir);
  std::string error;
  // Real segments (8 MiB): the server's clock is real, so nothing expires in a soak and
  // the data only grows; what must stay bounded is what the process holds for it.
  Server srv = StartShoald(o, data_dir, o.work_dir + "/shoald.stderr", ServerConfig{8 << 20}, -1, &error);
  if (srv.pid < 0) return std::fprintf(stderr, "%s\n", error.c_str()), 1;
  Shared sh;
  sh.port = srv.port;
  sh.cycle = 1;
  sh.seed = o.seed;
  sh.keep_puts = false;
  sh.put_rate_per_thread = 500;  // 3 x 500 records/s
  // The real clock keeps every closed shard (and its memory and files) for 24 h, so the
  // retained topology grows with every reshard: one control operation a second keeps that
  // growth small next to the margins. Resharding and trimming at full rate is the embedded
  // soak's part; this one is about the server (connections, requests, handlers).
  sh.control_interval_ms = 1000;
  SideState side;
  ConsumerState consumer;
  consumer.track_ids = false;
  {
    KinesisHttpClient admin("127.0.0.1", srv.port);
    if (!EnsureMain(admin, sh, &error)) return std::fprintf(stderr, "CreateStream: %s\n", error.c_str()), 1;
  }
  const auto t0 = SteadyClock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < kProducers; ++p) threads.emplace_back(Producer, std::ref(sh), p);
  // Control returns only on a failure (or stop); the loop is for symmetry with the cycles.
  std::thread control([&] {
    while (!sh.stop && !sh.server_down) Control(sh, side);
  });
  threads.emplace_back(Consumer, std::ref(sh), std::ref(consumer));
  std::vector<ProcessSample> samples;
  while (!sh.stop && SecondsSince(t0) < minutes * 60) {
    ProcessSample s;
    s.t_s = SecondsSince(t0);
    if (SampleProcess(srv.pid, data_dir, &s)) samples.push_back(s);
    if (o.verbose && samples.size() % 30 == 0)
      std::printf("soak %.0f s: rss %" PRIu64 " KiB, fds %" PRIu64 ", maps %" PRIu64 ", %" PRIu64 " puts\n", s.t_s,
                  s.rss_kib, s.fds, s.maps, sh.puts);
    std::fflush(stdout);
    Sleep(1000);
  }
  sh.stop = true;
  for (auto& t : threads) t.join();
  control.join();
  bool ok = sh.failure.empty() && !sh.server_down;
  if (!sh.failure.empty()) std::fprintf(stderr, "soak: %s\n", sh.failure.c_str());
  if (sh.server_down) std::fprintf(stderr, "soak: shoald went away during the soak (see its stderr)\n");
  // Then verify what is stored (everything: nothing expires with the real clock).
  StreamVerifier v(PrintFailure);
  if (ok) {
    KinesisHttpClient vc("127.0.0.1", srv.port);
    KinesisHttpReader reader(vc);
    ok = v.Fold(sh.acks) && v.Check(reader, 1, NowMs());
  }
  if (ok && !StopServer(srv, &error)) std::fprintf(stderr, "soak: %s\n", error.c_str()), ok = false;
  KillServer(srv);
  std::vector<ProcessSample> steady;
  const double warm = std::max(30.0, minutes * 60 * 0.2);
  for (const auto& s : samples)
    if (s.t_s >= warm) steady.push_back(s);
  // Margins as in the embedded soak (see there). With the real clock nothing expires, so
  // the data only grows, and with it what legitimately follows the data: the engine maps
  // every segment it keeps (one mapping each) and VmRSS counts the file pages of those
  // mappings that were read. Bounded must be what does not follow the data: anonymous
  // memory, open fds, and mappings beyond one per segment file.
  for (auto r : {CheckBounded(steady, "anonymous RSS (KiB)", &ProcessSample::rss_anon_kib, 1.5, 64 << 10),
                 CheckBounded(steady, "open fds", &ProcessSample::fds, 1.5, 64),
                 CheckBounded(steady, "mappings beyond one per segment", &ProcessSample::maps_beyond_segments, 1.5,
                              64)})
    if (!r.empty()) std::fprintf(stderr, "soak: FAILED: %s\n", r.c_str()), ok = false;
  auto show = [&](const char* what, uint64_t ProcessSample::*f) {
    if (steady.size() < 6) return;
    const size_t third = steady.size() / 3;
    double a = 0, b = 0;
    uint64_t hi = 0;
    for (size_t i = 0; i < third; ++i) a += static_cast<double>(steady[i].*f);
    for (size_t i = steady.size() - third; i < steady.size(); ++i) b += static_cast<double>(steady[i].*f);
    for (const auto& s : steady) hi = std::max(hi, s.*f);
    std::printf("torture server soak: %s first-third-mean=%.0f last-third-mean=%.0f max=%" PRIu64
                " (first sample %" PRIu64 ", last %" PRIu64 ")\n",
                what, a / static_cast<double>(third), b / static_cast<double>(third), hi, samples.front().*f,
                samples.back().*f);
  };
  show("rss_kib", &ProcessSample::rss_kib);
  show("rss_anon_kib", &ProcessSample::rss_anon_kib);
  show("fds", &ProcessSample::fds);
  show("maps", &ProcessSample::maps);
  show("segment_files", &ProcessSample::segments);
  show("maps_beyond_segments", &ProcessSample::maps_beyond_segments);
  std::printf("torture server soak: %s %.0f s, %zu samples, puts-acked=%" PRIu64 " live-reads=%" PRIu64
              " final-check records read=%" PRIu64 " shards=%zu\n",
              ok ? "PASS" : "FAIL", SecondsSince(t0), samples.size(), sh.puts, sh.reads, v.totals().records_read,
              v.totals().max_shards);
  if (ok) std::filesystem::remove_all(data_dir);
  return ok ? 0 : 1;
}

}  // namespace shoal::torture
