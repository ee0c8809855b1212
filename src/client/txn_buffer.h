// The client-side state of one transaction, without I/O: what it read (each key's version,
// each range's exact keys and versions) and what it will write. Transaction (transaction.h)
// does the network part; this decides what a read may answer locally and what the commit
// request says, so it is tested on its own.
//
// Rules:
//   - Reads see the transaction's own writes: a written key is answered from the buffer (and
//     not read from the server, so it adds no read to the footprint); a range read is merged
//     with the buffered writes inside the part of the range the server's answer covers.
//   - A key read once is answered from the first read afterwards (repeatable reads), so the
//     footprint holds one version per key.
//   - Every server answer is recorded exactly as the server gave it (what commit validates),
//     even where the transaction's writes hide it.
//
// Thread-safety: none.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "net/client_protocol.h"

namespace kv::client::detail {

class TxnBuffer {
 public:
  // The answer to a point read that needs no server: from a buffered write (version 0: not
  // known before commit) or an earlier point read. nullopt: ask the server.
  std::optional<net::GetResponse> local_get(const std::string& key) const;
  // The server's answer to a point read of `key` (recorded with version 0 when absent).
  void record_get(const std::string& key, const net::GetResponse& answer);
  // The server said [start, end) held exactly `kvs` (end == "\0": every key >= start).
  // REQUIRES: kvs ascending, within the range.
  void record_range(const std::string& start, const std::string& end, const std::vector<net::KeyValue>& kvs);

  // The transaction's view of [start, end): `server` (the server's kvs there, ascending)
  // with the buffered writes in [start, end) applied; written keys get version 0, and no
  // value when `keys_only`.
  std::vector<net::KeyValue> overlay(const std::string& start, const std::string& end, std::vector<net::KeyValue> server,
                                     bool keys_only) const;

  void put(std::string key, std::string value);
  void del(std::string key);
  // The buffered state of `key`: nullopt = not written; a nullopt value inside = deleted.
  std::optional<std::optional<std::string>> written(const std::string& key) const;

  // What commit sends: point reads and writes in key order, ranges in the order read.
  net::TxnFootprint footprint() const;
  bool has_writes() const { return !writes_.empty(); }
  bool empty() const { return reads_.empty() && ranges_.empty() && writes_.empty(); }
  // A key the commit request is best routed by (its shard is likely a participant): the
  // first write's, else the first read's; empty if none.
  std::string route_key() const;

 private:
  std::map<std::string, net::GetResponse> reads_;
  std::vector<net::TxnRangeRead> ranges_;
  std::map<std::string, std::optional<std::string>> writes_;  // nullopt = delete
};

// Whether `key` is in [start, end) (end == "\0": no upper bound).
bool in_range(const std::string& key, const std::string& start, const std::string& end);

}  // namespace kv::client::detail
