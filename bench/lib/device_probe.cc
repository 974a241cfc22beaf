#include "bench/lib/device_probe.h"

#include <fcntl.h>
#include <liburing.h>
#include <link.h>
#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <numeric>
#include <sstream>

#include "io/mapped_region.h"
#include "io/ring.h"
#include "io/unique_fd.h"

namespace shoal::bench {
namespace {

using Clock = std::chrono::steady_clock;

// O_DIRECT alignment for buffers, offsets and lengths (io::kDirectAlign is the same value;
// not included here so this library does not depend on the FileSystem seam).
constexpr size_t kAlign = 4096;
// Pre-writing and the tests' own I/O use the ceiling's shape.
constexpr size_t kPrepBlock = kMiB;
constexpr unsigned kPrepQueueDepth = 16;

double Seconds(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double>(to - from).count();
}
double Micros(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::micro>(to - from).count();
}

// Keeps the compiler from proving a buffer's contents dead and dropping the work that
// produced them (a memcpy into a buffer nobody reads, a sum nobody uses).
inline void Escape(const void* p) { asm volatile("" : : "r"(p) : "memory"); }

std::string Bytes(uint64_t n) {
  if (n >= kMiB && n % kMiB == 0) return fmt::format("{} MiB", n / kMiB);
  if (n >= kKiB && n % kKiB == 0) return fmt::format("{} KiB", n / kKiB);
  return fmt::format("{} B", n);
}

struct FreeDeleter {
  void operator()(uint8_t* p) const { std::free(p); }
};
using AlignedBuffer = std::unique_ptr<uint8_t[], FreeDeleter>;

// A 4096-aligned buffer (O_DIRECT needs it) filled with a pseudo-random pattern. Filling
// touches every page now, so no page fault lands in a timed loop. Not zeros: a virtual
// disk may turn all-zero writes into cheap write-zeroes/unmap requests (QEMU
// detect-zeroes) and report a ceiling that real payloads never reach.
Result<AlignedBuffer> AllocatePattern(size_t len, uint64_t seed) {
  const size_t rounded = std::max<size_t>(kAlign, (len + kAlign - 1) / kAlign * kAlign);
  void* p = nullptr;
  if (int rc = ::posix_memalign(&p, kAlign, rounded); rc != 0) {
    return Status::FromErrno(rc, fmt::format("posix_memalign of {} bytes", rounded));
  }
  AlignedBuffer buf(static_cast<uint8_t*>(p));
  uint64_t x = seed * 0x9E3779B97F4A7C15ull + 0x2545F4914F6CDD1Dull;
  for (size_t i = 0; i < rounded; i += 8) {
    x ^= x << 13;  // xorshift64: cheap, and incompressible enough for a disk
    x ^= x >> 7;
    x ^= x << 17;
    std::memcpy(buf.get() + i, &x, 8);
  }
  return buf;
}

Result<std::vector<AlignedBuffer>> AllocateBuffers(unsigned count, size_t len) {
  std::vector<AlignedBuffer> bufs;
  bufs.reserve(count);
  for (unsigned i = 0; i < count; ++i) {
    SHOAL_ASSIGN_OR_RETURN(AlignedBuffer b, AllocatePattern(len, i + 1));
    bufs.push_back(std::move(b));
  }
  return bufs;
}

// Nearest-rank percentiles of per-op latencies (sorts `us`).
void SetLatency(std::vector<double>& us, ProbeResult& r) {
  if (us.empty()) return;
  std::sort(us.begin(), us.end());
  auto at = [&](double q) {
    size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(us.size())));
    return us[std::min(us.size() - 1, rank == 0 ? 0 : rank - 1)];
  };
  r.p50_us = at(0.50);
  r.p99_us = at(0.99);
}

ProbeResult Finish(uint64_t bytes, double seconds, uint64_t ops, std::string description) {
  ProbeResult r;
  r.bytes = bytes;
  r.seconds = seconds;
  r.mb_per_s = seconds > 0 ? static_cast<double>(bytes) / seconds / 1e6 : 0;
  r.ops = ops;
  r.description = std::move(description);
  return r;
}

Status FsyncDir(const std::string& dir) {
  io::UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, fmt::format("open directory {}", dir));
  if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, fmt::format("fsync {}", dir));
  return Status::Ok();
}

