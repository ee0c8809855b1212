// GroupLog: the durable Raft log of one group, as the core sees it (raft::LogStorage).
//
// A GroupLog is a read view. Writes go through NodeStore (persist, create_snapshot,
// compact), which adds to the view only after the RocksDB write has succeeded, so the view
// never shows an entry, hard state or snapshot that is not durable. Entries a write deletes
// (compaction, a received snapshot, a conflicting append) leave the view just before it.
//
// Semantics are exactly MemoryStorage's (tests/storage/group_log_oracle_test.cc checks this
// over random operation sequences): the log holds [first_index(), last_index()];
// term(first_index() - 1) is the term of the compaction point; appending at an index that is
// already in the log replaces that entry and every entry after it.
//
// Hot path: term(), first_index(), last_index() and initial_state() never read RocksDB (the
// terms of the whole log are kept as runs of equal terms). entries() is served from an
// in-memory cache of the log tail (StoreOptions::log_cache_bytes_per_group) when the whole
// range is cached, and otherwise with one RocksDB iterator.
//
// Corruption: a log record whose checksum fails, or a gap in the log, found while serving
// entries() aborts the process with KV_PANIC naming the group and index, because the
// interface has no error channel and no safe answer exists (see consensus/log_storage.h).
//
// Thread-safety: every method may be called from any thread, concurrently with each other
// and with NodeStore writes. A concurrent write is seen either entirely or not at all by a
// single call. The Raft contract keeps the core from reading indexes that a write in
// flight is replacing (they are still in its unstable log). Compaction is the exception:
// NodeStore::compact() raises first_index(), and a core that checked first_index() and then
// calls term()/entries() below the new one violates their REQUIRES (as with MemoryStorage;
// LogStorage has no "compacted" answer). So call compact() on the thread that drives this
// group's RawNode, or otherwise while the core is not stepping.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "consensus/log_storage.h"
#include "storage/log_cache.h"
#include "storage/types.h"

namespace kv::storage {

namespace detail {
struct Db;
class GroupLogAccess;
}  // namespace detail

class GroupLog final : public raft::LogStorage {
 public:
  ~GroupLog() override;
  GroupLog(const GroupLog&) = delete;
  GroupLog& operator=(const GroupLog&) = delete;

  // ---- raft::LogStorage ----
  // {hard state, membership}. The membership is the last one recorded by create_group,
  // create_snapshot, a received snapshot or ApplyBatch::set_conf_state.
  InitialState initial_state() const override;
  // REQUIRES: first_index() <= lo < hi <= last_index() + 1. At least one entry; more while
  // the sum of their data sizes stays within max_bytes.
  std::vector<raft::Entry> entries(raft::LogIndex lo, raft::LogIndex hi, std::uint64_t max_bytes) const override;
  // REQUIRES: first_index() - 1 <= i <= last_index().
  raft::Term term(raft::LogIndex i) const override;
  raft::LogIndex first_index() const override;
  raft::LogIndex last_index() const override;
  // The newest snapshot meta recorded (create_snapshot, or one received through persist),
  // with its opaque data; index 0 when there is none. Never nullopt: the state machine
  // image itself is produced on demand by NodeStore::open_snapshot_source().
  std::optional<raft::Snapshot> snapshot() const override;

  GroupId group() const { return group_; }
  raft::HardState hard_state() const;
  // Bytes held by the tail cache (for metrics).
  std::uint64_t cached_bytes() const;

 private:
  friend class detail::GroupLogAccess;
  GroupLog(GroupId group, const detail::Db& db, std::uint64_t cache_bytes);

  const GroupId group_;
  const detail::Db& db_;

  mutable std::mutex mu_;
  raft::HardState hard_state_;
  raft::ConfState conf_;
  raft::Snapshot snapshot_;
  TermIndex terms_;   // the whole log: dummy = (first_index - 1, its term)
  EntryCache cache_;  // a suffix of the log: cache_.end() == last_index() + 1
};

}  // namespace kv::storage
