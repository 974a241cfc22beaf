// KinesisService against hostile input that the HTTP-level suite (tests/api/
// test_hostile_input.py) cannot aim precisely: numbers at the edges of int64 and double,
// signed tokens with out-of-range contents (a leaked or reused key), tag maps that must be
// refused before a stream exists. Each test pins a bug found by that suite.
#include <gtest/gtest.h>
#include <simdjson.h>

#include "api/kinesis_service.h"
#include "api/tokens.h"
#include "kernel/clock.h"
#include "tests/testlib/temp_dir.h"

namespace shoal::api {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

class HostileServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.sweep_interval_ms = 0;
    o.clock = clock_;
    auto e = Engine::Open(dir_.Sub("data"), o);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(e).value();
    ServiceOptions so;
    so.token_key = kKey;
    service_ = std::make_unique<KinesisService>(*engine_, so);
  }
  HttpResponse Call(std::string_view op, std::string_view body) { return service_->Call(op, body); }

  static constexpr const char* kKey = "hostile-test-key";
  std::shared_ptr<ManualClock> clock_ = std::make_shared<ManualClock>(kNow);
  testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<KinesisService> service_;
};

// Timestamp seconds were multiplied by 1000 in int64 unchecked: 2^63-1 wrapped to a time
// in the past and got an iterator instead of the spec's "cannot be greater than" error.
TEST_F(HostileServiceTest, TimestampAtInt64EdgesDoesNotOverflow) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":1})").status, 200);
  for (const char* ts : {"9223372036854775807", "9223372036854775", "18446744073709551615", "1e400"}) {
    auto r = Call("GetShardIterator", std::string(R"({"StreamName":"s","ShardId":"0","ShardIteratorType":"AT_TIMESTAMP","Timestamp":)") + ts + "}");
    EXPECT_EQ(r.error_type, "InvalidArgumentException") << ts << " " << r.body;
    EXPECT_NE(r.body.find("cannot be greater than the currentTimestampInMillis"), std::string::npos) << r.body;
  }
  for (const char* ts : {"-9223372036854775808", "-1", "0", "-1e400"}) {
    auto r = Call("GetShardIterator", std::string(R"({"StreamName":"s","ShardId":"0","ShardIteratorType":"AT_TIMESTAMP","Timestamp":)") + ts + "}");
    EXPECT_EQ(r.status, 200) << ts << " " << r.body;
  }
  auto r = Call("ListShards", R"({"StreamName":"s","ShardFilter":{"Type":"AT_TIMESTAMP","Timestamp":9223372036854775807}})");
  EXPECT_EQ(r.status, 200) << r.body;
}

// simdjson refuses integers past 64 bits and magnitudes past a double; the body is valid
// JSON, so the member's range check must answer, with the value clamped as the Java front
// end clamps an Integer (spec §1.4).
TEST_F(HostileServiceTest, NumbersPastSixtyFourBitsAreClampedNotRefused) {
  for (const char* n : {"2147483648", "9223372036854775808", "18446744073709551616",
                        "340282366920938463463374607431768211456", "1e400"}) {
    auto r = Call("ListStreams", std::string(R"({"Limit":)") + n + "}");
    EXPECT_EQ(r.error_type, "ValidationException") << n << " " << r.body;
    EXPECT_NE(r.body.find("Value '2147483647' at 'limit' failed to satisfy constraint: Member must have value "
                          "less than or equal to 10000"),
              std::string::npos)
        << r.body;
  }
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":1})").status, 200);
  for (const char* n : {"2147483648", "9223372036854775807", "1e400"}) {
    auto r = Call("IncreaseStreamRetentionPeriod", std::string(R"({"StreamName":"s","RetentionPeriodHours":)") + n + "}");
    EXPECT_EQ(r.error_type, "InvalidArgumentException") << n << " " << r.body;
    EXPECT_NE(r.body.find("Requested retention period (2147483647 hours) is too long."), std::string::npos) << r.body;
  }
  auto r = Call("ListStreams", R"({"Limit":-340282366920938463463374607431768211456})");
  EXPECT_EQ(r.error_type, "ValidationException") << r.body;
  r = Call("ListStreams", R"({"Limit":1e-400})");
  EXPECT_EQ(r.error_type, "ValidationException") << r.body;  // 0
  r = Call("ListStreams", R"({"Limit":1e40x})");
  EXPECT_EQ(r.error_type, "SerializationException") << r.body;
}

