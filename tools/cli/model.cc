#include "tools/cli/model.h"

#include <deque>
#include <regex>

namespace shoal::cli {

const Member* Shape::Find(std::string_view member) const {
  for (const Member& m : members)
    if (m.name == member) return &m;
  return nullptr;
}

std::string CliName(std::string_view member) {
  // botocore.xform_name(name, '-')
  std::string name(member);
  static const std::regex kSpecial("[A-Z]{2,}s$");
  static const std::regex kFirstCap("(.)([A-Z][a-z]+)");
  static const std::regex kNumberCap("([a-z])([0-9]+)");
  static const std::regex kEndCap("([a-z0-9])([A-Z])");
  std::smatch m;
  if (std::regex_search(name, m, kSpecial)) {
    std::string matched = m.str();
    for (char& c : matched) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    name = name.substr(0, name.size() - matched.size()) + "-" + matched;
  }
  name = std::regex_replace(name, kFirstCap, "$1-$2");
  name = std::regex_replace(name, kNumberCap, "$1-$2");
  name = std::regex_replace(name, kEndCap, "$1-$2");
  for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

namespace {

struct Builder {
  std::deque<Shape> shapes;

  const Shape* Scalar(std::string name, Type t, std::optional<long long> min = std::nullopt,
                      std::vector<std::string> enums = {}) {
    Shape& s = shapes.emplace_back();
    s.name = std::move(name);
    s.type = t;
    s.min = min;
    s.enums = std::move(enums);
    return &s;
  }
  const Shape* Struct(std::string name, std::vector<Member> members) {
    Shape& s = shapes.emplace_back();
    s.name = std::move(name);
    s.type = Type::kStructure;
    s.members = std::move(members);
    return &s;
  }
  const Shape* List(std::string name, const Shape* element, std::optional<long long> min = std::nullopt) {
    Shape& s = shapes.emplace_back();
    s.name = std::move(name);
    s.type = Type::kList;
    s.element = element;
    s.min = min;
    return &s;
  }
  const Shape* Map(std::string name, const Shape* key, const Shape* value, std::optional<long long> min = std::nullopt) {
    Shape& s = shapes.emplace_back();
    s.name = std::move(name);
    s.type = Type::kMap;
    s.key = key;
    s.element = value;
    s.min = min;
    return &s;
  }
};

std::vector<Operation> Build() {
  static Builder b;  // shapes live as long as the program
  using T = Type;
  // --- scalars ---
  auto* str = b.Scalar("String", T::kString);
  auto* stream_name = b.Scalar("StreamName", T::kString, 1);
  auto* stream_arn = b.Scalar("StreamARN", T::kString, 1);
  auto* shard_id = b.Scalar("ShardId", T::kString, 1);
  auto* positive = b.Scalar("PositiveIntegerObject", T::kInteger, 1);
  auto* list_limit = b.Scalar("Limit", T::kInteger, 1);
  auto* next_token = b.Scalar("NextToken", T::kString, 1);
  auto* integer = b.Scalar("Integer", T::kInteger);
  auto* long_ = b.Scalar("MillisBehindLatest", T::kLong);
  auto* boolean = b.Scalar("Boolean", T::kBoolean);
  auto* timestamp = b.Scalar("Timestamp", T::kTimestamp);
  auto* blob = b.Scalar("Data", T::kBlob, 0);
  auto* partition_key = b.Scalar("PartitionKey", T::kString, 1);
  auto* hash_key = b.Scalar("HashKey", T::kString);
  auto* seq = b.Scalar("SequenceNumber", T::kString);
  auto* tag_key = b.Scalar("TagKey", T::kString, 1);
  auto* tag_value = b.Scalar("TagValue", T::kString, 0);
  auto* mode = b.Scalar("StreamMode", T::kString, std::nullopt, {"PROVISIONED", "ON_DEMAND"});
  auto* status = b.Scalar("StreamStatus", T::kString, std::nullopt, {"CREATING", "DELETING", "ACTIVE", "UPDATING"});
  auto* iter_type = b.Scalar("ShardIteratorType", T::kString, std::nullopt,
                             {"AT_SEQUENCE_NUMBER", "AFTER_SEQUENCE_NUMBER", "TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"});
  auto* scaling = b.Scalar("ScalingType", T::kString, std::nullopt, {"UNIFORM_SCALING"});
  auto* filter_type = b.Scalar("ShardFilterType", T::kString, std::nullopt,
                               {"AFTER_SHARD_ID", "AT_TRIM_HORIZON", "FROM_TRIM_HORIZON", "AT_LATEST",
                                "AT_TIMESTAMP", "FROM_TIMESTAMP"});

  // --- structures shared by outputs ---
  auto* mode_details = b.Struct("StreamModeDetails", {{"StreamMode", mode, true}});
  auto* hash_range = b.Struct("HashKeyRange", {{"StartingHashKey", hash_key, true}, {"EndingHashKey", hash_key, true}});
  auto* seq_range = b.Struct("SequenceNumberRange",
                             {{"StartingSequenceNumber", seq, true}, {"EndingSequenceNumber", seq}});
  auto* shard = b.Struct("Shard", {{"ShardId", shard_id, true},
                                   {"ParentShardId", shard_id},
                                   {"AdjacentParentShardId", shard_id},
                                   {"HashKeyRange", hash_range, true},
                                   {"SequenceNumberRange", seq_range, true}});
  auto* shard_list = b.List("ShardList", shard);
  auto* metrics = b.Struct("EnhancedMetrics", {{"ShardLevelMetrics", b.List("MetricsNameList", str, 1)}});
  auto* metrics_list = b.List("EnhancedMonitoringList", metrics);
  auto* tag_map = b.Map("TagMap", tag_key, tag_value, 1);
  auto* tag = b.Struct("Tag", {{"Key", tag_key, true}, {"Value", tag_value}});

  const std::string kName = "The name of the stream.";
  const std::string kArn = "The ARN of the stream (instead of --stream-name).";
  auto name_member = [&](bool required = false) { return Member{"StreamName", stream_name, required, kName}; };
  auto arn_member = [&] { return Member{"StreamARN", stream_arn, false, kArn}; };

  std::vector<Operation> ops;
  auto add = [&](std::string command, std::string name, std::vector<Member> in, const Shape* out,
                 std::string summary, std::optional<Paginator> pag = std::nullopt) {
    const Shape* input = b.Struct(name + "Input", std::move(in));
    ops.push_back(Operation{std::move(command), std::move(name), input, out, std::move(pag), std::move(summary)});
  };

  add("add-tags-to-stream", "AddTagsToStream",
      {name_member(), {"Tags", tag_map, true, "Tags to add: Key1=Value1,Key2=Value2 or a JSON object."}, arn_member()},
      nullptr, "Adds or updates tags of a stream.");

  add("create-stream", "CreateStream",
      {name_member(true),
       {"ShardCount", positive, false, "Number of shards (PROVISIONED streams)."},
       {"StreamModeDetails", mode_details, false, "StreamMode=PROVISIONED or StreamMode=ON_DEMAND."},
       {"Tags", tag_map, false, "Tags for the new stream: Key1=Value1,Key2=Value2 or a JSON object."}},
      nullptr, "Creates a stream.");

  add("decrease-stream-retention-period", "DecreaseStreamRetentionPeriod",
      {name_member(), {"RetentionPeriodHours", integer, true, "The new retention period, in hours (>= 24)."}, arn_member()},
      nullptr, "Shortens how long records stay readable.");

  add("delete-stream", "DeleteStream",
      {name_member(), {"EnforceConsumerDeletion", boolean, false, "Delete even with registered consumers."}, arn_member()},
      nullptr, "Deletes a stream and all its records.");

  add("describe-limits", "DescribeLimits", {},
      b.Struct("DescribeLimitsOutput", {{"ShardLimit", integer, true},
                                        {"OpenShardCount", integer, true},
                                        {"OnDemandStreamCount", integer, true},
                                        {"OnDemandStreamCountLimit", integer, true}}),
      "Shows the account's shard limit and open shard count.");

  auto* description = b.Struct("StreamDescription", {{"StreamName", stream_name, true},
                                                      {"StreamARN", stream_arn, true},
                                                      {"StreamStatus", status, true},
                                                      {"StreamModeDetails", mode_details},
                                                      {"Shards", shard_list, true},
                                                      {"HasMoreShards", boolean, true},
                                                      {"RetentionPeriodHours", integer, true},
                                                      {"StreamCreationTimestamp", timestamp, true},
                                                      {"EnhancedMonitoring", metrics_list, true},
                                                      {"EncryptionType", str},
                                                      {"KeyId", str}});
  add("describe-stream", "DescribeStream",
      {name_member(),
       {"Limit", list_limit, false, "Shards per call (disables auto-pagination)."},
       {"ExclusiveStartShardId", shard_id, false, "Start after this shard (disables auto-pagination)."},
       arn_member()},
      b.Struct("DescribeStreamOutput", {{"StreamDescription", description, true}}),
      "Describes a stream and its shards.",
      Paginator{{"ExclusiveStartShardId"},
                "Limit",
                "StreamDescription.HasMoreShards",
                {"StreamDescription.Shards[-1].ShardId"},
                {"StreamDescription.Shards"},
                {"StreamDescription.StreamARN", "StreamDescription.StreamName", "StreamDescription.StreamStatus",
                 "StreamDescription.RetentionPeriodHours", "StreamDescription.EnhancedMonitoring",
                 "StreamDescription.EncryptionType", "StreamDescription.KeyId",
                 "StreamDescription.StreamCreationTimestamp"}});

  auto* summary = b.Struct("StreamDescriptionSummary", {{"StreamName", stream_name, true},
                                                        {"StreamARN", stream_arn, true},
                                                        {"StreamStatus", status, true},
                                                        {"StreamModeDetails", mode_details},
                                                        {"RetentionPeriodHours", integer, true},
                                                        {"StreamCreationTimestamp", timestamp, true},
                                                        {"EnhancedMonitoring", metrics_list, true},
                                                        {"EncryptionType", str},
                                                        {"KeyId", str},
                                                        {"OpenShardCount", integer, true},
                                                        {"ConsumerCount", integer}});
  add("describe-stream-summary", "DescribeStreamSummary", {name_member(), arn_member()},
      b.Struct("DescribeStreamSummaryOutput", {{"StreamDescriptionSummary", summary, true}}),
      "Describes a stream without listing its shards.");

  auto* record = b.Struct("Record", {{"SequenceNumber", seq, true},
                                     {"ApproximateArrivalTimestamp", timestamp},
                                     {"Data", blob, true},
                                     {"PartitionKey", partition_key, true},
                                     {"EncryptionType", str}});
  auto* child = b.Struct("ChildShard", {{"ShardId", shard_id, true},
                                        {"ParentShards", b.List("ShardIdList", shard_id), true},
                                        {"HashKeyRange", hash_range, true}});
  add("get-records", "GetRecords",
      {{"ShardIterator", b.Scalar("ShardIterator", T::kString, 1), true, "An iterator from get-shard-iterator or a previous get-records."},
       {"Limit", list_limit, false, "Most records to return (1-10000)."},
       arn_member()},
      b.Struct("GetRecordsOutput", {{"Records", b.List("RecordList", record), true},
                                    {"NextShardIterator", str},
                                    {"MillisBehindLatest", long_},
                                    {"ChildShards", b.List("ChildShardList", child)}}),
      "Reads records from a shard.");

  add("get-shard-iterator", "GetShardIterator",
      {name_member(),
       {"ShardId", shard_id, true, "The shard to read, e.g. shardId-000000000000."},
       {"ShardIteratorType", iter_type, true,
        "AT_SEQUENCE_NUMBER | AFTER_SEQUENCE_NUMBER | TRIM_HORIZON | LATEST | AT_TIMESTAMP."},
       {"StartingSequenceNumber", seq, false, "For AT_/AFTER_SEQUENCE_NUMBER."},
       {"Timestamp", timestamp, false, "For AT_TIMESTAMP: ISO 8601 (2023-11-14T22:13:24Z) or epoch seconds."},
       arn_member()},
      b.Struct("GetShardIteratorOutput", {{"ShardIterator", str}}),
      "Gets a shard iterator (valid for 5 minutes, across shoal invocations).");

  add("increase-stream-retention-period", "IncreaseStreamRetentionPeriod",
      {name_member(), {"RetentionPeriodHours", integer, true, "The new retention period, in hours (<= 8760)."}, arn_member()},
      nullptr, "Lengthens how long records stay readable.");

  add("list-shards", "ListShards",
      {name_member(),
       {"NextToken", next_token, false, "A token from a previous call (disables auto-pagination)."},
       {"ExclusiveStartShardId", shard_id, false, "List shards after this one."},
       {"MaxResults", list_limit, false, "Shards per call (disables auto-pagination)."},
       {"StreamCreationTimestamp", timestamp, false, "Disambiguates a re-created stream."},
       {"ShardFilter",
        b.Struct("ShardFilter", {{"Type", filter_type, true}, {"ShardId", shard_id}, {"Timestamp", timestamp}}),
        false, "Type=AT_LATEST | AT_TRIM_HORIZON | FROM_TRIM_HORIZON | AFTER_SHARD_ID,ShardId=... | AT_TIMESTAMP,Timestamp=..."},
       arn_member()},
      b.Struct("ListShardsOutput", {{"Shards", shard_list}, {"NextToken", next_token}}),
      "Lists the shards of a stream.",
      Paginator{{"NextToken"}, "MaxResults", "", {"NextToken"}, {"Shards"}, {}});

  auto* stream_summary = b.Struct("StreamSummary", {{"StreamName", stream_name, true},
                                                    {"StreamARN", stream_arn, true},
                                                    {"StreamStatus", status, true},
                                                    {"StreamModeDetails", mode_details},
                                                    {"StreamCreationTimestamp", timestamp}});
  add("list-streams", "ListStreams",
      {{"Limit", list_limit, false, "Streams per call (disables auto-pagination)."},
       {"ExclusiveStartStreamName", stream_name, false, "List streams after this name (disables auto-pagination)."},
       {"NextToken", next_token, false, "A token from a previous call (disables auto-pagination)."}},
      b.Struct("ListStreamsOutput", {{"StreamNames", b.List("StreamNameList", stream_name), true},
                                     {"HasMoreStreams", boolean, true},
                                     {"NextToken", next_token},
                                     {"StreamSummaries", b.List("StreamSummaryList", stream_summary)}}),
      "Lists the streams.",
      Paginator{{"NextToken"}, "Limit", "HasMoreStreams", {"NextToken"}, {"StreamNames", "StreamSummaries"}, {}});

  add("list-tags-for-stream", "ListTagsForStream",
      {name_member(),
       {"ExclusiveStartTagKey", tag_key, false, "List tags after this key."},
       {"Limit", list_limit, false, "Most tags to return (1-50)."},
       arn_member()},
      b.Struct("ListTagsForStreamOutput", {{"Tags", b.List("TagList", tag), true}, {"HasMoreTags", boolean, true}}),
      "Lists the tags of a stream.");

  add("merge-shards", "MergeShards",
      {name_member(),
       {"ShardToMerge", shard_id, true, "One of the two adjacent shards."},
       {"AdjacentShardToMerge", shard_id, true, "The other one."},
       arn_member()},
      nullptr, "Merges two adjacent open shards.");

  add("put-record", "PutRecord",
      {name_member(),
       {"Data", blob, true, "The record's bytes, base64 (see --cli-binary-format; fileb://FILE reads raw bytes)."},
       {"PartitionKey", partition_key, true, "Routes the record: MD5 of it picks the shard."},
       {"ExplicitHashKey", hash_key, false, "Overrides the partition key's hash (0 .. 2^128-1)."},
       {"SequenceNumberForOrdering", seq, false, "The previous record's sequence number, for strict ordering."},
       arn_member()},
      b.Struct("PutRecordOutput", {{"ShardId", shard_id, true}, {"SequenceNumber", seq, true}, {"EncryptionType", str}}),
      "Writes one record.");

  auto* entry = b.Struct("PutRecordsRequestEntry",
                         {{"Data", blob, true}, {"ExplicitHashKey", hash_key}, {"PartitionKey", partition_key, true}});
  auto* result_entry = b.Struct("PutRecordsResultEntry", {{"SequenceNumber", seq},
                                                          {"ShardId", shard_id},
                                                          {"ErrorCode", str},
                                                          {"ErrorMessage", str}});
  add("put-records", "PutRecords",
      {{"Records", b.List("PutRecordsRequestEntryList", entry, 1), true,
        "Data=BASE64,PartitionKey=KEY[,ExplicitHashKey=N] ... (one per record) or a JSON list."},
       name_member(),
       arn_member()},
      b.Struct("PutRecordsOutput", {{"FailedRecordCount", positive},
                                    {"Records", b.List("PutRecordsResultEntryList", result_entry), true},
                                    {"EncryptionType", str}}),
      "Writes up to 500 records in one call.");

  add("remove-tags-from-stream", "RemoveTagsFromStream",
      {name_member(), {"TagKeys", b.List("TagKeyList", tag_key, 1), true, "Keys to remove: KEY1 KEY2 ... or a JSON list."},
       arn_member()},
      nullptr, "Removes tags from a stream.");

  add("split-shard", "SplitShard",
      {name_member(),
       {"ShardToSplit", shard_id, true, "The open shard to split."},
       {"NewStartingHashKey", hash_key, true, "The first hash key of the upper child."},
       arn_member()},
      nullptr, "Splits an open shard in two.");

  add("update-shard-count", "UpdateShardCount",
      {name_member(),
       {"TargetShardCount", positive, true, "The number of open shards wanted."},
       {"ScalingType", scaling, true, "UNIFORM_SCALING."},
       arn_member()},
      b.Struct("UpdateShardCountOutput", {{"StreamName", stream_name},
                                          {"CurrentShardCount", positive},
                                          {"TargetShardCount", positive},
                                          {"StreamARN", stream_arn}}),
      "Resizes a stream to a number of uniform shards.");
  return ops;
}

}  // namespace

const std::vector<Operation>& Operations() {
  static const std::vector<Operation> kOps = Build();
  return kOps;
}

const Operation* FindOperation(std::string_view command) {
  for (const Operation& op : Operations())
    if (op.command == command) return &op;
  return nullptr;
}

}  // namespace shoal::cli
