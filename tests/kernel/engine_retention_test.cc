// Engine retention (spec resharding-and-limits.md §7, kinesis-data-streams.md §2.8, §3.11):
// record-precision visibility with a ManualClock, TRIM_HORIZON moving forward, increase
// never resurrecting, decrease hiding at once, the 24..8760 bounds and direction errors,
// the sweeper (Tick) deleting segment files without stalling puts, and closed shards
// expiring (gone from DescribeStream, GetPosition -> kNotFound, directory removed).
#include <sys/stat.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/file_system.h"
#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1700000000000;
constexpr int64_t kHourMs = 3600 * 1000;
constexpr int64_t kDayMs = 24 * kHourMs;

// Forwards everything to the real file system; when armed, the armed thread's first Rename
// onto a ".../log.meta" (a retention trim persisting its start offset) blocks until
// released.
class GateFileSystem final : public io::FileSystem {
 public:
  explicit GateFileSystem(std::shared_ptr<io::FileSystem> base) : base_(std::move(base)) {}
  // Arms the gate for the calling thread only.
  void ArmForThisThread() {
    std::lock_guard lk(mu_);
    armed_ = true;
    armed_for_ = std::this_thread::get_id();
    entered_ = false;
    released_ = false;
  }
  // Waits (bounded, as a safety net only) until a trim is blocked in the gate.
  bool WaitEntered() {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, std::chrono::seconds(60), [&] { return entered_; });
  }
  void Release() {
    std::lock_guard lk(mu_);
    released_ = true;
    armed_ = false;
    cv_.notify_all();
  }

  Result<io::UniqueFd> Open(const std::string& path, io::OpenOptions options) override {
    return base_->Open(path, options);
  }
  Status Pwrite(int fd, const void* data, size_t len, uint64_t offset) override {
    return base_->Pwrite(fd, data, len, offset);
  }
  Result<size_t> Pread(int fd, void* data, size_t len, uint64_t offset) override {
    return base_->Pread(fd, data, len, offset);
  }
  Status Fdatasync(int fd) override { return base_->Fdatasync(fd); }
  Status Fallocate(int fd, uint64_t offset, uint64_t len) override { return base_->Fallocate(fd, offset, len); }
  Status Truncate(int fd, uint64_t len) override { return base_->Truncate(fd, len); }
  Result<uint64_t> FileSize(int fd) override { return base_->FileSize(fd); }
  Status Rename(const std::string& from, const std::string& to) override {
    if (to.size() >= 9 && to.compare(to.size() - 9, 9, "/log.meta") == 0) {
      std::unique_lock lk(mu_);
      if (armed_ && !entered_ && std::this_thread::get_id() == armed_for_) {
        entered_ = true;
        cv_.notify_all();
        cv_.wait(lk, [&] { return released_; });
      }
    }
    return base_->Rename(from, to);
  }
  Status Unlink(const std::string& path) override { return base_->Unlink(path); }
  Status MakeDir(const std::string& path) override { return base_->MakeDir(path); }
  Status RemoveDir(const std::string& path) override { return base_->RemoveDir(path); }
  Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  Result<std::vector<std::string>> ListDir(const std::string& path) override { return base_->ListDir(path); }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Result<io::UniqueFd> LockFile(const std::string& path) override { return base_->LockFile(path); }
  Result<io::MappedRegion> Map(int fd, size_t len, const std::string& what) override {
    return base_->Map(fd, len, what);
  }
  Result<std::unique_ptr<io::IoQueue>> NewIoQueue(unsigned depth) override { return base_->NewIoQueue(depth); }

 private:
  std::shared_ptr<io::FileSystem> base_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  std::thread::id armed_for_;
  bool entered_ = false;
  bool released_ = false;
};

class EngineRetentionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(kT0);
    Open();
  }
  void Open() {
    EngineOptions o;
    o.clock = clock_;
    o.fs = fs_;
    o.sweep_interval_ms = 0;
    o.log.segment_bytes = 64 << 10;
    o.update_delay_ms = update_delay_ms_;
    auto e = Engine::Open(data(), o);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(e).value();
  }
  // Close() also drains the engine's background work (file deletions).
  void Reopen() {
    ASSERT_TRUE(engine_->Close().ok());
    engine_.reset();
    Open();
  }
  std::string data() const { return dir_.Sub("data"); }

  void Put(const std::string& stream, const std::string& d, std::optional<HashKey> ehk = std::nullopt) {
    auto r = engine_->PutRecord(stream, PutInput{"pk", d, ehk});
    ASSERT_TRUE(r.ok()) << r.status();
  }
  std::vector<std::string> ReadShard(const std::string& stream, uint32_t shard,
                                     PositionType t = PositionType::kTrimHorizon,
                                     std::optional<int64_t> ts = std::nullopt) {
    std::vector<std::string> out;
    auto pos = engine_->GetPosition(stream, shard, t, std::nullopt, ts);
    EXPECT_TRUE(pos.ok()) << pos.status();
    if (!pos.ok()) return out;
    std::optional<ShardPosition> p = *pos;
    for (int guard = 0; p && guard < 100000; ++guard) {
      auto r = engine_->GetRecords(stream, *p, 1000);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      for (auto& rec : r->records) out.emplace_back(rec.data);
      if (r->records.empty() && r->next) break;
      p = r->next;
    }
    return out;
  }
  // The stream's directory (streams/<escaped>.<uid hex>).
  std::string StreamDir(const std::string& name) {
    auto d = engine_->DescribeStream(name);
    EXPECT_TRUE(d.ok());
    return fmt::format("{}/streams/{}.{:016x}", data(), name, d->uid);
  }
  static std::vector<std::string> Segments(const std::string& dir) {
    std::vector<std::string> v;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir, ec)) {
      std::string n = e.path().filename().string();
      if (n.size() > 4 && n.compare(n.size() - 4, 4, ".seg") == 0) v.push_back(n);
    }
    std::sort(v.begin(), v.end());
    return v;
  }

  testing::TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  std::shared_ptr<io::FileSystem> fs_;
  int64_t update_delay_ms_ = 0;
  std::unique_ptr<Engine> engine_;
};

// §7: a record is visible while now - arrival < retention. One ms before: visible; at
// exactly the retention period: gone. Checked for GetRecords from TRIM_HORIZON, from an
// older position, and with AT_TIMESTAMP.
TEST_F(EngineRetentionTest, RecordPrecisionBoundary) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  auto early = engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  ASSERT_TRUE(early.ok());
  clock_->SetMs(kT0 + 1000);
  Put("s", "a");
  clock_->SetMs(kT0 + 1010);
  Put("s", "b");

  clock_->SetMs(kT0 + 1000 + kDayMs - 1);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"a", "b"})) << "one ms before retention";
  clock_->SetMs(kT0 + 1000 + kDayMs);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"b"})) << "a is exactly 24 h old: no longer visible";
  {
    auto r = engine_->GetRecords("s", *early, 100);
    ASSERT_TRUE(r.ok());
    ASSERT_FALSE(r->records.empty());
    EXPECT_EQ(r->records[0].data, "b") << "a position before the horizon continues at the horizon";
  }
  EXPECT_EQ(ReadShard("s", 0, PositionType::kAtTimestamp, kT0), (std::vector<std::string>{"b"}));
  clock_->SetMs(kT0 + 1010 + kDayMs - 1);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"b"}));
  clock_->SetMs(kT0 + 1010 + kDayMs);
  EXPECT_TRUE(ReadShard("s", 0).empty()) << "b is exactly 24 h old";
  // The sweeper agrees with the reads and a reopen changes nothing.
  engine_->Tick();
  EXPECT_TRUE(ReadShard("s", 0).empty());
  Reopen();
  EXPECT_TRUE(ReadShard("s", 0).empty());
}

