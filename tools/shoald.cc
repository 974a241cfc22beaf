// shoald: the Shoal server. Serves the Kinesis Data Streams API (JSON 1.1 over HTTP/1.1)
// from one data directory, so `aws --endpoint-url http://127.0.0.1:4567 kinesis ...`,
// boto3 and the SDKs work against it.
//
//   shoald --data-dir DIR [--host 127.0.0.1] [--port 4567] [options]   (--help lists them)
//
// Output: when it is ready to serve, exactly one line on stdout,
//   shoald listening on http://HOST:PORT (data DIR, durability X)
// (with --port 0 the kernel picks the port and this line tells it). Everything else (the
// stop line, errors) goes to stderr, one line each.
//
// Stopping: SIGTERM or SIGINT stops accepting, finishes requests in flight, closes the
// engine (flushes every shard, marks the directory clean) and exits 0. A kill -9 loses
// nothing acknowledged under --durability always (the default): the next start recovers.
//
// Exit status: 0 clean stop; 1 the directory could not be opened, the address could not
// be bound, or the engine failed to close cleanly; 2 usage error.
//
// Iterator key: shard iterators and paging tokens are HMAC-signed. Unless --token-key is
// given, the key is DIR/shoald.key (32 random bytes, hex), created with mode 0600 on
// first start, so iterators stay valid across restarts.
#include <fcntl.h>
#include <fmt/format.h>
#include <signal.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <memory>
#include <string>

#include "api/http_server.h"
#include "api/log_line.h"
#include "api/kinesis_service.h"
#include "kernel/engine.h"
#include "kernel/log_options.h"

namespace shoal {
namespace {

template <typename... Args>
void Log(fmt::format_string<Args...> f, Args&&... args) {
  api::LogLine("shoald", f, std::forward<Args>(args)...);
}

struct Config {
  std::string data_dir;
  std::string host = "127.0.0.1";
  uint16_t port = 4567;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  std::string durability = "always";
  uint32_t interval_ms = 100;
  std::string write_mode = "direct";  // LogOptions default: measured fastest with durable acks
  bool kinesis_limits = false;
  int64_t create_delay_ms = 0;
  int64_t update_delay_ms = 0;
  int64_t delete_delay_ms = 0;
  uint32_t shard_limit = 10000;
  int threads = 2;
  int handler_threads = 32;
  size_t max_body_bytes = 16u << 20;
  size_t max_connections = 10000;
  int64_t idle_timeout_ms = 60000;
  int64_t request_timeout_ms = 30000;
  uint64_t segment_bytes = 128ull << 20;
  std::string token_key;
};

constexpr std::string_view kKeyFile = "shoald.key";

Status ReadWholeFile(const std::string& path, std::string* out) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  out->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      close(fd);
      return Status::FromErrno(err, "read " + path);
    }
    if (n == 0) break;
    out->append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return Status::Ok();
}

Status FsyncPath(const std::string& path, int flags) {
  int fd = open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open " + path);
  int rc = fsync(fd);
  int err = errno;
  close(fd);
  return rc == 0 ? Status::Ok() : Status::FromErrno(err, "fsync " + path);
}

// Reads DIR/shoald.key, or creates it: 32 random bytes as hex, written to a temporary
// file (0600), fsynced, then link()ed into place so a concurrent creator (the local CLI)
// cannot leave a half-written key; the directory is fsynced so the key survives a power
// loss together with the records whose iterators it signs.
Result<std::string> LoadOrCreateTokenKey(const std::string& dir) {
  const std::string path = dir + "/" + std::string(kKeyFile);
  std::string text;
  Status st = ReadWholeFile(path, &text);
  if (st.code() == Code::kNotFound) {
    unsigned char raw[32];
    size_t got = 0;
    while (got < sizeof raw) {
      ssize_t n = getrandom(raw + got, sizeof raw - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return Status::FromErrno(errno, "getrandom");
      got += static_cast<size_t>(n);
    }
    std::string key;
    for (unsigned char c : raw) key += fmt::format("{:02x}", c);
    const std::string tmp = fmt::format("{}.tmp.{}", path, getpid());
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return Status::FromErrno(errno, "create " + tmp);
    std::string line = key + "\n";
    bool ok = write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size()) && fsync(fd) == 0;
    int err = errno;
    close(fd);
    if (!ok) {
      unlink(tmp.c_str());
      return Status::FromErrno(err, "write " + tmp);
    }
    int rc = link(tmp.c_str(), path.c_str());
    err = errno;
    unlink(tmp.c_str());
    if (rc != 0 && err != EEXIST) return Status::FromErrno(err, "link " + path);
    SHOAL_RETURN_IF_ERROR(FsyncPath(dir, O_RDONLY | O_DIRECTORY));
    if (rc == 0) return key;
    st = ReadWholeFile(path, &text);  // someone else created it first: use theirs
  }
  SHOAL_RETURN_IF_ERROR(st);
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r' || text.back() == ' ')) text.pop_back();
  if (text.size() < 16) {
    return Status::Make(Code::kCorruption,
                        "{}: the iterator key is {} bytes, expected 64 hex digits; delete the file to "
                        "make a new key (outstanding shard iterators become invalid) or pass --token-key",
                        path, text.size());
  }
  return text;
}

