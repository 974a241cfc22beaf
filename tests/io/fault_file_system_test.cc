#include "io/fault_file_system.h"

#include <errno.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/testlib/temp_dir.h"

namespace shoal::io {
namespace {

std::string Bytes(size_t n, char c) { return std::string(n, c); }

std::string Pattern(size_t n, uint32_t salt) {
  std::string s(n, '\0');
  uint32_t x = salt * 2654435761u + 1;
  for (size_t i = 0; i < n; ++i) {
    x = x * 1664525u + 1013904223u;
    s[i] = static_cast<char>(x >> 24);
  }
  return s;
}

class FaultFileSystemTest : public ::testing::Test {
 protected:
  UniqueFd Create(const std::string& name) {
    Result<UniqueFd> fd = fs_->Open(dir_.Sub(name), {.write = true, .create = true});
    EXPECT_TRUE(fd.ok()) << fd.status().ToString();
    return fd.ok() ? std::move(fd).value() : UniqueFd();
  }

  void Write(int fd, const std::string& data, uint64_t offset) {
    Status s = fs_->Pwrite(fd, data.data(), data.size(), offset);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  void Sync(int fd) {
    Status s = fs_->Fdatasync(fd);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  // The file's bytes as the real file system sees them (bypassing the double).
  std::string Contents(const std::string& name) {
    Result<std::string> got = ReadWholeFile(*DefaultFileSystem(), dir_.Sub(name));
    EXPECT_TRUE(got.ok()) << got.status().ToString();
    return got.ok() ? *got : std::string();
  }

  testing::TempDir dir_;
  std::shared_ptr<FaultFileSystem> fs_ = std::make_shared<FaultFileSystem>();
};

// --- forwarding -------------------------------------------------------------------

TEST_F(FaultFileSystemTest, ForwardsOrdinaryOperations) {
  UniqueFd fd = Create("a");
  Write(fd.get(), "hello", 0);
  std::string buf(5, '\0');
  Result<size_t> got = fs_->Pread(fd.get(), buf.data(), buf.size(), 0);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(buf, "hello");
  EXPECT_EQ(fs_->FileSize(fd.get()).value(), 5u);
  EXPECT_TRUE(fs_->Exists(dir_.Sub("a")));
  ASSERT_TRUE(fs_->MakeDir(dir_.Sub("d")).ok());
  Result<std::vector<std::string>> names = fs_->ListDir(dir_.path());
  ASSERT_TRUE(names.ok());
  EXPECT_EQ(names->size(), 2u);
  EXPECT_TRUE(fs_->RemoveDir(dir_.Sub("d")).ok());
  EXPECT_TRUE(fs_->SyncDir(dir_.path()).ok());
  EXPECT_EQ(fs_->Open(dir_.Sub("missing"), {}).status().code(), Code::kNotFound);

  Result<UniqueFd> lock = fs_->LockFile(dir_.Sub("LOCK"));
  ASSERT_TRUE(lock.ok());
  EXPECT_EQ(fs_->LockFile(dir_.Sub("LOCK")).status().code(), Code::kBusy);
}

TEST_F(FaultFileSystemTest, WriteFileAtomicAndReadWholeFileWorkThroughTheDouble) {
  ASSERT_TRUE(WriteFileAtomic(*fs_, dir_.Sub("meta"), "state-1").ok());
  EXPECT_EQ(ReadWholeFile(*fs_, dir_.Sub("meta")).value(), "state-1");
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("meta")), 0u);
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("meta"), "state-1") << "synced before the rename, so it survives";
}

TEST_F(FaultFileSystemTest, MapReadsTheRealFileBeforeAndAfterADrop) {
  UniqueFd fd = Create("m");
  ASSERT_TRUE(fs_->Fallocate(fd.get(), 0, 4096).ok());
  Write(fd.get(), "synced", 0);
  Sync(fd.get());
  Write(fd.get(), "lost", 6);
  Result<MappedRegion> m = fs_->Map(fd.get(), 4096, "m");
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  const auto* p = reinterpret_cast<const char*>(m->data());
  EXPECT_EQ(std::string(p, 10), "syncedlost");
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(std::string(p, 10), std::string("synced") + Bytes(4, '\0'));
}

// --- tracking and DropUnsyncedData ----------------------------------------------------

TEST_F(FaultFileSystemTest, ZeroModeTruncatesUnsyncedAppendsAndKeepsSyncedData) {
  UniqueFd fd = Create("log");
  Write(fd.get(), "AAAA", 0);
  Sync(fd.get());
  Write(fd.get(), "BBBB", 4);
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("log")), 4u);
  EXPECT_EQ(Contents("log"), "AAAABBBB");

  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("log"), "AAAA");
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("log")), 0u);
}

