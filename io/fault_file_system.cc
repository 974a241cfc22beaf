#include "io/fault_file_system.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <utility>

namespace shoal::io {
namespace {

// Zeros are written in chunks of this size: large enough that zeroing a 64 MiB segment
// tail takes ~1000 calls, small enough to keep as one static buffer.
constexpr size_t kZeroChunk = 64 << 10;

std::string_view Describe(std::string_view path) {
  return path.empty() ? std::string_view("(untracked file)") : path;
}

bool Matches(std::string_view substring, std::string_view path, std::string_view path2) {
  if (substring.empty()) return true;
  return path.find(substring) != std::string_view::npos ||
         path2.find(substring) != std::string_view::npos;
}

// Union of [begin, end) intervals, sorted.
std::vector<std::pair<uint64_t, uint64_t>> Merge(std::vector<std::pair<uint64_t, uint64_t>> r) {
  std::sort(r.begin(), r.end());
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& [b, e] : r) {
    if (!out.empty() && b <= out.back().second) {
      out.back().second = std::max(out.back().second, e);
    } else {
      out.emplace_back(b, e);
    }
  }
  return out;
}

}  // namespace

static_assert(static_cast<size_t>(FaultOp::kSyncDir) + 1 == kFaultOpCount,
              "kFaultOpCount must follow the last FaultOp");

std::string_view FaultOpName(FaultOp op) {
  switch (op) {
    case FaultOp::kWrite: return "write";
    case FaultOp::kRead: return "read";
    case FaultOp::kSync: return "fdatasync";
    case FaultOp::kFallocate: return "fallocate";
    case FaultOp::kOpen: return "open";
    case FaultOp::kRename: return "rename";
    case FaultOp::kUnlink: return "unlink";
    case FaultOp::kTruncate: return "truncate";
    case FaultOp::kSyncDir: return "fsync directory";
  }
  return "unknown";
}

// The IoQueue of a FaultFileSystem: every op goes through the same DoWrite/DoSync as
// Pwrite/Fdatasync, one after the other. Batching buys nothing in a test double, and
// doing the ops in order makes injected faults hit a predictable op.
class FaultIoQueue final : public IoQueue {
 public:
  explicit FaultIoQueue(FaultFileSystem* fs) : fs_(fs) {}

  Status Write(std::span<WriteOp> ops) override {
    Status first;
    if (!ops.empty()) ++stats_.submits;
    for (WriteOp& op : ops) {
      FaultFileSystem::WriteOutcome out;
      op.status = fs_->DoWrite(op.fd, op.data, op.len, op.offset, &out);
      stats_.bytes += out.bytes;
      if (out.split) ++stats_.short_writes;
      if (!op.status.ok()) {
        if (first.ok()) first = op.status;
      } else if (op.len > 0) {
        ++stats_.writes;
      }
    }
    return first;
  }

  Status Sync(std::span<SyncOp> ops) override {
    Status first;
    if (!ops.empty()) ++stats_.submits;
    for (SyncOp& op : ops) {
      op.status = fs_->DoSync(op.fd);
      if (!op.status.ok()) {
        if (first.ok()) first = op.status;
      } else {
        ++stats_.syncs;
      }
    }
    return first;
  }

  const IoQueueStats& stats() const override { return stats_; }

 private:
  FaultFileSystem* const fs_;
  IoQueueStats stats_;
};

FaultFileSystem::FaultFileSystem(std::shared_ptr<FileSystem> base) : base_(std::move(base)) {}

FaultFileSystem::~FaultFileSystem() = default;

// --- identity helpers --------------------------------------------------------

bool FaultFileSystem::StatFd(int fd, FileId* id, uint64_t* size) {
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) return false;
  *id = FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
  *size = static_cast<uint64_t>(st.st_size);
  return true;
}

std::optional<FaultFileSystem::FileId> FaultFileSystem::IdOf(int fd) {
  FileId id;
  uint64_t size;
  if (!StatFd(fd, &id, &size)) return std::nullopt;
  return id;
}

