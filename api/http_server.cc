#include "api/http_server.h"

#include "api/buffer_pool.h"
#include "api/log_line.h"

#include <fmt/format.h>
#include <pthread.h>

#include <atomic>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <unordered_map>
#include <vector>

namespace shoal::api {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

constexpr auto kTuple = asio::as_tuple(asio::use_awaitable);

// First read of a request: any SDK's headers plus a small body in one go. It is also what
// an idle connection holds (10,000 idle connections: 80 MB); a buffer that grew past
// kMaxIdleBuffer while reading a big request is released before the connection idles.
constexpr size_t kFirstReadBytes = 8 << 10;
constexpr size_t kMaxIdleBuffer = 64 << 10;
// What the read buffer may hold beyond the header limit. The parser consumes body bytes as
// they arrive, so the buffer only holds what it cannot parse yet: a header block (bounded
// by max_header_bytes) or a chunk-size line with its extensions, which Beast does not
// bound itself. Beast reads at most 64 KiB at a time; past this the read fails with
// buffer_overflow (-> 400) instead of buffering an endless chunk line.
constexpr size_t kReadSlack = 64 << 10;
// After an error response, how long we keep reading (and discarding) what the client is
// still sending before closing. Closing a socket with unread input makes the kernel send
// RST, which can destroy the error response before the client has read it.
constexpr auto kLingerTime = 1s;

std::string_view Sv(beast::string_view s) { return {s.data(), s.size()}; }

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

template <typename... Args>
void Log(fmt::format_string<Args...> f, Args&&... args) {
  LogLine("shoal-http", f, std::forward<Args>(args)...);
}

// RFC 7231 IMF-fixdate, recomputed once per second per thread.
const std::string& HttpDate() {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  thread_local time_t last = -1;
  thread_local std::string text;
  time_t now = time(nullptr);
  if (now != last) {
    struct tm tm;
    gmtime_r(&now, &tm);
    text = fmt::format("{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT", kDays[tm.tm_wday], tm.tm_mday,
                       kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    last = now;
  }
  return text;
}

// A random (v4) UUID for responses the service did not stamp itself.
std::string NewRequestId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t hi = rng(), lo = rng();
  hi = (hi & ~0xF000ull) | 0x4000ull;                             // version 4
  lo = (lo & ~(0xC000ull << 48)) | (0x8000ull << 48);             // RFC 4122 variant
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xFFFF,
                     hi & 0xFFFF, lo >> 48, lo & 0xFFFFFFFFFFFFull);
}

void NameThread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace

class HttpConnection;

struct HttpServer::Impl {
  Impl(KinesisService& s, const HttpServerOptions& o)
      : service(s), opts(o), max_body(s.options().max_body_bytes), pool(o.buffer_pool_bytes),
        acceptor(asio::make_strand(ioc)) {}

  KinesisService& service;
  const HttpServerOptions& opts;
  const size_t max_body;
  BufferPool pool;

  // Declared before the io_context: connections still queued in it when it is destroyed
  // unregister themselves from here.
  std::mutex conn_mu;
  std::condition_variable conn_cv;
  std::unordered_map<uint64_t, std::weak_ptr<HttpConnection>> conns;
  uint64_t next_conn_id = 0;
  std::atomic<size_t> open{0};

  std::atomic<bool> stopping{false};
  std::atomic<uint16_t> port{0};
  bool running = false;

  std::atomic<uint64_t> accepted{0}, refused{0}, requests{0}, bad_requests{0}, timeouts{0},
      handler_errors{0};

  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> io_work;
  tcp::acceptor acceptor;
  std::vector<std::thread> io_threads;

  asio::io_context handler_ctx;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> handler_work;
  std::vector<std::thread> handler_threads;

  asio::awaitable<void> AcceptLoop();
  void Register(const std::shared_ptr<HttpConnection>& c, uint64_t id);
  void Unregister(uint64_t id);
  std::vector<std::shared_ptr<HttpConnection>> Snapshot();
  bool WaitForConnections(std::chrono::milliseconds timeout);
  // KinesisService::Handle, never throwing: an exception becomes a 500 InternalFailure.
  void Call(const HttpRequest& req, HttpResponse* res);
};

