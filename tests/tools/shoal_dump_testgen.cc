// Test helper for shoal-dump (tests/tools/shoal_dump_test.sh): writes small shard logs
// through the real ShardLog, and damages them in the shapes shoal-dump must report.
//
//   shoal-dump-testgen log DIR [RECORDS] [--direct] [--trim N] [--seal] [--crash]
//                                           a log with 64 KiB segments (3000 records by
//                                           default), closed cleanly unless --crash; exit 77
//                                           if --direct is not supported here
//   shoal-dump-testgen tiny DIR             one frame of 2 records, fixed timestamps
//                                           (the worked example in docs/format.md)
//   shoal-dump-testgen damage SHAPE DIR     damages a log made by `log`; SHAPE is one of
//       flip-sealed     flips a data byte in the first frame of 000000000001.seg
//       torn-tail       writes non-zero bytes after the data of the last segment with data,
//                       and deletes CLEAN (as a crash would have left it)
//       index-entry     moves an entry of 000000000001.idx off its frame (CRC recomputed)
//       index-crc       flips a byte in the entries of 000000000001.idx
//       gap             deletes 000000000002.seg and its index
//       meta-crc        flips a byte of log.meta
//
// Exit status 0 on success; messages on stderr otherwise.
#include <fcntl.h>
#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "kernel/format.h"
#include "kernel/log_writer.h"
#include "kernel/shard_log.h"