// A probe's scratch file: created (and made durable) in the directory under test,
// unlinked when this object goes away, on every return path.
class TempFile {
 public:
  static Result<TempFile> Create(const std::string& dir, std::string_view tag) {
    std::string name = fmt::format("{}/shoal-probe-{}-XXXXXX", dir, tag);
    int raw = ::mkostemp(name.data(), O_CLOEXEC);
    if (raw < 0) return Status::FromErrno(errno, fmt::format("create a temp file in {}", dir));
    io::UniqueFd fd(raw);
    TempFile file(std::move(name));
    // Commit the new inode and directory entry now, so the first timed fdatasync pays
    // only for the probe's own writes.
    if (::fsync(fd.get()) != 0) return Status::FromErrno(errno, "fsync " + file.path_);
    SHOAL_RETURN_IF_ERROR(FsyncDir(dir));
    return file;
  }

  TempFile(TempFile&& o) noexcept : path_(std::exchange(o.path_, {})) {}
  TempFile& operator=(TempFile&&) = delete;
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  ~TempFile() {
    if (!path_.empty()) ::unlink(path_.c_str());
  }

  const std::string& path() const { return path_; }

  Result<io::UniqueFd> Open(int flags) const {
    io::UniqueFd fd(::open(path_.c_str(), flags | O_CLOEXEC));
    if (fd.valid()) return fd;
    const int err = errno;
    if (err == EINVAL && (flags & O_DIRECT)) {
      return Status::Make(Code::kInvalidArgument,
                          "open {} with O_DIRECT: the file system refuses direct I/O (tmpfs before "
                          "Linux 6.6?); "
                          "point SHOAL_BENCH_DIR at a directory on the disk under test",
                          path_);
    }
    return Status::FromErrno(err, "open " + path_);
  }

