// MD5 of many short messages at once, one message per vector lane.
//
// Routing hashes every record's partition key: one 64-byte MD5 block for any key up to
// 55 bytes (nearly all of them). A single MD5 is a chain of 64 dependent steps, ~150 ns
// whatever the CPU's width; eight independent keys in the eight 32-bit lanes of an AVX2
// register (sixteen with AVX-512) take about the time of one. OpenSSL has no batch MD5 API (its multi-buffer
// code is internal to the stitched AES-CBC-HMAC-SHA ciphers), so this is written here,
// and checked against OpenSSL's MD5() on every length it handles (hash_key_test).
//
// Internal to kernel/: HashPartitionKeys() (hash_key.h) is the interface.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace shoal::md5_lanes {

using Digest = std::array<uint8_t, 16>;

// Messages of at most this many bytes fit one block (with the 0x80 byte and the 8-byte
// length that MD5's padding adds).
inline constexpr size_t kMaxOneBlockBytes = 55;

// The widest lane count this CPU runs: 16 with AVX-512F, 8 with AVX2, 0 where the CPU (or
// the build's target) has neither; then the caller hashes one by one. At most kMaxLanes.
inline constexpr size_t kMaxLanes = 16;
size_t Lanes();
// True if HashOneBlock can run `lanes` (8 or 16) here. (Tests check each width.)
bool Supports(size_t lanes);

// digests[i] = MD5(messages[i]) for i < lanes. Every message must be at most
// kMaxOneBlockBytes long; Supports(lanes) must hold.
void HashOneBlock(size_t lanes, const std::string_view* messages, Digest* digests);

}  // namespace shoal::md5_lanes
