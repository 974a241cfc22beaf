// Engine input validation: every invalid argument gets a typed error with an actionable
// message, and nothing written before is lost. Stream names (and the data-directory
// layout they map to), partition keys, record sizes, hash keys, unknown streams and
// shards, CreateStream twice, shard counts and the account shard limit, one engine per
// data directory, delete + re-create, and the Kinesis-emulation throughput limits
// (resharding-and-limits.md §6.1) driven by a ManualClock.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <thread>
#include <set>
#include <string>
#include <vector>

#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

namespace fs = std::filesystem;

constexpr int64_t kT0 = 1700000000000;

class EngineInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(kT0);
    Open();
  }
  EngineOptions Options() {
    EngineOptions o;
    o.clock = clock_;
    o.sweep_interval_ms = 0;
    o.log.segment_bytes = 64 << 10;
    o.shard_limit = shard_limit_;
    o.kinesis_limits = kinesis_limits_;
    return o;
  }
  void Open() {
    auto e = Engine::Open(data(), Options());
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(e).value();
  }
  void Reopen() {
    ASSERT_TRUE(engine_->Close().ok());
    engine_.reset();
    Open();
  }
  std::string data() const { return dir_.Sub("data"); }

  std::vector<std::string> ReadAll(const std::string& stream) {
    std::vector<std::string> out;
    auto d = engine_->DescribeStream(stream);
    EXPECT_TRUE(d.ok()) << stream << ": " << d.status();
    if (!d.ok()) return out;
    for (const auto& sh : d->shards) {
      auto pos = engine_->GetPosition(stream, sh.index, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
      EXPECT_TRUE(pos.ok()) << pos.status();
      if (!pos.ok()) continue;
      std::optional<ShardPosition> p = *pos;
      for (int guard = 0; p && guard < 100000; ++guard) {
        auto r = engine_->GetRecords(stream, *p, 10000);
        EXPECT_TRUE(r.ok()) << r.status();
        if (!r.ok()) break;
        for (auto& rec : r->records) out.emplace_back(rec.data);
        if (r->records.empty() && r->next) break;
        p = r->next;
      }
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  // A stream with known content, checked after every rejected call.
  void MakeWitness() {
    Status created = engine_->CreateStream("witness", 2);
    ASSERT_TRUE(created.ok()) << created;
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE(engine_->PutRecord("witness", PutInput{"k" + std::to_string(i), "w" + std::to_string(100 + i), std::nullopt}).ok());
    witness_ = ReadAll("witness");
    ASSERT_EQ(witness_.size(), 20u);
  }
  void CheckWitness(const std::string& where) {
    EXPECT_EQ(ReadAll("witness"), witness_) << "after " << where;
  }
  static void ExpectError(const Status& st, Code code, const std::string& what) {
    EXPECT_EQ(st.code(), code) << what << ": " << st;
    EXPECT_FALSE(st.message().empty()) << what;
  }

  testing::TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  uint32_t shard_limit_ = 10000;
  bool kinesis_limits_ = false;
  std::unique_ptr<Engine> engine_;
  std::vector<std::string> witness_;
};

// --- Stream names ---------------------------------------------------------------------------

TEST_F(EngineInputTest, BadStreamNames) {
  MakeWitness();
  const std::set<std::string> dirs_before = [&] {
    std::set<std::string> s;
    for (auto& e : fs::directory_iterator(data() + "/streams")) s.insert(e.path().filename().string());
    return s;
  }();
  const std::vector<std::string> bad = {
      "", std::string(129, 'a'), "a/b", "/", "../x", "a b", " ", std::string("a\0b", 3), std::string(1, '\0'),
      "a\\b", "a:b", "stream*", "\xc3\xa9", "tab\t", "new\nline", std::string(300, 'z')};
  for (const std::string& name : bad) {
    const std::string shown = "'" + name.substr(0, 20) + "' (" + std::to_string(name.size()) + " bytes)";
    Status st = engine_->CreateStream(name, 1);
    ExpectError(st, Code::kInvalidArgument, "CreateStream " + shown);
    // Data-plane calls on such a name: not found (never created), never a crash.
    Status ps;
    auto out = engine_->PutRecords(name, std::vector<PutInput>{{"k", "v", std::nullopt}}, &ps);
    EXPECT_EQ(ps.code(), Code::kNotFound) << shown;
    EXPECT_EQ(engine_->DescribeStream(name).status().code(), Code::kNotFound) << shown;
    EXPECT_EQ(engine_->DeleteStream(name).code(), Code::kNotFound) << shown;
    EXPECT_EQ(engine_->GetPosition(name, 0, PositionType::kLatest, std::nullopt, std::nullopt).status().code(),
              Code::kNotFound)
        << shown;
  }
  // The messages say what is wrong.
  EXPECT_NE(engine_->CreateStream("", 1).message().find("1"), std::string::npos);
  EXPECT_NE(engine_->CreateStream(std::string(129, 'a'), 1).message().find("128"), std::string::npos);
  EXPECT_NE(engine_->CreateStream("a b", 1).message().find("a-zA-Z0-9_.-"), std::string::npos)
      << engine_->CreateStream("a b", 1);
  // Nothing was created on disk, nothing listed, nothing lost.
  std::set<std::string> dirs_after;
  for (auto& e : fs::directory_iterator(data() + "/streams")) dirs_after.insert(e.path().filename().string());
  EXPECT_EQ(dirs_after, dirs_before);
  EXPECT_EQ(engine_->ListStreams(100).names, std::vector<std::string>{"witness"});
  CheckWitness("bad names");
  Reopen();
  EXPECT_EQ(engine_->ListStreams(100).names, std::vector<std::string>{"witness"});
  CheckWitness("bad names + reopen");
}

TEST_F(EngineInputTest, EdgeValidStreamNames) {
  MakeWitness();
  const std::vector<std::string> good = {".", "..", "...", ".hidden", "-", "_", "a", std::string(128, 'x'),
                                         "A-b_C.9", "streams", "LOCK", "CATALOG"};
  for (const std::string& name : good) {
    ASSERT_TRUE(engine_->CreateStream(name, 1).ok()) << "'" << name << "'";
    ASSERT_TRUE(engine_->PutRecord(name, PutInput{"k", "data of " + name, std::nullopt}).ok()) << name;
  }
  auto check = [&] {
    for (const std::string& name : good)
      EXPECT_EQ(ReadAll(name), std::vector<std::string>{"data of " + name}) << "'" << name << "'";
    CheckWitness("valid edge names");
    auto listed = engine_->ListStreams(1000).names;
    EXPECT_EQ(listed.size(), good.size() + 1);
  };
  check();
  Reopen();
  check();
  // Every file landed inside the data directory: its parent holds only "data", and the
  // data directory only the engine's own entries.
  std::set<std::string> top;
  for (auto& e : fs::directory_iterator(dir_.path())) top.insert(e.path().filename().string());
  EXPECT_EQ(top, std::set<std::string>{"data"});
  for (auto& e : fs::directory_iterator(data())) {
    const std::string n = e.path().filename().string();
    EXPECT_TRUE(!e.is_directory() || n == "streams") << "a directory outside streams/: " << n;
    EXPECT_TRUE(std::find(good.begin(), good.end(), n) == good.end() || n == "LOCK" || n == "CATALOG" ||
                n == "streams")
        << "an entry named like a stream in the data dir: " << n;
  }
  // One directory per stream under streams/, none of them "." / ".." tricks, and all
  // shard data below them.
  size_t stream_dirs = 0;
  for (auto& e : fs::directory_iterator(data() + "/streams")) {
    ++stream_dirs;
    EXPECT_TRUE(e.is_directory());
    EXPECT_NE(e.path().filename().string()[0], '.') << e.path();
  }
  EXPECT_EQ(stream_dirs, good.size() + 1);
  // Each stream's shard 0 directory holds its log (so "." did not write into streams/).
  size_t shard_dirs = 0;
  for (auto& e : fs::recursive_directory_iterator(data() + "/streams"))
    if (e.is_directory() && e.path().filename() == "0") ++shard_dirs;
  EXPECT_EQ(shard_dirs, good.size() + 1);
  // Deleting "." or ".." removes only that stream.
  ASSERT_TRUE(engine_->DeleteStream("..").ok());
  ASSERT_TRUE(engine_->DeleteStream(".").ok());
  Reopen();
  EXPECT_EQ(engine_->DescribeStream(".").status().code(), Code::kNotFound);
  EXPECT_EQ(ReadAll("..."), std::vector<std::string>{"data of ..."});
  CheckWitness("delete . and ..");
  EXPECT_TRUE(fs::exists(data() + "/CATALOG"));
  EXPECT_TRUE(fs::exists(data() + "/streams"));
}

TEST_F(EngineInputTest, NamesDifferingOnlyInCaseAreDistinct) {
  for (const char* n : {"orders", "Orders", "ORDERS", "oRdErS"}) ASSERT_TRUE(engine_->CreateStream(n, 1).ok()) << n;
  for (const char* n : {"orders", "Orders", "ORDERS", "oRdErS"})
    ASSERT_TRUE(engine_->PutRecord(n, PutInput{"k", std::string("in ") + n, std::nullopt}).ok());
  EXPECT_EQ(engine_->CreateStream("Orders", 1).code(), Code::kInUse);
  auto check = [&] {
    for (const char* n : {"orders", "Orders", "ORDERS", "oRdErS"})
      EXPECT_EQ(ReadAll(n), std::vector<std::string>{std::string("in ") + n}) << n;
  };
  check();
  Reopen();
  check();
  ASSERT_TRUE(engine_->DeleteStream("Orders").ok());
  Reopen();
  EXPECT_EQ(engine_->DescribeStream("Orders").status().code(), Code::kNotFound);
  EXPECT_EQ(ReadAll("orders"), std::vector<std::string>{"in orders"});
  EXPECT_EQ(ReadAll("ORDERS"), std::vector<std::string>{"in ORDERS"});
  EXPECT_EQ(ReadAll("oRdErS"), std::vector<std::string>{"in oRdErS"});
}

// --- Records ----------------------------------------------------------------------------------

TEST_F(EngineInputTest, PartitionKeyLength) {
  MakeWitness();
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  const std::string k256(256, 'k'), k257(257, 'k');
  // PutRecord: whole-call errors.
  auto r = engine_->PutRecord("s", PutInput{"", "x", std::nullopt});
  ASSERT_FALSE(r.ok());
  ExpectError(r.status(), Code::kInvalidArgument, "empty partition key");
  EXPECT_NE(r.status().message().find("PartitionKey"), std::string::npos) << r.status();
  r = engine_->PutRecord("s", PutInput{k257, "x", std::nullopt});
  ASSERT_FALSE(r.ok());
  ExpectError(r.status(), Code::kInvalidArgument, "257-byte partition key");
  EXPECT_NE(r.status().message().find("257"), std::string::npos) << r.status();
  // Even with an explicit hash key, the partition key is validated.
  r = engine_->PutRecord("s", PutInput{"", "x", HashKey{5}});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  EXPECT_TRUE(engine_->PutRecord("s", PutInput{"k", "one", std::nullopt}).ok());
  EXPECT_TRUE(engine_->PutRecord("s", PutInput{k256, "max", std::nullopt}).ok());
  // PutRecords: the bad entries fail, the others succeed, results in request order.
  std::vector<PutInput> batch = {{"a", "ok1", std::nullopt},
                                 {"", "bad1", std::nullopt},
                                 {k257, "bad2", std::nullopt},
                                 {k256, "ok2", std::nullopt}};
  Status st;
  auto out = engine_->PutRecords("s", batch, &st);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(out.size(), 4u);
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_EQ(out[1].status.code(), Code::kInvalidArgument);
  EXPECT_EQ(out[2].status.code(), Code::kInvalidArgument);
  EXPECT_TRUE(out[3].status.ok());
  EXPECT_EQ(ReadAll("s"), (std::vector<std::string>{"max", "ok1", "ok2", "one"}));
  CheckWitness("partition keys");
}

// Spec §3.7: PartitionKey is 1-256 *characters* (any Unicode), and the record size counts
// its UTF-8 bytes. 256 two-byte characters are a valid key (512 bytes).
TEST_F(EngineInputTest, PartitionKeyCountsCharactersNotBytes) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  std::string k;
  for (int i = 0; i < 256; ++i) k += "\xc3\xa9";  // U+00E9
  auto r = engine_->PutRecord("s", PutInput{k, "x", std::nullopt});
  EXPECT_TRUE(r.ok()) << "256-character (512-byte) partition key rejected: " << r.status();
  std::string k4;
  for (int i = 0; i < 256; ++i) k4 += "\xf0\x9f\x98\x80";  // U+1F600, 4 bytes
  r = engine_->PutRecord("s", PutInput{k4, "x", std::nullopt});
  EXPECT_TRUE(r.ok()) << "256-character (1024-byte) partition key rejected: " << r.status();
  // 257 characters is too long.
  r = engine_->PutRecord("s", PutInput{k + "\xc3\xa9", "x", std::nullopt});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
}

TEST_F(EngineInputTest, RecordSizeLimit) {
  MakeWitness();
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  const size_t max = 1 << 20;
  // data + key == 1 MiB: accepted; one byte more: rejected (both orders of blame).
  std::string exact(max - 2, 'e');
  auto r = engine_->PutRecord("s", PutInput{"ab", exact, std::nullopt});
  EXPECT_TRUE(r.ok()) << r.status();
  r = engine_->PutRecord("s", PutInput{"abc", exact, std::nullopt});
  ASSERT_FALSE(r.ok());
  ExpectError(r.status(), Code::kInvalidArgument, "1 MiB + 1");
  EXPECT_NE(r.status().message().find("1048576"), std::string::npos) << r.status();
  std::string full(max, 'f');
  r = engine_->PutRecord("s", PutInput{"k", full, std::nullopt});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  r = engine_->PutRecord("s", PutInput{"k", std::string(max + 4096, 'g'), std::nullopt});
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
  // Empty data is fine.
  EXPECT_TRUE(engine_->PutRecord("s", PutInput{"k", "", std::nullopt}).ok());
  // In a batch only the big entry fails.
  std::vector<PutInput> batch = {{"k", "small", std::nullopt}, {"k", full, std::nullopt}, {"k", "small2", std::nullopt}};
  Status st;
  auto out = engine_->PutRecords("s", batch, &st);
  ASSERT_TRUE(st.ok());
  EXPECT_TRUE(out[0].status.ok());
  EXPECT_EQ(out[1].status.code(), Code::kInvalidArgument);
  EXPECT_TRUE(out[2].status.ok());
  EXPECT_EQ(out[2].offset, out[0].offset + 1);  // nothing was stored for the failed entry
  auto all = ReadAll("s");
  ASSERT_EQ(all.size(), 4u);
  Reopen();
  EXPECT_EQ(ReadAll("s").size(), 4u);
  CheckWitness("record sizes");
}

TEST_F(EngineInputTest, ExplicitHashKeyEdges) {
  ASSERT_TRUE(engine_->CreateStream("s", 4).ok());
  struct Case {
    std::string key;
    uint32_t shard;
  };
  const std::vector<Case> cases = {
      {"0", 0},
      {"1", 0},
      {"85070591730234615865843651857942052863", 0},
      {"85070591730234615865843651857942052864", 1},
      {"170141183460469231731687303715884105727", 1},
      {"170141183460469231731687303715884105728", 2},
      {"255211775190703847597530955573826158592", 3},
      {"340282366920938463463374607431768211454", 3},
      {"340282366920938463463374607431768211455", 3},
  };
  for (const Case& c : cases) {
    auto k = ParseHashKey(c.key);
    ASSERT_TRUE(k.ok()) << c.key;
    auto r = engine_->PutRecord("s", PutInput{"pk", c.key, *k});
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->shard_index, c.shard) << c.key;
  }
  for (const char* bad : {"340282366920938463463374607431768211456", "-1", "00", "1.5", "abc", "",
                          "3402823669209384634633746074317682114550"}) {
    auto k = ParseHashKey(bad);
    ASSERT_FALSE(k.ok()) << bad;
    ExpectError(k.status(), Code::kInvalidArgument, std::string("hash key '") + bad + "'");
  }
  EXPECT_EQ(ReadAll("s").size(), cases.size());
}

