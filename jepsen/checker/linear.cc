#include "checker/linear.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <map>
#include <thread>
#include <unordered_map>

#include "checker/check_assert.h"
#include "checker/wgl.h"

namespace kv::checker {
namespace {

// One key's register ops, with values interned (id 0 is null, the initial value).
struct KeyOps {
  Json key;
  std::vector<RegOp> ops;
  std::vector<Json> values;  // id -> value
  std::unordered_map<std::string, std::int32_t> ids;
  std::size_t dropped = 0;  // fail ops and info reads
  std::size_t pruned = 0;   // info writes/cases whose value nothing could observe

  std::int32_t intern(const Json& v) {
    if (values.empty()) {
      values.push_back(Json());
      ids.emplace("null", 0);
    }
    auto [it, added] = ids.emplace(v.dump(), static_cast<std::int32_t>(values.size()));
    if (added) values.push_back(v);
    return it->second;
  }
};

// Converts one op into a RegOp; false when it carries no information (dropped), or
// sets `error` when it is malformed.
bool to_reg_op(const Op& op, KeyOps& k, RegOp& out, std::string& error) {
  if (op.failed()) return false;  // never happened
  out.invoke_t = op.invoke_t;
  out.complete_t = op.complete_t;
  out.source = op.index;
  if (op.f == "read") {
    if (!op.ok()) return false;  // unknown result; a read changes nothing
    out.kind = RegKind::read;
    out.a = k.intern(op.result);
    return true;
  }
  if (op.f == "write") {
    out.kind = RegKind::write;
    out.a = k.intern(op.value);
    return true;
  }
  if (op.f == "cas") {
    if (!op.value.is_array() || op.value.size() != 2) {
      error = "cas value must be [expected, new]: " + describe_op(op);
      return false;
    }
    out.kind = RegKind::cas;
    out.a = k.intern(op.value.as_array()[0]);
    out.b = k.intern(op.value.as_array()[1]);
    return true;
  }
  error = "not a register op (read, write, cas): " + describe_op(op);
  return false;
}

// Drops indeterminate writes and CASes whose written value no ok read returns and no CAS
// expects. Sound both ways: a linearization of the pruned ops is one of the original (info
// ops may never happen), and removing such an op from a linearization of the original
// leaves it legal, since until the next write only ops that accept its value could follow
// it, and there are none left. Repeated to a fixed point: dropping an info CAS can leave
// the value it expected unobserved. This matters: every pending info op can double the
// search's configurations, and in real histories most timed-out writes are never read.
void prune_unobservable_info_ops(KeyOps& k) {
  for (bool changed = true; changed;) {
    std::vector<bool> observed(k.values.size(), false);
    for (const RegOp& op : k.ops) {
      if (op.kind == RegKind::read || op.kind == RegKind::cas) observed[static_cast<std::size_t>(op.a)] = true;
    }
    const std::size_t before = k.ops.size();
    std::erase_if(k.ops, [&](const RegOp& op) {
      const std::int32_t written = op.kind == RegKind::write ? op.a : op.b;
      return op.complete_t == kNever && op.kind != RegKind::read && !observed[static_cast<std::size_t>(written)];
    });
    k.pruned += before - k.ops.size();
    changed = k.ops.size() != before;
  }
}

std::optional<std::vector<KeyOps>> partition_by_key(const History& h, std::string* error) {
  std::map<std::string, std::size_t> slot;  // canonical key -> index in keys (ordered: stable output)
  std::vector<KeyOps> keys;
  for (const Op& op : h.ops) {
    auto [it, added] = slot.emplace(op.key.dump(), keys.size());
    if (added) {
      keys.emplace_back();
      keys.back().key = op.key;
      keys.back().intern(Json());
    }
    KeyOps& k = keys[it->second];
    RegOp r;
    std::string err;
    if (to_reg_op(op, k, r, err)) {
      k.ops.push_back(r);
    } else if (!err.empty()) {
      if (error != nullptr) *error = err;
      return std::nullopt;
    } else {
      ++k.dropped;
    }
  }
  for (KeyOps& k : keys) prune_unobservable_info_ops(k);
  return keys;
}

std::string value_list(const KeyOps& k, const std::vector<std::int32_t>& ids) {
  std::string s;
  for (std::int32_t id : ids) s += (s.empty() ? "" : ", ") + k.values[static_cast<std::size_t>(id)].dump();
  return s;
}

// The minimal counterexample: the op that cannot be placed, the prefix that linearizes
// (its count and the tail of one witness order), the values the register may hold there,
// and the ops still pending at that point.
Anomaly describe_failure(const History& h, const KeyOps& k, const WglFailure& f) {
  auto src = [&](std::size_t i) -> const Op& { return h.ops[k.ops[i].source]; };
  Anomaly a;
  a.type = "nonlinearizable";
  a.text = "key " + k.key.dump() + ": no linearization can place " + describe_op(src(f.blocked)) + "\n";
  a.text += "  the " + std::to_string(f.prefix_ops) + " op(s) that returned before it linearize";
  a.text += f.witness_tail.empty() ? " (none)\n" : "; one such order ends with:\n";
  Json witness = Json::array();
  for (std::size_t i : f.witness_tail) {
    a.text += "    " + describe_op(src(i)) + "\n";
    witness.push_back(op_to_json(src(i)));
  }
  Json states = Json::array();
  for (std::int32_t s : f.states) states.push_back(k.values[static_cast<std::size_t>(s)]);
  a.text += "  then the register can hold only: " + value_list(k, f.states) + "\n";
  Json pending = Json::array();
  if (!f.pending.empty()) a.text += "  ops still pending then (no order of them helps):\n";
  for (std::size_t i : f.pending) {
    a.text += "    " + describe_op(src(i)) + "\n";
    pending.push_back(op_to_json(src(i)));
  }
  a.detail = Json::object();
  a.detail.set("key", k.key);
  a.detail.set("op", op_to_json(src(f.blocked)));
  a.detail.set("linearizable_prefix_ops", static_cast<std::int64_t>(f.prefix_ops));
  a.detail.set("witness_tail", std::move(witness));
  a.detail.set("possible_values", std::move(states));
  a.detail.set("pending", std::move(pending));
  return a;
}

// Checks keys in parallel; results[i] belongs to keys[i].
std::vector<WglResult> run_keys(const std::vector<KeyOps>& keys, const Budget& budget) {
  std::vector<WglResult> results(keys.size());
  std::vector<std::size_t> order(keys.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Largest keys first, so one big key does not start last and finish alone.
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t x, std::size_t y) { return keys[x].ops.size() > keys[y].ops.size(); });
  std::atomic<std::size_t> next{0};
  auto worker = [&] {
    for (std::size_t i = next++; i < order.size(); i = next++)
      results[order[i]] = check_register(keys[order[i]].ops, budget);
  };
  unsigned n = budget.threads != 0 ? budget.threads : std::max(1u, std::thread::hardware_concurrency());
  n = static_cast<unsigned>(std::min<std::size_t>(n, std::max<std::size_t>(1, keys.size())));
  std::vector<std::thread> threads;
  for (unsigned t = 1; t < n; ++t) threads.emplace_back(worker);
  worker();
  for (auto& t : threads) t.join();
  return results;
}

}  // namespace

