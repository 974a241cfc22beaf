#include "kernel/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>
#include <random>

#include "kernel/engine_internal.h"
#include "kernel/stream_name.h"

namespace shoal {

Result<PositionType> ParsePositionType(std::string_view s) {
  if (s == "TRIM_HORIZON") return PositionType::kTrimHorizon;
  if (s == "LATEST") return PositionType::kLatest;
  if (s == "AT_SEQUENCE_NUMBER") return PositionType::kAtSequenceNumber;
  if (s == "AFTER_SEQUENCE_NUMBER") return PositionType::kAfterSequenceNumber;
  if (s == "AT_TIMESTAMP") return PositionType::kAtTimestamp;
  return Status::Make(Code::kInvalidArgument, "unknown shard iterator type '{}'", s);
}

Engine::Engine(std::string dir, EngineOptions options)
    : dir_(std::move(dir)), options_(std::move(options)) {
  fs_ = options_.fs ? options_.fs : io::DefaultFileSystem();
  clock_ = options_.clock ? options_.clock : std::make_shared<SystemClock>();
}

Result<std::unique_ptr<Engine>> Engine::Open(std::string data_dir, EngineOptions options) {
  SHOAL_RETURN_IF_ERROR(options.log.Validate());
  while (data_dir.size() > 1 && data_dir.back() == '/') data_dir.pop_back();
  std::unique_ptr<Engine> e(new Engine(std::move(data_dir), std::move(options)));
  SHOAL_RETURN_IF_ERROR(e->fs_->MakeDir(e->dir_));
  SHOAL_ASSIGN_OR_RETURN(e->lock_, e->fs_->LockFile(e->dir_ + "/LOCK"));
  SHOAL_RETURN_IF_ERROR(e->fs_->MakeDir(e->dir_ + "/streams"));
  SHOAL_ASSIGN_OR_RETURN(e->writer_, LogWriter::Create(WriterOptions{e->fs_}));
  SHOAL_RETURN_IF_ERROR(e->Recover());
  if (e->options_.spare_shard_logs > 0)
    for (auto& [name, s] : e->streams_)
      e->ScheduleReplenish(s);
  if (e->options_.sweep_interval_ms > 0) e->background_ = std::thread([p = e.get()] { p->RunBackground(); });
  return e;
}

Engine::~Engine() { Close().IgnoreError(); }

Status Engine::Close() {
  {
    std::lock_guard lk(bg_mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  if (background_.joinable()) background_.join();
  DrainWorkers();  // pending topologies reach CATALOG, parents are sealed
  Status first;
  std::unique_lock mlk(map_mu_);
  for (auto& [name, s] : streams_) {
    std::unique_lock lk(s->mu);
    KillStream(*s, true);
    for (auto& [i, sh] : s->shards) {
      if (!sh->log) continue;
      Status st = sh->log->Close();
      if (!st.ok() && first.ok()) first = st;
      sh->log.reset();
    }
    s->gone = true;
  }
  streams_.clear();
  if (writer_) writer_->DrainBackground();
  writer_.reset();
  lock_.Reset();
  return first;
}

std::string Engine::StreamDir(const StreamMeta& m) const {
  return fmt::format("{}/streams/{}.{:016x}", dir_, EscapeForPath(m.name), m.uid);
}

std::string Engine::ShardDir(const StreamMeta& m, uint32_t index) const {
  return fmt::format("{}/{}", StreamDir(m), index);
}

std::string Engine::ShardDirOf(const Stream& s, uint32_t index) const {
  return fmt::format("{}/{}", s.dir, index);
}

Result<std::unique_ptr<ShardLog>> Engine::OpenShardLog(const Stream& s, uint32_t index) {
  return ShardLog::Open(ShardDirOf(s, index), options_.log, writer_);
}

void Engine::RemoveTreeLater(std::string path) {
  auto fs = fs_;
  writer_->Schedule([fs, path = std::move(path)] {
    // Depth-first unlink; errors are ignored (a leftover directory is swept at next open).
    std::vector<std::string> stack{path};
    std::vector<std::string> dirs;
    while (!stack.empty()) {
      std::string p = std::move(stack.back());
      stack.pop_back();
      auto names = fs->ListDir(p);
      if (!names.ok()) {
        fs->Unlink(p).IgnoreError();
        continue;
      }
      dirs.push_back(p);
      for (const std::string& n : *names) {
        std::string child = p + "/" + n;
        if (!fs->Unlink(child).ok()) stack.push_back(child);
      }
    }
    for (auto it = dirs.rbegin(); it != dirs.rend(); ++it) fs->RemoveDir(*it).IgnoreError();
  });
}

Status Engine::CommitErase(std::string_view name) {
  std::lock_guard lk(catalog_mu_);
  Catalog next = catalog_;
  std::erase_if(next.streams, [&](const StreamMeta& m) { return m.name == name; });
  SHOAL_RETURN_IF_ERROR(WriteCatalog(*fs_, dir_ + "/CATALOG", next));
  if (const StreamMeta* gone = catalog_.Find(name)) {
    std::lock_guard olk(open_mu_);
    live_open_.erase(gone->uid);
  }
  catalog_ = std::move(next);
  return Status::Ok();
}

void Engine::NoteTransition(int64_t at_ms) {
  int64_t cur = next_transition_ms_.load();
  while (at_ms < cur && !next_transition_ms_.compare_exchange_weak(cur, at_ms)) {
  }
}

void Engine::InitLimits(Shard& sh) {
  if (!options_.kinesis_limits) return;
  sh.write_bytes = std::make_unique<TokenBucket>(clock_.get(), KinesisLimits::WriteBytes());
  sh.write_records = std::make_unique<TokenBucket>(clock_.get(), KinesisLimits::WriteRecords());
  sh.read_bytes = std::make_unique<TokenBucket>(clock_.get(), KinesisLimits::ReadBytes());
  sh.read_calls = std::make_unique<TokenBucket>(
      clock_.get(), TokenBucket::Options{KinesisLimits::kReadCallsPerSecond, KinesisLimits::kReadCallsBurst});
  sh.iterator_calls = std::make_unique<TokenBucket>(
      clock_.get(), TokenBucket::Options{KinesisLimits::kIteratorCallsPerSecond, KinesisLimits::kIteratorCallsBurst});
}

Status Engine::OpenStreamShards(Stream& s) {
  for (const ShardMeta& m : s.meta.shards) {
    auto sh = std::make_unique<Shard>();
    sh->meta = m;
    // A closed shard whose directory never existed (an intermediate shard of
    // UpdateShardCount) reads as empty.
    if (!m.closed || fs_->Exists(ShardDirOf(s, m.index))) {
      SHOAL_ASSIGN_OR_RETURN(sh->log, OpenShardLog(s, m.index));
      // A reshard committed its catalog but crashed before sealing the parent.
      if (m.closed && !sh->log->sealed()) SHOAL_RETURN_IF_ERROR(sh->log->Seal().status());
    }
    InitLimits(*sh);
    s.shards[m.index] = std::move(sh);
  }
  s.RebuildRouting();
  return Status::Ok();
}

Status Engine::Recover() {
  SHOAL_ASSIGN_OR_RETURN(catalog_, ReadCatalog(*fs_, dir_ + "/CATALOG"));
  for (const StreamMeta& m : catalog_.streams) NoteOpenShards(m);
  std::vector<std::string> known;
  for (const StreamMeta& m : catalog_.streams) {
    auto s = std::make_shared<Stream>();
    s->meta = m;
    s->dir = StreamDir(m);
    s->spare_floor = m.next_shard;
    SHOAL_RETURN_IF_ERROR(OpenStreamShards(*s));
    // Shard directories the catalog does not know: spares, an uncommitted reshard's
    // children, leftovers of a removal.
    if (auto names = fs_->ListDir(s->dir); names.ok()) {
      for (const std::string& n : *names) {
        uint32_t idx = 0;
        auto r = std::from_chars(n.data(), n.data() + n.size(), idx);
        if (r.ec != std::errc() || r.ptr != n.data() + n.size() || !s->Find(idx)) AdoptOrDiscard(*s, n);
      }
    }
    if (m.status != StreamStatus::kActive) NoteTransition(m.status_until_ms);
    known.push_back(StreamDir(m));
    streams_[m.name] = std::move(s);
  }
  // Stream directories the catalog does not know: deleted streams, or a create that never
  // committed.
  SHOAL_ASSIGN_OR_RETURN(std::vector<std::string> dirs, fs_->ListDir(dir_ + "/streams"));
  for (const std::string& d : dirs) {
    std::string p = dir_ + "/streams/" + d;
    if (std::find(known.begin(), known.end(), p) == known.end()) RemoveTreeLater(p);
  }
  return Status::Ok();
}

Result<std::shared_ptr<Engine::Stream>> Engine::FindStream(std::string_view name) {
  MaybeTransition();
  std::shared_lock lk(map_mu_);
  auto it = streams_.find(name);
  if (it == streams_.end()) return StreamNotFound(name);
  return it->second;
}

size_t Engine::OpenShardCount() {
  std::lock_guard lk(open_mu_);
  size_t n = 0;
  for (const auto& [uid, count] : live_open_) n += count;
  return n;
}

void Engine::NoteOpenShards(const StreamMeta& m) {
  std::lock_guard lk(open_mu_);
  live_open_[m.uid] = m.OpenShardCount();
}

// ---------------------------------------------------------------------------------------
// Streams

Status Engine::CreateStream(std::string_view name, int64_t shard_count, CapacityMode mode) {
  SHOAL_RETURN_IF_ERROR(ValidateStreamName(name));
  if (shard_count < 1)
    return Status::Make(Code::kInvalidArgument, "ShardCount must be at least 1, got {}", shard_count);
  MaybeTransition();
  std::unique_lock mlk(map_mu_);
  if (streams_.count(name)) return Status::Make(Code::kInUse, "Stream {} already exists.", name);
  size_t open = OpenShardCount();
  if (open + static_cast<uint64_t>(shard_count) > options_.shard_limit)
    return Status::Make(Code::kLimitExceeded,
                        "This request would exceed the shard limit for the account. Current shard "
                        "count for the account: {}. Limit: {}. Number of additional shards that "
                        "would have resulted from this request: {}.",
                        open, options_.shard_limit, shard_count);
  SHOAL_ASSIGN_OR_RETURN(std::vector<HashKeyRange> ranges, EvenSplit(shard_count));
  const int64_t now = clock_->NowMs();
  auto s = std::make_shared<Stream>();
  StreamMeta& m = s->meta;
  m.name = std::string(name);
  m.uid = std::random_device{}() | (uint64_t{std::random_device{}()} << 32);
  m.mode = mode;
  m.retention_hours = 24;
  m.created_ms = now;
  m.status = options_.create_delay_ms > 0 ? StreamStatus::kCreating : StreamStatus::kActive;
  m.status_until_ms = now + options_.create_delay_ms;
  // Shards are stamped 2 s in the past (kinesalite's SEQ_ADJUST_MS) so a record put in the
  // creation second is strictly above StartingSequenceNumber whatever the clock does.
  const int64_t created_s = std::max<int64_t>(0, now / 1000 - 2);
  for (int64_t i = 0; i < shard_count; ++i) {
    ShardMeta sh;
    sh.index = static_cast<uint32_t>(i);
    sh.range = ranges[static_cast<size_t>(i)];
    sh.created_s = created_s;
    m.shards.push_back(sh);
  }
  m.next_shard = static_cast<uint32_t>(shard_count);
  s->dir = StreamDir(m);
  s->spare_floor = m.next_shard;
  // Directories first (their entries durable), catalog last: a crash in between leaves
  // only orphans, which the next open removes. A failure removes them at once: on a full
  // disk, the shards already made hold preallocated segments the other logs need now.
  Status st = fs_->MakeDir(s->dir);
  if (st.ok()) st = OpenStreamShards(*s);
  if (st.ok()) st = fs_->SyncDir(s->dir);
  if (st.ok()) st = fs_->SyncDir(dir_ + "/streams");
  if (st.ok()) st = Commit(m);
  if (st.ok()) NoteOpenShards(m);
  if (!st.ok()) {
    for (auto& [i, sh] : s->shards) sh->log.reset();
    RemoveTreeLater(StreamDir(m));
    return st;
  }
  if (m.status != StreamStatus::kActive) NoteTransition(m.status_until_ms);
  ScheduleReplenish(s);
  streams_[m.name] = std::move(s);
  return Status::Ok();
}

Status Engine::DeleteStream(std::string_view name, bool) {
  SHOAL_ASSIGN_OR_RETURN(auto s, FindStream(name));
  std::unique_lock lk(s->mu);
  if (s->gone) return StreamNotFound(name);
  if (options_.delete_delay_ms > 0) {
    if (s->meta.status == StreamStatus::kDeleting) return Status::Ok();
    StreamMeta m = s->meta;
    m.status = StreamStatus::kDeleting;
    m.status_until_ms = clock_->NowMs() + options_.delete_delay_ms;
    m.pending = {};
    SHOAL_RETURN_IF_ERROR(CommitStream(*s, m));
    s->meta = m;
    NoteTransition(m.status_until_ms);
    return Status::Ok();
  }
  SHOAL_RETURN_IF_ERROR(CommitErase(name));
  KillStream(*s, false);
  s->gone = true;
  for (auto& [i, sh] : s->shards) sh->log.reset();  // abandon: the data is going away
  s->shards.clear();
  s->open.clear();
  std::string dir = StreamDir(s->meta);
  lk.unlock();
  {
    std::unique_lock mlk(map_mu_);
    streams_.erase(std::string(name));
  }
  // Off the caller's path, after any worker task already queued for the stream.
  maintenance_worker_.Schedule([this, dir] { RemoveTreeLater(dir); });
  return Status::Ok();
}

ShardDescription Engine::Describe(const StreamMeta& m, const ShardMeta& sh) const {
  (void)m;
  ShardDescription d;
  d.index = sh.index;
  d.shard_id = FormatShardId(ShardIndex{sh.index});
  if (sh.parent != kNoShard) d.parent = FormatShardId(ShardIndex{sh.parent});
  if (sh.adjacent_parent != kNoShard) d.adjacent_parent = FormatShardId(ShardIndex{sh.adjacent_parent});
  d.range = sh.range;
  ShardIdentity id{ShardIndex{sh.index}, sh.created_s};
  d.starting_sequence_number = FormatSequenceNumber(ShardStartSeq(id));
  if (sh.closed) d.ending_sequence_number = FormatSequenceNumber(ShardEndSeq(id, sh.closed_ms));
  d.closed = sh.closed;
  d.created_ms = sh.created_s * 1000;
  d.closed_ms = sh.closed_ms;
  return d;
}

Result<StreamDescription> Engine::DescribeStream(std::string_view name) {
  SHOAL_ASSIGN_OR_RETURN(auto s, FindStream(name));
  std::shared_lock lk(s->mu);
  if (s->gone) return StreamNotFound(name);
  const StreamMeta& m = s->meta;
  StreamDescription d;
  d.name = m.name;
  d.uid = m.uid;
  d.status = m.status;
  d.mode = m.mode;
  d.retention_hours = m.retention_hours;
  d.created_ms = m.created_ms;
  d.tags = m.tags;
  d.open_shard_count = m.OpenShardCount();
  if (m.status != StreamStatus::kCreating)
    for (const ShardMeta& sh : m.shards) d.shards.push_back(Describe(m, sh));
  return d;
}

StreamSummaryList Engine::ListStreams(size_t limit, std::string_view exclusive_start) {
  MaybeTransition();
  StreamSummaryList out;
  std::shared_lock lk(map_mu_);
  auto it = exclusive_start.empty() ? streams_.begin() : streams_.upper_bound(exclusive_start);
  for (; it != streams_.end(); ++it) {
    if (out.names.size() >= limit) {
      out.has_more = true;
      break;
    }
    out.names.push_back(it->first);
  }
  return out;
}

Status Engine::SetRetention(std::string_view name, int hours, bool increase) {
  SHOAL_ASSIGN_OR_RETURN(auto s, FindStream(name));
  std::unique_lock lk(s->mu);
  if (s->gone) return StreamNotFound(name);
  StreamMeta m = s->meta;
  if (m.status != StreamStatus::kActive) return NotActive(m);
  if (hours < 24 || hours > 8760)
    return Status::Make(Code::kInvalidArgument,
                        "Minimum allowed retention period is 24 hours and maximum is 8760 hours. "
                        "Requested retention period ({} hours) is outside this range.", hours);
  if (increase && hours < m.retention_hours)
    return Status::Make(Code::kInvalidArgument,
                        "Requested retention period ({} hours) for stream {} can not be shorter "
                        "than existing retention period ({} hours). Use DecreaseRetentionPeriod API.",
                        hours, name, m.retention_hours);
  if (!increase && hours > m.retention_hours)
    return Status::Make(Code::kInvalidArgument,
                        "Requested retention period ({} hours) for stream {} can not be longer "
                        "than existing retention period ({} hours). Use IncreaseRetentionPeriod API.",
                        hours, name, m.retention_hours);
  if (increase) {
    // Records that already aged out under the old period stay gone: make that permanent
    // (persisted start offsets) before the longer period takes effect.
    const int64_t now = clock_->NowMs();
    const int64_t cutoff = VisibleSinceMs(now, m.retention_hours);
    for (auto& [i, sh] : s->shards)
      if (sh->log) SHOAL_RETURN_IF_ERROR(sh->log->TrimOlderThan(cutoff));
    // Closed shards that already expired under the old period stay expired.
    const int64_t old_ms = int64_t{m.retention_hours} * 3600 * 1000;
    std::vector<uint32_t> expired;
    for (const ShardMeta& sh : m.shards)
      if (sh.closed && now - sh.closed_ms >= old_ms) expired.push_back(sh.index);
    std::erase_if(m.shards, [&](const ShardMeta& sh) {
      return std::find(expired.begin(), expired.end(), sh.index) != expired.end();
    });
    m.retention_hours = hours;
    SHOAL_RETURN_IF_ERROR(CommitStream(*s, m));
    s->meta = m;
    for (uint32_t i : expired) {
      if (Shard* sh = s->Find(i); sh && sh->log) sh->log.reset();
      s->shards.erase(i);
      RemoveTreeLater(ShardDir(m, i));
    }
    return Status::Ok();
  }
  m.retention_hours = hours;
  SHOAL_RETURN_IF_ERROR(CommitStream(*s, m));
  s->meta = m;
  return Status::Ok();
}

Status Engine::AddTags(std::string_view name, const std::map<std::string, std::string>& tags) {
  SHOAL_ASSIGN_OR_RETURN(auto s, FindStream(name));
  std::unique_lock lk(s->mu);
  if (s->gone) return StreamNotFound(name);
  StreamMeta m = s->meta;
  if (m.status != StreamStatus::kActive) return NotActive(m);
  for (const auto& [k, v] : tags) m.tags[k] = v;
  if (m.tags.size() > 50)
    return Status::Make(Code::kLimitExceeded, "A stream can have at most 50 tags; this request would leave {}.",
                        m.tags.size());
  SHOAL_RETURN_IF_ERROR(CommitStream(*s, m));
  s->meta = m;
  return Status::Ok();
}

Status Engine::RemoveTags(std::string_view name, std::span<const std::string> keys) {
  SHOAL_ASSIGN_OR_RETURN(auto s, FindStream(name));
  std::unique_lock lk(s->mu);
  if (s->gone) return StreamNotFound(name);
  StreamMeta m = s->meta;
  if (m.status != StreamStatus::kActive) return NotActive(m);
  for (const std::string& k : keys) m.tags.erase(k);
  SHOAL_RETURN_IF_ERROR(CommitStream(*s, m));
  s->meta = m;
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
// Time: state transitions and retention

void Engine::ApplyDueTransitions() {
  std::lock_guard tlk(tick_mu_);
  const int64_t now = clock_->NowMs();
  next_transition_ms_.store(INT64_MAX);
  std::vector<std::shared_ptr<Stream>> all;
  {
    std::shared_lock lk(map_mu_);
    for (auto& [n, s] : streams_) all.push_back(s);
  }
  for (auto& s : all) {
    std::unique_lock lk(s->mu);
    if (s->gone || s->meta.status == StreamStatus::kActive) continue;
    if (now < s->meta.status_until_ms) {
      NoteTransition(s->meta.status_until_ms);
      continue;
    }
    if (s->meta.status == StreamStatus::kDeleting) {
      if (!CommitErase(s->meta.name).ok()) {
        NoteTransition(now + 1000);  // retry later
        continue;
      }
      KillStream(*s, false);
      s->gone = true;
      for (auto& [i, sh] : s->shards) sh->log.reset();
      s->shards.clear();
      s->open.clear();
      std::string dir = StreamDir(s->meta), name = s->meta.name;
      lk.unlock();
      std::unique_lock mlk(map_mu_);
      streams_.erase(name);
      mlk.unlock();
      maintenance_worker_.Schedule([this, dir] { RemoveTreeLater(dir); });
      continue;
    }
    if (s->meta.status == StreamStatus::kUpdating && s->meta.pending.kind != PendingReshard::Kind::kNone) {
      Status st = ApplyPending(*s);
      if (!st.ok()) {
        NoteTransition(now + 1000);
        continue;
      }
      continue;
    }
    StreamMeta m = s->meta;
    m.status = StreamStatus::kActive;
    if (CommitStream(*s, m).ok()) s->meta = m;
    else NoteTransition(now + 1000);
  }
}

void Engine::SweepRetention() {
  const int64_t now = clock_->NowMs();
  std::vector<std::shared_ptr<Stream>> all;
  {
    std::shared_lock lk(map_mu_);
    for (auto& [n, s] : streams_) all.push_back(s);
  }
  for (auto& s : all) {
    std::vector<uint32_t> expired;
    int64_t retention_ms;
    {
      std::shared_lock lk(s->mu);
      if (s->gone) continue;
      retention_ms = int64_t{s->meta.retention_hours} * 3600 * 1000;
      for (auto& [i, sh] : s->shards) {
        if (sh->log) sh->log->TrimOlderThan(VisibleSinceMs(now, s->meta.retention_hours)).IgnoreError();
        // A closed shard expires once its last record can no longer be visible.
        if (sh->meta.closed && now - sh->meta.closed_ms >= retention_ms) expired.push_back(i);
      }
    }
    if (expired.empty()) continue;
    std::unique_lock lk(s->mu);
    if (s->gone) continue;
    StreamMeta m = s->meta;
    std::erase_if(m.shards, [&](const ShardMeta& sh) {
      return std::find(expired.begin(), expired.end(), sh.index) != expired.end();
    });
    if (!CommitStream(*s, m).ok()) continue;
    s->meta = m;
    for (uint32_t i : expired) {
      if (Shard* sh = s->Find(i); sh && sh->log) sh->log.reset();
      s->shards.erase(i);
      RemoveTreeLater(ShardDir(m, i));
    }
  }
}

void Engine::Tick() {
  ApplyDueTransitions();
  SweepRetention();
}

void Engine::RunBackground() {
  std::unique_lock lk(bg_mu_);
  int64_t last_sweep = clock_->NowMs();
  while (!bg_stop_) {
    // Wake every 100 ms for due state transitions; sweep at the configured interval.
    bg_cv_.wait_for(lk, std::chrono::milliseconds(100));
    if (bg_stop_) break;
    lk.unlock();
    MaybeTransition();
    if (clock_->NowMs() - last_sweep >= options_.sweep_interval_ms) {
      SweepRetention();
      last_sweep = clock_->NowMs();
    }
    lk.lock();
  }
}

}  // namespace shoal
