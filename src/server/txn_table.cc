#include "server/txn_table.h"

#include <algorithm>

#include "common/assert.h"

namespace kv::server {

namespace {

constexpr TxnId kNoTxn = 0;

bool in_range(std::string_view key, const ScanRange& r) {
  return key >= r.start && (r.end.empty() || key < r.end);
}

bool overlaps(const ScanRange& a, const ScanRange& b) {
  const bool a_before_b = !a.end.empty() && a.end <= b.start;
  const bool b_before_a = !b.end.empty() && b.end <= a.start;
  return !a_before_b && !b_before_a;
}

std::string version_text(std::uint64_t version) {
  return version == 0 ? "absent" : "version " + std::to_string(version);
}

}  // namespace

ScanRange scan_range(const std::string& start, const std::string& end) {
  const std::optional<std::string> scan_end = storage_range_end(end);
  if (!scan_end) return {start, start + '\0'};
  return {start, *scan_end};
}

bool TxnTable::write_locked_by_other(std::string_view key, TxnId self) const {
  auto it = write_locks_.find(key);
  return it != write_locks_.end() && it->second != self;
}

bool TxnTable::read_locked_by_other(std::string_view key, TxnId self) const {
  auto [first, last] = read_locks_.equal_range(key);
  return std::any_of(first, last, [self](const auto& entry) { return entry.second != self; });
}

bool TxnTable::range_locked_by_other(std::string_view key, TxnId self) const {
  return std::any_of(range_locks_.begin(), range_locks_.end(),
                     [&](const RangeLock& l) { return l.txn != self && in_range(key, l.range); });
}

bool TxnTable::write_lock_in(const ScanRange& range, TxnId self) const {
  for (auto it = write_locks_.lower_bound(range.start); it != write_locks_.end() && in_range(it->first, range); ++it) {
    if (it->second != self) return true;
  }
  return false;
}

std::optional<std::string> TxnTable::conflict(const net::TxnFootprint& part, TxnId self, KeyReader& reader) const {
  for (const net::TxnWrite& w : part.writes) {
    if (write_locked_by_other(w.key, self) || read_locked_by_other(w.key, self) || range_locked_by_other(w.key, self)) {
      return "key '" + w.key + "' is locked by another transaction";
    }
  }
  for (const net::TxnRead& r : part.reads) {
    if (write_locked_by_other(r.key, self)) return "key '" + r.key + "' is being written by another transaction";
    const std::optional<storage::VersionedValue> current = reader.get(r.key);
    const std::uint64_t now = current ? current->version : 0;
    if (now != r.version) {
      return "key '" + r.key + "' changed since it was read (" + version_text(r.version) + ", now " +
             version_text(now) + ")";
    }
  }
  for (const net::TxnRangeRead& rr : part.ranges) {
    const ScanRange range = scan_range_of(rr);
    if (write_lock_in(range, self)) return "range from '" + rr.start + "' is being written by another transaction";
    // One more than were read: an inserted key shows as a longer result.
    const storage::ScanResult now = reader.scan(range.start, range.end, rr.keys.size() + 1);
    bool same = now.items.size() == rr.keys.size();
    for (std::size_t i = 0; same && i < rr.keys.size(); ++i) {
      same = now.items[i].key == rr.keys[i].key && now.items[i].version == rr.keys[i].version;
    }
    if (!same) return "range from '" + rr.start + "' changed since it was read";
  }
  return std::nullopt;
}

void TxnTable::add(PreparedTxn txn) {
  KV_ASSERT(txn.id != kNoTxn);
  const TxnId id = txn.id;
  for (const net::TxnWrite& w : txn.part.writes) {
    const bool inserted = write_locks_.emplace(w.key, id).second;
    KV_ASSERT_MSG(inserted, "a write lock granted twice: the conflict check was skipped");
  }
  for (const net::TxnRead& r : txn.part.reads) {
    if (!write_locks_.contains(r.key)) read_locks_.emplace(r.key, id);
  }
  for (const net::TxnRangeRead& rr : txn.part.ranges) range_locks_.push_back({scan_range_of(rr), id});
  const bool inserted = txns_.emplace(id, std::move(txn)).second;
  KV_ASSERT_MSG(inserted, "a transaction prepared twice on one shard");
}

std::optional<PreparedTxn> TxnTable::remove(TxnId id) {
  auto it = txns_.find(id);
  if (it == txns_.end()) return std::nullopt;
  PreparedTxn txn = std::move(it->second);
  txns_.erase(it);
  for (const net::TxnWrite& w : txn.part.writes) write_locks_.erase(w.key);
  for (const net::TxnRead& r : txn.part.reads) {
    auto [first, last] = read_locks_.equal_range(r.key);
    for (auto l = first; l != last;) l = l->second == id ? read_locks_.erase(l) : std::next(l);
  }
  std::erase_if(range_locks_, [id](const RangeLock& l) { return l.txn == id; });
  return txn;
}

const PreparedTxn* TxnTable::find(TxnId id) const {
  auto it = txns_.find(id);
  return it == txns_.end() ? nullptr : &it->second;
}

bool TxnTable::blocks_write(std::string_view key) const {
  return write_locked_by_other(key, kNoTxn) || read_locked_by_other(key, kNoTxn) || range_locked_by_other(key, kNoTxn);
}

bool TxnTable::blocks_read(std::string_view key) const { return write_locked_by_other(key, kNoTxn); }

bool TxnTable::blocks_range_write(const ScanRange& range) const {
  if (write_lock_in(range, kNoTxn)) return true;
  for (auto it = read_locks_.lower_bound(range.start); it != read_locks_.end() && in_range(it->first, range); ++it) {
    return true;
  }
  return std::any_of(range_locks_.begin(), range_locks_.end(), [&](const RangeLock& l) { return overlaps(l.range, range); });
}

bool TxnTable::blocks_range_read(const ScanRange& range) const { return write_lock_in(range, kNoTxn); }

}  // namespace kv::server
