#include "kernel/md5_lanes.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace shoal::md5_lanes {
namespace {

// RFC 1321 §3.4: step i adds floor(|sin(i + 1)| * 2^32). Computed, not typed in: no
// 64-entry table to mistype, and every entry takes part in every hash, so the comparison
// with OpenSSL in hash_key_test checks all of them.
struct StepConstants {
  uint32_t k[64];
  StepConstants() {
    for (int i = 0; i < 64; ++i)
      k[i] = static_cast<uint32_t>(std::floor(std::fabs(std::sin(i + 1.0)) * 4294967296.0));
  }
};
const StepConstants& Constants() {
  static const StepConstants c;
  return c;
}

// Rotation per step: four per round, repeated.
constexpr int kShift[4][4] = {{7, 12, 17, 22}, {5, 9, 14, 20}, {4, 11, 16, 23}, {6, 10, 15, 21}};

// Which message word step i reads: round 0 in order, then 5i+1, 3i+5, 7i (mod 16).
constexpr int WordIndex(int i) {
  switch (i / 16) {
    case 0: return i;
    case 1: return (5 * i + 1) % 16;
    case 2: return (3 * i + 5) % 16;
    default: return (7 * i) % 16;
  }
}

constexpr uint32_t kInit[4] = {0x67452301u, 0xefcdab89u, 0x98badcfeu, 0x10325476u};

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define SHOAL_MD5_AVX2 1

// 8 and 16 lanes of 32 bits. Vectors live only inside the target-specific functions below
// (HashLanes is always inlined into them): a vector passed across a function compiled
// without that ISA would change the calling convention.
typedef uint32_t V8 __attribute__((vector_size(32)));
typedef uint32_t V16 __attribute__((vector_size(64)));

template <typename V, int kLanes>
[[gnu::always_inline]] inline void HashLanes(const std::string_view* messages, Digest* digests) {
  // The padded blocks, transposed: words[j] holds word j of every lane's block.
  alignas(64) uint32_t words[16][kLanes];
  for (int lane = 0; lane < kLanes; ++lane) {
    unsigned char block[64] = {};
    const std::string_view m = messages[lane];
    if (!m.empty()) std::memcpy(block, m.data(), m.size());  // an idle lane's view may be null
    block[m.size()] = 0x80;
    const uint64_t bits = static_cast<uint64_t>(m.size()) * 8;  // little-endian, as MD5 wants
    std::memcpy(block + 56, &bits, sizeof(bits));
    for (int j = 0; j < 16; ++j) std::memcpy(&words[j][lane], block + 4 * j, 4);
  }
  const uint32_t* k = Constants().k;
  const V zero = {};
  V a = zero + kInit[0], b = zero + kInit[1], c = zero + kInit[2], d = zero + kInit[3];
  // The 64 steps written out (a macro per step, not a loop): shift counts and word
  // indices become immediates and the round's function is fixed, with no branch per step.
#define SHOAL_MD5_F(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))  // (x & y) | (~x & z)
#define SHOAL_MD5_G(x, y, z) ((y) ^ ((z) & ((x) ^ (y))))  // (x & z) | (y & ~z)
#define SHOAL_MD5_H(x, y, z) ((x) ^ (y) ^ (z))
#define SHOAL_MD5_I(x, y, z) ((y) ^ ((x) | ~(z)))
#define SHOAL_MD5_STEP(fn, a, b, c, d, i)                                    \
  {                                                                          \
    V w_;                                                                      \
    std::memcpy(&w_, words[WordIndex(i)], sizeof(w_));                      \
    a = a + fn(b, c, d) + k[i] + w_;                                         \
    constexpr int s_ = kShift[(i) / 16][(i) % 4];                            \
    a = b + ((a << s_) | (a >> (32 - s_)));                                  \
  }
#define SHOAL_MD5_QUAD(fn, i)               \
  SHOAL_MD5_STEP(fn, a, b, c, d, (i))       \
  SHOAL_MD5_STEP(fn, d, a, b, c, (i) + 1)   \
  SHOAL_MD5_STEP(fn, c, d, a, b, (i) + 2)   \
  SHOAL_MD5_STEP(fn, b, c, d, a, (i) + 3)
  SHOAL_MD5_QUAD(SHOAL_MD5_F, 0)
  SHOAL_MD5_QUAD(SHOAL_MD5_F, 4)
  SHOAL_MD5_QUAD(SHOAL_MD5_F, 8)
  SHOAL_MD5_QUAD(SHOAL_MD5_F, 12)
  SHOAL_MD5_QUAD(SHOAL_MD5_G, 16)
  SHOAL_MD5_QUAD(SHOAL_MD5_G, 20)
  SHOAL_MD5_QUAD(SHOAL_MD5_G, 24)
  SHOAL_MD5_QUAD(SHOAL_MD5_G, 28)
  SHOAL_MD5_QUAD(SHOAL_MD5_H, 32)
  SHOAL_MD5_QUAD(SHOAL_MD5_H, 36)
  SHOAL_MD5_QUAD(SHOAL_MD5_H, 40)
  SHOAL_MD5_QUAD(SHOAL_MD5_H, 44)
  SHOAL_MD5_QUAD(SHOAL_MD5_I, 48)
  SHOAL_MD5_QUAD(SHOAL_MD5_I, 52)
  SHOAL_MD5_QUAD(SHOAL_MD5_I, 56)
  SHOAL_MD5_QUAD(SHOAL_MD5_I, 60)
#undef SHOAL_MD5_QUAD
#undef SHOAL_MD5_STEP
#undef SHOAL_MD5_I
#undef SHOAL_MD5_H
#undef SHOAL_MD5_G
#undef SHOAL_MD5_F
  a += kInit[0];
  b += kInit[1];
  c += kInit[2];
  d += kInit[3];
  alignas(64) uint32_t out[4][kLanes];
  std::memcpy(out[0], &a, sizeof(a));
  std::memcpy(out[1], &b, sizeof(b));
  std::memcpy(out[2], &c, sizeof(c));
  std::memcpy(out[3], &d, sizeof(d));
  for (int lane = 0; lane < kLanes; ++lane)
    for (int r = 0; r < 4; ++r) std::memcpy(digests[lane].data() + 4 * r, &out[r][lane], 4);
}

__attribute__((target("avx2"))) void HashAvx2(const std::string_view* messages, Digest* digests) {
  HashLanes<V8, 8>(messages, digests);
}

// With AVX-512 the compiler also turns the rotations into one vprold and each round
// function into one vpternlogd: about half the instructions per step, twice the lanes.
__attribute__((target("avx512f"))) void HashAvx512(const std::string_view* messages, Digest* digests) {
  HashLanes<V16, 16>(messages, digests);
}
#endif

}  // namespace

bool Supports(size_t lanes) {
#ifdef SHOAL_MD5_AVX2
  if (lanes == 8) return __builtin_cpu_supports("avx2");
  if (lanes == 16) return __builtin_cpu_supports("avx512f");
#else
  (void)lanes;
#endif
  return false;
}

size_t Lanes() {
  static const size_t lanes = Supports(16) ? 16 : Supports(8) ? 8 : 0;
  return lanes;
}

void HashOneBlock(size_t lanes, const std::string_view* messages, Digest* digests) {
  if (!Supports(lanes)) {
    std::fprintf(stderr, "shoal: md5_lanes: %zu lanes are not supported on this CPU\n", lanes);
    std::abort();  // a caller bug: Lanes() or Supports() says what may be asked
  }
#ifdef SHOAL_MD5_AVX2
  if (lanes == 16) {
    HashAvx512(messages, digests);
  } else {
    HashAvx2(messages, digests);
  }
#else
  (void)messages;
  (void)digests;
#endif
}

}  // namespace shoal::md5_lanes
