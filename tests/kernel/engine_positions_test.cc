// Engine positions (GetShardIterator semantics) and GetRecords: every position type, the
// spec's error texts (kinesis-data-streams.md §3.9), sequence numbers of another shard or
// another incarnation, paging, MillisBehindLatest (§3.10), closed shards (ChildShards, no
// next position), and the ordering contract of sequence numbers (§2.5), including the
// spec's worked examples.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

constexpr int64_t kT0 = 1700000000000;
constexpr int64_t kHourMs = 3600 * 1000;

struct Rec {
  std::string seq;
  int64_t arrival_ms;
  std::string key;
  std::string data;
};

SeqParts Parse(const std::string& seq) {
  auto p = ParseSequenceNumber(seq);
  EXPECT_TRUE(p.ok()) << seq << ": " << p.status();
  return p.ok() ? *p : SeqParts{};
}

// Numeric comparison of two decimal strings without leading zeros.
int CompareDecimal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

class EnginePositionsTest : public ::testing::Test {
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

  PutOutput Put(const std::string& stream, const std::string& data, std::optional<HashKey> ehk = std::nullopt,
                const std::string& pk = "pk") {
    auto r = engine_->PutRecord(stream, PutInput{pk, data, ehk});
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : PutOutput{};
  }
  // Puts to shard `shard` of a stream created with EvenSplit ranges, via an explicit key.
  PutOutput PutTo(const std::string& stream, uint32_t shard, const std::string& data) {
    auto d = engine_->DescribeStream(stream);
    EXPECT_TRUE(d.ok());
    for (const auto& s : d->shards)
      if (s.index == shard) {
        PutOutput o = Put(stream, data, s.range.start);
        EXPECT_EQ(o.shard_index, shard);
        return o;
      }
    ADD_FAILURE() << "no shard " << shard;
    return {};
  }

  Result<ShardPosition> Pos(const std::string& stream, uint32_t shard, PositionType t,
                            std::optional<std::string> seq = std::nullopt,
                            std::optional<int64_t> ts = std::nullopt) {
    std::optional<std::string_view> sv;
    if (seq) sv = *seq;
    return engine_->GetPosition(stream, shard, t, sv, ts);
  }

  // Reads from `pos` until caught up (open shard) or the end (closed shard).
  std::vector<Rec> ReadFrom(const std::string& stream, ShardPosition pos, size_t limit = 1000,
                            GetRecordsOutput* last = nullptr) {
    std::vector<Rec> out;
    std::optional<ShardPosition> p = pos;
    for (int guard = 0; p && guard < 100000; ++guard) {
      auto r = engine_->GetRecords(stream, *p, limit);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      EXPECT_LE(r->records.size(), std::max<size_t>(limit, 1));
      for (auto& rec : r->records)
        out.push_back({rec.sequence_number, rec.arrival_ms, std::string(rec.partition_key), std::string(rec.data)});
      const bool done = (r->records.empty() && r->next) || !r->next;
      p = r->next;
      if (done) {
        if (last) *last = std::move(r).value();
        break;
      }
    }
    return out;
  }
  std::vector<std::string> Datas(const std::vector<Rec>& v) {
    std::vector<std::string> d;
    for (auto& r : v) d.push_back(r.data);
    return d;
  }
  std::vector<std::string> ReadDatas(const std::string& stream, uint32_t shard, PositionType t,
                                     std::optional<std::string> seq = std::nullopt,
                                     std::optional<int64_t> ts = std::nullopt) {
    auto p = Pos(stream, shard, t, seq, ts);
    EXPECT_TRUE(p.ok()) << p.status();
    if (!p.ok()) return {};
    return Datas(ReadFrom(stream, *p));
  }

  testing::TempDir dir_;
  std::shared_ptr<ManualClock> clock_;
  std::unique_ptr<Engine> engine_;
};

// --- TRIM_HORIZON / LATEST -----------------------------------------------------------------