 private:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// One I/O of a sequential stream; `done` counts bytes already transferred (short
// transfers are resubmitted for the rest).
struct Slot {
  uint8_t* buf = nullptr;
  uint64_t offset = 0;
  size_t len = 0;
  size_t done = 0;
  Clock::time_point start;
};

// Reads or writes [0, total) of `fd` in `block`-sized I/Os, keeping one in flight per
// buffer in `bufs` (the queue depth). Appends each I/O's submit-to-completion time to
// `lat_us` if given. On a failed I/O it stops submitting but reaps everything still in
// flight before returning, so the kernel never DMAs into buffers the caller frees.
Status RunSequential(io::Ring& ring, int fd, bool write, uint64_t total, size_t block,
                     std::vector<AlignedBuffer>& bufs, std::vector<double>* lat_us) {
  const auto qd = static_cast<unsigned>(bufs.size());
  std::vector<Slot> slots(qd);
  std::vector<unsigned> free_slots(qd);
  for (unsigned i = 0; i < qd; ++i) {
    slots[i].buf = bufs[i].get();
    free_slots[i] = qd - 1 - i;
  }
  auto prep = [&](Slot& s) -> Status {
    io_uring_sqe* sqe = ring.GetSqe();
    if (sqe == nullptr) return Status::Make(Code::kInternal, "io_uring: no free submission slot");
    const auto n = static_cast<unsigned>(s.len - s.done);
    if (write) {
      io_uring_prep_write(sqe, fd, s.buf + s.done, n, s.offset + s.done);
    } else {
      io_uring_prep_read(sqe, fd, s.buf + s.done, n, s.offset + s.done);
    }
    io_uring_sqe_set_data(sqe, &s);
    return Status::Ok();
  };

  Status failure;
  uint64_t next = 0;
  unsigned inflight = 0;
  while ((failure.ok() && next < total) || inflight > 0) {
    while (failure.ok() && inflight < qd && next < total) {
      Slot& s = slots[free_slots.back()];
      free_slots.pop_back();
      s.offset = next;
      s.len = static_cast<size_t>(std::min<uint64_t>(block, total - next));
      s.done = 0;
      s.start = Clock::now();
      failure = prep(s);
      if (!failure.ok()) break;
      next += s.len;
      ++inflight;
    }
    if (inflight == 0) break;
    SHOAL_ASSIGN_OR_RETURN(io_uring_cqe * cqe, ring.WaitCqe());
    do {
      auto* s = static_cast<Slot*>(io_uring_cqe_get_data(cqe));
      const int res = cqe->res;
      ring.Seen(cqe);
      const bool retry = res == -EINTR || res == -EAGAIN;
      if (failure.ok() && res < 0 && !retry) {
        failure = Status::FromErrno(
            -res, fmt::format("io_uring {} of {} bytes at offset {}", write ? "write" : "read",
                              s->len - s->done, s->offset + s->done));
      } else if (failure.ok() && res == 0) {
        failure = Status::Make(Code::kIOError, "io_uring {} at offset {} moved 0 bytes",
                               write ? "write" : "read", s->offset + s->done);
      }
      if (res > 0) s->done += static_cast<size_t>(res);
      if (failure.ok() && s->done < s->len) {
        failure = prep(*s);  // short transfer or EAGAIN: the same slot goes again
        if (failure.ok()) continue;
      }
      if (failure.ok() && lat_us != nullptr) lat_us->push_back(Micros(s->start, Clock::now()));
      free_slots.push_back(static_cast<unsigned>(s - slots.data()));
      --inflight;
    } while (ring.PeekCqe(&cqe));
  }
  return failure;
}

Status RingFdatasync(io::Ring& ring, int fd) {
  io_uring_sqe* sqe = ring.GetSqe();
  if (sqe == nullptr) return Status::Make(Code::kInternal, "io_uring: no free submission slot");
  io_uring_prep_fsync(sqe, fd, IORING_FSYNC_DATASYNC);
  io_uring_sqe_set_data(sqe, nullptr);
  SHOAL_ASSIGN_OR_RETURN(io_uring_cqe * cqe, ring.WaitCqe());
  const int res = cqe->res;
  ring.Seen(cqe);
  if (res < 0) return Status::FromErrno(-res, "io_uring fdatasync");
  return Status::Ok();
}

// One write of all of [data, data+len) at `offset`, waited for, retrying short writes.
Status RingWriteAll(io::Ring& ring, int fd, const uint8_t* data, size_t len, uint64_t offset) {
  size_t done = 0;
  while (done < len) {
    io_uring_sqe* sqe = ring.GetSqe();
    if (sqe == nullptr) return Status::Make(Code::kInternal, "io_uring: no free submission slot");
    io_uring_prep_write(sqe, fd, data + done, static_cast<unsigned>(len - done), offset + done);
    io_uring_sqe_set_data(sqe, nullptr);
    SHOAL_ASSIGN_OR_RETURN(io_uring_cqe * cqe, ring.WaitCqe());
    const int res = cqe->res;
    ring.Seen(cqe);
    if (res == -EINTR || res == -EAGAIN) continue;
    if (res < 0) {
      return Status::FromErrno(
          -res, fmt::format("io_uring write of {} bytes at offset {}", len - done, offset + done));
    }
    if (res == 0) return Status::Make(Code::kIOError, "io_uring write at {} wrote 0 bytes", offset);
    done += static_cast<size_t>(res);
  }
  return Status::Ok();
}

Status Fdatasync(int fd, const std::string& path) {
  if (::fdatasync(fd) != 0) return Status::FromErrno(errno, "fdatasync " + path);
  return Status::Ok();
}

// Writes `total` bytes of pattern with O_DIRECT at the ceiling's shape and syncs them,
// leaving nothing of the file in the page cache.
Status PrewriteDirect(const TempFile& file, uint64_t total) {
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, file.Open(O_WRONLY | O_DIRECT));
  SHOAL_ASSIGN_OR_RETURN(std::unique_ptr<io::Ring> ring, io::Ring::Create(kPrepQueueDepth));
  SHOAL_ASSIGN_OR_RETURN(auto bufs, AllocateBuffers(kPrepQueueDepth, kPrepBlock));
  SHOAL_RETURN_IF_ERROR(
      RunSequential(*ring, fd.get(), /*write=*/true, total, kPrepBlock, bufs, nullptr));
  return Fdatasync(fd.get(), file.path());
}

// Writes `total` bytes of pattern through the page cache and syncs them: the pages stay
// cached but clean, so no writeback runs under a later timed pass.
Status PrewriteBuffered(const TempFile& file, uint64_t total) {
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, file.Open(O_WRONLY));
  SHOAL_ASSIGN_OR_RETURN(AlignedBuffer buf, AllocatePattern(kPrepBlock, 7));
  for (uint64_t off = 0; off < total;) {
    const size_t n = static_cast<size_t>(std::min<uint64_t>(kPrepBlock, total - off));
    const ssize_t w = ::pwrite(fd.get(), buf.get(), n, static_cast<off_t>(off));
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return Status::FromErrno(errno, fmt::format("pwrite {} at {}", file.path(), off));
    if (w == 0)
      return Status::Make(Code::kIOError, "pwrite {} at {} wrote 0 bytes", file.path(), off);
    off += static_cast<uint64_t>(w);
  }
  return Fdatasync(fd.get(), file.path());
}

