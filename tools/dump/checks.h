// shoal-dump's checkers: each walks one kind of file with kernel/format.h, reports to a
// Sink, and returns what it learned so a caller can cross-check files against each other
// (an index against its segment, segments against each other and log.meta).
//
// They never modify a file. Every Problem names the byte position and says what
// ShardLog::Open will do about it (kernel/shard_log_recovery.cc) and what to do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "kernel/format.h"
#include "tools/dump/sink.h"

namespace shoal::dump {

struct DumpOptions {
  bool records = false;  // list every record (segments) / every entry (indexes)
  bool data = false;     // with records: a preview of each record's data
};

// The first bytes of each record's data that --data shows.
inline constexpr size_t kDataPreviewBytes = 64;

// How the log uses a segment; decides what a damaged byte means and what to advise.
enum class SegmentRole {
  kUnknown,        // dumped on its own: no .idx or CLEAN describes it
  kIndexed,        // a .idx (sealed) or CLEAN (active) describes it: Open never scans it
  kScannedLast,    // the last segment with data and no index: Open scans it, cuts a torn tail
  kScannedMiddle,  // an older segment without index: Open scans it and writes its index
};

// What the dump knows about how the log uses a segment.
struct SegmentContext {
  SegmentRole role = SegmentRole::kUnknown;
  // kIndexed: where the index says the data ends, and whether that index is CLEAN (the
  // active segment, which appends go on filling) rather than a sealed .idx.
  uint64_t indexed_end = 0;
  bool clean = false;
};

// A frame whose header passed the checks (its CRC may still have failed).
struct FrameMark {
  uint64_t pos = 0;
  uint32_t len = 0;
  uint32_t count = 0;
  uint64_t base_offset = 0;
  int64_t base_ts = 0;
  bool crc_ok = false;
};

struct SegmentFacts {
  bool readable = false;  // the file could be opened and mapped
  uint64_t file_size = 0;
  bool header_ok = false;
  uint64_t ordinal = 0;  // from the header (if header_ok)
  int64_t created_ms = 0;
  std::vector<FrameMark> frames;                   // every frame with a sane header, in file order
  uint64_t walk_end = format::kSegmentHeaderSize;  // end of the last of those frames
  // What ShardLog's scan would keep: the frames before the first bad byte.
  uint64_t valid_frames = 0;
  uint64_t valid_end = format::kSegmentHeaderSize;
  uint64_t records = 0;      // in the valid frames
  uint64_t base_offset = 0;  // of the valid frames (meaningful if valid_frames > 0)
  uint64_t next_offset = 0;
  int64_t first_ts = 0;
  int64_t last_ts = 0;
  bool damaged = false;  // bad bytes inside or after the data (see the report)
  uint64_t bad_pos = 0;  // first bad byte, if damaged
  int problems = 0;
};

// Dumps and verifies a segment file.
SegmentFacts CheckSegment(io::FileSystem& fs, const std::string& path, const SegmentContext& ctx,
                          const DumpOptions& opt, Sink& sink);

struct IndexFacts {
  bool valid = false;  // decoded and passed format::DecodeIndex
  format::SegmentSummary summary;
  std::vector<format::IndexEntry> entries;
};

// Dumps and verifies an index file (.idx), or a CLEAN marker (`clean`: same encoding,
// describing the active segment). If `segment` is given (the facts of the segment the
// index describes, from a walk of that file), cross-checks every entry and the summary.
IndexFacts CheckIndex(io::FileSystem& fs, const std::string& path, bool clean,
                      const SegmentFacts* segment, const std::string& segment_path,
                      const DumpOptions& opt, Sink& sink);

// Dumps and verifies log.meta.
std::optional<format::LogMeta> CheckMeta(io::FileSystem& fs, const std::string& path, Sink& sink);

// Dumps a shard log directory: log.meta, each segment in ordinal order with its index
// (and CLEAN), then one "log" report on how they fit together.
void CheckLogDir(io::FileSystem& fs, const std::string& dir, const DumpOptions& opt, Sink& sink);

// --- shared helpers --------------------------------------------------------------------
// "a/b/000000000001.seg" -> "000000000001.seg".
std::string BaseName(const std::string& path);
// Parses "000000000042.idx" -> 42 (the index twin of format::ParseSegmentFileName).
bool ParseIndexFileName(std::string_view name, uint64_t* ordinal);
// Finds the segment an index or CLEAN describes: <dir>/<ordinal>.seg (for CLEAN, whose
// ordinal holds only the low 32 bits, any segment whose ordinal matches them). Empty if
// there is none.
std::string FindSegmentFor(io::FileSystem& fs, const std::string& dir, uint32_t ordinal_low32,
                           const std::string& index_path, bool clean);

}  // namespace shoal::dump
