#include "kernel/hash_key.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

namespace shoal {

// Readable gtest failure output (found by argument-dependent lookup).
void PrintTo(HashKey k, std::ostream* os) { *os << FormatHashKey(k); }
void PrintTo(const HashKeyRange& r, std::ostream* os) { *os << fmt::format("{}", r); }

namespace {

constexpr std::string_view kMaxDecimal = "340282366920938463463374607431768211455";
constexpr std::string_view kTwoTo128 = "340282366920938463463374607431768211456";

HashKey FromHex(std::string_view hex) {
  Uint128 v = 0;
  for (char c : hex) {
    v <<= 4;
    v |= static_cast<Uint128>(c <= '9' ? c - '0' : c - 'a' + 10);
  }
  return HashKey{v};
}

HashKey MustParse(std::string_view s) {
  Result<HashKey> r = ParseHashKey(s);
  EXPECT_TRUE(r.ok()) << s << ": " << r.status().ToString();
  return r.ok() ? r.value() : HashKey{};
}

// --- HashKey -------------------------------------------------------------------------

TEST(HashKeyTest, PartsAndOrdering) {
  HashKey k = HashKey::FromParts(0x0123456789abcdefULL, 0xfedcba9876543210ULL);
  EXPECT_EQ(k.hi(), 0x0123456789abcdefULL);
  EXPECT_EQ(k.lo(), 0xfedcba9876543210ULL);
  EXPECT_LT(HashKey::FromParts(0, ~uint64_t{0}), HashKey::FromParts(1, 0));
  EXPECT_LT(HashKey::Min(), HashKey::Max());
  EXPECT_EQ(HashKey::Max().hi(), ~uint64_t{0});
  EXPECT_EQ(HashKey::Max().lo(), ~uint64_t{0});
  EXPECT_EQ(HashKey::FromParts(3, 4), HashKey::FromParts(3, 4));
  EXPECT_NE(HashKey::FromParts(3, 4), HashKey::FromParts(4, 3));
}

// --- MD5 -----------------------------------------------------------------------------

TEST(HashPartitionKeyTest, Rfc1321TestSuite) {
  // RFC 1321, appendix A.5.
  const std::vector<std::pair<std::string, std::string>> vectors = {
      {"", "d41d8cd98f00b204e9800998ecf8427e"},
      {"a", "0cc175b9c0f1b6a831c399e269772661"},
      {"abc", "900150983cd24fb0d6963f7d28e17f72"},
      {"message digest", "f96b697d7cb7938d525a2f31aaf161d0"},
      {"abcdefghijklmnopqrstuvwxyz", "c3fcd3d76192e4007dfb496cca67e13b"},
      {"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789",
       "d174ab98d277d9f5a5611c2c9f419d9f"},
      {"1234567890123456789012345678901234567890123456789012345678901234567890123456789"
       "0",
       "57edf4a22be3c955ac49da2e2107b67a"},
  };
  for (const auto& [input, hex] : vectors) {
    EXPECT_EQ(HashPartitionKey(input), FromHex(hex)) << "'" << input << "'";
  }
}

TEST(HashPartitionKeyTest, SpecWorkedExamples) {
  // kinesis-data-streams.md §2.3: MD5 hex and the decimal hash key.
  struct Example {
    std::string_view key, hex, decimal;
  };
  const Example examples[] = {
      {"a", "0cc175b9c0f1b6a831c399e269772661", "16955237001963240173058271559858726497"},
      {"user-42", "7631bc07a1cc8fcd56e70fc6b2fb4a43", "157107139746365290205026809710278036035"},
      {"partitionKey1", "c383ca4b5d58315bca3ccf055841906d",
       "259883753084267508317526128829441085549"},
      {"order-1001", "929211f12c9f601477a81243838a056c", "194825726634704243656021158002940314988"},
      {"order-1002", "03795f48de1f16b4b2754aedb0e879b1", "4617884509320765803568674817706588593"},
  };
  for (const Example& e : examples) {
    HashKey h = HashPartitionKey(e.key);
    EXPECT_EQ(h, FromHex(e.hex)) << e.key;
    EXPECT_EQ(FormatHashKey(h), e.decimal) << e.key;
    EXPECT_EQ(MustParse(e.decimal), h) << e.key;
  }
}

TEST(HashPartitionKeyTest, SpecTwoShardRouting) {
  // §2.3: in a 2-shard stream, user-42 and order-1002 go to shard 0, partitionKey1 and
  // order-1001 to shard 1.
  Result<std::vector<HashKeyRange>> ranges = EvenSplit(2);
  ASSERT_TRUE(ranges.ok());
  auto shard_of = [&](std::string_view pk) {
    HashKey h = HashPartitionKey(pk);
    int found = -1;
    for (size_t i = 0; i < ranges->size(); ++i) {
      if ((*ranges)[i].Contains(h)) {
        EXPECT_EQ(found, -1) << "ranges overlap at " << pk;
        found = static_cast<int>(i);
      }
    }
    return found;
  };
  EXPECT_EQ(shard_of("user-42"), 0);
  EXPECT_EQ(shard_of("order-1002"), 0);
  EXPECT_EQ(shard_of("partitionKey1"), 1);
  EXPECT_EQ(shard_of("order-1001"), 1);
}

TEST(HashPartitionKeyTest, HashesBytesNotCString) {
  // Embedded NUL and non-ASCII UTF-8 are hashed as given.
  EXPECT_NE(HashPartitionKey(std::string_view("a\0b", 3)), HashPartitionKey("a"));
  EXPECT_EQ(HashPartitionKey("\xc3\xa9"), HashPartitionKey("é"));
}

// The batch form must give HashPartitionKey's answer for every key, whichever path it
// takes: vector lanes (keys up to 55 bytes, in groups of 8), one by one (longer keys, a
// single leftover key, CPUs without AVX2), and mixes of both in one batch.
std::vector<HashKey> Batch(const std::vector<std::string>& keys) {
  std::vector<std::string_view> views(keys.begin(), keys.end());
  std::vector<HashKey> out(keys.size());
  HashPartitionKeys(views, out);
  return out;
}

TEST(HashPartitionKeysTest, RfcVectorsAndEveryLengthAroundTheBlockBoundary) {
  std::vector<std::string> keys = {"", "a", "abc", "message digest", "abcdefghijklmnopqrstuvwxyz",
                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"};
  std::mt19937_64 rng(7);
  for (size_t len = 0; len <= 130; ++len) {  // 55/56 and 119/120 are MD5's padding edges
    std::string k(len, '\0');
    for (char& c : k) c = static_cast<char>(rng());  // any bytes, NUL and 0xff included
    keys.push_back(k);
  }
  const std::vector<HashKey> got = Batch(keys);
  for (size_t i = 0; i < keys.size(); ++i)
    ASSERT_EQ(got[i], HashPartitionKey(keys[i])) << "key " << i << ", " << keys[i].size() << " bytes";
  EXPECT_EQ(Batch({"a"})[0], FromHex("0cc175b9c0f1b6a831c399e269772661"));
  EXPECT_EQ(Batch({"abc", "a"})[1], FromHex("0cc175b9c0f1b6a831c399e269772661"));
}

TEST(HashPartitionKeysTest, EveryBatchSizeAndMixOfShortAndLongKeys) {
  std::mt19937_64 rng(11);
  for (size_t n = 0; n <= 40; ++n) {
    for (int trial = 0; trial < 20; ++trial) {
      std::vector<std::string> keys(n);
      for (std::string& k : keys) {
        const size_t len = rng() % 4 == 0 ? 56 + rng() % 200 : rng() % 56;  // a quarter long
        k.resize(len);
        for (char& c : k) c = static_cast<char>(rng());
      }
      const std::vector<HashKey> got = Batch(keys);
      for (size_t i = 0; i < n; ++i)
        ASSERT_EQ(got[i], HashPartitionKey(keys[i])) << "batch of " << n << ", key " << i;
    }
  }
}

// --- Parse / format ------------------------------------------------------------------

TEST(HashKeyParseTest, Boundaries) {
  EXPECT_EQ(MustParse("0"), HashKey::Min());
  EXPECT_EQ(MustParse(kMaxDecimal), HashKey::Max());
  EXPECT_EQ(FormatHashKey(HashKey::Min()), "0");
  EXPECT_EQ(FormatHashKey(HashKey::Max()), kMaxDecimal);
  EXPECT_EQ(MustParse("18446744073709551615"), HashKey::FromParts(0, ~uint64_t{0}));
  EXPECT_EQ(MustParse("18446744073709551616"), HashKey::FromParts(1, 0));
  EXPECT_EQ(MustParse("170141183460469231731687303715884105728"),
            HashKey::FromParts(uint64_t{1} << 63, 0));
  EXPECT_EQ(FormatHashKey(HashKey{10'000'000'000'000'000'000ULL}), "10000000000000000000");
  EXPECT_EQ(FormatHashKey(HashKey{9'999'999'999'999'999'999ULL}), "9999999999999999999");
}

TEST(HashKeyParseTest, RoundTripsRandomValues) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 20000; ++i) {
    // Mix full-width values with short ones so every digit count gets exercised.
    int shift = static_cast<int>(rng() % 128);
    HashKey k{HashKey::FromParts(rng(), rng()).value >> shift};
    std::string s = FormatHashKey(k);
    EXPECT_TRUE(MatchesHashKeyPattern(s)) << s;
    EXPECT_EQ(MustParse(s), k) << s;
  }
}

TEST(HashKeyParseTest, RoundTripsEveryPowerOfTwoAndNeighbours) {
  for (int bit = 0; bit < 128; ++bit) {
    Uint128 p = static_cast<Uint128>(1) << bit;
    for (Uint128 v : {p - 1, p, p + 1}) {
      EXPECT_EQ(MustParse(FormatHashKey(HashKey{v})), HashKey{v}) << bit;
    }
  }
}

TEST(HashKeyParseTest, RejectsMalformed) {
  const std::vector<std::string> bad = {
      "",   "-1", "+1",   "1e5", "1E5",   " 1", "1 ",  "\t1",   "1\n",
      "01", "00", "0x10", "1.0", "1,000", "١",  "abc", "1_000", std::string("1\0", 2),
      "∞",  "-0"};
  for (const std::string& s : bad) {
    Result<HashKey> r = ParseHashKey(s);
    EXPECT_FALSE(r.ok()) << "accepted '" << s << "'";
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << s;
    EXPECT_FALSE(MatchesHashKeyPattern(s)) << s;
  }
}

TEST(HashKeyParseTest, RejectsOutOfRange) {
  for (std::string s : {std::string(kTwoTo128), std::string(39, '9'),
                        std::string("340282366920938463463374607431768211460")}) {
    Result<HashKey> r = ParseHashKey(s);
    ASSERT_FALSE(r.ok()) << s;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find("out of range"), std::string::npos) << r.status().message();
    EXPECT_NE(r.status().message().find("2^128-1"), std::string::npos);
    // The model pattern does not catch these; only the range check does.
    EXPECT_TRUE(MatchesHashKeyPattern(s)) << s;
  }
}

