// I/O faults under a shard log (through io::FaultFileSystem): every fault must surface as
// a clear error (a non-OK status with a message), never as corruption. For every case:
// no record acknowledged OK is lost, Read never returns bytes other than the ones sent at
// that offset, and a reopen with the fault gone recovers and accepts appends.
//
// Offsets are predicted: appends are issued under the fixture's mutex, and an append that
// the log refused (its completion ran inline, inside Append) consumed no offset. So the
// test knows what was sent at every offset, including appends that failed after being
// accepted (their records may or may not be on disk after a reopen; if they are, they
// must be the bytes sent).
//
// Tests named * reproduce kernel bugs found while writing this file; each says
// what it expects. Run them with --gtest_also_run_disabled_tests.
#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "io/fault_file_system.h"
#include "kernel/log_writer.h"
#include "kernel/shard_log.h"
#include "tests/testlib/log_test_util.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

using io::DropMode;
using io::FaultFileSystem;
using io::FaultOp;
using testing::ExistsRaw;
using testing::FramesOf;
using testing::IdxPath;
using testing::SegPath;

constexpr auto kDeadline = std::chrono::seconds(30);

std::string FdPath(int fd) {
  char buf[4096];
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  ssize_t n = ::readlink(link.c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
}

bool EndsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Sits under the FaultFileSystem; when armed, holds the next fdatasync of a segment file
// until released (to freeze the writer's syncer at a chosen point).
class GateFileSystem final : public io::FileSystem {
 public:
  GateFileSystem() : base_(io::DefaultFileSystem()) {}
  void Arm() {
    std::lock_guard lk(mu_);
    armed_ = true;
  }
  // Waits until a segment fdatasync is held; false after kDeadline.
  bool WaitHeld() {
    std::unique_lock lk(mu_);
    return cv_.wait_for(lk, kDeadline, [&] { return held_; });
  }
  // `err` != 0: the held fdatasync then fails with it instead of running.
  void Release(int err = 0) {
    {
      std::lock_guard lk(mu_);
      armed_ = false;
      if (!released_) fail_held_ = err;
      released_ = true;
    }
    cv_.notify_all();
  }

  Result<io::UniqueFd> Open(const std::string& p, io::OpenOptions o) override { return base_->Open(p, o); }
  Status Pwrite(int fd, const void* d, size_t n, uint64_t off) override { return base_->Pwrite(fd, d, n, off); }
  Result<size_t> Pread(int fd, void* d, size_t n, uint64_t off) override { return base_->Pread(fd, d, n, off); }
  Status Fdatasync(int fd) override {
    {
      std::unique_lock lk(mu_);
      if (armed_ && EndsWith(FdPath(fd), ".seg")) {
        armed_ = false;
        held_ = true;
        cv_.notify_all();
        cv_.wait(lk, [&] { return released_; });
        if (fail_held_ != 0) return Status::FromErrno(fail_held_, "held fdatasync");
      }
    }
    return base_->Fdatasync(fd);
  }
  Status Fallocate(int fd, uint64_t off, uint64_t n) override { return base_->Fallocate(fd, off, n); }
  Status Truncate(int fd, uint64_t n) override { return base_->Truncate(fd, n); }
  Result<uint64_t> FileSize(int fd) override { return base_->FileSize(fd); }
  Status Rename(const std::string& a, const std::string& b) override { return base_->Rename(a, b); }
  Status Unlink(const std::string& p) override { return base_->Unlink(p); }
  Status MakeDir(const std::string& p) override { return base_->MakeDir(p); }
  Status RemoveDir(const std::string& p) override { return base_->RemoveDir(p); }
  Status SyncDir(const std::string& p) override { return base_->SyncDir(p); }
  Result<std::vector<std::string>> ListDir(const std::string& p) override { return base_->ListDir(p); }
  bool Exists(const std::string& p) override { return base_->Exists(p); }
  Result<io::UniqueFd> LockFile(const std::string& p) override { return base_->LockFile(p); }
  Result<io::MappedRegion> Map(int fd, size_t n, const std::string& w) override { return base_->Map(fd, n, w); }
  Result<std::unique_ptr<io::IoQueue>> NewIoQueue(unsigned d) override { return base_->NewIoQueue(d); }

 private:
  const std::shared_ptr<io::FileSystem> base_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool armed_ = false;
  bool held_ = false;
  bool released_ = false;
  int fail_held_ = 0;
};

// Releases the gate when a test body leaves early: the log's destructor waits for the
// groups in flight, which wait for the held fdatasync.
struct ReleaseGateOnExit {
  GateFileSystem* gate;
  ~ReleaseGateOnExit() { gate->Release(); }
};

thread_local bool tl_in_append = false;

struct Sent {
  std::string key;
  std::string data;
};

// One Append call and its completion.
struct Outcome {
  uint64_t predicted = 0;
  uint32_t count = 0;
  std::atomic<bool> inline_done{false};  // refused inside Append: no offset consumed
  bool done = false;                     // guarded by ShardLogFaultTest::done_mu_
  AppendResult result;
};

class ShardLogFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    gate_ = std::make_shared<GateFileSystem>();
    fs_ = std::make_shared<FaultFileSystem>(gate_);
    opts_.segment_bytes = 64 << 10;
    opts_.staging_bytes = 64 << 10;
  }
  void TearDown() override {
    gate_->Release();
    fs_->ClearFaults();
  }

  std::shared_ptr<LogWriter> Writer() {
    if (!writer_) {
      auto w = LogWriter::Create(WriterOptions{fs_, 64});
      EXPECT_TRUE(w.ok()) << w.status();
      if (w.ok()) writer_ = *w;
    }
    return writer_;
  }
  Result<std::unique_ptr<ShardLog>> TryOpen() { return ShardLog::Open(dir_, opts_, Writer()); }
  std::unique_ptr<ShardLog> OpenLog() {
    auto r = TryOpen();
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return nullptr;
    auto log = std::move(r).value();
    // What was lost was never there: later appends reuse those offsets.
    {
      std::lock_guard lk(mu_);
      if (sent_.size() > log->end_offset()) sent_.resize(log->end_offset());
    }
    std::lock_guard lk(done_mu_);
    acked_end_ = std::min(acked_end_, log->end_offset());
    return log;
  }
  // Destroys the log without Close() and the writer (joins its threads).
  void Abandon(std::unique_ptr<ShardLog>& log) {
    log.reset();
    writer_.reset();
  }
  void CloseAndForget(std::unique_ptr<ShardLog>& log) {
    Status st = log->Close();
    EXPECT_TRUE(st.ok()) << st;
    Abandon(log);
  }

  // Appends `n` records of `size` bytes as one batch; does not wait.
  std::shared_ptr<Outcome> Submit(ShardLog& log, uint32_t n = 1, size_t size = 1000) {
    auto out = std::make_shared<Outcome>();
    std::vector<Sent> batch;
    std::vector<RecordIn> recs;
    std::lock_guard lk(mu_);
    for (uint32_t i = 0; i < n; ++i) {
      const uint64_t id = next_id_++;
      batch.push_back(Sent{"k" + std::to_string(id), testing::GenBytes(id, 77, size)});
    }
    for (const Sent& s : batch) recs.push_back(RecordIn{s.key, s.data, 1000});
    out->predicted = sent_.size();
    out->count = n;
    tl_in_append = true;
    log.Append(recs, [this, out](const AppendResult& r) {
      if (tl_in_append) out->inline_done.store(true);
      {
        std::lock_guard dlk(done_mu_);
        out->result = r;
        out->done = true;
        if (r.status.ok()) {
          if (r.first_offset != out->predicted || r.count != out->count)
            prediction_errors_.push_back(fmt::format("acked at {} (+{}), predicted {} (+{})",
                                                     r.first_offset, r.count, out->predicted,
                                                     out->count));
          acked_end_ = std::max(acked_end_, r.first_offset + r.count);
        }
      }
      done_cv_.notify_all();
    });
    tl_in_append = false;
    if (!out->inline_done.load())
      for (Sent& s : batch) sent_.push_back(std::move(s));
    return out;
  }
  AppendResult Wait(const std::shared_ptr<Outcome>& o) {
    std::unique_lock lk(done_mu_);
    if (!done_cv_.wait_for(lk, kDeadline, [&] { return o->done; })) {
      AppendResult r;
      r.status = Status(Code::kInternal, "the append never completed");
      return r;
    }
    return o->result;
  }
  AppendResult Append(ShardLog& log, uint32_t n = 1, size_t size = 1000) {
    return Wait(Submit(log, n, size));
  }
  // Appends `count` single-record batches that must all succeed.
  void AppendOk(ShardLog& log, int count, size_t size = 1000) {
    for (int i = 0; i < count; ++i) {
      AppendResult r = Append(log, 1, size);
      ASSERT_TRUE(r.status.ok()) << r.status;
    }
  }
  // Appends 900-byte records until segment 1 has less than ~3 KiB left: the next small
  // append still fits, a 5000-byte one makes the log roll.
  void FillFirstSegment(ShardLog& log) {
    while (true) {
      const auto f = FramesOf(SegPath(dir_, 1));
      const uint64_t used = f.empty() ? format::kSegmentHeaderSize : f.back().pos + f.back().info.len;
      if (used + 3000 > opts_.segment_bytes) break;
      AppendOk(log, 1, 900);
    }
  }
  // Appends until the log has rolled `rolls` times (all must succeed).
  void AppendUntilRolls(ShardLog& log, uint64_t rolls, size_t size = 1000) {
    for (int i = 0; i < 100000 && log.stats().rolls < rolls; ++i) {
      AppendResult r = Append(log, 1, size);
      ASSERT_TRUE(r.status.ok()) << r.status;
    }
    ASSERT_GE(log.stats().rolls, rolls);
  }
  uint64_t acked_end() {
    std::lock_guard lk(done_mu_);
    return acked_end_;
  }

  // Every readable record is exactly what was sent at its offset; offsets run contiguously
  // from start_offset() to end_offset(), which is at least `must_end`.
  ::testing::AssertionResult Verify(const ShardLog& log, uint64_t must_end) {
    {
      std::lock_guard lk(done_mu_);
      if (!prediction_errors_.empty())
        return ::testing::AssertionFailure() << "offset prediction: " << prediction_errors_[0];
    }
    std::lock_guard lk(mu_);
    const uint64_t s = log.start_offset();
    const uint64_t e = log.end_offset();
    if (e < must_end)
      return ::testing::AssertionFailure() << "end_offset " << e << " < " << must_end
                                           << " (acknowledged records lost)";
    if (e > sent_.size())
      return ::testing::AssertionFailure() << "end_offset " << e << " but only " << sent_.size()
                                           << " offsets were assigned";
    if (s > e) return ::testing::AssertionFailure() << "start " << s << " > end " << e;
    ReadBatch b;
    uint64_t off = s;
    while (off < e) {
      Status st = log.Read(off, 37, 1 << 20, &b);
      if (!st.ok()) return ::testing::AssertionFailure() << "Read(" << off << "): " << st;
      if (b.records.empty())
        return ::testing::AssertionFailure() << "Read(" << off << ") returned nothing, end " << e;
      for (const RecordView& r : b.records) {
        if (r.offset != off)
          return ::testing::AssertionFailure() << "expected offset " << off << ", got " << r.offset;
        if (r.key != sent_[off].key || r.data != sent_[off].data)
          return ::testing::AssertionFailure() << "offset " << off << " holds key '" << r.key
                                               << "' (" << r.data.size() << " bytes), sent '"
                                               << sent_[off].key << "'";
        ++off;
      }
    }
    return ::testing::AssertionSuccess();
  }

  // Reopens after a fault: the log must open, hold every acknowledged record, give the
  // next append the next offset, and survive a clean close/reopen with it.
  void ReopenAndCheck(uint64_t must_end, bool expect_torn = false) {
    auto log = OpenLog();
    ASSERT_TRUE(log);
    if (expect_torn) {
      EXPECT_GT(log->stats().recovered_truncated_bytes, 0u);
    }
    EXPECT_TRUE(Verify(*log, must_end));
    const uint64_t end = log->end_offset();
    AppendResult r = Append(*log, 3);
    ASSERT_TRUE(r.status.ok()) << r.status;
    EXPECT_EQ(r.first_offset, end);
    AppendOk(*log, 80);  // through a roll or more
    const uint64_t final_end = log->end_offset();
    CloseAndForget(log);
    log = OpenLog();
    ASSERT_TRUE(log);
    EXPECT_TRUE(log->stats().recovered_clean);
    EXPECT_EQ(log->end_offset(), final_end);
    EXPECT_TRUE(Verify(*log, final_end));
    CloseAndForget(log);
  }

  std::vector<std::string> Names() { return testing::ListNames(dir_); }
  bool AnyTmpFile() {
    for (const std::string& n : Names())
      if (EndsWith(n, ".tmp")) return true;
    return false;
  }
  // Segment ordinals in the directory that hold at least one frame.
  std::vector<uint64_t> NonEmptySegments() {
    std::vector<uint64_t> out;
    for (uint64_t o : testing::SegmentOrdinals(dir_))
      if (!FramesOf(SegPath(dir_, o)).empty()) out.push_back(o);
    return out;
  }

  testing::TempDir tmp_;
  const std::string dir_ = tmp_.Sub("log");
  std::shared_ptr<GateFileSystem> gate_;
  std::shared_ptr<FaultFileSystem> fs_;
  std::shared_ptr<LogWriter> writer_;
  // These cases count records per segment and bytes per write for the buffered layout
  // (O_DIRECT pads every flush to 4 KiB); tests that want O_DIRECT set it themselves.
  LogOptions opts_ = [] {
    LogOptions o;
    o.write_mode = WriteMode::kBuffered;
    return o;
  }();

  std::mutex mu_;  // append side
  std::vector<Sent> sent_;
  uint64_t next_id_ = 0;
  std::mutex done_mu_;  // completion side
  std::condition_variable done_cv_;
  uint64_t acked_end_ = 0;
  std::vector<std::string> prediction_errors_;
};