// --- Unknown streams and shards -------------------------------------------------------------

TEST_F(EngineInputTest, UnknownStream) {
  MakeWitness();
  const std::string n = "nope";
  EXPECT_EQ(engine_->DescribeStream(n).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->DescribeStream(n).status().message(), "Stream nope not found.");
  EXPECT_EQ(engine_->DeleteStream(n).code(), Code::kNotFound);
  EXPECT_EQ(engine_->PutRecord(n, PutInput{"k", "v", std::nullopt}).status().code(), Code::kNotFound);
  Status st;
  auto out = engine_->PutRecords(n, std::vector<PutInput>{{"k", "v", std::nullopt}}, &st);
  EXPECT_EQ(st.code(), Code::kNotFound);
  EXPECT_EQ(st.message(), "Stream nope not found.");
  EXPECT_EQ(out.size(), 1u);
  EXPECT_EQ(engine_->GetPosition(n, 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt).status().code(),
            Code::kNotFound);
  EXPECT_EQ(engine_->GetRecords(n, ShardPosition{1, 0, 0}, 10).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->SplitShard(n, 0, HashKey{100}).code(), Code::kNotFound);
  EXPECT_EQ(engine_->MergeShards(n, 0, 1).code(), Code::kNotFound);
  EXPECT_EQ(engine_->UpdateShardCount(n, 2).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->SetRetention(n, 48, true).code(), Code::kNotFound);
  EXPECT_EQ(engine_->AddTags(n, {{"a", "b"}}).code(), Code::kNotFound);
  std::vector<std::string> keys = {"a"};
  EXPECT_EQ(engine_->RemoveTags(n, keys).code(), Code::kNotFound);
  CheckWitness("unknown stream");
}

