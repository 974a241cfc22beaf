// Regressions found by tests/fuzz/catalog_fuzz; the inputs replay from
// tests/fuzz/regressions/catalog_fuzz/.
#include <gtest/gtest.h>

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "io/crc32c.h"
#include "kernel/catalog.h"
#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

std::string WithCrc(std::string body) {
  return body + fmt::format("crc {:08x}\n", io::Crc32c(body.data(), body.size()));
}

std::string Catalog1(std::string_view shard_fields, std::string_view name = "s", std::string_view next = "1") {
  return WithCrc(fmt::format(
      "shoal-catalog 1\n"
      "stream name={} uid=7 status=1 mode=0 retention_h=24 created_ms=1767225600000 until_ms=0 next_shard={}\n"
      "shard index=0 start=0 end=340282366920938463463374607431768211455 parent=- adjacent=- {}\n",
      name, next, shard_fields));
}

constexpr std::string_view kGoodShard = "created_s=1767225598 closed=0 closed_ms=0 end_offset=0";

TEST(FuzzCatalogRegressionTest, ValidCatalogStillDecodes) {
  auto c = DecodeCatalog(Catalog1(kGoodShard), "CATALOG");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->streams.at(0).shards.at(0).created_s, 1767225598);
}

// A creation second past the sequence-number layout decoded fine, and the engine aborted in
// FormatSequenceNumber on the first DescribeStream.
TEST(FuzzCatalogRegressionTest, FieldsTheEngineCannotUseAreCorruption) {
  const std::string bad[] = {
      Catalog1("created_s=21767225599 closed=0 closed_ms=0 end_offset=0"),
      Catalog1("created_s=-1 closed=0 closed_ms=0 end_offset=0"),
      Catalog1("created_s=1767225598 closed=1 closed_ms=-5 end_offset=0"),
      Catalog1("created_s=1767225598 closed=1 closed_ms=99999999999999999 end_offset=0"),
      Catalog1("created_s=1767225598 closed=1 closed_ms=0 end_offset=18446744073709551615"),
      Catalog1(kGoodShard, "bad/name"),
      Catalog1(kGoodShard, "s", "0"),  // shard index 0 is not below next_shard
  };
  for (const std::string& text : bad) {
    EXPECT_EQ(DecodeCatalog(text, "CATALOG").status().code(), Code::kCorruption) << text;
  }
}

TEST(FuzzCatalogRegressionTest, DuplicatesAndInvertedRangesAreCorruption) {
  const std::string twice = WithCrc(
      "shoal-catalog 1\n"
      "stream name=s uid=7 status=1 mode=0 retention_h=24 created_ms=0 until_ms=0 next_shard=1\n"
      "stream name=s uid=8 status=1 mode=0 retention_h=24 created_ms=0 until_ms=0 next_shard=1\n");
  EXPECT_EQ(DecodeCatalog(twice, "CATALOG").status().code(), Code::kCorruption);
  const std::string shard_twice = WithCrc(
      "shoal-catalog 1\n"
      "stream name=s uid=7 status=1 mode=0 retention_h=24 created_ms=0 until_ms=0 next_shard=2\n"
      "shard index=1 start=0 end=5 parent=- adjacent=- created_s=0 closed=0 closed_ms=0 end_offset=0\n"
      "shard index=1 start=6 end=9 parent=- adjacent=- created_s=0 closed=0 closed_ms=0 end_offset=0\n");
  EXPECT_EQ(DecodeCatalog(shard_twice, "CATALOG").status().code(), Code::kCorruption);
  const std::string inverted = WithCrc(
      "shoal-catalog 1\n"
      "stream name=s uid=7 status=1 mode=0 retention_h=24 created_ms=0 until_ms=0 next_shard=1\n"
      "shard index=0 start=9 end=5 parent=- adjacent=- created_s=0 closed=0 closed_ms=0 end_offset=0\n");
  EXPECT_EQ(DecodeCatalog(inverted, "CATALOG").status().code(), Code::kCorruption);
}

TEST(FuzzCatalogRegressionTest, EngineRefusesToOpenSuchACatalog) {
  testing::TempDir tmp;
  const std::string dir = tmp.Sub("data");
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/CATALOG") << Catalog1("created_s=21767225599 closed=0 closed_ms=0 end_offset=0");
  EngineOptions o;
  o.sweep_interval_ms = 0;
  auto e = Engine::Open(dir, o);
  ASSERT_FALSE(e.ok());
  EXPECT_EQ(e.status().code(), Code::kCorruption);
}

}  // namespace
}  // namespace shoal