// CreateStream added its Tags after creating the stream and without AddTagsToStream's
// checks: keys with NUL or '\\' and over-long keys were stored, and 51 tags answered
// LimitExceededException while leaving the stream created.
TEST_F(HostileServiceTest, CreateStreamTagsAreCheckedBeforeTheStreamExists) {
  auto r = Call("CreateStream", R"({"StreamName":"nul","ShardCount":1,"Tags":{"a\u0000b":"v"}})");
  EXPECT_EQ(r.error_type, "InvalidArgumentException") << r.body;
  r = Call("CreateStream", R"({"StreamName":"bs","ShardCount":1,"Tags":{"a\\b":"v"}})");
  EXPECT_EQ(r.error_type, "InvalidArgumentException") << r.body;
  r = Call("CreateStream", std::string(R"({"StreamName":"long","ShardCount":1,"Tags":{")") +
                               std::string(129, 'k') + R"(":"v"}})");
  EXPECT_EQ(r.error_type, "InvalidArgumentException") << r.body;
  std::string many = R"({"StreamName":"many","ShardCount":1,"Tags":{)";
  for (int i = 0; i < 51; ++i) many += (i ? "," : "") + std::string("\"k") + std::to_string(i) + "\":\"v\"";
  r = Call("CreateStream", many + "}}");
  EXPECT_EQ(r.error_type, "InvalidArgumentException") << r.body;
  EXPECT_NE(r.body.find("cannot have more than 50 tags"), std::string::npos) << r.body;
  for (const char* name : {"nul", "bs", "long", "many"}) {
    r = Call("DescribeStreamSummary", std::string(R"({"StreamName":")") + name + "\"}");
    EXPECT_EQ(r.error_type, "ResourceNotFoundException") << name << ": a refused CreateStream left a stream";
  }
  r = Call("CreateStream", R"({"StreamName":"ok","ShardCount":1,"Tags":{"a/b.c=d+e-f%g@h i":"x"}})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = Call("ListTagsForStream", R"({"StreamName":"ok"})");
  EXPECT_NE(r.body.find(R"({"Key":"a/b.c=d+e-f%g@h i","Value":"x"})"), std::string::npos) << r.body;
}

// A validly signed ListShards token carrying a filter number past the known filters was
// used as an index into the filter names: a wild read (ASan: global-buffer-overflow).
TEST_F(HostileServiceTest, SignedPageTokenWithUnknownFilterIsInvalid) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":3})").status, 200);
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  TokenCodec codec(kKey);
  for (uint32_t filter : {7u, 99u, 0xfffffffeu, 0xffffffffu}) {
    PageToken t;
    t.stream = "s";
    t.stream_uid = d->uid;
    t.last_index = 0;
    t.filter = filter;
    t.max_results = 1;
    t.issued_ms = kNow;
    auto r = Call("ListShards", R"({"NextToken":")" + codec.EncodePage(t) + R"("})");
    EXPECT_EQ(r.error_type, "InvalidArgumentException") << filter << " " << r.body;
  }
  // In range: served.
  PageToken t;
  t.stream = "s";
  t.stream_uid = d->uid;
  t.filter = 4;  // AT_LATEST
  t.max_results = 0xffffffffu;
  t.last_index = 0xffffffffu;
  t.issued_ms = kNow;
  auto r = Call("ListShards", R"({"NextToken":")" + codec.EncodePage(t) + R"("})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("Shards":[])"), std::string::npos) << r.body;
}

// Iterator expiry, at the edges of the service's clock.
TEST_F(HostileServiceTest, IteratorAgeEdges) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":1})").status, 200);
  auto d = engine_->DescribeStream("s");
  ASSERT_TRUE(d.ok());
  TokenCodec codec(kKey);
  auto get = [&](int64_t issued, uint32_t shard = 0, uint64_t offset = 0) {
    IteratorToken t{"s", d->uid, shard, offset, issued};
    return Call("GetRecords", R"({"ShardIterator":")" + codec.EncodeIterator(t) + R"("})");
  };
  EXPECT_EQ(get(kNow - 300000).status, 200);
  auto r = get(kNow - 300001);
  EXPECT_EQ(r.error_type, "ExpiredIteratorException") << r.body;
  EXPECT_NE(r.body.find("Iterator expired. The iterator was created at time Tue Nov 14 22:08:19 UTC 2023 while "
                        "right now it is Tue Nov 14 22:13:20 UTC 2023 which is further in the future than the "
                        "tolerated delay of 300000 milliseconds."),
            std::string::npos)
      << r.body;
  for (int64_t issued : {int64_t{0}, int64_t{-1}, INT64_MIN, kNow + 3600000, INT64_MAX}) {
    r = get(issued);
    EXPECT_EQ(r.error_type, "InvalidArgumentException") << issued << " " << r.body;
  }
  EXPECT_EQ(get(kNow, 0xffffffffu).error_type, "ResourceNotFoundException");
  r = get(kNow, 0, UINT64_MAX);
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("Records":[])"), std::string::npos) << r.body;
}

