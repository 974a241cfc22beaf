// Base64 (RFC 4648 standard alphabet, '=' padding), the JSON encoding of Kinesis blobs.
// Hand-written rather than OpenSSL's EVP_Decode*: the API must reject malformed input with
// the exact reason the spec asks for (§1.7.3), which OpenSSL does not report.
#pragma once

#include <string>
#include <string_view>

namespace shoal::api {

// Appends the encoding of `in` to `out`.
void Base64Encode(std::string_view in, std::string* out);
size_t Base64EncodedSize(size_t n);

// Decodes `in` into `out` (replacing it). On failure returns false and sets `why` to the
// spec's wording: "Base64 encoded length is expected a multiple of 4 bytes but found: N",
// "Invalid Base64 character: 'c'", "Invalid last non-pad Base64 character dectected".
bool Base64Decode(std::string_view in, std::string* out, std::string* why);
// The same, appending to `out` (left as it was on failure): decodes straight into an arena.
bool Base64DecodeAppend(std::string_view in, std::string* out, std::string* why);

}  // namespace shoal::api