TEST_F(EnginePositionsTest, TrimHorizonAndLatest) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  // An empty shard: both positions read nothing and stay usable.
  auto th0 = Pos("s", 0, PositionType::kTrimHorizon);
  ASSERT_TRUE(th0.ok());
  auto r = engine_->GetRecords("s", *th0, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->records.empty());
  ASSERT_TRUE(r->next.has_value());
  EXPECT_EQ(r->millis_behind_latest, 0);
  EXPECT_TRUE(r->child_shards.empty());

  for (int i = 0; i < 5; ++i) Put("s", "r" + std::to_string(i));
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kTrimHorizon),
            (std::vector<std::string>{"r0", "r1", "r2", "r3", "r4"}));
  // The iterator taken while the shard was empty now sees the records.
  EXPECT_EQ(Datas(ReadFrom("s", *th0)).size(), 5u);

  auto latest = Pos("s", 0, PositionType::kLatest);
  ASSERT_TRUE(latest.ok());
  EXPECT_TRUE(Datas(ReadFrom("s", *latest)).empty());
  Put("s", "r5");
  Put("s", "r6");
  // LATEST = just after the newest record at the time of the call.
  EXPECT_EQ(Datas(ReadFrom("s", *latest)), (std::vector<std::string>{"r5", "r6"}));
  // Positions are reusable, and survive a reopen.
  EXPECT_EQ(Datas(ReadFrom("s", *latest)), (std::vector<std::string>{"r5", "r6"}));
  Reopen();
  EXPECT_EQ(Datas(ReadFrom("s", *latest)), (std::vector<std::string>{"r5", "r6"}));
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kTrimHorizon).size(), 7u);
}

// --- AT / AFTER_SEQUENCE_NUMBER --------------------------------------------------------

TEST_F(EnginePositionsTest, AtAndAfterSequenceNumber) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  std::vector<std::string> seqs;
  for (int i = 0; i < 10; ++i) {
    seqs.push_back(Put("s", "r" + std::to_string(i)).sequence_number());
    clock_->AdvanceMs(300);  // several arrival seconds
  }
  for (int i = 0; i < 10; ++i) {
    auto at = ReadDatas("s", 0, PositionType::kAtSequenceNumber, seqs[static_cast<size_t>(i)]);
    ASSERT_EQ(at.size(), static_cast<size_t>(10 - i)) << i;
    EXPECT_EQ(at.front(), "r" + std::to_string(i));
    auto after = ReadDatas("s", 0, PositionType::kAfterSequenceNumber, seqs[static_cast<size_t>(i)]);
    ASSERT_EQ(after.size(), static_cast<size_t>(9 - i)) << i;
    if (!after.empty()) {
      EXPECT_EQ(after.front(), "r" + std::to_string(i + 1));
    }
  }
  // The shard's StartingSequenceNumber: AT and AFTER both start at the first record.
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  const std::string start = d->shards[0].starting_sequence_number;
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAtSequenceNumber, start).size(), 10u);
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAfterSequenceNumber, start).size(), 10u);
  // After AFTER_SEQUENCE_NUMBER of the last record, new records are read.
  auto after_last = Pos("s", 0, PositionType::kAfterSequenceNumber, seqs.back());
  ASSERT_TRUE(after_last.ok());
  Put("s", "r10");
  EXPECT_EQ(Datas(ReadFrom("s", *after_last)), (std::vector<std::string>{"r10"}));
  // Across a reopen the numbers still resolve.
  Reopen();
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAtSequenceNumber, seqs[3]).front(), "r3");
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAfterSequenceNumber, seqs[3]).front(), "r4");
}

// Spec §3.9: AT_SEQUENCE_NUMBER = first record with sequence >= seq; AFTER = first with
// sequence > seq. A number with the same counter as a stored record but a different
// arrival second (well-formed, this shard, not issued by the engine) is not equal to that
// record's number: sequence_number.h explains how to resolve it (compare SeqParts of the
// record at offset c - 1 with the number).
TEST_F(EnginePositionsTest, SequenceNumberComparedNumericallyNotJustByCounter) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  clock_->SetMs(kT0 + 10'000);
  PutOutput r0 = Put("s", "r0");
  clock_->SetMs(kT0 + 20'000);
  Put("s", "r1");
  SeqParts p0 = Parse(r0.sequence_number());
  ASSERT_EQ(p0.counter, 1u);
  // Same counter, one second later than r0's arrival: r0 < x < r1.
  SeqParts above = p0;
  above.arrival_s += 1;
  const std::string x_above = FormatSequenceNumber(above);
  ASSERT_GT(CompareDecimal(x_above, r0.sequence_number()), 0);
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAtSequenceNumber, x_above), (std::vector<std::string>{"r1"}))
      << "AT_SEQUENCE_NUMBER must start at the first record >= " << x_above;
  // Same counter, one second earlier: x < r0, so AFTER x starts at r0 itself.
  SeqParts below = p0;
  below.arrival_s -= 1;
  const std::string x_below = FormatSequenceNumber(below);
  ASSERT_LT(CompareDecimal(x_below, r0.sequence_number()), 0);
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAfterSequenceNumber, x_below),
            (std::vector<std::string>{"r0", "r1"}))
      << "AFTER_SEQUENCE_NUMBER must start at the first record > " << x_below;
}

