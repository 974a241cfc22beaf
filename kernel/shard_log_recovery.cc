// ShardLog::Open's recovery: reconcile the directory, trust sealed indexes and the
// CLEAN marker, scan only what has neither, truncate a torn tail.
#include <algorithm>

#include <fmt/format.h>

#include "kernel/log_writer.h"
#include "kernel/segment_files.h"
#include "kernel/shard_log.h"
#include "kernel/shard_log_internal.h"

namespace shoal {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

Status ShardLog::Recover() {
  SHOAL_RETURN_IF_ERROR(fs_->MakeDir(dir_));
  SHOAL_ASSIGN_OR_RETURN(std::vector<std::string> names, fs_->ListDir(dir_));
  std::vector<uint64_t> ordinals;
  std::vector<uint64_t> index_ordinals;
  bool have_meta = false;
  for (const std::string& n : names) {
    uint64_t ord;
    if (EndsWith(n, ".tmp")) {
      // An interrupted atomic write or segment creation: never referenced.
      SHOAL_RETURN_IF_ERROR(fs_->Unlink(dir_ + "/" + n));
    } else if (format::ParseSegmentFileName(n, &ord)) {
      ordinals.push_back(ord);
    } else if (format::ParseIndexFileName(n, &ord)) {
      index_ordinals.push_back(ord);
    } else if (n == "log.meta") {
      have_meta = true;
    }
  }
  std::sort(ordinals.begin(), ordinals.end());
  // An index whose segment is gone (unlinks interrupted, or files moved by hand) describes
  // nothing, and a segment created later with its ordinal would adopt it and read records
  // that were never written into it (found by shard_log_recovery_fuzz). Derived data: drop.
  for (uint64_t ord : index_ordinals)
    if (!std::binary_search(ordinals.begin(), ordinals.end(), ord))
      SHOAL_RETURN_IF_ERROR(fs_->Unlink(dir_ + "/" + format::IndexFileName(ord)));
  if (have_meta) {
    SHOAL_ASSIGN_OR_RETURN(std::string bytes, io::ReadWholeFile(*fs_, dir_ + "/log.meta"));
    SHOAL_ASSIGN_OR_RETURN(meta_, format::DecodeMeta(bytes, dir_ + "/log.meta"));
  } else if (!ordinals.empty()) {
    // Segments without their log.meta: the start offset (trimmed records must never come
    // back) and the sealed flag are unknown. Guessing 0 / unsealed would resurrect data.
    return Status::Make(Code::kCorruption,
                        "{}/log.meta is missing but segment files exist; restore it (or move "
                        "the directory away) before opening the log", dir_);
  } else {
    meta_ = format::LogMeta{};
    SHOAL_RETURN_IF_ERROR(PersistMeta());
  }
  sealed_ = meta_.sealed;
  start_offset_.store(meta_.start_offset, std::memory_order_release);

  if (ordinals.empty()) {
    if (!sealed_) {
      SHOAL_ASSIGN_OR_RETURN(SegmentPtr seg, CreateSegmentFile(*fs_, Spec(1, options_.segment_bytes)));
      seg->Activate(meta_.start_offset, 0);
      segments_.push_back(seg);
      active_ = seg;
      next_ordinal_ = 2;
    }
    next_offset_ = meta_.start_offset;
  } else {
    SHOAL_RETURN_IF_ERROR(RecoverSegments(ordinals));
  }
  visible_next_.store(next_offset_, std::memory_order_release);
  durable_next_.store(next_offset_, std::memory_order_release);
  visible_last_ts_.store(last_ts_, std::memory_order_release);
  // The CLEAN marker describes the state before this open; once appends may change the
  // active segment it would lie, so it goes before the first write.
  const std::string clean = dir_ + "/CLEAN";
  if (fs_->Exists(clean)) {
    SHOAL_RETURN_IF_ERROR(fs_->Unlink(clean));
    SHOAL_RETURN_IF_ERROR(fs_->SyncDir(dir_));
  }
  return Status::Ok();
}

Status ShardLog::RecoverSegments(const std::vector<uint64_t>& ordinals) {
  const bool direct = options_.write_mode == WriteMode::kDirect;
  const uint32_t interval = options_.index_interval_bytes;
  // The CLEAN marker, if any and intact, describes the active segment.
  format::SegmentSummary clean;
  std::string clean_entries;
  bool have_clean = false;
  if (fs_->Exists(dir_ + "/CLEAN")) {
    auto bytes = io::ReadWholeFile(*fs_, dir_ + "/CLEAN");
    have_clean = bytes.ok() && format::DecodeIndex(*bytes, "CLEAN", &clean, &clean_entries).ok();
  }
  std::vector<SegmentPtr> segs;
  std::vector<SegmentPtr> to_seal;  // complete segments that lack their .idx
  std::vector<uint64_t> dropped;    // ordinals that follow a torn tail
  uint64_t expected = UINT64_MAX;   // where the next non-empty segment must start
  bool prev_trusted = false;        // the previous segment's end is durable (index/CLEAN)
  std::string prev_path;
  auto drop_from = [&](size_t i, const std::string& why) -> Status {
    // Everything from ordinal index i on follows a torn write and goes — unless a later
    // segment was sealed: then its data was durable, and this is damage, not a torn tail.
    for (size_t j = i; j < ordinals.size(); ++j)
      if (fs_->Exists(dir_ + "/" + format::IndexFileName(ordinals[j])))
        return Status::Make(Code::kCorruption,
                            "{}; but segment {} is sealed, so its records were durable: refusing "
                            "to drop them. Restore the damaged file, or move it and everything "
                            "after it away to keep the records before it",
                            why, format::SegmentFileName(ordinals[j]));
    for (size_t j = i; j < ordinals.size(); ++j) dropped.push_back(ordinals[j]);
    return Status::Ok();
  };
  const bool closed_here = writer_->TakeClosed(dir_);
  for (size_t i = 0; i < ordinals.size(); ++i) {
    const uint64_t ord = ordinals[i];
    SegmentSpec spec = Spec(ord, options_.segment_bytes);
    const std::string idx_path = dir_ + "/" + format::IndexFileName(ord);
    if (!closed_here && !fs_->Exists(idx_path)) {
      // Unsealed: a killed writer's O_DIRECT writes may still be landing in it.
      SHOAL_RETURN_IF_ERROR(fs_->WaitForNoWriters(SegmentPath(dir_, ord), 10000));
    }
    SHOAL_ASSIGN_OR_RETURN(SegmentPtr seg, OpenSegmentFile(*fs_, spec));
    bool trusted = false;
    bool bad_index = false;
    ScanResult scan;
    if (fs_->Exists(idx_path)) {
      SHOAL_ASSIGN_OR_RETURN(std::string bytes, io::ReadWholeFile(*fs_, idx_path));
      format::SegmentSummary s;
      std::string entries;
      Status st = format::DecodeIndex(bytes, idx_path, &s, &entries);
      if (st.ok() && s.ordinal == static_cast<uint32_t>(ord) && s.end_pos <= seg->allocated()) {
        seg->Restore(s, reinterpret_cast<const format::IndexEntry*>(entries.data()),
                     entries.size() / format::kIndexEntrySize);
        seg->sealed.store(true);
        trusted = true;
      } else {
        bad_index = true;  // derived data: rebuild it from the segment below
      }
    } else if (have_clean && clean.ordinal == static_cast<uint32_t>(ord) &&
               clean.end_pos <= seg->allocated()) {
      // CLEAN is removed before the first write after an open, so one that is present
      // describes its segment exactly; continuity with its neighbours is checked below.
      seg->Restore(clean, reinterpret_cast<const format::IndexEntry*>(clean_entries.data()),
                   clean_entries.size() / format::kIndexEntrySize);
      seg->bytes_since_index = interval;
      stats_.recovered_clean = true;
      trusted = true;
    }
    if (!trusted) {
      SHOAL_ASSIGN_OR_RETURN(
          scan, ScanSegmentFile(*fs_, *seg, UINT64_MAX,
                                expected == UINT64_MAX ? meta_.start_offset : expected, interval));
      if (seg->empty() && !scan.torn && i + 1 < ordinals.size()) {
        // An empty segment in front of others (a roll whose unlink never ran, or a spare
        // left behind): it holds nothing and must not decide where the next one starts.
        SHOAL_RETURN_IF_ERROR(fs_->Unlink(seg->path()));
        continue;
      }
      if (scan.torn && bad_index)
        return Status::Make(Code::kCorruption,
                            "{}: sealed segment is damaged at byte {} ({}) and its index is "
                            "unreadable; restore the file or trim the log past it",
                            seg->path(), scan.bad_pos, scan.reason);
      trusted = bad_index && !scan.torn;  // a sealed segment whose data checks out
    }
    // Continuity: each segment starts where the previous one ended. A gap is fine only
    // below the persisted start offset (trimmed records).
    if (!seg->empty()) {
      const uint64_t base = seg->base_offset();
      const uint64_t want = expected == UINT64_MAX ? meta_.start_offset : expected;
      const bool trimmed_gap = base > want && base <= meta_.start_offset;
      if (base != want && !trimmed_gap && !(expected == UINT64_MAX && base < want)) {
        if (expected == UINT64_MAX)
          return Status::Make(Code::kCorruption,
                              "{}: the log's first segment starts at offset {} but its start "
                              "offset is {}; records [{}, {}) are missing (was a segment file "
                              "deleted?)", seg->path(), base, want, want, base);
        if (prev_trusted || trusted)
          return Status::Make(Code::kCorruption,
                              "{}: starts at offset {} but {} ends at {}; records [{}, {}) are "
                              "{} (was a segment file deleted?)",
                              seg->path(), base, prev_path, expected, std::min(base, expected),
                              std::max(base, expected), base > expected ? "missing" : "duplicated");
        // The previous segment lost an unsynced tail (a crash in a non-durable mode): what
        // follows was written after it and goes too.
        SHOAL_RETURN_IF_ERROR(drop_from(i, fmt::format("{}: does not follow {} (offset {} after {})",
                                                       seg->path(), prev_path, base, expected)));
        break;
      }
    }
    if (scan.torn) {
      const std::string why = fmt::format("{}: damaged at byte {} ({})", seg->path(), scan.bad_pos, scan.reason);
      // With kAlways, every write to a segment was fdatasynced before the next one got
      // any byte (ShardLog::TakeGroup holds a roll back while groups are in flight), so
      // a torn segment followed by records is damage, not a torn write: keep everything.
      if (options_.durability == Durability::kAlways)
        for (size_t j = i + 1; j < ordinals.size(); ++j) {
          SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, fs_->Open(SegmentPath(dir_, ordinals[j]), {}));
          uint8_t len[4] = {0, 0, 0, 0};
          SHOAL_ASSIGN_OR_RETURN(size_t got, fs_->Pread(fd.get(), len, sizeof len, format::kSegmentHeaderSize));
          if (got == sizeof len && format::Load32(len) != 0)
            return Status::Make(Code::kCorruption,
                                "{}; but segment {} after it holds records, which were durable: "
                                "refusing to drop them. Restore the damaged file, or move it and "
                                "everything after it away to keep the records before it",
                                why, format::SegmentFileName(ordinals[j]));
        }
      SHOAL_RETURN_IF_ERROR(drop_from(i + 1, why));
      stats_.recovered_truncated_bytes += seg->allocated() - scan.bad_pos;
      segs.push_back(seg);
      break;
    }
    if (bad_index || (!seg->sealed.load() && i + 1 < ordinals.size() && !seg->empty()))
      to_seal.push_back(seg);  // complete, but its index is missing or bad
    if (!seg->empty()) {
      expected = seg->committed_next();
      prev_trusted = trusted;
      prev_path = seg->path();
    }
    segs.push_back(seg);
  }
  if (segs.empty()) {
    // Every segment was dropped: start over in a new one.
    SHOAL_ASSIGN_OR_RETURN(SegmentPtr seg, CreateSegmentFile(*fs_, Spec(ordinals.back() + 1, options_.segment_bytes)));
    seg->Activate(expected == UINT64_MAX ? meta_.start_offset : expected, 0);
    segs.push_back(seg);
  }
  // Index first: a crash between the two unlinks must never leave an index whose
  // ordinal a future segment could reuse.
  for (uint64_t ord : dropped) {
    std::string idx = dir_ + "/" + format::IndexFileName(ord);
    if (fs_->Exists(idx)) SHOAL_RETURN_IF_ERROR(fs_->Unlink(idx));
    SHOAL_RETURN_IF_ERROR(fs_->Unlink(SegmentPath(dir_, ord)));
  }
  next_ordinal_ = std::max(ordinals.back(), segs.back()->ordinal()) + 1;

