#include "storage/group_log.h"

#include <string>

#include "common/assert.h"
#include "storage/detail/internal.h"

namespace kv::storage {
namespace {

// The size rule of LogStorage::entries(): at least one entry, then more while the sum of
// data sizes stays within max_bytes.
bool fits(std::uint64_t total_bytes, std::uint64_t entry_bytes, std::uint64_t max_bytes, bool first) {
  return first || total_bytes + entry_bytes <= max_bytes;
}

[[noreturn]] void panic_log(GroupId group, raft::LogIndex index, const std::string& what) {
  const std::string msg = "storage: raft log of group " + std::to_string(group) + " at index " +
                          std::to_string(index) + ": " + what + "; refusing to serve";
  KV_PANIC(msg.c_str());
}

// Reads [lo, hi) of `group` from `it` (which must see a state that holds all of it).
std::vector<raft::Entry> read_from(rocksdb::Iterator& it, GroupId group, raft::LogIndex lo, raft::LogIndex hi,
                                   std::uint64_t max_bytes) {
  std::vector<raft::Entry> out;
  out.reserve(std::min<std::uint64_t>(hi - lo, 1024));
  std::uint64_t total = 0;
  char key[format::kLogKeyBytes] = {};
  format::put_log_key(key, group, lo);
  it.Seek(rocksdb::Slice(key, sizeof key));
  for (raft::LogIndex i = lo; i < hi; ++i, it.Next()) {
    if (!it.Valid()) {
      if (!it.status().ok()) panic_log(group, i, "read failed: " + it.status().ToString());
      panic_log(group, i, "entry missing (a gap in the log)");
    }
    format::put_log_key(key, group, i);
    if (detail::view(it.key()) != std::string_view(key, sizeof key)) {
      panic_log(group, i, "entry missing (a gap in the log; next key is " + format::describe_log_key(detail::view(it.key())) + ")");
    }
    const std::uint64_t size = it.value().size() - std::min(it.value().size(), format::kEntryHeaderBytes);
    if (!fits(total, size, max_bytes, out.empty())) break;
    raft::Entry& e = out.emplace_back();
    Status s = format::decode_entry(detail::view(it.key()), detail::view(it.value()), &e);
    if (!s.ok()) panic_log(group, i, s.to_string());
    total += size;
  }
  KV_ASSERT(!out.empty());
  KV_ASSERT(out.front().index == lo);
  return out;
}

}  // namespace

GroupLog::GroupLog(GroupId group, const detail::Db& db, std::uint64_t cache_bytes)
    : group_(group), db_(db), cache_(cache_bytes) {
  terms_.reset(0, 0);
  cache_.reset(1);
}

GroupLog::~GroupLog() = default;

raft::LogStorage::InitialState GroupLog::initial_state() const {
  std::lock_guard lock(mu_);
  return InitialState{hard_state_, conf_};
}

std::vector<raft::Entry> GroupLog::entries(raft::LogIndex lo, raft::LogIndex hi, std::uint64_t max_bytes) const {
  std::unique_ptr<rocksdb::Iterator> it;
  std::string upper_bound;
  rocksdb::Slice upper;
  {
    std::lock_guard lock(mu_);
    KV_ASSERT_MSG(lo > terms_.dummy_index(), "entries(): lo below first_index() (a compact() racing the core?)");
    KV_ASSERT_MSG(lo < hi, "entries(): empty range");
    KV_ASSERT_MSG(hi <= terms_.last_index() + 1, "entries(): hi beyond last_index() + 1");
    if (lo >= cache_.first()) {
      std::vector<raft::Entry> out;
      std::uint64_t total = 0;
      for (raft::LogIndex i = lo; i < hi; ++i) {
        const std::uint64_t size = cache_.data_size(i);
        if (!fits(total, size, max_bytes, out.empty())) break;
        cache_.copy_to(i, &out.emplace_back());
        total += size;
      }
      return out;
    }
    // Created under the lock, the iterator sees (at least) every entry this view shows, and
    // no compaction that happens after we let go of the lock.
    upper_bound = format::log_key(group_, hi);
    upper = detail::slice(upper_bound);
    rocksdb::ReadOptions ro;
    ro.iterate_upper_bound = &upper;
    it.reset(db_.db->NewIterator(ro, db_.raft_log));
  }
  return read_from(*it, group_, lo, hi, max_bytes);
}

raft::Term GroupLog::term(raft::LogIndex i) const {
  std::lock_guard lock(mu_);
  return terms_.term(i);
}

raft::LogIndex GroupLog::first_index() const {
  std::lock_guard lock(mu_);
  return terms_.dummy_index() + 1;
}

raft::LogIndex GroupLog::last_index() const {
  std::lock_guard lock(mu_);
  return terms_.last_index();
}

std::optional<raft::Snapshot> GroupLog::snapshot() const {
  std::lock_guard lock(mu_);
  return snapshot_;
}

raft::HardState GroupLog::hard_state() const {
  std::lock_guard lock(mu_);
  return hard_state_;
}

std::uint64_t GroupLog::cached_bytes() const {
  std::lock_guard lock(mu_);
  return cache_.bytes();
}

// ---- detail::GroupLogAccess: the only way the view changes ----

namespace detail {

std::unique_ptr<GroupLog> GroupLogAccess::make(GroupId group, const Db& db, std::uint64_t cache_bytes) {
  return std::unique_ptr<GroupLog>(new GroupLog(group, db, cache_bytes));
}

LogBounds GroupLogAccess::bounds(const GroupLog& log) {
  std::lock_guard lock(log.mu_);
  return LogBounds{log.terms_.dummy_index(), log.terms_.last_index(), log.snapshot_.meta.index};
}

void GroupLogAccess::load(GroupLog& log, const LoadedGroup& state) {
  std::lock_guard lock(log.mu_);
  log.hard_state_ = state.hard_state;
  log.conf_ = state.conf;
  log.snapshot_ = state.snapshot;
  log.terms_.reset(state.truncated.index, state.truncated.term);
  log.cache_.reset(state.truncated.index + 1);
}

void GroupLogAccess::load_entry(GroupLog& log, raft::LogIndex index, raft::Term term, raft::EntryType type,
                                std::string_view data) {
  std::lock_guard lock(log.mu_);
  log.terms_.append(index, term);
  log.cache_.append(index, term, type, data);
}

void GroupLogAccess::before_write(GroupLog& log, const GroupWrite& w) {
  std::lock_guard lock(log.mu_);
  if (w.snapshot != nullptr) {
    const raft::SnapshotMeta& meta = w.snapshot->meta;
    log.terms_.reset(meta.index, meta.term);
    log.cache_.reset(meta.index + 1);
  }
  if (!w.entries.empty() && w.entries.front().index <= log.terms_.last_index()) {
    log.terms_.truncate_from(w.entries.front().index);
    log.cache_.truncate_from(w.entries.front().index);
  }
  KV_ASSERT(log.cache_.end() == log.terms_.last_index() + 1);
}

void GroupLogAccess::after_write(GroupLog& log, const GroupWrite& w) {
  std::lock_guard lock(log.mu_);
  if (w.snapshot != nullptr) {
    log.snapshot_ = *w.snapshot;
    log.conf_ = w.snapshot->meta.conf;
  }
  for (const raft::Entry& e : w.entries) {
    log.terms_.append(e.index, e.term);
    log.cache_.append(e);
  }
  if (w.hard_state) log.hard_state_ = *w.hard_state;
  KV_ASSERT(log.cache_.end() == log.terms_.last_index() + 1);
}

void GroupLogAccess::after_create_snapshot(GroupLog& log, raft::Snapshot snapshot) {
  std::lock_guard lock(log.mu_);
  KV_ASSERT(snapshot.meta.index <= log.terms_.last_index());
  log.conf_ = snapshot.meta.conf;
  log.snapshot_ = std::move(snapshot);
}

void GroupLogAccess::before_compact(GroupLog& log, raft::LogIndex index) {
  std::lock_guard lock(log.mu_);
  log.terms_.compact_to(index);
  log.cache_.drop_before(index + 1);
  KV_ASSERT(log.cache_.end() == log.terms_.last_index() + 1);
}

void GroupLogAccess::after_conf_applied(GroupLog& log, const raft::ConfState& conf) {
  std::lock_guard lock(log.mu_);
  log.conf_ = conf;
}

}  // namespace detail
}  // namespace kv::storage
