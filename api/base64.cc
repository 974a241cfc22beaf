#include "api/base64.h"

#include <array>
#include <cstdint>
#include <string>

namespace shoal::api {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int8_t, 256> MakeDecodeTable() {
  std::array<int8_t, 256> t{};
  for (auto& v : t) v = -1;
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int8_t>(i);
  return t;
}
constexpr std::array<int8_t, 256> kDecode = MakeDecodeTable();

// The character starting at byte i, for the "Invalid Base64 character" reason: the whole
// UTF-8 sequence, since the reason goes into a JSON response and half a character would
// make it invalid UTF-8 (clients then fail to decode the error itself). Input that is
// not UTF-8 there (the parser validated it) is shown as U+FFFD.
std::string CharAt(std::string_view s, size_t i) {
  const auto lead = static_cast<uint8_t>(s[i]);
  size_t n = lead < 0x80 ? 1 : (lead & 0xE0) == 0xC0 ? 2 : (lead & 0xF0) == 0xE0 ? 3 : (lead & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0 || i + n > s.size()) return "\xEF\xBF\xBD";
  for (size_t k = 1; k < n; ++k)
    if ((static_cast<uint8_t>(s[i + k]) & 0xC0) != 0x80) return "\xEF\xBF\xBD";
  return std::string(s.substr(i, n));
}

}  // namespace

size_t Base64EncodedSize(size_t n) { return (n + 2) / 3 * 4; }

void Base64Encode(std::string_view in, std::string* out) {
  const size_t start = out->size();
  out->resize(start + Base64EncodedSize(in.size()));
  char* o = out->data() + start;
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  size_t n = in.size();
  while (n >= 3) {
    uint32_t v = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
    o[0] = kAlphabet[v >> 18];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = kAlphabet[(v >> 6) & 63];
    o[3] = kAlphabet[v & 63];
    p += 3;
    o += 4;
    n -= 3;
  }
  if (n == 1) {
    uint32_t v = uint32_t{p[0]} << 16;
    o[0] = kAlphabet[v >> 18];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = '=';
    o[3] = '=';
  } else if (n == 2) {
    uint32_t v = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8);
    o[0] = kAlphabet[v >> 18];
    o[1] = kAlphabet[(v >> 12) & 63];
    o[2] = kAlphabet[(v >> 6) & 63];
    o[3] = '=';
  }
}

bool Base64Decode(std::string_view in, std::string* out, std::string* why) {
  out->clear();
  if (in.size() % 4 != 0) {
    *why = "Base64 encoded length is expected a multiple of 4 bytes but found: " + std::to_string(in.size());
    return false;
  }
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = (in.size() >= 2 && in[in.size() - 2] == '=') ? 2 : 1;
  out->resize(in.size() / 4 * 3 - pad);
  char* o = out->data();
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const size_t quads = in.size() / 4;
  for (size_t q = 0; q < quads; ++q, p += 4) {
    const bool last = q + 1 == quads;
    int8_t a = kDecode[p[0]], b = kDecode[p[1]];
    int8_t c = (last && pad == 2) ? 0 : kDecode[p[2]];
    int8_t d = (last && pad >= 1) ? 0 : kDecode[p[3]];
    if ((a | b | c | d) < 0) {
      for (int k = 0; k < 4; ++k) {
        if (last && ((pad == 2 && k >= 2) || (pad == 1 && k == 3))) break;
        if (kDecode[p[k]] < 0) {
          *why = "Invalid Base64 character: '" + CharAt(in, static_cast<size_t>(p + k - reinterpret_cast<const uint8_t*>(in.data()))) + "'";
          return false;
        }
      }
    }
    uint32_t v = (uint32_t(a) << 18) | (uint32_t(b) << 12) | (uint32_t(c) << 6) | uint32_t(d);
    if (!last || pad == 0) {
      o[0] = static_cast<char>(v >> 16);
      o[1] = static_cast<char>(v >> 8);
      o[2] = static_cast<char>(v);
      o += 3;
    } else if (pad == 1) {
      if (v & 0xff) {
        *why = "Invalid last non-pad Base64 character dectected";
        return false;
      }
      o[0] = static_cast<char>(v >> 16);
      o[1] = static_cast<char>(v >> 8);
    } else {
      if (v & 0xffff) {
        *why = "Invalid last non-pad Base64 character dectected";
        return false;
      }
      o[0] = static_cast<char>(v >> 16);
    }
  }
  return true;
}

}  // namespace shoal::api
