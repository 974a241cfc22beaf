// Status and Result<T>: the error values that cross every io/ and kernel/ API.
//
// Shoal never throws across its public API. A function that can fail returns a
// [[nodiscard]] Status (or Result<T>, a value or a Status). The code says what kind of
// failure it was so a caller can branch on it; the message says what happened and what
// to do, in words a person can act on ("segment 00000000000000004096.seg: CRC mismatch
// at byte 81920; the file is corrupt, restore it or truncate the log below offset 5120").
#pragma once

#include <fmt/format.h>

#include <cassert>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace shoal {

enum class Code : int {
  kOk = 0,
  kInvalidArgument,  // the caller passed something the API does not accept
  kNotFound,         // the named thing does not exist
  kAlreadyExists,    // the named thing exists already
  kCorruption,       // bytes on disk failed a check (CRC, magic, length, order)
  kIOError,          // the OS reported an I/O failure (EIO and the like)
  kNoSpace,          // the file system is full (ENOSPC / EDQUOT)
  kClosed,           // the object was closed or sealed; no more appends
  kFailed,           // a previous unrecoverable error (e.g. fsync failure) poisons the object
  kBusy,             // locked by another user (e.g. a data directory open elsewhere)
  kOutOfRange,       // a position before the start or after the end of a log
  kThrottled,        // a rate limit refused the call; retry later
  kInUse,            // the resource's state does not allow this now
  kLimitExceeded,    // a count limit was reached
  kInternal,         // a bug: an invariant did not hold
};

std::string_view CodeName(Code code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return Status(); }
  template <typename... Args>
  static Status Make(Code code, fmt::format_string<Args...> f, Args&&... args) {
    return Status(code, fmt::format(f, std::forward<Args>(args)...));
  }
  // Turns an errno value into a Status: ENOSPC/EDQUOT -> kNoSpace, ENOENT -> kNotFound,
  // EEXIST -> kAlreadyExists, everything else -> kIOError. `context` names the
  // operation and the file ("open /data/x.seg").
  static Status FromErrno(int err, std::string_view context);

  bool ok() const { return code_ == Code::kOk; }
  Code code() const { return code_; }
  const std::string& message() const { return message_; }
  std::string ToString() const;

  // Marks a status as deliberately ignored (e.g. best-effort cleanup on an error path).
  void IgnoreError() const {}

 private:
  Code code_ = Code::kOk;
  std::string message_;
};

// A value or an error. Accessing value() of an error Result is a bug (asserts).
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).ok() && "Result built from an OK status");
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  const Status& status() const {
    static const Status kOkStatus;
    return ok() ? kOkStatus : std::get<Status>(v_);
  }
  T& value() & {
    assert(ok());
    return std::get<T>(v_);
  }
  const T& value() const& {
    assert(ok());
    return std::get<T>(v_);
  }
  T&& value() && {
    assert(ok());
    return std::get<T>(std::move(v_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }

 private:
  std::variant<T, Status> v_;
};

inline std::ostream& operator<<(std::ostream& os, const Status& s) { return os << s.ToString(); }

}  // namespace shoal

#define SHOAL_CONCAT_INNER(a, b) a##b
#define SHOAL_CONCAT(a, b) SHOAL_CONCAT_INNER(a, b)

// Returns early from the enclosing function if `expr` (a Status) is not OK.
#define SHOAL_RETURN_IF_ERROR(expr)            \
  do {                                         \
    ::shoal::Status _shoal_st = (expr);        \
    if (!_shoal_st.ok()) return _shoal_st;     \
  } while (0)

// `SHOAL_ASSIGN_OR_RETURN(auto x, Foo())` : x = Foo().value() or return its status.
#define SHOAL_ASSIGN_OR_RETURN(lhs, expr) \
  SHOAL_ASSIGN_OR_RETURN_IMPL(SHOAL_CONCAT(_shoal_r, __LINE__), lhs, expr)
#define SHOAL_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                \
  if (!tmp.ok()) return tmp.status();               \
  lhs = std::move(tmp).value()

template <>
struct fmt::formatter<shoal::Status> : fmt::formatter<std::string> {
  auto format(const shoal::Status& s, format_context& ctx) const {
    return fmt::formatter<std::string>::format(s.ToString(), ctx);
  }
};
