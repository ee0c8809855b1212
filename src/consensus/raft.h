// The Raft protocol itself (internal to src/consensus; the public face is RawNode).
//
// Roles dispatch through a step/tick pair swapped in become_*(), as etcd-io/raft does.
// Split by concern: raft.cc (roles, ticks, message intake, invariants), raft_election.cc
// (pre-vote, votes, leader transfer), raft_replication.cc (appends, commit, heartbeats,
// snapshots, ReadIndex).
#pragma once

#include <string>
#include <vector>

#include "consensus/config.h"
#include "consensus/log_storage.h"
#include "consensus/raft_log.h"
#include "consensus/raw_node.h"
#include "consensus/read_only.h"
#include "consensus/rng.h"
#include "consensus/tracker.h"
#include "consensus/types.h"

namespace kv::raft {

// Context of votes started by a leader transfer: they override the followers' leader lease.
inline constexpr const char* kTransferContext = "raft.transfer";

class Raft {
 public:
  Raft(const Config& config, const LogStorage& storage);

  void tick();
  void step(const Message& m);
  ProposeResult propose(std::vector<std::string> commands);
  bool read_index(std::string context);
  void campaign();
  void transfer_leadership(NodeId target);
  void report_snapshot(NodeId to, bool ok);
  // The Ready contract's persist step finished: the leader may count its own log now.
  void on_persisted();

  NodeId id() const { return config_.id; }
  Term term() const { return term_; }
  NodeId leader() const { return leader_; }
  Role role() const { return role_; }
  HardState hard_state() const { return {term_, vote_, log_.committed()}; }
  SoftState soft_state() const { return {leader_, role_}; }
  RaftLog& log() { return log_; }
  const RaftLog& log() const { return log_; }
  const ProgressTracker& tracker() const { return tracker_; }
  const Config& config() const { return config_; }

  // Outputs collected since the last Ready.
  std::vector<Message> messages;
  std::vector<Message> messages_after_persist;
  std::vector<ReadState> read_states;

  // Loud checks of state invariants; run after every input.
  void check_invariants() const;

 private:
  using StepFn = void (Raft::*)(const Message&);
  using TickFn = void (Raft::*)();

  // raft.cc
  void become_follower(Term term, NodeId leader);
  void become_pre_candidate();
  void become_candidate();
  void become_leader();
  void reset(Term term);
  void tick_election();
  void tick_heartbeat();
  bool step_higher_term(const Message& m);
  void step_lower_term(const Message& m);
  void step_follower(const Message& m);
  void step_candidate(const Message& m);
  void step_leader(const Message& m);
  void send(Message m);
  bool promotable() const;

  // raft_election.cc
  void hup(bool transfer);
  void run_election(bool pre_vote, bool transfer);
  void handle_vote_request(const Message& m);
  void handle_vote_response(const Message& m);
  void send_timeout_now(NodeId to);

  // raft_replication.cc
  void handle_append(const Message& m);
  void handle_heartbeat(const Message& m);
  void handle_snapshot(const Message& m);
  bool restore(const Snapshot& snapshot);
  void handle_append_response(const Message& m);
  void handle_heartbeat_response(const Message& m);
  void handle_read_index_request(NodeId from, std::string context);
  void respond_to_read(ReadIndexRequest request);
  void release_reads_waiting_for_commit();
  bool committed_in_current_term() const;
  bool maybe_commit();
  void bcast_append();
  void bcast_commit();
  void send_deferred_commits();
  void bcast_heartbeat(const std::string& context);
  void send_append(NodeId to) { maybe_send_append(to, true); }
  bool maybe_send_append(NodeId to, bool send_if_empty);
  bool maybe_send_snapshot(NodeId to, Progress& pr);
  void send_heartbeat(NodeId to, const std::string& context);

  const Config config_;
  const LogStorage& storage_;
  RaftLog log_;
  ProgressTracker tracker_;
  ReadOnly read_only_;
  // Reads that arrived before this leader committed an entry of its own term (thesis §6.4).
  std::vector<ReadIndexRequest> reads_waiting_for_commit_;
  Rng rng_;

  Term term_ = 0;
  NodeId vote_ = kNoNode;
  NodeId leader_ = kNoNode;
  Role role_ = Role::kFollower;
  NodeId lead_transferee_ = kNoNode;

  int election_elapsed_ = 0;
  int heartbeat_elapsed_ = 0;
  int randomized_election_timeout_ = 0;

  StepFn step_fn_ = nullptr;
  TickFn tick_fn_ = nullptr;
};

}  // namespace kv::raft
