// Engine: Kinesis Data Streams semantics on shard logs, embeddable (no HTTP, no JSON).
//
// One engine owns one data directory (flock'd LOCK file): the CATALOG (streams, shards,
// hash ranges, lineage, states, retention; replaced atomically, the commit point of every
// topology change) and one ShardLog directory per shard, all sharing one LogWriter so a
// flush covers every shard (cross-shard group commit).
//
// Threads: every method is thread-safe. Puts to different shards run in parallel;
// resharding a stream waits for the puts in flight on it.
//
// Time: arrival timestamps, retention and state delays come from EngineOptions::clock,
// so tests can move time. A background thread runs the retention sweeper and applies
// state transitions whose delay elapsed; Tick() does the same on demand.
//
// Errors: every failure is a Status whose Code the API layer maps to a Kinesis error
// type: kNotFound (ResourceNotFound), kInUse (ResourceInUse), kInvalidArgument,
// kLimitExceeded, kThrottled (ProvisionedThroughputExceeded), kOutOfRange.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "kernel/catalog.h"
#include "kernel/clock.h"
#include "kernel/hash_key.h"
#include "kernel/log_options.h"
#include "kernel/log_writer.h"
#include "kernel/sequence_number.h"
#include "kernel/shard_log.h"
#include "kernel/task_thread.h"
#include "kernel/token_bucket.h"

namespace shoal {

struct EngineOptions {
  std::shared_ptr<io::FileSystem> fs;  // null: the real file system
  std::shared_ptr<Clock> clock;        // null: the system clock
  LogOptions log;                      // every shard log (durability, write mode, ...)
  // How long CREATING / UPDATING / DELETING last (kinesalite uses 500 ms; 0 = the change
  // is applied before the call returns, the most convenient for tests and embedding).
  int64_t create_delay_ms = 0;
  int64_t update_delay_ms = 0;
  int64_t delete_delay_ms = 0;
  // Emulate Kinesis per-shard throughput limits (1 MiB/s + 1000 records/s write,
  // 2 MiB/s + 5 calls/s read). Off by default: embedding and benchmarks want full speed.
  bool kinesis_limits = false;
  // The account's open-shard quota (spec: shard_limit, default 10000).
  uint32_t shard_limit = 10000;
  // How often the retention sweeper runs (Kafka: 5 min; 30 s keeps files close to the
  // retention boundary without measurable cost). 0 disables the thread (call Tick()).
  int64_t sweep_interval_ms = 30000;
  // Largest record (data + partition key), Kinesis's 1 MiB.
  size_t max_record_bytes = 1 << 20;
  // Empty shard logs each stream keeps ready for the children of its next reshard, made
  // in the background: a split (2 children) or merge (1) then creates no file on its
  // caller's path. Each costs a directory, a 1 MiB segment and its descriptors.
  uint32_t spare_shard_logs = 2;
};

struct ShardDescription {
  uint32_t index;
  std::string shard_id;                 // "shardId-000000000000"
  std::optional<std::string> parent;    // shard ids
  std::optional<std::string> adjacent_parent;
  HashKeyRange range;
  std::string starting_sequence_number;
  std::optional<std::string> ending_sequence_number;  // set when closed
  bool closed = false;
  int64_t created_ms = 0;  // the shard's sequence-number epoch, in ms
  int64_t closed_ms = 0;   // when a reshard closed it
};

struct StreamDescription {
  std::string name;
  uint64_t uid = 0;
  StreamStatus status;
  CapacityMode mode;
  int retention_hours;
  int64_t created_ms;
  size_t open_shard_count = 0;
  std::vector<ShardDescription> shards;  // by index, expired shards omitted
  std::map<std::string, std::string> tags;
};

struct PutInput {
  std::string_view partition_key;
  std::string_view data;
  std::optional<HashKey> explicit_hash_key;
};

// One record's result. Holds numbers, not strings: a 500-record put allocates nothing per
// record, and Kinesis's names for the shard and the sequence number are formatted only
// by a caller that wants them (the server writes them straight into its response).
struct PutOutput {
  Status status;  // per record: OK, kThrottled, kInvalidArgument, kIOError...
  // Where the record went (set when it was routed, also for a failed append).
  uint32_t shard_index = 0;
  int64_t shard_created_s = 0;
  // The record's place in the shard (when status is OK).
  uint64_t offset = 0;
  int64_t arrival_ms = 0;

