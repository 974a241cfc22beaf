#include "bench/harness/harness.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "io/crc32c.h"
#include "io/unique_fd.h"
#include "kernel/format.h"
#include "kernel/stream_name.h"

namespace shoal::bench {

namespace {
constexpr uint64_t KiB = 1024, MiB = 1024 * KiB, GiB = 1024 * MiB;
}  // namespace

std::string_view SuiteName(Suite s) {
  switch (s) {
    case Suite::kQuick: return "quick";
    case Suite::kDefault: return "default";
    case Suite::kFull: return "full";
  }
  return "?";
}

Budget BudgetFor(Suite s) {
  switch (s) {
    case Suite::kQuick:
      return Budget{
          .device_bytes = 32 * MiB, .fsync_chunks = {8 * MiB}, .fsync_seconds = 0.3, .memcpy_bytes = 64 * MiB,
          .append_seconds = 0.2, .append_full_grid = false, .append_tiny_grid = true,
          .read_bytes = 16 * MiB, .tail_seconds = 0.4,
          .reshard_sizes = {1 * MiB, 16 * MiB}, .reshard_load_seconds = 0.3, .update_count_shard_bytes = 1 * MiB,
          .trim_k = {1, 8}, .trim_passes = 3, .trim_load_seconds = 0.4,
          .limits_warmup_seconds = 0.3, .limits_window_seconds = 1.2,
          .recovery_sizes = {16 * MiB}, .recovery_engine_shard_bytes = 4 * MiB, .recovery_engine_shards = 2,
          .baseline_bytes = 16 * MiB, .baseline_seconds = 0.3,
          .server_put_seconds = 0.5, .server_putrecord_seconds = 0.3};
    case Suite::kDefault:
      return Budget{
          .device_bytes = 256 * MiB, .fsync_chunks = {8 * MiB, 1 * MiB}, .fsync_seconds = 1.0,
          .memcpy_bytes = 256 * MiB,
          .append_seconds = 1.0, .append_full_grid = false, .append_tiny_grid = false,
          .read_bytes = 256 * MiB, .tail_seconds = 1.5,
          .reshard_sizes = {1 * MiB, 100 * MiB, 1 * GiB}, .reshard_load_seconds = 1.5,
          .update_count_shard_bytes = 16 * MiB,
          .trim_k = {1, 16, 64}, .trim_passes = 8, .trim_load_seconds = 1.0,
          .limits_warmup_seconds = 1.0, .limits_window_seconds = 3.0,
          .recovery_sizes = {64 * MiB, 512 * MiB}, .recovery_engine_shard_bytes = 64 * MiB,
          .recovery_engine_shards = 4,
          .baseline_bytes = 256 * MiB, .baseline_seconds = 1.5,
          .server_put_seconds = 5, .server_putrecord_seconds = 3};
    case Suite::kFull:
      return Budget{
          .device_bytes = 1 * GiB, .fsync_chunks = {8 * MiB, 1 * MiB, 64 * KiB}, .fsync_seconds = 2.0,
          .memcpy_bytes = 256 * MiB,
          .append_seconds = 3.0, .append_full_grid = true, .append_tiny_grid = false,
          .read_bytes = 1 * GiB, .tail_seconds = 5,
          .reshard_sizes = {1 * MiB, 100 * MiB, 1 * GiB, 10 * GiB}, .reshard_load_seconds = 4,
          .update_count_shard_bytes = 64 * MiB,
          .trim_k = {1, 16, 128, 1024}, .trim_passes = 30, .trim_load_seconds = 4,
          .limits_warmup_seconds = 2, .limits_window_seconds = 10,
          .recovery_sizes = {64 * MiB, 1 * GiB, 4 * GiB}, .recovery_engine_shard_bytes = 256 * MiB,
          .recovery_engine_shards = 4,
          .baseline_bytes = 1 * GiB, .baseline_seconds = 5,
          .server_put_seconds = 10, .server_putrecord_seconds = 5};
  }
  return BudgetFor(Suite::kDefault);
}

Json BudgetJson(const Budget& b) {
  Json j = Json::MakeObject();
  j.Set("device_bytes", b.device_bytes);
  j.Set("fsync_chunks_bytes", Json::ArrayOf(b.fsync_chunks));
  j.Set("fsync_seconds", b.fsync_seconds);
  j.Set("memcpy_bytes", b.memcpy_bytes);
  j.Set("append_seconds", b.append_seconds);
  j.Set("append_grid", b.append_full_grid ? "full" : b.append_tiny_grid ? "tiny" : "sampled");
  j.Set("read_bytes", b.read_bytes);
  j.Set("tail_seconds", b.tail_seconds);
  j.Set("reshard_sizes_bytes", Json::ArrayOf(b.reshard_sizes));
  j.Set("reshard_load_seconds", b.reshard_load_seconds);
  j.Set("update_count_shard_bytes", b.update_count_shard_bytes);
  j.Set("trim_k", Json::ArrayOf(b.trim_k));
  j.Set("trim_passes", b.trim_passes);
  j.Set("trim_load_seconds", b.trim_load_seconds);
  j.Set("limits_warmup_seconds", b.limits_warmup_seconds);
  j.Set("limits_window_seconds", b.limits_window_seconds);
  j.Set("recovery_sizes_bytes", Json::ArrayOf(b.recovery_sizes));
  j.Set("recovery_engine_shard_bytes", b.recovery_engine_shard_bytes);
  j.Set("recovery_engine_shards", b.recovery_engine_shards);
  j.Set("baseline_bytes", b.baseline_bytes);
  j.Set("baseline_seconds", b.baseline_seconds);
  j.Set("server_put_seconds", b.server_put_seconds);
  j.Set("server_putrecord_seconds", b.server_putrecord_seconds);
  return j;
}

// --- progress -------------------------------------------------------------------------

namespace {
std::string Clock(double s) {
  if (!std::isfinite(s) || s < 0) return "?";
  const int t = static_cast<int>(s + 0.5);
  return fmt::format("{}:{:02}", t / 60, t % 60);
}
}  // namespace

void Progress::Plan(std::vector<std::pair<std::string, double>> plan) { plan_ = std::move(plan); }

double Progress::Elapsed() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void Progress::BeginScenario(const std::string& name, int points) {
  scenario_ = name;
  points_ = points;
  scenario_start_ = std::chrono::steady_clock::now();
  fmt::print(stderr, "[shoal-bench {}] scenario {}: {} point(s)\n", Clock(Elapsed()), name, points);
}

void Progress::Step(int point, const std::string& what, int rep, int reps) {
  const double in_scenario =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - scenario_start_).count();
  double planned_this = 0, planned_later = 0;
  bool seen = false;
  for (const auto& [name, secs] : plan_) {
    if (name == scenario_) {
      planned_this = secs;
      seen = true;
    } else if (seen) {
      planned_later += secs;
    }
  }
  // This scenario: by points done so far if any, else by plan. Later ones: plan scaled by
  // how the finished scenarios ran against theirs.
  const double fraction = points_ > 0 ? (point - 1 + (reps > 0 ? (rep - 1.0) / reps : 0.0)) / points_ : 0;
  const double this_left =
      fraction > 0.05 ? in_scenario / fraction - in_scenario : std::max(0.0, planned_this - in_scenario);
  const double scale = planned_done_ > 0 ? actual_done_ / planned_done_ : 1.0;
  const std::string rep_text = reps > 1 ? fmt::format(" rep {}/{}", rep, reps) : "";
  fmt::print(stderr, "[shoal-bench {}] {} {}/{}{} {} | ETA scenario {} total {}\n", Clock(Elapsed()), scenario_,
             point, points_, rep_text, what, Clock(this_left), Clock(this_left + planned_later * scale));
}

