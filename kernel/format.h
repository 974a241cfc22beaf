// The on-disk format of a shard log: every field offset and size as a named constant.
// docs/format.md explains the layout with a worked example and the reasons for it.
//
// All integers are little-endian. A shard log directory holds:
//   log.meta             LogMeta: logical start offset, sealed flag (replaced atomically)
//   NNNNNNNNNNNN.seg     segment files, named by a 12-digit ordinal (not by base offset:
//                        the next segment is created and fallocate()d ahead of time, before
//                        its base offset is known, so a roll needs no rename on the
//                        append path). The base offset is in the first frame and the index.
//   NNNNNNNNNNNN.idx     sealed-segment index (absent for the active segment)
//   CLEAN                written by a clean Close(): the active segment's end and index, so
//                        reopening reads no record data
//
// Segment file = SegmentHeader (4096 bytes, so frames start block-aligned and O_DIRECT is
// possible) + frames back to back + zeros (fallocated space). A frame is one append call
// (one batch): FrameHeader (32 bytes) + records + zero padding to a multiple of 8 (in
// O_DIRECT mode, the last frame of a flush is padded to the 4 KiB block so no block is
// ever written twice). The CRC32C covers everything after the crc field, including the
// base offset and timestamp, so a stale or torn frame cannot pass for a valid one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "io/status.h"

namespace shoal::format {

// --- little-endian helpers (x86/ARM are little-endian; memcpy keeps it alignment-safe) ---
inline uint16_t Load16(const uint8_t* p) { uint16_t v; std::memcpy(&v, p, 2); return v; }
inline uint32_t Load32(const uint8_t* p) { uint32_t v; std::memcpy(&v, p, 4); return v; }
inline uint64_t Load64(const uint8_t* p) { uint64_t v; std::memcpy(&v, p, 8); return v; }
inline void Store16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, 2); }
inline void Store32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, 4); }
inline void Store64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, 8); }
static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "Shoal's format is little-endian");

// --- segment file header ----------------------------------------------------
inline constexpr uint64_t kSegmentMagic = 0x4745534c414f4853ull;  // "SHOALSEG"
inline constexpr uint32_t kSegmentVersion = 1;
inline constexpr size_t kSegmentHeaderSize = 4096;
// Field offsets inside the header.
inline constexpr size_t kSegHdrMagic = 0;       // u64
inline constexpr size_t kSegHdrVersion = 8;     // u32
inline constexpr size_t kSegHdrHeaderSize = 12; // u32, = kSegmentHeaderSize
inline constexpr size_t kSegHdrOrdinal = 16;    // u64, = the number in the file name
inline constexpr size_t kSegHdrCreatedMs = 24;  // i64, wall clock at creation
inline constexpr size_t kSegHdrCrc = 32;        // u32, CRC32C of bytes [0, 32)
inline constexpr size_t kSegHdrUsed = 36;

struct SegmentHeader {
  uint64_t ordinal = 0;
  int64_t created_ms = 0;
};
void EncodeSegmentHeader(const SegmentHeader& h, uint8_t out[kSegmentHeaderSize]);
Result<SegmentHeader> DecodeSegmentHeader(const uint8_t* p, size_t n, std::string_view file);

// --- frame (batch) header -----------------------------------------------------
inline constexpr size_t kFrameHeaderSize = 32;
inline constexpr size_t kFrameLen = 0;        // u32: total bytes incl. header and padding
inline constexpr size_t kFrameCrc = 4;        // u32: CRC32C of bytes [8, frame_len)
inline constexpr size_t kFrameMagic = 8;      // u16
inline constexpr size_t kFrameVersion = 10;   // u8
inline constexpr size_t kFrameFlags = 11;     // u8 (reserved, 0)
inline constexpr size_t kFrameCount = 12;     // u32: records in the frame (>= 1)
inline constexpr size_t kFrameBaseOffset = 16;  // u64: offset of the first record
inline constexpr size_t kFrameBaseTs = 24;    // i64: arrival ms of the first record
inline constexpr uint16_t kFrameMagicValue = 0x4853;  // "SH"
inline constexpr uint8_t kFrameVersionValue = 1;
inline constexpr size_t kFrameAlign = 8;

