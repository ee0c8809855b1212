#include "consensus/raft_log.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::raft {

RaftLog::RaftLog(const LogStorage& storage, LogIndex committed, LogIndex applied)
    : storage_(storage),
      unstable_offset_(storage.last_index() + 1),
      committed_(committed),
      applied_(applied) {
  const LogIndex snapshot_index = storage.first_index() - 1;
  // The snapshot is committed and already in the state machine by definition.
  committed_ = std::max(committed_, snapshot_index);
  applied_ = std::max(applied_, snapshot_index);
  KV_ASSERT_MSG(committed_ <= storage.last_index(),
                "the hard state commits entries the log does not have: the log was truncated or lost");
  KV_ASSERT_MSG(applied_ <= committed_, "the state machine applied entries that are not committed");
}

LogIndex RaftLog::first_index() const {
  if (unstable_snapshot_) return unstable_snapshot_->meta.index + 1;
  return storage_.first_index();
}

LogIndex RaftLog::last_index() const {
  if (!unstable_.empty()) return unstable_offset_ + unstable_.size() - 1;
  if (unstable_snapshot_) return unstable_snapshot_->meta.index;
  return storage_.last_index();
}

Term RaftLog::last_term() const { return term_or_panic(last_index()); }

std::optional<Term> RaftLog::term(LogIndex i) const {
  if (unstable_snapshot_) {
    if (i == unstable_snapshot_->meta.index) return unstable_snapshot_->meta.term;
    if (i < unstable_snapshot_->meta.index) return std::nullopt;
  }
  if (i >= unstable_offset_) {
    const LogIndex pos = i - unstable_offset_;
    if (pos < unstable_.size()) return unstable_[pos].term;
    return std::nullopt;
  }
  if (unstable_snapshot_) return std::nullopt;  // storage is about to be replaced
  if (i + 1 < storage_.first_index() || i > storage_.last_index()) return std::nullopt;
  return storage_.term(i);
}

Term RaftLog::term_or_panic(LogIndex i) const {
  const auto t = term(i);
  KV_ASSERT_MSG(t.has_value(), "term of an index the log must hold");
  return *t;
}

bool RaftLog::match_term(LogIndex i, Term t) const {
  const auto actual = term(i);
  return actual && *actual == t;
}

bool RaftLog::is_up_to_date(LogIndex index, Term t) const {
  const Term ours = last_term();
  return t > ours || (t == ours && index >= last_index());
}

std::optional<LogIndex> RaftLog::maybe_append(LogIndex index, Term log_term, LogIndex commit,
                                              const std::vector<Entry>& entries) {
  if (!match_term(index, log_term)) return std::nullopt;
  const LogIndex last_new = index + entries.size();
  const LogIndex conflict = find_conflict(entries);
  if (conflict != 0) {
    KV_ASSERT_MSG(conflict > committed_, "an append conflicts with a committed entry");
    const auto skip = static_cast<std::ptrdiff_t>(conflict - (index + 1));
    truncate_and_append(std::vector<Entry>(entries.begin() + skip, entries.end()));
  }
  commit_to(std::min(commit, last_new));
  return last_new;
}

LogIndex RaftLog::append(std::vector<Entry> entries) {
  if (entries.empty()) return last_index();
  KV_ASSERT_MSG(entries.front().index > committed_, "appending over committed entries");
  KV_ASSERT(entries.front().index == last_index() + 1);
  truncate_and_append(std::move(entries));
  return last_index();
}

LogIndex RaftLog::find_conflict(const std::vector<Entry>& entries) const {
  for (const Entry& e : entries) {
    if (!match_term(e.index, e.term)) return e.index;
  }
  return 0;
}

void RaftLog::truncate_and_append(std::vector<Entry> entries) {
  const LogIndex after = entries.front().index;
  const LogIndex unstable_end = unstable_offset_ + unstable_.size();
  if (after == unstable_end) {
    unstable_.insert(unstable_.end(), std::make_move_iterator(entries.begin()),
                     std::make_move_iterator(entries.end()));
  } else if (after <= unstable_offset_) {
    // Replaces durable entries too: they stay in storage, shadowed, until the next Ready
    // overwrites them.
    unstable_offset_ = after;
    unstable_ = std::move(entries);
  } else {
    unstable_.resize(after - unstable_offset_);
    unstable_.insert(unstable_.end(), std::make_move_iterator(entries.begin()),
                     std::make_move_iterator(entries.end()));
  }
}