// Thousands of client connections need thousands of descriptors; the default soft limit
// (often 1024) is far below the hard one.
void RaiseFdLimit() {
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return;
  if (rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

std::string HostForUrl(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

int Run(const Config& c) {
  // Block the stop signals before any thread starts, so every thread inherits the mask
  // and the main thread alone receives them through sigwait().
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  signal(SIGPIPE, SIG_IGN);
  RaiseFdLimit();

  EngineOptions eo;
  eo.log.durability = ParseDurability(c.durability).value();
  eo.log.interval_ms = c.interval_ms;
  eo.log.write_mode = ParseWriteMode(c.write_mode).value();
  eo.log.segment_bytes = c.segment_bytes;
  eo.create_delay_ms = c.create_delay_ms;
  eo.update_delay_ms = c.update_delay_ms;
  eo.delete_delay_ms = c.delete_delay_ms;
  eo.kinesis_limits = c.kinesis_limits;
  eo.shard_limit = c.shard_limit;

  std::error_code fec;
  std::filesystem::create_directories(c.data_dir, fec);
  if (fec) {
    Log("error: cannot create data directory {}: {}", c.data_dir, fec.message());
    return 1;
  }
  auto opened = Engine::Open(c.data_dir, eo);
  if (!opened.ok()) {
    Log("error: cannot open data directory {}: {}", c.data_dir, opened.status().ToString());
    return 1;
  }
  std::unique_ptr<Engine> engine = std::move(opened).value();

  api::ServiceOptions so;
  so.region = c.region;
  so.account_id = c.account_id;
  so.max_body_bytes = c.max_body_bytes;
  if (!c.token_key.empty()) {
    so.token_key = c.token_key;
  } else {
    auto key = LoadOrCreateTokenKey(c.data_dir);
    if (!key.ok()) {
      Log("error: {}", key.status().ToString());
      engine->Close().IgnoreError();
      return 1;
    }
    so.token_key = std::move(key).value();
  }
  api::KinesisService service(*engine, so);

  api::HttpServerOptions ho;
  ho.host = c.host;
  ho.port = c.port;
  ho.io_threads = c.threads;
  ho.handler_threads = c.handler_threads;
  ho.max_connections = c.max_connections;
  ho.idle_timeout_ms = c.idle_timeout_ms;
  ho.request_timeout_ms = c.request_timeout_ms;
  ho.log_lifecycle = false;  // the two lines below say it
  api::HttpServer server(service, ho);
  if (Status st = server.Start(); !st.ok()) {
    Log("error: {}", st.ToString());
    engine->Close().IgnoreError();
    return 1;
  }
  fmt::print("shoald listening on http://{}:{} (data {}, durability {})\n", HostForUrl(c.host), server.port(),
             c.data_dir, DurabilityName(eo.log.durability));
  std::fflush(stdout);

  int sig = 0;
  while (sigwait(&stop_signals, &sig) != 0) {
  }
  auto t1 = std::chrono::steady_clock::now();
  server.Stop();
  api::HttpServer::Stats st = server.stats();
  Status closed = engine->Close();
  auto stop_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t1);
  if (!closed.ok()) {
    Log("error: {} received; HTTP stopped but the engine did not close cleanly: {}", strsignal(sig),
        closed.ToString());
    return 1;
  }
  Log("stopped on {} in {} ms: {} requests on {} connections ({} refused over the cap, {} bad requests, "
      "{} timed out, {} handler errors); engine closed cleanly",
      sig == SIGTERM ? "SIGTERM" : "SIGINT", stop_ms.count(), st.requests, st.connections_accepted,
      st.connections_refused, st.bad_requests, st.timeouts, st.handler_errors);
  return 0;
}

}  // namespace
}  // namespace shoal