// Brings a fresh temp file into `state` for `total` bytes of timed writes (untimed).
Status PrepareFile(const TempFile& file, FileState state, uint64_t total) {
  switch (state) {
    case FileState::kFresh:
      return Status::Ok();
    case FileState::kFallocated: {
      SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, file.Open(O_WRONLY));
      if (::fallocate(fd.get(), 0, 0, static_cast<off_t>(total)) != 0) {
        const int err = errno;
        if (err == EOPNOTSUPP) {
          return Status::Make(Code::kInvalidArgument,
                              "fallocate {}: not supported by this file system", file.path());
        }
        return Status::FromErrno(err, "fallocate " + file.path());
      }
      // The extent allocation is journalled now, not by the first timed fdatasync.
      return Fdatasync(fd.get(), file.path());
    }
    case FileState::kPrewritten:
      return PrewriteDirect(file, total);
  }
  return Status::Make(Code::kInternal, "unknown FileState {}", static_cast<int>(state));
}

Status CheckAligned(std::string_view what, uint64_t value) {
  if (value == 0 || value % kAlign != 0) {
    return Status::Make(Code::kInvalidArgument, "{} = {}: O_DIRECT needs a non-zero multiple of {}",
                        what, value, kAlign);
  }
  return Status::Ok();
}

Status CheckQueueDepth(unsigned qd) {
  if (qd == 0 || qd > 4096) {
    return Status::Make(Code::kInvalidArgument, "queue_depth = {}: must be in [1, 4096]", qd);
  }
  return Status::Ok();
}

}  // namespace

std::string_view FileStateName(FileState state) {
  switch (state) {
    case FileState::kFresh:
      return "fresh";
    case FileState::kFallocated:
      return "fallocated";
    case FileState::kPrewritten:
      return "prewritten";
  }
  return "unknown";
}

Result<ProbeResult> DirectWriteSeq(const std::string& dir, const DirectWriteOptions& options) {
  SHOAL_RETURN_IF_ERROR(CheckAligned("total_bytes", options.total_bytes));
  SHOAL_RETURN_IF_ERROR(CheckAligned("block_size", options.block_size));
  SHOAL_RETURN_IF_ERROR(CheckQueueDepth(options.queue_depth));
  SHOAL_ASSIGN_OR_RETURN(TempFile file, TempFile::Create(dir, "dwrite"));
  SHOAL_RETURN_IF_ERROR(PrepareFile(file, options.file_state, options.total_bytes));
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, file.Open(O_WRONLY | O_DIRECT));
  SHOAL_ASSIGN_OR_RETURN(std::unique_ptr<io::Ring> ring, io::Ring::Create(options.queue_depth));
  SHOAL_ASSIGN_OR_RETURN(auto bufs, AllocateBuffers(options.queue_depth, options.block_size));

  std::vector<double> lat_us;
  lat_us.reserve(options.total_bytes / options.block_size + 1);
  const auto t0 = Clock::now();
  SHOAL_RETURN_IF_ERROR(RunSequential(*ring, fd.get(), /*write=*/true, options.total_bytes,
                                      options.block_size, bufs, &lat_us));
  if (options.fdatasync_at_end) SHOAL_RETURN_IF_ERROR(RingFdatasync(*ring, fd.get()));
  const double secs = Seconds(t0, Clock::now());

  const uint64_t ops = lat_us.size();
  ProbeResult r =
      Finish(options.total_bytes, secs, ops,
             fmt::format("O_DIRECT sequential write, io_uring, {} blocks, QD{}, {} file, {}{}",
                         Bytes(options.block_size), options.queue_depth,
                         FileStateName(options.file_state), Bytes(options.total_bytes),
                         options.fdatasync_at_end ? ", + fdatasync at end" : ""));
  SetLatency(lat_us, r);
  return r;
}

