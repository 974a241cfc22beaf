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

struct ShardLog::Group {
  AlignedBuffer buf;
  std::vector<Waiter> frames;
  uint64_t records = 0;
  void Clear() {
    buf.clear();
    frames.clear();
    records = 0;
  }
};

// The next segment, created and fallocated by the background thread ahead of need.
class ShardLog::SpareSlot {
 public:
  std::mutex mu;
  std::condition_variable cv;
  bool pending = false;
  SegmentPtr seg;
  Status error;
};

}  // namespace shoal
