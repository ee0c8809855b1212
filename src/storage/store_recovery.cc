// Loading the groups at open(): every raft_state record and every log entry is read and
// verified once, so a corrupt or inconsistent log is refused before the node serves.
#include <map>
#include <set>

#include "storage/coding.h"
#include "storage/detail/store_open.h"

namespace kv::storage::detail {
namespace {

struct GroupState {
  LoadedGroup loaded;
  bool has_truncated = false;
};

std::string group_name(GroupId group) { return "group " + std::to_string(group); }

Status read_state_record(char tag, std::string_view key, std::string_view value, GroupState& g) {
  std::string_view body;
  KV_RETURN_IF_ERROR(format::unseal(key, value, &body));
  switch (tag) {
    case format::kHardStateTag: return format::parse_hard_state(body, &g.loaded.hard_state);
    case format::kConfTag: return format::parse_conf(body, &g.loaded.conf);
    case format::kSnapshotTag: return format::parse_snapshot(body, &g.loaded.snapshot);
    case format::kTruncatedTag:
      g.has_truncated = true;
      return format::parse_position(body, &g.loaded.truncated);
    default: return Status::corruption(std::string("unknown record tag '") + tag + "'");
  }
}

Status read_states(const Db& db, std::map<GroupId, GroupState>* groups) {
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.raft_state));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    GroupId group = 0;
    char tag = 0;
    if (!format::parse_state_key(view(it->key()), &group, &tag)) return Status::corruption("malformed raft_state key");
    Status s = read_state_record(tag, view(it->key()), view(it->value()), (*groups)[group]);
    if (!s.ok()) return s.with_context("raft_state record '" + std::string(1, tag) + "' of " + group_name(group));
  }
  KV_RETURN_IF_ERROR(from_rocks(it->status(), "read raft_state"));
  for (const auto& [group, g] : *groups) {
    if (!g.has_truncated) return Status::corruption(group_name(group) + " has raft state but no log position record");
    if (g.loaded.truncated.index > g.loaded.snapshot.meta.index) {
      return Status::corruption(group_name(group) + ": log compacted to " + std::to_string(g.loaded.truncated.index) +
                                ", beyond its snapshot at " + std::to_string(g.loaded.snapshot.meta.index));
    }
  }
  return Status();
}

// Walks the whole raft_log column family in key order, i.e. group by group, index by index.
class LogWalker {
 public:
  LogWalker(const Registry& registry, const std::map<GroupId, GroupState>& groups) : registry_(registry), groups_(groups) {}

  Status visit(std::string_view key, std::string_view value) {
    GroupId group = 0;
    raft::LogIndex index = 0;
    if (!format::parse_log_key(key, &group, &index)) return Status::corruption("malformed raft_log key");
    if (log_ == nullptr || group != group_) KV_RETURN_IF_ERROR(start_group(group));
    auto where = [&] { return group_name(group) + " index " + std::to_string(index); };
    if (index != next_) {
      if (index < next_) return Status::corruption("raft log of " + where() + ": entry at or below the compaction point");
      return Status::corruption("raft log of " + group_name(group) + " has a gap: expected index " +
                                std::to_string(next_) + ", found " + std::to_string(index));
    }
    raft::Term term = 0;
    if (Status s = format::check_entry(key, value, &term); !s.ok()) return s.with_context("raft log record of " + where());
    if (term < last_term_) {
      return Status::corruption("raft log of " + where() + ": term " + std::to_string(term) + " below the previous term " +
                                std::to_string(last_term_));
    }
    const auto type = static_cast<raft::EntryType>(value[format::kSealBytes]);
    GroupLogAccess::load_entry(*log_, index, term, type, value.substr(format::kEntryHeaderBytes));
    ++next_;
    last_term_ = term;
    return Status();
  }

 private:
  Status start_group(GroupId group) {
    auto it = groups_.find(group);
    if (it == groups_.end()) return Status::corruption("raft log holds entries of " + group_name(group) + ", which has no raft state");
    log_ = registry_.groups.at(group).get();
    group_ = group;
    next_ = it->second.loaded.truncated.index + 1;
    last_term_ = it->second.loaded.truncated.term;
    return Status();
  }

  const Registry& registry_;
  const std::map<GroupId, GroupState>& groups_;
  GroupLog* log_ = nullptr;
  GroupId group_ = 0;
  raft::LogIndex next_ = 0;
  raft::Term last_term_ = 0;
};

}  // namespace

Status load_groups(const Db& db, const StoreOptions& options, Registry& registry) {
  std::map<GroupId, GroupState> groups;
  KV_RETURN_IF_ERROR(read_states(db, &groups));
  for (const auto& [group, g] : groups) {
    auto log = GroupLogAccess::make(group, db, options.log_cache_bytes_per_group);
    GroupLogAccess::load(*log, g.loaded);
    registry.groups.emplace(group, std::move(log));
  }
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.readahead_size = 2u << 20;
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(ro, db.raft_log));
  LogWalker walker(registry, groups);
  for (it->SeekToFirst(); it->Valid(); it->Next()) KV_RETURN_IF_ERROR(walker.visit(view(it->key()), view(it->value())));
  return from_rocks(it->status(), "read raft_log");
}

Status load_applied(const Db& db, DataStore& data) {
  std::unique_ptr<rocksdb::Iterator> it(db.db->NewIterator(rocksdb::ReadOptions(), db.meta));
  const std::string prefix(1, format::kAppliedPrefix);
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    GroupId group = 0;
    std::string_view body;
    raft::LogIndex applied = 0;
    if (!format::parse_group_key(view(it->key()), format::kAppliedPrefix, &group) || it->key().size() != 9) {
      return Status::corruption("malformed applied-index key in meta");
    }
    Status s = format::unseal(view(it->key()), view(it->value()), &body);
    if (s.ok()) s = format::parse_u64(body, &applied);
    if (!s.ok()) return s.with_context("applied index of " + group_name(group));
    DataStoreAccess::set_applied(data, group, applied);
  }
  return from_rocks(it->status(), "read applied indexes");
}

}  // namespace kv::storage::detail
