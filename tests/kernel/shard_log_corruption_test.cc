// ShardLog recovery against one corruption shape per test (LevelDB db/log_test.cc style).
//
// Each test builds a real log in a TempDir with 64 KiB segments by appending, then leaves
// it either abandoned (the unique_ptr destroyed without Close(): crash-like, the data is
// in the OS) or closed cleanly, damages files with plain POSIX calls, reopens it and
// checks exactly what the contract in kernel/shard_log.h promises.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "io/crc32c.h"
#include "io/fault_file_system.h"
#include "kernel/format.h"
#include "kernel/log_writer.h"
#include "kernel/shard_log.h"
#include "tests/testlib/log_test_util.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

using testing::DiskFrame;
using testing::FramesOf;
using testing::Rec;

constexpr size_t kPerBatch = 3;
constexpr size_t kDataBytes = 700;

std::string KeyFor(uint64_t offset) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "key-%08llu", static_cast<unsigned long long>(offset));
  return buf;
}
std::string DataFor(uint64_t offset, uint64_t gen = 0) {
  return testing::GenBytes(offset, gen, kDataBytes);
}

class CorruptionTest : public ::testing::TestWithParam<WriteMode> {
 public:  // LinedUpStaleFrame() is a helper shared by two tests
  void SetUp() override {
    auto w = LogWriter::Create();
    ASSERT_TRUE(w.ok()) << w.status();
    writer_ = *w;
    opts_.write_mode = GetParam();
    opts_.segment_bytes = 64 << 10;
    opts_.durability = Durability::kAlways;
    dir_ = tmp_.Sub("log");
  }

  Result<std::unique_ptr<ShardLog>> TryOpen() { return ShardLog::Open(dir_, opts_, writer_); }
  std::unique_ptr<ShardLog> Open() {
    auto r = TryOpen();
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(r).value() : nullptr;
  }

  // Appends one batch of kPerBatch records whose content depends on the offset and `gen`
  // (so rewritten offsets have different bytes); records it in the model.
  void AppendBatch(ShardLog& log, uint64_t gen = 0) {
    const uint64_t base = log.end_offset();
    std::vector<std::string> keys, datas;
    std::vector<RecordIn> in;
    for (size_t i = 0; i < kPerBatch; ++i) {
      keys.push_back(KeyFor(base + i));
      datas.push_back(DataFor(base + i, gen));
    }
    for (size_t i = 0; i < kPerBatch; ++i)
      in.push_back(RecordIn{keys[i], datas[i], static_cast<int64_t>(1000 + base + i)});
    AppendResult r = log.AppendSync(in);
    ASSERT_TRUE(r.status.ok()) << r.status;
    ASSERT_EQ(r.first_offset, base);
    model_.resize(base);
    for (size_t i = 0; i < kPerBatch; ++i)
      model_.push_back(Rec{base + i, static_cast<int64_t>(1000 + base + i), keys[i], datas[i]});
  }

  // Appends until at least `sealed` segments were rolled and the active segment holds
  // `active_frames` frames (one per AppendSync).
  void Build(ShardLog& log, uint64_t sealed = 2, int active_frames = 5) {
    int frames_in_active = 0;
    uint64_t rolls = log.stats().rolls;
    while (true) {
      AppendBatch(log);
      if (::testing::Test::HasFatalFailure()) return;
      if (log.stats().rolls != rolls) {
        rolls = log.stats().rolls;
        frames_in_active = 1;
      } else {
        ++frames_in_active;
      }
      if (rolls >= sealed && frames_in_active >= active_frames) return;
    }
  }

  // The model truncated to `end`.
  void CutModel(uint64_t end) { model_.resize(end); }

  // Everything readable matches the model exactly, and nothing else is readable.
  void Verify(const ShardLog& log) {
    ASSERT_EQ(log.end_offset(), model_.size());
    std::vector<Rec> got = testing::ReadAllFrom(log, log.start_offset());
    ASSERT_EQ(got.size(), model_.size() - log.start_offset());
    for (size_t i = 0; i < got.size(); ++i) {
      const Rec& w = model_[log.start_offset() + i];
      ASSERT_EQ(got[i].offset, w.offset);
      ASSERT_EQ(got[i].ts, w.ts) << "offset " << w.offset;
      ASSERT_EQ(got[i].key, w.key) << "offset " << w.offset;
      ASSERT_TRUE(got[i].data == w.data) << "offset " << w.offset << ": wrong bytes";
    }
    ReadBatch b;
    EXPECT_TRUE(log.Read(log.end_offset(), 10, 1 << 20, &b).ok());
    EXPECT_TRUE(b.records.empty());
    EXPECT_EQ(log.Read(log.end_offset() + 1, 10, 1 << 20, &b).code(), Code::kOutOfRange);
  }

  // After recovery: one more batch gets the next offset, and survives another crash.
  void AppendAndReopen(std::unique_ptr<ShardLog>& log) {
    const uint64_t end = log->end_offset();
    AppendBatch(*log, /*gen=*/7);
    ASSERT_EQ(log->end_offset(), end + kPerBatch);
    ASSERT_NO_FATAL_FAILURE(Verify(*log));
    log.reset();  // crash-like
    log = Open();
    ASSERT_TRUE(log);
    ASSERT_NO_FATAL_FAILURE(Verify(*log));
  }

  std::string Seg(uint64_t ord) const { return testing::SegPath(dir_, ord); }
  std::string Idx(uint64_t ord) const { return testing::IdxPath(dir_, ord); }

