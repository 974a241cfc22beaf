// ShardLog: one shard's append-only log of records, stored as segment files.
//
// Every record gets the next 64-bit offset of the log (dense, from 0) and an arrival
// timestamp in ms that never decreases within the log (a timestamp below the previous
// one is raised to it). Appends are staged in memory and written by a LogWriter, which
// flushes many logs in one io_uring submission and covers them with one round of
// fdatasync (group commit). Reads return views into read-only mappings: no copy.
//
// Threads: every method is thread-safe. Completions run on the LogWriter's thread and
// must not block (call no ShardLog method that waits: AppendSync, Seal, Close).
//
// Durability: an AppendCompletion fires only when the records are as durable as
// LogOptions::durability promises; readers never see a record before it is acknowledged
// (in kAlways mode: before its fdatasync completed), and never a torn one.
//
// Failures: a failed write or fdatasync leaves the on-disk tail unknown (fsyncgate), so
// the log becomes failed: every later append gets Code::kNoSpace (disk full) or
// Code::kFailed (anything else; the message names the original error) until the log is
// closed and reopened, which verifies the tail and truncates what was not written whole.
// Reads keep working.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"
#include "kernel/aligned_buffer.h"
#include "kernel/log_options.h"
#include "kernel/segment.h"

namespace shoal {

class LogWriter;
struct SegmentSpec;
struct ShardLogTestAccess;

// One record to append. The views need only live until Append() returns (it copies).
struct RecordIn {
  std::string_view key;   // partition key, 1..256 bytes
  std::string_view data;  // 0..LogOptions::max_record_bytes
  int64_t ts_ms = 0;      // arrival time; raised to the log's last timestamp if lower
};

struct AppendResult {
  Status status;
  uint64_t first_offset = 0;  // offset of the first record of the call
  uint32_t count = 0;         // records appended (all of the call, or none)
  int64_t first_ts = 0;       // timestamps as stored (after raising)
  int64_t last_ts = 0;
};

// Caller-owned completion: must stay alive until OnAppended() is called (exactly once).
class AppendCompletion {
 public:
  virtual void OnAppended(const AppendResult& result) = 0;

 protected:
  ~AppendCompletion() = default;
};

// A completion a thread can block on: Wait() returns the result once OnAppended ran.
// Lives on the waiter's stack (no allocation). Single use.
class BlockingCompletion final : public AppendCompletion {
 public:
  void OnAppended(const AppendResult& r) override {
    result_ = r;
    done_.store(1, std::memory_order_release);
    done_.notify_one();
  }
  const AppendResult& Wait() {
    done_.wait(0, std::memory_order_acquire);
    return result_;
  }

 private:
  AppendResult result_;
  std::atomic<int> done_{0};
};

// One record as read: views into the segment mapping, valid while the ReadBatch that
// returned them (which pins the segments) is alive and not cleared.
struct RecordView {
  uint64_t offset;
  int64_t ts_ms;
  std::string_view key;
  std::string_view data;
};

struct ReadBatch {
  std::vector<RecordView> records;
  std::vector<std::shared_ptr<Segment>> pins;  // keep the mappings the views point into
  uint64_t next_offset = 0;                     // where the next read should start
  size_t bytes = 0;                             // key + data bytes in `records`
  void Clear() {
    records.clear();
    pins.clear();
    bytes = 0;
  }
};

struct LogStats {
  uint64_t appends = 0;        // Append calls accepted
  uint64_t records = 0;        // records accepted
  uint64_t flushes = 0;        // groups written
  uint64_t bytes_written = 0;  // frame bytes written (incl. padding)
  uint64_t fsyncs = 0;         // fdatasyncs of this log's files
  uint64_t rolls = 0;          // segments rolled
  uint64_t roll_waits = 0;     // kAlways: a roll waited for the old segment's fdatasync
  uint64_t inline_creates = 0; // rolls that had to create the next segment on the writer
  uint64_t inline_extends = 0; // flushes that had to grow the segment file on the writer
  uint64_t segments = 0;       // live segments
  uint64_t trimmed_segments = 0;
  // Bytes from a torn frame to the end of its file (incl. preallocated zeros) dropped at the
  // last open; 0 if the tail was clean.
  uint64_t recovered_truncated_bytes = 0;
  bool recovered_clean = false;            // last open found a CLEAN marker
};

class ShardLog {
 public:
  // Opens (creating if absent) the log in `dir`, recovering it: after a clean Close()
  // no record data is read; after a crash only segments without a sealed index (the
  // active one) are scanned, and a torn tail is truncated. Corruption in a sealed segment
  // is returned as Code::kCorruption naming the file and position.
  // `writer` may be shared by many logs (that is what makes group commit cross shards).
  static Result<std::unique_ptr<ShardLog>> Open(std::string dir, LogOptions options,
                                                std::shared_ptr<LogWriter> writer);
  // Abandons the log without marking it clean (like a crash, minus losing the page
  // cache): staged appends complete with kClosed. Call Close() for a clean shutdown.
  ~ShardLog();
  ShardLog(const ShardLog&) = delete;
  ShardLog& operator=(const ShardLog&) = delete;