  // Trailing empty segments: keep the first as the spare, delete the rest, so a reopen
  // does not leave one more segment behind every time (Redpanda #4057).
  size_t last_full = segs.size();
  for (size_t i = segs.size(); i-- > 0;)
    if (!segs[i]->empty()) {
      last_full = i;
      break;
    }
  if (!sealed_ && last_full < segs.size() && segs[last_full]->sealed.load() &&
      last_full + 2 < segs.size()) {
    // The last full segment was sealed: the first empty one after it becomes the active
    // segment; any others go.
    for (size_t i = last_full + 2; i < segs.size(); ++i) SHOAL_RETURN_IF_ERROR(fs_->Unlink(segs[i]->path()));
    segs.resize(last_full + 2);
  }
  if (!sealed_ && last_full < segs.size() && !segs[last_full]->sealed.load() &&
      last_full + 1 < segs.size()) {
    SegmentPtr spare = segs[last_full + 1];
    for (size_t i = last_full + 2; i < segs.size(); ++i)
      SHOAL_RETURN_IF_ERROR(fs_->Unlink(segs[i]->path()));
    segs.resize(last_full + 1);
    std::erase(to_seal, segs.back());
    SHOAL_ASSIGN_OR_RETURN(io::UniqueFd wfd, OpenSegmentWriteFd(*fs_, spare->path(), direct));
    spare->set_write_fd(std::move(wfd));
    std::lock_guard lk(spare_->mu);
    spare_->seg = spare;
  }