TEST_F(FaultFileSystemTest, ZeroModeZeroesUnsyncedOverwritesInsideTheSyncedSize) {
  UniqueFd fd = Create("f");
  Write(fd.get(), Bytes(100, 'a'), 0);
  Sync(fd.get());
  Write(fd.get(), Bytes(20, 'b'), 10);   // overwrite inside the synced size
  Write(fd.get(), Bytes(30, 'c'), 90);   // straddles the synced end
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("f"), Bytes(10, 'a') + Bytes(20, '\0') + Bytes(60, 'a') + Bytes(10, '\0'));
}

TEST_F(FaultFileSystemTest, ZeroModeInsideFallocatedSpaceKeepsTheSize) {
  // Shoal's segments: fallocate()d up front, then appended to. Fallocate is metadata,
  // durable at once; the unsynced frames inside it become zeros.
  UniqueFd fd = Create("seg");
  ASSERT_TRUE(fs_->Fallocate(fd.get(), 0, 8192).ok());
  Write(fd.get(), Bytes(4096, 'h'), 0);
  Sync(fd.get());
  Write(fd.get(), Bytes(1000, 'f'), 4096);
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("seg"), Bytes(4096, 'h') + Bytes(4096, '\0'));
}

TEST_F(FaultFileSystemTest, SyncedDataSurvivesEveryMode) {
  for (DropMode mode : {DropMode::kZero, DropMode::kTornPrefix, DropMode::kKeep}) {
    const std::string name = "s" + std::to_string(static_cast<int>(mode));
    UniqueFd fd = Create(name);
    const std::string synced = Pattern(10000, 1);
    Write(fd.get(), synced, 0);
    Sync(fd.get());
    Write(fd.get(), Pattern(5000, 2), synced.size());
    fs_->DropUnsyncedData(mode, 42);
    const std::string after = Contents(name);
    ASSERT_GE(after.size(), synced.size());
    EXPECT_TRUE(after.substr(0, synced.size()) == synced) << "mode " << static_cast<int>(mode);
  }
}

TEST_F(FaultFileSystemTest, KeepModeKeepsEverythingAndClearsTracking) {
  UniqueFd fd = Create("k");
  Write(fd.get(), "12345", 0);
  fs_->DropUnsyncedData(DropMode::kKeep, 1);
  EXPECT_EQ(Contents("k"), "12345");
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("k")), 0u);
  // What survived a cut is on disk now: a second cut finds nothing to drop.
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("k"), "12345");
}

TEST_F(FaultFileSystemTest, DropAppliesToFilesAlreadyClosed) {
  {
    UniqueFd fd = Create("closed");
    Write(fd.get(), "durable", 0);
    Sync(fd.get());
    Write(fd.get(), "-volatile", 7);
  }  // closed without the double knowing
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("closed"), "durable");
}

TEST_F(FaultFileSystemTest, FailedSyncLeavesDataUnsynced) {
  UniqueFd fd = Create("f");
  Write(fd.get(), "data", 0);
  fs_->InjectError(FaultOp::kSync, EIO);
  Status s = fs_->Fdatasync(fd.get());
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("f")), 4u);
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("f"), "");
}

TEST_F(FaultFileSystemTest, SyncCoversOnlyItsOwnFile) {
  UniqueFd a = Create("a");
  UniqueFd b = Create("b");
  Write(a.get(), "aaaa", 0);
  Write(b.get(), "bbbb", 0);
  Sync(a.get());
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("a"), "aaaa");
  EXPECT_EQ(Contents("b"), "");
}

TEST_F(FaultFileSystemTest, UnsyncedBytesCountsOverlapsOnce) {
  UniqueFd fd = Create("o");
  Write(fd.get(), Bytes(100, 'x'), 0);
  Write(fd.get(), Bytes(100, 'y'), 50);
  Write(fd.get(), Bytes(10, 'z'), 500);
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("o")), 160u);
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("nothing")), 0u);
}

TEST_F(FaultFileSystemTest, TruncateIsDurableImmediately) {
  UniqueFd fd = Create("t");
  Write(fd.get(), Bytes(100, 'x'), 0);
  Sync(fd.get());
  Write(fd.get(), Bytes(100, 'y'), 100);
  ASSERT_TRUE(fs_->Truncate(fd.get(), 150).ok());
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("t")), 50u) << "bytes cut off cannot be lost";
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("t"), Bytes(100, 'x') + Bytes(50, '\0'));
}

