#include "client/retry.h"

#include <algorithm>
#include <type_traits>

#include "common/assert.h"

namespace kv::client::detail {

// ---- Backoff

Backoff::Backoff(std::chrono::milliseconds min, std::chrono::milliseconds max, double jitter)
    : min_(min), max_(max), jitter_(jitter) {
  KV_ASSERT(min.count() > 0);
  KV_ASSERT(min <= max);
  KV_ASSERT(jitter >= 0.0 && jitter <= 1.0);
}

std::chrono::milliseconds Backoff::next(std::mt19937_64& rng) {
  // Doubling stops once at max; the shift is bounded so it cannot overflow.
  const int shift = std::min(retries_, 30);
  const std::int64_t base = std::min<std::int64_t>(max_.count(), min_.count() << shift);
  ++retries_;
  if (jitter_ <= 0.0) return std::chrono::milliseconds(base);
  std::uniform_real_distribution<double> fraction(1.0 - jitter_, 1.0);
  const auto waited = static_cast<std::int64_t>(static_cast<double>(base) * fraction(rng));
  KV_ASSERT(waited <= base);
  return std::chrono::milliseconds(std::max<std::int64_t>(1, waited));
}

// ---- RetryPlan

namespace {

std::vector<std::string> known(const std::vector<std::string>& replicas) {
  std::vector<std::string> out;
  for (const std::string& e : replicas) {
    if (!e.empty() && std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  }
  return out;
}

// The shard's replicas first (a node that hosts the shard can serve it, or knows who does),
// starting at a different one for each operation; then the configured endpoints not among
// them.
std::vector<std::string> rotation_list(const std::vector<std::string>& replicas, const std::vector<std::string>& configured,
                                       std::size_t rotation_start) {
  std::vector<std::string> out = known(replicas);
  if (!out.empty()) {
    std::rotate(out.begin(), out.begin() + static_cast<std::ptrdiff_t>(rotation_start % out.size()), out.end());
  }
  for (const std::string& e : configured) {
    if (std::find(out.begin(), out.end(), e) == out.end()) out.push_back(e);
  }
  return out;
}

}  // namespace

RetryPlan::RetryPlan(const Options& options, bool is_write, std::size_t rotation_start, std::mt19937_64& rng)
    : RetryPlan(options, PlanShape{is_write, true, false, {}}, rotation_start, rng) {}

RetryPlan::RetryPlan(const Options& options, PlanShape shape, std::size_t rotation_start, std::mt19937_64& rng)
    : endpoints_(rotation_list(shape.replicas, options.endpoints, rotation_start)),
      is_write_(shape.is_write),
      resend_when_maybe_applied_(shape.resend_when_maybe_applied),
      errors_as_answers_(shape.errors_as_answers),
      // Enough to walk a chain of fresh hints across the cluster, not enough to spin on two
      // nodes that name each other during an election.
      max_immediate_redirects_(endpoints_.size() + 1),
      rng_(rng),
      backoff_(options.backoff_min, options.backoff_max, options.backoff_jitter),
      rotation_(known(shape.replicas).empty() ? rotation_start : 0) {
  KV_ASSERT(!endpoints_.empty());
  KV_ASSERT(endpoints_.size() >= options.endpoints.size());
}

Step RetryPlan::start(const std::string& preferred) {
  KV_ASSERT(attempts_ == 0);
  if (!preferred.empty()) return send(preferred, true);
  return send(endpoints_[rotation_++ % endpoints_.size()], true);
}

Step RetryPlan::send(std::string endpoint, bool immediate) {
  KV_ASSERT(!endpoint.empty());
  Step step;
  step.kind = Step::Kind::kSend;
  step.endpoint = std::move(endpoint);
  if (immediate) {
    ++immediate_redirects_;
  } else {
    step.delay = backoff_.next(rng_);
    immediate_redirects_ = 0;
  }
  return step;
}

Step RetryPlan::send_next_endpoint(const std::string& after) {
  std::string next = endpoints_[rotation_++ % endpoints_.size()];
  if (next == after && endpoints_.size() > 1) next = endpoints_[rotation_++ % endpoints_.size()];
  return send(std::move(next), false);
}

Step RetryPlan::fail(ErrorKind kind, std::string message) {
  Step step;
  step.kind = Step::Kind::kFail;
  step.error = Error{kind, std::move(message)};
  return step;
}

void RetryPlan::note(ErrorKind kind, std::string message) { last_ = Error{kind, std::move(message)}; }

Step RetryPlan::on_connect_failed(const std::string& endpoint, const std::string& why) {
  ++attempts_;
  note(ErrorKind::kUnavailable, why.empty() ? "cannot connect to " + endpoint : why);
  return send_next_endpoint(endpoint);
}

Step RetryPlan::on_call(const std::string& endpoint, const net::CallResult& call) {
  ++attempts_;
  switch (call.status) {
    case net::CallStatus::kOk:
      if (const auto* error = std::get_if<net::ErrorResponse>(&call.response.body)) {
        return on_error_response(endpoint, *error);
      } else {
        Step step;
        step.kind = Step::Kind::kSucceed;
        step.body = call.response.body;
        return step;
      }
    case net::CallStatus::kTimeout:
    case net::CallStatus::kDisconnected:
      // The request may have reached the leader and may still commit.
      if (is_write_) maybe_applied_ = true;
      note(call.status == net::CallStatus::kTimeout ? ErrorKind::kTimeout : ErrorKind::kUnavailable,
           endpoint + ": " + call.error);
      if (is_write_ && !resend_when_maybe_applied_) return fail_indeterminate();
      return send_next_endpoint(endpoint);
    case net::CallStatus::kTooLarge:
      return fail(ErrorKind::kInvalidArgument, "the request is too large to send: " + call.error);
    case net::CallStatus::kOverloaded:
      note(ErrorKind::kUnavailable, endpoint + ": " + call.error);
      return send(endpoint, false);
    case net::CallStatus::kBadResponse:
      // An answer this build cannot read (a newer server): a retry would get the same answer
      // (for a write: the same cached one), so stop here.
      if (is_write_) {
        maybe_applied_ = true;
        return fail(ErrorKind::kIndeterminate,
                    endpoint + ": the write may or may not have been applied: unreadable answer: " + call.error);
      }
      return fail(ErrorKind::kInternal, endpoint + ": unreadable answer: " + call.error);
  }
  KV_PANIC("unknown CallStatus");
}

Step RetryPlan::on_error_response(const std::string& endpoint, const net::ErrorResponse& error) {
  const std::string what = endpoint + ": " + net::to_string(error.code) + ": " + error.message;
  switch (error.code) {
    case net::ErrorCode::kNotLeader: {
      note(ErrorKind::kUnavailable, what);
      const std::string& hint = error.leader_hint.client_addr;
      if (hint.empty() || hint == endpoint) return send_next_endpoint(endpoint);
      ++redirects_;
      routes_stale_ = true;
      return send(hint, immediate_redirects_ < max_immediate_redirects_);
    }
    case net::ErrorCode::kUnavailable:
      note(ErrorKind::kUnavailable, what);
      return send_next_endpoint(endpoint);
    case net::ErrorCode::kTooManyRequests:
      note(ErrorKind::kUnavailable, what);
      return send(endpoint, false);
    case net::ErrorCode::kTimeout:
      if (is_write_) maybe_applied_ = true;
      note(ErrorKind::kTimeout, what);
      if (is_write_ && !resend_when_maybe_applied_) return fail_indeterminate();
      return send(endpoint, false);
    case net::ErrorCode::kWrongShard:
      routes_stale_ = true;
      note(ErrorKind::kUnavailable, what);
      return send(endpoint, false);
    default:
      break;
  }
  if (errors_as_answers_) {
    // Definitive: relayed as the server's answer. (kStaleSequence is still a bug, noted.)
    if (error.code == net::ErrorCode::kStaleSequence) saw_stale_sequence_ = true;
    Step step;
    step.kind = Step::Kind::kSucceed;
    step.body = error;
    return step;
  }
  switch (error.code) {
    case net::ErrorCode::kKeyTooLarge:
    case net::ErrorCode::kValueTooLarge:
    case net::ErrorCode::kBadRequest:
      return fail(ErrorKind::kInvalidArgument, what);
    case net::ErrorCode::kConflict:
      return fail(ErrorKind::kConflict, what);
    case net::ErrorCode::kUnsupported:
      return fail(ErrorKind::kUnsupported, what);
    case net::ErrorCode::kInternal:
      return fail(ErrorKind::kInternal, what);
    case net::ErrorCode::kStaleSequence:
      // The client never reuses a sequence number after moving on, so this is a bug here
      // or in the server's session table (client.cc asserts on it in debug builds).
      saw_stale_sequence_ = true;
      return fail(ErrorKind::kInternal, "bug: " + what);
    default:
      break;
  }
  return fail(ErrorKind::kInternal, endpoint + ": unknown error code " +
                                        std::to_string(static_cast<int>(error.code)) + ": " + error.message);
}

Step RetryPlan::fail_indeterminate() {
  KV_ASSERT(is_write_);
  KV_ASSERT(maybe_applied_);
  return fail(ErrorKind::kIndeterminate, "the write may or may not have been applied (it is not sent twice): " + last_.message);
}

Error RetryPlan::on_deadline(std::chrono::milliseconds budget) const {
  const std::string tries = " (" + std::to_string(budget.count()) + " ms, " + std::to_string(attempts_) +
                            (attempts_ == 1 ? " attempt)" : " attempts)");
  const std::string last = last_.message.empty() ? "" : "; last error: " + last_.message;
  if (attempts_ == 0) {
    return Error{ErrorKind::kTimeout, "the deadline passed before the request could be sent (nothing was sent)" + tries};
  }
  if (is_write_ && maybe_applied_) {
    return Error{ErrorKind::kIndeterminate,
                 "the write may or may not have been applied: no definitive answer before the deadline" + tries + last};
  }
  if (last_.kind == ErrorKind::kTimeout) return Error{ErrorKind::kTimeout, "no answer before the deadline" + tries + last};
  return Error{ErrorKind::kUnavailable, "no node could serve the request before the deadline" + tries + last};
}

Error RetryPlan::on_closed() const {
  if (is_write_ && maybe_applied_) {
    return Error{ErrorKind::kIndeterminate, "the client was closed; the write may or may not have been applied"};
  }
  return Error{ErrorKind::kClosed, "the client was closed"};
}

// ---- ConflictRetry

ConflictRetry::ConflictRetry(int max_attempts, std::chrono::milliseconds backoff_min, std::chrono::milliseconds backoff_max,
                             double backoff_jitter)
    : max_attempts_(max_attempts), backoff_(backoff_min, backoff_max, backoff_jitter) {
  KV_ASSERT(max_attempts >= 1);
}

std::optional<std::chrono::milliseconds> ConflictRetry::next_wait(std::chrono::milliseconds time_left, std::mt19937_64& rng) {
  KV_ASSERT(attempts_ >= 1);
  if (attempts_ >= max_attempts_) return std::nullopt;
  const std::chrono::milliseconds wait = backoff_.next(rng);
  // Waiting past the deadline would only turn a conflict into a later timeout.
  if (wait >= time_left) return std::nullopt;
  return wait;
}

// ---- routing

const std::string& routing_key(const net::RequestOp& op) {
  static const std::string kNone;
  auto key_of_txn_op = [](const net::TxnOp& t) -> const std::string& {
    return std::visit([](const auto& r) -> const std::string& {
      if constexpr (std::is_same_v<std::decay_t<decltype(r)>, net::RangeRequest>) return r.start;
      else return r.key;
    }, t);
  };
  return std::visit([&](const auto& r) -> const std::string& {
    using T = std::decay_t<decltype(r)>;
    if constexpr (std::is_same_v<T, net::RangeRequest>) {
      return r.start;
    } else if constexpr (std::is_same_v<T, net::TxnRequest>) {
      // The server routes a txn by the first key it checks: compares, then success, then failure.
      if (!r.compares.empty()) return r.compares.front().key;
      if (!r.success.empty()) return key_of_txn_op(r.success.front());
      if (!r.failure.empty()) return key_of_txn_op(r.failure.front());
      return kNone;
    } else if constexpr (std::is_same_v<T, net::TxnPrepareRequest>) {
      return r.part.writes.empty() ? (r.part.reads.empty() ? (r.part.ranges.empty() ? kNone : r.part.ranges.front().start)
                                                           : r.part.reads.front().key)
                                   : r.part.writes.front().key;
    } else if constexpr (std::is_same_v<T, net::TxnDecideRequest>) {
      return r.primary;
    } else if constexpr (requires { r.key; }) {
      return r.key;
    } else {
      // No key (status, members, the shard map, a commit, a shard leader claim): shard 0's,
      // whose range starts at "".
      return kNone;
    }
  }, op);
}

}  // namespace kv::client::detail
