// The transaction dependency graph of the list-append checker, its strongly connected
// components (Tarjan) and the cycle search that names anomalies (append.h). Internal to
// kv_checker; exposed in a header so the tests can drive it directly.
// Not thread-safe; a graph is built, then searched, by one thread.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace kv::checker {

// Edge kinds, as bits: one (from, to) pair may carry several.
enum EdgeKind : std::uint8_t { kWW = 1, kWR = 2, kRW = 4, kRT = 8 };
inline constexpr std::uint8_t kDataKinds = kWW | kWR | kRW;
inline constexpr std::uint8_t kAllKinds = kDataKinds | kRT;
const char* edge_kind_name(std::uint8_t kind);  // REQUIRES: exactly one bit set

// Why an edge of one kind exists, for the report: the key and the two elements involved
// (-1 when not applicable), as ids the caller can turn back into values.
struct EdgeWhy {
  std::int32_t key = -1;
  std::int32_t first = -1;   // ww: from's element; wr: element read; rw: last element read (-1: empty read)
  std::int32_t second = -1;  // ww: to's element; rw: to's element (the next version)
  bool unread = false;       // `second` was appended by an ok txn but no read saw it
};

class DepGraph {
 public:
  struct Out {
    std::int32_t to;
    std::uint32_t edge;  // index into edges()
  };
  struct Edge {
    std::int32_t from = 0;
    std::int32_t to = 0;
    std::uint8_t mask = 0;
    EdgeWhy why[4];  // indexed by kind bit position; valid where mask has the bit
  };

  explicit DepGraph(std::size_t nodes) : out_(nodes) {}

  // Adds kind `kind` to the edge from -> to (self-edges are ignored: a txn does not depend on
  // itself). The first reason recorded for a kind is kept.
  void add(std::int32_t from, std::int32_t to, EdgeKind kind, EdgeWhy why = {});

  std::size_t nodes() const { return out_.size(); }
  const std::vector<Out>& out(std::int32_t node) const { return out_[static_cast<std::size_t>(node)]; }
  const std::vector<Edge>& edges() const { return edges_; }
  std::size_t count(EdgeKind kind) const;

 private:
  std::vector<std::vector<Out>> out_;
  std::vector<Edge> edges_;
  std::unordered_map<std::uint64_t, std::uint32_t> index_;  // (from << 32 | to) -> edge
};

// Strongly connected components over the edges having a kind in `allowed`.
struct Sccs {
  std::vector<std::int32_t> id;                       // node -> component
  std::vector<std::vector<std::int32_t>> nontrivial;  // components with >= 2 nodes
};
Sccs strongly_connected(const DepGraph& g, std::uint8_t allowed);

// One step of a cycle: an edge taken as one particular kind.
struct CycleStep {
  std::int32_t from;
  std::int32_t to;
  std::uint8_t kind;
  std::uint32_t edge;
};
using Cycle = std::vector<CycleStep>;

// A search for a cycle of a given shape inside one component.
struct CycleQuery {
  std::uint8_t start = kWW;        // the first step's kind
  std::uint8_t allowed = kWW;      // kinds the rest of the cycle may use
  int rw_min = 0;                  // rw steps in the whole cycle, between rw_min and rw_max
  int rw_max = 0;                  // (2 means "2 or more")
  const Sccs* same_scc = nullptr;  // when set, only start edges inside one of its components
  std::size_t max_starts = 2000;   // start edges tried before giving up
};

class CycleFinder {
 public:
  CycleFinder(const DepGraph& g, std::chrono::steady_clock::time_point deadline);

  // The shortest cycle (per start edge, breadth-first) matching `q` whose nodes are all in
  // `members` (one component). nullopt when none was found within q.max_starts start edges
  // or before the deadline (then truncated() is true).
  std::optional<Cycle> find(const std::vector<std::int32_t>& members, const CycleQuery& q);
  bool truncated() const { return truncated_; }
  // When false, find() ignores the deadline (for the one search that must always finish).
  void use_deadline(bool on) { use_deadline_ = on; }

 private:
  std::optional<Cycle> bfs(std::int32_t u, std::int32_t v, std::uint32_t start_edge, const CycleQuery& q);

  const DepGraph& g_;
  std::chrono::steady_clock::time_point deadline_;
  bool use_deadline_ = true;
  bool truncated_ = false;
  std::vector<std::uint32_t> member_stamp_;  // node -> stamp of the component being searched
  std::uint32_t member_gen_ = 0;
  std::vector<std::uint32_t> seen_;  // state (node*3 + rw) -> stamp of the current BFS
  std::uint32_t seen_gen_ = 0;
  std::vector<std::int64_t> parent_;        // state -> previous state
  std::vector<std::uint32_t> parent_edge_;  // state -> edge taken into it
  std::vector<std::uint8_t> parent_kind_;   // state -> kind taken into it
};

// Rw steps in a cycle, and whether it has a wr / rt step.
int count_kind(const Cycle& c, std::uint8_t kind);

}  // namespace kv::checker
