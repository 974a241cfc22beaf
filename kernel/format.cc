#include "kernel/format.h"

#include <fmt/format.h>

#include <cstdint>

#include "io/crc32c.h"

namespace shoal::format {

void EncodeSegmentHeader(const SegmentHeader& h, uint8_t out[kSegmentHeaderSize]) {
  std::memset(out, 0, kSegmentHeaderSize);
  Store64(out + kSegHdrMagic, kSegmentMagic);
  Store32(out + kSegHdrVersion, kSegmentVersion);
  Store32(out + kSegHdrHeaderSize, kSegmentHeaderSize);
  Store64(out + kSegHdrOrdinal, h.ordinal);
  Store64(out + kSegHdrCreatedMs, static_cast<uint64_t>(h.created_ms));
  Store32(out + kSegHdrCrc, io::Crc32c(out, kSegHdrCrc));
}

Result<SegmentHeader> DecodeSegmentHeader(const uint8_t* p, size_t n, std::string_view file) {
  if (n < kSegHdrUsed)
    return Status::Make(Code::kCorruption, "{}: segment header truncated ({} bytes)", file, n);
  if (Load64(p + kSegHdrMagic) != kSegmentMagic)
    return Status::Make(Code::kCorruption, "{}: not a Shoal segment file (bad magic)", file);
  if (Load32(p + kSegHdrVersion) != kSegmentVersion)
    return Status::Make(Code::kCorruption, "{}: segment format version {} is not supported (this build reads {})",
                        file, Load32(p + kSegHdrVersion), kSegmentVersion);
  if (Load32(p + kSegHdrCrc) != io::Crc32c(p, kSegHdrCrc))
    return Status::Make(Code::kCorruption, "{}: segment header CRC mismatch", file);
  if (Load32(p + kSegHdrHeaderSize) != kSegmentHeaderSize)
    return Status::Make(Code::kCorruption, "{}: unexpected segment header size", file);
  SegmentHeader h;
  h.ordinal = Load64(p + kSegHdrOrdinal);
  h.created_ms = static_cast<int64_t>(Load64(p + kSegHdrCreatedMs));
  return h;
}

std::string_view FrameCheckName(FrameCheck c) {
  switch (c) {
    case FrameCheck::kOk: return "ok";
    case FrameCheck::kEnd: return "end of data";
    case FrameCheck::kTruncated: return "truncated frame";
    case FrameCheck::kBadHeader: return "bad frame header";
    case FrameCheck::kBadCrc: return "CRC mismatch";
    case FrameCheck::kBadRecords: return "record lengths do not fit the frame";
  }
  return "?";
}

FrameCheck CheckFrame(const uint8_t* p, size_t avail, bool verify_crc, FrameInfo* info) {
  if (avail < 4) return avail == 0 ? FrameCheck::kEnd : FrameCheck::kTruncated;
  uint32_t len = Load32(p + kFrameLen);
  if (len == 0) return FrameCheck::kEnd;
  if (avail < kFrameHeaderSize) return FrameCheck::kTruncated;
  if (Load16(p + kFrameMagic) != kFrameMagicValue || p[kFrameVersion] != kFrameVersionValue ||
      len < kFrameHeaderSize + kRecordHeaderSize || len % kFrameAlign != 0 || len > kMaxFrameBytes)
    return FrameCheck::kBadHeader;
  uint32_t count = Load32(p + kFrameCount);
  if (count == 0 || count > (len - kFrameHeaderSize) / kRecordHeaderSize)
    return FrameCheck::kBadHeader;
  if (len > avail) return FrameCheck::kTruncated;
  if (verify_crc) {
    if (Load32(p + kFrameCrc) != io::Crc32c(p + 8, len - 8)) return FrameCheck::kBadCrc;
  }
  info->len = len;
  info->count = count;
  info->base_offset = Load64(p + kFrameBaseOffset);
  info->base_ts = static_cast<int64_t>(Load64(p + kFrameBaseTs));
  // Walk the record lengths so later cursors can trust them. Only zero padding (less than
  // one alignment unit, or up to a 4 KiB block in O_DIRECT mode) may follow the last
  // record; the CRC vouches for its content.
  if (verify_crc) return CheckRecords(p, *info);
  return FrameCheck::kOk;
}

FrameCheck CheckRecords(const uint8_t* p, const FrameInfo& info) {
  const uint8_t* r = p + kFrameHeaderSize;
  const uint8_t* end = p + info.len;
  for (uint32_t i = 0; i < info.count; ++i) {
    if (static_cast<size_t>(end - r) < kRecordHeaderSize) return FrameCheck::kBadRecords;
    uint64_t need = kRecordHeaderSize + uint64_t{Load16(r + kRecKeyLen)} + Load32(r + kRecDataLen);
    if (need > static_cast<uint64_t>(end - r)) return FrameCheck::kBadRecords;
    // NextRecord computes base_ts + delta: it must fit an int64. A writer never makes one
    // that does not; a damaged frame whose CRC still matches could (found by frame_fuzz).
    if (info.base_ts > INT64_MAX - int64_t{Load32(r + kRecTsDelta)}) return FrameCheck::kBadRecords;
    r += need;
  }
  return FrameCheck::kOk;
}

std::string EncodeIndex(const SegmentSummary& s, const IndexEntry* entries, size_t n) {
  std::string out(kIndexHeaderSize + n * kIndexEntrySize, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  Store64(p + kIdxMagic, kIndexMagic);
  Store32(p + kIdxVersion, kIndexVersion);
  Store32(p + kIdxCount, static_cast<uint32_t>(n));
  Store64(p + kIdxBaseOffset, s.base_offset);
  Store64(p + kIdxNextOffset, s.next_offset);
  Store64(p + kIdxEndPos, s.end_pos);
  Store64(p + kIdxFirstTs, static_cast<uint64_t>(s.first_ts));
  Store64(p + kIdxLastTs, static_cast<uint64_t>(s.last_ts));
  Store32(p + kIdxOrdinal, s.ordinal);
  if (n) std::memcpy(p + kIndexHeaderSize, entries, n * kIndexEntrySize);
  uint32_t crc = io::Crc32c(p, kIdxCrc);
  crc = io::Crc32cExtend(crc, p + kIndexHeaderSize, n * kIndexEntrySize);
  Store32(p + kIdxCrc, crc);
  return out;
}

Status DecodeIndex(std::string_view bytes, std::string_view file, SegmentSummary* s,
                   std::string* entries_out) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < kIndexHeaderSize)
    return Status::Make(Code::kCorruption, "{}: index file truncated ({} bytes)", file, bytes.size());
  if (Load64(p + kIdxMagic) != kIndexMagic)
    return Status::Make(Code::kCorruption, "{}: not a Shoal index (bad magic)", file);
  if (Load32(p + kIdxVersion) != kIndexVersion)
    return Status::Make(Code::kCorruption, "{}: index version {} is not supported (this build reads {})",
                        file, Load32(p + kIdxVersion), kIndexVersion);
  uint32_t n = Load32(p + kIdxCount);
  if (bytes.size() != kIndexHeaderSize + uint64_t{n} * kIndexEntrySize)
    return Status::Make(Code::kCorruption, "{}: index holds {} bytes, its header promises {} entries",
                        file, bytes.size(), n);
  uint32_t crc = io::Crc32c(p, kIdxCrc);
  crc = io::Crc32cExtend(crc, p + kIndexHeaderSize, n * kIndexEntrySize);
  if (crc != Load32(p + kIdxCrc))
    return Status::Make(Code::kCorruption, "{}: index CRC mismatch", file);
  s->base_offset = Load64(p + kIdxBaseOffset);
  s->next_offset = Load64(p + kIdxNextOffset);
  s->end_pos = Load64(p + kIdxEndPos);
  s->first_ts = static_cast<int64_t>(Load64(p + kIdxFirstTs));
  s->last_ts = static_cast<int64_t>(Load64(p + kIdxLastTs));
  s->ordinal = Load32(p + kIdxOrdinal);
  if (s->next_offset < s->base_offset || s->end_pos < kSegmentHeaderSize ||
      s->last_ts < s->first_ts)
    return Status::Make(Code::kCorruption, "{}: index summary is inconsistent", file);
  const uint8_t* e = p + kIndexHeaderSize;
  for (uint32_t i = 1; i < n; ++i) {
    IndexEntry a, b;
    std::memcpy(&a, e + (i - 1) * kIndexEntrySize, kIndexEntrySize);
    std::memcpy(&b, e + i * kIndexEntrySize, kIndexEntrySize);
    if (b.rel_offset <= a.rel_offset || b.pos <= a.pos || b.ts < a.ts)
      return Status::Make(Code::kCorruption, "{}: index entries out of order at {}", file, i);
  }
  entries_out->assign(reinterpret_cast<const char*>(e), n * kIndexEntrySize);
  return Status::Ok();
}

