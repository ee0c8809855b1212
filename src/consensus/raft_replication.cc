// Log replication (thesis §3.5), commitment (§3.6.2), snapshots (§5) and ReadIndex (§6.4).
#include <algorithm>

#include "common/assert.h"
#include "consensus/raft.h"

namespace kv::raft {

// ---- Proposals --------------------------------------------------------------------------

ProposeResult Raft::propose(std::vector<std::string> commands) {
  if (role_ != Role::kLeader) return {ProposeError::kNotLeader, 0, 0};
  if (lead_transferee_ != kNoNode) return {ProposeError::kTransferring, 0, 0};
  const LogIndex first = log_.last_index() + 1;
  if (commands.empty()) return {ProposeError::kNone, first, term_};
  std::vector<Entry> entries;
  entries.reserve(commands.size());
  for (std::string& command : commands) {
    entries.push_back(Entry{term_, first + entries.size(), EntryType::kNormal, std::move(command)});
  }
  log_.append(std::move(entries));
  bcast_append();
  check_invariants();
  return {ProposeError::kNone, first, term_};
}

// ---- Follower side ----------------------------------------------------------------------

void Raft::handle_append(const Message& m) {
  if (m.index < log_.committed()) {
    // Everything up to our commit index is settled; tell the leader where we are.
    send(Message{.type = MessageType::kAppendResponse, .to = m.from, .index = log_.committed()});
    return;
  }
  if (const auto last_new = log_.maybe_append(m.index, m.log_term, m.commit, m.entries)) {
    send(Message{.type = MessageType::kAppendResponse, .to = m.from, .index = *last_new});
    return;
  }
  // Reject with a hint that lets the leader skip a whole term of mismatches at once.
  const LogIndex hint = log_.find_conflict_by_term(std::min(m.index, log_.last_index()), m.log_term);
  send(Message{.type = MessageType::kAppendResponse,
               .to = m.from,
               .log_term = log_.term(hint).value_or(0),
               .index = m.index,
               .reject = true,
               .reject_hint = hint});
}

void Raft::handle_heartbeat(const Message& m) {
  // The leader caps m.commit at our match index, so we hold every entry it commits.
  log_.commit_to(m.commit);
  send(Message{.type = MessageType::kHeartbeatResponse, .to = m.from, .context = m.context});
}

void Raft::handle_snapshot(const Message& m) {
  const LogIndex index = restore(*m.snapshot) ? log_.last_index() : log_.committed();
  send(Message{.type = MessageType::kAppendResponse, .to = m.from, .index = index});
}

bool Raft::restore(const Snapshot& snapshot) {
  if (snapshot.meta.index <= log_.committed()) return false;
  if (log_.match_term(snapshot.meta.index, snapshot.meta.term)) {
    // We already hold the snapshot's last entry: only the commit index was behind.
    log_.commit_to(snapshot.meta.index);
    return false;
  }
  log_.restore(snapshot);
  tracker_.reset(snapshot.meta.conf, log_.last_index() + 1);
  return true;
}

// ---- Leader side ------------------------------------------------------------------------

void Raft::handle_append_response(const Message& m) {
  Progress& pr = tracker_.progress(m.from);
  pr.recent_active = true;
  if (m.reject) {
    LogIndex next_probe = m.reject_hint;
    if (m.log_term > 0) next_probe = log_.find_conflict_by_term(m.reject_hint, m.log_term);
    if (pr.maybe_decrease_to(m.index, next_probe)) {
      if (pr.state() == ProgressState::kReplicate) pr.become_probe();
      send_append(m.from);
    }
    return;
  }
  const bool was_paused = pr.is_paused();
  if (!pr.maybe_update(m.index)) return;
  if (pr.state() == ProgressState::kProbe) {
    pr.become_replicate();
  } else if (pr.state() == ProgressState::kSnapshot && pr.match() + 1 >= log_.first_index()) {
    pr.become_probe();  // the follower installed the snapshot: resume appending after it
    pr.become_replicate();
  }
  if (maybe_commit() && !config_.defer_commit_broadcast) {
    bcast_append();  // tells every follower the new commit index
  } else if (was_paused) {
    send_append(m.from);
  }
  while (maybe_send_append(m.from, false)) {
  }
  if (m.from == lead_transferee_ && pr.match() == log_.last_index()) send_timeout_now(m.from);
}

void Raft::handle_heartbeat_response(const Message& m) {
  Progress& pr = tracker_.progress(m.from);
  pr.recent_active = true;
  pr.on_heartbeat_response();
  if (pr.match() < log_.last_index()) send_append(m.from);
  if (m.context.empty()) return;
  const std::set<NodeId>* acks = read_only_.record_ack(m.from, m.context);
  if (acks == nullptr) return;
  std::set<NodeId> with_self = *acks;
  with_self.insert(id());
  if (!tracker_.is_quorum(with_self)) return;
  for (ReadIndexRequest& request : read_only_.release_through(m.context)) {
    respond_to_read(std::move(request));
  }
}

bool Raft::maybe_commit() {
  const LogIndex quorum_index = tracker_.committed();
  if (quorum_index <= log_.committed()) return false;
#if KV_RAFT_MUTATION != 2  // the teeth test's broken rule commits old-term entries by counting
  // Thesis §3.6.2 (Figure 3.7): counting replicas commits only entries of the current term.
  if (log_.term(quorum_index) != term_) return false;
#endif
  log_.commit_to(quorum_index);
  release_reads_waiting_for_commit();
  return true;
}

void Raft::on_persisted() {
  if (role_ != Role::kLeader) return;
  if (tracker_.progress(id()).maybe_update(log_.stable_last_index()) && maybe_commit()) {
    bcast_commit();
  }
  check_invariants();
}

void Raft::bcast_append() {
  for (const auto& [node, pr] : tracker_.all()) {
    if (node != id()) send_append(node);
  }
}

void Raft::bcast_commit() {
  // Deferred: the next append carries it, or send_deferred_commits() at the next tick.
  if (!config_.defer_commit_broadcast) bcast_append();
}

void Raft::send_deferred_commits() {
  for (const auto& [node, pr] : tracker_.all()) {
    if (node != id() && pr.commit_sent() < std::min(pr.match(), log_.committed())) send_heartbeat(node, {});
  }
}

void Raft::bcast_heartbeat(const std::string& context) {
  for (const auto& [node, pr] : tracker_.all()) {
    if (node != id()) send_heartbeat(node, context);
  }
}

void Raft::send_heartbeat(NodeId to, const std::string& context) {
  // Never let a follower commit beyond what it is known to hold.
  Progress& pr = tracker_.progress(to);
  const LogIndex commit = std::min(pr.match(), log_.committed());
  pr.on_commit_sent(commit);
  send(Message{.type = MessageType::kHeartbeat, .to = to, .commit = commit, .context = context});
}

bool Raft::maybe_send_append(NodeId to, bool send_if_empty) {
  Progress& pr = tracker_.progress(to);
  if (pr.is_paused()) return false;
  const LogIndex prev_index = pr.next() - 1;
  const std::optional<Term> prev_term = log_.term(prev_index);
  std::optional<std::vector<Entry>> entries = log_.entries_from(pr.next(), config_.max_message_bytes);
  if (!prev_term || !entries) return maybe_send_snapshot(to, pr);  // compacted away
  if (entries->empty() && !send_if_empty) return false;
  const bool carries_entries = !entries->empty();
  const LogIndex last = carries_entries ? entries->back().index : prev_index;
  send(Message{.type = MessageType::kAppend,
               .to = to,
               .log_term = *prev_term,
               .index = prev_index,
               .entries = std::move(*entries),
               .commit = log_.committed()});
  pr.on_append_sent(last, carries_entries);
  pr.on_commit_sent(std::min(last, log_.committed()));  // the follower commits no further than `last`
  return true;
}

bool Raft::maybe_send_snapshot(NodeId to, Progress& pr) {
  // Shipping a snapshot is expensive: only to a follower that answers.
  if (!pr.recent_active) return false;
  std::optional<Snapshot> snapshot = storage_.snapshot();
  if (!snapshot) return false;  // being produced; the next heartbeat round retries
  KV_ASSERT_MSG(!snapshot->empty(), "the log was compacted without a snapshot");
  pr.become_snapshot(snapshot->meta.index);
  send(Message{.type = MessageType::kSnapshot, .to = to, .snapshot = std::move(snapshot)});
  return true;
}

void Raft::report_snapshot(NodeId to, bool ok) {
  if (role_ != Role::kLeader || !tracker_.is_member(to)) return;
  Progress& pr = tracker_.progress(to);
  if (pr.state() != ProgressState::kSnapshot) return;
  // On success the follower's append response moves it on; on failure probe afresh.
  if (!ok) pr.become_probe();
}

// ---- ReadIndex --------------------------------------------------------------------------

bool Raft::read_index(std::string context) {
  if (role_ == Role::kLeader) {
    handle_read_index_request(id(), std::move(context));
    return true;
  }
  if (leader_ == kNoNode) return false;
  send(Message{.type = MessageType::kReadIndex, .to = leader_, .context = std::move(context)});
  return true;
}

bool Raft::committed_in_current_term() const { return log_.term(log_.committed()) == term_; }

void Raft::handle_read_index_request(NodeId from, std::string context) {
  // Until its no-op commits, a new leader does not know the latest commit index.
  if (!committed_in_current_term()) {
    reads_waiting_for_commit_.push_back(ReadIndexRequest{0, from, std::move(context)});
    return;
  }
  if (tracker_.is_sole_voter(id())) {
    respond_to_read(ReadIndexRequest{log_.committed(), from, std::move(context)});
    return;
  }
  const std::string ctx = context;
  if (read_only_.add_request(log_.committed(), from, std::move(context))) bcast_heartbeat(ctx);
}

void Raft::release_reads_waiting_for_commit() {
  if (reads_waiting_for_commit_.empty() || !committed_in_current_term()) return;
  std::vector<ReadIndexRequest> waiting = std::move(reads_waiting_for_commit_);
  reads_waiting_for_commit_.clear();
  for (ReadIndexRequest& request : waiting) handle_read_index_request(request.from, std::move(request.context));
}

void Raft::respond_to_read(ReadIndexRequest request) {
  if (request.from == id()) {
    read_states.push_back(ReadState{request.index, std::move(request.context)});
    return;
  }
  send(Message{.type = MessageType::kReadIndexResponse,
               .to = request.from,
               .index = request.index,
               .context = std::move(request.context)});
}

}  // namespace kv::raft