void Progress::Note(const std::string& text) {
  fmt::print(stderr, "[shoal-bench {}] {}: {}\n", Clock(Elapsed()), scenario_, text);
}

void Progress::EndScenario() {
  const double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - scenario_start_).count();
  for (const auto& [name, secs] : plan_) {
    if (name == scenario_) {
      planned_done_ += secs;
      actual_done_ += took;
    }
  }
  fmt::print(stderr, "[shoal-bench {}] scenario {} done in {}\n", Clock(Elapsed()), scenario_, Clock(took));
}

// --- context --------------------------------------------------------------------------

std::string Context::FreshDir(const std::string& name) const {
  std::string dir = data_dir + "/" + name;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::create_directories(dir, ec);
  return dir;
}

uint64_t Context::FreeBytes() const {
  struct statvfs sv;
  if (::statvfs(data_dir.c_str(), &sv) != 0) return 0;
  return static_cast<uint64_t>(sv.f_bavail) * sv.f_frsize;
}

void Repeat(Context& ctx, Point& point, int point_index, const std::string& label,
            const std::function<Status(int rep)>& body) {
  point.repetitions_planned = ctx.repeat;
  for (int rep = 1; rep <= ctx.repeat; ++rep) {
    ctx.progress->Step(point_index, label, rep, ctx.repeat);
    Status st;
    try {
      st = body(rep);
    } catch (const std::exception& e) {
      st = Status(Code::kInternal, std::string("exception: ") + e.what());
    }
    if (!st.ok()) {
      const std::string msg = fmt::format("repetition {}: {}", rep, st.ToString());
      point.error = point.error.empty() ? msg : point.error + "; " + msg;
      ctx.results->AddError(point.scenario, point.id, msg);
      ctx.progress->Note("FAILED " + point.id + " " + msg);
    }
  }
}

