// Transactions against fake sharded nodes (fake_cluster.h): read-your-writes, the exact
// footprint a commit sends (ranges split per shard, limits), conflicts retried by
// run_transaction within its bounds, a lost commit answer, etcd-style txns split across
// shards, and the blocking API.
#include <asio/io_context.hpp>
#include <catch2/catch.hpp>

#include <thread>

#include "client/blocking_client.h"
#include "client/client.h"
#include "fake_cluster.h"

namespace kv::client {
namespace {

using test::FakeNode;
using test::run;
using test::ShardedCluster;
using namespace std::chrono_literals;
using KVs = std::vector<net::KeyValue>;
using Reads = std::vector<net::TxnRead>;
using Ranges = std::vector<net::TxnRangeRead>;

// Transactions retry often here: shorter backoffs keep the tests quick.
Options options_for(std::vector<std::string> endpoints) {
  return test::options_for(std::move(endpoints), {.backoff_min = 2ms, .backoff_max = 20ms});
}

std::vector<net::TxnCommitRequest> commits_seen(ShardedCluster& cluster) {
  std::vector<net::TxnCommitRequest> out;
  for (const auto& node : cluster.nodes) {
    for (const net::Request& r : node->seen) {
      if (const auto* c = std::get_if<net::TxnCommitRequest>(&r.op)) {
        CHECK(r.client_id == 0);  // commits carry no session
        CHECK(r.seq == 0);
        out.push_back(*c);
      }
    }
  }
  return out;
}

net::ResponseBody conflict() { return net::ErrorResponse{net::ErrorCode::kConflict, "scripted conflict", {}}; }

TEST_CASE("transaction: reads see its own writes; the commit sends exactly what was read and written",
          "[client][txn]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  cluster.put("a", "1");  // version 1
  cluster.put("n", "2");  // version 2
  cluster.put("p", "3");  // version 3
  Client client(io, options_for(cluster.addresses()));
  Transaction txn = client.begin();

  CHECK(run(io, txn.get("a")).value() == GetResult{true, "1", 1});
  txn.put("a", "10");
  CHECK(run(io, txn.get("a")).value() == GetResult{true, "10", 0});  // its own write, version unknown
  txn.del("n");
  CHECK_FALSE(run(io, txn.get("n"))->found);
  CHECK_FALSE(run(io, txn.get("b"))->found);  // absent: recorded with version 0
  txn.put("c", "new");
  Result<RangeResult> all = run(io, txn.range("a", "z"));
  REQUIRE(all.ok());
  CHECK(all->kvs == KVs{{"a", "10", 0}, {"c", "new", 0}, {"p", "3", 3}});
  CHECK(all->count == 3);
  CHECK_FALSE(all->more);

  const net::TxnFootprint expected{Reads{{"a", 1}, {"b", 0}},
                                   Ranges{{"a", "m", {{"a", 1}}}, {"m", "z", {{"n", 2}, {"p", 3}}}},  // split at "m"
                                   {{"a", "10"}, {"c", "new"}, {"n", std::nullopt}}};
  CHECK(txn.footprint() == expected);
  std::size_t reads_of_a = 0;
  for (const net::GetRequest& g : cluster.node(0).seen_ops<net::GetRequest>()) reads_of_a += g.key == "a" ? 1 : 0;
  CHECK(reads_of_a == 1);  // the second get of "a" was answered by the transaction

  Result<CommitResult> committed = run(io, txn.commit());
  REQUIRE(committed.ok());
  const std::vector<net::TxnCommitRequest> commits = commits_seen(cluster);
  REQUIRE(commits.size() == 1);
  CHECK(commits[0].txn == expected);
  CHECK(cluster.store->data.at("a").value == "10");
  CHECK(cluster.store->data.at("c").value == "new");
  CHECK_FALSE(cluster.store->data.contains("n"));

  // Finished: reads are refused; commit again repeats the answer without a request.
  CHECK(run(io, txn.get("a")).kind() == ErrorKind::kInvalidArgument);
  CHECK(run(io, txn.commit()).ok());
  CHECK(commits_seen(cluster).size() == 1);
}

TEST_CASE("transaction: a limited range stops reading once the limit is passed", "[client][txn]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  for (const char* k : {"a", "b", "c", "d", "e", "n"}) cluster.put(k, "v");  // versions 1..6
  Client client(io, options_for(cluster.addresses()));
  const std::string cut_after_d = "d" + std::string(1, '\0');

  SECTION("cut inside the first shard: only what was read is validated") {
    Transaction txn = client.begin();
    Result<RangeResult> r = run(io, txn.range("a", "z", {.limit = 3, .keys_only = true}));
    REQUIRE(r.ok());
    CHECK(r->kvs == KVs{{"a", "", 1}, {"b", "", 2}, {"c", "", 3}});
    CHECK(r->more);
    // One more than the limit was asked for, to know about `more`; the server stopped at "d".
    CHECK(txn.footprint().ranges == Ranges{{"a", cut_after_d, {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}}}});
    CHECK(cluster.node(1).seen_ops<net::RangeRequest>().empty());  // the second shard was never read
  }
  SECTION("the limit met at a shard's end: the next shard is asked for one key") {
    Transaction txn = client.begin();
    Result<RangeResult> r = run(io, txn.range("a", "z", {.limit = 5}));
    REQUIRE(r.ok());
    CHECK(r->kvs.size() == 5);
    CHECK(r->more);  // "n" exists
    CHECK(txn.footprint().ranges ==
          Ranges{{"a", "m", {{"a", 1}, {"b", 2}, {"c", 3}, {"d", 4}, {"e", 5}}}, {"m", "z", {{"n", 6}}}});
    const std::vector<net::RangeRequest> second = cluster.node(1).seen_ops<net::RangeRequest>();
    REQUIRE(second.size() == 1);
    CHECK(second[0].limit == 1);
  }
  SECTION("keys it deleted do not count: it reads on") {
    Transaction txn = client.begin();
    txn.del("a");
    txn.del("b");
    Result<RangeResult> r = run(io, txn.range("a", "m", {.limit = 2}));
    REQUIRE(r.ok());
    CHECK(r->kvs == KVs{{"c", "v", 3}, {"d", "v", 4}});
    CHECK(r->more);
    const std::string cut_after_c = "c" + std::string(1, '\0');
    CHECK(txn.footprint().ranges ==
          Ranges{{"a", cut_after_c, {{"a", 1}, {"b", 2}, {"c", 3}}}, {cut_after_c, "m", {{"d", 4}, {"e", 5}}}});
  }
  SECTION("count_only reads every key and counts the transaction's view") {
    Transaction txn = client.begin();
    txn.put("zz", "new");
    txn.del("c");
    Result<RangeResult> r = run(io, txn.prefix("", {.count_only = true}));
    REQUIRE(r.ok());
    CHECK(r->kvs.empty());
    CHECK(r->count == 6);  // a b d e n zz
  }
}

TEST_CASE("transaction: del_range reads the range and deletes what the transaction sees there", "[client][txn]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  for (const char* k : {"k1", "k2", "n1"}) cluster.put(k, "v");
  Client client(io, options_for(cluster.addresses()));
  Transaction txn = client.begin();
  txn.put("k3", "new");
  Result<DeleteResult> d = run(io, txn.del_range("k", "o", {.prev_kv = true}));
  REQUIRE(d.ok());
  CHECK(d->deleted == 4);
  CHECK(d->prev_kvs == KVs{{"k1", "v", 1}, {"k2", "v", 2}, {"k3", "new", 0}, {"n1", "v", 3}});
  REQUIRE(run(io, txn.commit()).ok());
  CHECK(cluster.store->data.empty());
}

TEST_CASE("run_transaction: a conflict runs the body again with backoff; attempts are bounded",
          "[client][txn]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  cluster.put("a", "1");
  int conflicts_left = 0;
  cluster.on_commit = [&](const net::Request& r) -> std::optional<net::ResponseBody> {
    if (conflicts_left-- > 0) return conflict();
    return cluster.store->commit(std::get<net::TxnCommitRequest>(r.op));
  };
  Client client(io, options_for(cluster.addresses()));
  int runs = 0;
  TransactionBody increment = [&](Transaction& txn) -> asio::awaitable<Result<void>> {
    ++runs;
    auto getting = txn.get("a");
    Result<GetResult> got = co_await std::move(getting);
    if (!got.ok()) co_return got.error();
    auto other = txn.get("z");  // a second shard: a real two-read transaction
    Result<GetResult> z = co_await std::move(other);
    if (!z.ok()) co_return z.error();
    txn.put("a", got->value + "+");
    co_return Result<void>{};
  };
  TransactionOptions o;
  o.max_attempts = 3;
  o.backoff_min = 1ms;
  o.backoff_max = 4ms;

  SECTION("conflicts every time: gives up after max_attempts") {
    conflicts_left = 1000;
    TransactionRun result = test::run_value(io, run_transaction(client, increment, o));
    CHECK(result.result.kind() == ErrorKind::kConflict);
    CHECK(result.attempts == 3);
    CHECK(runs == 3);
    CHECK(commits_seen(cluster).size() == 3);
    CHECK(cluster.store->data.at("a").value == "1");
  }
  SECTION("conflicts twice, then commits: applied once") {
    conflicts_left = 2;
    TransactionRun result = test::run_value(io, run_transaction(client, increment, o));
    REQUIRE(result.result.ok());
    CHECK(result.attempts == 3);
    CHECK(cluster.store->data.at("a").value == "1+");
  }
  SECTION("bounded by time too") {
    conflicts_left = 1000;
    o.max_attempts = 1000;
    o.timeout = 200ms;
    o.backoff_min = 20ms;
    o.backoff_max = 40ms;
    o.backoff_jitter = 0.0;
    const auto started = std::chrono::steady_clock::now();
    TransactionRun result = test::run_value(io, run_transaction(client, increment, o));
    CHECK(result.result.kind() == ErrorKind::kConflict);
    CHECK(result.attempts < 12);
    CHECK(std::chrono::steady_clock::now() - started < 1s);
  }
  SECTION("any other error ends the run at once") {
    TransactionBody failing = [&](Transaction&) -> asio::awaitable<Result<void>> {
      ++runs;
      co_return Error{ErrorKind::kInvalidArgument, "the body gave up"};
    };
    TransactionRun result = test::run_value(io, run_transaction(client, failing, o));
    CHECK(result.result.kind() == ErrorKind::kInvalidArgument);
    CHECK(result.attempts == 1);
    CHECK(commits_seen(cluster).empty());
  }
}

TEST_CASE("transaction: a commit whose answer is lost is Indeterminate and never sent twice", "[client][txn]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  Options o = options_for(cluster.addresses());
  o.request_timeout = 100ms;
  Client client(io, o);

  SECTION("lost answer") {
    cluster.on_commit = [](const net::Request&) { return std::nullopt; };  // held: never answered
    Transaction txn = client.begin();
    REQUIRE(run(io, txn.get("a")).ok());
    REQUIRE(run(io, txn.get("x")).ok());
    txn.put("a", "v");
    Result<CommitResult> r = run(io, txn.commit());
    CHECK(r.kind() == ErrorKind::kIndeterminate);
    CHECK(commits_seen(cluster).size() == 1);
  }
  SECTION("refused before it started: sent again") {
    int refusals = 2;
    cluster.on_commit = [&](const net::Request& r) -> std::optional<net::ResponseBody> {
      if (refusals-- > 0) return FakeNode::error(refusals == 1 ? net::ErrorCode::kUnavailable : net::ErrorCode::kTooManyRequests);
      return cluster.store->commit(std::get<net::TxnCommitRequest>(r.op));
    };
    Transaction txn = client.begin();
    txn.put("a", "v");
    REQUIRE(run(io, txn.commit()).ok());
    CHECK(commits_seen(cluster).size() == 3);
    CHECK(cluster.store->commits == 1);
  }
}

TEST_CASE("txn: an etcd-style txn over two shards runs as a transaction with the same results",
          "[client][txn]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  cluster.put("a", "1");    // version 1, shard 0
  cluster.put("x", "old");  // version 2, shard 1
  int conflicts_left = 1;
  cluster.on_commit = [&](const net::Request& r) -> std::optional<net::ResponseBody> {
    if (conflicts_left-- > 0) return conflict();
    return cluster.store->commit(std::get<net::TxnCommitRequest>(r.op));
  };
  Client client(io, options_for(cluster.addresses()));

  TxnRequest t;
  t.compares.push_back(TxnCompare{"a", CompareOp::kEqual, net::CompareValue{"1"}});
  t.compares.push_back(TxnCompare{"x", CompareOp::kGreater, net::CompareVersion{0}});
  t.success.push_back(net::PutRequest{"a", "2", false});
  t.success.push_back(net::PutRequest{"z", "new", true});
  t.success.push_back(net::GetRequest{"x", false});
  t.success.push_back(net::DeleteRequest{"x", "", true});
  t.success.push_back(net::RangeRequest{"a", std::string(1, '\0'), 0, false, false, false});
  t.failure.push_back(net::PutRequest{"failed", "1", false});

  Result<TxnResult> r = run(io, client.txn(t));
  REQUIRE(r.ok());
  CHECK(r->succeeded);
  REQUIRE(r->results.size() == 5);
  // The puts' versions come from the commit's answer (the fake store's index 3: two puts,
  // then this commit).
  CHECK(std::get<net::PutResponse>(r->results[0]) == net::PutResponse{3, std::nullopt});
  CHECK(std::get<net::PutResponse>(r->results[1]) == net::PutResponse{3, std::nullopt});  // z was absent
  CHECK(std::get<net::GetResponse>(r->results[2]) == net::GetResponse{true, "old", 2});
  CHECK(std::get<net::DeleteResponse>(r->results[3]) == net::DeleteResponse{1, {{"x", "old", 2}}});
  CHECK(std::get<net::RangeResponse>(r->results[4]) == net::RangeResponse{{{"a", "2", 0}, {"z", "new", 0}}, false, 2});
  CHECK(commits_seen(cluster).size() == 2);  // the first conflicted; the txn ran again, unseen
  for (const auto& node : cluster.nodes) CHECK(node->seen_ops<net::TxnRequest>().empty());
  CHECK(cluster.store->data.at("a").value == "2");
  CHECK(cluster.store->data.at("z").value == "new");
  CHECK_FALSE(cluster.store->data.contains("x"));

  // Now a = "2": the first compare fails, the second is not even read, the failure branch runs.
  const std::size_t reads_of_x = cluster.node(1).seen_ops<net::GetRequest>().size();
  Result<TxnResult> failed = run(io, client.txn(t));
  REQUIRE(failed.ok());
  CHECK_FALSE(failed->succeeded);
  CHECK(failed->results.size() == 1);
  CHECK(cluster.store->data.contains("failed"));
  CHECK(cluster.node(1).seen_ops<net::GetRequest>().size() == reads_of_x);
}

TEST_CASE("txn: an etcd-style txn within one shard is still one request", "[client][txn]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  cluster.on_txn = [](const net::Request&) -> std::optional<net::ResponseBody> {
    return net::TxnResponse{true, {net::PutResponse{9, std::nullopt}}};
  };
  Client client(io, options_for(cluster.addresses()));
  TxnRequest t;
  t.compares.push_back(TxnCompare{"p", CompareOp::kEqual, net::CompareAbsent{}});
  t.success.push_back(net::PutRequest{"q", "1", false});
  t.failure.push_back(net::RangeRequest{"n", "o", 0, false, false, false});
  Result<TxnResult> r = run(io, client.txn(t));
  REQUIRE(r.ok());
  CHECK(std::get<net::PutResponse>(r->results[0]).version == 9);
  CHECK(cluster.node(1).seen_ops<net::TxnRequest>().size() == 1);
  CHECK(commits_seen(cluster).empty());
}

