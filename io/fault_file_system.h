// FaultFileSystem: the FileSystem test double behind every power-loss and I/O-fault test.
//
// It forwards every call to a wrapped FileSystem (the real one by default) and adds two
// things (after LevelDB's memenv, RocksDB's FaultInjectionTestFS and Redpanda's
// file_sanitizer):
//
//  * Power loss. It remembers, per file, every byte range written since that file's last
//    successful fdatasync, and the file size at that sync. DropUnsyncedData() then rewrites
//    the real files so they hold only what a power cut could have left: the unsynced
//    ranges become zeros (kZero), or a random prefix of the unsynced writes survives
//    (kTornPrefix), or everything survives (kKeep, a crash that lost nothing).
//  * Faults. InjectError() makes the next N matching operations fail with a chosen errno
//    without touching the file; InjectShortWriteThenError() lets a write reach the page
//    cache partially and then fail (a torn write); InjectShortWrites() splits writes in
//    two so retry loops get exercised.
//
// Usage in a recovery test:
//
//   auto fs = std::make_shared<io::FaultFileSystem>();
//   { Engine e(fs, dir); ... append, some synced, some not ... }   // stop or abandon
//   fs->DropUnsyncedData(io::DropMode::kTornPrefix, /*seed=*/7);   // the power cut
//   { Engine e(fs, dir); ... every acknowledged record must be readable ... }
//
// Identity. A file is tracked by (device, inode), found with fstat() on each call, not by
// fd number: a UniqueFd closes its fd without telling the FileSystem, so fd numbers get
// reused by unrelated files. Each tracked inode remembers the path it was last known by
// (through Open, LockFile and Rename), which DropUnsyncedData() reopens, so it works on
// files the code under test has already closed or renamed. Unlink (and a Rename over a
// file) forgets the file.
//
// Limitations (deliberate; say so in tests that depend on them):
//  * Metadata operations are durable the moment they return: file creation, Rename,
//    Unlink, Fallocate and Truncate survive DropUnsyncedData() even without SyncDir() or
//    fdatasync. Only file data (Pwrite and IoQueue writes) can be lost. Fallocate and
//    Truncate move the synced size to the length they set.
//  * Lost data becomes zeros, not the bytes the range held before the unsynced write.
//    For Shoal's append-only files, which are fallocate()d (zero-filled) ahead of the
//    writes, zeros are exactly what an unwritten tail looks like.
//  * Only writes made through this object (Pwrite, or an IoQueue from NewIoQueue) are
//    tracked. A ::pwrite on an fd, or an IoQueue taken from the wrapped FileSystem, is
//    invisible, and so are files created, renamed or unlinked behind its back.
//  * Paths are compared after lexical normalisation only ("a//b/./c" == "a/b/c"); the
//    same file reached through a symlink or a different relative path is not recognised
//    as a rename. Hard links are not modelled.
//  * A failed fdatasync (injected or real) leaves the file's writes unsynced, so a later
//    power cut drops them: the pessimistic reading of Linux, which may discard dirty
//    pages after reporting EIO.
//  * Unsynced writes are kept in memory (a copy of their bytes, so kTornPrefix can put
//    back exactly the prefix that "reached the disk" even when later writes overlapped
//    it): memory grows with the bytes written between syncs.
//
// Thread-safety: every method may be called from any thread. One mutex guards the
// tracking; writes are performed under it so a write and its record are atomic with
// respect to DropUnsyncedData() and concurrent syncs (writes through one FaultFileSystem
// therefore serialise, which is fine for tests). fdatasync runs outside the mutex; it
// retires only the writes that had completed when it started.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "io/file_system.h"

namespace shoal::io {

// The operations InjectError() can fail.
enum class FaultOp : int {
  kWrite = 0,  // Pwrite and IoQueue::Write (per WriteOp)
  kRead,       // Pread
  kSync,       // Fdatasync and IoQueue::Sync (per SyncOp)
  kFallocate,  // Fallocate
  kOpen,       // Open (read-only and read-write)
  kRename,     // Rename (matches if either path contains the substring)
  kUnlink,     // Unlink
  kTruncate,   // Truncate
  kSyncDir,    // SyncDir
};
inline constexpr size_t kFaultOpCount = 9;
std::string_view FaultOpName(FaultOp op);

// What a simulated power cut leaves of the data written since the last fdatasync.
enum class DropMode {
  kZero,        // every unsynced range reads as zeros; a file extended by unsynced
                // writes is truncated back to its synced size
  kTornPrefix,  // like kZero, then a random prefix (in write order, byte granularity)
                // of each file's unsynced writes is put back: a partial writeback
  kKeep,        // everything survives (the cut happened after writeback)
};

class FaultFileSystem final : public FileSystem {
 public:
  // `base` does the real work; it must be thread-safe (every FileSystem is).
  explicit FaultFileSystem(std::shared_ptr<FileSystem> base = DefaultFileSystem());
  ~FaultFileSystem() override;
  FaultFileSystem(const FaultFileSystem&) = delete;
  FaultFileSystem& operator=(const FaultFileSystem&) = delete;