// ---------------------------------------------------------------------------------------
// Write errors

struct WriteFaultCase {
  Durability durability;
  int err;
};

class WriteFaultTest : public ShardLogFaultTest,
                       public ::testing::WithParamInterface<WriteFaultCase> {};

TEST_P(WriteFaultTest, FailsTheAppendAndTheLogUntilReopen) {
  opts_.durability = GetParam().durability;
  opts_.interval_ms = 5;
  const int err = GetParam().err;
  const Code want = err == ENOSPC ? Code::kNoSpace : Code::kFailed;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 20);
  const uint64_t acked = acked_end();
  ASSERT_EQ(acked, 20u);
  // No background segment creation (its header write matches ".seg" too) may be pending.
  Writer()->DrainBackground();
  fs_->InjectError(FaultOp::kWrite, err, 1, ".seg");
  AppendResult r = Append(*log, 2);
  ASSERT_FALSE(r.status.ok()) << "an append whose write failed was acknowledged";
  EXPECT_EQ(r.status.code(), want) << r.status;
  EXPECT_NE(r.status.message().find("injected fault"), std::string::npos)
      << "the error should carry its cause: " << r.status;
  EXPECT_EQ(fs_->injected_faults(FaultOp::kWrite), 1u);

  // Sticky: the on-disk tail is unknown until a reopen verifies it.
  r = Append(*log);
  EXPECT_EQ(r.status.code(), want) << r.status;
  EXPECT_FALSE(r.status.message().empty());
  EXPECT_EQ(log->end_offset(), acked) << "the failed records became readable";
  EXPECT_TRUE(Verify(*log, acked));
  EXPECT_EQ(log->Flush().code(), want);

  Status st = log->Close();
  EXPECT_FALSE(st.ok()) << "Close() of a failed log reported success";
  EXPECT_FALSE(ExistsRaw(dir_ + "/CLEAN")) << "a failed log wrote a CLEAN marker";
  EXPECT_TRUE(Verify(*log, acked)) << "reads must keep working after Close()";
  Abandon(log);
  ReopenAndCheck(acked);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, WriteFaultTest,
    ::testing::Values(WriteFaultCase{Durability::kAlways, EIO}, WriteFaultCase{Durability::kAlways, ENOSPC},
                      WriteFaultCase{Durability::kInterval, EIO}, WriteFaultCase{Durability::kNone, EIO},
                      WriteFaultCase{Durability::kNone, ENOSPC}),
    [](const ::testing::TestParamInfo<WriteFaultCase>& p) {
      return std::string(DurabilityName(p.param.durability)) + (p.param.err == ENOSPC ? "_ENOSPC" : "_EIO");
    });

