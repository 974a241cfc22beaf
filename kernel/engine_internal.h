// Engine's private parts shared by its implementation files.
#pragma once

#include <pthread.h>

#include <map>
#include <memory>
#include <shared_mutex>
#include <vector>

#include "kernel/engine.h"

namespace shoal {

// The oldest arrival time still visible under `retention_hours` at `now_ms`: a record is
// invisible once now - arrival >= retention (spec resharding-and-limits.md §7).
inline int64_t VisibleSinceMs(int64_t now_ms, int retention_hours) {
  return now_ms - int64_t{retention_hours} * 3600 * 1000 + 1;
}

// A reader-writer lock that lets a waiting writer in ahead of new readers. glibc's
// std::shared_mutex prefers readers, and a stream's puts hold it shared back to back, so
// a reshard, a retention change or a delete could wait for thousands of puts.
class WriterPreferringMutex {
 public:
  WriterPreferringMutex() {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&lock_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~WriterPreferringMutex() { pthread_rwlock_destroy(&lock_); }
  WriterPreferringMutex(const WriterPreferringMutex&) = delete;
  WriterPreferringMutex& operator=(const WriterPreferringMutex&) = delete;
  void lock() { pthread_rwlock_wrlock(&lock_); }
  void unlock() { pthread_rwlock_unlock(&lock_); }
  void lock_shared() { pthread_rwlock_rdlock(&lock_); }
  void unlock_shared() { pthread_rwlock_unlock(&lock_); }

 private:
  pthread_rwlock_t lock_;
};

struct Engine::Shard {
  ShardMeta meta;
  std::unique_ptr<ShardLog> log;  // null for a closed shard that never held a record
  // Kinesis-emulation limits (null when off).
  std::unique_ptr<TokenBucket> write_bytes, write_records, read_bytes, read_calls, iterator_calls;
  ShardIdentity identity() const { return ShardIdentity{ShardIndex{meta.index}, meta.created_s}; }
};

struct Engine::Stream {
  // Shared: puts, reads, describes. Exclusive: every change of `meta` or `shards`.
  WriterPreferringMutex mu;
  StreamMeta meta;
  std::map<uint32_t, std::unique_ptr<Shard>> shards;  // listed (not expired) shards
  std::vector<Shard*> open;                            // open shards by starting hash key
  bool gone = false;                                   // deleted: every call fails

  void RebuildRouting() {
    open.clear();
    for (auto& [i, sh] : shards)
      if (!sh->meta.closed) open.push_back(sh.get());
    std::sort(open.begin(), open.end(),
              [](const Shard* a, const Shard* b) { return a->meta.range.start < b->meta.range.start; });
  }
  Shard* Route(HashKey key) const {
    auto it = std::upper_bound(open.begin(), open.end(), key,
                               [](HashKey k, const Shard* s) { return k < s->meta.range.start; });
    if (it == open.begin()) return nullptr;
    return (*(it - 1))->meta.range.Contains(key) ? *(it - 1) : nullptr;
  }
  Shard* Find(uint32_t index) const {
    auto it = shards.find(index);
    return it == shards.end() ? nullptr : it->second.get();
  }
};

// Error texts shared by the engine's files. The API layer adds the account to them.
inline Status StreamNotFound(std::string_view name) {
  return Status::Make(Code::kNotFound, "Stream {} not found.", name);
}
inline Status NotActive(const StreamMeta& m) {
  return Status::Make(Code::kInUse, "Stream {} not ACTIVE, instead in state {}", m.name,
                      StreamStatusName(m.status));
}
inline Status ShardNotFound(std::string_view stream, uint32_t index) {
  return Status::Make(Code::kNotFound, "Shard {} in stream {} does not exist",
                      FormatShardId(ShardIndex{index}), stream);
}

}  // namespace shoal
