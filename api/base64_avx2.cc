#include "api/base64_avx2.h"

#include <immintrin.h>

namespace shoal::api::base64_avx2 {
namespace {

#define SHOAL_AVX2 __attribute__((target("avx2")))

// 12 input bytes per 128-bit lane -> 16 six-bit indices, one per byte.
SHOAL_AVX2 inline __m256i EncodeReshuffle(__m256i in) {
  // Each 32-bit slot gets bytes [b1, b0, b2, b1] of its 3-byte group.
  in = _mm256_shuffle_epi8(in, _mm256_set_epi8(10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1,  //
                                               10, 11, 9, 10, 7, 8, 6, 7, 4, 5, 3, 4, 1, 2, 0, 1));
  // Move the four 6-bit fields to the bottom of their bytes with two multiplies.
  const __m256i t0 = _mm256_and_si256(in, _mm256_set1_epi32(0x0fc0fc00));
  const __m256i t1 = _mm256_mulhi_epu16(t0, _mm256_set1_epi32(0x04000040));
  const __m256i t2 = _mm256_and_si256(in, _mm256_set1_epi32(0x003f03f0));
  const __m256i t3 = _mm256_mullo_epi16(t2, _mm256_set1_epi32(0x01000010));
  return _mm256_or_si256(t1, t3);
}

// Indices 0..63 -> the alphabet: one offset per range ('A'.., 'a'.., '0'.., '+', '/').
SHOAL_AVX2 inline __m256i EncodeTranslate(__m256i idx) {
  __m256i range = _mm256_subs_epu8(idx, _mm256_set1_epi8(51));           // 0 for 0..51, 1..12 above
  const __m256i upper = _mm256_cmpgt_epi8(_mm256_set1_epi8(26), idx);   // 0..25
  range = _mm256_or_si256(range, _mm256_and_si256(upper, _mm256_set1_epi8(13)));
  const __m256i offset = _mm256_setr_epi8(
      'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
      '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0,  //
      'a' - 26, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52, '0' - 52,
      '0' - 52, '+' - 62, '/' - 63, 'A', 0, 0);
  return _mm256_add_epi8(idx, _mm256_shuffle_epi8(offset, range));
}

}  // namespace

bool Available() {
  static const bool avx2 = __builtin_cpu_supports("avx2");
  return avx2;
}

SHOAL_AVX2 size_t EncodeBlocks(const uint8_t* in, size_t n, char* out) {
  size_t done = 0;
  for (; n - done >= 28; done += 24, out += 32) {
    const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + done));
    const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(in + done + 12));
    const __m256i idx = EncodeReshuffle(_mm256_set_m128i(hi, lo));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), EncodeTranslate(idx));
  }
  return done;
}

SHOAL_AVX2 size_t DecodeBlocks(const uint8_t* in, size_t n, char* out) {
  // Validity: a character is in the alphabet iff the bits its low and high nibbles select
  // in these two tables do not intersect.
  const __m256i lut_lo = _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13,
                                          0x1A, 0x1B, 0x1B, 0x1B, 0x1A,  //
                                          0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13,
                                          0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
  const __m256i lut_hi = _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10,
                                          0x10, 0x10, 0x10, 0x10, 0x10,  //
                                          0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10,
                                          0x10, 0x10, 0x10, 0x10, 0x10);
  // Character -> 6-bit value: an offset chosen by the high nibble ('/' has its own).
  const __m256i lut_roll = _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                            0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
  const __m256i mask_2f = _mm256_set1_epi8(0x2f);
  size_t done = 0;
  for (; n - done >= 48; done += 32, out += 24) {
    __m256i str = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + done));
    const __m256i hi_nibbles = _mm256_and_si256(_mm256_srli_epi32(str, 4), mask_2f);
    const __m256i lo_nibbles = _mm256_and_si256(str, mask_2f);
    const __m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nibbles);
    const __m256i lo = _mm256_shuffle_epi8(lut_lo, lo_nibbles);
    if (!_mm256_testz_si256(lo, hi)) break;
    const __m256i eq_2f = _mm256_cmpeq_epi8(str, mask_2f);
    str = _mm256_add_epi8(str, _mm256_shuffle_epi8(lut_roll, _mm256_add_epi8(eq_2f, hi_nibbles)));
    // Pack four 6-bit values into 3 bytes per 32-bit slot, then the 12 bytes of each lane
    // together.
    const __m256i ab_bc = _mm256_maddubs_epi16(str, _mm256_set1_epi32(0x01400140));
    __m256i packed = _mm256_madd_epi16(ab_bc, _mm256_set1_epi32(0x00011000));
    packed = _mm256_shuffle_epi8(packed, _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,  //
                                                          2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1));
    packed = _mm256_permutevar8x32_epi32(packed, _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), packed);
  }
  return done;
}

}  // namespace shoal::api::base64_avx2
