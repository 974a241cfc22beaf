// --query and --output text, as far as scripts around `aws kinesis` use them:
//
//   shoal ... get-shard-iterator ... --query ShardIterator --output text
//   shoal ... list-shards --stream-name s --query 'Shards[*].ShardId'
//   shoal ... get-records --shard-iterator "$IT" --query 'Records[0].Data' --output text
//
// The JMESPath subset: identifiers (bare or "quoted"), sub-expressions (a.b), indexes ([0],
// [-1]), list and object wildcards ([*], .*), flatten ([]), multiselect lists and hashes
// ([a, b], {k: a}) and pipes (a | b), with JMESPath's projection rules. Anything else is
// refused with a usage error rather than evaluated differently from the AWS CLI.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tools/cli/value.h"

namespace shoal::cli {

class Query {
 public:
  // Throws CliError (252) for an expression outside the subset.
  explicit Query(const std::string& expression);
  Value Search(const Value& data) const;

 private:
  struct Step;
  using Steps = std::vector<Step>;
  using Pipeline = std::vector<Steps>;  // a | b | c
  struct Step {
    enum Kind { kField, kIndex, kListWildcard, kObjectWildcard, kFlatten, kMultiList, kMultiHash } kind;
    std::string field;
    long index = 0;
    std::vector<std::pair<std::string, Pipeline>> multi;  // kMultiList (keys unused), kMultiHash
  };
  class Parser;
  static Value Run(const Pipeline& p, const Value& data);
  static Value Eval(const Steps& steps, size_t begin, size_t end, const Value& cur);
  static Value Project(const Steps& steps, size_t after, size_t end, const std::vector<const Value*>& items);
  Pipeline pipeline_;
};

// awscli/text.py: the tab-separated text output.
std::string FormatText(const Value& data);

}  // namespace shoal::cli