TEST(HashKeyParseTest, RejectsTooManyDigits) {
  for (size_t n : {40, 41, 100, 1000}) {
    std::string s = "1" + std::string(n - 1, '0');
    Result<HashKey> r = ParseHashKey(s);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_NE(r.status().message().find("digits"), std::string::npos) << r.status().message();
    // Long input is echoed only in part.
    EXPECT_LT(r.status().message().size(), 400u);
    EXPECT_FALSE(MatchesHashKeyPattern(s));
  }
  // 40 digits with leading zeros are rejected for the leading zeros.
  EXPECT_FALSE(ParseHashKey("0" + std::string(kMaxDecimal)).ok());
}

TEST(HashKeyParseTest, MessagesSayWhatIsWrong) {
  EXPECT_NE(ParseHashKey("").status().message().find("empty"), std::string::npos);
  EXPECT_NE(ParseHashKey("12a").status().message().find("'a'"), std::string::npos);
  EXPECT_NE(ParseHashKey("1 2").status().message().find("space"), std::string::npos);
  EXPECT_NE(ParseHashKey("007").status().message().find("leading zero"), std::string::npos);
  // Control characters are not copied into the message.
  std::string msg = ParseHashKey("1\n2").status().message();
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_NE(msg.find("0x0a"), std::string::npos) << msg;
}

