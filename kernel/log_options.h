// Every knob of a shard log and its group-commit writer: default, bounds and why.
// Validated once, at open.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "io/file_system.h"
#include "io/status.h"

namespace shoal {

// What an acknowledgement promises.
enum class Durability {
  // Ack when the write reached the OS (page cache). Survives a process crash, not a
  // power loss. fdatasync only at seal and Close().
  kNone,
  // Ack when the write reached the OS, and one fdatasync per `interval_ms` covers every
  // write since the previous one (Redis "everysec", Redpanda write caching): a power
  // loss loses at most the last interval of acknowledged records.
  kInterval,
  // Ack only after the fdatasync covering the record completed (group commit: one
  // fdatasync covers every producer waiting on that flush). Survives power loss.
  kAlways,
};
std::string_view DurabilityName(Durability d);
Result<Durability> ParseDurability(std::string_view s);  // "none" | "interval" | "always"

// How segment bytes reach the device.
enum class WriteMode {
  kBuffered,  // write() into the page cache; fdatasync writes it back
  kDirect,    // O_DIRECT from 4 KiB-aligned buffers; each flush padded to a 4 KiB block
};
std::string_view WriteModeName(WriteMode m);
Result<WriteMode> ParseWriteMode(std::string_view s);  // "buffered" | "direct"

struct LogOptions {
  Durability durability = Durability::kAlways;
  // kInterval: the longest an acknowledged record waits for its fdatasync. 100 ms is
  // Redpanda's write-caching default; bounds [1, 60000].
  uint32_t interval_ms = 100;
  // O_DIRECT measured fastest with durable acks on this machine kind (1 KiB records,
  // kAlways, 100 per Append, two runs, medians of 3): 1 shard 992/896 MB/s vs buffered
  // 1086/892; 64 shards 1109/989 vs 856/827 (bench/micro/shard_log_bench). It also keeps
  // bulk appends out of the page cache. Buffered stays selectable; where the file system
  // refuses O_DIRECT (tmpfs, FUSE) segments fall back to buffered writes by themselves.
  WriteMode write_mode = WriteMode::kDirect;
  // Roll when the next flush would not fit. 128 MiB (Redpanda/Aeron): one active segment
  // is the most a crash recovery scans. Bounds [64 KiB, 2 GiB] (file positions are u32).
  uint64_t segment_bytes = 128ull << 20;
  // Roll a non-empty active segment older than this, so a quiet shard still produces
  // segments retention can drop. 1 h; 0 disables.
  int64_t segment_max_age_ms = 3600 * 1000;
  // One sparse index entry per this many bytes (Kafka's 4 KiB): a lookup scans at most
  // one interval plus one frame. Bounds [256, 1 MiB].
  uint32_t index_interval_bytes = 4096;
  // A shard's staging buffer: the most one flush writes for one shard. Producers block
  // (back-pressure) when it is full while the previous flush is in flight. 8 MiB keeps a
  // 1 KiB-record producer busy through one fdatasync (~1 ms at ~2 GB/s). A frame bigger
  // than this still goes through alone. Bounds [64 KiB, 1 GiB].
  size_t staging_bytes = 8u << 20;
  // Largest record data accepted. Kinesis allows 1 MiB (10 MiB in newer quotas); 16 MiB
  // leaves room. Bounds [1, 256 MiB].
  size_t max_record_bytes = 16u << 20;
  // Verify each frame's CRC32C on every read (Iggy's default). Costs ~1/20 of a core per
  // GB/s with the hardware CRC.
  bool verify_crc_on_read = true;

  Status Validate() const;
};

struct WriterOptions {
  std::shared_ptr<io::FileSystem> fs;  // null: the real file system
  // io_uring entries: the most writes/fdatasyncs in flight at once across all shards.
  unsigned ring_depth = 64;
};

}  // namespace shoal
