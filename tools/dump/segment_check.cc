// Dumps and verifies a segment file: header, every frame (CRC, continuity, timestamps),
// optionally every record, and what follows the end of the data.
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "io/crc32c.h"
#include "tools/dump/checks.h"

namespace shoal::dump {
namespace {

using namespace shoal::format;  // NOLINT: the format's names are the vocabulary here

// Why the bytes at `p` are not a frame, naming the check that failed (mirrors
// format::CheckFrame, which only says which kind of check).
std::string DescribeBadFrame(FrameCheck c, const uint8_t* p, uint64_t avail) {
  if (avail < 4)
    return fmt::format("truncated frame: only {} bytes remain, not enough for a length", avail);
  const uint32_t len = Load32(p + kFrameLen);
  if (avail < kFrameHeaderSize)
    return fmt::format("truncated frame: length {} but only {} bytes remain (a frame header is {})",
                       len, avail, kFrameHeaderSize);
  const uint16_t magic = Load16(p + kFrameMagic);
  const uint32_t count = Load32(p + kFrameCount);
  if (magic != kFrameMagicValue)
    return fmt::format("bad frame header: magic {:#06x}, expected {:#06x} (length field {})", magic,
                       kFrameMagicValue, len);
  if (p[kFrameVersion] != kFrameVersionValue)
    return fmt::format("bad frame header: version {}, this build reads {}", p[kFrameVersion],
                       kFrameVersionValue);
  if (len < kFrameHeaderSize + kRecordHeaderSize)
    return fmt::format("bad frame header: length {} is below the smallest frame ({} bytes)", len,
                       kFrameHeaderSize + kRecordHeaderSize);
  if (len % kFrameAlign != 0)
    return fmt::format("bad frame header: length {} is not a multiple of {}", len, kFrameAlign);
  if (len > kMaxFrameBytes)
    return fmt::format("bad frame header: length {} exceeds the {}-byte frame limit", len,
                       kMaxFrameBytes);
  if (count == 0) return "bad frame header: record count 0";
  if (count > (len - kFrameHeaderSize) / kRecordHeaderSize)
    return fmt::format("bad frame header: {} records cannot fit in {} bytes", count, len);
  if (len > avail)
    return fmt::format("truncated frame: length {} runs past the end of the file ({} bytes remain)",
                       len, avail);
  return fmt::format("{} (length {}, {} records, base offset {})", FrameCheckName(c), len, count,
                     Load64(p + kFrameBaseOffset));
}

// Walks the record lengths of a frame whose header is sane; empty if they fit exactly
// into the frame (with at most padding after them), else why not. Sets *records_end.
std::string CheckRecordLayout(const uint8_t* p, uint32_t len, uint32_t count,
                              uint64_t* records_end) {
  uint64_t at = kFrameHeaderSize;
  for (uint32_t i = 0; i < count; ++i) {
    if (len - at < kRecordHeaderSize)
      return fmt::format("record {} header at frame byte {} runs past the frame ({} bytes)", i, at,
                         len);
    const uint64_t need =
        kRecordHeaderSize + uint64_t{Load16(p + at + kRecKeyLen)} + Load32(p + at + kRecDataLen);
    if (need > len - at)
      return fmt::format("record {} at frame byte {} claims {} bytes, only {} remain in the frame",
                         i, at, need, len - at);
    at += need;
  }
  *records_end = at;
  return {};
}

// First non-zero byte in [from, to), or `to`.
uint64_t FirstNonZero(const uint8_t* data, uint64_t from, uint64_t to) {
  uint64_t i = from;
  while (i < to && i % 8 != 0) {
    if (data[i]) return i;
    ++i;
  }
  while (i + 8 <= to && Load64(data + i) == 0) i += 8;
  while (i < to && !data[i]) ++i;
  return i;
}

uint64_t CountNonZero(const uint8_t* data, uint64_t from, uint64_t to) {
  uint64_t n = 0;
  for (uint64_t i = from; i < to; ++i) n += data[i] != 0;
  return n;
}

// What the log does about damage at byte `pos` of a segment in `role`, and what to do.
std::string Consequence(const SegmentContext& ctx, uint64_t pos, const SegmentFacts& f) {
  const uint64_t keep = f.valid_frames ? f.next_offset : 0;
  switch (ctx.role) {
    case SegmentRole::kIndexed:
      if (pos >= ctx.indexed_end && ctx.indexed_end >= kSegmentHeaderSize)
        return ctx.clean
                   ? fmt::format(
                         "The bytes lie past the end of the data that CLEAN records (byte {}): "
                         "ShardLog::Open trusts CLEAN, never reads them, and does not zero them "
                         "(appends overwrite them from byte {} on). Nothing of this log writes "
                         "there; delete CLEAN so that Open scans the segment and zeroes its tail",
                         ctx.indexed_end, ctx.indexed_end)
                   : fmt::format(
                         "The bytes lie past the end of the data that the index records (byte "
                         "{}): reads never reach them, so no record is affected; truncate the "
                         "file to {} bytes to drop them",
                         ctx.indexed_end, ctx.indexed_end);
      return fmt::format(
          "ShardLog::Open trusts this segment's index (.idx or CLEAN) and will not notice; reads "
          "that reach "
          "byte {} fail with kCorruption. Restore the file from a replica or backup, or trim "
          "the log past this segment (TrimBefore its index's next offset) to drop it",
          pos);
    case SegmentRole::kScannedLast:
      return fmt::format(
          "ShardLog::Open treats this as a torn tail and truncates the segment at byte {}{}; "
          "such records were never completely written, so none was acknowledged in 'always' "
          "durability",
          pos, f.valid_frames ? fmt::format(" (records from offset {} on are dropped)", keep) : "");
    case SegmentRole::kScannedMiddle:
      return fmt::format(
          "ShardLog::Open scans this segment (it has no index), truncates it at byte {} and "
          "deletes every later segment: records from offset {} on are lost. Restore the file "
          "before opening the log if they matter",
          pos, keep);
    case SegmentRole::kUnknown:
      break;
  }
  return fmt::format(
      "If this is the log's active segment, ShardLog::Open truncates it at byte {} as a torn "
      "tail; if it is a sealed one, reads that reach that byte fail: restore it or trim past it",
      pos);
}

}  // namespace

SegmentFacts CheckSegment(io::FileSystem& fs, const std::string& path, const SegmentContext& ctx,
                          const DumpOptions& opt, Sink& sink) {
  SegmentFacts f;
  sink.BeginFile("segment", path);
  // Read, not mapped: sealing truncates a live log's segment, and a mapping past the new
  // end would fault (SIGBUS). A segment is 128 MiB by default, 2 GiB at most.
  auto read = io::ReadWholeFile(fs, path);
  if (!read.ok()) {
    sink.Problem(fmt::format("cannot read the file: {}", read.status().message()));
    sink.EndFile();
    f.problems = sink.file_problems();
    return f;
  }
  f.readable = true;
  const auto* data = reinterpret_cast<const uint8_t*>(read->data());
  const uint64_t size = read->size();
  f.file_size = size;

  // --- header ---
  if (size < kSegHdrUsed) {
    sink.Section("header", {{"file_size", U(size)}});
    sink.Problem(fmt::format(
        "the file is {} bytes, shorter than a segment header ({} bytes): ShardLog::Open fails "
        "on it. If it was being created (an empty spare), delete it; otherwise restore it",
        size, kSegmentHeaderSize));
    sink.EndFile();
    f.problems = sink.file_problems();
    return f;
  }
  const uint32_t stored_crc = Load32(data + kSegHdrCrc);
  const uint32_t computed_crc = io::Crc32c(data, kSegHdrCrc);
  const bool magic_ok = Load64(data + kSegHdrMagic) == kSegmentMagic;
  f.ordinal = Load64(data + kSegHdrOrdinal);
  f.created_ms = static_cast<int64_t>(Load64(data + kSegHdrCreatedMs));
  Fields header_fields = {{"file_size", U(size)},
                          {"magic", S(magic_ok ? "SHOALSEG" : "bad")},
                          {"version", U(Load32(data + kSegHdrVersion))},
                          {"header_size", U(Load32(data + kSegHdrHeaderSize))},
                          {"ordinal", U(f.ordinal)},
                          {"created", T(f.created_ms)},
                          {"crc", S(stored_crc == computed_crc ? "ok" : "mismatch")}};
  if (stored_crc != computed_crc) {
    header_fields.push_back({"crc_stored", Crc(stored_crc)});
    header_fields.push_back({"crc_computed", Crc(computed_crc)});
  }
  sink.Section("header", header_fields);
  auto header = DecodeSegmentHeader(data, size, path);
  if (!header.ok()) {
    sink.Problem(fmt::format(
        "{}{}; ShardLog::Open fails on this file. The frames below are still checked: restore "
        "the file, or rewrite its header",
        header.status().message(),
        magic_ok && stored_crc != computed_crc
            ? fmt::format(" (stored {:#010x}, computed {:#010x})", stored_crc, computed_crc)
            : ""));
  } else {
    f.header_ok = true;
  }
  uint64_t name_ordinal;
  if (ParseSegmentFileName(BaseName(path), &name_ordinal) && f.header_ok &&
      name_ordinal != f.ordinal)
    sink.Problem(fmt::format(
        "the header says segment {} but the file name says {}: ShardLog::Open fails on this "
        "file. Rename it to {}",
        f.ordinal, name_ordinal, SegmentFileName(f.ordinal)));
  if (size < kSegmentHeaderSize) {
    sink.Problem(
        fmt::format("the file is {} bytes, shorter than its {}-byte header: ShardLog::Open "
                    "fails on it; restore the file",
                    size, kSegmentHeaderSize));
    sink.EndFile();
    f.problems = sink.file_problems();
    return f;
  }

  // --- frames ---
  uint64_t pos = kSegmentHeaderSize;
  bool have_prev = false;       // a frame with a sane header came before
  uint64_t prev_next = 0;       // offset after it
  int64_t prev_last_ts = 0;     // its last record's timestamp (when its layout was readable)
  bool in_valid_prefix = true;  // no bad byte yet: what Open's scan would keep
  std::string stop_reason;      // set when the walk stops at bytes that are not a frame
  auto mark_bad = [&](uint64_t at) {
    if (!f.damaged) {
      f.damaged = true;
      f.bad_pos = at;
    }
    in_valid_prefix = false;
  };
  sink.BeginList("frames");
  while (pos < size) {
    const uint8_t* p = data + pos;
    FrameInfo fi;
    const FrameCheck c = CheckFrame(p, size - pos, /*verify_crc=*/true, &fi);
    if (c == FrameCheck::kEnd) break;
    if (c != FrameCheck::kOk && c != FrameCheck::kBadCrc) {
      stop_reason = DescribeBadFrame(c, p, size - pos);
      break;
    }
    // The header is sane (length, magic, version, count): the frame can be shown even when
    // its CRC fails, and the walk can go on behind it.
    const bool crc_ok = c == FrameCheck::kOk;
    fi.len = Load32(p + kFrameLen);
    fi.count = Load32(p + kFrameCount);
    fi.base_offset = Load64(p + kFrameBaseOffset);
    fi.base_ts = static_cast<int64_t>(Load64(p + kFrameBaseTs));
    const uint32_t stored = Load32(p + kFrameCrc);
    const uint32_t computed = crc_ok ? stored : io::Crc32c(p + 8, fi.len - 8);
    const uint64_t last_offset = fi.base_offset + fi.count - 1;
    Fields frame_fields = {{"pos", U(pos)},
                           {"len", U(fi.len)},
                           {"count", U(fi.count)},
                           {"base_offset", U(fi.base_offset)},
                           {"last_offset", U(last_offset)},
                           {"base_ts", T(fi.base_ts)},
                           {"crc", S(crc_ok ? "ok" : "mismatch")}};
    if (!crc_ok) {
      frame_fields.push_back({"crc_stored", Crc(stored)});
      frame_fields.push_back({"crc_computed", Crc(computed)});
    }
    sink.BeginItem("frame", frame_fields);
    bool frame_ok = crc_ok;
    if (!crc_ok) {
      mark_bad(pos);
      sink.Problem(fmt::format(
          "CRC mismatch in the frame at byte {} (offsets {}..{} by its header): stored {:#010x}, "
          "computed {:#010x}. {}",
          pos, fi.base_offset, last_offset, stored, computed, Consequence(ctx, pos, f)));
    }
    // A frame whose CRC failed has an untrustworthy header: the CRC problem says it all, and
    // neither it nor the frame after it is compared with its neighbour.
    if (crc_ok && have_prev && fi.base_offset != prev_next) {
      frame_ok = false;
      const bool stale = in_valid_prefix;
      mark_bad(pos);
      sink.Problem(fmt::format(
          "the frame at byte {} starts at offset {} but the previous frame ended at {} ({}): "
          "{}. {}",
          pos, fi.base_offset, prev_next,
          fi.base_offset > prev_next
              ? fmt::format("offsets {}..{} are missing", prev_next, fi.base_offset - 1)
              : "offsets overlap",
          stale ? "stale bytes from an earlier write" : "after earlier damage",
          Consequence(ctx, pos, f)));
    }
    if (crc_ok && have_prev && fi.base_ts < prev_last_ts)
      sink.Problem(fmt::format(
          "the frame at byte {} has base timestamp {}, before the previous record's {}: "
          "timestamps must not decrease within a shard (time lookups would skip records)",
          pos, TimeText(fi.base_ts), TimeText(prev_last_ts)));
    if (p[kFrameFlags] != 0)
      sink.Note(fmt::format("the frame at byte {} has flags {:#04x}; this version writes 0", pos,
                            p[kFrameFlags]));

    uint64_t records_end = 0;
    const std::string layout = CheckRecordLayout(p, fi.len, fi.count, &records_end);
    int64_t frame_last_ts = fi.base_ts;
    if (!layout.empty()) {
      // Only reachable with a failed CRC: CheckFrame verifies the layout of every good frame.
      sink.Note(
          fmt::format("the records of the frame at byte {} cannot be walked: {}", pos, layout));
    } else {
      RecordCursor cur = Records(p, fi);
      RawRecord r;
      int64_t prev_ts = fi.base_ts;
      bool reserved_noted = false;
      if (opt.records) sink.BeginList("records");
      for (const uint8_t* hdr = cur.p; NextRecord(cur, &r); hdr = cur.p) {
        if (r.ts_ms < prev_ts)
          sink.Problem(
              fmt::format("record {} (frame at byte {}) has timestamp {}, before the "
                          "previous record's {}",
                          r.offset, pos, TimeText(r.ts_ms), TimeText(prev_ts)));
        prev_ts = r.ts_ms;
        if (Load16(hdr + kRecReserved) != 0 && !reserved_noted) {
          reserved_noted = true;
          sink.Note(fmt::format("record {} has reserved field {:#06x}; this version writes 0",
                                r.offset, Load16(hdr + kRecReserved)));
        }
        if (opt.records) {
          Fields record_fields = {{"offset", U(r.offset)},
                                  {"ts", T(r.ts_ms)},
                                  {"key", Raw(r.key)},
                                  {"data_len", U(r.data.size())}};
          if (opt.data) record_fields.push_back({"data", Raw(r.data.substr(0, kDataPreviewBytes))});
          sink.BeginItem("record", record_fields);
          sink.EndItem();
        }
      }
      if (opt.records) sink.EndList();
      frame_last_ts = prev_ts;
      const uint64_t pad_nz = FirstNonZero(p, records_end, fi.len);
      if (pad_nz < fi.len)
        sink.Problem(
            fmt::format("the frame at byte {} has non-zero padding at byte {} (the writer "
                        "pads with zeros)",
                        pos, pos + pad_nz));
    }
    sink.EndItem();

    f.frames.push_back({pos, fi.len, fi.count, fi.base_offset, fi.base_ts, crc_ok});
    if (in_valid_prefix && frame_ok) {
      if (f.valid_frames == 0) {
        f.base_offset = fi.base_offset;
        f.first_ts = fi.base_ts;
      }
      ++f.valid_frames;
      f.valid_end = pos + fi.len;
      f.records += fi.count;
      f.next_offset = fi.next_offset();
      f.last_ts = frame_last_ts;
    }
    have_prev = crc_ok;
    prev_next = fi.next_offset();
    prev_last_ts = frame_last_ts;
    pos += fi.len;
    f.walk_end = pos;
  }
  sink.EndList();

  // --- what follows the data ---
  if (!stop_reason.empty()) {
    mark_bad(pos);
    const uint64_t rest = size - pos;
    const uint64_t nz = CountNonZero(data, pos, size);
    sink.Section(
        "end",
        {{"pos", U(pos)}, {"kind", S("torn")}, {"rest_bytes", U(rest)}, {"nonzero_bytes", U(nz)}},
        fmt::format("stale/torn bytes at {}: {}; the rest ({} bytes) holds {} non-zero bytes", pos,
                    stop_reason, rest, nz));
    sink.Problem(
        fmt::format("stale/torn bytes at {}: {}. {}", pos, stop_reason, Consequence(ctx, pos, f)));
  } else if (pos >= size) {
    sink.Section("end", {{"pos", U(size)}, {"kind", S("file_end")}, {"rest_bytes", U(0)}},
                 fmt::format("end of data at byte {}, the end of the file", size));
  } else {
    const uint64_t nz = FirstNonZero(data, pos, size);
    if (nz == size) {
      sink.Section(
          "end", {{"pos", U(pos)}, {"kind", S("zero")}, {"rest_bytes", U(size - pos)}},
          fmt::format("end of data at byte {}; the rest ({} bytes) is zero", pos, size - pos));
    } else {
      mark_bad(nz);
      const uint64_t count = CountNonZero(data, nz, size);
      sink.Section("end",
                   {{"pos", U(pos)},
                    {"kind", S("nonzero_tail")},
                    {"rest_bytes", U(size - pos)},
                    {"first_nonzero", U(nz)},
                    {"nonzero_bytes", U(count)}},
                   fmt::format("end of data at byte {}, but stale/torn bytes at {}: {} non-zero "
                               "bytes in the {} that follow",
                               pos, nz, count, size - pos));
      sink.Problem(fmt::format(
          "stale/torn bytes at {}: the data ends at byte {} (a zero frame length) but {} non-zero "
          "bytes follow (a write that landed after a lost one, or a damaged length). {}",
          nz, pos, count, Consequence(ctx, pos, f)));
    }
  }

  // --- summary ---
  if (f.valid_frames == 0 && !f.damaged)
    sink.Section("summary", {{"frames", U(0)}, {"records", U(0)}},
                 "summary: empty (a preallocated segment waiting for its first frame)");
  else
    sink.Section("summary", {{"frames", U(f.frames.size())},
                             {"valid_frames", U(f.valid_frames)},
                             {"records", U(f.records)},
                             {"base_offset", U(f.base_offset)},
                             {"next_offset", U(f.next_offset)},
                             {"first_ts", T(f.first_ts)},
                             {"last_ts", T(f.last_ts)},
                             {"valid_end", U(f.valid_end)},
                             {"first_bad_byte", f.damaged ? U(f.bad_pos) : S("none")}});
  f.problems = sink.file_problems();
  sink.EndFile();
  return f;
}

}  // namespace shoal::dump
