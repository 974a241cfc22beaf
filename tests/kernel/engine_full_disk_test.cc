// Engine on a real, small file system that fills up (issue #6). The fault-injection tests
// (shard_log_fault_test) fake ENOSPC one call at a time; this one lets a real tmpfs and a
// real ext4 (loop-mounted image) run out of blocks wherever the engine happens to be --
// segment growth, a roll's new segment, a seal's index, log.meta, CLEAN, CATALOG -- with
// the engine's default options (durable acks, O_DIRECT, spare logs), and checks:
//
//   * a full disk is Code::kNoSpace, with a message that names the file (or shard log) and
//     says to free space; never corruption, another code or a crash;
//   * every acknowledged record reads back byte for byte, in order, per shard: in the
//     engine that hit the full disk, after Close + reopen on the still-full disk (recovery
//     needs no free space), and after space is freed;
//   * CATALOG writes (AddTags, CreateStream, DeleteStream) fail cleanly on the full disk and
//     change nothing; failed writes leave no half-made file or stream directory behind;
//   * once space is freed, metadata writes work in the same engine at once, but a shard log
//     that failed keeps refusing appends (kNoSpace) until the engine is reopened: that is
//     ShardLog's documented contract (after a failed write or fdatasync the on-disk tail is
//     unknown until recovery verifies it). After the reopen every shard takes appends.
//
// Process layout: each case re-executes this binary (--gtest_filter=<the case>) with
// SHOAL_FULL_DISK_CHILD set; the child enters a private mount namespace (a user namespace
// too where CLONE_NEWNS alone is not allowed), mounts the file system over a fresh
// directory and runs the scenario, so no mount is ever visible outside it and the kernel
// drops every mount (and the loop device, auto-cleared) when the child exits, however it
// exits. Where the machine allows no mount (no namespaces, no loop devices, no mkfs.ext4)
// the case is skipped, with the reason.
#include <dirent.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>
#include <linux/loop.h>
#include <sched.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <ostream>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "io/fault_file_system.h"
#include "io/unique_fd.h"
#include "kernel/engine.h"
#include "tests/testlib/temp_dir.h"

extern char** environ;

