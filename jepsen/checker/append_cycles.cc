// Cycle search and cycle reports of the list-append checker (append.h gives the names).
#include <bit>
#include <chrono>

#include "checker/append_internal.h"
#include "checker/check_assert.h"

namespace kv::checker::append_detail {
namespace {

std::string label(const Model& m, std::int32_t node) { return "#" + std::to_string(m.op_of_node(node).index); }

std::string elem_text(const KeyState& k, std::int32_t e) { return k.elems[static_cast<std::size_t>(e)].dump(); }

// One sentence saying why the step's edge exists.
std::string explain(const Model& m, const DepGraph& g, const CycleStep& s) {
  const DepGraph::Edge& e = g.edges()[s.edge];
  const EdgeWhy& w = e.why[std::countr_zero(static_cast<unsigned>(s.kind))];
  const std::string from = label(m, s.from), to = label(m, s.to);
  if (s.kind == kRT) {
    return from + " completed (t=" + std::to_string(m.op_of_node(s.from).complete_t) + ") before " + to +
           " was invoked (t=" + std::to_string(m.op_of_node(s.to).invoke_t) + ")";
  }
  const KeyState& k = m.keys[static_cast<std::size_t>(w.key)];
  const std::string key = "key " + k.key.dump() + ": ";
  switch (s.kind) {
    case kWW:
      return key + from + " appended " + elem_text(k, w.first) + ", then " + to + " appended " +
             elem_text(k, w.second) + " right after it";
    case kWR:
      return key + to + " read a list ending in " + elem_text(k, w.first) + ", appended by " + from;
    default:
      return key + from + (w.first < 0 ? " read it empty" : " read it up to " + elem_text(k, w.first)) + ", then " +
             to + " appended " + elem_text(k, w.second) + ", the next version";
  }
}

std::string classify(const Cycle& c, bool realtime) {
  const int rw = count_kind(c, kRW);
  std::string base = rw == 0 ? (count_kind(c, kWR) > 0 ? "G1c" : "G0") : rw == 1 ? "G-single" : "G2";
  return realtime ? base + "-realtime" : base;
}

Anomaly cycle_anomaly(const Model& m, const DepGraph& g, const Cycle& c, bool realtime) {
  Anomaly a;
  a.type = classify(c, realtime);
  std::string path = label(m, c.front().from);
  for (const CycleStep& s : c) path += std::string(" -") + edge_kind_name(s.kind) + "-> " + label(m, s.to);
  a.text = "cycle of " + std::to_string(c.size()) + " txns: " + path + "\n";
  Json steps = Json::array();
  Json txns = Json::array();
  std::string txn_lines;
  for (const CycleStep& s : c) {
    const std::string why = explain(m, g, s);
    a.text += "    " + why + "\n";
    Json step = Json::object();
    step.set("from", static_cast<std::int64_t>(m.op_of_node(s.from).index));
    step.set("to", static_cast<std::int64_t>(m.op_of_node(s.to).index));
    step.set("kind", edge_kind_name(s.kind));
    step.set("why", why);
    steps.push_back(std::move(step));
    txns.push_back(op_to_json(m.op_of_node(s.from)));
    txn_lines += "    " + describe_op(m.op_of_node(s.from)) + "\n";
  }
  a.text += "  where\n" + txn_lines;
  a.detail = Json::object();
  a.detail.set("cycle", std::move(txns));
  a.detail.set("steps", std::move(steps));
  return a;
}

// Searches in order; reports every class found (all = true) or only the first.
// Returns whether anything was found.
bool search(const Model& m, const DepGraph& g, CycleFinder& finder, const std::vector<std::int32_t>& comp,
            const std::vector<CycleQuery>& queries, bool realtime, bool all, const Budget& budget, CheckResult& out) {
  bool found = false;
  for (const CycleQuery& q : queries) {
    if (std::optional<Cycle> c = finder.find(comp, q)) {
      out.add_anomaly(cycle_anomaly(m, g, *c, realtime), budget.max_reports_per_type);
      found = true;
      if (!all) break;
    }
  }
  return found;
}

// When the budget stopped the classification, one plain search per component that always
// succeeds at its first start edge: every cycle found is still reported.
void search_unbounded(const Model& m, const DepGraph& g, CycleFinder& finder, const std::vector<std::int32_t>& comp,
                      const std::vector<CycleQuery>& queries, bool realtime, const Budget& budget, CheckResult& out) {
  finder.use_deadline(false);
  const bool found = search(m, g, finder, comp, queries, realtime, false, budget, out);
  CHECKER_ASSERT(found);
  finder.use_deadline(true);
}

bool inside_one(const Sccs& s, const std::vector<std::int32_t>& comp) {
  for (std::int32_t n : comp) {
    if (s.id[static_cast<std::size_t>(n)] != s.id[static_cast<std::size_t>(comp.front())]) return false;
  }
  return true;
}

}  // namespace

void find_cycle_anomalies(const Model& m, const DepGraph& g, const Budget& budget, CheckResult& out) {
  CycleFinder finder(g, std::chrono::steady_clock::now() + budget.time);
  const Sccs data = strongly_connected(g, kDataKinds);
  // The pre-filters cost a Tarjan pass each; a valid history (the common case) skips them.
  const Sccs ww = data.nontrivial.empty() ? Sccs{} : strongly_connected(g, kWW);
  const Sccs wwwr = data.nontrivial.empty() ? Sccs{} : strongly_connected(g, kWW | kWR);
  // G0 and G1c starts are pre-filtered by SCC, so they succeed at the first start edge tried.
  const std::vector<CycleQuery> data_queries = {
      {kWW, kWW, 0, 0, &ww},             // G0
      {kWR, kWW | kWR, 0, 0, &wwwr},     // G1c
      {kRW, kWW | kWR, 1, 1, nullptr},   // G-single
      {kRW, kDataKinds, 2, 2, nullptr},  // G2
  };
  const std::vector<CycleQuery> data_fallback = {data_queries[0], data_queries[1], {kRW, kDataKinds, 1, 2, nullptr}};
  for (const auto& comp : data.nontrivial) {
    if (!search(m, g, finder, comp, data_queries, false, true, budget, out)) {
      search_unbounded(m, g, finder, comp, data_fallback, false, budget, out);
    }
  }
  // Real-time: only components that real-time edges create or merge; a component inside one
  // data-edge component is already reported above.
  const Sccs strict = strongly_connected(g, kAllKinds);
  const Sccs no_rw = strict.nontrivial.empty() ? Sccs{} : strongly_connected(g, kWW | kWR | kRT);
  const std::vector<CycleQuery> rt_queries = {
      {kRT, kWW | kWR | kRT, 0, 0, &no_rw},  // G0-realtime or G1c-realtime
      {kRT, kAllKinds, 1, 1, nullptr},       // G-single-realtime
      {kRT, kAllKinds, 2, 2, nullptr},       // G2-realtime
  };
  const std::vector<CycleQuery> rt_fallback = {{kRT, kAllKinds, 0, 2, nullptr}};
  std::int64_t realtime_components = 0;
  for (const auto& comp : strict.nontrivial) {
    if (inside_one(data, comp)) continue;
    ++realtime_components;
    if (!search(m, g, finder, comp, rt_queries, true, false, budget, out)) {
      search_unbounded(m, g, finder, comp, rt_fallback, true, budget, out);
    }
  }
  out.stats.set("cyclic_components", static_cast<std::int64_t>(data.nontrivial.size()));
  out.stats.set("cyclic_components_realtime", realtime_components);
  out.stats.set("cycle_search_truncated", finder.truncated());
}

}  // namespace kv::checker::append_detail
