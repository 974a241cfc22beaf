#include "bench/loadgen/http_connection.h"

#include <sys/socket.h>

#include <atomic>
#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <simdjson.h>

namespace shoal::loadgen {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

static_assert(kBodyPadding >= simdjson::SIMDJSON_PADDING, "the reply buffer must carry simdjson's padding");

// GetRecords answers up to 10 MiB of data, 13.4 MiB as base64 in JSON; leave room.
constexpr uint64_t kMaxResponseBody = 64ull << 20;

}  // namespace

std::string Endpoint::ToString() const {
  return host.find(':') != std::string::npos ? fmt::format("http://[{}]:{}", host, port)
                                             : fmt::format("http://{}:{}", host, port);
}

Result<Endpoint> ParseEndpoint(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.substr(0, kScheme.size()) != kScheme)
    return Status::Make(Code::kInvalidArgument, "endpoint '{}': only http://HOST:PORT is supported", url);
  std::string_view rest = url.substr(kScheme.size());
  if (auto slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  Endpoint ep;
  std::string_view port_text;
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos) return Status::Make(Code::kInvalidArgument, "endpoint '{}': unclosed [", url);
    ep.host = std::string(rest.substr(1, close - 1));
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() == ':') port_text = rest.substr(1);
  } else {
    auto colon = rest.rfind(':');
    ep.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) port_text = rest.substr(colon + 1);
  }
  unsigned port = 80;
  if (!port_text.empty()) {
    auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
    if (ec != std::errc() || p != port_text.data() + port_text.size() || port == 0 || port > 65535)
      return Status::Make(Code::kInvalidArgument, "endpoint '{}': bad port", url);
  }
  if (ep.host.empty()) return Status::Make(Code::kInvalidArgument, "endpoint '{}': no host", url);
  ep.port = static_cast<uint16_t>(port);
  return ep;
}

std::string BuildRequest(const Endpoint& ep, std::string_view operation, std::string_view body) {
  std::string host = ep.host.find(':') != std::string::npos ? "[" + ep.host + "]" : ep.host;
  std::string req = fmt::format(
      "POST / HTTP/1.1\r\nHost: {}:{}\r\nContent-Type: application/x-amz-json-1.1\r\n"
      "X-Amz-Target: Kinesis_20131202.{}\r\nContent-Length: {}\r\n\r\n",
      host, ep.port, operation, body.size());
  req.append(body);
  return req;
}

struct HttpConnection::Impl {
  Endpoint ep;
  asio::io_context ioc;
  tcp::socket socket{ioc};
  std::atomic<int> fd{-1};  // for Abort() from another thread
  bool open = false;
  beast::flat_buffer buf;
  std::string body;        // the last response's body, then padding; only grows
  std::string error_type;

  Status Open() {
    beast::error_code ec;
    tcp::resolver resolver(ioc);
    auto results = resolver.resolve(ep.host, std::to_string(ep.port), ec);
    if (ec) return Status::Make(Code::kIOError, "resolve {}: {}", ep.ToString(), ec.message());
    socket = tcp::socket(ioc);
    asio::connect(socket, results, ec);
    if (ec) return Status::Make(Code::kIOError, "connect to {}: {}", ep.ToString(), ec.message());
    // Requests and responses are written whole; Nagle would only delay the last segment.
    socket.set_option(tcp::no_delay(true), ec);
    buf.clear();
    open = true;
    fd.store(socket.native_handle());
    return Status::Ok();
  }

  void Close() {
    fd.store(-1);
    beast::error_code ec;
    socket.close(ec);
    open = false;
  }
};

HttpConnection::HttpConnection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpConnection::~HttpConnection() { impl_->Close(); }

Result<std::unique_ptr<HttpConnection>> HttpConnection::Connect(const Endpoint& ep) {
  auto impl = std::make_unique<Impl>();
  impl->ep = ep;
  SHOAL_RETURN_IF_ERROR(impl->Open());
  return std::unique_ptr<HttpConnection>(new HttpConnection(std::move(impl)));
}

void HttpConnection::Abort() {
  int fd = impl_->fd.load();
  if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
}

Status HttpConnection::RoundTrip(std::string_view request, HttpReply* reply) {
  Impl& s = *impl_;
  if (!s.open) SHOAL_RETURN_IF_ERROR(s.Open());
  auto fail = [&](std::string_view what, const beast::error_code& ec) {
    s.Close();
    return Status::Make(Code::kIOError, "{} {}: {}", what, s.ep.ToString(), ec.message());
  };
  beast::error_code ec;
  asio::write(s.socket, asio::buffer(request.data(), request.size()), ec);
  if (ec) return fail("send to", ec);

  // Beast parses the status line and headers; a body of known length (all shoald sends)
  // is then read straight into our buffer, which GetRecords answers of ~14 MB make worth
  // it: no copy out of the read buffer, no per-chunk parser calls, big reads.
  http::response_parser<http::empty_body> head;
  head.header_limit(64 << 10);
  head.body_limit(kMaxResponseBody);  // checked against Content-Length with the header (Beast's default: 8 MB)
  http::read_header(s.socket, s.buf, head, ec);
  if (ec) return fail("read response header from", ec);
  http::response<http::empty_body>& res = head.get();
  const auto len = head.content_length();
  if (!len) return fail("read response from", http::error::bad_content_length);  // chunked: not from shoald
  if (*len > kMaxResponseBody) return fail("read response from", http::error::body_limit);
  const size_t n = static_cast<size_t>(*len);
  // The buffer only grows, so it is zero-filled once, not per response.
  if (s.body.size() < n + kBodyPadding) s.body.resize(n + kBodyPadding);
  const size_t have = std::min(n, s.buf.size());
  asio::buffer_copy(asio::buffer(s.body.data(), have), s.buf.data());
  s.buf.consume(have);
  if (have < n) {
    asio::read(s.socket, asio::buffer(s.body.data() + have, n - have), ec);
    if (ec) return fail("read response body from", ec);
  }
  auto et = res["x-amzn-ErrorType"];
  s.error_type.assign(et.data(), et.size());
  reply->status = static_cast<int>(res.result_int());
  reply->body = std::string_view(s.body.data(), n);
  reply->error_type = s.error_type;
  reply->wire_bytes = n;
  for (const auto& field : res) reply->wire_bytes += field.name_string().size() + field.value().size() + 4;
  reply->wire_bytes += 17 + 2;  // status line and the blank line, near enough
  if (!res.keep_alive()) s.Close();
  return Status::Ok();
}

}  // namespace shoal::loadgen