  // Ordinal of the last segment holding frames (the active one after a crash).
  uint64_t ActiveOrdinal() const {
    uint64_t last = 0;
    for (uint64_t o : testing::SegmentOrdinals(dir_))
      if (!FramesOf(Seg(o)).empty()) last = o;
    return last;
  }
  // Ordinals that have a sealed index.
  std::vector<uint64_t> SealedOrdinals() const {
    std::vector<uint64_t> out;
    for (uint64_t o : testing::SegmentOrdinals(dir_))
      if (testing::ExistsRaw(Idx(o))) out.push_back(o);
    return out;
  }

  testing::TempDir tmp_;
  std::string dir_;
  std::shared_ptr<LogWriter> writer_;
  LogOptions opts_;
  std::vector<Rec> model_;  // model_[i].offset == i
};

// ---------------------------------------------------------------------------------------
// Torn tail of the active segment

TEST_P(CorruptionTest, TornHeaderOfLastFrame) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();  // crash-like
  const std::string seg = Seg(ActiveOrdinal());
  std::vector<DiskFrame> frames = FramesOf(seg);
  ASSERT_GE(frames.size(), 2u);
  const DiskFrame last = frames.back();
  testing::TruncateRaw(seg, last.pos + 10);  // mid-header
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->stats().recovered_clean);
  EXPECT_GT(log->stats().recovered_truncated_bytes, 0u);
  EXPECT_EQ(log->start_offset(), 0u);
  EXPECT_EQ(log->end_offset(), last.info.base_offset);
  CutModel(last.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, TornHeaderOfOnlyFrame) {
  // The torn frame is the first one of the active segment: the segment becomes empty and
  // the log resumes at the previous segment's end.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 2, 1);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  std::vector<DiskFrame> frames = FramesOf(seg);
  ASSERT_EQ(frames.size(), 1u);
  testing::TruncateRaw(seg, frames[0].pos + 20);
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), frames[0].info.base_offset);
  CutModel(frames[0].info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, ZeroTail) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  std::vector<DiskFrame> frames = FramesOf(seg);
  ASSERT_GE(frames.size(), 3u);
  const DiskFrame cut = frames[frames.size() - 2];
  const uint64_t size = testing::FileSizeRaw(seg);
  testing::PwriteRaw(seg, cut.pos, std::string(size - cut.pos, '\0'));
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), cut.info.base_offset);
  CutModel(cut.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, ZeroedBodyOfLastFrame) {
  // The length survived but the rest of the frame did not reach the disk.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  const DiskFrame last = FramesOf(seg).back();
  testing::PwriteRaw(seg, last.pos + 8, std::string(last.info.len - 8, '\0'));
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), last.info.base_offset);
  CutModel(last.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, CrcMismatchInLastFrameOfActiveSegment) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  const DiskFrame last = FramesOf(seg).back();
  testing::FlipByte(seg, last.pos + format::kFrameHeaderSize + 100);
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_GT(log->stats().recovered_truncated_bytes, 0u);
  EXPECT_EQ(log->end_offset(), last.info.base_offset);
  CutModel(last.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, CrcMismatchInMiddleFrameOfActiveSegmentDropsTheRest) {
  // Frames after a bad one were written later; recovery cannot trust them in order.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 2, 6);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  std::vector<DiskFrame> frames = FramesOf(seg);
  ASSERT_GE(frames.size(), 4u);
  const DiskFrame bad = frames[2];
  testing::FlipByte(seg, bad.pos + 20);  // inside the base offset field
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), bad.info.base_offset);
  CutModel(bad.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, LengthPastEndOfFile) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  const DiskFrame last = FramesOf(seg).back();
  const uint64_t size = testing::FileSizeRaw(seg);
  const uint32_t len = static_cast<uint32_t>(format::AlignUp(size - last.pos + 8, 8));
  testing::PwriteRaw(seg, last.pos, testing::U32Bytes(len));
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), last.info.base_offset);
  CutModel(last.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, LengthPastEndOfWrittenData) {
  // The length points into the zeros after the data (inside the file): CRC mismatch.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  const DiskFrame last = FramesOf(seg).back();
  ASSERT_LT(last.pos + last.info.len + 4096, testing::FileSizeRaw(seg));
  testing::PwriteRaw(seg, last.pos, testing::U32Bytes(last.info.len + 4096));
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), last.info.base_offset);
  CutModel(last.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, HugeLengthField) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  const DiskFrame last = FramesOf(seg).back();
  testing::PwriteRaw(seg, last.pos, testing::U32Bytes(0xfffffff8u));
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), last.info.base_offset);
  CutModel(last.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

// ---------------------------------------------------------------------------------------
// Non-contiguous offsets (frames with a valid CRC whose base offset does not follow)

TEST_P(CorruptionTest, NonContiguousLastFrame) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  const DiskFrame last = FramesOf(seg).back();
  testing::PwriteRaw(seg, last.pos + format::kFrameBaseOffset,
                     testing::U64Bytes(last.info.base_offset + 5));
  testing::RecrcFrame(seg, last.pos);
  ASSERT_EQ(FramesOf(seg).back().info.base_offset, last.info.base_offset + 5);  // valid CRC
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), last.info.base_offset);
  CutModel(last.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, NonContiguousMiddleFrame) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 2, 6);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  std::vector<DiskFrame> frames = FramesOf(seg);
  const DiskFrame bad = frames[3];
  // Backwards this time: a frame repeating earlier offsets.
  testing::PwriteRaw(seg, bad.pos + format::kFrameBaseOffset,
                     testing::U64Bytes(bad.info.base_offset - 1));
  testing::RecrcFrame(seg, bad.pos);
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), bad.info.base_offset);
  CutModel(bad.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, FirstFrameOfActiveSegmentDoesNotFollowPreviousSegment) {
  // A CRC-valid first frame whose base offset skips ahead of the sealed segment before it
  // is not what a torn write leaves. Either outcome keeps the log honest: Open refuses
  // with kCorruption naming the segment, or the frame is dropped like a torn tail.
  // What must not happen: a log that opens with a gap, or with the skipped offsets.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 2, 3);
  log.reset();
  const uint64_t ord = ActiveOrdinal();
  const std::string seg = Seg(ord);
  const DiskFrame first = FramesOf(seg).front();
  testing::PwriteRaw(seg, first.pos + format::kFrameBaseOffset,
                     testing::U64Bytes(first.info.base_offset + 3));
  testing::RecrcFrame(seg, first.pos);
  auto r = TryOpen();
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status();
    EXPECT_NE(r.status().message().find(format::SegmentFileName(ord)), std::string::npos)
        << r.status();
    return;
  }
  log = std::move(r).value();
  EXPECT_EQ(log->end_offset(), first.info.base_offset);
  CutModel(first.info.base_offset);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, NonContiguousFrameInSealedSegmentIsNeverReadAsData) {
  // A sealed segment is trusted through its index, so Open does not look at its frames.
  // A frame in it whose base offset skips ahead (valid CRC) must then fail the read as
  // corruption rather than return records with offsets that do not follow.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  log.reset();
  const uint64_t ord = SealedOrdinals().front();
  std::vector<DiskFrame> frames = FramesOf(Seg(ord));
  ASSERT_GE(frames.size(), 4u);
  const DiskFrame bad = frames[2];
  testing::PwriteRaw(Seg(ord), bad.pos + format::kFrameBaseOffset,
                     testing::U64Bytes(bad.info.base_offset + 1));
  testing::RecrcFrame(Seg(ord), bad.pos);
  log = Open();
  ASSERT_TRUE(log);
  ASSERT_EQ(log->end_offset(), model_.size());
  for (size_t chunk : {size_t{1}, size_t{4}, size_t{1000}}) {
    uint64_t off = 0;
    ReadBatch b;
    while (off < log->end_offset()) {
      Status st = log->Read(off, chunk, 1 << 20, &b);
      if (!st.ok()) {
        EXPECT_EQ(st.code(), Code::kCorruption) << st;
        break;
      }
      ASSERT_FALSE(b.records.empty()) << "no progress at " << off;
      for (const RecordView& r : b.records) {
        ASSERT_EQ(r.offset, off) << "chunk " << chunk << ": non-contiguous offsets returned";
        ASSERT_TRUE(r.data == model_[off].data) << "chunk " << chunk << ": wrong bytes at " << off;
        ++off;
      }
      ASSERT_EQ(b.next_offset, off);
    }
    EXPECT_LT(off, log->end_offset()) << "chunk " << chunk << ": the damage went unnoticed";
  }
}

