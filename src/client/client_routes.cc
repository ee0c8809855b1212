// The client's shard map (see route_cache.h): loaded on demand before a transaction needs
// shard boundaries, and reloaded in the background after a redirect or WrongShard showed the
// cached one stale. A ShardMapRequest gives every shard; a server without it (kUnsupported)
// is asked for its status and members instead.
#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>

#include "client/client_impl.h"
#include "common/assert.h"

namespace kv::client {

using detail::Clock;
using namespace std::chrono_literals;

namespace {

// The shard map is reloaded at most this often (a burst of redirects costs one reload).
constexpr auto kRouteRefreshInterval = 1s;
// A reload's budget: it is an optimisation, never worth waiting long for.
constexpr auto kRouteRefreshTimeout = 2s;

}  // namespace

asio::awaitable<Result<net::ShardMapResponse>> Client::Impl::load_shard_map(Clock::time_point deadline) {
  net::RequestOp op = net::ShardMapRequest{};
  detail::OpSpec spec = detail::default_spec(op, options.operation_timeout);
  spec.deadline = std::min(spec.deadline, deadline);
  auto asking = execute(std::move(op), std::move(spec));
  Result<net::ResponseBody> answer = co_await std::move(asking);
  Result<net::ShardMapResponse> map = detail::expect<net::ShardMapResponse>(std::move(answer));
  // A map that does not cover every key once is not installed; hints keep routing working.
  if (map.ok() && routes.reset(detail::routes_from(map.value()))) ++stats.route_refreshes;
  co_return map;
}

asio::awaitable<void> Client::Impl::ensure_shard_map(Clock::time_point deadline) {
  if (routes.loaded() || closed) co_return;
  // No throttle here: whoever calls needs the map to be right, and gets no answer without
  // the cluster anyway.
  if (map_loading) {
    // One load for everyone: callers that went ahead without a map could split a range at
    // the wrong boundaries.
    auto waiter = std::make_shared<detail::Waiter>(io);
    map_waiters.push_back(waiter);
    auto parked = detail::park(waiter, deadline);
    co_await std::move(parked);
    std::erase(map_waiters, waiter);
    co_return;
  }
  const Clock::time_point now = Clock::now();
  map_loading = true;
  const Clock::time_point budget = std::min(deadline, now + kRouteRefreshTimeout);
  auto loading = load_shard_map(budget);
  Result<net::ShardMapResponse> map = co_await std::move(loading);
  if (!map.ok() && map.kind() == ErrorKind::kUnsupported && !closed) {
    const std::string endpoint = options.endpoints[rotation++ % options.endpoints.size()];
    auto fallback = load_routes_from_status(endpoint, budget);
    co_await std::move(fallback);
  }
  map_loading = false;
  for (const detail::WaiterPtr& w : map_waiters) detail::wake(*w);
  map_waiters.clear();
  KV_ASSERT(!map_loading);
}

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
  const Clock::time_point deadline =
      Clock::now() + std::min<std::chrono::milliseconds>(kRouteRefreshTimeout, options.request_timeout);
  net::RequestOp op = net::ShardMapRequest{};  // named locals: see docs/coroutines.md
  auto asking = call_once(endpoint, std::move(op), deadline);
  Result<net::ResponseBody> answer = co_await std::move(asking);
  Result<net::ShardMapResponse> map = detail::expect<net::ShardMapResponse>(std::move(answer));
  if (map.ok()) {
    if (routes.reset(detail::routes_from(map.value()))) ++stats.route_refreshes;
  } else if (map.kind() == ErrorKind::kUnsupported) {
    auto fallback = load_routes_from_status(endpoint, deadline);
    co_await std::move(fallback);
  }
  // Otherwise the old map stays; hints still correct it.
  refreshing = false;
}

asio::awaitable<bool> Client::Impl::load_routes_from_status(std::string endpoint, Clock::time_point deadline) {
  net::RequestOp status_op = net::StatusRequest{};
  net::RequestOp members_op = net::MembersRequest{};
  auto asking_status = call_once(endpoint, std::move(status_op), deadline);
  Result<net::ResponseBody> status = co_await std::move(asking_status);
  auto asking_members = call_once(endpoint, std::move(members_op), deadline);
  Result<net::ResponseBody> members = co_await std::move(asking_members);
  if (!status.ok() || !members.ok()) co_return false;
  const auto* s = std::get_if<net::StatusResponse>(&status.value());
  const auto* m = std::get_if<net::MembersResponse>(&members.value());
  if (s == nullptr || m == nullptr) co_return false;
  if (!routes.reset(detail::routes_from(*s, *m))) co_return false;
  ++stats.route_refreshes;
  co_return true;
}

// ---- Client

namespace {

asio::awaitable<Result<ShardMapResult>> shard_map_op(std::shared_ptr<Client::Impl> impl) {
  const Clock::time_point deadline = Clock::now() + impl->options.operation_timeout;
  auto loading = impl->load_shard_map(deadline);
  co_return co_await std::move(loading);
}

}  // namespace

asio::awaitable<Result<ShardMapResult>> Client::shard_map() { return shard_map_op(impl_); }

}  // namespace kv::client