TEST_F(FaultFileSystemTest, PreexistingFilesAreTreatedAsSynced) {
  ASSERT_TRUE(WriteFileAtomic(*DefaultFileSystem(), dir_.Sub("old"), "before").ok());
  UniqueFd fd = Create("old");
  Write(fd.get(), "++", 6);
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("old"), "before");
}

// --- renames and unlinks ------------------------------------------------------------

TEST_F(FaultFileSystemTest, RenameMovesTrackingToTheNewPath) {
  {
    UniqueFd fd = Create("seg.tmp");
    Write(fd.get(), "synced", 0);
    Sync(fd.get());
    Write(fd.get(), "unsynced", 6);
  }
  ASSERT_TRUE(fs_->Rename(dir_.Sub("seg.tmp"), dir_.Sub("seg")).ok());
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("seg")), 8u);
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("seg.tmp")), 0u);
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("seg"), "synced");
  EXPECT_FALSE(DefaultFileSystem()->Exists(dir_.Sub("seg.tmp"))) << "drop must not recreate it";
}

TEST_F(FaultFileSystemTest, RenameOverATrackedFileForgetsTheReplacedOne) {
  UniqueFd old_fd = Create("target");
  Write(old_fd.get(), Bytes(50, 'o'), 0);  // unsynced, then replaced
  UniqueFd new_fd = Create("target.new");
  Write(new_fd.get(), "new", 0);
  Sync(new_fd.get());
  ASSERT_TRUE(fs_->Rename(dir_.Sub("target.new"), dir_.Sub("target")).ok());
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("target"), "new");
}

TEST_F(FaultFileSystemTest, RenamingADirectoryMovesTheFilesInside) {
  ASSERT_TRUE(fs_->MakeDir(dir_.Sub("shard-1")).ok());
  {
    UniqueFd fd = Create("shard-1/000.seg");
    Write(fd.get(), "keep", 0);
    Sync(fd.get());
    Write(fd.get(), "drop", 4);
  }
  ASSERT_TRUE(fs_->Rename(dir_.Sub("shard-1"), dir_.Sub("shard-1.deleted")).ok());
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("shard-1.deleted/000.seg")), 4u);
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("shard-1.deleted/000.seg"), "keep");
}

TEST_F(FaultFileSystemTest, UnlinkedFilesAreForgotten) {
  {
    UniqueFd fd = Create("gone");
    Write(fd.get(), "data", 0);
  }
  ASSERT_TRUE(fs_->Unlink(dir_.Sub("gone")).ok());
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("gone")), 0u);
  // A new file under the same name (likely the same inode number) is a new file.
  UniqueFd fd = Create("gone");
  Write(fd.get(), "fresh", 0);
  Sync(fd.get());
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("gone"), "fresh");
}

TEST_F(FaultFileSystemTest, FilesRemovedBehindItsBackAreSkipped) {
  {
    UniqueFd fd = Create("external");
    Write(fd.get(), "data", 0);
  }
  ASSERT_EQ(::unlink(dir_.Sub("external").c_str()), 0);
  fs_->DropUnsyncedData(DropMode::kZero, 1);  // must not abort or recreate the file
  EXPECT_FALSE(DefaultFileSystem()->Exists(dir_.Sub("external")));
}

TEST_F(FaultFileSystemTest, ReusedFdNumberOfAnUntrackedFileIsNotTracked) {
  int reused = -1;
  {
    UniqueFd fd = Create("tracked");
    Write(fd.get(), "lost", 0);
    reused = fd.get();
  }
  // Opened behind the double's back: it gets the fd number just freed.
  const std::string other = dir_.Sub("untracked");
  int raw = ::open(other.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_GE(raw, 0);
  UniqueFd guard(raw);
  ASSERT_EQ(raw, reused) << "test assumes the lowest free fd number is reused";
  Write(raw, "mine", 0);
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("tracked")), 4u);
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("tracked"), "");
  EXPECT_EQ(Contents("untracked"), "mine");
}

// --- torn prefix ------------------------------------------------------------------

// The image DropUnsyncedData(kTornPrefix) must produce when `keep` unsynced bytes
// survive: zeros over a file of the synced size, then the writes replayed in order
// until `keep` bytes are used.
struct W {
  uint64_t offset;
  std::string data;
};
std::string TornImage(const std::string& synced, const std::vector<W>& writes, uint64_t keep) {
  std::string img = synced;
  for (const W& w : writes) {
    if (w.offset < img.size()) {
      size_t n = std::min<size_t>(img.size() - w.offset, w.data.size());
      std::fill_n(img.begin() + static_cast<std::ptrdiff_t>(w.offset), n, '\0');
    }
  }
  for (const W& w : writes) {
    if (keep == 0) break;
    size_t n = std::min<size_t>(keep, w.data.size());
    if (img.size() < w.offset + n) img.resize(w.offset + n, '\0');
    img.replace(w.offset, n, w.data.substr(0, n));
    keep -= n;
  }
  return img;
}