  // Appends `records` as one batch (all-or-nothing) and calls `done` when they are
  // acknowledged, or failed. Never blocks on I/O; blocks only when the staging buffer is
  // full (back-pressure). Invalid input completes at once with kInvalidArgument.
  void Append(std::span<const RecordIn> records, AppendCompletion* done);
  // Convenience: std::function callback (may allocate once per call).
  void Append(std::span<const RecordIn> records, std::function<void(const AppendResult&)> done);
  // Blocking wrapper.
  AppendResult AppendSync(std::span<const RecordIn> records);

  // Reads records from `from` (>= start_offset()) onwards: at most `max_records`, and
  // at most `max_bytes` of key+data, except that one record is always returned if any is
  // readable. Clears `out` first. kOutOfRange if `from` is below start_offset() or past
  // end_offset(); reading at end_offset() returns no records. kCorruption if a frame
  // fails its CRC.
  Status Read(uint64_t from, size_t max_records, size_t max_bytes, ReadBatch* out) const;

  // The offset of the first readable record with ts >= ts_ms, or end_offset() if none.
  Result<uint64_t> OffsetForTimestamp(int64_t ts_ms) const;
  // Timestamp of a readable record.
  Result<int64_t> TimestampOf(uint64_t offset) const;

  // Offsets [start_offset(), end_offset()) are readable.
  uint64_t start_offset() const { return start_offset_.load(std::memory_order_acquire); }
  uint64_t end_offset() const { return visible_next_.load(std::memory_order_acquire); }
  // Timestamp of the last readable record (0 if none ever).
  int64_t last_timestamp() const { return visible_last_ts_.load(std::memory_order_acquire); }
  // Offsets below this survive power loss (== end_offset() in kAlways mode once an append
  // is acknowledged). Never above end_offset(), as read after it.
  uint64_t durable_offset() const { return durable_next_.load(std::memory_order_acquire); }

  // Moves the logical start to `offset` (clamped to end_offset(); never backwards),
  // persists it, then drops every whole segment below it (one swap of the segment list;
  // the files are unlinked on the writer's background thread). Readers holding views of
  // a dropped segment keep them valid.
  Status TrimBefore(uint64_t offset);
  // TrimBefore(OffsetForTimestamp(ts_ms)): retention.
  Status TrimOlderThan(int64_t ts_ms);

  // Stops accepting appends (in memory only) without waiting: returns the offset the next
  // append would have got, so every accepted record lies below it (those in flight are
  // acknowledged or failed by the writer as usual; Flush() waits for them). Resharding
  // calls this, switches routing, and commits the topology after a Flush(); Resume()
  // undoes it if the reshard is abandoned.
  uint64_t StopAppends();
  // StopAppends() + Flush(); returns end_offset().
  Result<uint64_t> Quiesce();
  void Resume();

  // Closes the log for appends for good (persisted): flushes and syncs what was staged,
  // seals the active segment; the log stays readable. Returns end_offset().
  Result<uint64_t> Seal();
  bool sealed() const;

  // Flushes, syncs, writes the CLEAN marker, and stops. Reads still work afterwards;
  // appends get kClosed.
  Status Close();

  // Waits until everything appended before the call is acknowledged or failed.
  Status Flush();

  LogStats stats() const;
  const std::string& dir() const { return dir_; }
  const LogOptions& options() const { return options_; }

 private:
  friend class LogWriter;
  friend struct ShardLogTestAccess;
  struct Waiter;
  struct Group;
  class SpareSlot;
  struct BackgroundState;