// ---------------------------------------------------------------------------------------
// Stale bytes after the tail

TEST_P(CorruptionTest, StaleFrameRightAfterTailIsNotResurrected) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  std::vector<DiskFrame> frames = FramesOf(seg);
  const DiskFrame last = frames.back();
  const std::string old = testing::ReadRaw(seg).substr(frames[0].pos, frames[0].info.len);
  testing::PwriteRaw(seg, last.pos + last.info.len, old);  // an earlier frame, copied
  log = Open();
  ASSERT_TRUE(log);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, StaleFrameAfterZerosIsNotResurrected) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  log.reset();
  const std::string seg = Seg(ActiveOrdinal());
  std::vector<DiskFrame> frames = FramesOf(seg);
  const DiskFrame last = frames.back();
  const std::string old = testing::ReadRaw(seg).substr(frames[1].pos, frames[1].info.len);
  testing::PwriteRaw(seg, last.pos + last.info.len + 4096, old);
  log = Open();
  ASSERT_TRUE(log);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

// The sharpest stale-data shape: after a crash (clean zeros, or a torn frame), a stale
// frame sits exactly where the frames appended after recovery will end, and carries the
// offsets that will follow them, with a valid CRC. If recovery did not wipe everything
// past the tail, the next crash-recovery scan would run straight into it and resurrect
// records nobody appended.
void LinedUpStaleFrame(CorruptionTest* t, bool torn);

TEST_P(CorruptionTest, LinedUpStaleFrameAfterCleanTail) { LinedUpStaleFrame(this, false); }
TEST_P(CorruptionTest, LinedUpStaleFrameAfterTornTail) { LinedUpStaleFrame(this, true); }

// ---------------------------------------------------------------------------------------
// Sealed segments: index damage and frame damage

TEST_P(CorruptionTest, GarbageIndexIsRebuilt) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  log.reset();
  std::vector<uint64_t> sealed = SealedOrdinals();
  ASSERT_GE(sealed.size(), 3u);
  testing::WriteRaw(Idx(sealed[0]), testing::GenBytes(1, 2, 200));            // garbage
  testing::WriteRaw(Idx(sealed[1]), testing::ReadRaw(Idx(sealed[1])).substr(0, 70));  // short
  testing::WriteRaw(Idx(sealed[2]), testing::ReadRaw(Idx(sealed[0] + 100)));  // empty file
  log = Open();
  ASSERT_TRUE(log);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  for (int64_t ts : {int64_t{0}, int64_t{1000 + 17}, static_cast<int64_t>(1000 + model_.size() / 2)}) {
    auto o = log->OffsetForTimestamp(ts);
    ASSERT_TRUE(o.ok()) << o.status();
    EXPECT_EQ(*o, static_cast<uint64_t>(std::max<int64_t>(ts - 1000, 0)));
  }
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  // The indexes were rewritten.
  for (uint64_t o : sealed) {
    format::SegmentSummary s;
    std::string e;
    Status st = format::DecodeIndex(testing::ReadRaw(Idx(o)), Idx(o), &s, &e);
    EXPECT_TRUE(st.ok()) << st;
  }
  log = Open();
  ASSERT_TRUE(log);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
}