// One client connection: reads requests one at a time, hands each to the service and
// writes the response. Runs as one coroutine on its own strand.
class HttpConnection : public std::enable_shared_from_this<HttpConnection> {
 public:
  HttpConnection(HttpServer::Impl& srv, tcp::socket socket, uint64_t id)
      : srv_(srv), stream_(std::move(socket)), buf_(srv.opts.max_header_bytes + kReadSlack), id_(id) {}
  ~HttpConnection() { srv_.Unregister(id_); }

  asio::any_io_executor executor() { return stream_.get_executor(); }
  asio::awaitable<void> Run();

  // Called on the strand when the server stops: a connection waiting for (the headers of)
  // its next request is closed now; one whose request is being received or handled
  // finishes it and closes after the response.
  void OnStop() {
    if (phase_ == Phase::kIdle || phase_ == Phase::kHeader) stream_.cancel();
  }
  // Called on the strand when the stop grace period ran out.
  void ForceClose() {
    beast::error_code ec;
    stream_.socket().close(ec);
  }

 private:
  enum class Phase { kIdle, kHeader, kBody, kHandling, kWriting };
  using Request = http::request<http::string_body>;
  using Parser = http::request_parser<http::string_body>;

  // Reads the body of a request whose length the headers gave into body_, followed by
  // kRequestBodyPadding zeros; false if the connection failed (handled, caller closes).
  asio::awaitable<bool> ReadSizedBody(size_t length, unsigned version);
  // Big buffers go back to the server's pool while the connection waits for a request.
  void ReleaseBuffers();
  asio::awaitable<void> Dispatch(const Request& req, std::string_view body, size_t padding);
  asio::awaitable<void> WriteResponse(const Request& req, bool keep_alive, bool* ok);
  // Answers a request the parser refused (400 / 413 / 431) or drops the connection for
  // errors that leave nobody to answer (EOF, reset, timeout).
  asio::awaitable<void> Reject(beast::error_code ec, unsigned version);
  asio::awaitable<void> LingerClose();

  HttpServer::Impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
  // The current request's body when its length is known (every SDK sends Content-Length):
  // read straight from the socket, padded for the JSON parser. Its size() only grows
  // (bytes past the body are stale), so a reused buffer is never zero-filled again.
  std::string body_;
  // The current response; the service writes its body in place (a reused buffer).
  HttpResponse resp_;
  // Capacity of the last big response, to take a like buffer from the pool next time.
  size_t resp_capacity_hint_ = 0;
  const uint64_t id_;
  Phase phase_ = Phase::kIdle;
};

