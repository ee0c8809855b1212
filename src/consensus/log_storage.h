// The narrow read interface the core uses to look at the durable log.
//
// The core never writes through this interface: the application persists what a Ready
// hands it (hard state, entries, snapshot) into its own storage, and that storage then
// answers these reads. Implementations: MemoryStorage (tests, simulator) and the
// RocksDB-backed log in src/storage.
//
// Indexes: the log holds entries [first_index(), last_index()]. Everything before
// first_index() has been compacted away; the newest snapshot covers at least up to
// first_index() - 1 (an application may keep entries behind its snapshot for lagging
// followers, so the snapshot's index can be larger). An empty log has
// last_index() == first_index() - 1.
//
// I/O failures are not reported to the core: an implementation that cannot read its own
// durable state must stop the process (KV_PANIC), because no safe answer exists.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "consensus/types.h"

namespace kv::raft {

class LogStorage {
 public:
  virtual ~LogStorage() = default;

  struct InitialState {
    HardState hard_state;
    ConfState conf;
  };
  // The state to start from after a restart (or bootstrap).
  virtual InitialState initial_state() const = 0;

  // Entries in [lo, hi), stopping before the total data size would exceed max_bytes, but
  // always returning at least one entry.
  // REQUIRES: first_index() <= lo < hi <= last_index() + 1.
  virtual std::vector<Entry> entries(LogIndex lo, LogIndex hi, std::uint64_t max_bytes) const = 0;

  // REQUIRES: first_index() - 1 <= i <= last_index(). term(first_index() - 1) is the
  // term of the last compacted entry.
  virtual Term term(LogIndex i) const = 0;

  virtual LogIndex first_index() const = 0;
  virtual LogIndex last_index() const = 0;

  // The newest snapshot, or nullopt while one is being produced (the leader retries later).
  virtual std::optional<Snapshot> snapshot() const = 0;
};

}  // namespace kv::raft
