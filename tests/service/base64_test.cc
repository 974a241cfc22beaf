// api/base64: the table-driven codec against a 6-bits-at-a-time reference, on every
// length up to a few quads and on random blobs, and the spec's exact rejection reasons.
#include "api/base64.h"

#include <gtest/gtest.h>

#include <random>

namespace shoal::api {
namespace {

const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

std::string ReferenceEncode(std::string_view in) {
  std::string out;
  size_t i = 0;
  for (; i + 3 <= in.size(); i += 3) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8 | uint8_t(in[i + 2]);
    for (int k = 3; k >= 0; --k) out += kAlphabet[(v >> (6 * k)) & 63];
  }
  if (in.size() - i == 1) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += "==";
  } else if (in.size() - i == 2) {
    uint32_t v = uint32_t(uint8_t(in[i])) << 16 | uint32_t(uint8_t(in[i + 1])) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string RandomBytes(std::mt19937_64& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Base64Test, EncodeMatchesReferenceAndRoundTrips) {
  std::mt19937_64 rng(7);
  for (size_t n = 0; n < 64; ++n) {
    for (int rep = 0; rep < 20; ++rep) {
      const std::string raw = RandomBytes(rng, n);
      std::string enc = "prefix";
      Base64Encode(raw, &enc);
      ASSERT_EQ(enc, "prefix" + ReferenceEncode(raw)) << "n=" << n;
      ASSERT_EQ(enc.size() - 6, Base64EncodedSize(n));
      std::string dec, why;
      ASSERT_TRUE(Base64Decode(std::string_view(enc).substr(6), &dec, &why)) << why;
      ASSERT_EQ(dec, raw);
    }
  }
  const std::string big = RandomBytes(rng, 1 << 20);
  std::string enc;
  Base64Encode(big, &enc);
  EXPECT_EQ(enc, ReferenceEncode(big));
  std::string dec, why;
  ASSERT_TRUE(Base64Decode(enc, &dec, &why));
  EXPECT_EQ(dec, big);
}

TEST(Base64Test, DecodeAppendKeepsWhatWasThere) {
  std::string out = "abc", why;
  ASSERT_TRUE(Base64DecodeAppend("aGVsbG8=", &out, &why));
  EXPECT_EQ(out, "abchello");
  EXPECT_FALSE(Base64DecodeAppend("aGVs*G8=", &out, &why));
  EXPECT_EQ(out, "abchello");
  EXPECT_FALSE(Base64DecodeAppend("aGVsbG9=", &out, &why));
  EXPECT_EQ(out, "abchello");
}

TEST(Base64Test, RejectsWithTheSpecsReasons) {
  std::string out, why;
  EXPECT_FALSE(Base64Decode("abc", &out, &why));
  EXPECT_EQ(why, "Base64 encoded length is expected a multiple of 4 bytes but found: 3");
  // A bad character anywhere: in the body, in the last quad, before padding, '=' inside.
  for (const char* bad : {"ab*dAAAA", "AAAAab$d", "AAAAa!==", "AAAA=AAA", "AAAAAA=A", "a-cd"}) {
    EXPECT_FALSE(Base64Decode(bad, &out, &why)) << bad;
    EXPECT_EQ(why.rfind("Invalid Base64 character: '", 0), 0u) << bad << ": " << why;
  }
  EXPECT_FALSE(Base64Decode("ab*dAAAA", &out, &why));
  EXPECT_EQ(why, "Invalid Base64 character: '*'");
  EXPECT_FALSE(Base64Decode("====", &out, &why));
  EXPECT_EQ(why, "Invalid Base64 character: '='");
  // Non-zero bits under the padding.
  EXPECT_FALSE(Base64Decode("aGVsbG9=", &out, &why));
  EXPECT_EQ(why, "Invalid last non-pad Base64 character dectected");
  EXPECT_FALSE(Base64Decode("aB==", &out, &why));
  EXPECT_EQ(why, "Invalid last non-pad Base64 character dectected");
  EXPECT_TRUE(Base64Decode("aA==", &out, &why));
  EXPECT_EQ(out, "h");
  EXPECT_TRUE(Base64Decode("", &out, &why));
  EXPECT_EQ(out, "");
}

TEST(Base64Test, EveryCharacterOutsideTheAlphabetIsRejectedInEveryPosition) {
  std::string out, why;
  for (int c = 0; c < 256; ++c) {
    const bool valid = kAlphabet.find(static_cast<char>(c)) != std::string::npos;
    for (size_t pos = 0; pos < 8; ++pos) {
      std::string text = "QUJDRA==";  // "ABCD"
      if (pos >= 6) text = "QUJDREVG";
      text[pos] = static_cast<char>(c);
      const bool ok = Base64Decode(text, &out, &why);
      if (!valid) {
        EXPECT_FALSE(ok) << "char " << c << " at " << pos;
      } else if (pos < 6) {
        EXPECT_TRUE(ok || why == "Invalid last non-pad Base64 character dectected") << c << " " << pos << why;
      } else {
        EXPECT_TRUE(ok) << c << " " << pos;
      }
    }
  }
}

// Long texts go through the vector loops (32 characters a step) where the CPU has them:
// a bad character in any of their positions must still be found and named, and any
// alphabet character decode to what re-encodes to the same text.
TEST(Base64Test, LongTextsRejectEveryBadCharacterInEveryPosition) {
  std::mt19937_64 rng(11);
  const std::string raw = RandomBytes(rng, 150);  // 200 characters, no padding
  const std::string good = ReferenceEncode(raw);
  std::string out = "kept", why;
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool valid = kAlphabet.find(ch) != std::string::npos;
    for (size_t pos = 0; pos < good.size(); ++pos) {
      if (ch == '=' && pos + 1 == good.size()) continue;  // padding there: the test above
      std::string text = good;
      text[pos] = ch;
      out = "kept";
      const bool ok = Base64DecodeAppend(text, &out, &why);
      if (!valid) {
        ASSERT_FALSE(ok) << "char " << c << " at " << pos;
        // A byte that does not start a whole UTF-8 character here is named as U+FFFD: the
        // reason goes into a JSON response, which must stay valid UTF-8.
        const std::string named = c < 0x80 ? std::string(1, ch) : std::string("\xEF\xBF\xBD");
        ASSERT_EQ(why, "Invalid Base64 character: '" + named + "'") << c << " at " << pos;
        ASSERT_EQ(out, "kept");
      } else {
        ASSERT_TRUE(ok) << c << " at " << pos << ": " << why;
        ASSERT_EQ("kept" + ReferenceEncode(std::string_view(out).substr(4)), "kept" + text) << c << " at " << pos;
      }
    }
  }
}

}  // namespace
}  // namespace shoal::api