TEST(HashKeyParseTest, PatternMatchesModel) {
  EXPECT_TRUE(MatchesHashKeyPattern("0"));
  EXPECT_TRUE(MatchesHashKeyPattern("1"));
  EXPECT_TRUE(MatchesHashKeyPattern(kMaxDecimal));
  EXPECT_FALSE(MatchesHashKeyPattern(""));
  EXPECT_FALSE(MatchesHashKeyPattern("1" + std::string(39, '0')));
}

// --- Ranges --------------------------------------------------------------------------

TEST(HashKeyRangeTest, ContainsIsInclusive) {
  HashKeyRange r{HashKey{10}, HashKey{20}};
  EXPECT_FALSE(r.Contains(HashKey{9}));
  EXPECT_TRUE(r.Contains(HashKey{10}));
  EXPECT_TRUE(r.Contains(HashKey{20}));
  EXPECT_FALSE(r.Contains(HashKey{21}));
  EXPECT_TRUE(HashKeyRange::Everything().Contains(HashKey::Min()));
  EXPECT_TRUE(HashKeyRange::Everything().Contains(HashKey::Max()));
  HashKeyRange single{HashKey{5}, HashKey{5}};
  EXPECT_TRUE(single.Valid());
  EXPECT_TRUE(single.Contains(HashKey{5}));
  HashKeyRange inverted{HashKey{6}, HashKey{5}};
  EXPECT_FALSE(inverted.Valid());
  EXPECT_FALSE(inverted.Contains(HashKey{5}));
  EXPECT_FALSE(inverted.Contains(HashKey{6}));
}