TEST_F(EnginePositionsTest, MustEitherSpecifyErrors) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  const std::string seq = Put("s", "r0").sequence_number();
  const std::string prefix =
      "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or "
      "(2) TRIM_HORIZON or LATEST and no StartingSequenceNumber. Request specified ";
  struct Case {
    PositionType type;
    bool with_seq;
    std::string tail;
  };
  const Case cases[] = {
      {PositionType::kTrimHorizon, true, "TRIM_HORIZON and also a StartingSequenceNumber."},
      {PositionType::kLatest, true, "LATEST and also a StartingSequenceNumber."},
      {PositionType::kAtSequenceNumber, false, "AT_SEQUENCE_NUMBER and no StartingSequenceNumber."},
      {PositionType::kAfterSequenceNumber, false, "AFTER_SEQUENCE_NUMBER and no StartingSequenceNumber."},
  };
  for (const Case& c : cases) {
    auto p = Pos("s", 0, c.type, c.with_seq ? std::optional<std::string>(seq) : std::nullopt);
    ASSERT_FALSE(p.ok()) << c.tail;
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(p.status().message(), prefix + c.tail);
  }
  // ParsePositionType: the five names, nothing else.
  EXPECT_EQ(ParsePositionType("TRIM_HORIZON").value(), PositionType::kTrimHorizon);
  EXPECT_EQ(ParsePositionType("LATEST").value(), PositionType::kLatest);
  EXPECT_EQ(ParsePositionType("AT_SEQUENCE_NUMBER").value(), PositionType::kAtSequenceNumber);
  EXPECT_EQ(ParsePositionType("AFTER_SEQUENCE_NUMBER").value(), PositionType::kAfterSequenceNumber);
  EXPECT_EQ(ParsePositionType("AT_TIMESTAMP").value(), PositionType::kAtTimestamp);
  for (const char* bad : {"", "latest", "AT_SEQUENCE", "TRIM_HORIZON "})
    EXPECT_EQ(ParsePositionType(bad).status().code(), Code::kInvalidArgument) << bad;
}

TEST_F(EnginePositionsTest, InvalidSequenceNumberText) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  Put("s", "r0");
  for (const char* bad : {"", "abc", "0", "123", "-1", "0049646437577108476416916876405825929425585429676275269634",
                          "99999999999999999999999999999999999999999999999999999999"}) {
    auto p = Pos("s", 0, PositionType::kAtSequenceNumber, std::string(bad));
    ASSERT_FALSE(p.ok()) << "'" << bad << "'";
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument) << bad;
    EXPECT_EQ(p.status().message(), fmt::format("StartingSequenceNumber {} used in GetShardIterator on shard "
                                                "shardId-000000000000 in stream s is invalid.",
                                                bad));
  }
}

TEST_F(EnginePositionsTest, SequenceNumberOfAnotherShardRejected) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  const std::string seq0 = PutTo("s", 0, "a").sequence_number();
  PutTo("s", 1, "b");
  auto d = engine_->DescribeStream("s");
  for (PositionType t : {PositionType::kAtSequenceNumber, PositionType::kAfterSequenceNumber}) {
    auto p = Pos("s", 1, t, seq0);
    ASSERT_FALSE(p.ok());
    EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
    EXPECT_EQ(p.status().message(),
              "Invalid StartingSequenceNumber. It encodes shardId-000000000000, while it was used in a call to a "
              "shard with shardId-000000000001");
  }
  // Shard 1's own StartingSequenceNumber on shard 0: also another shard.
  auto p = Pos("s", 0, PositionType::kAtSequenceNumber, d->shards[1].starting_sequence_number);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().message(),
            "Invalid StartingSequenceNumber. It encodes shardId-000000000001, while it was used in a call to a "
            "shard with shardId-000000000000");
}

