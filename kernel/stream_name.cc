#include "kernel/stream_name.h"

#include <algorithm>

#include "kernel/text.h"

namespace shoal {
namespace {

bool IsStreamNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '.' || c == '-';
}
bool IsUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool IsLower(char c) { return c >= 'a' && c <= 'z'; }
char ToLower(char c) { return IsUpper(c) ? static_cast<char>(c - 'A' + 'a') : c; }
char ToUpper(char c) { return IsLower(c) ? static_cast<char>(c - 'a' + 'A') : c; }

// Characters, as the model counts them: UTF-8 code points (continuation bytes
// 10xxxxxx do not start a character).
size_t CountCodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// Echoes caller input in error messages without letting it flood a log line or smuggle
// control characters into it.
std::string Quote(std::string_view text) { return QuoteInput(text, 160); }  // every valid name fits

// The escape character and the "letters default to upper case" marker. Neither can
// occur in a stream name, so they need no escaping themselves.
constexpr char kEscape = '+';
constexpr char kUpperDefault = '^';

}  // namespace

bool IsValidStreamName(std::string_view name) {
  return name.size() >= kMinStreamNameLength && name.size() <= kMaxStreamNameLength &&
         std::all_of(name.begin(), name.end(), IsStreamNameChar);
}

std::vector<std::string> StreamNameViolations(std::string_view name) {
  std::vector<std::string> out;
  if (name.empty() || !std::all_of(name.begin(), name.end(), IsStreamNameChar)) {
    out.push_back(
        fmt::format("Member must satisfy regular expression pattern: {}", kStreamNamePattern));
  }
  const size_t chars = CountCodePoints(name);
  if (chars < kMinStreamNameLength) {
    out.push_back(
        fmt::format("Member must have length greater than or equal to {}", kMinStreamNameLength));
  }
  if (chars > kMaxStreamNameLength) {
    out.push_back(
        fmt::format("Member must have length less than or equal to {}", kMaxStreamNameLength));
  }
  return out;
}

Status ValidateStreamName(std::string_view name) {
  if (name.empty()) {
    return Status::Make(Code::kInvalidArgument,
                        "stream name is empty; it must be 1 to {} characters from {}",
                        kMaxStreamNameLength, kStreamNamePattern);
  }
  if (name.size() > kMaxStreamNameLength) {
    return Status::Make(Code::kInvalidArgument,
                        "stream name {} is {} bytes long; the limit is {} characters from {}",
                        Quote(name), name.size(), kMaxStreamNameLength, kStreamNamePattern);
  }
  auto bad = std::find_if_not(name.begin(), name.end(), IsStreamNameChar);
  if (bad != name.end()) {
    return Status::Make(Code::kInvalidArgument,
                        "stream name {} has a character outside {} at byte {}; use only "
                        "letters, digits, '_', '.' and '-'",
                        Quote(name), kStreamNamePattern, bad - name.begin());
  }
  return Status::Ok();
}

std::string EscapeForPath(std::string_view name) {
  if (!IsValidStreamName(name)) return "";
  const auto uppers = std::count_if(name.begin(), name.end(), IsUpper);
  const auto lowers = std::count_if(name.begin(), name.end(), IsLower);
  // Escaping the minority case keeps the worst case at 1 + 128 + 63 = 192 bytes; always
  // escaping upper case would make a 128-letter upper-case name 256 bytes, one more than
  // NAME_MAX.
  const bool upper_default = uppers > lowers;
  std::string out;
  out.reserve(name.size() + 1 + static_cast<size_t>(std::min(uppers, lowers)));
  if (upper_default) out += kUpperDefault;
  for (size_t i = 0; i < name.size(); ++i) {
    const char c = name[i];
    if (IsUpper(c) || IsLower(c)) {
      if (IsUpper(c) != upper_default) out += kEscape;
      out += ToLower(c);
    } else if (c == '.' && out.empty()) {
      // Only reachable at i == 0 without the '^' marker: keeps the component from being
      // ".", ".." or a hidden entry.
      out += kEscape;
      out += '.';
    } else {
      out += c;
    }
  }
  return out;
}

Result<std::string> UnescapeFromPath(std::string_view component) {
  auto invalid = [&](std::string_view why) {
    return Status::Make(Code::kInvalidArgument,
                        "path component {} is not an escaped stream name: {}", Quote(component),
                        why);
  };
  std::string name;
  name.reserve(component.size());
  size_t i = 0;
  const bool upper_default = !component.empty() && component[0] == kUpperDefault;
  if (upper_default) ++i;
  for (; i < component.size(); ++i) {
    char c = component[i];
    if (c == kEscape) {
      if (i + 1 == component.size()) return invalid("it ends in the escape character '+'");
      c = component[++i];
      if (IsLower(c)) {
        name += upper_default ? c : ToUpper(c);
      } else if (c == '.') {
        name += '.';
      } else {
        return invalid(
            fmt::format("'+' must be followed by a lower-case letter or '.', not "
                        "byte 0x{:02x}",
                        static_cast<unsigned char>(c)));
      }
    } else if (IsLower(c)) {
      name += upper_default ? ToUpper(c) : c;
    } else if (IsStreamNameChar(c) && !IsUpper(c)) {
      name += c;
    } else {
      return invalid(
          fmt::format("byte {} (0x{:02x}) cannot occur in one", i, static_cast<unsigned char>(c)));
    }
  }
  if (!IsValidStreamName(name)) {
    return invalid(fmt::format("it decodes to {}, which is not a valid stream name", Quote(name)));
  }
  // Rejects every spelling but the canonical one (e.g. "+.x" for ".x" is canonical, but
  // "a+.b" and "^o+r" for "Or" are not), so that each name has exactly one directory.
  if (EscapeForPath(name) != component) {
    return invalid(fmt::format("it is not the canonical escaping of {} (that is {})", Quote(name),
                               Quote(EscapeForPath(name))));
  }
  return name;
}

std::string FormatShardId(ShardIndex index) {
  ShardIdChars c;
  return std::string(FormatShardId(index, c));
}

std::string_view FormatShardId(ShardIndex index, ShardIdChars& out) {
  const auto r = fmt::format_to_n(out.data(), out.size(), "shardId-{:012}", index.value);
  return std::string_view(out.data(), std::min(r.size, out.size()));
}

Result<ShardIndex> ParseShardId(std::string_view text) {
  const size_t dash = text.find('-');
  const std::string_view digits = dash == std::string_view::npos ? text : text.substr(dash + 1);
  auto invalid = [&](std::string_view why) {
    return Status::Make(Code::kInvalidArgument,
                        "shard id {} is not valid: {}; expected shardId-<index> such as "
                        "shardId-000000000000, with the index in 0..{}",
                        Quote(text), why, kMaxShardIndex);
  };
  if (digits.empty()) return invalid("there is no index after the '-'");
  uint64_t v = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return invalid("the index is not all digits");
    v = v * 10 + static_cast<uint64_t>(c - '0');
    // Leading zeros keep v small, so any length of "000..." is accepted.
    if (v > kMaxShardIndex) return invalid("the index is too large");
  }
  return ShardIndex{static_cast<uint32_t>(v)};
}

}  // namespace shoal
