// In-memory views of one group's log tail, so the hot path of the Raft core (term(),
// last_index(), entries() of recent indexes) never reads RocksDB. Internal to src/storage.
// Neither class is thread-safe; GroupLog guards them with its mutex.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string_view>
#include <vector>

#include "consensus/types.h"

namespace kv::storage {

// The term of every entry of a log (dummy, last], kept as runs of equal terms. Raft log terms
// never decrease along the log, so a log of millions of entries holds a handful of runs and
// term(i) is a binary search over them.
class TermIndex {
 public:
  // An empty log whose dummy (compaction point) is (index, term).
  void reset(raft::LogIndex index, raft::Term term);

  raft::LogIndex dummy_index() const { return dummy_index_; }
  raft::Term dummy_term() const { return dummy_term_; }
  raft::LogIndex last_index() const { return last_index_; }
  raft::Term last_term() const { return runs_.empty() ? dummy_term_ : runs_.back().term; }

  // REQUIRES: dummy_index() <= index <= last_index().
  raft::Term term(raft::LogIndex index) const;

  // Appends the entry at last_index() + 1. REQUIRES: term >= last_term().
  void append(raft::LogIndex index, raft::Term term);
  // Drops the entries at `index` and above. REQUIRES: dummy_index() < index <= last_index() + 1.
  void truncate_from(raft::LogIndex index);
  // Makes `index` the new dummy. REQUIRES: dummy_index() <= index <= last_index().
  void compact_to(raft::LogIndex index);

  std::size_t run_count() const { return runs_.size(); }

 private:
  struct Run {
    raft::LogIndex first = 0;  // the run covers [first, next run's first)
    raft::Term term = 0;
  };
  raft::LogIndex dummy_index_ = 0;
  raft::Term dummy_term_ = 0;
  raft::LogIndex last_index_ = 0;
  std::vector<Run> runs_;
};

// The newest entries of a log, [first(), end()), within a byte budget. Entry data lives in
// large arena blocks, so caching an entry costs a memcpy and no allocation of its own.
class EntryCache {
 public:
  explicit EntryCache(std::uint64_t budget_bytes);
  EntryCache(const EntryCache&) = delete;
  EntryCache& operator=(const EntryCache&) = delete;

  raft::LogIndex first() const { return first_; }
  raft::LogIndex end() const { return first_ + metas_.size(); }
  bool empty() const { return metas_.empty(); }
  std::uint64_t bytes() const { return bytes_; }
  std::size_t block_count() const { return blocks_.size(); }

  // Empties the cache; the next append must be at `next`.
  void reset(raft::LogIndex next);
  // Caches an entry, evicting the oldest entries beyond the budget (possibly this one).
  // REQUIRES: index == end().
  void append(raft::LogIndex index, raft::Term term, raft::EntryType type, std::string_view data);
  void append(const raft::Entry& e) { append(e.index, e.term, e.type, e.data); }
  // Drops entries at `index` and above. REQUIRES: index <= end(); an index below first()
  // empties the cache, which then continues at `index`.
  void truncate_from(raft::LogIndex index);
  // Drops entries below `index` (log compaction).
  void drop_before(raft::LogIndex index);

  // REQUIRES: first() <= index < end().
  std::uint64_t data_size(raft::LogIndex index) const;
  void copy_to(raft::LogIndex index, raft::Entry* out) const;

 private:
  struct Meta {
    const char* data;
    std::uint32_t size;
    raft::EntryType type;
    raft::Term term;
  };
  struct Block {
    std::unique_ptr<char[]> buf;
    std::size_t capacity = 0;
    std::size_t used = 0;
    raft::LogIndex first_index = 0;  // the first entry stored in this block
  };
  static constexpr std::size_t kBlockBytes = 256 * 1024;
  static constexpr std::uint64_t kMetaOverheadBytes = sizeof(Meta);

  const char* store(raft::LogIndex index, std::string_view data);
  void evict_front();
  const Meta& meta(raft::LogIndex index) const;

  const std::uint64_t budget_bytes_;
  raft::LogIndex first_ = 1;
  std::deque<Meta> metas_;
  std::deque<Block> blocks_;
  std::uint64_t bytes_ = 0;  // data + kMetaOverheadBytes per entry
};

}  // namespace kv::storage
