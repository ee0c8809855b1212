// Snapshots of one shard's state machine, streamed as bounded-size chunks.
//
// Producer (leader): NodeStore::open_snapshot_source(group, range) pins a RocksDB snapshot and
// reads, consistently with each other, the group's applied index, the term of that index, its
// membership, its client sessions, its transaction state and the `data` keys of `range`. next_chunk() then yields
// chunks of at most SnapshotSourceOptions::max_chunk_bytes (a single record larger than that
// gets a chunk of its own). The wire format of a chunk is described in snapshot_format.h;
// every chunk carries a CRC32C, the group id and a sequence number.
//
// Consumer (follower): NodeStore::begin_snapshot_receive(group) → add_chunk() for each chunk,
// in order → finish() → StagedSnapshot. Received data goes into an SST file in
// <path>/snapshots/<name>/ and is not visible to anything. NodeStore::persist() installs a
// StagedSnapshot: it DeleteRange()s the range, the group's sessions and its transaction
// state, ingests the file, then records the image's sessions, transaction state and the
// applied index. A crash before persist() leaves the staged files as garbage (removed
// by the next open()); a crash after persist()'s synced write is finished by the next open().
//
// Thread-safety: a SnapshotSource or SnapshotSink is used by one thread at a time; several
// may run concurrently with each other and with all other store operations.
// Lifetime: SnapshotSource and SnapshotSink must be destroyed before their NodeStore; a
// StagedSnapshot only names files and may outlive it (its destructor removes them).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "consensus/types.h"
#include "storage/status.h"
#include "storage/types.h"

namespace kv::storage {

namespace detail {
struct Db;
class SnapshotAccess;
}  // namespace detail

struct SnapshotSourceOptions {
  // Upper bound on a chunk's size, unless one record alone is larger. Default: 1 MiB.
  // Minimum: 4 KiB.
  std::uint64_t max_chunk_bytes = 1u << 20;
};

class SnapshotSource {
 public:
  ~SnapshotSource();  // releases the RocksDB snapshot
  SnapshotSource(const SnapshotSource&) = delete;
  SnapshotSource& operator=(const SnapshotSource&) = delete;

  GroupId group() const;
  const KeyRange& range() const;
  // index = the group's applied index when the source was opened; term = that entry's term;
  // conf = the membership as of that index.
  const raft::SnapshotMeta& meta() const;

  // Replaces *chunk with the next chunk and returns true, or returns false once the last
  // chunk has been produced. Errors: kIOError, kCorruption.
  Result<bool> next_chunk(std::string* chunk);

  struct Impl;  // internal: created by NodeStore
  explicit SnapshotSource(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

// A received, durable, not yet installed snapshot image. Removing it (destruction without
// being installed by NodeStore::persist) deletes its files. Move-only.
class StagedSnapshot {
 public:
  StagedSnapshot(StagedSnapshot&& other) noexcept;
  StagedSnapshot& operator=(StagedSnapshot&& other) noexcept;
  ~StagedSnapshot();

  GroupId group() const { return group_; }
  const KeyRange& range() const { return range_; }
  const raft::SnapshotMeta& meta() const { return meta_; }
  std::uint64_t data_records() const { return data_records_; }
  std::uint64_t session_records() const { return session_records_; }
  std::uint64_t txn_state_records() const { return txn_state_records_; }
  // The directory name under <path>/snapshots; empty once installed or moved from.
  const std::string& directory_name() const { return dir_name_; }

 private:
  friend class detail::SnapshotAccess;
  StagedSnapshot() = default;
  void release();  // forget the files (they were installed)

  GroupId group_ = 0;
  KeyRange range_;
  raft::SnapshotMeta meta_;
  std::uint64_t data_records_ = 0;
  std::uint64_t session_records_ = 0;
  std::uint64_t txn_state_records_ = 0;
  std::string staging_root_;  // <path>/snapshots
  std::string dir_name_;
};

class SnapshotSink {
 public:
  ~SnapshotSink();  // removes the files of an unfinished receive
  SnapshotSink(const SnapshotSink&) = delete;
  SnapshotSink& operator=(const SnapshotSink&) = delete;

  GroupId group() const;
  // Accepts the next chunk. Errors: kInvalidArgument (a corrupt or malformed chunk, one for
  // another group, out of sequence, keys out of order or outside the range), kIOError. After
  // an error the sink is dead: every later call fails; start a new receive.
  Status add_chunk(std::string_view chunk);
  // True once the final chunk has been accepted.
  bool complete() const;
  // Makes the staged image durable (files and directory synced) and hands it over.
  // REQUIRES: complete(). Errors: kIOError.
  Result<StagedSnapshot> finish();

  struct Impl;  // internal: created by NodeStore
  explicit SnapshotSink(std::unique_ptr<Impl> impl);

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace kv::storage
