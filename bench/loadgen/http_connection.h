// HttpConnection: one keep-alive HTTP/1.1 client connection to a Kinesis endpoint, as a
// load generator needs it (Boost.Beast on Boost.Asio, blocking I/O on the caller's thread).
//
// Requests are complete, pre-serialised byte strings (BuildRequest): a load generator
// builds them once and sends the same bytes again and again, so sending costs one write
// and no formatting. The response body lands in a buffer the connection keeps and reuses
// across calls; it is followed by at least kBodyPadding bytes of owned capacity, so
// simdjson can parse it in place.
//
// Threads: one thread uses a connection at a time; Abort() alone may be called from any
// thread (a watchdog's way to unblock a call stuck on a hung server).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "io/status.h"

namespace shoal::loadgen {

// http://HOST:PORT[/] (IPv4, IPv6 in brackets, or a host name).
struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const;
};
Result<Endpoint> ParseEndpoint(std::string_view url);

// A JSON 1.1 POST of Kinesis operation `operation` ("PutRecords") with `body`, whole.
std::string BuildRequest(const Endpoint& ep, std::string_view operation, std::string_view body);

// simdjson reads up to this many bytes past the end of what it parses (SIMDJSON_PADDING
// is 64 in the versions Debian ships; the static_assert in the .cc keeps them in step).
constexpr size_t kBodyPadding = 64;

struct HttpReply {
  int status = 0;
  std::string_view body;      // valid until the next RoundTrip; kBodyPadding owned bytes follow
  std::string_view error_type;  // x-amzn-ErrorType header ("" if none); same lifetime
  uint64_t wire_bytes = 0;    // header + body bytes of the response
};

class HttpConnection {
 public:
  static Result<std::unique_ptr<HttpConnection>> Connect(const Endpoint& ep);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // Sends `request` and reads its response. The connection stays open when the server
  // keeps it alive, and reconnects on the next call when the server closed it. An error
  // (reset, EOF mid-response, unparsable HTTP) leaves the connection closed.
  Status RoundTrip(std::string_view request, HttpReply* reply);

  // Shuts the socket down so a blocked RoundTrip returns with an error. Thread-safe.
  void Abort();

 private:
  struct Impl;
  explicit HttpConnection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::loadgen
