#include "api/kinesis_service.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <mutex>
#include <random>

#include "api/json_numbers.h"
#include "api/json_writer.h"
#include "api/schema.h"
#include "api/tokens.h"
#include "kernel/stream_name.h"

namespace shoal::api {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

static_assert(kRequestBodyPadding >= simdjson::SIMDJSON_PADDING);

constexpr std::string_view kJson = "application/x-amz-json-1.1";
constexpr std::string_view kTargetPrefix = "Kinesis_20131202.";

// --- schemas (botocore service-2.json constraints) ---------------------------------------
constexpr Field kStreamName{.name = "StreamName", .min_len = 1, .max_len = 128, .pattern = Pat::kName};
constexpr Field kStreamNameReq{.name = "StreamName", .required = true, .min_len = 1, .max_len = 128, .pattern = Pat::kName};
constexpr Field kStreamArn{.name = "StreamARN", .min_len = 1, .max_len = 2048, .pattern = Pat::kStreamArn};
constexpr Field kStreamId{.name = "StreamId"};
constexpr const char* kModes[] = {"PROVISIONED", "ON_DEMAND"};
constexpr Field kModeMembers[] = {{.name = "StreamMode", .required = true, .enums = kModes}};
constexpr const char* kIterTypes[] = {"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"};
constexpr const char* kScaling[] = {"UNIFORM_SCALING"};
constexpr const char* kFilterTypes[] = {"AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST", "AT_TIMESTAMP", "FROM_TIMESTAMP"};
constexpr Field kFilterMembers[] = {
    {.name = "Type", .required = true, .enums = kFilterTypes},
    {.name = "ShardId", .min_len = 1, .max_len = 128, .pattern = Pat::kName},
    {.name = "Timestamp", .type = Ty::kTimestamp}};
constexpr Field kTagKeyElem[] = {{.name = "", .min_len = 1, .max_len = 128}};
constexpr Field kPutEntry[] = {
    {.name = "Data", .type = Ty::kBlob, .required = true, .min_len = 0, .max_len = 10485760},
    {.name = "ExplicitHashKey", .pattern = Pat::kHashKey},
    {.name = "PartitionKey", .required = true, .min_len = 1, .max_len = 256}};

constexpr Field kCreateStream[] = {
    kStreamNameReq,
    {.name = "ShardCount", .type = Ty::kInteger, .min_val = 1, .max_val = 100000},
    {.name = "StreamModeDetails", .type = Ty::kStruct, .members = kModeMembers},
    {.name = "Tags", .type = Ty::kMap, .min_len = 0, .max_len = 200},
    {.name = "MaxRecordSizeInKiB", .type = Ty::kInteger, .min_val = 1024, .max_val = 10240},
    {.name = "WarmThroughputMiBps", .type = Ty::kInteger, .min_val = 0}};
constexpr Field kDeleteStream[] = {kStreamName, kStreamArn, kStreamId,
                                   {.name = "EnforceConsumerDeletion", .type = Ty::kBoolean}};
constexpr Field kDescribeStream[] = {
    kStreamName, kStreamArn, kStreamId,
    {.name = "Limit", .type = Ty::kInteger, .min_val = 1, .max_val = 10000},
    {.name = "ExclusiveStartShardId", .min_len = 1, .max_len = 128, .pattern = Pat::kName}};
constexpr Field kStreamOnly[] = {kStreamName, kStreamArn, kStreamId};
constexpr Field kListStreams[] = {
    {.name = "Limit", .type = Ty::kInteger, .min_val = 1, .max_val = 10000},
    {.name = "ExclusiveStartStreamName", .min_len = 1, .max_len = 128, .pattern = Pat::kName},
    {.name = "NextToken", .min_len = 1, .max_len = 1048576}};
constexpr Field kListShards[] = {
    kStreamName, kStreamArn, kStreamId,
    {.name = "NextToken", .min_len = 1, .max_len = 1048576},
    {.name = "ExclusiveStartShardId", .min_len = 1, .max_len = 128, .pattern = Pat::kName},
    {.name = "MaxResults", .type = Ty::kInteger, .min_val = 1, .max_val = 10000},
    {.name = "StreamCreationTimestamp", .type = Ty::kTimestamp},
    {.name = "ShardFilter", .type = Ty::kStruct, .members = kFilterMembers}};
constexpr Field kPutRecord[] = {
    kStreamName, kStreamArn, kStreamId,
    {.name = "Data", .type = Ty::kBlob, .required = true, .min_len = 0, .max_len = 10485760},
    {.name = "PartitionKey", .required = true, .min_len = 1, .max_len = 256},
    {.name = "ExplicitHashKey", .pattern = Pat::kHashKey},
    {.name = "SequenceNumberForOrdering", .pattern = Pat::kSequenceNumber}};
constexpr Field kPutRecords[] = {
    kStreamName, kStreamArn, kStreamId,
    {.name = "Records", .type = Ty::kList, .required = true, .min_len = 1, .max_len = 500,
     .members = kPutEntry, .element = Ty::kStruct}};
constexpr Field kGetShardIterator[] = {
    kStreamName, kStreamArn, kStreamId,
    {.name = "ShardId", .required = true, .min_len = 1, .max_len = 128, .pattern = Pat::kName},
    {.name = "ShardIteratorType", .required = true, .enums = kIterTypes},
    {.name = "StartingSequenceNumber", .pattern = Pat::kSequenceNumber},
    {.name = "Timestamp", .type = Ty::kTimestamp}};
constexpr Field kGetRecords[] = {
    {.name = "ShardIterator", .required = true, .min_len = 1, .max_len = 512},
    {.name = "Limit", .type = Ty::kInteger, .min_val = 1, .max_val = 10000},
    kStreamArn};
constexpr Field kSplitShard[] = {
    kStreamName, kStreamArn, kStreamId,
    {.name = "ShardToSplit", .required = true, .min_len = 1, .max_len = 128, .pattern = Pat::kName},
    {.name = "NewStartingHashKey", .required = true, .pattern = Pat::kHashKey}};
constexpr Field kMergeShards[] = {
    kStreamName, kStreamArn, kStreamId,
    {.name = "ShardToMerge", .required = true, .min_len = 1, .max_len = 128, .pattern = Pat::kName},
    {.name = "AdjacentShardToMerge", .required = true, .min_len = 1, .max_len = 128, .pattern = Pat::kName}};
constexpr Field kUpdateShardCount[] = {
    kStreamName, kStreamArn, kStreamId,
    {.name = "TargetShardCount", .type = Ty::kInteger, .required = true, .min_val = 1, .max_val = 2147483647},
    {.name = "ScalingType", .required = true, .enums = kScaling}};
constexpr Field kRetention[] = {
    kStreamName, kStreamArn, kStreamId,
    {.name = "RetentionPeriodHours", .type = Ty::kInteger, .required = true}};
constexpr Field kDescribeLimits[] = {{.name = "__unused"}};
constexpr Field kAddTags[] = {kStreamName, kStreamArn, kStreamId,
                              {.name = "Tags", .type = Ty::kMap, .required = true, .min_len = 1, .max_len = 200}};
constexpr Field kRemoveTags[] = {kStreamName, kStreamArn, kStreamId,
                                 {.name = "TagKeys", .type = Ty::kList, .required = true, .min_len = 1,
                                  .max_len = 50, .members = kTagKeyElem, .element = Ty::kString}};
constexpr Field kListTags[] = {kStreamName, kStreamArn, kStreamId,
                               {.name = "ExclusiveStartTagKey", .min_len = 1, .max_len = 128},
                               {.name = "Limit", .type = Ty::kInteger, .min_val = 1, .max_val = 50}};

// --- errors --------------------------------------------------------------------------------
struct ApiError {
  std::string type;
  std::string message;
  int status = 400;
};

ApiError FromStatus(const Status& st, std::string_view account) {
  std::string msg = st.message();
  // The engine names streams ("Stream x", "in stream x"); the wire text adds the account.
  for (std::string_view word : {"in stream ", "Stream ", "stream "}) {
    size_t p = msg.find(word);
    if (p == std::string::npos) continue;
    size_t end = msg.find_first_of(" .,", p + word.size());
    if (end == std::string::npos) end = msg.size();
    // Keep dots that are part of the name: find the name's end by the pattern's alphabet.
    end = p + word.size();
    while (end < msg.size() && (std::isalnum(static_cast<unsigned char>(msg[end])) || msg[end] == '_' ||
                                msg[end] == '-' || (msg[end] == '.' && end + 1 < msg.size() && msg[end + 1] != ' ')))
      ++end;
    msg.insert(end, fmt::format(" under account {}", account));
    break;
  }
  switch (st.code()) {
    case Code::kNotFound: return {"ResourceNotFoundException", msg};
    case Code::kInUse: return {"ResourceInUseException", msg};
    case Code::kInvalidArgument:
      if (msg.find("ON_DEMAND mode") != std::string::npos) return {"ValidationException", msg};
      return {"InvalidArgumentException", msg};
    case Code::kLimitExceeded: return {"LimitExceededException", msg};
    case Code::kThrottled: return {"ProvisionedThroughputExceededException", msg};
    default: return {"InternalFailure", "Internal Service Failure: " + st.ToString(), 500};
  }
}

std::string RequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  return fmt::format("{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}", a >> 32, (a >> 16) & 0xffff, a & 0xfff,
                     (b >> 48 & 0x3fff) | 0x8000, b & 0xffffffffffff);
}

