#include "client/etcd_txn_rules.h"

#include <optional>
#include <type_traits>

#include "common/assert.h"

namespace kv::client::detail {

bool compare_holds(const net::GetResponse& current, net::CompareOp op, const net::CompareTarget& target) {
  std::optional<net::ComparedKey> key;
  if (current.found) key = net::ComparedKey{current.value, current.version};
  return net::compare_holds(key, op, target);
}

namespace {

// Collects the shards a txn touches; `many` once there are two.
struct ShardSet {
  const RouteCache& routes;
  std::optional<std::size_t> first;
  bool many = false;

  void add(std::size_t index) {
    if (!first) first = index;
    else if (*first != index) many = true;
  }
  void key(const std::string& k) { add(routes.index_of(k)); }
  // [start, end), or `start` alone when end is empty.
  void span(const std::string& start, const std::string& end) {
    if (end.empty()) return key(start);
    for (const RangePiece& piece : routes.split(start, end)) add(piece.shard_index);
  }
  void op(const net::TxnOp& txn_op) {
    std::visit([&](const auto& r) {
      using T = std::decay_t<decltype(r)>;
      if constexpr (std::is_same_v<T, net::RangeRequest>) span(r.start, r.end);
      else if constexpr (std::is_same_v<T, net::DeleteRequest>) span(r.key, r.range_end);
      else key(r.key);
    }, txn_op);
  }
};

}  // namespace

bool in_one_shard(const RouteCache& routes, const net::TxnRequest& txn) {
  ShardSet shards{routes, std::nullopt, false};
  for (const net::TxnCompare& c : txn.compares) shards.key(c.key);
  for (const net::TxnOp& op : txn.success) shards.op(op);
  for (const net::TxnOp& op : txn.failure) shards.op(op);
  KV_ASSERT(!shards.many || shards.first.has_value());
  return !shards.many;
}

}  // namespace kv::client::detail
