#include "io/file_system.h"

#include <errno.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "io/fault_file_system.h"
#include "tests/testlib/temp_dir.h"

namespace shoal::io {
namespace {

class FileSystemTest : public ::testing::Test {
 protected:
  std::shared_ptr<FileSystem> fs_ = DefaultFileSystem();
  testing::TempDir dir_;
};

TEST_F(FileSystemTest, WriteFileAtomicThenReadWholeFileRoundTrips) {
  const std::string path = dir_.Sub("meta");
  ASSERT_TRUE(WriteFileAtomic(*fs_, path, "first version").ok());
  Result<std::string> got = ReadWholeFile(*fs_, path);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "first version");

  // Replacing with a shorter value must not leave the tail of the old one.
  ASSERT_TRUE(WriteFileAtomic(*fs_, path, "v2").ok());
  got = ReadWholeFile(*fs_, path);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  EXPECT_EQ(*got, "v2");
  EXPECT_FALSE(fs_->Exists(path + ".tmp"));
}

TEST_F(FileSystemTest, WriteFileAtomicHandlesEmptyAndBinaryData) {
  const std::string path = dir_.Sub("bin");
  std::string data(100000, '\0');
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(WriteFileAtomic(*fs_, path, data).ok());
  Result<std::string> got = ReadWholeFile(*fs_, path);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data);

  ASSERT_TRUE(WriteFileAtomic(*fs_, path, "").ok());
  got = ReadWholeFile(*fs_, path);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "");
}

// A failure before the rename (here a full disk) keeps the old file, leaves no half-written
// .tmp holding blocks, and names the file: pwrite and fdatasync errors know only an fd.
TEST_F(FileSystemTest, FailedWriteFileAtomicKeepsTheOldFileAndLeavesNoTmp) {
  auto faulty = std::make_shared<FaultFileSystem>(fs_);
  const std::string path = dir_.Sub("meta");
  ASSERT_TRUE(WriteFileAtomic(*faulty, path, "old").ok());
  faulty->InjectError(FaultOp::kWrite, ENOSPC, 1);
  Status st = WriteFileAtomic(*faulty, path, "new");
  EXPECT_EQ(st.code(), Code::kNoSpace) << st;
  EXPECT_EQ(st.message().rfind("writing " + path + ": ", 0), 0u) << st;
  EXPECT_FALSE(fs_->Exists(path + ".tmp"));
  Result<std::string> got = ReadWholeFile(*fs_, path);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, "old");
}

TEST_F(FileSystemTest, LockFileGivesBusyToASecondLocker) {
  const std::string path = dir_.Sub("LOCK");
  Result<UniqueFd> first = fs_->LockFile(path);
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  EXPECT_TRUE(fs_->Exists(path));

  Result<UniqueFd> second = fs_->LockFile(path);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.status().code(), Code::kBusy) << second.status().ToString();

  // Closing the holder releases the lock.
  first->Reset();
  Result<UniqueFd> third = fs_->LockFile(path);
  EXPECT_TRUE(third.ok()) << third.status().ToString();
}

TEST_F(FileSystemTest, MissingFilesMapToNotFound) {
  const std::string missing = dir_.Sub("missing");
  Result<UniqueFd> fd = fs_->Open(missing, {});
  ASSERT_FALSE(fd.ok());
  EXPECT_EQ(fd.status().code(), Code::kNotFound) << fd.status().ToString();
  EXPECT_NE(fd.status().message().find(missing), std::string::npos) << "message names the file";

  EXPECT_EQ(ReadWholeFile(*fs_, missing).status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->Unlink(missing).code(), Code::kNotFound);
  EXPECT_EQ(fs_->Rename(missing, dir_.Sub("other")).code(), Code::kNotFound);
  EXPECT_EQ(fs_->ListDir(dir_.Sub("nodir")).status().code(), Code::kNotFound);
  EXPECT_EQ(fs_->SyncDir(dir_.Sub("nodir")).code(), Code::kNotFound);
  EXPECT_FALSE(fs_->Exists(missing));
}

TEST_F(FileSystemTest, ExclusiveCreateOfAnExistingFileIsAlreadyExists) {
  const std::string path = dir_.Sub("x");
  ASSERT_TRUE(fs_->Open(path, {.write = true, .create = true, .exclusive = true}).ok());
  Result<UniqueFd> again = fs_->Open(path, {.write = true, .create = true, .exclusive = true});
  ASSERT_FALSE(again.ok());
  EXPECT_EQ(again.status().code(), Code::kAlreadyExists);
}

TEST_F(FileSystemTest, StatusFromErrnoMapsCodes) {
  EXPECT_EQ(Status::FromErrno(ENOSPC, "w").code(), Code::kNoSpace);
  EXPECT_EQ(Status::FromErrno(EDQUOT, "w").code(), Code::kNoSpace);
  EXPECT_EQ(Status::FromErrno(ENOENT, "w").code(), Code::kNotFound);
  EXPECT_EQ(Status::FromErrno(EEXIST, "w").code(), Code::kAlreadyExists);
  EXPECT_EQ(Status::FromErrno(EIO, "w").code(), Code::kIOError);
  Status s = Status::FromErrno(EIO, "pwrite /data/x.seg");
  EXPECT_NE(s.message().find("pwrite /data/x.seg"), std::string::npos);
}

