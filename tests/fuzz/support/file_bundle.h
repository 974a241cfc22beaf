// FileBundle: the files of one shard log directory packed into one fuzz input.
//
// Encoding (all integers little-endian), a sequence of entries up to the end of the input:
//   u8  kind      (taken mod 5) segment, index, log.meta, CLEAN, a leftover *.tmp file
//   u8  ordinal   segments and indexes: the number in the file name
//   u8  flags     bit 0: recompute the checksums of what is recognisable (see FixChecksums)
//                 bit 1: append 64 KiB of zeros (the preallocated tail of an active segment)
//   u16 length    then `length` bytes of content (fewer if the input ends first)
// A later entry for the same file replaces an earlier one. Every byte string decodes to
// some directory, so libFuzzer's mutations always reach the code that opens it.
//
// Checksums: a random byte string almost never carries a valid CRC32C, so without help the
// fuzzer would only ever test the "CRC mismatch" branches. Flag bit 0 makes the bundle
// recompute the CRCs of the segment header, of every frame whose header gives a plausible
// length, of an index (after fixing its entry count to the file size) and of log.meta, so
// the inputs reach the code that trusts checked bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace shoal::fuzz {

struct BundleFile {
  enum Kind : uint8_t { kSegment = 0, kIndex, kMeta, kClean, kTemp, kKinds };
  Kind kind = kSegment;
  uint8_t ordinal = 1;
  uint8_t flags = 0;
  std::string content;

  static constexpr uint8_t kFixChecksums = 1;
  static constexpr uint8_t kZeroTail = 2;
  static constexpr size_t kZeroTailBytes = 64 << 10;
  static constexpr size_t kMaxContent = 0xffff;

  std::string FileName() const;  // "000000000003.seg", "log.meta", ...
};

std::vector<BundleFile> DecodeBundle(std::string_view input);
// The inverse, for the seed generator: a directory's files, content cut to kMaxContent.
std::string EncodeBundle(const std::vector<BundleFile>& files);

// Writes each file (content, fixed checksums, zero tail) into `dir`; later entries for the
// same name replace earlier ones. Aborts on I/O errors (the scratch directory is ours).
void WriteBundle(const std::vector<BundleFile>& files, const std::string& dir);

// Recomputes the checksums a file of this kind carries, in place (see above).
void FixChecksums(BundleFile::Kind kind, std::string* content);

}  // namespace shoal::fuzz