TEST(HashKeyRangeTest, Formats) {
  EXPECT_EQ(fmt::format("{}", HashKeyRange{HashKey{0}, HashKey{7}}), "[0, 7]");
  EXPECT_EQ(fmt::format("{}", HashKey::Max()), kMaxDecimal);
}

// --- EvenSplit -----------------------------------------------------------------------

TEST(EvenSplitTest, MatchesSpecTable) {
  // kinesis-data-streams.md §2.4, verbatim.
  const std::vector<std::vector<std::pair<std::string, std::string>>> expected = {
      {{"0", "340282366920938463463374607431768211455"}},
      {{"0", "170141183460469231731687303715884105727"},
       {"170141183460469231731687303715884105728", "340282366920938463463374607431768211455"}},
      {{"0", "113427455640312821154458202477256070484"},
       {"113427455640312821154458202477256070485", "226854911280625642308916404954512140969"},
       {"226854911280625642308916404954512140970", "340282366920938463463374607431768211455"}},
      {{"0", "85070591730234615865843651857942052863"},
       {"85070591730234615865843651857942052864", "170141183460469231731687303715884105727"},
       {"170141183460469231731687303715884105728", "255211775190703847597530955573826158591"},
       {"255211775190703847597530955573826158592", "340282366920938463463374607431768211455"}},
      {{"0", "68056473384187692692674921486353642290"},
       {"68056473384187692692674921486353642291", "136112946768375385385349842972707284581"},
       {"136112946768375385385349842972707284582", "204169420152563078078024764459060926872"},
       {"204169420152563078078024764459060926873", "272225893536750770770699685945414569163"},
       {"272225893536750770770699685945414569164", "340282366920938463463374607431768211455"}},
  };
  for (size_t n = 1; n <= expected.size(); ++n) {
    Result<std::vector<HashKeyRange>> r = EvenSplit(static_cast<int64_t>(n));
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->size(), n);
    for (size_t i = 0; i < n; ++i) {
      EXPECT_EQ(FormatHashKey((*r)[i].start), expected[n - 1][i].first) << n << "/" << i;
      EXPECT_EQ(FormatHashKey((*r)[i].end), expected[n - 1][i].second) << n << "/" << i;
    }
  }
}

TEST(EvenSplitTest, StepIsFloorOfTwoTo128OverN) {
  EXPECT_EQ(EvenSplitStep(2), static_cast<Uint128>(1) << 127);
  EXPECT_EQ(EvenSplitStep(4), static_cast<Uint128>(1) << 126);
  EXPECT_EQ(EvenSplitStep(1024), static_cast<Uint128>(1) << 118);
  EXPECT_EQ(FormatHashKey(HashKey{EvenSplitStep(3)}), "113427455640312821154458202477256070485");
  for (int64_t n : {3, 5, 6, 7, 10, 1000, 99999}) {
    Uint128 step = EvenSplitStep(n);
    // step * n <= 2^128 - 1 + 1 and (step + 1) * n > 2^128, checked without overflow:
    // 2^128 - step * n is in [0, n).
    Uint128 used = step * static_cast<Uint128>(n);  // < 2^128 for non-powers of two
    Uint128 remainder = HashKey::Max().value - used + 1;
    EXPECT_LT(remainder, static_cast<Uint128>(n)) << n;
  }
}

