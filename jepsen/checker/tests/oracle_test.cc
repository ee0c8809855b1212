// Fast checkers against naive oracles on thousands of random tiny histories (the
// quorum/quick_test.go habit): the WGL search must agree exactly with brute-force
// enumeration of linearizations, and every anomaly the Elle checker reports must be
// confirmed by brute-force enumeration of serial orders (soundness: no false alarms).
// Random values are drawn from tiny domains so that both valid and invalid histories occur.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <map>
#include <random>

#include "checker/wgl.h"
#include "test_util.h"

using namespace kv::checker;
using namespace kv::checker::test;

namespace {

// ORACLE_SEED / ORACLE_CASES let a long soak run the same tests: ORACLE_CASES=1000000.
std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::strtoull(v, nullptr, 10) : fallback;
}

// ---- registers -----------------------------------------------------------------------

bool precedes(std::int64_t complete_a, std::int64_t invoke_b) { return complete_a < invoke_b; }

// Is there an order of all determinate ops plus some indeterminate ones that respects real
// time and register semantics? Plain DFS over every choice; exponential, fine for n <= 7.
bool brute_linearizable(const std::vector<RegOp>& ops) {
  const std::size_t n = ops.size();
  std::vector<bool> done(n, false), dropped(n, false);
  std::function<bool(std::int32_t)> dfs = [&](std::int32_t state) -> bool {
    bool all = true;
    for (std::size_t i = 0; i < n; ++i) all = all && (done[i] || dropped[i]);
    if (all) return true;
    for (std::size_t i = 0; i < n; ++i) {
      if (done[i] || dropped[i]) continue;
      bool minimal = true;  // nothing still pending had to come before it
      for (std::size_t j = 0; j < n; ++j) {
        if (j != i && !done[j] && !dropped[j] && precedes(ops[j].complete_t, ops[i].invoke_t)) minimal = false;
      }
      if (!minimal) continue;
      const RegOp& op = ops[i];
      const bool legal = op.kind == RegKind::write || op.a == state;
      const std::int32_t next = op.kind == RegKind::read ? state : op.kind == RegKind::write ? op.a : op.b;
      if (legal) {
        done[i] = true;
        if (dfs(next)) return true;
        done[i] = false;
      }
      if (op.complete_t == kNever) {  // an indeterminate op may also never happen
        dropped[i] = true;
        if (dfs(state)) return true;
        dropped[i] = false;
      }
    }
    return false;
  };
  return dfs(0);
}

std::vector<RegOp> random_register_ops(std::mt19937_64& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<RegOp> ops;
  const int processes = pick(1, 3);
  for (int p = 0; p < processes; ++p) {
    std::int64_t t = pick(0, 4);
    const int count = pick(1, 3);
    for (int k = 0; k < count && ops.size() < 7; ++k) {
      RegOp op;
      const int kind = pick(0, 2);
      op.kind = kind == 0 ? RegKind::read : kind == 1 ? RegKind::write : RegKind::cas;
      op.a = pick(0, 2);
      op.b = pick(1, 2);
      op.invoke_t = t;
      op.complete_t = t + pick(1, 6);
      t = op.complete_t + pick(0, 2);
      if (op.kind != RegKind::read && pick(0, 4) == 0) {
        op.complete_t = kNever;  // info: the process is done
        k = count;
      }
      op.source = ops.size();
      ops.push_back(op);
    }
  }
  return ops;
}

// The same ops as a history file for check_linear(), which also partitions and prunes.
std::string to_register_history(const std::vector<RegOp>& ops) {
  auto value = [](std::int32_t v) { return v == 0 ? Json() : Json(v); };
  std::vector<std::pair<std::int64_t, std::string>> lines;
  for (std::size_t i = 0; i < ops.size(); ++i) {
    const RegOp& op = ops[i];
    const char* f = op.kind == RegKind::read ? "read" : op.kind == RegKind::write ? "write" : "cas";
    const Json v = op.kind == RegKind::read    ? Json()
                   : op.kind == RegKind::write ? value(op.a)
                                               : Json(Json::Array{value(op.a), value(op.b)});
    for (int completion = 0; completion < 2; ++completion) {
      if (completion == 1 && op.complete_t == kNever) continue;  // never completes: info
      Json j = Json::object();
      j.set("t_ns", completion == 0 ? op.invoke_t : op.complete_t);
      j.set("process", static_cast<std::int64_t>(i));
      j.set("type", completion == 0 ? "invoke" : "ok");
      j.set("f", f);
      j.set("key", "x");
      j.set("value", op.kind == RegKind::read && completion == 1 ? value(op.a) : v);
      // Completions sort after invocations at equal times: ties stay concurrent either way.
      lines.emplace_back(j.find("t_ns")->as_int() * 2 + completion, j.dump());
    }
  }
  std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (const auto& [t, line] : lines) out += line + "\n";
  return out;
}

