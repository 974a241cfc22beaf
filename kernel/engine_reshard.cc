// Engine: SplitShard, MergeShards, UpdateShardCount. No record is ever copied: a reshard
// stops appends to the parents, switches routing to children whose logs were made ahead,
// and hands the CATALOG write and the parents' sealing to the topology worker
// (engine_topology.cc). A crash before that write leaves the old topology (the children
// acknowledged nothing yet); after it, recovery seals any parent left open.
#include <fmt/format.h>

#include <algorithm>
#include <thread>

#include "kernel/engine.h"
#include "kernel/engine_internal.h"

namespace shoal {
namespace {

Status CheckReshardable(const StreamMeta& m) {
  if (m.status != StreamStatus::kActive) return NotActive(m);
  if (m.mode == CapacityMode::kOnDemand)
    return Status::Make(Code::kInvalidArgument,
                        "Stream {} is in ON_DEMAND mode; resharding is only supported for PROVISIONED streams.",
                        m.name);
  return Status::Ok();
}

Status ShardClosedError(const StreamMeta& m, uint32_t idx) {
  return Status::Make(Code::kInvalidArgument,
                      "Shard {} in stream {} has already been merged or split, and thus is not "
                      "eligible for merging or splitting.",
                      FormatShardId(ShardIndex{idx}), m.name);
}

Status NoSuchShard(const StreamMeta& m, uint32_t idx) {
  return Status::Make(Code::kNotFound, "Could not find shard {} in stream {}.",
                      FormatShardId(ShardIndex{idx}), m.name);
}

ShardMeta* OpenShardAt(StreamMeta& m, uint32_t idx) {
  ShardMeta* sh = m.FindShard(idx);
  return sh && !sh->closed ? sh : nullptr;
}

// Topology edits on a StreamMeta (no I/O). `end_offsets` gives each parent's final offset.
void CloseShard(StreamMeta& m, uint32_t idx, int64_t now_ms, uint64_t end_offset) {
  ShardMeta* sh = m.FindShard(idx);
  sh->closed = true;
  sh->closed_ms = now_ms;
  sh->end_offset = end_offset;
}

uint32_t AddChild(StreamMeta& m, HashKeyRange range, std::vector<uint32_t> parents, int64_t now_ms) {
  std::vector<ShardIdentity> ids;
  for (uint32_t p : parents) ids.push_back({ShardIndex{p}, m.FindShard(p)->created_s});
  ShardMeta child;
  child.index = m.next_shard++;
  child.range = range;
  child.parent = parents[0];
  if (parents.size() > 1) child.adjacent_parent = parents[1];
  child.created_s = ChildShardCreatedSeconds(ids, now_ms);
  for (uint32_t p : parents) m.FindShard(p)->children.push_back(child.index);
  m.shards.push_back(child);
  return child.index;
}

}  // namespace

Status Engine::SplitShard(std::string_view name, uint32_t shard_index, HashKey key) {
  SHOAL_ASSIGN_OR_RETURN(auto sp, FindStream(name));
  Stream& s = *sp;
  std::unique_lock lk(s.mu);
  if (s.gone) return StreamNotFound(name);
  SHOAL_RETURN_IF_ERROR(CheckReshardable(s.meta));
  const ShardMeta* sh = s.meta.FindShard(shard_index);
  if (!sh) return NoSuchShard(s.meta, shard_index);
  if (sh->closed) return ShardClosedError(s.meta, shard_index);
  if (OpenShardCount() + 1 > options_.shard_limit)
    return Status::Make(Code::kLimitExceeded,
                        "This request would exceed the shard limit for the account. Limit: {}. "
                        "Number of additional shards that would have resulted from this request: 1.",
                        options_.shard_limit);
  // S + 1 < K < E: each child gets at least two hash keys (spec §2, verified on AWS).
  if (!(sh->range.start.value + 1 < key.value && key.value < sh->range.end.value))
    return Status::Make(Code::kInvalidArgument,
                        "NewStartingHashKey {} used in SplitShard() on shard {} in stream {} is not "
                        "both greater than one plus the shard's StartingHashKey {} and less than "
                        "the shard's EndingHashKey {}.",
                        FormatHashKey(key), FormatShardId(ShardIndex{shard_index}), name,
                        FormatHashKey(sh->range.start), FormatHashKey(sh->range.end));
  if (options_.update_delay_ms > 0) {
    StreamMeta m = s.meta;
    m.status = StreamStatus::kUpdating;
    m.status_until_ms = clock_->NowMs() + options_.update_delay_ms;
    m.pending = PendingReshard{PendingReshard::Kind::kSplit, shard_index, 0, key, 0};
    SHOAL_RETURN_IF_ERROR(CommitStream(s, m));
    s.meta = m;
    NoteTransition(m.status_until_ms);
    return Status::Ok();
  }
  return DoSplit(s, shard_index, key, true);
}

Status Engine::MergeShards(std::string_view name, uint32_t a, uint32_t b) {
  SHOAL_ASSIGN_OR_RETURN(auto sp, FindStream(name));
  Stream& s = *sp;
  std::unique_lock lk(s.mu);
  if (s.gone) return StreamNotFound(name);
  SHOAL_RETURN_IF_ERROR(CheckReshardable(s.meta));
  const ShardMeta* sa = s.meta.FindShard(a);
  const ShardMeta* sb = s.meta.FindShard(b);
  if (!sa) return NoSuchShard(s.meta, a);
  if (!sb) return NoSuchShard(s.meta, b);
  if (sa->closed) return ShardClosedError(s.meta, a);
  if (sb->closed) return ShardClosedError(s.meta, b);
  // end + 1 == start, written so the last shard (end = 2^128 - 1) never wraps to 0.
  auto touches = [](const HashKeyRange& lo, const HashKeyRange& hi) {
    return lo.end < HashKey::Max() && lo.end.value + 1 == hi.start.value;
  };
  const bool adjacent = a != b && (touches(sa->range, sb->range) || touches(sb->range, sa->range));
  if (!adjacent)
    return Status::Make(Code::kInvalidArgument,
                        "Shards {} and {} in stream {} are not an adjacent pair of shards eligible for merging",
                        FormatShardId(ShardIndex{a}), FormatShardId(ShardIndex{b}), name);
  if (options_.update_delay_ms > 0) {
    StreamMeta m = s.meta;
    m.status = StreamStatus::kUpdating;
    m.status_until_ms = clock_->NowMs() + options_.update_delay_ms;
    m.pending = PendingReshard{PendingReshard::Kind::kMerge, a, b, {}, 0};
    SHOAL_RETURN_IF_ERROR(CommitStream(s, m));
    s.meta = m;
    NoteTransition(m.status_until_ms);
    return Status::Ok();
  }
  return DoMerge(s, a, b);
}

Result<size_t> Engine::UpdateShardCount(std::string_view name, int64_t target) {
  SHOAL_ASSIGN_OR_RETURN(auto sp, FindStream(name));
  Stream& s = *sp;
  std::unique_lock lk(s.mu);
  if (s.gone) return StreamNotFound(name);
  SHOAL_RETURN_IF_ERROR(CheckReshardable(s.meta));
  const int64_t current = static_cast<int64_t>(s.meta.OpenShardCount());
  if (target < 1)
    return Status::Make(Code::kInvalidArgument, "TargetShardCount must be at least 1, got {}", target);
  if (target > 2 * current)
    return Status::Make(Code::kLimitExceeded,
                        "UpdateShardCount cannot scale up over double your current open shard count. "
                        "Current open shard count: {} Target shard count: {}", current, target);
  if (2 * target < current)
    return Status::Make(Code::kLimitExceeded,
                        "UpdateShardCount cannot scale down below half your current open shard count. "
                        "Current open shard count: {} Target shard count: {}", current, target);
  if (target > 10000)
    return Status::Make(Code::kLimitExceeded, "UpdateShardCount cannot scale a stream above 10000 shards.");
  if (static_cast<int64_t>(OpenShardCount()) - current + target > static_cast<int64_t>(options_.shard_limit))
    return Status::Make(Code::kLimitExceeded,
                        "This request would exceed the shard limit for the account. Limit: {}.",
                        options_.shard_limit);
  const int64_t now = clock_->NowMs();
  StreamMeta m = s.meta;
  std::erase_if(m.update_count_calls_ms, [&](int64_t t) { return now - t >= 24 * 3600 * 1000; });
  if (m.update_count_calls_ms.size() >= 10)
    return Status::Make(Code::kLimitExceeded,
                        "Stream {} has already been updated 10 times in the last 24 hours; "
                        "UpdateShardCount allows 10 calls per rolling 24 hours.", name);
  if (target == current) return static_cast<size_t>(current);
  m.update_count_calls_ms.push_back(now);
  if (options_.update_delay_ms > 0) {
    m.status = StreamStatus::kUpdating;
    m.status_until_ms = now + options_.update_delay_ms;
    m.pending = PendingReshard{PendingReshard::Kind::kUpdateCount, 0, 0, {}, target};
    SHOAL_RETURN_IF_ERROR(CommitStream(s, m));
    s.meta = m;
    NoteTransition(m.status_until_ms);
    return static_cast<size_t>(current);
  }
  s.meta.update_count_calls_ms = m.update_count_calls_ms;  // committed with the topology
  SHOAL_RETURN_IF_ERROR(DoUpdateCount(s, target));
  return static_cast<size_t>(current);
}

Status Engine::ApplyPending(Stream& s) {
  PendingReshard p = s.meta.pending;
  s.meta.pending = {};
  s.meta.status = StreamStatus::kActive;
  Status st;
  switch (p.kind) {
    case PendingReshard::Kind::kSplit: st = DoSplit(s, p.shard, p.key, false); break;
    case PendingReshard::Kind::kMerge: st = DoMerge(s, p.shard, p.adjacent); break;
    case PendingReshard::Kind::kUpdateCount: st = DoUpdateCount(s, p.target); break;
    case PendingReshard::Kind::kNone: break;
  }
  if (!st.ok()) {
    s.meta.pending = p;
    s.meta.status = StreamStatus::kUpdating;
  }
  return st;
}

Status Engine::DoSplit(Stream& s, uint32_t shard, HashKey key, bool) {
  StreamMeta m = s.meta;
  m.status = StreamStatus::kActive;
  m.pending = {};
  return ApplyTopology(s, std::move(m), [&](StreamMeta& t, const std::map<uint32_t, uint64_t>& ends, int64_t now) {
    ShardMeta* p = OpenShardAt(t, shard);
    if (!p) return Status(Code::kInvalidArgument, "the shard to split is no longer open");
    HashKeyRange r = p->range;
    CloseShard(t, shard, now, ends.at(shard));
    AddChild(t, HashKeyRange{r.start, HashKey{key.value - 1}}, {shard}, now);
    AddChild(t, HashKeyRange{key, r.end}, {shard}, now);
    return Status::Ok();
  }, {shard});
}

Status Engine::DoMerge(Stream& s, uint32_t a, uint32_t b) {
  StreamMeta m = s.meta;
  m.status = StreamStatus::kActive;
  m.pending = {};
  return ApplyTopology(s, std::move(m), [&](StreamMeta& t, const std::map<uint32_t, uint64_t>& ends, int64_t now) {
    ShardMeta* pa = OpenShardAt(t, a);
    ShardMeta* pb = OpenShardAt(t, b);
    if (!pa || !pb) return Status(Code::kInvalidArgument, "the shards to merge are no longer open");
    HashKeyRange r{std::min(pa->range.start, pb->range.start), std::max(pa->range.end, pb->range.end)};
    CloseShard(t, a, now, ends.at(a));
    CloseShard(t, b, now, ends.at(b));
    AddChild(t, r, {a, b}, now);
    return Status::Ok();
  }, {a, b});
}

Status Engine::DoUpdateCount(Stream& s, int64_t target) {
  StreamMeta m = s.meta;
  m.status = StreamStatus::kActive;
  m.pending = {};
  std::vector<uint32_t> open;
  for (const ShardMeta& sh : m.shards)
    if (!sh.closed) open.push_back(sh.index);
  return ApplyTopology(s, std::move(m), [&](StreamMeta& t, const std::map<uint32_t, uint64_t>& ends, int64_t now) {
    SHOAL_ASSIGN_OR_RETURN(std::vector<HashKeyRange> targets, EvenSplit(target));
    // Split phase (spec §4): cut every open shard at each target boundary inside it.
    std::vector<uint32_t> pieces;
    std::vector<uint32_t> sorted = open;
    std::sort(sorted.begin(), sorted.end(), [&](uint32_t x, uint32_t y) {
      return t.FindShard(x)->range.start < t.FindShard(y)->range.start;
    });
    for (uint32_t idx : sorted) {
      HashKeyRange r = t.FindShard(idx)->range;
      std::vector<HashKey> cuts;
      for (size_t j = 1; j < targets.size(); ++j) {
        HashKey b = targets[j].start;
        if (r.start < b && b <= r.end) cuts.push_back(b);
      }
      if (cuts.empty()) {
        pieces.push_back(idx);
        continue;
      }
      uint32_t cur = idx;
      uint64_t end = ends.count(idx) ? ends.at(idx) : 0;
      for (HashKey cut : cuts) {
        HashKeyRange cr = t.FindShard(cur)->range;
        CloseShard(t, cur, now, end);
        end = 0;  // intermediate pieces never receive a record
        pieces.push_back(AddChild(t, HashKeyRange{cr.start, HashKey{cut.value - 1}}, {cur}, now));
        cur = AddChild(t, HashKeyRange{cut, cr.end}, {cur}, now);
      }
      pieces.push_back(cur);
    }
    // Merge phase: merge the pieces of each target range left to right.
    for (const HashKeyRange& tr : targets) {
      std::vector<uint32_t> in;
      for (uint32_t p : pieces) {
        const ShardMeta* pm = t.FindShard(p);
        if (!pm->closed && tr.start <= pm->range.start && pm->range.end <= tr.end) in.push_back(p);
      }
      std::sort(in.begin(), in.end(), [&](uint32_t x, uint32_t y) {
        return t.FindShard(x)->range.start < t.FindShard(y)->range.start;
      });
      if (in.empty()) return Status(Code::kInternal, "UpdateShardCount left a target range uncovered");
      uint32_t acc = in[0];
      for (size_t k = 1; k < in.size(); ++k) {
        HashKeyRange ra = t.FindShard(acc)->range, rb = t.FindShard(in[k])->range;
        uint64_t ea = ends.count(acc) ? ends.at(acc) : 0, eb = ends.count(in[k]) ? ends.at(in[k]) : 0;
        CloseShard(t, acc, now, ea);
        CloseShard(t, in[k], now, eb);
        acc = AddChild(t, HashKeyRange{ra.start, rb.end}, {acc, in[k]}, now);
      }
    }
    std::vector<HashKeyRange> open_ranges;
    for (const ShardMeta& sh : t.shards)
      if (!sh.closed) open_ranges.push_back(sh.range);
    std::sort(open_ranges.begin(), open_ranges.end(),
              [](const HashKeyRange& x, const HashKeyRange& y) { return x.start < y.start; });
    return CheckTiling(open_ranges);
  }, open);
}

Status Engine::ApplyTopology(Stream& s, StreamMeta m, const TopologyEdit& edit,
                             std::vector<uint32_t> affected) {
  // 1. Stop appends to every shard that may close, without waiting: an append already
  //    accepted lies below the returned end and is flushed before the CATALOG write.
  //    (The stream lock is held exclusively, so no put can route meanwhile.)
  std::map<uint32_t, uint64_t> ends;
  std::vector<Shard*> stopped;
  auto resume = [&] {
    for (Shard* sh : stopped) sh->log->Resume();
  };
  for (uint32_t idx : affected) {
    Shard* sh = s.Find(idx);
    if (!sh || !sh->log) continue;
    ends[idx] = sh->log->StopAppends();
    stopped.push_back(sh);
  }
  const int64_t now = clock_->NowMs();
  Status st = edit(m, ends, now);
  if (!st.ok()) {
    resume();
    return st;
  }
  // 2. Logs for the new open shards: the spares made ahead, else made here (slow path).
  std::vector<uint32_t> need;
  for (const ShardMeta& sh : m.shards)
    if (!sh.closed && !s.Find(sh.index)) need.push_back(sh.index);
  std::map<uint32_t, std::shared_ptr<ShardLog>> fresh = TakeSpares(s, need);
  std::vector<uint32_t> missing;
  for (uint32_t idx : need)
    if (!fresh.count(idx)) missing.push_back(idx);
  // Made concurrently: each creation is a few fsyncs, which overlap on the device.
  std::vector<Result<std::unique_ptr<ShardLog>>> made;
  made.reserve(missing.size());
  for (size_t i = 0; i < missing.size(); ++i) made.emplace_back(Status(Code::kInternal, "not made"));
  {
    std::vector<std::thread> makers;
    for (size_t i = 0; i < missing.size(); ++i)
      makers.emplace_back([&, i] {
        made[i] = OpenShardLog(s, missing[i]);
      });
    for (std::thread& t : makers) t.join();
  }
  for (size_t i = 0; i < missing.size(); ++i) {
    if (made[i].ok()) fresh[missing[i]] = std::move(made[i]).value();
  }
  for (size_t i = 0; i < missing.size(); ++i) {
    if (made[i].ok()) continue;
    std::lock_guard ck(s.commit_mu);
    for (auto& [idx, l] : fresh) s.spares[idx] = std::move(l);  // still empty: keep them
    s.spare_reserved.clear();
    resume();
    return made[i].status();
  }
  // 3. Publish: routing switches now; the worker makes the version durable.
  uint64_t version;
  {
    std::lock_guard ck(s.commit_mu);
    version = ++s.topo_version;
    s.unsynced = m;
    s.spare_floor = m.next_shard;  // indices below are taken: the worker discards their spares
    s.spare_reserved.clear();
    s.commit_error = Status::Ok();
    for (const ShardMeta& sh : m.shards) {
      Shard* live = s.Find(sh.index);
      if (sh.closed && live && live->log && !live->meta.closed) s.closing.emplace_back(version, live->log);
    }
  }
  NoteOpenShards(m);
  s.meta = m;
  for (const ShardMeta& sh : m.shards) {
    if (Shard* live = s.Find(sh.index)) {
      live->meta = sh;
      continue;
    }
    auto nsh = std::make_unique<Shard>();
    nsh->meta = sh;
    nsh->gate_version = version;
    if (auto it = fresh.find(sh.index); it != fresh.end()) nsh->log = std::move(it->second);
    InitLimits(*nsh);
    s.shards[sh.index] = std::move(nsh);
  }
  // Shards stopped for the edit that stay open (UpdateShardCount leaves shards whose range
  // already matches a target untouched) take appends again.
  for (Shard* sh : stopped)
    if (!sh->meta.closed) sh->log->Resume();
  s.RebuildRouting();
  std::shared_ptr<Stream> self = s.shared_from_this();
  ScheduleCommit(self);
  ScheduleReplenish(self);
  return Status::Ok();
}

}  // namespace shoal
