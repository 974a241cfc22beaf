// Power-loss test: shard logs write through a FaultFileSystem; at a random moment the
// logs and their LogWriter are abandoned (destroyed without Close()), everything not yet
// fdatasynced is dropped (zeroed, or a random prefix of each file's unsynced writes kept),
// and the logs are reopened and checked against what their durability policy promised:
//
//   kAlways    every acknowledged record is present, byte for byte, at its offset;
//   kInterval  every record below the largest durable_offset() seen before the cut is;
//   kNone      only what a clean Close() had made durable is guaranteed;
//   all modes  what is readable is exactly what was sent at those offsets (no garbage,
//              gaps or duplicates), offsets run contiguously from start_offset() to
//              end_offset(), trimmed records never come back, appends after the reopen
//              get the next offsets and survive a further clean Close()/reopen.
//
// Offsets are predicted: every Append of a log is issued under the test's own per-log
// mutex, so the test knows which key went to which offset even for appends that were never
// acknowledged (every completion checks the prediction). A record's data is a function of
// (log, key), so a read is checked byte for byte by regenerating it.
//
// The cut is taken one of two ways (half the trials each):
//  * quiet: the logs and the writer are destroyed first. Destroying a ShardLog lets the
//    groups already taken by the writer finish (they may be written, fdatasynced and
//    acknowledged during the destructor); those acks still precede the cut.
//  * live: the disk is frozen at a random instant (CutFileSystem::Freeze: every later
//    change fails without touching anything), with writes, fdatasyncs, rolls, seals, trims
//    and segment growth in flight; the logs then fail and are destroyed. Not for kInterval
//    (see the comment at the cut).
// Either way DropUnsyncedData() runs only after every log and the writer are gone, so the
// acked set is read after destruction: it is then final.
//
// Bugs these trials found have deterministic repros in shard_log_fault_test.cc (e.g.
// TrimRacingARollKeepsUnpublishedRecords, AlwaysCutTearingTheSegmentBeforeARollReopens).
//
// Environment:
//   SHOAL_POWERLOSS_TRIALS  trials per configuration (default 30)
//   SHOAL_POWERLOSS_SEED    base seed (default: random; always printed)
//   SHOAL_POWERLOSS_VERBOSE 1: one line per trial
//   SHOAL_POWERLOSS_REAL_SYNC 1: really fdatasync (slow; see CutFileSystem)
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
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

constexpr int kWindow = 12;  // outstanding appends per producer

uint64_t Mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

uint64_t Fnv(std::string_view s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001b3ull;
  return h;
}

uint64_t EnvU64(const char* name, uint64_t def) {
  const char* v = std::getenv(name);
  if (!v || !*v) return def;
  return std::strtoull(v, nullptr, 10);
}

std::string KeyFor(int cycle, int producer, uint64_t seq) {
  return fmt::format("c{}.p{}.{}", cycle, producer, seq);
}

// Mostly small records, some of a few KiB, and a rare one bigger than a 64 KiB segment
// and a 64 KiB staging buffer (a frame that rolls into an oversized segment, alone).
std::string DataFor(int log, std::string_view key) {
  const uint64_t h = Mix64(Fnv(key) ^ (static_cast<uint64_t>(log) << 56));
  const uint64_t sel = h % 1000;
  size_t n;
  if (sel < 3) n = 66000 + (h >> 20) % 40000;
  else if (sel < 60) n = 2000 + (h >> 20) % 14000;
  else n = (h >> 20) % 600;
  return testing::GenBytes(h, static_cast<uint64_t>(log), n);
}

struct PowerLossConfig {
  Durability durability;
  DropMode drop;
  WriteMode write_mode;
};

std::string DropName(DropMode m) {
  switch (m) {
    case DropMode::kZero: return "zero";
    case DropMode::kTornPrefix: return "torn";
    case DropMode::kKeep: return "keep";
  }
  return "?";
}

std::string ConfigName(const PowerLossConfig& c) {
  return std::string(DurabilityName(c.durability)) + "_" + DropName(c.drop) + "_" +
         std::string(WriteModeName(c.write_mode));
}