TEST_F(EngineInputTest, ShardIndexOutOfRange) {
  MakeWitness();
  for (uint32_t bad : {2u, 3u, 1000u, kMaxShardIndex, UINT32_MAX}) {
    auto p = engine_->GetPosition("witness", bad, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), Code::kNotFound) << bad;
    if (bad < 1000) {
      EXPECT_EQ(p.status().message(), fmt::format("Shard shardId-{:012} in stream witness does not exist", bad));
    }
    auto good = engine_->GetPosition("witness", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
    ASSERT_TRUE(good.ok());
    ShardPosition pos = *good;
    pos.shard_index = bad;
    EXPECT_EQ(engine_->GetRecords("witness", pos, 10).status().code(), Code::kNotFound);
    Status s = engine_->SplitShard("witness", bad, HashKey{100});
    EXPECT_EQ(s.code(), Code::kNotFound) << bad;
    EXPECT_EQ(engine_->MergeShards("witness", 0, bad).code(), Code::kNotFound) << bad;
    EXPECT_EQ(engine_->MergeShards("witness", bad, 1).code(), Code::kNotFound) << bad;
  }
  EXPECT_EQ(engine_->SplitShard("witness", 7, HashKey{100}).message(),
            "Could not find shard shardId-000000000007 in stream witness.");
  EXPECT_EQ(engine_->DescribeStream("witness")->shards.size(), 2u);
  CheckWitness("shard index out of range");
}

