#include "storage/status.h"

#include <cstdio>
#include <cstdlib>

namespace kv::storage {

Status::Status(const Status& other) : code_(other.code_), message_(other.message_) {
  other.mark_inspected();
}

Status::Status(Status&& other) noexcept
    : code_(other.code_), message_(std::move(other.message_)), inspected_(other.inspected_) {
  other.mark_inspected();
}

Status& Status::operator=(const Status& other) {
  if (this != &other) {
    code_ = other.code_;
    message_ = other.message_;
    inspected_ = false;
    other.mark_inspected();
  }
  return *this;
}

Status& Status::operator=(Status&& other) noexcept {
  if (this != &other) {
    code_ = other.code_;
    message_ = std::move(other.message_);
    inspected_ = other.inspected_;
    other.mark_inspected();
  }
  return *this;
}

void Status::report_uninspected() const {
#ifndef NDEBUG
  std::fprintf(stderr, "FATAL: storage Status destroyed without being inspected: %s%s%s\n",
               kv::storage::to_string(code_), message_.empty() ? "" : ": ", message_.c_str());
  std::fflush(stderr);
  std::abort();
#endif
}

std::string Status::to_string() const {
  mark_inspected();
  if (code_ == Code::kOk) return "OK";
  return std::string(kv::storage::to_string(code_)) + ": " + message_;
}

Status Status::with_context(const std::string& context) const {
  mark_inspected();
  if (code_ == Code::kOk) return Status();
  return Status(code_, context + ": " + message_);
}

const char* to_string(Status::Code code) {
  switch (code) {
    case Status::Code::kOk: return "OK";
    case Status::Code::kNotFound: return "NotFound";
    case Status::Code::kInvalidArgument: return "InvalidArgument";
    case Status::Code::kIOError: return "IOError";
    case Status::Code::kCorruption: return "Corruption";
    case Status::Code::kWrongIdentity: return "WrongIdentity";
    case Status::Code::kUnsupportedFormat: return "UnsupportedFormat";
    case Status::Code::kIncomplete: return "Incomplete";
  }
  return "Unknown";
}

}  // namespace kv::storage
