// Lane-parallel MD5 against OpenSSL's MD5(), for every width this CPU runs.
#define OPENSSL_API_COMPAT 0x10100000L
#include "kernel/md5_lanes.h"

#include <gtest/gtest.h>
#include <openssl/md5.h>

#include <random>
#include <string>
#include <vector>

namespace shoal::md5_lanes {
namespace {

Digest Reference(std::string_view m) {
  Digest d;
  MD5(reinterpret_cast<const unsigned char*>(m.data()), m.size(), d.data());
  return d;
}

std::vector<size_t> Widths() {
  std::vector<size_t> w;
  for (size_t lanes : {8, 16})
    if (Supports(lanes)) w.push_back(lanes);
  return w;
}

TEST(Md5LanesTest, WidestSupportedIsWhatLanesReports) {
  const std::vector<size_t> w = Widths();
  EXPECT_EQ(Lanes(), w.empty() ? 0u : w.back());
  EXPECT_LE(Lanes(), kMaxLanes);
  if (w.empty()) GTEST_SKIP() << "this CPU has neither AVX2 nor AVX-512F: keys are hashed one by one";
}

TEST(Md5LanesTest, EveryOneBlockLengthInEveryLaneMatchesOpenSsl) {
  std::mt19937_64 rng(5);
  for (size_t lanes : Widths()) {
    for (int trial = 0; trial < 200; ++trial) {
      // Each lane its own length (0..55) and bytes, so lanes cannot mask each other's bugs.
      std::vector<std::string> msgs(lanes);
      std::vector<std::string_view> views(lanes);
      for (size_t l = 0; l < lanes; ++l) {
        msgs[l].resize(trial < 56 ? (static_cast<size_t>(trial) + l) % (kMaxOneBlockBytes + 1)
                                  : rng() % (kMaxOneBlockBytes + 1));
        for (char& c : msgs[l]) c = static_cast<char>(rng());
        views[l] = msgs[l];
      }
      std::vector<Digest> got(lanes);
      HashOneBlock(lanes, views.data(), got.data());
      for (size_t l = 0; l < lanes; ++l)
        ASSERT_EQ(got[l], Reference(msgs[l])) << lanes << " lanes, lane " << l << ", " << msgs[l].size() << " bytes";
    }
  }
}

TEST(Md5LanesTest, Rfc1321VectorsInEveryLane) {
  const std::string abc = "abc";
  for (size_t lanes : Widths()) {
    std::vector<std::string_view> views(lanes, abc);
    std::vector<Digest> got(lanes);
    HashOneBlock(lanes, views.data(), got.data());
    const Digest want = {0x90, 0x01, 0x50, 0x98, 0x3c, 0xd2, 0x4f, 0xb0,
                         0xd6, 0x96, 0x3f, 0x7d, 0x28, 0xe1, 0x7f, 0x72};  // 900150983cd24fb0...
    for (size_t l = 0; l < lanes; ++l) EXPECT_EQ(got[l], want) << lanes << " lanes, lane " << l;
  }
}

}  // namespace
}  // namespace shoal::md5_lanes
