// Crash test: a child process appends to shard logs and records every acknowledgement;
// the parent SIGKILLs it at a random moment, reopens the logs and verifies that every
// acknowledged record is present at its acknowledged offset, in order, exactly once and
// byte for byte, and that nothing that was never sent appears. The next cycle keeps
// appending to the same logs, so each log grows (and is trimmed) across many crashes.
//
// Process layout: the parent (this gtest process) is single-threaded whenever it forks:
// it creates its own LogWriter only to verify, and destroys it (joining its threads)
// before the next fork. The child creates its own LogWriter after the fork and never
// returns into gtest: it is SIGKILLed, or _exit()s with kChildFailed after printing why.
// The child: 3 shard logs sharing one LogWriter (cross-shard group commit), 256 KiB
// segments (rolls, and bigger segments for groups that do not fit), 2 producer threads
// appending batches of 1..48 records with the async AppendCompletion API, and TrimBefore
// now and then. The parent verifies with its own LogWriter, then either Close()s the logs
// (the next open takes the CLEAN path) or abandons them; in every third cycle or so it
// verifies a snapshot instead, so the next child recovers the crash itself and may be
// killed in the middle of that recovery. Before it looks at the files, the parent waits
// until no write of the dead child can still land (see WaitUntilNoWriters).
//
// Configs: durability always / none x write mode buffered / direct, plus interval/buffered.
// A process crash loses no acknowledged record in any of them: even kNone acknowledges
// only after the write reached the page cache (or the device, with O_DIRECT).
//
// Record identity: every record's key is "s<shard>.p<producer>.<seq>" and its data (1 B to
// 64 KiB) is derived from (shard, producer, seq) alone, so the parent regenerates and
// compares both byte for byte. Per (shard, producer) the sequence numbers a child sends
// are consecutive, starting where the records the parent found last time end.
//
// Ack file: for each acknowledged append the completion write()s one fixed-size record
// (O_APPEND, no user-space buffering) before anything else; trims write an intent record
// before TrimBefore(). The parent trusts only whole records with a valid checksum; a torn
// last record is ignored.
//
// Environment:
//   SHOAL_CRASH_CYCLES   cycles of the main config (always/buffered; default 24); the
//                        other configs run half as many (at least 8)
//   SHOAL_CRASH_SEED     base seed (default: random; always printed)
//   SHOAL_CRASH_VERBOSE  1: one line per cycle
//   SHOAL_CRASH_KEEP     1: on failure, move the logs out of the temp dir and print where
//   SHOAL_CRASH_NO_IO_WAIT  1: verify right after waitpid(), without waiting for the dead
//                        child's in-flight writes (reproduces recovery racing late O_DIRECT
//                        writes: records a recovery excluded reappear at the next open)
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "io/crc32c.h"
#include "kernel/format.h"
#include "kernel/log_writer.h"
#include "kernel/shard_log.h"
#include "tests/testlib/temp_dir.h"

namespace shoal {
namespace {

constexpr int kShards = 3;
constexpr int kProducers = 2;
constexpr uint64_t kSegmentBytes = 256 << 10;
constexpr size_t kStagingBytes = 1 << 20;
constexpr size_t kMaxData = 64 << 10;
// The child trims a shard back to 2/3 of this once it holds more, which bounds disk use
// and verification time (acknowledged records the child trimmed cannot be checked).
constexpr uint64_t kKeepRecords = 30000;
constexpr int kChildFailed = 3;

// ---------------------------------------------------------------------------------------
// Deterministic record content

uint64_t Mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t RecordSeed(int shard, int producer, uint64_t seq) {
  return Mix64(Mix64(seq) ^ (static_cast<uint64_t>(shard) << 40) ^
               (static_cast<uint64_t>(producer) << 32) ^ 0x5eed);
}

// Mostly small records, some medium, a few large, a few of exactly 64 KiB.
size_t DataSize(uint64_t h) {
  const uint64_t pick = h % 1000;
  const uint64_t r = Mix64(h ^ 0x51e);
  if (pick < 650) return 1 + r % 128;
  if (pick < 930) return 129 + r % (4096 - 128);
  if (pick < 995) return 4097 + r % (kMaxData - 4096);
  return kMaxData;
}

void FillData(uint64_t h, char* out, size_t n) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t v = Mix64(h + i);
    std::memcpy(out + i, &v, 8);
  }
  if (i < n) {
    uint64_t v = Mix64(h + i);
    std::memcpy(out + i, &v, n - i);
  }
}

std::string MakeKey(int shard, int producer, uint64_t seq) {
  char buf[64];
  int n = std::snprintf(buf, sizeof buf, "s%d.p%d.%" PRIu64, shard, producer, seq);
  return std::string(buf, static_cast<size_t>(n));
}

