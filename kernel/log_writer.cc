#include "kernel/log_writer.h"

#include <algorithm>
#include <chrono>

#include "kernel/shard_log.h"
#include "kernel/wall_clock.h"

namespace shoal {

Result<std::shared_ptr<LogWriter>> LogWriter::Create(WriterOptions options) {
  if (!options.fs) options.fs = io::DefaultFileSystem();
  std::shared_ptr<LogWriter> w(new LogWriter(std::move(options)));
  // The ring is created on the flusher thread: with IORING_SETUP_SINGLE_ISSUER only the
  // creating thread may submit.
  std::unique_lock lk(w->mu_);
  w->round_cv_.wait(lk, [&] { return w->started_; });
  if (!w->start_status_.ok()) return w->start_status_;
  return w;
}

LogWriter::LogWriter(WriterOptions options) : fs_(std::move(options.fs)) {
  const unsigned depth = options.ring_depth;
  flusher_ = std::thread([this, depth] {
    auto q = fs_->NewIoQueue(depth);
    {
      std::lock_guard lk(mu_);
      if (q.ok()) queue_ = std::move(q).value();
      else start_status_ = q.status();
      started_ = true;
    }
    round_cv_.notify_all();
    if (queue_) RunFlusher();
  });
  background_ = std::thread([this] { RunBackground(); });
}

LogWriter::~LogWriter() {
  {
    std::lock_guard lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  flusher_.join();
  {
    std::lock_guard lk(bg_mu_);
    bg_stop_ = true;
  }
  bg_cv_.notify_all();
  background_.join();
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
  round_cv_.wait(lk, [&] { return !in_round_; });
  std::erase(logs_, log);
  std::erase(dirty_, log);
}

void LogWriter::MarkDirty(ShardLog* log) {
  bool wake;
  {
    std::lock_guard lk(mu_);
    wake = dirty_.empty();
    dirty_.push_back(log);
  }
  if (wake) cv_.notify_one();
}

void LogWriter::Schedule(std::function<void()> task) {
  {
    std::lock_guard lk(bg_mu_);
    bg_tasks_.push_back(std::move(task));
    ++bg_scheduled_;
  }
  bg_cv_.notify_one();
}

void LogWriter::DrainBackground() {
  std::unique_lock lk(bg_mu_);
  uint64_t target = bg_scheduled_;
  bg_idle_cv_.wait(lk, [&] { return bg_done_ >= target; });
}

void LogWriter::RunBackground() {
  std::unique_lock lk(bg_mu_);
  while (true) {
    bg_cv_.wait(lk, [&] { return bg_stop_ || !bg_tasks_.empty(); });
    if (bg_tasks_.empty() && bg_stop_) return;
    auto task = std::move(bg_tasks_.front());
    bg_tasks_.pop_front();
    lk.unlock();
    task();
    lk.lock();
    ++bg_done_;
    bg_idle_cv_.notify_all();
  }
}

void LogWriter::RunFlusher() {
  std::vector<ShardLog*> round;
  std::vector<ShardLog*> writing;
  std::vector<io::WriteOp> writes;
  std::vector<io::SyncOp> syncs;
  std::vector<ShardLog*> syncing;     // log of each sync op (for groups just written)
  std::vector<ShardLog*> sync_only;   // interval logs whose sync came due with nothing staged
  std::unique_lock lk(mu_);
  while (true) {
    // Sleep until a log has staged data, or an interval log's fdatasync is due.
    while (dirty_.empty() && !stop_) {
      int64_t due = INT64_MAX;
      for (ShardLog* log : logs_) due = std::min(due, log->NextSyncDueMs());
      if (due == INT64_MAX) {
        cv_.wait(lk);
        continue;
      }
      int64_t wait_ms = due - MonotonicMs();
      if (wait_ms <= 0) break;
      cv_.wait_for(lk, std::chrono::milliseconds(wait_ms));
    }
    if (stop_ && dirty_.empty()) return;
    round.swap(dirty_);
    dirty_.clear();
    int64_t now = MonotonicMs();
    sync_only.clear();
    for (ShardLog* log : logs_)
      if (log->NextSyncDueMs() <= now && std::find(round.begin(), round.end(), log) == round.end())
        sync_only.push_back(log);
    in_round_ = true;
    lk.unlock();

    // 1. Take every staged group and write them all in one submission.
    writes.clear();
    writing.clear();
    for (ShardLog* log : round) {
      if (!log->TakeGroup()) continue;
      io::WriteOp op;
      Status st = log->PrepareFlush(&op);
      if (!st.ok()) {
        log->FinishWrite(st);
        log->FinishFlush(st, false);
        continue;
      }
      writes.push_back(std::move(op));
      writing.push_back(log);
    }
    uint64_t bytes = 0;
    if (!writes.empty()) {
      queue_->Write(writes).IgnoreError();  // each op carries its own status
      for (size_t i = 0; i < writes.size(); ++i) {
        writing[i]->FinishWrite(writes[i].status);
        bytes += writes[i].len;
      }
    }

    // 2. One fdatasync per file that must be durable now, all in the next submission.
    syncs.clear();
    syncing.clear();
    now = MonotonicMs();
    auto add_syncs = [&](ShardLog* log) {
      for (int fd : log->SyncFds()) {
        syncs.push_back(io::SyncOp{fd, Status()});
        syncing.push_back(log);
      }
    };
    for (size_t i = 0; i < writing.size(); ++i)
      if (writes[i].status.ok() && writing[i]->WantsSync(now)) add_syncs(writing[i]);
    for (ShardLog* log : sync_only) add_syncs(log);
    if (!syncs.empty()) queue_->Sync(syncs).IgnoreError();
    auto sync_status = [&](ShardLog* log, bool* synced) {
      Status st;
      *synced = false;
      for (size_t i = 0; i < syncs.size(); ++i)
        if (syncing[i] == log) {
          *synced = true;
          if (!syncs[i].status.ok() && st.ok()) st = syncs[i].status;
        }
      return st;
    };

    // 3. Publish and acknowledge.
    for (size_t i = 0; i < writing.size(); ++i) {
      bool synced = false;
      Status st = writes[i].status.ok() ? sync_status(writing[i], &synced) : writes[i].status;
      if (!writes[i].status.ok()) synced = false;
      writing[i]->FinishFlush(st, synced);
    }
    for (ShardLog* log : sync_only) {
      bool synced = false;
      Status st = sync_status(log, &synced);
      if (synced) log->SyncOnly(st);
    }

    lk.lock();
    in_round_ = false;
    ++stats_.rounds;
    stats_.groups += writing.size();
    stats_.max_groups_per_round = std::max<uint64_t>(stats_.max_groups_per_round, writing.size());
    stats_.bytes += bytes;
    stats_.fsyncs += syncs.size();
    round.clear();
    round_cv_.notify_all();
  }
}

}  // namespace shoal
