// Client (see client.h): the retry loop, connections, write sessions and the route cache,
// all on the io thread. The policy lives in retry.cc, session_pool.cc and route_cache.cc
// (pure); this file only waits, connects and sends.
#include "client/client.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>
#include <deque>
#include <optional>
#include <random>
#include <unordered_map>

#include "client/retry.h"
#include "client/route_cache.h"
#include "client/session_pool.h"
#include "common/assert.h"
#include "net/client_connection.h"

namespace kv::client {

namespace {

using Clock = std::chrono::steady_clock;
using ConnectionPtr = std::shared_ptr<net::ClientConnection>;
using namespace std::chrono_literals;

// The shard map is reloaded at most this often (a burst of redirects costs one reload).
constexpr auto kRouteRefreshInterval = 1s;
// A reload's budget: it is an optimisation, never worth waiting long for.
constexpr auto kRouteRefreshTimeout = 2s;
// An attempt with less time than this left is not made: it could not get an answer, and for
// a write it would turn a clean "not applied" into "indeterminate".
constexpr auto kMinAttemptTime = 1ms;

std::uint64_t random_client_id() {
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ static_cast<std::uint64_t>(device());
}

std::chrono::milliseconds remaining(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  return std::max(left, 1ms);
}

// A coroutine parked until another hands it something (a session, a finished connect) or
// its deadline passes.
struct Waiter {
  explicit Waiter(asio::io_context& io) : timer(io) {}
  asio::steady_timer timer;
  bool woken = false;
  std::optional<detail::Session> session;  // a session handed over by release
};
using WaiterPtr = std::shared_ptr<Waiter>;

// Returns true if woken before the deadline.
asio::awaitable<bool> park(WaiterPtr waiter, Clock::time_point deadline) {
  if (waiter->woken) co_return true;
  waiter->timer.expires_at(deadline);
  std::error_code ignored;  // operation_aborted = woken
  co_await waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_return waiter->woken;
}

void wake(Waiter& waiter) {
  waiter.woken = true;
  waiter.timer.cancel();
}

asio::awaitable<void> sleep_until(asio::io_context& io, Clock::time_point until) {
  asio::steady_timer timer(io, until);
  std::error_code ignored;
  co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
}

// The body of the expected type, or an error.
template <class T>
Result<T> expect(Result<net::ResponseBody> r) {
  if (!r.ok()) return r.error();
  if (auto* body = std::get_if<T>(&r.value())) return std::move(*body);
  return Error{ErrorKind::kInternal, "the server answered with the wrong kind of response"};
}

// Keys are never empty, so "\0" is the first possible key: where "every key" starts.
std::string first_key_if_empty(std::string start) { return start.empty() ? std::string(1, '\0') : start; }

}  // namespace

struct EndpointState {
  ConnectionPtr connection;
  bool connecting = false;
  std::string last_error;          // why the latest connect failed
  std::vector<WaiterPtr> waiters;  // operations waiting for the connect in progress
};

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  Impl(asio::io_context& io_context, Options opts)
      : io(io_context), options(std::move(opts)), rng(random_client_id()), sessions(options.max_sessions, random_client_id) {}

  asio::io_context& io;
  const Options options;
  std::mt19937_64 rng;  // backoff jitter
  detail::SessionPool sessions;
  std::deque<WaiterPtr> session_waiters;  // FIFO: writes wait their turn for a session
  detail::RouteCache routes;
  std::unordered_map<std::string, EndpointState> endpoints;  // never erased: references stay valid
  std::size_t rotation = 0;
  bool closed = false;
  bool refreshing = false;
  Clock::time_point last_refresh{};
  ClientStats stats;

  asio::awaitable<Result<net::ResponseBody>> execute(net::RequestOp op);
  asio::awaitable<Result<net::ResponseBody>> run_attempts(const net::Request& request, Clock::time_point deadline,
                                                          detail::RetryPlan& plan);
  void learn_from_attempt(const std::string& key, const std::string& tried, bool is_write,
                          const net::CallResult& call, const detail::Step& next, bool redirected);
  asio::awaitable<Result<net::ResponseBody>> call_once(std::string endpoint, net::RequestOp op,
                                                       Clock::time_point deadline);