std::optional<CheckResult> check_linear(const History& h, const Budget& budget, std::string* error) {
  const auto start = std::chrono::steady_clock::now();
  std::optional<std::vector<KeyOps>> keys = partition_by_key(h, error);
  if (!keys) return std::nullopt;
  const std::vector<WglResult> results = run_keys(*keys, budget);
  CheckResult out;
  std::int64_t checked = 0, dropped = 0, pruned = 0, invalid = 0, unknown = 0;
  std::uint64_t steps = 0;
  std::size_t max_memo = 0, max_memo_bytes = 0;
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const KeyOps& k = (*keys)[i];
    const WglResult& r = results[i];
    checked += static_cast<std::int64_t>(k.ops.size());
    dropped += static_cast<std::int64_t>(k.dropped);
    pruned += static_cast<std::int64_t>(k.pruned);
    steps += r.steps;
    max_memo = std::max(max_memo, r.memo_entries);
    max_memo_bytes = std::max(max_memo_bytes, r.memo_bytes);
    if (r.status == WglStatus::not_linearizable) {
      ++invalid;
      out.add_anomaly(describe_failure(h, k, r.failure), budget.max_reports_per_type);
    } else if (r.status != WglStatus::linearizable) {
      ++unknown;
      out.mark_unknown("key " + k.key.dump() + ": " + (r.status == WglStatus::time_exceeded ? "time" : "memory") +
                       " budget exceeded after " + std::to_string(r.steps) + " search steps (" +
                       std::to_string(k.ops.size()) + " ops)");
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.stats.set("ops", static_cast<std::int64_t>(h.ops.size()));
  out.stats.set("register_ops_checked", checked);
  out.stats.set("ops_dropped", dropped);
  out.stats.set("info_ops_pruned", pruned);
  out.stats.set("keys", static_cast<std::int64_t>(keys->size()));
  out.stats.set("keys_nonlinearizable", invalid);
  out.stats.set("keys_unknown", unknown);
  out.stats.set("search_steps", static_cast<std::int64_t>(steps));
  out.stats.set("max_memo_entries", static_cast<std::int64_t>(max_memo));
  out.stats.set("max_memo_bytes", static_cast<std::int64_t>(max_memo_bytes));
  out.stats.set("seconds", seconds);
  out.stats.set("ops_per_second", seconds > 0 ? static_cast<double>(h.ops.size()) / seconds : 0.0);
  return out;
}

}  // namespace kv::checker