// Returns the `keep` values whose image matches `actual`.
std::vector<uint64_t> MatchingPrefixes(const std::string& synced, const std::vector<W>& writes,
                                       const std::string& actual) {
  uint64_t total = 0;
  for (const W& w : writes) total += w.data.size();
  std::vector<uint64_t> out;
  for (uint64_t k = 0; k <= total; ++k) {
    if (TornImage(synced, writes, k) == actual) out.push_back(k);
  }
  return out;
}

TEST_F(FaultFileSystemTest, TornPrefixKeepsAPrefixOfTheUnsyncedWritesInOrder) {
  const std::string synced = Pattern(64, 1);
  const std::vector<W> writes = {{64, Pattern(40, 2)}, {104, Pattern(30, 3)}, {10, Pattern(20, 4)}};
  std::set<uint64_t> seen;
  for (uint64_t seed = 0; seed < 40; ++seed) {
    const std::string name = "torn" + std::to_string(seed);
    {
      UniqueFd fd = Create(name);
      Write(fd.get(), synced, 0);
      Sync(fd.get());
      for (const W& w : writes) Write(fd.get(), w.data, w.offset);
    }
    fs_->DropUnsyncedData(DropMode::kTornPrefix, seed);
    std::vector<uint64_t> ks = MatchingPrefixes(synced, writes, Contents(name));
    ASSERT_EQ(ks.size(), 1u) << "seed " << seed << ": the file is no prefix of the writes";
    seen.insert(ks[0]);
  }
  // 40 draws from 91 values: the prefix really varies with the seed.
  EXPECT_GE(seen.size(), 10u);
}

TEST_F(FaultFileSystemTest, TornPrefixKeptBytesWinOverLaterLostOverwrites) {
  // A then B overlapping A's second half: if A survives and B only partly, the part of
  // A that B overwrote in the page cache must come back as A's bytes, not zeros.
  const std::vector<W> writes = {{0, Bytes(100, 'a')}, {50, Bytes(100, 'b')}};
  bool saw_partial_b = false;
  for (uint64_t seed = 0; seed < 64; ++seed) {
    const std::string name = "ov" + std::to_string(seed);
    {
      UniqueFd fd = Create(name);
      for (const W& w : writes) Write(fd.get(), w.data, w.offset);
    }
    fs_->DropUnsyncedData(DropMode::kTornPrefix, seed);
    std::vector<uint64_t> ks = MatchingPrefixes("", writes, Contents(name));
    ASSERT_EQ(ks.size(), 1u) << "seed " << seed;
    if (ks[0] > 100 && ks[0] < 150) {
      saw_partial_b = true;
      const std::string c = Contents(name);
      EXPECT_EQ(c.substr(0, 50), Bytes(50, 'a'));
      EXPECT_EQ(c.substr(50 + (ks[0] - 100)), Bytes(100 - (ks[0] - 50), 'a'));
    }
  }
  EXPECT_TRUE(saw_partial_b) << "no seed in 0..63 cut inside B; widen the seed range";
}

TEST_F(FaultFileSystemTest, TornPrefixIsReproducibleFromTheSeed) {
  // The same writes to two sets of files, cut with the same seed, give the same images.
  auto run = [&](const std::string& prefix, uint64_t seed) {
    for (int i = 0; i < 3; ++i) {
      UniqueFd fd = Create(prefix + std::to_string(i));
      Write(fd.get(), Pattern(1000, i), 0);
      Write(fd.get(), Pattern(1000, i + 10), 1000);
    }
    fs_->DropUnsyncedData(DropMode::kTornPrefix, seed);
    std::vector<std::string> out;
    for (int i = 0; i < 3; ++i) out.push_back(Contents(prefix + std::to_string(i)));
    return out;
  };
  const std::vector<std::string> first = run("x", 1234);
  EXPECT_TRUE(first == run("y", 1234));
  EXPECT_FALSE(first == run("z", 99)) << "a different seed should cut elsewhere";
}

