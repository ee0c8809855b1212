// One simulated node: a RawNode, the MemoryStorage that models its disk, the toy state
// machine, and the Ready in progress. SimNode does the mechanical work of the Ready
// contract one stage at a time; the Cluster decides when each stage runs (so that ticks and
// messages interleave with it, and crashes fall between any two stages) and tells the
// Checker what happened. SimNode checks nothing itself.
//
// WHAT A CRASH LOSES (the disk model):
//  - MemoryStorage holds only what a Ready's persist step wrote. The RawNode and the Ready
//    in progress are discarded; pending reads are forgotten.
//  - A persist step with must_sync is an fsync: it makes every earlier write durable.
//    Other writes are buffered, as in one RocksDB instance whose WAL is synced only by
//    group commit: the core's commit-only hard-state updates (must_sync == false) and the
//    state machine's applies (written with their applied index, unsynced; design.md
//    "Storage"). A crash keeps all synced writes plus a random PREFIX of the buffered ones
//    (a WAL is replayed in order; it cannot keep a later write and lose an earlier one).
//  - Snapshot creation and compaction, and installing a leader's snapshot, are synced.
//  - Restart: the state machine is what survived; if the storage snapshot is newer, the
//    state machine is rebuilt from the snapshot data. Config::applied is the state
//    machine's applied index, and the core hands out the committed entries after it again.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "consensus/config.h"
#include "consensus/memory_storage.h"
#include "consensus/raw_node.h"
#include "sim/rng.h"
#include "sim/state_machine.h"

namespace kv::sim {

using raft::NodeId;

// Where the Ready in progress stands. Stages run in this order; a crash may fall between
// any two.
enum class ReadyStage : std::uint8_t {
  kNone,       // no Ready outstanding
  kPulled,     // ready() called; `messages` handed to the network now, or in kSent
  kPersisted,  // snapshot, entries and hard state written to storage
  kSent,       // messages_after_persist handed to the network
  kApplied,    // committed entries applied, read states queued, snapshot request served
};
const char* to_string(ReadyStage stage);

struct CrashReport {
  std::size_t buffered_writes = 0;  // unsynced writes at the time of the crash
  std::size_t kept_writes = 0;      // how many of them (a prefix) survived
  raft::HardState durable_hard_state;
  LogIndex durable_applied = 0;
};

class SimNode {
 public:
  // A freshly bootstrapped member of `conf`. `config` is the template (id and seed are set
  // here); the node starts down: call restart() to boot it.
  SimNode(NodeId id, const raft::Config& config, const raft::ConfState& conf);

  NodeId id() const { return id_; }
  bool up() const { return raw_ != nullptr; }
  std::uint64_t incarnation() const { return incarnation_; }
  raft::RawNode& raw();
  const raft::RawNode& raw() const;
  const raft::MemoryStorage& storage() const { return storage_; }
  const StateMachine& state_machine() const { return sm_; }
  const raft::ConfState& conf() const { return conf_; }

  // --- The Ready pipeline -------------------------------------------------------------
  ReadyStage stage() const { return stage_; }
  // REQUIRES: stage() != kNone.
  const raft::Ready& ready() const;
  // How many Readies this incarnation has pulled (the current one included).
  std::uint64_t ready_seq() const { return ready_seq_; }

  // REQUIRES: stage() == kNone and raw().has_ready(). Returns the Ready.
  const raft::Ready& pull_ready();
  // Whether Ready::messages went out at pull time (else they go with messages_after_persist).
  bool sent_early() const { return sent_early_; }
  void set_sent_early(bool early) { sent_early_ = early; }
  // Writes the Ready's snapshot, entries and hard state. Returns false when the storage
  // refused the snapshot (not newer than its own); the rest is then not written.
  bool persist();
  void mark_sent();
  // Applies one committed entry. REQUIRES: entry.index == state_machine().applied() + 1.
  void apply(const raft::Entry& entry);
  // Rebuilds the state machine from a snapshot image. Returns false if it does not parse.
  bool restore_state_machine(const raft::Snapshot& snapshot);
  // Serves a snapshot request: snapshot the state machine at `index` and compact the log
  // up to `compact_to` (<= index). Synced.
  void take_snapshot(LogIndex index, LogIndex compact_to);
  void mark_applied();
  // advance(ready): the Ready is done.
  void finish_ready();

  // Read states waiting for the state machine to catch up. The Cluster serves them.
  std::vector<raft::ReadState>& pending_reads() { return pending_reads_; }

  // --- Crash and restart ----------------------------------------------------------------
  // Drops the RawNode, the Ready in progress and a random suffix of the unsynced writes.
  // REQUIRES: up().
  CrashReport crash(Rng& rng);
  // Boots a new incarnation from storage. Returns false when the storage snapshot image,
  // needed to rebuild the state machine, does not parse. REQUIRES: !up().
  bool restart(std::uint64_t random_seed);

 private:
  // A buffered (unsynced) write, in write order.
  struct BufferedWrite {
    enum class Kind : std::uint8_t { kCommit, kApply } kind;
    LogIndex index;
  };
  void sync();

  NodeId id_;
  raft::Config config_;
  raft::ConfState conf_;
  raft::MemoryStorage storage_;
  StateMachine sm_;
  std::unique_ptr<raft::RawNode> raw_;
  std::uint64_t incarnation_ = 0;

  ReadyStage stage_ = ReadyStage::kNone;
  std::optional<raft::Ready> ready_;
  std::uint64_t ready_seq_ = 0;
  bool sent_early_ = false;
  std::vector<raft::ReadState> pending_reads_;

  // The durable state as of the last sync, and the writes buffered since.
  raft::HardState synced_hard_state_;
  LogIndex synced_applied_ = 0;
  std::vector<BufferedWrite> buffered_;
};

}  // namespace kv::sim
