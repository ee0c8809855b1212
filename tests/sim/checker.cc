#include "sim/checker.h"

#include <algorithm>
#include <sstream>

#include "common/assert.h"

namespace kv::sim {

using raft::Entry;
using raft::HardState;
using raft::MemoryStorage;
using raft::MessageType;
using raft::Ready;
using raft::Role;
using raft::Status;

namespace {

// Builds a violation message; only runs on the failure path.
template <typename... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

std::string show(const Entry& e) {
  return cat(e.index, ":", e.term, " ", e.data.empty() ? std::string("noop") : e.data);
}

Entry entry_at(const MemoryStorage& storage, LogIndex i) {
  auto one = storage.entries(i, i + 1, UINT64_MAX);
  KV_ASSERT(one.size() == 1);
  return std::move(one.front());
}

bool must_follow_persist(MessageType type) {
  return type == MessageType::kVote || type == MessageType::kVoteResponse ||
         type == MessageType::kAppendResponse;
}

}  // namespace

Checker::Checker(int node_count) : nodes_(static_cast<std::size_t>(node_count) + 1) {
  KV_ASSERT(node_count > 0);
  committed_.resize(1);
}

void Checker::fail(std::string reason) {
  if (violation_.empty()) violation_ = std::move(reason);
}

Checker::NodeView& Checker::view(NodeId id) {
  KV_ASSERT(id >= 1 && id < nodes_.size());
  return nodes_[static_cast<std::size_t>(id)];
}

// --- Node lifecycle and state ---------------------------------------------------------------

void Checker::observe(NodeId id, const Status& s, std::uint64_t ready_seq) {
  NodeView& v = view(id);
  KV_ASSERT(v.up);
  if (s.hard_state.commit > s.last_index) {
    fail(cat("node ", id, ": commit ", s.hard_state.commit, " is beyond its last index ", s.last_index));
  }
  if (s.applied > s.hard_state.commit) {
    fail(cat("node ", id, ": applied ", s.applied, " is beyond its commit ", s.hard_state.commit));
  }
  const bool was_leader = v.leader_term != 0 && v.leader_term == s.hard_state.term;
  observe_leader(id, v, s, ready_seq);
  // A leader's commit only moves by counting replicas (it never learns commit from others).
  if (was_leader && v.leader_term != 0 && s.hard_state.commit > v.commit) {
    v.commit_claims.push_back({s.hard_state.commit, s.hard_state.term, ready_seq});
  }
  observe_change(id, v, s);
  record_commit_index(s.hard_state.commit, s.hard_state.term);
}

void Checker::observe_leader(NodeId id, NodeView& v, const Status& s, std::uint64_t ready_seq) {
  if (s.soft_state.role != Role::kLeader) {
    v.leader_term = 0;
    return;
  }
  const Term term = s.hard_state.term;
  const auto [it, inserted] = leaders_.emplace(term, id);
  if (!inserted && it->second != id) {
    fail(cat("election safety: term ", term, " has two leaders: node ", it->second, " and node ", id));
  }
  if (v.leader_term != term) {
    v.leader_term = term;
    v.leader_since_ready = ready_seq;
    v.completeness_verified = 0;
  }
}

void Checker::observe_change(NodeId id, NodeView& v, const Status& s) {
  const HardState& hs = s.hard_state;
  if (hs.term < v.term) fail(cat("node ", id, ": term went backwards ", v.term, " -> ", hs.term));
  if (hs.commit < v.commit) {
    fail(cat("node ", id, ": commit went backwards ", v.commit, " -> ", hs.commit));
  }
  const NodeId leader = s.soft_state.leader;
  if (hs.term == v.term) {
    if (v.vote != raft::kNoNode && hs.vote != v.vote) {
      fail(cat("node ", id, ": vote changed within term ", hs.term, ": ", v.vote, " -> ", hs.vote));
    }
    if (v.known_leader != raft::kNoNode && leader != raft::kNoNode && leader != v.known_leader) {
      fail(cat("node ", id, ": leader of term ", hs.term, " changed ", v.known_leader, " -> ", leader));
    }
  } else {
    v.known_leader = raft::kNoNode;
  }
  if (leader != raft::kNoNode) {
    const auto it = leaders_.find(hs.term);
    if (it == leaders_.end() || it->second != leader) {
      fail(cat("node ", id, " follows node ", leader, " in term ", hs.term,
               ", which never became leader of that term"));
    }
    v.known_leader = leader;
  }
  v.term = hs.term;
  v.vote = hs.vote;
  v.commit = hs.commit;
}

void Checker::on_crash(NodeId id) {
  NodeView& v = view(id);
  KV_ASSERT(v.up);
  v.up = false;
  v.leader_term = 0;
  v.commit_claims.clear();
}

void Checker::on_restart(NodeId id, const HardState& durable) {
  NodeView& v = view(id);
  KV_ASSERT(!v.up);
  // Term and vote are only written by synced persists: a crash must never lose them.
  if (durable.term != v.persisted.term || durable.vote != v.persisted.vote) {
    fail(cat("node ", id, ": restarted with term ", durable.term, " vote ", durable.vote,
             " but had persisted term ", v.persisted.term, " vote ", v.persisted.vote));
  }
  if (durable.commit < v.synced_commit) {
    fail(cat("node ", id, ": restarted with commit ", durable.commit, " below its synced commit ",
             v.synced_commit));
  }
  const LogIndex synced_commit = v.synced_commit;
  v = NodeView{};  // a new incarnation: nothing in memory survives
  v.up = true;
  v.term = durable.term;
  v.vote = durable.vote;
  v.persisted = durable;
  v.synced_commit = synced_commit;
}

// --- The Ready contract -------------------------------------------------------------------

void Checker::on_ready(NodeId id, const Ready& r, const MemoryStorage& storage) {
  // Committed as soon as handed out (and the commit index leaves in this Ready's messages):
  // record them now, in case the node crashes before applying them.
  for (const Entry& e : r.committed_entries) {
    record_committed(e.index, e.term, &e.data, id);
    record_commit_index(e.index, view(id).term);
  }
  const HardState stored = storage.initial_state().hard_state;
  if (!r.must_sync) {
    if (!r.entries.empty()) fail(cat("node ", id, ": must_sync is false but the Ready has entries"));
    if (r.snapshot) fail(cat("node ", id, ": must_sync is false but the Ready has a snapshot"));
    if (r.hard_state && (r.hard_state->term != stored.term || r.hard_state->vote != stored.vote)) {
      fail(cat("node ", id, ": must_sync is false but the Ready changes term or vote"));
    }
  }
  for (const auto& m : r.messages) {
    if (must_follow_persist(m.type)) {
      fail(cat("node ", id, ": Ready::messages holds a ", raft::to_string(m.type),
               ", which promises durable state and belongs in messages_after_persist"));
    }
  }
  for (const auto* list : {&r.messages, &r.messages_after_persist}) {
    for (const auto& m : *list) {
      if (m.from != id || m.to == id || m.to == raft::kNoNode || m.to >= nodes_.size()) {
        fail(cat("node ", id, ": malformed message ", raft::to_string(m.type), " ", m.from, "->", m.to));
      }
    }
  }
}

void Checker::before_persist(NodeId id, const Ready& r, const MemoryStorage& storage,
                             LogIndex sm_applied) {
  LogIndex snap_index = storage.first_index() - 1;
  LogIndex last = storage.last_index();
  Term prev_term = 0;
  if (r.snapshot) {
    const auto& meta = r.snapshot->meta;
    if (meta.index <= snap_index) {
      fail(cat("node ", id, ": Ready::snapshot at ", meta.index, " is not newer than the stored one at ",
               snap_index));
    }
    if (meta.index <= sm_applied) {
      fail(cat("node ", id, ": Ready::snapshot at ", meta.index,
               " would roll back the state machine, applied to ", sm_applied));
    }
    snap_index = last = meta.index;
    prev_term = meta.term;
  }
  if (r.entries.empty()) return;
  const LogIndex front = r.entries.front().index;
  if (front <= snap_index || front > last + 1) {
    fail(cat("node ", id, ": Ready::entries start at ", front, " but the log holds (", snap_index, ", ",
             last, "]"));
    return;
  }
  if (!r.snapshot) prev_term = storage.term(front - 1);
  const LogIndex stored_commit = storage.initial_state().hard_state.commit;
  for (const Entry& e : r.entries) {
    if (e.index != front + static_cast<LogIndex>(&e - r.entries.data())) {
      fail(cat("node ", id, ": Ready::entries are not contiguous at ", show(e)));
    }
    if (e.term < prev_term) fail(cat("node ", id, ": log terms decrease at ", show(e)));
    prev_term = e.term;
    if (!r.snapshot && e.index <= stored_commit && e.index <= last && entry_at(storage, e.index) != e) {
      fail(cat("node ", id, ": overwrites committed entry ", show(entry_at(storage, e.index)), " with ",
               show(e), " (persisted commit ", stored_commit, ")"));
    }
  }
}

void Checker::after_persist(NodeId id, const Ready& r, const MemoryStorage& storage,
                            std::uint64_t ready_seq) {
  NodeView& v = view(id);
  const LogIndex prev_commit = v.persisted.commit;
  check_persisted_hard_state(id, v, r, storage);
  check_appended(id, r, storage);
  if (r.snapshot) {
    record_committed(r.snapshot->meta.index, r.snapshot->meta.term, nullptr, id);
    record_commit_index(r.snapshot->meta.index, v.persisted.term);
  }
  LogIndex from = prev_commit + 1;
  if (!r.entries.empty()) from = std::min(from, r.entries.front().index);
  record_persisted_commit(id, v, from, storage);
  check_leader_completeness(id, v, storage, ready_seq);
  check_commit_claims(id, v, storage, ready_seq);
}

void Checker::check_commit_claims(NodeId id, NodeView& v, const MemoryStorage& storage,
                                  std::uint64_t ready_seq) {
  auto& claims = v.commit_claims;
  for (const auto& claim : claims) {
    if (ready_seq <= claim.after_ready) continue;
    const bool in_log = claim.index + 1 >= storage.first_index() && claim.index <= storage.last_index();
    if (in_log && storage.term(claim.index) != claim.term) {
      fail(cat("commit rule (thesis 3.6.2): node ", id, " leading term ", claim.term,
               " advanced its commit to ", claim.index, ", an entry of term ", storage.term(claim.index),
               "; a leader commits by counting replicas only entries of its own term"));
    }
  }
  std::erase_if(claims, [ready_seq](const auto& claim) { return ready_seq > claim.after_ready; });
}

void Checker::check_persisted_hard_state(NodeId id, NodeView& v, const Ready& r,
                                         const MemoryStorage& storage) {
  const HardState hs = storage.initial_state().hard_state;
  const HardState& p = v.persisted;
  if (hs.term < p.term) fail(cat("node ", id, ": persisted term went backwards ", p.term, " -> ", hs.term));
  if (hs.term == p.term && p.vote != raft::kNoNode && hs.vote != p.vote) {
    fail(cat("node ", id, ": persisted vote changed within term ", hs.term, ": ", p.vote, " -> ", hs.vote));
  }
  if (hs.commit < p.commit) {
    fail(cat("node ", id, ": persisted commit went backwards ", p.commit, " -> ", hs.commit));
  }
  const LogIndex last = storage.last_index();
  if (hs.commit > last) {
    fail(cat("node ", id, ": persisted commit ", hs.commit, " is beyond its persisted log (last ", last, ")"));
  }
  if (storage.term(last) > hs.term) {
    fail(cat("node ", id, ": persisted log ends in term ", storage.term(last), ", beyond its term ", hs.term));
  }
  v.persisted = hs;
  if (r.must_sync || r.snapshot) v.synced_commit = hs.commit;
}

void Checker::check_appended(NodeId id, const Ready& r, const MemoryStorage& storage) {
  for (const Entry& e : r.entries) {
    const Term prev_term = storage.term(e.index - 1);
    const auto key = std::make_pair(e.index, e.term);
    const auto [it, inserted] = log_facts_.emplace(key, std::make_pair(e.data, prev_term));
    if (inserted) continue;
    if (it->second.first != e.data || it->second.second != prev_term) {
      fail(cat("log matching: node ", id, " persisted ", show(e), " after term ", prev_term,
               ", but another log holds ", e.index, ":", e.term, " ", it->second.first, " after term ",
               it->second.second));
    }
  }
}

void Checker::record_persisted_commit(NodeId id, NodeView& v, LogIndex from,
                                      const MemoryStorage& storage) {
  const LogIndex commit = v.persisted.commit;
  const LogIndex lo = std::max(from, storage.first_index());
  if (lo <= commit) {
    for (const Entry& e : storage.entries(lo, commit + 1, UINT64_MAX)) {
      record_committed(e.index, e.term, &e.data, id);
    }
  }
  record_commit_index(commit, v.persisted.term);
}

void Checker::record_committed(LogIndex index, Term term, const std::string* data, NodeId seen_on) {
  if (index == 0) return;
  if (committed_.size() <= index) committed_.resize(index + 1);
  CommittedEntry& c = committed_[index];
  if (!c.known) {
    c = CommittedEntry{true, data != nullptr, term, data ? *data : std::string(), seen_on};
    return;
  }
  const bool data_differs = data != nullptr && c.has_data && c.data != *data;
  if (c.term != term || data_differs) {
    fail(cat("state machine safety: index ", index, " was committed as ", index, ":", c.term, " ",
             c.has_data ? c.data : "?", " (seen on node ", c.seen_on, ") but node ", seen_on, " has ",
             index, ":", term, " ", data ? *data : std::string("?")));
  }
  if (data != nullptr && !c.has_data) {
    c.has_data = true;
    c.data = *data;
  }
}

void Checker::record_commit_index(LogIndex index, Term observer_term) {
  LogIndex& seen = commit_by_term_[observer_term];
  seen = std::max(seen, index);
  max_commit_seen_ = std::max(max_commit_seen_, index);
}

LogIndex Checker::committed_before(Term term) const {
  LogIndex result = 0;
  for (const auto& [t, index] : commit_by_term_) {
    if (t >= term) break;
    result = std::max(result, index);
  }
  return result;
}

void Checker::check_leader_completeness(NodeId id, NodeView& v, const MemoryStorage& storage,
                                        std::uint64_t ready_seq) {
  // Only once a Ready pulled after the election is durable does storage hold the leader's
  // whole log (earlier entries may have been in memory only).
  if (v.leader_term == 0 || v.term != v.leader_term || ready_seq <= v.leader_since_ready) return;
  const LogIndex required = committed_before(v.leader_term);
  if (storage.last_index() < required) {
    fail(cat("leader completeness: node ", id, " leads term ", v.leader_term, " but its log ends at ",
             storage.last_index(), ", before index ", required, " committed in an earlier term"));
    return;
  }
  const LogIndex lo = std::max(v.completeness_verified + 1, storage.first_index());
  if (lo > required) return;
  for (const Entry& e : storage.entries(lo, required + 1, UINT64_MAX)) {
    // Indexes seen committed only as a commit number (no content yet) cannot be compared.
    if (e.index >= committed_.size()) break;
    const CommittedEntry& c = committed_[e.index];
    if (c.known && (c.term != e.term || (c.has_data && c.data != e.data))) {
      fail(cat("leader completeness: node ", id, " leads term ", v.leader_term, " with ", show(e),
               " but ", e.index, ":", c.term, " ", c.data, " was committed (seen on node ", c.seen_on, ")"));
      return;
    }
  }
  v.completeness_verified = required;
}

void Checker::on_send(const raft::Message& m) {
  if (m.type != MessageType::kVoteResponse || m.reject) return;
  const auto [it, inserted] = votes_granted_.emplace(std::make_pair(m.from, m.term), m.to);
  if (!inserted && it->second != m.to) {
    fail(cat("node ", m.from, " granted its vote in term ", m.term, " to node ", it->second,
             " and to node ", m.to));
  }
}

void Checker::before_apply(NodeId id, const Entry& e, const MemoryStorage& storage,
                           LogIndex sm_applied) {
  if (e.index != sm_applied + 1) {
    fail(cat("node ", id, ": applies ", show(e), " but its state machine is at ", sm_applied,
             " (out of order, twice, or with a gap)"));
    return;
  }
  const LogIndex durable_commit = storage.initial_state().hard_state.commit;
  if (e.index > durable_commit) {
    fail(cat("node ", id, ": applies ", show(e), " beyond its persisted commit ", durable_commit));
  }
  if (e.index > storage.last_index()) {
    fail(cat("node ", id, ": applies ", show(e), " which is not in its persisted log"));
  } else if (e.index >= storage.first_index() && entry_at(storage, e.index) != e) {
    fail(cat("node ", id, ": applies ", show(e), " but its log holds ", show(entry_at(storage, e.index))));
  }
  record_committed(e.index, e.term, &e.data, id);
  record_commit_index(e.index, view(id).term);
  if (e.data.empty()) return;
  const auto [it, inserted] = payload_index_.emplace(e.data, e.index);
  if (!inserted && it->second != e.index) {
    fail(cat("state machine safety: command ", e.data, " applied at index ", it->second,
             " and again at index ", e.index, " (on node ", id, ")"));
  }
}

void Checker::on_restore(NodeId id, const StateMachine& sm) {
  const auto& commands = sm.commands();
  std::size_t k = 0;
  const LogIndex top = std::min<LogIndex>(sm.applied(), committed_.size() - 1);
  for (LogIndex i = 1; i <= top; ++i) {
    const StateMachine::Command* cmd = nullptr;
    if (k < commands.size() && commands[k].index == i) cmd = &commands[k++];
    const CommittedEntry& c = committed_[i];
    if (!c.known || !c.has_data) continue;
    const std::string image = cmd != nullptr ? cmd->payload : std::string();
    if (image != c.data) {
      fail(cat("node ", id, ": snapshot image at ", sm.applied(), " has '", image, "' at index ", i,
               " but '", c.data, "' was committed there"));
      return;
    }
  }
}

bool Checker::check_snapshot_request(NodeId id, LogIndex request, LogIndex sm_applied,
                                     const MemoryStorage& storage) {
  if (request > sm_applied) {
    fail(cat("node ", id, ": snapshot_request at ", request, " but the state machine applied only ", sm_applied));
    return false;
  }
  if (request > storage.last_index()) {
    fail(cat("node ", id, ": snapshot_request at ", request, " beyond its log (last ", storage.last_index(), ")"));
    return false;
  }
  // At or below the stored snapshot (which may sit above first_index() - 1 when entries were
  // kept behind it) there is nothing new to snapshot.
  const auto stored = storage.snapshot();
  return !failed() && request >= storage.first_index() && (!stored || request > stored->meta.index);
}

// --- Reads --------------------------------------------------------------------------------

void Checker::on_read_request(NodeId id, const std::string& context, LogIndex floor) {
  const auto [it, inserted] = reads_.emplace(context, ReadRecord{id, floor, false});
  KV_ASSERT_MSG(inserted, "the simulator reused a read context");
}

bool Checker::on_read_state(NodeId id, const raft::ReadState& rs) {
  const auto it = reads_.find(rs.context);
  if (it == reads_.end()) {
    fail(cat("node ", id, ": ReadState for unknown context '", rs.context, "'"));
    return false;
  }
  ReadRecord& rec = it->second;
  if (rec.node != id) fail(cat("node ", id, ": ReadState '", rs.context, "' was requested on node ", rec.node));
  // Every copy must still be linearizable: a stale copy with a lower index would be a bug
  // had it arrived first.
  if (rs.index < rec.min_index) {
    fail(cat("linearizability: read '", rs.context, "' on node ", id, " got read index ", rs.index,
             " but index ", rec.min_index, " was already committed when it was requested"));
  }
  if (rs.index > max_commit_seen_) {
    fail(cat("node ", id, ": read index ", rs.index, " for '", rs.context, "' is beyond every commit seen (",
             max_commit_seen_, ")"));
  }
  if (rec.served) return false;
  rec.served = true;
  ++reads_served_;
  return true;
}

// --- Whole-cluster checks -----------------------------------------------------------------

void Checker::check_logs(const std::vector<const MemoryStorage*>& storages) {
  for (std::size_t a = 0; a < storages.size(); ++a) {
    for (std::size_t b = a + 1; b < storages.size(); ++b) {
      check_pair(a + 1, *storages[a], b + 1, *storages[b]);
    }
  }
}

void Checker::check_pair(NodeId a, const MemoryStorage& la, NodeId b, const MemoryStorage& lb) {
  const LogIndex lo = std::max(la.first_index(), lb.first_index());
  const LogIndex hi = std::min(la.last_index(), lb.last_index());
  LogIndex match = hi;
  while (match >= lo && la.term(match) != lb.term(match)) --match;
  if (match < lo || lo > hi) return;  // no common (index, term) above both snapshots
  const auto ea = la.entries(lo, match + 1, UINT64_MAX);
  const auto eb = lb.entries(lo, match + 1, UINT64_MAX);
  for (std::size_t i = 0; i < ea.size() && i < eb.size(); ++i) {
    if (ea[i] != eb[i]) {
      fail(cat("log matching: nodes ", a, " and ", b, " both hold index ", match, " term ", la.term(match),
               " but differ at ", show(ea[i]), " vs ", show(eb[i])));
      return;
    }
  }
}

}  // namespace kv::sim