Result<ProbeResult> WriteFsyncSeq(const std::string& dir, const WriteFsyncOptions& options) {
  if (options.chunk_bytes == 0 || options.total_bytes == 0) {
    return Status::Make(Code::kInvalidArgument,
                        "WriteFsyncSeq: chunk_bytes and total_bytes must be non-zero");
  }
  if (options.direct) SHOAL_RETURN_IF_ERROR(CheckAligned("chunk_bytes", options.chunk_bytes));
  const uint64_t max_ops = std::max<uint64_t>(1, options.total_bytes / options.chunk_bytes);
  const uint64_t file_bytes = max_ops * options.chunk_bytes;

  SHOAL_ASSIGN_OR_RETURN(TempFile file, TempFile::Create(dir, "wfsync"));
  SHOAL_RETURN_IF_ERROR(PrepareFile(file, options.file_state, file_bytes));
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, file.Open(O_WRONLY | (options.direct ? O_DIRECT : 0)));
  SHOAL_ASSIGN_OR_RETURN(std::unique_ptr<io::Ring> ring, io::Ring::Create(4));
  SHOAL_ASSIGN_OR_RETURN(AlignedBuffer buf, AllocatePattern(options.chunk_bytes, 11));

  std::vector<double> lat_us;
  lat_us.reserve(static_cast<size_t>(max_ops));
  const auto t0 = Clock::now();
  auto now = t0;
  for (uint64_t i = 0; i < max_ops; ++i) {
    const auto start = now;
    // Write, wait for it, and only then submit the fdatasync: see the header.
    SHOAL_RETURN_IF_ERROR(
        RingWriteAll(*ring, fd.get(), buf.get(), options.chunk_bytes, i * options.chunk_bytes));
    SHOAL_RETURN_IF_ERROR(RingFdatasync(*ring, fd.get()));
    now = Clock::now();
    lat_us.push_back(Micros(start, now));
    if (options.max_seconds > 0 && Seconds(t0, now) >= options.max_seconds) break;
  }
  const double secs = Seconds(t0, now);

  const uint64_t ops = lat_us.size();
  ProbeResult r = Finish(
      ops * options.chunk_bytes, secs, ops,
      fmt::format("{} write + fdatasync every {}, io_uring, write completes before the fsync "
                  "is submitted, {} file, {} ops",
                  options.direct ? "O_DIRECT" : "buffered", Bytes(options.chunk_bytes),
                  FileStateName(options.file_state), ops));
  SetLatency(lat_us, r);
  return r;
}

Result<ProbeResult> NaiveAppender(const std::string& dir, const NaiveAppenderOptions& options) {
  if (options.record_size == 0 || options.records_per_batch == 0) {
    return Status::Make(Code::kInvalidArgument,
                        "NaiveAppender: record_size and records_per_batch must be non-zero");
  }
  const size_t batch_bytes = options.record_size * options.records_per_batch;
  const uint64_t max_batches = std::max<uint64_t>(1, options.total_bytes / batch_bytes);

  SHOAL_ASSIGN_OR_RETURN(TempFile file, TempFile::Create(dir, "naive"));
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, file.Open(O_WRONLY | O_APPEND));
  // The producers' records (distinct bytes per record) and the one batch buffer they are
  // copied into, reused for every batch as a careful user would.
  SHOAL_ASSIGN_OR_RETURN(AlignedBuffer records, AllocatePattern(batch_bytes, 13));
  SHOAL_ASSIGN_OR_RETURN(AlignedBuffer batch, AllocatePattern(batch_bytes, 17));

  std::vector<double> lat_us;
  lat_us.reserve(static_cast<size_t>(max_batches));
  const auto t0 = Clock::now();
  auto now = t0;
  for (uint64_t b = 0; b < max_batches; ++b) {
    const auto start = now;
    for (size_t i = 0; i < options.records_per_batch; ++i) {
      const size_t at = i * options.record_size;
      std::memcpy(batch.get() + at, records.get() + at, options.record_size);
    }
    for (size_t done = 0; done < batch_bytes;) {
      const ssize_t w = ::write(fd.get(), batch.get() + done, batch_bytes - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return Status::FromErrno(errno, "write " + file.path());
      if (w == 0) return Status::Make(Code::kIOError, "write {} wrote 0 bytes", file.path());
      done += static_cast<size_t>(w);
    }
    SHOAL_RETURN_IF_ERROR(Fdatasync(fd.get(), file.path()));
    now = Clock::now();
    lat_us.push_back(Micros(start, now));
    if (options.max_seconds > 0 && Seconds(t0, now) >= options.max_seconds) break;
  }
  const double secs = Seconds(t0, now);

  const uint64_t ops = lat_us.size();
  ProbeResult r =
      Finish(ops * batch_bytes, secs, ops,
             fmt::format("naive appender: {} x {} records copied into one buffer, write() + "
                         "fdatasync() per batch, O_APPEND fresh file, {} batches",
                         options.records_per_batch, Bytes(options.record_size), ops));
  SetLatency(lat_us, r);
  return r;
}

