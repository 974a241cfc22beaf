#include "bench/loadgen/base64.h"

#include <array>
#include <cstdint>

namespace shoal::loadgen {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

constexpr std::array<int16_t, 256> kValue = [] {
  std::array<int16_t, 256> t{};
  t.fill(-1);
  for (int i = 0; i < 64; ++i) t[static_cast<uint8_t>(kAlphabet[i])] = static_cast<int16_t>(i);
  return t;
}();

}  // namespace

void AppendBase64(std::string_view bytes, std::string* out) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  size_t n = bytes.size();
  size_t at = out->size();
  out->resize(at + Base64Size(n));
  char* o = out->data() + at;
  for (; n >= 3; n -= 3, p += 3, o += 4) {
    const uint32_t v = uint32_t{p[0]} << 16 | uint32_t{p[1]} << 8 | p[2];
    o[0] = kAlphabet[v >> 18];
    o[1] = kAlphabet[v >> 12 & 63];
    o[2] = kAlphabet[v >> 6 & 63];
    o[3] = kAlphabet[v & 63];
  }
  if (n > 0) {
    const uint32_t v = uint32_t{p[0]} << 16 | (n == 2 ? uint32_t{p[1]} << 8 : 0);
    o[0] = kAlphabet[v >> 18];
    o[1] = kAlphabet[v >> 12 & 63];
    o[2] = n == 2 ? kAlphabet[v >> 6 & 63] : '=';
    o[3] = '=';
  }
}

bool DecodeBase64(std::string_view text, std::string* out) {
  out->clear();
  if (text.size() % 4 != 0) return false;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  out->reserve(text.size() / 4 * 3);
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    const bool last = i + 4 == text.size();
    const size_t real = last ? 4 - pad : 4;
    for (size_t k = 0; k < 4; ++k) {
      int16_t d = k < real ? kValue[static_cast<uint8_t>(text[i + k])] : 0;
      if (d < 0) return false;
      v = v << 6 | static_cast<uint32_t>(d);
    }
    out->push_back(static_cast<char>(v >> 16));
    if (real > 2) out->push_back(static_cast<char>(v >> 8 & 0xff));
    if (real > 3) out->push_back(static_cast<char>(v & 0xff));
  }
  return true;
}

}  // namespace shoal::loadgen
