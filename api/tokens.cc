#include "api/tokens.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstring>

#include "api/base64.h"

namespace shoal::api {
namespace {

constexpr uint8_t kVersion = 1;
constexpr uint8_t kIteratorKind = 1;
constexpr uint8_t kPageKind = 2;
constexpr size_t kMacBytes = 16;

void Put(std::string& s, const void* p, size_t n) { s.append(static_cast<const char*>(p), n); }
template <typename T>
void PutInt(std::string& s, T v) { Put(s, &v, sizeof v); }
template <typename T>
bool GetInt(std::string_view& s, T* v) {
  if (s.size() < sizeof(T)) return false;
  std::memcpy(v, s.data(), sizeof(T));
  s.remove_prefix(sizeof(T));
  return true;
}
void PutString(std::string& s, std::string_view v) {
  PutInt<uint16_t>(s, static_cast<uint16_t>(v.size()));
  s.append(v);
}
bool GetString(std::string_view& s, std::string* v) {
  uint16_t n;
  if (!GetInt(s, &n) || s.size() < n) return false;
  v->assign(s.substr(0, n));
  s.remove_prefix(n);
  return true;
}

}  // namespace

std::string TokenCodec::Seal(std::string payload) const {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(), mac, &len);
  payload.append(reinterpret_cast<const char*>(mac), kMacBytes);
  std::string out;
  Base64Encode(payload, &out);
  return out;
}

std::optional<std::string> TokenCodec::Open(std::string_view token, uint8_t kind) const {
  std::string raw, why;
  if (token.size() > 1024 || !Base64Decode(token, &raw, &why) || raw.size() < 2 + kMacBytes)
    return std::nullopt;
  std::string_view body(raw.data(), raw.size() - kMacBytes);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key_.data(), static_cast<int>(key_.size()),
       reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac, &len);
  if (CRYPTO_memcmp(mac, raw.data() + body.size(), kMacBytes) != 0) return std::nullopt;
  if (static_cast<uint8_t>(body[0]) != kVersion || static_cast<uint8_t>(body[1]) != kind) return std::nullopt;
  return std::string(body.substr(2));
}

std::string TokenCodec::EncodeIterator(const IteratorToken& t) const {
  std::string s;
  s.push_back(static_cast<char>(kVersion));
  s.push_back(static_cast<char>(kIteratorKind));
  PutInt(s, t.issued_ms);
  PutInt(s, t.stream_uid);
  PutInt(s, t.shard_index);
  PutInt(s, t.offset);
  PutString(s, t.stream);
  return Seal(std::move(s));
}

std::optional<IteratorToken> TokenCodec::DecodeIterator(std::string_view token) const {
  auto body = Open(token, kIteratorKind);
  if (!body) return std::nullopt;
  std::string_view s = *body;
  IteratorToken t;
  if (!GetInt(s, &t.issued_ms) || !GetInt(s, &t.stream_uid) || !GetInt(s, &t.shard_index) ||
      !GetInt(s, &t.offset) || !GetString(s, &t.stream) || !s.empty())
    return std::nullopt;
  return t;
}

std::string TokenCodec::EncodePage(const PageToken& t) const {
  std::string s;
  s.push_back(static_cast<char>(kVersion));
  s.push_back(static_cast<char>(kPageKind));
  PutInt(s, t.issued_ms);
  PutInt(s, t.stream_uid);
  PutInt(s, t.last_index);
  PutInt(s, t.filter);
  PutInt(s, t.filter_ms);
  PutInt(s, t.max_results);
  PutString(s, t.stream);
  return Seal(std::move(s));
}

std::optional<PageToken> TokenCodec::DecodePage(std::string_view token) const {
  auto body = Open(token, kPageKind);
  if (!body) return std::nullopt;
  std::string_view s = *body;
  PageToken t;
  if (!GetInt(s, &t.issued_ms) || !GetInt(s, &t.stream_uid) || !GetInt(s, &t.last_index) ||
      !GetInt(s, &t.filter) || !GetInt(s, &t.filter_ms) || !GetInt(s, &t.max_results) ||
      !GetString(s, &t.stream) || !s.empty())
    return std::nullopt;
  return t;
}

}  // namespace shoal::api