// The same boundary well inside (1 ms past): independent of the exact-instant rule.
TEST_F(EngineRetentionTest, RecordsVanishOneMsPastRetention) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  clock_->SetMs(kT0 + 1000);
  Put("s", "a");
  clock_->SetMs(kT0 + 1010);
  Put("s", "b");
  clock_->SetMs(kT0 + 1000 + kDayMs - 1);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"a", "b"}));
  clock_->SetMs(kT0 + 1001 + kDayMs);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"b"}));
  clock_->SetMs(kT0 + 1011 + kDayMs);
  EXPECT_TRUE(ReadShard("s", 0).empty());
}

TEST_F(EngineRetentionTest, TrimHorizonMovesForward) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  for (int h = 0; h < 30; ++h) {
    clock_->SetMs(kT0 + h * kHourMs);
    Put("s", "h" + std::to_string(h));
  }
  uint64_t last_offset = 0;
  for (int h = 29; h < 53; ++h) {
    // At kT0 + h hours + 1 ms the records of hours <= h - 24 are gone.
    clock_->SetMs(kT0 + h * kHourMs + 1);
    const int first = std::max(0, h - 23);
    auto got = ReadShard("s", 0);
    ASSERT_EQ(got.size(), static_cast<size_t>(30 - first)) << "at hour " << h;
    EXPECT_EQ(got.front(), "h" + std::to_string(first)) << "at hour " << h;
    if (h % 5 == 0) {
      engine_->Tick();
      EXPECT_EQ(ReadShard("s", 0).front(), "h" + std::to_string(first));
      // Once swept, the horizon position itself moves forward, never back.
      auto p = engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
      ASSERT_TRUE(p.ok());
      EXPECT_GE(p->offset, last_offset);
      EXPECT_EQ(p->offset, static_cast<uint64_t>(first));
      last_offset = p->offset;
    }
  }
  clock_->SetMs(kT0 + 60 * kHourMs);
  EXPECT_TRUE(ReadShard("s", 0).empty());
}

TEST_F(EngineRetentionTest, IncreaseNeverResurrects) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  Put("s", "old");
  clock_->SetMs(kT0 + 23 * kHourMs);
  Put("s", "new");
  clock_->SetMs(kT0 + kDayMs + 1);  // "old" just expired; the sweeper has not run
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"new"}));
  ASSERT_TRUE(engine_->SetRetention("s", 48, true).ok());
  EXPECT_EQ(engine_->DescribeStream("s")->retention_hours, 48);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"new"}));
  Reopen();
  EXPECT_EQ(engine_->DescribeStream("s")->retention_hours, 48);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"new"}));
  // "new" now lives 48 h.
  clock_->SetMs(kT0 + 23 * kHourMs + 47 * kHourMs);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"new"}));
  clock_->SetMs(kT0 + 23 * kHourMs + 48 * kHourMs + 1);
  EXPECT_TRUE(ReadShard("s", 0).empty());
}

TEST_F(EngineRetentionTest, DecreaseHidesImmediatelyAndIncreaseDoesNotUndoIt) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  ASSERT_TRUE(engine_->SetRetention("s", 72, true).ok());
  Put("s", "t0");
  clock_->SetMs(kT0 + 20 * kHourMs);
  Put("s", "t20");
  clock_->SetMs(kT0 + 40 * kHourMs);
  Put("s", "t40");
  clock_->SetMs(kT0 + 50 * kHourMs);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"t0", "t20", "t40"}));
  // 72 -> 24: t0 (50 h) and t20 (30 h) are hidden at once, without a sweep.
  ASSERT_TRUE(engine_->SetRetention("s", 24, false).ok());
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"t40"}));
  Reopen();
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"t40"}));
  // Back to 72: the records that expired under 24 h stay gone (also across a reopen).
  ASSERT_TRUE(engine_->SetRetention("s", 72, true).ok());
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"t40"}));
  Reopen();
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"t40"}));
  engine_->Tick();
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"t40"}));
}