TEST_F(FaultFileSystemTest, ShortWritesAreTrackedAsTwoPiecesSoATornCutCanSplitThem) {
  fs_->InjectShortWrites(1);
  UniqueFd fd = Create("split");
  const std::string data = Pattern(100, 5);
  Write(fd.get(), data, 0);
  EXPECT_EQ(Contents("split"), data) << "the final result of a split write is the same";
  EXPECT_EQ(fs_->injected_short_writes(), 1u);
  // Two pieces of 50: every prefix 0..100 is still a legal image.
  fs_->DropUnsyncedData(DropMode::kTornPrefix, 3);
  EXPECT_EQ(MatchingPrefixes("", {{0, data}}, Contents("split")).size(), 1u);
}

// --- fault injection -----------------------------------------------------------------

TEST_F(FaultFileSystemTest, InjectedEioAndEnospcMapToStatusCodes) {
  UniqueFd fd = Create("f");
  fs_->InjectError(FaultOp::kWrite, EIO);
  Status s = fs_->Pwrite(fd.get(), "abc", 3, 0);
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_NE(s.message().find("injected"), std::string::npos);
  EXPECT_EQ(Contents("f"), "") << "an injected failure does not touch the file";

  fs_->InjectError(FaultOp::kWrite, ENOSPC);
  s = fs_->Pwrite(fd.get(), "abc", 3, 0);
  EXPECT_EQ(s.code(), Code::kNoSpace) << s.ToString();
  EXPECT_EQ(fs_->injected_faults(FaultOp::kWrite), 2u);

  // Consumed: the next write goes through.
  Write(fd.get(), "abc", 0);
  EXPECT_EQ(Contents("f"), "abc");
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("f")), 3u) << "failed writes recorded nothing";
}

TEST_F(FaultFileSystemTest, CountAndPathSubstringSelectTheVictims) {
  UniqueFd a = Create("a.idx");
  UniqueFd b = Create("b.seg");
  fs_->InjectError(FaultOp::kWrite, EIO, 2, ".seg");
  EXPECT_TRUE(fs_->Pwrite(a.get(), "1", 1, 0).ok());
  EXPECT_FALSE(fs_->Pwrite(b.get(), "1", 1, 0).ok());
  EXPECT_TRUE(fs_->Pwrite(a.get(), "2", 1, 1).ok());
  EXPECT_FALSE(fs_->Pwrite(b.get(), "2", 1, 0).ok());
  EXPECT_TRUE(fs_->Pwrite(b.get(), "3", 1, 0).ok());
  EXPECT_EQ(fs_->injected_faults(FaultOp::kWrite), 2u);
}

TEST_F(FaultFileSystemTest, NegativeCountFailsUntilCleared) {
  UniqueFd fd = Create("full");
  fs_->InjectError(FaultOp::kWrite, ENOSPC, -1);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(fs_->Pwrite(fd.get(), "x", 1, 0).code(), Code::kNoSpace);
  fs_->ClearFaults();
  EXPECT_TRUE(fs_->Pwrite(fd.get(), "x", 1, 0).ok());
  EXPECT_EQ(fs_->injected_faults(FaultOp::kWrite), 5u) << "counters survive ClearFaults";
}

TEST_F(FaultFileSystemTest, ZeroLengthWritesConsumeNoFault) {
  UniqueFd fd = Create("z");
  fs_->InjectError(FaultOp::kWrite, EIO);
  EXPECT_TRUE(fs_->Pwrite(fd.get(), nullptr, 0, 0).ok());
  EXPECT_FALSE(fs_->Pwrite(fd.get(), "x", 1, 0).ok());
}

TEST_F(FaultFileSystemTest, ShortWriteThenErrorLeavesExactlyThePrefix) {
  UniqueFd fd = Create("torn");
  const std::string data = Pattern(4096, 8);
  fs_->InjectShortWriteThenError(1000, EIO);
  Status s = fs_->Pwrite(fd.get(), data.data(), data.size(), 0);
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_EQ(Contents("torn"), data.substr(0, 1000));
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("torn")), 1000u) << "the prefix is in the page cache";
  EXPECT_EQ(fs_->injected_faults(FaultOp::kWrite), 1u);
  // It never reached the disk.
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("torn"), "");
}

TEST_F(FaultFileSystemTest, ShortWriteThenErrorLongerThanTheWriteWritesAll) {
  UniqueFd fd = Create("w");
  fs_->InjectShortWriteThenError(1 << 20, ENOSPC);
  EXPECT_EQ(fs_->Pwrite(fd.get(), "abc", 3, 0).code(), Code::kNoSpace);
  EXPECT_EQ(Contents("w"), "abc");
}

