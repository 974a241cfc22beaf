#include "kernel/sequence_number.h"

#include <gtest/gtest.h>

#include <random>
#include <regex>
#include <string>
#include <vector>

namespace shoal {

// Readable gtest failure output (found by argument-dependent lookup).
void PrintTo(const SeqParts& p, std::ostream* os) { *os << fmt::format("{}", p); }
void PrintTo(const ShardIdentity& s, std::ostream* os) {
  *os << fmt::format("{}@{}", s.index, s.created_s);
}

namespace {

constexpr int64_t kT0 = 1700000000;  // the spec's stream creation time

ShardIdentity Shard(uint32_t index, int64_t created_s) {
  return ShardIdentity{ShardIndex{index}, created_s};
}

// Converts a hex string to decimal with schoolbook arithmetic, independent of the code
// under test, to build arbitrary 188-bit inputs.
std::string HexToDecimal(std::string_view hex) {
  std::vector<int> digits = {0};  // little-endian decimal digits
  for (char c : hex) {
    int carry = c <= '9' ? c - '0' : c - 'a' + 10;
    for (int& d : digits) {
      int v = d * 16 + carry;
      d = v % 10;
      carry = v / 10;
    }
    while (carry > 0) {
      digits.push_back(carry % 10);
      carry /= 10;
    }
  }
  while (digits.size() > 1 && digits.back() == 0) digits.pop_back();
  std::string out;
  for (auto it = digits.rbegin(); it != digits.rend(); ++it) out += static_cast<char>('0' + *it);
  return out;
}

// The layout written out field by field (hex digits), again independent of the code.
std::string LayoutHex(uint64_t marker, uint64_t created, uint64_t index_low, uint64_t counter,
                      uint64_t reserved, uint64_t arrival, uint64_t index, uint64_t version) {
  return fmt::format("{:x}{:09x}{:x}{:016x}{:02x}{:09x}{:08x}{:x}", marker, created, index_low,
                     counter, reserved, arrival, index, version);
}

// Numeric comparison of two canonical decimal strings.
int CompareDecimal(const std::string& a, const std::string& b) {
  if (a.size() != b.size()) return a.size() < b.size() ? -1 : 1;
  return a.compare(b) < 0 ? -1 : (a == b ? 0 : 1);
}

SeqParts MustParse(std::string_view s) {
  Result<SeqParts> r = ParseSequenceNumber(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? r.value() : SeqParts{};
}

// --- The spec's worked examples (kinesis-data-streams.md §2.5) -------------------------

TEST(SequenceNumberTest, ReproducesSpecWorkedExamples) {
  struct Example {
    const char* what;
    SeqParts parts;
    const char* decimal;
  };
  const Example examples[] = {
      {"shard 0 start",
       {Shard(0, kT0), 0, kT0},
       "49646437577108476416916876405825929425585429676275269634"},
      {"shard 1 start",
       {Shard(1, kT0), 0, kT0},
       "49646437577130777162115407028967465143858078037781250066"},
      {"shard 0 seqIx 0",
       {Shard(0, kT0), 0, kT0 + 5},
       "49646437577108476416916876405825929425585430019872653314"},
      {"shard 0 seqIx 1",
       {Shard(0, kT0), 1, kT0 + 5},
       "49646437577108476416916876405827138351405044649047359490"},
      {"shard 1 seqIx 0",
       {Shard(1, kT0), 0, kT0 + 5},
       "49646437577130777162115407028967465143858078381378633746"},
      {"shard 0 end",
       {Shard(0, kT0), kSeqEndCounter, kT0 + 3600},
       "49646437577119626789516141717395488358902386617969803266"},
      {"child 2 start",
       {Shard(2, kT0 + 3601), 0, kT0 + 3601},
       "49646438862032813265854320574830944859038970386690605090"},
  };
  for (const Example& e : examples) {
    EXPECT_EQ(FormatSequenceNumber(e.parts), e.decimal) << e.what;
    EXPECT_EQ(MustParse(e.decimal), e.parts) << e.what;
  }
}

TEST(SequenceNumberTest, HelpersBuildTheSpecMarkers) {
  const ShardIdentity s0 = Shard(0, kT0);
  EXPECT_EQ(FormatSequenceNumber(ShardStartSeq(s0)),
            "49646437577108476416916876405825929425585429676275269634");
  EXPECT_EQ(FormatSequenceNumber(ShardEndSeq(s0, (kT0 + 3600) * 1000 + 999)),
            "49646437577119626789516141717395488358902386617969803266");
  const ShardIdentity parents[] = {s0};
  const int64_t child_created = ChildShardCreatedSeconds(parents, (kT0 + 3600) * 1000);
  EXPECT_EQ(child_created, kT0 + 3601);
  EXPECT_EQ(FormatSequenceNumber(ShardStartSeq(Shard(2, child_created))),
            "49646438862032813265854320574830944859038970386690605090");
}

TEST(SequenceNumberTest, LayoutMatchesIndependentEncoding) {
  const SeqParts p{Shard(0x1234567, 1712345678), 0x0123456789abcdefULL, 1712349999};
  EXPECT_EQ(FormatSequenceNumber(p),
            HexToDecimal(
                LayoutHex(2, 1712345678, 0x7, 0x0123456789abcdefULL, 0, 1712349999, 0x1234567, 2)));
}

// --- Shape ----------------------------------------------------------------------------

TEST(SequenceNumberTest, Always56DigitsAndMatchesModelPattern) {
  const std::regex pattern("0|([1-9]\\d{0,128})");
  const SeqParts extremes[] = {
      {Shard(0, 0), 0, 0},
      {Shard(kMaxShardIndex, kMaxSeqCreatedSeconds), kSeqEndCounter, kMaxSeqArrivalSeconds},
      {Shard(15, kT0), 1, kT0},
      {Shard(16, 0), kSeqEndCounter, 0},
  };
  for (const SeqParts& p : extremes) {
    std::string s = FormatSequenceNumber(p);
    EXPECT_EQ(s.size(), kSeqDecimalDigits) << s;
    EXPECT_TRUE(std::regex_match(s, pattern)) << s;
    EXPECT_EQ(MustParse(s), p);
  }
}

// --- Round trips ----------------------------------------------------------------------

TEST(SequenceNumberTest, RoundTripsRandomParts) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 20000; ++i) {
    SeqParts p{Shard(static_cast<uint32_t>(rng() % (uint64_t{kMaxShardIndex} + 1)),
                     static_cast<int64_t>(rng() % (kMaxSeqCreatedSeconds + 1))),
               rng() % (kSeqEndCounter + 1),
               static_cast<int64_t>(rng() % (kMaxSeqArrivalSeconds + 1))};
    std::string s = FormatSequenceNumber(p);
    ASSERT_EQ(s.size(), kSeqDecimalDigits) << s;
    ASSERT_EQ(MustParse(s), p) << s;
    // The allocation-free form writes the same digits, filling its buffer exactly.
    SeqDigits d;
    d.fill('x');
    ASSERT_EQ(FormatSequenceNumber(p, d), s);
    ASSERT_EQ(std::string_view(d.data(), d.size()), s);
  }
}

TEST(SequenceNumberTest, RecordOffsetsRoundTrip) {
  const ShardIdentity s = Shard(7, kT0);
  for (uint64_t off :
       {uint64_t{0}, uint64_t{1}, uint64_t{1000}, uint64_t{1} << 40, kMaxSeqRecordOffset}) {
    SeqParts p = MustParse(FormatSequenceNumber(RecordSeq(s, off, (kT0 + 9) * 1000)));
    EXPECT_EQ(SeqRecordOffset(p), off);
    EXPECT_EQ(p.shard, s);
    EXPECT_EQ(p.arrival_s, kT0 + 9);
  }
  EXPECT_EQ(SeqRecordOffset(ShardStartSeq(s)), std::nullopt);
  EXPECT_EQ(SeqRecordOffset(ShardEndSeq(s, kT0 * 1000)), std::nullopt);
}

// --- Ordering -------------------------------------------------------------------------

TEST(SequenceNumberTest, PartsOrderEqualsNumericOrder) {
  std::mt19937_64 rng(7);
  auto random_parts = [&] {
    // Narrow ranges so that equal fields (and ties broken by later fields) are common.
    return SeqParts{Shard(static_cast<uint32_t>(rng() % 40), kT0 + static_cast<int64_t>(rng() % 3)),
                    rng() % 4 == 0 ? kSeqEndCounter : rng() % 5,
                    kT0 + static_cast<int64_t>(rng() % 4)};
  };
  for (int i = 0; i < 20000; ++i) {
    SeqParts a = random_parts();
    SeqParts b = random_parts();
    int numeric = CompareDecimal(FormatSequenceNumber(a), FormatSequenceNumber(b));
    std::strong_ordering parts = a <=> b;
    EXPECT_EQ(numeric < 0, parts < 0) << fmt::format("{} vs {}", a, b);
    EXPECT_EQ(numeric == 0, parts == 0) << fmt::format("{} vs {}", a, b);
    EXPECT_EQ(numeric == 0, a == b);
  }
}

TEST(SequenceNumberTest, IncreasesWithOffsetWhateverTheArrivalTime) {
  const ShardIdentity s = Shard(3, kT0);
  const SeqParts start = ShardStartSeq(s);
  const SeqParts end = ShardEndSeq(s, kT0 * 1000);  // closed in its creation second
  // Even a record that "arrived" in the creation second is above the start marker, and
  // the last possible record arriving at the end of time is below the end marker.
  EXPECT_LT(start, RecordSeq(s, 0, kT0 * 1000));
  EXPECT_LT(RecordSeq(s, kMaxSeqRecordOffset, kMaxSeqArrivalSeconds * 1000), end);
  std::mt19937_64 rng(99);
  for (int i = 0; i < 5000; ++i) {
    uint64_t off = rng() % 1'000'000;
    // Arrival times may go backwards (wall clock corrected); order must still follow
    // the offset.
    int64_t a1 = (kT0 + static_cast<int64_t>(rng() % 100)) * 1000;
    int64_t a2 = (kT0 + static_cast<int64_t>(rng() % 100)) * 1000;
    SeqParts x = RecordSeq(s, off, a1);
    SeqParts y = RecordSeq(s, off + 1, a2);
    ASSERT_LT(x, y);
    ASSERT_LT(CompareDecimal(FormatSequenceNumber(x), FormatSequenceNumber(y)), 0);
    ASSERT_LT(start, x);
    ASSERT_LT(y, end);
  }
}

TEST(SequenceNumberTest, ChildrenExceedEveryParentNumber) {
  std::mt19937_64 rng(5);
  for (int i = 0; i < 2000; ++i) {
    // Parent indices with every low nibble, including 15 -> child 16 (low nibble 0),
    // which only the creation second keeps in order.
    const ShardIdentity p1 =
        Shard(static_cast<uint32_t>(rng() % 64), kT0 + static_cast<int64_t>(rng() % 10));
    const ShardIdentity p2 =
        Shard(static_cast<uint32_t>(rng() % 64), kT0 + static_cast<int64_t>(rng() % 10));
    const int64_t now_ms =
        (kT0 + static_cast<int64_t>(rng() % 12)) * 1000 + static_cast<int64_t>(rng() % 1000);
    const ShardIdentity parents[] = {p1, p2};
    const ShardIdentity child =
        Shard(static_cast<uint32_t>(rng() % 64), ChildShardCreatedSeconds(parents, now_ms));
    const SeqParts child_min = ShardStartSeq(child);
    for (const ShardIdentity& p : parents) {
      ASSERT_LT(ShardEndSeq(p, now_ms), child_min)
          << fmt::format("{} vs {}", p.created_s, child.created_s);
      ASSERT_LT(RecordSeq(p, kMaxSeqRecordOffset, kMaxSeqArrivalSeconds * 1000), child_min);
      ASSERT_LT(CompareDecimal(FormatSequenceNumber(ShardEndSeq(p, now_ms)),
                               FormatSequenceNumber(RecordSeq(child, 0, 0))),
                0);
    }
  }
}

TEST(SequenceNumberTest, ChainedReshardsInOneMillisecondStayOrdered) {
  // UpdateShardCount splits a piece and immediately splits or merges its children again,
  // all at the same instant.
  const int64_t now_ms = kT0 * 1000 + 500;
  ShardIdentity current = Shard(0, kT0);
  for (uint32_t gen = 1; gen <= 20; ++gen) {
    const ShardIdentity parents[] = {current};
    ShardIdentity next = Shard(gen, ChildShardCreatedSeconds(parents, now_ms));
    ASSERT_LT(ShardEndSeq(current, now_ms), ShardStartSeq(next)) << gen;
    ASSERT_LT(RecordSeq(current, 5, now_ms), RecordSeq(next, 0, now_ms)) << gen;
    current = next;
  }
  EXPECT_EQ(current.created_s, kT0 + 20);
}

TEST(SequenceNumberTest, SeqSecondsFloorsAndClampsToCreation) {
  const ShardIdentity s = Shard(0, kT0);
  EXPECT_EQ(SeqSeconds(s, kT0 * 1000 + 999), kT0);
  EXPECT_EQ(SeqSeconds(s, (kT0 + 1) * 1000), kT0 + 1);
  EXPECT_EQ(SeqSeconds(s, (kT0 - 5) * 1000), kT0);  // before creation: clamped
  EXPECT_EQ(SeqSeconds(Shard(0, 0), -1), 0);
  EXPECT_EQ(SeqSeconds(Shard(0, -10), -1), -1);  // floor, not truncation
}

// --- Ownership ------------------------------------------------------------------------

TEST(SequenceNumberTest, BelongsToItsOwnShardOnly) {
  const ShardIdentity s0 = Shard(0, kT0);
  const ShardIdentity s1 = Shard(1, kT0);
  const SeqParts x = RecordSeq(s1, 10, (kT0 + 3) * 1000);
  EXPECT_EQ(ClassifySeqOwner(x, s1), SeqOwnership::kThisShard);
  EXPECT_TRUE(CheckSeqBelongsToShard(x, s1).ok());

  EXPECT_EQ(ClassifySeqOwner(x, s0), SeqOwnership::kOtherShard);
  Status st = CheckSeqBelongsToShard(x, s0);
  ASSERT_FALSE(st.ok());
  EXPECT_EQ(st.code(), Code::kInvalidArgument);
  EXPECT_NE(st.message().find("shardId-000000000001"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find("shardId-000000000000"), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(FormatSequenceNumber(x)), std::string::npos) << st.message();

  // Same index, other creation second: a number from an earlier stream of this name.
  const ShardIdentity reborn = Shard(1, kT0 + 86400);
  EXPECT_EQ(ClassifySeqOwner(x, reborn), SeqOwnership::kOtherIncarnation);
  st = CheckSeqBelongsToShard(x, reborn);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find(fmt::format("{}", kT0)), std::string::npos) << st.message();
  EXPECT_NE(st.message().find(fmt::format("{}", kT0 + 86400)), std::string::npos) << st.message();
}

// --- Rejects --------------------------------------------------------------------------

void ExpectRejected(const std::string& s, std::string_view needle) {
  Result<SeqParts> r = ParseSequenceNumber(s);
  ASSERT_FALSE(r.ok()) << "accepted " << s;
  EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << s;
  EXPECT_NE(r.status().message().find(needle), std::string::npos)
      << s << ": " << r.status().message();
}

TEST(SequenceNumberParseTest, RejectsMalformed) {
  ExpectRejected("", "empty");
  ExpectRejected("-1", "not a decimal integer");
  ExpectRejected("+49646437577108476416916876405825929425585429676275269634",
                 "not a decimal integer");
  ExpectRejected(" 49646437577108476416916876405825929425585429676275269634",
                 "not a decimal integer");
  ExpectRejected("49646437577108476416916876405825929425585429676275269634 ",
                 "not a decimal integer");
  ExpectRejected("4.9e55", "not a decimal integer");
  ExpectRejected("shardId-000000000000", "not a decimal integer");
  ExpectRejected("049646437577108476416916876405825929425585429676275269634", "leading zero");
  ExpectRejected(std::string(130, '9'), "130 digits");
}

TEST(SequenceNumberParseTest, RejectsNumbersNotIssuedHere) {
  ExpectRejected("0", "not issued by this engine");
  ExpectRejected("1", "not issued by this engine");
  ExpectRejected(std::string(129, '9'), "not issued by this engine");
  ExpectRejected(std::string(57, '9'), "not issued by this engine");
  // 2^188 (a 1 just above the 47th hex digit) and 2^192 - 1: too wide.
  ExpectRejected(HexToDecimal("1" + std::string(47, '0')), "not issued by this engine");
  ExpectRejected(HexToDecimal(std::string(48, 'f')), "not issued by this engine");
  // Leading hex digit 1 or 3 instead of 2.
  ExpectRejected(HexToDecimal(LayoutHex(1, kT0, 0, 0, 0, kT0, 0, 2)), "leading hex digit");
  ExpectRejected(HexToDecimal(LayoutHex(3, kT0, 0, 0, 0, kT0, 0, 2)), "leading hex digit");
  // A real AWS-looking number whose low digit is not our version.
  ExpectRejected(HexToDecimal(LayoutHex(2, kT0, 0, 0, 0, kT0, 0, 1)), "layout version 1");
  ExpectRejected(HexToDecimal(LayoutHex(2, kT0, 0, 0, 0, kT0, 0, 0)), "layout version 0");
}

TEST(SequenceNumberParseTest, RejectsBadFields) {
  ExpectRejected(HexToDecimal(LayoutHex(2, kT0, 0, 0, 1, kT0, 0, 2)), "reserved byte");
  ExpectRejected(HexToDecimal(LayoutHex(2, kT0, 0, uint64_t{1} << 63, 0, kT0, 0, 2)), "counter");
  ExpectRejected(HexToDecimal(LayoutHex(2, kMaxSeqCreatedSeconds + 1, 0, 0, 0, kT0, 0, 2)),
                 "creation time");
  ExpectRejected(HexToDecimal(LayoutHex(2, kT0, 0, 0, 0, kT0, 0x80000000, 2)), "shard index");
  ExpectRejected(HexToDecimal(LayoutHex(2, kT0, 0xf, 0, 0, kT0, 0xffffffff, 2)), "shard index");
  ExpectRejected(HexToDecimal(LayoutHex(2, kT0, 3, 0, 0, kT0, 5, 2)), "disagree");
  // The boundary values themselves are fine.
  EXPECT_TRUE(
      ParseSequenceNumber(HexToDecimal(LayoutHex(2, kMaxSeqCreatedSeconds, 0xf, kSeqEndCounter, 0,
                                                 0xfffffffff, 0x7fffffff, 2)))
          .ok());
}

TEST(SequenceNumberParseTest, GarbageIsEchoedSafely) {
  Result<SeqParts> r = ParseSequenceNumber(std::string("12\n34\x01") + std::string(500, 'x'));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message().find('\n'), std::string::npos);
  EXPECT_EQ(r.status().message().find('\x01'), std::string::npos);
  EXPECT_LT(r.status().message().size(), 400u);
}