TEST_F(EngineRetentionTest, SweptDataStaysGoneAfterIncreaseAndReopen) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  Put("s", "a");
  clock_->SetMs(kT0 + 10 * kHourMs);
  Put("s", "b");
  clock_->SetMs(kT0 + 30 * kHourMs);
  engine_->Tick();
  Reopen();
  ASSERT_TRUE(engine_->SetRetention("s", 8760, true).ok());
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"b"}));
  Reopen();
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"b"}));
}

TEST_F(EngineRetentionTest, BoundsAndDirection) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  Put("s", "keep");
  auto code = [&](int h, bool inc) { return engine_->SetRetention("s", h, inc).code(); };
  for (bool inc : {true, false}) {
    EXPECT_EQ(code(23, inc), Code::kInvalidArgument);
    EXPECT_EQ(code(0, inc), Code::kInvalidArgument);
    EXPECT_EQ(code(-24, inc), Code::kInvalidArgument);
    EXPECT_EQ(code(8761, inc), Code::kInvalidArgument);
  }
  {
    Status st = engine_->SetRetention("s", 23, false);
    EXPECT_NE(st.message().find("23"), std::string::npos) << st;
    EXPECT_NE(st.message().find("24"), std::string::npos) << st;
    st = engine_->SetRetention("s", 9000, true);
    EXPECT_NE(st.message().find("9000"), std::string::npos) << st;
    EXPECT_NE(st.message().find("8760"), std::string::npos) << st;
  }
  EXPECT_EQ(engine_->DescribeStream("s")->retention_hours, 24);
  // Equal value: accepted either way.
  EXPECT_EQ(code(24, true), Code::kOk);
  EXPECT_EQ(code(24, false), Code::kOk);
  EXPECT_EQ(code(8760, true), Code::kOk);
  EXPECT_EQ(engine_->DescribeStream("s")->retention_hours, 8760);
  EXPECT_EQ(code(8760, false), Code::kOk);
  // Direction errors with the spec's texts.
  Status st = engine_->SetRetention("s", 100, true);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "Requested retention period (100 hours) for stream s can not be shorter than existing retention "
            "period (8760 hours). Use DecreaseRetentionPeriod API.");
  ASSERT_TRUE(engine_->SetRetention("s", 24, false).ok());
  st = engine_->SetRetention("s", 100, false);
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_EQ(st.message(),
            "Requested retention period (100 hours) for stream s can not be longer than existing retention "
            "period (24 hours). Use IncreaseRetentionPeriod API.");
  EXPECT_EQ(engine_->DescribeStream("s")->retention_hours, 24);
  EXPECT_EQ(engine_->SetRetention("nope", 48, true).code(), Code::kNotFound);
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"keep"}));
}

TEST_F(EngineRetentionTest, RetentionChangeWhileUpdatingIsInUse) {
  update_delay_ms_ = 1000;
  Reopen();
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  ASSERT_TRUE(engine_->UpdateShardCount("s", 4).ok());
  ASSERT_EQ(engine_->DescribeStream("s")->status, StreamStatus::kUpdating);
  EXPECT_EQ(engine_->SetRetention("s", 48, true).code(), Code::kInUse);
  clock_->AdvanceMs(1000);
  engine_->Tick();
  EXPECT_TRUE(engine_->SetRetention("s", 48, true).ok());
}

