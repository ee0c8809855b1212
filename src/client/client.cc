// Client (see client.h): the retry loop, connections and write sessions, all on the io
// thread. The policy lives in retry.cc, session_pool.cc and route_cache.cc (pure); this file
// only waits, connects and sends. The shard map is loaded in client_routes.cc.
#include "client/client.h"

#include <asio/redirect_error.hpp>
#include <asio/use_awaitable.hpp>

#include <algorithm>

#include "client/client_impl.h"
#include "common/assert.h"

namespace kv::client {

using detail::Clock;
using detail::Waiter;
using detail::WaiterPtr;
using detail::park;
using detail::sleep_until;
using detail::wake;
using ConnectionPtr = std::shared_ptr<net::ClientConnection>;
using namespace std::chrono_literals;

namespace {

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

// Keys are never empty, so "\0" is the first possible key: where "every key" starts.
std::string first_key_if_empty(std::string start) { return start.empty() ? std::string(1, '\0') : start; }

// An answer whose outcome is unknown, or that shows a bug: the session is not reused.
bool session_untrusted(const Result<net::ResponseBody>& result) {
  if (!result.ok()) return result.kind() == ErrorKind::kIndeterminate || result.kind() == ErrorKind::kInternal;
  const auto* error = std::get_if<net::ErrorResponse>(&result.value());
  return error != nullptr && (error->code == net::ErrorCode::kInternal || error->code == net::ErrorCode::kStaleSequence);
}

}  // namespace

asio::awaitable<bool> detail::park(WaiterPtr waiter, Clock::time_point deadline) {
  if (waiter->woken) co_return true;
  waiter->timer.expires_at(deadline);
  std::error_code ignored;  // operation_aborted = woken
  auto waiting = waiter->timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_await std::move(waiting);
  co_return waiter->woken;
}

void detail::wake(Waiter& waiter) {
  waiter.woken = true;
  waiter.timer.cancel();
}

asio::awaitable<void> detail::sleep_until(asio::io_context& io, Clock::time_point until) {
  asio::steady_timer timer(io, until);
  std::error_code ignored;
  auto waiting = timer.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
  co_await std::move(waiting);
}

detail::OpSpec detail::default_spec(const net::RequestOp& op, std::chrono::milliseconds operation_timeout) {
  OpSpec spec;
  spec.route_key = routing_key(op);
  spec.is_write = net::is_write(op);
  spec.session = spec.is_write;
  spec.deadline = Clock::now() + operation_timeout;
  return spec;
}

Client::Impl::Impl(asio::io_context& io_context, Options opts)
    : io(io_context), options(std::move(opts)), rng(random_client_id()), sessions(options.max_sessions, random_client_id) {}

// ---- one operation

asio::awaitable<Result<net::ResponseBody>> Client::Impl::execute(net::RequestOp op) {
  detail::OpSpec spec = detail::default_spec(op, options.operation_timeout);
  auto executing = execute(std::move(op), std::move(spec));
  co_return co_await std::move(executing);
}

asio::awaitable<Result<net::ResponseBody>> Client::Impl::execute(net::RequestOp op, detail::OpSpec spec) {
  ++stats.operations;
  if (closed) co_return Error{ErrorKind::kClosed, "the client was closed"};
  KV_ASSERT(!spec.session || spec.is_write);
  net::Request request{0, 0, 0, 0, std::move(op)};
  std::optional<detail::Session> session;
  if (spec.session) {
    auto acquiring = acquire_session(spec.deadline);
    session = co_await std::move(acquiring);
    if (!session) {
      if (closed) co_return Error{ErrorKind::kClosed, "the client was closed"};
      co_return Error{ErrorKind::kTimeout, "no free write session before the deadline: all " +
                                               std::to_string(options.max_sessions) +
                                               " sessions have a write in flight (nothing was sent)"};
    }
    request.client_id = session->client_id;
    request.seq = session->next_seq();  // the same (client_id, seq) on every retry below
  }
  detail::PlanShape shape{spec.is_write, spec.resend_when_maybe_applied, spec.errors_as_answers,
                          routes.route_for(spec.route_key).replicas};
  detail::RetryPlan plan(options, std::move(shape), rotation++, rng);
  auto attempting = run_attempts(request, spec, plan);
  Result<net::ResponseBody> result = co_await std::move(attempting);
#ifndef NDEBUG
  KV_ASSERT_MSG(!plan.saw_stale_sequence(), "the server saw a sequence number reused: a session bug");
#endif
  if (session) finish_session(*session, result);
  co_return result;
}

asio::awaitable<Result<net::ResponseBody>> Client::Impl::run_attempts(const net::Request& request,
                                                                      const detail::OpSpec& spec,
                                                                      detail::RetryPlan& plan) {
  const std::string& key = spec.route_key;
  const Clock::time_point deadline = spec.deadline;
  const auto budget = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
  const bool own_node_read = options.reads_at_endpoints && !spec.is_write;
  detail::Step step = plan.start(own_node_read ? options.endpoints.front() : routes.leader_for(key));
  while (step.kind == detail::Step::Kind::kSend) {
    if (step.delay.count() > 0) {
      const Clock::time_point wake_at = std::min(Clock::now() + step.delay, deadline);
      co_await sleep_until(io, wake_at);
    }
    if (closed) co_return plan.on_closed();
    if (deadline - Clock::now() < kMinAttemptTime) co_return plan.on_deadline(std::max(budget, 1ms));
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
    const bool stale_before = plan.routes_stale();
    step = plan.on_call(tried, call);
    learn_from_attempt(key, tried, request.client_id != 0, call, step, plan.redirects() > redirects_before,
                       plan.routes_stale() && !stale_before);
  }
  if (step.kind == detail::Step::Kind::kSucceed) co_return std::move(step.body);
  co_return std::move(step.error);
}

// Keeps the route cache in line with what the attempt showed.
void Client::Impl::learn_from_attempt(const std::string& key, const std::string& tried, bool is_write,
                                      const net::CallResult& call, const detail::Step& next, bool redirected,
                                      bool stale) {
  if (redirected) {
    ++stats.redirects;
    routes.learn(key, next.endpoint);
    maybe_refresh_routes(next.endpoint);
  } else if (stale) {
    maybe_refresh_routes(tried);  // WrongShard: the shard's ranges moved
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
  if (!session_untrusted(result)) {
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
  detail::EndpointState& state = endpoints[endpoint];
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
  for (const WaiterPtr& w : map_waiters) wake(*w);
  map_waiters.clear();
}

// =============================================================================================
// Client

namespace {

// `impl` is held by the coroutine, so operations may outlive the Client object.
template <class T>
asio::awaitable<Result<T>> run_op(std::shared_ptr<Client::Impl> impl, net::RequestOp op) {
  auto executing = impl->execute(std::move(op));
  Result<net::ResponseBody> body = co_await std::move(executing);
  co_return detail::expect<T>(std::move(body));
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
  co_return detail::expect<StatusResult>(std::move(body));
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
  net::RangeRequest request{std::move(start), std::move(end), options.limit, options.serializable,
                           options.keys_only, options.count_only};
  return detail::run_range(impl_, std::move(request));
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
  net::DeleteRequest request{first_key_if_empty(std::move(start)), std::move(end), options.prev_kv};
  return detail::run_del_range(impl_, std::move(request));
}

asio::awaitable<Result<DeleteResult>> Client::del_prefix(std::string prefix, DeleteOptions options) {
  std::string end = net::prefix_end(prefix);
  return del_range(std::move(prefix), std::move(end), options);
}

asio::awaitable<Result<CasResult>> Client::cas(std::string key, Compare compare, CasThen then) {
  net::RequestOp op = net::CasRequest{std::move(key), std::move(compare), std::move(then)};
  return run_op<CasResult>(impl_, std::move(op));
}

asio::awaitable<Result<StatusResult>> Client::status(std::string endpoint) {
  return status_op(impl_, std::move(endpoint));
}

asio::awaitable<Result<MembersResult>> Client::members() {
  net::RequestOp op = net::MembersRequest{};
  return run_op<MembersResult>(impl_, std::move(op));
}

}  // namespace kv::client
