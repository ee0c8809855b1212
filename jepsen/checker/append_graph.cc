#include "checker/append_graph.h"

#include <algorithm>
#include <bit>
#include <deque>

#include "checker/check_assert.h"

namespace kv::checker {

const char* edge_kind_name(std::uint8_t kind) {
  switch (kind) {
    case kWW:
      return "ww";
    case kWR:
      return "wr";
    case kRW:
      return "rw";
    case kRT:
      return "rt";
  }
  CHECKER_ASSERT(false && "edge_kind_name: not a single kind");
  return "?";
}

void DepGraph::add(std::int32_t from, std::int32_t to, EdgeKind kind, EdgeWhy why) {
  CHECKER_ASSERT(from >= 0 && static_cast<std::size_t>(from) < out_.size());
  CHECKER_ASSERT(to >= 0 && static_cast<std::size_t>(to) < out_.size());
  if (from == to) return;
  const std::uint64_t k = (static_cast<std::uint64_t>(from) << 32) | static_cast<std::uint32_t>(to);
  auto [it, added] = index_.emplace(k, static_cast<std::uint32_t>(edges_.size()));
  if (added) {
    edges_.push_back(Edge{from, to, 0, {}});
    out_[static_cast<std::size_t>(from)].push_back(Out{to, it->second});
  }
  Edge& e = edges_[it->second];
  if ((e.mask & kind) == 0) e.why[std::countr_zero(static_cast<unsigned>(kind))] = why;
  e.mask = static_cast<std::uint8_t>(e.mask | kind);
}

std::size_t DepGraph::count(EdgeKind kind) const {
  return static_cast<std::size_t>(
      std::count_if(edges_.begin(), edges_.end(), [&](const Edge& e) { return (e.mask & kind) != 0; }));
}

// Tarjan's algorithm, iterative (histories give graphs deep enough to overflow the stack).
Sccs strongly_connected(const DepGraph& g, std::uint8_t allowed) {
  const std::size_t n = g.nodes();
  Sccs out;
  out.id.assign(n, -1);
  std::vector<std::int32_t> index(n, -1), low(n, 0);
  std::vector<bool> on_stack(n, false);
  std::vector<std::int32_t> stack;
  struct Frame {
    std::int32_t node;
    std::size_t pos;
  };
  std::vector<Frame> frames;
  std::int32_t counter = 0, components = 0;
  auto enter = [&](std::int32_t v) {
    index[static_cast<std::size_t>(v)] = low[static_cast<std::size_t>(v)] = counter++;
    stack.push_back(v);
    on_stack[static_cast<std::size_t>(v)] = true;
    frames.push_back(Frame{v, 0});
  };
  for (std::size_t s = 0; s < n; ++s) {
    if (index[s] != -1) continue;
    enter(static_cast<std::int32_t>(s));
    while (!frames.empty()) {
      Frame& f = frames.back();
      const auto v = static_cast<std::size_t>(f.node);
      const auto& outs = g.out(f.node);
      if (f.pos < outs.size()) {
        const DepGraph::Out& e = outs[f.pos++];
        if ((g.edges()[e.edge].mask & allowed) == 0) continue;
        const auto w = static_cast<std::size_t>(e.to);
        if (index[w] == -1)
          enter(e.to);
        else if (on_stack[w])
          low[v] = std::min(low[v], index[w]);
        continue;
      }
      if (low[v] == index[v]) {
        std::vector<std::int32_t> members;
        std::int32_t w = -1;
        do {
          w = stack.back();
          stack.pop_back();
          on_stack[static_cast<std::size_t>(w)] = false;
          out.id[static_cast<std::size_t>(w)] = components;
          members.push_back(w);
        } while (w != f.node);
        ++components;
        if (members.size() >= 2) out.nontrivial.push_back(std::move(members));
      }
      frames.pop_back();
      if (!frames.empty()) {
        const auto parent = static_cast<std::size_t>(frames.back().node);
        low[parent] = std::min(low[parent], low[v]);
      }
    }
  }
  return out;
}

CycleFinder::CycleFinder(const DepGraph& g, std::chrono::steady_clock::time_point deadline)
    : g_(g),
      deadline_(deadline),
      member_stamp_(g.nodes(), 0),
      seen_(g.nodes() * 3, 0),
      parent_(g.nodes() * 3, -1),
      parent_edge_(g.nodes() * 3, 0),
      parent_kind_(g.nodes() * 3, 0) {}

std::optional<Cycle> CycleFinder::find(const std::vector<std::int32_t>& members, const CycleQuery& q) {
  CHECKER_ASSERT(std::popcount(static_cast<unsigned>(q.start)) == 1);
  CHECKER_ASSERT(q.rw_min <= q.rw_max && q.rw_max <= 2);
  ++member_gen_;
  for (std::int32_t m : members) member_stamp_[static_cast<std::size_t>(m)] = member_gen_;
  std::size_t starts = 0;
  for (std::int32_t u : members) {
    for (const DepGraph::Out& e : g_.out(u)) {
      if ((g_.edges()[e.edge].mask & q.start) == 0) continue;
      if (member_stamp_[static_cast<std::size_t>(e.to)] != member_gen_) continue;
      if (q.same_scc != nullptr &&
          q.same_scc->id[static_cast<std::size_t>(u)] != q.same_scc->id[static_cast<std::size_t>(e.to)])
        continue;
      if (starts++ >= q.max_starts || (use_deadline_ && std::chrono::steady_clock::now() > deadline_)) {
        truncated_ = true;
        return std::nullopt;
      }
      if (std::optional<Cycle> c = bfs(u, e.to, e.edge, q)) return c;
    }
  }
  return std::nullopt;
}

// Breadth-first from v back to u over states (node, rw steps so far capped at 2).
std::optional<Cycle> CycleFinder::bfs(std::int32_t u, std::int32_t v, std::uint32_t start_edge, const CycleQuery& q) {
  const int rw0 = q.start == kRW ? 1 : 0;
  if (rw0 > q.rw_max) return std::nullopt;
  if (++seen_gen_ == 0) {  // stamp wrapped: forget everything explicitly
    std::fill(seen_.begin(), seen_.end(), 0);
    seen_gen_ = 1;
  }
  auto state = [](std::int32_t node, int rw) { return static_cast<std::int64_t>(node) * 3 + rw; };
  std::deque<std::int64_t> queue{state(v, rw0)};
  seen_[static_cast<std::size_t>(queue.front())] = seen_gen_;
  parent_[static_cast<std::size_t>(queue.front())] = -1;
  while (!queue.empty()) {
    const std::int64_t s = queue.front();
    queue.pop_front();
    const auto x = static_cast<std::int32_t>(s / 3);
    const int r = static_cast<int>(s % 3);
    if (x == u) {
      if (r < q.rw_min) continue;  // arrived with too few rw steps; never pass through u
      Cycle c{CycleStep{u, v, q.start, start_edge}};
      std::vector<CycleStep> rest;
      for (std::int64_t t = s; parent_[static_cast<std::size_t>(t)] != -1; t = parent_[static_cast<std::size_t>(t)]) {
        const auto ts = static_cast<std::size_t>(t);
        rest.push_back(CycleStep{static_cast<std::int32_t>(parent_[ts] / 3), static_cast<std::int32_t>(t / 3),
                                 parent_kind_[ts], parent_edge_[ts]});
      }
      c.insert(c.end(), rest.rbegin(), rest.rend());
      // A walk that visits a node twice (possible when rw counts differ) is not a simple
      // cycle; its class could be wrong, so it does not count.
      std::vector<std::int32_t> nodes;
      for (const CycleStep& st : c) nodes.push_back(st.from);
      std::sort(nodes.begin(), nodes.end());
      if (std::adjacent_find(nodes.begin(), nodes.end()) != nodes.end()) return std::nullopt;
      return c;
    }
    for (const DepGraph::Out& e : g_.out(x)) {
      if (member_stamp_[static_cast<std::size_t>(e.to)] != member_gen_) continue;
      const unsigned mask = g_.edges()[e.edge].mask & q.allowed;
      for (unsigned bits = mask; bits != 0; bits &= bits - 1) {
        const auto kind = static_cast<std::uint8_t>(bits & (~bits + 1));  // lowest kind first: ww before wr before rw
        const int r2 = std::min(2, r + (kind == kRW ? 1 : 0));
        if (r2 > q.rw_max) continue;
        const auto ns = static_cast<std::size_t>(state(e.to, r2));
        if (seen_[ns] == seen_gen_) continue;
        seen_[ns] = seen_gen_;
        parent_[ns] = s;
        parent_edge_[ns] = e.edge;
        parent_kind_[ns] = kind;
        queue.push_back(static_cast<std::int64_t>(ns));
      }
    }
  }
  return std::nullopt;
}

int count_kind(const Cycle& c, std::uint8_t kind) {
  return static_cast<int>(std::count_if(c.begin(), c.end(), [&](const CycleStep& s) { return s.kind == kind; }));
}

}  // namespace kv::checker
