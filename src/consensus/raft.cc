#include "consensus/raft.h"

#include "common/assert.h"

namespace kv::raft {

Raft::Raft(const Config& config, const LogStorage& storage)
    : config_(config),
      storage_(storage),
      log_(storage, storage.initial_state().hard_state.commit, config.applied),
      tracker_(config.max_inflight_messages),
      rng_(config.random_seed ^ (config.id * 0x9e3779b97f4a7c15ULL)) {
  const std::string invalid = config.validate();
  KV_ASSERT_MSG(invalid.empty(), invalid.c_str());
  const LogStorage::InitialState initial = storage.initial_state();
  tracker_.reset(initial.conf, log_.last_index() + 1);
  term_ = initial.hard_state.term;
  vote_ = initial.hard_state.vote;
  KV_ASSERT_MSG(log_.last_term() <= term_, "the log holds entries of a future term");
  become_follower(term_, kNoNode);
}

// ---- Roles ------------------------------------------------------------------------------

void Raft::reset(Term term) {
  if (term_ != term) {
    KV_ASSERT_MSG(term > term_, "term moved back");
    term_ = term;
    vote_ = kNoNode;
  }
  leader_ = kNoNode;
  election_elapsed_ = 0;
  heartbeat_elapsed_ = 0;
  const auto timeout = static_cast<std::uint64_t>(config_.election_timeout_ticks);
  randomized_election_timeout_ = static_cast<int>(timeout + rng_.below(timeout));
  lead_transferee_ = kNoNode;
  tracker_.reset_votes();
  tracker_.reset_progress(log_.last_index() + 1);
  read_only_.reset();
  reads_waiting_for_commit_.clear();
}

void Raft::become_follower(Term term, NodeId leader) {
  reset(term);
  leader_ = leader;
  role_ = Role::kFollower;
  step_fn_ = &Raft::step_follower;
  tick_fn_ = &Raft::tick_election;
}

void Raft::become_pre_candidate() {
  KV_ASSERT_MSG(role_ != Role::kLeader, "a leader cannot become a pre-candidate");
  // Pre-vote changes neither term nor vote: a node that cannot win disturbs nobody.
  tracker_.reset_votes();
  leader_ = kNoNode;
  role_ = Role::kPreCandidate;
  step_fn_ = &Raft::step_candidate;
  tick_fn_ = &Raft::tick_election;
}

void Raft::become_candidate() {
  KV_ASSERT_MSG(role_ != Role::kLeader, "a leader cannot become a candidate");
  reset(term_ + 1);
  vote_ = id();
  role_ = Role::kCandidate;
  step_fn_ = &Raft::step_candidate;
  tick_fn_ = &Raft::tick_election;
}

void Raft::become_leader() {
  KV_ASSERT_MSG(role_ == Role::kCandidate, "only a candidate becomes leader");
  reset(term_);
  leader_ = id();
  role_ = Role::kLeader;
  step_fn_ = &Raft::step_leader;
  tick_fn_ = &Raft::tick_heartbeat;
  Progress& self = tracker_.progress(id());
  self.become_replicate();
  self.maybe_update(log_.stable_last_index());  // only the durable part of our log counts
  // Thesis §6.4 and §3.6.2: a no-op of the new term lets earlier entries commit and
  // tells the leader which entries are committed before it serves reads.
  log_.append({Entry{term_, log_.last_index() + 1, EntryType::kNormal, {}}});
}

bool Raft::promotable() const { return tracker_.is_voter(id()); }

// ---- Time -------------------------------------------------------------------------------

void Raft::tick() {
  (this->*tick_fn_)();
  check_invariants();
}

void Raft::tick_election() {
  ++election_elapsed_;
  if (promotable() && election_elapsed_ >= randomized_election_timeout_) {
    election_elapsed_ = 0;
    hup(false);
  }
}

void Raft::tick_heartbeat() {
  ++heartbeat_elapsed_;
  ++election_elapsed_;
  if (election_elapsed_ >= config_.election_timeout_ticks) {
    election_elapsed_ = 0;
    if (config_.check_quorum) {
      if (!tracker_.quorum_active(id())) {
        become_follower(term_, kNoNode);  // thesis §6.2: a leader cut off from a quorum steps down
        return;
      }
      for (auto& [node, pr] : tracker_.all()) pr.recent_active = (node == id());
    }
    lead_transferee_ = kNoNode;  // a transfer that did not finish in an election timeout is abandoned
    for (auto& [node, pr] : tracker_.all()) {
      if (node != id() && pr.snapshot_round_timed_out()) pr.become_probe();
    }
  }
  if (heartbeat_elapsed_ >= config_.heartbeat_interval_ticks) {
    heartbeat_elapsed_ = 0;
    bcast_heartbeat(read_only_.newest_context());
  } else if (config_.defer_commit_broadcast) {
    send_deferred_commits();
  }
}

// ---- Message intake ---------------------------------------------------------------------

namespace {
// Drops what no correct peer sends, so that no input can break the log's invariants.
bool well_formed(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend: {
      Term prev_term = m.log_term;
      for (std::size_t i = 0; i < m.entries.size(); ++i) {
        const Entry& e = m.entries[i];
        if (e.index != m.index + 1 + i || e.term < prev_term || e.term > m.term) return false;
        prev_term = e.term;
      }
      return true;
    }
    case MessageType::kSnapshot:
      return m.snapshot.has_value() && m.snapshot->meta.index > 0 && m.snapshot->meta.term <= m.term;
    default:
      return true;
  }
}
}  // namespace