namespace shoal {
namespace {

int Fail(const std::string& msg) {
  fmt::print(stderr, "shoal-dump-testgen: {}\n", msg);
  return 1;
}

std::string ReadFile(const std::string& path) {
  auto r = io::ReadWholeFile(*io::DefaultFileSystem(), path);
  return r.ok() ? *r : std::string();
}

bool WriteAt(const std::string& path, uint64_t pos, const void* data, size_t n) {
  int fd = ::open(path.c_str(), O_WRONLY);
  if (fd < 0) return false;
  bool ok = ::pwrite(fd, data, n, static_cast<off_t>(pos)) == static_cast<ssize_t>(n);
  ::close(fd);
  return ok;
}

bool FlipByte(const std::string& path, uint64_t pos) {
  std::string bytes = ReadFile(path);
  if (pos >= bytes.size()) return false;
  uint8_t b = static_cast<uint8_t>(bytes[pos]) ^ 0x5a;
  return WriteAt(path, pos, &b, 1);
}

struct LogSpec {
  int records = 3000;
  bool direct = false;  // O_DIRECT: frames of each flush padded to 4 KiB
  uint64_t trim = 0;    // TrimBefore(trim) after writing
  bool seal = false;    // Seal() before closing
  bool crash = false;   // no Close(): destroy the log as a crash would (minus power loss)
};

int WriteLog(const std::string& dir, const LogSpec& spec) {
  const int records = spec.records;
  auto writer = LogWriter::Create();
  if (!writer.ok()) return Fail(writer.status().ToString());
  LogOptions opts;
  opts.segment_bytes = 64 << 10;        // the smallest allowed: several segments from few records
  opts.durability = Durability::kNone;  // Close() syncs; no fdatasync per batch
  opts.segment_max_age_ms = 0;
  // The cases and docs/format.md describe the buffered layout unless --direct is given.
  opts.write_mode = spec.direct ? WriteMode::kDirect : WriteMode::kBuffered;
  auto log = ShardLog::Open(dir, opts, *writer);
  if (!log.ok()) {
    // 77: CTest's SKIP_RETURN_CODE, for file systems without O_DIRECT (tmpfs).
    if (spec.direct && log.status().code() == Code::kInvalidArgument) {
      fmt::print(stderr, "shoal-dump-testgen: skipped: {}\n", log.status().ToString());
      return 77;
    }
    return Fail(log.status().ToString());
  }
  int64_t ts = 1700000000000;  // 2023-11-14T22:13:20Z
  int written = 0;
  for (int batch = 0; written < records; ++batch) {
    const int n = std::min(1 + batch % 7, records - written);
    std::vector<std::string> keys, datas;
    for (int i = 0; i < n; ++i) {
      const int k = written + i;
      keys.push_back(fmt::format("key-{}", k % 17));
      if (k % 5 == 0) {  // binary data
        std::string d(20 + k % 50, '\0');
        for (size_t j = 0; j < d.size(); ++j) d[j] = static_cast<char>((k * 31 + j * 7) & 0xff);
        datas.push_back(d);
      } else {
        datas.push_back(
            fmt::format("record {} {}", k, std::string(static_cast<size_t>(k % 150), 'x')));
      }
    }
    std::vector<RecordIn> in;
    for (int i = 0; i < n; ++i) in.push_back(RecordIn{keys[i], datas[i], ts + (written + i) / 3});
    AppendResult r = (*log)->AppendSync(in);
    if (!r.status.ok()) return Fail(r.status.ToString());
    written += n;
  }
  if (spec.trim) {
    Status st = (*log)->TrimBefore(spec.trim);
    if (!st.ok()) return Fail(st.ToString());
  }
  if (spec.seal) {
    auto sealed = (*log)->Seal();
    if (!sealed.ok()) return Fail(sealed.status().ToString());
  }
  if (spec.crash) {
    Status st = (*log)->Flush();  // every write reached the file; nothing marks it clean
    if (!st.ok()) return Fail(st.ToString());
    log->reset();
    (*writer)->DrainBackground();
    return 0;
  }
  Status st = (*log)->Close();
  if (!st.ok()) return Fail(st.ToString());
  (*writer)->DrainBackground();  // trimmed files are unlinked in the background
  return 0;
}

int WriteTiny(const std::string& dir) {
  auto writer = LogWriter::Create();
  if (!writer.ok()) return Fail(writer.status().ToString());
  LogOptions opts;
  opts.segment_bytes = 64 << 10;
  opts.write_mode = WriteMode::kBuffered;  // the worked example in docs/format.md is unpadded
  auto log = ShardLog::Open(dir, opts, *writer);
  if (!log.ok()) return Fail(log.status().ToString());
  RecordIn in[2] = {{"k1", "hello", 1700000000000}, {"k2", "world!", 1700000000005}};
  AppendResult r = (*log)->AppendSync(in);
  if (!r.status.ok()) return Fail(r.status.ToString());
  Status st = (*log)->Close();
  if (!st.ok()) return Fail(st.ToString());
  return 0;
}

int Damage(const std::string& shape, const std::string& dir) {
  const std::string seg1 = dir + "/" + format::SegmentFileName(1);
  const std::string idx1 = dir + "/" + format::IndexFileName(1);
  if (shape == "flip-sealed") {
    // Byte 60 of the first frame: past its 32-byte header and the first record's 12-byte
    // header, inside that record's key or data.
    if (!FlipByte(seg1, format::kSegmentHeaderSize + 60)) return Fail("cannot flip " + seg1);
    return 0;
  }
  if (shape == "torn-tail") {
    // The last segment with data: walk its frames to the end and scribble after them.
    auto names = io::DefaultFileSystem()->ListDir(dir);
    if (!names.ok()) return Fail(names.status().ToString());
    uint64_t best = 0, end = 0;
    for (const std::string& n : *names) {
      uint64_t ord;
      if (!format::ParseSegmentFileName(n, &ord)) continue;
      std::string bytes = ReadFile(dir + "/" + n);
      const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
      uint64_t pos = format::kSegmentHeaderSize;
      format::FrameInfo fi;
      while (pos < bytes.size() &&
             format::CheckFrame(p + pos, bytes.size() - pos, true, &fi) == format::FrameCheck::kOk)
        pos += fi.len;
      if (pos > format::kSegmentHeaderSize && pos < bytes.size() && ord > best) {
        best = ord;
        end = pos;
      }
    }
    if (best == 0) return Fail("no segment with data and room after it");
    const uint8_t junk[16] = {0x30, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8};
    if (!WriteAt(dir + "/" + format::SegmentFileName(best), end, junk, sizeof junk))
      return Fail("cannot write the torn tail");
    // As after a crash: no CLEAN, so Open would scan the active segment.
    ::unlink((dir + "/CLEAN").c_str());
    return 0;
  }
  if (shape == "index-entry" || shape == "index-crc") {
    std::string bytes = ReadFile(idx1);
    format::SegmentSummary s;
    std::string entries;
    Status st = format::DecodeIndex(bytes, idx1, &s, &entries);
    if (!st.ok()) return Fail(st.ToString());
    if (entries.size() < 2 * format::kIndexEntrySize)
      return Fail(idx1 + " has fewer than 2 entries");
    if (shape == "index-crc") {
      if (!FlipByte(idx1, format::kIndexHeaderSize + format::kIndexEntrySize + 4))
        return Fail("cannot flip " + idx1);
      return 0;
    }
    std::vector<format::IndexEntry> e(entries.size() / format::kIndexEntrySize);
    std::memcpy(e.data(), entries.data(), entries.size());
    e[1].pos += 8;  // inside the frame it named
    std::string out = format::EncodeIndex(s, e.data(), e.size());
    return io::WriteFileAtomic(*io::DefaultFileSystem(), idx1, out).ok()
               ? 0
               : Fail("cannot write " + idx1);
  }
  if (shape == "gap") {
    if (::unlink((dir + "/" + format::SegmentFileName(2)).c_str()) != 0 ||
        ::unlink((dir + "/" + format::IndexFileName(2)).c_str()) != 0)
      return Fail("cannot delete segment 2 (does the log have 3 segments?)");
    return 0;
  }
  if (shape == "meta-crc")
    return FlipByte(dir + "/log.meta", 17) ? 0 : Fail("cannot flip log.meta");
  return Fail("unknown damage shape: " + shape);
}

}  // namespace
}  // namespace shoal

int main(int argc, char** argv) {
  std::vector<std::string> a(argv + 1, argv + argc);
  if (a.size() >= 2 && a[0] == "log") {
    shoal::LogSpec spec;
    for (size_t i = 2; i < a.size(); ++i) {
      if (a[i] == "--direct")
        spec.direct = true;
      else if (a[i] == "--seal")
        spec.seal = true;
      else if (a[i] == "--crash")
        spec.crash = true;
      else if (a[i] == "--trim" && i + 1 < a.size())
        spec.trim = std::stoull(a[++i]);
      else
        spec.records = std::stoi(a[i]);
    }
    return shoal::WriteLog(a[1], spec);
  }
  if (a.size() == 2 && a[0] == "tiny") return shoal::WriteTiny(a[1]);
  if (a.size() == 3 && a[0] == "damage") return shoal::Damage(a[1], a[2]);
  std::fputs(
      "usage: shoal-dump-testgen log DIR [RECORDS] [--direct] [--trim N] [--seal] [--crash]\n"
      "     | tiny DIR | damage SHAPE DIR\n",
      stderr);
  return 2;
}