class StagedBehindTest : public ShardLogFaultTest,
                         public ::testing::WithParamInterface<Durability> {};

// Many appends in flight when a write fails: the acknowledged ones form a prefix, every
// one after the failed group fails too (no gap), and a reopen keeps the prefix.
TEST_P(StagedBehindTest, WriteErrorFailsEverythingStagedBehindIt) {
  opts_.durability = GetParam();
  opts_.interval_ms = 5;
  opts_.segment_bytes = 4 << 20;  // no roll: no background segment creation to hit instead
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 10);
  Writer()->DrainBackground();
  std::vector<std::shared_ptr<Outcome>> outs;
  for (int i = 0; i < 400; ++i) {
    if (i == 100) fs_->InjectError(FaultOp::kWrite, EIO, 1, ".seg");
    outs.push_back(Submit(*log, 1 + i % 3, 300 + (i * 37) % 900));
  }
  bool failed_seen = false;
  uint64_t first_failed_offset = UINT64_MAX;
  for (auto& o : outs) {
    AppendResult r = Wait(o);
    ASSERT_NE(r.status.code(), Code::kInternal) << r.status;
    if (r.status.ok()) {
      EXPECT_FALSE(failed_seen) << "append at " << r.first_offset
                                << " acknowledged after an earlier one failed: a gap";
    } else {
      EXPECT_TRUE(r.status.code() == Code::kFailed || r.status.code() == Code::kIOError) << r.status;
      if (!failed_seen && !o->inline_done.load()) first_failed_offset = o->predicted;
      failed_seen = true;
    }
  }
  EXPECT_TRUE(failed_seen) << "the injected write error was never reported";
  EXPECT_EQ(fs_->injected_faults(FaultOp::kWrite), 1u);
  const uint64_t acked = acked_end();
  EXPECT_LE(acked, first_failed_offset);
  EXPECT_EQ(log->end_offset(), acked);
  EXPECT_TRUE(Verify(*log, acked));
  EXPECT_FALSE(log->Close().ok());
  Abandon(log);
  ReopenAndCheck(acked);
}

INSTANTIATE_TEST_SUITE_P(Modes, StagedBehindTest,
                         ::testing::Values(Durability::kAlways, Durability::kInterval, Durability::kNone),
                         [](const ::testing::TestParamInfo<Durability>& p) {
                           return std::string(DurabilityName(p.param));
                         });

// ---------------------------------------------------------------------------------------
// fdatasync errors

class FsyncFaultTest : public ShardLogFaultTest, public ::testing::WithParamInterface<bool> {};

// kAlways: the append the failed fdatasync covered is not acknowledged, the log refuses
// further appends, and (param) even a power cut right after loses nothing acknowledged.
TEST_P(FsyncFaultTest, AlwaysModeNeverAcknowledgesAnUnsyncedAppend) {
  const bool power_cut = GetParam();
  opts_.durability = Durability::kAlways;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 20);
  ASSERT_EQ(acked_end(), 20u);
  Writer()->DrainBackground();
  fs_->InjectError(FaultOp::kSync, EIO, 1, ".seg");
  AppendResult r = Append(*log, 2);
  ASSERT_FALSE(r.status.ok()) << "acknowledged although its fdatasync failed";
  EXPECT_EQ(r.status.code(), Code::kFailed) << r.status;
  EXPECT_NE(r.status.message().find("fdatasync"), std::string::npos) << r.status;
  EXPECT_EQ(log->end_offset(), 20u) << "a record whose fdatasync failed became readable";
  EXPECT_EQ(log->durable_offset(), 20u);
  r = Append(*log);
  EXPECT_EQ(r.status.code(), Code::kFailed) << r.status;
  EXPECT_TRUE(Verify(*log, 20));
  EXPECT_FALSE(log->Close().ok());
  EXPECT_FALSE(ExistsRaw(dir_ + "/CLEAN"));
  Abandon(log);
  if (power_cut) fs_->DropUnsyncedData(DropMode::kZero);
  {
    auto probe = OpenLog();
    ASSERT_TRUE(probe);
    // Without a cut the unacknowledged records may be there (they reached the page cache);
    // after one they cannot be (the failed fdatasync left them unsynced).
    if (power_cut) {
      EXPECT_EQ(probe->end_offset(), 20u);
    }
    EXPECT_TRUE(Verify(*probe, 20));
    Abandon(probe);
  }
  ReopenAndCheck(20);
}

INSTANTIATE_TEST_SUITE_P(Cut, FsyncFaultTest, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& p) {
                           return p.param ? std::string("ThenPowerCut") : std::string("NoCut");
                         });