TEST_F(EnginePositionsTest, SequenceNumberAndPositionOfAnotherIncarnationRejected) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  const std::string old_seq = Put("s", "old").sequence_number();
  auto old_pos = Pos("s", 0, PositionType::kTrimHorizon);
  ASSERT_TRUE(old_pos.ok());
  auto old_uid = engine_->DescribeStream("s")->uid;
  ASSERT_TRUE(engine_->DeleteStream("s").ok());
  // The deleted stream: positions and numbers are gone with it.
  EXPECT_EQ(engine_->GetRecords("s", *old_pos, 10).status().code(), Code::kNotFound);
  EXPECT_EQ(Pos("s", 0, PositionType::kAtSequenceNumber, old_seq).status().code(), Code::kNotFound);
  clock_->AdvanceMs(10'000);
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  EXPECT_NE(engine_->DescribeStream("s")->uid, old_uid);
  Put("s", "new");
  auto p = Pos("s", 0, PositionType::kAtSequenceNumber, old_seq);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(p.status().message(),
            fmt::format("StartingSequenceNumber {} used in GetShardIterator on shard shardId-000000000000 in "
                        "stream s is invalid because it did not come from this stream.",
                        old_seq));
  // A position of the old incarnation never reads the new one's records.
  auto r = engine_->GetRecords("s", *old_pos, 10);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNotFound);
  EXPECT_EQ(r.status().message(), "Shard shardId-000000000000 in stream s does not exist");
  Reopen();
  EXPECT_EQ(engine_->GetRecords("s", *old_pos, 10).status().code(), Code::kNotFound);
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kTrimHorizon), (std::vector<std::string>{"new"}));
}

TEST_F(EnginePositionsTest, UnknownShardOrStream) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  auto p = Pos("s", 2, PositionType::kTrimHorizon);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kNotFound);
  EXPECT_EQ(p.status().message(), "Shard shardId-000000000002 in stream s does not exist");
  p = Pos("nope", 0, PositionType::kTrimHorizon);
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), Code::kNotFound);
  EXPECT_EQ(p.status().message(), "Shard shardId-000000000000 in stream nope does not exist");
  auto good = Pos("s", 0, PositionType::kTrimHorizon);
  ASSERT_TRUE(good.ok());
  ShardPosition bad = *good;
  bad.shard_index = 7;
  EXPECT_EQ(engine_->GetRecords("s", bad, 10).status().code(), Code::kNotFound);
  EXPECT_EQ(engine_->GetRecords("nope", *good, 10).status().code(), Code::kNotFound);
}

// --- AT_TIMESTAMP --------------------------------------------------------------------------

TEST_F(EnginePositionsTest, AtTimestamp) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  const int64_t t = kT0 + 1000;
  clock_->SetMs(t);
  Put("s", "r0");
  clock_->SetMs(t + 10);
  Put("s", "r1");
  Put("s", "r1b");  // same millisecond
  clock_->SetMs(t + 20);
  Put("s", "r2");
  clock_->SetMs(t + 50);
  auto at = [&](int64_t ts) { return ReadDatas("s", 0, PositionType::kAtTimestamp, std::nullopt, ts); };
  EXPECT_EQ(at(0), (std::vector<std::string>{"r0", "r1", "r1b", "r2"}));
  EXPECT_EQ(at(t - 1), (std::vector<std::string>{"r0", "r1", "r1b", "r2"}));
  EXPECT_EQ(at(t), (std::vector<std::string>{"r0", "r1", "r1b", "r2"}));
  EXPECT_EQ(at(t + 1), (std::vector<std::string>{"r1", "r1b", "r2"}));
  EXPECT_EQ(at(t + 10), (std::vector<std::string>{"r1", "r1b", "r2"}));
  EXPECT_EQ(at(t + 11), (std::vector<std::string>{"r2"}));
  EXPECT_EQ(at(t + 20), (std::vector<std::string>{"r2"}));
  // No record qualifies: like LATEST (later records are read).
  auto p = Pos("s", 0, PositionType::kAtTimestamp, std::nullopt, t + 50);
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(ReadFrom("s", *p).empty());
  Put("s", "r3");
  EXPECT_EQ(Datas(ReadFrom("s", *p)), (std::vector<std::string>{"r3"}));

  // In the future -> error with the spec's text; exactly now is fine.
  const int64_t now = clock_->NowMs();
  auto fut = Pos("s", 0, PositionType::kAtTimestamp, std::nullopt, now + 1);
  ASSERT_FALSE(fut.ok());
  EXPECT_EQ(fut.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(fut.status().message(),
            fmt::format("The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. "
                        "timestampInMillis: {}, currentTimestampInMillis: {}",
                        now + 1, now));
  EXPECT_TRUE(Pos("s", 0, PositionType::kAtTimestamp, std::nullopt, now).ok());
  // Missing timestamp.
  auto missing = Pos("s", 0, PositionType::kAtTimestamp);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), Code::kInvalidArgument);
  EXPECT_EQ(missing.status().message(),
            "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no "
            "timestamp parameter.");
}