  ShardIdentity shard() const { return ShardIdentity{ShardIndex{shard_index}, shard_created_s}; }
  SeqParts seq() const { return RecordSeq(shard(), offset, arrival_ms); }
  // "shardId-000000000003".
  std::string shard_id() const { return FormatShardId(ShardIndex{shard_index}); }
  // The 56-digit SequenceNumber (status must be OK).
  std::string sequence_number() const { return FormatSequenceNumber(seq()); }
};

enum class PositionType { kTrimHorizon, kLatest, kAtSequenceNumber, kAfterSequenceNumber, kAtTimestamp };
Result<PositionType> ParsePositionType(std::string_view s);

// Where a reader is: what a shard iterator encodes.
struct ShardPosition {
  uint64_t stream_uid = 0;
  uint32_t shard_index = 0;
  uint64_t offset = 0;
};

struct ChildShard {
  std::string shard_id;
  std::vector<std::string> parents;
  HashKeyRange range;
};

struct ReadRecord {
  std::string sequence_number;
  int64_t arrival_ms;
  std::string_view partition_key;  // views into the log's mappings, valid while the
  std::string_view data;           // GetRecordsOutput lives
};

struct GetRecordsOutput {
  std::vector<ReadRecord> records;
  std::optional<ShardPosition> next;  // absent at the end of a closed shard
  int64_t millis_behind_latest = 0;
  std::vector<ChildShard> child_shards;  // at the end of a closed shard
  ReadBatch pins;                         // keeps the views valid
};

struct StreamSummaryList {
  std::vector<std::string> names;
  bool has_more = false;
};

class Engine {
 public:
  static Result<std::unique_ptr<Engine>> Open(std::string data_dir, EngineOptions options);
  ~Engine();  // closes (cleanly) if Close() was not called
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;
  // Flushes and closes every shard log, stops the background thread, releases the lock.
  Status Close();

  // --- streams ---
  Status CreateStream(std::string_view name, int64_t shard_count, CapacityMode mode = CapacityMode::kProvisioned);
  Status DeleteStream(std::string_view name, bool enforce_consumer_deletion = true);
  Result<StreamDescription> DescribeStream(std::string_view name);
  // Names after `exclusive_start` (sorted), at most `limit`.
  StreamSummaryList ListStreams(size_t limit, std::string_view exclusive_start = {});
  Status SetRetention(std::string_view name, int hours, bool increase);
  Status AddTags(std::string_view name, const std::map<std::string, std::string>& tags);
  Status RemoveTags(std::string_view name, std::span<const std::string> keys);

  // --- data ---
  // Puts every record (routed by MD5 of the partition key or the explicit hash key) and
  // returns one result per record; a bad or throttled record never fails the others.
  std::vector<PutOutput> PutRecords(std::string_view name, std::span<const PutInput> records,
                                    Status* stream_status);
  Result<PutOutput> PutRecord(std::string_view name, const PutInput& record);

  Result<ShardPosition> GetPosition(std::string_view name, uint32_t shard_index, PositionType type,
                                    std::optional<std::string_view> sequence_number,
                                    std::optional<int64_t> timestamp_ms);
  // Reads from `pos`: at most `limit` records and 10 MiB; records past retention skipped.
  Result<GetRecordsOutput> GetRecords(std::string_view name, const ShardPosition& pos, size_t limit);

  // --- resharding ---
  // A split or merge switches routing before it returns (no record is copied; the parent
  // stops taking appends, the children take them). The new topology reaches CATALOG in
  // the background, in one write per batch of reshards; the children acknowledge no
  // record before it does, so a crash recovers the old or the new topology, never a mix,
  // and loses no acknowledged record. WaitForBackgroundWork() waits for that write.
  Status SplitShard(std::string_view name, uint32_t shard_index, HashKey new_starting_hash_key);
  Status MergeShards(std::string_view name, uint32_t shard_index, uint32_t adjacent_index);
  // Returns the open shard count before the call.
  Result<size_t> UpdateShardCount(std::string_view name, int64_t target);

  // Applies due state transitions and runs one retention sweep.
  void Tick();
  // Waits until every reshard so far is in CATALOG, closed parents are sealed and spare
  // logs are made; returns the first topology commit error, if any stream has one.
  Status WaitForBackgroundWork();

  Clock& clock() { return *clock_; }
  const EngineOptions& options() const { return options_; }
  // Open shards across all streams (the account quota counts them).
  size_t OpenShardCount();