// kInterval, a transient fdatasync failure: acknowledged records stay readable, the log
// fails, durable_offset() does not move past what was synced before.
TEST_F(ShardLogFaultTest, IntervalFsyncFailureFailsTheLog) {
  opts_.durability = Durability::kInterval;
  opts_.interval_ms = 2;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 10);
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (log->durable_offset() < 10 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(log->durable_offset(), 10u);
  Writer()->DrainBackground();
  fs_->InjectError(FaultOp::kSync, EIO, 1, ".seg");
  // Appends are acknowledged on write; the next interval fdatasync fails the log.
  AppendResult r;
  while (std::chrono::steady_clock::now() < deadline) {
    r = Append(*log);
    if (!r.status.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_FALSE(r.status.ok()) << "the failed interval fdatasync never failed the log";
  EXPECT_EQ(r.status.code(), Code::kFailed) << r.status;
  EXPECT_EQ(log->durable_offset(), 10u) << "durable_offset() moved past a failed fdatasync";
  const uint64_t acked = acked_end();
  EXPECT_TRUE(Verify(*log, acked));
  EXPECT_FALSE(log->Close().ok());
  Abandon(log);
  ReopenAndCheck(acked);
}

// kInterval, a persistent fdatasync failure (a dying disk). Expected: the log fails and
// Close() returns the error promptly. Bug: after the failed sync the log's next interval
// sync is due at once and forever (SyncDone() keeps unsynced_segments_ and last_sync_ms_),
// so the syncer re-issues fdatasync in a busy loop while holding LogWriter::mu_ from one
// round into the next; LogWriter::Unregister() (Close, Seal, ~ShardLog) then never sees
// the syncer idle and waits forever. The watchdog clears the fault to unstick it.
TEST_F(ShardLogFaultTest, IntervalFsyncFailureThenCloseDoesNotHang) {
  opts_.durability = Durability::kInterval;
  opts_.interval_ms = 2;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 10);
  Writer()->DrainBackground();
  fs_->InjectError(FaultOp::kSync, EIO, -1, ".seg");
  // Append until the syncer has hit the failure (the log refuses appends).
  const auto fail_deadline = std::chrono::steady_clock::now() + kDeadline;
  AppendResult r;
  while (std::chrono::steady_clock::now() < fail_deadline) {
    r = Append(*log);
    if (!r.status.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_FALSE(r.status.ok()) << "the failing interval fdatasync never failed the log";
  std::atomic<bool> closed{false};
  Status close_status;
  std::thread closer([&] {
    close_status = log->Close();
    closed.store(true);
  });
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!closed.load() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const bool hung = !closed.load();
  const uint64_t retries = fs_->injected_faults(FaultOp::kSync);
  fs_->ClearFaults();  // lets the stuck syncer succeed once and go idle
  closer.join();
  EXPECT_FALSE(hung) << "Close() did not return within 10 s after a persistent fdatasync "
                        "failure; the syncer had retried fdatasync " << retries << " times";
  EXPECT_LE(retries, 3u) << "the syncer keeps retrying fdatasync on a failed log";
  EXPECT_FALSE(close_status.ok());
  Abandon(log);
}

// kNone: Close()'s own fdatasync fails -> Close() reports it and writes no CLEAN marker.
TEST_F(ShardLogFaultTest, CloseFsyncFailureIsReported) {
  opts_.durability = Durability::kNone;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 20);
  Writer()->DrainBackground();
  fs_->InjectError(FaultOp::kSync, EIO, 1, ".seg");
  Status st = log->Close();
  EXPECT_FALSE(st.ok());
  EXPECT_NE(st.message().find("fdatasync"), std::string::npos) << st;
  EXPECT_FALSE(ExistsRaw(dir_ + "/CLEAN"));
  EXPECT_TRUE(Verify(*log, 20));
  Abandon(log);
  fs_->DropUnsyncedData(DropMode::kZero);  // the unsynced records may go; nothing else
  ReopenAndCheck(0);
}

// kNone: the fdatasync that seals a rolled segment (on the background thread) fails. The
// error is dropped (SealSegmentFiles(...).IgnoreError() in ShardLog::CompleteGroup), the
// segment stays unsynced, Close() syncs only the active segment and reports success, and a
// power cut then loses records that a successful Close() promised.
TEST_F(ShardLogFaultTest, RolledSegmentSealFsyncFailureIsNotIgnored) {
  opts_.durability = Durability::kNone;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  Writer()->DrainBackground();  // segment 1 and the spare exist
  // kNone issues no fdatasync of its own before the seal: the first one on segment 1 is it.
  fs_->InjectError(FaultOp::kSync, EIO, 1, format::SegmentFileName(1));
  AppendUntilRolls(*log, 1);
  // The failed seal runs in the background; once it has, the log reports it to every
  // append (the contract), so appends racing it may succeed or carry that error.
  for (int i = 0; i < 5; ++i) {
    AppendResult r = Append(*log);
    if (!r.status.ok()) {
      EXPECT_EQ(r.status.code(), Code::kFailed) << r.status;
      EXPECT_NE(r.status.message().find("fdatasync"), std::string::npos) << r.status;
      break;
    }
  }
  Writer()->DrainBackground();
  EXPECT_EQ(fs_->injected_faults(FaultOp::kSync), 1u);
  const uint64_t end = log->end_offset();
  Status st = log->Close();
  if (!st.ok()) {  // acceptable: the log says its data is not durable
    Abandon(log);
    return;
  }
  Abandon(log);
  fs_->DropUnsyncedData(DropMode::kZero);
  auto r = TryOpen();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(Verify(**r, end)) << "Close() returned OK, then a power cut lost records";
}

// ---------------------------------------------------------------------------------------
// fallocate / ENOSPC

TEST_F(ShardLogFaultTest, FallocateNoSpaceWhenRollingFailsWithNoSpace) {
  opts_.durability = Durability::kAlways;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  Writer()->DrainBackground();  // the first spare exists
  fs_->InjectError(FaultOp::kFallocate, ENOSPC, -1);  // the disk is full from now on
  AppendResult r;
  for (int i = 0; i < 2000; ++i) {
    r = Append(*log);
    if (!r.status.ok()) break;
  }
  ASSERT_FALSE(r.status.ok()) << "appends never needed a new segment";
  EXPECT_EQ(r.status.code(), Code::kNoSpace) << r.status;
  EXPECT_NE(r.status.message().find("fallocate"), std::string::npos) << r.status;
  EXPECT_GE(log->stats().rolls, 1u);  // the prepared spare was used first
  const uint64_t acked = acked_end();
  EXPECT_GT(acked, 64u);
  r = Append(*log);
  EXPECT_EQ(r.status.code(), Code::kNoSpace) << r.status;
  EXPECT_EQ(log->end_offset(), acked);
  EXPECT_TRUE(Verify(*log, acked));
  EXPECT_EQ(log->Close().code(), Code::kNoSpace);
  Abandon(log);
  // The failed creation removed its half-made file at once: on a full disk, the blocks a
  // failed fallocate kept (ext4 keeps what it got before ENOSPC) are wanted elsewhere.
  EXPECT_FALSE(AnyTmpFile()) << ::testing::PrintToString(Names());
  fs_->ClearFaults();
  {
    auto probe = OpenLog();
    ASSERT_TRUE(probe);
    Writer()->DrainBackground();  // the reopened log's own spare creation is done
    EXPECT_FALSE(AnyTmpFile()) << "the failed segment creation left a .tmp file behind: "
                               << ::testing::PrintToString(Names());
    Abandon(probe);
  }
  ReopenAndCheck(acked);
}

TEST_F(ShardLogFaultTest, FallocateNoSpaceAtOpen) {
  fs_->InjectError(FaultOp::kFallocate, ENOSPC, -1);
  auto r = TryOpen();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kNoSpace) << r.status();
  fs_->ClearFaults();
  ReopenAndCheck(0);
}

// A log stopped by a full disk is reopened while the disk is still full. Recovery cuts the
// preallocated zeros behind the last frame and cannot preallocate them again: the log must
// open anyway (every record readable, appends kNoSpace until there is room), not refuse to
// open. Found by engine_full_disk_test on ext4, where the blocks recovery frees are taken by
// another log's spare segment or stay unusable until the journal commits.
TEST_F(ShardLogFaultTest, ReopenOnAFullDiskNeedsNoFreeSpace) {
  opts_.durability = Durability::kAlways;
  opts_.segment_bytes = 4 << 20;  // the active segment is preallocated far past its frames
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 20);
  const uint64_t acked = acked_end();
  Abandon(log);  // no CLEAN marker: the next open scans the segment and cuts its tail
  fs_->InjectError(FaultOp::kFallocate, ENOSPC, -1);
  {
    auto full = TryOpen();
    ASSERT_TRUE(full.ok()) << "a full disk must not stop the log from opening: " << full.status();
    EXPECT_TRUE(Verify(**full, acked));
    AppendResult r = Append(**full);
    EXPECT_EQ(r.status.code(), Code::kNoSpace) << r.status;
    EXPECT_EQ((*full)->end_offset(), acked);
    EXPECT_TRUE(Verify(**full, acked));
    Abandon(*full);
  }
  fs_->ClearFaults();
  ReopenAndCheck(acked);
}

