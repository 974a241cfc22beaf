// Regressions found by tests/fuzz/shard_log_recovery_fuzz, one test per bug; the inputs that
// found them replay from tests/fuzz/regressions/shard_log_recovery_fuzz/.
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "kernel/format.h"
#include "kernel/log_writer.h"
#include "kernel/shard_log.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

class FuzzRecoveryRegressionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto w = LogWriter::Create();
    ASSERT_TRUE(w.ok()) << w.status();
    writer_ = *w;
    opts_.write_mode = WriteMode::kBuffered;
    opts_.segment_bytes = 64 << 10;
  }
  std::unique_ptr<ShardLog> Open(const std::string& dir) {
    auto r = ShardLog::Open(dir, opts_, writer_);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? std::move(r).value() : nullptr;
  }
  void Append(ShardLog& log, int n) {
    for (int i = 0; i < n; ++i) {
      const std::string data = "data-" + std::to_string(i);  // outlives the view in `rec`
      RecordIn rec{"key", data, 1000 + i};
      ASSERT_TRUE(log.AppendSync({&rec, 1}).status.ok());
    }
  }

  testing::TempDir tmp_;
  std::shared_ptr<LogWriter> writer_;
  LogOptions opts_;
};

// An index file whose segment is gone was adopted by the first segment created with its
// ordinal: a log closed as [0, 3) reopened as [0, 20), "reading" records never written.
TEST_F(FuzzRecoveryRegressionTest, OrphanIndexIsNotAdoptedByANewSegment) {
  const std::string old_dir = tmp_.Sub("old"), dir = tmp_.Sub("log");
  {
    auto log = Open(old_dir);
    ASSERT_TRUE(log);
    Append(*log, 20);
    ASSERT_TRUE(log->Seal().ok());  // writes 000000000001.idx
    ASSERT_TRUE(log->Close().ok());
  }
  const std::string idx = format::IndexFileName(1);
  ASSERT_TRUE(std::filesystem::exists(old_dir + "/" + idx));
  std::filesystem::create_directories(dir);
  std::filesystem::copy_file(old_dir + "/" + idx, dir + "/" + idx);

  auto log = Open(dir);  // no segment, no log.meta: a fresh log, plus the stray index
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), 0u);
  Append(*log, 3);
  ASSERT_TRUE(log->Close().ok());
  log.reset();
  log = Open(dir);
  ASSERT_TRUE(log);
  EXPECT_EQ(log->start_offset(), 0u);
  EXPECT_EQ(log->end_offset(), 3u);
  ReadBatch b;
  ASSERT_TRUE(log->Read(0, 100, 1 << 20, &b).ok());
  ASSERT_EQ(b.records.size(), 3u);
  EXPECT_EQ(b.records[2].data, "data-2");
}

}  // namespace
}  // namespace shoal
