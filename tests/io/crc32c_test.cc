#include "io/crc32c.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

namespace shoal::io {
namespace {

uint32_t Crc(const std::string& s) { return Crc32c(s.data(), s.size()); }

std::vector<uint8_t> RandomBytes(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(rng());
  return v;
}

// Vectors from RFC 3720 (iSCSI) appendix B.4 and the usual check value.
TEST(Crc32cTest, KnownVectors) {
  EXPECT_EQ(Crc("123456789"), 0xE3069283u);
  EXPECT_EQ(Crc(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(Crc(std::string(32, '\xff')), 0x62A8AB43u);
  std::string ascending(32, '\0');
  std::string descending(32, '\0');
  for (int i = 0; i < 32; ++i) {
    ascending[i] = static_cast<char>(i);
    descending[i] = static_cast<char>(31 - i);
  }
  EXPECT_EQ(Crc(ascending), 0x46DD794Eu);
  EXPECT_EQ(Crc(descending), 0x113FDB5Cu);
  EXPECT_EQ(Crc32c(nullptr, 0), 0u);
}

TEST(Crc32cTest, PortableMatchesKnownVectors) {
  EXPECT_EQ(Crc32cExtendPortable(0, "123456789", 9), 0xE3069283u);
  std::string zeros(32, '\0');
  EXPECT_EQ(Crc32cExtendPortable(0, zeros.data(), zeros.size()), 0x8A9136AAu);
  std::string ones(32, '\xff');
  EXPECT_EQ(Crc32cExtendPortable(0, ones.data(), ones.size()), 0x62A8AB43u);
}

TEST(Crc32cTest, ExtendComposesAtEverySplit) {
  std::vector<uint8_t> data = RandomBytes(1000, 1);
  const uint32_t whole = Crc32c(data.data(), data.size());
  for (size_t split = 0; split <= data.size(); ++split) {
    uint32_t c = Crc32c(data.data(), split);
    c = Crc32cExtend(c, data.data() + split, data.size() - split);
    ASSERT_EQ(c, whole) << "split at " << split;
    uint32_t p = Crc32cExtendPortable(0, data.data(), split);
    p = Crc32cExtendPortable(p, data.data() + split, data.size() - split);
    ASSERT_EQ(p, whole) << "portable, split at " << split;
  }
}

TEST(Crc32cTest, ExtendComposesOverManyPieces) {
  // Pieces that straddle the hardware path's 8 KiB and 256-byte stream boundaries.
  std::vector<uint8_t> data = RandomBytes(200 * 1024, 2);
  const uint32_t whole = Crc32c(data.data(), data.size());
  std::mt19937_64 rng(3);
  uint32_t c = 0;
  size_t pos = 0;
  while (pos < data.size()) {
    size_t n = std::min<size_t>(data.size() - pos, rng() % 30000);
    c = Crc32cExtend(c, data.data() + pos, n);
    pos += n;
  }
  EXPECT_EQ(c, whole);
}

TEST(Crc32cTest, ChangingAnyBitChangesTheCrc) {
  std::vector<uint8_t> data = RandomBytes(64, 4);
  const uint32_t base = Crc32c(data.data(), data.size());
  for (size_t i = 0; i < data.size() * 8; ++i) {
    data[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
    EXPECT_NE(Crc32c(data.data(), data.size()), base) << "bit " << i;
    data[i / 8] ^= static_cast<uint8_t>(1u << (i % 8));
  }
}

// The dispatching Crc32cExtend must agree with the portable table whatever the length
// and alignment (the hardware path has an alignment prologue, three stream sizes and a
// byte tail). Without SSE4.2 both are the portable path and this checks nothing new.
TEST(Crc32cTest, HardwareAndPortableAgreeOnEveryLengthUpTo5000) {
  std::vector<uint8_t> buf = RandomBytes(5000 + 16, 5);
  for (size_t len = 0; len <= 5000; ++len) {
    const size_t start = len % 8;  // every alignment of the start, in turn
    const uint8_t* p = buf.data() + start;
    ASSERT_EQ(Crc32cExtend(0, p, len), Crc32cExtendPortable(0, p, len))
        << "len " << len << " start " << start;
    ASSERT_EQ(Crc32cExtend(0x12345678u, p, len), Crc32cExtendPortable(0x12345678u, p, len))
        << "seeded, len " << len;
  }
}

TEST(Crc32cTest, HardwareAndPortableAgreeOnLargeUnalignedBuffers) {
  std::vector<uint8_t> buf = RandomBytes(300 * 1024, 6);
  const size_t sizes[] = {100 * 1024, 100 * 1024 + 1, 3 * 8192, 3 * 8192 - 1,
                          3 * 8192 + 3 * 256 + 7, 123457};
  for (size_t len : sizes) {
    for (size_t start = 0; start < 16; ++start) {
      const uint8_t* p = buf.data() + start;
      ASSERT_EQ(Crc32cExtend(0, p, len), Crc32cExtendPortable(0, p, len))
          << "len " << len << " start " << start;
    }
  }
}

}  // namespace
}  // namespace shoal::io