// ---- list append ---------------------------------------------------------------------

struct TinyTxn {
  std::vector<std::tuple<bool, int, int>> mops;  // (append?, key, element)
  std::vector<std::vector<int>> reads;           // observed list per read micro-op, in order
  Outcome outcome = Outcome::ok;
  std::int64_t invoke_t = 0, complete_t = 0;
};

// Does some serial order of the ok txns plus any subset of the info txns, respecting real
// time, reproduce every read of every ok txn?
bool brute_strict_serializable(const std::vector<TinyTxn>& txns) {
  const std::size_t n = txns.size();
  std::vector<bool> done(n, false), dropped(n, false);
  for (std::size_t i = 0; i < n; ++i) dropped[i] = txns[i].outcome == Outcome::fail;
  std::function<bool(std::map<int, std::vector<int>>&)> dfs = [&](std::map<int, std::vector<int>>& state) -> bool {
    bool all = true;
    for (std::size_t i = 0; i < n; ++i) all = all && (done[i] || dropped[i]);
    if (all) return true;
    for (std::size_t i = 0; i < n; ++i) {
      if (done[i] || dropped[i]) continue;
      bool minimal = true;
      for (std::size_t j = 0; j < n; ++j) {
        // An info txn completes at +infinity: it never has to precede anything.
        const bool must_precede = txns[j].outcome == Outcome::ok && txns[j].complete_t < txns[i].invoke_t;
        if (j != i && !done[j] && !dropped[j] && must_precede) minimal = false;
      }
      if (!minimal) continue;
      std::map<int, std::vector<int>> next = state;
      bool consistent = true;
      std::size_t r = 0;
      for (const auto& [append, key, elem] : txns[i].mops) {
        if (append) {
          next[key].push_back(elem);
        } else if (txns[i].outcome == Outcome::ok) {
          consistent = consistent && next[key] == txns[i].reads[r++];
        }
      }
      if (consistent) {
        done[i] = true;
        if (dfs(next)) return true;
        done[i] = false;
      }
      if (txns[i].outcome == Outcome::info) {
        dropped[i] = true;
        if (dfs(state)) return true;
        dropped[i] = false;
      }
    }
    return false;
  };
  std::map<int, std::vector<int>> empty;
  return dfs(empty);
}

// A random tiny history from a store that executes txns in a random serial order (not
// always the real-time one) and sometimes serves a stale prefix.
std::vector<TinyTxn> random_txns(std::mt19937_64& rng) {
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  std::vector<TinyTxn> txns(static_cast<std::size_t>(pick(2, 5)));
  int next_elem[2] = {1, 1};
  for (TinyTxn& t : txns) {
    t.invoke_t = pick(0, 6);
    t.complete_t = t.invoke_t + pick(1, 5);
    const int outcome = pick(0, 9);
    t.outcome = outcome == 0 ? Outcome::fail : outcome == 1 ? Outcome::info : Outcome::ok;
    for (int m = pick(1, 3); m > 0; --m) {
      const int key = pick(0, 1);
      const bool append = pick(0, 1) == 0;
      t.mops.emplace_back(append, key, append ? next_elem[key]++ : 0);
    }
  }
  std::vector<std::size_t> order(txns.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::shuffle(order.begin(), order.end(), rng);
  std::map<int, std::vector<int>> state;
  for (std::size_t i : order) {
    TinyTxn& t = txns[i];
    const bool happens = t.outcome == Outcome::ok || (t.outcome == Outcome::info && pick(0, 1) == 0);
    std::map<int, std::vector<int>> local = state;
    for (const auto& [append, key, elem] : t.mops) {
      if (append) {
        local[key].push_back(elem);
      } else {
        std::vector<int> seen = local[key];
        if (!seen.empty() && pick(0, 5) == 0)
          seen.resize(static_cast<std::size_t>(pick(0, static_cast<int>(seen.size()) - 1)));
        t.reads.push_back(seen);
      }
    }
    if (happens) state = local;
  }
  return txns;
}

std::string to_history(const std::vector<TinyTxn>& txns) {
  struct Ev {
    std::int64_t t;
    int kind;  // 0 invoke, 1 complete
    std::size_t txn;
  };
  std::vector<Ev> evs;
  for (std::size_t i = 0; i < txns.size(); ++i) {
    evs.push_back({txns[i].invoke_t, 0, i});
    evs.push_back({txns[i].complete_t, 1, i});
  }
  std::sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) { return a.t != b.t ? a.t < b.t : a.kind < b.kind; });
  std::string out;
  for (const Ev& e : evs) {
    const TinyTxn& t = txns[e.txn];
    Json mops = Json::array();
    std::size_t r = 0;
    for (const auto& [append, key, elem] : t.mops) {
      const Json k = key == 0 ? Json("x") : Json("y");
      Json read;
      if (!append && e.kind == 1 && t.outcome == Outcome::ok) {
        read = Json::array();
        for (int v : t.reads[r]) read.push_back(v);
      }
      if (!append) ++r;
      mops.push_back(Json(Json::Array{append ? "append" : "r", k, append ? Json(elem) : read}));
    }
    Json j = Json::object();
    j.set("t_ns", e.t);
    j.set("process", static_cast<std::int64_t>(e.txn));
    j.set("type", e.kind == 0 ? "invoke" : std::string(outcome_name(t.outcome)));
    j.set("f", "txn");
    j.set("value", std::move(mops));
    out += j.dump() + "\n";
  }
  return out;
}

}  // namespace