TEST_F(EngineInputTest, CreateStreamTwice) {
  MakeWitness();
  Status st = engine_->CreateStream("witness", 3);
  EXPECT_EQ(st.code(), Code::kInUse);
  EXPECT_EQ(st.message(), "Stream witness already exists.");
  st = engine_->CreateStream("witness", 2, CapacityMode::kOnDemand);
  EXPECT_EQ(st.code(), Code::kInUse);
  auto d = engine_->DescribeStream("witness");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->shards.size(), 2u);
  EXPECT_EQ(d->mode, CapacityMode::kProvisioned);
  CheckWitness("CreateStream twice");
  Reopen();
  EXPECT_EQ(engine_->CreateStream("witness", 3).code(), Code::kInUse);
  CheckWitness("CreateStream twice + reopen");
}

TEST_F(EngineInputTest, ShardCountsAndShardLimit) {
  shard_limit_ = 6;
  Reopen();
  MakeWitness();  // 2 shards
  for (int64_t bad : {int64_t{0}, int64_t{-1}, INT64_MIN}) {
    Status st = engine_->CreateStream("z", bad);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << bad;
    EXPECT_NE(st.message().find(std::to_string(bad)), std::string::npos) << st;
  }
  Status st = engine_->CreateStream("big", 5);
  EXPECT_EQ(st.code(), Code::kLimitExceeded);
  EXPECT_EQ(st.message(),
            "This request would exceed the shard limit for the account. Current shard count for the account: 2. "
            "Limit: 6. Number of additional shards that would have resulted from this request: 5.");
  EXPECT_EQ(engine_->CreateStream("huge", INT64_MAX).code(), Code::kLimitExceeded);
  EXPECT_EQ(engine_->DescribeStream("big").status().code(), Code::kNotFound);
  ASSERT_TRUE(engine_->CreateStream("four", 4).ok());  // 6 of 6
  EXPECT_EQ(engine_->OpenShardCount(), 6u);
  EXPECT_EQ(engine_->CreateStream("one", 1).code(), Code::kLimitExceeded);
  // Splits and scaling up count against the limit too; merges free shards.
  EXPECT_EQ(engine_->SplitShard("four", 0, HashKey{1000}).code(), Code::kLimitExceeded);
  EXPECT_EQ(engine_->UpdateShardCount("four", 5).status().code(), Code::kLimitExceeded);
  ASSERT_TRUE(engine_->MergeShards("four", 0, 1).ok());
  EXPECT_EQ(engine_->OpenShardCount(), 5u);
  EXPECT_TRUE(engine_->SplitShard("four", 2, ParseHashKey("200000000000000000000000000000000000000").value()).ok());
  EXPECT_EQ(engine_->OpenShardCount(), 6u);
  // Deleting a stream gives its shards back.
  ASSERT_TRUE(engine_->DeleteStream("four").ok());
  EXPECT_EQ(engine_->OpenShardCount(), 2u);
  EXPECT_TRUE(engine_->CreateStream("again", 4).ok());
  Reopen();
  EXPECT_EQ(engine_->OpenShardCount(), 6u);
  EXPECT_EQ(engine_->CreateStream("one", 1).code(), Code::kLimitExceeded);
  CheckWitness("shard limits");
}

