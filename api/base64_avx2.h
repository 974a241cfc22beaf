// AVX2 block loops for base64.cc: the bulk of a blob, 24 bytes <-> 32 characters a step
// (W. Muła and D. Lemire, "Faster Base64 Encoding and Decoding Using AVX2 Instructions",
// ACM TWEB 2018; the same loops as aklomp/base64). Base64 was ~20% of shoald's samples
// under PutRecords + GetRecords load even table-driven; these do a step in a dozen
// instructions. base64.cc runs them on CPUs that have AVX2 and finishes (and reports
// errors) with its portable code, so results and error texts do not depend on the CPU.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shoal::api::base64_avx2 {

// True when the CPU runs AVX2 (checked once).
bool Available();

// Encodes whole 24-byte groups from the front of in[0, n) while at least 28 bytes are
// readable (the loads overrun the group by 4); writes 32 characters per group to out.
// Returns the input bytes consumed (a multiple of 24).
size_t EncodeBlocks(const uint8_t* in, size_t n, char* out);

// Decodes whole 32-character groups from the front of in[0, n), leaving at least the last
// 16 characters (where padding may be) to the caller; each group writes 32 bytes to out of
// which 24 are kept, so out must have room for 8 more bytes than it keeps (the characters
// left over guarantee that). Stops before the first group holding a character outside the
// alphabet ('=' included). Returns the characters consumed (a multiple of 32).
size_t DecodeBlocks(const uint8_t* in, size_t n, char* out);

}  // namespace shoal::api::base64_avx2
