// Dumps a shard log directory: log.meta, every segment in ordinal order with its index
// (and CLEAN), then a "log" report on how the files fit together, judged the way
// ShardLog::Open (kernel/shard_log_recovery.cc) will see them.
#include <fmt/format.h>

#include <map>

#include "tools/dump/checks.h"

namespace shoal::dump {
namespace {

using namespace shoal::format;  // NOLINT: the format's names are the vocabulary here

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// A small file decoded without reporting (to choose roles before the reports start).
bool QuietDecodeIndex(io::FileSystem& fs, const std::string& path, SegmentSummary* s) {
  auto bytes = io::ReadWholeFile(fs, path);
  std::string entries;
  return bytes.ok() && DecodeIndex(*bytes, path, s, &entries).ok();
}

// True if the segment holds at least one frame (its first frame length is not zero).
bool HasData(io::FileSystem& fs, const std::string& path) {
  auto fd = fs.Open(path, {});
  if (!fd.ok()) return false;
  uint8_t len[4] = {};
  auto got = fs.Pread(fd->get(), len, sizeof len, kSegmentHeaderSize);
  return got.ok() && *got == sizeof len && Load32(len) != 0;
}

// One segment as the log will see it.
struct SegView {
  uint64_t ordinal = 0;
  std::string name;
  SegmentRole role = SegmentRole::kUnknown;
  SegmentFacts facts;
  bool trusted = false;    // an index (.idx or CLEAN) that Open will use describes it
  bool by_clean = false;   // that index is CLEAN
  SegmentSummary summary;  // that index's summary
  bool has_data() const {
    return trusted ? summary.next_offset > summary.base_offset : facts.valid_frames > 0;
  }
  uint64_t base() const { return trusted ? summary.base_offset : facts.base_offset; }
  uint64_t next() const { return trusted ? summary.next_offset : facts.next_offset; }
  // The first record's, from the frames when they could be read (an index may hold a lower
  // bound: see the note in index_check.cc).
  int64_t first_ts() const {
    return facts.valid_frames > 0 || !trusted ? facts.first_ts : summary.first_ts;
  }
  int64_t last_ts() const { return trusted ? summary.last_ts : facts.last_ts; }
};

}  // namespace

void CheckLogDir(io::FileSystem& fs, const std::string& dir, const DumpOptions& opt, Sink& sink) {
  const int problems_before = sink.total_problems();
  auto listed = fs.ListDir(dir);
  if (!listed.ok()) {
    sink.BeginFile("log", dir);
    sink.Problem(fmt::format("cannot list the directory: {}", listed.status().message()));
    sink.EndFile();
    return;
  }
  std::map<uint64_t, std::string> segs, idxs;
  bool have_meta = false, have_clean = false;
  std::vector<std::string> later_notes;  // for the "log" report
  for (const std::string& n : *listed) {
    uint64_t ord;
    if (ParseSegmentFileName(n, &ord)) {
      segs[ord] = n;
    } else if (ParseIndexFileName(n, &ord)) {
      idxs[ord] = n;
    } else if (n == "log.meta") {
      have_meta = true;
    } else if (n == "CLEAN") {
      have_clean = true;
    } else if (EndsWith(n, ".tmp")) {
      later_notes.push_back(
          fmt::format("{} is left over from an interrupted atomic write or segment "
                      "creation; ShardLog::Open deletes it",
                      n));
    } else {
      later_notes.push_back(
          fmt::format("{} is not part of a shard log; ShardLog::Open ignores it", n));
    }
  }
  const std::string meta_path = dir + "/log.meta";
  const std::string clean_path = dir + "/CLEAN";

  // --- log.meta ---
  std::optional<LogMeta> meta;
  if (have_meta) meta = CheckMeta(fs, meta_path, sink);

  // --- roles: which segments Open trusts an index for, and which it scans ---
  SegmentSummary clean;
  const bool clean_ok = have_clean && QuietDecodeIndex(fs, clean_path, &clean);
  uint64_t clean_ord = UINT64_MAX;  // the segment CLEAN describes (the newest match)
  if (clean_ok)
    for (const auto& [ord, name] : segs)
      if (static_cast<uint32_t>(ord) == clean.ordinal) clean_ord = ord;
  std::vector<SegView> views;
  for (const auto& [ord, name] : segs) {
    SegView v;
    v.ordinal = ord;
    v.name = name;
    auto idx = idxs.find(ord);
    if (idx != idxs.end()) {
      SegmentSummary s;
      auto fd = fs.Open(dir + "/" + name, {});
      auto size = fd.ok() ? fs.FileSize(fd->get()) : Result<uint64_t>(fd.status());
      if (QuietDecodeIndex(fs, dir + "/" + idx->second, &s) &&
          s.ordinal == static_cast<uint32_t>(ord) && size.ok() && s.end_pos <= *size) {
        v.trusted = true;
        v.summary = s;
      }
    } else if (ord == clean_ord) {
      v.trusted = true;
      v.by_clean = true;
      v.summary = clean;
    }
    views.push_back(std::move(v));
  }
  bool later_data = false;  // some segment after views[i] holds data
  for (size_t i = views.size(); i-- > 0;) {
    SegView& v = views[i];
    if (v.trusted)
      v.role = SegmentRole::kIndexed;
    else
      v.role = later_data ? SegmentRole::kScannedMiddle : SegmentRole::kScannedLast;
    later_data = later_data || HasData(fs, dir + "/" + v.name);
  }

  // --- each segment, its index, and CLEAN after the segment it describes ---
  for (SegView& v : views) {
    const std::string path = dir + "/" + v.name;
    SegmentContext ctx{v.role, v.trusted ? v.summary.end_pos : 0, v.by_clean};
    v.facts = CheckSegment(fs, path, ctx, opt, sink);
    auto idx = idxs.find(v.ordinal);
    if (idx != idxs.end())
      CheckIndex(fs, dir + "/" + idx->second, false, &v.facts, path, opt, sink);
    if (v.ordinal == clean_ord) CheckIndex(fs, clean_path, true, &v.facts, path, opt, sink);
  }
  const uint64_t max_ord = segs.empty() ? 0 : segs.rbegin()->first;
  std::vector<std::pair<std::string, bool>> orphans;  // (message, is a problem)
  for (const auto& [ord, name] : idxs) {
    if (segs.count(ord)) continue;
    CheckIndex(fs, dir + "/" + name, false, nullptr, {}, opt, sink);
    SegmentSummary orphan;
    if (ord > max_ord && QuietDecodeIndex(fs, dir + "/" + name, &orphan) &&
        orphan.ordinal == static_cast<uint32_t>(ord))
      orphans.emplace_back(
          fmt::format("{} has no segment and its number is above every segment's: ShardLog will "
                      "create a segment with that number, and a crash before that segment is "
                      "sealed would make Open trust this stale index for it. Delete {}",
                      name, name),
          true);
    else
      orphans.emplace_back(
          fmt::format("{} has no segment (left over from a deleted one; Open ignores "
                      "it). Delete it",
                      name),
          false);
  }
  if (have_clean && clean_ord == UINT64_MAX) {
    CheckIndex(fs, clean_path, true, nullptr, {}, opt, sink);
    if (clean_ok)
      orphans.emplace_back(
          fmt::format("CLEAN describes segment {}, which is not here: ShardLog::Open "
                      "ignores it and scans the last segment",
                      clean.ordinal),
          false);
  }

  // --- how it all fits together ---
  sink.BeginFile("log", dir);
  sink.Section("files", {{"segments", U(segs.size())},
                         {"indexes", U(idxs.size())},
                         {"meta", B(have_meta)},
                         {"clean", B(have_clean)}});
  for (const std::string& n : later_notes) sink.Note(n);
  for (const auto& [msg, problem] : orphans) {
    if (problem)
      sink.Problem(msg);
    else
      sink.Note(msg);
  }
  const uint64_t start = meta ? meta->start_offset : 0;
  if (!have_meta)
    sink.Note(segs.empty() ? "no log.meta: ShardLog::Open creates one (start offset 0)"
                           : "no log.meta: ShardLog::Open writes one with start offset 0; if this "
                             "log was ever trimmed, the trim point is lost");
  if (segs.empty()) sink.Note("no segments: ShardLog::Open creates segment 1");

  // Continuity: each segment with data starts where the previous one ended.
  const SegView* last_with_data = nullptr;
  for (const SegView& v : views)
    if (v.facts.readable && v.facts.header_ok && v.has_data()) last_with_data = &v;
  const SegView* prev = nullptr;
  const SegView* first_kept = nullptr;
  const SegView* last_data = nullptr;
  uint64_t records = 0;
  for (const SegView& v : views) {
    if (!v.facts.readable || !v.facts.header_ok) continue;  // reported with the segment
    if (!v.has_data()) continue;
    if (prev != nullptr && v.base() != prev->next()) {
      const bool gap = v.base() > prev->next();
      const std::string what =
          gap ? fmt::format("records {}..{} are missing", prev->next(), v.base() - 1)
              : fmt::format("offsets {}..{} appear twice", v.base(), prev->next() - 1);
      const std::string open_does =
          v.trusted ? "ShardLog::Open fails with kCorruption (a sealed segment does not follow its "
                      "predecessor)"
                    : fmt::format(
                          "ShardLog::Open scans {}, finds its first frame out of place, "
                          "truncates it to nothing and deletes every later segment",
                          v.name);
      sink.Problem(fmt::format(
          "{} starts at offset {} but {} ends at {}: {}. {}. Restore the missing records' segment "
          "from a replica or backup; failing that, to open the rest, move aside either the "
          "segments up to {} (then set log.meta's start offset to {}) or those from {} on",
          v.name, v.base(), prev->name, prev->next(), what, open_does, prev->name, v.base(),
          v.name));
    }
    if (prev != nullptr && v.first_ts() < prev->last_ts())
      sink.Problem(
          fmt::format("{} starts at {}, before the last record of {} ({}): timestamps must "
                      "not decrease within a shard (time lookups would go wrong)",
                      v.name, TimeText(v.first_ts()), prev->name, TimeText(prev->last_ts())));
    if (v.next() <= start && &v != last_with_data) {
      sink.Note(
          fmt::format("{} (offsets {}..{}) lies wholly below the log start {}: it was trimmed "
                      "and ShardLog::Open deletes it",
                      v.name, v.base(), v.next() - 1, start));
    } else {
      if (first_kept == nullptr) first_kept = &v;
      records += v.next() - v.base();
    }
    prev = &v;
    last_data = &v;
  }
  // Empty segments: the spare after the data is expected; others are odd but harmless.
  bool data_follows = false;
  for (size_t i = views.size(); i-- > 0;) {
    const SegView& v = views[i];
    if (!v.facts.readable || !v.facts.header_ok) continue;
    if (v.has_data()) {
      data_follows = true;
      continue;
    }
    if (!v.facts.damaged)
      sink.Note(
          data_follows
              ? fmt::format("{} is empty but later segments hold data (harmless)", v.name)
              : fmt::format("{} is empty: a preallocated segment waiting to be used (Open keeps "
                            "the first empty one after the data as the next segment and "
                            "deletes the rest)",
                            v.name));
  }

  const uint64_t end = last_data ? last_data->next() : start;
  if (first_kept != nullptr && first_kept->base() > start)
    sink.Problem(fmt::format(
        "log.meta says the log starts at offset {} but the first segment, {}, starts at {}: "
        "records {}..{} are missing. Restore the missing segments, or raise the start offset "
        "in log.meta to {}",
        start, first_kept->name, first_kept->base(), start, first_kept->base() - 1,
        first_kept->base()));
  if (start > end && last_data != nullptr)
    sink.Note(
        fmt::format("the start offset {} is past the end of the data ({}): the tail below the "
                    "trim point was lost in a crash; ShardLog::Open moves the start back to {}",
                    start, end, end));
  if (meta && meta->sealed) {
    if (meta->sealed_next_offset != end)
      sink.Problem(
          fmt::format("log.meta says the log was sealed at offset {} but its data ends at {}: "
                      "records sealed into the log are missing or extra",
                      meta->sealed_next_offset, end));
    if (!views.empty() && views.back().has_data() && !views.back().trusted)
      sink.Note(
          fmt::format("the log is sealed but its last segment {} has no index; ShardLog::Open "
                      "rebuilds it",
                      views.back().name));
  }
  sink.Section(
      "summary",
      {{"start_offset", U(start)},
       {"end_offset", U(end)},
       {"records_on_disk", U(records)},
       {"first_ts", T(first_kept ? first_kept->first_ts() : 0)},
       {"last_ts", T(last_data ? last_data->last_ts() : 0)},
       {"sealed", B(meta && meta->sealed)},
       {"problems_in_files",
        U(static_cast<uint64_t>(sink.total_problems() - problems_before - sink.file_problems()))}});
  sink.EndFile();
}

}  // namespace shoal::dump
