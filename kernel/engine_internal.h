// Engine's private parts shared by its implementation files.
#pragma once

#include <pthread.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <utility>
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
  // Null for a closed shard that never held a record. Shared: the topology worker may
  // still flush or seal a parent after a delete or expiry dropped it from the stream.
  std::shared_ptr<ShardLog> log;
  // The stream's topology version that created this shard: no append is accepted until
  // that version is in CATALOG, so no record is acknowledged in a shard a crash could
  // forget (0: already durable when loaded).
  uint64_t gate_version = 0;
  // Kinesis-emulation limits (null when off).
  std::unique_ptr<TokenBucket> write_bytes, write_records, read_bytes, read_calls, iterator_calls;
  ShardIdentity identity() const { return ShardIdentity{ShardIndex{meta.index}, meta.created_s}; }
};

struct Engine::Stream : std::enable_shared_from_this<Engine::Stream> {
  // Shared: puts, reads, describes. Exclusive: every change of `meta` or `shards`.
  WriterPreferringMutex mu;
  StreamMeta meta;
  std::string dir;  // set once at create/recover (name and uid never change)

  // --- Topology made in memory ahead of CATALOG (guarded by commit_mu) ---
  // A reshard switches routing at once and leaves the CATALOG write to the engine's
  // topology worker; puts to the new shards wait for it (gate_version). Never wait on the
  // worker while holding commit_mu; lock order: mu, catalog_mu_, commit_mu.
  std::mutex commit_mu;
  std::condition_variable commit_cv;
  uint64_t topo_version = 0;                // bumped by every in-memory topology change
  std::atomic<uint64_t> durable_version{0};  // the newest version known to be in CATALOG
  StreamMeta unsynced;                      // `meta` as of topo_version
  Status commit_error;                      // the last failed topology commit
  bool dead = false;                        // deleted or engine closing: the worker skips it
  bool commit_queued = false;               // a CommitTopology task is queued (coalesced)
  bool replenish_queued = false;            // a ReplenishSpares task is queued (coalesced)
  bool dir_dirty = false;                   // shard dirs created since the last dir fsync
  // Parents closed in memory (with the version that closed them): flushed before the
  // CATALOG that names their end offset is written, sealed after.
  std::vector<std::pair<uint64_t, std::shared_ptr<ShardLog>>> closing;
  // Empty logs made ahead for the next shard indices (>= spare_floor), so a reshard
  // does not create files on its caller's path.
  std::map<uint32_t, std::shared_ptr<ShardLog>> spares;
  uint32_t spare_floor = 0;
  uint32_t spare_creating = UINT32_MAX;  // the index the worker is creating now
  std::vector<uint32_t> spare_reserved;  // indices a reshard in progress makes itself

  // commit_mu held: `version` (or newer) is in CATALOG.
  void MarkDurableLocked(uint64_t version) {
    if (version > durable_version.load(std::memory_order_relaxed))
      durable_version.store(version, std::memory_order_release);
    commit_error = Status::Ok();
    commit_cv.notify_all();
  }
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
