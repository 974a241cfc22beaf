#include "kernel/log_writer.h"

#include <algorithm>
#include <chrono>

#include "kernel/shard_log.h"
#include "kernel/shard_log_internal.h"
#include "kernel/wall_clock.h"

namespace shoal {

Result<std::shared_ptr<LogWriter>> LogWriter::Create(WriterOptions options) {
  if (!options.fs) options.fs = io::DefaultFileSystem();
  std::shared_ptr<LogWriter> w(new LogWriter(std::move(options)));
  // Each ring is created on the thread that uses it: with IORING_SETUP_SINGLE_ISSUER
  // only the creating thread may submit.
  std::unique_lock lk(w->mu_);
  w->round_cv_.wait(lk, [&] { return w->started_ == 2; });
  if (!w->start_status_.ok()) return w->start_status_;
  return w;
}

Status LogWriter::StartRing(std::unique_ptr<io::IoQueue>* queue, unsigned depth) {
  auto q = fs_->NewIoQueue(depth);
  std::lock_guard lk(mu_);
  if (q.ok()) *queue = std::move(q).value();
  else if (start_status_.ok()) start_status_ = q.status();
  ++started_;
  round_cv_.notify_all();
  return q.ok() ? Status::Ok() : q.status();
}

LogWriter::LogWriter(WriterOptions options) : fs_(std::move(options.fs)) {
  const unsigned depth = options.ring_depth;
  flusher_ = std::thread([this, depth] {
    if (StartRing(&write_queue_, depth).ok()) RunFlusher();
  });
  syncer_ = std::thread([this, depth] {
    if (StartRing(&sync_queue_, depth).ok()) RunSyncer();
  });
}

LogWriter::~LogWriter() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  flush_cv_.notify_all();
  sync_cv_.notify_all();
  flusher_.join();
  syncer_.join();
}

WriterStats LogWriter::stats() const {
  std::lock_guard lk(mu_);
  return stats_;
}

void LogWriter::Register(ShardLog* log) {
  std::lock_guard lk(mu_);
  logs_.push_back(log);
}

void LogWriter::Unregister(ShardLog* log) {
  std::unique_lock lk(mu_);
  round_cv_.wait(lk, [&] { return !flusher_busy_ && !syncer_busy_; });
  std::erase(logs_, log);
  std::erase(dirty_, log);
}

void LogWriter::NoteClosed(const std::string& dir) {
  std::lock_guard lk(mu_);
  if (std::find(closed_dirs_.begin(), closed_dirs_.end(), dir) == closed_dirs_.end())
    closed_dirs_.push_back(dir);
}

bool LogWriter::TakeClosed(const std::string& dir) {
  std::lock_guard lk(mu_);
  auto it = std::find(closed_dirs_.begin(), closed_dirs_.end(), dir);
  if (it == closed_dirs_.end()) return false;
  closed_dirs_.erase(it);
  return true;
}

void LogWriter::MarkDirty(ShardLog* log) {
  bool wake;
  {
    std::lock_guard lk(mu_);
    wake = dirty_.empty();
    dirty_.push_back(log);
  }
  if (wake) flush_cv_.notify_one();
}

void LogWriter::Schedule(std::function<void()> task) { background_.Schedule(std::move(task)); }

void LogWriter::DrainBackground() { background_.Drain(); }

