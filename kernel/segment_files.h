// File-level operations on segments: create (ahead of need), open, scan, seal.
// Used by ShardLog on its open path, its writer thread and the background thread.
#pragma once

#include <string>

#include "io/file_system.h"
#include "kernel/segment.h"

namespace shoal {

struct SegmentSpec {
  std::string dir;
  uint64_t ordinal = 0;
  uint64_t capacity = 0;  // the most bytes the file may grow to
  // Bytes fallocated at creation. 1 MiB: an idle shard (and its spare) costs ~2 MiB of
  // disk instead of two whole segments; the writer grows the file ahead of itself.
  uint64_t initial_alloc = 1u << 20;
  bool direct = false;    // open the write fd with O_DIRECT
  uint32_t index_interval = 4096;
};

// Index entries a segment of `capacity` bytes can need at one entry per `interval`.
size_t IndexCapacityFor(uint64_t capacity, uint32_t interval);

std::string SegmentPath(const std::string& dir, uint64_t ordinal);
std::string IndexPathFor(const Segment& seg);

// Creates <ordinal>.seg.tmp, writes the header, fallocates `capacity` bytes, fdatasyncs,
// renames it into place and fsyncs the directory, then opens the write fd. Meant for the
// background thread: fallocate can take milliseconds (Redpanda #376).
Result<SegmentPtr> CreateSegmentFile(io::FileSystem& fs, const SegmentSpec& spec);

// Opens a segment file for writing, with O_DIRECT if `direct` and the file system allows
// it (falls back to buffered writes where it does not, e.g. tmpfs).
Result<io::UniqueFd> OpenSegmentWriteFd(io::FileSystem& fs, const std::string& path, bool direct);

// Opens an existing segment: checks its header. Its capacity is max(file size,
// spec.capacity); its allocated size is the file size.
Result<SegmentPtr> OpenSegmentFile(io::FileSystem& fs, const SegmentSpec& spec);

// What a scan of a segment found.
struct ScanResult {
  bool torn = false;        // stopped at a bad or partial frame (not at clean zeros)
  uint64_t bad_pos = 0;     // where, if torn
  std::string reason;       // why, if torn
  uint64_t frames = 0;
};
// Scans every frame of `seg` from its header, verifying CRCs, rebuilding the index and
// summary into `seg` (Restore). `expected_base` is the offset its first frame must have
// (UINT64_MAX if unknown). An empty segment gets base expected_base, or `empty_base`
// when that is unknown.
Result<ScanResult> ScanSegmentFile(io::FileSystem& fs, Segment& seg, uint64_t expected_base,
                                   uint64_t empty_base, uint32_t index_interval);

// Grows the segment's file to at least `want` bytes (doubling, capped at its capacity).
Status ExtendSegmentFile(io::FileSystem& fs, Segment& seg, uint64_t want);

// Seals a segment that holds its final data: fdatasync, write <ordinal>.idx atomically,
// release the preallocated tail (ftruncate to the data's end), close the write fd.
Status SealSegmentFiles(io::FileSystem& fs, Segment& seg);

}  // namespace shoal
