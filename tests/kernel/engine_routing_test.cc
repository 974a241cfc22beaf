// Engine routing: partition keys -> MD5 -> 128-bit hash key -> the open shard whose
// HashKeyRange contains it (spec kinesis-data-streams.md §2.3), explicit hash keys at every
// range boundary, and CreateStream's even split of the key space (§2.4), checked against
// the spec's exact tables and worked examples through the Engine's public API.
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <vector>

#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

constexpr int64_t kT0 = 1700000000000;

HashKey Key(std::string_view decimal) {
  auto k = ParseHashKey(decimal);
  EXPECT_TRUE(k.ok()) << decimal << ": " << k.status();
  return k.ok() ? *k : HashKey{};
}

// Hex digest (32 hex digits) -> hash key, read big-endian.
HashKey FromHex(std::string_view hex) {
  Uint128 v = 0;
  for (char c : hex) {
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
    EXPECT_GE(d, 0) << hex;
    v = (v << 4) | static_cast<Uint128>(d);
  }
  return HashKey{v};
}

struct Read {
  std::string key;
  std::string data;
};

class EngineRoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    clock_ = std::make_shared<ManualClock>(kT0);
    Open();
  }
  void Open() {
    EngineOptions o;
    o.clock = clock_;
    o.sweep_interval_ms = 0;
    o.log.segment_bytes = 64 << 10;
    auto e = Engine::Open(dir_.Sub("data"), o);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(e).value();
  }
  void Reopen() {
    engine_.reset();
    Open();
  }

  // Every visible record of a shard, oldest first.
  std::vector<Read> ReadShard(const std::string& stream, uint32_t shard) {
    std::vector<Read> out;
    auto pos = engine_->GetPosition(stream, shard, PositionType::kTrimHorizon, std::nullopt, std::nullopt);
    EXPECT_TRUE(pos.ok()) << pos.status();
    if (!pos.ok()) return out;
    std::optional<ShardPosition> p = *pos;
    for (int guard = 0; p && guard < 100000; ++guard) {
      auto r = engine_->GetRecords(stream, *p, 1000);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      for (auto& rec : r->records) out.push_back({std::string(rec.partition_key), std::string(rec.data)});
      if (r->records.empty() && r->next) break;
      p = r->next;
    }
    return out;
  }

  PutOutput Put(const std::string& stream, std::string_view pk, std::string_view data,
                std::optional<HashKey> ehk = std::nullopt) {
    auto r = engine_->PutRecord(stream, PutInput{pk, data, ehk});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : PutOutput{};
  }

  testing::TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<Engine> engine_;
};

// --- MD5 ------------------------------------------------------------------------------

TEST_F(EngineRoutingTest, Md5TestVectorsRfc1321) {
  // RFC 1321 appendix A.5, read as big-endian 128-bit integers.
  const std::vector<std::pair<std::string, std::string>> v = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"a", "0cc175b9c0f1b6a831c399e269772661"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
      {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
       "d174ab98d277d9f5a5611c2c9f419d9f"},
      {"12345678901234567890123456789012345678901234567890123456789012345678901234567890",
       "57edf4a22be3c955ac49da2e2107b67a"},
  };
  for (const auto& [in, hex] : v) EXPECT_EQ(HashPartitionKey(in), FromHex(hex)) << "'" << in << "'";
}

TEST_F(EngineRoutingTest, SpecWorkedExampleHashes) {
  // §2.3 table: partition key, MD5 hex, decimal hash key.
  struct Ex {
    const char* pk;
    const char* hex;
    const char* dec;
  };
  const Ex ex[] = {
      {"a", "0cc175b9c0f1b6a831c399e269772661", "16955237001963240173058271559858726497"},
      {"user-42", "7631bc07a1cc8fcd56e70fc6b2fb4a43", "157107139746365290205026809710278036035"},
      {"partitionKey1", "c383ca4b5d58315bca3ccf055841906d", "259883753084267508317526128829441085549"},
      {"order-1001", "929211f12c9f601477a81243838a056c", "194825726634704243656021158002940314988"},
      {"order-1002", "03795f48de1f16b4b2754aedb0e879b1", "4617884509320765803568674817706588593"},
  };
  for (const Ex& e : ex) {
    HashKey h = HashPartitionKey(e.pk);
    EXPECT_EQ(h, FromHex(e.hex)) << e.pk;
    EXPECT_EQ(FormatHashKey(h), e.dec) << e.pk;
  }
}

