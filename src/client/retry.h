// The retry policy of one client operation, as a pure state machine: fed how each attempt
// ended, it says where to send the next attempt and how long to wait first, or that the
// operation is over and with what result. No I/O, no clock, no threads: the caller (client.cc)
// owns the deadline and the sockets, and the tests drive this directly.
//
// The rules (docs: src/client/client.h):
//   - NotLeader with a hint: go to the hinted address; at once the first few times, then
//     with backoff (two nodes pointing at each other must not spin).
//   - NotLeader without a hint, Unavailable, a client-side timeout, a lost connection or a
//     failed connect: try the next endpoint (round-robin), after a backoff.
//   - TooManyRequests, a server-side timeout, WrongShard, a full send queue: same endpoint,
//     after a backoff.
//   - Everything else is an answer: success, or a definitive error.
//   - A write is "maybe applied" once any attempt may have reached a leader without a
//     definitive answer (client or server timeout, lost connection). That is sticky: a later
//     NotLeader does not undo it, because the earlier attempt may still commit. Out of time,
//     such a write is kIndeterminate; otherwise kUnavailable or kTimeout.
//   - A write outside any session (a transaction commit) is never sent again once it may
//     have been applied: a second copy could be applied too. It ends kIndeterminate there.
//
// Thread-safety: none (one operation, one coroutine).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "client/options.h"
#include "client/result.h"
#include "net/client_connection.h"
#include "net/client_protocol.h"

namespace kv::client::detail {

// Exponential backoff with jitter: the n-th wait is min(max, min * 2^n), then jittered down
// by up to `jitter` of itself.
class Backoff {
 public:
  // REQUIRES: 0 < min <= max, 0 <= jitter <= 1.
  Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, double jitter);

  std::chrono::milliseconds next(std::mt19937_64& rng);
  int retries() const { return retries_; }

 private:
  std::chrono::milliseconds min_;
  std::chrono::milliseconds max_;
  double jitter_;
  int retries_ = 0;
};

// What to do next.
struct Step {
  enum class Kind : std::uint8_t { kSend, kSucceed, kFail };
  Kind kind = Kind::kSend;
  std::string endpoint;                // kSend: where
  std::chrono::milliseconds delay{0};  // kSend: wait this long first
  net::ResponseBody body;              // kSucceed: the server's answer (an ErrorResponse only
                                       // with PlanShape::errors_as_answers)
  Error error;                         // kFail
};

// What kind of operation a plan carries.
struct PlanShape {
  bool is_write = false;
  // false: once an attempt may have been applied, stop with kIndeterminate rather than send
  // it again (a write without a session). Default: true (sessions make resending safe).
  bool resend_when_maybe_applied = true;
  // true: a definitive server error (conflict, badRequest, ...) ends the plan with kSucceed
  // and the ErrorResponse as the body, for callers that relay the server's answer as is.
  bool errors_as_answers = false;
  // Client endpoints of the replicas of the key's shard: tried, round-robin, before the
  // configured endpoints when no leader is known. Empty = unknown.
  std::vector<std::string> replicas;
};

class RetryPlan {
 public:
  // Round-robin over `shape.replicas`, then Options::endpoints (REQUIRES: not empty);
  // `rotation_start` spreads operations over them. `rng` must outlive the plan.
  RetryPlan(const Options& options, PlanShape shape, std::size_t rotation_start, std::mt19937_64& rng);
  RetryPlan(const Options& options, bool is_write, std::size_t rotation_start, std::mt19937_64& rng);

  // The first attempt: at `preferred` (the cached leader) if not empty, else round-robin.
  Step start(const std::string& preferred);
  Step on_connect_failed(const std::string& endpoint, const std::string& why);
  Step on_call(const std::string& endpoint, const net::CallResult& call);

  // The operation is out of time (`budget` is its whole timeout, for the message).
  Error on_deadline(std::chrono::milliseconds budget) const;
  // The client was closed under the operation.
  Error on_closed() const;

  // The latest retryable failure (empty message if none).
  const Error& last_error() const { return last_; }
  bool maybe_applied() const { return maybe_applied_; }
  int attempts() const { return attempts_; }  // reported so far (calls and failed connects)
  int redirects() const { return redirects_; }
  // The server said WrongShard, or redirected us: the caller's shard map may be stale.
  bool routes_stale() const { return routes_stale_; }
  // The server answered kStaleSequence: a bug (the caller asserts in debug builds).
  bool saw_stale_sequence() const { return saw_stale_sequence_; }

 private:
  Step send(std::string endpoint, bool immediate);
  Step send_next_endpoint(const std::string& after);
  Step on_error_response(const std::string& endpoint, const net::ErrorResponse& error);
  Step fail(ErrorKind kind, std::string message);
  Step fail_indeterminate();
  void note(ErrorKind kind, std::string message);

  const std::vector<std::string> endpoints_;
  const bool is_write_;
  const bool resend_when_maybe_applied_;
  const bool errors_as_answers_;
  const std::size_t max_immediate_redirects_;
  std::mt19937_64& rng_;
  Backoff backoff_;
  std::size_t rotation_;
  int attempts_ = 0;
  int redirects_ = 0;
  std::size_t immediate_redirects_ = 0;
  bool maybe_applied_ = false;
  bool routes_stale_ = false;
  bool saw_stale_sequence_ = false;
  Error last_;  // the latest retryable failure, for the final message
};

// The retry schedule of whole transactions that conflicted: a new attempt after an
// exponential backoff with jitter, bounded by a number of attempts and a deadline. Pure: the
// caller reads the clock and sleeps.
class ConflictRetry {
 public:
  // REQUIRES: max_attempts >= 1; the backoff's REQUIRES.
  ConflictRetry(int max_attempts, std::chrono::milliseconds backoff_min, std::chrono::milliseconds backoff_max,
                double backoff_jitter);

  // An attempt starts (call before each one, the first included).
  void on_attempt() { ++attempts_; }
  int attempts() const { return attempts_; }
  // After a conflict: how long to wait before the next attempt, or nullopt when none may be
  // made (attempts used up, or the wait would end past `time_left`).
  std::optional<std::chrono::milliseconds> next_wait(std::chrono::milliseconds time_left, std::mt19937_64& rng);

 private:
  const int max_attempts_;
  Backoff backoff_;
  int attempts_ = 0;
};

// The key a request is routed by: the key the server picks its shard by (the first key it
// checks). Empty for status and members.
const std::string& routing_key(const net::RequestOp& op);

}  // namespace kv::client::detail
