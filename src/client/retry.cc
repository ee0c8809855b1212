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

RetryPlan::RetryPlan(const Options& options, bool is_write, std::size_t rotation_start, std::mt19937_64& rng)
    : endpoints_(options.endpoints),
      is_write_(is_write),
      // Enough to walk a chain of fresh hints across the cluster, not enough to spin on two
      // nodes that name each other during an election.
      max_immediate_redirects_(options.endpoints.size() + 1),
      rng_(rng),
      backoff_(options.backoff_min, options.backoff_max, options.backoff_jitter),
      rotation_(rotation_start) {
  KV_ASSERT(!endpoints_.empty());
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
      return send(endpoint, false);
    case net::ErrorCode::kWrongShard:
      routes_stale_ = true;
      note(ErrorKind::kUnavailable, what);
      return send(endpoint, false);
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
  }
  return fail(ErrorKind::kInternal, endpoint + ": unknown error code " +
                                        std::to_string(static_cast<int>(error.code)) + ": " + error.message);
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
    } else if constexpr (std::is_same_v<T, net::StatusRequest> || std::is_same_v<T, net::MembersRequest> ||
                         std::is_same_v<T, net::ShardMapRequest> || std::is_same_v<T, net::TxnCommitRequest>) {
      return kNone;
    } else {
      return r.key;
    }
  }, op);
}

}  // namespace kv::client::detail