void ExpectEvenTiling(int64_t n) {
  Result<std::vector<HashKeyRange>> r = EvenSplit(n);
  ASSERT_TRUE(r.ok()) << n;
  ASSERT_EQ(r->size(), static_cast<size_t>(n));
  Status st = CheckTiling(*r);
  EXPECT_TRUE(st.ok()) << n << ": " << st.ToString();
  const Uint128 step = EvenSplitStep(n);
  for (int64_t i = 0; i + 1 < n; ++i) {
    const HashKeyRange& x = (*r)[static_cast<size_t>(i)];
    ASSERT_EQ(x.end.value - x.start.value + 1, step) << n << "/" << i;
  }
  // The last shard absorbs the remainder: at least one step, less than two.
  const HashKeyRange& last = r->back();
  if (n > 1) {
    Uint128 width_minus_1 = last.end.value - last.start.value;
    EXPECT_GE(width_minus_1 + 1, step);
    EXPECT_LT(width_minus_1 + 1 - step, static_cast<Uint128>(n));
  }
  // Spot-check against the one-range form.
  EXPECT_EQ(EvenSplitRange(n, 0), r->front());
  EXPECT_EQ(EvenSplitRange(n, n - 1), r->back());
  EXPECT_EQ(EvenSplitRange(n, n / 2), (*r)[static_cast<size_t>(n / 2)]);
}

TEST(EvenSplitTest, TilesWithoutGapOrOverlapForOneToThousand) {
  for (int64_t n = 1; n <= 1000; ++n) ExpectEvenTiling(n);
}

TEST(EvenSplitTest, TilesForLargeCounts) {
  for (int64_t n : {1024, 4096, 9999, 10000, 65536, 100000}) ExpectEvenTiling(n);
  ExpectEvenTiling(kMaxEvenSplitShards);
}

TEST(EvenSplitTest, RejectsBadCounts) {
  for (int64_t n : {int64_t{0}, int64_t{-1}, kMaxEvenSplitShards + 1, INT64_MAX}) {
    Result<std::vector<HashKeyRange>> r = EvenSplit(n);
    ASSERT_FALSE(r.ok()) << n;
    EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
    EXPECT_NE(r.status().message().find(fmt::format("{}", n)), std::string::npos);
  }
}

// --- UpdateShardCount split points ---------------------------------------------------

TEST(TargetBoundariesTest, TwoToFourSplitsEachShardOnce) {
  auto from = EvenSplit(2);
  ASSERT_TRUE(from.ok());
  auto b0 = TargetBoundariesWithin((*from)[0], 4);
  auto b1 = TargetBoundariesWithin((*from)[1], 4);
  ASSERT_EQ(b0.size(), 1u);
  ASSERT_EQ(b1.size(), 1u);
  EXPECT_EQ(b0[0], HashKey{static_cast<Uint128>(1) << 126});
  EXPECT_EQ(b1[0], HashKey{static_cast<Uint128>(3) << 126});
}

TEST(TargetBoundariesTest, FourToTwoNeedsNoSplits) {
  auto from = EvenSplit(4);
  ASSERT_TRUE(from.ok());
  for (const HashKeyRange& r : *from)
    EXPECT_TRUE(TargetBoundariesWithin(r, 2).empty()) << fmt::format("{}", r);
}

TEST(TargetBoundariesTest, ThreeToFourSplitsAtTheThreeBoundaries) {
  // resharding-and-limits.md §4: "3 -> 4 = splits at the three 4-shard boundaries that
  // fall inside the 3 shards, then merges of the fragments".
  auto from = EvenSplit(3);
  ASSERT_TRUE(from.ok());
  std::vector<HashKey> all;
  for (const HashKeyRange& r : *from) {
    auto b = TargetBoundariesWithin(r, 4);
    EXPECT_EQ(b.size(), 1u) << fmt::format("{}", r);
    all.insert(all.end(), b.begin(), b.end());
  }
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0], HashKey{static_cast<Uint128>(1) << 126});
  EXPECT_EQ(all[1], HashKey{static_cast<Uint128>(2) << 126});
  EXPECT_EQ(all[2], HashKey{static_cast<Uint128>(3) << 126});
}