TEST_CASE("range and del_range: within a shard one request; across shards one atomic transaction",
          "[client][txn]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  for (const char* k : {"a", "b", "n", "o"}) cluster.put(k, "v");
  Client client(io, options_for(cluster.addresses()));

  Result<RangeResult> within = run(io, client.range("a", "c"));
  REQUIRE(within.ok());
  CHECK(within->kvs.size() == 2);
  CHECK(commits_seen(cluster).empty());

  Result<RangeResult> across = run(io, client.prefix(""));
  REQUIRE(across.ok());
  CHECK(across->kvs == KVs{{"a", "v", 1}, {"b", "v", 2}, {"n", "v", 3}, {"o", "v", 4}});
  CHECK_FALSE(across->more);
  REQUIRE(commits_seen(cluster).size() == 1);  // the snapshot is validated: reads only
  CHECK(commits_seen(cluster)[0].txn.writes.empty());
  CHECK(commits_seen(cluster)[0].txn.ranges.size() == 2);

  Result<DeleteResult> deleted = run(io, client.del_range("b", "o"));
  REQUIRE(deleted.ok());
  CHECK(deleted->deleted == 2);
  CHECK(commits_seen(cluster).size() == 2);
  CHECK(cluster.store->data.size() == 2);  // a and o are left
  for (const auto& node : cluster.nodes) CHECK(node->seen_ops<net::DeleteRequest>().empty());
}

