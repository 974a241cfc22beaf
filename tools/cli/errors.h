// How `shoal` fails: one exception type carrying the exit status and the stderr text, so
// every layer can stop the command the way the AWS CLI v2 would.
#pragma once

#include <stdexcept>
#include <string>

namespace shoal::cli {

// AWS CLI v2 return codes (https://docs.aws.amazon.com/cli/latest/userguide/cli-services-*):
inline constexpr int kExitOk = 0;
inline constexpr int kExitUsage = 252;    // bad syntax, unknown option, bad parameter value
inline constexpr int kExitService = 254;  // the service answered with an error
inline constexpr int kExitGeneral = 255;  // anything else (here: the data directory)

struct CliError : std::runtime_error {
  CliError(int exit_code, std::string text) : std::runtime_error(text), code(exit_code) {}
  int code;
};

// argparse-style failure: the usage banner, then "shoal: error: <message>".
[[noreturn]] void UsageError(const std::string& message);
// Arguments nobody claimed: the banner, then "Unknown options: a, b".
[[noreturn]] void UnknownOptions(const std::string& list);
// A parameter that could not be used ("Error parsing parameter '--x': ...",
// "Parameter validation failed: ...", "Invalid base64: ..."): printed as "\n<text>\n".
[[noreturn]] void ParamFailure(const std::string& text);

}  // namespace shoal::cli
