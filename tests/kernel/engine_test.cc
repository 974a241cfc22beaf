#include "kernel/engine.h"

#include <gtest/gtest.h>

#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(1700000000000);
    Reopen();
  }
  void Reopen() {
    engine_.reset();
    EngineOptions o;
    o.clock = clock_;
    o.sweep_interval_ms = 0;
    o.log.segment_bytes = 64 << 10;
    auto e = Engine::Open(dir_.Sub("data"), o);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(e).value();
  }
  std::vector<std::string> ReadAll(const std::string& stream, uint32_t shard) {
    std::vector<std::string> out;
    auto pos = engine_->GetPosition(stream, shard, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
    EXPECT_TRUE(pos.ok()) << pos.status();
    std::optional<ShardPosition> p = *pos;
    while (p) {
      auto r = engine_->GetRecords(stream, *p, 1000);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      for (auto& rec : r->records) out.emplace_back(rec.data);
      if (r->records.empty() && r->next) break;  // caught up on an open shard
      p = r->next;
    }
    return out;
  }
  testing::TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(EngineTest, CreatePutSplitMergeReopen) {
  ASSERT_TRUE(engine_->CreateStream("KStream", 2).ok());
  EXPECT_EQ(engine_->CreateStream("KStream", 2).code(), Code::kInUse);
  auto put = engine_->PutRecord("KStream", PutInput{"456", "test", std::nullopt});
  ASSERT_TRUE(put.ok()) << put.status();
  EXPECT_EQ(put->sequence_number().size(), 56u);
  for (int i = 0; i < 100; ++i) {
    std::string d = "r" + std::to_string(i);
    ASSERT_TRUE(engine_->PutRecord("KStream", PutInput{std::to_string(i), d, std::nullopt}).ok());
  }
  size_t total = ReadAll("KStream", 0).size() + ReadAll("KStream", 1).size();
  EXPECT_EQ(total, 101u);
  auto d = engine_->DescribeStream("KStream");
  ASSERT_TRUE(d.ok());
  HashKey mid{d->shards[0].range.end.value / 2};
  ASSERT_TRUE(engine_->SplitShard("KStream", 0, mid).ok());
  d = engine_->DescribeStream("KStream");
  ASSERT_EQ(d->shards.size(), 4u);
  EXPECT_TRUE(d->shards[0].closed);
  EXPECT_EQ(d->open_shard_count, 3u);
  ASSERT_TRUE(engine_->MergeShards("KStream", 2, 3).ok());
  d = engine_->DescribeStream("KStream");
  EXPECT_EQ(d->open_shard_count, 2u);
  for (int i = 0; i < 100; ++i)
    ASSERT_TRUE(engine_->PutRecord("KStream", PutInput{std::to_string(i), "x", std::nullopt}).ok());
  auto upd = engine_->UpdateShardCount("KStream", 4);
  ASSERT_TRUE(upd.ok()) << upd.status();
  d = engine_->DescribeStream("KStream");
  EXPECT_EQ(d->open_shard_count, 4u);
  Reopen();
  d = engine_->DescribeStream("KStream");
  ASSERT_TRUE(d.ok()) << d.status();
  EXPECT_EQ(d->open_shard_count, 4u);
  size_t all = 0;
  for (auto& sh : d->shards) all += ReadAll("KStream", sh.index).size();
  EXPECT_EQ(all, 201u);
  ASSERT_TRUE(engine_->DeleteStream("KStream").ok());
  EXPECT_EQ(engine_->DescribeStream("KStream").status().code(), Code::kNotFound);
}

TEST_F(EngineTest, RetentionHidesOldRecords) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  ASSERT_TRUE(engine_->PutRecord("s", PutInput{"k", "old", std::nullopt}).ok());
  clock_->AdvanceMs(23 * 3600 * 1000);
  ASSERT_TRUE(engine_->PutRecord("s", PutInput{"k", "new", std::nullopt}).ok());
  EXPECT_EQ(ReadAll("s", 0).size(), 2u);
  clock_->AdvanceMs(2 * 3600 * 1000);
  auto v = ReadAll("s", 0);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0], "new");
  ASSERT_TRUE(engine_->SetRetention("s", 48, true).ok());
  v = ReadAll("s", 0);
  ASSERT_EQ(v.size(), 1u);  // increasing retention never resurrects
}

}  // namespace
}  // namespace shoal