TEST_CASE("transaction: a shard map gone stale under a range read is a conflict; the rerun uses a new map",
          "[client][txn]") {
  asio::io_context io;
  ShardedCluster cluster(io, 2, {"m"}, {0, 1});
  cluster.put("h", "v");
  Client client(io, options_for(cluster.addresses()));
  REQUIRE(run(io, client.shard_map()).ok());
  // The shards move: shard 1 now starts at "g" (so "h" is there), unknown to the client.
  cluster.map.shards[0].end_key = "g";
  cluster.map.shards[1].start_key = "g";

  std::vector<std::string> seen_keys;
  TransactionBody read_all = [&](Transaction& txn) -> asio::awaitable<Result<void>> {
    auto reading = txn.range("a", "m");
    Result<RangeResult> r = co_await std::move(reading);
    if (!r.ok()) co_return r.error();
    seen_keys.clear();
    for (const net::KeyValue& kv : r->kvs) seen_keys.push_back(kv.key);
    txn.put("a", "seen " + std::to_string(seen_keys.size()));
    co_return Result<void>{};
  };
  TransactionRun result = test::run_value(io, run_transaction(client, read_all));
  REQUIRE(result.result.ok());
  CHECK(result.attempts == 2);
  CHECK(seen_keys == std::vector<std::string>{"h"});
  CHECK(cluster.store->data.at("a").value == "seen 1");
}

