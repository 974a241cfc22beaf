#include "tests/testlib/torture_records.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstddef>
#include <cstring>

#include "io/crc32c.h"

namespace shoal::torture {

namespace {
constexpr uint32_t kAckMagic = 0xe9c4a5e7;
}

uint64_t Mix64(uint64_t z) {
  z += 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

std::string KeyFor(uint64_t id) { return "k" + std::to_string(Mix64(id ^ 0x55) % 400); }

std::optional<HashKey> ExplicitFor(uint64_t id) {
  const uint64_t pick = Mix64(id ^ 0xe4) % 64;
  if (pick < 5) return HashKey::FromParts(Mix64(id ^ 1), Mix64(id ^ 2));
  if (pick == 5) return HashKey::Min();
  if (pick == 6) return HashKey::Max();
  return std::nullopt;
}

HashKey HashFor(uint64_t id) {
  auto e = ExplicitFor(id);
  return e ? *e : HashPartitionKey(KeyFor(id));
}

std::string DataFor(uint64_t id, uint64_t uid) {
  const uint64_t h = Mix64(id ^ 0xda7a);
  size_t n = h % 1200;
  if (h % 97 == 0) n = 20000 + h % 20000;
  std::string d(16 + n, '\0');
  std::memcpy(d.data(), &id, 8);
  std::memcpy(d.data() + 8, &uid, 8);
  for (size_t i = 0; i < n; i += 8) {
    uint64_t v = Mix64(h + i);
    std::memcpy(d.data() + 16 + i, &v, std::min<size_t>(8, n - i));
  }
  return d;
}

Ack MakeAck(AckType type, uint8_t stream, uint32_t shard, uint64_t offset, uint64_t id, uint64_t uid) {
  Ack a;
  std::memset(&a, 0, sizeof a);
  a.magic = kAckMagic;
  a.type = type;
  a.stream = stream;
  a.shard = shard;
  a.offset = offset;
  a.id = id;
  a.uid = uid;
  a.check = io::Crc32c(&a, offsetof(Ack, check));
  return a;
}

bool AckValid(const Ack& a) { return a.magic == kAckMagic && a.check == io::Crc32c(&a, offsetof(Ack, check)); }

bool WriteAcks(int fd, const Ack* acks, size_t n) {
  while (n > 0) {
    const size_t k = std::min(n, kMaxAckBatch);
    const size_t bytes = k * sizeof(Ack);
    ssize_t w;
    do {
      w = ::write(fd, acks, bytes);
    } while (w < 0 && errno == EINTR);
    if (w != static_cast<ssize_t>(bytes)) {
      if (w >= 0) errno = EIO;
      return false;
    }
    acks += k;
    n -= k;
  }
  return true;
}

bool AckDecoder::Feed(std::string_view bytes, std::vector<Ack>* out, std::string* error) {
  pending_.append(bytes);
  size_t i = 0;
  for (; i + sizeof(Ack) <= pending_.size(); i += sizeof(Ack)) {
    if (damaged_) {
      *error = "a damaged ack entry is followed by more entries";
      return false;
    }
    Ack a;
    std::memcpy(&a, pending_.data() + i, sizeof a);
    if (!AckValid(a)) {
      damaged_ = true;
      continue;
    }
    out->push_back(a);
  }
  pending_.erase(0, i);
  return true;
}

bool ReadAckFile(const std::string& path, std::vector<Ack>* out, std::string* error) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? true : (*error = path + ": " + std::strerror(errno), false);
  AckDecoder dec;
  char buf[1 << 16];
  ssize_t n;
  bool ok = true;
  while (ok && (n = ::read(fd, buf, sizeof buf)) > 0)
    ok = dec.Feed(std::string_view(buf, static_cast<size_t>(n)), out, error);
  ::close(fd);
  if (!ok) *error = path + ": " + *error;
  return ok;
}

}  // namespace shoal::torture
