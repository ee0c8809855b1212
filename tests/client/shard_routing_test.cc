// Routing by the shard map (each key to its shard's leader, the shard's replicas when the
// leader is unknown) and the server's generic routed call (internal_call.h), against fake
// sharded nodes (fake_cluster.h).
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include "client/client.h"
#include "client/internal_call.h"
#include "fake_cluster.h"

namespace kv::client {
namespace {

using test::FakeNode;
using test::run;
using test::ShardedCluster;
using namespace std::chrono_literals;

using test::options_for;

TEST_CASE("shard map: loaded from any node; then each key goes straight to its shard's leader", "[client][shards]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  Client client(io, options_for({cluster.node(0).address}));  // node 2 is learned from the map

  Result<ShardMapResult> map = run(io, client.shard_map());
  REQUIRE(map.ok());
  CHECK(map.value() == cluster.map);
  CHECK(client.stats().route_refreshes == 1);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(run(io, client.put((i % 2 ? "a" : "z") + std::to_string(i), "v")).ok());
  }
  CHECK(client.stats().redirects == 0);
  CHECK(cluster.node(0).seen_ops<net::PutRequest>().size() == 5);
  CHECK(cluster.node(1).seen_ops<net::PutRequest>().size() == 5);
  for (const net::PutRequest& put : cluster.node(1).seen_ops<net::PutRequest>()) CHECK(put.key >= "m");
}

TEST_CASE("shard map: a shard with no known leader is tried at its replicas first", "[client][shards]") {
  asio::io_context io;
  ShardedCluster cluster(io, 3, {"m"}, {0, 2});
  cluster.map.shards[1].leader = 0;          // advertised: leader unknown...
  cluster.map.shards[1].replicas = {2, 3};   // ...on nodes 2 and 3, not on node 1
  cluster.node(1).behaviour = [](const net::Request& r) -> std::optional<net::ResponseBody> {
    if (std::holds_alternative<net::ShardMapRequest>(r.op)) return FakeNode::error(net::ErrorCode::kUnsupported);
    return FakeNode::error(net::ErrorCode::kUnavailable);  // an election, say
  };
  cluster.node(2).behaviour = nullptr;  // leads in truth: serves every key from the store
  Client client(io, options_for({cluster.node(0).address}));
  REQUIRE(run(io, client.shard_map()).ok());

  for (int i = 0; i < 4; ++i) REQUIRE(run(io, client.put("x" + std::to_string(i), "v")).ok());
  CHECK(cluster.node(0).seen_ops<net::PutRequest>().empty());  // configured, but not a replica
  CHECK(cluster.node(2).seen_ops<net::PutRequest>().size() == 4);
}

TEST_CASE("shard map: a server that cannot give one leaves routing to hints", "[client][shards]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  for (std::size_t i = 0; i < 2; ++i) {
    cluster.node(i).behaviour = [&, i](const net::Request& r) -> std::optional<net::ResponseBody> {
      if (std::holds_alternative<net::ShardMapRequest>(r.op)) return FakeNode::error(net::ErrorCode::kUnsupported);
      return cluster.answer(i, r);
    };
  }
  Client client(io, options_for({cluster.node(0).address}));
  CHECK(run(io, client.shard_map()).kind() == ErrorKind::kUnsupported);
  REQUIRE(run(io, client.put("z", "v")).ok());  // by a redirect
  CHECK(cluster.node(1).seen_ops<net::PutRequest>().size() == 1);
}

TEST_CASE("internal call: routed by its key; a write keeps one (client_id seq) over retries", "[client][internal]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  int decides = 0;
  cluster.node(1).behaviour = [&](const net::Request& r) -> std::optional<net::ResponseBody> {
    if (std::holds_alternative<net::TxnDecideRequest>(r.op)) {
      if (++decides == 1) return std::nullopt;  // the first answer is lost
      return net::TxnOutcomeResponse{true};
    }
    if (std::holds_alternative<net::TxnResolveRequest>(r.op)) return FakeNode::error(net::ErrorCode::kBadRequest);
    return cluster.answer(1, r);
  };
  Client client(io, options_for({cluster.node(0).address}));

  Result<net::ResponseBody> decided = run(io, internal_call(client, net::TxnDecideRequest{7, "x", true}, "x"));
  REQUIRE(decided.ok());
  REQUIRE(std::holds_alternative<net::TxnOutcomeResponse>(decided.value()));
  CHECK(std::get<net::TxnOutcomeResponse>(decided.value()).committed);
  std::vector<net::Request> sent;
  for (const net::Request& r : cluster.node(1).seen) {
    if (std::holds_alternative<net::TxnDecideRequest>(r.op)) sent.push_back(r);
  }
  REQUIRE(sent.size() == 2);
  CHECK(sent[0].client_id != 0);
  CHECK(sent[0].client_id == sent[1].client_id);
  CHECK(sent[0].seq == sent[1].seq);
  CHECK(cluster.node(0).seen_ops<net::TxnDecideRequest>().size() <= 2);  // redirected from there

  // A definitive error is the answer, as the server gave it.
  Result<net::ResponseBody> resolved = run(io, internal_call(client, net::TxnResolveRequest{7, "y", false}, "y"));
  REQUIRE(resolved.ok());
  REQUIRE(std::holds_alternative<net::ErrorResponse>(resolved.value()));
  CHECK(std::get<net::ErrorResponse>(resolved.value()).code == net::ErrorCode::kBadRequest);

  // A read has no session; so has a commit (which is never sent twice).
  REQUIRE(run(io, internal_call(client, net::GetRequest{"b", false}, "b")).ok());
  CHECK(cluster.node(0).seen.back().client_id == 0);
  REQUIRE(run(io, internal_call(client, net::TxnCommitRequest{}, "b")).ok());
  CHECK(cluster.node(0).seen.back().client_id == 0);
  CHECK(cluster.node(0).seen.back().seq == 0);
}

TEST_CASE("internal call: a write with no answer by the deadline is Indeterminate", "[client][internal]") {
  asio::io_context io;
  FakeNode node(io);
  node.behaviour = [](const net::Request&) { return std::nullopt; };
  Options o = options_for({node.address});
  o.request_timeout = 50ms;
  Client client(io, o);
  InternalCallOptions call_options;
  call_options.timeout = 300ms;
  Result<net::ResponseBody> r = run(io, internal_call(client, net::TxnPrepareRequest{}, "k", call_options));
  CHECK(r.kind() == ErrorKind::kIndeterminate);
  CHECK(node.seen.size() >= 2);  // retried, with one session
  CHECK(node.seen.front().seq == node.seen.back().seq);
}

}  // namespace
}  // namespace kv::client