  ShardLog(std::string dir, LogOptions options, std::shared_ptr<LogWriter> writer,
           std::shared_ptr<io::FileSystem> fs);
  Status Recover();
  Status RecoverSegments(const std::vector<uint64_t>& ordinals);
  Status PersistMeta();
  Status WriteClean();
  void RequestSpare();
  Result<SegmentPtr> TakeSpareOrCreate(uint64_t min_capacity);
  void ReleaseSpare();
  void CloseWriteFds();
  SegmentSpec Spec(uint64_t ordinal, uint64_t capacity) const;
  SegmentPtr FindSegment(uint64_t offset) const;
  std::vector<SegmentPtr> SnapshotSegments() const;
  void CompleteAll(std::vector<Waiter>& waiters, const Status& status);
  void FailLocked(const Status& status);

  // --- flusher thread (LogWriter) ---
  // The staged group, swapped out for a free buffer; null if nothing is staged, every
  // buffer is in flight, or (kAlways) the group must roll while groups are in flight (the
  // log is re-marked dirty when one comes back).
  Group* TakeGroup();
  // Whether a group of `len` staged bytes must go to a new segment (mu_ held).
  bool RollDueLocked(uint64_t len) const;
  Status PrepareFlush(Group* g, io::WriteOp* op);  // pads, rolls if needed, fills the write
  void WriteDone(Group* g, const Status& st);      // the write finished (or failed)
  // --- syncer thread (LogWriter) ---
  // Adds this log's files that the coming fdatasync round must cover, given the groups of
  // this log in the round (may be none: an interval sync). Returns false if none.
  bool CollectSyncFds(std::span<Group* const> groups, int64_t now_ms, std::vector<int>* fds);
  void SyncDone(const Status& st);                 // this log's files were fdatasynced
  void CompleteGroup(Group* g, const Status& st);  // publish + acknowledge, recycle buffer
  void RoundDone();                                // after the round's groups completed
  int64_t NextSyncDueMs() const;                   // kInterval: when the next sync is due

  const std::string dir_;
  const LogOptions options_;
  const std::shared_ptr<LogWriter> writer_;
  const std::shared_ptr<io::FileSystem> fs_;

  // Append side, guarded by mu_.
  mutable std::mutex mu_;
  std::condition_variable space_cv_;   // producers waiting for staging room
  std::condition_variable idle_cv_;    // Flush()/Seal()/Close() waiting for the writer
  std::unique_ptr<Group> filling_;     // being filled by producers
  uint64_t next_offset_ = 0;           // next offset to assign
  int64_t last_ts_ = 0;                // last assigned timestamp
  bool queued_ = false;                // on the writer's dirty list
  bool abandon_ = false;               // destructor: take no more groups
  std::vector<std::unique_ptr<Group>> free_groups_;  // buffers ready for reuse
  int groups_in_flight_ = 0;           // taken by the flusher, not yet completed
  Status failed_;                      // sticky write/fsync error
  bool sealed_ = false;
  bool closed_ = false;
  bool stopped_ = false;               // Quiesce()d
  uint64_t pending_records_ = 0;       // accepted, not yet acknowledged/failed
  LogStats stats_;

  // Flusher thread only.
  SegmentPtr active_;
  bool force_roll_ = false;            // roll before the next flush (O_DIRECT alignment)
  std::atomic<bool> write_failed_{false};
  // Syncer thread only.
  std::vector<SegmentPtr> unsynced_segments_;  // written since their last fdatasync
  int64_t last_sync_ms_ = 0;
  bool synced_in_round_ = false;
  bool write_registered_ = false;      // registered with writer_
  std::shared_ptr<SpareSlot> spare_;
  std::shared_ptr<BackgroundState> bg_;
  uint64_t next_ordinal_ = 1;

  // Read side.
  mutable std::mutex seg_mu_;
  std::vector<SegmentPtr> segments_;  // ascending; the last is the active one
  std::atomic<uint64_t> start_offset_{0};
  std::atomic<uint64_t> visible_next_{0};
  std::atomic<int64_t> visible_last_ts_{0};
  std::atomic<uint64_t> durable_next_{0};
  std::mutex meta_mu_;  // serializes log.meta writes (trim vs seal)
  format::LogMeta meta_;
};

}  // namespace shoal
