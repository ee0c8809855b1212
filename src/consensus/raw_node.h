// RawNode: one Raft group member as a pure state machine.
//
// Inputs:  tick(), step(message), propose(commands), read_index(context), campaign(),
//          transfer_leadership(target).
// Output:  ready() returns a Ready batch; the application handles it and calls advance().
// There is no I/O, clock, thread or global state here: time is tick() and randomness is
// Config::random_seed. Not thread-safe; one caller drives it.
//
// THE READY CONTRACT (what must be durable before what may be sent):
//  1. Persist ready.snapshot (if any), then ready.entries (an entry at an index already in
//     the log replaces that entry and every entry after it), then ready.hard_state.
//     When ready.must_sync is true the write must be synced (fsync) before step 2.
//  2. Only then send ready.messages_after_persist: votes, append acknowledgements and
//     other answers that promise the sender's durable state.
//     ready.messages may be sent at once, before or in parallel with step 1: they are the
//     leader's appends and heartbeats (thesis §10.2.1, the leader's parallel append). The
//     leader counts its own log toward a commit quorum only once advance() says it is
//     durable.
//  3. Apply ready.committed_entries to the state machine in order. Each was committed by a
//     quorum and is durable here.
//  4. Serve each ready.read_states entry once the state machine has applied its index.
//     A network that duplicates messages can deliver a context twice: serve each once.
//  5. If ready.snapshot_request is set, snapshot the state machine at that index (it is the
//     applied index once step 3 is done) and compact the log up to at most that index
//     (see MemoryStorage::create_snapshot / compact). Keeping some entries behind it lets
//     slightly lagging followers catch up without a snapshot.
//  6. Call advance(ready). Only one Ready is outstanding at a time; step(), tick() and
//     propose() may be called between ready() and advance().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consensus/config.h"
#include "consensus/log_storage.h"
#include "consensus/types.h"

namespace kv::raft {

class Raft;

struct Ready {
  std::optional<SoftState> soft_state;  // set when leader or role changed
  std::optional<HardState> hard_state;  // set when it changed: persist it
  std::vector<Entry> entries;           // persist (append) before sending messages_after_persist
  std::optional<Snapshot> snapshot;     // a snapshot from the leader: persist and install it
  std::vector<Message> messages;                // may be sent at once
  std::vector<Message> messages_after_persist;  // send only after the persist step
  std::vector<Entry> committed_entries;         // apply in order
  std::vector<ReadState> read_states;           // serve once applied >= index
  std::optional<LogIndex> snapshot_request;     // snapshot the state machine at this index
  bool must_sync = false;                       // the persist step needs an fsync

  bool empty() const;
};

enum class ProposeError : std::uint8_t {
  kNone = 0,
  kNotLeader,         // not the leader; Status::leader names the one known, if any
  kTransferring,      // leadership is being handed over; retry at the new leader
};

struct ProposeResult {
  ProposeError error = ProposeError::kNone;
  LogIndex first_index = 0;  // index of the first proposed entry when accepted
  Term term = 0;             // the term the entries were proposed in
};


struct Status {
  NodeId id = kNoNode;
  HardState hard_state;
  SoftState soft_state;
  LogIndex applied = 0;
  LogIndex first_index = 0;
  LogIndex last_index = 0;
  // Leader only: each member's match index.
  std::vector<std::pair<NodeId, LogIndex>> match;
};

class RawNode {
 public:
  // Starts from storage.initial_state(). `storage` must outlive the node.
  // REQUIRES: config.validate() is empty.
  RawNode(const Config& config, const LogStorage& storage);
  ~RawNode();
  RawNode(const RawNode&) = delete;
  RawNode& operator=(const RawNode&) = delete;

  // One logical clock tick: drives election timeouts and heartbeats.
  void tick();

  // A message from a peer. Messages from older terms, from unknown nodes, or that make no
  // sense in the current role are dropped; nothing a peer sends can corrupt the state.
  void step(const Message& message);

  // Appends commands to the log when this node is the leader.
  ProposeResult propose(std::vector<std::string> commands);

  // Starts a linearizable read: once it is safe, a ReadState{index, context} appears in a
  // Ready. On a follower the request is forwarded to the leader. Contexts should be unique.
  // Returns false when no leader is known (the caller retries).
  bool read_index(std::string context);

  // Starts an election now (used to bootstrap single-node groups and by tests).
  void campaign();

  // Leader only: hands leadership to `target` once its log is caught up (thesis §3.10).
  void transfer_leadership(NodeId target);

  // Leader only: the transport tells whether a snapshot reached `to`. On failure the
  // leader probes again (and resends a snapshot if still needed).
  void report_snapshot(NodeId to, bool ok);

  bool has_ready() const;
  Ready ready();
  // The messages a Ready would carry in `messages` (the leader's appends and heartbeats),
  // taken now. They depend on nothing unpersisted, so a caller with a Ready outstanding
  // can send them at once instead of holding them until the next ready() — the leader then
  // replicates a new batch while its own fsync of the previous one is still running.
  std::vector<Message> take_messages();
  // REQUIRES: `ready` is the Ready last returned and its contract has been carried out.
  void advance(const Ready& ready);

  Status status() const;
  NodeId id() const;
  NodeId leader() const;
  Role role() const;
  Term term() const;

 private:
  std::optional<LogIndex> snapshot_due(LogIndex applied) const;

  std::unique_ptr<Raft> raft_;
  SoftState prev_soft_;
  HardState prev_hard_;
  LogIndex last_snapshot_index_;  // the snapshot last taken or installed
  bool ready_outstanding_ = false;
};

}  // namespace kv::raft