  // Apply the persisted logical start: segments wholly below it are gone for good.
  SegmentPtr last = segs.back();
  // The tail may have been lost (a crash in a non-durable mode) below a persisted trim
  // point. The start never moves back: appends resume at it, in a new segment.
  const bool resume_at_start = last->committed_next() < meta_.start_offset;
  size_t drop = 0;
  while (drop + 1 < segs.size() && segs[drop]->committed_next() <= meta_.start_offset) ++drop;
  for (size_t i = 0; i < drop; ++i) {
    std::erase(to_seal, segs[i]);
    if (fs_->Exists(IndexPathFor(*segs[i]))) SHOAL_RETURN_IF_ERROR(fs_->Unlink(IndexPathFor(*segs[i])));
    SHOAL_RETURN_IF_ERROR(fs_->Unlink(segs[i]->path()));
  }
  segs.erase(segs.begin(), segs.begin() + static_cast<ptrdiff_t>(drop));

  next_offset_ = resume_at_start ? meta_.start_offset : last->committed_next();
  for (const SegmentPtr& s : segs)
    if (!s->empty()) last_ts_ = std::max(last_ts_, s->last_ts());
  segments_ = segs;
  active_ = last;
  if (std::find(to_seal.begin(), to_seal.end(), active_) != to_seal.end()) {
    // A Seal() interrupted after writing a (now unreadable) index: never seal the segment
    // appends will go to; roll past it instead (the roll seals it properly).
    std::erase(to_seal, active_);
    if (!sealed_) force_roll_ = true;
  }