// The FileSystem under the FaultFileSystem. Two jobs:
//  * Freeze(): the instant of the power cut. From then on every operation that would change
//    a file or a directory fails with EIO without touching anything (the machine is off),
//    so nothing the still-running logs do after the cut reaches the disk; reads still work.
//    The FaultFileSystem records a write that failed this way as lost, which it was. The
//    cut can so land anywhere: between a write and its fdatasync, in the middle of a roll,
//    a seal, a trim, an atomic meta write. Unfreeze() before DropUnsyncedData(), which
//    rewrites the files through this object.
//  * fast_sync: fdatasync and directory fsync return at once. Durability is modelled by the
//    FaultFileSystem (which still sees every sync); the real device's cache is irrelevant
//    because the real machine never loses power. Keeps ~1000 cuts well under a minute.
class CutFileSystem final : public io::FileSystem {
 public:
  explicit CutFileSystem(bool fast_sync) : base_(io::DefaultFileSystem()), fast_sync_(fast_sync) {}
  void Freeze() { frozen_.store(true, std::memory_order_seq_cst); }
  void Unfreeze() { frozen_.store(false, std::memory_order_seq_cst); }
  uint64_t refused() const { return refused_.load(); }
  // Names what the test is doing, for the journal of directory changes.
  void SetPhase(std::string phase) {
    std::lock_guard lk(journal_mu_);
    phase_ = std::move(phase);
  }
  // Creations, renames and unlinks (and refusals of them), for failure messages.
  std::string Journal(const std::string& filter) const {
    std::lock_guard lk(journal_mu_);
    std::string out;
    for (const std::string& line : journal_)
      if (line.find(filter) != std::string::npos) out += "    " + line + "\n";
    return out;
  }

  Result<io::UniqueFd> Open(const std::string& path, io::OpenOptions o) override {
    if (o.create && Frozen()) return Note(Dead("open(O_CREAT) " + path));
    if (o.create) Note("create " + path);
    return base_->Open(path, o);
  }
  Status Pwrite(int fd, const void* data, size_t len, uint64_t offset) override {
    if (Frozen()) return Dead("pwrite");
    return base_->Pwrite(fd, data, len, offset);
  }
  Result<size_t> Pread(int fd, void* data, size_t len, uint64_t offset) override {
    return base_->Pread(fd, data, len, offset);
  }
  Status Fdatasync(int fd) override {
    if (Frozen()) return Dead("fdatasync");
    return fast_sync_ ? Status::Ok() : base_->Fdatasync(fd);
  }
  Status Fallocate(int fd, uint64_t offset, uint64_t len) override {
    if (Frozen()) return Dead("fallocate");
    return base_->Fallocate(fd, offset, len);
  }
  Status Truncate(int fd, uint64_t len) override {
    if (Frozen()) return Dead("ftruncate");
    return base_->Truncate(fd, len);
  }
  Result<uint64_t> FileSize(int fd) override { return base_->FileSize(fd); }
  Status Rename(const std::string& from, const std::string& to) override {
    if (Frozen()) return Note(Dead("rename " + from + " -> " + to));
    return Note(base_->Rename(from, to), "rename " + from + " -> " + to);
  }
  Status Unlink(const std::string& path) override {
    if (Frozen()) return Note(Dead("unlink " + path));
    return Note(base_->Unlink(path), "unlink " + path);
  }
  Status MakeDir(const std::string& path) override {
    if (Frozen()) return Dead("mkdir " + path);
    return base_->MakeDir(path);
  }
  Status RemoveDir(const std::string& path) override {
    if (Frozen()) return Dead("rmdir " + path);
    return base_->RemoveDir(path);
  }
  Status SyncDir(const std::string& path) override {
    if (Frozen()) return Dead("fsync " + path);
    return fast_sync_ ? Status::Ok() : base_->SyncDir(path);
  }
  Result<std::vector<std::string>> ListDir(const std::string& path) override {
    return base_->ListDir(path);
  }
  bool Exists(const std::string& path) override { return base_->Exists(path); }
  Result<io::UniqueFd> LockFile(const std::string& path) override {
    if (Frozen()) return Dead("lock " + path);
    return base_->LockFile(path);
  }
  Result<io::MappedRegion> Map(int fd, size_t len, const std::string& what) override {
    return base_->Map(fd, len, what);
  }
  Result<std::unique_ptr<io::IoQueue>> NewIoQueue(unsigned depth) override {
    return base_->NewIoQueue(depth);
  }

 private:
  bool Frozen() const { return frozen_.load(std::memory_order_seq_cst); }
  void Note(const std::string& what) {
    std::lock_guard lk(journal_mu_);
    if (journal_.size() < 100000) journal_.push_back("[" + phase_ + "] " + what);
  }
  Status Note(Status st, const std::string& what = "") {
    Note((what.empty() ? "" : what + ": ") + (st.ok() ? std::string("ok") : st.ToString()));
    return st;
  }
  Status Dead(const std::string& what) {
    refused_.fetch_add(1);
    return Status::FromErrno(EIO, "power is off: " + what);
  }
  const std::shared_ptr<io::FileSystem> base_;
  const bool fast_sync_;
  std::atomic<bool> frozen_{false};
  std::atomic<uint64_t> refused_{0};
  mutable std::mutex journal_mu_;
  std::string phase_;
  std::vector<std::string> journal_;
};

