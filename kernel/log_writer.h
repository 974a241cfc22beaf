// LogWriter: the group committer shared by many shard logs, plus their background work.
//
// Two threads, each with its own io_uring, form a pipeline:
//  - the flusher takes the staged group of every shard log with pending appends, submits
//    all their writes in one submission and waits for them;
//  - the syncer takes every written group, submits one fdatasync per file that must be
//    durable now (never in the same submission as the writes: completions are
//    unordered), then publishes and acknowledges the groups in order.
// While the syncer waits on fdatasync, the flusher already writes the next groups, and
// producers fill the ones after that; groups grow with load by themselves (natural
// batching: nothing waits for a group to fill).
//
// A third, background thread runs what must stay off the append path: creating and
// fallocating the next segment of each log, sealing rolled segments (index file,
// releasing the preallocated tail) and unlinking trimmed files.
//
// Lifetime: shared by its logs (shared_ptr); the threads stop when the last owner lets
// go, after every log was closed or destroyed.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "io/file_system.h"
#include "kernel/log_options.h"
#include "kernel/task_thread.h"

namespace shoal {

class ShardLog;

struct WriterStats {
  uint64_t rounds = 0;         // flusher rounds
  uint64_t groups = 0;         // shard groups written (sum over rounds)
  uint64_t bytes = 0;          // bytes written
  uint64_t fsyncs = 0;         // fdatasyncs issued
  uint64_t sync_rounds = 0;    // syncer rounds that issued fdatasyncs
  uint64_t max_groups_per_round = 0;
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
  // Removes the log; waits for rounds in progress to finish. Never call from a completion.
  void Unregister(ShardLog* log);
  // The log has staged data (cheap; may be called with the log's mutex held).
  void MarkDirty(ShardLog* log);
  // Directories whose log this writer closed: reopening one needs no wait for another
  // process's in-flight writes (the read lease can stay refused for a moment after this
  // process's own io_uring writes, with no other writer).
  void NoteClosed(const std::string& dir);
  bool TakeClosed(const std::string& dir);
  void RunFlusher();
  void RunSyncer();
  Status StartRing(std::unique_ptr<io::IoQueue>* queue, unsigned depth);

  const std::shared_ptr<io::FileSystem> fs_;
  std::unique_ptr<io::IoQueue> write_queue_;  // flusher thread only
  std::unique_ptr<io::IoQueue> sync_queue_;   // syncer thread only

  mutable std::mutex mu_;
  std::condition_variable flush_cv_;  // work for the flusher
  std::condition_variable sync_cv_;   // work for the syncer
  std::condition_variable round_cv_;  // a round ended / a thread started
  std::vector<ShardLog*> logs_;       // registered
  std::vector<ShardLog*> dirty_;
  std::vector<std::pair<ShardLog*, void*>> written_;  // (log, group) awaiting the syncer
  bool flusher_busy_ = false;
  bool syncer_busy_ = false;
  bool stop_ = false;
  int started_ = 0;
  Status start_status_;
  WriterStats stats_;

  std::vector<std::string> closed_dirs_;  // guarded by mu_

  std::thread flusher_;
  std::thread syncer_;
  TaskThread background_;
};

}  // namespace shoal
