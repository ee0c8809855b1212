// What each Client operation puts on the wire (checked against the protocol structs), how
// answers come back, status/members, routing by the shard map, and the BlockingClient under
// many threads.
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "client/blocking_client.h"
#include "client/client.h"
#include "fake_cluster.h"

namespace kv::client {
namespace {

using test::FakeNode;
using test::run;
using test::run_until;
using namespace std::chrono_literals;

// As the other client tests, with a 500 ms request timeout (this file has always used it).
Options options_for(std::vector<std::string> endpoints) {
  return test::options_for(std::move(endpoints), {.request_timeout = 500ms});
}

// Answers every request with `answer` and keeps the ops it saw.
struct Recorder {
  explicit Recorder(asio::io_context& io) : node(io) {
    node.behaviour = [this](const net::Request&) { return answer; };
  }
  const net::RequestOp& last() const { return node.seen.back().op; }

  FakeNode node;
  net::ResponseBody answer = net::PutResponse{};
};

TEST_CASE("client requests: cas sends the compare and the action it was given", "[client]") {
  asio::io_context io;
  Recorder r(io);
  Client client(io, options_for({r.node.address}));

  r.answer = net::CasResponse{true, 12, std::nullopt};
  Result<CasResult> ok = run(io, client.cas("k", expect_version(3), then_put("new")));
  REQUIRE(ok.ok());
  CHECK(ok->succeeded);
  CHECK(ok->version == 12);
  CHECK(r.last() == net::RequestOp{net::CasRequest{"k", net::CompareVersion{3}, net::CasPut{"new"}}});
  CHECK(r.node.seen.back().client_id != 0);  // a write: in a session
  CHECK(r.node.seen.back().seq != 0);

  r.answer = net::CasResponse{false, 0, net::KeyValue{"k", "other", 5}};
  Result<CasResult> lost = run(io, client.cas("k", expect_value("old"), then_delete()));
  REQUIRE(lost.ok());  // a failed compare is an answer, not an error
  CHECK_FALSE(lost->succeeded);
  REQUIRE(lost->current.has_value());
  CHECK(lost->current->value == "other");
  CHECK(r.last() == net::RequestOp{net::CasRequest{"k", net::CompareValue{"old"}, net::CasDelete{}}});

  REQUIRE(run(io, client.cas("k", expect_absent(), then_put("first"))).ok());
  CHECK(r.last() == net::RequestOp{net::CasRequest{"k", net::CompareAbsent{}, net::CasPut{"first"}}});
}

TEST_CASE("client requests: txn is sent as given and its per-op results come back", "[client]") {
  asio::io_context io;
  Recorder r(io);
  Client client(io, options_for({r.node.address}));

  TxnRequest txn;
  txn.compares.push_back(TxnCompare{"a", CompareOp::kGreater, net::CompareVersion{4}});
  txn.compares.push_back(TxnCompare{"b", CompareOp::kEqual, net::CompareAbsent{}});
  txn.success.push_back(net::PutRequest{"a", "1", false});
  txn.success.push_back(net::RangeRequest{"p", net::prefix_end("p"), 10, false, true, false});
  txn.failure.push_back(net::GetRequest{"a", false});
  txn.failure.push_back(net::DeleteRequest{"b", "", true});
  r.answer = net::TxnResponse{true, {net::PutResponse{9, std::nullopt}, net::RangeResponse{{}, false, 0}}};

  Result<TxnResult> done = run(io, client.txn(txn));
  REQUIRE(done.ok());
  CHECK(done->succeeded);
  REQUIRE(done->results.size() == 2);
  CHECK(std::get<net::PutResponse>(done->results[0]).version == 9);
  CHECK(r.last() == net::RequestOp{txn});
  CHECK(r.node.seen.back().client_id != 0);
}

TEST_CASE("client requests: reads, deletes and prefixes map onto the protocol's ranges", "[client]") {
  asio::io_context io;
  Recorder r(io);
  Client client(io, options_for({r.node.address}));

  r.answer = net::GetResponse{true, "v", 3};
  REQUIRE(run(io, client.get("k", {.serializable = true})).ok());
  CHECK(r.last() == net::RequestOp{net::GetRequest{"k", true}});

  r.answer = net::RangeResponse{{net::KeyValue{"a", "1", 1}}, true, 7};
  Result<RangeResult> range = run(io, client.range("a", "c", {.limit = 1, .keys_only = true}));
  REQUIRE(range.ok());
  CHECK(range->more);
  CHECK(range->count == 7);
  CHECK(r.last() == net::RequestOp{net::RangeRequest{"a", "c", 1, false, true, false}});
  REQUIRE(run(io, client.prefix("ab", {.count_only = true, .serializable = true})).ok());
  CHECK(r.last() == net::RequestOp{net::RangeRequest{"ab", "ac", 0, true, false, true}});
  REQUIRE(run(io, client.prefix("")).ok());  // every key: keys are never empty, "\0" is the first
  CHECK(r.last() == net::RequestOp{net::RangeRequest{std::string(1, '\0'), std::string(1, '\0'), 0, false, false, false}});
  CHECK(r.node.seen.back().client_id == 0);

  r.answer = net::DeleteResponse{2, {}};
  Result<DeleteResult> deleted = run(io, client.del_prefix("ab", {.prev_kv = true}));
  REQUIRE(deleted.ok());
  CHECK(deleted->deleted == 2);
  CHECK(r.last() == net::RequestOp{net::DeleteRequest{"ab", "ac", true}});
  REQUIRE(run(io, client.del("k")).ok());
  CHECK(r.last() == net::RequestOp{net::DeleteRequest{"k", "", false}});
  REQUIRE(run(io, client.del_range("a", "b")).ok());
  CHECK(r.last() == net::RequestOp{net::DeleteRequest{"a", "b", false}});

  const std::size_t sent = r.node.seen.size();
  Result<DeleteResult> bad = run(io, client.del_range("a", ""));
  CHECK(bad.kind() == ErrorKind::kInvalidArgument);
  CHECK(r.node.seen.size() == sent);
}

TEST_CASE("client requests: an answer of the wrong kind is Internal, not a crash", "[client]") {
  asio::io_context io;
  Recorder r(io);
  r.answer = net::GetResponse{};
  Client client(io, options_for({r.node.address}));
  Result<PutResult> put = run(io, client.put("k", "v"));
  REQUIRE_FALSE(put.ok());
  CHECK(put.kind() == ErrorKind::kInternal);
}

TEST_CASE("client requests: status asks the one endpoint named; members asks anyone", "[client]") {
  asio::io_context io;
  FakeNode a(io), b(io);
  auto status_of = [](std::uint64_t id) {
    return [id](const net::Request& r) -> std::optional<net::ResponseBody> {
      if (std::holds_alternative<net::StatusRequest>(r.op)) {
        net::StatusResponse s;
        s.node_id = id;
        s.version = "test";
        return s;
      }
      return net::MembersResponse{{net::Member{1, "p1", "c1"}, net::Member{2, "p2", "c2"}}};
    };
  };
  a.behaviour = status_of(1);
  b.behaviour = status_of(2);
  Client client(io, options_for({a.address, b.address}));

  Result<StatusResult> sb = run(io, client.status(b.address));
  REQUIRE(sb.ok());
  CHECK(sb->node_id == 2);
  CHECK(a.seen.empty());

  Result<MembersResult> members = run(io, client.members());
  REQUIRE(members.ok());
  CHECK(members->members.size() == 2);

  // A dead endpoint: a prompt, clear error, and no other node asked in its place.
  Result<StatusResult> dead = run(io, client.status("127.0.0.1:1"));
  REQUIRE_FALSE(dead.ok());
  CHECK(dead.kind() == ErrorKind::kUnavailable);
  CHECK_THAT(dead.message(), Catch::Contains("127.0.0.1:1"));
}

TEST_CASE("client requests: from a server without a shard map, routes come from status and members",
          "[client]") {
  asio::io_context io;
  FakeNode a(io), b(io);
  // Shard 0 holds [.., "m") and is led by node 1 (a); shard 1 holds ["m", ..) led by node 2 (b).
  auto serve = [&](FakeNode& self, std::uint64_t id) {
    return [&, id](const net::Request& r) -> std::optional<net::ResponseBody> {
      if (std::holds_alternative<net::ShardMapRequest>(r.op)) return FakeNode::error(net::ErrorCode::kUnsupported);
      if (std::holds_alternative<net::StatusRequest>(r.op)) {
        net::StatusResponse s;
        s.node_id = id;
        s.shards.push_back(net::ShardStatus{0, 1, 1, 0, 0, 0, net::ReplicaRole::kFollower, "", "m"});
        s.shards.push_back(net::ShardStatus{1, 2, 1, 0, 0, 0, net::ReplicaRole::kFollower, "m", ""});
        return s;
      }
      if (std::holds_alternative<net::MembersRequest>(r.op)) {
        return net::MembersResponse{{net::Member{1, "", a.address}, net::Member{2, "", b.address}}};
      }
      const bool mine = (std::get<net::PutRequest>(r.op).key < "m") == (id == 1);
      if (!mine) return FakeNode::not_leader(id == 1 ? b.address : a.address);
      return self.store->apply(r);
    };
  };
  a.behaviour = serve(a, 1);
  b.behaviour = serve(b, 2);
  Client client(io, options_for({a.address, b.address}));

  REQUIRE(run(io, client.put("x", "1")).ok());  // may take a redirect, and loads the shard map
  REQUIRE(run_until(io, [&] { return client.stats().route_refreshes == 1; }));
  const std::uint64_t redirects = client.stats().redirects;
  for (int i = 0; i < 10; ++i) {
    REQUIRE(run(io, client.put(i % 2 ? "a" + std::to_string(i) : "z" + std::to_string(i), "v")).ok());
  }
  CHECK(client.stats().redirects == redirects);  // every put went straight to its leader
  CHECK(a.store->applied_writes == 5);
  CHECK(b.store->applied_writes == 6);
}

TEST_CASE("client requests: close() ends waiting operations with Closed", "[client]") {
  asio::io_context io;
  FakeNode node(io);
  node.behaviour = [](const net::Request&) { return std::nullopt; };
  Client client(io, options_for({node.address}));
  auto got = test::start(io, client.get("k"));
  REQUIRE(run_until(io, [&] { return node.seen.size() == 1; }));
  client.close();
  REQUIRE(run_until(io, [&] { return got->has_value(); }, 1000ms));
  CHECK((*got)->kind() == ErrorKind::kClosed);
  CHECK(run(io, client.get("k")).kind() == ErrorKind::kClosed);
}

// ---- BlockingClient

using ServerThread = test::ServedOnThread<FakeNode>;

TEST_CASE("blocking client: many threads at once share the connection and keep sessions exclusive",
          "[client][blocking]") {
  ServerThread server;
  std::map<std::uint64_t, int> outstanding;  // server thread only
  std::atomic<bool> violated{false};
  server.fake.delay = 1ms;
  server.fake.behaviour = [&](const net::Request& r) -> std::optional<net::ResponseBody> {
    if (r.client_id != 0 && ++outstanding[r.client_id] > 1) violated = true;
    return server.fake.store->apply(r);
  };
  server.fake.before_respond = [&](const net::Request& r) {
    if (r.client_id != 0) --outstanding[r.client_id];
  };
  server.start();

  Options o = options_for({server.fake.address});
  o.max_sessions = 16;
  BlockingClient client(o);
  constexpr int kThreads = 64;
  constexpr int kOpsPerThread = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kOpsPerThread; ++i) {
        const std::string key = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (!client.put(key, "v").ok()) ++failures;
        Result<GetResult> got = client.get(key);
        if (!got.ok() || !got->found) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  CHECK(failures.load() == 0);
  const ClientStats stats = client.stats();
  CHECK(stats.connects == 1);  // one connection, pipelined
  CHECK(stats.sessions_created <= 16);
  CHECK(stats.attempts == 2u * kThreads * kOpsPerThread);
  CHECK_FALSE(violated.load());
  client.close();
  CHECK(client.get("k").kind() == ErrorKind::kClosed);
}

}  // namespace
}  // namespace kv::client