// The background creation of the next segment fails once: the roll creates it inline and
// nobody notices.
TEST_F(ShardLogFaultTest, TransientFallocateFailureOfTheSpareIsInvisible) {
  opts_.durability = Durability::kAlways;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  Writer()->DrainBackground();
  fs_->InjectError(FaultOp::kFallocate, ENOSPC, 1);
  AppendUntilRolls(*log, 3);
  EXPECT_EQ(fs_->injected_faults(FaultOp::kFallocate), 1u);
  EXPECT_GE(log->stats().inline_creates, 1u);
  EXPECT_TRUE(Verify(*log, acked_end()));
  const uint64_t acked = acked_end();
  CloseAndForget(log);
  ReopenAndCheck(acked);
}

// A segment file grows on demand (1 MiB first, doubled as it fills): a full disk when it
// must grow fails the append with kNoSpace, like a failed roll.
TEST_F(ShardLogFaultTest, FallocateNoSpaceWhenGrowingASegmentFailsWithNoSpace) {
  opts_.durability = Durability::kAlways;
  opts_.segment_bytes = 8 << 20;
  opts_.staging_bytes = 256 << 10;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  Writer()->DrainBackground();
  fs_->InjectError(FaultOp::kFallocate, ENOSPC, -1);
  AppendResult r;
  for (int i = 0; i < 20000; ++i) {
    r = Append(*log, 1, 4000);
    if (!r.status.ok()) break;
  }
  ASSERT_FALSE(r.status.ok()) << "the segment never had to grow";
  EXPECT_EQ(r.status.code(), Code::kNoSpace) << r.status;
  EXPECT_EQ(log->stats().rolls, 0u);
  const uint64_t acked = acked_end();
  EXPECT_GT(acked, 100u);
  EXPECT_EQ(Append(*log).status.code(), Code::kNoSpace);
  EXPECT_TRUE(Verify(*log, acked));
  EXPECT_FALSE(log->Close().ok());
  Abandon(log);
  fs_->ClearFaults();
  ReopenAndCheck(acked);
}

// ---------------------------------------------------------------------------------------
// Torn and split writes

class ShortWriteThenErrorTest : public ShardLogFaultTest,
                                public ::testing::WithParamInterface<size_t> {};

// A write that reached the page cache partially and then failed: the log fails, and the
// reopen truncates the torn tail (whole frames of the failed group may survive; they are
// the bytes sent).
TEST_P(ShortWriteThenErrorTest, TornTailIsTruncatedOnReopen) {
  const size_t prefix = GetParam();
  opts_.durability = Durability::kAlways;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 10, 500);
  const uint64_t acked_before = acked_end();
  Writer()->DrainBackground();
  fs_->InjectShortWriteThenError(prefix, EIO, ".seg");
  std::vector<std::shared_ptr<Outcome>> outs;
  for (int i = 0; i < 30; ++i) outs.push_back(Submit(*log, 1 + i % 2, 400));
  bool failed = false;
  for (auto& o : outs) {
    AppendResult r = Wait(o);
    ASSERT_NE(r.status.code(), Code::kInternal) << r.status;
    if (!r.status.ok()) failed = true;
    else EXPECT_FALSE(failed) << "acknowledged after a failure";
  }
  ASSERT_TRUE(failed);
  EXPECT_EQ(fs_->injected_faults(FaultOp::kWrite), 1u);
  const uint64_t acked = acked_end();
  EXPECT_GE(acked, acked_before);
  EXPECT_TRUE(Verify(*log, acked));
  EXPECT_FALSE(log->Close().ok());
  Abandon(log);
  // 40 bytes always end inside the group's first frame, which the reopen must cut off;
  // longer prefixes may cover whole frames or the whole group.
  ReopenAndCheck(acked, /*expect_torn=*/prefix == 40);
}

INSTANTIATE_TEST_SUITE_P(Prefix, ShortWriteThenErrorTest,
                         ::testing::Values(size_t{1}, size_t{40}, size_t{777}, size_t{4097},
                                           size_t{9999}));

class ShortWritesTest : public ShardLogFaultTest, public ::testing::WithParamInterface<Durability> {};

// Every write split in two (a short write plus the retry): nothing changes, including
// after a power cut that keeps only some of the pieces.
TEST_P(ShortWritesTest, SplitWritesChangeNothing) {
  opts_.durability = GetParam();
  opts_.interval_ms = 3;
  fs_->InjectShortWrites(-1);
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendUntilRolls(*log, 2, 700);
  ASSERT_TRUE(log->TrimBefore(30).ok());
  AppendOk(*log, 30, 900);
  EXPECT_GT(fs_->injected_short_writes(), 0u);
  EXPECT_TRUE(Verify(*log, acked_end()));
  const uint64_t end = log->end_offset();
  CloseAndForget(log);
  log = OpenLog();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->end_offset(), end);
  EXPECT_EQ(log->start_offset(), 30u);
  EXPECT_TRUE(Verify(*log, end));
  // Now a power cut with split writes in flight.
  AppendOk(*log, 40, 800);
  const uint64_t acked = acked_end();
  Abandon(log);
  fs_->DropUnsyncedData(DropMode::kTornPrefix, 12345);
  fs_->ClearFaults();
  ReopenAndCheck(GetParam() == Durability::kAlways ? acked : end);
}

INSTANTIATE_TEST_SUITE_P(Modes, ShortWritesTest,
                         ::testing::Values(Durability::kAlways, Durability::kInterval, Durability::kNone),
                         [](const ::testing::TestParamInfo<Durability>& p) {
                           return std::string(DurabilityName(p.param));
                         });

// ---------------------------------------------------------------------------------------
// Faults at open

struct OpenFaultCase {
  FaultOp op;
  const char* target;  // substring of the path
  bool open_fails;     // else the log opens without that file (it is optional)
};

