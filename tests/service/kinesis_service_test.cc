#include "api/kinesis_service.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include "tests/testlib/temp_dir.h"

namespace shoal::api {
namespace {

class ServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions o;
    o.sweep_interval_ms = 0;
    auto e = Engine::Open(dir_.Sub("data"), o);
    ASSERT_TRUE(e.ok()) << e.status();
    engine_ = std::move(e).value();
    ServiceOptions so;
    so.token_key = "test-key";
    service_ = std::make_unique<KinesisService>(*engine_, so);
  }
  HttpResponse Call(std::string_view op, std::string_view body) { return service_->Call(op, body); }
  std::string Field(const std::string& json, const char* key) {
    simdjson::dom::parser p;
    simdjson::dom::element e = p.parse(json);
    std::string_view v;
    if (e[key].get(v) != simdjson::SUCCESS) return "";
    return std::string(v);
  }
  testing::TempDir dir_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<KinesisService> service_;
};

TEST_F(ServiceTest, QuickStartFlow) {
  auto r = Call("CreateStream", R"({"StreamName":"KStream","ShardCount":2})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_TRUE(r.body.empty());
  r = Call("DescribeStream", R"({"StreamName":"KStream"})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"StreamStatus\":\"ACTIVE\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("170141183460469231731687303715884105727"), std::string::npos);
  r = Call("PutRecord", R"({"StreamName":"KStream","PartitionKey":"456","Data":"dGVzdA=="})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string shard = Field(r.body, "ShardId");
  r = Call("GetShardIterator", R"({"StreamName":"KStream","ShardId":")" + shard +
                                   R"(","ShardIteratorType":"TRIM_HORIZON"})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string it = Field(r.body, "ShardIterator");
  r = Call("GetRecords", R"({"ShardIterator":")" + it + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"Data\":\"dGVzdA==\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("\"PartitionKey\":\"456\""), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("NextShardIterator"), std::string::npos);
  r = Call("DeleteStream", R"({"StreamName":"KStream"})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = Call("DescribeStream", R"({"StreamName":"KStream"})");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(r.error_type, "ResourceNotFoundException");
  EXPECT_NE(r.body.find("Stream KStream under account 000000000000 not found."), std::string::npos) << r.body;
}

TEST_F(ServiceTest, PreDispatchErrors) {
  HttpRequest req;
  req.method = "GET";
  req.target = "Kinesis_20131202.ListStreams";
  req.content_type = "application/x-amz-json-1.1";
  req.body = "{}";
  EXPECT_EQ(service_->Handle(req).status, 403);
  req.method = "POST";
  req.body = "";
  EXPECT_EQ(service_->Handle(req).error_type, "SerializationException");
  req.body = "[1]";
  EXPECT_EQ(service_->Handle(req).error_type, "SerializationException");
  req.body = "{}";
  req.target = "Kinesis_20131202.Nope";
  EXPECT_EQ(service_->Handle(req).error_type, "UnknownOperationException");
  req.content_type = "text/plain";
  EXPECT_EQ(service_->Handle(req).status, 404);
  auto r = Call("CreateStream", R"({"StreamName":"","ShardCount":"x"})");
  EXPECT_EQ(r.error_type, "SerializationException");
  r = Call("CreateStream", R"({"StreamName":"","ShardCount":0})");
  EXPECT_EQ(r.error_type, "ValidationException");
  EXPECT_NE(r.body.find("3 validation errors detected"), std::string::npos) << r.body;
  r = Call("PutRecord", R"({"StreamName":"s","PartitionKey":"k","Data":"abc"})");
  EXPECT_EQ(r.error_type, "SerializationException") << r.body;
  r = Call("GetRecords", R"({"ShardIterator":"AAAA"})");
  EXPECT_EQ(r.error_type, "InvalidArgumentException") << r.body;
}

TEST_F(ServiceTest, PutRecordsPerRecordResults) {
  ASSERT_EQ(Call("CreateStream", R"({"StreamName":"s","ShardCount":3})").status, 200);
  std::string body = R"({"StreamName":"s","Records":[)";
  for (int i = 0; i < 500; ++i) {
    if (i) body += ",";
    body += R"({"PartitionKey":"k)" + std::to_string(i) + R"(","Data":"aGVsbG8="})";
  }
  body += "]}";
  auto r = Call("PutRecords", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("\"FailedRecordCount\":0"), std::string::npos);
  r = Call("ListShards", R"({"StreamName":"s","MaxResults":2})");
  ASSERT_EQ(r.status, 200) << r.body;
  std::string token = Field(r.body, "NextToken");
  ASSERT_FALSE(token.empty());
  r = Call("ListShards", R"({"NextToken":")" + token + R"("})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find("shardId-000000000002"), std::string::npos) << r.body;
}

}  // namespace
}  // namespace shoal::api
