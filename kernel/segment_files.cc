#include "kernel/segment_files.h"

#include <fmt/format.h>

#include <algorithm>

#include "kernel/wall_clock.h"

namespace shoal {

size_t IndexCapacityFor(uint64_t capacity, uint32_t interval) {
  return static_cast<size_t>(capacity / interval + 2);
}

std::string SegmentPath(const std::string& dir, uint64_t ordinal) {
  return dir + "/" + format::SegmentFileName(ordinal);
}

std::string IndexPathFor(const Segment& seg) {
  std::string p = seg.path();
  return p.substr(0, p.size() - 4) + ".idx";
}

Result<io::UniqueFd> OpenSegmentWriteFd(io::FileSystem& fs, const std::string& path, bool direct) {
  auto r = fs.Open(path, {.write = true, .direct = direct});
  // File systems without O_DIRECT (tmpfs, some FUSE) refuse it with EINVAL: write through
  // the page cache instead. Frames stay padded to 4 KiB, which is harmless there.
  if (!r.ok() && direct) return fs.Open(path, {.write = true});
  return r;
}

Result<SegmentPtr> CreateSegmentFile(io::FileSystem& fs, const SegmentSpec& spec) {
  const std::string path = SegmentPath(spec.dir, spec.ordinal);
  const std::string tmp = path + ".tmp";
  const int64_t now = WallMs();
  Status made = [&]() -> Status {
    SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, fs.Open(tmp, {.write = true, .create = true}));
    SHOAL_RETURN_IF_ERROR(fs.Truncate(fd.get(), 0));
    uint8_t hdr[format::kSegmentHeaderSize];
    format::EncodeSegmentHeader({spec.ordinal, now}, hdr);
    SHOAL_RETURN_IF_ERROR(fs.Pwrite(fd.get(), hdr, sizeof hdr, 0));
    SHOAL_RETURN_IF_ERROR(fs.Fallocate(fd.get(), 0, std::min(spec.capacity, std::max<uint64_t>(spec.initial_alloc, format::kSegmentHeaderSize))));
    return fs.Fdatasync(fd.get());
  }();
  if (!made.ok()) {
    // Nothing refers to the half-made file, and ext4 keeps what a failed fallocate got
    // before ENOSPC: on a full disk those blocks are exactly what the other logs lack.
    fs.Unlink(tmp).IgnoreError();
    return Status(made.code(), fmt::format("creating {}: {}", path, made.message()));
  }
  SHOAL_RETURN_IF_ERROR(fs.Rename(tmp, path));
  SHOAL_RETURN_IF_ERROR(fs.SyncDir(spec.dir));
  auto seg = std::make_shared<Segment>(
      path, spec.ordinal, spec.capacity,
      std::min(spec.capacity, std::max<uint64_t>(spec.initial_alloc, format::kSegmentHeaderSize)),
      IndexCapacityFor(spec.capacity, spec.index_interval));
  seg->created_ms = now;
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd wfd, OpenSegmentWriteFd(fs, path, spec.direct));
  seg->set_write_fd(std::move(wfd));
  return seg;
}

Result<SegmentPtr> OpenSegmentFile(io::FileSystem& fs, const SegmentSpec& spec) {
  const std::string path = SegmentPath(spec.dir, spec.ordinal);
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, fs.Open(path, {}));
  SHOAL_ASSIGN_OR_RETURN(uint64_t size, fs.FileSize(fd.get()));
  uint8_t hdr[format::kSegHdrUsed];
  SHOAL_ASSIGN_OR_RETURN(size_t got, fs.Pread(fd.get(), hdr, sizeof hdr, 0));
  SHOAL_ASSIGN_OR_RETURN(format::SegmentHeader h, format::DecodeSegmentHeader(hdr, got, path));
  if (h.ordinal != spec.ordinal)
    return Status::Make(Code::kCorruption, "{}: header says segment {}, the name says {}", path,
                        h.ordinal, spec.ordinal);
  if (size < format::kSegmentHeaderSize)
    return Status::Make(Code::kCorruption, "{}: file is shorter than its header", path);
  const uint64_t capacity = std::max(size, spec.capacity);
  auto seg = std::make_shared<Segment>(path, spec.ordinal, capacity, size,
                                       IndexCapacityFor(capacity, spec.index_interval));
  seg->created_ms = h.created_ms;
  return seg;
}

