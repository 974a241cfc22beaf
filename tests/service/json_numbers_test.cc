#include "api/json_numbers.h"

#include <gtest/gtest.h>
#include <simdjson.h>

namespace shoal::api {
namespace {

// What simdjson makes of `json`'s member "n" after saturation.
double Parsed(const std::string& json) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  EXPECT_EQ(p.parse(json).get(doc), simdjson::SUCCESS) << json;
  double d = 0;
  EXPECT_EQ(doc["n"].get_double().get(d), simdjson::SUCCESS) << json;
  return d;
}

TEST(SaturateHugeNumbers, LeavesParseableDocumentsAlone) {
  EXPECT_FALSE(SaturateHugeNumbers(R"({"n":18446744073709551615,"m":-9223372036854775808})"));
  EXPECT_FALSE(SaturateHugeNumbers(R"({"n":1e308,"m":-0.5e-400,"s":"1e400"})"));
  EXPECT_FALSE(SaturateHugeNumbers(R"({"n":1e40x})"));  // malformed stays malformed
  EXPECT_FALSE(SaturateHugeNumbers(""));
}

TEST(SaturateHugeNumbers, IntegersPastSixtyFourBitsBecomeDoubles) {
  auto out = SaturateHugeNumbers(R"({"n":18446744073709551616})");
  ASSERT_TRUE(out);
  EXPECT_DOUBLE_EQ(Parsed(*out), 18446744073709551616.0);
  out = SaturateHugeNumbers(R"({"n":-9223372036854775809})");
  ASSERT_TRUE(out);
  EXPECT_DOUBLE_EQ(Parsed(*out), -9223372036854775809.0);
  out = SaturateHugeNumbers(R"({"n":340282366920938463463374607431768211456})");
  ASSERT_TRUE(out);
  EXPECT_DOUBLE_EQ(Parsed(*out), 340282366920938463463374607431768211456.0);
  out = SaturateHugeNumbers(R"({"n":1)" + std::string(400, '0') + "}");
  ASSERT_TRUE(out);
  EXPECT_DOUBLE_EQ(Parsed(*out), 1.7976931348623157e308);
}

TEST(SaturateHugeNumbers, MagnitudesPastDoubleSaturate) {
  auto out = SaturateHugeNumbers(R"({"n":1e400})");
  ASSERT_TRUE(out);
  EXPECT_DOUBLE_EQ(Parsed(*out), 1.7976931348623157e308);
  out = SaturateHugeNumbers(R"({"n":-1.5E+999})");
  ASSERT_TRUE(out);
  EXPECT_DOUBLE_EQ(Parsed(*out), -1.7976931348623157e308);
}

TEST(SaturateHugeNumbers, StringsAndOtherNumbersAreCopiedVerbatim) {
  const std::string in = R"({"s":"1e400 \" 99999999999999999999999","n":1e400,"t":[7,-2.5,"\\"],"u":99999999999999999999})";
  auto out = SaturateHugeNumbers(in);
  ASSERT_TRUE(out);
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  ASSERT_EQ(p.parse(*out).get(doc), simdjson::SUCCESS) << *out;
  EXPECT_EQ(std::string_view(doc["s"]), "1e400 \" 99999999999999999999999");
  EXPECT_EQ(int64_t(doc["t"].at(0)), 7);
  EXPECT_EQ(double(doc["t"].at(1)), -2.5);
  EXPECT_EQ(std::string_view(doc["t"].at(2)), "\\");
  EXPECT_DOUBLE_EQ(double(doc["u"]), 1e20);
}

}  // namespace
}  // namespace shoal::api
