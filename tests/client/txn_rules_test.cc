// The pure halves of transactions: the buffer that records a transaction's footprint and
// merges its writes into its reads (txn_buffer.h), and the rules Client::txn uses when its
// keys span shards (etcd_txn_rules.h): which shards it touches, what a compare says.
#include <catch2/catch.hpp>

#include "client/etcd_txn_rules.h"
#include "client/txn_buffer.h"

namespace kv::client::detail {
namespace {

using KVs = std::vector<net::KeyValue>;
const std::string kEvery(1, '\0');

TEST_CASE("txn buffer: point reads are recorded once and answered locally after", "[client][txn]") {
  TxnBuffer buffer;
  CHECK(buffer.empty());
  CHECK_FALSE(buffer.local_get("a").has_value());  // ask the server
  buffer.record_get("a", net::GetResponse{true, "1", 5});
  buffer.record_get("b", net::GetResponse{false, "", 0});
  CHECK(buffer.local_get("a") == net::GetResponse{true, "1", 5});
  CHECK(buffer.local_get("b") == net::GetResponse{});
  buffer.record_get("a", net::GetResponse{true, "2", 9});  // a later read does not replace the first
  CHECK(buffer.local_get("a") == net::GetResponse{true, "1", 5});
  CHECK(buffer.footprint() == net::TxnFootprint{{{"a", 5}, {"b", 0}}, {}, {}});
}

TEST_CASE("txn buffer: reads see the transaction's own writes (version 0)", "[client][txn]") {
  TxnBuffer buffer;
  buffer.record_get("a", net::GetResponse{true, "old", 5});
  buffer.put("a", "new");
  buffer.put("n", "fresh");
  CHECK(buffer.local_get("a") == net::GetResponse{true, "new", 0});
  CHECK(buffer.local_get("n") == net::GetResponse{true, "fresh", 0});
  buffer.del("n");
  CHECK(buffer.local_get("n") == net::GetResponse{});
  CHECK(buffer.written("n") == std::optional<std::optional<std::string>>(std::optional<std::string>()));
  CHECK_FALSE(buffer.written("zz").has_value());
  buffer.put("n", "again");
  // The read of "a" stays in the footprint: the commit must still validate it.
  const net::TxnFootprint f = buffer.footprint();
  CHECK(f.reads == std::vector<net::TxnRead>{{"a", 5}});
  CHECK(f.writes == std::vector<net::TxnWrite>{{"a", "new"}, {"n", "again"}});
  CHECK(buffer.route_key() == "a");
}

TEST_CASE("txn buffer: a range merges the writes inside the part the server covered", "[client][txn]") {
  TxnBuffer buffer;
  buffer.put("a0", "put-before-first");
  buffer.put("b", "B");  // overwrites a server key
  buffer.put("c", "C");  // a new key between server keys
  buffer.del("d");       // deletes a server key
  buffer.put("x", "X");  // outside the range
  const KVs server{{"a", "1", 3}, {"b", "2", 4}, {"d", "4", 6}, {"e", "5", 7}};
  CHECK(buffer.overlay("a", "x", server, false) ==
        KVs{{"a", "1", 3}, {"a0", "put-before-first", 0}, {"b", "B", 0}, {"c", "C", 0}, {"e", "5", 7}});
  CHECK(buffer.overlay("a", "x", server, true) ==
        KVs{{"a", "1", 3}, {"a0", "", 0}, {"b", "", 0}, {"c", "", 0}, {"e", "5", 7}});
  // Unbounded: "x" is in.
  CHECK(buffer.overlay("e", kEvery, KVs{{"e", "5", 7}}, false) == KVs{{"e", "5", 7}, {"x", "X", 0}});
  // The range read is recorded as the server gave it, hidden keys included.
  buffer.record_range("a", "x", server);
  CHECK(buffer.footprint().ranges ==
        std::vector<net::TxnRangeRead>{{"a", "x", {{"a", 3}, {"b", 4}, {"d", 6}, {"e", 7}}}});
}

TEST_CASE("txn buffer: the footprint keeps ranges in the order read and keys in order", "[client][txn]") {
  TxnBuffer buffer;
  buffer.record_range("m", "p", KVs{{"n", "", 2}});
  buffer.record_range("a", "c", KVs{});
  buffer.record_get("z", net::GetResponse{});
  buffer.record_get("b", net::GetResponse{true, "v", 1});
  CHECK(buffer.route_key() == "b");  // no write: the first read key
  const net::TxnFootprint f = buffer.footprint();
  CHECK(f.reads == std::vector<net::TxnRead>{{"b", 1}, {"z", 0}});
  CHECK(f.ranges == std::vector<net::TxnRangeRead>{{"m", "p", {{"n", 2}}}, {"a", "c", {}}});
  CHECK(f.writes.empty());
}

TEST_CASE("etcd rules: compares hold exactly as the server's", "[client][txn]") {
  using Op = net::CompareOp;
  const net::GetResponse present{true, "m", 5};
  const net::GetResponse absent{};
  // Versions: an absent key has version 0.
  CHECK(compare_holds(present, Op::kEqual, net::CompareVersion{5}));
  CHECK(compare_holds(present, Op::kGreater, net::CompareVersion{4}));
  CHECK(compare_holds(present, Op::kLess, net::CompareVersion{6}));
  CHECK_FALSE(compare_holds(present, Op::kNotEqual, net::CompareVersion{5}));
  CHECK(compare_holds(absent, Op::kEqual, net::CompareVersion{0}));
  CHECK(compare_holds(absent, Op::kLess, net::CompareVersion{1}));
  // Values: bytewise; an absent key has none, so only notEqual holds.
  CHECK(compare_holds(present, Op::kEqual, net::CompareValue{"m"}));
  CHECK(compare_holds(present, Op::kLess, net::CompareValue{"n"}));
  CHECK(compare_holds(present, Op::kGreater, net::CompareValue{"l"}));
  CHECK(compare_holds(absent, Op::kNotEqual, net::CompareValue{"m"}));
  CHECK_FALSE(compare_holds(absent, Op::kEqual, net::CompareValue{""}));
  CHECK_FALSE(compare_holds(absent, Op::kLess, net::CompareValue{"z"}));
  // Absence: present sorts after absent.
  CHECK(compare_holds(absent, Op::kEqual, net::CompareAbsent{}));
  CHECK(compare_holds(present, Op::kNotEqual, net::CompareAbsent{}));
  CHECK(compare_holds(present, Op::kGreater, net::CompareAbsent{}));
  CHECK_FALSE(compare_holds(absent, Op::kGreater, net::CompareAbsent{}));
}

TEST_CASE("etcd rules: a txn is one-shard only if every key and range is", "[client][txn]") {
  RouteCache routes;
  REQUIRE(routes.reset({ShardRoute{"", "m", "", {}, 0}, ShardRoute{"m", "", "", {}, 1}}));
  net::TxnRequest txn;
  CHECK(in_one_shard(routes, txn));
  txn.compares.push_back(net::TxnCompare{"a", net::CompareOp::kEqual, net::CompareAbsent{}});
  txn.success.push_back(net::PutRequest{"b", "1", false});
  txn.failure.push_back(net::RangeRequest{"c", "l", 0, false, false, false});
  CHECK(in_one_shard(routes, txn));
  SECTION("a put on the other shard") {
    txn.failure.push_back(net::PutRequest{"x", "1", false});
    CHECK_FALSE(in_one_shard(routes, txn));
  }
  SECTION("a range over the boundary") {
    txn.success.push_back(net::RangeRequest{"k", "n", 0, false, false, false});
    CHECK_FALSE(in_one_shard(routes, txn));
  }
  SECTION("a ranged delete to the end of the key space") {
    txn.success.push_back(net::DeleteRequest{"b", kEvery, false});
    CHECK_FALSE(in_one_shard(routes, txn));
  }
  SECTION("a range that ends at the boundary") {
    txn.success.push_back(net::DeleteRequest{"b", "m", false});
    CHECK(in_one_shard(routes, txn));
  }
}

}  // namespace
}  // namespace kv::client::detail
