// Engine: the data plane (puts, positions, reads).
#include <fmt/format.h>

#include <algorithm>
#include <atomic>

#include "kernel/engine.h"
#include "kernel/engine_internal.h"
#include "kernel/text.h"

namespace shoal {
namespace {

// Per-call scratch, reused by the thread so a put allocates nothing once warm.
struct PutScratch {
  std::vector<void*> shards;        // distinct shards in first-seen order
  std::vector<RecordIn> recs;       // routed records; grouped by shard (request order within) for the append
  std::vector<uint32_t> rec_index;  // the input record each of `recs` came from
  std::vector<uint32_t> rec_slot;   // its shard's place in `shards` (request order)
  std::vector<size_t> group_start;  // shard g's records: recs[group_start[g], group_start[g+1])
  std::vector<size_t> fill;         // the counting sort's cursors, and its output:
  std::vector<RecordIn> sorted_recs;
  std::vector<uint32_t> sorted_index;
  std::vector<ShardIdentity> ids;                   // of each shard in `shards`
  std::vector<std::string_view> keys;               // partition keys to hash, in record order
  std::vector<HashKey> hashes;                      // their MD5s
};
thread_local PutScratch tls_put;

bool Writable(const StreamMeta& m) {
  return m.status == StreamStatus::kActive || m.status == StreamStatus::kUpdating;
}

}  // namespace

Result<PutOutput> Engine::PutRecord(std::string_view name, const PutInput& record) {
  Status st;
  std::vector<PutOutput> out = PutRecords(name, {&record, 1}, &st);
  SHOAL_RETURN_IF_ERROR(st);
  if (!out[0].status.ok()) return out[0].status;
  return std::move(out[0]);
}

std::vector<PutOutput> Engine::PutRecords(std::string_view name, std::span<const PutInput> records,
                                          Status* stream_status) {
  std::vector<PutOutput> out(records.size());
  *stream_status = Status::Ok();
  auto found = FindStream(name);
  if (!found.ok()) {
    *stream_status = found.status();
    return out;
  }
  Stream& s = **found;
  const int64_t now = clock_->NowMs();
  PutScratch& sc = tls_put;
  sc.shards.clear();
  sc.recs.clear();
  sc.rec_index.clear();
  sc.rec_slot.clear();
  // 1. Validate, and hash the partition keys that route records, before taking the stream
  //    lock: one batch, eight keys per vector operation (HashPartitionKeys).
  sc.keys.clear();
  for (uint32_t i = 0; i < records.size(); ++i) {
    const PutInput& r = records[i];
    PutOutput& o = out[i];
    const size_t key_chars = Utf8Length(r.partition_key);
    if (key_chars == 0 || key_chars > 256) {
      o.status = Status::Make(Code::kInvalidArgument, "PartitionKey must be 1 to 256 characters, got {}",
                              key_chars);
      continue;
    }
    if (r.data.size() + r.partition_key.size() > options_.max_record_bytes) {
      o.status = Status::Make(Code::kInvalidArgument,
                              "Record size exceeds the maximum record size of {} bytes",
                              options_.max_record_bytes);
      continue;
    }
    if (!r.explicit_hash_key) sc.keys.push_back(r.partition_key);
  }
  sc.hashes.resize(sc.keys.size());
  HashPartitionKeys(sc.keys, sc.hashes);
  std::shared_lock lk(s.mu);
  if (s.gone || !Writable(s.meta)) {
    // CREATING and DELETING streams have no writable shards (spec §4: ResourceNotFound).
    *stream_status = StreamNotFound(name);
    return out;
  }
  // 2. Route and (in Kinesis-emulation mode) take tokens, record by record.
  size_t next_hash = 0;
  uint32_t slot = 0;
  for (uint32_t i = 0; i < records.size(); ++i) {
    const PutInput& r = records[i];
    PutOutput& o = out[i];
    if (!o.status.ok()) continue;  // refused by the checks above
    const HashKey key = r.explicit_hash_key ? *r.explicit_hash_key : sc.hashes[next_hash++];
    Shard* sh = s.Route(key);
    if (!sh || !sh->log) {
      o.status = Status(Code::kInternal, "no open shard owns the record's hash key");
      continue;
    }
    // A shard made by a reshard whose CATALOG write is still running: wait for it (once
    // per put at most; typically one fdatasync) so no record is acknowledged there first.
    if (sh->gate_version > s.durable_version.load(std::memory_order_acquire)) {
      Status gate = WaitGate(s, sh->gate_version);
      if (!gate.ok()) {
        o.status = std::move(gate);
        continue;
      }
    }
    if (sh->write_bytes &&
        !TokenBucket::TryTakeBoth(*sh->write_records, 1, *sh->write_bytes,
                                  static_cast<double>(r.data.size() + r.partition_key.size()))) {
      o.status = Status::Make(Code::kThrottled, "Rate exceeded for shard {} in stream {}.",
                              FormatShardId(ShardIndex{sh->meta.index}), name);
      continue;
    }
    // The shard's slot in sc.shards; consecutive records usually share a shard.
    if (slot >= sc.shards.size() || sc.shards[slot] != sh) {
      slot = static_cast<uint32_t>(std::find(sc.shards.begin(), sc.shards.end(), sh) - sc.shards.begin());
      if (slot == sc.shards.size()) sc.shards.push_back(sh);
    }
    sc.recs.push_back(RecordIn{r.partition_key, r.data, now});
    sc.rec_index.push_back(i);
    sc.rec_slot.push_back(slot);
  }
  // 3. One append (one frame) per shard, records in request order; all shards at once.
  //    A batch that went to one shard (every PutRecord, every one-shard stream) is grouped
  //    already; otherwise a counting sort on the slot: linear in the records.
  const size_t routed = sc.recs.size();
  if (sc.shards.size() <= 1) {
    sc.group_start.assign({0, routed});
  } else {
    sc.group_start.assign(sc.shards.size() + 1, 0);
    for (uint32_t g : sc.rec_slot) ++sc.group_start[g + 1];
    for (size_t g = 0; g < sc.shards.size(); ++g) sc.group_start[g + 1] += sc.group_start[g];
    sc.fill.assign(sc.group_start.begin(), sc.group_start.end() - 1);
    sc.sorted_recs.resize(routed);
    sc.sorted_index.resize(routed);
    for (size_t k = 0; k < routed; ++k) {
      const size_t at = sc.fill[sc.rec_slot[k]]++;
      sc.sorted_recs[at] = sc.recs[k];
      sc.sorted_index[at] = sc.rec_index[k];
    }
    sc.recs.swap(sc.sorted_recs);
    sc.rec_index.swap(sc.sorted_index);
  }
  std::vector<BlockingCompletion> waiters(sc.shards.size());
  sc.ids.clear();
  for (size_t g = 0; g < sc.shards.size(); ++g) {
    auto* sh = static_cast<Shard*>(sc.shards[g]);
    sc.ids.push_back(sh->identity());
    std::span<const RecordIn> span(sc.recs.data() + sc.group_start[g], sc.group_start[g + 1] - sc.group_start[g]);
    sh->log->Append(span, &waiters[g]);
  }
  // The appends are in: a reshard may proceed now (it quiesces the logs, which waits for
  // them), so the stream lock is not held across the fdatasync wait. From here on only the
  // copies in `sc` are used: the Shard objects may go away with a concurrent delete.
  lk.unlock();
  bool abandoned = false;
  for (BlockingCompletion& w : waiters) abandoned |= w.Wait().status.code() == Code::kClosed;
  if (abandoned) {
    // kClosed is a reshard that closed the shard between routing and append, or a
    // DeleteStream that abandoned the logs under these appends. The latter makes this a
    // put to a deleted stream, the same answer as one that arrived just after it.
    std::shared_lock glk(s.mu);
    if (s.gone) {
      *stream_status = StreamNotFound(name);
      return std::vector<PutOutput>(records.size());
    }
  }
  // 4. Results: a sequence number is a pure function of (shard, offset, arrival), so the
  //    output carries those and the caller formats the number if it needs it.
  for (size_t g = 0; g < sc.shards.size(); ++g) {
    const AppendResult& r = waiters[g].Wait();
    const ShardIdentity id = sc.ids[g];
    for (size_t k = sc.group_start[g]; k < sc.group_start[g + 1]; ++k) {
      PutOutput& o = out[sc.rec_index[k]];
      o.shard_index = id.index.value;
      o.shard_created_s = id.created_s;
      if (!r.status.ok()) {
        // A shard closed by a reshard between routing and append: the record was not
        // stored; the caller retries it (Kinesis reports InternalFailure the same way).
        o.status = r.status.code() == Code::kClosed
                       ? Status(Code::kInternal, "the shard was resharded while the record was "
                                                 "being written; retry it")
                       : r.status;
        continue;
      }
      o.offset = r.first_offset + (k - sc.group_start[g]);
      o.arrival_ms = r.first_ts;
    }
  }
  return out;
}

Result<ShardPosition> Engine::GetPosition(std::string_view name, uint32_t shard_index,
                                          PositionType type,
                                          std::optional<std::string_view> sequence_number,
                                          std::optional<int64_t> timestamp_ms) {
  auto found = FindStream(name);
  if (!found.ok()) return ShardNotFound(name, shard_index);
  Stream& s = **found;
  std::shared_lock lk(s.mu);
  if (s.gone || s.meta.status == StreamStatus::kCreating || s.meta.status == StreamStatus::kDeleting)
    return ShardNotFound(name, shard_index);
  Shard* sh = s.Find(shard_index);
  if (!sh) return ShardNotFound(name, shard_index);
  const std::string shard_id = FormatShardId(ShardIndex{shard_index});
  if (sh->iterator_calls && !sh->iterator_calls->TryTake(1))
    return Status::Make(Code::kThrottled, "Rate exceeded for shard {} in stream {}.", shard_id, name);
  const bool seq_type = type == PositionType::kAtSequenceNumber || type == PositionType::kAfterSequenceNumber;
  if (sequence_number && (type == PositionType::kTrimHorizon || type == PositionType::kLatest))
    return Status::Make(Code::kInvalidArgument,
                        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                        "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
                        "StartingSequenceNumber. Request specified {} and also a StartingSequenceNumber.",
                        type == PositionType::kLatest ? "LATEST" : "TRIM_HORIZON");
  if (!sequence_number && seq_type)
    return Status::Make(Code::kInvalidArgument,
                        "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and "
                        "StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no "
                        "StartingSequenceNumber. Request specified {} and no StartingSequenceNumber.",
                        type == PositionType::kAtSequenceNumber ? "AT_SEQUENCE_NUMBER" : "AFTER_SEQUENCE_NUMBER");
  const uint64_t end = sh->log ? sh->log->end_offset() : sh->meta.end_offset;
  const uint64_t start = sh->log ? sh->log->start_offset() : end;
  ShardPosition pos{s.meta.uid, shard_index, start};
  switch (type) {
    case PositionType::kTrimHorizon: pos.offset = start; break;
    case PositionType::kLatest: pos.offset = end; break;
    case PositionType::kAtSequenceNumber:
    case PositionType::kAfterSequenceNumber: {
      auto parsed = ParseSequenceNumber(*sequence_number);
      if (!parsed.ok())
        return Status::Make(Code::kInvalidArgument,
                            "StartingSequenceNumber {} used in GetShardIterator on shard {} in stream {} is invalid.",
                            *sequence_number, shard_id, name);
      SeqOwnership own = ClassifySeqOwner(*parsed, sh->identity());
      if (own == SeqOwnership::kOtherShard)
        return Status::Make(Code::kInvalidArgument,
                            "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {}",
                            FormatShardId(parsed->shard.index), shard_id);
      if (own == SeqOwnership::kOtherIncarnation)
        return Status::Make(Code::kInvalidArgument,
                            "StartingSequenceNumber {} used in GetShardIterator on shard {} in stream {} is invalid because it did not come from this stream.",
                            *sequence_number, shard_id, name);
      std::optional<uint64_t> off = SeqRecordOffset(*parsed);
      if (!off) {
        // The shard's start marker (counter 0) or end marker.
        pos.offset = parsed->counter == 0 ? 0 : end;
      } else {
        // Records below *off are below the number and records above it above; the record
        // at *off compares by its own full number (its arrival second may differ from the
        // one the caller's number carries).
        pos.offset = *off + (type == PositionType::kAfterSequenceNumber ? 1 : 0);
        if (sh->log && *off >= start && *off < end) {
          auto ts = sh->log->TimestampOf(*off);
          if (ts.ok()) {
            const SeqParts mine = RecordSeq(sh->identity(), *off, *ts);
            if (type == PositionType::kAtSequenceNumber && mine < *parsed) pos.offset = *off + 1;
            if (type == PositionType::kAfterSequenceNumber && *parsed < mine) pos.offset = *off;
          }
        }
      }
      pos.offset = std::max(pos.offset, start);  // trimmed: continue at the horizon
      break;
    }
    case PositionType::kAtTimestamp: {
      if (!timestamp_ms)
        return Status(Code::kInvalidArgument,
                      "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. "
                      "Current request has no timestamp parameter.");
      const int64_t now = clock_->NowMs();
      if (*timestamp_ms > now)
        return Status::Make(Code::kInvalidArgument,
                            "The timestampInMillis parameter cannot be greater than the "
                            "currentTimestampInMillis. timestampInMillis: {}, currentTimestampInMillis: {}",
                            *timestamp_ms, now);
      if (sh->log) {
        SHOAL_ASSIGN_OR_RETURN(pos.offset, sh->log->OffsetForTimestamp(*timestamp_ms));
      } else {
        pos.offset = end;
      }
      break;
    }
  }
  return pos;
}

Result<GetRecordsOutput> Engine::GetRecords(std::string_view name, const ShardPosition& pos, size_t limit) {
  auto found = FindStream(name);
  if (!found.ok()) return ShardNotFound(name, pos.shard_index);
  Stream& s = **found;
  std::shared_lock lk(s.mu);
  if (s.gone || s.meta.uid != pos.stream_uid || s.meta.status == StreamStatus::kDeleting ||
      s.meta.status == StreamStatus::kCreating)
    return ShardNotFound(name, pos.shard_index);
  Shard* sh = s.Find(pos.shard_index);
  if (!sh) return ShardNotFound(name, pos.shard_index);
  if (sh->read_calls && (sh->read_bytes->InDebt() || !sh->read_calls->TryTake(1)))
    return Status::Make(Code::kThrottled, "Rate exceeded for shard {} in stream {}.",
                        FormatShardId(ShardIndex{pos.shard_index}), name);
  const int64_t now = clock_->NowMs();
  const int64_t cutoff = VisibleSinceMs(now, s.meta.retention_hours);
  GetRecordsOutput out;
  limit = std::clamp<size_t>(limit, 1, KinesisLimits::kMaxGetRecordsRecords);
  uint64_t from = pos.offset;
  uint64_t end = sh->meta.closed ? sh->meta.end_offset : 0;
  if (sh->log) {
    end = sh->log->end_offset();
    from = std::max(from, sh->log->start_offset());
    // Records past retention are invisible at record precision, even before the sweeper
    // drops their segment.
    if (from < end) {
      SHOAL_ASSIGN_OR_RETURN(int64_t ts, sh->log->TimestampOf(from));
      if (ts < cutoff) {
        SHOAL_ASSIGN_OR_RETURN(uint64_t first_visible, sh->log->OffsetForTimestamp(cutoff));
        from = std::max(from, first_visible);
      }
    }
    if (from < end) {
      SHOAL_RETURN_IF_ERROR(sh->log->Read(from, limit, KinesisLimits::kMaxGetRecordsBytes, &out.pins));
      from = out.pins.next_offset;
    } else {
      from = std::max(from, end);
    }
  }
  const ShardIdentity id = sh->identity();
  out.records.reserve(out.pins.records.size());
  for (const RecordView& r : out.pins.records)
    out.records.push_back(ReadRecord{FormatSequenceNumber(RecordSeq(id, r.offset, r.ts_ms)), r.ts_ms, r.key, r.data});
  if (sh->read_bytes) sh->read_bytes->Charge(static_cast<double>(out.pins.bytes));
  if (sh->meta.closed && from >= sh->meta.end_offset) {
    // The end of a closed shard: no next position; name the children.
    for (uint32_t c : sh->meta.children) {
      const ShardMeta* cm = s.meta.FindShard(c);
      if (!cm) continue;
      ChildShard child;
      child.shard_id = FormatShardId(ShardIndex{c});
      if (cm->parent != kNoShard) child.parents.push_back(FormatShardId(ShardIndex{cm->parent}));
      if (cm->adjacent_parent != kNoShard) child.parents.push_back(FormatShardId(ShardIndex{cm->adjacent_parent}));
      child.range = cm->range;
      out.child_shards.push_back(std::move(child));
    }
    out.millis_behind_latest = 0;
    return out;
  }
  out.next = ShardPosition{pos.stream_uid, pos.shard_index, from};
  if (sh->log && from < end) {
    auto ts = sh->log->TimestampOf(from);
    out.millis_behind_latest = ts.ok() ? std::max<int64_t>(0, now - *ts) : 0;
  }
  return out;
}

}  // namespace shoal
