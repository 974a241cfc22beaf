// kernel/format.h: encode/decode round trips and every rejection of the frame checker,
// the index decoder, the segment header and log.meta decoders.
#include "kernel/format.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "io/crc32c.h"

namespace shoal::format {
namespace {

struct In {
  std::string key;
  std::string data;
  uint32_t ts_delta = 0;
};

void Recrc(std::string& f) {
  auto* p = reinterpret_cast<uint8_t*>(f.data());
  // A length the test made bogus: checksum what there is.
  size_t len = std::min<size_t>(std::max<uint32_t>(Load32(p + kFrameLen), 8), f.size());
  Store32(p + kFrameCrc, io::Crc32c(p + 8, len - 8));
}

// Builds a frame the way ShardLog::Append does, padded to `align` (8, or 4096 as the
// last frame of an O_DIRECT flush).
std::string BuildFrame(uint64_t base_offset, int64_t base_ts, const std::vector<In>& recs,
                       size_t align = kFrameAlign) {
  size_t body = 0;
  for (const In& r : recs) body += RecordBytes(r.key.size(), r.data.size());
  std::string f(AlignUp(kFrameHeaderSize + body, align), '\0');
  auto* p = reinterpret_cast<uint8_t*>(f.data());
  Store32(p + kFrameLen, static_cast<uint32_t>(f.size()));
  Store16(p + kFrameMagic, kFrameMagicValue);
  p[kFrameVersion] = kFrameVersionValue;
  Store32(p + kFrameCount, static_cast<uint32_t>(recs.size()));
  Store64(p + kFrameBaseOffset, base_offset);
  Store64(p + kFrameBaseTs, static_cast<uint64_t>(base_ts));
  uint8_t* r = p + kFrameHeaderSize;
  for (const In& in : recs) {
    Store32(r + kRecTsDelta, in.ts_delta);
    Store32(r + kRecDataLen, static_cast<uint32_t>(in.data.size()));
    Store16(r + kRecKeyLen, static_cast<uint16_t>(in.key.size()));
    r += kRecordHeaderSize;
    std::memcpy(r, in.key.data(), in.key.size());
    r += in.key.size();
    std::memcpy(r, in.data.data(), in.data.size());
    r += in.data.size();
  }
  Recrc(f);
  return f;
}

const uint8_t* U(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }
uint8_t* U(std::string& s) { return reinterpret_cast<uint8_t*>(s.data()); }

FrameCheck Check(const std::string& f, bool verify = true, FrameInfo* info = nullptr) {
  FrameInfo tmp;
  return CheckFrame(U(f), f.size(), verify, info ? info : &tmp);
}

std::vector<In> ThreeRecords() {
  return {{"k1", "hello", 0}, {"key-two", std::string(100, 'x'), 5}, {"k", "", 7}};
}

// ---------------------------------------------------------------------------------------
// Segment header

TEST(SegmentHeaderTest, RoundTrip) {
  uint8_t buf[kSegmentHeaderSize];
  EncodeSegmentHeader({42, 1700000000123}, buf);
  auto h = DecodeSegmentHeader(buf, sizeof buf, "x.seg");
  ASSERT_TRUE(h.ok()) << h.status();
  EXPECT_EQ(h->ordinal, 42u);
  EXPECT_EQ(h->created_ms, 1700000000123);
  // Only the used prefix is needed, and the rest of the block is zero.
  EXPECT_TRUE(DecodeSegmentHeader(buf, kSegHdrUsed, "x.seg").ok());
  for (size_t i = kSegHdrUsed; i < kSegmentHeaderSize; ++i) ASSERT_EQ(buf[i], 0) << i;
}

TEST(SegmentHeaderTest, Rejections) {
  uint8_t good[kSegmentHeaderSize];
  EncodeSegmentHeader({7, 99}, good);
  auto expect_bad = [](const uint8_t* p, size_t n, const char* what) {
    auto h = DecodeSegmentHeader(p, n, "000000000007.seg");
    ASSERT_FALSE(h.ok()) << what;
    EXPECT_EQ(h.status().code(), Code::kCorruption) << what;
    EXPECT_NE(h.status().message().find("000000000007.seg"), std::string::npos) << what;
  };
  expect_bad(good, kSegHdrUsed - 1, "truncated");
  expect_bad(good, 0, "empty");
  uint8_t b[kSegmentHeaderSize];
  std::memcpy(b, good, sizeof b);
  b[kSegHdrMagic] ^= 1;
  expect_bad(b, sizeof b, "magic");
  std::memcpy(b, good, sizeof b);
  Store32(b + kSegHdrVersion, kSegmentVersion + 1);
  Store32(b + kSegHdrCrc, io::Crc32c(b, kSegHdrCrc));
  expect_bad(b, sizeof b, "version");
  std::memcpy(b, good, sizeof b);
  b[kSegHdrOrdinal] ^= 1;  // CRC no longer matches
  expect_bad(b, sizeof b, "crc");
  std::memcpy(b, good, sizeof b);
  Store32(b + kSegHdrHeaderSize, 512);
  Store32(b + kSegHdrCrc, io::Crc32c(b, kSegHdrCrc));
  expect_bad(b, sizeof b, "header size");
}

// ---------------------------------------------------------------------------------------
// Frames

TEST(FrameTest, ValidFrameAndRecordCursor) {
  std::string f = BuildFrame(1000, 5000, ThreeRecords());
  EXPECT_EQ(f.size() % kFrameAlign, 0u);
  FrameInfo fi;
  ASSERT_EQ(Check(f, true, &fi), FrameCheck::kOk);
  EXPECT_EQ(fi.len, f.size());
  EXPECT_EQ(fi.count, 3u);
  EXPECT_EQ(fi.base_offset, 1000u);
  EXPECT_EQ(fi.base_ts, 5000);
  EXPECT_EQ(fi.next_offset(), 1003u);
  // Without CRC verification the header alone is checked.
  FrameInfo fi2;
  ASSERT_EQ(Check(f, false, &fi2), FrameCheck::kOk);
  EXPECT_EQ(fi2.len, fi.len);

  RecordCursor c = Records(U(f), fi);
  RawRecord r;
  std::vector<In> want = ThreeRecords();
  for (size_t i = 0; i < want.size(); ++i) {
    ASSERT_TRUE(NextRecord(c, &r));
    EXPECT_EQ(r.offset, 1000 + i);
    EXPECT_EQ(r.ts_ms, 5000 + want[i].ts_delta);
    EXPECT_EQ(r.key, want[i].key);
    EXPECT_EQ(r.data, want[i].data);
  }
  EXPECT_FALSE(NextRecord(c, &r));
}

TEST(FrameTest, FrameFollowedByMoreBytesChecksOnlyItself) {
  std::string f = BuildFrame(0, 0, ThreeRecords());
  std::string two = f + BuildFrame(3, 0, {{"a", "b", 0}}) + std::string(64, '\0');
  FrameInfo fi;
  ASSERT_EQ(CheckFrame(U(two), two.size(), true, &fi), FrameCheck::kOk);
  EXPECT_EQ(fi.len, f.size());
  ASSERT_EQ(CheckFrame(U(two) + fi.len, two.size() - fi.len, true, &fi), FrameCheck::kOk);
  EXPECT_EQ(fi.base_offset, 3u);
  const size_t third = f.size() + fi.len;
  EXPECT_EQ(CheckFrame(U(two) + third, two.size() - third, true, &fi), FrameCheck::kEnd);
}

TEST(FrameTest, DirectModePaddingIsAccepted) {
  // The last frame of an O_DIRECT flush is padded with zeros to the 4 KiB block.
  std::string f = BuildFrame(0, 0, ThreeRecords(), 4096);
  EXPECT_EQ(f.size(), 4096u);
  FrameInfo fi;
  ASSERT_EQ(Check(f, true, &fi), FrameCheck::kOk);
  EXPECT_EQ(fi.len, 4096u);
}

TEST(FrameTest, EndOnZeros) {
  std::string z(64, '\0');
  FrameInfo fi;
  EXPECT_EQ(CheckFrame(U(z), z.size(), true, &fi), FrameCheck::kEnd);
  EXPECT_EQ(CheckFrame(U(z), 0, true, &fi), FrameCheck::kEnd);
  EXPECT_EQ(CheckFrame(U(z), 4, true, &fi), FrameCheck::kEnd);
  EXPECT_EQ(CheckFrame(U(z), 2, true, &fi), FrameCheck::kTruncated);  // < 4 bytes, not 0
}

TEST(FrameTest, Truncated) {
  std::string f = BuildFrame(0, 0, ThreeRecords());
  FrameInfo fi;
  for (size_t avail : {size_t{1}, size_t{3}, size_t{5}, kFrameHeaderSize - 1,
                       kFrameHeaderSize, f.size() - 1, f.size() - 8})
    EXPECT_EQ(CheckFrame(U(f), avail, true, &fi), FrameCheck::kTruncated) << avail;
  EXPECT_EQ(CheckFrame(U(f), f.size(), true, &fi), FrameCheck::kOk);
  // The header alone is not enough even without CRC verification.
  EXPECT_EQ(CheckFrame(U(f), f.size() - 8, false, &fi), FrameCheck::kTruncated);
}

TEST(FrameTest, BadHeader) {
  const std::string good = BuildFrame(0, 0, ThreeRecords());
  auto bad = [&](auto edit, const char* what) {
    std::string f = good;
    edit(U(f));
    Recrc(f);
    EXPECT_EQ(Check(f, true), FrameCheck::kBadHeader) << what;
    EXPECT_EQ(Check(f, false), FrameCheck::kBadHeader) << what << " (no crc)";
  };
  bad([](uint8_t* p) { p[kFrameMagic] ^= 0xff; }, "magic");
  bad([](uint8_t* p) { p[kFrameMagic + 1] ^= 0x01; }, "magic high byte");
  bad([](uint8_t* p) { p[kFrameVersion] = kFrameVersionValue + 1; }, "version");
  bad([](uint8_t* p) { p[kFrameVersion] = 0; }, "version 0");
  bad([](uint8_t* p) { Store32(p + kFrameLen, Load32(p + kFrameLen) - 4); }, "len % 8");
  bad([](uint8_t* p) { Store32(p + kFrameLen, Load32(p + kFrameLen) - 1); }, "len odd");
  bad([](uint8_t* p) { Store32(p + kFrameCount, 0); }, "count 0");
  bad([](uint8_t* p) { Store32(p + kFrameLen, 40); }, "len below header + one record");
  bad([](uint8_t* p) { Store32(p + kFrameCount, 1000000); }, "count cannot fit");
  bad([](uint8_t* p) { Store32(p + kFrameLen, kMaxFrameBytes + 8); }, "len above max");
}

TEST(FrameTest, BadCrcOnEveryFlippedByte) {
  const std::string good = BuildFrame(77, 123, ThreeRecords());
  for (size_t i = 4; i < good.size(); ++i) {
    if (i >= kFrameMagic && i < kFrameMagic + 4) continue;  // magic/version: kBadHeader
    if (i >= kFrameCount && i < kFrameCount + 4) continue;  // count: may be kBadHeader
    std::string f = good;
    f[i] = static_cast<char>(f[i] ^ 0x20);
    EXPECT_EQ(Check(f, true), FrameCheck::kBadCrc) << "byte " << i;
    // Without verification only the header is looked at.
    if (i >= kFrameHeaderSize) {
      EXPECT_EQ(Check(f, false), FrameCheck::kOk) << "byte " << i;
    }
  }
  // A flipped count that still fits fails the CRC.
  std::string f = good;
  Store32(U(f) + kFrameCount, 2);
  EXPECT_EQ(Check(f, true), FrameCheck::kBadCrc);
}

TEST(FrameTest, BadRecordsWithValidCrc) {
  // Each record layout inconsistency, with the CRC recomputed so only the walk catches it.
  const std::string good = BuildFrame(0, 0, ThreeRecords());
  const size_t r0 = kFrameHeaderSize;
  auto bad = [&](auto edit, const char* what) {
    std::string f = good;
    edit(U(f));
    Recrc(f);
    EXPECT_EQ(Check(f, true), FrameCheck::kBadRecords) << what;
  };
  bad([&](uint8_t* p) { Store32(p + r0 + kRecDataLen, 1u << 20); }, "data len past frame");
  bad([&](uint8_t* p) { Store32(p + r0 + kRecDataLen, 0xffffffffu); }, "data len max");
  bad([&](uint8_t* p) { Store16(p + r0 + kRecKeyLen, 0xffff); }, "key len past frame");
  bad([&](uint8_t* p) { Store32(p + kFrameCount, 4); }, "one record more than written");
  // The last record's data grows into the padding and past the frame end by one byte.
  {
    std::string f = BuildFrame(0, 0, {{"k", "abc", 0}});  // 32 + 12 + 4 = 48, no padding
    ASSERT_EQ(f.size(), 48u);
    Store32(U(f) + r0 + kRecDataLen, 4);
    Recrc(f);
    EXPECT_EQ(Check(f, true), FrameCheck::kBadRecords);
  }
}

TEST(FrameTest, RecordTimestampPastInt64IsBadRecords) {
  // Regression (frame_fuzz): a frame with a matching CRC whose base timestamp plus a
  // record's delta overflows int64 passed the checks, and NextRecord's sum was undefined.
  EXPECT_EQ(Check(BuildFrame(0, INT64_MAX, {{"k", "d", 1}})), FrameCheck::kBadRecords);
  EXPECT_EQ(Check(BuildFrame(0, INT64_MAX - 7, {{"k", "d", 0}, {"k", "d", 8}})), FrameCheck::kBadRecords);
  FrameInfo fi;
  const std::string edge = BuildFrame(0, INT64_MAX - 7, {{"k", "d", 0}, {"k", "d", 7}});
  ASSERT_EQ(Check(edge, true, &fi), FrameCheck::kOk);
  RecordCursor cur = Records(U(edge), fi);
  RawRecord r;
  ASSERT_TRUE(NextRecord(cur, &r));
  ASSERT_TRUE(NextRecord(cur, &r));
  EXPECT_EQ(r.ts_ms, INT64_MAX);
  EXPECT_EQ(Check(BuildFrame(0, INT64_MIN, {{"k", "d", 0xffffffffu}})), FrameCheck::kOk);
}

// ---------------------------------------------------------------------------------------
// Index

std::vector<IndexEntry> SomeEntries() {
  return {{0, 4096, 100}, {10, 8192, 100}, {25, 12800, 150}, {40, 20000, 151}};
}

SegmentSummary SomeSummary() {
  SegmentSummary s;
  s.base_offset = 5000;
  s.next_offset = 5060;
  s.end_pos = 24576;
  s.first_ts = 100;
  s.last_ts = 170;
  s.ordinal = 12;
  return s;
}

TEST(IndexTest, RoundTrip) {
  auto e = SomeEntries();
  std::string bytes = EncodeIndex(SomeSummary(), e.data(), e.size());
  EXPECT_EQ(bytes.size(), kIndexHeaderSize + e.size() * kIndexEntrySize);
  SegmentSummary s;
  std::string entries;
  ASSERT_TRUE(DecodeIndex(bytes, "x.idx", &s, &entries).ok());
  EXPECT_EQ(s.base_offset, 5000u);
  EXPECT_EQ(s.next_offset, 5060u);
  EXPECT_EQ(s.end_pos, 24576u);
  EXPECT_EQ(s.first_ts, 100);
  EXPECT_EQ(s.last_ts, 170);
  EXPECT_EQ(s.ordinal, 12u);
  ASSERT_EQ(entries.size(), e.size() * kIndexEntrySize);
  for (size_t i = 0; i < e.size(); ++i) {
    IndexEntry got;
    std::memcpy(&got, entries.data() + i * kIndexEntrySize, kIndexEntrySize);
    EXPECT_EQ(got.rel_offset, e[i].rel_offset);
    EXPECT_EQ(got.pos, e[i].pos);
    EXPECT_EQ(got.ts, e[i].ts);
  }
}

TEST(IndexTest, EmptyRoundTrip) {
  SegmentSummary in;
  in.base_offset = in.next_offset = 9;
  in.ordinal = 3;
  std::string bytes = EncodeIndex(in, nullptr, 0);
  EXPECT_EQ(bytes.size(), kIndexHeaderSize);
  SegmentSummary s;
  std::string entries = "junk";
  ASSERT_TRUE(DecodeIndex(bytes, "x.idx", &s, &entries).ok());
  EXPECT_TRUE(entries.empty());
  EXPECT_EQ(s.base_offset, 9u);
  EXPECT_EQ(s.next_offset, 9u);
  EXPECT_EQ(s.end_pos, kSegmentHeaderSize);
  EXPECT_EQ(s.ordinal, 3u);
}

void ExpectIndexCorrupt(const std::string& bytes, const char* what) {
  SegmentSummary s;
  std::string entries;
  Status st = DecodeIndex(bytes, "000000000012.idx", &s, &entries);
  ASSERT_FALSE(st.ok()) << what;
  EXPECT_EQ(st.code(), Code::kCorruption) << what;
  EXPECT_NE(st.message().find("000000000012.idx"), std::string::npos) << what << ": " << st;
}

// Re-seals an edited index (so only the check under test can reject it).
void RecrcIndex(std::string& b) {
  auto* p = U(b);
  uint32_t n = Load32(p + kIdxCount);
  uint32_t crc = io::Crc32c(p, kIdxCrc);
  crc = io::Crc32cExtend(crc, p + kIndexHeaderSize,
                         std::min<size_t>(n * kIndexEntrySize, b.size() - kIndexHeaderSize));
  Store32(p + kIdxCrc, crc);
}

TEST(IndexTest, Rejections) {
  auto e = SomeEntries();
  const std::string good = EncodeIndex(SomeSummary(), e.data(), e.size());
  ExpectIndexCorrupt(good.substr(0, kIndexHeaderSize - 1), "truncated header");
  ExpectIndexCorrupt("", "empty");
  {
    std::string b = good;
    b[kIdxMagic] ^= 1;
    RecrcIndex(b);
    ExpectIndexCorrupt(b, "magic");
  }
  {
    std::string b = good;
    Store32(U(b) + kIdxVersion, kIndexVersion + 1);
    RecrcIndex(b);
    ExpectIndexCorrupt(b, "version");
  }
  for (size_t i : {size_t{kIdxBaseOffset}, size_t{kIdxEndPos}, size_t{kIdxOrdinal},
                   size_t{kIdxCrc}, kIndexHeaderSize + 3, good.size() - 1}) {
    std::string b = good;
    b[i] ^= 0x10;
    ExpectIndexCorrupt(b, "crc");
  }
  ExpectIndexCorrupt(good.substr(0, good.size() - kIndexEntrySize), "one entry missing");
  ExpectIndexCorrupt(good.substr(0, good.size() - 1), "short by one byte");
  ExpectIndexCorrupt(good + std::string(kIndexEntrySize, '\0'), "one entry too many");
  ExpectIndexCorrupt(good + "x", "trailing byte");
  {
    std::string b = good;
    Store32(U(b) + kIdxCount, 1000);
    RecrcIndex(b);
    ExpectIndexCorrupt(b, "count larger than the file");
  }
}

TEST(IndexTest, UnorderedEntries) {
  auto check = [](std::vector<IndexEntry> e, const char* what) {
    ExpectIndexCorrupt(EncodeIndex(SomeSummary(), e.data(), e.size()), what);
  };
  check({{0, 4096, 100}, {0, 8192, 100}}, "equal offsets");
  check({{5, 4096, 100}, {2, 8192, 100}}, "decreasing offsets");
  check({{0, 8192, 100}, {5, 8192, 100}}, "equal positions");
  check({{0, 8192, 100}, {5, 4096, 100}}, "decreasing positions");
  check({{0, 4096, 100}, {5, 8192, 99}}, "decreasing timestamps");
  check({{0, 4096, 1}, {5, 8192, 2}, {6, 9000, 3}, {6, 9100, 4}}, "late equal offsets");
  // Equal timestamps are fine (a burst in one ms).
  std::vector<IndexEntry> ok = {{0, 4096, 100}, {5, 8192, 100}};
  SegmentSummary s;
  std::string entries;
  EXPECT_TRUE(DecodeIndex(EncodeIndex(SomeSummary(), ok.data(), ok.size()), "x", &s, &entries).ok());
}

TEST(IndexTest, InconsistentSummary) {
  auto e = SomeEntries();
  SegmentSummary s = SomeSummary();
  s.next_offset = s.base_offset - 1;
  ExpectIndexCorrupt(EncodeIndex(s, e.data(), e.size()), "next < base");
  s = SomeSummary();
  s.end_pos = kSegmentHeaderSize - 8;
  ExpectIndexCorrupt(EncodeIndex(s, e.data(), e.size()), "end inside the header");
  s = SomeSummary();
  s.last_ts = s.first_ts - 1;
  ExpectIndexCorrupt(EncodeIndex(s, e.data(), e.size()), "last_ts < first_ts");
}

// ---------------------------------------------------------------------------------------
// log.meta

TEST(MetaTest, RoundTrip) {
  for (bool sealed : {false, true}) {
    LogMeta m;
    m.start_offset = 123456789012ull;
    m.sealed = sealed;
    m.sealed_next_offset = sealed ? 999999999999ull : 0;
    std::string b = EncodeMeta(m);
    auto got = DecodeMeta(b, "log.meta");
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_EQ(got->start_offset, m.start_offset);
    EXPECT_EQ(got->sealed, sealed);
    EXPECT_EQ(got->sealed_next_offset, m.sealed_next_offset);
  }
}

TEST(MetaTest, Rejections) {
  LogMeta m;
  m.start_offset = 42;
  const std::string good = EncodeMeta(m);
  auto bad = [](const std::string& b, const char* what) {
    auto got = DecodeMeta(b, "dir/log.meta");
    ASSERT_FALSE(got.ok()) << what;
    EXPECT_EQ(got.status().code(), Code::kCorruption) << what;
    EXPECT_NE(got.status().message().find("dir/log.meta"), std::string::npos) << what;
  };
  bad("", "empty");
  bad(good.substr(0, good.size() - 1), "short");
  bad(good + "x", "long");
  // Bytes [36, 40) follow the CRC and are not covered by it (unused padding).
  for (size_t i = 0; i < 36; ++i) {
    std::string b = good;
    b[i] ^= 0x04;
    bad(b, "flipped byte");
  }
  {
    std::string b = good;
    Store32(U(b) + 8, kMetaVersion + 1);
    Store32(U(b) + 32, io::Crc32c(U(b), 32));
    bad(b, "version");
  }
}

// ---------------------------------------------------------------------------------------
// Names

TEST(NamesTest, SegmentAndIndexNames) {
  EXPECT_EQ(SegmentFileName(42), "000000000042.seg");
  EXPECT_EQ(IndexFileName(42), "000000000042.idx");
  EXPECT_EQ(SegmentFileName(999999999999ull), "999999999999.seg");
  uint64_t o = 0;
  ASSERT_TRUE(ParseSegmentFileName("000000000042.seg", &o));
  EXPECT_EQ(o, 42u);
  ASSERT_TRUE(ParseSegmentFileName(SegmentFileName(123456789), &o));
  EXPECT_EQ(o, 123456789u);
  for (const char* bad : {"000000000042.idx", "00000000042.seg", "0000000000042.seg",
                          "00000000004x.seg", "000000000042.seg.tmp", "log.meta", "CLEAN", "",
                          "-00000000042.seg"})
    EXPECT_FALSE(ParseSegmentFileName(bad, &o)) << bad;
}

TEST(NamesTest, FrameCheckNames) {
  for (FrameCheck c : {FrameCheck::kOk, FrameCheck::kEnd, FrameCheck::kTruncated,
                       FrameCheck::kBadHeader, FrameCheck::kBadCrc, FrameCheck::kBadRecords})
    EXPECT_NE(FrameCheckName(c), "?");
}

}  // namespace
}  // namespace shoal::format
