// Operating errors of the storage layer: a [[nodiscard]] Status and Result<T>.
//
// Two error channels (style.md item 11): conditions the world can cause — an I/O error, a
// corrupt or foreign data directory, a malformed snapshot chunk from a peer — come back as a
// Status. Broken invariants of our own code (a caller violating a REQUIRES) hit KV_ASSERT.
//
// When kv_storage is built without NDEBUG, a Status destroyed without ever being inspected
// (ok(), code(), message(), to_string()) aborts with its message, as RocksDB does under
// ASSERT_STATUS_CHECKED. permit_unchecked() marks a deliberate discard and is greppable.
//
// Thread-safety: a Status is a value; distinct objects may be used from distinct threads.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>

#include "common/assert.h"

namespace kv::storage {

class [[nodiscard]] Status {
 public:
  enum class Code : std::uint8_t {
    kOk = 0,
    kNotFound,           // the named thing does not exist (never for a missing user key)
    kInvalidArgument,    // bad options or a malformed input from outside (e.g. a snapshot chunk)
    kIOError,            // the file system or RocksDB failed to read or write
    kCorruption,         // a checksum, a record or the log structure on disk is wrong
    kWrongIdentity,      // the directory belongs to another cluster id or node id
    kUnsupportedFormat,  // an on-disk format version this build does not know
    kIncomplete,         // a directory with some, but not all, pieces of a node's store
  };

  Status() = default;  // OK
  ~Status() {
    if (!inspected_) [[unlikely]] report_uninspected();
  }
  Status(const Status& other);
  Status(Status&& other) noexcept;
  Status& operator=(const Status& other);
  Status& operator=(Status&& other) noexcept;

  static Status not_found(std::string message) { return {Code::kNotFound, std::move(message)}; }
  static Status invalid_argument(std::string message) { return {Code::kInvalidArgument, std::move(message)}; }
  static Status io_error(std::string message) { return {Code::kIOError, std::move(message)}; }
  static Status corruption(std::string message) { return {Code::kCorruption, std::move(message)}; }
  static Status wrong_identity(std::string message) { return {Code::kWrongIdentity, std::move(message)}; }
  static Status unsupported_format(std::string message) {
    return {Code::kUnsupportedFormat, std::move(message)};
  }
  static Status incomplete(std::string message) { return {Code::kIncomplete, std::move(message)}; }

  bool ok() const { mark_inspected(); return code_ == Code::kOk; }
  Code code() const { mark_inspected(); return code_; }
  const std::string& message() const { mark_inspected(); return message_; }
  // "Corruption: <message>", or "OK".
  std::string to_string() const;

  // Returns a copy whose message is "<context>: <message>" (same code). An OK status stays OK.
  Status with_context(const std::string& context) const;

  // Declares that discarding this status is intended.
  void permit_unchecked() const { mark_inspected(); }

 private:
  Status(Code code, std::string message) : code_(code), message_(std::move(message)) {
    KV_ASSERT(code != Code::kOk);
  }
  void mark_inspected() const { inspected_ = true; }
  // Aborts when kv_storage was built without NDEBUG; otherwise does nothing. The layout of
  // Status does not depend on NDEBUG, so code built either way links and agrees.
  void report_uninspected() const;

  Code code_ = Code::kOk;
  std::string message_;
  mutable bool inspected_ = false;
};

const char* to_string(Status::Code code);

// Either a value or a non-OK Status.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT(google-explicit-constructor)
  Result(Status status) : status_(std::move(status)) {  // NOLINT(google-explicit-constructor)
    KV_ASSERT_MSG(!status_.ok(), "a Result without a value needs an error status");
  }

  bool ok() const { return status_.ok(); }
  const Status& status() const { return status_; }
  // REQUIRES: ok().
  T& value() & { return checked_value(); }
  const T& value() const& { return const_cast<Result*>(this)->checked_value(); }
  T&& value() && { return std::move(checked_value()); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

 private:
  T& checked_value() {
    KV_ASSERT_MSG(status_.ok(), status_.message().c_str());
    KV_ASSERT(value_.has_value());
    return *value_;
  }

  Status status_;
  std::optional<T> value_;
};

}  // namespace kv::storage

// Returns early from the enclosing function with `expr`'s status when it is not OK.
#define KV_RETURN_IF_ERROR(expr)               \
  do {                                         \
    ::kv::storage::Status kv_status_ = (expr); \
    if (!kv_status_.ok()) return kv_status_;   \
  } while (0)