namespace shoal {
namespace {

constexpr char kChildEnv[] = "SHOAL_FULL_DISK_CHILD";
constexpr char kSkipMarker[] = "full-disk-skip: ";
constexpr char kNoteMarker[] = "full-disk: ";
constexpr char kFreeSpaceHint[] = "free space on the file system and retry";

enum class FsKind { kTmpfs, kExt4 };

struct FullDiskCase {
  const char* name;
  FsKind fs;
  // Small segments: the disk fills while rolling (new segment files, seals writing .idx
  // files). The default 128 MiB (larger than the disk): it fills while a segment file grows.
  uint64_t segment_bytes;
};

// gtest names the case in test listings (and CTest's test names) with this.
void PrintTo(const FullDiskCase& c, std::ostream* os) { *os << c.name; }

constexpr uint64_t kMiB = 1 << 20;
// Room for a few MiB of records after the engine's own preallocation (each shard log, spare
// logs included, preallocates up to 1 MiB), small enough to fill in well under a second.
constexpr uint64_t kTmpfsBytes = 16 * kMiB;
constexpr uint64_t kTmpfsGrownBytes = 32 * kMiB;
// Sparse: the image costs the host only what is written into it. Freed, the ballast (below)
// leaves room for a new stream's preallocation and the segment growth that follows.
constexpr uint64_t kExt4ImageBytes = 64 * kMiB;
// On ext4 a ballast file takes all but this much once the streams exist, so the engine
// fills only the rest (every append there costs a real fdatasync), and deleting the
// ballast frees space the way an operator would. A tmpfs is remounted larger instead.
constexpr uint64_t kExt4Headroom = 4 * kMiB;

constexpr char kMain[] = "main";
constexpr int kMainShards = 3;
constexpr char kSide[] = "side";
constexpr char kLate[] = "late";  // created on the full disk (must fail), later for real

void Note(const std::string& s) {
  std::printf("%s%s\n", kNoteMarker, s.c_str());
  std::fflush(stdout);
}

std::string Errno(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

uint64_t FreeBytes(const std::string& path) {
  struct statvfs st {};
  if (::statvfs(path.c_str(), &st) != 0) return 0;
  return static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
}

bool WriteSmallFile(const std::string& path, const std::string& text) {
  io::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  return fd.valid() &&
         ::write(fd.get(), text.data(), text.size()) == static_cast<ssize_t>(text.size());
}

// ---------------------------------------------------------------------------------------
// Mounts (child process only)

// A private mount namespace for this process; "" on success, else why it is impossible.
std::string EnterPrivateMountNamespace() {
  if (::unshare(CLONE_NEWNS) != 0) {
    if (errno != EPERM) return Errno("unshare(CLONE_NEWNS)");
    // Not privileged in this namespace: a new user namespace grants the capabilities over
    // the mount namespace created with it (tmpfs may be mounted there; block devices not).
    const uid_t uid = ::getuid();
    const gid_t gid = ::getgid();
    if (::unshare(CLONE_NEWUSER | CLONE_NEWNS) != 0)
      return Errno("unshare(CLONE_NEWUSER | CLONE_NEWNS)");
    if (!WriteSmallFile("/proc/self/setgroups", "deny") ||
        !WriteSmallFile("/proc/self/uid_map", "0 " + std::to_string(uid) + " 1") ||
        !WriteSmallFile("/proc/self/gid_map", "0 " + std::to_string(gid) + " 1"))
      return Errno("writing the user namespace's id maps");
  }
  // Without this, mounts made here could propagate back to the parent namespace.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
    return Errno("making / private");
  return "";
}

// A mounted file system, unmounted on destruction. (The namespace dies with the child
// anyway; unmounting here keeps the order explicit: engine closed, then unmounted.)
class ScopedMount {
 public:
  ScopedMount() = default;
  explicit ScopedMount(std::string path) : path_(std::move(path)) {}
  ~ScopedMount() { Reset(); }
  ScopedMount(ScopedMount&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  ScopedMount& operator=(ScopedMount&& o) noexcept {
    if (this != &o) {
      Reset();
      path_ = std::exchange(o.path_, {});
    }
    return *this;
  }
  ScopedMount(const ScopedMount&) = delete;
  ScopedMount& operator=(const ScopedMount&) = delete;
  bool mounted() const { return !path_.empty(); }
  void Reset() {
    if (path_.empty()) return;
    if (::umount2(path_.c_str(), 0) != 0) ::umount2(path_.c_str(), MNT_DETACH);
    path_.clear();
  }

 private:
  std::string path_;
};

std::string TmpfsOptions(uint64_t bytes) { return "size=" + std::to_string(bytes) + ",mode=0755"; }

ScopedMount MountTmpfs(const std::string& dir, uint64_t bytes, std::string* why) {
  const std::string opts = TmpfsOptions(bytes);
  if (::mount("shoal-full-disk", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) != 0) {
    *why = Errno("mount -t tmpfs");
    return {};
  }
  return ScopedMount(dir);
}

// Runs a program and waits; false if it could not run or did not exit 0.
bool RunProgram(std::vector<std::string> args) {
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return false;
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

std::string FindMkfsExt4() {
  for (const char* p : {"/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4", "/usr/bin/mkfs.ext4"})
    if (::access(p, X_OK) == 0) return p;
  return "";
}

// Attaches `image` to a free loop device that detaches itself once nothing holds it
// (LO_FLAGS_AUTOCLEAR): the mount made from it, or the returned fd if the mount fails.
io::UniqueFd AttachLoop(const std::string& image, std::string* device, std::string* why) {
  io::UniqueFd ctl(::open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl.valid()) {
    *why = Errno("open /dev/loop-control");
    return {};
  }
  io::UniqueFd img(::open(image.c_str(), O_RDWR | O_CLOEXEC));
  if (!img.valid()) {
    *why = Errno("open the ext4 image");
    return {};
  }
  // Another process may take the free device between the two calls: try again.
  for (int attempt = 0; attempt < 8; ++attempt) {
    const int n = ::ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0) {
      *why = Errno("LOOP_CTL_GET_FREE");
      return {};
    }
    *device = "/dev/loop" + std::to_string(n);
    io::UniqueFd loop(::open(device->c_str(), O_RDWR | O_CLOEXEC));
    if (!loop.valid()) {
      *why = Errno(("open " + *device).c_str());  // e.g. a container without the node
      return {};
    }
    loop_config cfg{};
    cfg.fd = static_cast<uint32_t>(img.get());
    cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (::ioctl(loop.get(), LOOP_CONFIGURE, &cfg) == 0) return loop;
    if (errno == EBUSY) continue;
    if (errno != EINVAL && errno != ENOTTY) {
      *why = Errno("LOOP_CONFIGURE");
      return {};
    }
    // Kernels before 5.8: the two-step attach.
    if (::ioctl(loop.get(), LOOP_SET_FD, img.get()) != 0) {
      if (errno == EBUSY) continue;
      *why = Errno("LOOP_SET_FD");
      return {};
    }
    loop_info64 info{};
    info.lo_flags = LO_FLAGS_AUTOCLEAR;
    if (::ioctl(loop.get(), LOOP_SET_STATUS64, &info) != 0) {
      *why = Errno("LOOP_SET_STATUS64");
      ::ioctl(loop.get(), LOOP_CLR_FD, 0);
      return {};
    }
    return loop;
  }
  *why = "every free loop device was taken before it could be attached";
  return {};
}

ScopedMount MountExt4Image(const std::string& image, const std::string& dir, std::string* why) {
  const std::string mkfs = FindMkfsExt4();
  if (mkfs.empty()) {
    *why = "mkfs.ext4 is not installed";
    return {};
  }
  {
    io::UniqueFd fd(::open(image.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
    if (!fd.valid() || ::ftruncate(fd.get(), static_cast<off_t>(kExt4ImageBytes)) != 0) {
      *why = Errno("creating the ext4 image");
      return {};
    }
  }
  // -m 0: no blocks reserved for root, so "full" means the same whoever runs the test.
  // -b 4096: what a real volume gets (mkfs picks 1 KiB blocks for an image this small).
  if (!RunProgram({mkfs, "-q", "-F", "-m", "0", "-b", "4096", image})) {
    *why = mkfs + " failed on " + image;
    return {};
  }
  std::string device;
  io::UniqueFd loop = AttachLoop(image, &device, why);
  if (!loop.valid()) return {};
  if (::mount(device.c_str(), dir.c_str(), "ext4", MS_NOSUID | MS_NODEV, "") != 0) {
    *why = Errno(("mount -t ext4 " + device).c_str());
    return {};
  }
  return ScopedMount(dir);  // `loop` closes here; the mount keeps the device attached
}

bool AcceptsODirect(const std::string& dir) {
  const std::string probe = dir + "/odirect-probe";
  io::UniqueFd fd(::open(probe.c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644));
  ::unlink(probe.c_str());
  return fd.valid();
}

// Writes `path` until the file system refuses even one more byte: the disk is then full the
// way a neighbour process would leave it, not merely too full for the engine's next
// fallocate.
uint64_t FillRemainingSpace(const std::string& path) {
  io::UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
  if (!fd.valid()) return 0;
  std::string block(kMiB, 'f');
  uint64_t written = 0;
  // ext4 hands back the blocks of an unlinked file (the engine removes what its failed
  // writes half-made) only once its journal commits, so a disk filled once can show free
  // blocks a moment later: commit (syncfs) and fill again until nothing more fits.
  for (int pass = 0; pass < 10; ++pass) {
    ::syncfs(fd.get());
    uint64_t got = 0;
    for (size_t chunk = kMiB; chunk >= 1; chunk /= 16) {
      while (true) {
        ssize_t n = ::write(fd.get(), block.data(), chunk);
        if (n <= 0) break;  // ENOSPC (ext4 retries its own allocation before reporting it)
        got += static_cast<uint64_t>(n);
      }
    }
    ::fsync(fd.get());
    written += got;
    if (got == 0) break;
  }
  return written;
}

// ---------------------------------------------------------------------------------------
// The scenario (child process only)

struct Expected {
  uint64_t offset;
  std::string sequence_number;
  std::string key;
  std::string data;
};

std::string RecordData(uint64_t id) {
  // 1 byte to ~8 KiB, every byte value; the id leads so a misplaced record is recognizable.
  uint64_t z = id * 0x9E3779B97F4A7C15ull + 1;
  auto next = [&] {
    z ^= z >> 31;
    z *= 0xBF58476D1CE4E5B9ull;
    z ^= z >> 29;
    return z;
  };
  std::string d = "#" + std::to_string(id) + ":";
  const size_t len = d.size() + next() % 8192;
  while (d.size() < len) d.push_back(static_cast<char>(next() & 0xff));
  return d;
}

class FullDiskScenario {
 public:
  FullDiskScenario(const FullDiskCase& c, std::string mnt)
      : case_(c), mnt_(std::move(mnt)), data_(mnt_ + "/data") {}

  void Run() {
    ASSERT_NO_FATAL_FAILURE(Open("first open"));
    ASSERT_TRUE(engine_->CreateStream(kMain, kMainShards).ok());
    ASSERT_TRUE(engine_->CreateStream(kSide, 1).ok());
    ASSERT_NO_FATAL_FAILURE(Put(kSide, 20, nullptr));
    if (case_.fs == FsKind::kExt4) {
      const uint64_t free = FreeBytes(mnt_);
      ASSERT_GT(free, kExt4Headroom + kMiB);
      const uint64_t ballast = (free - kExt4Headroom) / kMiB * kMiB;
      io::UniqueFd fd(::open((mnt_ + "/ballast").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
      ASSERT_TRUE(fd.valid()) << Errno("creating the ballast");
      ASSERT_EQ(::fallocate(fd.get(), 0, 0, static_cast<off_t>(ballast)), 0)
          << Errno("fallocate ballast");
    }
    Note(fmt::format("{} KiB free after creating the streams", FreeBytes(mnt_) >> 10));

    ASSERT_NO_FATAL_FAILURE(FillUntilEveryShardFails());
    // The engine's last fallocate failed, but a smaller write may still fit: take the rest,
    // so every write below meets a disk with no free block at all.
    ASSERT_NO_FATAL_FAILURE(FillUntilSettled());
    ASSERT_NO_FATAL_FAILURE(ExpectPutsFail("after the disk filled"));
    ASSERT_NO_FATAL_FAILURE(VerifyAll("the engine that filled the disk"));
    ASSERT_NO_FATAL_FAILURE(MetadataOnFullDisk());

    // Close on the full disk: the failed logs report their error and write no CLEAN marker
    // (their next open verifies the tail); the others cannot write theirs either.
    Status closed = engine_->Close();
    Note("Close on the full disk: " + closed.ToString());
    EXPECT_EQ(closed.code(), Code::kNoSpace) << closed;
    engine_.reset();
    // Every write that failed took its half-made file with it, and the failed CreateStream
    // its directories: on a full disk each of them held blocks the engine needs.
    EXPECT_EQ(LeftoverFiles(), std::vector<std::string>{})
        << "left behind by the writes that failed";

    // Recovery must not need free space: no log has a CLEAN marker, so each active segment
    // is scanned and its preallocated tail cut (and preallocated again, which a full disk
    // may refuse); rolled segments may lack their .idx. (Engine::Open failed here with
    // kNoSpace on ext4 before ShardLog recovery learnt to go on without that space.)
    ASSERT_NO_FATAL_FAILURE(Open("reopen on the still-full disk"));
    ASSERT_NO_FATAL_FAILURE(VerifyAll("the reopen on the full disk"));
    ASSERT_NO_FATAL_FAILURE(ExpectNoStream(kLate));
    std::set<uint32_t> failed_here;
    ASSERT_NO_FATAL_FAILURE(Put(kMain, 64, &failed_here));
    Note(fmt::format("puts on the still-full disk after the reopen: shards {{{}}} refused them",
                     fmt::join(failed_here, ",")));

    ASSERT_NO_FATAL_FAILURE(FreeSpace());
    std::set<uint32_t> refused_after;
    ASSERT_NO_FATAL_FAILURE(SameEngineAfterFreeing(failed_here, &refused_after));
    closed = engine_->Close();
    Note("Close after freeing space: " + closed.ToString());
    if (refused_after.empty())
      EXPECT_TRUE(closed.ok()) << closed;
    else
      EXPECT_EQ(closed.code(), Code::kNoSpace) << closed;
    engine_.reset();

    ASSERT_NO_FATAL_FAILURE(Open("reopen after freeing space"));
    ASSERT_NO_FATAL_FAILURE(VerifyAll("the reopen after freeing space"));
    std::set<uint32_t> failed;
    ASSERT_NO_FATAL_FAILURE(Put(kMain, 64, &failed));
    EXPECT_TRUE(failed.empty()) << "after freeing space and reopening, shards "
                                << fmt::format("{}", fmt::join(failed, ","))
                                << " still refuse appends";
    ASSERT_NO_FATAL_FAILURE(Put(kLate, 16, &failed));
    EXPECT_TRUE(failed.empty());
    ASSERT_NO_FATAL_FAILURE(VerifyAll("the last reopen, after new puts"));
    auto tags = engine_->DescribeStream(kMain);
    ASSERT_TRUE(tags.ok()) << tags.status();
    EXPECT_EQ(tags->tags, (std::map<std::string, std::string>{{"after", "freeing"}}));
    closed = engine_->Close();
    EXPECT_TRUE(closed.ok()) << closed;
    engine_.reset();
    ASSERT_NO_FATAL_FAILURE(ExpectStreamDirs());
  }

 private:
  void Open(const std::string& when) {
    EngineOptions o;
    o.sweep_interval_ms = 0;  // no retention sweep: nothing may vanish but what fails
    o.log.segment_bytes = case_.segment_bytes;
    auto e = Engine::Open(data_, o);
    ASSERT_TRUE(e.ok()) << when << ": " << e.status();
    engine_ = std::move(e).value();
    for (const auto& [name, uid] : uids_) {
      auto d = engine_->DescribeStream(name);
      ASSERT_TRUE(d.ok()) << when << ": " << name << ": " << d.status();
      EXPECT_EQ(d->uid, uid) << when << ": " << name << " is another incarnation";
    }
  }

  // Puts `n` records (in batches of 16) to `stream`; keeps the acknowledged ones. A record
  // may fail only with kNoSpace and the hint to free space; the shards that refused are
  // added to `refused` (null: every record must be stored).
  void Put(const std::string& stream, int n, std::set<uint32_t>* refused) {
    if (!uids_.count(stream)) {
      auto d = engine_->DescribeStream(stream);
      ASSERT_TRUE(d.ok()) << d.status();
      uids_[stream] = d->uid;
    }
    for (int done = 0; done < n;) {
      const int batch = std::min(16, n - done);
      std::vector<std::string> keys, datas;
      for (int i = 0; i < batch; ++i) {
        const uint64_t id = next_id_++;
        keys.push_back("pk-" + std::to_string(id));
        datas.push_back(RecordData(id));
      }
      std::vector<PutInput> in;
      for (int i = 0; i < batch; ++i) in.push_back(PutInput{keys[i], datas[i], std::nullopt});
      Status st;
      std::vector<PutOutput> out = engine_->PutRecords(stream, in, &st);
      ASSERT_TRUE(st.ok()) << st;
      for (int i = 0; i < batch; ++i) {
        const PutOutput& o = out[static_cast<size_t>(i)];
        if (o.status.ok()) {
          acked_[{stream, o.shard_index}].push_back(
              Expected{o.offset, o.sequence_number(), keys[i], datas[i]});
          continue;
        }
        ASSERT_NE(refused, nullptr) << stream << ": a put failed: " << o.status;
        ASSERT_EQ(o.status.code(), Code::kNoSpace)
            << "a full disk must read as kNoSpace: " << o.status;
        EXPECT_NE(o.status.message().find(kFreeSpaceHint), std::string::npos)
            << "the error does not say what to do: " << o.status;
        EXPECT_NE(o.status.message().find(data_), std::string::npos)
            << "the error does not say which file system is full: " << o.status;
        if (first_put_error_.empty()) first_put_error_ = o.status.ToString();
        refused->insert(o.shard_index);
      }
      done += batch;
    }
  }

  void FillUntilEveryShardFails() {
    std::set<uint32_t> refused;
    // Preallocation lets a shard take writes for a while after another one hit the wall;
    // twice the disk's size is far more than any of it.
    const uint64_t budget = 2 * (case_.fs == FsKind::kTmpfs ? kTmpfsBytes : kExt4ImageBytes);
    uint64_t attempted = 0;
    while (refused.size() < static_cast<size_t>(kMainShards)) {
      ASSERT_LT(attempted, budget)
          << "the disk never filled: shards refused so far: " << refused.size();
      ASSERT_NO_FATAL_FAILURE(Put(kMain, 16, &refused));
      attempted += 16 * 4096;
    }
    size_t acked = 0;
    for (int i = 0; i < kMainShards; ++i) {
      const size_t n = acked_[{kMain, static_cast<uint32_t>(i)}].size();
      EXPECT_GT(n, 0u) << "shard " << i << " acknowledged nothing before the disk filled";
      acked += n;
    }
    Note(fmt::format("disk full after {} acknowledged records; first refusal: {}", acked,
                     first_put_error_));
  }

  std::string filler() const { return mnt_ + "/filler"; }

  // Work the engine queued before its logs failed (growing or sealing a segment, creating
  // a spare) can still give blocks back once it fails: a disk filled once shows free space
  // again a moment later. Fill until several passes in a row find nothing to take. (No
  // engine call waits for the shard logs' background work without closing the engine.)
  void FillUntilSettled() {
    uint64_t taken = 0;
    int quiet = 0;
    for (int pass = 0; pass < 200 && quiet < 3; ++pass) {
      const uint64_t got = FillRemainingSpace(filler());
      taken += got;
      quiet = got == 0 && FreeBytes(mnt_) == 0 ? quiet + 1 : 0;
      ::usleep(20 * 1000);
    }
    ASSERT_EQ(quiet, 3) << "free space kept appearing on the full disk";
    Note(fmt::format("filler took the last {} KiB; {} KiB free", taken >> 10,
                     FreeBytes(mnt_) >> 10));
  }

  void ExpectPutsFail(const std::string& when) {
    std::set<uint32_t> refused;
    const size_t before = AckedCount();
    ASSERT_NO_FATAL_FAILURE(Put(kMain, 32, &refused));
    EXPECT_EQ(AckedCount(), before) << when << ": a failed shard log acknowledged a record";
  }

  size_t AckedCount() const {
    size_t n = 0;
    for (const auto& [k, v] : acked_) n += v.size();
    return n;
  }

  void ExpectNoSpace(const Status& st, const std::string& what) {
    EXPECT_EQ(st.code(), Code::kNoSpace) << what << " on a full disk: " << st;
    EXPECT_NE(st.message().find(kFreeSpaceHint), std::string::npos) << what << ": " << st;
    // pwrite and fdatasync know only an fd; the message must still name the file.
    EXPECT_NE(st.message().find(data_), std::string::npos) << what << " does not say where: " << st;
    Note(what + " on the full disk: " + st.ToString());
  }

  void ExpectNoStream(const std::string& name) {
    EXPECT_EQ(engine_->DescribeStream(name).status().code(), Code::kNotFound) << name;
    for (const std::string& s : engine_->ListStreams(100).names) EXPECT_NE(s, name);
  }

  // Every CATALOG write fails on the full disk and changes nothing.
  void MetadataOnFullDisk() {
    FillRemainingSpace(filler());
    ExpectNoSpace(engine_->AddTags(kMain, {{"on", "full-disk"}}), "AddTags");
    auto d = engine_->DescribeStream(kMain);
    ASSERT_TRUE(d.ok()) << d.status();
    EXPECT_TRUE(d->tags.empty()) << "a failed AddTags changed the stream";

    FillRemainingSpace(filler());
    ExpectNoSpace(engine_->CreateStream(kLate, 2), "CreateStream");
    ExpectNoStream(kLate);
    FillRemainingSpace(filler());
    ExpectNoSpace(engine_->DeleteStream(kSide), "DeleteStream");
    ASSERT_TRUE(engine_->DescribeStream(kSide).ok()) << "a failed DeleteStream removed the stream";
    ASSERT_NO_FATAL_FAILURE(VerifyAll("after the failed CATALOG writes"));
  }

  void FreeSpace() {
    const uint64_t before = FreeBytes(mnt_);
    if (case_.fs == FsKind::kTmpfs) {
      const std::string opts = TmpfsOptions(kTmpfsGrownBytes);
      ASSERT_EQ(::mount("shoal-full-disk", mnt_.c_str(), "tmpfs", MS_REMOUNT | MS_NOSUID | MS_NODEV,
                        opts.c_str()),
                0)
          << Errno("remounting the tmpfs larger");
    } else {
      ASSERT_EQ(::unlink((mnt_ + "/ballast").c_str()), 0) << Errno("unlink ballast");
    }
    Note(fmt::format("freed space ({}): {} KiB -> {} KiB free",
                     case_.fs == FsKind::kTmpfs ? "tmpfs remounted larger" : "ballast file deleted",
                     before >> 10, FreeBytes(mnt_) >> 10));
  }

  // Space is back, the engine is the one that met the full disk.
  void SameEngineAfterFreeing(const std::set<uint32_t>& failed_before,
                              std::set<uint32_t>* refused) {
    // Metadata writes carry no state from the failure: they work at once.
    ASSERT_TRUE(engine_->AddTags(kMain, {{"after", "freeing"}}).ok());
    Status created = engine_->CreateStream(kLate, 2);
    ASSERT_TRUE(created.ok()) << created;
    ASSERT_NO_FATAL_FAILURE(Put(kLate, 16, nullptr));
    Status deleted = engine_->DeleteStream(kSide);
    ASSERT_TRUE(deleted.ok()) << deleted;
    acked_.erase({kSide, 0});
    uids_.erase(kSide);

    // A shard log that failed refuses appends until it is reopened (shard_log.h: after a
    // failed write the on-disk tail is unknown; only recovery verifies it). A log whose
    // appends all succeeded may refuse too: a background seal of one of its segments (its
    // .idx) may have met the full disk, which that log reports the same way.
    ASSERT_NO_FATAL_FAILURE(Put(kMain, 64, refused));
    for (uint32_t shard : failed_before)
      EXPECT_TRUE(refused->count(shard))
          << "shard " << shard << " failed on the full disk but took appends "
          << "in the same engine: the log's failure is documented as sticky";
    Note(fmt::format(
        "same engine after freeing space: metadata writes work; shards {{{}}} refused appends "
        "on the full disk and shards {{{}}} still refuse them (sticky until reopen)",
        fmt::join(failed_before, ","), fmt::join(*refused, ",")));
    ASSERT_NO_FATAL_FAILURE(VerifyAll("the same engine after freeing space"));
  }

  // Reads every shard of every stream from TRIM_HORIZON: exactly the acknowledged records,
  // in offset order, byte for byte.
  void VerifyAll(const std::string& when) {
    for (const auto& [name, uid] : uids_) {
      auto d = engine_->DescribeStream(name);
      ASSERT_TRUE(d.ok()) << when << ": " << name << ": " << d.status();
      for (const ShardDescription& sh : d->shards) {
        std::vector<Expected> want = acked_[{name, sh.index}];
        std::sort(want.begin(), want.end(),
                  [](const Expected& a, const Expected& b) { return a.offset < b.offset; });
        auto pos = engine_->GetPosition(name, sh.index, PositionType::kTrimHorizon, std::nullopt,
                                        std::nullopt);
        ASSERT_TRUE(pos.ok()) << when << ": " << pos.status();
        std::optional<ShardPosition> p = *pos;
        size_t i = 0;
        while (p) {
          auto r = engine_->GetRecords(name, *p, 1000);
          ASSERT_TRUE(r.ok()) << when << ": " << name << "/" << sh.index << ": " << r.status();
          if (r->records.empty()) break;
          for (const ReadRecord& rec : r->records) {
            ASSERT_LT(i, want.size())
                << when << ": " << name << "/" << sh.index
                << " holds a record that was never acknowledged: " << rec.sequence_number;
            const Expected& w = want[i];
            ASSERT_EQ(rec.sequence_number, w.sequence_number)
                << when << ": " << name << "/" << sh.index << " #" << i;
            ASSERT_EQ(rec.partition_key, w.key)
                << when << ": " << name << "/" << sh.index << " #" << i;
            ASSERT_TRUE(rec.data == w.data)
                << when << ": " << name << "/" << sh.index << " #" << i << ": data differs ("
                << rec.data.size() << " vs " << w.data.size() << " bytes)";
            ++i;
          }
          p = r->next;
        }
        EXPECT_EQ(i, want.size()) << when << ": " << name << "/" << sh.index
                                  << " lost acknowledged records";
      }
    }
  }

  // Directories of streams nobody knows, and half-written files (*.tmp), in the data dir.
  std::vector<std::string> LeftoverFiles() {
    std::set<std::string> known;
    for (const auto& [name, uid] : uids_) known.insert(fmt::format("{}.{:016x}", name, uid));
    std::vector<std::string> out;
    std::vector<std::string> stack{data_};
    while (!stack.empty()) {
      const std::string dir = stack.back();
      stack.pop_back();
      DIR* d = ::opendir(dir.c_str());
      if (!d) continue;
      while (dirent* e = ::readdir(d)) {
        const std::string n = e->d_name;
        if (n == "." || n == "..") continue;
        const std::string path = dir + "/" + n;
        if (dir == data_ + "/streams" && !known.count(n)) out.push_back(path);
        if (n.size() > 4 && n.compare(n.size() - 4, 4, ".tmp") == 0) out.push_back(path);
        if (e->d_type == DT_DIR) stack.push_back(path);
      }
      ::closedir(d);
    }
    return out;
  }

  // After the last clean close: one directory per live stream, nothing left of the failed
  // create or of the deleted stream.
  void ExpectStreamDirs() {
    std::set<std::string> want;
    for (const auto& [name, uid] : uids_) want.insert(fmt::format("{}.{:016x}", name, uid));
    std::set<std::string> have;
    if (DIR* d = ::opendir((data_ + "/streams").c_str())) {
      while (dirent* e = ::readdir(d))
        if (std::strcmp(e->d_name, ".") != 0 && std::strcmp(e->d_name, "..") != 0)
          have.insert(e->d_name);
      ::closedir(d);
    }
    EXPECT_EQ(have, want) << "stream directories left behind";
  }

  const FullDiskCase case_;
  const std::string mnt_;
  const std::string data_;
  std::unique_ptr<Engine> engine_;
  std::map<std::string, uint64_t> uids_;
  std::map<std::pair<std::string, uint32_t>, std::vector<Expected>> acked_;
  uint64_t next_id_ = 0;
  std::string first_put_error_;
};

// ---------------------------------------------------------------------------------------
// The parent: runs one case in a child process

struct ChildRun {
  int status = 0;
  std::string output;
};

// Runs this binary again for the current test only, with `root` in kChildEnv.
bool RunChild(const std::string& root, ChildRun* run, std::string* error) {
  const ::testing::TestInfo* info = ::testing::UnitTest::GetInstance()->current_test_info();
  std::string exe(4096, '\0');
  const ssize_t n = ::readlink("/proc/self/exe", exe.data(), exe.size());
  if (n <= 0) {
    *error = Errno("readlink /proc/self/exe");
    return false;
  }
  exe.resize(static_cast<size_t>(n));
  std::string filter =
      std::string("--gtest_filter=") + info->test_suite_name() + "." + info->name();
  std::vector<std::string> args{exe, filter, "--gtest_color=no"};
  // The child runs exactly this case and writes no report of its own: drop the sharding,
  // filter and output settings a runner may have put in the environment.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e)
    if (std::strncmp(*e, "GTEST_", 6) != 0 &&
        std::strncmp(*e, kChildEnv, sizeof kChildEnv - 1) != 0)
      env.emplace_back(*e);
  env.push_back(std::string(kChildEnv) + "=" + root);
  std::vector<char*> argv, envp;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (std::string& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    *error = Errno("pipe2");
    return false;
  }
  io::UniqueFd rd(fds[0]), wr(fds[1]);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 1);
  posix_spawn_file_actions_adddup2(&fa, wr.get(), 2);
  std::fflush(stdout);
  std::fflush(stderr);
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  wr.Reset();
  if (rc != 0) {
    *error = std::string("posix_spawn: ") + std::strerror(rc);
    return false;
  }
  char buf[4096];
  while (true) {
    const ssize_t got = ::read(rd.get(), buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    run->output.append(buf, static_cast<size_t>(got));
  }
  while (::waitpid(pid, &run->status, 0) < 0 && errno == EINTR) {
  }
  return true;
}

std::vector<std::string> LinesWith(const std::string& text, const std::string& prefix) {
  std::vector<std::string> out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    if (line.rfind(prefix, 0) == 0) out.push_back(line.substr(prefix.size()));
    pos = end + 1;
  }
  return out;
}

class EngineFullDiskTest : public ::testing::TestWithParam<FullDiskCase> {};

TEST_P(EngineFullDiskTest, FullDiskIsACleanErrorAndLosesNothing) {
  const FullDiskCase& c = GetParam();
  if (const char* root = std::getenv(kChildEnv)) {
    // The child. Die with the parent (a runner's timeout kills only the parent).
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const std::string mnt = std::string(root) + "/mnt";
    ASSERT_EQ(::mkdir(mnt.c_str(), 0755), 0) << Errno("mkdir");
    auto skip = [](const std::string& why) {
      std::printf("%s%s\n", kSkipMarker, why.c_str());
      std::fflush(stdout);
    };
    if (std::string why = EnterPrivateMountNamespace(); !why.empty()) {
      skip("no private mount namespace here (" + why + ")");
      GTEST_SKIP() << why;
    }
    std::string why;
    ScopedMount mount = c.fs == FsKind::kTmpfs
                            ? MountTmpfs(mnt, kTmpfsBytes, &why)
                            : MountExt4Image(std::string(root) + "/ext4.img", mnt, &why);
    if (!mount.mounted()) {
      skip("cannot mount the small file system (" + why + ")");
      GTEST_SKIP() << why;
    }
    Note(fmt::format(
        "{}: {} KiB free; O_DIRECT {} (the engine's default direct write mode {})", c.name,
        FreeBytes(mnt) >> 10, AcceptsODirect(mnt) ? "accepted" : "refused",
        AcceptsODirect(mnt) ? "is used as is" : "falls back to buffered writes by itself"));
    FullDiskScenario scenario(c, mnt);
    scenario.Run();
    return;
  }

  testing::TempDir root;
  ChildRun run;
  std::string error;
  ASSERT_TRUE(RunChild(root.path(), &run, &error)) << error;
  for (const std::string& note : LinesWith(run.output, kNoteMarker))
    std::printf("  %s\n", note.c_str());
  if (auto skipped = LinesWith(run.output, kSkipMarker); !skipped.empty())
    GTEST_SKIP() << skipped.front();
  const bool exited_ok = WIFEXITED(run.status) && WEXITSTATUS(run.status) == 0;
  const bool ran = run.output.find("[       OK ] ") != std::string::npos;
  EXPECT_TRUE(exited_ok && ran) << "the child "
                                << (WIFSIGNALED(run.status)
                                        ? "was killed by signal " +
                                              std::to_string(WTERMSIG(run.status))
                                        : "exited with " + std::to_string(WEXITSTATUS(run.status)))
                                << "; its output:\n"
                                << run.output;
}

INSTANTIATE_TEST_SUITE_P(
    Filesystems, EngineFullDiskTest,
    ::testing::Values(FullDiskCase{"tmpfs_small_segments", FsKind::kTmpfs, 128 << 10},
                      FullDiskCase{"tmpfs_default_segments", FsKind::kTmpfs, 128 * kMiB},
                      FullDiskCase{"ext4_small_segments", FsKind::kExt4, 128 << 10},
                      FullDiskCase{"ext4_default_segments", FsKind::kExt4, 128 * kMiB}),
    [](const ::testing::TestParamInfo<FullDiskCase>& p) { return std::string(p.param.name); });

// The same CreateStream failure without a mount, so it is checked where mounting is
// impossible: a full tmpfs first refuses a block to the new shards' log.meta files.
TEST(EngineNoSpaceTest, FailedCreateStreamLeavesNothingBehind) {
  testing::TempDir dir;
  auto fs = std::make_shared<io::FaultFileSystem>();
  EngineOptions o;
  o.fs = fs;
  o.sweep_interval_ms = 0;
  auto e = Engine::Open(dir.Sub("data"), o);
  ASSERT_TRUE(e.ok()) << e.status();
  // Shard 0's log is made whole (its segment preallocated), shard 1's log.meta fails.
  fs->InjectError(io::FaultOp::kWrite, ENOSPC, -1, "/1/log.meta");
  Status st = (*e)->CreateStream("s", 2);
  EXPECT_EQ(st.code(), Code::kNoSpace) << st;
  EXPECT_NE(st.message().find(kFreeSpaceHint), std::string::npos) << st;
  EXPECT_NE(st.message().find(dir.Sub("data")), std::string::npos)
      << "the error should name the file: " << st;
  ASSERT_TRUE((*e)->Close().ok());  // drains the engine's background removals
  std::vector<std::string> left;
  if (DIR* d = ::opendir(dir.Sub("data/streams").c_str())) {
    while (dirent* ent = ::readdir(d))
      if (std::strcmp(ent->d_name, ".") != 0 && std::strcmp(ent->d_name, "..") != 0)
        left.push_back(ent->d_name);
    ::closedir(d);
  }
  EXPECT_EQ(left, std::vector<std::string>{})
      << "the failed CreateStream left its directories behind";
  fs->ClearFaults();
  e = Engine::Open(dir.Sub("data"), o);
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ((*e)->DescribeStream("s").status().code(), Code::kNotFound);
  ASSERT_TRUE((*e)->CreateStream("s", 2).ok());
  ASSERT_TRUE((*e)->Close().ok());
}

}  // namespace
}  // namespace shoal