asio::awaitable<void> HttpConnection::Run() {
  auto self = shared_from_this();
  const auto idle = std::chrono::milliseconds(srv_.opts.idle_timeout_ms);
  const auto request_timeout = std::chrono::milliseconds(srv_.opts.request_timeout_ms);
  for (;;) {
    if (srv_.stopping.load()) break;
    // Wait for the first byte of the next request under the idle timeout (unless a
    // pipelined request is already buffered); the rest must follow within the request
    // timeout.
    phase_ = Phase::kIdle;
    if (buf_.size() == 0) {
      if (buf_.capacity() > kMaxIdleBuffer) buf_.shrink_to_fit();
      ReleaseBuffers();
      stream_.expires_after(idle);
      auto [ec, n] = co_await stream_.async_read_some(buf_.prepare(kFirstReadBytes), kTuple);
      if (ec) {
        if (ec == beast::error::timeout) srv_.timeouts.fetch_add(1, std::memory_order_relaxed);
        break;
      }
      buf_.commit(n);
    }
    phase_ = Phase::kHeader;
    Parser parser;
    parser.header_limit(static_cast<uint32_t>(std::min<size_t>(srv_.opts.max_header_bytes, UINT32_MAX)));
    parser.body_limit(srv_.max_body);
    stream_.expires_after(request_timeout);
    {
      auto [ec, n] = co_await http::async_read_header(stream_, buf_, parser, kTuple);
      if (ec) {
        co_await Reject(ec, 11);
        break;
      }
    }
    phase_ = Phase::kBody;
    Request& req = parser.get();
    std::string_view body;
    size_t padding = 0;
    if (!parser.is_done()) {
      if (req.version() >= 11 && IEquals(Sv(req[http::field::expect]), "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, req.version()};
        auto [ec, n] = co_await http::async_write(stream_, cont, kTuple);
        if (ec) break;
      }
      if (auto length = parser.content_length(); length && !parser.chunked()) {
        // The parser checked the length against the body limit with the headers.
        if (!co_await ReadSizedBody(static_cast<size_t>(*length), req.version())) break;
        body = std::string_view(body_.data(), static_cast<size_t>(*length));
        padding = kRequestBodyPadding;
      } else {
        // Chunked: Beast assembles the body in req.body().
        auto [ec, n] = co_await http::async_read(stream_, buf_, parser, kTuple);
        if (ec) {
          co_await Reject(ec, req.version());
          break;
        }
        body = req.body();
      }
    }
    phase_ = Phase::kHandling;
    stream_.expires_never();
    co_await Dispatch(req, body, padding);
    phase_ = Phase::kWriting;
    bool keep_alive = req.keep_alive() && !srv_.stopping.load();
    bool ok = false;
    co_await WriteResponse(req, keep_alive, &ok);
    if (!ok || !keep_alive) break;
  }
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.socket().close(ec);
}

asio::awaitable<bool> HttpConnection::ReadSizedBody(size_t length, unsigned version) {
  const size_t need = length + kRequestBodyPadding;
  if (body_.capacity() < need) {
    std::string pooled = srv_.pool.Take(need);
    if (pooled.capacity() >= need) {
      if (body_.capacity() > kMaxIdleBuffer) srv_.pool.Give(&body_);
      body_ = std::move(pooled);
    }
  }
  if (body_.size() < need) body_.resize(need);
  char* p = body_.data();
  std::memset(p + length, 0, kRequestBodyPadding);
  // What the header read already buffered, then the rest straight from the socket (no
  // pass through buf_ and Beast's body reader: one copy less for a 700 KB PutRecords).
  const size_t have = std::min(length, buf_.size());
  asio::buffer_copy(asio::buffer(p, have), buf_.data());
  buf_.consume(have);
  if (have < length) {
    auto [ec, n] = co_await asio::async_read(stream_, asio::buffer(p + have, length - have), kTuple);
    if (ec) {
      // EOF, reset or timeout mid-body: nobody to answer (as Beast's partial_message).
      co_await Reject(ec, version);
      co_return false;
    }
  }
  co_return true;
}

void HttpConnection::ReleaseBuffers() {
  if (body_.capacity() > kMaxIdleBuffer) srv_.pool.Give(&body_);
  if (resp_.body.capacity() > kMaxIdleBuffer) {
    resp_capacity_hint_ = resp_.body.capacity();
    srv_.pool.Give(&resp_.body);
  } else if (resp_.body.capacity() > 0) {
    resp_capacity_hint_ = 0;
  }
}

asio::awaitable<void> HttpConnection::Dispatch(const Request& req, std::string_view body, size_t padding) {
  HttpRequest in;
  in.method = Sv(req.method_string());
  in.target = Sv(req["X-Amz-Target"]);
  in.content_type = Sv(req[http::field::content_type]);
  in.origin = Sv(req[http::field::origin]);
  in.cors_request_headers = Sv(req[http::field::access_control_request_headers]);
  in.cors_request_method = Sv(req[http::field::access_control_request_method]);
  in.body = body;
  in.body_padding = padding;
  // A connection whose last answer was big (a GetRecords reader) takes a like buffer
  // back from the pool, so the service writes into warm memory.
  if (resp_capacity_hint_ > resp_.body.capacity()) {
    std::string pooled = srv_.pool.Take(resp_capacity_hint_);
    if (pooled.capacity() > resp_.body.capacity()) resp_.body = std::move(pooled);
  }
  if (srv_.opts.handler_threads <= 0) {
    srv_.Call(in, &resp_);
    co_return;
  }
  // Run the (possibly blocking) handler on the handler pool; the coroutine resumes on
  // this connection's strand when it completes. resp_ is not touched here meanwhile.
  co_await asio::co_spawn(
      srv_.handler_ctx.get_executor(),
      [this, &in]() -> asio::awaitable<void> {
        srv_.Call(in, &resp_);
        co_return;
      },
      asio::use_awaitable);
}

asio::awaitable<void> HttpConnection::WriteResponse(const Request& req, bool keep_alive, bool* ok) {
  HttpResponse& r = resp_;
  http::response<http::string_body> res;
  res.version(req.version() == 10 ? 10 : 11);
  if (r.status < 100 || r.status > 599) {
    Log("service returned invalid HTTP status {}; sending 500", r.status);
    r.status = 500;
  }
  res.result(static_cast<unsigned>(r.status));
  bool has_request_id = false;
  for (auto& [name, value] : r.headers) {
    if (IEquals(name, "x-amzn-RequestId")) has_request_id = true;
    res.insert(name, value);
  }
  if (!has_request_id) res.set("x-amzn-RequestId", NewRequestId());
  res.set(http::field::date, HttpDate());
  size_t length = r.body.size();
  const bool head = req.method() == http::verb::head;
  // The body moves into the message and back after the write: Beast sends it from the
  // same storage, and the connection keeps the storage for its next answer.
  if (!head) res.body() = std::move(r.body);
  res.content_length(length);  // for HEAD: what a GET would have carried; no body follows
  res.keep_alive(keep_alive);
  stream_.expires_after(std::chrono::milliseconds(srv_.opts.request_timeout_ms));
  auto [ec, n] = co_await http::async_write(stream_, res, kTuple);
  if (!head) r.body = std::move(res.body());
  if (ec) {
    if (ec == beast::error::timeout) srv_.timeouts.fetch_add(1, std::memory_order_relaxed);
    co_return;
  }
  srv_.requests.fetch_add(1, std::memory_order_relaxed);
  *ok = true;
}

asio::awaitable<void> HttpConnection::Reject(beast::error_code ec, unsigned version) {
  http::status status;
  if (ec == http::error::body_limit) {
    status = http::status::payload_too_large;  // spec §1.3 step 1: 413, empty body
  } else if (ec == http::error::header_limit) {
    status = http::status::request_header_fields_too_large;
  } else if (ec.category() == http::make_error_code(http::error::bad_target).category() &&
             ec != http::error::end_of_stream && ec != http::error::partial_message) {
    status = http::status::bad_request;  // the parser refused the bytes: malformed HTTP
  } else {
    // EOF, reset, timeout, cancellation by Stop(): nobody to answer.
    if (ec == beast::error::timeout) srv_.timeouts.fetch_add(1, std::memory_order_relaxed);
    co_return;
  }
  srv_.bad_requests.fetch_add(1, std::memory_order_relaxed);
  http::response<http::empty_body> res{status, version == 10 ? 10u : 11u};
  res.set("x-amzn-RequestId", NewRequestId());
  res.set(http::field::date, HttpDate());
  res.content_length(0);
  res.keep_alive(false);
  stream_.expires_after(std::chrono::milliseconds(srv_.opts.request_timeout_ms));
  auto [wec, n] = co_await http::async_write(stream_, res, kTuple);
  if (!wec) co_await LingerClose();
}

asio::awaitable<void> HttpConnection::LingerClose() {
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec) co_return;
  stream_.expires_after(kLingerTime);
  char scratch[16 << 10];
  for (;;) {
    auto [rec, n] = co_await stream_.async_read_some(asio::buffer(scratch), kTuple);
    if (rec) break;
  }
}