TEST_F(FaultFileSystemTest, InjectShortWritesKeepsResultsCorrect) {
  UniqueFd fd = Create("s");
  fs_->InjectShortWrites(3);
  std::string expect;
  for (int i = 0; i < 5; ++i) {
    std::string d = Pattern(1001, i);
    Write(fd.get(), d, expect.size());
    expect += d;
  }
  Write(fd.get(), "x", expect.size());  // 1 byte: cannot be split, consumes nothing
  expect += "x";
  EXPECT_EQ(Contents("s"), expect);
  EXPECT_EQ(fs_->injected_short_writes(), 3u);
}

TEST_F(FaultFileSystemTest, InjectedCutsOnDirectIoStayBlockAligned) {
  Result<UniqueFd> fd =
      fs_->Open(dir_.Sub("direct"), {.write = true, .create = true, .direct = true});
  if (!fd.ok()) GTEST_SKIP() << "no O_DIRECT here: " << fd.status().ToString();
  const std::string pattern = Pattern(3 * kDirectAlign, 1);
  std::unique_ptr<char, decltype(&std::free)> buf(
      static_cast<char*>(std::aligned_alloc(kDirectAlign, pattern.size())), &std::free);
  std::memcpy(buf.get(), pattern.data(), pattern.size());

  // 3 blocks split at the block boundary below the midpoint: 1 + 2 blocks.
  fs_->InjectShortWrites(1);
  Status s = fs_->Pwrite(fd->get(), buf.get(), 3 * kDirectAlign, 0);
  ASSERT_TRUE(s.ok()) << s.ToString();
  EXPECT_EQ(fs_->injected_short_writes(), 1u);
  EXPECT_TRUE(Contents("direct") == pattern);

  // One block cannot be split: it goes through whole and the injection stays pending.
  fs_->ClearFaults();
  fs_->InjectShortWrites(1);
  ASSERT_TRUE(fs_->Pwrite(fd->get(), buf.get(), kDirectAlign, 3 * kDirectAlign).ok());
  EXPECT_EQ(fs_->injected_short_writes(), 1u);
  fs_->ClearFaults();

  // A torn direct write keeps whole blocks only.
  fs_->InjectShortWriteThenError(kDirectAlign + 100, EIO);
  s = fs_->Pwrite(fd->get(), buf.get(), 2 * kDirectAlign, 4 * kDirectAlign);
  EXPECT_EQ(s.code(), Code::kIOError) << s.ToString();
  EXPECT_EQ(fs_->FileSize(fd->get()).value(), 5 * kDirectAlign);
}

TEST_F(FaultFileSystemTest, EveryOperationKindCanBeFailed) {
  UniqueFd fd = Create("f");
  Write(fd.get(), "data", 0);
  std::string buf(4, '\0');

  fs_->InjectError(FaultOp::kRead, EIO);
  EXPECT_EQ(fs_->Pread(fd.get(), buf.data(), 4, 0).status().code(), Code::kIOError);
  EXPECT_TRUE(fs_->Pread(fd.get(), buf.data(), 4, 0).ok());

  fs_->InjectError(FaultOp::kSync, EIO);
  EXPECT_EQ(fs_->Fdatasync(fd.get()).code(), Code::kIOError);

  fs_->InjectError(FaultOp::kFallocate, ENOSPC);
  EXPECT_EQ(fs_->Fallocate(fd.get(), 0, 1 << 20).code(), Code::kNoSpace);
  EXPECT_EQ(fs_->FileSize(fd.get()).value(), 4u) << "the file was not touched";

  fs_->InjectError(FaultOp::kTruncate, EIO);
  EXPECT_EQ(fs_->Truncate(fd.get(), 0).code(), Code::kIOError);
  EXPECT_EQ(fs_->FileSize(fd.get()).value(), 4u);

  fs_->InjectError(FaultOp::kOpen, EIO, 1, "never");
  fs_->InjectError(FaultOp::kOpen, EMFILE, 1, "/f");
  EXPECT_EQ(fs_->Open(dir_.Sub("f"), {}).status().code(), Code::kIOError);
  EXPECT_TRUE(fs_->Open(dir_.Sub("f"), {}).ok());

  fs_->InjectError(FaultOp::kRename, EIO, 1, "/g");  // matches the destination
  EXPECT_EQ(fs_->Rename(dir_.Sub("f"), dir_.Sub("g")).code(), Code::kIOError);
  EXPECT_TRUE(DefaultFileSystem()->Exists(dir_.Sub("f")));
  EXPECT_FALSE(DefaultFileSystem()->Exists(dir_.Sub("g")));

  fs_->InjectError(FaultOp::kUnlink, EACCES);
  EXPECT_EQ(fs_->Unlink(dir_.Sub("f")).code(), Code::kIOError);
  EXPECT_TRUE(DefaultFileSystem()->Exists(dir_.Sub("f")));

  fs_->InjectError(FaultOp::kSyncDir, EIO);
  EXPECT_EQ(fs_->SyncDir(dir_.path()).code(), Code::kIOError);
  EXPECT_TRUE(fs_->SyncDir(dir_.path()).ok());

  for (FaultOp op : {FaultOp::kRead, FaultOp::kSync, FaultOp::kFallocate, FaultOp::kTruncate,
                     FaultOp::kOpen, FaultOp::kRename, FaultOp::kUnlink, FaultOp::kSyncDir}) {
    EXPECT_EQ(fs_->injected_faults(op), 1u) << FaultOpName(op);
  }
  EXPECT_EQ(fs_->injected_faults(FaultOp::kWrite), 0u);
}