void Raft::step(const Message& m) {
  if (m.to != id() || m.from == id() || !tracker_.is_member(m.from) || !well_formed(m)) return;
  if (m.term > term_) {
    if (!step_higher_term(m)) return;
  } else if (m.term < term_) {
    step_lower_term(m);
    check_invariants();
    return;
  }
  if (m.type == MessageType::kVote || m.type == MessageType::kPreVote) {
    handle_vote_request(m);
  } else {
    (this->*step_fn_)(m);
  }
  check_invariants();
}

bool Raft::step_higher_term(const Message& m) {
  const bool is_vote = m.type == MessageType::kVote || m.type == MessageType::kPreVote;
  if (is_vote) {
    const bool forced = m.context == kTransferContext;
    const bool in_lease = config_.check_quorum && leader_ != kNoNode &&
                          election_elapsed_ < config_.election_timeout_ticks;
    // Thesis §4.2.3: while we hear from a leader, a vote request is a disruption, not news.
    if (!forced && in_lease) return false;
  }
  // A pre-vote and a granted pre-vote answer carry a term nobody has entered yet.
  if (m.type == MessageType::kPreVote) return true;
  if (m.type == MessageType::kPreVoteResponse && !m.reject) return true;
  const bool from_leader = m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
                           m.type == MessageType::kSnapshot;
  become_follower(m.term, from_leader ? m.from : kNoNode);
  return true;
}

void Raft::step_lower_term(const Message& m) {
#if KV_RAFT_MUTATION == 1
  // Deliberately broken (teeth test): count votes from an older term.
  if (m.type == MessageType::kVoteResponse && role_ == Role::kCandidate) {
    handle_vote_response(m);
    return;
  }
#endif
  if ((config_.check_quorum || config_.pre_vote) &&
      (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat)) {
    // A stale leader learns our term from this and steps down; without it, a node that
    // ignores its vote requests (pre-vote, lease) could never displace it.
    send(Message{.type = MessageType::kAppendResponse, .to = m.from});
  } else if (m.type == MessageType::kPreVote) {
    send(Message{.type = MessageType::kPreVoteResponse, .to = m.from, .reject = true});
  }
}

void Raft::step_follower(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      election_elapsed_ = 0;
      leader_ = m.from;
      if (m.type == MessageType::kAppend) handle_append(m);
      if (m.type == MessageType::kHeartbeat) handle_heartbeat(m);
      if (m.type == MessageType::kSnapshot) handle_snapshot(m);
      break;
    case MessageType::kTimeoutNow:
      hup(true);
      break;
    case MessageType::kReadIndexResponse:
      if (!m.reject) read_states.push_back(ReadState{m.index, m.context});
      break;
    default:
      break;
  }
}

void Raft::step_candidate(const Message& m) {
  switch (m.type) {
    case MessageType::kAppend:
    case MessageType::kHeartbeat:
    case MessageType::kSnapshot:
      // A leader exists in our term (thesis §3.4): give up and follow it.
      become_follower(m.term, m.from);
      step_follower(m);
      break;
    case MessageType::kVoteResponse:
    case MessageType::kPreVoteResponse:
      handle_vote_response(m);
      break;
    default:
      break;
  }
}

void Raft::step_leader(const Message& m) {
  switch (m.type) {
    case MessageType::kAppendResponse: handle_append_response(m); break;
    case MessageType::kHeartbeatResponse: handle_heartbeat_response(m); break;
    case MessageType::kReadIndex: handle_read_index_request(m.from, m.context); break;
    default: break;
  }
}

// ---- Output -----------------------------------------------------------------------------

void Raft::send(Message m) {
  m.from = id();
  if (m.term == 0) m.term = term_;
  // The leader's replication traffic depends on nothing this node has yet to persist
  // (thesis §10.2.1); everything else answers for durable state and waits for the persist step.
  const bool leader_traffic =
      role_ == Role::kLeader &&
      (m.type == MessageType::kAppend || m.type == MessageType::kHeartbeat ||
       m.type == MessageType::kSnapshot || m.type == MessageType::kTimeoutNow ||
       m.type == MessageType::kReadIndexResponse);
  (leader_traffic ? messages : messages_after_persist).push_back(std::move(m));
}

// ---- Invariants -------------------------------------------------------------------------

void Raft::check_invariants() const {
  log_.check_invariants();
  KV_ASSERT_MSG(log_.last_term() <= term_, "an entry's term is beyond the current term");
  switch (role_) {
    case Role::kLeader:
      KV_ASSERT_MSG(leader_ == id(), "a leader must know it leads");
      KV_ASSERT_MSG(vote_ == id(), "a leader voted for itself in its term");
      break;
    case Role::kCandidate:
      KV_ASSERT_MSG(vote_ == id(), "a candidate voted for itself");
      KV_ASSERT_MSG(leader_ == kNoNode, "a candidate knows no leader");
      break;
    case Role::kPreCandidate:
      KV_ASSERT_MSG(leader_ == kNoNode, "a pre-candidate knows no leader");
      break;
    case Role::kFollower:
      KV_ASSERT_MSG(leader_ != id(), "a follower is not the leader");
      break;
  }
  KV_ASSERT_MSG(lead_transferee_ == kNoNode || role_ == Role::kLeader,
                "only a leader transfers leadership");
}

}  // namespace kv::raft
