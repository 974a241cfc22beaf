#include "kernel/log_options.h"

namespace shoal {

std::string_view DurabilityName(Durability d) {
  switch (d) {
    case Durability::kNone: return "none";
    case Durability::kInterval: return "interval";
    case Durability::kAlways: return "always";
  }
  return "?";
}

Result<Durability> ParseDurability(std::string_view s) {
  if (s == "none") return Durability::kNone;
  if (s == "interval") return Durability::kInterval;
  if (s == "always") return Durability::kAlways;
  return Status::Make(Code::kInvalidArgument,
                      "durability '{}' is not one of: none, interval, always", s);
}

std::string_view WriteModeName(WriteMode m) {
  return m == WriteMode::kDirect ? "direct" : "buffered";
}

Result<WriteMode> ParseWriteMode(std::string_view s) {
  if (s == "buffered") return WriteMode::kBuffered;
  if (s == "direct") return WriteMode::kDirect;
  return Status::Make(Code::kInvalidArgument, "write mode '{}' is not one of: buffered, direct", s);
}

Status LogOptions::Validate() const {
  auto bad = [](std::string_view what, uint64_t v, uint64_t lo, uint64_t hi) {
    return Status::Make(Code::kInvalidArgument, "{} = {} is outside [{}, {}]", what, v, lo, hi);
  };
  if (interval_ms < 1 || interval_ms > 60000) return bad("interval_ms", interval_ms, 1, 60000);
  if (segment_bytes < (64u << 10) || segment_bytes > (2ull << 30))
    return bad("segment_bytes", segment_bytes, 64u << 10, 2ull << 30);
  if (index_interval_bytes < 256 || index_interval_bytes > (1u << 20))
    return bad("index_interval_bytes", index_interval_bytes, 256, 1u << 20);
  if (staging_bytes < (64u << 10) || staging_bytes > (1ull << 30))
    return bad("staging_bytes", staging_bytes, 64u << 10, 1ull << 30);
  if (max_record_bytes < 1 || max_record_bytes > (256u << 20))
    return bad("max_record_bytes", max_record_bytes, 1, 256u << 20);
  if (segment_max_age_ms < 0)
    return Status(Code::kInvalidArgument, "segment_max_age_ms must be >= 0 (0 disables)");
  return Status::Ok();
}

}  // namespace shoal