TEST_F(EngineRoutingTest, SpecWorkedExamplesOnTwoShardStream) {
  ASSERT_TRUE(engine_->CreateStream("orders", 2).ok());
  // §2.3: user-42 and order-1002 -> shard 0; partitionKey1 and order-1001 -> shard 1.
  const std::map<std::string, uint32_t> expect = {
      {"user-42", 0}, {"order-1002", 0}, {"partitionKey1", 1}, {"order-1001", 1}};
  for (const auto& [pk, shard] : expect) {
    PutOutput o = Put("orders", pk, "data-" + pk);
    EXPECT_EQ(o.shard_index, shard) << pk;
    EXPECT_EQ(o.shard_id(), shard == 0 ? "shardId-000000000000" : "shardId-000000000001") << pk;
  }
  // PutRecords routes the same way, one result per entry in request order.
  std::vector<PutInput> batch;
  std::vector<std::string> keys = {"order-1001", "user-42", "partitionKey1", "order-1002"};
  for (const auto& k : keys) batch.push_back(PutInput{k, "batch", std::nullopt});
  Status st;
  auto out = engine_->PutRecords("orders", batch, &st);
  ASSERT_TRUE(st.ok()) << st;
  ASSERT_EQ(out.size(), 4u);
  for (size_t i = 0; i < keys.size(); ++i) {
    ASSERT_TRUE(out[i].status.ok()) << out[i].status;
    EXPECT_EQ(out[i].shard_index, expect.at(keys[i])) << keys[i];
  }
  // The records are stored where the results said, and survive a reopen there.
  Reopen();
  for (uint32_t shard = 0; shard < 2; ++shard) {
    auto recs = ReadShard("orders", shard);
    EXPECT_EQ(recs.size(), 4u) << "shard " << shard;
    for (const Read& r : recs) EXPECT_EQ(expect.at(r.key), shard) << r.key;
  }
}

// --- CreateStream's even split (§2.4 exact table) ---------------------------------------