// --- One engine per directory -------------------------------------------------------------

TEST_F(EngineInputTest, SecondOpenIsBusy) {
  MakeWitness();
  auto second = Engine::Open(data(), Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  EXPECT_FALSE(second.status().message().empty());
  // Also with a trailing slash.
  second = Engine::Open(data() + "/", Options());
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy);
  CheckWitness("second open");
  ASSERT_TRUE(engine_->PutRecord("witness", PutInput{"k", "w200", std::nullopt}).ok());
  witness_.push_back("w200");
  std::sort(witness_.begin(), witness_.end());
  // Once closed, the directory can be opened again.
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  Open();
  CheckWitness("reopen after busy");
}

// --- Delete + re-create ---------------------------------------------------------------------

TEST_F(EngineInputTest, DeleteThenCreateIsADifferentStream) {
  MakeWitness();
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(engine_->PutRecord("s", PutInput{"k" + std::to_string(i), "old", std::nullopt}).ok());
  auto old = engine_->DescribeStream("s");
  ASSERT_TRUE(old.ok());
  std::vector<ShardPosition> old_pos;
  for (uint32_t i = 0; i < 2; ++i) {
    auto p = engine_->GetPosition("s", i, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
    ASSERT_TRUE(p.ok());
    old_pos.push_back(*p);
  }
  ASSERT_TRUE(engine_->DeleteStream("s").ok());
  EXPECT_EQ(engine_->DeleteStream("s").code(), Code::kNotFound);
  for (const auto& p : old_pos) EXPECT_EQ(engine_->GetRecords("s", p, 10).status().code(), Code::kNotFound);
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  auto now = engine_->DescribeStream("s");
  ASSERT_TRUE(now.ok());
  EXPECT_NE(now->uid, old->uid);
  ASSERT_TRUE(engine_->PutRecord("s", PutInput{"k", "new", std::nullopt}).ok());
  for (const auto& p : old_pos) {
    auto r = engine_->GetRecords("s", p, 10);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), Code::kNotFound);
  }
  EXPECT_EQ(ReadAll("s"), std::vector<std::string>{"new"});
  Reopen();
  for (const auto& p : old_pos) EXPECT_EQ(engine_->GetRecords("s", p, 10).status().code(), Code::kNotFound);
  EXPECT_EQ(ReadAll("s"), std::vector<std::string>{"new"});
  EXPECT_EQ(engine_->DescribeStream("s")->uid, now->uid);
  CheckWitness("delete + create");
  // The old incarnation's directory is gone.
  size_t dirs = 0;
  for (auto& e : fs::directory_iterator(data() + "/streams")) {
    (void)e;
    ++dirs;
  }
  EXPECT_EQ(dirs, 2u);
}

