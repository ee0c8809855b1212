// NodeStore: the one RocksDB instance of a node, holding the Raft logs and hard states of
// all its groups, the applied state machine (DataStore), client sessions and snapshots.
// The on-disk format is described in storage/format.h.
//
// HOW THE SERVER USES IT
//   Start:    NodeStore::open(options). It bootstraps an empty directory, upgrades a
//             store of an older readable format (format.h "Version history"), or refuses
//             with a clear Status a directory that belongs to another cluster or node, has an
//             unknown format version, lacks a column family, holds a log with a gap or a bad
//             checksum, or that RocksDB reports corrupt. It also finishes a snapshot install
//             that a crash interrupted. Then for each groups() entry: group(id) is the
//             LogStorage for that group's RawNode, with Config::applied =
//             data().applied_index(id). A new replica calls create_group() first.
//   Ready:    the storage thread gathers the Readys of all groups that have one and calls
//             persist() once for all of them (one synced WriteBatch), then sends each Ready's
//             messages_after_persist, applies committed entries through data().apply(), and
//             calls advance(). persist() must not return before the data is durable, and
//             does not.
//   Compact:  on Ready::snapshot_request(i): create_snapshot(id, i, conf, "") and then
//             compact(id, i) (or later, keeping a tail for slow followers).
//   Snapshot: a leader streams open_snapshot_source() chunks to a follower; the follower
//             feeds them to begin_snapshot_receive(), finish()es into a StagedSnapshot, steps
//             a kSnapshot message carrying staged.meta() into its core, and passes the
//             resulting Ready::snapshot with the StagedSnapshot to persist().
//
// Thread-safety: all methods are thread-safe. Writes to the log side (persist, create_group,
// create_snapshot, compact) are serialized internally; DataStore applies may run
// concurrently with them.
#pragma once

#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "consensus/types.h"
#include "storage/data_store.h"
#include "storage/group_log.h"
#include "storage/options.h"
#include "storage/snapshot.h"
#include "storage/status.h"
#include "storage/types.h"

namespace kv::storage {

// What one group's Ready asks to persist. Pointers and spans must stay valid for the call.
struct GroupWrite {
  GroupId group = 0;
  // A snapshot received from the leader (Ready::snapshot). Replaces the whole log: the log
  // then starts after snapshot->meta.index, and the membership becomes snapshot->meta.conf.
  // REQUIRES: newer than group(id)->snapshot().
  const raft::Snapshot* snapshot = nullptr;
  // The state machine image of `snapshot`, received with begin_snapshot_receive(). It
  // replaces the data of its range and all of the group's sessions, transaction state and
  // applied index, atomically with respect to crashes (an interrupted install is finished by
  // the next open()). May be null only when the state machine is kept elsewhere (tests).
  // REQUIRES: image->meta() matches snapshot->meta index and term; image->group() == group.
  // Consumed on success.
  // REQUIRES (not checkable here): the key ranges of the groups on a node are disjoint —
  // the install deletes every key of image->range(), whichever group wrote it.
  StagedSnapshot* image = nullptr;
  // Entries to append (Ready::entries). An entry at an index already in the log replaces
  // that entry and every entry after it. REQUIRES: contiguous; front().index in
  // [first_index(), last_index() + 1] (after `snapshot`, if any); terms do not decrease.
  std::span<const raft::Entry> entries;
  // Ready::hard_state.
  std::optional<raft::HardState> hard_state;
};

// RocksDB counts every key comparison and block read into a thread-local perf context
// unless the thread says otherwise, and nothing here reads those counts. Call on each thread
// that uses the store heavily (kvd's storage and network threads).
void disable_perf_counters_on_this_thread();

class NodeStore {
 public:
  // Opens (or bootstraps, see StoreOptions::create_if_missing) the store at options.path.
  // Errors: kInvalidArgument (options), kNotFound (no store and !create_if_missing),
  // kWrongIdentity, kUnsupportedFormat, kIncomplete (some pieces missing), kCorruption,
  // kIOError. On error nothing was changed on disk, except that an interrupted bootstrap's
  // leftovers are removed.
  static Result<std::unique_ptr<NodeStore>> open(const StoreOptions& options);
  ~NodeStore();
  NodeStore(const NodeStore&) = delete;
  NodeStore& operator=(const NodeStore&) = delete;

  const std::string& cluster_id() const;
  raft::NodeId node_id() const;

  // The groups this node holds a log for, ascending.
  std::vector<GroupId> groups() const;
  // The log of `group`, or nullptr when unknown. The pointer stays valid while the store is open.
  GroupLog* group(GroupId group) const;
  // Makes `group` known with an empty log (first_index 1) and membership `conf`, durably;
  // like MemoryStorage(conf), snapshot() is then {index 0, term 0, conf}.
  // Errors: kInvalidArgument if it exists, kIOError.
  Result<GroupLog*> create_group(GroupId group, const raft::ConfState& conf);

  // Persists what a batch of Readys asks for, for many groups, in ONE RocksDB WriteBatch
  // (group commit); then updates the GroupLog views; then installs the state machine images
  // of received snapshots (rare and slow: it ingests files; the group must have no apply
  // in flight).
  // `sync`: write with sync=true (fsync). Pass false only when no Ready in the batch has
  // must_sync; a batch with a snapshot is always synced. Default: true.
  // REQUIRES: each group known and listed at most once.
  // Durability: on OK (with sync) everything is on stable storage. On error the store must
  // be treated as failed: stop the node (open() recovers to a consistent state).
  Status persist(std::span<const GroupWrite> writes, bool sync = true);

  // Records the newest snapshot meta of `group` at `index` (its term is taken from the log),
  // with `conf` and opaque `data` (kept small: it is held in memory), and makes `conf` the
  // membership initial_state() returns (as MemoryStorage does). Not synced: losing it in a
  // crash only keeps an older snapshot meta.
  // REQUIRES: snapshot().meta.index < index <= last_index().
  Status create_snapshot(GroupId group, raft::LogIndex index, const raft::ConfState& conf, std::string data);

  // Deletes the log entries up to and including `index` (a RocksDB DeleteRange) and makes
  // first_index() = index + 1, durably (synced; this also makes every earlier write durable,
  // e.g. the create_snapshot() before it and the applies the compaction relies on, since
  // RocksDB's one WAL keeps writes in order). An index at or below first_index() - 1
  // changes nothing.
  // REQUIRES: index <= snapshot().meta.index.
  Status compact(GroupId group, raft::LogIndex index);

  // The applied state machine: user data, applied indexes, client sessions.
  DataStore& data();
  const DataStore& data() const;

  // A consistent image of `range` for `group` at its current applied index, as chunks.
  // Errors: kNotFound (group unknown), kIOError, kCorruption.
  Result<std::unique_ptr<SnapshotSource>> open_snapshot_source(GroupId group, const KeyRange& range,
                                                              const SnapshotSourceOptions& options = {}) const;
  // Starts receiving an image for `group` into the staging area. Nothing becomes visible
  // until persist() installs the finished StagedSnapshot.
  Result<std::unique_ptr<SnapshotSink>> begin_snapshot_receive(GroupId group);

  struct Impl;

 private:
  explicit NodeStore(std::unique_ptr<Impl> impl);
  Status install_image(const GroupWrite& w);
  std::unique_ptr<Impl> impl_;
};

}  // namespace kv::storage