// Tick() drops whole segments below the horizon (files unlinked), keeps the visible ones.
TEST_F(EngineRetentionTest, TickDeletesExpiredSegments) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  const std::string shard_dir = StreamDir("s") + "/0";
  const std::string blob(1024, 'x');
  // 20 minutes x 20 records of 1 KiB: ~400 KiB in 64 KiB segments.
  for (int m = 0; m < 20; ++m) {
    clock_->SetMs(kT0 + m * 60'000);
    std::vector<PutInput> batch;
    std::vector<std::string> datas;
    for (int i = 0; i < 20; ++i) datas.push_back(fmt::format("m{:02}-{:02}-", m, i) + blob);
    for (auto& d : datas) batch.push_back(PutInput{"k", d, std::nullopt});
    Status st;
    auto out = engine_->PutRecords("s", batch, &st);
    ASSERT_TRUE(st.ok());
    for (auto& o : out) ASSERT_TRUE(o.status.ok()) << o.status;
  }
  Reopen();  // rolled segments sealed, background idle
  const auto before = Segments(shard_dir);
  ASSERT_GE(before.size(), 5u) << "expected several segments";
  // Minutes 0..9 expired, 10..19 visible.
  clock_->SetMs(kT0 + kDayMs + 10 * 60'000 - 30'000);
  auto visible = ReadShard("s", 0);
  ASSERT_EQ(visible.size(), 200u);
  EXPECT_EQ(visible.front().substr(0, 7), "m10-00-");
  engine_->Tick();
  Reopen();  // drains the unlinks
  const auto after = Segments(shard_dir);
  EXPECT_LT(after.size(), before.size()) << "Tick() deleted no segment file";
  // The files that went are the oldest ones.
  for (const auto& f : after) {
    EXPECT_TRUE(std::find(before.begin(), before.end(), f) != before.end() ||
                f > before.back()) << f;
  }
  ASSERT_FALSE(after.empty());
  EXPECT_GT(after.front(), before.front());
  visible = ReadShard("s", 0);
  ASSERT_EQ(visible.size(), 200u);
  EXPECT_EQ(visible.front().substr(0, 7), "m10-00-");
  EXPECT_EQ(visible.back().substr(0, 7), "m19-19-");
  // Everything expired: all but the active segment can go; no record is readable.
  clock_->SetMs(kT0 + 2 * kDayMs);
  engine_->Tick();
  Reopen();
  EXPECT_LE(Segments(shard_dir).size(), 2u);
  EXPECT_TRUE(ReadShard("s", 0).empty());
  // The shard still takes writes.
  Put("s", "fresh");
  EXPECT_EQ(ReadShard("s", 0), (std::vector<std::string>{"fresh"}));
}

