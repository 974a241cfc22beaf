#include "io/uring_io_queue.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "io/file_system.h"
#include "tests/testlib/temp_dir.h"

namespace shoal::io {
namespace {

constexpr size_t kMiB = 1 << 20;

// Bytes whose value depends on the file and the position, so a piece written at the
// wrong offset or to the wrong file is caught.
std::string Pattern(size_t n, uint32_t salt) {
  std::string s(n, '\0');
  uint32_t x = salt * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

class UringIoQueueTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Result<std::unique_ptr<IoQueue>> q = NewUringIoQueue(8);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    queue_ = std::move(q).value();
  }

  UniqueFd OpenFile(const std::string& name) {
    Result<UniqueFd> fd = fs_->Open(dir_.Sub(name), {.write = true, .create = true});
    EXPECT_TRUE(fd.ok()) << fd.status().ToString();
    return fd.ok() ? std::move(fd).value() : UniqueFd();
  }

  std::string ReadAll(int fd) {
    Result<uint64_t> size = fs_->FileSize(fd);
    EXPECT_TRUE(size.ok());
    std::string out(size.ok() ? *size : 0, '\0');
    Result<size_t> got = fs_->Pread(fd, out.data(), out.size(), 0);
    EXPECT_TRUE(got.ok());
    out.resize(got.ok() ? *got : 0);
    return out;
  }

  std::shared_ptr<FileSystem> fs_ = DefaultFileSystem();
  testing::TempDir dir_;
  std::unique_ptr<IoQueue> queue_;
};

TEST_F(UringIoQueueTest, BatchedWritesToSeveralFilesThenSync) {
  constexpr int kFiles = 5;
  std::vector<UniqueFd> fds;
  std::vector<std::string> first, second;
  std::vector<WriteOp> ops;
  for (int i = 0; i < kFiles; ++i) {
    fds.push_back(OpenFile("f" + std::to_string(i)));
    first.push_back(Pattern(1000 + i * 37, i));
    second.push_back(Pattern(4096, 100 + i));
  }
  for (int i = 0; i < kFiles; ++i) {
    // Two adjacent writes per file in the same batch.
    ops.push_back(WriteOp{fds[i].get(), 0, first[i].data(), first[i].size(), {}});
    ops.push_back(
        WriteOp{fds[i].get(), first[i].size(), second[i].data(), second[i].size(), {}});
  }
  Status s = queue_->Write(ops);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const WriteOp& op : ops) EXPECT_TRUE(op.status.ok()) << op.status.ToString();

  std::vector<SyncOp> syncs;
  for (const UniqueFd& fd : fds) syncs.push_back(SyncOp{fd.get(), {}});
  s = queue_->Sync(syncs);
  ASSERT_TRUE(s.ok()) << s.ToString();
  for (const SyncOp& op : syncs) EXPECT_TRUE(op.status.ok());

  for (int i = 0; i < kFiles; ++i) EXPECT_EQ(ReadAll(fds[i].get()), first[i] + second[i]);
  const IoQueueStats& st = queue_->stats();
  EXPECT_EQ(st.writes, 2u * kFiles);
  EXPECT_EQ(st.syncs, static_cast<uint64_t>(kFiles));
  uint64_t total = 0;
  for (int i = 0; i < kFiles; ++i) total += first[i].size() + second[i].size();
  EXPECT_EQ(st.bytes, total);
  EXPECT_GE(st.submits, 2u);
}

TEST_F(UringIoQueueTest, ManyMoreOpsThanQueueDepth) {
  // 8-deep queue, 500 ops: the queue must keep refilling as completions arrive.
  UniqueFd fd = OpenFile("many");
  constexpr size_t kOps = 500;
  constexpr size_t kLen = 512;
  const std::string data = Pattern(kOps * kLen, 7);
  std::vector<WriteOp> ops;
  for (size_t i = 0; i < kOps; ++i) {
    ops.push_back(WriteOp{fd.get(), i * kLen, data.data() + i * kLen, kLen, {}});
  }
  ASSERT_TRUE(queue_->Write(ops).ok());
  for (const WriteOp& op : ops) ASSERT_TRUE(op.status.ok());
  EXPECT_EQ(ReadAll(fd.get()), data);
  EXPECT_EQ(queue_->stats().writes, kOps);

  std::vector<SyncOp> syncs(20, SyncOp{fd.get(), {}});
  ASSERT_TRUE(queue_->Sync(syncs).ok());
  EXPECT_EQ(queue_->stats().syncs, 20u);
}

TEST_F(UringIoQueueTest, WritesLargerThanOneMiBAreSplitAndLandIntact) {
  UniqueFd a = OpenFile("big_a");
  UniqueFd b = OpenFile("big_b");
  // Not a multiple of the 1 MiB piece size, and at an offset that is not either.
  const std::string big_a = Pattern(3 * kMiB + 12345, 1);
  const std::string big_b = Pattern(2 * kMiB, 2);
  std::vector<WriteOp> ops = {
      WriteOp{a.get(), 4096 + 3, big_a.data(), big_a.size(), {}},
      WriteOp{b.get(), 0, big_b.data(), big_b.size(), {}},
  };
  ASSERT_TRUE(queue_->Write(ops).ok());
  EXPECT_TRUE(ops[0].status.ok());
  EXPECT_TRUE(ops[1].status.ok());
  EXPECT_EQ(ReadAll(a.get()), std::string(4096 + 3, '\0') + big_a);
  EXPECT_EQ(ReadAll(b.get()), big_b);
  EXPECT_EQ(queue_->stats().bytes, big_a.size() + big_b.size());
}

