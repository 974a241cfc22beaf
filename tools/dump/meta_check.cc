// Dumps and verifies log.meta: the persisted logical start and the sealed flag.
#include <fmt/format.h>

#include "io/crc32c.h"
#include "tools/dump/checks.h"

namespace shoal::dump {

// log.meta's layout lives in kernel/format.cc (EncodeMeta), not as named constants in
// format.h; these mirror it and the decoder below is the authority.
namespace {
constexpr size_t kMetaSize = 40;
constexpr size_t kMetaVersionAt = 8;      // u32
constexpr size_t kMetaFlagsAt = 12;       // u32, bit 0: sealed
constexpr size_t kMetaStartAt = 16;       // u64 start offset
constexpr size_t kMetaSealedNextAt = 24;  // u64 end offset when sealed
constexpr size_t kMetaCrcAt = 32;         // u32 CRC32C of [0, 32)
}  // namespace

std::optional<format::LogMeta> CheckMeta(io::FileSystem& fs, const std::string& path, Sink& sink) {
  using namespace shoal::format;  // NOLINT
  sink.BeginFile("meta", path);
  auto read = io::ReadWholeFile(fs, path);
  if (!read.ok()) {
    sink.Problem(fmt::format("cannot read the file: {}", read.status().message()));
    sink.EndFile();
    return std::nullopt;
  }
  const std::string& bytes = *read;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() >= kMetaSize) {
    const uint32_t stored = Load32(p + kMetaCrcAt);
    const uint32_t computed = io::Crc32c(p, kMetaCrcAt);
    const bool magic_ok = Load64(p) == kMetaMagic;
    Fields fields = {{"file_size", U(bytes.size())},
                     {"magic", S(magic_ok ? "SHOALMTA" : "bad")},
                     {"version", U(Load32(p + kMetaVersionAt))},
                     {"start_offset", U(Load64(p + kMetaStartAt))},
                     {"sealed", B(Load32(p + kMetaFlagsAt) & 1)},
                     {"sealed_next_offset", U(Load64(p + kMetaSealedNextAt))},
                     {"crc", S(stored == computed ? "ok" : "mismatch")}};
    if (stored != computed) {
      fields.push_back({"crc_stored", Crc(stored)});
      fields.push_back({"crc_computed", Crc(computed)});
    }
    sink.Section("header", fields);
  } else {
    sink.Section("header", {{"file_size", U(bytes.size())}});
  }
  auto meta = DecodeMeta(bytes, path);
  if (!meta.ok()) {
    sink.Problem(fmt::format(
        "{}{}: ShardLog::Open fails on this log. log.meta holds the log's start offset (records "
        "below it were trimmed and must not come back): rewrite it with the start offset of the "
        "first segment you keep",
        meta.status().message(),
        bytes.size() != kMetaSize
            ? fmt::format(" (it is {} bytes, log.meta is {})", bytes.size(), kMetaSize)
            : ""));
    sink.EndFile();
    return std::nullopt;
  }
  if (Load32(p + kMetaFlagsAt) & ~1u)
    sink.Note(
        fmt::format("flags {:#x} has bits this version does not know", Load32(p + kMetaFlagsAt)));
  if (!meta->sealed && meta->sealed_next_offset != 0)
    sink.Note("sealed_next_offset is set but the log is not sealed");
  sink.EndFile();
  return *meta;
}

}  // namespace shoal::dump
