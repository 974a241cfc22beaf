// Fuzzes shard log recovery: ShardLog::Open on a directory of arbitrary files (segments,
// indexes, log.meta, CLEAN, leftovers; see support/file_bundle.h), which runs the segment
// header checks, the frame scanner, index and CLEAN decoding and every reconciliation rule
// of kernel/shard_log_recovery.cc, then uses the log the way the engine does.
//
// Input: byte 0 = options (support/log_fuzz_options.h; bit 3: trim half the log after
// opening), the rest a FileBundle.
//
// Properties, beyond "no crash, no sanitizer report, no hang":
//   * Open either succeeds or reports kCorruption (the files are not a log it can trust);
//   * reads return consecutive offsets from where they start, or kCorruption;
//   * timestamp lookups land inside [start, end];
//   * an append to a log that opened succeeds at end_offset() and reads back as written;
//   * a log Shoal opened and closed itself reopens, with the same start and end.
#include <sys/stat.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kernel/log_writer.h"
#include "kernel/shard_log.h"
#include "tests/fuzz/support/check.h"
#include "tests/fuzz/support/file_bundle.h"
#include "tests/fuzz/support/log_fuzz_options.h"
#include "tests/fuzz/support/scratch_dir.h"

namespace {

using namespace shoal;

std::shared_ptr<LogWriter> Writer() {
  static std::shared_ptr<LogWriter> w = [] {
    auto r = LogWriter::Create();
    FUZZ_CHECK(r.ok(), "LogWriter::Create: {}", r.status().ToString());
    return *r;
  }();
  return w;
}

// Reads [start, end) in batches. Returns the offsets read or stops at kCorruption.
uint64_t ReadAll(const ShardLog& log, uint64_t* readable_end) {
  const uint64_t end = log.end_offset();
  uint64_t off = log.start_offset();
  ReadBatch b;
  while (off < end) {
    Status st = log.Read(off, 64, 16 << 10, &b);
    if (!st.ok()) {
      FUZZ_CHECK(st.code() == Code::kCorruption, "Read({}) of [{}, {}): {}", off, log.start_offset(), end,
                 st.ToString());
      break;
    }
    FUZZ_CHECK(!b.records.empty(), "Read({}) returned nothing below the end {}", off, end);
    for (const RecordView& r : b.records) {
      FUZZ_CHECK(r.offset == off, "Read returned offset {} where {} was next", r.offset, off);
      ++off;
    }
    FUZZ_CHECK(b.next_offset == off, "next_offset {} after reading up to {}", b.next_offset, off);
  }
  *readable_end = off;
  return off;
}

void CheckLookups(const ShardLog& log) {
  const uint64_t start = log.start_offset(), end = log.end_offset();
  for (int64_t ts : {INT64_MIN, int64_t{0}, log.last_timestamp(), INT64_MAX}) {
    auto r = log.OffsetForTimestamp(ts);
    if (!r.ok()) {
      FUZZ_CHECK(r.status().code() == Code::kCorruption, "OffsetForTimestamp({}): {}", ts, r.status().ToString());
      continue;
    }
    FUZZ_CHECK(*r >= start && *r <= end, "OffsetForTimestamp({}) = {} outside [{}, {}]", ts, *r, start, end);
  }
  if (start < end) {
    auto ts = log.TimestampOf(start);
    if (!ts.ok())
      FUZZ_CHECK(ts.status().code() == Code::kCorruption, "TimestampOf({}): {}", start, ts.status().ToString());
  }
}

void Exercise(const std::string& dir, const LogOptions& options, bool trim) {
  auto opened = ShardLog::Open(dir, options, Writer());
  if (!opened.ok()) {
    FUZZ_CHECK(opened.status().code() == Code::kCorruption, "Open: {}", opened.status().ToString());
    return;
  }
  std::unique_ptr<ShardLog> log = std::move(opened).value();
  FUZZ_CHECK(log->start_offset() <= log->end_offset(), "start {} above end {}", log->start_offset(),
             log->end_offset());
  uint64_t readable_end = 0;
  ReadAll(*log, &readable_end);
  CheckLookups(*log);
  if (trim) {
    const uint64_t start = log->start_offset();
    Status st = log->TrimBefore(start + (log->end_offset() - start) / 2);
    FUZZ_CHECK(st.ok(), "TrimBefore: {}", st.ToString());
  }

  // Appends go on at the end and read back as written.
  if (!log->sealed()) {
    const uint64_t end = log->end_offset();
    const std::string data(100, 'd');
    const RecordIn recs[] = {{"k1", data, 1}, {"k2", "", 2}, {"k3", "x", 3}};
    AppendResult a = log->AppendSync(recs);
    FUZZ_CHECK(a.status.ok(), "append at {}: {}", end, a.status.ToString());
    FUZZ_CHECK(a.first_offset == end && a.count == 3, "appended at {} x{} to a log ending at {}", a.first_offset,
               a.count, end);
    ReadBatch b;
    Status st = log->Read(end, 10, 1 << 20, &b);
    FUZZ_CHECK(st.ok(), "reading the appended records: {}", st.ToString());
    FUZZ_CHECK(b.records.size() == 3 && b.records[0].data == data && b.records[1].key == "k2" &&
                   b.records[2].data == "x",
               "appended records read back as {} records", b.records.size());
  }
  const uint64_t start = log->start_offset(), end = log->end_offset();
  Status st = log->Close();
  FUZZ_CHECK(st.ok(), "Close: {}", st.ToString());
  log.reset();

  auto again = ShardLog::Open(dir, options, Writer());
  FUZZ_CHECK(again.ok(), "a log Shoal closed does not reopen: {}", again.status().ToString());
  FUZZ_CHECK((*again)->start_offset() == start && (*again)->end_offset() == end,
             "reopened as [{}, {}), closed as [{}, {})", (*again)->start_offset(), (*again)->end_offset(), start, end);
  st = (*again)->Close();
  FUZZ_CHECK(st.ok(), "second Close: {}", st.ToString());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t opts = data[0];
  std::vector<fuzz::BundleFile> files =
      fuzz::DecodeBundle(std::string_view(reinterpret_cast<const char*>(data + 1), size - 1));
  fuzz::ScratchDir scratch;
  const std::string dir = scratch.Sub("log");
  FUZZ_CHECK(::mkdir(dir.c_str(), 0755) == 0, "mkdir {}", dir);
  fuzz::WriteBundle(files, dir);
  Exercise(dir, fuzz::LogFuzzOptions(opts), opts & 8);
  // Seals the log scheduled on the writer's background thread must finish before the
  // directory goes.
  Writer()->DrainBackground();
  return 0;
}