std::string IdTwo() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::string raw(72, '\0');
  for (size_t i = 0; i < raw.size(); i += 8) {
    uint64_t v = rng();
    std::memcpy(raw.data() + i, &v, 8);
  }
  std::string out;
  Base64Encode(raw, &out);
  return out;
}

// --- reading validated members ------------------------------------------------------------
std::optional<std::string_view> Str(object o, const char* k) {
  element e;
  if (o[k].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  return e.get_string().value_unsafe();
}
// Every integer member of the operations served here is a model Integer: floored and
// clamped as the validation pass reads it (spec §1.4), so a message quoting the value
// (RetentionPeriodHours) quotes what was checked.
std::optional<int64_t> Int(object o, const char* k) {
  element e;
  if (o[k].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  double d;
  switch (e.type()) {
    case element_type::INT64: d = static_cast<double>(e.get_int64().value_unsafe()); break;
    case element_type::UINT64: d = static_cast<double>(e.get_uint64().value_unsafe()); break;
    default: d = e.get_double().value_unsafe();
  }
  d = std::floor(d);
  d = std::clamp(d, -2147483647.0, 2147483647.0);
  return static_cast<int64_t>(d);
}
std::optional<int64_t> TimestampMs(object o, const char* k) {
  element e;
  if (o[k].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  // Clamped to what milliseconds in an int64 can hold: a client may send any JSON number
  // (the Java front end reads them as big decimals), and seconds * 1000 must not overflow.
  constexpr int64_t kMaxSeconds = 9'200'000'000'000'000;
  double d;
  switch (e.type()) {
    case element_type::INT64: return std::clamp(e.get_int64().value_unsafe(), -kMaxSeconds, kMaxSeconds) * 1000;
    case element_type::UINT64: d = static_cast<double>(e.get_uint64().value_unsafe()); break;
    default: d = e.get_double().value_unsafe();
  }
  return static_cast<int64_t>(std::llround(std::clamp(d, -9.2e15, 9.2e15) * 1000.0));
}
std::optional<bool> Bool(object o, const char* k) {
  element e;
  if (o[k].get(e) != simdjson::SUCCESS || e.is_null()) return std::nullopt;
  return e.get_bool().value_unsafe();
}

}  // namespace

struct KinesisService::Impl {
  Impl(Engine& e, const ServiceOptions& o) : engine(e), opts(o), tokens(o.token_key) {}
  Engine& engine;
  const ServiceOptions& opts;
  TokenCodec tokens;

  // Parsers (and validation scratch) are reused across requests: a parser keeps its
  // buffers, so a steady stream of requests allocates nothing for parsing.
  //
  // But a parser's buffers are sized for the largest document it parsed, at about 14
  // bytes per document byte (structural indexes, tape, string buffer), and the pool
  // outlives the requests: unbudgeted, 16 concurrent 14 MiB bodies of small tokens kept
  // 2.4 GB resident for the life of the process. So the pool keeps scratches only while
  // the document bytes they are sized for total at most kPoolBudgetBytes (about 220 MB
  // resident at worst); a scratch grown past that by a big request is freed on release,
  // and the next big request allocates its own.
  static constexpr size_t kPoolBudgetBytes = 16 << 20;
  static constexpr size_t kPoolMaxScratches = 64;
  struct Scratch {
    simdjson::dom::parser parser;
    ValidationResult validation;
    size_t Footprint() const { return parser.capacity() + validation.arena.capacity(); }
  };
  std::mutex pool_mu;
  std::vector<std::unique_ptr<Scratch>> pool;
  size_t pooled_bytes = 0;  // sum of Footprint() over `pool`
  std::unique_ptr<Scratch> Acquire() {
    std::lock_guard lk(pool_mu);
    if (pool.empty()) return std::make_unique<Scratch>();
    auto s = std::move(pool.back());
    pool.pop_back();
    pooled_bytes -= s->Footprint();
    return s;
  }
  void Release(std::unique_ptr<Scratch> s) {
    const size_t footprint = s->Footprint();
    std::lock_guard lk(pool_mu);
    if (pool.size() < kPoolMaxScratches && pooled_bytes + footprint <= kPoolBudgetBytes) {
      pooled_bytes += footprint;
      pool.push_back(std::move(s));
    }
  }

  std::string Arn(std::string_view name) const {
    return fmt::format("arn:aws:kinesis:{}:{}:stream/{}", opts.region, opts.account_id, name);
  }

  // Resolves StreamName / StreamARN (spec §1.10).
  Result<std::string> StreamOf(object o) const {
    auto name = Str(o, "StreamName");
    auto arn = Str(o, "StreamARN");
    if (arn) {
      std::string prefix = fmt::format("arn:aws:kinesis:{}:{}:stream/", opts.region, opts.account_id);
      if (arn->substr(0, prefix.size()) != prefix)
        return Status::Make(Code::kNotFound, "Stream {} not found.", *arn);
      std::string from_arn(arn->substr(prefix.size()));
      if (name && *name != from_arn)
        return Status(Code::kInvalidArgument, "StreamARN and StreamName name different streams.");
      return from_arn;
    }
    if (!name) return Status(Code::kInvalidArgument, "Either StreamName or StreamARN must be provided.");
    return std::string(*name);
  }

  ApiError Err(const Status& st) const { return FromStatus(st, opts.account_id); }

  // Each handler writes its JSON body to `out` (empty for operations without output).
  using Handler = std::optional<ApiError> (Impl::*)(object, const ValidationResult&, std::string*);
  struct Op {
    std::string_view name;
    std::span<const Field> schema;
    Handler handler;
  };

  std::optional<ApiError> CreateStream(object o, const ValidationResult&, std::string*) {
    auto name = *Str(o, "StreamName");
    auto count = Int(o, "ShardCount");
    CapacityMode mode = CapacityMode::kProvisioned;
    bool mode_given = false;
    element md;
    if (o["StreamModeDetails"].get(md) == simdjson::SUCCESS && !md.is_null()) {
      mode_given = true;
      if (*Str(md.get_object().value_unsafe(), "StreamMode") == "ON_DEMAND") mode = CapacityMode::kOnDemand;
    }
    if (mode == CapacityMode::kOnDemand && count)
      return ApiError{"InvalidArgumentException", "ShardCount is not expected when StreamMode=ON_DEMAND"};
    if (!count) {
      if (mode_given && mode == CapacityMode::kProvisioned)
        return ApiError{"InvalidArgumentException", "ShardCount is required for PROVISIONED streams"};
      mode = CapacityMode::kOnDemand;
      count = 4;
    }
    // Tags are checked as AddTagsToStream checks them, and before the stream exists: a
    // refused tag must not leave a stream behind that the caller was told failed.
    std::map<std::string, std::string> t;
    element tags;
    if (o["Tags"].get(tags) == simdjson::SUCCESS && !tags.is_null()) {
      if (auto e = CheckTags(tags.get_object().value_unsafe(), name, &t)) return e;
    }
    Status st = engine.CreateStream(name, *count, mode);
    if (!st.ok()) return Err(st);
    if (!t.empty()) {
      Status ts = engine.AddTags(name, t);
      if (!ts.ok() && ts.code() != Code::kInUse) return Err(ts);
    }
    return std::nullopt;
  }

  std::optional<ApiError> DeleteStream(object o, const ValidationResult&, std::string*) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    Status st = engine.DeleteStream(*name, Bool(o, "EnforceConsumerDeletion").value_or(false));
    if (!st.ok()) return Err(st);
    return std::nullopt;
  }

  void WriteShard(JsonWriter& w, const ShardDescription& s) const {
    w.BeginObject();
    w.Field("ShardId", s.shard_id);
    if (s.parent) w.Field("ParentShardId", *s.parent);
    if (s.adjacent_parent) w.Field("AdjacentParentShardId", *s.adjacent_parent);
    w.Key("HashKeyRange");
    w.BeginObject();
    w.Field("StartingHashKey", FormatHashKey(s.range.start));
    w.Field("EndingHashKey", FormatHashKey(s.range.end));
    w.EndObject();
    w.Key("SequenceNumberRange");
    w.BeginObject();
    w.Field("StartingSequenceNumber", s.starting_sequence_number);
    if (s.ending_sequence_number) w.Field("EndingSequenceNumber", *s.ending_sequence_number);
    w.EndObject();
    w.EndObject();
  }

  void WriteCommonDescription(JsonWriter& w, const StreamDescription& d) const {
    w.Field("StreamName", d.name);
    w.Field("StreamARN", Arn(d.name));
    w.Field("StreamStatus", StreamStatusName(d.status));
    w.Key("StreamModeDetails");
    w.BeginObject();
    w.Field("StreamMode", CapacityModeName(d.mode));
    w.EndObject();
    w.FieldInt("RetentionPeriodHours", d.retention_hours);
    w.Key("StreamCreationTimestamp");
    w.EpochMs(d.created_ms / 1000 * 1000);
    w.Key("EnhancedMonitoring");
    w.BeginArray();
    w.BeginObject();
    w.Key("ShardLevelMetrics");
    w.BeginArray();
    w.EndArray();
    w.EndObject();
    w.EndArray();
    w.Field("EncryptionType", "NONE");
  }

  std::optional<ApiError> DescribeStream(object o, const ValidationResult&, std::string* out) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    auto d = engine.DescribeStream(*name);
    if (!d.ok()) return Err(d.status());
    int64_t limit = std::min<int64_t>(Int(o, "Limit").value_or(100), 100);
    uint32_t after = 0;
    bool has_after = false;
    if (auto ex = Str(o, "ExclusiveStartShardId")) {
      auto idx = ParseShardId(*ex);
      if (idx.ok()) {
        after = idx->value;
        has_after = true;
      }
    }
    JsonWriter w(out);
    w.BeginObject();
    w.Key("StreamDescription");
    w.BeginObject();
    WriteCommonDescription(w, *d);
    w.Key("Shards");
    w.BeginArray();
    int64_t n = 0;
    bool more = false;
    for (const ShardDescription& s : d->shards) {
      if (has_after && s.index <= after) continue;
      if (n == limit) {
        more = true;
        break;
      }
      WriteShard(w, s);
      ++n;
    }
    w.EndArray();
    w.FieldBool("HasMoreShards", more);
    w.EndObject();
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> DescribeStreamSummary(object o, const ValidationResult&, std::string* out) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    auto d = engine.DescribeStream(*name);
    if (!d.ok()) return Err(d.status());
    JsonWriter w(out);
    w.BeginObject();
    w.Key("StreamDescriptionSummary");
    w.BeginObject();
    WriteCommonDescription(w, *d);
    w.FieldInt("OpenShardCount", d->status == StreamStatus::kCreating ? 0 : static_cast<int64_t>(d->open_shard_count));
    w.FieldInt("ConsumerCount", 0);
    w.EndObject();
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> ListStreams(object o, const ValidationResult&, std::string* out) {
    int64_t limit = std::min<int64_t>(Int(o, "Limit").value_or(100), 100);
    std::string start;
    auto token = Str(o, "NextToken");
    auto exclusive = Str(o, "ExclusiveStartStreamName");
    if (token && exclusive)
      return ApiError{"InvalidArgumentException", "NextToken and ExclusiveStartStreamName cannot be provided together."};
    if (token) {
      auto t = tokens.DecodePage(*token);
      if (!t || t->filter != 0xffffffffu)
        return ApiError{"InvalidArgumentException", "The provided NextToken is invalid."};
      if (engine.clock().NowMs() - t->issued_ms > 300000)
        return ApiError{"ExpiredNextTokenException", "The timestamp of the next token has expired."};
      start = t->stream;
    } else if (exclusive) {
      start = std::string(*exclusive);
    }
    StreamSummaryList list = engine.ListStreams(static_cast<size_t>(limit), start);
    JsonWriter w(out);
    w.BeginObject();
    w.Key("StreamNames");
    w.BeginArray();
    for (const std::string& n : list.names) w.String(n);
    w.EndArray();
    w.FieldBool("HasMoreStreams", list.has_more);
    if (list.has_more && !list.names.empty()) {
      PageToken t;
      t.stream = list.names.back();
      t.filter = 0xffffffffu;
      t.issued_ms = engine.clock().NowMs();
      w.Field("NextToken", tokens.EncodePage(t));
    }
    w.Key("StreamSummaries");
    w.BeginArray();
    for (const std::string& n : list.names) {
      auto d = engine.DescribeStream(n);
      if (!d.ok()) continue;
      w.BeginObject();
      w.Field("StreamName", n);
      w.Field("StreamARN", Arn(n));
      w.Field("StreamStatus", StreamStatusName(d->status));
      w.Key("StreamModeDetails");
      w.BeginObject();
      w.Field("StreamMode", CapacityModeName(d->mode));
      w.EndObject();
      w.Key("StreamCreationTimestamp");
      w.EpochMs(d->created_ms / 1000 * 1000);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> ListShards(object o, const ValidationResult&, std::string* out) {
    auto token = Str(o, "NextToken");
    const bool named = Str(o, "StreamName") || Str(o, "StreamARN");
    if (!token && !named) return ApiError{"InvalidArgumentException", "Either NextToken or StreamName should be provided."};
    if (token && named) return ApiError{"InvalidArgumentException", "NextToken and StreamName cannot be provided together."};
    if (token && Str(o, "ExclusiveStartShardId"))
      return ApiError{"InvalidArgumentException", "NextToken and ExclusiveStartShardId cannot be provided together."};
    std::string name;
    uint32_t after = 0;
    bool has_after = false;
    uint32_t filter = 0;
    int64_t filter_ms = 0;
    int64_t max = std::min<int64_t>(Int(o, "MaxResults").value_or(1000), 1000);
    const int64_t now = engine.clock().NowMs();
    if (token) {
      auto t = tokens.DecodePage(*token);
      // The filter indexes kFilterTypes below: checked even though the token is signed, so
      // that a leaked key (or a token from a build with more filters) is not a wild read.
      if (!t || t->filter > std::size(kFilterTypes))
        return ApiError{"InvalidArgumentException", "The provided NextToken is invalid."};
      if (now - t->issued_ms > 300000)
        return ApiError{"ExpiredNextTokenException", "The timestamp of the next token has expired."};
      name = t->stream;
      after = t->last_index;
      has_after = true;
      filter = t->filter;
      filter_ms = t->filter_ms;
      if (!Int(o, "MaxResults") && t->max_results) max = t->max_results;
    } else {
      auto n = StreamOf(o);
      if (!n.ok()) return Err(n.status());
      name = *n;
      if (auto ex = Str(o, "ExclusiveStartShardId")) {
        auto idx = ParseShardId(*ex);
        if (idx.ok()) {
          after = idx->value;
          has_after = true;
        }
      }
      element f;
      if (o["ShardFilter"].get(f) == simdjson::SUCCESS && !f.is_null()) {
        object fo = f.get_object().value_unsafe();
        std::string_view type = *Str(fo, "Type");
        for (uint32_t i = 0; i < std::size(kFilterTypes); ++i)
          if (type == kFilterTypes[i]) filter = i + 1;
        auto sid = Str(fo, "ShardId");
        auto ts = TimestampMs(fo, "Timestamp");
        if (type == "AFTER_SHARD_ID") {
          if (!sid) return ApiError{"InvalidArgumentException", "ShardId must be provided for ShardFilter type AFTER_SHARD_ID."};
          auto idx = ParseShardId(*sid);
          if (idx.ok()) {
            after = idx->value;
            has_after = true;
          }
        }
        if ((type == "AT_TIMESTAMP" || type == "FROM_TIMESTAMP") && !ts)
          return ApiError{"InvalidArgumentException", fmt::format("Timestamp must be provided for ShardFilter type {}.", type)};
        filter_ms = ts.value_or(0);
      }
    }
    auto d = engine.DescribeStream(name);
    if (!d.ok()) return Err(d.status());
    if (d->status == StreamStatus::kCreating)
      return Err(Status::Make(Code::kInUse, "Stream {} not ACTIVE, instead in state CREATING", name));
    const int64_t horizon = now - int64_t{d->retention_hours} * 3600 * 1000;
    auto keep = [&](const ShardDescription& s) {
      const std::string_view type = filter ? kFilterTypes[filter - 1] : "FROM_TRIM_HORIZON";
      if (type == "AT_LATEST") return !s.closed;
      if (type == "AT_TRIM_HORIZON") return s.created_ms <= std::max(horizon, d->created_ms) && (!s.closed || s.closed_ms >= horizon);
      if (type == "AT_TIMESTAMP") return s.created_ms <= filter_ms && (!s.closed || s.closed_ms >= filter_ms);
      if (type == "FROM_TIMESTAMP") return !s.closed || s.closed_ms >= std::max(filter_ms, horizon);
      return true;
    };
    JsonWriter w(out);
    w.BeginObject();
    w.Key("Shards");
    w.BeginArray();
    int64_t n = 0;
    uint32_t last = 0;
    bool more = false;
    for (const ShardDescription& s : d->shards) {
      if (has_after && s.index <= after) continue;
      if (!keep(s)) continue;
      if (n == max) {
        more = true;
        break;
      }
      WriteShard(w, s);
      last = s.index;
      ++n;
    }
    w.EndArray();
    if (more) {
      PageToken t;
      t.stream = name;
      t.stream_uid = d->uid;
      t.last_index = last;
      t.filter = filter;
      t.filter_ms = filter_ms;
      t.max_results = static_cast<uint32_t>(max);
      t.issued_ms = now;
      w.Field("NextToken", tokens.EncodePage(t));
    }
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> CheckHashKey(std::optional<std::string_view> ehk, std::optional<HashKey>* out) const {
    if (!ehk) return std::nullopt;
    auto k = ParseHashKey(*ehk);
    if (!k.ok())
      return ApiError{"InvalidArgumentException",
                      fmt::format("Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. "
                                  "Specified value was {}", *ehk)};
    *out = *k;
    return std::nullopt;
  }

  std::optional<ApiError> PutRecord(object o, const ValidationResult& v, std::string* out) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    PutInput in;
    in.partition_key = *Str(o, "PartitionKey");
    in.data = v.Blob(0);
    if (auto e = CheckHashKey(Str(o, "ExplicitHashKey"), &in.explicit_hash_key)) return e;
    if (auto ord = Str(o, "SequenceNumberForOrdering")) {
      auto p = ParseSequenceNumber(*ord);
      if (!p.ok() || p->arrival_s * 1000 > engine.clock().NowMs() + 5000)
        return ApiError{"InvalidArgumentException",
                        fmt::format("ExclusiveMinimumSequenceNumber {} used in PutRecord on stream {} under account {} is invalid.",
                                    *ord, *name, opts.account_id)};
    }
    auto r = engine.PutRecord(*name, in);
    if (!r.ok()) return Err(r.status());
    JsonWriter w(out);
    w.BeginObject();
    w.Field("ShardId", r->shard_id());
    w.Field("SequenceNumber", r->sequence_number());
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> PutRecords(object o, const ValidationResult& v, std::string* out) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    thread_local std::vector<PutInput> inputs;
    inputs.clear();
    size_t total = 0, blob = 0;
    simdjson::dom::array recs = o["Records"].get_array().value_unsafe();
    for (element e : recs) {
      if (e.is_null()) continue;
      object r = e.get_object().value_unsafe();
      PutInput in;
      in.partition_key = *Str(r, "PartitionKey");
      in.data = v.Blob(blob++);
      if (auto err = CheckHashKey(Str(r, "ExplicitHashKey"), &in.explicit_hash_key)) return err;
      total += in.data.size() + in.partition_key.size();
      if (in.data.size() + in.partition_key.size() > engine.options().max_record_bytes)
        return ApiError{"InvalidArgumentException",
                        fmt::format("Record size exceeds the maximum record size of {} bytes", engine.options().max_record_bytes)};
      inputs.push_back(in);
    }
    if (total > 5 * 1048576) return ApiError{"InvalidArgumentException", "Records size exceeds 5 MB limit"};
    Status st;
    std::vector<PutOutput> res = engine.PutRecords(*name, inputs, &st);
    if (!st.ok()) return Err(st);
    int64_t failed = 0;
    for (const PutOutput& r : res) failed += !r.status.ok();
    JsonWriter w(out);
    w.BeginObject();
    w.FieldInt("FailedRecordCount", failed);
    w.Key("Records");
    w.BeginArray();
    SeqDigits digits;
    ShardIdChars shard_id;
    for (const PutOutput& r : res) {
      w.BeginObject();
      if (r.status.ok()) {
        w.Field("SequenceNumber", FormatSequenceNumber(r.seq(), digits));
        w.Field("ShardId", FormatShardId(ShardIndex{r.shard_index}, shard_id));
      } else if (r.status.code() == Code::kThrottled) {
        w.Field("ErrorCode", "ProvisionedThroughputExceededException");
        w.Field("ErrorMessage", FromStatus(r.status, opts.account_id).message);
      } else {
        w.Field("ErrorCode", "InternalFailure");
        w.Field("ErrorMessage", "Internal Service Failure");
      }
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> GetShardIterator(object o, const ValidationResult&, std::string* out) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    std::string_view shard_id = *Str(o, "ShardId");
    auto idx = ParseShardId(shard_id);
    if (!idx.ok())
      return ApiError{"ResourceNotFoundException",
                      fmt::format("Could not find shard {} in stream {} under account {}.", shard_id, *name, opts.account_id)};
    auto type = ParsePositionType(*Str(o, "ShardIteratorType"));
    std::optional<std::string_view> seq = Str(o, "StartingSequenceNumber");
    if (*type == PositionType::kAtTimestamp) seq.reset();  // spec §3.9: ignored
    auto pos = engine.GetPosition(*name, idx->value, *type, seq, TimestampMs(o, "Timestamp"));
    if (!pos.ok()) return Err(pos.status());
    IteratorToken t{*name, pos->stream_uid, pos->shard_index, pos->offset, engine.clock().NowMs()};
    JsonWriter w(out);
    w.BeginObject();
    w.Field("ShardIterator", tokens.EncodeIterator(t));
    w.EndObject();
    return std::nullopt;
  }

  static std::string JavaDate(int64_t ms) {
    static constexpr const char* kDays[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
    static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                              "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t s = static_cast<time_t>(ms / 1000);
    struct tm tm {};
    gmtime_r(&s, &tm);
    return fmt::format("{} {} {:02} {:02}:{:02}:{:02} UTC {}", kDays[(s / 86400) % 7], kMonths[tm.tm_mon],
                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, tm.tm_year + 1900);
  }

  std::optional<ApiError> GetRecords(object o, const ValidationResult&, std::string* out) {
    auto it = tokens.DecodeIterator(*Str(o, "ShardIterator"));
    const int64_t now = engine.clock().NowMs();
    if (!it || it->issued_ms <= 0 || it->issued_ms > now + 60000)
      return ApiError{"InvalidArgumentException", "Invalid ShardIterator."};
    if (now - it->issued_ms > opts.iterator_ttl_ms)
      return ApiError{"ExpiredIteratorException",
                      fmt::format("Iterator expired. The iterator was created at time {} while right now it is {} "
                                  "which is further in the future than the tolerated delay of {} milliseconds.",
                                  JavaDate(it->issued_ms), JavaDate(now), opts.iterator_ttl_ms)};
    if (auto arn = Str(o, "StreamARN"); arn && *arn != Arn(it->stream))
      return ApiError{"InvalidArgumentException", "The StreamARN does not match the shard iterator's stream."};
    size_t limit = static_cast<size_t>(Int(o, "Limit").value_or(10000));
    auto r = engine.GetRecords(it->stream, ShardPosition{it->stream_uid, it->shard_index, it->offset}, limit);
    if (!r.ok()) return Err(r.status());
    out->reserve(r->pins.bytes * 4 / 3 + r->records.size() * 160 + 512);
    JsonWriter w(out);
    w.BeginObject();
    w.Key("Records");
    w.BeginArray();
    for (const ReadRecord& rec : r->records) {
      w.BeginObject();
      w.Field("SequenceNumber", rec.sequence_number);
      w.Key("ApproximateArrivalTimestamp");
      w.EpochMs(rec.arrival_ms);
      w.Key("Data");
      w.Blob(rec.data);
      w.Field("PartitionKey", rec.partition_key);
      w.EndObject();
    }
    w.EndArray();
    if (r->next) {
      IteratorToken t{it->stream, r->next->stream_uid, r->next->shard_index, r->next->offset, now};
      w.Field("NextShardIterator", tokens.EncodeIterator(t));
    }
    w.FieldInt("MillisBehindLatest", r->millis_behind_latest);
    if (!r->child_shards.empty()) {
      w.Key("ChildShards");
      w.BeginArray();
      for (const ChildShard& c : r->child_shards) {
        w.BeginObject();
        w.Field("ShardId", c.shard_id);
        w.Key("ParentShards");
        w.BeginArray();
        for (const std::string& p : c.parents) w.String(p);
        w.EndArray();
        w.Key("HashKeyRange");
        w.BeginObject();
        w.Field("StartingHashKey", FormatHashKey(c.range.start));
        w.Field("EndingHashKey", FormatHashKey(c.range.end));
        w.EndObject();
        w.EndObject();
      }
      w.EndArray();
    }
    w.EndObject();
    return std::nullopt;
  }

  Result<uint32_t> ShardArg(std::string_view id, const std::string& stream) const {
    auto idx = ParseShardId(id);
    if (!idx.ok())
      return Status::Make(Code::kNotFound, "Could not find shard {} in stream {}.", id, stream);
    return idx->value;
  }

  std::optional<ApiError> SplitShard(object o, const ValidationResult&, std::string*) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    auto idx = ShardArg(*Str(o, "ShardToSplit"), *name);
    if (!idx.ok()) return Err(idx.status());
    std::string_view key_text = *Str(o, "NewStartingHashKey");
    auto key = ParseHashKey(key_text);
    if (!key.ok())
      return ApiError{"InvalidArgumentException",
                      fmt::format("NewStartingHashKey {} used in SplitShard() on shard {} in stream {} under account {} "
                                  "is not both greater than one plus the shard's StartingHashKey and less than the "
                                  "shard's EndingHashKey.", key_text, FormatShardId(ShardIndex{*idx}), *name, opts.account_id)};
    Status st = engine.SplitShard(*name, *idx, *key);
    if (!st.ok()) return Err(st);
    return std::nullopt;
  }

  std::optional<ApiError> MergeShards(object o, const ValidationResult&, std::string*) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    auto a = ShardArg(*Str(o, "ShardToMerge"), *name);
    if (!a.ok()) return Err(a.status());
    auto b = ShardArg(*Str(o, "AdjacentShardToMerge"), *name);
    if (!b.ok()) return Err(b.status());
    Status st = engine.MergeShards(*name, *a, *b);
    if (!st.ok()) return Err(st);
    return std::nullopt;
  }

  std::optional<ApiError> UpdateShardCount(object o, const ValidationResult&, std::string* out) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    int64_t target = *Int(o, "TargetShardCount");
    auto r = engine.UpdateShardCount(*name, target);
    if (!r.ok()) return Err(r.status());
    JsonWriter w(out);
    w.BeginObject();
    w.Field("StreamName", *name);
    w.FieldInt("CurrentShardCount", static_cast<int64_t>(*r));
    w.FieldInt("TargetShardCount", target);
    w.Field("StreamARN", Arn(*name));
    w.EndObject();
    return std::nullopt;
  }

  std::optional<ApiError> Retention(object o, bool increase) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    int64_t hours = *Int(o, "RetentionPeriodHours");
    if (hours < 24)
      return ApiError{"InvalidArgumentException",
                      fmt::format("Minimum allowed retention period is 24 hours. Requested retention period ({} hours) is too short.", hours)};
    if (hours > 8760)
      return ApiError{"InvalidArgumentException",
                      fmt::format("Maximum allowed retention period is 8760 hours. Requested retention period ({} hours) is too long.", hours)};
    Status st = engine.SetRetention(*name, static_cast<int>(hours), increase);
    if (!st.ok()) return Err(st);
    return std::nullopt;
  }
  std::optional<ApiError> IncreaseRetention(object o, const ValidationResult&, std::string*) { return Retention(o, true); }
  std::optional<ApiError> DecreaseRetention(object o, const ValidationResult&, std::string*) { return Retention(o, false); }

  std::optional<ApiError> DescribeLimits(object, const ValidationResult&, std::string* out) {
    size_t on_demand = 0;
    for (std::string start;;) {
      StreamSummaryList l = engine.ListStreams(1000, start);
      for (const std::string& n : l.names) {
        auto d = engine.DescribeStream(n);
        if (d.ok() && d->mode == CapacityMode::kOnDemand) ++on_demand;
      }
      if (!l.has_more || l.names.empty()) break;
      start = l.names.back();
    }
    JsonWriter w(out);
    w.BeginObject();
    w.FieldInt("ShardLimit", engine.options().shard_limit);
    w.FieldInt("OpenShardCount", static_cast<int64_t>(engine.OpenShardCount()));
    w.FieldInt("OnDemandStreamCount", static_cast<int64_t>(on_demand));
    w.FieldInt("OnDemandStreamCountLimit", 50);
    w.EndObject();
    return std::nullopt;
  }

  static bool ValidTagText(std::string_view s) {
    for (unsigned char c : s) {
      if (c >= 0x80) continue;  // Unicode letters: accepted
      if (c != 0 && (std::isalnum(c) || std::isspace(c) || std::strchr("_./=+-%@", c))) continue;
      return false;
    }
    return true;
  }

  std::optional<ApiError> AddTags(object o, const ValidationResult&, std::string*) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    std::map<std::string, std::string> tags;
    if (auto e = CheckTags(o["Tags"].get_object().value_unsafe(), *name, &tags)) return e;
    Status st = engine.AddTags(*name, tags);
    if (st.code() == Code::kLimitExceeded) return TooManyTags(*name);
    if (!st.ok()) return Err(st);
    return std::nullopt;
  }

  ApiError TooManyTags(std::string_view name) const {
    return ApiError{"InvalidArgumentException",
                    fmt::format("Failed to add tags to stream {} under account {} because a given stream cannot have "
                                "more than 50 tags associated with it.",
                                name, opts.account_id)};
  }

  // The tag rules of spec §3.15 (keys 1-128 and values 0-256 characters from the allowed
  // set), for AddTagsToStream and CreateStream's Tags alike.
  std::optional<ApiError> CheckTags(simdjson::dom::object tobj, std::string_view name,
                                    std::map<std::string, std::string>* out) const {
    for (auto [k, v] : tobj) {
      std::string_view val = v.is_null() ? "" : v.get_string().value_unsafe();
      if (k.empty() || Utf8Length(k) > 128 || Utf8Length(val) > 256 || !ValidTagText(k) || !ValidTagText(val))
        return ApiError{"InvalidArgumentException",
                        "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @."};
      (*out)[std::string(k)] = std::string(val);
    }
    if (out->size() > 50) return TooManyTags(name);
    return std::nullopt;
  }

  std::optional<ApiError> RemoveTags(object o, const ValidationResult&, std::string*) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    std::vector<std::string> keys;
    simdjson::dom::array keys_arr = o["TagKeys"].get_array().value_unsafe();
    for (element e : keys_arr)
      if (!e.is_null()) keys.emplace_back(e.get_string().value_unsafe());
    Status st = engine.RemoveTags(*name, keys);
    if (!st.ok()) return Err(st);
    return std::nullopt;
  }

  std::optional<ApiError> ListTags(object o, const ValidationResult&, std::string* out) {
    auto name = StreamOf(o);
    if (!name.ok()) return Err(name.status());
    auto d = engine.DescribeStream(*name);
    if (!d.ok()) return Err(d.status());
    int64_t limit = Int(o, "Limit").value_or(50);
    auto start = Str(o, "ExclusiveStartTagKey");
    JsonWriter w(out);
    w.BeginObject();
    w.Key("Tags");
    w.BeginArray();
    int64_t n = 0;
    bool more = false;
    for (const auto& [k, v] : d->tags) {
      if (start && k <= *start) continue;
      if (n == limit) {
        more = true;
        break;
      }
      w.BeginObject();
      w.Field("Key", k);
      w.Field("Value", v);
      w.EndObject();
      ++n;
    }
    w.EndArray();
    w.FieldBool("HasMoreTags", more);
    w.EndObject();
    return std::nullopt;
  }

  static const Op* FindOp(std::string_view name) {
    static const Op kOps[] = {
        {"AddTagsToStream", kAddTags, &Impl::AddTags},
        {"CreateStream", kCreateStream, &Impl::CreateStream},
        {"DecreaseStreamRetentionPeriod", kRetention, &Impl::DecreaseRetention},
        {"DeleteStream", kDeleteStream, &Impl::DeleteStream},
        {"DescribeLimits", std::span<const Field>(kDescribeLimits, 0), &Impl::DescribeLimits},
        {"DescribeStream", kDescribeStream, &Impl::DescribeStream},
        {"DescribeStreamSummary", kStreamOnly, &Impl::DescribeStreamSummary},
        {"GetRecords", kGetRecords, &Impl::GetRecords},
        {"GetShardIterator", kGetShardIterator, &Impl::GetShardIterator},
        {"IncreaseStreamRetentionPeriod", kRetention, &Impl::IncreaseRetention},
        {"ListShards", kListShards, &Impl::ListShards},
        {"ListStreams", kListStreams, &Impl::ListStreams},
        {"ListTagsForStream", kListTags, &Impl::ListTags},
        {"MergeShards", kMergeShards, &Impl::MergeShards},
        {"PutRecord", kPutRecord, &Impl::PutRecord},
        {"PutRecords", kPutRecords, &Impl::PutRecords},
        {"RemoveTagsFromStream", kRemoveTags, &Impl::RemoveTags},
        {"SplitShard", kSplitShard, &Impl::SplitShard},
        {"UpdateShardCount", kUpdateShardCount, &Impl::UpdateShardCount},
    };
    for (const Op& op : kOps)
      if (op.name == name) return &op;
    return nullptr;
  }

  // Operations in the Kinesis model that Shoal does not implement: a clean error.
  static bool KnownUnimplemented(std::string_view name) {
    static constexpr std::string_view kNames[] = {
        "DeregisterStreamConsumer", "DescribeStreamConsumer", "DisableEnhancedMonitoring",
        "EnableEnhancedMonitoring", "ListStreamConsumers", "RegisterStreamConsumer",
        "StartStreamEncryption", "StopStreamEncryption", "SubscribeToShard", "UpdateStreamMode",
        "PutResourcePolicy", "GetResourcePolicy", "DeleteResourcePolicy", "TagResource",
        "UntagResource", "ListTagsForResource", "DescribeAccountSettings", "UpdateAccountSettings",
        "UpdateMaxRecordSize", "UpdateStreamWarmThroughput"};
    return std::find(std::begin(kNames), std::end(kNames), name) != std::end(kNames);
  }
};

