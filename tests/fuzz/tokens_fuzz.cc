// Fuzzes the decoders of shard iterators and NextTokens (api/tokens.h), which take any
// string a client sends.
//
// Input: byte 0 picks a mode, the rest is its argument.
//   0: the argument is a token string. Whatever DecodeIterator / DecodePage accept must
//      re-encode to the same string (tokens are canonical), and the other kind's decoder
//      must refuse it.
//   1: the argument is a token body (version, kind, fields). The target signs it with the
//      codec's key, the way TokenCodec seals tokens (HMAC-SHA256, first 16 bytes, base64),
//      so mutations reach the field parsers behind the MAC; the same property holds.
//   2: the argument is the fields of a token; encode then decode must give them back.
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "api/base64.h"
#include "api/tokens.h"
#include "tests/fuzz/support/check.h"

namespace {

using namespace shoal::api;

constexpr std::string_view kKey = "fuzz-token-key";

std::string Sign(std::string_view body) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kKey.data(), static_cast<int>(kKey.size()), reinterpret_cast<const unsigned char*>(body.data()),
       body.size(), mac, &len);
  std::string raw(body);
  raw.append(reinterpret_cast<const char*>(mac), 16);
  std::string out;
  Base64Encode(raw, &out);
  return out;
}

bool SameIterator(const IteratorToken& a, const IteratorToken& b) {
  return a.stream == b.stream && a.stream_uid == b.stream_uid && a.shard_index == b.shard_index &&
         a.offset == b.offset && a.issued_ms == b.issued_ms;
}
bool SamePage(const PageToken& a, const PageToken& b) {
  return a.stream == b.stream && a.stream_uid == b.stream_uid && a.last_index == b.last_index &&
         a.filter == b.filter && a.filter_ms == b.filter_ms && a.max_results == b.max_results &&
         a.issued_ms == b.issued_ms;
}

void CheckToken(const TokenCodec& codec, std::string_view token) {
  auto it = codec.DecodeIterator(token);
  auto page = codec.DecodePage(token);
  FUZZ_CHECK(!(it && page), "one token decoded as both kinds");
  if (it) FUZZ_CHECK(codec.EncodeIterator(*it) == token, "iterator token is not canonical");
  if (page) FUZZ_CHECK(codec.EncodePage(*page) == token, "page token is not canonical");
}

template <typename T>
T Take(std::string_view& s) {
  T v{};
  const size_t n = std::min(sizeof v, s.size());
  std::memcpy(&v, s.data(), n);
  s.remove_prefix(n);
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  static const TokenCodec codec{std::string(kKey)};
  std::string_view arg(reinterpret_cast<const char*>(data + 1), size - 1);
  switch (data[0] % 3) {
    case 0: CheckToken(codec, arg); break;
    case 1: CheckToken(codec, Sign(arg)); break;
    default: {
      IteratorToken it;
      it.issued_ms = Take<int64_t>(arg);
      it.stream_uid = Take<uint64_t>(arg);
      it.shard_index = Take<uint32_t>(arg);
      it.offset = Take<uint64_t>(arg);
      PageToken p;
      p.issued_ms = it.issued_ms;
      p.stream_uid = it.stream_uid;
      p.last_index = it.shard_index;
      p.filter = Take<uint32_t>(arg);
      p.filter_ms = Take<int64_t>(arg);
      p.max_results = Take<uint32_t>(arg);
      it.stream = p.stream = std::string(arg.substr(0, 300));  // stream names are <= 128
      auto it2 = codec.DecodeIterator(codec.EncodeIterator(it));
      FUZZ_CHECK(it2 && SameIterator(it, *it2), "iterator token does not round-trip");
      auto p2 = codec.DecodePage(codec.EncodePage(p));
      FUZZ_CHECK(p2 && SamePage(p, *p2), "page token does not round-trip");
      break;
    }
  }
  return 0;
}
