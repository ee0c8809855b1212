// The cluster-level checker: an observer outside the nodes (style.md items 9 and 10). The
// Cluster reports every event to it; it keeps the run's history and fails the run on the
// first broken property, with a reason that names the nodes, terms and indexes involved.
//
// Safety properties (Raft paper, Figure 3; thesis §3.6):
//  - election safety:    at most one leader per term, over the whole run;
//  - log matching:       two persisted logs holding an entry with the same index and term
//                        are identical up to it. Checked incrementally (every persisted
//                        (index, term) always has the same data and the same predecessor
//                        term, which by induction is log matching) and by periodic
//                        pairwise comparison of all persisted logs;
//  - leader completeness: a leader of term T holds every entry committed in terms < T;
//  - state machine safety: no two nodes apply different entries at one index, no command
//                        is applied at two indexes, each node applies in log order, only
//                        durable committed entries;
//  - linearizable reads: a ReadState's index is >= every commit index seen anywhere when
//                        the read was requested, and it is served once, where it was asked.
//  - the commit rule:    a leader advances its commit index only onto an entry of its own
//                        term (thesis §3.6.2, Figure 3.7). The rule itself is checked, not
//                        only its rare consequence (Figure 8: a committed entry overwritten).
// Change invariants (per node): term and commit never go backwards (in memory within an
// incarnation; in the persisted hard state across crashes, except unsynced commits); within
// a term the vote and the known leader are set at most once; a node grants its vote to at
// most one candidate per term (seen on the wire).
// Ready-contract invariants: must_sync covers every write that needs it; votes and append
// acknowledgements wait for the persist step; entries handed over are contiguous, above
// the snapshot and not beyond the log; persisted log terms never exceed the current term.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "consensus/memory_storage.h"
#include "consensus/raw_node.h"
#include "sim/state_machine.h"

namespace kv::sim {

using raft::LogIndex;
using raft::NodeId;
using raft::Term;

class Checker {
 public:
  explicit Checker(int node_count);

  bool failed() const { return !violation_.empty(); }
  const std::string& violation() const { return violation_; }
  // A violation the harness found itself (e.g. a snapshot image that does not parse).
  void report(std::string reason) { fail(std::move(reason)); }

  // --- Node lifecycle and state -----------------------------------------------------------
  // After every event that touched an up node. `ready_seq` is SimNode::ready_seq().
  void observe(NodeId id, const raft::Status& status, std::uint64_t ready_seq);
  void on_crash(NodeId id);
  // The node boots a new incarnation from this durable hard state.
  void on_restart(NodeId id, const raft::HardState& durable);

  // --- The Ready contract -----------------------------------------------------------------
  // When the Ready is pulled. `storage` is the node's storage before the persist step.
  void on_ready(NodeId id, const raft::Ready& ready, const raft::MemoryStorage& storage);
  // Just before the persist step (what MemoryStorage would otherwise assert on).
  void before_persist(NodeId id, const raft::Ready& ready, const raft::MemoryStorage& storage,
                      LogIndex sm_applied);
  void after_persist(NodeId id, const raft::Ready& ready, const raft::MemoryStorage& storage,
                     std::uint64_t ready_seq);
  // Every message a node hands to the network.
  void on_send(const raft::Message& message);
  // Before the node applies `entry`; `sm_applied` is its state machine's applied index.
  void before_apply(NodeId id, const raft::Entry& entry, const raft::MemoryStorage& storage,
                    LogIndex sm_applied);
  // The node rebuilt its state machine from a snapshot image.
  void on_restore(NodeId id, const StateMachine& sm);
  // Before serving a snapshot request. Returns whether the request can be served (false
  // for a harmless request at or below the existing snapshot, or after a violation).
  bool check_snapshot_request(NodeId id, LogIndex request, LogIndex sm_applied,
                              const raft::MemoryStorage& storage);