Result<ProbeResult> ReadSeq(const std::string& dir, const ReadSeqOptions& options) {
  if (options.total_bytes == 0 || options.block_size == 0) {
    return Status::Make(Code::kInvalidArgument,
                        "ReadSeq: total_bytes and block_size must be non-zero");
  }
  if (options.direct) {
    SHOAL_RETURN_IF_ERROR(CheckAligned("total_bytes", options.total_bytes));
    SHOAL_RETURN_IF_ERROR(CheckAligned("block_size", options.block_size));
  }
  SHOAL_RETURN_IF_ERROR(CheckQueueDepth(options.queue_depth));
  SHOAL_ASSIGN_OR_RETURN(TempFile file, TempFile::Create(dir, "read"));
  if (options.direct) {
    SHOAL_RETURN_IF_ERROR(PrewriteDirect(file, options.total_bytes));
  } else {
    SHOAL_RETURN_IF_ERROR(PrewriteBuffered(file, options.total_bytes));
  }
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, file.Open(O_RDONLY | (options.direct ? O_DIRECT : 0)));
  SHOAL_ASSIGN_OR_RETURN(std::unique_ptr<io::Ring> ring, io::Ring::Create(options.queue_depth));
  SHOAL_ASSIGN_OR_RETURN(auto bufs, AllocateBuffers(options.queue_depth, options.block_size));

  if (!options.direct) {
    // First pass: makes sure every page is resident (and warms the buffers); untimed.
    SHOAL_RETURN_IF_ERROR(RunSequential(*ring, fd.get(), /*write=*/false, options.total_bytes,
                                        options.block_size, bufs, nullptr));
  }
  std::vector<double> lat_us;
  lat_us.reserve(options.total_bytes / options.block_size + 1);
  const auto t0 = Clock::now();
  SHOAL_RETURN_IF_ERROR(RunSequential(*ring, fd.get(), /*write=*/false, options.total_bytes,
                                      options.block_size, bufs, &lat_us));
  const double secs = Seconds(t0, Clock::now());
  for (const auto& b : bufs) Escape(b.get());

  const uint64_t ops = lat_us.size();
  ProbeResult r = Finish(
      options.total_bytes, secs, ops,
      fmt::format("{} sequential read, io_uring, {} blocks, QD{}, {}",
                  options.direct ? "O_DIRECT" : "page-cache (second pass over a cached file)",
                  Bytes(options.block_size), options.queue_depth, Bytes(options.total_bytes)));
  SetLatency(lat_us, r);
  return r;
}

Result<ProbeResult> MemcpyBandwidth(const MemcpyOptions& options) {
  if (options.buffer_bytes == 0 || options.repetitions == 0) {
    return Status::Make(Code::kInvalidArgument,
                        "MemcpyBandwidth: buffer_bytes and repetitions must be non-zero");
  }
  SHOAL_ASSIGN_OR_RETURN(AlignedBuffer src, AllocatePattern(options.buffer_bytes, 19));
  SHOAL_ASSIGN_OR_RETURN(AlignedBuffer dst, AllocatePattern(options.buffer_bytes, 23));

  const auto t0 = Clock::now();
  for (unsigned i = 0; i < options.repetitions; ++i) {
    std::memcpy(dst.get(), src.get(), options.buffer_bytes);
    Escape(dst.get());
  }
  const double secs = Seconds(t0, Clock::now());

  const uint64_t bytes = uint64_t{options.buffer_bytes} * options.repetitions;
  return Finish(bytes, secs, options.repetitions,
                fmt::format("memcpy, one core, {} pre-touched buffers reused, {} copies",
                            Bytes(options.buffer_bytes), options.repetitions));
}