TEST_F(FaultFileSystemTest, FaultsAreConsumedInInjectionOrder) {
  UniqueFd fd = Create("f");
  fs_->InjectError(FaultOp::kWrite, ENOSPC);
  fs_->InjectError(FaultOp::kWrite, EIO);
  EXPECT_EQ(fs_->Pwrite(fd.get(), "x", 1, 0).code(), Code::kNoSpace);
  EXPECT_EQ(fs_->Pwrite(fd.get(), "x", 1, 0).code(), Code::kIOError);
  EXPECT_TRUE(fs_->Pwrite(fd.get(), "x", 1, 0).ok());
}

// --- the IoQueue path --------------------------------------------------------------------

TEST_F(FaultFileSystemTest, IoQueueWritesAreTrackedAndItsSyncMakesThemDurable) {
  Result<std::unique_ptr<IoQueue>> q = fs_->NewIoQueue(8);
  ASSERT_TRUE(q.ok());
  IoQueue& queue = **q;
  UniqueFd a = Create("qa");
  UniqueFd b = Create("qb");
  const std::string d1 = Pattern(3000, 1), d2 = Pattern(2 << 20, 2), d3 = Pattern(500, 3);
  std::vector<WriteOp> ops = {WriteOp{a.get(), 0, d1.data(), d1.size(), {}},
                              WriteOp{b.get(), 0, d2.data(), d2.size(), {}}};
  ASSERT_TRUE(queue.Write(ops).ok());
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("qa")), d1.size());
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("qb")), d2.size());

  std::vector<SyncOp> syncs = {SyncOp{a.get(), {}}, SyncOp{b.get(), {}}};
  ASSERT_TRUE(queue.Sync(syncs).ok());
  EXPECT_EQ(fs_->UnsyncedBytes(dir_.Sub("qa")), 0u);

  std::vector<WriteOp> more = {WriteOp{a.get(), d1.size(), d3.data(), d3.size(), {}}};
  ASSERT_TRUE(queue.Write(more).ok());
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("qa"), d1);
  EXPECT_TRUE(Contents("qb") == d2);

  const IoQueueStats& st = queue.stats();
  EXPECT_EQ(st.writes, 3u);
  EXPECT_EQ(st.bytes, d1.size() + d2.size() + d3.size());
  EXPECT_EQ(st.syncs, 2u);
  EXPECT_EQ(st.submits, 3u);
  EXPECT_EQ(st.short_writes, 0u);
}

TEST_F(FaultFileSystemTest, IoQueueFaultFailsOnlyTheMatchingOp) {
  Result<std::unique_ptr<IoQueue>> q = fs_->NewIoQueue(8);
  ASSERT_TRUE(q.ok());
  IoQueue& queue = **q;
  UniqueFd a = Create("a.seg");
  UniqueFd b = Create("b.seg");
  UniqueFd c = Create("c.seg");
  fs_->InjectError(FaultOp::kWrite, ENOSPC, 1, "b.seg");
  const std::string d = "payload";
  std::vector<WriteOp> ops = {WriteOp{a.get(), 0, d.data(), d.size(), {}},
                              WriteOp{b.get(), 0, d.data(), d.size(), {}},
                              WriteOp{c.get(), 0, d.data(), d.size(), {}}};
  Status s = queue.Write(ops);
  EXPECT_EQ(s.code(), Code::kNoSpace);
  EXPECT_TRUE(ops[0].status.ok());
  EXPECT_EQ(ops[1].status.code(), Code::kNoSpace);
  EXPECT_TRUE(ops[2].status.ok());
  EXPECT_EQ(Contents("a.seg"), d);
  EXPECT_EQ(Contents("b.seg"), "");
  EXPECT_EQ(Contents("c.seg"), d);
  EXPECT_EQ(queue.stats().writes, 2u);

  fs_->InjectError(FaultOp::kSync, EIO, 1, "c.seg");
  std::vector<SyncOp> syncs = {SyncOp{a.get(), {}}, SyncOp{c.get(), {}}};
  s = queue.Sync(syncs);
  EXPECT_EQ(s.code(), Code::kIOError);
  EXPECT_TRUE(syncs[0].status.ok());
  EXPECT_EQ(syncs[1].status.code(), Code::kIOError);
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  EXPECT_EQ(Contents("a.seg"), d);
  EXPECT_EQ(Contents("c.seg"), "") << "its sync failed, so the cut took it";
}

