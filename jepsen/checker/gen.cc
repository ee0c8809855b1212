#include "checker/gen.h"

#include <algorithm>
#include <functional>
#include <map>
#include <queue>
#include <random>
#include <vector>

#include "checker/check_assert.h"
#include "checker/json.h"

namespace kv::checker {
namespace {

enum class Plan { ok, fail, info };

// One simulated client op. `lp` is the instant it takes effect, strictly inside
// (invoke_t, complete_t), so applying ops in lp order is a legal linearization.
struct SimOp {
  std::int64_t process = 0;
  std::int64_t invoke_t = 0;
  std::int64_t complete_t = 0;
  std::int64_t lp = 0;
  Plan plan = Plan::ok;
  bool info_takes_effect = false;  // for Plan::info: did the lost op happen?
  std::string f;
  Json key;
  Json value;   // invocation value
  Json result;  // completion value (ok)
  std::string node;
};

class Sim {
 public:
  explicit Sim(const GenOptions& o) : o_(o), rng_(o.seed) {}

  bool chance(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
  std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng_);
  }
  std::size_t pick(std::size_t n) { return static_cast<std::size_t>(uniform(0, static_cast<std::int64_t>(n) - 1)); }

  // Runs `count` ops over `slots` sequential clients; make(op, slot) fills f/key/value.
  // A client that gets an info outcome continues under a fresh process id, as in Jepsen.
  std::vector<SimOp> schedule(std::size_t slots, std::size_t count,
                              const std::function<void(SimOp&, std::size_t)>& make) {
    CHECKER_ASSERT(slots > 0);
    CHECKER_ASSERT(o_.latency_ns_max >= 2);
    using Next = std::pair<std::int64_t, std::size_t>;  // (time free, slot)
    std::priority_queue<Next, std::vector<Next>, std::greater<>> free;
    std::vector<std::int64_t> pid(slots);
    for (std::size_t s = 0; s < slots; ++s) {
      pid[s] = static_cast<std::int64_t>(s);
      free.emplace(uniform(0, o_.think_ns_max), s);
    }
    auto next_pid = static_cast<std::int64_t>(slots);
    std::vector<SimOp> ops;
    while (ops.size() < count) {
      auto [t, s] = free.top();
      free.pop();
      SimOp op;
      op.process = pid[s];
      op.invoke_t = t;
      op.complete_t = t + uniform(2, o_.latency_ns_max);
      op.lp = uniform(op.invoke_t + 1, op.complete_t - 1);
      op.plan = chance(o_.fail_rate) ? Plan::fail : chance(o_.info_rate) ? Plan::info : Plan::ok;
      op.info_takes_effect = chance(0.5);
      op.node = "n" + std::to_string(1 + pick(5));
      make(op, s);
      if (op.plan == Plan::info) pid[s] = next_pid++;
      free.emplace(op.complete_t + uniform(0, o_.think_ns_max), s);
      ops.push_back(std::move(op));
    }
    return ops;
  }

  // Indices of ops in the order they take effect.
  static std::vector<std::size_t> effect_order(const std::vector<SimOp>& ops) {
    std::vector<std::size_t> order(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return ops[a].lp < ops[b].lp; });
    return order;
  }

  static std::string emit(const std::vector<SimOp>& ops) {
    struct Ev {
      std::int64_t t;
      std::size_t op;
      bool invoke;
    };
    std::vector<Ev> evs;
    for (std::size_t i = 0; i < ops.size(); ++i) {
      evs.push_back({ops[i].invoke_t, i, true});
      evs.push_back({ops[i].complete_t, i, false});
    }
    std::stable_sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) { return a.t < b.t; });
    std::string out;
    for (const Ev& e : evs) {
      const SimOp& op = ops[e.op];
      Json j = Json::object();
      j.set("t_ns", e.t);
      j.set("process", op.process);
      const char* type = e.invoke ? "invoke" : op.plan == Plan::ok ? "ok" : op.plan == Plan::fail ? "fail" : "info";
      j.set("type", type);
      j.set("f", op.f);
      if (!op.key.is_null()) j.set("key", op.key);
      j.set("value", !e.invoke && op.plan == Plan::ok ? op.result : op.value);
      j.set("node", op.node);
      out += j.dump();
      out += '\n';
    }
    return out;
  }

  const GenOptions& o_;
  std::mt19937_64 rng_;
};

// ---------------------------------------------------------------------------------------
// Register

void apply_register(std::vector<SimOp>& ops) {
  std::map<std::int64_t, Json> state;  // key -> value; absent = null
  for (std::size_t i : Sim::effect_order(ops)) {
    SimOp& op = ops[i];
    Json& cur = state[op.key.as_int()];
    const bool happens = op.plan == Plan::ok || (op.plan == Plan::info && op.info_takes_effect);
    if (op.f == "read") {
      op.result = cur;
    } else if (op.f == "write") {
      op.result = op.value;
      if (happens) cur = op.value;
    } else {
      op.result = op.value;
      const bool matches = cur == op.value.as_array()[0];
      if (happens && matches) cur = op.value.as_array()[1];
      if (op.plan == Plan::ok && !matches) op.plan = Plan::fail;  // compare failed: no effect
    }
  }
}

