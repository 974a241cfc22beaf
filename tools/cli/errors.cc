#include "tools/cli/errors.h"

#include "tools/cli/help.h"

namespace shoal::cli {

void UsageError(const std::string& message) {
  throw CliError(kExitUsage, "\n" + UsageBanner() + "\nshoal: error: " + message + "\n\n");
}

void UnknownOptions(const std::string& list) {
  throw CliError(kExitUsage, "\n" + UsageBanner() + "\nUnknown options: " + list + "\n\n");
}

void ParamFailure(const std::string& text) { throw CliError(kExitUsage, "\n" + text + "\n"); }

}  // namespace shoal::cli