TEST(TargetBoundariesTest, UnionOverATilingIsEveryInteriorBoundary) {
  for (int64_t c : {1, 2, 3, 5, 7, 10, 33, 100}) {
    for (int64_t t : {1, 2, 3, 4, 6, 9, 17, 64, 100, 199}) {
      auto from = EvenSplit(c);
      auto to = EvenSplit(t);
      ASSERT_TRUE(from.ok() && to.ok());
      std::vector<HashKey> got;
      for (const HashKeyRange& r : *from) {
        for (HashKey b : TargetBoundariesWithin(r, t)) {
          EXPECT_LT(r.start, b);
          EXPECT_LE(b, r.end);
          got.push_back(b);
        }
      }
      // Every target range start except 0, and nothing else, in ascending order.
      std::vector<HashKey> want;
      for (size_t j = 1; j < to->size(); ++j) want.push_back((*to)[j].start);
      // Boundaries that coincide with an existing shard start need no split.
      std::vector<HashKey> want_splits;
      for (HashKey b : want) {
        bool existing = false;
        for (const HashKeyRange& r : *from) existing |= (r.start == b);
        if (!existing) want_splits.push_back(b);
      }
      EXPECT_EQ(got, want_splits) << c << " -> " << t;
    }
  }
}

TEST(TargetBoundariesTest, NarrowAndEdgeRanges) {
  const Uint128 step = EvenSplitStep(4);
  // A one-key range at a boundary: b must be > start, so a range starting at b has none.
  EXPECT_TRUE(TargetBoundariesWithin({HashKey{step}, HashKey{step}}, 4).empty());
  // A one-key range just before it does not contain it either.
  EXPECT_TRUE(TargetBoundariesWithin({HashKey{step - 1}, HashKey{step - 1}}, 4).empty());
  // [b-1, b] contains b.
  EXPECT_EQ(TargetBoundariesWithin({HashKey{step - 1}, HashKey{step}}, 4),
            std::vector<HashKey>{HashKey{step}});
  // The whole space contains all t-1 boundaries, never 2^128-1 or beyond.
  EXPECT_EQ(TargetBoundariesWithin(HashKeyRange::Everything(), 5).size(), 4u);
  EXPECT_EQ(TargetBoundariesWithin({HashKey::Max(), HashKey::Max()}, 5).size(), 0u);
  EXPECT_TRUE(TargetBoundariesWithin(HashKeyRange::Everything(), 1).empty());
}

// --- CheckTiling ---------------------------------------------------------------------

TEST(CheckTilingTest, DetectsEachShape) {
  const HashKey mid{static_cast<Uint128>(1) << 127};
  const HashKey mid_minus{mid.value - 1};
  const HashKey mid_plus{mid.value + 1};
  struct Case {
    const char* name;
    std::vector<HashKeyRange> ranges;
    const char* needle;  // expected in the message; nullptr = OK
  };
  const Case cases[] = {
      {"whole", {HashKeyRange::Everything()}, nullptr},
      {"halves", {{HashKey::Min(), mid_minus}, {mid, HashKey::Max()}}, nullptr},
      {"empty", {}, "no hash key ranges"},
      {"late start", {{HashKey{1}, HashKey::Max()}}, "does not start at 0"},
      {"early end", {{HashKey::Min(), mid}}, "does not end at"},
      {"gap", {{HashKey::Min(), mid_minus}, {mid_plus, HashKey::Max()}}, "gap"},
      {"overlap", {{HashKey::Min(), mid}, {mid, HashKey::Max()}}, "overlap"},
      {"after max", {HashKeyRange::Everything(), {HashKey::Max(), HashKey::Max()}}, "overlap"},
      {"inverted", {{HashKey::Min(), mid}, {HashKey::Max(), mid_plus}}, "inverted"},
      {"unsorted", {{mid, HashKey::Max()}, {HashKey::Min(), mid_minus}}, "does not start at 0"},
  };
  for (const Case& c : cases) {
    Status st = CheckTiling(c.ranges);
    if (c.needle == nullptr) {
      EXPECT_TRUE(st.ok()) << c.name << ": " << st.ToString();
    } else {
      ASSERT_FALSE(st.ok()) << c.name;
      EXPECT_EQ(st.code(), Code::kInternal) << c.name;
      EXPECT_NE(st.message().find(c.needle), std::string::npos) << c.name << ": " << st.message();
    }
  }
}

}  // namespace
}  // namespace shoal
