#include "kernel/stream_name.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace shoal {

// Readable gtest failure output (found by argument-dependent lookup).
void PrintTo(ShardIndex i, std::ostream* os) { *os << FormatShardId(i); }

namespace {

constexpr std::string_view kAlphabet =
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-";

std::string FoldCase(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

// Checks every promise EscapeForPath makes for one valid name.
void ExpectGoodComponent(const std::string& name) {
  ASSERT_TRUE(IsValidStreamName(name)) << name;
  const std::string c = EscapeForPath(name);
  ASSERT_FALSE(c.empty()) << name;
  EXPECT_NE(c, ".") << name;
  EXPECT_NE(c, "..") << name;
  EXPECT_NE(c[0], '.') << name << " -> " << c;
  EXPECT_LE(c.size(), 192u) << name;
  EXPECT_EQ(FoldCase(c), c) << "upper case in " << c;
  for (char ch : c) {
    EXPECT_TRUE((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
                ch == '-' || ch == '+' || ch == '^')
        << name << " -> " << c;
  }
  Result<std::string> back = UnescapeFromPath(c);
  ASSERT_TRUE(back.ok()) << name << " -> " << c << ": " << back.status().ToString();
  EXPECT_EQ(back.value(), name);
}

// --- Validation -----------------------------------------------------------------------

TEST(StreamNameTest, AcceptsValidNames) {
  for (std::string name : {"a", "orders", "Orders", ".", "..", "...", "_", "-", "a.b-c_D", "0",
                           "shardId-000000000000"}) {
    EXPECT_TRUE(IsValidStreamName(name)) << name;
    EXPECT_TRUE(ValidateStreamName(name).ok()) << name;
    EXPECT_TRUE(StreamNameViolations(name).empty()) << name;
  }
  EXPECT_TRUE(IsValidStreamName(std::string(128, 'x')));
}

TEST(StreamNameTest, RejectsInvalidNames) {
  for (std::string name : {std::string(), std::string(129, 'x'), std::string("a b"),
                           std::string("a/b"), std::string("é"), std::string("a\0b", 3),
                           std::string("*"), std::string("a:b"), std::string("tab\t")}) {
    EXPECT_FALSE(IsValidStreamName(name)) << name;
    Status st = ValidateStreamName(name);
    EXPECT_EQ(st.code(), Code::kInvalidArgument) << name;
    EXPECT_FALSE(StreamNameViolations(name).empty()) << name;
  }
}

TEST(StreamNameTest, ViolationsUseAwsWordingAndOrder) {
  const std::string kPattern = "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+";
  const std::string kMin = "Member must have length greater than or equal to 1";
  const std::string kMax = "Member must have length less than or equal to 128";
  // The spec's example (§1.7.4): '' violates the pattern, then the minimum length.
  EXPECT_EQ(StreamNameViolations(""), (std::vector<std::string>{kPattern, kMin}));
  EXPECT_EQ(StreamNameViolations(std::string(129, 'a')), (std::vector<std::string>{kMax}));
  EXPECT_EQ(StreamNameViolations("a b"), (std::vector<std::string>{kPattern}));
  EXPECT_EQ(StreamNameViolations(std::string(129, '/')),
            (std::vector<std::string>{kPattern, kMax}));
  // Lengths count characters: 128 two-byte characters are not too long.
  std::string e_acute;
  for (int i = 0; i < 128; ++i) e_acute += "é";
  EXPECT_EQ(StreamNameViolations(e_acute), (std::vector<std::string>{kPattern}));
}

TEST(StreamNameTest, ValidateMessagesSayWhatIsWrong) {
  EXPECT_NE(ValidateStreamName("").message().find("empty"), std::string::npos);
  std::string m = ValidateStreamName(std::string(200, 'a')).message();
  EXPECT_NE(m.find("200 bytes"), std::string::npos) << m;
  m = ValidateStreamName("ab/cd").message();
  EXPECT_NE(m.find("byte 2"), std::string::npos) << m;
  EXPECT_NE(m.find("[a-zA-Z0-9_.-]+"), std::string::npos) << m;
  m = ValidateStreamName("a\nb").message();
  EXPECT_EQ(m.find('\n'), std::string::npos) << m;
}

// --- EscapeForPath --------------------------------------------------------------------

TEST(EscapeForPathTest, DocumentedExamples) {
  EXPECT_EQ(EscapeForPath("orders"), "orders");
  EXPECT_EQ(EscapeForPath("Orders"), "+orders");
  EXPECT_EQ(EscapeForPath("ORDERS"), "^orders");
  EXPECT_EQ(EscapeForPath("OrDERS"), "^o+rders");
  EXPECT_EQ(EscapeForPath("."), "+.");
  EXPECT_EQ(EscapeForPath(".."), "+..");
  EXPECT_EQ(EscapeForPath(".Git"), "+.+git");
  EXPECT_EQ(EscapeForPath("a.b_c-9"), "a.b_c-9");
  EXPECT_EQ(EscapeForPath("G"), "^g");
  EXPECT_EQ(EscapeForPath("Ab"), "+ab");  // a tie keeps lower case as the default
}

TEST(EscapeForPathTest, InvalidNamesGiveEmpty) {
  EXPECT_EQ(EscapeForPath(""), "");
  EXPECT_EQ(EscapeForPath("a/b"), "");
  EXPECT_EQ(EscapeForPath(std::string(129, 'a')), "");
}

TEST(EscapeForPathTest, WorstCasesFitInNameMax) {
  std::vector<std::string> names = {std::string(128, 'A'), std::string(128, 'a'),
                                    std::string(128, '.'), std::string(128, '_')};
  std::string alt, alt_dot = ".", half;
  for (int i = 0; i < 128; ++i) alt += (i % 2 ? 'a' : 'A');
  for (int i = 0; i < 127; ++i) alt_dot += (i % 2 ? 'a' : 'A');
  half = std::string(64, 'A') + std::string(63, 'b') + "C";  // 65 upper, 63 lower
  names.push_back(alt);
  names.push_back(alt_dot);
  names.push_back(half);
  size_t longest = 0;
  for (const std::string& n : names) {
    ExpectGoodComponent(n);
    longest = std::max(longest, EscapeForPath(n).size());
  }
  EXPECT_EQ(longest, 192u);  // the documented bound is reached, not exceeded
}

TEST(EscapeForPathTest, ExhaustiveShortNamesAreInjectiveUnderCaseFolding) {
  std::vector<std::string> names;
  for (char a : kAlphabet) names.push_back(std::string(1, a));
  for (char a : kAlphabet) {
    for (char b : kAlphabet) names.push_back(std::string{a, b});
  }
  // Three characters from a reduced alphabet that has every class.
  const std::string small = "aAzZ0_.-";
  for (char a : small) {
    for (char b : small) {
      for (char c : small) names.push_back(std::string{a, b, c});
    }
  }
  std::set<std::string> folded;
  for (const std::string& n : names) {
    ExpectGoodComponent(n);
    folded.insert(FoldCase(EscapeForPath(n)));
  }
  std::set<std::string> distinct(names.begin(), names.end());
  EXPECT_EQ(folded.size(), distinct.size());
}

TEST(EscapeForPathTest, RandomNamesAreInjectiveUnderCaseFolding) {
  std::mt19937_64 rng(1234);
  std::set<std::string> names;
  std::set<std::string> folded;
  for (int i = 0; i < 30000; ++i) {
    size_t len = 1 + rng() % 128;
    if (i % 3 == 0) len = 1 + rng() % 6;  // short names collide more often
    std::string n;
    // Bias toward letters so case variants of the same word are common.
    const std::string_view pool = i % 2 ? std::string_view("aAbB.") : kAlphabet;
    for (size_t k = 0; k < len; ++k) n += pool[rng() % pool.size()];
    if (!names.insert(n).second) continue;
    ExpectGoodComponent(n);
    folded.insert(FoldCase(EscapeForPath(n)));
  }
  EXPECT_EQ(folded.size(), names.size());
}

TEST(EscapeForPathTest, UnescapeRejectsWhatEscapeNeverProduces) {
  const std::vector<std::string> bad = {
      "",   // empty
      ".",  // a real directory entry
      "..",
      ".git",    // a leading dot is always escaped
      "Orders",  // upper case never appears
      "+",       // dangling escape
      "ab+",
      "+A",  // escape must be followed by a lower-case letter or '.'
      "+1",
      "a+.b",  // "+." only at the start
      "+g",    // "G" is spelled "^g"
      "^o+r",  // "Or" is spelled "+or"
      "^",     // decodes to ""
      "a^b",   // '^' only at the start
      "a/b",
      "a b",
      std::string(129, 'a'),  // decodes to a name that is too long
      std::string("a\0b", 3),
  };
  for (const std::string& c : bad) {
    Result<std::string> r = UnescapeFromPath(c);
    EXPECT_FALSE(r.ok()) << "accepted '" << c << "' as " << (r.ok() ? r.value() : "");
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument) << c;
    }
  }
  EXPECT_NE(UnescapeFromPath("+g").status().message().find("^g"), std::string::npos)
      << UnescapeFromPath("+g").status().message();
}

// --- Shard ids ------------------------------------------------------------------------

TEST(ShardIdTest, FormatsTwelveDigits) {
  EXPECT_EQ(FormatShardId(ShardIndex{0}), "shardId-000000000000");
  EXPECT_EQ(FormatShardId(ShardIndex{7}), "shardId-000000000007");
  EXPECT_EQ(FormatShardId(ShardIndex{123456789}), "shardId-000123456789");
  EXPECT_EQ(FormatShardId(ShardIndex{kMaxShardIndex}), "shardId-002147483647");
  EXPECT_EQ(fmt::format("{}", ShardIndex{12}), "shardId-000000000012");
  ShardIdChars c;
  EXPECT_EQ(FormatShardId(ShardIndex{7}, c), "shardId-000000000007");
  EXPECT_EQ(FormatShardId(ShardIndex{kMaxShardIndex}, c), "shardId-002147483647");
}

TEST(ShardIdTest, ParsesLeniently) {
  struct Case {
    const char* text;
    uint32_t index;
  };
  const Case cases[] = {
      {"shardId-000000000003", 3},
      {"shardId-3", 3},
      {"shard-3", 3},
      {"3", 3},
      {"x-0", 0},
      {"shardId-0", 0},
      {"shardId-00000000000000000000000000005", 5},
      {"shardId-2147483647", kMaxShardIndex},
  };
  for (const Case& c : cases) {
    Result<ShardIndex> r = ParseShardId(c.text);
    ASSERT_TRUE(r.ok()) << c.text << ": " << r.status().ToString();
    EXPECT_EQ(r.value(), ShardIndex{c.index}) << c.text;
  }
}

TEST(ShardIdTest, RoundTrips) {
  for (uint32_t i : {0u, 1u, 9u, 10u, 999999u, 1000000u, kMaxShardIndex}) {
    Result<ShardIndex> r = ParseShardId(FormatShardId(ShardIndex{i}));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r.value(), ShardIndex{i});
  }
}

TEST(ShardIdTest, RejectsUnparseable) {
  for (std::string text : {"", "shardId-", "shardId", "shardId-1a", "shardId--1", "shardId-+1",
                           "shardId- 1", "shardId-2147483648", "shardId-99999999999999999999999999",
                           "-", "1e3", "shardId-000000000001-2"}) {
    Result<ShardIndex> r = ParseShardId(text);
    EXPECT_FALSE(r.ok()) << "accepted '" << text << "'";
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), Code::kInvalidArgument);
      EXPECT_NE(r.status().message().find("shardId-000000000000"), std::string::npos);
    }
  }
}

TEST(ShardIdTest, IndicesAreOrdered) {
  EXPECT_LT(ShardIndex{1}, ShardIndex{2});
  EXPECT_EQ(ShardIndex{5}, ShardIndex{5});
}

}  // namespace
}  // namespace shoal