// Everything the test knows about one log.
struct LogModel {
  int index = 0;
  std::string dir;
  std::unique_ptr<ShardLog> log;

  // Append side (append_mu): keys[o] is the key sent at offset o (dense from 0).
  std::mutex append_mu;
  std::vector<std::string> keys;

  // Ack side (ack_mu), written by completions on the writer's threads.
  std::mutex ack_mu;
  uint64_t acked_end = 0;       // one past the highest acknowledged offset (this cycle)
  uint64_t acked_records = 0;   // this cycle
  uint64_t closed_failures = 0; // kClosed completions (abandoned by the destructor)
  std::vector<std::string> errors;
  std::atomic<bool> cut{false};  // the power is off: appends may fail from now on
  uint64_t failed_after_cut = 0;

  // Model across cycles.
  uint64_t start = 0;          // start_offset() as last verified
  uint64_t end = 0;            // end_offset() as last verified
  uint64_t durable_floor = 0;  // end at the last clean Close(): survives any cut
  uint64_t trim_point = 0;     // highest TrimBefore() that returned OK
  uint64_t max_durable = 0;    // largest durable_offset() sampled this cycle

  void OnAck(uint64_t predicted, uint32_t count, const AppendResult& r) {
    std::lock_guard lk(ack_mu);
    if (r.status.ok()) {
      if (r.first_offset != predicted || r.count != count)
        errors.push_back(fmt::format("ack of [{}, +{}) but the test predicted [{}, +{})",
                                     r.first_offset, r.count, predicted, count));
      if (predicted != acked_end)
        errors.push_back(fmt::format("ack at {} does not follow the previous ack's end {}",
                                     predicted, acked_end));
      acked_end = std::max(acked_end, predicted + count);
      acked_records += count;
    } else if (r.status.code() == Code::kClosed) {
      ++closed_failures;
    } else if (cut.load()) {
      ++failed_after_cut;
    } else {
      errors.push_back("unexpected append failure: " + r.status.ToString());
    }
  }
};

class AckCompletion final : public AppendCompletion {
 public:
  AckCompletion(LogModel* m, uint64_t predicted, uint32_t count, std::atomic<int>* outstanding)
      : m_(m), predicted_(predicted), count_(count), outstanding_(outstanding) {}
  void OnAppended(const AppendResult& r) override {
    m_->OnAck(predicted_, count_, r);
    outstanding_->fetch_sub(1, std::memory_order_release);
    delete this;
  }

 private:
  LogModel* const m_;
  const uint64_t predicted_;
  const uint32_t count_;
  std::atomic<int>* const outstanding_;
};

void Produce(LogModel* m, int cycle, int producer, uint64_t seed, const std::atomic<bool>* stop,
             std::atomic<int>* outstanding) {
  std::mt19937_64 rng(seed);
  std::vector<std::string> keys;
  std::vector<std::string> datas;
  std::vector<RecordIn> recs;
  uint64_t seq = 0;
  while (!stop->load(std::memory_order_acquire)) {
    if (outstanding->load(std::memory_order_acquire) >= kWindow) {
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      continue;
    }
    const uint32_t n = static_cast<uint32_t>(rng() % 8 == 0 ? 1 + rng() % 24 : 1 + rng() % 4);
    keys.clear();
    datas.clear();
    recs.clear();
    for (uint32_t i = 0; i < n; ++i) {
      keys.push_back(KeyFor(cycle, producer, seq));
      datas.push_back(DataFor(m->index, keys.back()));
      ++seq;
    }
    for (uint32_t i = 0; i < n; ++i)
      recs.push_back(RecordIn{keys[i], datas[i], static_cast<int64_t>(1000 + seq + i)});
    std::lock_guard lk(m->append_mu);
    const uint64_t predicted = m->keys.size();
    for (const std::string& k : keys) m->keys.push_back(k);
    outstanding->fetch_add(1, std::memory_order_acq_rel);
    m->log->Append(recs, new AckCompletion(m, predicted, n, outstanding));
  }
}

struct Totals {
  uint64_t trials = 0;
  uint64_t crashes = 0;
  uint64_t live_cuts = 0;         // cuts taken with the writer running
  uint64_t acked = 0;             // acknowledged records checked after a cut
  uint64_t acked_lost = 0;        // acknowledged but gone (allowed below kAlways)
  uint64_t beyond_acks = 0;       // present though never acknowledged
  uint64_t truncated_bytes = 0;   // recovered_truncated_bytes
  uint64_t trims = 0;
  uint64_t resumed_below_trim = 0;  // reopened with start < the trim point (non-durable modes)
  uint64_t records_read = 0;
};

