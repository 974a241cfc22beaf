// Device ceiling probes: what the disk, the page cache and one core can do on their own,
// measured the way Shoal uses them (io_uring, O_DIRECT, fdatasync, read-only mappings).
// Every Shoal append/read figure is reported as a fraction of these numbers, so they live
// in one library shared by bench/micro/device_bench and the shoal-bench harness instead of
// being re-derived (or taken from fio, which is not installed everywhere) per report.
//
// Each file probe takes the directory of the device under test, creates its own temp file
// there (shoal-probe-*), and removes it before returning, on error paths too. Only the
// steady part is timed: creating, preallocating or pre-writing the file is setup.
// Nothing throws; failures come back as Status (a file system that refuses O_DIRECT gives
// kInvalidArgument with a hint). Check MachineFacts(dir).fs_type: tmpfs accepts O_DIRECT
// since Linux 6.6, and then these "device" figures are memory figures.
//
// Not thread-safe to run two probes at once on one device: they would measure each other.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "io/status.h"

namespace shoal::bench {

inline constexpr uint64_t kKiB = 1024;
inline constexpr uint64_t kMiB = 1024 * kKiB;

struct ProbeResult {
  uint64_t bytes = 0;   // payload bytes moved in the timed part
  double seconds = 0;   // wall time of the timed part only (setup excluded)
  double mb_per_s = 0;  // bytes / seconds / 1e6: decimal MB, as disks are sold and fio reports
  uint64_t ops = 0;     // timed operations: I/Os, write+fdatasync pairs, copies, passes
  // Per-operation latency, set only where one operation's latency means something (an I/O
  // at a queue depth, one write+fdatasync round trip); unset for bandwidth-only probes.
  std::optional<double> p50_us;
  std::optional<double> p99_us;
  std::string description;  // what was measured, in words, for reports
};

// What the target file looks like before the timed writes start. The three differ a lot on
// ext4: appending allocates blocks and changes the size (journal commit on fdatasync),
// fallocate()d extents are "unwritten" and must be converted on first write (also a
// journal commit), and overwriting written blocks needs only the data I/O and a flush.
enum class FileState {
  kFresh,       // newly created and empty: every write appends
  kFallocated,  // fallocate()d to the full size and synced: writes convert unwritten extents
  kPrewritten,  // fully written and synced: writes overwrite allocated, written blocks
};
std::string_view FileStateName(FileState state);  // "fresh", "fallocated", "prewritten"

// 1. O_DIRECT sequential write through io_uring. The defaults (fresh file, 1 MiB blocks,
// queue depth 16) are THE device ceiling every append figure is divided by.
struct DirectWriteOptions {
  uint64_t total_bytes = 256 * kMiB;  // multiple of 4096
  size_t block_size = kMiB;           // multiple of 4096
  unsigned queue_depth = 16;
  FileState file_state = FileState::kFresh;
  // Adds one fdatasync after the last write to the timed part (fio's end_fsync=1). Off by
  // default: the ceiling is the data path; the size/extent metadata commit is a separate
  // cost that WriteFsyncSeq measures.
  bool fdatasync_at_end = false;
};
// p50/p99: submit-to-completion time of one block at that queue depth.
Result<ProbeResult> DirectWriteSeq(const std::string& dir, const DirectWriteOptions& options = {});

// 2. Sequential writes of `chunk_bytes`, each followed by fdatasync. The fdatasync is
// submitted only after its write completed (never linked or batched with it: io_uring
// completions are unordered, so a shared submission would sync nothing useful).
struct WriteFsyncOptions {
  size_t chunk_bytes = kMiB;  // with direct: multiple of 4096
  uint64_t total_bytes = 256 * kMiB;
  bool direct = false;  // O_DIRECT (aligned buffer) instead of the page cache
  FileState file_state = FileState::kFresh;
  double max_seconds = 0;  // stop after the op that crosses this much time (0: no limit)
};
// p50/p99: one write + fdatasync round trip.
Result<ProbeResult> WriteFsyncSeq(const std::string& dir, const WriteFsyncOptions& options = {});

// 3. The baseline a user would write by hand: records copied into one buffer, one plain
// write() syscall of the whole batch, then fdatasync(), in a loop (O_APPEND, fresh file).
struct NaiveAppenderOptions {
  size_t record_size = kKiB;
  size_t records_per_batch = 500;
  uint64_t total_bytes = 256 * kMiB;  // rounded down to whole batches (at least one)
  double max_seconds = 0;             // stop after the batch that crosses this (0: no limit)
};
// p50/p99: one batch (copy + write() + fdatasync()).
Result<ProbeResult> NaiveAppender(const std::string& dir, const NaiveAppenderOptions& options = {});

// 4. Sequential read through io_uring. direct: O_DIRECT from the device (the file is
// written with O_DIRECT first so none of it is cached). Otherwise the file is written
// through the page cache and synced, read once to be sure it is resident, and the second
// pass is timed: the page cache's copy-out speed.
struct ReadSeqOptions {
  uint64_t total_bytes = 256 * kMiB;  // with direct: multiple of 4096
  bool direct = true;
  size_t block_size = kMiB;  // with direct: multiple of 4096
  unsigned queue_depth = 16;
};
// p50/p99: submit-to-completion time of one block.
Result<ProbeResult> ReadSeq(const std::string& dir, const ReadSeqOptions& options = {});

// 5. One core's memcpy between two pre-touched buffers that are reused for every copy
// (touching fresh memory is far slower on these VMs and is not what we want to measure).
// bytes counts bytes copied once (not read + written).
struct MemcpyOptions {
  size_t buffer_bytes = 256 * kMiB;
  unsigned repetitions = 4;
};
Result<ProbeResult> MemcpyBandwidth(const MemcpyOptions& options = {});

// 6. Reading a cached file through a read-only MAP_SHARED mapping (io::MappedRegion, as
// the read path does), summing it as 8-byte words so the loads cannot be optimized away.
// By default the first pass over the mapping (page faults) is untimed and reported only in
// the description; the timed passes read a mapping whose page tables are populated.
struct MmapReadOptions {
  uint64_t file_bytes = 256 * kMiB;  // multiple of 8
  unsigned passes = 3;               // timed passes
  bool first_touch = false;          // time the first (faulting) pass instead
};
Result<ProbeResult> MmapReadBandwidth(const std::string& dir, const MmapReadOptions& options = {});

// Facts about the machine and the device under `dir`, so a result file says what it was
// measured on. Best effort: a fact that cannot be found reads "unknown".
struct MachineInfo {
  std::string cpu_model;           // /proc/cpuinfo "model name"
  std::string cores;               // CPUs this process may run on (nproc), and online CPUs
  std::string memory;              // /proc/meminfo MemTotal
  std::string kernel;              // uname -r
  std::string mount_point;         // longest /proc/self/mountinfo mount point containing dir
  std::string fs_type;             // e.g. ext4
  std::string mount_options;       // per-mount options, then super-block options
  std::string mount_source;        // e.g. /dev/vda
  std::string block_device;        // whole disk under the mount, e.g. vda (partitions resolved)
  std::string device_model;        // /sys/block/<dev>/device/model, or the driver's name
  std::string rotational;          // /sys/block/<dev>/queue/rotational ("1" on virtio, always)
  std::string logical_block_size;  // the O_DIRECT alignment the device needs
  std::string scheduler;           // /sys/block/<dev>/queue/scheduler
  std::string liburing_version;    // the liburing this binary runs with

  // The facts as (key, value) pairs in a fixed order, for benchmark context or JSON.
  std::vector<std::pair<std::string, std::string>> Pairs() const;
};
MachineInfo MachineFacts(const std::string& dir);

}  // namespace shoal::bench