// The test's two shards, split at "m", each led by another node.
struct ClusterThread : test::ServedOnThread<ShardedCluster> {
  ClusterThread() : ServedOnThread(2, std::vector<std::string>{"m"}, std::vector<std::size_t>{0, 1}) {}
};

TEST_CASE("blocking client: transactions and run_transaction", "[client][txn][blocking]") {
  ClusterThread server;
  server.fake.put("a", "1");
  int conflicts_left = 1;
  server.fake.on_commit = [&](const net::Request& r) -> std::optional<net::ResponseBody> {
    if (conflicts_left-- > 0) return conflict();
    return server.fake.store->commit(std::get<net::TxnCommitRequest>(r.op));
  };
  server.start();
  BlockingClient client(options_for(server.fake.addresses()));

  Result<ShardMapResult> map = client.shard_map();
  REQUIRE(map.ok());
  CHECK(map->shards.size() == 2);

  int runs = 0;
  TransactionRun moved = client.run_transaction([&](BlockingTransaction& txn) -> Result<void> {
    ++runs;
    Result<GetResult> a = txn.get("a");
    if (!a.ok()) return a.error();
    txn.del("a");
    txn.put("z", a->value);
    Result<RangeResult> view = txn.range("a", std::string(1, '\0'));
    if (!view.ok()) return view.error();
    if (view->kvs.size() != 1 || view->kvs[0].key != "z") return Error{ErrorKind::kInternal, "bad view"};
    return {};
  });
  REQUIRE(moved.result.ok());
  CHECK(moved.attempts == 2);
  CHECK(runs == 2);
  CHECK_FALSE(client.get("a")->found);
  CHECK(client.get("z")->value == "1");

  BlockingTransaction txn = client.begin();
  txn.put("b", "2");
  CHECK(txn.get("b")->value == "2");
  CHECK(txn.footprint().writes.size() == 1);
  REQUIRE(txn.commit().ok());
  CHECK(client.get("b")->value == "2");
}

}  // namespace
}  // namespace kv::client
