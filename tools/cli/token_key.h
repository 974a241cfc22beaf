// The key that signs shard iterators and paging tokens (HMAC-SHA256) for one data
// directory, shared by the server (shoald) and the local CLI (shoal) so an iterator printed
// by one process works in the next, and across server restarts.
//
// The key lives in DIR/shoald.key: 32 random bytes from /dev/urandom, written as 64 hex
// digits and a newline, mode 0600. The hex text itself is the HMAC key
// (api::ServiceOptions::token_key).
#pragma once

#include <string>

namespace shoal::cli {

// The file name inside the data directory.
inline constexpr const char* kTokenKeyFile = "shoald.key";

// Reads DIR/shoald.key, or creates it if missing: the key is written to a private temporary
// file (0600), fsynced, then link()ed into place, so two processes creating it at once agree
// on one key and none can read a half-written one; the directory is fsynced so the key
// survives a power loss with the records whose iterators it signs. Surrounding whitespace
// is ignored when reading. Throws std::runtime_error with a readable message when the file
// cannot be read or created, or holds fewer than 16 characters.
std::string LoadOrCreateTokenKey(const std::string& data_dir);

}  // namespace shoal::cli
