// `shoal help` and `shoal <command> help`.
#pragma once

#include <string>

#include "tools/cli/model.h"

namespace shoal::cli {

std::string MainHelp();
std::string CommandHelp(const Operation& op);
// The usage banner printed above argparse-style errors.
std::string UsageBanner();

}  // namespace shoal::cli
