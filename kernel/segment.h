// Segment: one segment file of a shard log, its read-only mapping and its sparse index.
//
// Threads: one writer thread (the LogWriter's) appends; any number of readers read
// concurrently without locks. The writer publishes with release stores of committed_end
// and committed_next; readers load them with acquire and never touch bytes past
// committed_end, so they never see a torn or unacknowledged frame. Index entries below
// index_count() are immutable.
//
// Lifetime: held by shared_ptr. A reader that holds one keeps the mapping valid even
// after retention unlinked the file (the inode lives until the last mapping goes).
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "io/file_system.h"
#include "kernel/format.h"

namespace shoal {

class Segment {
 public:
  // `capacity`: the most bytes the file may grow to; `allocated`: its current (fallocated)
  // size. The file grows in steps ahead of the writer, so an idle shard costs ~1 MiB of
  // disk, not a whole segment.
  Segment(std::string path, uint64_t ordinal, uint64_t capacity, uint64_t allocated,
          size_t index_capacity);
  ~Segment();
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  const std::string& path() const { return path_; }
  uint64_t ordinal() const { return ordinal_; }
  // Bytes the segment may fill (its file grows up to this).
  uint64_t capacity() const { return capacity_; }
  // Bytes of the file that are allocated (fallocated) now; <= capacity(). Writers write
  // only below it; it only grows.
  uint64_t allocated() const { return allocated_.load(std::memory_order_acquire); }
  void SetAllocated(uint64_t n) {
    uint64_t cur = allocated_.load();
    while (n > cur && !allocated_.compare_exchange_weak(cur, n)) {
    }
  }
  // Recovery only, before any reader or writer uses the segment: the file was cut shorter
  // than the size it was opened with and could not be preallocated again.
  void ResetAllocated(uint64_t n) { allocated_.store(n, std::memory_order_release); }
  // True while a background extension of the file is queued or running (writer thread).
  std::atomic<bool> extending{false};

  // --- published state (acquire loads) ---
  uint64_t base_offset() const { return base_offset_.load(std::memory_order_acquire); }
  uint64_t committed_end() const { return committed_end_.load(std::memory_order_acquire); }
  uint64_t committed_next() const { return committed_next_.load(std::memory_order_acquire); }
  int64_t first_ts() const { return first_ts_.load(std::memory_order_acquire); }
  int64_t last_ts() const { return last_ts_.load(std::memory_order_acquire); }
  bool empty() const { return committed_next() == base_offset(); }
  size_t index_count() const { return index_count_.load(std::memory_order_acquire); }
  const format::IndexEntry& index_entry(size_t i) const {
    return chunks_[i / kIndexChunk][i % kIndexChunk];
  }

  // --- writer side (one thread) ---
  // Sets the base offset of an empty segment when it becomes active.
  void Activate(uint64_t base_offset, int64_t ts);
  // Sets the first timestamp of a segment that has no record yet (before its first Publish).
  void SetFirstTimestamp(int64_t ts) { first_ts_.store(ts, std::memory_order_release); }
  // Adds an index entry (entries must increase); false if the index is full.
  bool AddIndexEntry(const format::IndexEntry& e);
  // Publishes [.., end) as readable: records below next_offset, last timestamp `ts`.
  void Publish(uint64_t end, uint64_t next_offset, int64_t last_ts);
  // Loads a summary and index (recovery, or a sealed .idx).
  void Restore(const format::SegmentSummary& s, const format::IndexEntry* e, size_t n);
  format::SegmentSummary Summary() const;
  std::string EncodeIndexFile() const;

  // Position of the frame to start scanning from to find `offset` (largest index entry at
  // or below it). Requires base_offset() <= offset < committed_next().
  uint64_t SeekOffset(uint64_t offset) const;
  // Position to start scanning from to find the first record with ts >= `ts`.
  uint64_t SeekTimestamp(int64_t ts) const;

  // --- files ---
  // The read-only mapping, created on first use (sealed segments found at open are mapped
  // lazily so opening a log with many segments costs no mmap calls).
  Result<const uint8_t*> MappedData(io::FileSystem& fs);
  io::UniqueFd& write_fd() { return write_fd_; }
  void set_write_fd(io::UniqueFd fd) { write_fd_ = std::move(fd); }

  // Writer-thread state: where the next flush goes in the file.
  uint64_t write_pos = format::kSegmentHeaderSize;
  // Bytes written since the last index entry (writer thread).
  uint64_t bytes_since_index = 0;
  int64_t created_ms = 0;
  // True once a sealed .idx exists for this segment (or it was written by Seal).
  std::atomic<bool> sealed{false};
  // True once retention dropped it: a seal still queued for it must not write its index.
  std::atomic<bool> trimmed{false};

 private:
  const std::string path_;
  const uint64_t ordinal_;
  const uint64_t capacity_;
  std::atomic<uint64_t> base_offset_{0};
  std::atomic<uint64_t> committed_end_{format::kSegmentHeaderSize};
  std::atomic<uint64_t> committed_next_{0};
  std::atomic<int64_t> first_ts_{0};
  std::atomic<int64_t> last_ts_{0};

  // The index grows in chunks of kIndexChunk entries (16 KiB), allocated when needed, so a
  // segment holds index memory for what it holds, not for its capacity; entries never move,
  // so readers need no lock.
  static constexpr size_t kIndexChunk = 1024;
  std::unique_ptr<std::unique_ptr<format::IndexEntry[]>[]> chunks_;
  size_t index_capacity_;
  std::atomic<size_t> index_count_{0};
  std::atomic<uint64_t> allocated_{0};

  std::mutex map_mu_;
  io::MappedRegion map_;
  std::atomic<const uint8_t*> map_data_{nullptr};
  io::UniqueFd write_fd_;
};

using SegmentPtr = std::shared_ptr<Segment>;

}  // namespace shoal
