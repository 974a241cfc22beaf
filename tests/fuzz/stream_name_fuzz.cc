// Fuzzes stream-name validation and the name <-> directory mapping (kernel/stream_name.h),
// plus shard-id parsing: every request names a stream or a shard, and a stream's name
// becomes a path component.
//
// Input: text; up to the first '\n' is name A, the rest name B. Properties:
//   * IsValidStreamName, StreamNameViolations and ValidateStreamName agree;
//   * EscapeForPath of a valid name is a safe component (not empty, ".", ".." or hidden;
//     only [a-z0-9_.-+^]; at most 192 bytes) and UnescapeFromPath undoes it;
//   * distinct valid names give distinct components (no case-folding collisions);
//   * UnescapeFromPath accepts only components EscapeForPath produces;
//   * ParseShardId's result is in range and round-trips through FormatShardId.
#include <cstdint>
#include <string>
#include <string_view>

#include "kernel/stream_name.h"
#include "tests/fuzz/support/check.h"

namespace {

using namespace shoal;

bool SafeComponentChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-' ||
         c == '+' || c == '^';
}

std::string CheckName(std::string_view name) {
  const bool valid = IsValidStreamName(name);
  FUZZ_CHECK(valid == StreamNameViolations(name).empty(), "IsValidStreamName and StreamNameViolations disagree");
  FUZZ_CHECK(valid == ValidateStreamName(name).ok(), "IsValidStreamName and ValidateStreamName disagree");
  const std::string esc = EscapeForPath(name);
  if (!valid) {
    FUZZ_CHECK(esc.empty(), "an invalid name escaped to '{}'", esc);
    return esc;
  }
  FUZZ_CHECK(!esc.empty() && esc != "." && esc != ".." && esc[0] != '.', "unsafe component '{}'", esc);
  FUZZ_CHECK(esc.size() <= 192, "component of {} bytes", esc.size());
  for (char c : esc) FUZZ_CHECK(SafeComponentChar(c), "component '{}' holds {:#x}", esc, static_cast<unsigned char>(c));
  auto back = UnescapeFromPath(esc);
  FUZZ_CHECK(back.ok() && *back == name, "'{}' escaped to '{}' does not come back", name, esc);
  return esc;
}

void CheckComponent(std::string_view comp) {
  auto name = UnescapeFromPath(comp);
  if (!name.ok()) return;
  FUZZ_CHECK(IsValidStreamName(*name), "component '{}' unescaped to an invalid name", comp);
  FUZZ_CHECK(EscapeForPath(*name) == comp, "component '{}' is not what its name '{}' escapes to", comp, *name);
}

void CheckShardId(std::string_view text) {
  auto idx = ParseShardId(text);
  if (!idx.ok()) {
    FUZZ_CHECK(idx.status().code() == Code::kInvalidArgument, "unexpected error {}", idx.status().ToString());
    return;
  }
  FUZZ_CHECK(idx->value <= kMaxShardIndex, "shard index {} above the limit", idx->value);
  auto again = ParseShardId(FormatShardId(*idx));
  FUZZ_CHECK(again.ok() && *again == *idx, "{} does not round-trip", FormatShardId(*idx));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const size_t nl = in.find('\n');
  std::string_view a = in.substr(0, nl);
  std::string_view b = nl == std::string_view::npos ? std::string_view() : in.substr(nl + 1);
  const std::string ea = CheckName(a);
  const std::string eb = CheckName(b);
  if (!ea.empty() && !eb.empty() && a != b)
    FUZZ_CHECK(ea != eb, "'{}' and '{}' share the component '{}'", a, b, ea);
  CheckComponent(a);
  CheckComponent(in);
  CheckShardId(a);
  CheckShardId(in);
  return 0;
}