std::optional<FaultFileSystem::FileId> FaultFileSystem::IdOfPath(const std::string& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) != 0) return std::nullopt;
  return FileId{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino)};
}

std::string FaultFileSystem::Normalize(const std::string& path) {
  std::string n = std::filesystem::path(path).lexically_normal().string();
  return n.empty() ? path : n;
}

// --- tracking (mu_ held) -----------------------------------------------------

FaultFileSystem::FileState* FaultFileSystem::StateLocked(const std::optional<FileId>& id) {
  if (!id) return nullptr;
  auto it = files_.find(*id);
  return it == files_.end() ? nullptr : &it->second;
}

void FaultFileSystem::RecordWriteLocked(FileState* st, uint64_t offset, const void* data,
                                        size_t len, bool replayable) {
  if (st == nullptr || len == 0) return;
  PendingWrite w{next_seq_++, offset, len, {}, replayable};
  if (replayable) w.data.assign(static_cast<const char*>(data), len);
  st->unsynced.push_back(std::move(w));
}

void FaultFileSystem::TrackOpenedLocked(const FileId& id, const std::string& path,
                                        uint64_t size, bool created) {
  // Another inode still recorded under this name was unlinked or replaced behind our
  // back; its pending writes can no longer reach any file.
  for (auto it = files_.begin(); it != files_.end();) {
    if (it->first != id && it->second.path == path) {
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
  auto [it, inserted] = files_.try_emplace(id);
  FileState& st = it->second;
  if (inserted || created) {
    // A file we have not seen: whatever it holds was there before we started watching,
    // so treat it as durable.
    st.unsynced.clear();
    st.synced_size = size;
  }
  // Opening an already tracked inode under a new name means it was renamed behind our
  // back; follow the name so DropUnsyncedData() reopens the right path.
  st.path = path;
}

void FaultFileSystem::ForgetPathLocked(const std::string& path) {
  for (auto it = files_.begin(); it != files_.end();) {
    if (it->second.path == path) {
      it = files_.erase(it);
    } else {
      ++it;
    }
  }
}

std::optional<FaultFileSystem::Fault> FaultFileSystem::TakeFaultLocked(FaultOp op,
                                                                       std::string_view path,
                                                                       std::string_view path2) {
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op || !Matches(it->path_substring, path, path2)) continue;
    Fault f = *it;
    if (it->remaining > 0 && --it->remaining == 0) faults_.erase(it);
    ++injected_[static_cast<size_t>(op)];
    return f;
  }
  return std::nullopt;
}

bool FaultFileSystem::TakeShortWriteLocked(std::string_view path) {
  for (auto it = short_writes_.begin(); it != short_writes_.end(); ++it) {
    if (!Matches(it->path_substring, path, {})) continue;
    if (it->remaining > 0 && --it->remaining == 0) short_writes_.erase(it);
    ++injected_short_writes_;
    return true;
  }
  return false;
}

// --- the write and sync paths ---------------------------------------------------