void HttpServer::Impl::Register(const std::shared_ptr<HttpConnection>& c, uint64_t id) {
  std::lock_guard lk(conn_mu);
  conns.emplace(id, c);
}

void HttpServer::Impl::Unregister(uint64_t id) {
  std::lock_guard lk(conn_mu);
  conns.erase(id);
  open.fetch_sub(1);
  if (conns.empty()) conn_cv.notify_all();
}

std::vector<std::shared_ptr<HttpConnection>> HttpServer::Impl::Snapshot() {
  std::vector<std::shared_ptr<HttpConnection>> out;
  std::lock_guard lk(conn_mu);
  for (auto& [id, w] : conns) {
    if (auto c = w.lock()) out.push_back(std::move(c));
  }
  return out;
}

bool HttpServer::Impl::WaitForConnections(std::chrono::milliseconds timeout) {
  std::unique_lock lk(conn_mu);
  return conn_cv.wait_for(lk, timeout, [&] { return conns.empty(); });
}

void HttpServer::Impl::Call(const HttpRequest& req, HttpResponse* res) {
  try {
    service.Handle(req, res);
    return;
  } catch (const std::exception& e) {
    handler_errors.fetch_add(1, std::memory_order_relaxed);
    Log("error: request {} failed with an exception: {}", req.target, e.what());
  } catch (...) {
    handler_errors.fetch_add(1, std::memory_order_relaxed);
    Log("error: request {} failed with an unknown exception", req.target);
  }
  HttpResponse& r = *res;
  r.status = 500;
  r.error_type = "InternalFailure";
  r.headers.clear();
  r.headers.emplace_back("x-amzn-RequestId", NewRequestId());
  r.headers.emplace_back("x-amzn-ErrorType", "InternalFailure");
  r.headers.emplace_back("Content-Type", "application/x-amz-json-1.1");
  r.body = R"({"__type":"InternalFailure","message":"Internal Service Failure"})";
}

