// Helpers shared by the storage tests: unique temporary directories and store options.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "storage/node_store.h"

namespace kv::storage::testing {

// A fresh directory under /dev/shm (tmpfs: sync=true keeps its code path but costs ~nothing),
// removed with everything in it on destruction. `/tmp` when /dev/shm is missing.
class TempDir {
 public:
  TempDir() {
    std::string base = std::filesystem::exists("/dev/shm") ? "/dev/shm" : "/tmp";
    std::string tmpl = base + "/kv-storage-test-XXXXXX";
    char* made = ::mkdtemp(tmpl.data());
    REQUIRE(made != nullptr);
    path_ = made;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  // A not-yet-existing directory inside this one.
  std::string sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline StoreOptions options_for(const std::string& path, std::string cluster = "test-cluster", raft::NodeId node = 1) {
  StoreOptions o;
  o.path = path;
  o.cluster_id = std::move(cluster);
  o.node_id = node;
  o.log_cache_bytes_per_group = 64 * 1024;  // small, so tests cross the cache boundary
  o.write_buffer_bytes = 4u << 20;
  o.block_cache_bytes = 8u << 20;
  return o;
}

inline std::unique_ptr<NodeStore> open_ok(const StoreOptions& o) {
  auto store = NodeStore::open(o);
  INFO(store.status().to_string());
  REQUIRE(store.ok());
  return std::move(store.value());
}

inline void require_ok(const Status& s) {
  INFO(s.to_string());
  REQUIRE(s.ok());
}

inline raft::Entry entry(raft::LogIndex index, raft::Term term, std::string data = {}) {
  return raft::Entry{term, index, raft::EntryType::kNormal, std::move(data)};
}

}  // namespace kv::storage::testing