Result<ScanResult> ScanSegmentFile(io::FileSystem& fs, Segment& seg, uint64_t expected_base,
                                   uint64_t empty_base, uint32_t index_interval) {
  ScanResult res;
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, fs.Open(seg.path(), {}));
  SHOAL_ASSIGN_OR_RETURN(uint64_t size, fs.FileSize(fd.get()));
  SHOAL_ASSIGN_OR_RETURN(io::MappedRegion map, fs.Map(fd.get(), static_cast<size_t>(size), seg.path()));
  const uint8_t* data = map.data();
  std::vector<format::IndexEntry> entries;
  format::SegmentSummary s;
  s.ordinal = static_cast<uint32_t>(seg.ordinal());
  s.base_offset = expected_base == UINT64_MAX ? empty_base : expected_base;
  s.next_offset = s.base_offset;
  uint64_t pos = format::kSegmentHeaderSize;
  uint64_t since_index = 0;
  while (pos < size) {
    format::FrameInfo fi;
    format::FrameCheck c = format::CheckFrame(data + pos, size - pos, true, &fi);
    if (c == format::FrameCheck::kEnd) break;
    if (c == format::FrameCheck::kOk && res.frames > 0 && fi.base_offset != s.next_offset) {
      res.torn = true;
      res.bad_pos = pos;
      res.reason = fmt::format("frame offset {} does not follow {}", fi.base_offset, s.next_offset);
      break;
    }
    if (c == format::FrameCheck::kOk && res.frames == 0 && expected_base != UINT64_MAX &&
        fi.base_offset != expected_base) {
      res.torn = true;
      res.bad_pos = pos;
      res.reason = fmt::format("first frame has offset {}, the previous segment ends at {}",
                               fi.base_offset, expected_base);
      break;
    }
    if (c != format::FrameCheck::kOk) {
      res.torn = true;
      res.bad_pos = pos;
      res.reason = std::string(format::FrameCheckName(c));
      break;
    }
    if (res.frames == 0) {
      s.base_offset = fi.base_offset;
      s.first_ts = fi.base_ts;
    }
    if (entries.empty() || since_index >= index_interval) {
      entries.push_back({static_cast<uint32_t>(fi.base_offset - s.base_offset),
                         static_cast<uint32_t>(pos), fi.base_ts});
      since_index = 0;
    }
    since_index += fi.len;
    format::RecordCursor cur = format::Records(data + pos, fi);
    format::RawRecord r;
    while (format::NextRecord(cur, &r)) s.last_ts = r.ts_ms;
    s.next_offset = fi.next_offset();
    ++res.frames;
    pos += fi.len;
  }
  s.end_pos = pos;
  if (res.frames == 0) s.first_ts = s.last_ts = 0;
  seg.Restore(s, entries.data(), entries.size());
  seg.bytes_since_index = since_index;
  return res;
}

Status ExtendSegmentFile(io::FileSystem& fs, Segment& seg, uint64_t want) {
  const uint64_t have = seg.allocated();
  if (want <= have) return Status::Ok();
  const uint64_t target = std::min(seg.capacity(), std::max(want, have * 2));
  const io::UniqueFd& fd = seg.write_fd();
  if (!fd.valid()) return Status::Make(Code::kInternal, "{}: extending a segment with no write fd", seg.path());
  SHOAL_RETURN_IF_ERROR(fs.Fallocate(fd.get(), have, target - have));
  seg.SetAllocated(target);
  return Status::Ok();
}

Status SealSegmentFiles(io::FileSystem& fs, Segment& seg) {
  if (seg.trimmed.load(std::memory_order_acquire)) {
    seg.write_fd().Reset();  // retention dropped it; its files are (being) unlinked
    return Status::Ok();
  }
  io::UniqueFd& fd = seg.write_fd();
  if (!fd.valid()) {
    SHOAL_ASSIGN_OR_RETURN(fd, fs.Open(seg.path(), {.write = true}));
  }
  SHOAL_RETURN_IF_ERROR(fs.Fdatasync(fd.get()));
  SHOAL_RETURN_IF_ERROR(io::WriteFileAtomic(fs, IndexPathFor(seg), seg.EncodeIndexFile()));
  // Give back the preallocated tail. Readers never look past committed_end, so the
  // shorter file cannot fault under a mapping that still spans the old length.
  SHOAL_RETURN_IF_ERROR(fs.Truncate(fd.get(), seg.committed_end()));
  fd.Reset();
  seg.sealed.store(true, std::memory_order_release);
  return Status::Ok();
}

}  // namespace shoal