  asio::awaitable<std::optional<detail::Session>> acquire_session(Clock::time_point deadline);
  bool hand_to_waiter(detail::Session session);
  void finish_session(detail::Session session, const Result<net::ResponseBody>& result);

  asio::awaitable<net::Result<ConnectionPtr>> connection(std::string endpoint, Clock::time_point deadline);
  void maybe_refresh_routes(const std::string& endpoint);
  asio::awaitable<void> refresh_routes(std::shared_ptr<Impl> self, std::string endpoint);
  void close();
};

// ---- one operation

asio::awaitable<Result<net::ResponseBody>> Client::Impl::execute(net::RequestOp op) {
  ++stats.operations;
  if (closed) co_return Error{ErrorKind::kClosed, "the client was closed"};
  const Clock::time_point deadline = Clock::now() + options.operation_timeout;
  const bool is_write = net::is_write(op);
  net::Request request{0, 0, 0, 0, std::move(op)};
  std::optional<detail::Session> session;
  if (is_write) {
    session = co_await acquire_session(deadline);
    if (!session) {
      if (closed) co_return Error{ErrorKind::kClosed, "the client was closed"};
      co_return Error{ErrorKind::kTimeout, "no free write session within " +
                                               std::to_string(options.operation_timeout.count()) + " ms: all " +
                                               std::to_string(options.max_sessions) +
                                               " sessions have a write in flight (nothing was sent)"};
    }
    request.client_id = session->client_id;
    request.seq = session->next_seq();  // the same (client_id, seq) on every retry below
  }
  detail::RetryPlan plan(options, is_write, rotation++, rng);
  Result<net::ResponseBody> result = co_await run_attempts(request, deadline, plan);
#ifndef NDEBUG
  KV_ASSERT_MSG(!plan.saw_stale_sequence(), "the server saw a sequence number reused: a session bug");
#endif
  if (session) finish_session(*session, result);
  co_return result;
}

asio::awaitable<Result<net::ResponseBody>> Client::Impl::run_attempts(const net::Request& request,
                                                                      Clock::time_point deadline,
                                                                      detail::RetryPlan& plan) {
  const std::string& key = detail::routing_key(request.op);
  detail::Step step = plan.start(routes.leader_for(key));
  while (step.kind == detail::Step::Kind::kSend) {
    if (step.delay.count() > 0) {
      const Clock::time_point wake_at = std::min(Clock::now() + step.delay, deadline);
      co_await sleep_until(io, wake_at);
    }
    if (closed) co_return plan.on_closed();
    if (deadline - Clock::now() < kMinAttemptTime) co_return plan.on_deadline(options.operation_timeout);
    const std::string tried = step.endpoint;
    auto connecting = connection(tried, deadline);
    net::Result<ConnectionPtr> conn = co_await std::move(connecting);
    if (!conn.ok()) {
      routes.forget(tried);
      step = plan.on_connect_failed(tried, conn.error());
      continue;
    }
    ++stats.attempts;
    const auto timeout = std::min(options.request_timeout, remaining(deadline));
    auto calling = conn.value()->call(request, timeout);
    const net::CallResult call = co_await std::move(calling);
    const int redirects_before = plan.redirects();
    step = plan.on_call(tried, call);
    learn_from_attempt(key, tried, request.client_id != 0, call, step, plan.redirects() > redirects_before);
  }
  if (step.kind == detail::Step::Kind::kSucceed) co_return std::move(step.body);
  co_return std::move(step.error);
}

// Keeps the route cache in line with what the attempt showed.
void Client::Impl::learn_from_attempt(const std::string& key, const std::string& tried, bool is_write,
                                      const net::CallResult& call, const detail::Step& next, bool redirected) {
  if (redirected) {
    ++stats.redirects;
    routes.learn(key, next.endpoint);
    maybe_refresh_routes(next.endpoint);
  } else if (next.kind == detail::Step::Kind::kSucceed) {
    // Followers answer reads too; only a write proves that `tried` leads the key's shard.
    if (is_write) routes.learn(key, tried);
  } else if (!call.ok()) {
    routes.forget(tried);  // unreachable or slow: lead nothing until it shows otherwise
  } else if (routes.leader_for(key) == tried) {
    routes.learn(key, "");  // it could not serve the key: stop sending there first
  }
}