// Parses a key MakeKey produced; false for anything else (including non-canonical forms).
bool ParseKey(std::string_view key, int* shard, int* producer, uint64_t* seq) {
  auto num = [&](size_t& i, uint64_t* v) {
    size_t start = i;
    *v = 0;
    while (i < key.size() && key[i] >= '0' && key[i] <= '9') {
      if (i - start >= 19) return false;
      *v = *v * 10 + static_cast<uint64_t>(key[i] - '0');
      ++i;
    }
    return i > start;
  };
  size_t i = 0;
  uint64_t s, p;
  if (i >= key.size() || key[i++] != 's' || !num(i, &s)) return false;
  if (i >= key.size() || key[i++] != '.') return false;
  if (i >= key.size() || key[i++] != 'p' || !num(i, &p)) return false;
  if (i >= key.size() || key[i++] != '.') return false;
  if (!num(i, seq) || i != key.size()) return false;
  if (s >= kShards || p >= kProducers) return false;
  *shard = static_cast<int>(s);
  *producer = static_cast<int>(p);
  return key == MakeKey(*shard, *producer, *seq);
}

// ---------------------------------------------------------------------------------------
// Ack file records

enum AckType : uint8_t { kAckAppend = 1, kAckTrimIntent = 2 };
constexpr uint32_t kAckMagic = 0xac6b5e11;

struct AckRec {
  uint32_t magic;
  uint8_t type;
  uint8_t shard;
  uint8_t producer;
  uint8_t pad;
  uint64_t seq;     // first sequence number of the append (0 for a trim intent)
  uint64_t offset;  // first offset of the append, or the trim target
  uint32_t count;   // records in the append (0 for a trim intent)
  uint32_t check;   // CRC32C of the 28 bytes above
};
static_assert(sizeof(AckRec) == 32);

AckRec MakeAck(AckType type, int shard, int producer, uint64_t seq, uint64_t offset,
               uint32_t count) {
  AckRec a;
  std::memset(&a, 0, sizeof a);
  a.magic = kAckMagic;
  a.type = type;
  a.shard = static_cast<uint8_t>(shard);
  a.producer = static_cast<uint8_t>(producer);
  a.seq = seq;
  a.offset = offset;
  a.count = count;
  a.check = io::Crc32c(&a, offsetof(AckRec, check));
  return a;
}

bool AckValid(const AckRec& a) {
  return a.magic == kAckMagic && a.check == io::Crc32c(&a, offsetof(AckRec, check));
}

// ---------------------------------------------------------------------------------------
// Child

struct ChildParams {
  std::string root;      // holds shard0..shard2
  std::string ack_path;  // this cycle's ack file
  LogOptions opts;
  uint64_t next_seq[kShards][kProducers];
  uint64_t seed;
  pid_t parent;
};

std::string ShardDir(const std::string& root, int shard) {
  return root + "/shard" + std::to_string(shard);
}

[[noreturn]] void ChildDie(const std::string& why) {
  std::string msg = "[crash child " + std::to_string(::getpid()) + "] " + why + "\n";
  ssize_t ignored = ::write(2, msg.data(), msg.size());
  (void)ignored;
  ::_exit(kChildFailed);
}

void WriteAck(int fd, const AckRec& a) {
  ssize_t n = ::write(fd, &a, sizeof a);
  if (n != static_cast<ssize_t>(sizeof a))
    ChildDie("ack write failed: " + std::string(std::strerror(errno)));
}

// One in-flight append: records its ack, then deletes itself.
class ChildAppend final : public AppendCompletion {
 public:
  ChildAppend(int fd, int shard, int producer, uint64_t first_seq, uint32_t count)
      : fd_(fd), shard_(shard), producer_(producer), first_seq_(first_seq), count_(count) {}
  void OnAppended(const AppendResult& r) override {
    if (!r.status.ok())
      ChildDie("append to shard " + std::to_string(shard_) + " failed: " + r.status.ToString());
    if (r.count != count_)
      ChildDie("append acknowledged " + std::to_string(r.count) + " records, sent " +
               std::to_string(count_));
    WriteAck(fd_, MakeAck(kAckAppend, shard_, producer_, first_seq_, r.first_offset, r.count));
    delete this;
  }

 private:
  const int fd_;
  const int shard_;
  const int producer_;
  const uint64_t first_seq_;
  const uint32_t count_;
};

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