TEST_CASE("oracle: WGL agrees with brute force on random tiny register histories", "[linear][oracle]") {
  std::mt19937_64 rng(env_or("ORACLE_SEED", 20261125));
  int valid = 0, invalid = 0;
  std::int64_t pruned = 0;
  const int cases = static_cast<int>(env_or("ORACLE_CASES", 5000));
  for (int i = 0; i < cases; ++i) {
    const std::vector<RegOp> ops = random_register_ops(rng);
    const bool expected = brute_linearizable(ops);
    const WglResult r = check_register(ops, quick_budget());
    INFO("case " << i);
    REQUIRE(r.status != WglStatus::time_exceeded);
    REQUIRE((r.status == WglStatus::linearizable) == expected);
    // The whole pipeline (history, pruning of unobservable info ops, WGL) agrees too.
    const std::string text = to_register_history(ops);
    INFO(text);
    std::string error;
    const std::optional<CheckResult> full = check_linear(history_of(text), quick_budget(), &error);
    REQUIRE(full.has_value());
    REQUIRE((full->validity() == Validity::valid) == expected);
    pruned += full->stats.find("info_ops_pruned")->as_int();
    (expected ? valid : invalid) += 1;
  }
  CHECK(valid > 1000);  // the generator really produces both kinds
  CHECK(invalid > 1000);
  CHECK(pruned > 100);  // the pruning of unobservable info ops was exercised
}

TEST_CASE("oracle: every Elle anomaly is confirmed by brute force", "[append][oracle]") {
  std::mt19937_64 rng(env_or("ORACLE_SEED", 777));
  int agreed_valid = 0, agreed_invalid = 0, missed = 0;
  const int cases = static_cast<int>(env_or("ORACLE_CASES", 3000));
  for (int i = 0; i < cases; ++i) {
    const std::vector<TinyTxn> txns = random_txns(rng);
    const std::string text = to_history(txns);
    const History h = history_of(text);
    std::string error;
    const std::optional<CheckResult> r = check_append(h, quick_budget(), &error);
    INFO("case " << i << "\n" << text << error);
    REQUIRE(r.has_value());
    const bool serializable = brute_strict_serializable(txns);
    INFO(report(*r));
    if (r->validity() == Validity::invalid) {
      REQUIRE_FALSE(serializable);  // soundness: no false alarm
      ++agreed_invalid;
    } else if (serializable) {
      ++agreed_valid;
    } else {
      if (std::getenv("ORACLE_SHOW_MISSED") != nullptr && missed < 6) std::printf("MISSED %d\n%s\n", i, text.c_str());
      ++missed;
    }
  }
  CHECK(agreed_valid > 300);
  CHECK(agreed_invalid > 300);
  // Elle is sound by design but only complete for what reads reveal. On these shapes it has
  // matched brute force exactly (0 misses in 300,000 cases, seeds 1-3): a miss here is worth
  // a look, though it need not be a bug.
  CHECK(missed == 0);
  WARN("Elle vs brute force: " << agreed_valid << " valid, " << agreed_invalid << " invalid, " << missed
                               << " violations beyond what the reads reveal");
}
