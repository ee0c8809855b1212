// An in-memory LogStorage for tests and the deterministic simulator. It also models what a
// durable store holds: the simulator "crashes" a node by keeping only its MemoryStorage.
// Not thread-safe.
#pragma once

#include <deque>

#include "consensus/log_storage.h"

namespace kv::raft {

class MemoryStorage final : public LogStorage {
 public:
  // An empty log whose membership is `conf` (a freshly bootstrapped group).
  explicit MemoryStorage(ConfState conf = {});

  InitialState initial_state() const override;
  std::vector<Entry> entries(LogIndex lo, LogIndex hi, std::uint64_t max_bytes) const override;
  Term term(LogIndex i) const override;
  LogIndex first_index() const override;
  LogIndex last_index() const override;
  std::optional<Snapshot> snapshot() const override;

  // Persisting what a Ready hands over.
  void set_hard_state(const HardState& hs);
  // Appends `ents`, discarding any existing suffix they overwrite.
  // REQUIRES: ents are contiguous and ents.front().index <= last_index() + 1, and above the snapshot.
  void append(const std::vector<Entry>& ents);
  // Replaces the whole log by `snap` (a snapshot received from the leader).
  // Returns false, changing nothing, when `snap` is not newer than the current snapshot.
  bool apply_snapshot(const Snapshot& snap);

  // Log compaction, driven by the application.
  // Records a snapshot of the state machine at `index` (which must be in the log).
  void create_snapshot(LogIndex index, const ConfState& conf, std::string data);
  // Drops entries up to and including `index`. REQUIRES: index <= snapshot().meta.index.
  void compact(LogIndex index);

 private:
  HardState hard_state_;
  Snapshot snapshot_;
  // entries_[0] is a dummy holding (snapshot index, snapshot term); real entries follow.
  std::deque<Entry> entries_;
};

}  // namespace kv::raft
