// The prepared transactions of one shard and the locks they hold: phase one of two-phase
// commit (design.md, "Multi-key transactions"). Part of the shard's replicated state: the
// state machine changes it only while applying log entries, so every replica holds the same
// table at the same index (what it persists is in txn_state.h).
//
// A prepared transaction holds, until it is resolved:
// - a write lock (with its intent) on each key it writes,
// - a read lock on each key it read but does not write,
// - a range lock on each range it read (so nothing is inserted into it: no phantoms).
// Conflicts never wait: a prepare that meets another transaction's lock votes no, so no
// cycle of waiting transactions (a deadlock) can form. Plain operations, which have no
// transaction to abort, wait instead (the node retries them when the locks go).
//
// Compatibility: read/read and read/range share; everything else conflicts. A plain write
// waits for any lock on its key; a plain read waits only for a write lock (it must not see
// the old value of a key whose transaction may have committed already).
//
// Not thread-safe: the state machine guards it (state_machine.h).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "consensus/types.h"
#include "net/client_protocol.h"
#include "server/kv_reads.h"

namespace kv::server {

using TxnId = std::uint64_t;

struct PreparedTxn {
  TxnId id = 0;
  std::string primary;       // the key whose shard holds the transaction record
  net::TxnFootprint part;    // this shard's reads, ranges and writes
  raft::LogIndex prepared_at = 0;

  bool operator==(const PreparedTxn&) const = default;
};

// A range as the storage layer scans it: [start, end), end "" = no bound.
struct ScanRange {
  std::string start;
  std::string end;
};
// A protocol range as the storage layer scans it: `end` "" names `start` alone, "\0" means
// no upper bound (kv.capnp's convention for range, delete and TxnRangeRead).
ScanRange scan_range(const std::string& start, const std::string& end);
inline ScanRange scan_range_of(const net::TxnRangeRead& range) { return scan_range(range.start, range.end); }

class TxnTable {
 public:
  // Why `part` of transaction `self` cannot be prepared (or committed in one step), or
  // nullopt when it can: another transaction's lock on a key or range it touches, or a read
  // (version) or range read (keys and versions) that is no longer current in `reader`.
  std::optional<std::string> conflict(const net::TxnFootprint& part, TxnId self, KeyReader& reader) const;

  // REQUIRES: txn.id is not prepared here.
  void add(PreparedTxn txn);
  // Removes the transaction and its locks; nullopt when it is not prepared here.
  std::optional<PreparedTxn> remove(TxnId id);
  const PreparedTxn* find(TxnId id) const;

  // Plain operations (see the compatibility rules above).
  bool blocks_write(std::string_view key) const;
  bool blocks_read(std::string_view key) const;
  bool blocks_range_write(const ScanRange& range) const;
  bool blocks_range_read(const ScanRange& range) const;

  std::size_t size() const { return txns_.size(); }
  bool empty() const { return txns_.empty(); }
  const std::map<TxnId, PreparedTxn>& transactions() const { return txns_; }

 private:
  struct RangeLock {
    ScanRange range;
    TxnId txn = 0;
  };
  // Whether another transaction than `self` holds a lock of these kinds on the key.
  bool write_locked_by_other(std::string_view key, TxnId self) const;
  bool read_locked_by_other(std::string_view key, TxnId self) const;
  bool range_locked_by_other(std::string_view key, TxnId self) const;
  bool write_lock_in(const ScanRange& range, TxnId self) const;

  std::map<TxnId, PreparedTxn> txns_;
  std::map<std::string, TxnId, std::less<>> write_locks_;
  std::multimap<std::string, TxnId, std::less<>> read_locks_;
  std::vector<RangeLock> range_locks_;  // few: one per range read of a prepared transaction
};

}  // namespace kv::server
