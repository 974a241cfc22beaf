// Header-only helpers for shard log tests: raw file access (to damage files with plain
// POSIX calls), an on-disk frame walker built on kernel/format.h, record generators and
// a "read everything" helper.
#pragma once

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "io/crc32c.h"
#include "kernel/format.h"
#include "kernel/shard_log.h"

namespace shoal::testing {

// ---- raw files (bypass the FileSystem seam on purpose) ------------------------------

inline std::string ReadRaw(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) return out;
  char buf[1 << 16];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// Overwrites [offset, offset + data.size()) of an existing file (extends it if needed).
inline void PwriteRaw(const std::string& path, uint64_t offset, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset)),
            static_cast<ssize_t>(data.size()));
  ::close(fd);
}

// Creates or replaces a whole file.
inline void WriteRaw(const std::string& path, const std::string& data) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  ASSERT_GE(fd, 0) << path;
  ASSERT_EQ(::write(fd, data.data(), data.size()), static_cast<ssize_t>(data.size()));
  ::close(fd);
}

inline void TruncateRaw(const std::string& path, uint64_t len) {
  ASSERT_EQ(::truncate(path.c_str(), static_cast<off_t>(len)), 0) << path;
}

inline uint64_t FileSizeRaw(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.st_size);
}

inline bool ExistsRaw(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

inline void FlipByte(const std::string& path, uint64_t offset) {
  std::string b = ReadRaw(path).substr(offset, 1);
  ASSERT_EQ(b.size(), 1u) << path << " has no byte " << offset;
  b[0] = static_cast<char>(b[0] ^ 0x5a);
  PwriteRaw(path, offset, b);
}

// Names in `dir` (not "." / "..").
inline std::vector<std::string> ListNames(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec))
    out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

// Segment ordinals in `dir`, ascending.
inline std::vector<uint64_t> SegmentOrdinals(const std::string& dir) {
  std::vector<uint64_t> out;
  for (const std::string& n : ListNames(dir)) {
    uint64_t o;
    if (format::ParseSegmentFileName(n, &o)) out.push_back(o);
  }
  return out;
}

inline std::string SegPath(const std::string& dir, uint64_t ord) {
  return dir + "/" + format::SegmentFileName(ord);
}
inline std::string IdxPath(const std::string& dir, uint64_t ord) {
  return dir + "/" + format::IndexFileName(ord);
}

// ---- frames on disk ----------------------------------------------------------------

struct DiskFrame {
  uint64_t pos;  // file position
  format::FrameInfo info;
};

// Every valid frame of a segment file from its header up to the first non-ok frame.
inline std::vector<DiskFrame> FramesOf(const std::string& seg_path) {
  std::vector<DiskFrame> out;
  std::string bytes = ReadRaw(seg_path);
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  uint64_t pos = format::kSegmentHeaderSize;
  while (pos < bytes.size()) {
    format::FrameInfo fi;
    if (format::CheckFrame(p + pos, bytes.size() - pos, true, &fi) != format::FrameCheck::kOk)
      break;
    out.push_back({pos, fi});
    pos += fi.len;
  }
  return out;
}

// Recomputes the CRC of the frame at `pos` (after the test edited its bytes).
inline void RecrcFrame(const std::string& seg_path, uint64_t pos) {
  std::string bytes = ReadRaw(seg_path);
  auto* p = reinterpret_cast<uint8_t*>(bytes.data()) + pos;
  uint32_t len = format::Load32(p + format::kFrameLen);
  ASSERT_LE(pos + len, bytes.size());
  std::string crc(4, '\0');
  format::Store32(reinterpret_cast<uint8_t*>(crc.data()), io::Crc32c(p + 8, len - 8));
  PwriteRaw(seg_path, pos + format::kFrameCrc, crc);
}

inline std::string U64Bytes(uint64_t v) {
  std::string s(8, '\0');
  format::Store64(reinterpret_cast<uint8_t*>(s.data()), v);
  return s;
}
inline std::string U32Bytes(uint32_t v) {
  std::string s(4, '\0');
  format::Store32(reinterpret_cast<uint8_t*>(s.data()), v);
  return s;
}

// ---- records -------------------------------------------------------------------------

// Deterministic bytes for (a, b), n long.
inline std::string GenBytes(uint64_t a, uint64_t b, size_t n) {
  std::string s(n, '\0');
  uint64_t x = a * 0x9E3779B97F4A7C15ull ^ (b + 0x632BE59BD9B4E019ull);
  for (size_t i = 0; i < n; ++i) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    s[i] = static_cast<char>((x * 0x2545F4914F6CDD1Dull) >> 56);
  }
  return s;
}

struct Rec {
  uint64_t offset = 0;
  int64_t ts = 0;
  std::string key;
  std::string data;
};

// Reads [from, end_offset()) in chunks; fails the test on a read error.
inline std::vector<Rec> ReadAllFrom(const ShardLog& log, uint64_t from, size_t chunk = 97) {
  std::vector<Rec> out;
  ReadBatch b;
  uint64_t off = from;
  const uint64_t end = log.end_offset();
  while (off < end) {
    Status st = log.Read(off, chunk, 1 << 20, &b);
    EXPECT_TRUE(st.ok()) << st;
    if (!st.ok() || b.records.empty()) break;
    for (const RecordView& r : b.records)
      out.push_back(Rec{r.offset, r.ts_ms, std::string(r.key), std::string(r.data)});
    off = b.next_offset;
  }
  return out;
}

}  // namespace shoal::testing
