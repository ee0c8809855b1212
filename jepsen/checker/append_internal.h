// The list-append checker's model of a history, shared by append.cc (reads, version orders,
// edges) and append_cycles.cc (cycle search and reports). Internal to kv_checker.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "checker/append_graph.h"
#include "checker/history.h"
#include "checker/json.h"
#include "checker/verdict.h"

namespace kv::checker::append_detail {

struct Mop {
  bool append = false;
  std::int32_t key = -1;
  // append: the element; read: the list read (null or array; null when unknown). Points
  // into the History, which outlives the check.
  const Json* arg = nullptr;
};

struct Txn {
  const Op* op = nullptr;
  std::vector<Mop> mops;
  std::int32_t node = -1;  // graph node; -1 for a failed txn (it never happened)
};

// Everything known about one key. Elements are interned per key to small ids.
struct KeyState {
  Json key;
  std::unordered_map<std::int64_t, std::int32_t> int_ids;
  std::unordered_map<std::string, std::int32_t> elem_ids;
  std::vector<Json> elems;           // id -> element
  std::vector<std::int32_t> writer;  // id -> txn that appended it, -1 when none did
  std::vector<bool> writer_final;    // id -> it is its writer's last append to this key
  std::vector<std::int32_t> order;   // the version order: the longest read
  std::vector<std::int32_t> pos;     // id -> index in order, -1 when absent

  struct Read {
    std::int32_t txn;
    std::vector<std::int32_t> elems;
  };
  std::vector<Read> reads;  // reads by ok txns, in txn order

  std::int32_t intern(const Json& element) {
    const auto next = static_cast<std::int32_t>(elems.size());
    // Integers (the usual elements) skip building a canonical string.
    const std::int32_t id = element.is_int() ? int_ids.emplace(element.as_int(), next).first->second
                                             : elem_ids.emplace(element.dump(), next).first->second;
    if (id == next) {
      elems.push_back(element);
      writer.push_back(-1);
      writer_final.push_back(false);
      pos.push_back(-1);
    }
    return id;
  }
};

struct Model {
  std::vector<Txn> txns;               // all txns, in history order
  std::vector<KeyState> keys;          // key id -> state
  std::vector<std::int32_t> node_txn;  // graph node -> txn index
  const Op& op_of_node(std::int32_t node) const {
    return *txns[static_cast<std::size_t>(node_txn[static_cast<std::size_t>(node)])].op;
  }
};

// Searches `g` for cycles and adds one anomaly per cycle class found in each strongly
// connected component (G0, G1c, G-single, G2, and the "-realtime" variants). Sets
// stats "cycle_search_truncated" when the budget cut the classification short; every
// component with a cycle still yields at least one anomaly.
void find_cycle_anomalies(const Model& m, const DepGraph& g, const Budget& budget, CheckResult& out);

}  // namespace kv::checker::append_detail
