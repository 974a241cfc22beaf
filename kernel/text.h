// Small text helpers shared by the kernel and the API layer.
#pragma once

#include <fmt/format.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace shoal {

// Unicode code points in UTF-8 text (Kinesis counts names and keys in characters).
inline size_t Utf8Length(std::string_view s) {
  size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  return n;
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