Status FaultFileSystem::DoWrite(int fd, const void* data, size_t len, uint64_t offset,
                                WriteOutcome* out) {
  *out = WriteOutcome{};
  // A zero-length write is a no-op in the wrapped FileSystem too; it consumes no fault,
  // so a test's "fail the next write" always hits a write that moves bytes.
  if (len == 0) return Status::Ok();
  const std::optional<FileId> id = IdOf(fd);
  const auto* p = static_cast<const char*>(data);
  // O_DIRECT pieces must stay kDirectAlign-aligned or the wrapped write fails with EINVAL
  // (a real torn O_DIRECT write is block-granular too), so injected cuts round down.
  const int fl = ::fcntl(fd, F_GETFL);
  const size_t align = (fl >= 0 && (fl & O_DIRECT) != 0) ? kDirectAlign : 1;

  // Held across the wrapped write so the write and its record are one step for
  // DropUnsyncedData() and for a concurrent sync's retirement mark.
  std::lock_guard lock(mu_);
  FileState* st = StateLocked(id);
  const std::string path = st ? st->path : std::string();

  if (std::optional<Fault> f = TakeFaultLocked(FaultOp::kWrite, path)) {
    const size_t prefix = f->partial_bytes ? std::min(*f->partial_bytes, len) / align * align : 0;
    if (prefix > 0) {
      Status s = base_->Pwrite(fd, p, prefix, offset);
      RecordWriteLocked(st, offset, p, prefix, s.ok());
      if (!s.ok()) return s;
      out->bytes = prefix;
    }
    return Status::FromErrno(
        f->err, fmt::format("injected fault: write of {} bytes at offset {} to {} ({} written)",
                            len, offset, Describe(path), prefix));
  }

  const size_t first = len / 2 / align * align;
  if (first > 0 && TakeShortWriteLocked(path)) {
    out->split = true;
    Status s = base_->Pwrite(fd, p, first, offset);
    RecordWriteLocked(st, offset, p, first, s.ok());
    if (!s.ok()) return s;
    out->bytes = first;
    s = base_->Pwrite(fd, p + first, len - first, offset + first);
    RecordWriteLocked(st, offset + first, p + first, len - first, s.ok());
    if (!s.ok()) return s;
    out->bytes = len;
    return Status::Ok();
  }

  Status s = base_->Pwrite(fd, p, len, offset);
  RecordWriteLocked(st, offset, p, len, s.ok());
  if (s.ok()) out->bytes = len;
  return s;
}

Status FaultFileSystem::DoSync(int fd) {
  const std::optional<FileId> id = IdOf(fd);
  uint64_t mark;
  {
    std::lock_guard lock(mu_);
    FileState* st = StateLocked(id);
    const std::string path = st ? st->path : std::string();
    if (std::optional<Fault> f = TakeFaultLocked(FaultOp::kSync, path)) {
      return Status::FromErrno(f->err, fmt::format("injected fault: fdatasync {}", Describe(path)));
    }
    // Writes that completed before the fdatasync starts are the ones it covers.
    mark = next_seq_;
  }
  // Outside the lock: an fdatasync takes milliseconds, other files' writers go on.
  SHOAL_RETURN_IF_ERROR(base_->Fdatasync(fd));
  std::lock_guard lock(mu_);
  FileState* st = StateLocked(id);
  if (st == nullptr) return Status::Ok();
  auto& pending = st->unsynced;
  auto keep = pending.begin();
  for (auto it = pending.begin(); it != pending.end(); ++it) {
    if (it->seq < mark) {
      st->synced_size = std::max(st->synced_size, it->offset + it->len);
    } else {
      if (keep != it) *keep = std::move(*it);
      ++keep;
    }
  }
  pending.erase(keep, pending.end());
  return Status::Ok();
}

// --- FileSystem ------------------------------------------------------------------

Result<UniqueFd> FaultFileSystem::Open(const std::string& path, OpenOptions options) {
  const std::string np = Normalize(path);
  // Held across the open so "did the name exist before" and the tracking agree.
  std::lock_guard lock(mu_);
  if (std::optional<Fault> f = TakeFaultLocked(FaultOp::kOpen, np)) {
    return Status::FromErrno(f->err, "injected fault: open " + path);
  }
  const bool existed = !options.create || IdOfPath(np).has_value();
  SHOAL_ASSIGN_OR_RETURN(UniqueFd fd, base_->Open(path, options));
  FileId id;
  uint64_t size;
  if (options.write && StatFd(fd.get(), &id, &size)) TrackOpenedLocked(id, np, size, !existed);
  return fd;
}

Status FaultFileSystem::Pwrite(int fd, const void* data, size_t len, uint64_t offset) {
  WriteOutcome out;
  return DoWrite(fd, data, len, offset, &out);
}

Result<size_t> FaultFileSystem::Pread(int fd, void* data, size_t len, uint64_t offset) {
  const std::optional<FileId> id = IdOf(fd);
  {
    std::lock_guard lock(mu_);
    FileState* st = StateLocked(id);
    const std::string path = st ? st->path : std::string();
    if (std::optional<Fault> f = TakeFaultLocked(FaultOp::kRead, path)) {
      return Status::FromErrno(
          f->err, fmt::format("injected fault: read of {} bytes at offset {} from {}", len,
                              offset, Describe(path)));
    }
  }
  return base_->Pread(fd, data, len, offset);
}