// A put must not wait for the sweeper: while a Tick() is blocked in the middle of a trim
// (persisting the shard's new start offset), puts to the same shard and to another one
// complete, and reads work.
TEST_F(EngineRetentionTest, TickDoesNotStallPuts) {
  auto gate = std::make_shared<GateFileSystem>(io::DefaultFileSystem());
  fs_ = gate;
  Reopen();
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  for (int i = 0; i < 50; ++i) {
    clock_->SetMs(kT0 + i * 60'000);
    Put("s", "old" + std::to_string(i), HashKey::Min());
    Put("s", "old" + std::to_string(i), HashKey::Max());
  }
  clock_->SetMs(kT0 + kDayMs + 25 * 60'000 + 1);
  std::thread ticker([&] {
    gate->ArmForThisThread();
    engine_->Tick();
  });
  ASSERT_TRUE(gate->WaitEntered()) << "Tick() never persisted a trim";
  // The sweeper is parked inside a trim. Puts and reads go on.
  auto fut = std::async(std::launch::async, [&] {
    for (int i = 0; i < 20; ++i) {
      auto a = engine_->PutRecord("s", PutInput{"k", "during" + std::to_string(i), HashKey::Min()});
      auto b = engine_->PutRecord("s", PutInput{"k", "during" + std::to_string(i), HashKey::Max()});
      if (!a.ok() || !b.ok()) return false;
    }
    auto p = engine_->GetPosition("s", 0, PositionType::kLatest, std::nullopt, std::nullopt);
    return p.ok();
  });
  const bool finished = fut.wait_for(std::chrono::seconds(60)) == std::future_status::ready;
  EXPECT_TRUE(finished) << "puts stalled behind a blocked retention sweep";
  gate->Release();
  ticker.join();
  if (finished) {
    EXPECT_TRUE(fut.get());
  }
  for (uint32_t shard : {0u, 1u}) {
    auto got = ReadShard("s", shard);
    ASSERT_EQ(got.size(), 24u + 20u) << shard;  // old26..old49, then during0..during19
    EXPECT_EQ(got.back(), "during19");
  }
}

// Concurrent puts while Tick() runs over and over (trimming as the clock advances): every
// put succeeds and every visible record is intact.
TEST_F(EngineRetentionTest, TickConcurrentWithPuts) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> puts{0};
  std::atomic<int> failures{0};
  std::thread writer([&] {
    const std::string blob(700, 'p');
    while (!stop.load()) {
      int n = puts.fetch_add(1);
      auto r = engine_->PutRecord("s", PutInput{"k" + std::to_string(n), std::to_string(n) + ":" + blob, std::nullopt});
      if (!r.ok()) failures.fetch_add(1);
    }
  });
  for (int i = 0; i < 200; ++i) {
    // Interleave: let the writer get a few puts in before each sweep (3 per step, so the
    // 600 checked below are in before the last one).
    while (puts.load() < 3 * (i + 1) && failures.load() == 0) std::this_thread::yield();
    clock_->AdvanceMs(10 * 60'000);  // 10 minutes a step: records start expiring at step 144
    engine_->Tick();
  }
  stop = true;
  writer.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_GE(puts.load(), 600);
  size_t visible = 0;
  for (uint32_t shard : {0u, 1u}) {
    for (const auto& d : ReadShard("s", shard)) {
      ++visible;
      auto colon = d.find(':');
      ASSERT_NE(colon, std::string::npos);
      EXPECT_EQ(d.size(), colon + 1 + 700);
    }
  }
  // 200 steps of 10 minutes: the first ~56 steps' records expired, later ones are visible.
  EXPECT_GT(visible, 0u);
  EXPECT_LT(visible, static_cast<size_t>(puts.load()));
}

TEST_F(EngineRetentionTest, ClosedShardsExpire) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  Put("s", "p0", HashKey::Min());
  Put("s", "p1", HashKey::Max());
  const std::string sdir = StreamDir("s");
  ASSERT_TRUE(fs::exists(sdir + "/0"));
  const int64_t t_split = kT0 + kHourMs;
  clock_->SetMs(t_split);
  ASSERT_TRUE(engine_->SplitShard("s", 0, ParseHashKey("85070591730234615865843651857942052864").value()).ok());
  auto old_pos = engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  ASSERT_TRUE(old_pos.ok());
  // One ms after the split, so it is still visible when the parent expires (a record is
  // invisible once its age reaches the retention period).
  clock_->SetMs(t_split + 1);
  Put("s", "c2", HashKey::Min());

  // One ms before the closed shard expires (its records already did): still listed.
  clock_->SetMs(t_split + kDayMs - 1);
  engine_->Tick();
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->shards.size(), 4u);
  EXPECT_TRUE(d->shards[0].closed);
  EXPECT_TRUE(engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt).ok());
  {
    auto r = engine_->GetRecords("s", *old_pos, 10);
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->records.empty());  // p0 is past retention
    EXPECT_FALSE(r->next.has_value());
    EXPECT_EQ(r->child_shards.size(), 2u);
  }
  // At close time + retention: expired.
  clock_->SetMs(t_split + kDayMs);
  engine_->Tick();
  d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->shards.size(), 3u);
  EXPECT_EQ(d->shards[0].shard_id, "shardId-000000000001");
  EXPECT_EQ(d->shards[1].shard_id, "shardId-000000000002");
  EXPECT_EQ(d->shards[2].shard_id, "shardId-000000000003");
  // Children keep naming the expired parent.
  EXPECT_EQ(d->shards[1].parent, "shardId-000000000000");
  EXPECT_EQ(d->open_shard_count, 3u);
  auto gone = engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), Code::kNotFound);
  EXPECT_EQ(gone.status().message(), "Shard shardId-000000000000 in stream s does not exist");
  EXPECT_EQ(engine_->GetRecords("s", *old_pos, 10).status().code(), Code::kNotFound);
  // The open shards are unaffected.
  EXPECT_EQ(ReadShard("s", 2), (std::vector<std::string>{"c2"}));
  Reopen();  // drains the directory removal
  EXPECT_FALSE(fs::exists(sdir + "/0")) << "the expired shard's directory is still there";
  EXPECT_TRUE(fs::exists(sdir + "/1"));
  EXPECT_TRUE(fs::exists(sdir + "/2"));
  d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->shards.size(), 3u);
  EXPECT_EQ(engine_->GetPosition("s", 0, PositionType::kLatest, std::nullopt, std::nullopt).status().code(),
            Code::kNotFound);
  // Splitting the expired index is "not found"; the next index is not reused.
  EXPECT_EQ(engine_->SplitShard("s", 0, HashKey{100}).code(), Code::kNotFound);
  ASSERT_TRUE(engine_->MergeShards("s", 2, 3).ok());
  d = engine_->DescribeStream("s");
  EXPECT_EQ(d->shards.back().shard_id, "shardId-000000000004");
}

