#include "kernel/segment.h"

#include <algorithm>

namespace shoal {

Segment::Segment(std::string path, uint64_t ordinal, uint64_t capacity, size_t index_capacity)
    : path_(std::move(path)),
      ordinal_(ordinal),
      capacity_(capacity),
      index_(new format::IndexEntry[std::max<size_t>(index_capacity, 1)]),
      index_capacity_(std::max<size_t>(index_capacity, 1)) {}

Segment::~Segment() = default;

void Segment::Activate(uint64_t base_offset, int64_t ts) {
  base_offset_.store(base_offset, std::memory_order_release);
  committed_next_.store(base_offset, std::memory_order_release);
  first_ts_.store(ts, std::memory_order_release);
  last_ts_.store(ts, std::memory_order_release);
}

bool Segment::AddIndexEntry(const format::IndexEntry& e) {
  size_t n = index_count_.load(std::memory_order_relaxed);
  if (n == index_capacity_) return false;
  index_[n] = e;
  index_count_.store(n + 1, std::memory_order_release);
  return true;
}

void Segment::Publish(uint64_t end, uint64_t next_offset, int64_t last_ts) {
  last_ts_.store(last_ts, std::memory_order_release);
  committed_next_.store(next_offset, std::memory_order_release);
  committed_end_.store(end, std::memory_order_release);
}

void Segment::Restore(const format::SegmentSummary& s, const format::IndexEntry* e, size_t n) {
  if (n > index_capacity_) {
    index_.reset(new format::IndexEntry[n]);
    index_capacity_ = n;
  }
  std::copy(e, e + n, index_.get());
  index_count_.store(n, std::memory_order_release);
  base_offset_.store(s.base_offset, std::memory_order_release);
  first_ts_.store(s.first_ts, std::memory_order_release);
  Publish(s.end_pos, s.next_offset, s.last_ts);
  write_pos = s.end_pos;
}

format::SegmentSummary Segment::Summary() const {
  format::SegmentSummary s;
  s.base_offset = base_offset();
  s.next_offset = committed_next();
  s.end_pos = committed_end();
  s.first_ts = first_ts();
  s.last_ts = last_ts();
  s.ordinal = static_cast<uint32_t>(ordinal_);
  return s;
}

std::string Segment::EncodeIndexFile() const {
  return format::EncodeIndex(Summary(), index_.get(), index_count());
}

uint64_t Segment::SeekOffset(uint64_t offset) const {
  size_t n = index_count();
  uint64_t rel = offset - base_offset();
  // Last entry with rel_offset <= rel.
  const format::IndexEntry* b = index_.get();
  const format::IndexEntry* it = std::upper_bound(
      b, b + n, rel, [](uint64_t v, const format::IndexEntry& e) { return v < e.rel_offset; });
  if (it == b) return format::kSegmentHeaderSize;
  return (it - 1)->pos;
}

uint64_t Segment::SeekTimestamp(int64_t ts) const {
  size_t n = index_count();
  // Last entry with ts strictly below the target: every record before it is older.
  const format::IndexEntry* b = index_.get();
  const format::IndexEntry* it = std::lower_bound(
      b, b + n, ts, [](const format::IndexEntry& e, int64_t v) { return e.ts < v; });
  if (it == b) return format::kSegmentHeaderSize;
  return (it - 1)->pos;
}

Result<const uint8_t*> Segment::MappedData(io::FileSystem& fs) {
  const uint8_t* p = map_data_.load(std::memory_order_acquire);
  if (p) return p;
  std::lock_guard lk(map_mu_);
  if (map_.data()) return map_.data();
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, fs.Open(path_, {}));
  SHOAL_ASSIGN_OR_RETURN(uint64_t size, fs.FileSize(fd.get()));
  // The active segment is fallocated to its capacity before it is activated, so mapping
  // the file's size covers every byte the writer will ever publish; committed_end bounds
  // every access.
  SHOAL_ASSIGN_OR_RETURN(map_, fs.Map(fd.get(), static_cast<size_t>(size), path_));
  if (size < committed_end())
    return Status::Make(Code::kCorruption, "{}: file is {} bytes but {} bytes are committed",
                        path_, size, committed_end());
  map_data_.store(map_.data(), std::memory_order_release);
  return map_.data();
}

}  // namespace shoal