// Spec §4 status matrix with create/delete delays: CREATING and DELETING streams take no
// data-plane calls (ResourceNotFound), refuse mutations (ResourceInUse), and the name stays
// taken until the deletion completes.
TEST_F(EngineInputTest, CreatingAndDeletingStates) {
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  EngineOptions o = Options();
  o.create_delay_ms = 500;
  o.delete_delay_ms = 500;
  auto e = Engine::Open(data(), o);
  ASSERT_TRUE(e.ok()) << e.status();
  engine_ = std::move(e).value();
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->status, StreamStatus::kCreating);
  EXPECT_TRUE(d->shards.empty());
  EXPECT_EQ(engine_->PutRecord("s", PutInput{"k", "v", std::nullopt}).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->GetPosition("s", 0, PositionType::kLatest, std::nullopt, std::nullopt).status().code(),
            Code::kNotFound);
  EXPECT_EQ(engine_->SplitShard("s", 0, HashKey{1000}).code(), Code::kInUse);
  EXPECT_EQ(engine_->SetRetention("s", 48, true).code(), Code::kInUse);
  EXPECT_EQ(engine_->CreateStream("s", 2).code(), Code::kInUse);
  EXPECT_EQ(engine_->ListStreams(10).names, std::vector<std::string>{"s"});
  clock_->AdvanceMs(499);
  engine_->Tick();
  EXPECT_EQ(engine_->DescribeStream("s")->status, StreamStatus::kCreating);
  clock_->AdvanceMs(1);
  engine_->Tick();
  d = engine_->DescribeStream("s");
  EXPECT_EQ(d->status, StreamStatus::kActive);
  EXPECT_EQ(d->shards.size(), 2u);
  ASSERT_TRUE(engine_->PutRecord("s", PutInput{"k", "v", std::nullopt}).ok());
  auto pos = engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  ASSERT_TRUE(pos.ok());
  ASSERT_TRUE(engine_->DeleteStream("s").ok());
  EXPECT_EQ(engine_->DescribeStream("s")->status, StreamStatus::kDeleting);
  EXPECT_TRUE(engine_->DeleteStream("s").ok()) << "idempotent while DELETING";
  EXPECT_EQ(engine_->PutRecord("s", PutInput{"k", "v", std::nullopt}).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->GetRecords("s", *pos, 10).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->MergeShards("s", 0, 1).code(), Code::kInUse);
  EXPECT_EQ(engine_->CreateStream("s", 1).code(), Code::kInUse);
  // DELETING survives a reopen, then completes.
  ASSERT_TRUE(engine_->Close().ok());
  engine_.reset();
  e = Engine::Open(data(), o);
  ASSERT_TRUE(e.ok()) << e.status();
  engine_ = std::move(e).value();
  EXPECT_EQ(engine_->DescribeStream("s")->status, StreamStatus::kDeleting);
  clock_->AdvanceMs(500);
  engine_->Tick();
  EXPECT_EQ(engine_->DescribeStream("s").status().code(), Code::kNotFound);
  EXPECT_TRUE(engine_->ListStreams(10).names.empty());
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  EXPECT_EQ(engine_->GetRecords("s", *pos, 10).status().code(), Code::kNotFound);
}

// A stream deleted (and re-created) while another thread is putting to it: every put
// either succeeds or reports the stream as not found; results name a real shard of the
// stream, and nothing crashes. (Run under AddressSanitizer this also checks that no put
// touches the deleted stream's shard objects after DeleteStream freed them.)
TEST_F(EngineInputTest, DeleteWhilePutting) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  std::atomic<bool> stop{false};
  std::atomic<int> ok_puts{0}, not_found{0}, other{0};
  std::vector<std::thread> putters;
  for (int t = 0; t < 1; ++t) {
    putters.emplace_back([&, t] {
      std::vector<PutInput> batch = {{"a", "x", std::nullopt}, {"b", "y", std::nullopt}, {"c", "z", std::nullopt}};
      while (!stop.load()) {
        Status st;
        auto out = engine_->PutRecords("s", batch, &st);
        if (st.code() == Code::kNotFound) {
          not_found.fetch_add(1);
          continue;
        }
        if (!st.ok()) {
          other.fetch_add(1);
          continue;
        }
        for (auto& o : out) {
          if (o.status.ok() && o.shard_index < 2 && o.shard_id() == FormatShardId(ShardIndex{o.shard_index}))
            ok_puts.fetch_add(1);
          else
            other.fetch_add(1);
        }
      }
      (void)t;
    });
  }
  for (int i = 0; i < 20; ++i) {
    while (ok_puts.load() < 3 * (i + 1)) std::this_thread::yield();
    ASSERT_TRUE(engine_->DeleteStream("s").ok());
    ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  }
  stop = true;
  for (auto& t : putters) t.join();
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(ok_puts.load(), 0);
}