Result<ProbeResult> MmapReadBandwidth(const std::string& dir, const MmapReadOptions& options) {
  if (options.file_bytes == 0 || options.file_bytes % 8 != 0 || options.passes == 0) {
    return Status::Make(
        Code::kInvalidArgument,
        "MmapReadBandwidth: file_bytes must be a non-zero multiple of 8 and passes non-zero");
  }
  SHOAL_ASSIGN_OR_RETURN(TempFile file, TempFile::Create(dir, "mmap"));
  SHOAL_RETURN_IF_ERROR(PrewriteBuffered(file, options.file_bytes));
  SHOAL_ASSIGN_OR_RETURN(io::UniqueFd fd, file.Open(O_RDONLY));
  SHOAL_ASSIGN_OR_RETURN(io::MappedRegion region,
                         io::MappedRegion::Map(fd.get(), static_cast<size_t>(options.file_bytes),
                                               file.path().c_str()));

  // Four independent sums so the adds are not one serial dependency chain.
  auto sum_pass = [&region]() {
    const auto* w = reinterpret_cast<const uint64_t*>(region.data());
    const size_t n = region.size() / 8;
    uint64_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
      s0 += w[i];
      s1 += w[i + 1];
      s2 += w[i + 2];
      s3 += w[i + 3];
    }
    for (; i < n; ++i) s0 += w[i];
    return s0 + s1 + s2 + s3;
  };

  uint64_t checksum = 0;
  auto t0 = Clock::now();
  checksum += sum_pass();
  const double first_secs = Seconds(t0, Clock::now());
  const double first_mb_per_s = static_cast<double>(options.file_bytes) / first_secs / 1e6;

  double secs = first_secs;
  unsigned passes = 1;
  if (!options.first_touch) {
    t0 = Clock::now();
    for (unsigned p = 0; p < options.passes; ++p) checksum += sum_pass();
    secs = Seconds(t0, Clock::now());
    passes = options.passes;
  }
  Escape(&checksum);

  return Finish(
      options.file_bytes * passes, secs, passes,
      fmt::format("read-only mapping of a cached {} file, summing 8-byte words, one core, {} "
                  "(first pass with page faults: {:.0f} MB/s; checksum {:x})",
                  Bytes(options.file_bytes),
                  options.first_touch
                      ? "first pass (page faults)"
                      : fmt::format("{} passes over the populated mapping", options.passes),
                  first_mb_per_s, checksum));
}

// --- machine facts ------------------------------------------------------------------------

namespace {

constexpr std::string_view kUnknown = "unknown";

std::string Trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t\n");
  if (b == std::string_view::npos) return {};
  const auto e = s.find_last_not_of(" \t\n");
  return std::string(s.substr(b, e - b + 1));
}

std::string ReadLine(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  if (!in || !std::getline(in, line)) return std::string(kUnknown);
  return Trim(line);
}

// The value of the first "key<ws>: value" line of a /proc file.
std::string ProcField(const std::string& path, std::string_view key) {
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon != std::string::npos && Trim(std::string_view(line).substr(0, colon)) == key) {
      return Trim(std::string_view(line).substr(colon + 1));
    }
  }
  return std::string(kUnknown);
}

// mountinfo escapes space, tab, newline and backslash in paths as \ooo octal.
std::string UnescapeMountPath(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto octal = [&](size_t k) { return s[k] >= '0' && s[k] <= '7'; };
    if (s[i] == '\\' && i + 3 < s.size() && octal(i + 1) && octal(i + 2) && octal(i + 3)) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool PathUnder(const std::string& path, const std::string& mount_point) {
  if (mount_point == "/") return true;
  return path == mount_point ||
         (path.size() > mount_point.size() &&
          path.compare(0, mount_point.size(), mount_point) == 0 && path[mount_point.size()] == '/');
}

int FindLiburing(dl_phdr_info* info, size_t /*size*/, void* out) {
  const std::string_view name = info->dlpi_name != nullptr ? info->dlpi_name : "";
  if (name.find("liburing.so") == std::string_view::npos) return 0;
  *static_cast<std::string*>(out) = std::string(name);
  return 1;
}

std::string LiburingVersion() {
#if defined(IO_URING_VERSION_MAJOR) && defined(IO_URING_VERSION_MINOR)
  // liburing >= 2.4 says so itself (the runtime library may be newer than the headers).
  return fmt::format("{}.{} (runtime {}.{})", IO_URING_VERSION_MAJOR, IO_URING_VERSION_MINOR,
                     io_uring_major_version(), io_uring_minor_version());
#else
  // Older liburing has no version API: name the shared object this process loaded
  // (liburing.so.2 -> liburing.so.2.3).
  std::string loaded;
  dl_iterate_phdr(FindLiburing, &loaded);
  if (loaded.empty()) return "unknown (< 2.4, linked statically)";
  std::error_code ec;
  const std::string real = std::filesystem::canonical(loaded, ec).filename().string();
  constexpr std::string_view kPrefix = "liburing.so.";
  if (!ec && real.rfind(kPrefix, 0) == 0) return real.substr(kPrefix.size());
  return fmt::format("unknown (< 2.4, {})", loaded);
#endif
}

}  // namespace

