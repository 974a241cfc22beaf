// From a command's arguments to the operation's JSON body, the way `aws kinesis <command>`
// gets there: argparse-style option parsing (--flag value, --flag=value, list flags taking
// every following value, --x / --no-x booleans), file:// and fileb:// parameter files,
// shorthand or JSON for complex parameters, --cli-input-json, base64 handling of blobs
// (--cli-binary-format), botocore's parameter validation, and botocore's serialization
// (timestamps as whole epoch seconds, blobs as base64).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tools/cli/model.h"
#include "tools/cli/value.h"

namespace shoal::cli {

struct CommandArgs {
  Value params = Value::Object();  // API member name -> value, as the flags gave them
  std::optional<std::string> cli_input_json;
  // The CLI's own paging arguments (paginated commands only).
  std::optional<int64_t> page_size;
  std::optional<int64_t> max_items;
  std::optional<std::string> starting_token;
  bool help = false;
};

// Parses the arguments after the command name. Throws CliError (exit 252) like argparse:
// "argument --x: expected one argument", "the following arguments are required: --x",
// "Unknown options: --y", "Error parsing parameter '--x': ...".
CommandArgs ParseCommandArgs(const Operation& op, const std::vector<std::string>& args);

// The call's parameters: the flags, completed by --cli-input-json (flags win), with blobs
// base64-decoded when `binary_base64` (--cli-binary-format base64, the default), then
// validated against the model. Throws CliError (252) on a bad value.
Value BuildParameters(const Operation& op, const CommandArgs& args, bool binary_base64);

// botocore's JSON serialization of validated parameters.
std::string SerializeRequest(const Shape& input, const Value& params);

// Python base64.b64decode(text) (non-strict: characters outside the alphabet are skipped,
// input stops after the first complete padding). False on "Incorrect padding" and the like.
bool PyBase64Decode(const std::string& text, std::string* out);

// A timestamp parameter as botocore reads it: epoch seconds ("1700000004", "1700000004.5")
// or ISO 8601 ("2023-11-14T22:13:24Z", "2023-11-14 22:13:24+01:00", "2023-11-14"; no zone
// means UTC). Whole seconds, rounded down. False if it is neither.
bool ParseTimestampParam(const Value& v, int64_t* epoch_seconds);

}  // namespace shoal::cli