Status FaultFileSystem::Fdatasync(int fd) { return DoSync(fd); }

Status FaultFileSystem::Fallocate(int fd, uint64_t offset, uint64_t len) {
  const std::optional<FileId> id = IdOf(fd);
  std::lock_guard lock(mu_);
  FileState* st = StateLocked(id);
  const std::string path = st ? st->path : std::string();
  if (std::optional<Fault> f = TakeFaultLocked(FaultOp::kFallocate, path)) {
    return Status::FromErrno(f->err, fmt::format("injected fault: fallocate {} bytes at {} of {}",
                                                 len, offset, Describe(path)));
  }
  SHOAL_RETURN_IF_ERROR(base_->Fallocate(fd, offset, len));
  // Metadata is durable at once (header): the allocated length survives a cut.
  if (st) st->synced_size = std::max(st->synced_size, offset + len);
  return Status::Ok();
}

Status FaultFileSystem::Truncate(int fd, uint64_t len) {
  const std::optional<FileId> id = IdOf(fd);
  std::lock_guard lock(mu_);
  FileState* st = StateLocked(id);
  const std::string path = st ? st->path : std::string();
  if (std::optional<Fault> f = TakeFaultLocked(FaultOp::kTruncate, path)) {
    return Status::FromErrno(f->err,
                             fmt::format("injected fault: truncate {} to {}", Describe(path), len));
  }
  SHOAL_RETURN_IF_ERROR(base_->Truncate(fd, len));
  if (st) {
    // Durable at once: the new size survives, and bytes cut off can no longer be lost.
    st->synced_size = len;
    auto& pending = st->unsynced;
    std::erase_if(pending, [len](const PendingWrite& w) { return w.offset >= len; });
    for (PendingWrite& w : pending) {
      if (w.offset + w.len > len) {
        w.len = len - w.offset;
        if (w.replayable) w.data.resize(w.len);
      }
    }
  }
  return Status::Ok();
}

Result<uint64_t> FaultFileSystem::FileSize(int fd) { return base_->FileSize(fd); }

Status FaultFileSystem::Rename(const std::string& from, const std::string& to) {
  const std::string nf = Normalize(from);
  const std::string nt = Normalize(to);
  std::lock_guard lock(mu_);
  if (std::optional<Fault> f = TakeFaultLocked(FaultOp::kRename, nf, nt)) {
    return Status::FromErrno(f->err, "injected fault: rename " + from + " -> " + to);
  }
  const std::optional<FileId> from_id = IdOfPath(nf);
  const std::optional<FileId> to_id = IdOfPath(nt);
  SHOAL_RETURN_IF_ERROR(base_->Rename(from, to));
  // rename(2) onto the same name or another link to the same inode does nothing.
  if (nf == nt || (from_id && to_id && *from_id == *to_id)) return Status::Ok();

  // The file that `to` named is unlinked by the rename; forget it first, so the moved
  // file's state is not caught by the path match.
  if (to_id) files_.erase(*to_id);
  ForgetPathLocked(nt);
  // Move the renamed file, and (if `from` is a directory) every tracked file under it.
  const std::string dir_prefix = nf + "/";
  for (auto& [id, st] : files_) {
    if (st.path == nf || (from_id && id == *from_id)) {
      st.path = nt;
    } else if (st.path.starts_with(dir_prefix)) {
      st.path = nt + "/" + st.path.substr(dir_prefix.size());
    }
  }
  return Status::Ok();
}

Status FaultFileSystem::Unlink(const std::string& path) {
  const std::string np = Normalize(path);
  std::lock_guard lock(mu_);
  if (std::optional<Fault> f = TakeFaultLocked(FaultOp::kUnlink, np)) {
    return Status::FromErrno(f->err, "injected fault: unlink " + path);
  }
  const std::optional<FileId> id = IdOfPath(np);
  SHOAL_RETURN_IF_ERROR(base_->Unlink(path));
  if (id) files_.erase(*id);
  ForgetPathLocked(np);
  return Status::Ok();
}