TEST_F(EnginePositionsTest, AtTimestampOlderThanHorizonIsTrimHorizon) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  Put("s", "old");
  clock_->AdvanceMs(2 * kHourMs);
  Put("s", "mid");
  clock_->AdvanceMs(2 * kHourMs);
  Put("s", "new");
  // "old" is past the 24 h retention, "mid" and "new" are not.
  clock_->SetMs(kT0 + 25 * kHourMs);
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kTrimHorizon), (std::vector<std::string>{"mid", "new"}));
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAtTimestamp, std::nullopt, kT0 - 1),
            (std::vector<std::string>{"mid", "new"}));
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAtTimestamp, std::nullopt, kT0),
            (std::vector<std::string>{"mid", "new"}));
  // Also once the sweeper trimmed the files.
  engine_->Tick();
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAtTimestamp, std::nullopt, 0), (std::vector<std::string>{"mid", "new"}));
}

TEST_F(EnginePositionsTest, TrimmedSequenceNumberContinuesAtHorizon) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  const std::string old_seq = Put("s", "old").sequence_number();
  clock_->AdvanceMs(3 * kHourMs);
  Put("s", "new");
  clock_->SetMs(kT0 + 25 * kHourMs);
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAtSequenceNumber, old_seq), (std::vector<std::string>{"new"}));
  engine_->Tick();
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAtSequenceNumber, old_seq), (std::vector<std::string>{"new"}));
  EXPECT_EQ(ReadDatas("s", 0, PositionType::kAfterSequenceNumber, old_seq), (std::vector<std::string>{"new"}));
}

// --- Paging -------------------------------------------------------------------------------

TEST_F(EnginePositionsTest, PagingWithSmallLimits) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  std::vector<std::string> all;
  std::vector<PutInput> batch;
  std::vector<std::string> datas;
  for (int i = 0; i < 103; ++i) datas.push_back("r" + std::to_string(i));
  for (auto& d : datas) batch.push_back(PutInput{"k", d, std::nullopt});
  Status st;
  auto out = engine_->PutRecords("s", batch, &st);
  ASSERT_TRUE(st.ok());
  for (size_t i = 0; i < out.size(); ++i) {
    ASSERT_TRUE(out[i].status.ok());
    EXPECT_EQ(out[i].offset, i);  // request order within the shard
  }
  for (size_t limit : {1u, 2u, 7u, 10u, 103u, 104u, 10000u}) {
    auto p = Pos("s", 0, PositionType::kTrimHorizon);
    ASSERT_TRUE(p.ok());
    std::optional<ShardPosition> cur = *p;
    std::vector<std::string> got;
    size_t pages = 0;
    while (cur) {
      auto r = engine_->GetRecords("s", *cur, limit);
      ASSERT_TRUE(r.ok()) << r.status();
      ASSERT_TRUE(r->next.has_value());  // open shard: always a next position
      if (r->records.empty()) break;
      ++pages;
      EXPECT_LE(r->records.size(), limit);
      for (auto& rec : r->records) got.emplace_back(rec.data);
      // Re-reading the same position returns the same page.
      auto again = engine_->GetRecords("s", *cur, limit);
      ASSERT_TRUE(again.ok());
      ASSERT_EQ(again->records.size(), r->records.size());
      EXPECT_EQ(again->records[0].sequence_number, r->records[0].sequence_number);
      cur = r->next;
    }
    EXPECT_EQ(got, datas) << "limit " << limit;
    EXPECT_EQ(pages, (103 + limit - 1) / limit) << "limit " << limit;
  }
  // Limit 0 is not a request for nothing: the engine reads at least one record.
  auto p = Pos("s", 0, PositionType::kTrimHorizon);
  auto r = engine_->GetRecords("s", *p, 0);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->records.size(), 1u);
}

