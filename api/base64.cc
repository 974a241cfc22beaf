#include "api/base64.h"

#include "api/base64_avx2.h"

#include <array>
#include <cstdint>
#include <cstring>
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

// Blobs are most of what PutRecords and GetRecords carry, so both directions work on whole
// groups through tables instead of 6 bits at a time (perf of shoald under the load
// generator's PutRecords + GetRecords: the bit-wise versions were 20% of all samples).
//
// Decoding: one table per position of a character in its quad, holding the character's 6
// bits already shifted into place, and kBad (bit 24 and up) for characters outside the
// alphabet, so a quad is four loads and three ORs, and one test catches any bad character.
constexpr uint32_t kBad = 0x01000000;
constexpr std::array<std::array<uint32_t, 256>, 4> MakeQuadTables() {
  std::array<std::array<uint32_t, 256>, 4> t{};
  for (int pos = 0; pos < 4; ++pos) {
    for (int c = 0; c < 256; ++c) {
      const int8_t v = kDecode[static_cast<size_t>(c)];
      t[static_cast<size_t>(pos)][static_cast<size_t>(c)] =
          v < 0 ? kBad : static_cast<uint32_t>(v) << (18 - 6 * pos);
    }
  }
  return t;
}
constexpr std::array<std::array<uint32_t, 256>, 4> kQuad = MakeQuadTables();

// Encoding: 12 bits of input -> 2 output characters in one load.
constexpr std::array<std::array<char, 2>, 4096> MakePairTable() {
  std::array<std::array<char, 2>, 4096> t{};
  for (size_t i = 0; i < 4096; ++i) t[i] = {kAlphabet[i >> 6], kAlphabet[i & 63]};
  return t;
}
constexpr std::array<std::array<char, 2>, 4096> kPair = MakePairTable();

inline uint32_t DecodeQuad(const uint8_t* p) {
  return kQuad[0][p[0]] | kQuad[1][p[1]] | kQuad[2][p[2]] | kQuad[3][p[3]];
}

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
  if (base64_avx2::Available()) {
    const size_t done = base64_avx2::EncodeBlocks(p, n, o);
    p += done;
    o += done / 3 * 4;
    n -= done;
  }
  while (n >= 3) {
    uint32_t v = (uint32_t{p[0]} << 16) | (uint32_t{p[1]} << 8) | p[2];
    std::memcpy(o, kPair[v >> 12].data(), 2);
    std::memcpy(o + 2, kPair[v & 0xfff].data(), 2);
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
  return Base64DecodeAppend(in, out, why);
}

bool Base64DecodeAppend(std::string_view in, std::string* out, std::string* why) {
  if (in.size() % 4 != 0) {
    *why = "Base64 encoded length is expected a multiple of 4 bytes but found: " + std::to_string(in.size());
    return false;
  }
  const size_t start = out->size();
  size_t pad = 0;
  if (!in.empty() && in.back() == '=') pad = (in.size() >= 2 && in[in.size() - 2] == '=') ? 2 : 1;
  out->resize(start + in.size() / 4 * 3 - pad);
  char* o = out->data() + start;
  const auto* p = reinterpret_cast<const uint8_t*>(in.data());
  const size_t quads = in.size() / 4;
  auto invalid_char = [&](const uint8_t* q, bool last) {
    for (int k = 0; k < 4; ++k) {
      if (last && ((pad == 2 && k >= 2) || (pad == 1 && k == 3))) break;
      if (kDecode[q[k]] < 0) {
        *why = "Invalid Base64 character: '" +
               CharAt(in, static_cast<size_t>(q + k - reinterpret_cast<const uint8_t*>(in.data()))) + "'";
        break;
      }
    }
    out->resize(start);
    return false;
  };
  // The bulk 32 characters at a time where the CPU allows; a group with a bad character
  // is left to the loop below, which names it.
  size_t q = 0;
  if (base64_avx2::Available()) {
    const size_t done = base64_avx2::DecodeBlocks(p, in.size(), o);
    p += done;
    o += done / 4 * 3;
    q = done / 4;
  }
  // Every quad but the last: no padding possible, three bytes each.
  for (; q + 1 < quads; ++q, p += 4, o += 3) {
    const uint32_t v = DecodeQuad(p);
    if (v & ~0xFFFFFFu) return invalid_char(p, false);
    o[0] = static_cast<char>(v >> 16);
    o[1] = static_cast<char>(v >> 8);
    o[2] = static_cast<char>(v);
  }
  if (quads == 0) return true;
  // The last quad: '=' stands for zero bits, which must also be zero in the character
  // before the padding (RFC 4648 §3.5, as the Java SDKs check).
  uint8_t last[4] = {p[0], p[1], p[2], p[3]};
  if (pad >= 1) last[3] = 'A';
  if (pad == 2) last[2] = 'A';
  const uint32_t v = DecodeQuad(last);
  if (v & ~0xFFFFFFu) return invalid_char(p, true);
  if (pad == 0) {
    o[0] = static_cast<char>(v >> 16);
    o[1] = static_cast<char>(v >> 8);
    o[2] = static_cast<char>(v);
  } else if (pad == 1) {
    if (v & 0xff) {
      *why = "Invalid last non-pad Base64 character dectected";
      out->resize(start);
      return false;
    }
    o[0] = static_cast<char>(v >> 16);
    o[1] = static_cast<char>(v >> 8);
  } else {
    if (v & 0xffff) {
      *why = "Invalid last non-pad Base64 character dectected";
      out->resize(start);
      return false;
    }
    o[0] = static_cast<char>(v >> 16);
  }
  return true;
}

}  // namespace shoal::api
