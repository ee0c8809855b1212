// Result<T>: what every client operation returns — a value, or an Error whose kind says what
// the caller may conclude and do next. The kinds are few on purpose: each one is a different
// decision for the caller (fix the request, retry later, find out whether the write
// happened), not a copy of the wire protocol's error codes.
//
// Not an error: a get of a missing key (GetResult::found == false), a CAS or txn whose
// compare failed (succeeded == false). Those are answers.
//
// Thread-safety: plain values; no shared state.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "common/assert.h"

namespace kv::client {

enum class ErrorKind : std::uint8_t {
  // The request is wrong (key or value too large, empty key, malformed, larger than a
  // frame). Nothing was applied. Do not retry it unchanged.
  kInvalidArgument = 0,
  // No node could serve the operation before its deadline: no leader was known, no endpoint
  // answered, or the cluster stayed overloaded. A write was surely NOT applied.
  kUnavailable = 1,
  // The deadline passed while waiting for an answer (a read), or for a free write session
  // (nothing sent). A write with this kind was surely NOT applied.
  kTimeout = 2,
  // Writes only: the write was sent but no definitive answer came before the deadline. It
  // may or may not have been applied (exactly once if at all); read the key to find out.
  kIndeterminate = 3,
  // A transaction conflicted with another one; not applied. Retrying the whole
  // read-modify-write is safe.
  kConflict = 4,
  // The server does not support this request, or (after a retried write) applied it but
  // could not keep its result; the message says which.
  kUnsupported = 5,
  // A bug or an unexpected failure, in the server or in this library.
  kInternal = 6,
  // The client was closed while the operation ran. A write with this kind was not applied;
  // one that may have been is reported kIndeterminate instead.
  kClosed = 7,
};
inline constexpr int kErrorKindCount = 8;

// "invalid-argument", "unavailable", ... (stable: kvctl prints it).
const char* to_string(ErrorKind kind);

struct Error {
  ErrorKind kind = ErrorKind::kInternal;
  std::string message;  // for people: what failed, where, and the last cause seen

  bool operator==(const Error&) const = default;
};

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}   // NOLINT: implicit on purpose
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}  // NOLINT

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  // REQUIRES: ok().
  T& value() & {
    check_ok();
    return std::get<0>(state_);
  }
  const T& value() const& {
    check_ok();
    return std::get<0>(state_);
  }
  T&& value() && {
    check_ok();
    return std::get<0>(std::move(state_));
  }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  // REQUIRES: !ok().
  const Error& error() const {
    KV_ASSERT_MSG(!ok(), "error() of a successful Result");
    return std::get<1>(state_);
  }
  ErrorKind kind() const { return error().kind; }
  const std::string& message() const { return error().message; }

 private:
  void check_ok() const {
    if (!ok()) KV_ASSERT_MSG(ok(), std::get<1>(state_).message.c_str());
  }

  std::variant<T, Error> state_;
};

// Success with no value, or an Error (what a transaction body returns, for instance).
//   co_return kv::client::Result<void>{};   // success
template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;  // success
  Result(Error error) : error_(std::move(error)) {}  // NOLINT: implicit on purpose

  bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }

  // REQUIRES: !ok().
  const Error& error() const {
    KV_ASSERT_MSG(!ok(), "error() of a successful Result");
    return *error_;
  }
  ErrorKind kind() const { return error().kind; }
  const std::string& message() const { return error().message; }

 private:
  std::optional<Error> error_;
};

}  // namespace kv::client