class PowerLossTrial {
 public:
  PowerLossTrial(const PowerLossConfig& cfg, uint64_t seed, Totals* totals)
      : cfg_(cfg), seed_(seed), rng_(seed), totals_(totals) {}

  bool failed() const { return failures_ > 0; }

  void Run() {
    base_ = std::make_shared<CutFileSystem>(EnvU64("SHOAL_POWERLOSS_REAL_SYNC", 0) == 0);
    fs_ = std::make_shared<FaultFileSystem>(base_);
    opts_.durability = cfg_.durability;
    opts_.write_mode = cfg_.write_mode;
    // Small segments roll, seal and preallocate often; the 4 MiB ones start at 1 MiB and
    // grow on demand.
    static constexpr uint64_t kSegs[] = {64 << 10, 128 << 10, 256 << 10, 4 << 20};
    static constexpr size_t kStaging[] = {64 << 10, 256 << 10, 1 << 20};
    opts_.segment_bytes = kSegs[rng_() % 4];
    opts_.staging_bytes = kStaging[rng_() % 3];
    opts_.interval_ms = static_cast<uint32_t>(1 + rng_() % 20);
    opts_.index_interval_bytes = rng_() % 2 ? 4096 : 256;
    const int nlogs = static_cast<int>(1 + rng_() % 3);
    models_.clear();
    for (int i = 0; i < nlogs; ++i) {
      auto m = std::make_unique<LogModel>();
      m->index = i;
      m->dir = dir_.Sub("log" + std::to_string(i));
      models_.push_back(std::move(m));
    }
    const int cycles = rng_() % 3 == 0 ? 2 : 1;
    for (int c = 0; c < cycles && !failed(); ++c) Cycle(c);
    if (!failed()) {
      // The last cycle closed the logs cleanly: a final open must find everything.
      if (!OpenAll(/*expect_clean=*/true)) return;
      for (auto& m : models_)
        if (!VerifyContent(*m, "final reopen")) return;
      CloseAll();
    }
    ++totals_->trials;
  }

  std::string Describe() const {
    return fmt::format("seed={} segment_bytes={} staging_bytes={} interval_ms={} index_interval={} logs={}",
                       seed_, opts_.segment_bytes, opts_.staging_bytes, opts_.interval_ms,
                       opts_.index_interval_bytes, models_.size());
  }

 private:
  bool Fail(const std::string& msg) {
    ++failures_;
    if (failures_ <= 10)
      ADD_FAILURE() << "[" << ConfigName(cfg_) << " " << Describe() << " cycle " << cycle_ << "] "
                    << msg << (failures_ == 1 ? "\n" + DumpDirs() : "");
    return false;
  }

  // What is on disk, for a failure message: every file, and each segment's frames.
  std::string DumpDirs() const {
    std::string out;
    for (const auto& m : models_) {
      out += fmt::format("  {} (model: start {} end {} trim {} floor {}):\n", m->dir, m->start,
                         m->end, m->trim_point, m->durable_floor);
      for (const std::string& n : testing::ListNames(m->dir)) {
        const std::string path = m->dir + "/" + n;
        out += fmt::format("    {} {} bytes", n, testing::FileSizeRaw(path));
        uint64_t ord;
        if (format::ParseSegmentFileName(n, &ord)) {
          auto frames = testing::FramesOf(path);
          if (frames.empty()) out += " no frames";
          else
            out += fmt::format(" frames {} offsets [{}, {}) end_pos {}", frames.size(),
                               frames.front().info.base_offset, frames.back().info.next_offset(),
                               frames.back().pos + frames.back().info.len);
        } else if (n.size() > 4 && n.substr(n.size() - 4) == ".idx") {
          format::SegmentSummary sum;
          std::string entries;
          Status st = format::DecodeIndex(testing::ReadRaw(path), path, &sum, &entries);
          if (st.ok())
            out += fmt::format(" idx ordinal {} offsets [{}, {}) end_pos {}", sum.ordinal,
                               sum.base_offset, sum.next_offset, sum.end_pos);
          else
            out += " " + st.ToString();
        } else if (n == "log.meta") {
          auto meta = format::DecodeMeta(testing::ReadRaw(path), path);
          if (meta.ok()) out += fmt::format(" start_offset {} sealed {}", meta->start_offset, meta->sealed);
        }
        out += "\n";
      }
      out += "  journal of " + m->dir + ":\n" + base_->Journal(m->dir + "/");
    }
    return out;
  }