std::optional<std::vector<Entry>> RaftLog::entries_from(LogIndex lo, std::uint64_t max_bytes) const {
  if (lo > last_index()) return std::vector<Entry>{};
  if (lo < first_index()) return std::nullopt;
  return slice(lo, last_index() + 1, max_bytes);
}

std::vector<Entry> RaftLog::slice(LogIndex lo, LogIndex hi, std::uint64_t max_bytes) const {
  KV_ASSERT(lo >= first_index() && lo < hi && hi <= last_index() + 1);
  KV_ASSERT_MSG(!unstable_snapshot_, "reading entries while a snapshot is being installed");
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  if (lo < unstable_offset_) {
    out = storage_.entries(lo, std::min(hi, unstable_offset_), max_bytes);
    KV_ASSERT(!out.empty() && out.front().index == lo);
    for (const Entry& e : out) bytes += e.data.size();
    if (out.back().index + 1 < std::min(hi, unstable_offset_)) return out;  // size limit hit
  }
  for (LogIndex i = std::max(lo, unstable_offset_); i < hi; ++i) {
    const Entry& e = unstable_[i - unstable_offset_];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

LogIndex RaftLog::find_conflict_by_term(LogIndex index, Term t) const {
  index = std::min(index, last_index());
  while (index > 0) {
    const auto ours = term(index);
    if (!ours || *ours <= t) return index;
    --index;
  }
  return 0;
}

void RaftLog::commit_to(LogIndex index) {
  if (index <= committed_) return;  // commit never moves back
  KV_ASSERT_MSG(index <= last_index(), "commit index beyond the end of the log");
  committed_ = index;
}

void RaftLog::applied_to(LogIndex index) {
  KV_ASSERT_MSG(index <= committed_, "applied an entry that is not committed");
  KV_ASSERT_MSG(index >= applied_, "applied index moved back");
  applied_ = index;
}

LogIndex RaftLog::stable_last_index() const { return unstable_offset_ - 1; }

void RaftLog::stable_to(LogIndex index, Term t) {
  if (index < unstable_offset_) return;
  const LogIndex pos = index - unstable_offset_;
  if (pos >= unstable_.size() || unstable_[pos].term != t) return;  // replaced since
  unstable_.erase(unstable_.begin(), unstable_.begin() + static_cast<std::ptrdiff_t>(pos + 1));
  unstable_offset_ = index + 1;
}

void RaftLog::stable_snapshot_to(LogIndex index) {
  if (unstable_snapshot_ && unstable_snapshot_->meta.index == index) unstable_snapshot_.reset();
}

bool RaftLog::has_next_committed_entries() const {
  if (unstable_snapshot_) return false;
  return applied_ < std::min(committed_, stable_last_index());
}

std::vector<Entry> RaftLog::next_committed_entries(std::uint64_t max_bytes) const {
  if (!has_next_committed_entries()) return {};
  return slice(applied_ + 1, std::min(committed_, stable_last_index()) + 1, max_bytes);
}

void RaftLog::restore(const Snapshot& snapshot) {
  KV_ASSERT(snapshot.meta.index > committed_);
  committed_ = snapshot.meta.index;
  unstable_.clear();
  unstable_offset_ = snapshot.meta.index + 1;
  unstable_snapshot_ = snapshot;
}

void RaftLog::check_invariants() const {
  KV_ASSERT_MSG(applied_ <= committed_, "applied beyond commit");
  KV_ASSERT_MSG(committed_ <= last_index(), "commit beyond the log");
  KV_ASSERT_MSG(first_index() >= 1, "first index starts at 1");
  if (!unstable_.empty()) {
    KV_ASSERT_MSG(unstable_.front().index == unstable_offset_, "unstable entries misplaced");
    KV_ASSERT_MSG(unstable_.back().index == unstable_offset_ + unstable_.size() - 1,
                  "unstable entries not contiguous");
  }
  if (unstable_snapshot_) {
    KV_ASSERT_MSG(unstable_snapshot_->meta.index + 1 == unstable_offset_,
                  "unstable entries do not follow the snapshot");
  }
}

}  // namespace kv::raft
