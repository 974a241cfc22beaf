#include "bench/loadgen/kinesis_client.h"

#include <simdjson.h>

#include <charconv>
#include <chrono>
#include <thread>

#include "bench/loadgen/base64.h"

namespace shoal::loadgen {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;

struct KinesisClient::Parser {
  simdjson::dom::parser dom;
};

namespace {

std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

Status Shape(std::string_view operation, std::string_view what) {
  return Status::Make(Code::kInternal, "{} answer: {}", operation, what);
}

// Parses `body` in place: HttpConnection leaves kBodyPadding owned bytes after it.
simdjson::simdjson_result<element> ParseInPlace(simdjson::dom::parser& p, std::string_view body) {
  return p.parse(body.data(), body.size(), /*realloc_if_needed=*/false);
}

std::string_view StringOr(element e, std::string_view key, std::string_view fallback = {}) {
  std::string_view v;
  if (e[key].get_string().get(v) != simdjson::SUCCESS) return fallback;
  return v;
}

}  // namespace

void PutTally::Merge(const PutTally& o) {
  if (accepted_per_shard.size() < o.accepted_per_shard.size()) accepted_per_shard.resize(o.accepted_per_shard.size());
  for (size_t i = 0; i < o.accepted_per_shard.size(); ++i) accepted_per_shard[i] += o.accepted_per_shard[i];
  accepted += o.accepted;
  failed += o.failed;
  if (first_error.empty()) first_error = o.first_error;
}

std::optional<uint32_t> ShardIndexOf(std::string_view shard_id) {
  auto dash = shard_id.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(shard_id.data() + dash + 1, shard_id.data() + shard_id.size(), v);
  if (ec != std::errc() || p != shard_id.data() + shard_id.size()) return std::nullopt;
  return v;
}

bool SequenceLess(std::string_view a, std::string_view b) {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

KinesisClient::KinesisClient(Endpoint ep, std::unique_ptr<HttpConnection> conn)
    : ep_(std::move(ep)), conn_(std::move(conn)), parser_(std::make_unique<Parser>()) {}
KinesisClient::~KinesisClient() = default;

Result<std::unique_ptr<KinesisClient>> KinesisClient::Connect(const Endpoint& ep) {
  SHOAL_ASSIGN_OR_RETURN(std::unique_ptr<HttpConnection> conn, HttpConnection::Connect(ep));
  return std::unique_ptr<KinesisClient>(new KinesisClient(ep, std::move(conn)));
}

Status KinesisClient::Failure(std::string_view operation, const HttpReply& reply) const {
  std::string message;
  element doc;
  if (ParseInPlace(parser_->dom, reply.body).get(doc) == simdjson::SUCCESS) {
    message = std::string(StringOr(doc, "message", StringOr(doc, "Message")));
  } else {
    message = std::string(reply.body.substr(0, 200));
  }
  const Code code = reply.status == 400 && reply.error_type == "ProvisionedThroughputExceededException"
                        ? Code::kThrottled
                        : Code::kIOError;
  return Status::Make(code, "{}: HTTP {} {}: {}", operation, reply.status, reply.error_type, message);
}

Result<std::string_view> KinesisClient::Call(std::string_view operation, std::string_view json_body) {
  scratch_ = BuildRequest(ep_, operation, json_body);
  HttpReply reply;
  SHOAL_RETURN_IF_ERROR(conn_->RoundTrip(scratch_, &reply));
  if (reply.status != 200) return Failure(operation, reply);
  return reply.body;
}

Status KinesisClient::CreateStream(const std::string& stream, int shards) {
  return Call("CreateStream", fmt::format("{{\"StreamName\":{},\"ShardCount\":{}}}", Quote(stream), shards)).status();
}

Status KinesisClient::DeleteStream(const std::string& stream) {
  return Call("DeleteStream", fmt::format("{{\"StreamName\":{},\"EnforceConsumerDeletion\":true}}", Quote(stream)))
      .status();
}

Status KinesisClient::WaitActive(const std::string& stream, double timeout_s) {
  const auto t0 = std::chrono::steady_clock::now();
  for (;;) {
    SHOAL_ASSIGN_OR_RETURN(std::string_view body,
                           Call("DescribeStreamSummary", fmt::format("{{\"StreamName\":{}}}", Quote(stream))));
    element doc;
    if (ParseInPlace(parser_->dom, body).get(doc) != simdjson::SUCCESS) return Shape("DescribeStreamSummary", "not JSON");
    std::string_view status;
    if (doc["StreamDescriptionSummary"]["StreamStatus"].get_string().get(status) != simdjson::SUCCESS)
      return Shape("DescribeStreamSummary", "no StreamDescriptionSummary.StreamStatus");
    if (status == "ACTIVE") return Status::Ok();
    if (std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() > timeout_s)
      return Status::Make(Code::kIOError, "stream {} still {} after {} s", stream, status, timeout_s);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

Result<std::vector<std::string>> KinesisClient::ListShardIds(const std::string& stream) {
  std::vector<std::string> ids;
  std::string next;
  do {
    std::string req = next.empty() ? fmt::format("{{\"StreamName\":{}}}", Quote(stream))
                                   : fmt::format("{{\"NextToken\":{}}}", Quote(next));
    SHOAL_ASSIGN_OR_RETURN(std::string_view body, Call("ListShards", req));
    element doc;
    array shards;
    if (ParseInPlace(parser_->dom, body).get(doc) != simdjson::SUCCESS || doc["Shards"].get_array().get(shards))
      return Shape("ListShards", "no Shards array");
    for (element s : shards) ids.emplace_back(StringOr(s, "ShardId"));
    next = std::string(StringOr(doc, "NextToken"));
  } while (!next.empty());
  return ids;
}

Result<std::string> KinesisClient::TrimHorizonIterator(const std::string& stream, const std::string& shard_id) {
  SHOAL_ASSIGN_OR_RETURN(std::string_view body,
                         Call("GetShardIterator",
                              fmt::format("{{\"StreamName\":{},\"ShardId\":{},\"ShardIteratorType\":\"TRIM_HORIZON\"}}",
                                          Quote(stream), Quote(shard_id))));
  element doc;
  std::string_view it;
  if (ParseInPlace(parser_->dom, body).get(doc) != simdjson::SUCCESS || doc["ShardIterator"].get_string().get(it))
    return Shape("GetShardIterator", "no ShardIterator");
  return std::string(it);
}

Status KinesisClient::PutRecords(std::string_view request, PutTally* tally, uint64_t* response_bytes) {
  HttpReply reply;
  SHOAL_RETURN_IF_ERROR(conn_->RoundTrip(request, &reply));
  *response_bytes = reply.wire_bytes;
  if (reply.status != 200) return Failure("PutRecords", reply);
  element doc;
  array records;
  int64_t failed_count = 0;
  if (ParseInPlace(parser_->dom, reply.body).get(doc) != simdjson::SUCCESS || doc["Records"].get_array().get(records) ||
      doc["FailedRecordCount"].get_int64().get(failed_count))
    return Shape("PutRecords", "no Records array or FailedRecordCount");
  int64_t failed_seen = 0;
  for (element r : records) {
    std::string_view shard = StringOr(r, "ShardId");
    if (shard.empty()) {
      ++failed_seen;
      if (tally->first_error.empty())
        tally->first_error = fmt::format("{}: {}", StringOr(r, "ErrorCode", "?"), StringOr(r, "ErrorMessage"));
      continue;
    }
    auto idx = ShardIndexOf(shard);
    if (!idx || StringOr(r, "SequenceNumber").empty()) return Shape("PutRecords", "a record without a ShardId/SequenceNumber");
    if (tally->accepted_per_shard.size() <= *idx) tally->accepted_per_shard.resize(*idx + 1);
    ++tally->accepted_per_shard[*idx];
    ++tally->accepted;
  }
  if (failed_seen != failed_count)
    return Shape("PutRecords", fmt::format("FailedRecordCount {} but {} records failed", failed_count, failed_seen));
  tally->failed += static_cast<uint64_t>(failed_seen);
  return Status::Ok();
}

Status KinesisClient::PutRecord(std::string_view request, uint64_t* response_bytes) {
  HttpReply reply;
  SHOAL_RETURN_IF_ERROR(conn_->RoundTrip(request, &reply));
  *response_bytes = reply.wire_bytes;
  if (reply.status != 200) return Failure("PutRecord", reply);
  element doc;
  if (ParseInPlace(parser_->dom, reply.body).get(doc) != simdjson::SUCCESS || StringOr(doc, "ShardId").empty() ||
      StringOr(doc, "SequenceNumber").empty())
    return Shape("PutRecord", "no ShardId/SequenceNumber");
  return Status::Ok();
}

Result<GetRecordsPage> KinesisClient::GetRecords(std::string_view iterator, int limit, const RecordCheck& check,
                                                 std::string* last_sequence, uint64_t* response_bytes) {
  scratch_ = BuildRequest(ep_, "GetRecords", fmt::format("{{\"ShardIterator\":{},\"Limit\":{}}}", Quote(iterator), limit));
  HttpReply reply;
  SHOAL_RETURN_IF_ERROR(conn_->RoundTrip(scratch_, &reply));
  *response_bytes = reply.wire_bytes;
  if (reply.status != 200) return Failure("GetRecords", reply);
  element doc;
  array records;
  GetRecordsPage page;
  if (ParseInPlace(parser_->dom, reply.body).get(doc) != simdjson::SUCCESS || doc["Records"].get_array().get(records) ||
      doc["MillisBehindLatest"].get_int64().get(page.millis_behind))
    return Shape("GetRecords", "no Records array or MillisBehindLatest");
  for (element r : records) {
    std::string_view data, seq;
    if (r["Data"].get_string().get(data) || r["SequenceNumber"].get_string().get(seq) ||
        StringOr(r, "PartitionKey").empty())
      return Shape("GetRecords", "a record without Data, SequenceNumber or PartitionKey");
    if (!last_sequence->empty() && !SequenceLess(*last_sequence, seq))
      return Shape("GetRecords", fmt::format("sequence number {} after {}: not increasing", seq, *last_sequence));
    last_sequence->assign(seq);
    size_t pad = data.size() >= 2 ? (data[data.size() - 1] == '=') + (data[data.size() - 2] == '=') : 0;
    const size_t bytes = data.size() / 4 * 3 - pad;
    if (data.size() % 4 != 0 || (check.record_bytes != 0 && bytes != check.record_bytes))
      return Shape("GetRecords", fmt::format("Data of {} base64 characters, expected {} bytes", data.size(),
                                             check.record_bytes));
    if (check.check_data) {
      if (!DecodeBase64(data, &scratch_)) return Shape("GetRecords", "Data is not valid base64");
      if (!check.check_data(scratch_))
        return Shape("GetRecords", fmt::format("record {} holds data that was never put", seq));
    }
    ++page.records;
    page.data_bytes += bytes;
  }
  page.next_iterator = std::string(StringOr(doc, "NextShardIterator"));
  return page;
}

}  // namespace shoal::loadgen