TEST(SequenceNumberTest, ValidateSeqPartsNamesTheField) {
  EXPECT_TRUE(ValidateSeqParts({Shard(0, kT0), 0, kT0}).ok());
  auto msg = [](const SeqParts& p) { return ValidateSeqParts(p).message(); };
  EXPECT_NE(msg({Shard(kMaxShardIndex + 1, kT0), 0, kT0}).find("shard index"), std::string::npos);
  EXPECT_NE(msg({Shard(0, -1), 0, kT0}).find("creation time"), std::string::npos);
  EXPECT_NE(msg({Shard(0, kMaxSeqCreatedSeconds + 1), 0, kT0}).find("creation time"),
            std::string::npos);
  EXPECT_NE(msg({Shard(0, kT0), kSeqEndCounter + 1, kT0}).find("counter"), std::string::npos);
  EXPECT_NE(msg({Shard(0, kT0), 0, -1}).find("arrival time"), std::string::npos);
  EXPECT_NE(msg({Shard(0, kT0), 0, kMaxSeqArrivalSeconds + 1}).find("arrival time"),
            std::string::npos);
}

TEST(SequenceNumberDeathTest, FormattingUnencodablePartsAborts) {
  EXPECT_DEATH((void)FormatSequenceNumber({Shard(0, -1), 0, 0}), "creation time");
  EXPECT_DEATH((void)RecordSeq(Shard(0, kT0), kMaxSeqRecordOffset + 1, 0), "offset");
}

}  // namespace
}  // namespace shoal