void ChildProducer(const ChildParams& p, int producer, ShardLog* const* logs, int ack_fd) {
  std::mt19937_64 rng(Mix64(p.seed ^ (0xc0ffee + static_cast<uint64_t>(producer))));
  uint64_t next_seq[kShards];
  for (int s = 0; s < kShards; ++s) next_seq[s] = p.next_seq[s][producer];
  std::vector<std::string> keys, datas;
  std::vector<RecordIn> recs;
  while (true) {
    const int shard = static_cast<int>(rng() % kShards);
    ShardLog* log = logs[shard];
    uint32_t n = 1 + static_cast<uint32_t>(rng() % 8);
    if (rng() % 32 == 0) n = 1 + static_cast<uint32_t>(rng() % 48);
    keys.resize(n);
    datas.resize(n);
    recs.resize(n);
    int64_t ts = NowMs();
    if (rng() % 64 == 0) ts -= 5000;  // below the log's last timestamp: gets raised
    for (uint32_t i = 0; i < n; ++i) {
      const uint64_t seq = next_seq[shard] + i;
      const uint64_t h = RecordSeed(shard, producer, seq);
      keys[i] = MakeKey(shard, producer, seq);
      datas[i].resize(DataSize(h));
      FillData(h, datas[i].data(), datas[i].size());
      recs[i] = RecordIn{keys[i], datas[i], ts};
    }
    auto* c = new ChildAppend(ack_fd, shard, producer, next_seq[shard], n);
    log->Append(std::span<const RecordIn>(recs.data(), n), c);
    next_seq[shard] += n;

    if (rng() % 64 == 0) {
      const uint64_t start = log->start_offset();
      const uint64_t end = log->end_offset();
      uint64_t target = 0;
      if (end - start > kKeepRecords) target = end - kKeepRecords * 2 / 3;
      else if (rng() % 16 == 0) target = start + rng() % (end - start + 1);
      if (target > start) {
        WriteAck(ack_fd, MakeAck(kAckTrimIntent, shard, producer, 0, target, 0));
        Status st = log->TrimBefore(target);
        if (!st.ok()) ChildDie("TrimBefore(" + std::to_string(target) + ") failed: " + st.ToString());
      }
    }
  }
}

[[noreturn]] void ChildMain(const ChildParams& p) {
  // Die with the parent (e.g. if it crashes before it kills us).
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != p.parent) ::_exit(kChildFailed);
  const int ack_fd = ::open(p.ack_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (ack_fd < 0) ChildDie("open " + p.ack_path + ": " + std::strerror(errno));
  auto w = LogWriter::Create();
  if (!w.ok()) ChildDie("LogWriter::Create: " + w.status().ToString());
  std::shared_ptr<LogWriter> writer = *w;
  std::unique_ptr<ShardLog> owned[kShards];
  ShardLog* logs[kShards];
  for (int s = 0; s < kShards; ++s) {
    auto r = ShardLog::Open(ShardDir(p.root, s), p.opts, writer);
    if (!r.ok()) ChildDie("open shard " + std::to_string(s) + ": " + r.status().ToString());
    owned[s] = std::move(r).value();
    logs[s] = owned[s].get();
  }
  std::vector<std::thread> threads;
  for (int pr = 0; pr < kProducers; ++pr)
    threads.emplace_back([&, pr] { ChildProducer(p, pr, logs, ack_fd); });
  for (auto& t : threads) t.join();  // never: the producers loop until SIGKILL
  ChildDie("producers returned");
}

// ---------------------------------------------------------------------------------------
// Parent

struct CrashConfig {
  Durability durability;
  WriteMode mode;
  bool main;  // the main config runs the full cycle count
};

std::string ConfigName(const CrashConfig& c) {
  return std::string(DurabilityName(c.durability)) + "_" + std::string(WriteModeName(c.mode));
}

void PrintTo(const CrashConfig& c, std::ostream* os) { *os << ConfigName(c); }

struct Ident {
  uint8_t producer;
  uint64_t seq;
  bool operator==(const Ident&) const = default;
};

// What the parent knows about one shard after its last verification.
struct ShardModel {
  uint64_t start = 0;
  uint64_t end = 0;
  std::vector<Ident> ids;  // ids[i]: the record at offset start + i
  uint64_t next_seq[kProducers] = {};
};

struct Totals {
  int cycles = 0;
  int cycles_with_acks = 0;
  int clean_recoveries = 0;      // the child died before it removed the CLEAN marker
  uint64_t acked_verified = 0;   // acknowledged records found at their offset, byte-exact
  uint64_t acked_trimmed = 0;    // acknowledged, then trimmed by the child itself
  uint64_t beyond_acks = 0;      // records found that were appended but never acknowledged
  uint64_t truncated_bytes = 0;  // LogStats::recovered_truncated_bytes, summed
  uint64_t torn_ack_tails = 0;   // ack files whose last record was torn
  uint64_t trims = 0;            // trim intents
  uint64_t records_read = 0;     // records read and compared, over all verifications
  int snapshots = 0;             // cycles verified on a copy: the next child recovers the crash
  int late_io_cycles = 0;        // cycles whose dead child still had writes in flight
};

uint64_t EnvU64(const char* name, uint64_t dflt) {
  const char* v = std::getenv(name);
  if (!v || !*v) return dflt;
  return std::strtoull(v, nullptr, 0);
}

