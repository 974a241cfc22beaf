#include "io/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace shoal::io {
namespace {

constexpr uint32_t kPoly = 0x82F63B78u;

struct SliceTables {
  uint32_t t[8][256];
  constexpr SliceTables() : t{} {
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ kPoly : c >> 1;
      t[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; ++i)
      for (int s = 1; s < 8; ++s) t[s][i] = (t[s - 1][i] >> 8) ^ t[0][t[s - 1][i] & 0xff];
  }
};
constexpr SliceTables kSlice;

// Raw register update (no pre/post inversion).
uint32_t RawPortable(uint32_t r, const uint8_t* p, size_t n) {
  while (n && (reinterpret_cast<uintptr_t>(p) & 7)) {
    r = (r >> 8) ^ kSlice.t[0][(r ^ *p++) & 0xff];
    --n;
  }
  while (n >= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    v ^= r;
    r = kSlice.t[7][v & 0xff] ^ kSlice.t[6][(v >> 8) & 0xff] ^ kSlice.t[5][(v >> 16) & 0xff] ^
        kSlice.t[4][(v >> 24) & 0xff] ^ kSlice.t[3][(v >> 32) & 0xff] ^
        kSlice.t[2][(v >> 40) & 0xff] ^ kSlice.t[1][(v >> 48) & 0xff] ^ kSlice.t[0][v >> 56];
    p += 8;
    n -= 8;
  }
  while (n--) r = (r >> 8) ^ kSlice.t[0][(r ^ *p++) & 0xff];
  return r;
}

#if defined(__x86_64__)
// Multiplying a raw CRC register by x^(8*len) mod P is linear over GF(2), so it is a
// 4 x 256 table lookup. Each table is built once by running the register over `len`
// zero bytes for every byte value in every byte lane.
template <size_t kLen>
struct ShiftTable {
  uint32_t t[4][256];
  ShiftTable() {
    static const std::array<uint8_t, kLen> zeros{};
    uint32_t basis[32];
    for (int b = 0; b < 32; ++b) basis[b] = RawPortable(1u << b, zeros.data(), kLen);
    for (int lane = 0; lane < 4; ++lane)
      for (uint32_t v = 0; v < 256; ++v) {
        uint32_t r = 0;
        for (int b = 0; b < 8; ++b)
          if (v & (1u << b)) r ^= basis[lane * 8 + b];
        t[lane][v] = r;
      }
  }
  uint32_t Shift(uint32_t r) const {
    return t[0][r & 0xff] ^ t[1][(r >> 8) & 0xff] ^ t[2][(r >> 16) & 0xff] ^ t[3][r >> 24];
  }
};

// Stream lengths of the interleaved loop: long for big frames, short for the tail.
constexpr size_t kLong = 8192;
constexpr size_t kShort = 256;

__attribute__((target("sse4.2"))) inline uint64_t Run64(uint64_t r, const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v;
    std::memcpy(&v, p + i, 8);
    r = _mm_crc32_u64(r, v);
  }
  return r;
}

template <size_t kLen>
__attribute__((target("sse4.2"))) inline uint32_t Triple(uint32_t r, const uint8_t*& p,
                                                          size_t& n, const ShiftTable<kLen>& sh) {
  while (n >= 3 * kLen) {
    uint64_t c0 = r, c1 = 0, c2 = 0;
    for (size_t i = 0; i < kLen; i += 8) {
      uint64_t a, b, c;
      std::memcpy(&a, p + i, 8);
      std::memcpy(&b, p + kLen + i, 8);
      std::memcpy(&c, p + 2 * kLen + i, 8);
      c0 = _mm_crc32_u64(c0, a);
      c1 = _mm_crc32_u64(c1, b);
      c2 = _mm_crc32_u64(c2, c);
    }
    r = sh.Shift(sh.Shift(static_cast<uint32_t>(c0)) ^ static_cast<uint32_t>(c1)) ^
        static_cast<uint32_t>(c2);
    p += 3 * kLen;
    n -= 3 * kLen;
  }
  return r;
}

__attribute__((target("sse4.2"))) uint32_t RawHardware(uint32_t r, const uint8_t* p, size_t n) {
  static const ShiftTable<kLong> long_shift;
  static const ShiftTable<kShort> short_shift;
  while (n && (reinterpret_cast<uintptr_t>(p) & 7)) {
    r = _mm_crc32_u8(r, *p++);
    --n;
  }
  r = Triple(r, p, n, long_shift);
  r = Triple(r, p, n, short_shift);
  size_t words = n & ~size_t{7};
  r = static_cast<uint32_t>(Run64(r, p, words));
  p += words;
  n -= words;
  while (n--) r = _mm_crc32_u8(r, *p++);
  return r;
}

bool DetectHardware() { return __builtin_cpu_supports("sse4.2"); }
#endif

}  // namespace

uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n) {
  return ~RawPortable(~crc, static_cast<const uint8_t*>(data), n);
}

bool Crc32cHardware() {
#if defined(__x86_64__)
  static const bool hw = DetectHardware();
  return hw;
#else
  return false;
#endif
}

uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n) {
#if defined(__x86_64__)
  if (Crc32cHardware()) return ~RawHardware(~crc, static_cast<const uint8_t*>(data), n);
#endif
  return Crc32cExtendPortable(crc, data, n);
}

}  // namespace shoal::io