TEST_F(FileSystemTest, ListDirReturnsEntriesWithoutDots) {
  ASSERT_TRUE(fs_->MakeDir(dir_.Sub("sub")).ok());
  ASSERT_TRUE(fs_->MakeDir(dir_.Sub("sub")).ok()) << "MakeDir is OK when the dir exists";
  for (const char* name : {"a", "b.seg", "c.idx"}) {
    ASSERT_TRUE(fs_->Open(dir_.Sub(name), {.write = true, .create = true}).ok());
  }
  Result<std::vector<std::string>> names = fs_->ListDir(dir_.path());
  ASSERT_TRUE(names.ok()) << names.status().ToString();
  std::vector<std::string> sorted = *names;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, (std::vector<std::string>{"a", "b.seg", "c.idx", "sub"}));

  Result<std::vector<std::string>> empty = fs_->ListDir(dir_.Sub("sub"));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  EXPECT_TRUE(fs_->RemoveDir(dir_.Sub("sub")).ok());
  EXPECT_FALSE(fs_->Exists(dir_.Sub("sub")));
}

TEST_F(FileSystemTest, FallocateExtendsSizeAndReadsAsZeros) {
  Result<UniqueFd> fd = fs_->Open(dir_.Sub("seg"), {.write = true, .create = true});
  ASSERT_TRUE(fd.ok());
  ASSERT_TRUE(fs_->Pwrite(fd->get(), "abc", 3, 0).ok());
  ASSERT_TRUE(fs_->Fallocate(fd->get(), 0, 1 << 20).ok());
  Result<uint64_t> size = fs_->FileSize(fd->get());
  ASSERT_TRUE(size.ok());
  EXPECT_EQ(*size, 1u << 20);

  std::string buf(16, 'x');
  Result<size_t> got = fs_->Pread(fd->get(), buf.data(), buf.size(), 0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, buf.size());
  EXPECT_EQ(buf, std::string("abc") + std::string(13, '\0'));

  // A smaller range never shrinks the file.
  ASSERT_TRUE(fs_->Fallocate(fd->get(), 0, 4096).ok());
  EXPECT_EQ(fs_->FileSize(fd->get()).value(), 1u << 20);
}

TEST_F(FileSystemTest, PwritePreadTruncateAndShortReadAtEnd) {
  Result<UniqueFd> fd = fs_->Open(dir_.Sub("f"), {.write = true, .create = true});
  ASSERT_TRUE(fd.ok());
  const std::string data = "hello, shoal";
  ASSERT_TRUE(fs_->Pwrite(fd->get(), data.data(), data.size(), 100).ok());
  EXPECT_EQ(fs_->FileSize(fd->get()).value(), 100 + data.size());

  std::string buf(64, '\0');
  Result<size_t> got = fs_->Pread(fd->get(), buf.data(), buf.size(), 100);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, data.size()) << "short only at end of file";
  EXPECT_EQ(buf.substr(0, *got), data);

  ASSERT_TRUE(fs_->Truncate(fd->get(), 105).ok());
  EXPECT_EQ(fs_->FileSize(fd->get()).value(), 105u);
  got = fs_->Pread(fd->get(), buf.data(), buf.size(), 200);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, 0u);
}

TEST_F(FileSystemTest, ReadOnlyOpenCannotWrite) {
  const std::string path = dir_.Sub("ro");
  ASSERT_TRUE(WriteFileAtomic(*fs_, path, "data").ok());
  Result<UniqueFd> fd = fs_->Open(path, {});
  ASSERT_TRUE(fd.ok());
  EXPECT_FALSE(fs_->Pwrite(fd->get(), "x", 1, 0).ok());
}

TEST_F(FileSystemTest, RenameReplacesTargetAndUnlinkRemoves) {
  ASSERT_TRUE(WriteFileAtomic(*fs_, dir_.Sub("a"), "A").ok());
  ASSERT_TRUE(WriteFileAtomic(*fs_, dir_.Sub("b"), "B").ok());
  ASSERT_TRUE(fs_->Rename(dir_.Sub("a"), dir_.Sub("b")).ok());
  EXPECT_FALSE(fs_->Exists(dir_.Sub("a")));
  EXPECT_EQ(ReadWholeFile(*fs_, dir_.Sub("b")).value(), "A");
  ASSERT_TRUE(fs_->Unlink(dir_.Sub("b")).ok());
  EXPECT_FALSE(fs_->Exists(dir_.Sub("b")));
}

TEST_F(FileSystemTest, MapReadsTheFile) {
  const std::string path = dir_.Sub("m");
  ASSERT_TRUE(WriteFileAtomic(*fs_, path, "mapped bytes").ok());
  Result<UniqueFd> fd = fs_->Open(path, {});
  ASSERT_TRUE(fd.ok());
  Result<MappedRegion> m = fs_->Map(fd->get(), 12, path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  ASSERT_EQ(m->size(), 12u);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()), "mapped bytes");

  Result<MappedRegion> empty = fs_->Map(fd->get(), 0, path);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
}

TEST(DirNameTest, SplitsPaths) {
  EXPECT_EQ(DirName("a/b/c"), "a/b");
  EXPECT_EQ(DirName("/a"), "/");
  EXPECT_EQ(DirName("c"), ".");
  EXPECT_EQ(DirName("/data/shard-1/log.meta"), "/data/shard-1");
}

}  // namespace
}  // namespace shoal::io
