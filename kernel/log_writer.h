// LogWriter: the group committer shared by many shard logs, plus their background work.
//
// One flush thread owns one io_uring IoQueue. Each round it takes the staged group of
// every shard log with pending appends, submits all their writes in one submission,
// waits for them, then submits one fdatasync per file that must be synced in the next
// submission (never in the same one: completions are unordered), and finally publishes
// and acknowledges. Producers keep filling the next group meanwhile, so groups grow
// with load by themselves (natural batching; nothing waits for a group to fill).
//
// One background thread runs what must stay off the append path: creating and
// fallocating the next segment of each log, sealing rolled segments (fdatasync, index
// file, trimming the preallocated tail) and unlinking trimmed files.
//
// Lifetime: shared by its logs (shared_ptr); the threads stop when the last owner lets
// go, after every log was closed or destroyed.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "io/file_system.h"
#include "kernel/log_options.h"

namespace shoal {

class ShardLog;

struct WriterStats {
  uint64_t rounds = 0;         // flush rounds
  uint64_t groups = 0;         // shard groups written (sum over rounds)
  uint64_t bytes = 0;          // bytes written
  uint64_t fsyncs = 0;         // fdatasyncs issued
  uint64_t max_groups_per_round = 0;
  uint64_t background_tasks = 0;
};

class LogWriter {
 public:
  static Result<std::shared_ptr<LogWriter>> Create(WriterOptions options = {});
  ~LogWriter();
  LogWriter(const LogWriter&) = delete;
  LogWriter& operator=(const LogWriter&) = delete;

  io::FileSystem& fs() { return *fs_; }
  const std::shared_ptr<io::FileSystem>& fs_ptr() const { return fs_; }
  WriterStats stats() const;

  // Runs `task` on the background thread, in FIFO order.
  void Schedule(std::function<void()> task);
  // Waits until every task scheduled before the call has run.
  void DrainBackground();

 private:
  friend class ShardLog;
  explicit LogWriter(WriterOptions options);

  void Register(ShardLog* log);
  // Removes the log; waits for a round in progress to finish. Never call from a completion.
  void Unregister(ShardLog* log);
  // The log has staged data (called with the log's mutex held; cheap).
  void MarkDirty(ShardLog* log);
  // The log has written-but-unsynced data in kInterval mode.
  void RunFlusher();
  void RunBackground();

  const std::shared_ptr<io::FileSystem> fs_;
  std::unique_ptr<io::IoQueue> queue_;

  mutable std::mutex mu_;
  std::condition_variable cv_;        // work for the flusher
  std::condition_variable round_cv_;  // a round ended
  std::vector<ShardLog*> logs_;       // registered
  std::vector<ShardLog*> dirty_;
  bool in_round_ = false;
  bool stop_ = false;
  bool started_ = false;
  Status start_status_;
  WriterStats stats_;

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  std::condition_variable bg_idle_cv_;
  std::deque<std::function<void()>> bg_tasks_;
  uint64_t bg_scheduled_ = 0;
  uint64_t bg_done_ = 0;
  bool bg_stop_ = false;

  std::thread flusher_;
  std::thread background_;
};

}  // namespace shoal
