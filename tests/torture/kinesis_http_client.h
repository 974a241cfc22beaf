// KinesisHttpClient: one keep-alive HTTP/1.1 connection to shoald speaking Kinesis JSON 1.1
// (Boost.Beast, synchronous), just enough for the torture driver; and KinesisHttpReader, the
// StreamReader over it (DescribeStream pages, GetShardIterator, GetRecords), so the shared
// verifier checks shoald exactly as it checks the embedded engine.
//
// Errors: a transport failure (refused, reset, timeout: the server died) is Code::kIOError
// and drops the connection (the next call reconnects); an error response is a Status whose
// code follows the __type (ResourceNotFoundException -> kNotFound, LimitExceededException
// -> kLimitExceeded, ResourceInUseException -> kInUse, else kInternal) with the body in
// the message. Not thread-safe: one client per thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "io/status.h"
#include "tests/testlib/stream_reader.h"

namespace shoal::torture {

class KinesisHttpClient {
 public:
  KinesisHttpClient(std::string host, uint16_t port);
  ~KinesisHttpClient();
  KinesisHttpClient(const KinesisHttpClient&) = delete;
  KinesisHttpClient& operator=(const KinesisHttpClient&) = delete;

  // POSTs `body` as `operation`; returns the response body of a 200.
  Result<std::string> Call(std::string_view operation, const std::string& body);
  void Disconnect();
  void set_port(uint16_t port) { port_ = port; Disconnect(); }

 private:
  struct Conn;
  std::string host_;
  uint16_t port_;
  std::unique_ptr<Conn> conn_;
};

class KinesisHttpReader final : public StreamReader {
 public:
  explicit KinesisHttpReader(KinesisHttpClient& client) : client_(client) {}
  // uid is always 0 (the API does not expose it): the verifier learns the side stream's
  // incarnation from its records.
  Result<StreamDescription> Describe(std::string_view stream) override;
  Result<std::vector<std::string>> ListStreams() override;
  Result<std::unique_ptr<ShardCursor>> TrimHorizon(std::string_view stream, const ShardDescription& shard) override;

 private:
  KinesisHttpClient& client_;
};

// Parses one PutRecords response: per record, OK with (shard index, offset) from its
// sequence number, or the error. Exposed for the driver.
struct PutResultEntry {
  bool ok = false;
  uint32_t shard = 0;
  uint64_t offset = 0;
  std::string error;  // ErrorCode: ErrorMessage
};
Result<std::vector<PutResultEntry>> ParsePutRecords(const std::string& body);
// Parses one GetRecords response; sets *iterator to NextShardIterator ("" at the end of a
// closed shard, where the page's `end` is set).
Result<ReadPage> ParseGetRecords(const std::string& body, std::string* iterator);

}  // namespace shoal::torture
