// Request schemas and the two validation passes the Kinesis front end runs before any
// operation logic (spec §1.3 steps 9 and 10): type checking (first failure ->
// SerializationException with the Java front end's wording, §1.7.3) and constraint
// validation (up to 10 failures in one ValidationException, §1.7.4).
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/text.h"  // Utf8Length: how string lengths are counted

namespace shoal::api {

enum class Ty { kString, kInteger, kLong, kBoolean, kBlob, kTimestamp, kList, kMap, kStruct };
enum class Pat { kNone, kName, kHashKey, kSequenceNumber, kStreamArn };

struct Field {
  const char* name = "";
  Ty type = Ty::kString;
  bool required = false;
  int64_t min_len = -1;  // strings (characters), blobs (bytes), lists and maps (entries)
  int64_t max_len = -1;
  int64_t min_val = INT64_MIN;
  int64_t max_val = INT64_MAX;
  Pat pattern = Pat::kNone;
  std::span<const char* const> enums;   // allowed values of an enum string
  std::span<const Field> members;       // kStruct: its members; kList of structs: element members
  Ty element = Ty::kString;             // kList: element type (kStruct uses `members`)
};

struct ValidationResult {
  enum Kind { kOk, kSerialization, kValidation } kind = kOk;
  std::string message;
  // Decoded blobs in the order the schema walk met them (for PutRecord(s) Data).
  std::string arena;
  std::vector<std::pair<size_t, size_t>> blobs;  // (offset, length) into arena
  std::string_view Blob(size_t i) const {
    return std::string_view(arena).substr(blobs[i].first, blobs[i].second);
  }
};

// Runs both passes over `obj` against `fields`. `out` is reused between calls.
void Validate(simdjson::dom::object obj, std::span<const Field> fields, ValidationResult* out);

bool MatchesName(std::string_view s);             // [a-zA-Z0-9_.-]+
bool MatchesDecimal(std::string_view s, size_t max_digits);  // 0|([1-9]\d{0,max-1})
// The model's StreamARN pattern arn:aws.*:kinesis:.*:\d{12}:stream/\S+, with Java's regex
// semantics ('.' stops at line terminators, \s is ASCII white space).
bool MatchesStreamArn(std::string_view s);

}  // namespace shoal::api