// --- record, inside a frame ---------------------------------------------------
inline constexpr size_t kRecordHeaderSize = 12;
inline constexpr size_t kRecTsDelta = 0;   // u32: ms after the frame's base timestamp
inline constexpr size_t kRecDataLen = 4;   // u32
inline constexpr size_t kRecKeyLen = 8;    // u16
inline constexpr size_t kRecReserved = 10; // u16, 0
// followed by key bytes, then data bytes (unaligned)

// Kinesis partition keys are 1..256 characters; in UTF-8 that is up to 1024 bytes (the
// key length field is u16).
inline constexpr size_t kMaxKeyBytes = 1024;
inline constexpr uint32_t kMaxFrameBytes = 1u << 30;  // sanity bound for scanners

inline constexpr size_t AlignUp(size_t n, size_t a) { return (n + a - 1) / a * a; }
inline constexpr size_t RecordBytes(size_t key, size_t data) {
  return kRecordHeaderSize + key + data;
}

// A parsed, checked frame header.
struct FrameInfo {
  uint32_t len = 0;
  uint32_t count = 0;
  uint64_t base_offset = 0;
  int64_t base_ts = 0;
  uint64_t next_offset() const { return base_offset + count; }
};

enum class FrameCheck {
  kOk,
  kEnd,          // frame_len == 0: zeros, the end of written data
  kTruncated,    // fewer than a header's bytes, or frame_len past the readable end
  kBadHeader,    // wrong magic/version, or a length that cannot be a frame
  kBadCrc,       // the checksum does not match
  kBadRecords,   // records do not parse to exactly the frame
};
std::string_view FrameCheckName(FrameCheck c);

// Checks the frame at p (with `avail` readable bytes): header, length, and (if
// verify_crc) the CRC and the record layout. On kOk fills *info.
FrameCheck CheckFrame(const uint8_t* p, size_t avail, bool verify_crc, FrameInfo* info);

// Checks that the records of a frame whose header passed CheckFrame fit it exactly, and
// that every record's timestamp (base_ts + delta) is an int64 (what CheckFrame does with
// verify_crc, minus the CRC): NextRecord trusts these lengths and sums.
FrameCheck CheckRecords(const uint8_t* frame, const FrameInfo& info);

// Walks the records of a checked frame.
struct RecordCursor {
  const uint8_t* p;
  const uint8_t* end;
  uint64_t offset;
  int64_t base_ts;
  uint32_t remaining;
};
struct RawRecord {
  uint64_t offset;
  int64_t ts_ms;
  std::string_view key;
  std::string_view data;
};
inline RecordCursor Records(const uint8_t* frame, const FrameInfo& fi) {
  return RecordCursor{frame + kFrameHeaderSize, frame + fi.len, fi.base_offset, fi.base_ts,
                      fi.count};
}
// Next record; false when done. Only call on frames CheckFrame accepted with CRC
// verification or whose layout was validated (it trusts the lengths).
inline bool NextRecord(RecordCursor& c, RawRecord* r) {
  if (c.remaining == 0) return false;
  uint32_t delta = Load32(c.p + kRecTsDelta);
  uint32_t dlen = Load32(c.p + kRecDataLen);
  uint16_t klen = Load16(c.p + kRecKeyLen);
  const char* k = reinterpret_cast<const char*>(c.p + kRecordHeaderSize);
  r->offset = c.offset++;
  r->ts_ms = c.base_ts + delta;
  r->key = std::string_view(k, klen);
  r->data = std::string_view(k + klen, dlen);
  c.p += kRecordHeaderSize + klen + dlen;
  --c.remaining;
  return true;
}

