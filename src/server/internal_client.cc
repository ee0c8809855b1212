#include "server/internal_client.h"

#include <asio/io_context.hpp>

#include "client/client.h"
#include "client/internal_call.h"

namespace kv::server {

InternalClient::InternalClient(asio::io_context& io, std::vector<std::string> endpoints) {
  client::Options options;
  options.endpoints = std::move(endpoints);
  // Every in-flight prepare, decide and resolve holds a session: enough for a few thousand
  // transactions coordinated at once (a session costs a few hundred bytes here and one
  // entry in each shard's table, which evicts the least recently used).
  options.max_sessions = 8192;
  client_ = std::make_unique<client::Client>(io, std::move(options));
}

InternalClient::~InternalClient() = default;

void InternalClient::close() { client_->close(); }

asio::awaitable<net::ResponseBody> InternalClient::call(net::RequestOp op, std::string route_key) {
  auto calling = client::internal_call(*client_, std::move(op), std::move(route_key));
  client::Result<net::ResponseBody> result = co_await std::move(calling);
  if (result.ok()) co_return std::move(result.value());
  // Not known to be applied nor known not to be: the caller treats both alike (the locks a
  // lost request may have taken are left to recovery).
  co_return net::ErrorResponse{net::ErrorCode::kTimeout,
                               std::string(client::to_string(result.kind())) + ": " + result.message(), {}};
}

}  // namespace kv::server