TEST_P(CorruptionTest, IndexOfAnotherSegmentIsRebuilt) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  log.reset();
  std::vector<uint64_t> sealed = SealedOrdinals();
  // A valid index, but for another segment (ordinal mismatch).
  testing::WriteRaw(Idx(sealed[0]), testing::ReadRaw(Idx(sealed[1])));
  log = Open();
  ASSERT_TRUE(log);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
}

TEST_P(CorruptionTest, MissingIndexIsRebuilt) {
  // A crash between a roll and the background seal: the rolled segment has no index.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  log.reset();
  std::vector<uint64_t> sealed = SealedOrdinals();
  for (uint64_t o : sealed) ASSERT_EQ(::unlink(Idx(o).c_str()), 0);
  log = Open();
  ASSERT_TRUE(log);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
  writer_->DrainBackground();
  for (uint64_t o : sealed) EXPECT_TRUE(testing::ExistsRaw(Idx(o))) << Idx(o);
}

TEST_P(CorruptionTest, GarbageIndexPlusDamagedFrameIsCorruption) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  log.reset();
  const uint64_t ord = SealedOrdinals()[1];
  std::vector<DiskFrame> frames = FramesOf(Seg(ord));
  testing::WriteRaw(Idx(ord), "garbage");
  testing::FlipByte(Seg(ord), frames[frames.size() / 2].pos + 40);
  auto r = TryOpen();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find(format::SegmentFileName(ord)), std::string::npos)
      << r.status();
  // Nothing was deleted: the operator can still restore the file.
  for (uint64_t o : SealedOrdinals()) EXPECT_FALSE(FramesOf(Seg(o)).empty());
}

TEST_P(CorruptionTest, GarbageIndexPlusDamagedLastFrameIsCorruption) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  log.reset();
  const uint64_t ord = SealedOrdinals()[0];
  testing::WriteRaw(Idx(ord), testing::GenBytes(3, 3, 64 + 16));
  const DiskFrame last = FramesOf(Seg(ord)).back();
  testing::FlipByte(Seg(ord), last.pos + last.info.len - 1 - 8);
  auto r = TryOpen();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find(format::SegmentFileName(ord)), std::string::npos)
      << r.status();
}

TEST_P(CorruptionTest, SealedSegmentTruncatedIsCorruption) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  log.reset();
  const uint64_t ord = SealedOrdinals()[1];
  const uint64_t size = testing::FileSizeRaw(Seg(ord));
  testing::TruncateRaw(Seg(ord), size - 100);
  auto r = TryOpen();
  ASSERT_FALSE(r.ok()) << "a sealed segment lost its last 100 bytes and Open did not notice";
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find(format::SegmentFileName(ord)), std::string::npos)
      << r.status();
}

TEST_P(CorruptionTest, SealedSegmentHeaderDamagedIsCorruption) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  log.reset();
  const uint64_t ord = SealedOrdinals()[1];
  testing::FlipByte(Seg(ord), format::kSegHdrOrdinal);
  auto r = TryOpen();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption);
  EXPECT_NE(r.status().message().find(format::SegmentFileName(ord)), std::string::npos)
      << r.status();
}

TEST_P(CorruptionTest, CrcMismatchInSealedSegmentFailsReadsNotOpen) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  const uint64_t ord = SealedOrdinals()[1];
  std::vector<DiskFrame> frames = FramesOf(Seg(ord));
  ASSERT_GE(frames.size(), 3u);
  const DiskFrame bad = frames[frames.size() / 2];
  testing::FlipByte(Seg(ord), bad.pos + format::kFrameHeaderSize + 50);  // record bytes
  log = Open();
  ASSERT_TRUE(log) << "sealed segments are trusted through their index";
  EXPECT_EQ(log->end_offset(), model_.size());
  // Reads that touch the bad frame fail; they never return wrong bytes.
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{5}, size_t{1000}}) {
    uint64_t off = 0;
    ReadBatch b;
    Status st;
    while (off < log->end_offset()) {
      st = log->Read(off, chunk, 1 << 20, &b);
      if (!st.ok()) break;
      for (const RecordView& r : b.records) {
        ASSERT_EQ(r.offset, off);
        ASSERT_TRUE(r.data == model_[off].data) << "wrong bytes at " << off;
        ++off;
      }
    }
    EXPECT_EQ(st.code(), Code::kCorruption) << "chunk " << chunk << ": " << st;
    EXPECT_NE(st.message().find(format::SegmentFileName(ord)), std::string::npos) << st;
    EXPECT_LE(off, bad.info.base_offset);
  }
  for (uint64_t o = bad.info.base_offset; o < bad.info.next_offset(); ++o) {
    ReadBatch b;
    EXPECT_EQ(log->Read(o, 1, 0, &b).code(), Code::kCorruption) << o;
    EXPECT_EQ(log->TimestampOf(o).status().code(), Code::kCorruption) << o;
  }
  // Everything after the bad frame is still readable and right.
  std::vector<Rec> after = testing::ReadAllFrom(*log, bad.info.next_offset());
  ASSERT_EQ(after.size(), model_.size() - bad.info.next_offset());
  for (const Rec& r : after) ASSERT_TRUE(r.data == model_[r.offset].data) << r.offset;
  // A timestamp lookup that has to pass the bad frame fails rather than guess.
  auto t = log->OffsetForTimestamp(model_[bad.info.base_offset].ts);
  if (t.ok()) {
    EXPECT_EQ(*t, bad.info.base_offset);
  } else {
    EXPECT_EQ(t.status().code(), Code::kCorruption);
  }
}