// One attempt at one endpoint, no redirect (status, and the shard-map reload).
asio::awaitable<Result<net::ResponseBody>> Client::Impl::call_once(std::string endpoint, net::RequestOp op,
                                                                   Clock::time_point deadline) {
  if (closed) co_return Error{ErrorKind::kClosed, "the client was closed"};
  const auto budget = remaining(deadline);
  detail::RetryPlan plan(options, /*is_write=*/false, 0, rng);
  auto connecting = connection(endpoint, deadline);
  net::Result<ConnectionPtr> conn = co_await std::move(connecting);
  if (!conn.ok()) co_return Error{ErrorKind::kUnavailable, conn.error()};
  ++stats.attempts;
  const net::Request request{0, 0, 0, 0, std::move(op)};
  auto calling = conn.value()->call(request, std::min(options.request_timeout, budget));
  const net::CallResult call = co_await std::move(calling);
  detail::Step step = plan.on_call(endpoint, call);
  if (step.kind == detail::Step::Kind::kSucceed) co_return std::move(step.body);
  if (step.kind == detail::Step::Kind::kFail) co_return std::move(step.error);
  co_return plan.last_error();  // a retryable failure, and no retries here
}

// ---- write sessions

asio::awaitable<std::optional<detail::Session>> Client::Impl::acquire_session(Clock::time_point deadline) {
  if (session_waiters.empty()) {
    if (std::optional<detail::Session> s = sessions.try_acquire()) co_return s;
  }
  auto waiter = std::make_shared<Waiter>(io);
  session_waiters.push_back(waiter);
  auto parked = park(waiter, deadline);
  co_await std::move(parked);
  // Checked first: a session may have been handed over just as the deadline fired.
  if (waiter->session) co_return waiter->session;
  std::erase(session_waiters, waiter);
  co_return std::nullopt;
}

// Gives `session` to the longest-waiting write; false if none is waiting.
bool Client::Impl::hand_to_waiter(detail::Session session) {
  while (!session_waiters.empty()) {
    WaiterPtr waiter = std::move(session_waiters.front());
    session_waiters.pop_front();
    if (waiter->woken) continue;  // closed under it
    waiter->session = session;
    wake(*waiter);
    return true;
  }
  return false;
}

void Client::Impl::finish_session(detail::Session session, const Result<net::ResponseBody>& result) {
  // Any definitive answer frees the session: the server has recorded (client_id, seq), or
  // refused it before recording, the same way for every copy. Only an unknown outcome (or a
  // bug) retires it, so that no later write on it can race the lost one.
  const bool unknown = !result.ok() && (result.kind() == ErrorKind::kIndeterminate || result.kind() == ErrorKind::kInternal);
  if (!unknown) {
    if (!hand_to_waiter(session)) sessions.release(session);
    return;
  }
  sessions.discard(session);
  ++stats.sessions_discarded;
  if (session_waiters.empty()) return;
  // The slot is free again: a waiting write gets a brand-new session.
  std::optional<detail::Session> fresh = sessions.try_acquire();
  KV_ASSERT(fresh.has_value());
  if (!hand_to_waiter(*fresh)) sessions.release(*fresh);
}

// ---- connections

