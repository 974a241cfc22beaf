// The topology worker: a reshard switches routing at once, its CATALOG write happens in
// the background, and the new shards acknowledge nothing until that write is durable.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "io/fault_file_system.h"
#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1700000000000;
const HashKey kLow{1};                                // shard 0 of 1, then the lower child
const HashKey kHigh{HashKey::Max().value - 1};        // the upper child
const HashKey kMid{HashKey::Max().value / 2 + 1};     // the split point

class EngineTopologyTest : public ::testing::Test {
 protected:
  EngineOptions Options() {
    EngineOptions o;
    o.fs = fs_;
    o.clock = clock_;
    o.sweep_interval_ms = 0;
    o.log.segment_bytes = 64 << 10;
    return o;
  }
  void Open() {
    auto e = Engine::Open(dir_.Sub("data"), Options());
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(e).value();
  }
  void Reopen() {
    ASSERT_TRUE(engine_->Close().ok());
    engine_.reset();
    Open();
  }
  // Puts one record by explicit hash key; returns its status.
  Status Put(const std::string& data, HashKey key) {
    PutInput in{"k", data, key};
    auto r = engine_->PutRecord("s", in);
    if (r.ok()) acked_.push_back(data);
    return r.status();
  }
  // Every record of the stream, reading parents before children (shard index order is
  // such an order: children always get higher indices).
  std::multiset<std::string> ReadAll() {
    std::multiset<std::string> out;
    auto d = engine_->DescribeStream("s");
    EXPECT_TRUE(d.ok()) << d.status();
    if (!d.ok()) return out;
    for (const auto& sh : d->shards) {
      auto pos = engine_->GetPosition("s", sh.index, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
      EXPECT_TRUE(pos.ok()) << pos.status();
      std::optional<ShardPosition> p = *pos;
      while (p) {
        auto r = engine_->GetRecords("s", *p, 1000);
        EXPECT_TRUE(r.ok()) << r.status();
        if (!r.ok()) break;
        for (auto& rec : r->records) out.emplace(rec.data);
        if (r->records.empty() && r->next) break;  // caught up on an open shard
        p = r->next;
      }
    }
    return out;
  }
  size_t OpenShards() {
    auto d = engine_->DescribeStream("s");
    EXPECT_TRUE(d.ok());
    size_t n = 0;
    for (const auto& sh : d->shards) n += !sh.closed;
    return n;
  }
  std::string StreamDir() {
    for (auto& e : fs::directory_iterator(dir_.Sub("data") + "/streams"))
      if (e.path().filename().string().rfind("s.", 0) == 0) return e.path().string();
    return "";
  }
  std::map<std::string, ino_t> ShardDirInodes() {
    std::map<std::string, ino_t> out;
    for (auto& e : fs::directory_iterator(StreamDir())) {
      struct stat st{};
      if (e.is_directory() && ::stat(e.path().c_str(), &st) == 0) out[e.path().filename().string()] = st.st_ino;
    }
    return out;
  }

  testing::TempDir dir_;
  std::shared_ptr<io::FaultFileSystem> fs_ = std::make_shared<io::FaultFileSystem>();
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kT0);
  std::unique_ptr<Engine> engine_;
  std::vector<std::string> acked_;
};

TEST_F(EngineTopologyTest, SplitUsesLogsMadeAheadAndCommitsInTheBackground) {
  Open();
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  ASSERT_TRUE(Put("before", kLow).ok());
  ASSERT_TRUE(engine_->WaitForBackgroundWork().ok());
  // The children's directories exist before the split (spares), and the split makes none.
  const auto before = ShardDirInodes();
  ASSERT_TRUE(before.count("1") && before.count("2")) << "spare logs for shards 1 and 2";
  ASSERT_TRUE(engine_->SplitShard("s", 0, kMid).ok());
  for (const auto& [name, ino] : ShardDirInodes()) {
    if (name == "1" || name == "2") {
      EXPECT_EQ(ino, before.at(name)) << "shard " << name << " was made again";
    }
  }
  // Routing switched before the call returned.
  EXPECT_EQ(OpenShards(), 2u);
  ASSERT_TRUE(Put("low child", kLow).ok());
  ASSERT_TRUE(Put("high child", kHigh).ok());
  ASSERT_TRUE(engine_->WaitForBackgroundWork().ok());
  // Spares for the next reshard are ready again.
  const auto after = ShardDirInodes();
  EXPECT_TRUE(after.count("3") && after.count("4"));
  Reopen();
  EXPECT_EQ(OpenShards(), 2u) << "the split reached CATALOG";
  EXPECT_EQ(ReadAll(), std::multiset<std::string>(acked_.begin(), acked_.end()));
}

