// Configuration of a node's store. Checked by validate() before anything touches the disk.
#pragma once

#include <cstdint>
#include <string>

#include "consensus/types.h"

namespace kv::storage {

struct StoreOptions {
  // The node's data directory. Required. The store owns it: db/ and snapshots/ live inside.
  std::string path;

  // The cluster this node belongs to. Required, 1..255 bytes. Written on bootstrap; a
  // directory written for another cluster id is refused.
  std::string cluster_id;

  // This node's id. Required, not kNoNode. Written on bootstrap; a directory written for
  // another node id is refused.
  raft::NodeId node_id = raft::kNoNode;

  // When the directory is missing or empty, bootstrap a new store there. When false, such a
  // directory is an error (kNotFound): use it for restarts that must find existing state.
  // Default: true.
  bool create_if_missing = true;

  // Per group, the newest log entries kept in memory (data bytes plus ~32 bytes per entry),
  // so that replication to up-to-date followers never reads RocksDB. Default: 4 MiB.
  std::uint64_t log_cache_bytes_per_group = 4u << 20;

  // RocksDB block cache shared by all column families. Default: 64 MiB.
  std::uint64_t block_cache_bytes = 64u << 20;

  // RocksDB memtable size of the raft_log and data column families (the others use 1/8 of
  // it). Default: 64 MiB. Minimum: 1 MiB.
  std::uint64_t write_buffer_bytes = 64u << 20;

  // TEST ONLY: persist() writes a received snapshot's log reset and install record but does
  // not install the image, as if the process died right after the synced write. The next
  // open() must finish the install. Default: false.
  bool testing_skip_install_after_persist = false;

  // Returns an empty string when valid, otherwise what is wrong.
  std::string validate() const;
};

}  // namespace kv::storage