std::vector<std::pair<std::string, std::string>> MachineInfo::Pairs() const {
  return {{"cpu_model", cpu_model},
          {"cores", cores},
          {"memory", memory},
          {"kernel", kernel},
          {"mount_point", mount_point},
          {"fs_type", fs_type},
          {"mount_options", mount_options},
          {"mount_source", mount_source},
          {"block_device", block_device},
          {"device_model", device_model},
          {"rotational", rotational},
          {"logical_block_size", logical_block_size},
          {"scheduler", scheduler},
          {"liburing", liburing_version}};
}

MachineInfo MachineFacts(const std::string& dir) {
  MachineInfo m;
  const std::string unknown(kUnknown);
  m.cpu_model = ProcField("/proc/cpuinfo", "model name");

  cpu_set_t set;
  CPU_ZERO(&set);
  const int allowed = ::sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : -1;
  m.cores = fmt::format("{} (online {})", allowed, ::sysconf(_SC_NPROCESSORS_ONLN));

  const std::string mem = ProcField("/proc/meminfo", "MemTotal");
  const long long kb = std::atoll(mem.c_str());
  m.memory = kb > 0
                 ? fmt::format("{:.1f} GiB (MemTotal {})", static_cast<double>(kb) / (1 << 20), mem)
                 : mem;

  utsname u{};
  m.kernel = ::uname(&u) == 0 ? std::string(u.release) : unknown;

  // The mount holding `dir`: the longest mount point that is a prefix of its real path;
  // among equal ones the last listed, which is the one on top.
  std::error_code ec;
  std::string path = std::filesystem::canonical(dir, ec).string();
  if (ec) path = dir;
  std::string dev_numbers;
  m.mount_point = m.fs_type = m.mount_options = m.mount_source = unknown;
  size_t best = 0;
  bool found = false;
  std::ifstream mi("/proc/self/mountinfo");
  std::string line;
  while (std::getline(mi, line)) {
    std::istringstream ls(line);
    std::vector<std::string> f;
    for (std::string w; ls >> w;) f.push_back(w);
    const auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 6 || dash == f.end() || f.end() - dash < 4) continue;
    const std::string mp = UnescapeMountPath(f[4]);
    if (!PathUnder(path, mp) || (found && mp.size() < best)) continue;
    found = true;
    best = mp.size();
    m.mount_point = mp;
    dev_numbers = f[2];
    m.fs_type = dash[1];
    m.mount_source = UnescapeMountPath(dash[2]);
    m.mount_options = fmt::format("{} (super: {})", f[5], dash[3]);
  }

  // The whole disk behind the mount: /sys/dev/block/MAJ:MIN, one level up for a partition.
  m.block_device = m.device_model = m.rotational = m.logical_block_size = m.scheduler = unknown;
  if (!dev_numbers.empty()) {
    std::filesystem::path sys = std::filesystem::canonical("/sys/dev/block/" + dev_numbers, ec);
    if (!ec) {
      if (std::filesystem::exists(sys / "partition", ec)) sys = sys.parent_path();
      m.block_device = sys.filename().string();
      const std::string q = (sys / "queue").string();
      m.rotational = ReadLine(q + "/rotational");
      m.logical_block_size = ReadLine(q + "/logical_block_size");
      m.scheduler = ReadLine(q + "/scheduler");
      m.device_model = ReadLine((sys / "device" / "model").string());
      if (m.device_model == unknown) {
        // virtio-blk and friends have no model file; the driver's name still says what it is.
        const auto driver = std::filesystem::canonical(sys / "device" / "driver", ec);
        if (!ec) m.device_model = fmt::format("n/a (driver {})", driver.filename().string());
      }
    }
  }
  m.liburing_version = LiburingVersion();
  return m;
}

}  // namespace shoal::bench
