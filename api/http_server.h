// HttpServer: serves one KinesisService over HTTP/1.1 (Boost.Beast on Boost.Asio).
//
// The transport only: it frames requests, maps the headers the service looks at into an
// HttpRequest, runs KinesisService::Handle and writes the HttpResponse back, adding
// Content-Length, Date and Connection (and x-amzn-RequestId if the service left it out:
// spec §1.6 wants it on every response, including the ones the transport makes itself).
// Any path is accepted (spec §1.1); everything Kinesis-specific lives in the service.
//
// What it protects against, so hostile or broken clients cannot pin the process:
// * bodies over ServiceOptions::max_body_bytes → 413, empty body, connection closed
//   (spec §1.3 step 1); headers over max_header_bytes → 431 and close; anything the
//   HTTP parser rejects → 400 and close, including a chunk-size line (with extensions)
//   longer than 64 KiB: unparsed input is buffered only up to max_header_bytes + 64 KiB;
// * a connection with no request in progress is closed after idle_timeout_ms; a request
//   (headers + body) must arrive within request_timeout_ms of its first byte, and a
//   response must drain within request_timeout_ms (slow readers);
// * at most max_connections are open at once: beyond that a new connection is accepted
//   and closed at once (no queueing in the kernel backlog, no fd exhaustion).
//
// Threads: `io_threads` run the sockets and never block on the engine. Handle() runs on
// a pool of `handler_threads` (a durable put waits for its fdatasync; many concurrent
// waiters let one group commit cover many requests), or inline on the I/O thread when
// handler_threads is 0. HTTP/1.1 has one request in flight per connection, so the number
// of requests the engine sees at once is min(open connections, handler_threads).
//
// Lifetime: Start() binds and starts the threads; Stop() stops accepting, closes idle
// connections and those still sending headers, lets requests whose headers have arrived
// finish (up to stop_grace_ms) and answers them with `Connection: close`, then joins the
// threads. A server starts at most once. The service (and the engine behind it) must
// outlive the server. Start/Stop are not thread-safe against each other; stats() and
// port() may be called from any thread.
//
// Logging: one line to stderr per start, stop (unless log_lifecycle is off) and
// server-side error (accept failures, exceptions from the service). Client mistakes (bad HTTP, timeouts, resets) are only
// counted, in stats(), so a misbehaving client cannot flood the log.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "api/kinesis_service.h"
#include "io/status.h"

namespace shoal::api {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 4567;  // 0: an ephemeral port, see HttpServer::port()
  // Socket threads. Two keep up with a 2-vCPU machine's worth of JSON work; they only
  // parse and copy, the engine work runs on the handler threads.
  int io_threads = 2;
  // Threads that run KinesisService::Handle (0: inline on the I/O threads). 32 lets 32
  // durable puts share each group commit; a blocked thread costs only its stack.
  int handler_threads = 32;
  // Request line + headers. SigV4 headers with a session token are ~3 KiB; 32 KiB is far
  // above any SDK's and still bounds what a slowloris client can make us buffer.
  size_t max_header_bytes = 32 << 10;
  // No request in progress: close after this long (AWS's load balancers idle out at
  // 60 s; botocore's pool re-opens transparently).
  int64_t idle_timeout_ms = 60000;
  // From a request's first byte to its last, and for writing a response: a 16 MiB body
  // at a few MB/s fits; a client trickling bytes to hold the connection does not.
  int64_t request_timeout_ms = 30000;
  // Open connections at once (each costs an fd and a few KiB when idle). Beyond this,
  // accept and close: better a refused connection than a server out of descriptors.
  size_t max_connections = 10000;
  // Stop(): how long in-flight requests get to finish before their sockets are closed.
  int64_t stop_grace_ms = 10000;
  // Capacity of request and response buffers kept for reuse while their connections idle
  // (see buffer_pool.h): 16 readers' worth of 10 MB GetRecords answers (~14 MB each).
  size_t buffer_pool_bytes = 256u << 20;
  // Log the start and stop lines (a program that prints its own, like shoald, turns
  // them off; errors are always logged).
  bool log_lifecycle = true;
};

class HttpServer {
 public:
  struct Stats {
    uint64_t connections_accepted = 0;
    uint64_t connections_refused = 0;  // over max_connections
    uint64_t requests = 0;             // responses written for complete requests
    uint64_t bad_requests = 0;         // 400 / 413 / 431 made by the transport
    uint64_t timeouts = 0;             // idle or slow connections closed
    uint64_t handler_errors = 0;       // exceptions thrown by the service → 500
    size_t open_connections = 0;
  };

  HttpServer(KinesisService& service, HttpServerOptions options);
  ~HttpServer();  // Stop()s if still running
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds host:port and starts serving. Fails (kInvalidArgument / kIOError) when the
  // address does not resolve or cannot be bound; nothing is left running then.
  Status Start();
  // The bound port (the ephemeral one when options.port was 0); 0 before Start().
  uint16_t port() const;
  const HttpServerOptions& options() const { return options_; }
  // Graceful shutdown; idempotent. Returns once every thread has been joined.
  void Stop();
  Stats stats() const;

 private:
  struct Impl;
  friend class HttpConnection;  // one client connection (http_server.cc)
  KinesisService& service_;
  const HttpServerOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::api