  bool OpenAll(bool expect_clean) {
    auto w = LogWriter::Create(WriterOptions{fs_, 64});
    if (!w.ok()) return Fail("LogWriter::Create: " + w.status().ToString());
    writer_ = *w;
    for (auto& m : models_) {
      auto r = ShardLog::Open(m->dir, opts_, writer_);
      if (!r.ok()) return Fail(fmt::format("Open({}): {}", m->dir, r.status().ToString()));
      m->log = std::move(r).value();
      if (expect_clean && m->end > 0 && !m->log->stats().recovered_clean)
        return Fail(m->dir + ": reopened after a clean Close() without using its CLEAN marker");
      if (expect_clean && (m->log->start_offset() != m->start || m->log->end_offset() != m->end))
        return Fail(fmt::format("{}: after a clean Close() the log reopened as [{}, {}), it was [{}, {})",
                                m->dir, m->log->start_offset(), m->log->end_offset(), m->start,
                                m->end));
    }
    return true;
  }

  void CloseAll() {
    for (auto& m : models_) {
      Status st = m->log->Close();
      if (!st.ok()) Fail(m->dir + ": Close: " + st.ToString());
      m->durable_floor = m->log->end_offset();
      m->end = m->log->end_offset();
      m->start = m->log->start_offset();
      m->log.reset();
    }
    writer_.reset();
  }

  // Reads [start_offset(), end_offset()) in random chunks and compares every record with
  // what was sent at its offset.
  bool VerifyContent(LogModel& m, const char* when) {
    ShardLog& log = *m.log;
    const uint64_t s = log.start_offset();
    const uint64_t e = log.end_offset();
    if (s > e) return Fail(fmt::format("{} {}: start {} > end {}", m.dir, when, s, e));
    if (e > m.keys.size())
      return Fail(fmt::format("{} {}: end_offset {} but only {} offsets were ever assigned", m.dir,
                              when, e, m.keys.size()));
    ReadBatch b;
    uint64_t off = s;
    int64_t last_ts = INT64_MIN;
    while (off < e) {
      const size_t max_records = 1 + rng_() % 300;
      const size_t max_bytes = rng_() % 2 ? (1 << 20) : 1 + rng_() % 30000;
      Status st = log.Read(off, max_records, max_bytes, &b);
      if (!st.ok())
        return Fail(fmt::format("{} {}: Read({}) in [{}, {}): {}", m.dir, when, off, s, e,
                                st.ToString()));
      if (b.records.empty())
        return Fail(fmt::format("{} {}: Read({}) returned nothing below end {}", m.dir, when, off, e));
      for (const RecordView& r : b.records) {
        if (r.offset != off)
          return Fail(fmt::format("{} {}: expected offset {}, read offset {}", m.dir, when, off,
                                  r.offset));
        if (r.key != m.keys[off])
          return Fail(fmt::format("{} {}: offset {} holds key '{}', the test sent '{}' there",
                                  m.dir, when, off, r.key, m.keys[off]));
        if (r.data != DataFor(m.index, r.key))
          return Fail(fmt::format("{} {}: offset {} (key {}): data differs from what was sent "
                                  "({} bytes read)", m.dir, when, off, r.key, r.data.size()));
        if (r.ts_ms < last_ts)
          return Fail(fmt::format("{} {}: timestamp goes back at offset {}", m.dir, when, off));
        last_ts = r.ts_ms;
        ++off;
      }
      if (b.next_offset != off)
        return Fail(fmt::format("{} {}: next_offset {} after reading up to {}", m.dir, when,
                                b.next_offset, off));
    }
    totals_->records_read += e - s;
    if (s > 0) {
      Status st = log.Read(s - 1, 1, 1 << 20, &b);
      if (st.code() != Code::kOutOfRange)
        return Fail(fmt::format("{} {}: Read({}) below start: {}", m.dir, when, s - 1, st.ToString()));
    }
    Status st = log.Read(e, 10, 1 << 20, &b);
    if (!st.ok() || !b.records.empty())
      return Fail(fmt::format("{} {}: Read(end) = {} with {} records", m.dir, when, st.ToString(),
                              b.records.size()));
    st = log.Read(e + 1, 10, 1 << 20, &b);
    if (st.code() != Code::kOutOfRange)
      return Fail(fmt::format("{} {}: Read(end + 1) = {}", m.dir, when, st.ToString()));
    return true;
  }