TEST_P(CorruptionTest, ReadThatStopsBeforeADamagedFrameSucceeds) {
  // Every intact record before a damaged frame stays readable: a read whose limits are
  // reached at the end of the frame before the damage does not need the damaged frame.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 2);
  log.reset();
  const uint64_t ord = SealedOrdinals()[1];
  std::vector<DiskFrame> frames = FramesOf(Seg(ord));
  const DiskFrame bad = frames[frames.size() / 2];
  testing::FlipByte(Seg(ord), bad.pos + format::kFrameHeaderSize + 50);
  log = Open();
  ASSERT_TRUE(log);
  const uint64_t last_good = bad.info.base_offset - 1;
  ReadBatch b;
  Status st = log->Read(last_good, 1, 1 << 20, &b);
  EXPECT_TRUE(st.ok()) << "BUG: Read(" << last_good << ", max_records=1) needs only an intact "
                       << "record but failed: " << st;
  if (st.ok()) {
    ASSERT_EQ(b.records.size(), 1u);
    EXPECT_TRUE(b.records[0].data == model_[last_good].data);
  }
  // Same with a byte limit that the last good record reaches.
  st = log->Read(last_good, 100, 1, &b);
  EXPECT_TRUE(st.ok()) << "BUG: Read(" << last_good << ", max_bytes=1) failed: " << st;
  auto ts = log->TimestampOf(last_good);
  EXPECT_TRUE(ts.ok()) << "BUG: TimestampOf(" << last_good << ") failed: " << ts.status();
}

TEST_P(CorruptionTest, DamagedMiddleSegmentWithoutIndexDoesNotSilentlyDropLaterSegments) {
  // A rolled segment whose background seal never ran (no .idx) takes a bit flip in the
  // middle. Later segments hold acknowledged, fdatasynced records (kAlways): Open must
  // either refuse (kCorruption) or keep them, never delete them as a "torn tail".
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 3, 3);
  log.reset();
  std::vector<uint64_t> sealed = SealedOrdinals();
  ASSERT_GE(sealed.size(), 3u);
  const uint64_t ord = sealed[0];
  ASSERT_EQ(::unlink(Idx(ord).c_str()), 0);
  std::vector<DiskFrame> frames = FramesOf(Seg(ord));
  const DiskFrame bad = frames[frames.size() / 2];
  testing::FlipByte(Seg(ord), bad.pos + format::kFrameHeaderSize + 50);
  const std::vector<uint64_t> before = testing::SegmentOrdinals(dir_);
  auto r = TryOpen();
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status();
    return;
  }
  log = std::move(r).value();
  EXPECT_EQ(log->end_offset(), model_.size())
      << "BUG: a damaged frame in segment " << ord << " (no index) was treated as a torn "
      << "tail: every later segment was deleted, losing "
      << model_.size() - log->end_offset() << " acknowledged records; segments before: "
      << before.size() << ", after: " << testing::SegmentOrdinals(dir_).size();
}

// A record length that points far past its frame, in a sealed segment, with the frame
// CRC recomputed (so only the record walk can notice). Returns the victim offset.
uint64_t DamageRecordLength(CorruptionTest* t) {
  auto log = t->Open();
  EXPECT_TRUE(log);
  if (!log) return 0;
  t->Build(*log, 2, 2);
  EXPECT_TRUE(log->Close().ok());
  log.reset();
  const uint64_t ord = t->SealedOrdinals()[0];
  const DiskFrame f = FramesOf(t->Seg(ord))[1];
  testing::PwriteRaw(t->Seg(ord), f.pos + format::kFrameHeaderSize + format::kRecDataLen,
                     testing::U32Bytes(0x7ffffff0u));
  testing::RecrcFrame(t->Seg(ord), f.pos);
  return f.info.base_offset;
}

TEST_P(CorruptionTest, BadRecordLengthInSealedFrameIsCorruption) {
  const uint64_t victim = DamageRecordLength(this);
  ASSERT_FALSE(HasFailure());
  auto log = Open();
  ASSERT_TRUE(log);
  ReadBatch b;
  Status st = log->Read(victim, 1, 1 << 20, &b);
  EXPECT_EQ(st.code(), Code::kCorruption) << st;
  st = log->Read(0, 1000, 1 << 20, &b);
  EXPECT_EQ(st.code(), Code::kCorruption) << st;
}

TEST_P(CorruptionTest, BadRecordLengthWithoutCrcVerificationDoesNotCrash) {
  // With LogOptions::verify_crc_on_read = false, Read used to walk the records of a frame
  // it never validated: format::NextRecord trusted the lengths, handed out a 2 GiB view and
  // read the next header 2 GiB past the mapping (SIGSEGV). Read now checks record lengths
  // (format::CheckRecords) of every frame it returns records from.
  const uint64_t victim = DamageRecordLength(this);
  ASSERT_FALSE(HasFailure());
  opts_.verify_crc_on_read = false;
  auto log = Open();
  ASSERT_TRUE(log);
  ReadBatch b;
  Status st = log->Read(victim, 1, 1 << 20, &b);
  if (st.ok()) {
    ASSERT_EQ(b.records.size(), 1u);
    EXPECT_EQ(b.records[0].data.size(), kDataBytes) << "out-of-bounds view";  // sizes only
  } else {
    EXPECT_EQ(st.code(), Code::kCorruption) << st;
  }
  st = log->Read(victim, 10, 1 << 20, &b);  // walks past the bad record
  if (!st.ok()) {
    EXPECT_EQ(st.code(), Code::kCorruption) << st;
  }
}

