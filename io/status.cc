#include "io/status.h"

#include <cerrno>
#include <cstring>

namespace shoal {

std::string_view CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kInvalidArgument: return "InvalidArgument";
    case Code::kNotFound: return "NotFound";
    case Code::kAlreadyExists: return "AlreadyExists";
    case Code::kCorruption: return "Corruption";
    case Code::kIOError: return "IOError";
    case Code::kNoSpace: return "NoSpace";
    case Code::kClosed: return "Closed";
    case Code::kFailed: return "Failed";
    case Code::kBusy: return "Busy";
    case Code::kOutOfRange: return "OutOfRange";
    case Code::kThrottled: return "Throttled";
    case Code::kInUse: return "InUse";
    case Code::kLimitExceeded: return "LimitExceeded";
    case Code::kInternal: return "Internal";
  }
  return "Unknown";
}

Status Status::FromErrno(int err, std::string_view context) {
  Code code = Code::kIOError;
  if (err == ENOSPC || err == EDQUOT) code = Code::kNoSpace;
  else if (err == ENOENT) code = Code::kNotFound;
  else if (err == EEXIST) code = Code::kAlreadyExists;
  std::string msg = fmt::format("{}: {} (errno {})", context, std::strerror(err), err);
  if (code == Code::kNoSpace) msg += "; free space on the file system and retry";
  return Status(code, std::move(msg));
}

std::string Status::ToString() const {
  if (ok()) return "OK";
  return fmt::format("{}: {}", CodeName(code_), message_);
}

}  // namespace shoal
