// Dumps and verifies a segment index (.idx) or the CLEAN marker (the same encoding), and
// cross-checks it against the segment it describes.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "io/crc32c.h"
#include "tools/dump/checks.h"

namespace shoal::dump {
namespace {

using namespace shoal::format;  // NOLINT: the format's names are the vocabulary here

// What ShardLog::Open does with an unusable index file.
std::string UnusableAdvice(bool clean) {
  return clean ? "ShardLog::Open ignores a damaged CLEAN and scans the active segment instead "
                 "(slower, nothing is lost)"
               : "ShardLog::Open ignores a damaged index and rebuilds it from the segment, "
                 "unless the segment is damaged too (then Open fails): check the segment";
}

// What ShardLog::Open does with an index that decodes but disagrees with its segment.
std::string MismatchAdvice(bool clean) {
  return clean ? "ShardLog::Open trusts CLEAN over the data; delete CLEAN so Open scans the "
                 "active segment instead"
               : "ShardLog::Open trusts the index over the data; delete the .idx so Open "
                 "rebuilds it from the segment";
}

}  // namespace

IndexFacts CheckIndex(io::FileSystem& fs, const std::string& path, bool clean,
                      const SegmentFacts* segment, const std::string& segment_path,
                      const DumpOptions& opt, Sink& sink) {
  IndexFacts facts;
  sink.BeginFile(clean ? "clean" : "index", path);
  auto read = io::ReadWholeFile(fs, path);
  if (!read.ok()) {
    sink.Problem(fmt::format("cannot read the file: {}", read.status().message()));
    sink.EndFile();
    return facts;
  }
  const std::string& bytes = *read;
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  if (bytes.size() < kIndexHeaderSize) {
    sink.Section("header", {{"file_size", U(bytes.size())}});
    sink.Problem(fmt::format("the file is {} bytes, shorter than an index header ({} bytes). {}",
                             bytes.size(), kIndexHeaderSize, UnusableAdvice(clean)));
    sink.EndFile();
    return facts;
  }

  // --- header, shown as stored even when it does not verify ---
  const uint32_t count = Load32(p + kIdxCount);
  const uint64_t entry_bytes = bytes.size() - kIndexHeaderSize;
  const uint64_t shown = std::min<uint64_t>(count, entry_bytes / kIndexEntrySize);
  const uint32_t stored = Load32(p + kIdxCrc);
  uint32_t computed = io::Crc32c(p, kIdxCrc);
  computed = io::Crc32cExtend(computed, p + kIndexHeaderSize, shown * kIndexEntrySize);
  SegmentSummary s;
  s.base_offset = Load64(p + kIdxBaseOffset);
  s.next_offset = Load64(p + kIdxNextOffset);
  s.end_pos = Load64(p + kIdxEndPos);
  s.first_ts = static_cast<int64_t>(Load64(p + kIdxFirstTs));
  s.last_ts = static_cast<int64_t>(Load64(p + kIdxLastTs));
  s.ordinal = Load32(p + kIdxOrdinal);
  const bool magic_ok = Load64(p + kIdxMagic) == kIndexMagic;
  Fields header_fields = {{"file_size", U(bytes.size())},
                          {"magic", S(magic_ok ? "SHOALIDX" : "bad")},
                          {"version", U(Load32(p + kIdxVersion))},
                          {"entries", U(count)},
                          {"base_offset", U(s.base_offset)},
                          {"next_offset", U(s.next_offset)},
                          {"end_pos", U(s.end_pos)},
                          {"first_ts", T(s.first_ts)},
                          {"last_ts", T(s.last_ts)},
                          {"ordinal", U(s.ordinal)},
                          {"crc", S(stored == computed ? "ok" : "mismatch")}};
  if (stored != computed) {
    header_fields.push_back({"crc_stored", Crc(stored)});
    header_fields.push_back({"crc_computed", Crc(computed)});
  }
  sink.Section("header", header_fields);

  std::vector<IndexEntry> entries(shown);
  if (shown) std::memcpy(entries.data(), p + kIndexHeaderSize, shown * kIndexEntrySize);
  if (opt.records) {
    sink.BeginList("entries");
    for (uint64_t i = 0; i < shown; ++i) {
      const IndexEntry& e = entries[i];
      sink.BeginItem("entry", {{"i", U(i)},
                               {"offset", U(s.base_offset + e.rel_offset)},
                               {"rel_offset", U(e.rel_offset)},
                               {"pos", U(e.pos)},
                               {"ts", T(e.ts)}});
      sink.EndItem();
    }
    sink.EndList();
  }

  // --- the decoder's verdict (magic, version, size, CRC, summary, order) ---
  SegmentSummary decoded;
  std::string raw_entries;
  const Status st = DecodeIndex(bytes, path, &decoded, &raw_entries);
  if (!st.ok()) {
    std::string detail;
    if (stored != computed && magic_ok)
      detail = fmt::format(" (stored {:#010x}, computed {:#010x})", stored, computed);
    sink.Problem(fmt::format("{}{}. {}", st.message(), detail, UnusableAdvice(clean)));
  } else {
    facts.valid = true;
    facts.summary = decoded;
    facts.entries = entries;
  }

  // Findings below are problems only if Open would use the index. An index that does not
  // decode is already a problem; what else is off in it is worth a note, for diagnosis.
  auto flag = [&](const std::string& what, bool mismatch_advice) {
    if (facts.valid)
      sink.Problem(mismatch_advice ? what + ". " + MismatchAdvice(clean) : what);
    else
      sink.Note("in the damaged index: " + what);
  };

  // --- checks of the index on its own ---
  uint64_t name_ordinal;
  if (!clean && ParseIndexFileName(BaseName(path), &name_ordinal) &&
      static_cast<uint32_t>(name_ordinal) != s.ordinal)
    sink.Problem(fmt::format("the index says segment {} but its file name says {}. {}", s.ordinal,
                             name_ordinal, UnusableAdvice(clean)));
  // (Open checks the ordinal itself and rebuilds such an index: a problem either way.)
  const bool empty = s.next_offset == s.base_offset;
  if (!empty && (shown == 0 || entries[0].rel_offset != 0 || entries[0].pos != kSegmentHeaderSize))
    flag(fmt::format("the first entry must point at the segment's first frame (offset {}, "
                     "byte {}); lookups below the first entry start scanning at byte {} "
                     "anyway, but the writer always adds it",
                     s.base_offset, kSegmentHeaderSize, kSegmentHeaderSize),
         false);
  if (empty && shown > 0)
    flag(fmt::format("the index describes an empty segment but holds {} entries", shown), false);
  for (uint64_t i = 0; i < shown; ++i) {
    const IndexEntry& e = entries[i];
    if (!empty && (e.rel_offset >= s.next_offset - s.base_offset || e.pos >= s.end_pos))
      flag(fmt::format("entry {} (offset {}, byte {}) lies past the data the summary "
                       "describes (next offset {}, end byte {})",
                       i, s.base_offset + e.rel_offset, e.pos, s.next_offset, s.end_pos),
           true);
    if (e.ts < s.first_ts || e.ts > s.last_ts)
      flag(fmt::format("entry {} has timestamp {}, outside the summary's {} .. {}", i,
                       TimeText(e.ts), TimeText(s.first_ts), TimeText(s.last_ts)),
           true);
  }

  // --- cross-check against the segment ---
  if (segment == nullptr || !segment->readable) {
    sink.Note(
        segment_path.empty()
            ? std::string(
                  "no segment file for this index was found beside it: entries not cross-checked")
            : fmt::format("{} could not be read: entries not cross-checked", segment_path));
    sink.EndFile();
    return facts;
  }
  const SegmentFacts& seg = *segment;
  sink.Section("segment", {{"path", S(segment_path)}, {"frames", U(seg.frames.size())}});
  if (seg.problems > 0)
    sink.Note(
        fmt::format("{} itself has {} problem{} (see its report); the cross-check uses the "
                    "frames whose headers could be read",
                    BaseName(segment_path), seg.problems, seg.problems == 1 ? "" : "s"));
  if (seg.header_ok && static_cast<uint32_t>(seg.ordinal) != s.ordinal)
    flag(fmt::format("the index says segment {} but {} is segment {}", s.ordinal,
                     BaseName(segment_path), seg.ordinal),
         true);
  auto frame_at = [&](uint64_t pos) -> const FrameMark* {
    auto it = std::lower_bound(seg.frames.begin(), seg.frames.end(), pos,
                               [](const FrameMark& m, uint64_t v) { return m.pos < v; });
    return it != seg.frames.end() && it->pos == pos ? &*it : nullptr;
  };
  int bad_entries = 0;
  for (uint64_t i = 0; i < shown; ++i) {
    const IndexEntry& e = entries[i];
    const FrameMark* m = frame_at(e.pos);
    std::string why;
    if (m == nullptr)
      why = fmt::format("byte {} is not a frame boundary in {}", e.pos, BaseName(segment_path));
    else if (m->base_offset != s.base_offset + e.rel_offset)
      why = fmt::format("the frame there starts at offset {}, the entry says {}", m->base_offset,
                        s.base_offset + e.rel_offset);
    else if (m->base_ts != e.ts)
      why = fmt::format("the frame there has base timestamp {}, the entry says {}",
                        TimeText(m->base_ts), TimeText(e.ts));
    if (why.empty()) continue;
    if (++bad_entries <= 20)
      flag(fmt::format("entry {} (offset {}, byte {}): {}; lookups through it read the wrong place",
                       i, s.base_offset + e.rel_offset, e.pos, why),
           true);
  }
  if (bad_entries > 20) sink.Note(fmt::format("{} more bad entries not listed", bad_entries - 20));

  // The summary against the frames.
  const bool seg_empty = seg.frames.empty();
  if (empty != seg_empty) {
    flag(fmt::format("the index describes {} segment but {} {}", empty ? "an empty" : "a non-empty",
                     BaseName(segment_path), seg_empty ? "has no frames" : "holds frames"),
         true);
  } else if (!empty) {
    const FrameMark& first = seg.frames.front();
    const FrameMark& last = seg.frames.back();
    const uint64_t seg_next = last.base_offset + last.count;
    if (s.base_offset != first.base_offset || s.first_ts > first.base_ts)
      flag(fmt::format("the index says the segment starts at offset {} at {}, its first frame "
                       "says offset {} at {}",
                       s.base_offset, TimeText(s.first_ts), first.base_offset,
                       TimeText(first.base_ts)),
           true);
    else if (s.first_ts < first.base_ts)
      // The writer stamps a segment's first timestamp when it activates the segment, which
      // for a log's very first segment is 0 (kernel/shard_log_recovery.cc: Activate(start, 0)).
      // Nothing looks it up today, and as a lower bound it cannot hide records.
      sink.Note(
          fmt::format("the index's first timestamp {} is earlier than the first record's {} "
                      "(stamped when the segment was activated; harmless as a lower bound)",
                      TimeText(s.first_ts), TimeText(first.base_ts)));
    if (s.next_offset != seg_next || s.end_pos != seg.walk_end) {
      const bool short_index = s.end_pos < seg.walk_end;
      flag(fmt::format("the index says the data ends at byte {} (next offset {}), the segment's "
                       "frames run to byte {} (next offset {}): {}",
                       s.end_pos, s.next_offset, seg.walk_end, seg_next,
                       short_index ? "records past the index's end are invisible to the log"
                                   : "the log would expect records that are not there"),
           true);
    }
    if (!seg.damaged && s.last_ts != seg.last_ts)
      flag(fmt::format("the index says the last record is from {}, the segment's last record is "
                       "from {}",
                       TimeText(s.last_ts), TimeText(seg.last_ts)),
           true);
  }
  if (!clean && seg.file_size > s.end_pos && s.end_pos >= kSegmentHeaderSize && !seg.damaged)
    sink.Note(
        fmt::format("{} is {} bytes, longer than its data ({} bytes): sealing did not get to "
                    "release the preallocated tail (harmless; it is zeros)",
                    BaseName(segment_path), seg.file_size, s.end_pos));
  sink.EndFile();
  return facts;
}

}  // namespace shoal::dump