TEST_F(EngineInputTest, OnDemandStreamCannotBeResharded) {
  ASSERT_TRUE(engine_->CreateStream("od", 4, CapacityMode::kOnDemand).ok());
  auto d = engine_->DescribeStream("od");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->mode, CapacityMode::kOnDemand);
  EXPECT_EQ(engine_->SplitShard("od", 0, HashKey{1000}).code(), Code::kInvalidArgument);
  EXPECT_EQ(engine_->MergeShards("od", 0, 1).code(), Code::kInvalidArgument);
  EXPECT_EQ(engine_->UpdateShardCount("od", 8).status().code(), Code::kInvalidArgument);
  EXPECT_NE(engine_->SplitShard("od", 0, HashKey{1000}).message().find("ON_DEMAND"), std::string::npos);
  EXPECT_TRUE(engine_->PutRecord("od", PutInput{"k", "v", std::nullopt}).ok());
}

// --- Kinesis-emulation throughput limits (§6.1) -----------------------------------------------

class EngineLimitsTest : public EngineInputTest {
 protected:
  void SetUp() override {
    kinesis_limits_ = true;
    EngineInputTest::SetUp();
  }
};

TEST_F(EngineLimitsTest, RecordsPerSecondPerShard) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  // 1000 records/s per shard: two batches of 500 to shard 0 pass, the 1001st fails while
  // the same batch's records for shard 1 succeed.
  std::vector<PutInput> b0(500, PutInput{"k", "x", HashKey::Min()});
  Status st;
  for (int i = 0; i < 2; ++i) {
    auto out = engine_->PutRecords("s", b0, &st);
    ASSERT_TRUE(st.ok());
    for (auto& o : out) ASSERT_TRUE(o.status.ok()) << o.status;
  }
  std::vector<PutInput> mixed = {{"k", "a0", HashKey::Min()},
                                 {"k", "b0", HashKey::Max()},
                                 {"k", "a1", HashKey::Min()},
                                 {"k", "b1", HashKey::Max()}};
  auto out = engine_->PutRecords("s", mixed, &st);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(out[0].status.code(), Code::kThrottled);
  EXPECT_EQ(out[0].status.message(), "Rate exceeded for shard shardId-000000000000 in stream s.");
  EXPECT_TRUE(out[1].status.ok());
  EXPECT_EQ(out[2].status.code(), Code::kThrottled);
  EXPECT_TRUE(out[3].status.ok());
  // PutRecord: the whole call is throttled.
  auto one = engine_->PutRecord("s", PutInput{"k", "c", HashKey::Min()});
  EXPECT_EQ(one.status().code(), Code::kThrottled);
  // Refill is continuous: 1 ms = 1 record.
  clock_->AdvanceMs(1);
  EXPECT_TRUE(engine_->PutRecord("s", PutInput{"k", "d", HashKey::Min()}).ok());
  EXPECT_EQ(engine_->PutRecord("s", PutInput{"k", "e", HashKey::Min()}).status().code(), Code::kThrottled);
  clock_->AdvanceMs(1000);
  out = engine_->PutRecords("s", b0, &st);
  for (auto& o : out) EXPECT_TRUE(o.status.ok());
  // Throttled records were not stored: 1000 + 1 + 500 in shard 0, 2 in shard 1.
  auto p0 = engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  auto r0 = engine_->GetRecords("s", *p0, 10000);
  ASSERT_TRUE(r0.ok());
  EXPECT_EQ(r0->records.size(), 1501u);
  auto p1 = engine_->GetPosition("s", 1, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  auto r1 = engine_->GetRecords("s", *p1, 10000);
  ASSERT_TRUE(r1.ok());
  EXPECT_EQ(r1->records.size(), 2u);
}

