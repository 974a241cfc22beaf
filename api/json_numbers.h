// Numbers that JSON allows but simdjson's DOM parser refuses.
//
// RFC 8259 puts no limit on a number's size, and the Kinesis front end reads every number
// as a big decimal and then clamps it (spec §1.4: an Integer member above 2^31-1 counts
// as 2147483647). simdjson stops at 64 bits: an integer such as 2^64 or 2^128, or a
// magnitude beyond a double such as 1e400, fails the whole document with NUMBER_ERROR,
// which would make a well-formed request a SerializationException instead of the
// ValidationException / InvalidArgumentException its value deserves.
//
// SaturateHugeNumbers rewrites only those numbers, outside strings, into doubles simdjson
// reads: an integer past 64 bits becomes its nearest double (2^64 -> 1.8446744073709552e+19),
// and a value past the double range becomes +-1.7976931348623157e+308. The callers clamp
// every number to its member's range anyway, so nothing they compare changes. Text that
// is not a JSON number is copied as is, so a document that was malformed stays malformed.
// Pure function; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace shoal::api {

// The rewritten document, or nullopt when no number needed rewriting (so the parse error
// was something else).
std::optional<std::string> SaturateHugeNumbers(std::string_view json);

}  // namespace shoal::api