TEST_F(FaultFileSystemTest, IoQueueShortWritesAndShortThenError) {
  Result<std::unique_ptr<IoQueue>> q = fs_->NewIoQueue(4);
  ASSERT_TRUE(q.ok());
  IoQueue& queue = **q;
  UniqueFd fd = Create("q");
  const std::string d = Pattern(8192, 1);

  fs_->InjectShortWrites(1);
  std::vector<WriteOp> ops = {WriteOp{fd.get(), 0, d.data(), d.size(), {}}};
  ASSERT_TRUE(queue.Write(ops).ok());
  EXPECT_EQ(queue.stats().short_writes, 1u);
  EXPECT_EQ(Contents("q"), d);

  fs_->InjectShortWriteThenError(100, EIO);
  ops = {WriteOp{fd.get(), d.size(), d.data(), d.size(), {}}};
  EXPECT_EQ(queue.Write(ops).code(), Code::kIOError);
  EXPECT_EQ(ops[0].status.code(), Code::kIOError);
  EXPECT_EQ(Contents("q"), d + d.substr(0, 100));
  EXPECT_EQ(queue.stats().bytes, d.size() + 100);
  EXPECT_EQ(queue.stats().writes, 1u);
}

TEST_F(FaultFileSystemTest, IoQueueOnAnUntrackedOrBadFd) {
  Result<std::unique_ptr<IoQueue>> q = fs_->NewIoQueue(4);
  ASSERT_TRUE(q.ok());
  std::vector<WriteOp> ops = {WriteOp{-1, 0, "x", 1, {}}};
  EXPECT_FALSE((*q)->Write(ops).ok());
  EXPECT_FALSE(ops[0].status.ok());
  std::vector<SyncOp> syncs = {SyncOp{-1, {}}};
  EXPECT_FALSE((*q)->Sync(syncs).ok());
}

// --- threads ------------------------------------------------------------------------------

TEST_F(FaultFileSystemTest, ConcurrentWritersKeepTrackingConsistent) {
  constexpr int kThreads = 4;
  constexpr int kRounds = 50;
  constexpr size_t kChunk = 256;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([this, t] {
      UniqueFd fd = Create("t" + std::to_string(t));
      std::unique_ptr<IoQueue> queue = fs_->NewIoQueue(4).value();
      for (int r = 0; r < kRounds; ++r) {
        const std::string d = Pattern(kChunk, t * 1000 + r);
        if (r % 2 == 0) {
          EXPECT_TRUE(fs_->Pwrite(fd.get(), d.data(), d.size(), r * kChunk).ok());
          EXPECT_TRUE(fs_->Fdatasync(fd.get()).ok());
        } else {
          std::vector<WriteOp> ops = {WriteOp{fd.get(), r * kChunk, d.data(), d.size(), {}}};
          EXPECT_TRUE(queue->Write(ops).ok());
          std::vector<SyncOp> syncs = {SyncOp{fd.get(), {}}};
          EXPECT_TRUE(queue->Sync(syncs).ok());
        }
      }
      // One last unsynced chunk per file.
      const std::string tail = Bytes(kChunk, 'T');
      EXPECT_TRUE(fs_->Pwrite(fd.get(), tail.data(), tail.size(), kRounds * kChunk).ok());
    });
  }
  for (std::thread& th : threads) th.join();
  fs_->DropUnsyncedData(DropMode::kZero, 1);
  for (int t = 0; t < kThreads; ++t) {
    std::string expect;
    for (int r = 0; r < kRounds; ++r) expect += Pattern(kChunk, t * 1000 + r);
    EXPECT_TRUE(Contents("t" + std::to_string(t)) == expect) << "file " << t;
  }
}

}  // namespace
}  // namespace shoal::io