TEST_F(EngineLimitsTest, BytesPerSecondPerShard) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  const std::string blob(100 * 1024 - 1, 'b');  // 100 KiB with the 1-byte key
  Status st;
  std::vector<PutInput> batch;
  for (int i = 0; i < 10; ++i) batch.push_back({"k", blob, HashKey::Min()});  // 1000 KiB
  batch.push_back({"k", blob, HashKey::Min()});                                // 1100 KiB > 1 MiB
  batch.push_back({"k", blob, HashKey::Max()});                                // other shard
  batch.push_back({"k", "tiny", HashKey::Min()});                              // still fits
  auto out = engine_->PutRecords("s", batch, &st);
  ASSERT_TRUE(st.ok());
  for (int i = 0; i < 10; ++i) EXPECT_TRUE(out[static_cast<size_t>(i)].status.ok()) << i;
  EXPECT_EQ(out[10].status.code(), Code::kThrottled);
  EXPECT_TRUE(out[11].status.ok());
  EXPECT_TRUE(out[12].status.ok()) << "a small record that fits the remaining budget";
  EXPECT_EQ(engine_->PutRecord("s", PutInput{"k", blob, HashKey::Min()}).status().code(), Code::kThrottled);
  clock_->AdvanceMs(100);  // 102.4 KiB more
  EXPECT_TRUE(engine_->PutRecord("s", PutInput{"k", blob, HashKey::Min()}).ok());
  clock_->AdvanceMs(1000);
  // A full 1 MiB record fits an empty bucket.
  EXPECT_TRUE(engine_->PutRecord("s", PutInput{"k", std::string((1 << 20) - 1, 'm'), HashKey::Min()}).ok());
}

TEST_F(EngineLimitsTest, GetRecordsCallsPerSecond) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  ASSERT_TRUE(engine_->PutRecord("s", PutInput{"k", "v", HashKey::Min()}).ok());
  auto p = engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  ASSERT_TRUE(p.ok());
  for (int i = 0; i < 5; ++i) {
    auto r = engine_->GetRecords("s", *p, 10);
    ASSERT_TRUE(r.ok()) << i << ": " << r.status();
    EXPECT_EQ(r->records.size(), 1u);
  }
  auto r = engine_->GetRecords("s", *p, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kThrottled);
  EXPECT_EQ(r.status().message(), "Rate exceeded for shard shardId-000000000000 in stream s.");
  // Another shard has its own budget.
  auto p1 = engine_->GetPosition("s", 1, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  EXPECT_TRUE(engine_->GetRecords("s", *p1, 10).ok());
  clock_->AdvanceMs(1000);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(engine_->GetRecords("s", *p, 10).ok()) << i;
  EXPECT_EQ(engine_->GetRecords("s", *p, 10).status().code(), Code::kThrottled);
  // The position stays usable after the throttle.
  clock_->AdvanceMs(200);
  r = engine_->GetRecords("s", *p, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records.size(), 1u);
}

TEST_F(EngineLimitsTest, LargeReadThrottlesFollowingCalls) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  const std::string mb(1000 * 1000, 'r');
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(engine_->PutRecord("s", PutInput{"k", mb, std::nullopt}).ok()) << i;
    clock_->AdvanceMs(1000);
  }
  auto p = engine_->GetPosition("s", 0, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
  auto r = engine_->GetRecords("s", *p, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records.size(), 3u);  // ~2.9 MiB: over the 2 MiB burst, allowed in one call
  EXPECT_EQ(engine_->GetRecords("s", *r->next, 100).status().code(), Code::kThrottled);
  clock_->AdvanceMs(500);  // the ~0.86 MiB debt is repaid at 2 MiB/s
  EXPECT_TRUE(engine_->GetRecords("s", *r->next, 100).ok());
}

// §3.9 step 7 / §6.1: GetShardIterator is limited to 5 calls/s per shard when emulating.
TEST_F(EngineLimitsTest, GetShardIteratorCallsPerSecond) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  for (int i = 0; i < 5; ++i)
    EXPECT_TRUE(engine_->GetPosition("s", 0, PositionType::kLatest, std::nullopt, std::nullopt).ok()) << i;
  auto p = engine_->GetPosition("s", 0, PositionType::kLatest, std::nullopt, std::nullopt);
  EXPECT_EQ(p.status().code(), Code::kThrottled) << "the 6th GetShardIterator call within 1 s";
  clock_->AdvanceMs(1000);
  EXPECT_TRUE(engine_->GetPosition("s", 0, PositionType::kLatest, std::nullopt, std::nullopt).ok());
}

TEST_F(EngineLimitsTest, ChildShardsGetFreshBudgets) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  std::vector<PutInput> b(1000, PutInput{"k", "x", HashKey::Min()});
  Status st;
  auto out = engine_->PutRecords("s", b, &st);
  for (auto& o : out) ASSERT_TRUE(o.status.ok());
  EXPECT_EQ(engine_->PutRecord("s", PutInput{"k", "x", HashKey::Min()}).status().code(), Code::kThrottled);
  ASSERT_TRUE(engine_->SplitShard("s", 0, ParseHashKey("1000").value()).ok());
  EXPECT_TRUE(engine_->PutRecord("s", PutInput{"k", "x", HashKey::Min()}).ok());
  EXPECT_TRUE(engine_->PutRecord("s", PutInput{"k", "x", HashKey::Max()}).ok());
}

}  // namespace
}  // namespace shoal