KinesisService::KinesisService(Engine& engine, ServiceOptions options)
    : engine_(engine), options_(std::move(options)), impl_(std::make_unique<Impl>(engine_, options_)) {}

KinesisService::~KinesisService() = default;

HttpResponse KinesisService::Call(std::string_view operation, std::string_view json_body) {
  std::string target = std::string(kTargetPrefix) + std::string(operation);
  HttpRequest r;
  r.method = "POST";
  r.target = target;
  r.content_type = kJson;
  r.body = json_body;
  return Handle(r);
}

HttpResponse KinesisService::Handle(const HttpRequest& req) {
  HttpResponse res;
  Handle(req, &res);
  return res;
}

void KinesisService::Handle(const HttpRequest& req, HttpResponse* out) {
  HttpResponse& res = *out;
  res.status = 200;
  res.headers.clear();
  res.body.clear();  // keeps its storage: the point of this overload
  res.error_type.clear();
  res.headers.emplace_back("x-amzn-RequestId", RequestId());
  auto json_error = [&](int status, std::string_view type, std::optional<std::string_view> message,
                        std::string_view key = "message") {
    res.status = status;
    res.error_type = std::string(type);
    res.headers.emplace_back("x-amzn-ErrorType", std::string(type));
    res.headers.emplace_back("Content-Type", std::string(kJson));
    res.body.clear();  // a handler may have started its answer before failing
    JsonWriter w(&res.body);
    w.BeginObject();
    w.Field("__type", type);
    if (message) w.Field(key, *message);
    w.EndObject();
  };
  if (!req.origin.empty()) {
    res.headers.emplace_back("Access-Control-Allow-Origin", "*");
    if (req.method == "OPTIONS") {
      if (!req.cors_request_headers.empty())
        res.headers.emplace_back("Access-Control-Allow-Headers", std::string(req.cors_request_headers));
      if (!req.cors_request_method.empty())
        res.headers.emplace_back("Access-Control-Allow-Methods", std::string(req.cors_request_method));
      res.headers.emplace_back("Access-Control-Max-Age", "172800");
      return;
    }
    res.headers.emplace_back("Access-Control-Expose-Headers",
                             "x-amzn-RequestId,x-amzn-ErrorType,x-amz-request-id,x-amz-id-2,x-amzn-ErrorMessage,Date");
  }
  res.headers.emplace_back("x-amz-id-2", IdTwo());
  // 1. Body size (the transport refuses bigger bodies before reading them; this covers
  //    in-process callers).
  if (req.body.size() > options_.max_body_bytes) {
    res.status = 413;
    return;
  }
  // 3. Method.
  if (req.method != "POST") {
    res.status = 403;
    res.error_type = "AccessDeniedException";
    res.body =
        "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be "
        "authorized</Message>\n</AccessDeniedException>\n";
    return;
  }
  std::string_view target = req.target;
  std::string_view op_name;
  const bool target_ok = target.substr(0, kTargetPrefix.size()) == kTargetPrefix;
  if (target_ok) op_name = target.substr(kTargetPrefix.size());
  const Impl::Op* op = target_ok ? Impl::FindOp(op_name) : nullptr;
  // 4. Empty body.
  std::string_view ct = req.content_type.substr(0, req.content_type.find(';'));
  while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
  const bool json_ct = ct == kJson || ct == "application/json";
  if (req.body.empty() && json_ct)
    return json_error(400, op || (target_ok && Impl::KnownUnimplemented(op_name)) ? "SerializationException"
                                                                                  : "UnknownOperationException",
                      std::nullopt);
  // 5. Content type.
  if (!json_ct) {
    if (target.find('.') == std::string_view::npos) {
      res.status = 403;
      res.error_type = "AccessDeniedException";
      res.body =
          "<AccessDeniedException>\n  <Message>Unable to determine service/operation name to be "
          "authorized</Message>\n</AccessDeniedException>\n";
      return;
    }
    res.status = 404;
    res.error_type = "UnknownOperationException";
    res.body = "<UnknownOperationException/>\n";
    return;
  }
  // 6. Parse: the body must be a JSON object.
  struct Lease {
    Impl* impl;
    std::unique_ptr<Impl::Scratch> s;
    ~Lease() { impl->Release(std::move(s)); }
  } lease{impl_.get(), impl_->Acquire()};
  simdjson::dom::element doc;
  // In place when the transport left simdjson's padding after the body (a ~700 KB
  // PutRecords body is then never copied); otherwise simdjson copies it.
  const bool padded = req.body_padding >= kRequestBodyPadding;
  auto parsed = lease.s->parser.parse(req.body.data(), req.body.size(), !padded).get(doc);
  if (parsed == simdjson::NUMBER_ERROR) {
    // Valid JSON with a number past 64 bits or past a double: saturate it and parse again,
    // so that the member's range check, not the parser, answers (json_numbers.h).
    if (std::optional<std::string> saturated = SaturateHugeNumbers(req.body))
      parsed = lease.s->parser.parse(*saturated).get(doc);
  }
  if (parsed != simdjson::SUCCESS || doc.type() != element_type::OBJECT)
    return json_error(400, "SerializationException", std::nullopt);
  // 7. Operation.
  if (!op) {
    if (target_ok && Impl::KnownUnimplemented(op_name))
      return json_error(400, "UnknownOperationException",
                        fmt::format("Shoal does not implement {} yet", op_name));
    return json_error(400, "UnknownOperationException", std::nullopt);
  }
  // 9, 10. Types, then constraints.
  ValidationResult& v = lease.s->validation;
  Validate(doc.get_object().value_unsafe(), op->schema, &v);
  if (v.kind == ValidationResult::kSerialization)
    return json_error(400, "SerializationException", v.message, "Message");
  if (v.kind == ValidationResult::kValidation) return json_error(400, "ValidationException", v.message);
  // 11. Logic: the handler writes straight into the (reused) response body.
  std::optional<ApiError> err = (impl_.get()->*op->handler)(doc.get_object().value_unsafe(), v, &res.body);
  if (err) return json_error(err->status, err->type, err->message);
  res.status = 200;
  res.headers.emplace_back("Content-Type", std::string(kJson));
}

}  // namespace shoal::api
