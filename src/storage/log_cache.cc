#include "storage/log_cache.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "common/assert.h"

namespace kv::storage {

// ---- TermIndex ----

void TermIndex::reset(raft::LogIndex index, raft::Term term) {
  dummy_index_ = index;
  dummy_term_ = term;
  last_index_ = index;
  runs_.clear();
}

raft::Term TermIndex::term(raft::LogIndex index) const {
  KV_ASSERT_MSG(index >= dummy_index_, "term(): index below first_index() - 1 (a compact() racing the core?)");
  KV_ASSERT_MSG(index <= last_index_, "term(): index beyond last_index()");
  if (index == dummy_index_) return dummy_term_;
  // The last run starting at or before `index`.
  auto it = std::upper_bound(runs_.begin(), runs_.end(), index,
                             [](raft::LogIndex i, const Run& run) { return i < run.first; });
  KV_ASSERT(it != runs_.begin());
  return std::prev(it)->term;
}

void TermIndex::append(raft::LogIndex index, raft::Term term) {
  KV_ASSERT_MSG(index == last_index_ + 1, "log append must be contiguous");
  KV_ASSERT_MSG(term >= last_term(), "log terms must not decrease");
  if (runs_.empty() || runs_.back().term != term) runs_.push_back(Run{index, term});
  last_index_ = index;
}

void TermIndex::truncate_from(raft::LogIndex index) {
  KV_ASSERT(index > dummy_index_);
  KV_ASSERT(index <= last_index_ + 1);
  while (!runs_.empty() && runs_.back().first >= index) runs_.pop_back();
  last_index_ = index - 1;
}

void TermIndex::compact_to(raft::LogIndex index) {
  KV_ASSERT(index >= dummy_index_);
  KV_ASSERT(index <= last_index_);
  const raft::Term new_dummy_term = term(index);
  // Runs that end at or before `index` go; the run holding index + 1 starts there.
  auto keep = std::upper_bound(runs_.begin(), runs_.end(), index + 1,
                               [](raft::LogIndex i, const Run& run) { return i < run.first; });
  if (keep != runs_.begin() && index < last_index_) {
    --keep;
    keep->first = index + 1;
  }
  runs_.erase(runs_.begin(), keep);
  dummy_index_ = index;
  dummy_term_ = new_dummy_term;
  KV_ASSERT(runs_.empty() == (last_index_ == dummy_index_));
}

// ---- EntryCache ----

EntryCache::EntryCache(std::uint64_t budget_bytes) : budget_bytes_(budget_bytes) {}

void EntryCache::reset(raft::LogIndex next) {
  metas_.clear();
  bytes_ = 0;
  first_ = next;
  // Keep one standard block for reuse; drop the rest.
  while (blocks_.size() > 1 || (!blocks_.empty() && blocks_.front().capacity != kBlockBytes)) blocks_.pop_front();
  if (!blocks_.empty()) {
    blocks_.front().used = 0;
    blocks_.front().first_index = next;
  }
}

const char* EntryCache::store(raft::LogIndex index, std::string_view data) {
  const std::size_t size = data.size();
  if (size == 0) return nullptr;
  if (blocks_.empty() || blocks_.back().capacity - blocks_.back().used < size) {
    Block block;
    block.capacity = std::max(kBlockBytes, size);
    block.buf = std::make_unique_for_overwrite<char[]>(block.capacity);
    block.first_index = index;
    blocks_.push_back(std::move(block));
  }
  Block& block = blocks_.back();
  char* dst = block.buf.get() + block.used;
  std::memcpy(dst, data.data(), size);
  block.used += size;
  return dst;
}

void EntryCache::append(raft::LogIndex index, raft::Term term, raft::EntryType type, std::string_view data) {
  KV_ASSERT(index == end());
  KV_ASSERT(data.size() <= std::numeric_limits<std::uint32_t>::max());
  const std::uint64_t cost = data.size() + kMetaOverheadBytes;
  if (cost > budget_bytes_) {  // too big to cache at all
    reset(index + 1);
    return;
  }
  const char* stored = store(index, data);
  metas_.push_back(Meta{stored, static_cast<std::uint32_t>(data.size()), type, term});
  bytes_ += cost;
  while (bytes_ > budget_bytes_) evict_front();
  KV_ASSERT(!metas_.empty());
}

void EntryCache::evict_front() {
  KV_ASSERT(!metas_.empty());
  bytes_ -= metas_.front().size + kMetaOverheadBytes;
  metas_.pop_front();
  ++first_;
  // A block whose successor starts at or below first_ holds only evicted entries.
  while (blocks_.size() >= 2 && blocks_[1].first_index <= first_) blocks_.pop_front();
}

void EntryCache::truncate_from(raft::LogIndex index) {
  KV_ASSERT(index <= end());
  if (index <= first_) {
    reset(index);
    return;
  }
  while (end() > index) {
    bytes_ -= metas_.back().size + kMetaOverheadBytes;
    metas_.pop_back();
  }
  // Blocks that start at or after `index` hold only dropped entries. The slack left in the
  // new last block is not reused: truncation is rare and the budget counts entries, not slack.
  while (blocks_.size() > 1 && blocks_.back().first_index >= index) blocks_.pop_back();
  // A sole surviving block may have started at or after `index` (the entries before it had
  // no data); it now receives entries from `index` on.
  if (!blocks_.empty()) blocks_.back().first_index = std::min(blocks_.back().first_index, index);
  KV_ASSERT(end() == index);
}

void EntryCache::drop_before(raft::LogIndex index) {
  KV_ASSERT(index <= end());
  while (first_ < index) evict_front();
}

const EntryCache::Meta& EntryCache::meta(raft::LogIndex index) const {
  KV_ASSERT(index >= first_);
  KV_ASSERT(index < end());
  return metas_[index - first_];
}

std::uint64_t EntryCache::data_size(raft::LogIndex index) const { return meta(index).size; }

void EntryCache::copy_to(raft::LogIndex index, raft::Entry* out) const {
  const Meta& m = meta(index);
  out->index = index;
  out->term = m.term;
  out->type = m.type;
  out->data.assign(m.data == nullptr ? "" : m.data, m.size);
}

}  // namespace kv::storage