// The crash state is final only when no write of the dead child can still land. waitpid()
// is not enough: io_uring O_DIRECT writes the child submitted keep completing after it was
// reaped (seen here: up to ~250 ms for a queue of 1 MiB writes; the flock of a data
// directory is released before they land). A read lease cannot be taken while any process
// holds the file open for writing, and an in-flight request holds its file open: poll
// F_SETLEASE(F_RDLCK) on every segment file until it succeeds. Returns the number of files
// that were still open for writing when first probed, or -1 (with *error) on failure.
int WaitUntilNoWriters(const std::string& root, std::string* error) {
  namespace fs = std::filesystem;
  int busy_files = 0;
  for (int s = 0; s < kShards; ++s) {
    const std::string dir = ShardDir(root, s);
    std::error_code ec;
    if (!fs::exists(dir, ec)) continue;
    for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
      const std::string path = e.path().string();
      if (!path.ends_with(".seg")) continue;
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
      bool counted = false;
      while (true) {
        const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd < 0) break;  // unlinked meanwhile: nothing to wait for
        const int r = ::fcntl(fd, F_SETLEASE, F_RDLCK);
        const int err = errno;
        if (r == 0) ::fcntl(fd, F_SETLEASE, F_UNLCK);
        ::close(fd);
        if (r == 0) break;
        if (err != EAGAIN) {
          // Leases unsupported here: fall back to fallocate(), which waits for in-flight
          // direct I/O on ext4 and XFS (inode_dio_wait).
          const int wfd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
          if (wfd >= 0) {
            const int ignored = ::fallocate(wfd, FALLOC_FL_KEEP_SIZE, 0, 1);  // best effort
            (void)ignored;
            ::close(wfd);
          }
          break;
        }
        if (!counted) ++busy_files, counted = true;
        if (std::chrono::steady_clock::now() > deadline) {
          *error = path + " is still open for writing 60 s after the child was killed";
          return -1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
  }
  return busy_files;
}

// A copy of the logs to verify, so the originals stay exactly as the crash left them and
// the next child has to recover them itself (and may be killed while it does). Sealed
// segments (with an .idx) are hard-linked: opening, reading and closing a log never
// writes to them. Everything else is copied.
bool SnapshotLogs(const std::string& from, const std::string& to, std::string* error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directory(to, ec);
  if (ec) return *error = "mkdir " + to + ": " + ec.message(), false;
  for (int s = 0; s < kShards; ++s) {
    const std::string src = ShardDir(from, s), dst = ShardDir(to, s);
    if (!fs::exists(src)) continue;
    fs::create_directory(dst, ec);
    if (ec) return *error = "mkdir " + dst + ": " + ec.message(), false;
    for (const fs::directory_entry& e : fs::directory_iterator(src)) {
      const std::string name = e.path().filename().string();
      const std::string out = dst + "/" + name;
      const bool sealed_seg = name.size() > 4 && name.ends_with(".seg") &&
                              fs::exists(src + "/" + name.substr(0, name.size() - 4) + ".idx");
      if (sealed_seg) fs::create_hard_link(e.path(), out, ec);
      else fs::copy_file(e.path(), out, ec);
      if (ec) return *error = "snapshot " + e.path().string() + ": " + ec.message(), false;
    }
  }
  return true;
}

bool DirectIoSupported(const std::string& dir) {
  std::string path = dir + "/direct-probe";
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_DIRECT | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  ::close(fd);
  ::unlink(path.c_str());
  return true;
}

class ShardLogCrashTest : public ::testing::TestWithParam<CrashConfig> {
 protected:
  // Collects a failure; returns false so callers can `return Fail(...)`.
  bool Fail(const std::string& msg) {
    ++failures_;
    if (failures_ <= 20) ADD_FAILURE() << "cycle " << cycle_ << ": " << msg;
    return false;
  }

  std::vector<AckRec> ReadAcks(const std::string& path, Totals* t) {
    std::vector<AckRec> acks;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
      if (errno != ENOENT) Fail("open " + path + ": " + std::strerror(errno));
      return acks;  // the child died before it created the file
    }
    std::string bytes;
    char buf[1 << 16];
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof buf)) > 0) bytes.append(buf, static_cast<size_t>(n));
    ::close(fd);
    const size_t whole = bytes.size() / sizeof(AckRec);
    bool torn = bytes.size() % sizeof(AckRec) != 0;
    for (size_t i = 0; i < whole; ++i) {
      AckRec a;
      std::memcpy(&a, bytes.data() + i * sizeof(AckRec), sizeof a);
      if (!AckValid(a)) {
        if (i + 1 == whole && !torn) {
          torn = true;  // a last record that is all there but not valid: torn too
          break;
        }
        Fail(path + ": ack record " + std::to_string(i) + " of " + std::to_string(whole) +
             " is damaged (only the last one may be torn)");
        return {};
      }
      acks.push_back(a);
    }
    if (torn) ++t->torn_ack_tails;
    return acks;
  }

  // Reopens the logs after a crash and checks them against the model and the acks.
  bool Verify(const std::string& root, const LogOptions& opts, const std::string& ack_path,
              bool close_cleanly, Totals* t) {
    std::vector<AckRec> acks = ReadAcks(ack_path, t);
    if (failures_) return false;
    uint64_t trim_intent[kShards] = {};
    uint64_t acked_this_cycle = 0;
    for (const AckRec& a : acks) {
      if (a.shard >= kShards || a.producer >= kProducers)
        return Fail("ack names shard " + std::to_string(a.shard) + " producer " +
                    std::to_string(a.producer));
      if (a.type == kAckTrimIntent) {
        trim_intent[a.shard] = std::max(trim_intent[a.shard], a.offset);
        ++t->trims;
      } else if (a.type == kAckAppend) {
        if (a.count == 0) return Fail("ack of 0 records");
        acked_this_cycle += a.count;
      } else {
        return Fail("ack of unknown type " + std::to_string(a.type));
      }
    }
    if (acked_this_cycle > 0) ++t->cycles_with_acks;

    auto w = LogWriter::Create();
    if (!w.ok()) return Fail("LogWriter::Create: " + w.status().ToString());
    std::shared_ptr<LogWriter> writer = *w;
    std::unique_ptr<ShardLog> logs[kShards];
    std::string expected(kMaxData, '\0');
    for (int s = 0; s < kShards; ++s) {
      auto opened = ShardLog::Open(ShardDir(root, s), opts, writer);
      if (!opened.ok())
        return Fail("reopen shard " + std::to_string(s) + ": " + opened.status().ToString());
      logs[s] = std::move(opened).value();
      ShardLog& log = *logs[s];
      ShardModel& m = models_[s];
      const LogStats st = log.stats();
      t->truncated_bytes += st.recovered_truncated_bytes;
      if (st.recovered_clean) ++t->clean_recoveries;
      const uint64_t start = log.start_offset();
      const uint64_t end = log.end_offset();
      const std::string where = "shard " + std::to_string(s);
      if (end < m.end)
        return Fail(where + ": end_offset " + std::to_string(end) + " is below " +
                    std::to_string(m.end) + ", the end found after the previous crash");
      if (start < m.start)
        return Fail(where + ": start_offset went back from " + std::to_string(m.start) + " to " +
                    std::to_string(start));
      const uint64_t allowed_start = std::max(m.start, trim_intent[s]);
      if (start > allowed_start)
        return Fail(where + ": start_offset " + std::to_string(start) +
                    " is past every trim the child asked for (max " +
                    std::to_string(allowed_start) + ")");

      // Read everything, in order, and check every record's identity and bytes.
      std::vector<Ident> ids;
      ids.reserve(end - start);
      uint64_t expect_seq[kProducers];
      bool seen_new[kProducers] = {};
      for (int pr = 0; pr < kProducers; ++pr) expect_seq[pr] = m.next_seq[pr];
      const bool gap = start > m.end;  // records of this cycle below start were trimmed
      uint64_t off = start;
      int64_t last_ts = INT64_MIN;
      ReadBatch b;
      while (off < end) {
        Status rs = log.Read(off, 4096, 8 << 20, &b);
        if (!rs.ok()) return Fail(where + ": Read(" + std::to_string(off) + "): " + rs.ToString());
        if (b.records.empty())
          return Fail(where + ": Read(" + std::to_string(off) + ") returned nothing below end " +
                      std::to_string(end));
        for (const RecordView& r : b.records) {
          const std::string at = where + " offset " + std::to_string(r.offset);
          if (r.offset != off)
            return Fail(at + ": expected offset " + std::to_string(off) + " (offsets must be dense)");
          int ks, kp;
          uint64_t seq;
          if (!ParseKey(r.key, &ks, &kp, &seq))
            return Fail(at + ": key '" + std::string(r.key.substr(0, 64)) +
                        "' was never sent by any producer");
          if (ks != s) return Fail(at + ": holds a record sent to shard " + std::to_string(ks));
          const uint64_t h = RecordSeed(s, kp, seq);
          const size_t size = DataSize(h);
          if (r.data.size() != size)
            return Fail(at + " (" + std::string(r.key) + "): data is " +
                        std::to_string(r.data.size()) + " bytes, sent " + std::to_string(size));
          FillData(h, expected.data(), size);
          if (std::memcmp(r.data.data(), expected.data(), size) != 0) {
            size_t i = 0;
            while (r.data[i] == expected[i]) ++i;
            return Fail(at + " (" + std::string(r.key) + "): data differs from what was sent at byte " +
                        std::to_string(i) + " of " + std::to_string(size));
          }
          if (r.ts_ms < last_ts)
            return Fail(at + ": timestamp " + std::to_string(r.ts_ms) + " is below the previous " +
                        std::to_string(last_ts));
          last_ts = r.ts_ms;
          const Ident id{static_cast<uint8_t>(kp), seq};
          if (off < m.end) {
            // Seen after an earlier crash: must not have changed.
            const Ident& old = m.ids[off - m.start];
            if (!(old == id))
              return Fail(at + ": was p" + std::to_string(old.producer) + "." +
                          std::to_string(old.seq) + " after the previous crash, is now " +
                          std::string(r.key));
          } else {
            // Appended by this cycle's child: per producer, a run of consecutive sequence
            // numbers starting where the previous cycle's records ended (unless trimmed).
            const bool any_ok = gap && !seen_new[kp];
            if (any_ok ? seq < expect_seq[kp] : seq != expect_seq[kp])
              return Fail(at + ": " + std::string(r.key) + " out of order or duplicated; expected p" +
                          std::to_string(kp) + "." + std::to_string(expect_seq[kp]) +
                          (any_ok ? " or later" : ""));
            seen_new[kp] = true;
            expect_seq[kp] = seq + 1;
          }
          ids.push_back(id);
          ++off;
        }
        if (b.next_offset != off)
          return Fail(where + ": ReadBatch::next_offset " + std::to_string(b.next_offset) +
                      " != " + std::to_string(off));
      }
      t->records_read += ids.size();

      // Every acknowledged append of this cycle: present at its offset, exactly once.
      std::vector<uint8_t> acked(end > m.end ? end - m.end : 0, 0);
      uint64_t acked_here = 0;
      uint64_t max_seq_acked[kProducers] = {};
      bool any_acked[kProducers] = {};
      for (const AckRec& a : acks) {
        if (a.type != kAckAppend || a.shard != s) continue;
        for (uint32_t i = 0; i < a.count; ++i) {
          const uint64_t o = a.offset + i;
          const uint64_t seq = a.seq + i;
          const std::string what = where + ": acknowledged p" + std::to_string(a.producer) + "." +
                                   std::to_string(seq) + " at offset " + std::to_string(o);
          if (o < m.end)
            return Fail(what + " is below the end (" + std::to_string(m.end) +
                        ") found before this cycle's child ran");
          if (o >= end)
            return Fail(what + " is LOST: the reopened log ends at " + std::to_string(end) +
                        " (" + std::to_string(end - m.end) + " records after the previous end)");
          if (acked[o - m.end]++)
            return Fail(what + " was acknowledged twice");
          ++acked_here;
          max_seq_acked[a.producer] = std::max(max_seq_acked[a.producer], seq);
          any_acked[a.producer] = true;
          if (o < start) {
            ++t->acked_trimmed;  // the child trimmed it (start <= its trim intent)
            continue;
          }
          const Ident& got = ids[o - start];
          if (got.producer != a.producer || got.seq != seq)
            return Fail(what + " is not there: the offset holds p" + std::to_string(got.producer) +
                        "." + std::to_string(got.seq));
          ++t->acked_verified;
        }
      }
      const uint64_t added = end - m.end;
      if (acked_here > added) return Fail(where + ": more records acknowledged than added");
      t->beyond_acks += added - acked_here;

      m.start = start;
      m.end = end;
      m.ids = std::move(ids);
      for (int pr = 0; pr < kProducers; ++pr) {
        m.next_seq[pr] = expect_seq[pr];
        if (any_acked[pr]) m.next_seq[pr] = std::max(m.next_seq[pr], max_seq_acked[pr] + 1);
      }
    }
    if (close_cleanly) {
      for (auto& log : logs) {
        Status st = log->Close();
        if (!st.ok()) return Fail("Close: " + st.ToString());
      }
    }
    for (auto& log : logs) log.reset();  // without Close(): abandoned, like a crash
    writer.reset();                       // joins the writer's threads before the next fork
    return true;
  }

  ShardModel models_[kShards];
  int failures_ = 0;
  int cycle_ = -1;
};