TEST(CorruptionModeSwitchTest, ReopenInTheOtherWriteMode) {
  // A log written in one mode and reopened in the other, after a crash and after a clean
  // close: O_DIRECT needs a block-aligned end, so a buffered tail forces a roll.
  for (WriteMode first : {WriteMode::kBuffered, WriteMode::kDirect}) {
    for (bool clean : {false, true}) {
      SCOPED_TRACE(std::string(WriteModeName(first)) + (clean ? " clean" : " crash"));
      testing::TempDir tmp;
      auto w = LogWriter::Create();
      ASSERT_TRUE(w.ok());
      LogOptions opts;
      opts.segment_bytes = 64 << 10;
      opts.write_mode = first;
      std::vector<std::string> datas;
      auto append = [&](ShardLog& log, int n) {
        for (int i = 0; i < n; ++i) {
          datas.push_back(testing::GenBytes(datas.size(), 5, 100 + datas.size() % 3000));
          RecordIn in{"k", datas.back(), 0};
          AppendResult r = log.AppendSync({&in, 1});
          ASSERT_TRUE(r.status.ok()) << r.status;
          ASSERT_EQ(r.first_offset, datas.size() - 1);
        }
      };
      auto verify = [&](ShardLog& log) {
        std::vector<Rec> got = testing::ReadAllFrom(log, 0);
        ASSERT_EQ(got.size(), datas.size());
        for (size_t i = 0; i < got.size(); ++i) ASSERT_TRUE(got[i].data == datas[i]) << i;
      };
      for (int round = 0; round < 4; ++round) {
        opts.write_mode = (round % 2 == 0) ? first
                          : first == WriteMode::kBuffered ? WriteMode::kDirect
                                                          : WriteMode::kBuffered;
        auto r = ShardLog::Open(tmp.Sub("log"), opts, *w);
        ASSERT_TRUE(r.ok()) << r.status();
        auto log = std::move(r).value();
        ASSERT_NO_FATAL_FAILURE(verify(*log));
        ASSERT_NO_FATAL_FAILURE(append(*log, 37));
        ASSERT_NO_FATAL_FAILURE(verify(*log));
        if (clean) {
          ASSERT_TRUE(log->Close().ok());
        }
      }
    }
  }
}

TEST_P(CorruptionTest, DamagedLastRolledSegmentWithoutIndexDoesNotSilentlyDropTheActiveOne) {
  // The variant the "later segment is sealed" rule does not cover: a crash right after a
  // roll, before the background seal of the rolled segment (no .idx), and that segment
  // takes a bit flip in the middle. The only later segment is the active one, unsealed,
  // holding acknowledged and (kAlways) fdatasynced records: a torn write cannot sit in
  // the middle of a segment that a later segment follows, so this is damage.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 2, 4);
  log.reset();
  std::vector<uint64_t> sealed = SealedOrdinals();
  ASSERT_GE(sealed.size(), 2u);
  const uint64_t ord = sealed.back();
  ASSERT_EQ(::unlink(Idx(ord).c_str()), 0);
  std::vector<DiskFrame> frames = FramesOf(Seg(ord));
  const DiskFrame bad = frames[frames.size() / 2];
  testing::FlipByte(Seg(ord), bad.pos + format::kFrameHeaderSize + 50);
  auto r = TryOpen();
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status();
    return;
  }
  log = std::move(r).value();
  EXPECT_EQ(log->end_offset(), model_.size())
      << "BUG: a damaged frame in the middle of rolled segment " << ord << " (no index yet) "
      << "was treated as a torn tail and the active segment after it was deleted, losing "
      << model_.size() - log->end_offset() << " acknowledged (fdatasynced) records";
}

// ---------------------------------------------------------------------------------------
// CLEAN marker, leftovers, trim

TEST_P(CorruptionTest, CleanMarkerIntactIsUsed) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log);
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  ASSERT_TRUE(testing::ExistsRaw(dir_ + "/CLEAN"));
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_TRUE(log->stats().recovered_clean);
  EXPECT_FALSE(testing::ExistsRaw(dir_ + "/CLEAN")) << "CLEAN must go before the first write";
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, CleanMarkerCorruptedFallsBackToScan) {
  const std::string variants[] = {"flip", "truncate", "empty", "other-ordinal"};
  for (const std::string& v : variants) {
    SCOPED_TRACE(v);
    auto log = Open();
    ASSERT_TRUE(log);
    AppendBatch(*log);
    Build(*log, log->stats().rolls + 1, 3);
    ASSERT_TRUE(log->Close().ok());
    log.reset();
    const std::string clean = dir_ + "/CLEAN";
    ASSERT_TRUE(testing::ExistsRaw(clean));
    if (v == "flip") testing::FlipByte(clean, 20);
    if (v == "truncate") testing::TruncateRaw(clean, testing::FileSizeRaw(clean) - 1);
    if (v == "empty") testing::WriteRaw(clean, "");
    if (v == "other-ordinal") testing::WriteRaw(clean, testing::ReadRaw(Idx(SealedOrdinals()[0])));
    log = Open();
    ASSERT_TRUE(log);
    EXPECT_FALSE(log->stats().recovered_clean);
    EXPECT_FALSE(testing::ExistsRaw(clean));
    ASSERT_NO_FATAL_FAILURE(Verify(*log));
    ASSERT_TRUE(log->Close().ok());
  }
}

TEST_P(CorruptionTest, LeftoverTmpFilesRemovedAtOpen) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 1, 2);
  log.reset();
  const std::vector<std::string> tmps = {"log.meta.tmp", "CLEAN.tmp", "000000000099.seg.tmp",
                                         format::IndexFileName(1) + ".tmp", "x.tmp"};
  for (const std::string& t : tmps) testing::WriteRaw(dir_ + "/" + t, "partial");
  log = Open();
  ASSERT_TRUE(log);
  for (const std::string& t : tmps) EXPECT_FALSE(testing::ExistsRaw(dir_ + "/" + t)) << t;
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
}