// StreamARN's pattern was checked by substring (starts "arn:aws", has ":kinesis:" and
// ":stream/"), so ARNs the model refuses (white space in the name, no 12-digit account)
// reached the lookup and answered ResourceNotFoundException instead of
// ValidationException.
TEST_F(HostileServiceTest, StreamArnFollowsTheModelPattern) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":1})").status, 200);
  auto describe = [&](std::string_view arn) {
    return Call("DescribeStreamSummary", R"({"StreamARN":")" + std::string(arn) + R"("})");
  };
  for (const char* arn : {"arn:aws:kinesis:us-east-1:000000000000:stream/a b",
                          "arn:aws:kinesis:us-east-1:000000000000:stream/a\\tb",
                          "arn:aws:kinesis:us-east-1:000000000000:stream/",
                          "arn:aws:kinesis:us-east-1:0:stream/s",
                          "arn:aws:kinesis:us-east-1:00000000000x:stream/s",
                          "arn:aws:kinesis\\n:us-east-1:000000000000:stream/s",
                          "arn:aws:kinesis:123456789012:stream/s",
                          "arn:aws:s3:us-east-1:000000000000:stream/s",
                          "arn:aw:kinesis:us-east-1:000000000000:stream/s", "/", ".."}) {
    auto r = describe(arn);
    EXPECT_EQ(r.error_type, "ValidationException") << arn << " " << r.body;
    EXPECT_NE(r.body.find("Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:"),
              std::string::npos)
        << r.body;
  }
  // Well-formed, naming streams that do not exist here (the name part is never a path).
  for (const char* arn : {"arn:aws:kinesis:us-east-1:000000000000:stream/..",
                          "arn:aws:kinesis:us-east-1:000000000000:stream/../../etc/passwd",
                          "arn:aws:kinesis:us-east-1:000000000000:stream/a\\u0000b",
                          "arn:aws-cn:kinesis:cn-north-1:123456789012:stream/s",
                          "arn:aws:kinesis:eu-west-1:000000000000:stream/s"}) {
    auto r = describe(arn);
    EXPECT_EQ(r.error_type, "ResourceNotFoundException") << arn << " " << r.body;
  }
  EXPECT_EQ(describe("arn:aws:kinesis:us-east-1:000000000000:stream/s").status, 200);
}

// The "Invalid Base64 character" reason quoted one byte of a multi-byte character, so the
// error response was not UTF-8 and clients failed to decode the error itself (Python:
// UnicodeDecodeError in json.loads) instead of raising SerializationException.
TEST_F(HostileServiceTest, Base64ErrorsQuoteWholeCharacters) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":1})").status, 200);
  // (Byte lengths that are multiples of 4, so the character check is reached.)
  for (const char* data : {R"(\u00e9AA)", R"(A\u540d)", R"(\ud83d\ude00)", R"(AAAA\ud83d\ude00)", R"(A\u2028)",
                           R"(AAAAAA\u00ff)"}) {
    auto r = Call("PutRecord", std::string(R"({"StreamName":"s","PartitionKey":"k","Data":")") + data + "\"}");
    EXPECT_EQ(r.error_type, "SerializationException") << data;
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    ASSERT_EQ(p.parse(r.body).get(doc), simdjson::SUCCESS) << "response is not valid UTF-8 JSON: " << r.body;
    std::string_view msg;
    ASSERT_EQ(doc["Message"].get(msg), simdjson::SUCCESS) << r.body;
    EXPECT_NE(msg.find("can not be converted to a Blob: Invalid Base64 character: '"), std::string_view::npos) << msg;
  }
  auto r = Call("PutRecord", R"({"StreamName":"s","PartitionKey":"k","Data":"AAAA\ud83d\ude00"})");
  EXPECT_NE(r.body.find("Invalid Base64 character: '\xF0\x9F\x98\x80'"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace shoal::api