// A closed shard that expired under the old period (the sweeper just had not run yet)
// stays expired when the period is increased: "records already expired do not come back",
// and an expired shard is one whose records all did.
TEST_F(EngineRetentionTest, IncreaseDoesNotResurrectExpiredClosedShard) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  Put("s", "p");
  ASSERT_TRUE(engine_->SplitShard("s", 0, ParseHashKey("1000").value()).ok());
  clock_->SetMs(kT0 + kDayMs + 1);  // shard 0 closed at kT0: expired 1 ms ago
  ASSERT_TRUE(engine_->SetRetention("s", 48, true).ok());
  engine_->Tick();
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  for (const auto& sh : d->shards) EXPECT_NE(sh.index, 0u) << "expired shard 0 is listed again";
  EXPECT_EQ(engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt).status().code(),
            Code::kNotFound);
}

// Merge parents and UpdateShardCount's intermediate shards (never held a record, no
// directory) expire the same way; with a longer retention they live longer.
TEST_F(EngineRetentionTest, IntermediateAndMergedShardsExpire) {
  ASSERT_TRUE(engine_->CreateStream("s", 3).ok());
  ASSERT_TRUE(engine_->SetRetention("s", 48, true).ok());
  Put("s", "x", HashKey::Min());
  ASSERT_TRUE(engine_->UpdateShardCount("s", 4).ok());  // 3 -> 4: splits and merges
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  const size_t total = d->shards.size();
  ASSERT_GT(total, 7u);
  clock_->SetMs(kT0 + kDayMs + 1);
  engine_->Tick();
  EXPECT_EQ(engine_->DescribeStream("s")->shards.size(), total) << "48 h retention: nothing expired yet";
  clock_->SetMs(kT0 + 2 * kDayMs);
  engine_->Tick();
  d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->shards.size(), 4u);
  for (const auto& s : d->shards) EXPECT_FALSE(s.closed);
  Reopen();
  d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->shards.size(), 4u);
  ASSERT_TRUE(engine_->WaitForBackgroundWork().ok());
  // The expired shards' directories are gone: what remains is the open shards' and the
  // spare logs made ahead for the next reshard (indices above every shard's).
  std::set<uint32_t> listed;
  for (const auto& s : d->shards) listed.insert(s.index);
  std::set<uint32_t> dirs;
  std::error_code ec;
  for (auto& e : fs::directory_iterator(StreamDir("s"), ec)) {
    const std::string n = e.path().filename().string();
    if (e.is_directory() && std::all_of(n.begin(), n.end(), ::isdigit))  // not trash being removed
      dirs.insert(static_cast<uint32_t>(std::stoul(n)));
  }
  std::set<uint32_t> spares;
  for (uint32_t i : dirs)
    if (!listed.count(i)) spares.insert(i);
  for (uint32_t i : listed) EXPECT_TRUE(dirs.count(i)) << i;
  EXPECT_EQ(spares.size(), engine_->options().spare_shard_logs);
  for (uint32_t i : spares) EXPECT_GT(i, *listed.rbegin()) << "a directory of an expired shard is left";
}

}  // namespace
}  // namespace shoal
