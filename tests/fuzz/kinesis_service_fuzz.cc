// Fuzzes the Kinesis JSON 1.1 front end end to end: KinesisService::Handle (api/) for
// every X-Amz-Target, on a real engine in a fresh data directory per input, so one input
// covers request parsing, type and constraint validation (api/schema.cc), the operation
// logic and the engine calls behind it.
//
// Input: a request script (support/request_script.h), at most 24 requests. With
// SHOAL_FUZZ_VERBOSE=1 in the environment every request and response is printed, to see
// what a seed or a crash input does.
//
// Properties for every response:
//   * never 500 (InternalFailure means a bug or an engine error a client cannot cause);
//   * a 200 body is empty (operations that return nothing) or a JSON object;
//   * an error body is a JSON object whose "__type" is the error type, except for the
//     transport-level XML answers (403, 404) and 413;
//   * every response carries x-amzn-RequestId.
#include <simdjson.h>
#include <sys/stat.h>

#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>

#include "api/kinesis_service.h"
#include "kernel/engine.h"
#include "tests/fuzz/support/check.h"
#include "tests/fuzz/support/engine_fuzz_options.h"
#include "tests/fuzz/support/request_script.h"
#include "tests/fuzz/support/scratch_dir.h"

namespace {

using namespace shoal;

void CheckResponse(const api::HttpResponse& r, std::string_view op, std::string_view body) {
  FUZZ_CHECK(r.status != 500, "{} {} -> 500 {}", op, body, r.body);
  bool has_id = false;
  for (const auto& [k, v] : r.headers) has_id |= k == "x-amzn-RequestId" && !v.empty();
  FUZZ_CHECK(has_id, "{}: no x-amzn-RequestId", op);
  if (r.status == 403 || r.status == 404 || r.status == 413) return;
  if (r.status == 200 && r.body.empty()) return;
  static simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto err = parser.parse(r.body).get(doc);
  FUZZ_CHECK(err == simdjson::SUCCESS && doc.is_object(), "{} {} -> {} with a body that is not a JSON object: {}", op,
             body, r.status, r.body);
  if (r.status != 200) {
    std::string_view type;
    FUZZ_CHECK(doc["__type"].get(type) == simdjson::SUCCESS && type == r.error_type,
               "{} -> {}: __type is not '{}': {}", op, r.status, r.error_type, r.body);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const bool verbose = std::getenv("SHOAL_FUZZ_VERBOSE") != nullptr;
  auto script = fuzz::ParseScript(std::string_view(reinterpret_cast<const char*>(data), size), 24);
  if (script.empty()) return 0;
  fuzz::ScratchDir scratch;
  auto clock = std::make_shared<ManualClock>(fuzz::kFuzzEpochMs);
  auto engine = Engine::Open(scratch.Sub("data"), fuzz::EngineFuzzOptions(clock));
  FUZZ_CHECK(engine.ok(), "Engine::Open: {}", engine.status().ToString());
  {
    api::ServiceOptions so;
    so.token_key = "fuzz-token-key";
    api::KinesisService service(**engine, so);
    fuzz::ScriptState state;
    for (const fuzz::ScriptLine& line : script) {
      if (line.tick) {
        clock->AdvanceMs(line.tick_ms);
        (*engine)->Tick();
        continue;
      }
      const std::string body = state.Substitute(line.body);
      api::HttpResponse r = service.Call(line.operation, body);
      if (verbose) fmt::print(stderr, "{} {}\n  -> {} {}\n", line.operation, body, r.status, r.body);
      CheckResponse(r, line.operation, body);
      if (r.status == 200) state.Learn(r.body);
    }
  }
  Status st = (*engine)->Close();
  FUZZ_CHECK(st.ok(), "Engine::Close: {}", st.ToString());
  return 0;
}