TEST_P(ShardLogCrashTest, AckedRecordsSurviveSigkill) {
  const CrashConfig& cfg = GetParam();
  testing::TempDir dir;
  if (cfg.mode == WriteMode::kDirect && !DirectIoSupported(dir.path()))
    GTEST_SKIP() << "O_DIRECT is not supported in " << dir.path();
  const uint64_t main_cycles = std::max<uint64_t>(EnvU64("SHOAL_CRASH_CYCLES", 24), 1);
  const int cycles = static_cast<int>(cfg.main ? main_cycles : std::max<uint64_t>(main_cycles / 2, 8));
  uint64_t base_seed = EnvU64("SHOAL_CRASH_SEED", 0);
  if (base_seed == 0) base_seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  const uint64_t seed = Mix64(base_seed ^ (static_cast<uint64_t>(cfg.durability) << 8) ^
                              static_cast<uint64_t>(cfg.mode));
  const bool verbose = EnvU64("SHOAL_CRASH_VERBOSE", 0) != 0;
  const bool no_io_wait = EnvU64("SHOAL_CRASH_NO_IO_WAIT", 0) != 0;
  std::printf("[crash %s] SHOAL_CRASH_SEED=%" PRIu64 " cycles=%d dir=%s\n",
              ConfigName(cfg).c_str(), base_seed, cycles, dir.path().c_str());
  std::fflush(stdout);

  const std::string root = dir.Sub("logs");
  ASSERT_EQ(::mkdir(root.c_str(), 0755), 0) << std::strerror(errno);
  LogOptions opts;
  opts.durability = cfg.durability;
  opts.write_mode = cfg.mode;
  opts.segment_bytes = kSegmentBytes;
  opts.staging_bytes = kStagingBytes;
  opts.max_record_bytes = kMaxData;
  opts.interval_ms = 5;
  std::mt19937_64 rng(seed);
  Totals t;
  for (cycle_ = 0; cycle_ < cycles && failures_ == 0; ++cycle_) {
    ChildParams p;
    p.root = root;
    p.ack_path = dir.Sub("acks-" + std::to_string(cycle_) + ".bin");
    p.opts = opts;
    for (int s = 0; s < kShards; ++s)
      for (int pr = 0; pr < kProducers; ++pr) p.next_seq[s][pr] = models_[s].next_seq[pr];
    p.seed = rng();
    p.parent = ::getpid();
    const int delay_ms = 20 + static_cast<int>(rng() % 381);
    const bool close_cleanly = rng() % 2 == 0;
    const bool on_snapshot = rng() % 3 == 0;

    std::fflush(nullptr);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0) << "fork: " << std::strerror(errno);
    if (pid == 0) ChildMain(p);  // never returns
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ::kill(pid, SIGKILL);
    int status = 0;
    pid_t got;
    do got = ::waitpid(pid, &status, 0);
    while (got < 0 && errno == EINTR);
    ASSERT_EQ(got, pid) << "waitpid: " << std::strerror(errno);
    if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) {
      Fail(WIFEXITED(status)
               ? "the child exited by itself with code " + std::to_string(WEXITSTATUS(status)) +
                     " before the kill (its stderr says why)"
               : "the child died of signal " + std::to_string(WTERMSIG(status)));
      break;
    }
    if (!no_io_wait) {
      std::string error;
      const int busy = WaitUntilNoWriters(root, &error);
      if (busy < 0) {
        Fail(error);
        break;
      }
      if (busy > 0) ++t.late_io_cycles;
    }
    const Totals before = t;
    std::string verify_root = root;
    if (on_snapshot) {
      verify_root = dir.Sub("snapshot");
      std::string error;
      if (!SnapshotLogs(root, verify_root, &error)) {
        Fail(error);
        break;
      }
      ++t.snapshots;
    }
    if (!Verify(verify_root, opts, p.ack_path, close_cleanly, &t)) break;
    if (on_snapshot) std::filesystem::remove_all(verify_root);
    ++t.cycles;
    ::unlink(p.ack_path.c_str());
    if (verbose) {
      std::printf("[crash %s] cycle %d: killed after %d ms; verified %" PRIu64
                  " acked, %" PRIu64 " beyond acks, truncated %" PRIu64 " B; ends",
                  ConfigName(cfg).c_str(), cycle_, delay_ms, t.acked_verified - before.acked_verified,
                  t.beyond_acks - before.beyond_acks, t.truncated_bytes - before.truncated_bytes);
      for (const ShardModel& m : models_) std::printf(" [%" PRIu64 ",%" PRIu64 ")", m.start, m.end);
      std::printf("%s\n", on_snapshot ? " (verified a snapshot)"
                           : close_cleanly ? " (closed)" : " (abandoned)");
    }
  }
  uint64_t total_end = 0;
  for (const ShardModel& m : models_) total_end += m.end;
  std::printf("[crash %s] cycles=%d (with acks: %d) acked_verified=%" PRIu64
              " acked_then_trimmed=%" PRIu64 " beyond_acks=%" PRIu64
              " recovered_truncated_bytes=%" PRIu64 " clean_recoveries=%d torn_ack_tails=%" PRIu64
              " trims=%" PRIu64 " snapshot_cycles=%d late_io_cycles=%d records_appended=%" PRIu64
              " records_compared=%" PRIu64 "\n",
              ConfigName(cfg).c_str(), t.cycles, t.cycles_with_acks, t.acked_verified,
              t.acked_trimmed, t.beyond_acks, t.truncated_bytes, t.clean_recoveries,
              t.torn_ack_tails, t.trims, t.snapshots, t.late_io_cycles, total_end, t.records_read);
  std::fflush(stdout);
  if (failures_) {
    std::printf("[crash %s] FAILED at cycle %d; rerun with SHOAL_CRASH_SEED=%" PRIu64
                " (timing still varies)%s\n",
                ConfigName(cfg).c_str(), cycle_, base_seed,
                EnvU64("SHOAL_CRASH_KEEP", 0) ? "" : "; SHOAL_CRASH_KEEP=1 keeps the logs");
    if (EnvU64("SHOAL_CRASH_KEEP", 0)) {
      std::error_code ec;
      const std::string kept = dir.path() + "-kept";
      std::filesystem::rename(dir.path(), kept, ec);
      std::filesystem::create_directory(dir.path(), ec);  // so TempDir's cleanup is a no-op
      std::printf("[crash %s] logs and ack files kept in %s\n", ConfigName(cfg).c_str(), kept.c_str());
    }
  }
  EXPECT_GT(t.cycles_with_acks, 0) << "no cycle acknowledged anything: the test tested nothing";
}