  if (!sealed_) {
    if (active_->sealed.load()) {
      // Seal() was interrupted after sealing the active segment: write into a new one.
      force_roll_ = true;
    } else {
      SHOAL_ASSIGN_OR_RETURN(io::UniqueFd wfd, OpenSegmentWriteFd(*fs_, active_->path(), direct));
      if (!stats_.recovered_clean && active_->committed_end() < active_->allocated()) {
        // Zero everything past the last good frame, so no stale bytes from the torn
        // write can ever line up behind frames written from here on.
        SHOAL_RETURN_IF_ERROR(fs_->Truncate(wfd.get(), active_->committed_end()));
        Status prealloc = fs_->Fallocate(wfd.get(), 0, active_->allocated());
        if (prealloc.code() == Code::kNoSpace) {
          // A full disk, often the reason the log stopped. The blocks just given back need
          // not come back: another log's preallocation may take them first, and ext4 reuses
          // freed blocks only after its journal commits. Open anyway, with the file as it is
          // now (ext4 may have kept part of the range): reads need nothing past
          // committed_end, and the first append that needs room grows the file again or
          // fails with kNoSpace. (Found by engine_full_disk_test on ext4.)
          SHOAL_ASSIGN_OR_RETURN(uint64_t size, fs_->FileSize(wfd.get()));
          active_->ResetAllocated(size);
        } else {
          SHOAL_RETURN_IF_ERROR(prealloc);
        }
        SHOAL_RETURN_IF_ERROR(fs_->Fdatasync(wfd.get()));
      }
      active_->set_write_fd(std::move(wfd));
      if (direct && active_->committed_end() % io::kDirectAlign != 0) force_roll_ = true;
      if (resume_at_start && !active_->empty()) force_roll_ = true;
      if (active_->empty() && active_->base_offset() != next_offset_)
        active_->Activate(next_offset_, last_ts_);
    }
  }
  for (const SegmentPtr& s : to_seal) {
    auto fs = fs_;
    auto bg = bg_;
    writer_->Schedule([fs, s, bg] { bg->Report(SealSegmentFiles(*fs, *s)); });
  }
  return Status::Ok();
}

Status ShardLog::WriteClean() {
  return io::WriteFileAtomic(*fs_, dir_ + "/CLEAN", active_->EncodeIndexFile());
}

}  // namespace shoal
