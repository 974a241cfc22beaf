// api/json_writer.h: the output the Kinesis responses are made of, byte for byte.
#include "api/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <limits>

namespace shoal::api {
namespace {

std::string Write(const std::function<void(JsonWriter&)>& f) {
  std::string out;
  JsonWriter w(&out);
  f(w);
  return out;
}

TEST(JsonWriterTest, EscapesOnlyWhatJsonRequires) {
  EXPECT_EQ(Write([](JsonWriter& w) { w.String("plain/text-09 é"); }), "\"plain/text-09 é\"");
  EXPECT_EQ(Write([](JsonWriter& w) { w.String("a\"b\\c\nd\re\tf\bg\fh"); }),
            "\"a\\\"b\\\\c\\nd\\re\\tf\\bg\\fh\"");
  EXPECT_EQ(Write([](JsonWriter& w) { w.String(std::string_view("x\x01y\x1f", 4)); }), "\"x\\u0001y\\u001f\"");
  EXPECT_EQ(Write([](JsonWriter& w) { w.String("\"leading"); }), "\"\\\"leading\"");
  EXPECT_EQ(Write([](JsonWriter& w) { w.String(""); }), "\"\"");
}

// Long strings are scanned a word at a time: every character that needs escaping is
// found in every position, and nothing else is escaped.
TEST(JsonWriterTest, EscapesInEveryPositionOfLongStrings) {
  for (int c = 0; c < 256; ++c) {
    const char ch = static_cast<char>(c);
    const bool escape = c < 0x20 || ch == '"' || ch == '\\';
    for (size_t pos = 0; pos < 40; ++pos) {
      std::string text(40, 'x');
      text[pos] = ch;
      const std::string out = Write([&](JsonWriter& w) { w.String(text); });
      std::string before = "\"";
      before.append(text, 0, pos);
      if (escape) {
        const size_t escaped = c < 0x20 && (c == 0 || !std::strchr("\n\r\t\b\f", ch)) ? 6 : 2;  // \u00XX or \n
        ASSERT_EQ(out.size(), text.size() + 1 + escaped) << c << " at " << pos;
        ASSERT_EQ(out.compare(0, before.size(), before), 0) << c << " at " << pos;
        ASSERT_EQ(out[before.size()], '\\') << c << " at " << pos;
      } else {
        std::string whole = before;
        whole.append(text, pos, std::string::npos);
        whole += '"';
        ASSERT_EQ(out, whole) << c << " at " << pos;
      }
    }
  }
}

TEST(JsonWriterTest, IntegersAndEpochMillis) {
  EXPECT_EQ(Write([](JsonWriter& w) {
              w.BeginArray();
              w.Int(0);
              w.Int(-42);
              w.Int(std::numeric_limits<int64_t>::max());
              w.Int(std::numeric_limits<int64_t>::min());
              w.EndArray();
            }),
            "[0,-42,9223372036854775807,-9223372036854775808]");
  EXPECT_EQ(Write([](JsonWriter& w) {
              w.BeginArray();
              w.EpochMs(1700000005117);
              w.EpochMs(1700000005000);
              w.EpochMs(1700000005007);
              w.EpochMs(1700000005070);
              w.EpochMs(0);
              w.EpochMs(-1);
              w.EndArray();
            }),
            "[1700000005.117,1700000005,1700000005.007,1700000005.070,0,-1.999]");
}

TEST(JsonWriterTest, ObjectsFieldsAndBlobs) {
  EXPECT_EQ(Write([](JsonWriter& w) {
              w.BeginObject();
              w.Field("ShardId", "shardId-000000000001");
              w.FieldInt("FailedRecordCount", 0);
              w.FieldBool("HasMoreTags", false);
              w.Key("Data");
              w.Blob("hello");
              w.Key("Records");
              w.BeginArray();
              w.BeginObject();
              w.EndObject();
              w.BeginObject();
              w.EndObject();
              w.EndArray();
              w.EndObject();
            }),
            R"({"ShardId":"shardId-000000000001","FailedRecordCount":0,"HasMoreTags":false,"Data":"aGVsbG8=","Records":[{},{}]})");
}

}  // namespace
}  // namespace shoal::api
