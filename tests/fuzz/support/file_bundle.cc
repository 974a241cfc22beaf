#include "tests/fuzz/support/file_bundle.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include <fmt/format.h>

#include "io/crc32c.h"
#include "kernel/format.h"

namespace shoal::fuzz {
namespace {

namespace f = shoal::format;

uint8_t* Bytes(std::string* s) { return reinterpret_cast<uint8_t*>(s->data()); }

void FixSegment(std::string* s) {
  uint8_t* p = Bytes(s);
  if (s->size() >= f::kSegHdrUsed) f::Store32(p + f::kSegHdrCrc, io::Crc32c(p, f::kSegHdrCrc));
  // Walk the frames as a scanner would and sign each one whose length fits.
  size_t pos = f::kSegmentHeaderSize;
  while (pos + f::kFrameHeaderSize <= s->size()) {
    uint32_t len = f::Load32(p + pos + f::kFrameLen);
    if (len < f::kFrameHeaderSize || len > s->size() - pos) break;
    f::Store32(p + pos + f::kFrameCrc, io::Crc32c(p + pos + 8, len - 8));
    if (len % f::kFrameAlign != 0) break;
    pos += len;
  }
}

void FixIndex(std::string* s) {
  if (s->size() < f::kIndexHeaderSize) return;
  // Drop a partial entry and make the count match, so the CRC is the only thing left wrong.
  s->resize(f::kIndexHeaderSize + (s->size() - f::kIndexHeaderSize) / f::kIndexEntrySize * f::kIndexEntrySize);
  uint8_t* p = Bytes(s);
  const size_t n = (s->size() - f::kIndexHeaderSize) / f::kIndexEntrySize;
  f::Store32(p + f::kIdxCount, static_cast<uint32_t>(n));
  uint32_t crc = io::Crc32c(p, f::kIdxCrc);
  crc = io::Crc32cExtend(crc, p + f::kIndexHeaderSize, n * f::kIndexEntrySize);
  f::Store32(p + f::kIdxCrc, crc);
}

void FixMeta(std::string* s) {
  if (s->size() < f::kMetaCrcAt + 4) return;
  f::Store32(Bytes(s) + f::kMetaCrcAt, io::Crc32c(Bytes(s), f::kMetaCrcAt));
}

}  // namespace

std::string BundleFile::FileName() const {
  const uint64_t ord = ordinal;
  switch (kind) {
    case kSegment: return f::SegmentFileName(ord);
    case kIndex: return f::IndexFileName(ord);
    case kMeta: return "log.meta";
    case kClean: return "CLEAN";
    default: return f::SegmentFileName(ord) + ".tmp";
  }
}

std::vector<BundleFile> DecodeBundle(std::string_view in) {
  std::vector<BundleFile> out;
  size_t i = 0;
  while (i + 5 <= in.size()) {
    BundleFile b;
    b.kind = static_cast<BundleFile::Kind>(static_cast<uint8_t>(in[i]) % BundleFile::kKinds);
    b.ordinal = static_cast<uint8_t>(in[i + 1]);
    b.flags = static_cast<uint8_t>(in[i + 2]);
    size_t len = static_cast<uint8_t>(in[i + 3]) | size_t{static_cast<uint8_t>(in[i + 4])} << 8;
    i += 5;
    len = std::min(len, in.size() - i);
    b.content.assign(in.substr(i, len));
    i += len;
    out.push_back(std::move(b));
  }
  return out;
}

std::string EncodeBundle(const std::vector<BundleFile>& files) {
  std::string out;
  for (const BundleFile& b : files) {
    const size_t len = std::min(b.content.size(), BundleFile::kMaxContent);
    out += static_cast<char>(b.kind);
    out += static_cast<char>(b.ordinal);
    out += static_cast<char>(b.flags);
    out += static_cast<char>(len & 0xff);
    out += static_cast<char>(len >> 8);
    out.append(b.content, 0, len);
  }
  return out;
}

void FixChecksums(BundleFile::Kind kind, std::string* content) {
  switch (kind) {
    case BundleFile::kSegment: FixSegment(content); break;
    case BundleFile::kIndex:
    case BundleFile::kClean: FixIndex(content); break;  // CLEAN uses the index encoding
    case BundleFile::kMeta: FixMeta(content); break;
    default: break;
  }
}

void WriteBundle(const std::vector<BundleFile>& files, const std::string& dir) {
  for (const BundleFile& b : files) {
    std::string content = b.content;
    if (b.flags & BundleFile::kFixChecksums) FixChecksums(b.kind, &content);
    if (b.flags & BundleFile::kZeroTail) content.append(BundleFile::kZeroTailBytes, '\0');
    const std::string path = dir + "/" + b.FileName();
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || ::write(fd, content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
      std::perror(("write " + path).c_str());
      std::abort();
    }
    ::close(fd);
  }
}

}  // namespace shoal::fuzz