int main(int argc, char** argv) {
  using shoal::Config;
  Config c;
  CLI::App app{"shoald: a Kinesis Data Streams-compatible server on Shoal's storage engine"};
  app.add_option("--data-dir", c.data_dir, "Data directory (created if missing)")->required();
  app.add_option("--host", c.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", c.port, "TCP port (0: pick a free one; the ready line tells which)")
      ->capture_default_str();
  app.add_option("--region", c.region, "Region in ARNs and messages")->capture_default_str();
  app.add_option("--account-id", c.account_id, "12-digit account id in ARNs and messages")
      ->capture_default_str()
      ->check([](const std::string& v) -> std::string {
        if (v.size() != 12 || v.find_first_not_of("0123456789") != std::string::npos) {
          return "must be 12 digits";
        }
        return {};
      });
  app.add_option("--durability", c.durability,
                 "What an acknowledged put survives: always = power loss (fdatasync before the ack), "
                 "interval = a process crash, and power loss older than --interval-ms, none = a process crash")
      ->capture_default_str()
      ->check(CLI::IsMember({"none", "interval", "always"}));
  app.add_option("--interval-ms", c.interval_ms, "fdatasync period for --durability interval")
      ->capture_default_str()
      ->check(CLI::Range(1u, 60000u));
  app.add_option("--write-mode", c.write_mode, "buffered (page cache) or direct (O_DIRECT)")
      ->capture_default_str()
      ->check(CLI::IsMember({"buffered", "direct"}));
  app.add_flag("--kinesis-limits", c.kinesis_limits,
               "Emulate per-shard throughput limits (1 MiB/s or 1000 records/s in, 2 MiB/s and 5 reads/s out)");
  app.add_option("--create-delay-ms", c.create_delay_ms, "How long a stream stays CREATING")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{3600000}));
  app.add_option("--update-delay-ms", c.update_delay_ms, "How long a stream stays UPDATING")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{3600000}));
  app.add_option("--delete-delay-ms", c.delete_delay_ms, "How long a stream stays DELETING")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{0}, int64_t{3600000}));
  app.add_option("--shard-limit", c.shard_limit, "Open shards allowed across all streams")
      ->capture_default_str()
      ->check(CLI::Range(1u, 1000000u));
  app.add_option("--threads", c.threads, "HTTP I/O threads")->capture_default_str()->check(CLI::Range(1, 256));
  app.add_option("--handler-threads", c.handler_threads,
                 "Threads running requests (0: on the I/O threads); concurrent durable puts share fdatasyncs")
      ->capture_default_str()
      ->check(CLI::Range(0, 4096));
  app.add_option("--max-body-bytes", c.max_body_bytes, "Largest request body; larger ones get 413")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30));
  app.add_option("--max-connections", c.max_connections, "Open connections at once; more are closed on accept")
      ->capture_default_str()
      ->check(CLI::Range(size_t{1}, size_t{1000000}));
  app.add_option("--idle-timeout-ms", c.idle_timeout_ms, "Close a connection idle for this long")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{86400000}));
  app.add_option("--request-timeout-ms", c.request_timeout_ms,
                 "Longest a request may take to arrive after its first byte, or a response to be read")
      ->capture_default_str()
      ->check(CLI::Range(int64_t{100}, int64_t{3600000}));
  app.add_option("--segment-bytes", c.segment_bytes,
                 "Segment file size; each open shard reserves one (fallocate), so many-shard test setups "
                 "may want less")
      ->capture_default_str()
      ->check(CLI::Range(uint64_t{64} << 10, uint64_t{2} << 30));
  app.add_option("--token-key", c.token_key,
                 "Key signing shard iterators and next-tokens (default: DIR/shoald.key, created on first start)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return shoal::Run(c);
}