class OpenFaultTest : public ShardLogFaultTest,
                      public ::testing::WithParamInterface<OpenFaultCase> {};

TEST_P(OpenFaultTest, ReportedNotCrashed) {
  const OpenFaultCase c = GetParam();
  opts_.durability = Durability::kAlways;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendUntilRolls(*log, 3);
  const uint64_t end = log->end_offset();
  CloseAndForget(log);
  ASSERT_TRUE(ExistsRaw(dir_ + "/CLEAN"));

  fs_->InjectError(c.op, EIO, 1, c.target);
  auto r = TryOpen();
  EXPECT_EQ(fs_->injected_faults(c.op), 1u) << "the fault never hit " << c.target;
  if (c.open_fails) {
    ASSERT_FALSE(r.ok()) << "Open succeeded although reading " << c.target << " failed";
    EXPECT_EQ(r.status().code(), Code::kIOError) << r.status();
    EXPECT_NE(r.status().message().find(c.target), std::string::npos)
        << "the error should name the file: " << r.status();
  } else {
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_FALSE((*r)->stats().recovered_clean);  // fell back to scanning
    EXPECT_TRUE(Verify(**r, end));
    Abandon(*r);
  }
  fs_->ClearFaults();
  writer_.reset();
  ReopenAndCheck(end);
}

INSTANTIATE_TEST_SUITE_P(
    Faults, OpenFaultTest,
    ::testing::Values(OpenFaultCase{FaultOp::kRead, "log.meta", true},
                      OpenFaultCase{FaultOp::kRead, ".seg", true},
                      OpenFaultCase{FaultOp::kRead, ".idx", true},
                      OpenFaultCase{FaultOp::kRead, "CLEAN", false},
                      OpenFaultCase{FaultOp::kOpen, "log.meta", true},
                      OpenFaultCase{FaultOp::kOpen, ".seg", true},
                      OpenFaultCase{FaultOp::kOpen, ".idx", true},
                      OpenFaultCase{FaultOp::kOpen, "CLEAN", false}),
    [](const ::testing::TestParamInfo<OpenFaultCase>& p) {
      std::string target = p.param.target;
      std::erase_if(target, [](char ch) { return ch == '.'; });
      return std::string(p.param.op == FaultOp::kRead ? "Read_" : "Open_") + target;
    });

// ---------------------------------------------------------------------------------------
// Files that vanish behind the log's back

class VanishedFileTest : public ShardLogFaultTest {
 protected:
  // A log of at least 4 non-empty segments (3 sealed + the active one).
  void Build(bool clean_close) {
    opts_.durability = Durability::kAlways;
    auto log = OpenLog();
    ASSERT_TRUE(log);
    AppendUntilRolls(*log, 3);
    AppendOk(*log, 5);
    Writer()->DrainBackground();
    end_ = log->end_offset();
    if (clean_close) CloseAndForget(log);
    else Abandon(log);
    segs_ = NonEmptySegments();
    ASSERT_GE(segs_.size(), 4u);
  }
  // Open must fail with a clear error, or open a log that holds every acknowledged record.
  void ExpectErrorOrEverything(const std::string& what) {
    auto r = TryOpen();
    if (!r.ok()) {
      EXPECT_TRUE(r.status().code() == Code::kCorruption || r.status().code() == Code::kNotFound)
          << what << ": " << r.status();
      EXPECT_FALSE(r.status().message().empty());
      std::printf("[%s] Open -> %s\n", what.c_str(), r.status().ToString().c_str());
      return;
    }
    auto& log = *r;
    std::printf("[%s] Open succeeded: [%llu, %llu), %llu acknowledged\n", what.c_str(),
                static_cast<unsigned long long>(log->start_offset()),
                static_cast<unsigned long long>(log->end_offset()),
                static_cast<unsigned long long>(end_));
    EXPECT_TRUE(Verify(*log, end_)) << what << ": the log opened but lost acknowledged records "
                                               "without an error";
  }
  uint64_t end_ = 0;
  std::vector<uint64_t> segs_;
};

TEST_F(VanishedFileTest, MiddleSealedSegmentAndIndexGoneIsCorruption) {
  Build(true);
  ASSERT_EQ(::unlink(SegPath(dir_, segs_[1]).c_str()), 0);
  ASSERT_EQ(::unlink(IdxPath(dir_, segs_[1]).c_str()), 0);
  auto r = TryOpen();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status();
  EXPECT_NE(r.status().message().find("missing"), std::string::npos) << r.status();
}

TEST_F(VanishedFileTest, MiddleSealedSegmentFileGoneIsCorruption) {
  Build(false);
  ASSERT_EQ(::unlink(SegPath(dir_, segs_[1]).c_str()), 0);
  auto r = TryOpen();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status();
}

// The sealed segment right before the active one vanishes, after a crash. Bug: the active
// segment is scanned with the previous segment's end as its expected base; its first frame
// does not match, which recovery takes for a torn tail, so it truncates the whole active
// segment: every acknowledged record in it is silently deleted, and the log continues at
// the lower offset (reusing offsets). Expected: kCorruption ("records [x, y) are missing").
TEST_F(VanishedFileTest, LastSealedSegmentGoneAfterCrashIsAnError) {
  Build(false);
  const uint64_t victim = segs_[segs_.size() - 2];
  ASSERT_TRUE(ExistsRaw(IdxPath(dir_, victim)));
  ASSERT_EQ(::unlink(SegPath(dir_, victim).c_str()), 0);
  ExpectErrorOrEverything("last sealed segment gone, crash");
}

// Same after a clean close. Bug: CLEAN no longer matches the previous segment's end, so the
// active segment is scanned instead, and the mismatch of its first frame is again taken for
// a torn tail: the whole active segment is truncated away without an error. (Before
// 7ee258e CLEAN was trusted blindly and the log opened with a hole that Read() reported as
// kInternal "no segment holds offset".)
TEST_F(VanishedFileTest, LastSealedSegmentGoneAfterCleanCloseIsAnError) {
  Build(true);
  const uint64_t victim = segs_[segs_.size() - 2];
  ASSERT_EQ(::unlink(SegPath(dir_, victim).c_str()), 0);
  ASSERT_EQ(::unlink(IdxPath(dir_, victim).c_str()), 0);
  ExpectErrorOrEverything("last sealed segment gone, clean close");
}

// The first segment vanishes. Bug: log.meta says the log starts at 0, the first segment
// left starts later; Open succeeds and Read(start_offset()) returns kInternal.
TEST_F(VanishedFileTest, FirstSegmentGoneIsAnError) {
  Build(true);
  ASSERT_EQ(::unlink(SegPath(dir_, segs_[0]).c_str()), 0);
  ASSERT_EQ(::unlink(IdxPath(dir_, segs_[0]).c_str()), 0);
  ExpectErrorOrEverything("first segment gone");
}

// log.meta vanishes from an untrimmed, unsealed log: recreating it (start 0) loses nothing.
TEST_F(VanishedFileTest, LogMetaGoneFromUntrimmedLog) {
  Build(true);
  ASSERT_EQ(::unlink((dir_ + "/log.meta").c_str()), 0);
  auto r = TryOpen();
  if (!r.ok()) {
    EXPECT_EQ(r.status().code(), Code::kCorruption) << r.status();
    return;
  }
  EXPECT_TRUE(Verify(**r, end_));
  EXPECT_EQ((*r)->start_offset(), 0u);
}

