#include "tests/testlib/engine_workload.h"

#include <sys/prctl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "kernel/sequence_number.h"
#include "tests/testlib/torture_records.h"

namespace shoal::torture {

namespace {

constexpr int kMaxOpenShards = 10;

[[noreturn]] void Die(const std::string& why) {
  std::string msg = "[torture workload " + std::to_string(::getpid()) + "] " + why + "\n";
  ssize_t ignored = ::write(2, msg.data(), msg.size());
  (void)ignored;
  ::_exit(kWorkloadFailed);
}

void Report(int fd, const std::vector<Ack>& acks) {
  if (!WriteAcks(fd, acks)) Die("ack write failed: " + std::string(std::strerror(errno)));
}

// Per producer: counters below this have been announced (kAckSent) and may be stored.
std::atomic<uint64_t> g_announced[kMaxProducers];

void Putter(Engine* engine, const WorkloadParams& p, int producer) {
  std::mt19937_64 rng(Mix64(p.seed ^ (p.cycle << 8) ^ static_cast<uint64_t>(producer)));
  uint64_t counter = 0;
  std::vector<uint64_t> ids;
  std::vector<std::string> keys, datas;
  std::vector<PutInput> batch;
  std::vector<Ack> acks;
  auto due = std::chrono::steady_clock::now();
  while (true) {
    const size_t n = 1 + rng() % 30;
    if (p.put_rate_per_thread > 0) {
      // Paced: a batch of n is due n / rate seconds after the previous one; a backlog
      // older than a second is forgiven rather than made up in a burst.
      const auto now = std::chrono::steady_clock::now();
      if (due < now - std::chrono::seconds(1)) due = now;
      std::this_thread::sleep_until(due);
      due += std::chrono::microseconds(static_cast<int64_t>(1e6 * static_cast<double>(n) / p.put_rate_per_thread));
    }
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
    Report(p.ack_fd, {MakeAck(kAckSent, 0, 0, 0, ids.back(), 0)});
    g_announced[producer].store(counter, std::memory_order_release);
    Status st;
    auto out = engine->PutRecords(kMainStream, batch, &st);
    if (!st.ok()) Die("PutRecords(main): " + st.ToString());
    acks.clear();
    for (size_t i = 0; i < n; ++i) {
      if (!out[i].status.ok()) {
        // A record routed to a shard that a reshard closed meanwhile is not stored.
        if (out[i].status.code() == Code::kInternal && out[i].status.message().find("resharded") != std::string::npos)
          continue;
        Die("PutRecords(main) entry: " + out[i].status.ToString());
      }
      acks.push_back(MakeAck(kAckPut, 0, out[i].shard_index, out[i].offset, ids[i], 0));
    }
    Report(p.ack_fd, acks);
    // Pause now and then: the stream lock lets new puts overtake a waiting reshard
    // (reader preference), so back-to-back puts from two threads can starve the control
    // thread for seconds (see EngineReshardTest.ReshardIsNotStarvedByConcurrentPuts).
    if (rng() % 3 == 0) std::this_thread::sleep_for(std::chrono::microseconds(500 + rng() % 1500));
  }
}

// Follows main's lineage as a Kinesis consumer would and checks each record as it reads
// it: dense offsets (or a jump forward past what retention trimmed, in soak runs), the
// bytes regenerate from the id, the id was announced, the hash key is in the shard's
// range, and each producer's records come in put order within the shard.
void LiveConsumer(Engine* e, const WorkloadParams& p) {
  struct Cursor {
    ShardDescription desc;
    std::optional<ShardPosition> pos;
    uint64_t expect = 0;
    bool first = true;
    std::map<uint64_t, uint64_t> last_by_producer;
  };
  std::map<std::string, Cursor> active;
  std::set<std::string> done;
  std::vector<Ack> reads;
  std::mt19937_64 rng(Mix64(p.seed ^ (p.cycle << 12) ^ 0xc05));
  while (true) {
    auto d = e->DescribeStream(kMainStream);
    if (!d.ok()) {
      if (d.status().code() != Code::kNotFound) Die("consumer: DescribeStream(main): " + d.status().ToString());
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    std::set<std::string> listed;
    for (const auto& s : d->shards) listed.insert(s.shard_id);
    for (const auto& s : d->shards) {
      if (active.count(s.shard_id) || done.count(s.shard_id)) continue;
      bool ready = true;
      for (const auto& par : {s.parent, s.adjacent_parent})
        if (par && listed.count(*par) && !done.count(*par)) ready = false;
      if (!ready) continue;
      auto pos = e->GetPosition(kMainStream, s.index, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
      if (!pos.ok()) Die("consumer: TRIM_HORIZON of " + s.shard_id + ": " + pos.status().ToString());
      active[s.shard_id] = Cursor{s, *pos};
    }
    bool any = false;
    for (auto it = active.begin(); it != active.end();) {
      Cursor& c = it->second;
      auto r = e->GetRecords(kMainStream, *c.pos, 1 + rng() % 500);
      if (!r.ok()) Die("consumer: GetRecords " + c.desc.shard_id + ": " + r.status().ToString());
      for (const ReadRecord& rec : r->records) {
        auto sp = ParseSequenceNumber(rec.sequence_number);
        if (!sp.ok() || sp->shard.index.value != c.desc.index) Die("consumer: bad sequence number " + rec.sequence_number);
        const uint64_t off = sp->counter - 1;
        const std::string where = "consumer: " + c.desc.shard_id + " offset " + std::to_string(off);
        if (c.first && p.soak) c.expect = off;
        if (off != c.expect && !(p.soak && off > c.expect))
          Die(where + ": expected offset " + std::to_string(c.expect));
        c.first = false;
        c.expect = off + 1;
        if (rec.data.size() < 16) Die(where + ": a record that was never sent");
        uint64_t id, uid;
        std::memcpy(&id, rec.data.data(), 8);
        std::memcpy(&uid, rec.data.data() + 8, 8);
        if (uid != 0 || IdProducer(id) >= kSideProducer || IdCycle(id) > p.cycle ||
            (IdCycle(id) == p.cycle && IdCounter(id) >= g_announced[IdProducer(id)].load(std::memory_order_acquire)))
          Die(where + ": record " + std::to_string(id) + " was never sent");
        if (rec.partition_key != KeyFor(id) || rec.data != DataFor(id, 0))
          Die(where + ": record " + std::to_string(id) + " differs from what was sent");
        if (!c.desc.range.Contains(HashFor(id))) Die(where + ": record " + std::to_string(id) + " outside the range");
        auto [pit, fresh] = c.last_by_producer.emplace(IdProducer(id), id);
        if (!fresh) {
          if (pit->second >= id) Die(where + ": record " + std::to_string(id) + " after " + std::to_string(pit->second));
          pit->second = id;
        }
        reads.push_back(MakeAck(kAckRead, 0, c.desc.index, off, id, 0));
      }
      // Reported before the next read: a record read must survive any crash after this.
      Report(p.ack_fd, reads);
      reads.clear();
      any |= !r->records.empty();
      if (!r->next) {
        if (!c.desc.closed) {
          auto again = e->DescribeStream(kMainStream);
          if (!again.ok()) Die("consumer: DescribeStream(main): " + again.status().ToString());
          bool closed = false;
          for (const auto& s : again->shards) closed |= s.shard_id == c.desc.shard_id && s.closed;
          if (!closed) Die("consumer: " + c.desc.shard_id + " ended but is open");
        }
        if (r->child_shards.empty()) Die("consumer: " + c.desc.shard_id + " ended without ChildShards");
        done.insert(it->first);
        it = active.erase(it);
        continue;
      }
      c.pos = r->next;
      ++it;
    }
    if (!any) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::vector<ShardDescription> OpenShardsSorted(Engine* e, const char* stream) {
  auto d = e->DescribeStream(stream);
  if (!d.ok()) Die(std::string("DescribeStream(") + stream + "): " + d.status().ToString());
  std::vector<ShardDescription> open;
  for (auto& s : d->shards)
    if (!s.closed) open.push_back(s);
  std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) { return a.range.start < b.range.start; });
  return open;
}

HashKey RandomInside(std::mt19937_64& rng, const HashKeyRange& r) {
  const Uint128 S = r.start.value, E = r.end.value;
  const Uint128 x = (static_cast<Uint128>(rng()) << 64) | rng();
  return HashKey{S + 2 + x % (E - S - 2)};
}

[[noreturn]] void Loop(const WorkloadParams& p) {
  if (p.parent != 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != p.parent) ::_exit(kWorkloadFailed);
  }
  const int fd = p.ack_fd;
  auto clock = std::make_shared<ScaledClock>(p.clock_offset_ms, p.clock_speed);
  auto opened = Engine::Open(p.data_dir, WorkloadEngineOptions(clock, p.durability, p.write_mode));
  if (!opened.ok()) Die("Engine::Open: " + opened.status().ToString());
  // Never destroyed: the process only ends by SIGKILL or _exit (an exception unwinding
  // into ~Engine while the put threads use it would crash instead of reporting).
  Engine* e = std::move(opened).value().release();
  std::mt19937_64 rng(Mix64(p.seed ^ (p.cycle << 16) ^ 0xc0de));
  const int main_floor = p.soak ? 24 : 2000;

  auto d = e->DescribeStream(kMainStream);
  if (!d.ok()) {
    Status st = e->CreateStream(kMainStream, 2);
    if (!st.ok()) Die("CreateStream(main): " + st.ToString());
    Report(fd, {MakeAck(kAckMainCreated, 0, 0, 0, 0, 0)});
    d = e->DescribeStream(kMainStream);
    if (!d.ok()) Die("DescribeStream(main) after create: " + d.status().ToString());
  }
  if (!p.soak && d->retention_hours < 2000) {
    Status st = e->SetRetention(kMainStream, 4000, true);
    if (!st.ok()) Die("SetRetention(main, 4000): " + st.ToString());
  }
  uint64_t side_uid = 0;
  if (auto sd = e->DescribeStream(kSideStream); sd.ok()) {
    // Possibly created by a process killed before it acknowledged the creation: adopt it.
    side_uid = sd->uid;
    Report(fd, {MakeAck(kAckSideCreated, 1, 0, 0, 0, side_uid)});
  }

  std::vector<std::thread> threads;
  for (int t = 0; t < p.put_threads; ++t) threads.emplace_back([&, t] { Putter(e, p, t); });
  if (p.live_consumer) threads.emplace_back([&] { LiveConsumer(e, p); });

  uint64_t side_counter = 0;
  while (true) {
    std::this_thread::sleep_for(std::chrono::milliseconds(p.control_interval_ms > 0 ? p.control_interval_ms : rng() % 6));
    const uint64_t op = rng() % 100;
    const auto open = OpenShardsSorted(e, kMainStream);
    Report(fd, {MakeAck(kAckOpIntent, 0, static_cast<uint32_t>(op), 0, 0, 0)});
    if (op < 22) {  // split
      if (open.size() >= static_cast<size_t>(kMaxOpenShards)) continue;
      const auto& s = open[rng() % open.size()];
      if (s.range.end.value - s.range.start.value < 3) continue;
      Status st = e->SplitShard(kMainStream, s.index, RandomInside(rng, s.range));
      if (!st.ok()) Die("SplitShard(" + std::to_string(s.index) + "): " + st.ToString());
    } else if (op < 40) {  // merge
      if (open.size() < 2) continue;
      const size_t i = rng() % (open.size() - 1);
      uint32_t a = open[i].index, b = open[i + 1].index;
      if (rng() % 2) std::swap(a, b);
      Status st = e->MergeShards(kMainStream, a, b);
      if (!st.ok()) Die("MergeShards(" + std::to_string(a) + ", " + std::to_string(b) + "): " + st.ToString());
    } else if (op < 52) {  // UpdateShardCount
      const int64_t c = static_cast<int64_t>(open.size());
      const int64_t lo = (c + 1) / 2, hi = std::min<int64_t>(2 * c, kMaxOpenShards);
      if (hi < lo) continue;
      const int64_t t = lo + static_cast<int64_t>(rng() % static_cast<uint64_t>(hi - lo + 1));
      auto r = e->UpdateShardCount(kMainStream, t);
      if (!r.ok() && r.status().code() != Code::kLimitExceeded)
        Die("UpdateShardCount(" + std::to_string(t) + "): " + r.status().ToString());
    } else if (op < 60) {  // retention
      static const int kCrash[] = {2000, 3000, 4000, 8760};
      static const int kSoak[] = {24, 30, 36, 48};
      auto cur = e->DescribeStream(kMainStream);
      if (!cur.ok()) Die("DescribeStream(main): " + cur.status().ToString());
      const int h = (p.soak ? kSoak : kCrash)[rng() % 4];
      if (h < main_floor) Die("retention choice below the floor");
      Status st = e->SetRetention(kMainStream, h, h >= cur->retention_hours);
      if (!st.ok()) Die("SetRetention(" + std::to_string(h) + "): " + st.ToString());
    } else if (op < 88) {  // side stream
      if (side_uid == 0) {
        Report(fd, {MakeAck(kAckSideCreateIntent, 1, 0, 0, 0, 0)});
        Status st = e->CreateStream(kSideStream, 1 + static_cast<int64_t>(rng() % 3));
        if (!st.ok()) Die("CreateStream(side): " + st.ToString());
        auto sd = e->DescribeStream(kSideStream);
        if (!sd.ok()) Die("DescribeStream(side): " + sd.status().ToString());
        side_uid = sd->uid;
        Report(fd, {MakeAck(kAckSideCreated, 1, 0, 0, 0, side_uid)});
      } else if (const uint64_t pick = rng() % 6; pick < 2) {  // reshard the side stream
        const auto sopen = OpenShardsSorted(e, kSideStream);
        Status st;
        if ((pick == 0 && sopen.size() < 4) || sopen.size() == 1) {
          const auto& x = sopen[rng() % sopen.size()];
          if (x.range.end.value - x.range.start.value >= 3) st = e->SplitShard(kSideStream, x.index, RandomInside(rng, x.range));
        } else {
          const size_t i = rng() % (sopen.size() - 1);
          st = e->MergeShards(kSideStream, sopen[i].index, sopen[i + 1].index);
        }
        if (!st.ok()) Die("reshard side: " + st.ToString());
      } else if (pick == 2) {
        Report(fd, {MakeAck(kAckSideDeleteIntent, 1, 0, 0, 0, side_uid)});
        Status st = e->DeleteStream(kSideStream);
        if (!st.ok()) Die("DeleteStream(side): " + st.ToString());
        side_uid = 0;
      } else {
        const size_t n = 1 + rng() % 10;
        std::vector<uint64_t> ids(n);
        std::vector<std::string> keys(n), datas(n);
        std::vector<PutInput> batch(n);
        for (size_t i = 0; i < n; ++i) {
          ids[i] = MakeId(p.cycle, kSideProducer, side_counter++);
          keys[i] = KeyFor(ids[i]);
          datas[i] = DataFor(ids[i], side_uid);
          batch[i] = PutInput{keys[i], datas[i], ExplicitFor(ids[i])};
        }
        Report(fd, {MakeAck(kAckSent, 1, 0, 0, ids.back(), side_uid)});
        Status st;
        auto out = e->PutRecords(kSideStream, batch, &st);
        if (!st.ok()) Die("PutRecords(side): " + st.ToString());
        std::vector<Ack> acks;
        for (size_t i = 0; i < n; ++i) {
          if (!out[i].status.ok()) Die("PutRecords(side) entry: " + out[i].status.ToString());
          acks.push_back(MakeAck(kAckPut, 1, out[i].shard_index, out[i].offset, ids[i], side_uid));
        }
        Report(fd, acks);
      }
    } else {
      e->Tick();
    }
    Report(fd, {MakeAck(kAckOpDone, 0, static_cast<uint32_t>(op), 0, 0, 0)});
  }
}

}  // namespace

ScaledClock::ScaledClock(int64_t offset_ms, double speed)
    : start_ms_(SystemClock::Default()->NowMs()), offset_ms_(offset_ms), speed_(speed) {}

int64_t ScaledClock::NowMs() const {
  const int64_t real = SystemClock::Default()->NowMs();
  return start_ms_ + offset_ms_ + static_cast<int64_t>(static_cast<double>(real - start_ms_) * speed_);
}

EngineOptions WorkloadEngineOptions(std::shared_ptr<Clock> clock, Durability durability, WriteMode write_mode) {
  EngineOptions o;
  o.clock = std::move(clock);
  o.sweep_interval_ms = 0;
  o.log.segment_bytes = 64 << 10;
  o.log.durability = durability;
  o.log.write_mode = write_mode;
  return o;
}

[[noreturn]] void RunEngineWorkload(const WorkloadParams& p) {
  try {
    Loop(p);
  } catch (const std::exception& ex) {
    Die(std::string("exception: ") + ex.what());
  } catch (...) {
    Die("unknown exception");
  }
}

}  // namespace shoal::torture
