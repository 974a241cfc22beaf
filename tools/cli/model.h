// The slice of the Kinesis service model (botocore's service-2.json and paginators-1.json)
// that `shoal` needs to behave like `aws kinesis`: each command's parameters (names,
// types, required members, the `min` constraints botocore checks before sending), each
// output shape's member order (the AWS CLI prints members in model order, not in the
// order the server wrote them), and the three paginators.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::cli {

enum class Type { kString, kInteger, kLong, kBoolean, kTimestamp, kBlob, kStructure, kList, kMap };

struct Shape;

struct Member {
  std::string name;      // the API name, e.g. "StreamName"
  const Shape* shape;
  bool required = false;
  std::string doc;       // one line for `shoal <command> help`
};

struct Shape {
  std::string name;                    // model shape name, e.g. "PutRecordsRequestEntry"
  Type type = Type::kString;
  std::vector<Member> members;         // kStructure, in model order
  const Shape* element = nullptr;      // kList member, kMap value
  const Shape* key = nullptr;          // kMap key
  std::optional<long long> min;        // botocore validates `min` only
  std::vector<std::string> enums;      // documentation only (the service validates)

  const Member* Find(std::string_view member) const;
};

struct Paginator {
  std::vector<std::string> input_tokens;   // "NextToken"
  std::string limit_key;                   // "MaxResults"
  std::string more_results;                // "StreamDescription.HasMoreShards" ("" = none)
  std::vector<std::string> output_tokens;  // "StreamDescription.Shards[-1].ShardId"
  std::vector<std::string> result_keys;    // the first one is the primary
  std::vector<std::string> non_aggregate_keys;
};

struct Operation {
  std::string command;  // "put-record"
  std::string name;     // "PutRecord"
  const Shape* input;   // always a structure
  const Shape* output;  // nullptr: the operation has no output (the CLI prints nothing)
  std::optional<Paginator> paginator;
  std::string summary;
};

const std::vector<Operation>& Operations();
const Operation* FindOperation(std::string_view command);

// "StreamName" -> "stream-name", "StreamARN" -> "stream-arn" (botocore's xform_name).
std::string CliName(std::string_view member);

}  // namespace shoal::cli