Status FaultFileSystem::MakeDir(const std::string& path) { return base_->MakeDir(path); }

Status FaultFileSystem::RemoveDir(const std::string& path) { return base_->RemoveDir(path); }

Status FaultFileSystem::SyncDir(const std::string& path) {
  {
    std::lock_guard lock(mu_);
    if (std::optional<Fault> f = TakeFaultLocked(FaultOp::kSyncDir, Normalize(path))) {
      return Status::FromErrno(f->err, "injected fault: fsync directory " + path);
    }
  }
  return base_->SyncDir(path);
}

Result<std::vector<std::string>> FaultFileSystem::ListDir(const std::string& path) {
  return base_->ListDir(path);
}

bool FaultFileSystem::Exists(const std::string& path) { return base_->Exists(path); }

Result<UniqueFd> FaultFileSystem::LockFile(const std::string& path) {
  const std::string np = Normalize(path);
  std::lock_guard lock(mu_);
  const bool existed = IdOfPath(np).has_value();
  SHOAL_ASSIGN_OR_RETURN(UniqueFd fd, base_->LockFile(path));
  FileId id;
  uint64_t size;
  if (StatFd(fd.get(), &id, &size)) TrackOpenedLocked(id, np, size, !existed);
  return fd;
}

Result<MappedRegion> FaultFileSystem::Map(int fd, size_t len, const std::string& what) {
  return base_->Map(fd, len, what);
}

Result<std::unique_ptr<IoQueue>> FaultFileSystem::NewIoQueue(unsigned /*depth*/) {
  return std::unique_ptr<IoQueue>(std::make_unique<FaultIoQueue>(this));
}

// --- power loss --------------------------------------------------------------------

Status FaultFileSystem::RestoreFileLocked(FileState& st, const FileId& id, DropMode mode,
                                          uint64_t keep_bytes, bool* gone) {
  *gone = false;
  if (mode == DropMode::kKeep) {
    for (const PendingWrite& w : st.unsynced)
      st.synced_size = std::max(st.synced_size, w.offset + w.len);
    st.unsynced.clear();
    return Status::Ok();
  }

  // Reopen by name: the code under test may have closed its fd long ago.
  Result<UniqueFd> opened = base_->Open(st.path, {.write = true});
  if (!opened.ok()) {
    if (opened.status().code() == Code::kNotFound) {
      *gone = true;
      return Status::Ok();
    }
    return opened.status();
  }
  const int fd = opened->get();
  FileId now;
  uint64_t size;
  if (!StatFd(fd, &now, &size)) return Status::FromErrno(errno, "fstat " + st.path);
  if (now != id) {
    // The name was reused by a file created behind our back; ours is gone.
    *gone = true;
    return Status::Ok();
  }

  // Size first: bytes past the synced size vanish with the size, no need to zero them.
  if (size > st.synced_size) SHOAL_RETURN_IF_ERROR(base_->Truncate(fd, st.synced_size));
  // Zero only inside the file: if it was shortened behind our back, writing zeros past
  // its end would grow it instead.
  const uint64_t limit = std::min(size, st.synced_size);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const PendingWrite& w : st.unsynced) {
    const uint64_t end = std::min(w.offset + w.len, limit);
    if (w.offset < end) ranges.emplace_back(w.offset, end);
  }
  static const std::string kZeros(kZeroChunk, '\0');
  for (const auto& [begin, end] : Merge(std::move(ranges))) {
    for (uint64_t pos = begin; pos < end;) {
      const size_t n = static_cast<size_t>(std::min<uint64_t>(end - pos, kZeroChunk));
      SHOAL_RETURN_IF_ERROR(base_->Pwrite(fd, kZeros.data(), n, pos));
      pos += n;
    }
  }

  if (mode == DropMode::kTornPrefix) {
    // Put back the writes that "reached the disk", in order, so where a kept write was
    // overwritten by a lost one the kept bytes win, as they would on the device.
    for (const PendingWrite& w : st.unsynced) {
      if (keep_bytes == 0) break;
      if (!w.replayable) continue;
      const size_t n = static_cast<size_t>(std::min<uint64_t>(keep_bytes, w.data.size()));
      SHOAL_RETURN_IF_ERROR(base_->Pwrite(fd, w.data.data(), n, w.offset));
      keep_bytes -= n;
    }
  }

  SHOAL_ASSIGN_OR_RETURN(st.synced_size, base_->FileSize(fd));
  st.unsynced.clear();
  return Status::Ok();
}

