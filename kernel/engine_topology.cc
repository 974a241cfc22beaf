// Engine: the background half of resharding. A reshard changes routing in memory and
// returns; the commit worker writes the new topology to CATALOG (after flushing what the
// closed parents accepted); the maintenance worker seals the parents and keeps empty logs
// ready for the next children.
//
// The invariant that makes this safe: a shard created by a reshard acknowledges no record
// until the CATALOG naming it is durable (Shard::gate_version), and a CATALOG naming a
// parent's end offset is written only after every record below that offset is durable.
#include <fmt/format.h>

#include <charconv>
#include <random>

#include "kernel/engine.h"
#include "kernel/engine_internal.h"

namespace shoal {
Status Engine::CommitLocked(const StreamMeta& meta) {
  Catalog next = catalog_;
  StreamMeta* slot = next.Find(meta.name);
  if (slot) {
    *slot = meta;
  } else {
    next.streams.push_back(meta);
    std::sort(next.streams.begin(), next.streams.end(),
              [](const StreamMeta& a, const StreamMeta& b) { return a.name < b.name; });
  }
  SHOAL_RETURN_IF_ERROR(WriteCatalog(*fs_, dir_ + "/CATALOG", next));
  catalog_ = std::move(next);
  return Status::Ok();
}

Status Engine::Commit(const StreamMeta& meta) {
  std::lock_guard lk(catalog_mu_);
  return CommitLocked(meta);
}

Status Engine::CommitStream(Stream& s, const StreamMeta& meta) {
  // The caller holds s.mu exclusively, so no reshard publishes a version meanwhile; `meta`
  // starts from s.meta and so carries any topology the worker has not written yet.
  uint64_t version;
  {
    std::lock_guard ck(s.commit_mu);
    version = s.topo_version;
  }
  if (version > s.durable_version.load(std::memory_order_acquire)) {
    SHOAL_RETURN_IF_ERROR(FlushClosing(s, version));
    SHOAL_RETURN_IF_ERROR(fs_->SyncDir(s.dir));
  }
  std::lock_guard lk(catalog_mu_);
  SHOAL_RETURN_IF_ERROR(CommitLocked(meta));
  NoteOpenShards(meta);
  std::lock_guard ck(s.commit_mu);
  s.unsynced = meta;
  s.MarkDurableLocked(version);
  return Status::Ok();
}

Status Engine::FlushClosing(Stream& s, uint64_t up_to_version) {
  std::vector<std::shared_ptr<ShardLog>> logs;
  {
    std::lock_guard ck(s.commit_mu);
    for (const auto& [v, log] : s.closing)
      if (v <= up_to_version) logs.push_back(log);
  }
  for (const auto& log : logs) SHOAL_RETURN_IF_ERROR(log->Flush());
  return Status::Ok();
}

void Engine::CommitTopology(const std::shared_ptr<Stream>& sp) {
  Stream& s = *sp;
  uint64_t version;
  StreamMeta meta;
  bool write = false;
  {
    std::lock_guard ck(s.commit_mu);
    if (s.dead) return;
    version = s.topo_version;
    if (s.durable_version.load(std::memory_order_relaxed) < version) {
      meta = s.unsynced;
      write = true;
    }
  }
  if (write) {
    // Parents first: the CATALOG states their end offsets. Then the directory entries of
    // the children's logs, which the CATALOG makes reachable.
    Status st = FlushClosing(s, version);
    if (st.ok()) st = fs_->SyncDir(s.dir);
    std::lock_guard lk(catalog_mu_);
    bool stale;
    {
      std::lock_guard ck(s.commit_mu);
      // A synchronous commit (or a later task) wrote this version or a newer one already;
      // writing `meta` now would put an older stream state back.
      stale = s.dead || s.durable_version.load(std::memory_order_relaxed) >= version;
    }
    const StreamMeta* cur = catalog_.Find(meta.name);
    if (!stale && cur && cur->uid == meta.uid) {
      if (st.ok()) st = CommitLocked(meta);
      std::lock_guard ck(s.commit_mu);
      if (st.ok()) {
        s.MarkDurableLocked(version);
      } else {
        s.commit_error = Status::Make(st.code(), "the new shard topology of stream {} could not be made "
                                                 "durable: {}", meta.name, st.message());
        s.commit_cv.notify_all();
      }
    }
  }
  // Seal the parents whose closing is durable (idempotent; recovery redoes a missed one).
  std::vector<std::shared_ptr<ShardLog>> seal;
  {
    std::lock_guard ck(s.commit_mu);
    const uint64_t durable = s.durable_version.load(std::memory_order_relaxed);
    std::erase_if(s.closing, [&](const auto& e) {
      if (e.first > durable) return false;
      seal.push_back(e.second);
      return true;
    });
  }
  if (!seal.empty())
    maintenance_worker_.Schedule([seal = std::move(seal)] {
      for (const auto& log : seal) log->Seal().status().IgnoreError();
    });
}

Status Engine::WaitGate(Stream& s, uint64_t version) {
  std::unique_lock ck(s.commit_mu);
  while (s.durable_version.load(std::memory_order_relaxed) < version) {
    if (!s.commit_error.ok()) return s.commit_error;
    if (s.dead) return StreamNotFound(s.unsynced.name);
    s.commit_cv.wait(ck);
  }
  return Status::Ok();
}

std::map<uint32_t, std::shared_ptr<ShardLog>> Engine::TakeSpares(Stream& s, const std::vector<uint32_t>& indices) {
  std::map<uint32_t, std::shared_ptr<ShardLog>> taken;
  std::unique_lock ck(s.commit_mu);
  // One critical section: the worker neither finishes a spare we then miss, nor starts
  // one for any of these indices (taken here or made inline) until the reshard publishes
  // its topology (which raises the floor past them) or gives up.
  s.commit_cv.wait(ck, [&] {
    return std::find(indices.begin(), indices.end(), s.spare_creating) == indices.end();
  });
  for (uint32_t idx : indices) {
    s.spare_reserved.push_back(idx);
    auto it = s.spares.find(idx);
    if (it == s.spares.end()) continue;
    taken[idx] = std::move(it->second);
    s.spares.erase(it);
  }
  return taken;
}

void Engine::ReplenishSpares(const std::shared_ptr<Stream>& sp) {
  Stream& s = *sp;
  while (true) {
    std::vector<std::pair<uint32_t, std::shared_ptr<ShardLog>>> stale;
    uint32_t index = UINT32_MAX;
    {
      std::lock_guard ck(s.commit_mu);
      if (s.dead) return;
      // Spares below the floor lost their index to a shard that needed no log (an
      // intermediate shard of UpdateShardCount); spares past the window are not needed.
      for (auto it = s.spares.begin(); it != s.spares.end();) {
        if (it->first >= s.spare_floor && it->first - s.spare_floor < options_.spare_shard_logs) {
          ++it;
          continue;
        }
        stale.emplace_back(it->first, std::move(it->second));
        it = s.spares.erase(it);
      }
      for (uint32_t i = s.spare_floor; i < s.spare_floor + options_.spare_shard_logs; ++i) {
        if (!s.spares.count(i) && std::find(s.spare_reserved.begin(), s.spare_reserved.end(), i) ==
                                      s.spare_reserved.end()) {
          index = i;
          s.spare_creating = i;
          break;
        }
      }
    }
    for (auto& [i, log] : stale) {
      log.reset();
      DiscardDir(ShardDirOf(s, i));
    }
    if (index == UINT32_MAX) return;
    auto made = OpenShardLog(s, index);
    Status st = made.status();
    if (st.ok()) st = fs_->SyncDir(s.dir);  // the directory entry survives power loss
    std::lock_guard ck(s.commit_mu);
    s.spare_creating = UINT32_MAX;
    s.commit_cv.notify_all();
    // A reshard waiting in TakeSpares() takes this one.
    if (!st.ok() || s.dead) return;  // a failed spare: reshards make their logs inline
    s.spares[index] = std::move(made).value();
  }
}

void Engine::AdoptOrDiscard(Stream& s, const std::string& name) {
  const std::string path = s.dir + "/" + name;
  uint32_t index = 0;
  auto r = std::from_chars(name.data(), name.data() + name.size(), index);
  if (r.ec != std::errc() || r.ptr != name.data() + name.size()) {
    RemoveTreeLater(path);  // not a shard directory the engine made (e.g. trash.*)
    return;
  }
  // An empty log at or above next_shard is a spare from before the restart (or a child of
  // a reshard that never reached CATALOG, which acknowledged nothing): keep it if empty.
  if (index >= s.meta.next_shard && index - s.meta.next_shard < options_.spare_shard_logs) {
    auto log = ShardLog::Open(path, options_.log, writer_);  // the name as found
    if (log.ok() && (*log)->start_offset() == 0 && (*log)->end_offset() == 0 && !(*log)->sealed()) {
      s.spares[index] = std::move(log).value();
      return;
    }
  }
  DiscardDir(path);
}

void Engine::DiscardDir(const std::string& path) {
  // Renamed away first so a spare made later under the same index never meets a
  // half-removed directory.
  const std::string trash = fmt::format("{}.trash.{:016x}", path, std::random_device{}() |
                                                                    (uint64_t{std::random_device{}()} << 32));
  if (fs_->Rename(path, trash).ok()) RemoveTreeLater(trash);
  else RemoveTreeLater(path);
}

void Engine::KillStream(Stream& s, bool close_spares) {
  std::map<uint32_t, std::shared_ptr<ShardLog>> spares;
  {
    std::lock_guard ck(s.commit_mu);
    s.dead = true;
    spares.swap(s.spares);
    s.commit_cv.notify_all();
  }
  if (close_spares)
    for (auto& [i, log] : spares) log->Close().IgnoreError();
}

void Engine::ScheduleCommit(const std::shared_ptr<Stream>& sp) {
  {
    std::lock_guard ck(sp->commit_mu);
    if (sp->commit_queued) return;  // the queued task writes the newest version anyway
    sp->commit_queued = true;
  }
  commit_worker_.Schedule([this, sp] {
    {
      std::lock_guard ck(sp->commit_mu);
      sp->commit_queued = false;
    }
    CommitTopology(sp);
  });
}

void Engine::ScheduleReplenish(const std::shared_ptr<Stream>& sp) {
  if (options_.spare_shard_logs == 0) return;
  {
    std::lock_guard ck(sp->commit_mu);
    if (sp->replenish_queued) return;
    sp->replenish_queued = true;
  }
  maintenance_worker_.Schedule([this, sp] {
    {
      std::lock_guard ck(sp->commit_mu);
      sp->replenish_queued = false;
    }
    ReplenishSpares(sp);
  });
}

void Engine::DrainWorkers() {
  commit_worker_.Drain();  // may hand seals to the maintenance worker
  maintenance_worker_.Drain();
}

Status Engine::WaitForBackgroundWork() {
  DrainWorkers();
  std::shared_lock lk(map_mu_);
  for (auto& [name, s] : streams_) {
    std::lock_guard ck(s->commit_mu);
    if (!s->commit_error.ok()) return s->commit_error;
  }
  return Status::Ok();
}

}  // namespace shoal
