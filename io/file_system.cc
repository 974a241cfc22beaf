#include "io/file_system.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "io/uring_io_queue.h"

namespace shoal::io {
namespace {

class PosixFileSystem final : public FileSystem {
 public:
  Result<UniqueFd> Open(const std::string& path, OpenOptions o) override {
    int flags = O_CLOEXEC | (o.write ? O_RDWR : O_RDONLY);
    if (o.create) flags |= O_CREAT;
    if (o.exclusive) flags |= O_EXCL;
    if (o.direct) flags |= O_DIRECT;
    int fd = ::open(path.c_str(), flags, 0644);
    if (fd < 0) return Status::FromErrno(errno, "open " + path);
    return UniqueFd(fd);
  }

  Status Pwrite(int fd, const void* data, size_t len, uint64_t offset) override {
    auto* p = static_cast<const char*>(data);
    while (len > 0) {
      ssize_t n = ::pwrite(fd, p, len, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "pwrite");
      }
      if (n == 0) return Status(Code::kIOError, "pwrite wrote 0 bytes");
      p += n;
      len -= static_cast<size_t>(n);
      offset += static_cast<uint64_t>(n);
    }
    return Status::Ok();
  }

  Result<size_t> Pread(int fd, void* data, size_t len, uint64_t offset) override {
    size_t got = 0;
    auto* p = static_cast<char*>(data);
    while (got < len) {
      ssize_t n = ::pread(fd, p + got, len - got, static_cast<off_t>(offset + got));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Status::FromErrno(errno, "pread");
      }
      if (n == 0) break;
      got += static_cast<size_t>(n);
    }
    return got;
  }

  Status Fdatasync(int fd) override {
    if (::fdatasync(fd) != 0) return Status::FromErrno(errno, "fdatasync");
    return Status::Ok();
  }

  Status Fallocate(int fd, uint64_t offset, uint64_t len) override {
    int rc = ::fallocate(fd, 0, static_cast<off_t>(offset), static_cast<off_t>(len));
    if (rc != 0 && (errno == EOPNOTSUPP || errno == ENOSYS)) {
      // tmpfs and some FUSE file systems: extend with ftruncate (sparse) instead.
      struct stat st {};
      if (::fstat(fd, &st) == 0 && static_cast<uint64_t>(st.st_size) >= offset + len)
        return Status::Ok();
      rc = ::ftruncate(fd, static_cast<off_t>(offset + len));
    }
    if (rc != 0) return Status::FromErrno(errno, "fallocate");
    return Status::Ok();
  }

  Status Truncate(int fd, uint64_t len) override {
    if (::ftruncate(fd, static_cast<off_t>(len)) != 0) return Status::FromErrno(errno, "ftruncate");
    return Status::Ok();
  }

  Result<uint64_t> FileSize(int fd) override {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return Status::FromErrno(errno, "fstat");
    return static_cast<uint64_t>(st.st_size);
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return Status::FromErrno(errno, "rename " + from + " -> " + to);
    return Status::Ok();
  }

  Status Unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Status::FromErrno(errno, "unlink " + path);
    return Status::Ok();
  }

  Status MakeDir(const std::string& path) override {
    if (::mkdir(path.c_str(), 0755) != 0 && errno != EEXIST)
      return Status::FromErrno(errno, "mkdir " + path);
    return Status::Ok();
  }

  Status RemoveDir(const std::string& path) override {
    if (::rmdir(path.c_str()) != 0) return Status::FromErrno(errno, "rmdir " + path);
    return Status::Ok();
  }

  Status SyncDir(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open directory " + path);
    UniqueFd guard(fd);
    if (::fsync(fd) != 0) return Status::FromErrno(errno, "fsync directory " + path);
    return Status::Ok();
  }

  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    DIR* d = ::opendir(path.c_str());
    if (!d) return Status::FromErrno(errno, "opendir " + path);
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      std::string_view n = e->d_name;
      if (n == "." || n == "..") continue;
      names.emplace_back(n);
    }
    ::closedir(d);
    return names;
  }

  bool Exists(const std::string& path) override { return ::access(path.c_str(), F_OK) == 0; }

  Result<UniqueFd> LockFile(const std::string& path) override {
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::FromErrno(errno, "open lock file " + path);
    UniqueFd guard(fd);
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
      if (errno == EWOULDBLOCK)
        return Status(Code::kBusy, path + " is locked by another process or engine; "
                                          "one engine per data directory");
      return Status::FromErrno(errno, "flock " + path);
    }
    return guard;
  }

  Result<MappedRegion> Map(int fd, size_t len, const std::string& what) override {
    return MappedRegion::Map(fd, len, what.c_str());
  }

  Result<std::unique_ptr<IoQueue>> NewIoQueue(unsigned depth) override {
    return NewUringIoQueue(depth);
  }
};

}  // namespace

Status FileSystem::WaitForNoWriters(const std::string& path, int timeout_ms) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : Status::FromErrno(errno, "open " + path);
  UniqueFd guard(fd);
  for (int waited = 0;; waited += 2) {
    if (::fcntl(fd, F_SETLEASE, F_RDLCK) == 0) {
      ::fcntl(fd, F_SETLEASE, F_UNLCK);
      return Status::Ok();
    }
    if (errno != EAGAIN && errno != EBUSY) return Status::Ok();  // no lease support: best effort
    if (waited >= timeout_ms)
      return Status(Code::kBusy, path + " is still open for writing by another process after " +
                                     std::to_string(timeout_ms) +
                                     " ms; is another engine using this directory?");
    ::usleep(2000);
  }
}

std::shared_ptr<FileSystem> DefaultFileSystem() {
  static const std::shared_ptr<FileSystem> fs = std::make_shared<PosixFileSystem>();
  return fs;
}

std::string DirName(const std::string& path) {
  auto pos = path.find_last_of('/');
  if (pos == std::string::npos) return ".";
  if (pos == 0) return "/";
  return path.substr(0, pos);
}

Status WriteFileAtomic(FileSystem& fs, const std::string& path, std::string_view data) {
  const std::string tmp = path + ".tmp";
  Status st = [&]() -> Status {
    SHOAL_ASSIGN_OR_RETURN(UniqueFd fd, fs.Open(tmp, {.write = true, .create = true}));
    SHOAL_RETURN_IF_ERROR(fs.Truncate(fd.get(), 0));
    SHOAL_RETURN_IF_ERROR(fs.Pwrite(fd.get(), data.data(), data.size(), 0));
    return fs.Fdatasync(fd.get());
  }();
  if (st.ok()) st = fs.Rename(tmp, path);
  else fs.Unlink(tmp).IgnoreError();  // never referenced; on a full disk its blocks are wanted
  if (st.ok()) st = fs.SyncDir(DirName(path));
  // pwrite and fdatasync errors know only an fd: name the file, so "free space" or "EIO"
  // points at a file system.
  if (!st.ok()) return Status(st.code(), "writing " + path + ": " + st.message());
  return st;
}

Result<std::string> ReadWholeFile(FileSystem& fs, const std::string& path) {
  SHOAL_ASSIGN_OR_RETURN(UniqueFd fd, fs.Open(path, {}));
  SHOAL_ASSIGN_OR_RETURN(uint64_t size, fs.FileSize(fd.get()));
  std::string out(size, '\0');
  SHOAL_ASSIGN_OR_RETURN(size_t got, fs.Pread(fd.get(), out.data(), out.size(), 0));
  out.resize(got);
  return out;
}

}  // namespace shoal::io
