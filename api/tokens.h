// Opaque, self-contained, authenticated tokens: shard iterators and paging NextTokens.
//
// A token is base64 of: version (1) | kind (1) | issued_at_ms (8) | payload | HMAC-SHA256
// truncated to 16 bytes over everything before it. Nothing is stored server-side, so an
// iterator printed by one `shoal` invocation works in the next (same key), and a
// tampered token fails the MAC ("Invalid ShardIterator.").
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace shoal::api {

struct IteratorToken {
  std::string stream;
  uint64_t stream_uid = 0;
  uint32_t shard_index = 0;
  uint64_t offset = 0;
  int64_t issued_ms = 0;
};

struct PageToken {
  std::string stream;      // ListShards: the stream; ListStreams: the last name returned
  uint64_t stream_uid = 0;
  uint32_t last_index = 0; // ListShards: last shard index returned
  uint32_t filter = 0;     // ListShards: ShardFilter type + 1 (0 = none)
  int64_t filter_ms = 0;
  uint32_t max_results = 0;
  int64_t issued_ms = 0;
};

class TokenCodec {
 public:
  explicit TokenCodec(std::string key) : key_(std::move(key)) {}
  std::string EncodeIterator(const IteratorToken& t) const;
  std::optional<IteratorToken> DecodeIterator(std::string_view token) const;
  std::string EncodePage(const PageToken& t) const;
  std::optional<PageToken> DecodePage(std::string_view token) const;

 private:
  std::string Seal(std::string payload) const;
  std::optional<std::string> Open(std::string_view token, uint8_t kind) const;
  std::string key_;
};

}  // namespace shoal::api
