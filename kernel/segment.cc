#include "kernel/segment.h"

#include <algorithm>
#include <vector>

namespace shoal {

Segment::Segment(std::string path, uint64_t ordinal, uint64_t capacity, uint64_t allocated,
                 size_t index_capacity)
    : path_(std::move(path)),
      ordinal_(ordinal),
      capacity_(capacity),
      index_capacity_(std::max<size_t>(index_capacity, 1)),
      allocated_(allocated) {
  chunks_.reset(new std::unique_ptr<format::IndexEntry[]>[(index_capacity_ + kIndexChunk - 1) / kIndexChunk]);
}

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
  auto& chunk = chunks_[n / kIndexChunk];
  if (!chunk) chunk.reset(new format::IndexEntry[kIndexChunk]);
  chunk[n % kIndexChunk] = e;
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
    index_capacity_ = n;
    chunks_.reset(new std::unique_ptr<format::IndexEntry[]>[(n + kIndexChunk - 1) / kIndexChunk]);
  }
  index_count_.store(0, std::memory_order_release);
  for (size_t i = 0; i < n; ++i) AddIndexEntry(e[i]);
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
  std::vector<format::IndexEntry> entries(index_count());
  for (size_t i = 0; i < entries.size(); ++i) entries[i] = index_entry(i);
  return format::EncodeIndex(Summary(), entries.data(), entries.size());
}

uint64_t Segment::SeekOffset(uint64_t offset) const {
  const uint64_t rel = offset - base_offset();
  // Last entry with rel_offset <= rel: count of entries <= rel, minus one.
  size_t lo = 0, hi = index_count();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (index_entry(mid).rel_offset <= rel) lo = mid + 1;
    else hi = mid;
  }
  return lo == 0 ? format::kSegmentHeaderSize : index_entry(lo - 1).pos;
}

uint64_t Segment::SeekTimestamp(int64_t ts) const {
  // Last entry with ts strictly below the target: every record before it is older.
  size_t lo = 0, hi = index_count();
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (index_entry(mid).ts < ts) lo = mid + 1;
    else hi = mid;
  }
  return lo == 0 ? format::kSegmentHeaderSize : index_entry(lo - 1).pos;
}

Result<const uint8_t*> Segment::MappedData(io::FileSystem& fs) {
  const uint8_t* p = map_data_.load(std::memory_order_acquire);
  if (p) return p;
  std::lock_guard lk(map_mu_);
  if (map_.data()) return map_.data();
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, fs.Open(path_, {}));
  SHOAL_ASSIGN_OR_RETURN(uint64_t size, fs.FileSize(fd.get()));
  // Map the whole capacity: the file grows into it as the writer goes, and pages of a
  // MAP_SHARED mapping past the old end of file become readable once the file covers them.
  // Readers never touch bytes past committed_end, which the file always covers.
  SHOAL_ASSIGN_OR_RETURN(map_, fs.Map(fd.get(), static_cast<size_t>(std::max(size, capacity_)), path_));
  if (size < committed_end())
    return Status::Make(Code::kCorruption, "{}: file is {} bytes but {} bytes are committed",
                        path_, size, committed_end());
  map_data_.store(map_.data(), std::memory_order_release);
  return map_.data();
}

}  // namespace shoal
