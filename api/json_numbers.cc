#include "api/json_numbers.h"

#include <fmt/format.h>

#include <cmath>
#include <cstdlib>
#include <limits>

namespace shoal::api {
namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// Length of the JSON number at the start of `s` (-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?),
// or 0 if there is none; `integral` says whether it had neither fraction nor exponent.
size_t NumberLength(std::string_view s, bool* integral) {
  size_t i = 0;
  if (i < s.size() && s[i] == '-') ++i;
  if (i == s.size() || !IsDigit(s[i])) return 0;
  if (s[i] == '0') {
    ++i;
  } else {
    while (i < s.size() && IsDigit(s[i])) ++i;
  }
  *integral = true;
  if (i < s.size() && s[i] == '.') {
    size_t j = i + 1;
    if (j == s.size() || !IsDigit(s[j])) return 0;
    while (j < s.size() && IsDigit(s[j])) ++j;
    i = j;
    *integral = false;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '+' || s[j] == '-')) ++j;
    if (j == s.size() || !IsDigit(s[j])) return 0;
    while (j < s.size() && IsDigit(s[j])) ++j;
    i = j;
    *integral = false;
  }
  return i;
}

// An integer literal simdjson reads: within int64 (negative) or uint64 (non-negative).
bool FitsSixtyFourBits(std::string_view digits) {
  const bool negative = digits[0] == '-';
  if (negative) digits.remove_prefix(1);
  constexpr std::string_view kMaxU = "18446744073709551615";
  constexpr std::string_view kMaxNeg = "9223372036854775808";
  const std::string_view limit = negative ? kMaxNeg : kMaxU;
  if (digits.size() != limit.size()) return digits.size() < limit.size();
  return digits <= limit;
}

}  // namespace

std::optional<std::string> SaturateHugeNumbers(std::string_view json) {
  std::string out;
  bool changed = false;
  size_t copied = 0;  // json[copied..i) is still to be copied to `out`
  size_t i = 0;
  while (i < json.size()) {
    const char c = json[i];
    if (c == '"') {  // skip the string, escapes included
      for (++i; i < json.size() && json[i] != '"'; ++i)
        if (json[i] == '\\') ++i;
      ++i;
      continue;
    }
    if (c != '-' && !IsDigit(c)) {
      ++i;
      continue;
    }
    bool integral = false;
    const size_t n = NumberLength(json.substr(i), &integral);
    if (n == 0) {
      ++i;
      continue;
    }
    const std::string_view number = json.substr(i, n);
    std::string replacement;
    if (integral) {
      if (!FitsSixtyFourBits(number)) {
        const double d = std::strtod(std::string(number).c_str(), nullptr);
        replacement = std::isinf(d) ? (d < 0 ? "-1.7976931348623157e+308" : "1.7976931348623157e+308")
                                    : fmt::format("{:.17e}", d);
      }
    } else {
      const double d = std::strtod(std::string(number).c_str(), nullptr);
      if (std::isinf(d)) replacement = d < 0 ? "-1.7976931348623157e+308" : "1.7976931348623157e+308";
    }
    if (!replacement.empty()) {
      out.append(json.substr(copied, i - copied));
      out.append(replacement);
      copied = i + n;
      changed = true;
    }
    i += n;
  }
  if (!changed) return std::nullopt;
  out.append(json.substr(copied));
  return out;
}

}  // namespace shoal::api
