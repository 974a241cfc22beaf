#include "tests/torture/kinesis_http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <simdjson.h>

#include <chrono>

#include "api/base64.h"
#include "api/json_writer.h"
#include "kernel/sequence_number.h"

namespace shoal::torture {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct KinesisHttpClient::Conn {
  asio::io_context io;
  beast::tcp_stream stream{io};
  beast::flat_buffer buffer;
};

KinesisHttpClient::KinesisHttpClient(std::string host, uint16_t port) : host_(std::move(host)), port_(port) {}
KinesisHttpClient::~KinesisHttpClient() = default;

void KinesisHttpClient::Disconnect() { conn_.reset(); }

namespace {

Code CodeForType(std::string_view type) {
  if (type == "ResourceNotFoundException") return Code::kNotFound;
  if (type == "LimitExceededException") return Code::kLimitExceeded;
  if (type == "ResourceInUseException") return Code::kInUse;
  if (type == "InvalidArgumentException") return Code::kInvalidArgument;
  return Code::kInternal;
}

}  // namespace

Result<std::string> KinesisHttpClient::Call(std::string_view operation, const std::string& body) {
  try {
    if (!conn_) {
      auto c = std::make_unique<Conn>();
      tcp::resolver resolver(c->io);
      c->stream.expires_after(std::chrono::seconds(10));
      c->stream.connect(resolver.resolve(host_, std::to_string(port_)));
      conn_ = std::move(c);
    }
    http::request<http::string_body> req{http::verb::post, "/", 11};
    req.set(http::field::host, host_);
    req.set(http::field::content_type, "application/x-amz-json-1.1");
    req.set("X-Amz-Target", "Kinesis_20131202." + std::string(operation));
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    // Generous: a durable put waits for its fdatasync on a shared 2-core machine.
    conn_->stream.expires_after(std::chrono::seconds(60));
    http::write(conn_->stream, req);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64u << 20);
    http::read(conn_->stream, conn_->buffer, parser);
    auto res = parser.release();
    if (!res.keep_alive()) conn_.reset();
    if (res.result_int() == 200) return std::move(res.body());
    std::string type;
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (!p.parse(res.body()).get(doc)) {
      std::string_view t;
      if (!doc["__type"].get(t)) type = std::string(t);
    }
    return Status(CodeForType(type), fmt::format("{} -> HTTP {} {}", operation, res.result_int(), res.body()));
  } catch (const std::exception& e) {
    conn_.reset();
    return Status(Code::kIOError, fmt::format("{}: {}", operation, e.what()));
  }
}

namespace {

Status Bad(std::string_view what) { return Status(Code::kInternal, "malformed response: " + std::string(what)); }

Result<HashKeyRange> ParseRange(simdjson::dom::element r) {
  std::string_view a, b;
  if (r["StartingHashKey"].get(a) || r["EndingHashKey"].get(b)) return Bad("HashKeyRange");
  auto s = ParseHashKey(a), e = ParseHashKey(b);
  if (!s.ok() || !e.ok()) return Bad("hash key");
  return HashKeyRange{*s, *e};
}

class HttpShardCursor final : public ShardCursor {
 public:
  HttpShardCursor(KinesisHttpClient& c, std::string iterator) : c_(c), it_(std::move(iterator)) {}

  Result<ReadPage> Next(size_t limit) override {
    if (it_.empty()) return Status(Code::kInvalidArgument, "read past the end of a closed shard");
    std::string body;
    api::JsonWriter w(&body);
    w.BeginObject();
    w.Field("ShardIterator", it_);
    w.FieldInt("Limit", static_cast<int64_t>(std::min<size_t>(limit, 10000)));
    w.EndObject();
    auto r = c_.Call("GetRecords", body);
    if (!r.ok()) return r.status();
    return ParseGetRecords(*r, &it_);
  }

 private:
  KinesisHttpClient& c_;
  std::string it_;
};

}  // namespace

Result<ReadPage> ParseGetRecords(const std::string& body, std::string* iterator) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  if (p.parse(body).get(doc)) return Bad("GetRecords JSON");
  ReadPage page;
  simdjson::dom::array recs;
  if (doc["Records"].get(recs)) return Bad("Records");
  std::string why;
  for (simdjson::dom::element rec : recs) {
    std::string_view seq, key, data;
    if (rec["SequenceNumber"].get(seq) || rec["PartitionKey"].get(key) || rec["Data"].get(data)) return Bad("record");
    ReadRecordCopy out{std::string(seq), std::string(key), {}};
    if (!api::Base64Decode(data, &out.data, &why)) return Bad("record data: " + why);
    page.records.push_back(std::move(out));
  }
  std::string_view next;
  if (doc["NextShardIterator"].get(next)) {
    page.end = true;
    iterator->clear();
  } else {
    *iterator = std::string(next);
  }
  simdjson::dom::array kids;
  if (!doc["ChildShards"].get(kids)) {
    for (simdjson::dom::element k : kids) {
      ChildShard cs;
      std::string_view id;
      if (k["ShardId"].get(id)) return Bad("ChildShards");
      cs.shard_id = std::string(id);
      simdjson::dom::array parents;
      if (k["ParentShards"].get(parents)) return Bad("ParentShards");
      for (simdjson::dom::element par : parents) {
        std::string_view ps;
        if (par.get(ps)) return Bad("ParentShards");
        cs.parents.emplace_back(ps);
      }
      auto range = ParseRange(k["HashKeyRange"].value_unsafe());
      if (!range.ok()) return range.status();
      cs.range = *range;
      page.child_shards.push_back(std::move(cs));
    }
  }
  return page;
}