// The open connection to `endpoint`, connecting once for everyone who asks meanwhile.
asio::awaitable<net::Result<ConnectionPtr>> Client::Impl::connection(std::string endpoint, Clock::time_point deadline) {
  using R = net::Result<ConnectionPtr>;
  if (closed) co_return R::failure("the client was closed");
  EndpointState& state = endpoints[endpoint];
  if (state.connection && state.connection->is_open()) co_return state.connection;
  if (state.connecting) {
    auto waiter = std::make_shared<Waiter>(io);
    state.waiters.push_back(waiter);
    auto parked = park(waiter, deadline);
    const bool woken = co_await std::move(parked);
    if (state.connection && state.connection->is_open()) co_return state.connection;
    co_return R::failure(woken ? state.last_error : "connect to " + endpoint + " did not finish in time");
  }
  const std::optional<HostPort> where = parse_host_port(endpoint);
  if (!where) co_return R::failure("\"" + endpoint + "\" is not host:port");
  state.connecting = true;
  state.connection.reset();
  net::ClientConnectionOptions connection_options;
  connection_options.connect_timeout = std::min(options.connect_timeout, remaining(deadline));
  auto connecting = net::ClientConnection::connect(io, where->host, where->port, connection_options);
  R made = co_await std::move(connecting);
  state.connecting = false;
  if (made.ok()) {
    ++stats.connects;
    state.connection = made.value();
    if (closed) state.connection->close();
  } else {
    ++stats.connect_failures;
    state.last_error = made.error();
  }
  for (const WaiterPtr& w : state.waiters) wake(*w);
  state.waiters.clear();
  if (closed) co_return R::failure("the client was closed");
  co_return made;
}

// ---- the shard map

void Client::Impl::maybe_refresh_routes(const std::string& endpoint) {
  if (refreshing || closed) return;
  const Clock::time_point now = Clock::now();
  if (last_refresh != Clock::time_point{} && now - last_refresh < kRouteRefreshInterval) return;
  refreshing = true;
  last_refresh = now;
  asio::co_spawn(io, refresh_routes(shared_from_this(), endpoint), asio::detached);
}

// Loads the shard map from `endpoint` (just named a leader, so likely up to date).
asio::awaitable<void> Client::Impl::refresh_routes(std::shared_ptr<Impl> self, std::string endpoint) {
  KV_ASSERT(self.get() == this);
  KV_ASSERT(refreshing);
  const Clock::time_point deadline = Clock::now() + std::min<std::chrono::milliseconds>(kRouteRefreshTimeout, options.request_timeout);
  net::RequestOp status_op = net::StatusRequest{};  // named locals: see docs/coroutines.md
  net::RequestOp members_op = net::MembersRequest{};
  auto asking_status = call_once(endpoint, std::move(status_op), deadline);
  Result<net::ResponseBody> status = co_await std::move(asking_status);
  auto asking_members = call_once(endpoint, std::move(members_op), deadline);
  Result<net::ResponseBody> members = co_await std::move(asking_members);
  refreshing = false;
  if (!status.ok() || !members.ok()) co_return;  // keep the old map; hints still correct it
  const auto* s = std::get_if<net::StatusResponse>(&status.value());
  const auto* m = std::get_if<net::MembersResponse>(&members.value());
  if (s == nullptr || m == nullptr) co_return;
  if (routes.reset(detail::routes_from(*s, *m))) ++stats.route_refreshes;
}

void Client::Impl::close() {
  if (closed) return;
  closed = true;
  for (auto& [name, state] : endpoints) {
    if (state.connection) state.connection->close();  // pending calls end kDisconnected
    for (const WaiterPtr& w : state.waiters) wake(*w);
    state.waiters.clear();
  }
  for (const WaiterPtr& w : session_waiters) wake(*w);
  session_waiters.clear();
}

// =============================================================================================
// Client

namespace {

// `impl` is held by the coroutine, so operations may outlive the Client object.
template <class T>
asio::awaitable<Result<T>> run_op(std::shared_ptr<Client::Impl> impl, net::RequestOp op) {
  auto executing = impl->execute(std::move(op));
  Result<net::ResponseBody> body = co_await std::move(executing);
  co_return expect<T>(std::move(body));
}

template <class T>
asio::awaitable<Result<T>> fail_op(Error error) {
  co_return std::move(error);
}

asio::awaitable<Result<StatusResult>> status_op(std::shared_ptr<Client::Impl> impl, std::string endpoint) {
  const auto budget = std::min(impl->options.request_timeout, impl->options.operation_timeout);
  ++impl->stats.operations;
  net::RequestOp op = net::StatusRequest{};
  const Clock::time_point deadline = Clock::now() + budget;
  auto asking = impl->call_once(std::move(endpoint), std::move(op), deadline);
  Result<net::ResponseBody> body = co_await std::move(asking);
  co_return expect<StatusResult>(std::move(body));
}

}  // namespace