 private:
  void NoteOpenShards(const StreamMeta& m);
  struct Shard;
  struct Stream;
  Engine(std::string dir, EngineOptions options);
  Status Recover();
  // Writes `meta` (or removes the stream) into the persisted catalog: the commit point.
  // Commit() is for a stream not yet in streams_; CommitStream() for a live one (the
  // caller holds s.mu exclusively and assigns s.meta = meta after success).
  Status Commit(const StreamMeta& meta);
  Status CommitLocked(const StreamMeta& meta);  // catalog_mu_ held
  Status CommitStream(Stream& s, const StreamMeta& meta);
  Status CommitErase(std::string_view name);
  std::string StreamDir(const StreamMeta& m) const;
  std::string ShardDir(const StreamMeta& m, uint32_t index) const;
  Result<std::shared_ptr<Stream>> FindStream(std::string_view name);
  // A shard's log in s.dir (set once per stream, so no lock is needed to read it).
  std::string ShardDirOf(const Stream& s, uint32_t index) const;
  Result<std::unique_ptr<ShardLog>> OpenShardLog(const Stream& s, uint32_t index);
  // Topology worker tasks (engine_topology.cc).
  void ScheduleCommit(const std::shared_ptr<Stream>& s);
  void ScheduleReplenish(const std::shared_ptr<Stream>& s);
  void CommitTopology(const std::shared_ptr<Stream>& s);
  void ReplenishSpares(const std::shared_ptr<Stream>& s);
  void DrainWorkers();
  void AdoptOrDiscard(Stream& s, const std::string& name);
  Status FlushClosing(Stream& s, uint64_t up_to_version);
  // Takes the spares for `indices` and reserves every one of them against the worker (the
  // caller makes the missing logs and clears s.spare_reserved when it publishes or gives up).
  std::map<uint32_t, std::shared_ptr<ShardLog>> TakeSpares(Stream& s, const std::vector<uint32_t>& indices);
  Status WaitGate(Stream& s, uint64_t version);
  void KillStream(Stream& s, bool close_spares);
  void DiscardDir(const std::string& path);
  void ApplyDueTransitions();
  void MaybeTransition() {
    if (clock_->NowMs() >= next_transition_ms_.load(std::memory_order_relaxed)) ApplyDueTransitions();
  }
  void NoteTransition(int64_t at_ms);
  Status OpenStreamShards(Stream& s);
  void RemoveTreeLater(std::string path);
  void SweepRetention();
  Status ApplyPending(Stream& s);
  Status DoSplit(Stream& s, uint32_t shard, HashKey key, bool api_rule);
  Status DoMerge(Stream& s, uint32_t a, uint32_t b);
  Status DoUpdateCount(Stream& s, int64_t target);
  // Quiesces `affected` shards, applies `edit` to `meta` (with each quiesced shard's end
  // offset), commits the catalog, then seals the closed shards and opens new ones.
  using TopologyEdit = std::function<Status(StreamMeta&, const std::map<uint32_t, uint64_t>&, int64_t)>;
  Status ApplyTopology(Stream& s, StreamMeta meta, const TopologyEdit& edit, std::vector<uint32_t> affected);
  void InitLimits(Shard& sh);
  ShardDescription Describe(const StreamMeta& m, const ShardMeta& sh) const;
  void RunBackground();

  const std::string dir_;
  const EngineOptions options_;
  std::shared_ptr<Clock> clock_;
  std::shared_ptr<io::FileSystem> fs_;
  std::shared_ptr<LogWriter> writer_;
  io::UniqueFd lock_;

  std::mutex catalog_mu_;  // guards catalog_ and serializes CATALOG writes
  Catalog catalog_;        // what CATALOG holds
  // Open shards per stream uid in memory, ahead of CATALOG while a reshard is unwritten:
  // the account quota counts what routing uses.
  std::mutex open_mu_;  // guards live_open_ (a leaf lock)
  std::map<uint64_t, size_t> live_open_;
  std::shared_mutex map_mu_;  // guards streams_ membership
  std::map<std::string, std::shared_ptr<Stream>, std::less<>> streams_;
  std::atomic<int64_t> next_transition_ms_{INT64_MAX};  // earliest pending state change
  std::mutex tick_mu_;     // one Tick at a time
  bool closed_ = false;

  std::mutex bg_mu_;
  std::condition_variable bg_cv_;
  bool bg_stop_ = false;
  std::thread background_;

  // Background work of resharding. Two threads so a CATALOG write (which gates puts to new
  // shards) never queues behind the slower work: sealing parents, making and discarding
  // spare logs, removing directories. Last members, destroyed (joined) first; the commit
  // worker hands work to the maintenance worker, so it goes first.
  TaskThread maintenance_worker_;
  TaskThread commit_worker_;
};

}  // namespace shoal
