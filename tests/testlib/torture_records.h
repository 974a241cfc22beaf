// The records and acknowledgement journal of the crash and torture suites (the engine
// crash test and shoal-torture share them, so what a verifier may accept is defined once).
//
// Records: each is named by a 64-bit id = cycle << 40 | producer << 32 | counter; its
// partition key, explicit hash key (sometimes) and bytes are functions of the id (and of
// the stream incarnation, whose uid the bytes carry), so a verifier regenerates every
// record it reads and compares it byte for byte. A producer's counters are consecutive.
//
// Acks: fixed-size, checksummed 48-byte entries, written by the process under test with
// one write() each batch (to an O_APPEND file or a pipe: batches of at most kMaxAckBatch
// entries stay below PIPE_BUF, so concurrent writers never interleave inside a batch).
// kAckSent precedes every put: a verifier knows the highest counter each producer may
// have stored, so a record above it was never sent. Only whole entries with a valid
// checksum are trusted; AckDecoder drops a torn last entry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/hash_key.h"

namespace shoal::torture {

inline constexpr const char* kMainStream = "main";
inline constexpr const char* kSideStream = "side";
// Producers 0..kMaxProducers-2 put to main; producer kSideProducer puts to the side stream.
inline constexpr uint64_t kMaxProducers = 8;
inline constexpr uint64_t kSideProducer = kMaxProducers - 1;

uint64_t Mix64(uint64_t z);
inline uint64_t MakeId(uint64_t cycle, uint64_t producer, uint64_t counter) {
  return (cycle << 40) | (producer << 32) | counter;
}
inline uint64_t IdCycle(uint64_t id) { return id >> 40; }
inline uint64_t IdProducer(uint64_t id) { return (id >> 32) & 0xff; }
inline uint64_t IdCounter(uint64_t id) { return id & 0xffffffffu; }

std::string KeyFor(uint64_t id);
std::optional<HashKey> ExplicitFor(uint64_t id);
HashKey HashFor(uint64_t id);
// 16 bytes (id, uid) then 0..1200 (1 in 97: 20..40 KB) bytes derived from the id.
std::string DataFor(uint64_t id, uint64_t uid);

enum AckType : uint8_t {
  kAckPut = 1,           // a record stored: stream, shard, offset, id, uid
  kAckMainCreated = 2,
  kAckSideCreateIntent = 3,
  kAckSideCreated = 4,   // uid: the incarnation
  kAckSideDeleteIntent = 5,
  kAckOpDone = 6,        // a control operation completed (shard = its kind)
  kAckOpIntent = 7,      // a control operation is about to start (shard = its kind)
  kAckSent = 8,          // id: the highest id of a batch about to be put (before the put)
  kAckRead = 9,          // a live consumer read record id at (shard, offset) of main: it must stay
};

struct Ack {
  uint32_t magic;
  uint8_t type;
  uint8_t stream;  // 0 main, 1 side
  uint16_t pad0;
  uint32_t shard;
  uint32_t pad1;
  uint64_t offset;
  uint64_t id;
  uint64_t uid;    // side: the incarnation
  uint32_t check;  // CRC32C of the bytes above
  uint32_t pad2;
};
static_assert(sizeof(Ack) == 48);
inline constexpr size_t kMaxAckBatch = 4096 / sizeof(Ack);  // PIPE_BUF

Ack MakeAck(AckType type, uint8_t stream, uint32_t shard, uint64_t offset, uint64_t id, uint64_t uid);
bool AckValid(const Ack& a);

// One write() per batch; false (errno set) if it was not written whole.
bool WriteAcks(int fd, const Ack* acks, size_t n);
inline bool WriteAcks(int fd, const std::vector<Ack>& acks) { return WriteAcks(fd, acks.data(), acks.size()); }

// Splits a byte stream into acks. Feed() whatever arrived; Finish() at EOF reports
// whether the bytes ended on an entry boundary (a torn last entry is dropped).
class AckDecoder {
 public:
  // Appends the complete entries to `out`; false if an entry is damaged (not the last).
  bool Feed(std::string_view bytes, std::vector<Ack>* out, std::string* error);
  // True if nothing was left over (no torn tail).
  bool Finish() const { return pending_.empty() && !damaged_; }

 private:
  std::string pending_;
  bool damaged_ = false;  // the last entry decoded had a bad checksum (torn, if nothing follows)
};

// Reads a whole ack file; a torn or damaged last entry is dropped, damage before it fails.
bool ReadAckFile(const std::string& path, std::vector<Ack>* out, std::string* error);

}  // namespace shoal::torture