  // --- Reads --------------------------------------------------------------------------------
  // A read was started on node `id`; `floor` is max_commit_seen() just before the call.
  void on_read_request(NodeId id, const std::string& context, LogIndex floor);
  // A ReadState arrived. Returns false for a repeat of a context already answered: the
  // network may duplicate or replay a ReadIndexResponse, and the core turns each copy into
  // a ReadState, so the application answers a context only once (as SimNode does).
  bool on_read_state(NodeId id, const raft::ReadState& read_state);

  // --- Whole-cluster checks ------------------------------------------------------------------
  // Pairwise log matching over every persisted log (storages[i] belongs to node i + 1).
  void check_logs(const std::vector<const raft::MemoryStorage*>& storages);

  LogIndex max_commit_seen() const { return max_commit_seen_; }
  std::uint64_t leaders_elected() const { return leaders_.size(); }
  std::uint64_t reads_served() const { return reads_served_; }

 private:
  struct NodeView {
    // This incarnation, in memory.
    bool up = false;
    Term term = 0;
    NodeId vote = raft::kNoNode;
    NodeId known_leader = raft::kNoNode;
    LogIndex commit = 0;
    // Leader completeness bookkeeping while this node leads `leader_term`.
    Term leader_term = 0;
    std::uint64_t leader_since_ready = 0;
    LogIndex completeness_verified = 0;
    // Commit indexes this node advanced to while leading, to be checked against its log once
    // a Ready pulled after the advance is durable (only then does storage hold that entry).
    struct CommitClaim {
      LogIndex index;
      Term term;
      std::uint64_t after_ready;
    };
    std::vector<CommitClaim> commit_claims;
    // Persisted hard state and the commit of the last synced persist.
    raft::HardState persisted;
    LogIndex synced_commit = 0;
  };
  struct CommittedEntry {
    bool known = false;
    bool has_data = false;
    Term term = 0;
    std::string data;
    NodeId seen_on = raft::kNoNode;
  };
  struct ReadRecord {
    NodeId node = raft::kNoNode;
    LogIndex min_index = 0;
    bool served = false;
  };

  void fail(std::string reason);
  NodeView& view(NodeId id);
  void observe_change(NodeId id, NodeView& v, const raft::Status& s);
  void observe_leader(NodeId id, NodeView& v, const raft::Status& s, std::uint64_t ready_seq);
  // An entry known committed (from a persisted commit, an apply or a snapshot).
  void record_committed(LogIndex index, Term term, const std::string* data, NodeId seen_on);
  void record_commit_index(LogIndex index, Term observer_term);
  // The largest index known committed in a term < `term`.
  LogIndex committed_before(Term term) const;
  void check_persisted_hard_state(NodeId id, NodeView& v, const raft::Ready& r,
                                  const raft::MemoryStorage& storage);
  void check_appended(NodeId id, const raft::Ready& r, const raft::MemoryStorage& storage);
  void record_persisted_commit(NodeId id, NodeView& v, LogIndex from,
                               const raft::MemoryStorage& storage);
  void check_leader_completeness(NodeId id, NodeView& v, const raft::MemoryStorage& storage,
                                 std::uint64_t ready_seq);
  void check_commit_claims(NodeId id, NodeView& v, const raft::MemoryStorage& storage,
                           std::uint64_t ready_seq);
  void check_pair(NodeId a, const raft::MemoryStorage& la, NodeId b,
                  const raft::MemoryStorage& lb);

  std::string violation_;
  std::vector<NodeView> nodes_;                  // index = node id
  std::map<Term, NodeId> leaders_;               // election history
  std::map<std::pair<NodeId, Term>, NodeId> votes_granted_;  // (voter, term) -> candidate
  // Log matching facts: (index, term) -> (data, term of index - 1).
  std::map<std::pair<LogIndex, Term>, std::pair<std::string, Term>> log_facts_;
  std::vector<CommittedEntry> committed_;        // index -> entry; [0] unused
  std::map<Term, LogIndex> commit_by_term_;      // observer term -> largest commit it saw
  std::unordered_map<std::string, LogIndex> payload_index_;
  std::map<std::string, ReadRecord> reads_;
  LogIndex max_commit_seen_ = 0;
  std::uint64_t reads_served_ = 0;
};

}  // namespace kv::sim
