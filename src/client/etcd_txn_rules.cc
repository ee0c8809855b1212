#include "client/etcd_txn_rules.h"

#include <optional>
#include <type_traits>

#include "common/assert.h"

namespace kv::client::detail {

bool compare_holds(const net::GetResponse& current, net::CompareOp op, const net::CompareTarget& target) {
  int order = 0;  // current <=> target
  if (std::holds_alternative<net::CompareAbsent>(target)) {
    order = current.found ? 1 : 0;  // present compares "greater" than absent
  } else if (const auto* version = std::get_if<net::CompareVersion>(&target)) {
    const std::uint64_t ours = current.found ? current.version : 0;
    order = ours < version->version ? -1 : (ours > version->version ? 1 : 0);
  } else {
    const std::string& value = std::get<net::CompareValue>(target).value;
    if (!current.found) return op == net::CompareOp::kNotEqual;  // an absent key has no value to order
    const int c = current.value.compare(value);
    order = c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  switch (op) {
    case net::CompareOp::kEqual: return order == 0;
    case net::CompareOp::kNotEqual: return order != 0;
    case net::CompareOp::kLess: return order < 0;
    case net::CompareOp::kGreater: return order > 0;
  }
  return false;
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
