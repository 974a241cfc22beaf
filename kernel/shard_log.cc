#include "kernel/shard_log.h"

#include <algorithm>
#include <atomic>

#include "io/crc32c.h"
#include "kernel/log_writer.h"
#include "kernel/segment_files.h"
#include "kernel/shard_log_internal.h"
#include "kernel/wall_clock.h"

namespace shoal {

using format::AlignUp;

namespace {

// Adapts a std::function to AppendCompletion; deletes itself after the call.
class FunctionCompletion final : public AppendCompletion {
 public:
  explicit FunctionCompletion(std::function<void(const AppendResult&)> f) : f_(std::move(f)) {}
  void OnAppended(const AppendResult& r) override {
    f_(r);
    delete this;
  }

 private:
  std::function<void(const AppendResult&)> f_;
};

}  // namespace

ShardLog::ShardLog(std::string dir, LogOptions options, std::shared_ptr<LogWriter> writer,
                   std::shared_ptr<io::FileSystem> fs)
    : dir_(std::move(dir)),
      options_(options),
      writer_(std::move(writer)),
      fs_(std::move(fs)),
      filling_(std::make_unique<Group>()),
      spare_(std::make_shared<SpareSlot>()),
      bg_(std::make_shared<BackgroundState>()) {}

Result<std::unique_ptr<ShardLog>> ShardLog::Open(std::string dir, LogOptions options,
                                                 std::shared_ptr<LogWriter> writer) {
  SHOAL_RETURN_IF_ERROR(options.Validate());
  if (!writer) return Status(Code::kInvalidArgument, "ShardLog::Open needs a LogWriter");
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  auto fs = writer->fs_ptr();
  std::unique_ptr<ShardLog> log(new ShardLog(std::move(dir), options, writer, fs));
  SHOAL_RETURN_IF_ERROR(log->Recover());
  if (!log->sealed_) {
    writer->Register(log.get());
    log->write_registered_ = true;
    log->RequestSpare();
  }
  return log;
}

ShardLog::~ShardLog() {
  std::vector<Waiter> abandoned;
  {
    std::unique_lock lk(mu_);
    closed_ = true;
    abandon_ = true;
    // Groups already taken by the writer finish (their producers get their answer).
    idle_cv_.wait(lk, [&] { return groups_in_flight_ == 0; });
  }
  if (write_registered_) writer_->Unregister(this);
  {
    std::lock_guard lk(mu_);
    abandoned.swap(filling_->frames);
    filling_->Clear();
  }
  space_cv_.notify_all();
  CompleteAll(abandoned, Status(Code::kClosed, "the shard log was destroyed before this "
                                               "append was written; it was not stored"));
  // Background tasks hold their own references; wait so none touches this directory
  // after the caller may have reopened it.
  writer_->DrainBackground();
  CloseWriteFds();
  writer_->NoteClosed(dir_);
}

void ShardLog::CloseWriteFds() {
  // Readers may keep segments alive through their pins; they must not keep them open for
  // writing, or the next Open of this directory would wait for a writer that never goes.
  {
    std::lock_guard lk(seg_mu_);
    for (const SegmentPtr& s : segments_) s->write_fd().Reset();
  }
  std::lock_guard lk(spare_->mu);
  if (spare_->seg) spare_->seg->write_fd().Reset();
}

// ---------------------------------------------------------------------------------------
// Append path

void ShardLog::Append(std::span<const RecordIn> records,
                      std::function<void(const AppendResult&)> done) {
  Append(records, new FunctionCompletion(std::move(done)));
}

AppendResult ShardLog::AppendSync(std::span<const RecordIn> records) {
  BlockingCompletion c;
  Append(records, &c);
  return c.Wait();
}

void ShardLog::CompleteAll(std::vector<Waiter>& waiters, const Status& status) {
  for (const Waiter& w : waiters) {
    AppendResult r;
    r.status = status;
    w.done->OnAppended(r);
  }
  waiters.clear();
}

void ShardLog::Append(std::span<const RecordIn> records, AppendCompletion* done) {
  auto fail = [&](Status st) {
    AppendResult r;
    r.status = std::move(st);
    done->OnAppended(r);
  };
  if (records.empty()) return fail(Status(Code::kInvalidArgument, "an append needs at least one record"));
  size_t body = 0;
  int64_t max_ts = INT64_MIN;
  for (size_t i = 0; i < records.size(); ++i) {
    const RecordIn& r = records[i];
    if (r.key.empty() || r.key.size() > format::kMaxKeyBytes)
      return fail(Status::Make(Code::kInvalidArgument,
                               "record {}: partition key is {} bytes; it must be 1 to {} bytes", i,
                               r.key.size(), format::kMaxKeyBytes));
    if (r.data.size() > options_.max_record_bytes)
      return fail(Status::Make(Code::kInvalidArgument,
                               "record {}: data is {} bytes, above the limit of {} bytes "
                               "(LogOptions::max_record_bytes)", i, r.data.size(),
                               options_.max_record_bytes));
    body += format::RecordBytes(r.key.size(), r.data.size());
    max_ts = std::max(max_ts, r.ts_ms);
  }
  const size_t frame_len = AlignUp(format::kFrameHeaderSize + body, format::kFrameAlign);
  if (frame_len > format::kMaxFrameBytes)
    return fail(Status::Make(Code::kInvalidArgument,
                             "the batch encodes to {} bytes, above the {}-byte frame limit; split it",
                             frame_len, format::kMaxFrameBytes));

  std::unique_lock lk(mu_);
  auto refuse = [&]() -> bool {
    Status st;
    if (failed_.ok() && bg_->failed.load(std::memory_order_acquire)) FailLocked(bg_->Get());
    if (!failed_.ok()) st = failed_;
    else if (sealed_) st = Status(Code::kClosed, "the shard log is sealed; it accepts no appends");
    else if (closed_) st = Status(Code::kClosed, "the shard log is closed");
    else if (stopped_) st = Status(Code::kClosed, "the shard is being closed by a reshard; route the record again");
    if (st.ok()) return false;
    lk.unlock();
    fail(std::move(st));
    return true;
  };
  if (refuse()) return;
  // Back-pressure: wait for the writer to take the staged group if this frame would
  // overflow it. A frame bigger than the whole buffer goes alone into an empty one.
  while (!filling_->frames.empty() && filling_->buf.size() + frame_len > options_.staging_bytes) {
    space_cv_.wait(lk);
    if (refuse()) return;
  }
  const int64_t first_ts = std::max(records[0].ts_ms, last_ts_);
  const int64_t last_ts = std::max(first_ts, max_ts);
  if (static_cast<uint64_t>(last_ts - first_ts) > UINT32_MAX) {
    lk.unlock();
    return fail(Status(Code::kInvalidArgument,
                       "timestamps within one batch span more than 49 days; split the batch"));
  }
  Group& g = *filling_;
  const uint32_t pos = static_cast<uint32_t>(g.buf.size());
  uint8_t* f = g.buf.Append(frame_len);
  const uint64_t base = next_offset_;
  format::Store32(f + format::kFrameLen, static_cast<uint32_t>(frame_len));
  format::Store16(f + format::kFrameMagic, format::kFrameMagicValue);
  f[format::kFrameVersion] = format::kFrameVersionValue;
  f[format::kFrameFlags] = 0;
  format::Store32(f + format::kFrameCount, static_cast<uint32_t>(records.size()));
  format::Store64(f + format::kFrameBaseOffset, base);
  format::Store64(f + format::kFrameBaseTs, static_cast<uint64_t>(first_ts));
  uint8_t* p = f + format::kFrameHeaderSize;
  int64_t ts = first_ts;
  for (const RecordIn& r : records) {
    ts = std::max(ts, r.ts_ms);
    format::Store32(p + format::kRecTsDelta, static_cast<uint32_t>(ts - first_ts));
    format::Store32(p + format::kRecDataLen, static_cast<uint32_t>(r.data.size()));
    format::Store16(p + format::kRecKeyLen, static_cast<uint16_t>(r.key.size()));
    format::Store16(p + format::kRecReserved, 0);
    p += format::kRecordHeaderSize;
    std::memcpy(p, r.key.data(), r.key.size());
    p += r.key.size();
    if (!r.data.empty()) std::memcpy(p, r.data.data(), r.data.size());
    p += r.data.size();
  }
  std::memset(p, 0, static_cast<size_t>(f + frame_len - p));
  format::Store32(f + format::kFrameCrc, io::Crc32c(f + 8, frame_len - 8));
  g.frames.push_back(Waiter{done, pos, static_cast<uint32_t>(frame_len), base,
                            static_cast<uint32_t>(records.size()), first_ts, last_ts});
  g.records += records.size();
  next_offset_ += records.size();
  last_ts_ = last_ts;
  pending_records_ += records.size();
  ++stats_.appends;
  stats_.records += records.size();
  if (!queued_) {
    queued_ = true;
    writer_->MarkDirty(this);
  }
}

// ---------------------------------------------------------------------------------------
// Flusher thread

bool ShardLog::RollDueLocked(uint64_t len) const {
  const bool aged = options_.segment_max_age_ms > 0 && active_->write_pos > format::kSegmentHeaderSize &&
                    WallMs() - active_->created_ms >= options_.segment_max_age_ms;
  return force_roll_ || aged || active_->write_pos + len > active_->capacity();
}

ShardLog::Group* ShardLog::TakeGroup() {
  Group* g;
  bool roll;
  {
    std::lock_guard lk(mu_);
    queued_ = false;
    if (filling_->frames.empty() || abandon_) return nullptr;
    // Decided here, once, so that the wait below and the roll in PrepareFlush agree.
    const uint64_t len = options_.write_mode == WriteMode::kDirect
                             ? AlignUp(filling_->buf.size(), io::kDirectAlign)  // PrepareFlush pads
                             : filling_->buf.size();
    roll = RollDueLocked(len);
    // kAlways: no byte may reach a new segment while a write to the old one may not be
    // durable yet. Recovery relies on it: a damaged segment followed by one that holds
    // records is then damage to acknowledged data, never a torn unsynced tail (writes to
    // two files are persisted in no particular order by a power cut). Every group in
    // flight is fdatasynced before it completes, so the roll waits for them; the last
    // one to complete re-marks the log dirty. Costs at most one sync round per segment.
    if (roll && options_.durability == Durability::kAlways && groups_in_flight_ > 0) {
      ++stats_.roll_waits;
      return nullptr;
    }
    if (free_groups_.empty()) {
      if (groups_in_flight_ + 1 >= kGroupsPerLog) return nullptr;  // re-queued on completion
      free_groups_.push_back(std::make_unique<Group>());
    }
    std::unique_ptr<Group> next = std::move(free_groups_.back());
    free_groups_.pop_back();
    std::swap(filling_, next);
    g = next.release();  // owned by the pipeline until CompleteGroup recycles it
    g->roll = roll;
    ++groups_in_flight_;
  }
  space_cv_.notify_all();
  return g;
}

Status ShardLog::PrepareFlush(Group* gp, io::WriteOp* op) {
  Group& g = *gp;
  if (write_failed_.load(std::memory_order_relaxed))
    return Status(Code::kFailed, "an earlier write of this log failed");
  if (options_.write_mode == WriteMode::kDirect) {
    // Pad the last frame to the 4 KiB block: with O_DIRECT no block is written twice,
    // so a block a reader has mapped is never rewritten under it.
    size_t len = g.buf.size();
    size_t padded = AlignUp(len, io::kDirectAlign);
    if (padded > len) {
      Waiter& last = g.frames.back();
      uint8_t* pad = g.buf.Append(padded - len);
      std::memset(pad, 0, padded - len);
      uint8_t* f = g.buf.data() + last.pos;
      uint32_t crc = format::Load32(f + format::kFrameCrc);
      format::Store32(f + format::kFrameCrc, io::Crc32cExtend(crc, pad, padded - len));
      last.len += static_cast<uint32_t>(padded - len);
      format::Store32(f + format::kFrameLen, last.len);
    }
  }
  const uint64_t len = g.buf.size();
  if (g.roll) {
    SHOAL_ASSIGN_OR_RETURN(SegmentPtr next, TakeSpareOrCreate(format::kSegmentHeaderSize + len));
    next->Activate(g.frames.front().first_offset, g.frames.front().first_ts);
    {
      std::lock_guard lk(seg_mu_);
      segments_.push_back(next);
    }
    g.rolled_from = std::move(active_);
    active_ = std::move(next);
    force_roll_ = false;
    {
      std::lock_guard lk(mu_);
      ++stats_.rolls;
    }
    RequestSpare();
  }
  // The file grows ahead of the writer: doubled in the background once half is used,
  // inline only when a flush outruns it.
  const uint64_t need = active_->write_pos + len;
  if (need > active_->allocated()) {
    SHOAL_RETURN_IF_ERROR(ExtendSegmentFile(*fs_, *active_, need));
    std::lock_guard lk(mu_);
    ++stats_.inline_extends;
  }
  if (need > active_->allocated() / 2 && active_->allocated() < active_->capacity() &&
      !active_->extending.exchange(true)) {
    auto fs = fs_;
    SegmentPtr seg = active_;
    writer_->Schedule([fs, seg] {
      // A failure here is retried inline by the writer, which reports it.
      ExtendSegmentFile(*fs, *seg, seg->allocated() * 2).IgnoreError();
      seg->extending.store(false);
    });
  }
  g.seg = active_;
  g.file_pos = active_->write_pos;
  active_->write_pos += len;  // the next group goes after this one, even while it is in flight
  op->fd = active_->write_fd().get();
  op->offset = g.file_pos;
  op->data = g.buf.data();
  op->len = len;
  return Status::Ok();
}

void ShardLog::WriteDone(Group* g, const Status& st) {
  g->status = st;
  if (!st.ok()) {
    write_failed_.store(true, std::memory_order_relaxed);
    return;
  }
  std::lock_guard lk(mu_);
  ++stats_.flushes;
  stats_.bytes_written += g->buf.size();
}

// ---------------------------------------------------------------------------------------
// Syncer thread

int64_t ShardLog::NextSyncDueMs() const {
  // After a failed write or fdatasync there is nothing to retry (fsyncgate): no sync is due.
  if (options_.durability != Durability::kInterval || unsynced_segments_.empty() ||
      write_failed_.load(std::memory_order_relaxed))
    return INT64_MAX;
  return last_sync_ms_ + options_.interval_ms;
}

bool ShardLog::CollectSyncFds(std::span<Group* const> groups, int64_t now_ms,
                              std::vector<int>* fds) {
  bool rolled = false;
  bool wrote = false;
  for (Group* g : groups) {
    if (!g->status.ok()) continue;
    wrote = true;
    if (std::find(unsynced_segments_.begin(), unsynced_segments_.end(), g->seg) ==
        unsynced_segments_.end())
      unsynced_segments_.push_back(g->seg);
    if (g->rolled_from) rolled = true;
  }
  bool want = false;
  switch (options_.durability) {
    case Durability::kAlways: want = wrote; break;
    // A rolled segment is synced now so its seal (which closes its fd) never races a
    // later fdatasync of that fd.
    case Durability::kInterval: want = rolled || now_ms >= last_sync_ms_ + options_.interval_ms; break;
    case Durability::kNone: want = false; break;
  }
  if (!want || unsynced_segments_.empty() || write_failed_.load(std::memory_order_relaxed)) return false;
  for (const SegmentPtr& seg : unsynced_segments_) fds->push_back(seg->write_fd().get());
  return true;
}

void ShardLog::SyncDone(const Status& st) {
  if (!st.ok()) {
    write_failed_.store(true, std::memory_order_relaxed);
    unsynced_segments_.clear();  // retrying an fdatasync after EIO proves nothing
    std::lock_guard lk(mu_);
    FailLocked(st);
    return;
  }
  unsynced_segments_.clear();
  last_sync_ms_ = MonotonicMs();
  synced_in_round_ = true;
  std::lock_guard lk(mu_);
  stats_.fsyncs += 1;
}

void ShardLog::FailLocked(const Status& status) {
  if (!failed_.ok()) return;
  Code code = status.code() == Code::kNoSpace ? Code::kNoSpace : Code::kFailed;
  failed_ = Status(code, fmt::format(
                             "{}: a write or fdatasync failed ({}); the on-disk tail is unknown, "
                             "so the log refuses appends until it is closed and reopened, which "
                             "verifies and truncates the tail", dir_, status.ToString()));
}

void ShardLog::RoundDone() {
  // Every group of the round was written before its fdatasync was submitted, so after a
  // successful sync everything published so far is durable.
  if (synced_in_round_ && !write_failed_.load(std::memory_order_relaxed))
    durable_next_.store(visible_next_.load(std::memory_order_relaxed), std::memory_order_release);
  synced_in_round_ = false;
}

void ShardLog::CompleteGroup(Group* gp, const Status& status) {
  std::unique_ptr<Group> owned(gp);
  Group& g = *gp;
  if (g.rolled_from) {
    // Every group of the old segment was completed before this one (FIFO), so its
    // summary is final: seal it (or drop it if it never got a record).
    std::erase(unsynced_segments_, g.rolled_from);
    SegmentPtr old = std::move(g.rolled_from);
    // Unless a group written to it failed (its write or fdatasync; the log is failed):
    // then the file holds bytes past what was published, and the next segment may hold
    // later frames. Sealing would cut those bytes off, unlinking would drop them (an
    // "empty" segment may be one whose only group failed): either way the next open would
    // find records missing before the next segment's and refuse the log. Leave the file
    // as it is; recovery scans it.
    if (old->write_pos == old->committed_end()) {
      if (old->empty()) {
        std::lock_guard lk(seg_mu_);
        std::erase(segments_, old);
      }
      auto fs = fs_;
      auto bg = bg_;
      writer_->Schedule([fs, old, bg] {
        if (old->empty()) {
          old->write_fd().Reset();
          fs->Unlink(old->path()).IgnoreError();
        } else {
          bg->Report(SealSegmentFiles(*fs, *old));
        }
      });
    }
  }
  const bool failed = !status.ok() || !g.status.ok() || write_failed_.load(std::memory_order_relaxed);
  if (failed) {
    write_failed_.store(true, std::memory_order_relaxed);
    std::vector<Waiter> later;
    Status st;
    {
      std::lock_guard lk(mu_);
      FailLocked(!status.ok() ? status : !g.status.ok() ? g.status
                                                         : Status(Code::kIOError, "an earlier write failed"));
      st = failed_;
      // Appends staged after the failed group would leave a gap: they fail too.
      later.swap(filling_->frames);
      pending_records_ -= g.records + filling_->records;
      filling_->Clear();
    }
    space_cv_.notify_all();
    CompleteAll(g.frames, st);
    CompleteAll(later, st);
  } else {
    // Index entries first (entries past the published end are harmless to readers).
    Segment& seg = *g.seg;
    for (const Waiter& w : g.frames) {
      if (seg.index_count() == 0 || seg.bytes_since_index >= options_.index_interval_bytes) {
        if (seg.AddIndexEntry(format::IndexEntry{
                static_cast<uint32_t>(w.first_offset - seg.base_offset()),
                static_cast<uint32_t>(g.file_pos + w.pos), w.first_ts}))
          seg.bytes_since_index = 0;
      }
      seg.bytes_since_index += w.len;
    }
    const Waiter& last = g.frames.back();
    const uint64_t next = last.first_offset + last.count;
    // A segment's first timestamp is its first record's, not the one it was activated with.
    if (seg.empty()) seg.SetFirstTimestamp(g.frames.front().first_ts);
    seg.Publish(g.file_pos + g.buf.size(), next, last.last_ts);
    visible_last_ts_.store(last.last_ts, std::memory_order_release);
    visible_next_.store(next, std::memory_order_release);
    // This round's fdatasync covered the group: durable before anyone hears of it, and
    // after it is visible, so that a reader never sees durable_offset() > end_offset().
    if (synced_in_round_ && !write_failed_.load(std::memory_order_relaxed))
      durable_next_.store(next, std::memory_order_release);
    for (const Waiter& w : g.frames) {
      AppendResult r;
      r.first_offset = w.first_offset;
      r.count = w.count;
      r.first_ts = w.first_ts;
      r.last_ts = w.last_ts;
      w.done->OnAppended(r);
    }
  }
  bool requeue = false;
  {
    std::lock_guard lk(mu_);
    if (!failed) pending_records_ -= g.records;
    g.Clear();
    free_groups_.push_back(std::move(owned));
    --groups_in_flight_;
    // The flusher skipped this log while every buffer was in flight.
    if (!filling_->frames.empty() && !queued_ && !abandon_) {
      queued_ = true;
      requeue = true;
    }
  }
  if (requeue) writer_->MarkDirty(this);
  idle_cv_.notify_all();
}

// ---------------------------------------------------------------------------------------
// Segments

void ShardLog::RequestSpare() {
  {
    std::lock_guard lk(spare_->mu);
    if (spare_->pending || spare_->seg) return;
    spare_->pending = true;
  }
  SegmentSpec spec = Spec(next_ordinal_++, options_.segment_bytes);
  auto slot = spare_;
  auto fs = fs_;
  writer_->Schedule([slot, fs, spec] {
    Result<SegmentPtr> r = CreateSegmentFile(*fs, spec);
    std::lock_guard lk(slot->mu);
    slot->pending = false;
    if (r.ok()) slot->seg = std::move(r).value();
    else slot->error = r.status();
    slot->cv.notify_all();
  });
}

Result<SegmentPtr> ShardLog::TakeSpareOrCreate(uint64_t min_capacity) {
  SegmentPtr seg;
  {
    std::unique_lock lk(spare_->mu);
    if (spare_->pending) {
      std::lock_guard slk(mu_);
      ++stats_.inline_creates;  // the roll waits for the background creation
    }
    spare_->cv.wait(lk, [&] { return !spare_->pending; });
    seg = std::move(spare_->seg);
    spare_->seg.reset();
    spare_->error = Status();
  }
  if (seg && seg->capacity() >= min_capacity) return seg;
  if (seg) {
    // Too small for a giant frame: replace it (keeps ordinals in log order).
    seg->write_fd().Reset();
    fs_->Unlink(seg->path()).IgnoreError();
  }
  {
    std::lock_guard lk(mu_);
    ++stats_.inline_creates;
  }
  return CreateSegmentFile(
      *fs_, Spec(next_ordinal_++, std::max<uint64_t>(options_.segment_bytes, AlignUp(min_capacity, io::kDirectAlign))));
}

SegmentSpec ShardLog::Spec(uint64_t ordinal, uint64_t capacity) const {
  SegmentSpec spec;
  spec.dir = dir_;
  spec.ordinal = ordinal;
  spec.capacity = capacity;
  spec.direct = options_.write_mode == WriteMode::kDirect;
  spec.index_interval = options_.index_interval_bytes;
  return spec;
}

SegmentPtr ShardLog::FindSegment(uint64_t offset) const {
  std::lock_guard lk(seg_mu_);
  // Last segment whose base is <= offset and which holds it.
  auto it = std::upper_bound(segments_.begin(), segments_.end(), offset,
                             [](uint64_t v, const SegmentPtr& s) { return v < s->base_offset(); });
  while (it != segments_.begin()) {
    --it;
    if (offset < (*it)->committed_next()) return *it;
    if ((*it)->base_offset() <= offset && !(*it)->empty()) break;
  }
  return nullptr;
}

std::vector<SegmentPtr> ShardLog::SnapshotSegments() const {
  std::lock_guard lk(seg_mu_);
  return segments_;
}

// ---------------------------------------------------------------------------------------
// Read path

Status ShardLog::Read(uint64_t from, size_t max_records, size_t max_bytes, ReadBatch* out) const {
  out->Clear();
  out->next_offset = from;
  const uint64_t start = start_offset();
  const uint64_t end = end_offset();
  if (from < start)
    return Status::Make(Code::kOutOfRange,
                        "offset {} is below the log's start offset {} (trimmed by retention)",
                        from, start);
  if (from > end)
    return Status::Make(Code::kOutOfRange, "offset {} is past the log's end offset {}", from, end);
  uint64_t off = from;
  auto want_more = [&] {
    return out->records.size() < max_records && (out->bytes < max_bytes || out->records.empty());
  };
  // Retention may drop the segment under a reader between the checks above and here: that
  // is the "trimmed" answer, not an error.
  auto trimmed_under_us = [&](Status st) -> Status {
    if (off < start_offset()) {
      if (!out->records.empty()) return Status::Ok();
      return Status::Make(Code::kOutOfRange,
                          "offset {} is below the log's start offset {} (trimmed by retention)",
                          off, start_offset());
    }
    return st;
  };
  while (off < end && want_more()) {
    SegmentPtr seg = FindSegment(off);
    if (!seg) {
      Status st = trimmed_under_us(Status::Make(Code::kInternal, "{}: no segment holds offset {}", dir_, off));
      if (st.ok()) break;
      return st;
    }
    auto mapped = seg->MappedData(*fs_);
    if (!mapped.ok()) {
      Status st = trimmed_under_us(mapped.status());
      if (st.ok()) break;
      return st;
    }
    const uint8_t* data = *mapped;
    if (out->pins.empty() || out->pins.back() != seg) out->pins.push_back(seg);
    uint64_t pos = seg->SeekOffset(off);
    const uint64_t seg_end = seg->committed_end();
    const uint64_t seg_next = std::min(seg->committed_next(), end);
    bool stop = false;
    uint64_t expect = UINT64_MAX;  // base offset the next frame must have
    while (pos < seg_end && off < seg_next && !stop && want_more()) {
      format::FrameInfo fi;
      // Frames wholly before `off` are skipped on their header alone.
      format::FrameCheck c = format::CheckFrame(data + pos, seg_end - pos, false, &fi);
      const bool wanted = c == format::FrameCheck::kOk && fi.next_offset() > off;
      if (wanted && options_.verify_crc_on_read) c = format::CheckFrame(data + pos, seg_end - pos, true, &fi);
      else if (wanted) c = format::CheckRecords(data + pos, fi);  // never trust lengths unchecked
      // Frames follow each other: the first one scanned starts at or before `off`.
      if (c == format::FrameCheck::kOk &&
          (expect == UINT64_MAX ? fi.base_offset > off : fi.base_offset != expect))
        c = format::FrameCheck::kBadHeader;
      if (c != format::FrameCheck::kOk)
        return Status::Make(Code::kCorruption,
                            "{}: {} at byte {} while reading offset {}; the segment is damaged",
                            seg->path(), format::FrameCheckName(c), pos, off);
      expect = fi.next_offset();
      if (wanted) {
        format::RecordCursor cur = format::Records(data + pos, fi);
        format::RawRecord r;
        while (format::NextRecord(cur, &r)) {
          if (r.offset < off) continue;
          if (out->records.size() >= max_records ||
              (!out->records.empty() && out->bytes + r.key.size() + r.data.size() > max_bytes) ||
              r.offset >= seg_next) {
            stop = true;
            break;
          }
          out->records.push_back(RecordView{r.offset, r.ts_ms, r.key, r.data});
          out->bytes += r.key.size() + r.data.size();
          off = r.offset + 1;
        }
      }
      pos += fi.len;
    }
    if (stop || !want_more()) break;
    if (off < end && pos >= seg_end && off >= seg->committed_next()) continue;  // next segment
    if (off < seg_next) break;  // defensive: no progress possible
  }
  out->next_offset = off;
  return Status::Ok();
}

Result<uint64_t> ShardLog::OffsetForTimestamp(int64_t ts_ms) const {
  const uint64_t start = start_offset();
  const uint64_t end = end_offset();
  for (const SegmentPtr& seg : SnapshotSegments()) {
    if (seg->empty() || seg->committed_next() <= start) continue;
    if (seg->last_ts() < ts_ms) continue;
    auto mapped = seg->MappedData(*fs_);
    if (!mapped.ok()) {
      if (seg->trimmed.load() || seg->committed_next() <= start_offset()) continue;  // dropped under us
      return mapped.status();
    }
    const uint8_t* data = *mapped;
    uint64_t pos = seg->SeekTimestamp(ts_ms);
    const uint64_t seg_end = seg->committed_end();
    while (pos < seg_end) {
      format::FrameInfo fi;
      format::FrameCheck c = format::CheckFrame(data + pos, seg_end - pos, true, &fi);
      if (c != format::FrameCheck::kOk)
        return Status::Make(Code::kCorruption, "{}: {} at byte {} during a timestamp lookup",
                            seg->path(), format::FrameCheckName(c), pos);
      format::RecordCursor cur = format::Records(data + pos, fi);
      format::RawRecord r;
      while (format::NextRecord(cur, &r))
        if (r.ts_ms >= ts_ms && r.offset >= start) return std::min(r.offset, end);
      pos += fi.len;
    }
  }
  return end;
}

Result<int64_t> ShardLog::TimestampOf(uint64_t offset) const {
  ReadBatch b;
  SHOAL_RETURN_IF_ERROR(Read(offset, 1, 0, &b));
  if (b.records.empty())
    return Status::Make(Code::kOutOfRange, "offset {} is not readable (end is {})", offset, end_offset());
  return b.records[0].ts_ms;
}

// ---------------------------------------------------------------------------------------
// Trim, seal, close

Status ShardLog::PersistMeta() {
  return io::WriteFileAtomic(*fs_, dir_ + "/log.meta", format::EncodeMeta(meta_));
}

Status ShardLog::TrimOlderThan(int64_t ts_ms) {
  SHOAL_ASSIGN_OR_RETURN(uint64_t off, OffsetForTimestamp(ts_ms));
  return TrimBefore(off);
}

Status ShardLog::TrimBefore(uint64_t offset) {
  std::lock_guard mlk(meta_mu_);
  offset = std::min(offset, end_offset());
  if (offset > meta_.start_offset) {
    format::LogMeta m = meta_;
    m.start_offset = offset;
    // Persist first: once a record is trimmed it must never come back, even if the
    // files below survive a crash.
    SHOAL_RETURN_IF_ERROR(io::WriteFileAtomic(*fs_, dir_ + "/log.meta", format::EncodeMeta(m)));
    meta_ = m;
    start_offset_.store(offset, std::memory_order_release);
  }
  std::vector<SegmentPtr> dropped;
  {
    std::lock_guard lk(seg_mu_);
    size_t n = 0;
    // Never the last (active) segment.
    // A segment may go once the next one starts at or below the start offset: the next
    // one's base is this one's final end, even while this one's last group is still
    // being fsynced and published (its committed_next lags behind).
    while (n + 1 < segments_.size() && segments_[n + 1]->base_offset() <= meta_.start_offset) ++n;
    for (size_t i = 0; i < n; ++i) segments_[i]->trimmed.store(true, std::memory_order_release);
    dropped.assign(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(n));
    segments_.erase(segments_.begin(), segments_.begin() + static_cast<ptrdiff_t>(n));
  }
  if (dropped.empty()) return Status::Ok();
  {
    std::lock_guard lk(mu_);
    stats_.trimmed_segments += dropped.size();
  }
  auto fs = fs_;
  writer_->Schedule([fs, dropped = std::move(dropped)] {
    for (const SegmentPtr& s : dropped) {
      fs->Unlink(IndexPathFor(*s)).IgnoreError();
      fs->Unlink(s->path()).IgnoreError();
    }
  });
  return Status::Ok();
}

Status ShardLog::Flush() {
  std::unique_lock lk(mu_);
  idle_cv_.wait(lk, [&] { return pending_records_ == 0; });
  return failed_;
}

uint64_t ShardLog::StopAppends() {
  uint64_t next;
  {
    std::lock_guard lk(mu_);
    stopped_ = true;
    next = next_offset_;
  }
  space_cv_.notify_all();  // appends waiting for staging space give up now
  return next;
}

Result<uint64_t> ShardLog::Quiesce() {
  StopAppends();
  SHOAL_RETURN_IF_ERROR(Flush());
  return end_offset();
}

void ShardLog::Resume() {
  std::lock_guard lk(mu_);
  stopped_ = false;
}

bool ShardLog::sealed() const {
  std::lock_guard lk(mu_);
  return sealed_;
}

Result<uint64_t> ShardLog::Seal() {
  {
    std::lock_guard lk(mu_);
    if (sealed_) return end_offset();
    if (closed_) return Status(Code::kClosed, "the shard log is closed");
    sealed_ = true;  // refuse new appends from here on
  }
  space_cv_.notify_all();
  Status flushed = Flush();
  if (write_registered_) {
    writer_->Unregister(this);
    write_registered_ = false;
  }
  SHOAL_RETURN_IF_ERROR(flushed);
  // This thread now owns the writer-side state.
  for (const SegmentPtr& s : unsynced_segments_) SHOAL_RETURN_IF_ERROR(fs_->Fdatasync(s->write_fd().get()));
  unsynced_segments_.clear();
  writer_->DrainBackground();  // earlier rolled segments are sealed first
  SHOAL_RETURN_IF_ERROR(SealSegmentFiles(*fs_, *active_));
  {
    std::lock_guard mlk(meta_mu_);
    format::LogMeta m = meta_;
    m.sealed = true;
    m.sealed_next_offset = end_offset();
    SHOAL_RETURN_IF_ERROR(io::WriteFileAtomic(*fs_, dir_ + "/log.meta", format::EncodeMeta(m)));
    meta_ = m;
  }
  durable_next_.store(end_offset(), std::memory_order_release);
  ReleaseSpare();
  return end_offset();
}

void ShardLog::ReleaseSpare() {
  writer_->DrainBackground();
  std::lock_guard lk(spare_->mu);
  if (spare_->seg) {
    spare_->seg->write_fd().Reset();
    fs_->Unlink(spare_->seg->path()).IgnoreError();
    spare_->seg.reset();
  }
}

Status ShardLog::Close() {
  {
    std::lock_guard lk(mu_);
    if (closed_) return Status::Ok();
    closed_ = true;
  }
  space_cv_.notify_all();
  Status flushed = Flush();
  if (write_registered_) {
    writer_->Unregister(this);
    write_registered_ = false;
  }
  writer_->DrainBackground();
  if (!flushed.ok()) return flushed;
  if (bg_->failed.load()) {
    // A rolled segment's seal (its only fdatasync in kNone mode) failed: its data may not
    // be durable, so no CLEAN marker; the next open verifies the files.
    std::lock_guard lk(mu_);
    FailLocked(bg_->Get());
    return failed_;
  }
  if (sealed()) return Status::Ok();
  for (const SegmentPtr& s : unsynced_segments_) SHOAL_RETURN_IF_ERROR(fs_->Fdatasync(s->write_fd().get()));
  unsynced_segments_.clear();
  durable_next_.store(end_offset(), std::memory_order_release);
  SHOAL_RETURN_IF_ERROR(WriteClean());
  // The spare stays on disk: the next open reuses it as the next segment.
  CloseWriteFds();
  return Status::Ok();
}

LogStats ShardLog::stats() const {
  LogStats s;
  {
    std::lock_guard lk(mu_);
    s = stats_;
  }
  std::lock_guard lk(seg_mu_);
  s.segments = segments_.size();
  return s;
}

}  // namespace shoal