INSTANTIATE_TEST_SUITE_P(
    Configs, ShardLogCrashTest,
    ::testing::Values(CrashConfig{Durability::kAlways, WriteMode::kBuffered, true},
                      CrashConfig{Durability::kAlways, WriteMode::kDirect, false},
                      CrashConfig{Durability::kNone, WriteMode::kBuffered, false},
                      CrashConfig{Durability::kNone, WriteMode::kDirect, false},
                      CrashConfig{Durability::kInterval, WriteMode::kBuffered, false}),
    [](const ::testing::TestParamInfo<CrashConfig>& p) { return ConfigName(p.param); });

// ---------------------------------------------------------------------------------------
// Deterministic reproduction of a state the crash cycles above reached: an empty segment
// file (left in the middle of the log by a crash right after a roll) becomes the first
// file of the directory when a crash interrupts the unlinking of trimmed segments. The
// state is built with the API, plus two file operations that stand in for the crashes:
// zeroing the frames of the segment the crashed roll never got to write (its records were
// never acknowledged), and putting back a trimmed file whose unlink the crash prevented.

std::string Filler(uint64_t i) { return std::string(1000, static_cast<char>('a' + i % 26)); }

TEST(ShardLogCrashRecovery, EmptySegmentFirstAfterInterruptedTrimUnlink) {
  testing::TempDir dir;
  const std::string ldir = dir.Sub("log");
  LogOptions opts;
  opts.segment_bytes = 64 << 10;
  auto w = LogWriter::Create();
  ASSERT_TRUE(w.ok()) << w.status();
  std::shared_ptr<LogWriter> writer = *w;
  auto seg_path = [&](uint64_t ord) { return ldir + "/" + format::SegmentFileName(ord); };

  // 1. Segment 1 fills and rolls into segment 2; segment 1 gets sealed (.idx).
  uint64_t x = 0;  // the first offset of segment 2
  {
    auto r = ShardLog::Open(ldir, opts, writer);
    ASSERT_TRUE(r.ok()) << r.status();
    auto log = std::move(r).value();
    for (uint64_t i = 0; log->stats().rolls == 0; ++i) {
      ASSERT_LT(i, 1000u);
      std::string d = Filler(i);
      RecordIn rec{"k", d, 1};
      AppendResult res = log->AppendSync({&rec, 1});
      ASSERT_TRUE(res.status.ok()) << res.status;
      x = res.first_offset;
    }
    log.reset();  // abandoned (crash-like); drains the background seal of segment 1
  }
  ASSERT_TRUE(std::filesystem::exists(ldir + "/" + format::IndexFileName(1)));
  ASSERT_TRUE(std::filesystem::exists(seg_path(2)));
  // The crash came right after the roll: the write to segment 2 never reached the file
  // (its record was never acknowledged).
  {
    const uint64_t size = std::filesystem::file_size(seg_path(2));
    int fd = ::open(seg_path(2).c_str(), O_WRONLY | O_CLOEXEC);
    ASSERT_GE(fd, 0);
    std::string zeros(size - format::kSegmentHeaderSize, '\0');
    ASSERT_EQ(::pwrite(fd, zeros.data(), zeros.size(), format::kSegmentHeaderSize),
              static_cast<ssize_t>(zeros.size()));
    ::close(fd);
  }

  // 2. Reopen: segment 2 is empty, between sealed segment 1 and the active segment
  //    (recovery now deletes such an empty segment itself; recreate the shape by hand, as
  //    a crash between the trim's unlinks would leave it: an empty segment first, then
  //    the active one holding acknowledged records).
  constexpr uint64_t kAcked = 20;
  {
    auto r = ShardLog::Open(ldir, opts, writer);
    ASSERT_TRUE(r.ok()) << r.status();
    auto log = std::move(r).value();
    ASSERT_EQ(log->end_offset(), x);
    for (uint64_t i = 0; i < kAcked; ++i) {
      std::string d = Filler(i);
      RecordIn rec{"k", d, 2};
      AppendResult res = log->AppendSync({&rec, 1});
      ASSERT_TRUE(res.status.ok()) << res.status;
      ASSERT_EQ(res.first_offset, x + i);
    }
    ASSERT_TRUE(log->TrimBefore(x).ok());
    writer->DrainBackground();
    log.reset();  // crash
  }
  ASSERT_FALSE(std::filesystem::exists(seg_path(1)));
  {
    // An empty segment with a valid header and an ordinal below every other one.
    uint8_t hdr[format::kSegmentHeaderSize];
    format::EncodeSegmentHeader({0, 1}, hdr);
    int fd = ::open(seg_path(0).c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::pwrite(fd, hdr, sizeof hdr, 0), static_cast<ssize_t>(sizeof hdr));
    ASSERT_EQ(::ftruncate(fd, 1 << 20), 0);
    ::close(fd);
  }

  // 3. Recovery must find every acknowledged record.
  auto r = ShardLog::Open(ldir, opts, writer);
  ASSERT_TRUE(r.ok()) << r.status();
  auto log = std::move(r).value();
  EXPECT_EQ(log->start_offset(), x);
  EXPECT_EQ(log->end_offset(), x + kAcked) << "acknowledged records were lost; recovery dropped "
                                           << log->stats().recovered_truncated_bytes << " bytes";
  ReadBatch b;
  if (log->end_offset() == x + kAcked) {
    ASSERT_TRUE(log->Read(x, 1000, 1 << 20, &b).ok());
    ASSERT_EQ(b.records.size(), kAcked);
    for (uint64_t i = 0; i < kAcked; ++i) EXPECT_EQ(b.records[i].data, Filler(i));
  }
}

}  // namespace
}  // namespace shoal