  // --- FileSystem ---
  Result<UniqueFd> Open(const std::string& path, OpenOptions options) override;
  Status Pwrite(int fd, const void* data, size_t len, uint64_t offset) override;
  Result<size_t> Pread(int fd, void* data, size_t len, uint64_t offset) override;
  Status Fdatasync(int fd) override;
  Status Fallocate(int fd, uint64_t offset, uint64_t len) override;
  Status Truncate(int fd, uint64_t len) override;
  Result<uint64_t> FileSize(int fd) override;
  Status Rename(const std::string& from, const std::string& to) override;
  Status Unlink(const std::string& path) override;
  Status MakeDir(const std::string& path) override;
  Status RemoveDir(const std::string& path) override;
  Status SyncDir(const std::string& path) override;
  Result<std::vector<std::string>> ListDir(const std::string& path) override;
  bool Exists(const std::string& path) override;
  Result<UniqueFd> LockFile(const std::string& path) override;
  // Forwarded: the mapping reads the real file, so it shows unsynced bytes until
  // DropUnsyncedData() rewrites them, and the rewritten bytes after.
  Result<MappedRegion> Map(int fd, size_t len, const std::string& what) override;
  // A FaultIoQueue: performs each batch itself, synchronously and in op order, through
  // the wrapped FileSystem's Pwrite/Fdatasync (not io_uring), with the same injection and
  // tracking as Pwrite/Fdatasync. Every op runs even after one fails; each gets its own
  // status and the first failure is returned. stats(): one submit per non-empty batch,
  // `writes`/`syncs` per op that succeeded, `short_writes` per InjectShortWrites() split,
  // `bytes` that reached the file (including a short-then-error prefix). `depth` is
  // accepted for interface parity and ignored. Like any IoQueue it belongs to one thread;
  // it holds a raw pointer to this object, which must outlive it.
  Result<std::unique_ptr<IoQueue>> NewIoQueue(unsigned depth) override;

  // --- power loss ---
  // Simulates a power cut: rewrites every tracked file that has unsynced writes according
  // to `mode` (see DropMode), reopening it by its last known path, then forgets all
  // unsynced writes (the surviving contents count as synced). `seed` drives kTornPrefix;
  // the same seed and the same writes give the same result. Files that no longer exist, or
  // whose path now names a different inode, are skipped. Call it with the code under test
  // stopped or abandoned: writes that race with it land before or after the cut.
  // Aborts the process if restoring a file fails (a simulation that silently did not
  // happen would let a test pass on data the cut should have destroyed).
  void DropUnsyncedData(DropMode mode, uint64_t seed = 0);
  // Bytes of `path` covered by writes since its last fdatasync (overlaps counted once).
  uint64_t UnsyncedBytes(const std::string& path) const;

  // --- fault injection ---
  // The next `count` operations of kind `op` whose path contains `path_substring` (empty:
  // any; for fd-based calls the path is the one the file was opened or renamed to, ""
  // for files this object does not track) fail with Status::FromErrno(err, ...) without
  // touching the file. count < 0 fails every matching operation until ClearFaults()
  // (a full disk). Faults are consumed in the order they were injected. err == 0 means
  // EIO. Zero-length writes are no-ops and never consume a fault.
  void InjectError(FaultOp op, int err, int count = 1, std::string path_substring = "");
  // The next matching write (Pwrite or IoQueue op) writes exactly its first
  // `bytes_written_before_error` bytes (all of it if shorter), records them as unsynced
  // like any write, and then fails with `err`: a torn write that reached the page cache.
  // On an O_DIRECT fd the prefix is rounded down to kDirectAlign (the wrapped write would
  // fail on an unaligned length, and a real torn direct write is block-granular).
  void InjectShortWriteThenError(size_t bytes_written_before_error, int err,
                                 std::string path_substring = "");
  // The next `count` matching writes of at least 2 bytes (count < 0: all of them until
  // ClearFaults()) are issued to the wrapped FileSystem as two pieces (first half, then
  // the rest), the way a kernel short write followed by a retry lands; the result on disk
  // is the same. Each piece is tracked as its own write, so kTornPrefix can keep the
  // first and lose the second. A write matched by an InjectError() fault fails instead.
  // On an O_DIRECT fd the split point is rounded down to kDirectAlign; a write too small
  // to split that way goes through whole and consumes nothing.
  void InjectShortWrites(int count, std::string path_substring = "");
  // Removes every pending fault and short-write injection (counters are kept).
  void ClearFaults();
  // How many operations of kind `op` failed by injection (including short-then-error).
  uint64_t injected_faults(FaultOp op) const;
  // How many writes were split by InjectShortWrites().
  uint64_t injected_short_writes() const;

