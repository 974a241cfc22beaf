// api/json_writer.h: the output the Kinesis responses are made of, byte for byte.
#include "api/json_writer.h"

#include <gtest/gtest.h>

#include <cstdint>
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