Client::Client(asio::io_context& io, Options options) {
  const std::string invalid = options.validate();
  KV_ASSERT_MSG(invalid.empty(), invalid.c_str());
  impl_ = std::make_shared<Impl>(io, std::move(options));
}

Client::~Client() { close(); }

void Client::close() { impl_->close(); }

ClientStats Client::stats() const {
  ClientStats out = impl_->stats;
  out.sessions_created = impl_->sessions.created();
  out.sessions_discarded = impl_->sessions.discarded();
  return out;
}

// The public operations are plain functions that build the request into a NAMED local and
// hand it to a coroutine; every coroutine here creates its awaitable as a named local before
// awaiting it. g++ 12.2 mishandles objects with destructors created inside a co_await
// full-expression or as a coroutine's by-value argument (docs/coroutines.md). Seen here as
// a bad free under ASan, and reproduced standalone with a braced temporary argument.

asio::awaitable<Result<GetResult>> Client::get(std::string key, GetOptions options) {
  net::RequestOp op = net::GetRequest{std::move(key), options.serializable};
  return run_op<GetResult>(impl_, std::move(op));
}

asio::awaitable<Result<RangeResult>> Client::range(std::string start, std::string end, RangeOptions options) {
  if (!end.empty()) start = first_key_if_empty(std::move(start));
  net::RequestOp op = net::RangeRequest{std::move(start), std::move(end), options.limit, options.serializable,
                                        options.keys_only, options.count_only};
  return run_op<RangeResult>(impl_, std::move(op));
}

asio::awaitable<Result<RangeResult>> Client::prefix(std::string prefix, RangeOptions options) {
  std::string end = net::prefix_end(prefix);
  return range(first_key_if_empty(std::move(prefix)), std::move(end), options);
}

asio::awaitable<Result<PutResult>> Client::put(std::string key, std::string value, PutOptions options) {
  net::RequestOp op = net::PutRequest{std::move(key), std::move(value), options.prev_kv};
  return run_op<PutResult>(impl_, std::move(op));
}

asio::awaitable<Result<DeleteResult>> Client::del(std::string key, DeleteOptions options) {
  net::RequestOp op = net::DeleteRequest{std::move(key), {}, options.prev_kv};
  return run_op<DeleteResult>(impl_, std::move(op));
}

asio::awaitable<Result<DeleteResult>> Client::del_range(std::string start, std::string end, DeleteOptions options) {
  if (end.empty()) {
    Error error{ErrorKind::kInvalidArgument, "del_range needs a range end (del deletes one key)"};
    return fail_op<DeleteResult>(std::move(error));
  }
  net::RequestOp op = net::DeleteRequest{first_key_if_empty(std::move(start)), std::move(end), options.prev_kv};
  return run_op<DeleteResult>(impl_, std::move(op));
}

asio::awaitable<Result<DeleteResult>> Client::del_prefix(std::string prefix, DeleteOptions options) {
  std::string end = net::prefix_end(prefix);
  return del_range(std::move(prefix), std::move(end), options);
}

asio::awaitable<Result<CasResult>> Client::cas(std::string key, Compare compare, CasThen then) {
  net::RequestOp op = net::CasRequest{std::move(key), std::move(compare), std::move(then)};
  return run_op<CasResult>(impl_, std::move(op));
}

asio::awaitable<Result<TxnResult>> Client::txn(TxnRequest request) {
  net::RequestOp op = std::move(request);
  return run_op<TxnResult>(impl_, std::move(op));
}

asio::awaitable<Result<StatusResult>> Client::status(std::string endpoint) {
  return status_op(impl_, std::move(endpoint));
}

asio::awaitable<Result<MembersResult>> Client::members() {
  net::RequestOp op = net::MembersRequest{};
  return run_op<MembersResult>(impl_, std::move(op));
}

}  // namespace kv::client