// --- helpers --------------------------------------------------------------------------

uint64_t NowNs() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}

std::array<double, 3> LoadAverage() {
  std::array<double, 3> a{-1, -1, -1};
  if (FILE* f = std::fopen("/proc/loadavg", "r")) {
    if (std::fscanf(f, "%lf %lf %lf", &a[0], &a[1], &a[2]) != 3) a = {-1, -1, -1};
    std::fclose(f);
  }
  return a;
}

uint64_t ProcIoField(const std::string& field) {
  std::ifstream in("/proc/self/io");
  std::string key;
  uint64_t value;
  while (in >> key >> value)
    if (key == field + ":") return value;
  return 0;
}

Status RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
  if (ec) return Status(Code::kIOError, "remove " + path + ": " + ec.message());
  return Status::Ok();
}

Status SyncFileSystem(const std::string& path) {
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
  if (::syncfs(fd.get()) != 0) return Status::FromErrno(errno, "syncfs " + path);
  return Status::Ok();
}

std::string HumanBytes(uint64_t n) {
  if (n >= GiB && n % GiB == 0) return fmt::format("{}GiB", n / GiB);
  if (n >= MiB && n % MiB == 0) return fmt::format("{}MiB", n / MiB);
  if (n >= KiB && n % KiB == 0) return fmt::format("{}KiB", n / KiB);
  return fmt::format("{}B", n);
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return std::nan("");
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::min(v.size() - 1, rank == 0 ? 0 : rank - 1)];
}

Result<uint32_t> FileCrc(const std::string& path, uint64_t len) {
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
  std::vector<char> buf(1 << 20);
  uint32_t crc = 0;
  uint64_t pos = 0;
  while (pos < len) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(buf.size(), len - pos));
    ssize_t n = ::pread(fd.get(), buf.data(), want, static_cast<off_t>(pos));
    if (n < 0) return Status::FromErrno(errno, "pread " + path);
    if (n == 0) break;
    crc = io::Crc32cExtend(crc, buf.data(), static_cast<size_t>(n));
    pos += static_cast<uint64_t>(n);
  }
  return crc;
}

Result<std::map<std::string, FileFact>> SnapshotTree(const std::string& dir,
                                                     const std::function<bool(const std::string&)>& want_crc) {
  namespace fs = std::filesystem;
  std::map<std::string, FileFact> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    struct stat st;
    const std::string p = it->path().string();
    if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    FileFact f;
    f.path = p;
    f.ino = st.st_ino;
    f.size = static_cast<uint64_t>(st.st_size);
    f.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    if (want_crc && want_crc(p)) {
      SHOAL_ASSIGN_OR_RETURN(uint32_t crc, FileCrc(p, f.size));
      f.crc = crc;
    }
    out[p] = f;
  }
  if (ec) return Status(Code::kIOError, "walk " + dir + ": " + ec.message());
  return out;
}

Result<uint64_t> SegmentFrameBytes(const std::string& path) {
  io::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return Status::FromErrno(errno, "open " + path);
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return Status::FromErrno(errno, "fstat " + path);
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  uint64_t pos = format::kSegmentHeaderSize, total = 0;
  while (pos + 4 <= size) {
    uint8_t hdr[4];
    if (::pread(fd.get(), hdr, 4, static_cast<off_t>(pos)) != 4) break;
    const uint32_t len = format::Load32(hdr);
    if (len == 0) break;
    total += len;
    pos += len;
  }
  return total;
}

std::map<uint32_t, std::string> ShardDirs(const std::string& engine_dir, const std::string& stream, uint64_t uid) {
  std::map<uint32_t, std::string> out;
  const std::string base = fmt::format("{}/streams/{}.{:016x}", engine_dir, EscapeForPath(stream), uid);
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator(base, ec); !ec && it != std::filesystem::directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!it->is_directory() || name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    out[static_cast<uint32_t>(std::stoul(name))] = it->path().string();
  }
  return out;
}

}  // namespace shoal::bench