TEST_F(EngineRoutingTest, EvenSplitMatchesSpecTable) {
  const std::map<int, std::vector<std::pair<const char*, const char*>>> table = {
      {1, {{"0", "340282366920938463463374607431768211455"}}},
      {2,
       {{"0", "170141183460469231731687303715884105727"},
        {"170141183460469231731687303715884105728", "340282366920938463463374607431768211455"}}},
      {3,
       {{"0", "113427455640312821154458202477256070484"},
        {"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
        {"226854911280625642308916404954512140970", "340282366920938463463374607431768211455"}}},
      {4,
       {{"0", "85070591730234615865843651857942052863"},
        {"85070591730234615865843651857942052864", "170141183460469231731687303715884105727"},
        {"170141183460469231731687303715884105728", "255211775190703847597530955573826158591"},
        {"255211775190703847597530955573826158592", "340282366920938463463374607431768211455"}}},
      {5,
       {{"0", "68056473384187692692674921486353642290"},
        {"68056473384187692692674921486353642291", "136112946768375385385349842972707284581"},
        {"136112946768375385385349842972707284582", "204169420152563078078024764459060926872"},
        {"204169420152563078078024764459060926873", "272225893536750770770699685945414569163"},
        {"272225893536750770770699685945414569164", "340282366920938463463374607431768211455"}}},
  };
  for (const auto& [n, ranges] : table) {
    const std::string name = "even" + std::to_string(n);
    ASSERT_TRUE(engine_->CreateStream(name, n).ok());
    auto d = engine_->DescribeStream(name);
    ASSERT_TRUE(d.ok()) << d.status();
    ASSERT_EQ(d->shards.size(), static_cast<size_t>(n));
    EXPECT_EQ(d->open_shard_count, static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) {
      const ShardDescription& s = d->shards[static_cast<size_t>(i)];
      EXPECT_EQ(s.index, static_cast<uint32_t>(i));
      EXPECT_EQ(s.shard_id, fmt::format("shardId-{:012}", i));
      EXPECT_EQ(FormatHashKey(s.range.start), ranges[static_cast<size_t>(i)].first) << name << " shard " << i;
      EXPECT_EQ(FormatHashKey(s.range.end), ranges[static_cast<size_t>(i)].second) << name << " shard " << i;
      EXPECT_FALSE(s.closed);
      EXPECT_FALSE(s.parent.has_value());
      EXPECT_FALSE(s.adjacent_parent.has_value());
      EXPECT_FALSE(s.ending_sequence_number.has_value());
    }
  }
  // And the table survives a reopen (ranges come from the catalog, not recomputed).
  Reopen();
  auto d = engine_->DescribeStream("even3");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(FormatHashKey(d->shards[1].range.end), "226854911280625642308916404954512140969");
}

TEST_F(EngineRoutingTest, EvenSplitFormulaForOtherCounts) {
  // step = floor(2^128 / N); shard i < N-1: [i*step, (i+1)*step-1]; last ends at 2^128-1.
  // Streams for small counts (each shard costs a directory and a segment file); the pure
  // EvenSplit() that CreateStream and UpdateShardCount use for the large ones.
  for (int n : {6, 7, 8, 16, 25, 100, 128, 1000, 10000}) {
    std::vector<ShardDescription> shards;
    if (n <= 25) {
      const std::string name = "f" + std::to_string(n);
      ASSERT_TRUE(engine_->CreateStream(name, n).ok());
      auto d = engine_->DescribeStream(name);
      ASSERT_TRUE(d.ok());
      shards = d->shards;
    } else {
      auto ranges = EvenSplit(n);
      ASSERT_TRUE(ranges.ok());
      for (size_t i = 0; i < ranges->size(); ++i) {
        ShardDescription sd;
        sd.index = static_cast<uint32_t>(i);
        sd.range = (*ranges)[i];
        shards.push_back(sd);
      }
    }
    ASSERT_EQ(shards.size(), static_cast<size_t>(n));
    // floor(2^128 / n) = floor((2^128 - 1) / n) unless n divides 2^128.
    Uint128 step = HashKey::Max().value / static_cast<Uint128>(n);
    if ((n & (n - 1)) == 0) step += 1;
    std::vector<HashKeyRange> ranges;
    for (int i = 0; i < n; ++i) {
      const auto& s = shards[static_cast<size_t>(i)];
      Uint128 start = step * static_cast<Uint128>(i);
      Uint128 end = i == n - 1 ? HashKey::Max().value : step * static_cast<Uint128>(i + 1) - 1;
      EXPECT_EQ(s.range.start.value, start) << n << "/" << i;
      EXPECT_EQ(s.range.end.value, end) << n << "/" << i;
      ranges.push_back(s.range);
    }
    EXPECT_TRUE(CheckTiling(ranges).ok()) << n;
  }
}

// --- Explicit hash keys at every boundary, 1..5 shards ----------------------------------

TEST_F(EngineRoutingTest, ExplicitHashKeysAtRangeBoundaries) {
  for (int n = 1; n <= 5; ++n) {
    const std::string name = "b" + std::to_string(n);
    ASSERT_TRUE(engine_->CreateStream(name, n).ok());
    auto d = engine_->DescribeStream(name);
    ASSERT_TRUE(d.ok());
    std::map<uint32_t, std::vector<std::string>> expected;  // shard -> data, in put order
    for (int i = 0; i < n; ++i) {
      const HashKeyRange r = d->shards[static_cast<size_t>(i)].range;
      const uint32_t si = static_cast<uint32_t>(i);
      std::vector<std::pair<HashKey, uint32_t>> probes = {{r.start, si}, {r.end, si}};
      if (r.start.value + 1 <= r.end.value) probes.push_back({HashKey{r.start.value + 1}, si});
      if (r.end.value > r.start.value) probes.push_back({HashKey{r.end.value - 1}, si});
      if (r.end != HashKey::Max()) probes.push_back({HashKey{r.end.value + 1}, si + 1});
      if (r.start != HashKey::Min()) probes.push_back({HashKey{r.start.value - 1}, si - 1});
      for (const auto& [key, want] : probes) {
        const std::string data = name + ":" + FormatHashKey(key);
        // The partition key hashes elsewhere: the explicit key must win.
        PutOutput o = Put(name, "pk-" + std::to_string(i), data, key);
        EXPECT_EQ(o.shard_index, want) << name << " key " << FormatHashKey(key);
        expected[want].push_back(data);
      }
    }
    for (int i = 0; i < n; ++i) {
      auto recs = ReadShard(name, static_cast<uint32_t>(i));
      std::vector<std::string> got;
      for (auto& r : recs) got.push_back(r.data);
      EXPECT_EQ(got, expected[static_cast<uint32_t>(i)]) << name << " shard " << i;
    }
  }
}

TEST_F(EngineRoutingTest, ExplicitHashKeyExtremesAndParsing) {
  ASSERT_TRUE(engine_->CreateStream("x", 3).ok());
  EXPECT_EQ(Put("x", "k", "min", HashKey::Min()).shard_index, 0u);
  EXPECT_EQ(Put("x", "k", "max", HashKey::Max()).shard_index, 2u);
  EXPECT_EQ(Put("x", "k", "max-parsed", Key("340282366920938463463374607431768211455")).shard_index, 2u);
  EXPECT_EQ(Put("x", "k", "zero-parsed", Key("0")).shard_index, 0u);
  // Values the decimal form cannot carry: 2^128, leading zeros, signs, empty, 40 digits.
  for (const char* bad : {"340282366920938463463374607431768211456", "999999999999999999999999999999999999999",
                          "01", "-1", "+1", "", " 1", "1e3", "1234567890123456789012345678901234567890"}) {
    auto k = ParseHashKey(bad);
    EXPECT_FALSE(k.ok()) << "'" << bad << "'";
    if (!k.ok()) {
      EXPECT_EQ(k.status().code(), Code::kInvalidArgument) << bad;
      EXPECT_FALSE(k.status().message().empty());
    }
  }
}

// --- Random keys: the engine's routing agrees with the ranges it reports ----------------

TEST_F(EngineRoutingTest, RandomKeysRouteToContainingRange) {
  std::mt19937_64 rng(20240601);
  for (int n : {1, 2, 3, 5, 7}) {
    const std::string name = "rand" + std::to_string(n);
    ASSERT_TRUE(engine_->CreateStream(name, n).ok());
    auto d = engine_->DescribeStream(name);
    ASSERT_TRUE(d.ok());
    auto owner = [&](HashKey h) -> uint32_t {
      for (const auto& s : d->shards)
        if (s.range.Contains(h)) return s.index;
      ADD_FAILURE() << "no shard owns " << FormatHashKey(h);
      return UINT32_MAX;
    };
    std::vector<std::string> keys;
    std::vector<PutInput> batch;
    for (int i = 0; i < 300; ++i) keys.push_back("key-" + std::to_string(rng()));
    for (const auto& k : keys) batch.push_back(PutInput{k, k, std::nullopt});
    Status st;
    auto out = engine_->PutRecords(name, batch, &st);
    ASSERT_TRUE(st.ok());
    std::map<uint32_t, size_t> per_shard;
    for (size_t i = 0; i < keys.size(); ++i) {
      ASSERT_TRUE(out[i].status.ok());
      EXPECT_EQ(out[i].shard_index, owner(HashPartitionKey(keys[i]))) << keys[i];
      ++per_shard[out[i].shard_index];
    }
    // Every record is read back from the shard the result named.
    for (int i = 0; i < n; ++i) {
      auto recs = ReadShard(name, static_cast<uint32_t>(i));
      EXPECT_EQ(recs.size(), per_shard[static_cast<uint32_t>(i)]);
      for (auto& r : recs) EXPECT_EQ(owner(HashPartitionKey(r.key)), static_cast<uint32_t>(i)) << r.key;
    }
  }
}

TEST_F(EngineRoutingTest, RoutingFollowsSplitAndMergeBoundaries) {
  ASSERT_TRUE(engine_->CreateStream("rs", 2).ok());
  const HashKey k = Key("85070591730234615865843651857942052864");  // 4-shard boundary
  ASSERT_TRUE(engine_->SplitShard("rs", 0, k).ok());
  // Children 2 = [0, K-1], 3 = [K, 2^127-1]; shard 1 unchanged.
  EXPECT_EQ(Put("rs", "p", "a", HashKey{k.value - 1}).shard_index, 2u);
  EXPECT_EQ(Put("rs", "p", "b", k).shard_index, 3u);
  EXPECT_EQ(Put("rs", "p", "c", Key("170141183460469231731687303715884105727")).shard_index, 3u);
  EXPECT_EQ(Put("rs", "p", "d", Key("170141183460469231731687303715884105728")).shard_index, 1u);
  // user-42 = 1.57e38: in [K, 2^127 - 1], so child 3; partitionKey1 = 2.60e38: shard 1.
  EXPECT_EQ(Put("rs", "user-42", "e").shard_index, 3u);
  EXPECT_EQ(Put("rs", "partitionKey1", "e2").shard_index, 1u);
  ASSERT_TRUE(engine_->MergeShards("rs", 3, 1).ok());  // given in either order
  EXPECT_EQ(Put("rs", "p", "f", k).shard_index, 4u);
  EXPECT_EQ(Put("rs", "p", "g", HashKey::Max()).shard_index, 4u);
  EXPECT_EQ(Put("rs", "p", "h", HashKey{k.value - 1}).shard_index, 2u);
  Reopen();
  EXPECT_EQ(Put("rs", "p", "i", k).shard_index, 4u);
  EXPECT_EQ(Put("rs", "p", "j", HashKey::Min()).shard_index, 2u);
}

}  // namespace
}  // namespace shoal