// --- MillisBehindLatest --------------------------------------------------------------------

TEST_F(EnginePositionsTest, MillisBehindLatest) {
  ASSERT_TRUE(engine_->CreateStream("s", 1).ok());
  clock_->SetMs(kT0 + 1000);
  Put("s", "r0");
  clock_->SetMs(kT0 + 1010);
  Put("s", "r1");
  clock_->SetMs(kT0 + 1030);
  Put("s", "r2");
  clock_->SetMs(kT0 + 5000);
  auto p = Pos("s", 0, PositionType::kTrimHorizon);
  ASSERT_TRUE(p.ok());
  auto r = engine_->GetRecords("s", *p, 1);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 1u);
  // Behind: now - arrival of the first unread record (r1).
  EXPECT_EQ(r->millis_behind_latest, 5000 - 1010);
  r = engine_->GetRecords("s", *r->next, 1);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->millis_behind_latest, 5000 - 1030);
  r = engine_->GetRecords("s", *r->next, 1);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->records.size(), 1u);
  EXPECT_EQ(r->millis_behind_latest, 0);  // at the tip
  auto tip = engine_->GetRecords("s", *r->next, 1);
  ASSERT_TRUE(tip.ok());
  EXPECT_TRUE(tip->records.empty());
  EXPECT_EQ(tip->millis_behind_latest, 0);
  // Reading everything at once: at the tip.
  auto all = engine_->GetRecords("s", *p, 100);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->records.size(), 3u);
  EXPECT_EQ(all->millis_behind_latest, 0);
  // Arrival timestamps are the put times.
  EXPECT_EQ(all->records[0].arrival_ms, kT0 + 1000);
  EXPECT_EQ(all->records[1].arrival_ms, kT0 + 1010);
  EXPECT_EQ(all->records[2].arrival_ms, kT0 + 1030);
}

// --- Closed shards ------------------------------------------------------------------------

TEST_F(EnginePositionsTest, LatestOnClosedShardAndChildShards) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  for (int i = 0; i < 5; ++i) PutTo("s", 0, "p" + std::to_string(i));
  auto open_latest = Pos("s", 0, PositionType::kLatest);
  ASSERT_TRUE(open_latest.ok());
  const HashKey k = ParseHashKey("85070591730234615865843651857942052864").value();
  ASSERT_TRUE(engine_->SplitShard("s", 0, k).ok());

  auto check_children = [&](const std::vector<ChildShard>& cs) {
    ASSERT_EQ(cs.size(), 2u);
    EXPECT_EQ(cs[0].shard_id, "shardId-000000000002");
    EXPECT_EQ(cs[1].shard_id, "shardId-000000000003");
    for (const auto& c : cs) EXPECT_EQ(c.parents, (std::vector<std::string>{"shardId-000000000000"}));
    EXPECT_EQ(FormatHashKey(cs[0].range.start), "0");
    EXPECT_EQ(FormatHashKey(cs[0].range.end), "85070591730234615865843651857942052863");
    EXPECT_EQ(FormatHashKey(cs[1].range.start), "85070591730234615865843651857942052864");
    EXPECT_EQ(FormatHashKey(cs[1].range.end), "170141183460469231731687303715884105727");
  };

  // LATEST on the closed shard: no records, no next position, the children.
  auto latest = Pos("s", 0, PositionType::kLatest);
  ASSERT_TRUE(latest.ok());
  auto r = engine_->GetRecords("s", *latest, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->records.empty());
  EXPECT_FALSE(r->next.has_value());
  EXPECT_EQ(r->millis_behind_latest, 0);
  check_children(r->child_shards);
  // A LATEST position taken while the shard was open hits the end the same way.
  r = engine_->GetRecords("s", *open_latest, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->records.empty());
  EXPECT_FALSE(r->next.has_value());
  check_children(r->child_shards);

  // TRIM_HORIZON in pages of 2: records, then the end with the children (no next).
  auto th = Pos("s", 0, PositionType::kTrimHorizon);
  ASSERT_TRUE(th.ok());
  std::vector<std::string> got;
  std::optional<ShardPosition> cur = *th;
  bool ended = false;
  for (int guard = 0; cur && guard < 100; ++guard) {
    auto page = engine_->GetRecords("s", *cur, 2);
    ASSERT_TRUE(page.ok());
    for (auto& rec : page->records) got.emplace_back(rec.data);
    if (!page->next) {
      ended = true;
      check_children(page->child_shards);
    } else {
      EXPECT_TRUE(page->child_shards.empty());
    }
    cur = page->next;
  }
  EXPECT_TRUE(ended);
  EXPECT_EQ(got, (std::vector<std::string>{"p0", "p1", "p2", "p3", "p4"}));
  // AT_SEQUENCE_NUMBER with the closed shard's EndingSequenceNumber: the end, too.
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  ASSERT_TRUE(d->shards[0].closed);
  ASSERT_TRUE(d->shards[0].ending_sequence_number.has_value());
  auto end_pos = Pos("s", 0, PositionType::kAtSequenceNumber, *d->shards[0].ending_sequence_number);
  ASSERT_TRUE(end_pos.ok()) << end_pos.status();
  r = engine_->GetRecords("s", *end_pos, 10);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->records.empty());
  EXPECT_FALSE(r->next.has_value());
  // And after a reopen.
  Reopen();
  r = engine_->GetRecords("s", *latest, 100);
  ASSERT_TRUE(r.ok());
  EXPECT_FALSE(r->next.has_value());
  check_children(r->child_shards);
}

