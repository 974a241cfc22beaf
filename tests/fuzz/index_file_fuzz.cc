// Fuzzes the decoder of segment index files (*.idx, and CLEAN, which uses the same
// encoding): format::DecodeIndex on arbitrary bytes. What it accepts must survive the
// trip recovery makes with it: Segment::Restore, lookups by offset and by time, and
// Segment::EncodeIndexFile, which must give back the same bytes.
//
// Input: byte 0 bit 0 recomputes the entry count and the CRC (else nearly every input
// would stop at "CRC mismatch"); the rest is the file.
#include <cstdint>
#include <string>

#include "kernel/format.h"
#include "kernel/segment.h"
#include "tests/fuzz/support/check.h"
#include "tests/fuzz/support/file_bundle.h"

namespace f = shoal::format;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  std::string file(reinterpret_cast<const char*>(data + 1), size - 1);
  if (data[0] & 1) shoal::fuzz::FixChecksums(shoal::fuzz::BundleFile::kIndex, &file);
  f::SegmentSummary s;
  std::string entries;
  shoal::Status st = f::DecodeIndex(file, "fuzz.idx", &s, &entries);
  if (!st.ok()) {
    FUZZ_CHECK(st.code() == shoal::Code::kCorruption, "unexpected error {}", st.ToString());
    return 0;
  }
  FUZZ_CHECK(entries.size() % f::kIndexEntrySize == 0, "entries of {} bytes", entries.size());
  const size_t n = entries.size() / f::kIndexEntrySize;
  const auto* e = reinterpret_cast<const f::IndexEntry*>(entries.data());
  FUZZ_CHECK(f::EncodeIndex(s, e, n) == file, "re-encoding the decoded index changed it");

  // What recovery does with a trusted index: restore it into a segment and look things up.
  shoal::Segment seg("fuzz.seg", s.ordinal, 1 << 16, 1 << 16, 4);
  seg.Restore(s, e, n);
  FUZZ_CHECK(seg.index_count() == n, "restored {} of {} entries", seg.index_count(), n);
  FUZZ_CHECK(seg.EncodeIndexFile() == file, "a restored segment encodes a different index");
  auto valid_pos = [&](uint64_t pos) {
    if (pos == f::kSegmentHeaderSize) return true;
    for (size_t i = 0; i < n; ++i)
      if (e[i].pos == pos) return true;
    return false;
  };
  const uint64_t probes[] = {s.base_offset, s.next_offset - 1, s.base_offset + (s.next_offset - s.base_offset) / 2};
  if (s.next_offset > s.base_offset)
    for (uint64_t off : probes) FUZZ_CHECK(valid_pos(seg.SeekOffset(off)), "SeekOffset({}) is no entry", off);
  const int64_t ts_probes[] = {s.first_ts, s.last_ts, INT64_MIN, INT64_MAX};
  for (int64_t ts : ts_probes) FUZZ_CHECK(valid_pos(seg.SeekTimestamp(ts)), "SeekTimestamp({}) is no entry", ts);
  return 0;
}
