// Users of kv_storage (the server, the tests) must not pay RocksDB's include cost: no public
// header may pull in a RocksDB header. Every RocksDB header defines ROCKSDB_NAMESPACE (via
// rocksdb/rocksdb_namespace.h), so this TU, which includes every public header, checks it.
#include "storage/crc32c.h"
#include "storage/data_store.h"
#include "storage/debug_tools.h"
#include "storage/group_log.h"
#include "storage/node_store.h"
#include "storage/options.h"
#include "storage/snapshot.h"
#include "storage/status.h"
#include "storage/types.h"

#ifdef ROCKSDB_NAMESPACE
#error "a public header of kv_storage includes a RocksDB header"
#endif

#include <catch2/catch.hpp>

TEST_CASE("the public storage headers compile without RocksDB", "[storage]") {
  kv::storage::StoreOptions options;
  CHECK_FALSE(options.validate().empty());  // path, cluster id and node id are required
}