// log.meta vanishes from a trimmed log. Bug: Open recreates it with start 0 although the
// first segment now starts above 0: Read(start_offset()) returns kInternal, and records
// below the old trim point inside the first segment are readable again. Expected: an error
// (log.meta is missing but segments exist), or start_offset() at least at the first
// segment's base with no trimmed record readable.
TEST_F(VanishedFileTest, LogMetaGoneFromTrimmedLogIsAnError) {
  opts_.durability = Durability::kAlways;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendUntilRolls(*log, 3);
  // Trim into the middle of the second segment: the first is dropped, the second straddles.
  Writer()->DrainBackground();
  const auto segs = NonEmptySegments();
  const auto frames = FramesOf(SegPath(dir_, segs[1]));
  ASSERT_GE(frames.size(), 4u);
  const uint64_t trim = frames[frames.size() / 2].info.base_offset;
  ASSERT_TRUE(log->TrimBefore(trim).ok());
  Writer()->DrainBackground();
  CloseAndForget(log);
  ASSERT_EQ(::unlink((dir_ + "/log.meta").c_str()), 0);
  auto r = TryOpen();
  if (!r.ok()) {
    std::printf("log.meta gone after trim: Open -> %s\n", r.status().ToString().c_str());
    return;
  }
  EXPECT_GE((*r)->start_offset(), trim) << "trimmed records are readable again";
  ReadBatch b;
  Status st = (*r)->Read((*r)->start_offset(), 10, 1 << 20, &b);
  EXPECT_TRUE(st.ok()) << "Read(start_offset()) after log.meta vanished: " << st;
}

// log.meta vanishes from a sealed log. Bug: the log silently comes back unsealed and
// accepts appends (a resharded parent shard would grow again). Expected: an error.
TEST_F(VanishedFileTest, LogMetaGoneFromSealedLogIsAnError) {
  opts_.durability = Durability::kAlways;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 10);
  ASSERT_TRUE(log->Seal().ok());
  CloseAndForget(log);
  ASSERT_EQ(::unlink((dir_ + "/log.meta").c_str()), 0);
  auto r = TryOpen();
  if (!r.ok()) return;
  EXPECT_TRUE((*r)->sealed()) << "a sealed log came back unsealed";
}

// ---------------------------------------------------------------------------------------
// Trim

// The atomic rewrite of log.meta fails: TrimBefore reports it and nothing moves.
TEST_F(ShardLogFaultTest, TrimMetaWriteFailureIsReported) {
  opts_.durability = Durability::kAlways;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendUntilRolls(*log, 2);
  for (FaultOp op : {FaultOp::kRename, FaultOp::kSync, FaultOp::kWrite, FaultOp::kOpen}) {
    fs_->InjectError(op, EIO, 1, "log.meta");
    Status st = log->TrimBefore(50);
    EXPECT_FALSE(st.ok()) << io::FaultOpName(op);
    EXPECT_EQ(log->start_offset(), 0u) << io::FaultOpName(op);
    EXPECT_EQ(fs_->injected_faults(op), 1u) << io::FaultOpName(op);
  }
  EXPECT_TRUE(Verify(*log, acked_end()));
  AppendOk(*log, 3);  // a failed trim does not fail the log
  const uint64_t acked = acked_end();
  CloseAndForget(log);
  log = OpenLog();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->start_offset(), 0u);
  EXPECT_TRUE(Verify(*log, acked));
  ASSERT_TRUE(log->TrimBefore(50).ok());
  EXPECT_EQ(log->start_offset(), 50u);
  CloseAndForget(log);
  ReopenAndCheck(acked);
}