TEST_P(CorruptionTest, TrimmedRecordsNeverComeBack) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 4, 2);
  const uint64_t mid = model_.size() / 2 + 1;
  ASSERT_TRUE(log->TrimBefore(mid).ok());
  EXPECT_EQ(log->start_offset(), mid);
  log.reset();  // crash right after the trim
  for (int round = 0; round < 2; ++round) {
    log = Open();
    ASSERT_TRUE(log);
    EXPECT_EQ(log->start_offset(), mid);
    ASSERT_NO_FATAL_FAILURE(Verify(*log));
    ReadBatch b;
    EXPECT_EQ(log->Read(mid - 1, 10, 1 << 20, &b).code(), Code::kOutOfRange);
    EXPECT_EQ(log->Read(0, 10, 1 << 20, &b).code(), Code::kOutOfRange);
    auto t = log->OffsetForTimestamp(0);
    ASSERT_TRUE(t.ok());
    EXPECT_EQ(*t, mid);
    EXPECT_EQ(log->TimestampOf(mid - 1).status().code(), Code::kOutOfRange);
    // Trimming backwards is a no-op.
    ASSERT_TRUE(log->TrimBefore(1).ok());
    EXPECT_EQ(log->start_offset(), mid);
    if (round == 0) {
      ASSERT_TRUE(log->Close().ok());
    }
    log.reset();
  }
}

TEST_P(CorruptionTest, TrimCrashBeforeUnlinkNeverShowsTrimmedRecords) {
  // The files below the trim point survive the crash (the background unlink never ran).
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 4, 2);
  std::map<std::string, std::string> saved;
  for (const std::string& n : testing::ListNames(dir_))
    if (n.size() == 16 && (n.ends_with(".seg") || n.ends_with(".idx")))
      saved[n] = testing::ReadRaw(dir_ + "/" + n);
  const uint64_t cut = model_.size() - 5;
  ASSERT_TRUE(log->TrimBefore(cut).ok());
  writer_->DrainBackground();
  log.reset();
  for (const auto& [n, bytes] : saved)
    if (!testing::ExistsRaw(dir_ + "/" + n)) testing::WriteRaw(dir_ + "/" + n, bytes);
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->start_offset(), cut);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  auto t = log->OffsetForTimestamp(0);
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(*t, cut);
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
  EXPECT_EQ(log->start_offset(), cut);
}

TEST_P(CorruptionTest, TrimEverythingThenCrash) {
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 2, 2);
  const uint64_t end = log->end_offset();
  const int64_t last_ts = log->last_timestamp();
  ASSERT_TRUE(log->TrimBefore(end + 100).ok());  // clamped to end
  EXPECT_EQ(log->start_offset(), end);
  log.reset();
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->start_offset(), end);
  EXPECT_EQ(log->end_offset(), end);
  EXPECT_EQ(log->last_timestamp(), last_ts);
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
  EXPECT_EQ(log->start_offset(), end);
}

TEST_P(CorruptionTest, ReopeningAnEmptyLogDoesNotPileUpSegments) {
  // Every open creates a spare segment ahead of need; reopening must reuse it, not leave
  // one more fallocated file behind each time (Redpanda #4057).
  for (bool clean : {true, false}) {
    SCOPED_TRACE(clean ? "clean close" : "abandon");
    testing::TempDir tmp;
    dir_ = tmp.Sub("log");
    for (int i = 0; i < 6; ++i) {
      auto log = Open();
      ASSERT_TRUE(log);
      if (clean) {
        ASSERT_TRUE(log->Close().ok());
      }
      log.reset();
    }
    EXPECT_LE(testing::SegmentOrdinals(dir_).size(), 2u)
        << "segment files after 6 opens of an empty log: "
        << testing::SegmentOrdinals(dir_).size();
    auto log = Open();
    ASSERT_TRUE(log);
    EXPECT_EQ(log->end_offset(), 0u);
    model_.clear();
    AppendBatch(*log);
    ASSERT_NO_FATAL_FAILURE(Verify(*log));
    log.reset();
  }
}

// ---------------------------------------------------------------------------------------
// Power loss (io::FaultFileSystem drops what was not fdatasynced): what the durability
// mode promised survives. kAlways: every acknowledged record. kInterval: every record
// below the durable_offset() seen before the cut.

TEST_P(CorruptionTest, PowerLossKeepsWhatWasPromised) {
  for (Durability d : {Durability::kAlways, Durability::kInterval}) {
    for (io::DropMode mode : {io::DropMode::kZero, io::DropMode::kTornPrefix}) {
      SCOPED_TRACE(std::string(DurabilityName(d)) +
                   (mode == io::DropMode::kZero ? " zero" : " torn-prefix"));
      testing::TempDir tmp;
      auto ffs = std::make_shared<io::FaultFileSystem>();
      auto w = LogWriter::Create(WriterOptions{ffs});
      ASSERT_TRUE(w.ok()) << w.status();
      LogOptions opts = opts_;
      opts.durability = d;
      opts.interval_ms = 5;
      const std::string dir = tmp.Sub("log");
      std::vector<std::string> datas;
      uint64_t promised = 0;
      {
        auto r = ShardLog::Open(dir, opts, *w);
        ASSERT_TRUE(r.ok()) << r.status();
        auto log = std::move(r).value();
        for (int i = 0; i < 120; ++i) {
          datas.push_back(testing::GenBytes(datas.size(), 11, 50 + (datas.size() * 97) % 2500));
          RecordIn in{"key", datas.back(), i};
          AppendResult res = log->AppendSync({&in, 1});
          ASSERT_TRUE(res.status.ok()) << res.status;
        }
        promised = d == Durability::kAlways ? log->end_offset() : log->durable_offset();
        if (d == Durability::kInterval) {
          EXPECT_GT(promised, 0u) << "no interval fdatasync in 120 appends?";
        }
        log.reset();  // the process dies...
      }
      ffs->DropUnsyncedData(mode, 99);  // ...and so does the power
      auto r = ShardLog::Open(dir, opts, *w);
      ASSERT_TRUE(r.ok()) << r.status();
      auto log = std::move(r).value();
      EXPECT_GE(log->end_offset(), promised);
      std::vector<Rec> got = testing::ReadAllFrom(*log, 0);
      ASSERT_EQ(got.size(), log->end_offset());
      for (size_t i = 0; i < got.size(); ++i) ASSERT_TRUE(got[i].data == datas[i]) << i;
      // And it keeps working.
      RecordIn in{"key", "after", 0};
      AppendResult res = log->AppendSync({&in, 1});
      ASSERT_TRUE(res.status.ok()) << res.status;
      EXPECT_EQ(res.first_offset, got.size());
    }
  }
}

