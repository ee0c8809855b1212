// Client::Impl, shared by the files that implement the client (client.cc: attempts,
// sessions, connections; client_routes.cc: the shard map; transaction.cc, etcd_txn.cc and
// internal_call.cc: what runs on top). Private to src/client: not installed, includes Asio.
// Everything here runs on the client's io thread.
#pragma once

#include <asio/awaitable.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "client/client.h"
#include "client/retry.h"
#include "client/route_cache.h"
#include "client/session_pool.h"
#include "net/client_connection.h"

namespace kv::client {

namespace detail {

using Clock = std::chrono::steady_clock;

// A coroutine parked until another hands it something (a session, a finished connect) or
// its deadline passes.
struct Waiter {
  explicit Waiter(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  bool woken = false;
  std::optional<Session> session;  // a session handed over by release
};
using WaiterPtr = std::shared_ptr<Waiter>;

struct EndpointState {
  std::shared_ptr<net::ClientConnection> connection;
  bool connecting = false;
  std::string last_error;          // why the latest connect failed
  std::vector<WaiterPtr> waiters;  // operations waiting for the connect in progress
};

// Returns true if woken before the deadline.
asio::awaitable<bool> park(WaiterPtr waiter, Clock::time_point deadline);
void wake(Waiter& waiter);
asio::awaitable<void> sleep_until(asio::io_context& io, Clock::time_point until);

// How one operation is carried: where it is routed, whether it runs in a write session, what
// a lost answer means, and when it gives up.
struct OpSpec {
  std::string route_key;  // sent to the leader of this key's shard
  bool session = false;   // exactly-once session; the same (client_id, seq) on every retry
  bool resend_when_maybe_applied = true;
  bool errors_as_answers = false;  // see PlanShape
  bool is_write = false;
  Clock::time_point deadline;
};

// The usual carriage of `op`: routed by its own key, a session for writes, the client's
// operation timeout.
OpSpec default_spec(const net::RequestOp& op, std::chrono::milliseconds operation_timeout);

// The body of the expected type, or an error.
template <class T>
Result<T> expect(Result<net::ResponseBody> r) {
  if (!r.ok()) return r.error();
  if (auto* body = std::get_if<T>(&r.value())) return std::move(*body);
  if (auto* error = std::get_if<net::ErrorResponse>(&r.value())) {
    return Error{ErrorKind::kInternal, std::string("unexpected error answer: ") + net::to_string(error->code) + ": " + error->message};
  }
  return Error{ErrorKind::kInternal, "the server answered with the wrong kind of response"};
}

// Reaches a Client's internals (transactions, the internal call) without making them API.
struct ClientAccess {
  static const std::shared_ptr<Client::Impl>& impl(const Client& client) { return client.impl_; }
};

}  // namespace detail

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  using Clock = detail::Clock;
  using ConnectionPtr = std::shared_ptr<net::ClientConnection>;

  Impl(asio::io_context& io_context, Options opts);

  asio::io_context& io;
  const Options options;
  std::mt19937_64 rng;  // backoff jitter
  detail::SessionPool sessions;
  std::deque<detail::WaiterPtr> session_waiters;  // FIFO: writes wait their turn for a session
  detail::RouteCache routes;
  std::unordered_map<std::string, detail::EndpointState> endpoints;  // never erased: references stay valid
  std::size_t rotation = 0;
  bool closed = false;
  bool refreshing = false;
  Clock::time_point last_refresh{};
  bool map_loading = false;
  std::vector<detail::WaiterPtr> map_waiters;  // operations waiting for that load
  ClientStats stats;

  // ---- client.cc
  asio::awaitable<Result<net::ResponseBody>> execute(net::RequestOp op);
  asio::awaitable<Result<net::ResponseBody>> execute(net::RequestOp op, detail::OpSpec spec);
  asio::awaitable<Result<net::ResponseBody>> run_attempts(const net::Request& request, const detail::OpSpec& spec,
                                                          detail::RetryPlan& plan);
  void learn_from_attempt(const std::string& key, const std::string& tried, bool is_write,
                          const net::CallResult& call, const detail::Step& next, bool redirected, bool stale);
  asio::awaitable<Result<net::ResponseBody>> call_once(std::string endpoint, net::RequestOp op,
                                                       Clock::time_point deadline);

  asio::awaitable<std::optional<detail::Session>> acquire_session(Clock::time_point deadline);
  bool hand_to_waiter(detail::Session session);
  void finish_session(detail::Session session, const Result<net::ResponseBody>& result);

  asio::awaitable<net::Result<ConnectionPtr>> connection(std::string endpoint, Clock::time_point deadline);
  void close();

  // ---- client_routes.cc
  // Loads the map with a ShardMapRequest (any node, retried) and installs it.
  asio::awaitable<Result<net::ShardMapResponse>> load_shard_map(Clock::time_point deadline);
  // Loads the map unless one is loaded (one load at a time: later callers wait for it);
  // afterwards routes.loaded() says whether there is one.
  asio::awaitable<void> ensure_shard_map(Clock::time_point deadline);
  void maybe_refresh_routes(const std::string& endpoint);
  asio::awaitable<void> refresh_routes(std::shared_ptr<Impl> self, std::string endpoint);
  // Installs the map from one node's status and members (servers without ShardMapRequest).
  asio::awaitable<bool> load_routes_from_status(std::string endpoint, Clock::time_point deadline);
};

}  // namespace kv::client

namespace kv::client::detail {

// A transaction on `impl`; its operations end by `deadline` when one is given.
Transaction new_transaction(std::shared_ptr<Client::Impl> impl, std::optional<Clock::time_point> deadline);

// Client::txn (etcd_txn.cc): one request when its keys lie in one shard, else a Transaction.
asio::awaitable<Result<TxnResult>> run_etcd_txn(std::shared_ptr<Client::Impl> impl, net::TxnRequest request);
// Client::del_range and range (etcd_txn.cc): one request within a shard, a one-op txn across
// shards. REQUIRES (del_range): request.range_end is not empty.
asio::awaitable<Result<DeleteResult>> run_del_range(std::shared_ptr<Client::Impl> impl, net::DeleteRequest request);
asio::awaitable<Result<RangeResult>> run_range(std::shared_ptr<Client::Impl> impl, net::RangeRequest request);

}  // namespace kv::client::detail
