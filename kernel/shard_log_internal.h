// ShardLog's private parts shared by its implementation files (not installed API).
#pragma once

#include <condition_variable>
#include <mutex>
#include <vector>

#include "kernel/shard_log.h"

namespace shoal {

// One append call = one frame in the staging buffer.
struct ShardLog::Waiter {
  AppendCompletion* done;
  uint32_t pos;  // frame position in the group buffer
  uint32_t len;
  uint64_t first_offset;
  uint32_t count;
  int64_t first_ts;
  int64_t last_ts;
};

// A group: the frames staged between two flushes of one log, written with one write.
// Filled by producers under mu_, then owned by the flusher, then by the syncer, then
// recycled. At most kGroupsPerLog exist per log: one filling, one being written, one
// waiting for its fdatasync (that overlap is what pipelines writes with fsyncs).
struct ShardLog::Group {
  AlignedBuffer buf;
  std::vector<Waiter> frames;
  uint64_t records = 0;
  // Set by the flusher.
  SegmentPtr seg;             // segment the group was written to
  uint64_t file_pos = 0;      // where in it
  Status status;              // write result
  SegmentPtr rolled_from;     // the segment this group's roll closed (seal after publish)
  bool roll = false;          // set by TakeGroup: this group starts a new segment
  void Clear() {
    buf.clear();
    frames.clear();
    records = 0;
    seg.reset();
    rolled_from.reset();
    roll = false;
    status = Status();
  }
};
inline constexpr int kGroupsPerLog = 3;

// The next segment, created and fallocated by the background thread ahead of need.
class ShardLog::SpareSlot {
 public:
  std::mutex mu;
  std::condition_variable cv;
  bool pending = false;
  SegmentPtr seg;
  Status error;
};

// Errors of background work done for one log (sealing rolled segments), reported to the
// log's next append and to Close(): in kNone mode a seal's fdatasync is the only one a
// segment gets, so its failure must not pass silently.
struct ShardLog::BackgroundState {
  std::atomic<bool> failed{false};
  std::mutex mu;
  Status status;
  void Report(const Status& st) {
    if (st.ok()) return;
    std::lock_guard lk(mu);
    if (status.ok()) status = st;
    failed.store(true, std::memory_order_release);
  }
  Status Get() {
    std::lock_guard lk(mu);
    return status;
  }
};

}  // namespace shoal