TEST_F(EnginePositionsTest, MergeChildListedByBothParents) {
  ASSERT_TRUE(engine_->CreateStream("s", 3).ok());
  PutTo("s", 1, "one");
  PutTo("s", 2, "two");
  ASSERT_TRUE(engine_->MergeShards("s", 1, 2).ok());
  for (uint32_t parent : {1u, 2u}) {
    auto p = Pos("s", parent, PositionType::kTrimHorizon);
    ASSERT_TRUE(p.ok());
    GetRecordsOutput last;
    auto recs = ReadFrom("s", *p, 10, &last);
    EXPECT_EQ(recs.size(), 1u);
    EXPECT_FALSE(last.next.has_value());
    ASSERT_EQ(last.child_shards.size(), 1u);
    EXPECT_EQ(last.child_shards[0].shard_id, "shardId-000000000003");
    EXPECT_EQ(last.child_shards[0].parents,
              (std::vector<std::string>{"shardId-000000000001", "shardId-000000000002"}));
    EXPECT_EQ(FormatHashKey(last.child_shards[0].range.start), "113427455640312821154458202477256070485");
    EXPECT_EQ(FormatHashKey(last.child_shards[0].range.end), "340282366920938463463374607431768211455");
  }
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->shards.size(), 4u);
  EXPECT_EQ(d->shards[3].parent, "shardId-000000000001");
  EXPECT_EQ(d->shards[3].adjacent_parent, "shardId-000000000002");
}

// --- Sequence-number ordering ---------------------------------------------------------------