// ---------------------------------------------------------------------------------------
// Interrupted Seal()

TEST_P(CorruptionTest, SealInterruptedBeforeMetaLeavesAUsableLog) {
  // Seal() sealed the active segment (its .idx exists) but crashed before log.meta said
  // so: the log is not sealed and must keep appending after the sealed segment.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 2, 3);
  auto s = log->Seal();
  ASSERT_TRUE(s.ok()) << s.status();
  log.reset();
  testing::WriteRaw(dir_ + "/log.meta", format::EncodeMeta(format::LogMeta{}));
  log = Open();
  ASSERT_TRUE(log);
  EXPECT_FALSE(log->sealed());
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  for (int i = 0; i < 5; ++i) AppendBatch(*log);
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

TEST_P(CorruptionTest, SealInterruptedBeforeTruncateWithBadIndex) {
  // Seal() wrote the last segment's .idx but crashed before giving back the preallocated
  // tail (the file still has its full length) and before log.meta; and the .idx is bad.
  // Recovery rebuilds the index by scanning and schedules a re-seal of the segment, which
  // is also the active one: the background seal must not close or truncate the file the
  // writer is appending to.
  auto log = Open();
  ASSERT_TRUE(log);
  Build(*log, 2, 3);
  const uint64_t ord = ActiveOrdinal();
  auto s = log->Seal();
  ASSERT_TRUE(s.ok()) << s.status();
  log.reset();
  ASSERT_LT(testing::FileSizeRaw(Seg(ord)), opts_.segment_bytes);
  testing::TruncateRaw(Seg(ord), opts_.segment_bytes);  // the tail, back (zeros)
  testing::WriteRaw(Idx(ord), "bad");
  testing::WriteRaw(dir_ + "/log.meta", format::EncodeMeta(format::LogMeta{}));
  log = Open();
  ASSERT_TRUE(log);
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  writer_->DrainBackground();  // let the re-seal run before the appends
  for (int i = 0; i < 6; ++i) {
    AppendBatch(*log);
    if (HasFatalFailure()) {
      ADD_FAILURE() << "BUG: append failed after recovery scheduled a seal of the active segment";
      return;
    }
  }
  ASSERT_NO_FATAL_FAILURE(Verify(*log));
  ASSERT_NO_FATAL_FAILURE(AppendAndReopen(log));
}

// ---------------------------------------------------------------------------------------

void LinedUpStaleFrame(CorruptionTest* t, bool torn) {
  auto log = t->Open();
  ASSERT_TRUE(log);
  t->Build(*log, 1, 2);
  log.reset();
  const std::string seg = t->Seg(t->ActiveOrdinal());
  std::vector<DiskFrame> frames = FramesOf(seg);
  const DiskFrame last = frames.back();
  const uint64_t f = last.info.len;  // every AppendBatch frame has this length
  uint64_t resume_pos = last.pos + last.info.len;
  uint64_t resume_off = last.info.next_offset();
  if (torn) {
    testing::FlipByte(seg, last.pos + 60);
    resume_pos = last.pos;
    resume_off = last.info.base_offset;
  }
  constexpr int kNew = 2;  // batches appended after recovery
  const uint64_t stale_pos = resume_pos + kNew * f;
  ASSERT_LE(stale_pos + f, t->opts_.segment_bytes) << "test setup: no room in the segment";
  std::string stale = testing::ReadRaw(seg).substr(frames[0].pos, f);
  format::Store64(reinterpret_cast<uint8_t*>(stale.data()) + format::kFrameBaseOffset,
                  resume_off + kNew * kPerBatch);
  format::Store32(reinterpret_cast<uint8_t*>(stale.data()) + format::kFrameCrc,
                  io::Crc32c(stale.data() + 8, stale.size() - 8));
  testing::PwriteRaw(seg, stale_pos, stale);

  log = t->Open();
  ASSERT_TRUE(log);
  ASSERT_EQ(log->end_offset(), resume_off);
  t->CutModel(resume_off);
  for (int i = 0; i < kNew; ++i) t->AppendBatch(*log, 9);
  ASSERT_EQ(FramesOf(seg).back().pos + f, stale_pos) << "test setup: frames do not line up";
  log.reset();  // crash again
  log = t->Open();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), resume_off + kNew * kPerBatch)
      << "stale records past the old tail were resurrected";
  ASSERT_NO_FATAL_FAILURE(t->Verify(*log));
}

INSTANTIATE_TEST_SUITE_P(Modes, CorruptionTest,
                         ::testing::Values(WriteMode::kBuffered, WriteMode::kDirect),
                         [](const ::testing::TestParamInfo<WriteMode>& p) {
                           return std::string(WriteModeName(p.param));
                         });

}  // namespace
}  // namespace shoal