// --- segment index file (.idx) ------------------------------------------------
// One sparse index serves offset and time lookups: timestamps are non-decreasing within
// a shard, so the same entries are sorted by both keys. An entry is written at a frame
// start whenever >= index_interval_bytes were written since the previous entry, and for
// the first frame of every segment.
inline constexpr uint64_t kIndexMagic = 0x5844494c414f4853ull;  // "SHOALIDX"
inline constexpr uint32_t kIndexVersion = 1;
inline constexpr size_t kIndexHeaderSize = 64;
inline constexpr size_t kIdxMagic = 0;        // u64
inline constexpr size_t kIdxVersion = 8;      // u32
inline constexpr size_t kIdxCount = 12;       // u32 entries
inline constexpr size_t kIdxBaseOffset = 16;  // u64 first offset in the segment
inline constexpr size_t kIdxNextOffset = 24;  // u64 one past the last offset
inline constexpr size_t kIdxEndPos = 32;      // u64 end of valid data in the .seg file
inline constexpr size_t kIdxFirstTs = 40;     // i64
inline constexpr size_t kIdxLastTs = 48;      // i64
inline constexpr size_t kIdxOrdinal = 56;     // u32 (low 32 bits of the segment ordinal)
inline constexpr size_t kIdxCrc = 60;         // u32 CRC32C of [0,60) + entries
inline constexpr size_t kIndexEntrySize = 16;
// Entry: u32 offset delta from base, u32 file position, i64 timestamp of that record.
struct IndexEntry {
  uint32_t rel_offset;
  uint32_t pos;
  int64_t ts;
};
static_assert(sizeof(IndexEntry) == kIndexEntrySize);

struct SegmentSummary {
  uint64_t base_offset = 0;
  uint64_t next_offset = 0;
  uint64_t end_pos = kSegmentHeaderSize;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
  uint32_t ordinal = 0;
};
std::string EncodeIndex(const SegmentSummary& s, const IndexEntry* entries, size_t n);
// Decodes and verifies (magic, version, CRC, sizes, sortedness). `entries` is filled.
Status DecodeIndex(std::string_view bytes, std::string_view file, SegmentSummary* s,
                   std::string* entries_out);

// --- log.meta -------------------------------------------------------------------
inline constexpr uint64_t kMetaMagic = 0x41544d4c414f4853ull;  // "SHOALMTA"
inline constexpr uint32_t kMetaVersion = 1;
inline constexpr size_t kMetaSize = 40;
inline constexpr size_t kMetaMagicAt = 0;       // u64
inline constexpr size_t kMetaVersionAt = 8;     // u32
inline constexpr size_t kMetaFlagsAt = 12;      // u32, bit 0 = sealed
inline constexpr size_t kMetaStartAt = 16;      // u64 start offset
inline constexpr size_t kMetaSealedNextAt = 24; // u64 end offset when sealed
inline constexpr size_t kMetaCrcAt = 32;        // u32 CRC32C of [0, 32); [36, 40) is zero
struct LogMeta {
  uint64_t start_offset = 0;  // logical start: offsets below it are trimmed forever
  bool sealed = false;        // closed for appends (resharding)
  uint64_t sealed_next_offset = 0;
};
std::string EncodeMeta(const LogMeta& m);
Result<LogMeta> DecodeMeta(std::string_view bytes, std::string_view file);

// --- CLEAN ----------------------------------------------------------------------
// CLEAN holds the active segment's summary and index in the .idx encoding (same magic),
// so a clean reopen rebuilds nothing. Its name alone says it is the clean marker.

// Names.
std::string SegmentFileName(uint64_t ordinal);  // "000000000042.seg"
std::string IndexFileName(uint64_t ordinal);    // "000000000042.idx"
// Parses "000000000042.seg" -> 42; false for anything else.
bool ParseSegmentFileName(std::string_view name, uint64_t* ordinal);
// Parses "000000000042.idx" -> 42; false for anything else.
bool ParseIndexFileName(std::string_view name, uint64_t* ordinal);

}  // namespace shoal::format