void FaultFileSystem::DropUnsyncedData(DropMode mode, uint64_t seed) {
  std::lock_guard lock(mu_);
  // Visit files by path, not by inode number, so a seed reproduces the same cut on every
  // run (inode numbers differ between runs).
  std::vector<std::pair<std::string, FileId>> order;
  for (const auto& [id, st] : files_) {
    if (!st.unsynced.empty()) order.emplace_back(st.path, id);
  }
  std::sort(order.begin(), order.end());
  std::mt19937_64 rng(seed);
  for (const auto& [path, id] : order) {
    FileState& st = files_.at(id);
    uint64_t keep = 0;
    if (mode == DropMode::kTornPrefix) {
      uint64_t total = 0;
      for (const PendingWrite& w : st.unsynced) total += w.data.size();
      // Modulo instead of uniform_int_distribution: mt19937_64's output is fixed by the
      // standard, the distribution's is not, and seeds must replay on any toolchain.
      keep = rng() % (total + 1);
    }
    bool gone = false;
    Status s = RestoreFileLocked(st, id, mode, keep, &gone);
    if (!s.ok()) {
      std::fprintf(stderr,
                   "FaultFileSystem::DropUnsyncedData: could not simulate the power cut on %s: "
                   "%s\n",
                   path.c_str(), s.ToString().c_str());
      std::abort();
    }
    if (gone) files_.erase(id);
  }
}

uint64_t FaultFileSystem::UnsyncedBytes(const std::string& path) const {
  const std::string np = Normalize(path);
  std::lock_guard lock(mu_);
  std::vector<std::pair<uint64_t, uint64_t>> ranges;
  for (const auto& [id, st] : files_) {
    if (st.path != np) continue;
    for (const PendingWrite& w : st.unsynced) ranges.emplace_back(w.offset, w.offset + w.len);
  }
  uint64_t total = 0;
  for (const auto& [b, e] : Merge(std::move(ranges))) total += e - b;
  return total;
}

// --- fault injection -------------------------------------------------------------

void FaultFileSystem::InjectError(FaultOp op, int err, int count, std::string path_substring) {
  if (count == 0) return;
  std::lock_guard lock(mu_);
  // errno 0 would produce an "error" reading "Success"; EIO is what was meant.
  faults_.push_back(Fault{op, err != 0 ? err : EIO, count, std::move(path_substring), std::nullopt});
}

void FaultFileSystem::InjectShortWriteThenError(size_t bytes_written_before_error, int err,
                                                std::string path_substring) {
  std::lock_guard lock(mu_);
  faults_.push_back(Fault{FaultOp::kWrite, err != 0 ? err : EIO, 1, std::move(path_substring),
                          bytes_written_before_error});
}

void FaultFileSystem::InjectShortWrites(int count, std::string path_substring) {
  if (count == 0) return;
  std::lock_guard lock(mu_);
  short_writes_.push_back(ShortWrites{count, std::move(path_substring)});
}

void FaultFileSystem::ClearFaults() {
  std::lock_guard lock(mu_);
  faults_.clear();
  short_writes_.clear();
}

uint64_t FaultFileSystem::injected_faults(FaultOp op) const {
  std::lock_guard lock(mu_);
  return injected_[static_cast<size_t>(op)];
}

uint64_t FaultFileSystem::injected_short_writes() const {
  std::lock_guard lock(mu_);
  return injected_short_writes_;
}

}  // namespace shoal::io
