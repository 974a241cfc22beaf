// shoal-dump: prints and verifies the files of a Shoal shard log, like Kafka's
// DumpLogSegments. Read-only; safe to run on the files of a live log (it may then report
// the active segment's tail as it was at that instant).
//
//   shoal-dump [--records] [--data] [--json] PATH...
//
// PATH is a segment (*.seg), an index (*.idx), log.meta, a CLEAN marker, or a shard log
// directory (all of those, in order, plus how they fit together). Files with other names
// are recognised by their magic number.
//
// Exit status: 0 everything verified; 1 some file is damaged or inconsistent (or could not
// be read); 2 usage error (bad option, no PATH, a PATH that does not exist or is not a
// Shoal file) and nothing damaged was found.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "kernel/format.h"
#include "tools/dump/checks.h"
#include "tools/dump/sink.h"

namespace shoal::dump {
namespace {

enum class Kind { kDir, kSegment, kIndex, kMeta, kClean, kUnknown };

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// What a file is: by name first (an interrupted atomic write leaves NAME.tmp), then by
// its magic number.
Kind Classify(io::FileSystem& fs, const std::string& path) {
  std::string name = BaseName(path);
  if (EndsWith(name, ".tmp")) name.resize(name.size() - 4);
  if (EndsWith(name, ".seg")) return Kind::kSegment;
  if (EndsWith(name, ".idx")) return Kind::kIndex;
  if (name == "log.meta") return Kind::kMeta;
  if (name == "CLEAN") return Kind::kClean;
  auto fd = fs.Open(path, {});
  if (!fd.ok()) return Kind::kUnknown;
  uint8_t magic[8] = {};
  auto got = fs.Pread(fd->get(), magic, sizeof magic, 0);
  if (!got.ok() || *got != sizeof magic) return Kind::kUnknown;
  switch (format::Load64(magic)) {
    case format::kSegmentMagic:
      return Kind::kSegment;
    case format::kIndexMagic:
      return Kind::kIndex;
    case format::kMetaMagic:
      return Kind::kMeta;
    default:
      return Kind::kUnknown;
  }
}

// True if `dir` holds any file of a shard log.
bool LooksLikeLogDir(io::FileSystem& fs, const std::string& dir) {
  auto names = fs.ListDir(dir);
  if (!names.ok()) return true;  // let CheckLogDir report the error
  for (const std::string& n : *names) {
    uint64_t ord;
    if (n == "log.meta" || n == "CLEAN" || format::ParseSegmentFileName(n, &ord) ||
        ParseIndexFileName(n, &ord))
      return true;
  }
  return false;
}

// The end of the data recorded by an index file, if it decodes and describes `ordinal`.
std::optional<uint64_t> IndexedEnd(io::FileSystem& fs, const std::string& path, uint64_t ordinal) {
  auto bytes = io::ReadWholeFile(fs, path);
  format::SegmentSummary s;
  std::string entries;
  if (!bytes.ok() || !format::DecodeIndex(*bytes, path, &s, &entries).ok() ||
      s.ordinal != static_cast<uint32_t>(ordinal))
    return std::nullopt;
  return s.end_pos;
}

void DumpSegment(io::FileSystem& fs, const std::string& path, const DumpOptions& opt, Sink& sink) {
  // ShardLog::Open trusts an index beside the segment (or CLEAN naming it): the advice for
  // damage depends on it, as in a directory dump.
  const std::string dir = io::DirName(path);
  const std::string base = BaseName(path);
  SegmentContext ctx;
  uint64_t ord;
  if (format::ParseSegmentFileName(base, &ord)) {
    const std::string idx = dir + "/" + format::IndexFileName(ord);
    if (fs.Exists(idx)) {
      if (auto end = IndexedEnd(fs, idx, ord)) ctx = {SegmentRole::kIndexed, *end, false};
    } else if (fs.Exists(dir + "/CLEAN")) {
      if (auto end = IndexedEnd(fs, dir + "/CLEAN", ord)) ctx = {SegmentRole::kIndexed, *end, true};
    }
  }
  CheckSegment(fs, path, ctx, opt, sink);
}

void DumpIndex(io::FileSystem& fs, const std::string& path, bool clean, const DumpOptions& opt,
               Sink& sink) {
  uint32_t ordinal = 0;
  auto bytes = io::ReadWholeFile(fs, path);
  if (bytes.ok() && bytes->size() >= format::kIndexHeaderSize)
    ordinal = format::Load32(reinterpret_cast<const uint8_t*>(bytes->data()) + format::kIdxOrdinal);
  const std::string seg = FindSegmentFor(fs, io::DirName(path), ordinal, path, clean);
  if (seg.empty()) {
    CheckIndex(fs, path, clean, nullptr, {}, opt, sink);
    return;
  }
  // Walk the segment without printing it, for the cross-check.
  auto quiet = NewNullSink();
  SegmentFacts facts = CheckSegment(fs, seg, SegmentContext{}, DumpOptions{}, *quiet);
  CheckIndex(fs, path, clean, &facts, seg, opt, sink);
}

std::string TrimSlashes(std::string p) {
  while (p.size() > 1 && p.back() == '/') p.pop_back();
  return p;
}

int Run(const std::vector<std::string>& paths, const DumpOptions& opt, bool json) {
  auto fs = io::DefaultFileSystem();
  auto sink = json ? NewJsonSink(stdout) : NewTextSink(stdout);
  bool usage_error = false;
  for (const std::string& arg : paths) {
    const std::string path = TrimSlashes(arg);
    std::error_code ec;
    const auto status = std::filesystem::status(path, ec);
    if (ec || !std::filesystem::exists(status)) {
      std::fflush(stdout);
      fmt::print(stderr, "shoal-dump: {}: no such file or directory\n", arg);
      usage_error = true;
      continue;
    }
    if (std::filesystem::is_directory(status)) {
      if (!LooksLikeLogDir(*fs, path)) {
        std::fflush(stdout);
        fmt::print(stderr,
                   "shoal-dump: {}: holds no shard log files (log.meta, *.seg, *.idx, CLEAN); pass "
                   "a shard log directory or one of its files\n",
                   arg);
        usage_error = true;
        continue;
      }
      CheckLogDir(*fs, path, opt, *sink);
      continue;
    }
    switch (Classify(*fs, path)) {
      case Kind::kSegment:
        DumpSegment(*fs, path, opt, *sink);
        break;
      case Kind::kIndex:
        DumpIndex(*fs, path, false, opt, *sink);
        break;
      case Kind::kClean:
        DumpIndex(*fs, path, true, opt, *sink);
        break;
      case Kind::kMeta:
        CheckMeta(*fs, path, *sink);
        break;
      case Kind::kDir:
      case Kind::kUnknown:
        std::fflush(stdout);
        fmt::print(stderr,
                   "shoal-dump: {}: not a Shoal file (expected *.seg, *.idx, log.meta, CLEAN or a "
                   "shard log directory, or a file starting with a Shoal magic number)\n",
                   arg);
        usage_error = true;
        break;
    }
  }
  std::fflush(stdout);
  if (sink->total_problems() > 0) {
    if (!json)
      fmt::print(stderr, "shoal-dump: {} problem{} found (lines marked ! above)\n",
                 sink->total_problems(), sink->total_problems() == 1 ? "" : "s");
    return 1;
  }
  return usage_error ? 2 : 0;
}

}  // namespace
}  // namespace shoal::dump

int main(int argc, char** argv) {
  CLI::App app{
      "Prints and verifies the files of a Shoal shard log: segments (*.seg), indexes (*.idx), "
      "log.meta, CLEAN, or a whole shard log directory (then also how the files fit together)."};
  app.name("shoal-dump");
  shoal::dump::DumpOptions opt;
  bool json = false;
  std::vector<std::string> paths;
  app.add_flag("--records", opt.records,
               "List every record of each frame (offset, timestamp, key, data length) and every "
               "index entry");
  app.add_flag("--data", opt.data,
               fmt::format("With each record, show its first {} data bytes (implies --records)",
                           shoal::dump::kDataPreviewBytes));
  app.add_flag("--json", json, "Print one JSON object per file, one per line, instead of text");
  app.add_option("PATH", paths, "Segment, index, log.meta or CLEAN file, or shard log directory")
      ->required();
  app.footer(
      "Exit status: 0 everything verified; 1 damage or an inconsistency was found (each is a line\n"
      "marked ! in text, or an entry of \"problems\" in JSON); 2 usage error.");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);  // prints help, or the error and a hint
    return rc == 0 ? 0 : 2;
  }
  if (opt.data) opt.records = true;
  return shoal::dump::Run(paths, opt, json);
}
