// KinesisService: the one operations layer of Shoal's Kinesis API. Both transports use it:
// the HTTP server (shoald) and the local CLI (shoal). It takes one request as the wire
// carries it (method, target header, content type, body), runs the spec's checks in the
// spec's order (body size, method, content type, parse, unknown operation, types,
// constraints, then logic; kinesis-data-streams.md §1.3) and returns the full response:
// status, headers and body. Stateless apart from the engine it serves; thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "kernel/engine.h"

namespace shoal::api {

struct ServiceOptions {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Request bodies above this are refused with 413 (spec §1.3 step 1: 16 MiB covers a
  // 10 MiB PutRecords after base64 and JSON overhead).
  size_t max_body_bytes = 16u << 20;
  // Key that authenticates shard iterators and next-tokens (HMAC-SHA256). Keep it stable
  // across restarts so iterators printed by one `shoal` invocation work in the next;
  // empty = derived from the data directory's identity by the caller.
  std::string token_key;
  int64_t iterator_ttl_ms = 300000;
};

// What a transport leaves readable (and zero) after a request body so the JSON parser can
// work in place: simdjson's SIMDJSON_PADDING (kinesis_service.cc checks they agree).
inline constexpr size_t kRequestBodyPadding = 64;

struct HttpRequest {
  std::string_view method;         // "POST", "OPTIONS", ...
  std::string_view target;         // X-Amz-Target header ("" if absent)
  std::string_view content_type;   // Content-Type header ("" if absent)
  std::string_view origin;         // Origin header (CORS), "" if absent
  std::string_view cors_request_headers;  // Access-Control-Request-Headers
  std::string_view cors_request_method;   // Access-Control-Request-Method
  std::string_view body;
  // Readable bytes after body.end(). With at least kRequestBodyPadding of them the body
  // is parsed in place; otherwise the parser copies it into a padded buffer first.
  size_t body_padding = 0;
};

struct HttpResponse {
  int status = 200;
  std::vector<std::pair<std::string, std::string>> headers;  // besides Content-Length/Date
  std::string body;
  std::string error_type;  // the __type of an error response ("" on success)
};

class KinesisService {
 public:
  KinesisService(Engine& engine, ServiceOptions options);
  ~KinesisService();
  KinesisService(const KinesisService&) = delete;
  KinesisService& operator=(const KinesisService&) = delete;

  HttpResponse Handle(const HttpRequest& request);
  // The same into *response, which is overwritten; its body's storage is reused, so a
  // transport that keeps one response per connection builds even a 14 MB GetRecords
  // answer without allocating.
  void Handle(const HttpRequest& request, HttpResponse* response);
  // Convenience for in-process callers (the CLI): a JSON 1.1 POST of `operation`.
  HttpResponse Call(std::string_view operation, std::string_view json_body);

  const ServiceOptions& options() const { return options_; }

 private:
  struct Impl;
  Engine& engine_;
  ServiceOptions options_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace shoal::api