  void Cycle(int cycle) {
    cycle_ = cycle;
    base_->SetPhase(fmt::format("cycle {} open", cycle));
    if (!OpenAll(/*expect_clean=*/cycle > 0)) return;
    base_->SetPhase(fmt::format("cycle {} run", cycle));
    if (cycle > 0)
      for (auto& m : models_)
        if (!VerifyContent(*m, "reopen after clean close")) return;

    // --- run producers; trim; pick the instant of the cut -------------------------------
    std::atomic<bool> stop{false};
    std::vector<std::unique_ptr<std::atomic<int>>> outstanding;
    std::vector<std::thread> producers;
    for (auto& m : models_) {
      std::lock_guard lk(m->ack_mu);
      m->acked_end = m->end;
      m->acked_records = 0;
      m->closed_failures = 0;
      m->max_durable = m->log->durable_offset();
      m->cut.store(false);
      m->failed_after_cut = 0;
    }
    for (auto& m : models_) {
      const int np = static_cast<int>(1 + rng_() % 2);
      for (int p = 0; p < np; ++p) {
        outstanding.push_back(std::make_unique<std::atomic<int>>(0));
        producers.emplace_back(Produce, m.get(), cycle, p, rng_(), &stop, outstanding.back().get());
      }
    }
    auto total_acked = [&] {
      uint64_t n = 0;
      for (auto& m : models_) {
        std::lock_guard lk(m->ack_mu);
        n += m->acked_records;
      }
      return n;
    };
    const uint64_t crash_at = rng_() % 8 == 0 ? rng_() % 20 : rng_() % 1500;
    const bool trim = rng_() % 2 == 0;
    uint64_t trim_at = trim ? crash_at * (rng_() % 101) / 100 : UINT64_MAX;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto sample_durable = [&] {
      for (auto& m : models_) {
        const uint64_t d = m->log->durable_offset();
        const uint64_t e = m->log->end_offset();
        if (d > e) Fail(fmt::format("{}: durable_offset {} > end_offset {}", m->dir, d, e));
        m->max_durable = std::max(m->max_durable, d);
      }
    };
    while (true) {
      sample_durable();
      const uint64_t acked = total_acked();
      if (acked >= trim_at) {
        trim_at = UINT64_MAX;
        LogModel& m = *models_[rng_() % models_.size()];
        const uint64_t s = m.log->start_offset();
        const uint64_t e = m.log->end_offset();
        // Often right at the end: in the non-durable modes that is above what is durable.
        const uint64_t t = rng_() % 2 ? e : s + rng_() % (e - s + 1);
        base_->SetPhase(fmt::format("cycle {} TrimBefore({}) of {}", cycle, t, m.dir));
        Status st = m.log->TrimBefore(t);
        base_->SetPhase(fmt::format("cycle {} run", cycle));
        if (!st.ok()) Fail(fmt::format("{}: TrimBefore({}): {}", m.dir, t, st.ToString()));
        else {
          m.trim_point = std::max(m.trim_point, t);
          ++totals_->trims;
          if (m.log->start_offset() < t)
            Fail(fmt::format("{}: start_offset {} after TrimBefore({})", m.dir, m.log->start_offset(), t));
        }
      }
      if (acked >= crash_at) break;
      if (std::chrono::steady_clock::now() > deadline) {
        Fail(fmt::format("only {} of {} records were acknowledged in 30 s", acked, crash_at));
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }

    // --- the cut ---------------------------------------------------------------------------
    // Either at this very instant, with the writer's threads in the middle of whatever they
    // do (the disk stops accepting changes; what the threads do next fails), or after the
    // logs were abandoned and the in-flight groups finished.
    //
    // Every mode, kInterval included (an interval log whose fdatasync failed used to spin
    // the syncer and hang its destruction; see ShardLogFaultTest.
    // IntervalFsyncFailureThenCloseDoesNotHang). SHOAL_POWERLOSS_INTERVAL_LIVE_CUT=0 turns
    // live cuts off for kInterval.
    const bool live_allowed = cfg_.durability != Durability::kInterval ||
                              EnvU64("SHOAL_POWERLOSS_INTERVAL_LIVE_CUT", 1) != 0;
    const bool live_cut = live_allowed && rng_() % 2 == 0;
    base_->SetPhase(fmt::format("cycle {} {} cut", cycle, live_cut ? "live" : "quiet"));
    if (live_cut) {
      for (auto& m : models_) m->cut.store(true);
      base_->Freeze();
      ++totals_->live_cuts;
    }
    stop.store(true, std::memory_order_release);
    for (std::thread& t : producers) t.join();
    // Still a promise after a live cut: durable_offset() only moves after an fdatasync that
    // succeeded, i.e. one that completed before the power went.
    sample_durable();
    std::vector<size_t> order(models_.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::shuffle(order.begin(), order.end(), rng_);
    for (size_t i : order) models_[i]->log.reset();  // abandoned: no Close()
    writer_.reset();                                  // joins the writer's threads
    base_->Unfreeze();
    for (auto& o : outstanding)
      if (o->load() != 0) Fail(fmt::format("{} appends never completed", o->load()));
    for (auto& m : models_) {
      std::lock_guard lk(m->ack_mu);
      for (const std::string& e : m->errors) Fail(m->dir + ": " + e);
      m->errors.clear();
    }
    if (failed()) return;
    fs_->DropUnsyncedData(cfg_.drop, rng_());
    ++totals_->crashes;

    // --- recover and check the promises ---------------------------------------------------
    base_->SetPhase(fmt::format("cycle {} recover", cycle));
    if (!OpenAll(/*expect_clean=*/false)) return;
    base_->SetPhase(fmt::format("cycle {} after recovery", cycle));
    for (auto& m : models_) {
      ShardLog& log = *m->log;
      const uint64_t s = log.start_offset();
      const uint64_t e = log.end_offset();
      totals_->truncated_bytes += log.stats().recovered_truncated_bytes;
      uint64_t acked_end;
      {
        std::lock_guard lk(m->ack_mu);
        acked_end = m->acked_end;
      }
      uint64_t must = m->durable_floor;
      switch (cfg_.durability) {
        case Durability::kAlways: must = std::max(must, acked_end); break;
        case Durability::kInterval: must = std::max(must, m->max_durable); break;
        case Durability::kNone: break;
      }
      if (e < must)
        Fail(fmt::format("{}: end_offset {} after the cut, but offsets below {} were promised "
                         "durable (acked end {}, largest durable_offset seen {}, end at last "
                         "clean close {}, truncated {} bytes)", m->dir, e, must, acked_end,
                         m->max_durable, m->durable_floor, log.stats().recovered_truncated_bytes));
      const uint64_t want_start = std::max(m->start, m->trim_point);
      if (s != want_start) {
        // A cut in a non-durable mode can lose the tail below a persisted trim point; the
        // log then resumes (empty) at the surviving end. Records are never readable below
        // the trim point though.
        if (cfg_.durability != Durability::kAlways && s == e && s < want_start && s >= m->start) {
          ++totals_->resumed_below_trim;
        } else {
          Fail(fmt::format("{}: start_offset {} after the cut; expected {} (previous start {}, "
                           "trim point {}), end {}", m->dir, s, want_start, m->start,
                           m->trim_point, e));
        }
      }
      if (!VerifyContent(*m, "after the cut")) return;
      if (acked_end > m->end) {
        const uint64_t acked_here = acked_end - m->end;
        const uint64_t present = e > m->end ? std::min(e, acked_end) - m->end : 0;
        totals_->acked += acked_here;
        totals_->acked_lost += acked_here - present;
      }
      if (e > acked_end) totals_->beyond_acks += e - acked_end;
      // What was lost was never there: the next appends reuse those offsets.
      {
        std::lock_guard lk(m->append_mu);
        m->keys.resize(e);
      }
      m->start = s;
      m->end = e;
      m->trim_point = std::min(m->trim_point, s);  // lowered by recovery if it resumed below
    }
    if (failed()) return;

    // --- appends after the reopen get the next offsets -------------------------------------
    for (auto& m : models_) {
      const int batches = static_cast<int>(1 + rng_() % 3);
      for (int b = 0; b < batches; ++b) {
        std::vector<std::string> keys, datas;
        std::vector<RecordIn> recs;
        const uint32_t n = static_cast<uint32_t>(1 + rng_() % 5);
        for (uint32_t i = 0; i < n; ++i) {
          keys.push_back(fmt::format("c{}.after.{}.{}", cycle, b, i));
          datas.push_back(DataFor(m->index, keys.back()));
        }
        for (uint32_t i = 0; i < n; ++i) recs.push_back(RecordIn{keys[i], datas[i], 1});
        const uint64_t expect = m->log->end_offset();
        AppendResult r = m->log->AppendSync(recs);
        if (!r.status.ok()) {
          Fail(m->dir + ": append after the reopen: " + r.status.ToString());
          break;
        }
        if (r.first_offset != expect || r.first_offset != m->keys.size())
          Fail(fmt::format("{}: append after the reopen got offset {}, end was {}", m->dir,
                           r.first_offset, expect));
        for (auto& k : keys) m->keys.push_back(k);
      }
      if (!VerifyContent(*m, "after appending past the recovered end")) return;
    }
    CloseAll();
  }

  const PowerLossConfig cfg_;
  const uint64_t seed_;
  std::mt19937_64 rng_;
  Totals* const totals_;
  testing::TempDir dir_;
  std::shared_ptr<CutFileSystem> base_;
  std::shared_ptr<FaultFileSystem> fs_;
  LogOptions opts_;
  std::shared_ptr<LogWriter> writer_;
  std::vector<std::unique_ptr<LogModel>> models_;
  int failures_ = 0;
  int cycle_ = 0;
};

class ShardLogPowerLossTest : public ::testing::TestWithParam<PowerLossConfig> {};

TEST_P(ShardLogPowerLossTest, AbandonDropUnsyncedReopen) {
  const PowerLossConfig& cfg = GetParam();
  const uint64_t trials = std::max<uint64_t>(EnvU64("SHOAL_POWERLOSS_TRIALS", 30), 1);
  uint64_t base_seed = EnvU64("SHOAL_POWERLOSS_SEED", 0);
  if (base_seed == 0)
    base_seed = (static_cast<uint64_t>(std::random_device{}()) << 32) ^ std::random_device{}();
  const bool verbose = EnvU64("SHOAL_POWERLOSS_VERBOSE", 0) != 0;
  std::printf("[powerloss %s] SHOAL_POWERLOSS_SEED=%" PRIu64 " trials=%" PRIu64 "\n",
              ConfigName(cfg).c_str(), base_seed, trials);
  std::fflush(stdout);
  Totals t;
  for (uint64_t i = 0; i < trials; ++i) {
    const uint64_t seed = Mix64(base_seed ^ (i << 20) ^ (static_cast<uint64_t>(cfg.durability) << 4) ^
                                (static_cast<uint64_t>(cfg.drop) << 8) ^
                                (static_cast<uint64_t>(cfg.write_mode) << 12));
    PowerLossTrial trial(cfg, seed, &t);
    const Totals before = t;
    trial.Run();
    if (verbose)
      std::printf("[powerloss %s] trial %" PRIu64 " %s: acked %" PRIu64 " (lost %" PRIu64
                  ") beyond %" PRIu64 " truncated %" PRIu64 " B\n",
                  ConfigName(cfg).c_str(), i, trial.Describe().c_str(), t.acked - before.acked,
                  t.acked_lost - before.acked_lost, t.beyond_acks - before.beyond_acks,
                  t.truncated_bytes - before.truncated_bytes);
    if (trial.failed()) {
      std::printf("[powerloss %s] FAILED in trial %" PRIu64 " (%s); rerun with "
                  "SHOAL_POWERLOSS_SEED=%" PRIu64 " (thread timing still varies)\n",
                  ConfigName(cfg).c_str(), i, trial.Describe().c_str(), base_seed);
      break;
    }
  }
  std::printf("[powerloss %s] trials=%" PRIu64 " cuts=%" PRIu64 " live_cuts=%" PRIu64 " acked_checked=%" PRIu64
              " acked_lost=%" PRIu64 " beyond_acks=%" PRIu64 " truncated_bytes=%" PRIu64
              " trims=%" PRIu64 " resumed_below_trim=%" PRIu64 " records_read=%" PRIu64 "\n",
              ConfigName(cfg).c_str(), t.trials, t.crashes, t.live_cuts, t.acked, t.acked_lost, t.beyond_acks,
              t.truncated_bytes, t.trims, t.resumed_below_trim, t.records_read);
  std::fflush(stdout);
  if (cfg.durability == Durability::kAlways) {
    EXPECT_EQ(t.acked_lost, 0u);
  }
  EXPECT_GT(t.acked, 0u) << "no acknowledged record was ever checked: the test tested nothing";
}

INSTANTIATE_TEST_SUITE_P(
    Configs, ShardLogPowerLossTest,
    ::testing::Values(PowerLossConfig{Durability::kAlways, DropMode::kZero, WriteMode::kBuffered},
                      PowerLossConfig{Durability::kAlways, DropMode::kTornPrefix, WriteMode::kBuffered},
                      PowerLossConfig{Durability::kInterval, DropMode::kZero, WriteMode::kBuffered},
                      PowerLossConfig{Durability::kInterval, DropMode::kTornPrefix, WriteMode::kBuffered},
                      PowerLossConfig{Durability::kNone, DropMode::kZero, WriteMode::kBuffered},
                      PowerLossConfig{Durability::kNone, DropMode::kTornPrefix, WriteMode::kBuffered},
                      PowerLossConfig{Durability::kAlways, DropMode::kTornPrefix, WriteMode::kDirect},
                      PowerLossConfig{Durability::kNone, DropMode::kTornPrefix, WriteMode::kDirect}),
    [](const ::testing::TestParamInfo<PowerLossConfig>& p) { return ConfigName(p.param); });

}  // namespace
}  // namespace shoal
