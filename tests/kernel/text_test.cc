#include "kernel/text.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace shoal {
namespace {

// The definition Utf8Length must agree with: every byte that is not a continuation byte
// (10xxxxxx) starts a code point.
size_t ByteByByte(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
}

TEST(Utf8LengthTest, CountsCodePoints) {
  EXPECT_EQ(Utf8Length(""), 0u);
  EXPECT_EQ(Utf8Length("a"), 1u);
  EXPECT_EQ(Utf8Length("partition-100000"), 16u);
  EXPECT_EQ(Utf8Length("\xc3\xa9"), 1u);                     // é
  EXPECT_EQ(Utf8Length("\xe2\x82\xac\xe2\x82\xac"), 2u);     // €€
  EXPECT_EQ(Utf8Length("\xf0\x9f\x90\x9f fish"), 6u);        // 🐟 + " fish"
  EXPECT_EQ(Utf8Length(std::string(256, 'k')), 256u);
  EXPECT_EQ(Utf8Length(std::string_view("a\0b", 3)), 3u);   // NUL is a character
}

TEST(Utf8LengthTest, AgreesWithByteByByteOnEveryLengthAndAnyBytes) {
  std::mt19937_64 rng(3);
  for (size_t len = 0; len <= 70; ++len) {
    for (int trial = 0; trial < 200; ++trial) {
      std::string s(len, '\0');
      for (char& c : s) c = static_cast<char>(rng());
      ASSERT_EQ(Utf8Length(s), ByteByByte(s)) << len;
      // Unaligned starts, so the word loop does not only see aligned data.
      if (len > 1) {
        const std::string_view tail = std::string_view(s).substr(1);
        ASSERT_EQ(Utf8Length(tail), ByteByByte(tail));
      }
    }
  }
}

}  // namespace
}  // namespace shoal
