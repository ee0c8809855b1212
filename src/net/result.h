// Result<T>: a value or an error message, for operations that fail on bad input or I/O
// (decoding a frame, connecting, a request that timed out). Programmer errors are
// KV_ASSERTs instead (see src/common/assert.h).
#pragma once

#include <string>
#include <utility>
#include <variant>

#include "common/assert.h"

namespace kv::net {

struct Failure {
  std::string message;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit on purpose
  Result(Failure failure) : state_(std::in_place_index<1>, std::move(failure)) {}  // NOLINT

  static Result failure(std::string message) { return Result(Failure{std::move(message)}); }

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

 private:
  std::variant<T, Failure> state_;
};

}  // namespace kv::net
