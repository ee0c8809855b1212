// The log as the core sees it: the durable part (LogStorage) followed by the unstable part
// (entries and possibly a snapshot that a Ready has not yet made durable).
//
// Invariants (checked by check_invariants()):
//   applied <= committed <= last_index()
//   unstable entries, if any, start at unstable_offset_ and are contiguous
//   an unstable snapshot, if any, ends at unstable_offset_ - 1
#pragma once

#include <optional>
#include <vector>

#include "consensus/log_storage.h"
#include "consensus/types.h"

namespace kv::raft {

class RaftLog {
 public:
  // Starts with committed = storage's hard state commit, applied = max(applied, snapshot).
  RaftLog(const LogStorage& storage, LogIndex committed, LogIndex applied);

  LogIndex first_index() const;
  LogIndex last_index() const;
  Term last_term() const;
  // The term of entry `i`, or nullopt when `i` is compacted away or beyond the end.
  std::optional<Term> term(LogIndex i) const;
  bool match_term(LogIndex i, Term t) const;
  // Thesis §3.6.1: whether a log ending at (last_index, last_term) is at least as
  // up to date as ours.
  bool is_up_to_date(LogIndex last_index, Term last_term) const;

  // Follower side of an append: if our log has (index, log_term), append `entries` after it
  // (replacing a conflicting suffix), advance commit to min(commit, last new index) and
  // return the last new index. nullopt when (index, log_term) does not match.
  std::optional<LogIndex> maybe_append(LogIndex index, Term log_term, LogIndex commit,
                                       const std::vector<Entry>& entries);
  // Leader side: appends after last_index(). Returns the new last index.
  LogIndex append(std::vector<Entry> entries);

  // Entries [lo, last_index()], at most max_bytes of data (at least one entry).
  // nullopt when lo is compacted away.
  std::optional<std::vector<Entry>> entries_from(LogIndex lo, std::uint64_t max_bytes) const;

  // The largest index <= `index` whose term is <= `term` (etcd's fast log back-off).
  LogIndex find_conflict_by_term(LogIndex index, Term term) const;

  LogIndex committed() const { return committed_; }
  LogIndex applied() const { return applied_; }
  void commit_to(LogIndex index);
  void applied_to(LogIndex index);

  // The last index that is durable (everything after it is only in memory).
  LogIndex stable_last_index() const;
  const std::vector<Entry>& unstable_entries() const { return unstable_; }
  const std::optional<Snapshot>& unstable_snapshot() const { return unstable_snapshot_; }
  // A Ready made entries up to (index, term) durable. Ignored when the entry has since been
  // replaced by one of another term.
  void stable_to(LogIndex index, Term term);
  void stable_snapshot_to(LogIndex index);

  // Committed, durable entries not yet applied, at most max_bytes (at least one entry).
  std::vector<Entry> next_committed_entries(std::uint64_t max_bytes) const;
  bool has_next_committed_entries() const;

  // Replaces the whole log by a snapshot received from the leader.
  void restore(const Snapshot& snapshot);

  void check_invariants() const;

 private:
  Term term_or_panic(LogIndex i) const;
  void truncate_and_append(std::vector<Entry> entries);
  LogIndex find_conflict(const std::vector<Entry>& entries) const;
  // [lo, hi) across storage and the unstable entries.
  std::vector<Entry> slice(LogIndex lo, LogIndex hi, std::uint64_t max_bytes) const;

  const LogStorage& storage_;
  std::optional<Snapshot> unstable_snapshot_;
  std::vector<Entry> unstable_;
  LogIndex unstable_offset_;  // index of unstable_[0], or where it would be
  LogIndex committed_;
  LogIndex applied_;
};

}  // namespace kv::raft
