// The shoal-bench scenarios (issue 4). Each adds its points to ctx.results and keeps going
// after a failure (recorded as the point's error). Run order matters only for references:
// `device` (or, when it is not selected, ReferenceProbes) runs first so every later ratio
// has the device ceiling and memcpy bandwidth of this run.
#pragma once

#include <string>
#include <vector>

#include "bench/harness/harness.h"

namespace shoal::bench {

struct ScenarioInfo {
  const char* name;
  void (*run)(Context&);
  const char* summary;
};
const std::vector<ScenarioInfo>& Scenarios();

// Planned seconds of a scenario in a suite (for the ETA); rough, on a 2-vCPU VM.
double PlannedSeconds(const std::string& scenario, Suite suite, int repeat);

// The device ceiling (O_DIRECT 1 MiB QD16 fresh file) and one core's memcpy, as points of
// scenario "device" and as references. Called when `device` is not selected.
void ReferenceProbes(Context& ctx);

void RunDevice(Context& ctx);
void RunAppend(Context& ctx);
void RunRead(Context& ctx);
void RunReshard(Context& ctx);
void RunTrim(Context& ctx);
void RunLimits(Context& ctx);
void RunRecovery(Context& ctx);
void RunBaseline(Context& ctx);
void RunServer(Context& ctx);

// The Kinesis per-shard limits as references (always present).
void AddKinesisReferences(Results& results);

// The child-process entry of the recovery scenario (shoal-bench __recovery-child ...).
int RecoveryChildMain(int argc, char** argv);

}  // namespace shoal::bench
