// Fuzzes shoald's HTTP transport (api/http_server.cc): the bytes of the input are what a
// client sends on one connection to a running HttpServer (on a loopback port, over a
// KinesisService and a real engine), then the client half-closes and reads until the
// server closes. That runs Boost.Beast's request parser under the server's own limits
// (header size, body size against ServiceOptions::max_body_bytes, chunked bodies,
// Expect: 100-continue, pipelining, keep-alive) and its mapping of parsed requests
// (method, X-Amz-Target, Content-Type, CORS headers) into the service.
//
// Properties, beyond "no crash, no sanitizer report, no hang":
//   * what comes back is a sequence of well-formed HTTP/1.x responses;
//   * each carries Content-Length, Date and x-amzn-RequestId;
//   * none is a 500 (a handler error or an invalid status from the service).
//
// The server state (streams created by earlier inputs) carries over between inputs for
// speed, and is reset every kResetEvery inputs so the RAM disk does not fill; framing
// does not depend on it, so a crash input replays on its own.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <string>
#include <string_view>

#include "api/http_server.h"
#include "api/kinesis_service.h"
#include "kernel/engine.h"
#include "kernel/hash_key.h"
#include "tests/fuzz/support/check.h"
#include "tests/fuzz/support/engine_fuzz_options.h"
#include "tests/fuzz/support/scratch_dir.h"

namespace {

using namespace shoal;

constexpr int kResetEvery = 5000;

// One server with everything behind it; destroyed in reverse order.
struct Server {
  fuzz::ScratchDir dir;
  std::unique_ptr<Engine> engine;
  std::unique_ptr<api::KinesisService> service;
  std::unique_ptr<api::HttpServer> http;

  Server() {
    // OpenSSL initializes itself on first use and leaves that thread's error state
    // allocated; done on a server thread that later exits, LeakSanitizer reports it. Use
    // it here first, on the main thread, which lives to the end.
    (void)HashPartitionKey("init");
    auto e = Engine::Open(dir.Sub("data"), fuzz::EngineFuzzOptions(std::make_shared<ManualClock>(fuzz::kFuzzEpochMs)));
    FUZZ_CHECK(e.ok(), "Engine::Open: {}", e.status().ToString());
    engine = std::move(e).value();
    api::ServiceOptions so;
    so.token_key = "fuzz-token-key";
    so.max_body_bytes = 4096;  // small, so mutants reach the 413 path
    service = std::make_unique<api::KinesisService>(*engine, so);
    api::HttpServerOptions ho;
    ho.port = 0;
    ho.io_threads = 1;
    ho.handler_threads = 0;  // inline: one thread fewer, same code path into the service
    ho.max_header_bytes = 2048;
    ho.log_lifecycle = false;
    http = std::make_unique<api::HttpServer>(*service, ho);
    Status st = http->Start();
    FUZZ_CHECK(st.ok(), "HttpServer::Start: {}", st.ToString());
  }
  ~Server() {
    http->Stop();
    http.reset();
    service.reset();
    Status st = engine->Close();
    FUZZ_CHECK(st.ok(), "Engine::Close: {}", st.ToString());
  }
};

std::string Exchange(uint16_t port, std::string_view request) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  FUZZ_CHECK(fd >= 0, "socket: errno {}", errno);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  FUZZ_CHECK(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0, "connect: errno {}", errno);
  // The server may answer and close before it read everything (a 413, a parse error):
  // then writing fails with EPIPE or ECONNRESET, which is fine.
  for (size_t off = 0; off < request.size();) {
    ssize_t n = ::send(fd, request.data() + off, request.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string response;
  char buf[16384];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;  // EOF, or a reset after the server gave up on our bytes
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return response;
}

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// Checks a sequence of responses. A HEAD response has a Content-Length but no body; the
// check cannot tell which response answers which request, so when the client sent "HEAD"
// anywhere, a response followed right away by another status line, or by the end, may
// have no body.
void CheckResponses(std::string_view in, std::string_view request) {
  const bool head_sent = request.find("HEAD") != std::string_view::npos;
  while (!in.empty()) {
    FUZZ_CHECK(in.starts_with("HTTP/1.1 ") || in.starts_with("HTTP/1.0 "), "not a status line: '{}' (request '{}')",
               in.substr(0, 80), request.substr(0, 200));
    const size_t end = in.find("\r\n\r\n");
    FUZZ_CHECK(end != std::string_view::npos, "response headers never end: '{}'", in.substr(0, 200));
    std::string_view head = in.substr(0, end + 2);
    in.remove_prefix(end + 4);
    const int status = std::atoi(std::string(head.substr(9, 3)).c_str());
    FUZZ_CHECK(status >= 100 && status <= 599, "status {} in '{}'", status, head.substr(0, 80));
    FUZZ_CHECK(status != 500, "500 for request '{}': '{}'", request.substr(0, 300), head);
    if (status == 100) continue;  // 100 Continue: no headers of ours
    bool id = false, date = false;
    long length = -1;
    size_t p = head.find("\r\n") + 2;
    while (p < head.size()) {
      size_t e = head.find("\r\n", p);
      std::string_view line = head.substr(p, e - p);
      p = e + 2;
      size_t colon = line.find(':');
      FUZZ_CHECK(colon != std::string_view::npos, "bad header line '{}'", line);
      std::string_view name = line.substr(0, colon), value = line.substr(colon + 1);
      while (value.starts_with(' ')) value.remove_prefix(1);
      if (IEquals(name, "x-amzn-RequestId")) id = !value.empty();
      if (IEquals(name, "Date")) date = !value.empty();
      if (IEquals(name, "Content-Length")) length = std::atol(std::string(value).c_str());
    }
    FUZZ_CHECK(id && date && length >= 0, "response lacks RequestId/Date/Content-Length: '{}'", head);
    if (head_sent && (in.empty() || in.starts_with("HTTP/1."))) continue;
    FUZZ_CHECK(in.size() >= static_cast<size_t>(length), "body shorter ({}) than its Content-Length {}", in.size(),
               length);
    in.remove_prefix(static_cast<size_t>(length));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::unique_ptr<Server> server;
  static int runs = 0;
  if (!server || ++runs % kResetEvery == 0) {
    server.reset();
    server = std::make_unique<Server>();
  }
  std::string_view request(reinterpret_cast<const char*>(data), size);
  CheckResponses(Exchange(server->http->port(), request), request);
  return 0;
}