// Rewrites one ok read to a value that is certainly stale: written by an ok op O1 that
// completed before an ok overwrite O2 was invoked, where O2 completed before the read was
// invoked. Values are unique per key, so no linearization can show it. Returns success.
bool inject_stale_register_read(std::vector<SimOp>& ops, Sim& sim, std::vector<bool>& touched) {
  for (int attempt = 0; attempt < 10000; ++attempt) {
    SimOp& r = ops[sim.pick(ops.size())];
    const std::size_t ri = static_cast<std::size_t>(&r - ops.data());
    if (r.f != "read" || r.plan != Plan::ok || touched[ri]) continue;
    auto overwrites = [&](const SimOp& o) { return o.key == r.key && o.plan == Plan::ok && o.f != "read"; };
    std::vector<const SimOp*> o2s;
    for (const SimOp& o : ops) {
      if (overwrites(o) && o.complete_t < r.invoke_t) o2s.push_back(&o);
    }
    if (o2s.empty()) continue;
    const SimOp& o2 = *o2s[sim.pick(o2s.size())];
    std::vector<Json> stale{Json()};  // the initial null is overwritten by any o2
    for (const SimOp& o : ops) {
      if (overwrites(o) && o.complete_t < o2.invoke_t)
        stale.push_back(o.f == "write" ? o.value : o.value.as_array()[1]);
    }
    r.result = stale[sim.pick(stale.size())];
    touched[ri] = true;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// List append

struct AppendState {
  std::vector<std::int64_t> live;                // keys currently in use
  std::map<std::int64_t, std::int64_t> appends;  // key -> appends generated so far
  std::int64_t next_key = 0;
};

Json make_txn(Sim& sim, AppendState& st, std::size_t max_per_key) {
  Json txn = Json::array();
  const std::int64_t n = sim.uniform(1, 4);
  for (std::int64_t i = 0; i < n; ++i) {
    const std::size_t slot = sim.pick(st.live.size());
    const std::int64_t k = st.live[slot];
    if (sim.chance(0.5)) {
      const std::int64_t v = ++st.appends[k];
      txn.push_back(Json(Json::Array{"append", k, v}));
      if (static_cast<std::size_t>(v) >= max_per_key) st.live[slot] = st.next_key++;  // retire the key
    } else {
      txn.push_back(Json(Json::Array{"r", k, nullptr}));
    }
  }
  return txn;
}

void apply_append(std::vector<SimOp>& ops) {
  std::map<std::int64_t, Json> lists;  // key -> array; absent = never appended (reads null)
  for (std::size_t i : Sim::effect_order(ops)) {
    SimOp& op = ops[i];
    const bool happens = op.plan == Plan::ok || (op.plan == Plan::info && op.info_takes_effect);
    if (!happens) continue;
    op.result = op.value;
    for (Json& mop : op.result.as_array()) {
      Json::Array& m = mop.as_array();
      const std::int64_t k = m[1].as_int();
      if (m[0].as_string() == "append") {
        auto [it, added] = lists.emplace(k, Json::array());
        it->second.push_back(m[2]);
      } else {
        auto it = lists.find(k);
        m[2] = it == lists.end() ? Json() : it->second;
      }
    }
  }
}

// Truncates one ok read so it misses an element whose writer completed before the reader
// was invoked (and that another read shows, so the version order keeps it).
bool inject_stale_append_read(std::vector<SimOp>& ops, Sim& sim, std::vector<bool>& touched) {
  std::map<std::pair<std::int64_t, std::int64_t>, std::size_t> writer;  // (key, value) -> op
  for (std::size_t i = 0; i < ops.size(); ++i) {
    if (ops[i].plan != Plan::ok) continue;
    for (const Json& m : ops[i].value.as_array()) {
      if (m.as_array()[0].as_string() == "append") writer[{m.as_array()[1].as_int(), m.as_array()[2].as_int()}] = i;
    }
  }
  for (int attempt = 0; attempt < 10000; ++attempt) {
    const std::size_t ri = sim.pick(ops.size());
    SimOp& r = ops[ri];
    if (r.plan != Plan::ok || touched[ri]) continue;
    Json::Array& mops = r.result.as_array();
    const std::size_t mi = sim.pick(mops.size());
    Json::Array& m = mops[mi].as_array();
    if (m[0].as_string() != "r" || !m[2].is_array() || m[2].size() == 0) continue;
    const std::int64_t k = m[1].as_int();
    const Json::Array& seen = m[2].as_array();
    const std::size_t j = sim.pick(seen.size());
    auto w = writer.find({k, seen[j].as_int()});
    if (w == writer.end() || ops[w->second].complete_t >= r.invoke_t) continue;
    bool earlier_append = false;  // keep the txn internally consistent
    for (std::size_t x = 0; x < mi; ++x) earlier_append |= mops[x].as_array()[1].as_int() == k;
    if (earlier_append) continue;
    m[2] = Json(Json::Array(seen.begin(), seen.begin() + static_cast<std::ptrdiff_t>(j)));
    touched[ri] = true;
    return true;
  }
  return false;
}

// ---------------------------------------------------------------------------------------
// Bank

std::string account(std::size_t i) { return "a" + std::to_string(i); }

void apply_bank(std::vector<SimOp>& ops, std::size_t accounts, std::int64_t total) {
  std::vector<std::int64_t> bal(accounts, total / static_cast<std::int64_t>(accounts));
  bal[0] += total % static_cast<std::int64_t>(accounts);
  for (std::size_t i : Sim::effect_order(ops)) {
    SimOp& op = ops[i];
    const bool happens = op.plan == Plan::ok || (op.plan == Plan::info && op.info_takes_effect);
    if (op.f == "read") {
      op.result = Json::object();
      for (std::size_t a = 0; a < accounts; ++a) op.result.set(account(a), bal[a]);
      continue;
    }
    op.result = op.value;
    const auto from = static_cast<std::size_t>(std::stoul(op.value.find("from")->as_string().substr(1)));
    const auto to = static_cast<std::size_t>(std::stoul(op.value.find("to")->as_string().substr(1)));
    const std::int64_t amount = op.value.find("amount")->as_int();
    const bool funded = bal[from] >= amount;
    if (happens && funded) {
      bal[from] -= amount;
      bal[to] += amount;
    }
    if (op.plan == Plan::ok && !funded) op.plan = Plan::fail;  // insufficient funds: aborted
  }
}

}  // namespace

std::string generate_register_history(const GenOptions& o) {
  Sim sim(o);
  std::vector<std::int64_t> last_value(o.keys, 0);
  auto make = [&](SimOp& op, std::size_t slot) {
    const auto key = static_cast<std::int64_t>(slot / o.processes);
    std::int64_t& last = last_value[static_cast<std::size_t>(key)];
    op.key = key;
    const std::int64_t kind = sim.uniform(0, 99);
    if (kind < 40) {
      op.f = "read";
    } else if (kind < 75) {
      op.f = "write";
      op.value = ++last;
    } else {
      op.f = "cas";
      const std::int64_t expected = sim.chance(0.5) ? last : sim.uniform(std::max<std::int64_t>(0, last - 3), last);
      op.value = Json(Json::Array{expected == 0 ? Json() : Json(expected), ++last});
    }
  };
  std::vector<SimOp> ops = sim.schedule(o.processes * o.keys, o.ops, make);
  apply_register(ops);
  std::vector<bool> touched(ops.size(), false);
  for (std::size_t i = 0; i < o.stale_reads; ++i) inject_stale_register_read(ops, sim, touched);
  return Sim::emit(ops);
}

std::string generate_append_history(const GenOptions& o) {
  Sim sim(o);
  AppendState st;
  for (std::size_t i = 0; i < std::max<std::size_t>(1, o.keys); ++i) st.live.push_back(st.next_key++);
  auto make = [&](SimOp& op, std::size_t) {
    op.f = "txn";
    op.value = make_txn(sim, st, o.append_max_per_key);
  };
  std::vector<SimOp> ops = sim.schedule(o.processes, o.ops, make);
  apply_append(ops);
  std::vector<bool> touched(ops.size(), false);
  for (std::size_t i = 0; i < o.stale_reads; ++i) inject_stale_append_read(ops, sim, touched);
  return Sim::emit(ops);
}

std::string generate_bank_history(const GenOptions& o) {
  CHECKER_ASSERT(o.accounts >= 2);
  Sim sim(o);
  auto make = [&](SimOp& op, std::size_t) {
    if (sim.chance(0.3)) {
      op.f = "read";
      return;
    }
    op.f = "transfer";
    const std::size_t from = sim.pick(o.accounts);
    const std::size_t to = (from + 1 + sim.pick(o.accounts - 1)) % o.accounts;
    op.value = Json::object();
    op.value.set("from", account(from));
    op.value.set("to", account(to));
    op.value.set("amount", sim.uniform(1, 5));
  };
  std::vector<SimOp> ops = sim.schedule(o.processes, o.ops, make);
  apply_bank(ops, o.accounts, o.bank_total);
  Json meta = Json::object();
  meta.set("type", "meta");
  meta.set("f", "bank");
  Json params = Json::object();
  Json names = Json::array();
  for (std::size_t a = 0; a < o.accounts; ++a) names.push_back(account(a));
  params.set("accounts", std::move(names));
  params.set("total", o.bank_total);
  meta.set("value", std::move(params));
  return meta.dump() + "\n" + Sim::emit(ops);
}

}  // namespace kv::checker
