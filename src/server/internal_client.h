// How a node reaches the leaders of shards it does not lead (a transaction's participants,
// the primary's shard): the client library, as any client would, with its leader discovery,
// retries and exactly-once sessions. Runs on the node's io_context.
#pragma once

#include <asio/awaitable.hpp>

#include <memory>
#include <string>
#include <vector>

#include "net/client_protocol.h"

namespace asio {
class io_context;
}

namespace kv::client {
class Client;
}

namespace kv::server {

class InternalClient {
 public:
  InternalClient(asio::io_context& io, std::vector<std::string> endpoints);
  ~InternalClient();
  InternalClient(const InternalClient&) = delete;
  InternalClient& operator=(const InternalClient&) = delete;

  // The answer of the leader of route_key's shard. An outcome that cannot be learned in
  // time (the request may or may not have been applied) is Error timeout.
  asio::awaitable<net::ResponseBody> call(net::RequestOp op, std::string route_key);

  void close();

 private:
  std::unique_ptr<client::Client> client_;
};

}  // namespace kv::server