std::string EncodeMeta(const LogMeta& m) {
  std::string out(kMetaSize, '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  Store64(p + kMetaMagicAt, kMetaMagic);
  Store32(p + kMetaVersionAt, kMetaVersion);
  Store32(p + kMetaFlagsAt, m.sealed ? 1u : 0u);
  Store64(p + kMetaStartAt, m.start_offset);
  Store64(p + kMetaSealedNextAt, m.sealed_next_offset);
  Store32(p + kMetaCrcAt, io::Crc32c(p, kMetaCrcAt));
  return out;
}

Result<LogMeta> DecodeMeta(std::string_view bytes, std::string_view file) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < 8 || Load64(p + kMetaMagicAt) != kMetaMagic)
    return Status::Make(Code::kCorruption, "{}: not a Shoal log.meta file", file);
  if (bytes.size() != kMetaSize)
    return Status::Make(Code::kCorruption, "{}: log.meta is {} bytes, expected {}", file, bytes.size(), kMetaSize);
  if (Load32(p + kMetaVersionAt) != kMetaVersion)
    return Status::Make(Code::kCorruption, "{}: meta version {} is not supported", file, Load32(p + kMetaVersionAt));
  if (Load32(p + kMetaCrcAt) != io::Crc32c(p, kMetaCrcAt))
    return Status::Make(Code::kCorruption, "{}: log.meta CRC mismatch", file);
  LogMeta m;
  m.sealed = Load32(p + kMetaFlagsAt) & 1;
  m.start_offset = Load64(p + kMetaStartAt);
  m.sealed_next_offset = Load64(p + kMetaSealedNextAt);
  return m;
}

std::string SegmentFileName(uint64_t ordinal) { return fmt::format("{:012}.seg", ordinal); }
std::string IndexFileName(uint64_t ordinal) { return fmt::format("{:012}.idx", ordinal); }

namespace {

bool ParseOrdinalFileName(std::string_view name, std::string_view suffix, uint64_t* ordinal) {
  if (name.size() != 16 || name.substr(12) != suffix) return false;
  uint64_t v = 0;
  for (size_t i = 0; i < 12; ++i) {
    if (name[i] < '0' || name[i] > '9') return false;
    v = v * 10 + static_cast<uint64_t>(name[i] - '0');
  }
  *ordinal = v;
  return true;
}

}  // namespace

bool ParseSegmentFileName(std::string_view name, uint64_t* ordinal) {
  return ParseOrdinalFileName(name, ".seg", ordinal);
}

bool ParseIndexFileName(std::string_view name, uint64_t* ordinal) {
  return ParseOrdinalFileName(name, ".idx", ordinal);
}

}  // namespace shoal::format
