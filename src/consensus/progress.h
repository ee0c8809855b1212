// The leader's view of one follower's log (thesis §3.5; etcd-io/raft tracker/progress.go).
//
//  probe:     the leader does not know where the follower's log matches; it sends one
//             append per heartbeat interval and backs off on rejection.
//  replicate: the match is known; appends stream optimistically, bounded by an in-flight
//             window (`Inflights`), so a slow follower cannot make the leader buffer without end.
//  snapshot:  the follower needs a snapshot; appends pause until it acknowledges one.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "consensus/types.h"

namespace kv::raft {

// A ring buffer of the last index carried by each append message in flight.
class Inflights {
 public:
  explicit Inflights(std::uint32_t capacity);

  bool full() const { return count_ == buffer_.size(); }
  std::size_t count() const { return count_; }
  // REQUIRES: !full() and `last_index` greater than every index already added.
  void add(LogIndex last_index);
  // Frees every message whose last index is <= `index` (they have been acknowledged).
  void free_le(LogIndex index);
  void free_first_one();
  void reset();

 private:
  std::vector<LogIndex> buffer_;
  std::size_t start_ = 0;
  std::size_t count_ = 0;
};

enum class ProgressState : std::uint8_t { kProbe, kReplicate, kSnapshot };
const char* to_string(ProgressState state);

class Progress {
 public:
  Progress(LogIndex next, std::uint32_t max_inflight, bool is_learner);

  LogIndex match() const { return match_; }
  LogIndex next() const { return next_; }
  ProgressState state() const { return state_; }
  LogIndex pending_snapshot() const { return pending_snapshot_; }
  bool is_learner() const { return is_learner_; }
  const Inflights& inflights() const { return inflights_; }

  // Whether the follower was heard from since the last check-quorum round.
  bool recent_active = false;

  void become_probe();
  void become_replicate();
  void become_snapshot(LogIndex snapshot_index);

  // The follower acknowledged entries up to `index` (and so every append up to it).
  // Returns false for a stale ack.
  bool maybe_update(LogIndex index);
  // The follower rejected an append at `rejected`; `hint` is where its log may match.
  // Returns false when the rejection is stale (answers an older probe).
  bool maybe_decrease_to(LogIndex rejected, LogIndex hint);
  // An append carrying entries up to `last_index` (or none, when empty) was sent.
  void on_append_sent(LogIndex last_index, bool carried_entries);
  // A heartbeat response arrived: the follower is alive. A probing leader may send its next
  // probe; a replicating leader whose window is full frees one slot, because an append or
  // its answer may have been lost and the window would otherwise stay full for ever (the
  // follower rejects whatever does not fit its log, and replication backs off from there).
  void on_heartbeat_response();

  // The commit index last sent to this follower (as far as its log could take it).
  LogIndex commit_sent() const { return commit_sent_; }
  void on_commit_sent(LogIndex commit) { commit_sent_ = std::max(commit_sent_, commit); }

  // Whether the leader should hold further appends to this follower.
  bool is_paused() const;

  // Called once per election timeout. A snapshot that has not been acknowledged within a
  // few rounds was lost (or its receiver restarted): returns true, and the caller probes
  // again, which sends a fresh snapshot if one is still needed.
  bool snapshot_round_timed_out();

 private:
  LogIndex match_ = 0;
  LogIndex next_;
  ProgressState state_ = ProgressState::kProbe;
  LogIndex pending_snapshot_ = 0;
  LogIndex commit_sent_ = 0;
  bool probe_sent_ = false;
  int snapshot_rounds_ = 0;
  bool is_learner_;
  Inflights inflights_;
};

}  // namespace kv::raft
