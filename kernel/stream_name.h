// Stream names and shard ids: validating them, and turning a stream name into a
// directory name.
//
// A stream name is 1-128 characters from [a-zA-Z0-9_.-] and case-sensitive (spec
// kinesis-data-streams.md §1.10), so "." and ".." and "Orders" vs "orders" are all valid
// and distinct streams. None of that is safe to use verbatim as a path component: "."
// and ".." name directories that already exist, and on a case-insensitive file system
// (macOS defaults, ext4/F2FS casefold directories, NTFS) "Orders" and "orders" would
// share one directory. EscapeForPath() fixes both.
//
// A shard id is "shardId-" plus the shard's index in 12 zero-padded digits; indices are
// assigned per stream from 0 and never reused.
//
// Everything here is a pure function of its arguments and safe to call from any thread.
#pragma once

#include <fmt/format.h>

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "io/status.h"

namespace shoal {

inline constexpr size_t kMinStreamNameLength = 1;
inline constexpr size_t kMaxStreamNameLength = 128;
// The model's pattern, spelled as AWS prints it in ValidationException messages.
inline constexpr std::string_view kStreamNamePattern = "[a-zA-Z0-9_.-]+";

// True if `name` is a valid stream name: 1-128 bytes, each in [a-zA-Z0-9_.-].
bool IsValidStreamName(std::string_view name);

// The model constraints `name` violates, as AWS words the reason part of a
// ValidationException entry ("Member must satisfy regular expression pattern:
// [a-zA-Z0-9_.-]+", "Member must have length greater than or equal to 1",
// "Member must have length less than or equal to 128"), in the order AWS lists them
// (pattern first; spec §1.7.4). Empty if the name is valid. The API layer wraps each
// reason as "Value '<name>' at 'streamName' failed to satisfy constraint: <reason>".
// Lengths count characters (UTF-8 code points), as the model does.
std::vector<std::string> StreamNameViolations(std::string_view name);

// OK for a valid name; otherwise kInvalidArgument saying what is wrong with it.
Status ValidateStreamName(std::string_view name);

// Turns a valid stream name into a single path component that is safe on any local file
// system. The result
//   * is never empty, ".", "..", and never starts with "." (no hidden directories);
//   * contains only [a-z0-9_.-] plus '+' and '^': no '/', no NUL, no upper case;
//   * is injective even after case folding: distinct names give components that differ
//     in more than letter case, so "Orders" and "orders" stay apart on case-insensitive
//     file systems;
//   * is at most 192 bytes (NAME_MAX is 255), and readable: "orders" -> "orders".
// Encoding: letters are written in lower case; a letter whose case differs from the
// name's default case is preceded by '+'. The default case is lower unless the name has
// more upper- than lower-case letters, in which case the component starts with '^'
// (so a shouting name costs one byte, not one per letter). A '.' that would start the
// component is written "+.". Digits, '_', '-' and other dots are copied.
//   "orders" -> "orders"    "Orders" -> "+orders"    "ORDERS" -> "^orders"
//   "OrDERS" -> "^o+rders"  "." -> "+."   ".." -> "+.."   ".Git" -> "+.+git"
// Requires IsValidStreamName(name); returns "" (which no valid name maps to) otherwise.
std::string EscapeForPath(std::string_view name);

// The inverse of EscapeForPath. kInvalidArgument for any component EscapeForPath never
// produces (e.g. a stray file in the data directory, or "Orders" written by hand), so
// that Escape(Unescape(c)) == c whenever Unescape succeeds.
Result<std::string> UnescapeFromPath(std::string_view component);

// A shard's index within its stream. Strongly typed so that it cannot be mixed up with a
// record offset or a count.
struct ShardIndex {
  uint32_t value = 0;
  friend constexpr auto operator<=>(ShardIndex, ShardIndex) = default;
};

// Shard indices are 0..2^31-1: AWS parses the digits of a shard id as a Java int
// (spec §1.10) and kinesalite stores the index as a signed 32-bit field of the sequence
// number.
inline constexpr uint32_t kMaxShardIndex = 2147483647;

// "shardId-" + the index zero-padded to 12 digits: ShardIndex{7} -> "shardId-000000000007".
std::string FormatShardId(ShardIndex index);
// The same text written into `out` with no allocation; the view points into `out`.
// 8 + 12 characters (indices are < 2^31, so never more than 12 digits).
using ShardIdChars = std::array<char, 20>;
std::string_view FormatShardId(ShardIndex index, ShardIdChars& out);

// Parses a shard id as AWS does (spec §1.10, observed by kinesalite): take the text after
// the first '-' (or the whole string if there is none), which must be 1+ ASCII digits
// with a value in 0..2^31-1; leading zeros are allowed. So "shardId-000000000003",
// "shardId-3", "shard-3" and "3" all mean ShardIndex{3}. kInvalidArgument otherwise (the
// API layer reports it as ResourceNotFoundException "Could not find shard ...").
Result<ShardIndex> ParseShardId(std::string_view text);

}  // namespace shoal

template <>
struct fmt::formatter<shoal::ShardIndex> : fmt::formatter<std::string_view> {
  auto format(shoal::ShardIndex index, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(shoal::FormatShardId(index), ctx);
  }
};
