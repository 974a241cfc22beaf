// What `aws kinesis ... --output json` prints for a response: the body parsed against the
// output shape as botocore does it (members in model order, unknown members dropped,
// timestamps as ISO 8601 in the local time zone, blobs left as base64), and for the
// paginated commands (describe-stream, list-shards, list-streams) botocore's PageIterator
// plus build_full_result: follow the tokens, merge the pages, keep --max-items and
// --starting-token resume tokens compatible with the AWS CLI's.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "tools/cli/model.h"
#include "tools/cli/value.h"

namespace shoal::cli {

Value ParseResponse(const Shape& shape, const Value& body);

// datetime.fromtimestamp(epoch, tzlocal()).isoformat(): "2023-11-14T22:13:25.117000+00:00".
std::string IsoTimestamp(const Value& epoch);

// A JMESPath subset for paginator expressions: "A.B", "A.B[-1].C".
const Value* SearchPath(const Value& root, std::string_view path);
// botocore.utils.set_value_from_jmespath: dotted keys, creating objects on the way.
void SetPath(Value* root, std::string_view path, Value v);

struct PagingOptions {
  std::optional<int64_t> page_size;
  std::optional<int64_t> max_items;
  std::optional<std::string> starting_token;
};

// Sends one request (the parameters) and returns the parsed response; throws on errors.
using PageCall = std::function<Value(const Value& params)>;

// Runs the operation's paginator from `params` and returns the merged result
// (build_full_result). `on_page`, if set, sees each page as the AWS CLI's text formatter
// does: the first with the non-aggregated members, each with the result keys.
Value Paginate(const Operation& op, Value params, const PagingOptions& paging, const PageCall& call,
               const std::function<void(const Value&)>& on_page = {});

}  // namespace shoal::cli