TEST_F(EngineTopologyTest, ChildAcknowledgesNothingWhileItsCatalogCannotBeWritten) {
  Open();
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  ASSERT_TRUE(Put("parent 1", kLow).ok());
  ASSERT_TRUE(Put("parent 2", kHigh).ok());
  ASSERT_TRUE(engine_->WaitForBackgroundWork().ok());
  // Every CATALOG replacement fails from here on (a full disk).
  fs_->InjectError(io::FaultOp::kRename, ENOSPC, -1, "CATALOG");
  ASSERT_TRUE(engine_->SplitShard("s", 0, kMid).ok());
  Status child = Put("never acknowledged", kHigh);
  EXPECT_FALSE(child.ok()) << "a child acknowledged a record its shard's CATALOG does not name";
  EXPECT_EQ(child.code(), Code::kNoSpace) << child;
  EXPECT_NE(child.message().find("could not be made durable"), std::string::npos) << child;
  Status bg = engine_->WaitForBackgroundWork();
  EXPECT_EQ(bg.code(), Code::kNoSpace) << bg;
  // What a crash now recovers: the old topology, every acknowledged record, nothing else.
  fs_->ClearFaults();
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  Open();
  EXPECT_EQ(OpenShards(), 1u);
  EXPECT_EQ(ReadAll(), std::multiset<std::string>(acked_.begin(), acked_.end()));
  // And the stream reshards normally afterwards.
  ASSERT_TRUE(engine_->SplitShard("s", 0, kMid).ok());
  ASSERT_TRUE(Put("child after recovery", kHigh).ok());
  Reopen();
  EXPECT_EQ(OpenShards(), 2u);
  EXPECT_EQ(ReadAll(), std::multiset<std::string>(acked_.begin(), acked_.end()));
}

TEST_F(EngineTopologyTest, CatalogRetryAfterAFailedCommitMakesTheChildrenWritable) {
  Open();
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  ASSERT_TRUE(engine_->WaitForBackgroundWork().ok());
  fs_->InjectError(io::FaultOp::kRename, EIO, 1, "CATALOG");  // one failed write
  ASSERT_TRUE(engine_->SplitShard("s", 0, HashKey{HashKey::Max().value / 4}).ok());
  EXPECT_FALSE(Put("refused", kLow).ok());
  // The next catalog write (here a retention change, which carries the in-memory
  // topology) makes the split durable and opens the gate.
  ASSERT_TRUE(engine_->SetRetention("s", 48, true).ok());
  ASSERT_TRUE(Put("accepted", kLow).ok());
  Reopen();
  EXPECT_EQ(OpenShards(), 3u);
  EXPECT_EQ(ReadAll(), std::multiset<std::string>(acked_.begin(), acked_.end()));
}

TEST_F(EngineTopologyTest, SparesSurviveARestartAndAreReused) {
  Open();
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  ASSERT_TRUE(engine_->WaitForBackgroundWork().ok());
  const auto before = ShardDirInodes();
  Reopen();
  ASSERT_TRUE(engine_->WaitForBackgroundWork().ok());
  EXPECT_EQ(ShardDirInodes(), before) << "spares were discarded and made again";
  ASSERT_TRUE(engine_->MergeShards("s", 0, 0).code() == Code::kInvalidArgument);
  ASSERT_TRUE(engine_->SplitShard("s", 0, kMid).ok());
  ASSERT_TRUE(engine_->MergeShards("s", 1, 2).ok());
  ASSERT_TRUE(Put("merged child", kHigh).ok());
  Reopen();
  EXPECT_EQ(OpenShards(), 1u);
  EXPECT_EQ(ReadAll(), std::multiset<std::string>(acked_.begin(), acked_.end()));
}

TEST_F(EngineTopologyTest, BackToBackReshardsUnderConcurrentPutsLoseNothing) {
  Open();
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  std::atomic<bool> stop{false};
  std::vector<std::vector<std::string>> acked(2);
  std::vector<std::thread> producers;
  for (int t = 0; t < 2; ++t) {
    producers.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        std::string data = "p" + std::to_string(t) + "-" + std::to_string(i);
        PutInput in{data, data, std::nullopt};
        auto r = engine_->PutRecord("s", in);
        if (r.ok()) acked[t].push_back(data);
      }
    });
  }
  // Split the lowest open shard and merge it back, 40 times, without waiting for the
  // background commits in between.
  for (int round = 0; round < 40; ++round) {
    auto d = engine_->DescribeStream("s");
    ASSERT_TRUE(d.ok());
    std::vector<ShardDescription> open;
    for (const auto& sh : d->shards)
      if (!sh.closed) open.push_back(sh);
    std::sort(open.begin(), open.end(), [](const auto& a, const auto& b) { return a.range.start < b.range.start; });
    Status st;
    if (round % 2 == 0) {
      const HashKeyRange r = open[0].range;
      st = engine_->SplitShard("s", open[0].index, HashKey{r.start.value + (r.end.value - r.start.value) / 2});
    } else {
      st = engine_->MergeShards("s", open[0].index, open[1].index);
    }
    ASSERT_TRUE(st.ok()) << "round " << round << ": " << st;
  }
  stop = true;
  for (auto& p : producers) p.join();
  for (auto& a : acked) acked_.insert(acked_.end(), a.begin(), a.end());
  ASSERT_GT(acked_.size(), 0u);
  Reopen();
  EXPECT_EQ(OpenShards(), 2u);
  EXPECT_EQ(ReadAll(), std::multiset<std::string>(acked_.begin(), acked_.end()));
}

}  // namespace
}  // namespace shoal
