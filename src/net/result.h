// Result<T>: a value or an error message, for operations that fail on bad input or I/O
// (decoding a frame, connecting, a request that timed out). Programmer errors are
// KV_ASSERTs instead (see src/common/assert.h).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <variant>

#include "common/assert.h"

namespace kv::net {

// Why something failed, where callers act differently on it (e.g. a decoder: a message that
// is not valid Cap'n Proto leaves nothing to trust, while a valid message holding an enum
// value or union member this build does not know can still be answered).
enum class FailureKind : std::uint8_t {
  kOther = 0,
  kMalformed,    // not a valid message (bad pointers, truncated, trailing bytes, over limits)
  kUnsupported,  // a valid message with a value this build does not know or accept
};

struct Failure {
  std::string message;
  FailureKind kind = FailureKind::kOther;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Failure failure) : state_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT

  static Result failure(std::string message, FailureKind kind = FailureKind::kOther) {
    return Result(Failure{std::move(message), kind});
  }

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & {
    KV_ASSERT_MSG(ok(), error().c_str());
    return std::get<0>(state_);
  }
  const T& value() const& {
    KV_ASSERT_MSG(ok(), error().c_str());
    return std::get<0>(state_);
  }
  T&& value() && {
    KV_ASSERT_MSG(ok(), error().c_str());
    return std::get<0>(std::move(state_));
  }

  // The reason for the failure; empty when ok().
  const std::string& error() const {
    static const std::string kNone;
    return ok() ? kNone : std::get<1>(state_).message;
  }
  // kOther when ok().
  FailureKind failure_kind() const { return ok() ? FailureKind::kOther : std::get<1>(state_).kind; }

 private:
  std::variant<T, Failure> state_;
};

}  // namespace kv::net
