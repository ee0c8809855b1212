#include "consensus/memory_storage.h"

#include "common/assert.h"

namespace kv::raft {

MemoryStorage::MemoryStorage(ConfState conf) {
  snapshot_.meta.conf = std::move(conf);
  entries_.push_back(Entry{});  // the dummy at index 0, term 0
}

LogStorage::InitialState MemoryStorage::initial_state() const { return {hard_state_, snapshot_.meta.conf}; }

LogIndex MemoryStorage::first_index() const { return entries_.front().index + 1; }

LogIndex MemoryStorage::last_index() const { return entries_.front().index + entries_.size() - 1; }

Term MemoryStorage::term(LogIndex i) const {
  const LogIndex offset = entries_.front().index;
  KV_ASSERT_MSG(i >= offset && i <= last_index(), "term() outside the stored log");
  return entries_[i - offset].term;
}

std::vector<Entry> MemoryStorage::entries(LogIndex lo, LogIndex hi, std::uint64_t max_bytes) const {
  KV_ASSERT_MSG(lo >= first_index() && lo < hi && hi <= last_index() + 1, "entries() outside the stored log");
  const LogIndex offset = entries_.front().index;
  std::vector<Entry> out;
  std::uint64_t bytes = 0;
  for (LogIndex i = lo; i < hi; ++i) {
    const Entry& e = entries_[i - offset];
    if (!out.empty() && bytes + e.data.size() > max_bytes) break;
    bytes += e.data.size();
    out.push_back(e);
  }
  return out;
}

std::optional<Snapshot> MemoryStorage::snapshot() const { return snapshot_; }

void MemoryStorage::set_hard_state(const HardState& hs) { hard_state_ = hs; }

void MemoryStorage::append(const std::vector<Entry>& ents) {
  if (ents.empty()) return;
  const LogIndex offset = entries_.front().index;
  KV_ASSERT_MSG(ents.front().index > offset, "append below the snapshot");
  KV_ASSERT_MSG(ents.front().index <= last_index() + 1, "append leaves a gap in the log");
  entries_.resize(ents.front().index - offset);  // drop the suffix being replaced
  for (const Entry& e : ents) {
    KV_ASSERT_MSG(e.index == entries_.front().index + entries_.size(), "appended entries not contiguous");
    entries_.push_back(e);
  }
}

bool MemoryStorage::apply_snapshot(const Snapshot& snap) {
  if (snap.meta.index <= snapshot_.meta.index) return false;
  snapshot_ = snap;
  entries_.clear();
  entries_.push_back(Entry{snap.meta.term, snap.meta.index, EntryType::kNormal, {}});
  return true;
}

void MemoryStorage::create_snapshot(LogIndex index, const ConfState& conf, std::string data) {
  KV_ASSERT_MSG(index > snapshot_.meta.index, "snapshot not newer than the current one");
  KV_ASSERT_MSG(index <= last_index(), "snapshot beyond the end of the log");
  snapshot_.meta = SnapshotMeta{index, term(index), conf};
  snapshot_.data = std::move(data);
}

void MemoryStorage::compact(LogIndex index) {
  const LogIndex offset = entries_.front().index;
  if (index <= offset) return;
  KV_ASSERT_MSG(index <= snapshot_.meta.index, "compacting past the snapshot");
  const Entry dummy{entries_[index - offset].term, index, EntryType::kNormal, {}};
  entries_.erase(entries_.begin(), entries_.begin() + static_cast<std::ptrdiff_t>(index - offset + 1));
  entries_.push_front(dummy);
}

}  // namespace kv::raft