asio::awaitable<void> HttpServer::Impl::AcceptLoop() {
  auto last_error_log = std::chrono::steady_clock::time_point{};
  for (;;) {
    asio::any_io_executor strand = asio::make_strand(ioc);
    auto [ec, socket] = co_await acceptor.async_accept(strand, kTuple);
    if (stopping.load() || ec == asio::error::operation_aborted) break;
    if (ec) {
      // Out of descriptors or memory: log at most once a second and back off instead of
      // spinning on a listening socket that stays readable. Anything else (a client that
      // reset before we accepted it) concerns one connection only.
      namespace errc = boost::system::errc;
      if (ec == errc::too_many_files_open || ec == errc::too_many_files_open_in_system ||
          ec == errc::no_buffer_space || ec == errc::not_enough_memory) {
        auto now = std::chrono::steady_clock::now();
        if (now - last_error_log >= 1s) {
          Log("error: accept failed: {} (open connections: {})", ec.message(), open.load());
          last_error_log = now;
        }
        asio::steady_timer pause(acceptor.get_executor(), 50ms);
        co_await pause.async_wait(kTuple);
      }
      continue;
    }
    if (open.load() >= opts.max_connections) {
      refused.fetch_add(1, std::memory_order_relaxed);
      beast::error_code ignored;
      socket.close(ignored);
      continue;
    }
    beast::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    accepted.fetch_add(1, std::memory_order_relaxed);
    open.fetch_add(1);
    uint64_t id = next_conn_id++;  // only this coroutine touches it
    auto conn = std::make_shared<HttpConnection>(*this, std::move(socket), id);
    Register(conn, id);
    asio::co_spawn(conn->executor(), conn->Run(), [](std::exception_ptr e) {
      if (!e) return;
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        Log("error: connection failed: {}", ex.what());
      } catch (...) {
        Log("error: connection failed with an unknown exception");
      }
    });
  }
}