TEST_F(EnginePositionsTest, SequenceNumbersIncreaseAndChildrenExceedParents) {
  ASSERT_TRUE(engine_->CreateStream("s", 2).ok());
  // Many records in one second, then in later seconds: strictly increasing in the shard.
  auto put_many = [&](uint32_t shard, int n, const std::string& tag) {
    for (int i = 0; i < n; ++i) {
      PutTo("s", shard, tag + std::to_string(i));
      if (i % 7 == 0) clock_->AdvanceMs(150);
    }
  };
  put_many(0, 40, "a");
  put_many(1, 40, "b");
  // Clock set back (wall-clock correction): numbers still increase in the shard.
  clock_->AdvanceMs(-5000);
  put_many(0, 5, "c");
  clock_->AdvanceMs(5000);
  ASSERT_TRUE(engine_->SplitShard("s", 0, ParseHashKey("85070591730234615865843651857942052864").value()).ok());
  // Children written in the very same millisecond as the split.
  PutTo("s", 2, "x0");
  PutTo("s", 3, "y0");
  ASSERT_TRUE(engine_->MergeShards("s", 3, 1).ok());  // same second again
  PutTo("s", 4, "z0");
  put_many(2, 10, "x");
  put_many(4, 10, "z");
  // UpdateShardCount chains splits and merges in one instant.
  auto usc = engine_->UpdateShardCount("s", 3);
  ASSERT_TRUE(usc.ok()) << usc.status();
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  for (const auto& sh : d->shards)
    if (!sh.closed) PutTo("s", sh.index, "late" + std::to_string(sh.index));

  d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  std::map<std::string, const ShardDescription*> by_id;
  for (const auto& sh : d->shards) by_id[sh.shard_id] = &sh;
  std::map<std::string, std::vector<std::string>> seqs;
  for (const auto& sh : d->shards) {
    auto p = Pos("s", sh.index, PositionType::kTrimHorizon);
    ASSERT_TRUE(p.ok());
    for (const Rec& r : ReadFrom("s", *p, 3)) seqs[sh.shard_id].push_back(r.seq);
    const auto& v = seqs[sh.shard_id];
    for (size_t i = 0; i < v.size(); ++i) {
      EXPECT_EQ(v[i].size(), kSeqDecimalDigits);
      EXPECT_EQ(Parse(v[i]).shard.index.value, sh.index);
      EXPECT_GT(CompareDecimal(v[i], sh.starting_sequence_number), 0) << sh.shard_id;
      if (sh.ending_sequence_number) {
        EXPECT_LT(CompareDecimal(v[i], *sh.ending_sequence_number), 0);
      }
      if (i > 0) {
        EXPECT_GT(CompareDecimal(v[i], v[i - 1]), 0) << sh.shard_id << " record " << i;
        EXPECT_GT(Parse(v[i]), Parse(v[i - 1]));
      }
    }
  }
  // Every number of a child exceeds every number of each parent (numerically).
  size_t pairs = 0;
  for (const auto& sh : d->shards) {
    for (const auto& par : {sh.parent, sh.adjacent_parent}) {
      if (!par) continue;
      const ShardDescription* p = by_id.at(*par);
      ASSERT_TRUE(p->ending_sequence_number.has_value());
      EXPECT_GT(CompareDecimal(sh.starting_sequence_number, *p->ending_sequence_number), 0)
          << sh.shard_id << " vs parent " << *par;
      EXPECT_GT(Parse(sh.starting_sequence_number), Parse(*p->ending_sequence_number));
      for (const auto& c : seqs[sh.shard_id])
        for (const auto& ps : seqs[*par]) EXPECT_GT(CompareDecimal(c, ps), 0) << sh.shard_id << " vs " << *par;
      ++pairs;
    }
  }
  EXPECT_GE(pairs, 6u);
}

// The spec's worked examples (§2.5 and resharding §2): a stream created at second
// 1700000000 (the engine stamps shards 2 s before the creation call) and a split
// completing at 1700003600.
TEST_F(EnginePositionsTest, SequenceNumbersMatchSpecExamples) {
  clock_->SetMs(1700000002000);
  ASSERT_TRUE(engine_->CreateStream("orders", 2).ok());
  auto d = engine_->DescribeStream("orders");
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->shards[0].starting_sequence_number, "49646437577108476416916876405825929425585429676275269634");
  EXPECT_EQ(d->shards[1].starting_sequence_number, "49646437577130777162115407028967465143858078037781250066");
  // A record put at 1700000005 gets counter offset + 1 (Shoal's documented choice; the
  // spec's "seqIx 1, arrived 1700000005" value).
  clock_->SetMs(1700000005123);
  PutOutput o = PutTo("orders", 0, "first");
  EXPECT_EQ(o.sequence_number(), "49646437577108476416916876405827138351405044649047359490");
  EXPECT_EQ(o.arrival_ms, 1700000005123);
  clock_->SetMs(1700003600000);
  ASSERT_TRUE(engine_->SplitShard("orders", 0, ParseHashKey("85070591730234615865843651857942052864").value()).ok());
  d = engine_->DescribeStream("orders");
  ASSERT_TRUE(d.ok());
  ASSERT_EQ(d->shards.size(), 4u);
  EXPECT_EQ(d->shards[0].ending_sequence_number, "49646437577119626789516141717395488358902386617969803266");
  EXPECT_EQ(d->shards[2].starting_sequence_number, "49646438862032813265854320574830944859038970386690605090");
  EXPECT_EQ(d->shards[3].starting_sequence_number, "49646438862055114011052851197972480577311618748196585522");
  EXPECT_EQ(d->shards[2].parent, "shardId-000000000000");
  EXPECT_EQ(d->shards[3].parent, "shardId-000000000000");
  EXPECT_FALSE(d->shards[2].adjacent_parent.has_value());
}

}  // namespace
}  // namespace shoal