// TrimBefore() while the writer has rolled to a new segment but the last group of the old
// one is still waiting for its fdatasync (not yet published). Bug: TrimBefore drops every
// segment whose *published* end is <= the trim point, so it drops (and unlinks) the old
// segment although its unpublished group holds records at and above the trim point: those
// records are acknowledged a moment later and are then unreadable (Read -> kInternal "no
// segment holds offset") and gone after a reopen; the seal later writes an orphan .idx.
// Found by shard_log_powerloss_test. kInterval: in kAlways a roll waits until the old
// segment's groups are synced and published (see AlwaysCutTearingTheSegmentBeforeARoll-
// Reopens), so the race needs a mode that rolls ahead of the fdatasync. An interval of
// 1 ms makes the syncer fdatasync the segment at once, which is what the gate holds.
TEST_F(ShardLogFaultTest, TrimRacingARollKeepsUnpublishedRecords) {
  opts_.durability = Durability::kInterval;
  opts_.interval_ms = 1;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  Writer()->DrainBackground();
  FillFirstSegment(*log);
  ASSERT_EQ(log->stats().rolls, 0u);
  const uint64_t published = log->end_offset();
  ReleaseGateOnExit release{gate_.get()};  // a failed ASSERT must not leave the syncer held
  // The fill's own interval fdatasync is done by now, so the one the gate holds is due
  // when the small append reaches the syncer, which then publishes it only after the gate.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  gate_->Arm();
  auto small = Submit(*log, 1, 100);  // fits in segment 1; its fdatasync is held
  ASSERT_TRUE(gate_->WaitHeld());
  auto big = Submit(*log, 1, 5000);  // does not fit: the flusher rolls to segment 2
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (log->stats().rolls == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(log->stats().rolls, 1u);
  ASSERT_EQ(log->end_offset(), published);  // the small append is not published yet
  ASSERT_TRUE(log->TrimBefore(published).ok());
  gate_->Release();
  ASSERT_TRUE(Wait(small).status.ok());
  ASSERT_TRUE(Wait(big).status.ok());
  EXPECT_EQ(log->start_offset(), published);
  EXPECT_TRUE(Verify(*log, published + 2)) << "records above the trim point became unreadable";
  Writer()->DrainBackground();
  CloseAndForget(log);
  log = OpenLog();
  ASSERT_TRUE(log);
  EXPECT_TRUE(Verify(*log, published + 2)) << "records above the trim point were deleted";
}

// kAlways: the power goes while the last group of segment 1 waits for its fdatasync and
// the next group, too big for what is left of segment 1, is due to roll to segment 2. A cut
// persists writes to different files in no particular order (the page cache writes them
// back, and io_uring completes them, in any order), so it may tear segment 1's unsynced
// group and keep whatever reached segment 2. Bug: the flusher wrote the rolling group into
// segment 2 at once; after such a cut, recovery, which in kAlways takes "a damaged segment
// followed by one holding records" for damage to acknowledged data, refused to open the
// log ("000000000001.seg: damaged at byte N (CRC mismatch); but segment 000000000002.seg
// after it holds records, which were durable"), though none of those records had been
// acknowledged. Found by shard_log_powerloss_test (always_torn_*, about one run in ten with
// SHOAL_POWERLOSS_TRIALS=100). Fixed: in kAlways the roll waits until every group in flight
// is fdatasynced, so nothing reaches segment 2 while segment 1 can still be torn.
TEST_F(ShardLogFaultTest, AlwaysCutTearingTheSegmentBeforeARollReopens) {
  opts_.durability = Durability::kAlways;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  Writer()->DrainBackground();  // the spare, segment 2, exists
  FillFirstSegment(*log);
  ASSERT_EQ(log->stats().rolls, 0u);
  const uint64_t acked = acked_end();
  ReleaseGateOnExit release{gate_.get()};  // a failed ASSERT must not leave the syncer held
  gate_->Arm();
  auto small = Submit(*log, 1, 100);  // fits in segment 1; its fdatasync is held
  ASSERT_TRUE(gate_->WaitHeld());
  auto big = Submit(*log, 1, 5000);  // does not fit: segment 2
  // The flusher either rolls at once (the bug) or holds the roll back.
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (log->stats().rolls == 0 && log->stats().roll_waits == 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  EXPECT_EQ(log->stats().rolls, 0u) << "rolled while segment 1 had a write not yet durable";
  Writer()->DrainBackground();  // no background work races the cut

  // The cut, now: segment 1 keeps half of its unsynced frame (a torn writeback), segment 2
  // keeps everything written to it.
  const std::string seg1 = SegPath(dir_, 1);
  const std::string seg2 = SegPath(dir_, 2);
  const auto frames = FramesOf(seg1);
  ASSERT_FALSE(frames.empty());
  const testing::DiskFrame torn = frames.back();
  ASSERT_EQ(torn.info.base_offset, acked) << "the last frame of segment 1 is not the small append";
  const std::string bytes1 = testing::ReadRaw(seg1);
  ASSERT_TRUE(ExistsRaw(seg2));
  const std::string bytes2 = testing::ReadRaw(seg2);
  fs_->DropUnsyncedData(DropMode::kZero);
  testing::PwriteRaw(seg1, torn.pos, bytes1.substr(torn.pos, torn.info.len / 2));
  testing::PwriteRaw(seg2, 0, bytes2);
  // The power stays off until the log and its writer are gone: nothing changes on disk.
  for (FaultOp op : {FaultOp::kWrite, FaultOp::kSync, FaultOp::kFallocate, FaultOp::kRename,
                     FaultOp::kUnlink, FaultOp::kTruncate, FaultOp::kSyncDir})
    fs_->InjectError(op, EIO, -1);
  gate_->Release();  // that fdatasync "completes" after the cut: its ack does not count
  Wait(small);
  Wait(big);
  Abandon(log);
  fs_->ClearFaults();
  {
    std::lock_guard lk(done_mu_);
    acked_end_ = acked;  // acks after the cut promise nothing
  }
  ReopenAndCheck(acked, /*expect_torn=*/true);
}

// kInterval: segment 1's last group is written, the next group rolls to segment 2 and is
// written too, then the fdatasync covering the first fails (EIO, no power cut: every byte
// is in the files). Bug: completing the rolling group sealed segment 1 anyway, cutting it
// at its published end, i.e. before the failed group's frame; the reopen then found
// segment 2 starting past a sealed segment's end and refused the log ("records [n, n+1)
// are missing"). The CI journal of the always_torn_buffered failure showed the same path
// trying to unlink a segment whose only group had failed. Fixed: the rolled-from segment
// of a failed log is left as written, for recovery to scan.
TEST_F(ShardLogFaultTest, FsyncFailureAcrossARollKeepsTheOldSegmentWhole) {
  opts_.durability = Durability::kInterval;
  opts_.interval_ms = 1;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  Writer()->DrainBackground();
  FillFirstSegment(*log);
  const uint64_t published = log->end_offset();
  ReleaseGateOnExit release{gate_.get()};
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // see TrimRacingARoll...
  gate_->Arm();
  auto small = Submit(*log, 1, 100);  // fits in segment 1; its fdatasync is held
  ASSERT_TRUE(gate_->WaitHeld());
  auto big = Submit(*log, 1, 5000);  // rolls to segment 2 and is written
  const auto deadline = std::chrono::steady_clock::now() + kDeadline;
  while (FramesOf(SegPath(dir_, 2)).empty() && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(log->stats().rolls, 1u);
  ASSERT_EQ(FramesOf(SegPath(dir_, 2)).size(), 1u) << "the rolling group was not written";
  gate_->Release(EIO);
  EXPECT_FALSE(Wait(small).status.ok());
  EXPECT_FALSE(Wait(big).status.ok());
  Writer()->DrainBackground();
  EXPECT_FALSE(ExistsRaw(IdxPath(dir_, 1))) << "segment 1 was sealed below a failed group";
  Abandon(log);
  ReopenAndCheck(published);
}

// kNone: a trim up to the end, then a power cut that loses the whole active segment (and
// the sealed segments below the trim point are already unlinked). Recovery used to scan the
// remaining (now empty) segment with no expected base, take 0 and lower log.meta's start to
// it: the log restarted at offset 0 and handed out every offset again, including ones that
// were durable before the trim (found by shard_log_powerloss_test; fixed in 7ee258e, which
// passes the persisted start offset to the scan).
TEST_F(ShardLogFaultTest, PowerCutAfterTrimNeverRestartsAtOffsetZero) {
  opts_.durability = Durability::kNone;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendUntilRolls(*log, 1);
  Writer()->DrainBackground();  // segment 1 sealed: synced, with its .idx
  const auto segs = NonEmptySegments();
  ASSERT_GE(segs.size(), 2u);
  const auto frames = FramesOf(SegPath(dir_, segs[0]));
  const uint64_t sealed_end = frames.back().info.next_offset();
  AppendOk(*log, 5);
  const uint64_t end = log->end_offset();
  ASSERT_TRUE(log->TrimBefore(end).ok());
  Writer()->DrainBackground();  // segment 1 unlinked
  Abandon(log);
  fs_->DropUnsyncedData(DropMode::kZero);  // the active segment was never synced
  log = OpenLog();
  ASSERT_TRUE(log);
  EXPECT_GE(log->end_offset(), sealed_end)
      << "the log restarted at " << log->end_offset() << ", below offset " << sealed_end
      << " which was durable before the cut";
  EXPECT_GE(log->start_offset(), sealed_end);
}

// kNone (kInterval alike): records [0, n1) durable (clean close), [n1, n2) acknowledged but
// never synced, TrimBefore(n2) persisted, power cut. Design issue: recovery finds the log
// ending at n1 < the persisted start n2 and lowers the start to n1 (shard_log_recovery.cc,
// "resume there"), so start_offset() goes backwards and the trimmed offsets [n1, n2) are
// handed out again to new records: a consumer positioned at n2 silently skips them.
// Expected: the log resumes empty at the trim point ([n2, n2)), as TrimBefore promises
// ("never backwards").
TEST_F(ShardLogFaultTest, PowerCutAfterTrimKeepsTheTrimPoint) {
  opts_.durability = Durability::kNone;
  auto log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 20);
  CloseAndForget(log);
  log = OpenLog();
  ASSERT_TRUE(log);
  AppendOk(*log, 20);
  const uint64_t trim = log->end_offset();
  ASSERT_TRUE(log->TrimBefore(trim).ok());
  Abandon(log);
  fs_->DropUnsyncedData(DropMode::kZero);
  log = OpenLog();
  ASSERT_TRUE(log);
  EXPECT_EQ(log->start_offset(), trim) << "start_offset() went back below a persisted trim";
  AppendResult r = Append(*log);
  ASSERT_TRUE(r.status.ok()) << r.status;
  EXPECT_GE(r.first_offset, trim) << "a trimmed offset was handed out again";
}

}  // namespace
}  // namespace shoal
