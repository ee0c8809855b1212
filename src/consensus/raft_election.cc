// Elections: pre-vote (thesis §9.6), votes (§3.4), leader transfer (§3.10).
#include "common/assert.h"
#include "consensus/raft.h"

namespace kv::raft {

void Raft::campaign() { hup(false); }

void Raft::hup(bool transfer) {
  if (role_ == Role::kLeader || !promotable()) return;
  // A transfer target campaigns at once: the old leader asked it to, so nobody is disturbed.
  run_election(config_.pre_vote && !transfer, transfer);
}

void Raft::run_election(bool pre_vote, bool transfer) {
  Term vote_term = 0;
  if (pre_vote) {
    become_pre_candidate();
    vote_term = term_ + 1;
  } else {
    become_candidate();
    vote_term = term_;
  }
  tracker_.record_vote(id(), true);
  if (tracker_.tally_votes() == VoteResult::kWon) {  // a single-voter group
    if (pre_vote) {
      run_election(false, transfer);
    } else {
      become_leader();
    }
    return;
  }
  const MessageType type = pre_vote ? MessageType::kPreVote : MessageType::kVote;
  for (const auto& [node, pr] : tracker_.all()) {
    if (node == id() || pr.is_learner()) continue;
    send(Message{.type = type,
                 .to = node,
                 .term = vote_term,
                 .log_term = log_.last_term(),
                 .index = log_.last_index(),
                 .context = transfer ? kTransferContext : ""});
  }
}

void Raft::handle_vote_request(const Message& m) {
  const bool pre_vote = m.type == MessageType::kPreVote;
  // We may vote for whom we voted for already, or for anyone when we neither voted nor
  // know a leader in this term; a pre-vote for a future term promises nothing.
  const bool can_vote = vote_ == m.from || (vote_ == kNoNode && leader_ == kNoNode) ||
                        (pre_vote && m.term > term_);
#if KV_RAFT_MUTATION == 3
  const bool up_to_date = true;  // deliberately broken (teeth test): ignore the election restriction
#else
  const bool up_to_date = log_.is_up_to_date(m.index, m.log_term);  // thesis §3.6.1
#endif
  const MessageType response = pre_vote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  if (can_vote && up_to_date) {
    send(Message{.type = response, .to = m.from, .term = m.term});
    if (!pre_vote) {
      election_elapsed_ = 0;
      vote_ = m.from;
    }
  } else {
    send(Message{.type = response, .to = m.from, .term = term_, .reject = true});
  }
}

void Raft::handle_vote_response(const Message& m) {
  const bool pre_vote = role_ == Role::kPreCandidate;
  const MessageType expected = pre_vote ? MessageType::kPreVoteResponse : MessageType::kVoteResponse;
  if (m.type != expected) return;
  // A granted pre-vote names the term we would campaign in; any other is left over.
  if (pre_vote && !m.reject && m.term != term_ + 1) return;
  tracker_.record_vote(m.from, !m.reject);
  switch (tracker_.tally_votes()) {
    case VoteResult::kWon:
      if (pre_vote) {
        run_election(false, false);
      } else {
        become_leader();
        bcast_append();
      }
      break;
    case VoteResult::kLost:
      become_follower(term_, kNoNode);
      break;
    case VoteResult::kPending:
      break;
  }
}

void Raft::transfer_leadership(NodeId target) {
  if (role_ != Role::kLeader || target == id() || !tracker_.is_voter(target)) return;
  if (lead_transferee_ == target) return;
  lead_transferee_ = target;
  election_elapsed_ = 0;  // the transfer gets one election timeout to finish
  if (tracker_.progress(target).match() == log_.last_index()) {
    send_timeout_now(target);
  } else {
    send_append(target);
  }
}

void Raft::send_timeout_now(NodeId to) { send(Message{.type = MessageType::kTimeoutNow, .to = to}); }

}  // namespace kv::raft
