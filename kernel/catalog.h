// Catalog: the engine's metadata — every stream, its shards, hash ranges, lineage,
// states and retention — and its one file, CATALOG, replaced atomically (temp file,
// fdatasync, rename, directory fsync). The rename is the commit point of every topology
// change: after a crash the engine sees either the old catalog or the new one.
//
// The encoding is line-oriented text with a CRC32C trailer: small (a few hundred bytes
// per shard), diffable, and readable by a person debugging a data directory.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "io/status.h"
#include "kernel/hash_key.h"

namespace shoal {

enum class StreamStatus { kCreating, kActive, kUpdating, kDeleting };
std::string_view StreamStatusName(StreamStatus s);  // "CREATING", "ACTIVE", ...

enum class CapacityMode { kProvisioned, kOnDemand };
std::string_view CapacityModeName(CapacityMode m);  // "PROVISIONED", "ON_DEMAND"

inline constexpr uint32_t kNoShard = UINT32_MAX;

struct ShardMeta {
  uint32_t index = 0;
  HashKeyRange range;
  uint32_t parent = kNoShard;
  uint32_t adjacent_parent = kNoShard;
  int64_t created_s = 0;      // the shard's sequence-number epoch (see sequence_number.h)
  // Closed by a reshard: no more writes; readable until retention removes its records.
  bool closed = false;
  int64_t closed_ms = 0;
  uint64_t end_offset = 0;    // one past its last record (valid when closed)
  std::vector<uint32_t> children;
};

// A reshard accepted while the stream is UPDATING, applied when the period ends.
struct PendingReshard {
  enum class Kind { kNone, kSplit, kMerge, kUpdateCount } kind = Kind::kNone;
  uint32_t shard = 0;          // split: the parent; merge: ShardToMerge
  uint32_t adjacent = 0;       // merge: AdjacentShardToMerge
  HashKey key;                 // split: NewStartingHashKey
  int64_t target = 0;          // update count
};

struct StreamMeta {
  std::string name;
  uint64_t uid = 0;            // random per incarnation: names the directory, guards iterators
  StreamStatus status = StreamStatus::kCreating;
  CapacityMode mode = CapacityMode::kProvisioned;
  int retention_hours = 24;
  int64_t created_ms = 0;
  int64_t status_until_ms = 0; // CREATING/UPDATING/DELETING end at this time
  uint32_t next_shard = 0;     // next unused shard index
  std::vector<ShardMeta> shards;  // by index; expired shards are removed
  std::map<std::string, std::string> tags;
  PendingReshard pending;
  std::vector<int64_t> update_count_calls_ms;  // UpdateShardCount calls in the last 24 h

  ShardMeta* FindShard(uint32_t index);
  const ShardMeta* FindShard(uint32_t index) const;
  size_t OpenShardCount() const;
};

struct Catalog {
  std::vector<StreamMeta> streams;  // sorted by name
  StreamMeta* Find(std::string_view name);
};

std::string EncodeCatalog(const Catalog& c);
Result<Catalog> DecodeCatalog(std::string_view text, std::string_view file);
Status WriteCatalog(io::FileSystem& fs, const std::string& path, const Catalog& c);
// A missing file is an empty catalog.
Result<Catalog> ReadCatalog(io::FileSystem& fs, const std::string& path);

}  // namespace shoal
