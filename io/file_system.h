// FileSystem: the one seam through which kernel/ touches files, so tests can swap in
// FaultFileSystem (drop unsynced data, inject EIO/ENOSPC/short writes).
//
// Bulk data goes through an IoQueue, which a FileSystem hands to one thread: the real
// one batches every write of a flush into one io_uring submission and every fdatasync
// into the next, so one round trip covers many files (cross-shard group commit).
// Small metadata writes go through Pwrite/WriteFileAtomic.
//
// All methods are thread-safe unless they say otherwise. Errors come back as Status
// (ENOSPC is Code::kNoSpace); nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "io/mapped_region.h"
#include "io/status.h"
#include "io/unique_fd.h"

namespace shoal::io {

struct OpenOptions {
  bool write = false;      // open read-write (else read-only)
  bool create = false;     // O_CREAT
  bool exclusive = false;  // O_EXCL
  bool direct = false;     // O_DIRECT: buffers, offsets and lengths must be kDirectAlign-aligned
};

// O_DIRECT alignment Shoal uses for offsets, lengths and buffers. 4 KiB covers the
// logical block size of every device we target (statx STATX_DIOALIGN reports 512 or
// 4096 on virtio/NVMe).
inline constexpr size_t kDirectAlign = 4096;

// One write of a batch. `status` is filled in by IoQueue::Write.
struct WriteOp {
  int fd = -1;
  uint64_t offset = 0;
  const void* data = nullptr;
  size_t len = 0;
  Status status;
};

// One fdatasync of a batch.
struct SyncOp {
  int fd = -1;
  Status status;
};

// Counters an IoQueue keeps (read by benchmarks and stats calls).
struct IoQueueStats {
  uint64_t submits = 0;       // io_uring_enter rounds (or syscalls for fallbacks)
  uint64_t writes = 0;        // write operations completed
  uint64_t short_writes = 0;  // writes the kernel completed partially and we resubmitted
  uint64_t bytes = 0;         // bytes written
  uint64_t syncs = 0;         // fdatasyncs completed
};

// Owned by one thread. Write() submits every op at once and returns when all finished;
// a short write is resubmitted for the rest. Sync() does the same for fdatasyncs. The
// caller must call Sync() only after the Write() it covers returned: completions are
// unordered, so a write and the fsync meant to cover it never share a submission.
class IoQueue {
 public:
  virtual ~IoQueue() = default;
  // Returns the first failure (each op also carries its own status).
  virtual Status Write(std::span<WriteOp> ops) = 0;
  virtual Status Sync(std::span<SyncOp> ops) = 0;
  virtual const IoQueueStats& stats() const = 0;
};

class FileSystem {
 public:
  virtual ~FileSystem() = default;

  virtual Result<UniqueFd> Open(const std::string& path, OpenOptions options) = 0;
  // Writes all of [data, data+len) at `offset`, retrying short writes.
  virtual Status Pwrite(int fd, const void* data, size_t len, uint64_t offset) = 0;
  // Reads up to len bytes; returns the count read (short only at end of file).
  virtual Result<size_t> Pread(int fd, void* data, size_t len, uint64_t offset) = 0;
  virtual Status Fdatasync(int fd) = 0;
  // fallocate(mode 0): reserves blocks and extends the size, so a mapping over
  // [0, offset+len) can never SIGBUS even when the disk fills later.
  virtual Status Fallocate(int fd, uint64_t offset, uint64_t len) = 0;
  virtual Status Truncate(int fd, uint64_t len) = 0;
  virtual Result<uint64_t> FileSize(int fd) = 0;
  virtual Status Rename(const std::string& from, const std::string& to) = 0;
  virtual Status Unlink(const std::string& path) = 0;
  virtual Status MakeDir(const std::string& path) = 0;  // OK if it exists
  virtual Status RemoveDir(const std::string& path) = 0;
  virtual Status SyncDir(const std::string& path) = 0;
  virtual Result<std::vector<std::string>> ListDir(const std::string& path) = 0;
  virtual bool Exists(const std::string& path) = 0;
  // Takes an exclusive flock on `path` (created if absent); kBusy if another holder.
  virtual Result<UniqueFd> LockFile(const std::string& path) = 0;
  virtual Result<MappedRegion> Map(int fd, size_t len, const std::string& what) = 0;
  // Waits (up to timeout_ms) until no process has `path` open for writing. A process killed
  // with io_uring O_DIRECT writes in flight keeps its files open until they land — after
  // its flock is gone — so recovery must not read or reuse such a file before this.
  // Uses a read lease (F_SETLEASE), which the kernel grants only when there is no writer.
  // OK where leases are unsupported (best effort); kBusy on timeout.
  virtual Status WaitForNoWriters(const std::string& path, int timeout_ms);
  virtual Result<std::unique_ptr<IoQueue>> NewIoQueue(unsigned depth) = 0;
};

// The real file system: POSIX calls and an io_uring IoQueue. Stateless; one instance
// can serve any number of engines.
std::shared_ptr<FileSystem> DefaultFileSystem();

// Writes `data` to `path` atomically: path.tmp, write, fdatasync, rename, fsync of the
// directory. After a crash the file is either the old one or the new one.
Status WriteFileAtomic(FileSystem& fs, const std::string& path, std::string_view data);
// Reads a whole (small) file.
Result<std::string> ReadWholeFile(FileSystem& fs, const std::string& path);
// Directory part of a path ("a/b/c" -> "a/b"; "c" -> ".").
std::string DirName(const std::string& path);

}  // namespace shoal::io