HttpServer::HttpServer(KinesisService& service, HttpServerOptions options)
    : service_(service), options_(std::move(options)), impl_(std::make_unique<Impl>(service_, options_)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  Impl& s = *impl_;
  if (s.running) return Status::Make(Code::kInvalidArgument, "HTTP server already started");
  if (options_.io_threads < 1) return Status::Make(Code::kInvalidArgument, "io_threads must be >= 1");
  beast::error_code ec;
  auto addr = asio::ip::make_address(options_.host, ec);
  tcp::endpoint endpoint;
  if (!ec) {
    endpoint = tcp::endpoint(addr, options_.port);
  } else {
    // A host name ("localhost"): take its first address.
    tcp::resolver resolver(s.ioc);
    auto results = resolver.resolve(options_.host, std::to_string(options_.port), ec);
    if (ec || results.empty()) {
      return Status::Make(Code::kInvalidArgument, "cannot resolve host '{}': {}", options_.host,
                          ec ? ec.message() : "no addresses");
    }
    endpoint = results.begin()->endpoint();
  }
  auto fail = [&](std::string_view what) {
    beast::error_code ignored;
    s.acceptor.close(ignored);
    return Status::Make(Code::kIOError, "cannot {} {}:{}: {}", what, endpoint.address().to_string(),
                        endpoint.port(), ec.message());
  };
  s.acceptor.open(endpoint.protocol(), ec);
  if (ec) return fail("open a socket for");
  s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (ec) return fail("set SO_REUSEADDR on");
  s.acceptor.bind(endpoint, ec);
  if (ec) return fail("bind");
  s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail("listen on");
  s.port = s.acceptor.local_endpoint(ec).port();

  s.stopping = false;
  s.running = true;
  s.io_work.emplace(s.ioc.get_executor());
  s.handler_work.emplace(s.handler_ctx.get_executor());
  asio::co_spawn(s.acceptor.get_executor(), s.AcceptLoop(), [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      Log("error: accept loop failed: {}", ex.what());
    }
  });
  for (int i = 0; i < options_.io_threads; ++i) {
    s.io_threads.emplace_back([&s] {
      NameThread("shoal-http-io");
      s.ioc.run();
    });
  }
  for (int i = 0; i < options_.handler_threads; ++i) {
    s.handler_threads.emplace_back([&s] {
      NameThread("shoal-handler");
      s.handler_ctx.run();
    });
  }
  if (options_.log_lifecycle) Log("listening on {}:{} ({} I/O threads, {} handler threads, body limit {} bytes)",
      endpoint.address().to_string(), s.port.load(), options_.io_threads, options_.handler_threads,
      s.max_body);
  return Status::Ok();
}

uint16_t HttpServer::port() const { return impl_->port.load(); }

void HttpServer::Stop() {
  Impl& s = *impl_;
  if (!s.running) return;
  s.running = false;
  s.stopping = true;
  asio::post(s.acceptor.get_executor(), [&s] {
    beast::error_code ignored;
    s.acceptor.close(ignored);
  });
  for (auto& c : s.Snapshot()) asio::post(c->executor(), [c] { c->OnStop(); });
  if (!s.WaitForConnections(std::chrono::milliseconds(options_.stop_grace_ms))) {
    auto left = s.Snapshot();
    size_t forced = left.size();
    Log("error: {} connections still busy after the {} ms stop grace period; closing them", forced,
        options_.stop_grace_ms);
    for (auto& c : left) asio::post(c->executor(), [c] { c->ForceClose(); });
    left.clear();
    if (!s.WaitForConnections(2s)) Log("error: connections still open after the stop grace period");
  }
  // Nothing is left to run once every connection ended; stop() covers the case where one
  // is still waiting for a handler that never returned.
  s.io_work.reset();
  s.ioc.stop();
  for (auto& t : s.io_threads) t.join();
  s.io_threads.clear();
  s.handler_work.reset();
  for (auto& t : s.handler_threads) t.join();
  s.handler_threads.clear();
  if (!options_.log_lifecycle) return;
  Stats st = stats();
  Log("stopped: {} requests on {} connections ({} refused over the cap, {} bad requests, {} timed out, "
      "{} handler errors)",
      st.requests, st.connections_accepted, st.connections_refused, st.bad_requests, st.timeouts,
      st.handler_errors);
}

HttpServer::Stats HttpServer::stats() const {
  const Impl& s = *impl_;
  Stats st;
  st.connections_accepted = s.accepted.load();
  st.connections_refused = s.refused.load();
  st.requests = s.requests.load();
  st.bad_requests = s.bad_requests.load();
  st.timeouts = s.timeouts.load();
  st.handler_errors = s.handler_errors.load();
  st.open_connections = s.open.load();
  return st;
}

}  // namespace shoal::api
