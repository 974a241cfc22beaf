// CRC32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every Shoal
// batch, index and metadata file.
//
// Hand-written because Debian ships no crc32c library (google/crc32c is not packaged).
// Uses the SSE4.2 crc32 instruction with three interleaved streams (the instruction has
// a 3-cycle latency and 1-cycle throughput, so one stream runs at a third of the speed)
// when the CPU has it, and a slicing-by-8 table otherwise. Thread-safe, no state.
#pragma once

#include <cstddef>
#include <cstdint>

namespace shoal::io {

// Extends `crc` (the CRC of the bytes before `data`; 0 for none) over `n` bytes.
uint32_t Crc32cExtend(uint32_t crc, const void* data, size_t n);
inline uint32_t Crc32c(const void* data, size_t n) { return Crc32cExtend(0, data, n); }

// The portable implementation, exposed so tests can check both paths agree.
uint32_t Crc32cExtendPortable(uint32_t crc, const void* data, size_t n);
// True when the hardware path is in use.
bool Crc32cHardware();

}  // namespace shoal::io
