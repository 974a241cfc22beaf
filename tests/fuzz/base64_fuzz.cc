// Fuzzes the base64 codec of Kinesis blobs (api/base64.h): every PutRecord(s) Data field
// goes through Base64Decode.
//
// Properties: what Base64Decode accepts is canonical (encoding the result gives the input
// back) and every rejection carries one of the spec's reasons; any bytes encode to a
// string of Base64EncodedSize() that decodes back to them.
#include <cstdint>
#include <string>
#include <string_view>

#include "api/base64.h"
#include "tests/fuzz/support/check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace shoal::api;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  std::string out = "stale", why;
  if (Base64Decode(in, &out, &why)) {
    std::string again;
    Base64Encode(out, &again);
    FUZZ_CHECK(again == in, "decoded {} bytes re-encode to something else", out.size());
  } else {
    FUZZ_CHECK(why.starts_with("Base64 encoded length is expected a multiple of 4 bytes but found: ") ||
                   why.starts_with("Invalid Base64 character: ") ||
                   why == "Invalid last non-pad Base64 character dectected",
               "unexpected reason '{}'", why);
  }
  std::string enc = "prefix";
  Base64Encode(in, &enc);
  FUZZ_CHECK(enc.size() == 6 + Base64EncodedSize(size), "encoded {} bytes to {}", size, enc.size() - 6);
  std::string dec;
  FUZZ_CHECK(Base64Decode(std::string_view(enc).substr(6), &dec, &why), "cannot decode own encoding: {}", why);
  FUZZ_CHECK(dec == in, "round trip changed {} bytes", size);
  return 0;
}
