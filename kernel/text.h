// Small text helpers shared by the kernel and the API layer.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace shoal {

// Unicode code points in UTF-8 text (Kinesis counts names and keys in characters).
inline size_t Utf8Length(std::string_view s) {
  // Bytes minus continuation bytes (10xxxxxx), eight at a time: a byte is one when its
  // top bit is set and the next bit is clear. (Every record's partition key is measured.)
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  size_t continuation = 0;
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, sizeof(w));
    // Count the marked bytes: one bit per byte moved to bit 0, summed into the top byte by
    // the multiply (std::popcount would be a libgcc call without -mpopcnt).
    const uint64_t marks = (w & ~(w << 1) & kHigh) >> 7;
    continuation += static_cast<size_t>((marks * 0x0101010101010101ULL) >> 56);
  }
  for (; i < s.size(); ++i) continuation += (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80;
  return s.size() - continuation;
}

// Echoes caller input in an error message without letting it flood a log line or smuggle
// control characters into it: at most `max_echo` bytes, quoted, non-printables as \xNN.
inline std::string QuoteInput(std::string_view text, size_t max_echo) {
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < max_echo; ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c < 0x20 || c >= 0x7f || c == '\'' || c == '\\') {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  out += "'";
  if (text.size() > max_echo) out += fmt::format(" (first {} of {} bytes)", max_echo, text.size());
  return out;
}

}  // namespace shoal
