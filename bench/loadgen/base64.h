// Base64 (RFC 4648, standard alphabet, padded) for the load generator's own requests and
// for checking what GetRecords returns. Deliberately not api/base64.h: a client sharing
// the server's codec would not notice a bug in it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace shoal::loadgen {

constexpr size_t Base64Size(size_t n) { return (n + 2) / 3 * 4; }
void AppendBase64(std::string_view bytes, std::string* out);
// False if `text` is not valid padded base64.
bool DecodeBase64(std::string_view text, std::string* out);

}  // namespace shoal::loadgen