  FileSystem& base() const { return *base_; }

 private:
  friend class FaultIoQueue;

  struct FileId {
    uint64_t dev = 0;
    uint64_t ino = 0;
    auto operator<=>(const FileId&) const = default;
  };
  // One write not yet covered by a successful fdatasync.
  struct PendingWrite {
    uint64_t seq;        // global order of writes, so a sync retires only older ones
    uint64_t offset;
    uint64_t len;
    std::string data;    // the bytes written; empty if `replayable` is false
    bool replayable;     // false for a write the wrapped FS failed: how much of it
                         // landed is unknown, so a cut only ever zeroes it
  };
  struct FileState {
    std::string path;          // last known name, used to reopen it
    uint64_t synced_size = 0;  // size a power cut leaves (see the limitations above)
    std::vector<PendingWrite> unsynced;  // in write order
  };
  struct Fault {
    FaultOp op;
    int err;
    int remaining;  // < 0: unlimited
    std::string path_substring;
    std::optional<size_t> partial_bytes;  // kWrite only: short-then-error
  };
  struct ShortWrites {
    int remaining;
    std::string path_substring;
  };

  // Outcome of one write, for the IoQueue's counters.
  struct WriteOutcome {
    uint64_t bytes = 0;  // bytes that reached the wrapped FS
    bool split = false;  // issued as two pieces
  };

  // The write/sync paths shared by Pwrite/Fdatasync and FaultIoQueue.
  Status DoWrite(int fd, const void* data, size_t len, uint64_t offset, WriteOutcome* out);
  Status DoSync(int fd);

  // fstat -> (dev, inode) and size; false if the fd is not valid.
  static bool StatFd(int fd, FileId* id, uint64_t* size);
  static std::optional<FileId> IdOf(int fd);
  // lstat: the inode the name itself refers to (what rename and unlink act on).
  static std::optional<FileId> IdOfPath(const std::string& path);
  static std::string Normalize(const std::string& path);

  // All below: mu_ held.
  // Consumes and returns the first pending fault of kind `op` whose substring occurs in
  // `path` or `path2`, counting it as injected.
  std::optional<Fault> TakeFaultLocked(FaultOp op, std::string_view path,
                                       std::string_view path2 = {});
  bool TakeShortWriteLocked(std::string_view path);
  FileState* StateLocked(const std::optional<FileId>& id);
  void RecordWriteLocked(FileState* st, uint64_t offset, const void* data, size_t len,
                         bool replayable);
  // Starts or refreshes tracking of `id` as `path` after an Open/LockFile for writing
  // succeeded. `created`: the name did not exist before, so any state left for the inode
  // belongs to a deleted file whose inode number was reused.
  void TrackOpenedLocked(const FileId& id, const std::string& path, uint64_t size,
                         bool created);
  // Forgets every tracked file last known as `path`.
  void ForgetPathLocked(const std::string& path);
  // Applies a power cut to one file. `keep_bytes`: for kTornPrefix, how many unsynced
  // bytes (in write order) survive. Sets *gone if the file no longer exists as tracked.
  Status RestoreFileLocked(FileState& st, const FileId& id, DropMode mode, uint64_t keep_bytes,
                           bool* gone);

  const std::shared_ptr<FileSystem> base_;
  mutable std::mutex mu_;
  std::map<FileId, FileState> files_;
  uint64_t next_seq_ = 0;
  std::vector<Fault> faults_;
  std::vector<ShortWrites> short_writes_;
  std::array<uint64_t, kFaultOpCount> injected_{};
  uint64_t injected_short_writes_ = 0;
};

}  // namespace shoal::io