void LogWriter::RunFlusher() {
  using Group = ShardLog::Group;
  std::vector<ShardLog*> round;
  std::vector<ShardLog*> writing;
  std::vector<Group*> groups;
  std::vector<io::WriteOp> writes;
  std::unique_lock lk(mu_);
  while (true) {
    flush_cv_.wait(lk, [&] { return stop_ || !dirty_.empty(); });
    if (stop_ && dirty_.empty()) return;
    round.swap(dirty_);
    dirty_.clear();
    flusher_busy_ = true;
    lk.unlock();

    // Take every staged group and write them all in one submission.
    writes.clear();
    writing.clear();
    groups.clear();
    std::vector<std::pair<ShardLog*, void*>> failed_early;
    for (ShardLog* log : round) {
      Group* g = log->TakeGroup();
      if (!g) continue;
      io::WriteOp op;
      Status st = log->PrepareFlush(g, &op);
      if (!st.ok()) {
        log->WriteDone(g, st);
        failed_early.emplace_back(log, g);
        continue;
      }
      writes.push_back(std::move(op));
      writing.push_back(log);
      groups.push_back(g);
    }
    uint64_t bytes = 0;
    if (!writes.empty()) {
      write_queue_->Write(writes).IgnoreError();  // each op carries its own status
      for (size_t i = 0; i < writes.size(); ++i) {
        writing[i]->WriteDone(groups[i], writes[i].status);
        bytes += writes[i].len;
      }
    }

    lk.lock();
    for (auto& item : failed_early) written_.push_back(item);
    for (size_t i = 0; i < writing.size(); ++i) written_.emplace_back(writing[i], groups[i]);
    if (!written_.empty()) sync_cv_.notify_one();
    flusher_busy_ = false;
    ++stats_.rounds;
    stats_.groups += writing.size();
    stats_.max_groups_per_round = std::max<uint64_t>(stats_.max_groups_per_round, writing.size());
    stats_.bytes += bytes;
    round.clear();
    round_cv_.notify_all();
  }
}

void LogWriter::RunSyncer() {
  using Group = ShardLog::Group;
  std::vector<std::pair<ShardLog*, void*>> items;
  std::vector<ShardLog*> logs;       // distinct logs of this round (with or without groups)
  std::vector<Group*> log_groups;
  std::vector<io::SyncOp> syncs;
  std::vector<int> fds;
  std::vector<std::pair<size_t, size_t>> log_sync_range;  // per entry of `logs`
  std::unique_lock lk(mu_);
  while (true) {
    // Sleep until groups were written, or an interval log's fdatasync is due.
    while (written_.empty() && !stop_) {
      int64_t due = INT64_MAX;
      for (ShardLog* log : logs_) due = std::min(due, log->NextSyncDueMs());
      if (due == INT64_MAX) {
        sync_cv_.wait(lk);
        continue;
      }
      int64_t wait_ms = due - MonotonicMs();
      if (wait_ms <= 0) break;
      sync_cv_.wait_for(lk, std::chrono::milliseconds(wait_ms));
    }
    if (stop_ && written_.empty()) return;
    items.swap(written_);
    written_.clear();
    const int64_t now = MonotonicMs();
    logs.clear();
    for (auto& [log, g] : items)
      if (std::find(logs.begin(), logs.end(), log) == logs.end()) logs.push_back(log);
    for (ShardLog* log : logs_)
      if (log->NextSyncDueMs() <= now && std::find(logs.begin(), logs.end(), log) == logs.end())
        logs.push_back(log);
    syncer_busy_ = true;
    lk.unlock();

    // One fdatasync per file that must be durable now, all in one submission.
    syncs.clear();
    log_sync_range.clear();
    for (ShardLog* log : logs) {
      log_groups.clear();
      for (auto& [l, g] : items)
        if (l == log) log_groups.push_back(static_cast<Group*>(g));
      fds.clear();
      size_t first = syncs.size();
      if (log->CollectSyncFds(log_groups, now, &fds))
        for (int fd : fds) syncs.push_back(io::SyncOp{fd, Status()});
      log_sync_range.emplace_back(first, syncs.size());
    }
    if (!syncs.empty()) sync_queue_->Sync(syncs).IgnoreError();
    for (size_t i = 0; i < logs.size(); ++i) {
      auto [first, last] = log_sync_range[i];
      if (first == last) continue;
      Status st;
      for (size_t k = first; k < last && st.ok(); ++k) st = syncs[k].status;
      logs[i]->SyncDone(st);
    }
    // Publish and acknowledge, in the order the groups were written.
    for (auto& [log, g] : items) log->CompleteGroup(static_cast<Group*>(g), Status::Ok());
    for (ShardLog* log : logs) log->RoundDone();

    lk.lock();
    syncer_busy_ = false;
    stats_.fsyncs += syncs.size();
    if (!syncs.empty()) ++stats_.sync_rounds;
    items.clear();
    round_cv_.notify_all();
  }
}

}  // namespace shoal
