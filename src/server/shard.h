// One shard on one node, as the network thread sees it: its Raft group, the client
// requests waiting on it, and its state machine (touched only where the Ready is persisted).
// Not thread-safe: owned by the network thread (state_machine excepted).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consensus/raw_node.h"
#include "net/client_server.h"
#include "server/shard_map.h"
#include "server/state_machine.h"
#include "storage/snapshot.h"
#include "storage/types.h"

namespace kv::server {

using Clock = std::chrono::steady_clock;

struct Waiter {
  net::Request request;
  net::ClientServer::Responder responder;
  Clock::time_point deadline;
};

// A write proposed to the log, waiting for its entry to be applied.
struct ProposedWrite {
  raft::Term term = 0;  // the entry must still have this term when applied, or it was lost
  Waiter waiter;
};

// Linearizable reads that share one ReadIndex round (thesis §6.4).
struct ReadRound {
  Clock::time_point started;
  std::vector<Waiter> reads;
};

struct Shard {
  Shard(const ShardPlacement& shard_placement, const raft::Config& config, const raft::LogStorage& log,
        storage::DataStore& data, std::uint32_t max_sessions)
      : id(shard_placement.id),
        range(shard_placement.range),
        placement(shard_placement),
        raft(config, log),
        state_machine(shard_placement.id, shard_placement.range, data, max_sessions) {}

  const storage::GroupId id;
  const storage::KeyRange range;
  const ShardPlacement placement;
  raft::RawNode raft;
  ShardStateMachine state_machine;  // only while persisting a Ready (see ready_in_flight)

  bool ready_in_flight = false;   // a Ready is being persisted (storage thread, or queued here)
  raft::LogIndex applied = 0;     // as far as the network thread knows
  raft::SoftState soft_state;
  Clock::time_point last_leader_transfer{};  // leader balancing (node_txns.cc)
  raft::Term leader_claimed_term = 0;         // recorded at shard 0 (node_txns.cc)
  bool leader_claim_in_flight = false;

  // Writes gathered during one turn of the event loop, proposed together.
  std::vector<std::string> proposals;
  std::vector<Waiter> proposal_waiters;
  std::map<raft::LogIndex, ProposedWrite> proposed;

  // Linearizable reads: not yet in a round, in a round, waiting for the apply of an index.
  std::vector<Waiter> reads_unstarted;
  std::map<std::string, ReadRound> read_rounds;
  std::multimap<raft::LogIndex, Waiter> reads_waiting_apply;
  std::uint64_t next_read_round = 1;

  // Requests that met a transaction's lock: reads wait for its write lock, writes were
  // applied as no-ops (ApplyResult::blocked) and are proposed again. Retried after every
  // apply and sweep until the lock goes or their deadline passes.
  std::vector<Waiter> blocked_reads;
  std::vector<Waiter> blocked_writes;
  std::size_t prepared_seen = 0;  // prepared transactions at the last apply

  // A snapshot image received from the leader, waiting for its kSnapshot message; then
  // the image handed to the core with that message, waiting for the Ready that installs it
  // (a newer stream finishing in between must not replace it).
  std::optional<storage::StagedSnapshot> received_image;
  std::optional<storage::StagedSnapshot> attached_image;
  std::unique_ptr<storage::SnapshotSink> snapshot_sink;
  raft::NodeId snapshot_sink_from = raft::kNoNode;
  std::uint64_t snapshot_sink_next_seq = 0;  // a gap (chunks lost with a connection) aborts it

  std::size_t pending_requests() const {
    std::size_t n = proposal_waiters.size() + proposed.size() + reads_unstarted.size() + reads_waiting_apply.size() +
                    blocked_reads.size() + blocked_writes.size();
    for (const auto& [ctx, round] : read_rounds) n += round.reads.size();
    return n;
  }
};

}  // namespace kv::server