Result<StreamDescription> KinesisHttpReader::Describe(std::string_view stream) {
  StreamDescription d;
  d.name = std::string(stream);
  std::string after;
  while (true) {
    std::string body;
    api::JsonWriter w(&body);
    w.BeginObject();
    w.Field("StreamName", stream);
    if (!after.empty()) w.Field("ExclusiveStartShardId", after);
    w.EndObject();
    auto r = client_.Call("DescribeStream", body);
    if (!r.ok()) return r.status();
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(*r).get(doc)) return Bad("DescribeStream JSON");
    simdjson::dom::element sd;
    if (doc["StreamDescription"].get(sd)) return Bad("StreamDescription");
    std::string_view status;
    int64_t retention;
    if (sd["StreamStatus"].get(status) || sd["RetentionPeriodHours"].get(retention)) return Bad("status");
    // Pages are separate requests, not one snapshot: a pending change (state delays) may
    // be applied between two. Only if every page said ACTIVE (nothing pending, so nothing
    // could change meanwhile but by this client) is the shard list consistent; otherwise
    // report the first other status, so callers treat the list as in flux.
    const StreamStatus page_status = status == "ACTIVE"     ? StreamStatus::kActive
                                     : status == "CREATING" ? StreamStatus::kCreating
                                     : status == "DELETING" ? StreamStatus::kDeleting
                                                            : StreamStatus::kUpdating;
    if (after.empty() || d.status == StreamStatus::kActive) d.status = page_status;
    d.retention_hours = static_cast<int>(retention);
    simdjson::dom::array shards;
    bool more = false;
    if (sd["Shards"].get(shards) || sd["HasMoreShards"].get(more)) return Bad("Shards");
    for (simdjson::dom::element s : shards) {
      ShardDescription x;
      std::string_view id, v;
      if (s["ShardId"].get(id)) return Bad("ShardId");
      x.shard_id = std::string(id);
      auto idx = ParseShardId(id);
      if (!idx.ok()) return Bad("ShardId");
      x.index = idx->value;
      if (!s["ParentShardId"].get(v)) x.parent = std::string(v);
      if (!s["AdjacentParentShardId"].get(v)) x.adjacent_parent = std::string(v);
      auto range = ParseRange(s["HashKeyRange"].value_unsafe());
      if (!range.ok()) return range.status();
      x.range = *range;
      simdjson::dom::element seq;
      if (s["SequenceNumberRange"].get(seq) || seq["StartingSequenceNumber"].get(v)) return Bad("SequenceNumberRange");
      x.starting_sequence_number = std::string(v);
      if (!seq["EndingSequenceNumber"].get(v)) x.ending_sequence_number = std::string(v);
      x.closed = x.ending_sequence_number.has_value();
      if (!x.closed) ++d.open_shard_count;
      d.shards.push_back(std::move(x));
    }
    if (!more || shards.size() == 0) return d;
    after = d.shards.back().shard_id;
  }
}

Result<std::vector<std::string>> KinesisHttpReader::ListStreams() {
  std::vector<std::string> names;
  std::string after;
  while (true) {
    std::string body;
    api::JsonWriter w(&body);
    w.BeginObject();
    if (!after.empty()) w.Field("ExclusiveStartStreamName", after);
    w.EndObject();
    auto r = client_.Call("ListStreams", body);
    if (!r.ok()) return r.status();
    simdjson::dom::parser p;
    simdjson::dom::element doc;
    if (p.parse(*r).get(doc)) return Bad("ListStreams JSON");
    simdjson::dom::array arr;
    bool more = false;
    if (doc["StreamNames"].get(arr) || doc["HasMoreStreams"].get(more)) return Bad("StreamNames");
    for (simdjson::dom::element n : arr) {
      std::string_view s;
      if (n.get(s)) return Bad("StreamNames");
      names.emplace_back(s);
    }
    if (!more || arr.size() == 0) return names;
    after = names.back();
  }
}

Result<std::unique_ptr<ShardCursor>> KinesisHttpReader::TrimHorizon(std::string_view stream,
                                                                   const ShardDescription& shard) {
  std::string body;
  api::JsonWriter w(&body);
  w.BeginObject();
  w.Field("StreamName", stream);
  w.Field("ShardId", shard.shard_id);
  w.Field("ShardIteratorType", "TRIM_HORIZON");
  w.EndObject();
  auto r = client_.Call("GetShardIterator", body);
  if (!r.ok()) return r.status();
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  std::string_view it;
  if (p.parse(*r).get(doc) || doc["ShardIterator"].get(it)) return Bad("GetShardIterator");
  return std::unique_ptr<ShardCursor>(std::make_unique<HttpShardCursor>(client_, std::string(it)));
}

Result<std::vector<PutResultEntry>> ParsePutRecords(const std::string& body) {
  simdjson::dom::parser p;
  simdjson::dom::element doc;
  simdjson::dom::array recs;
  if (p.parse(body).get(doc) || doc["Records"].get(recs)) return Bad("PutRecords JSON");
  std::vector<PutResultEntry> out;
  for (simdjson::dom::element r : recs) {
    PutResultEntry e;
    std::string_view seq, shard, code, msg;
    if (!r["SequenceNumber"].get(seq) && !r["ShardId"].get(shard)) {
      auto sp = ParseSequenceNumber(seq);
      auto idx = ParseShardId(shard);
      if (!sp.ok() || !idx.ok() || sp->shard.index.value != idx->value || sp->counter == 0) return Bad("PutRecords entry");
      e.ok = true;
      e.shard = idx->value;
      e.offset = sp->counter - 1;
    } else {
      if (r["ErrorCode"].get(code)) return Bad("PutRecords entry without SequenceNumber or ErrorCode");
      if (r["ErrorMessage"].get(msg)) msg = "";
      e.error = std::string(code) + ": " + std::string(msg);
    }
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace shoal::torture
