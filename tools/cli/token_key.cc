#include "tools/cli/token_key.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace shoal::cli {
namespace {

[[noreturn]] void Fail(const std::string& what, int err) {
  throw std::runtime_error(fmt::format("{}: {}", what, std::strerror(err)));
}

// Returns false (errno set) if the file cannot be opened.
bool ReadAll(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  out->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      Fail("read " + path, err);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return true;
}

void ReadExactly(int fd, unsigned char* buf, size_t len, const char* what) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) Fail(what, n == 0 ? EIO : errno);
    got += static_cast<size_t>(n);
  }
}

void FsyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) Fail("open " + dir, errno);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  if (rc != 0) Fail("fsync " + dir, err);
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
  size_t b = 0;
  while (b < s.size() && (s[b] == ' ' || s[b] == '\t')) ++b;
  return s.substr(b);
}

std::string Checked(const std::string& path, std::string text) {
  text = Trim(std::move(text));
  if (text.size() < 16) {
    throw std::runtime_error(fmt::format(
        "{}: the iterator key is {} bytes, expected 64 hex digits; delete the file to make a new key "
        "(outstanding shard iterators become invalid)",
        path, text.size()));
  }
  return text;
}

}  // namespace

std::string LoadOrCreateTokenKey(const std::string& data_dir) {
  const std::string path = data_dir + "/" + kTokenKeyFile;
  std::string text;
  if (ReadAll(path, &text)) return Checked(path, std::move(text));
  if (errno != ENOENT) Fail("open " + path, errno);

  unsigned char raw[32];
  int rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (rnd < 0) Fail("open /dev/urandom", errno);
  try {
    ReadExactly(rnd, raw, sizeof raw, "read /dev/urandom");
  } catch (...) {
    close(rnd);
    throw;
  }
  close(rnd);
  std::string key;
  for (unsigned char c : raw) key += fmt::format("{:02x}", c);

  const std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) Fail("create " + tmp, errno);
  const std::string line = key + "\n";
  bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && fsync(fd) == 0;
  int err = errno;
  close(fd);
  if (!ok) {
    unlink(tmp.c_str());
    Fail("write " + tmp, err);
  }
  int rc = link(tmp.c_str(), path.c_str());
  err = errno;
  unlink(tmp.c_str());
  if (rc != 0 && err != EEXIST) Fail("link " + path, err);
  FsyncDir(data_dir);
  if (rc == 0) return key;
  // Another process created it first: use theirs.
  if (!ReadAll(path, &text)) Fail("open " + path, errno);
  return Checked(path, std::move(text));
}

}  // namespace shoal::cli