TEST_F(UringIoQueueTest, BadFdFailsOnlyItsOwnOp) {
  UniqueFd good = OpenFile("good");
  const std::string d1 = Pattern(100, 1), d2 = Pattern(100, 2), d3 = Pattern(100, 3);
  // A descriptor number that is certainly not open.
  int closed = ::dup(good.get());
  ASSERT_GE(closed, 0);
  ::close(closed);
  std::vector<WriteOp> ops = {
      WriteOp{good.get(), 0, d1.data(), d1.size(), {}},
      WriteOp{closed, 0, d2.data(), d2.size(), {}},
      WriteOp{good.get(), 100, d3.data(), d3.size(), {}},
  };
  Status s = queue_->Write(ops);
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_TRUE(ops[0].status.ok());
  EXPECT_FALSE(ops[1].status.ok());
  EXPECT_TRUE(ops[2].status.ok());
  EXPECT_EQ(ReadAll(good.get()), d1 + d3);

  std::vector<SyncOp> syncs = {SyncOp{good.get(), {}}, SyncOp{closed, {}}};
  s = queue_->Sync(syncs);
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(syncs[0].status.ok());
  EXPECT_FALSE(syncs[1].status.ok());

  // The queue stays usable after errors.
  std::vector<WriteOp> again = {WriteOp{good.get(), 200, d2.data(), d2.size(), {}}};
  EXPECT_TRUE(queue_->Write(again).ok());
  EXPECT_EQ(ReadAll(good.get()), d1 + d3 + d2);
}

TEST_F(UringIoQueueTest, EmptyBatchesAndZeroLengthOpsSucceed) {
  UniqueFd fd = OpenFile("empty");
  EXPECT_TRUE(queue_->Write({}).ok());
  EXPECT_TRUE(queue_->Sync({}).ok());
  std::vector<WriteOp> ops = {WriteOp{fd.get(), 0, nullptr, 0, {}}};
  EXPECT_TRUE(queue_->Write(ops).ok());
  EXPECT_TRUE(ops[0].status.ok());
  EXPECT_EQ(ReadAll(fd.get()), "");
}

TEST_F(UringIoQueueTest, OpStatusIsResetOnReuse) {
  // A WriteOp reused from a failed batch must not carry the old error forward.
  UniqueFd fd = OpenFile("reuse");
  const std::string d = Pattern(10, 1);
  std::vector<WriteOp> ops = {WriteOp{fd.get(), 0, d.data(), d.size(),
                                      Status(Code::kIOError, "stale")}};
  EXPECT_TRUE(queue_->Write(ops).ok());
  EXPECT_TRUE(ops[0].status.ok());
}

// Child exit codes for the short-write test.
enum ChildExit : int {
  kChildOk = 0,
  kChildSetup = 10,
  kChildWriteSucceeded = 11,
  kChildOpStatusOk = 12,
  kChildNoShortWrite = 13,
  kChildWrongBytes = 14,
};

// A real short write from the kernel: with RLIMIT_FSIZE at 1.5 MiB, the write of the
// second 1 MiB piece is cut to 0.5 MiB, and the resubmitted remainder fails with EFBIG.
// The limit is per process, so the test runs in a forked child and reports by exit code.
TEST_F(UringIoQueueTest, KernelShortWriteIsResubmittedAndItsErrorSurfaces) {
  const std::string path = dir_.Sub("limited");
  constexpr size_t kLimit = kMiB + kMiB / 2;
  const std::string data = Pattern(2 * kMiB, 9);

  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: only async-signal-safe-ish, no gtest assertions; report via _exit.
    ::signal(SIGXFSZ, SIG_IGN);  // else the kernel kills us instead of returning EFBIG
    rlimit lim{kLimit, kLimit};
    if (::setrlimit(RLIMIT_FSIZE, &lim) != 0) ::_exit(kChildSetup);
    Result<UniqueFd> fd = DefaultFileSystem()->Open(path, {.write = true, .create = true});
    if (!fd.ok()) ::_exit(kChildSetup);
    // A ring created in the child: io_uring instances are not shared across fork.
    Result<std::unique_ptr<IoQueue>> q = NewUringIoQueue(8);
    if (!q.ok()) ::_exit(kChildSetup);
    std::vector<WriteOp> ops = {WriteOp{fd->get(), 0, data.data(), data.size(), {}}};
    Status s = (*q)->Write(ops);
    if (s.ok()) ::_exit(kChildWriteSucceeded);
    if (ops[0].status.ok()) ::_exit(kChildOpStatusOk);
    if ((*q)->stats().short_writes < 1) ::_exit(kChildNoShortWrite);
    if ((*q)->stats().bytes != kLimit) ::_exit(kChildWrongBytes);
    ::_exit(kChildOk);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  ASSERT_TRUE(WIFEXITED(wstatus)) << "child died by signal " << WTERMSIG(wstatus);
  ASSERT_EQ(WEXITSTATUS(wstatus), kChildOk)
      << "10 setup, 11 write succeeded, 12 op status ok, 13 no short write, 14 wrong bytes";

  Result<UniqueFd> fd = fs_->Open(path, {});
  ASSERT_TRUE(fd.ok());
  std::string on_disk = ReadAll(fd->get());
  ASSERT_EQ(on_disk.size(), kLimit);
  EXPECT_TRUE(on_disk == data.substr(0, kLimit)) << "the first 1.5 MiB must be intact";
}

}  // namespace
}  // namespace shoal::io
