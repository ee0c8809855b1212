// Opening a node's RocksDB (store_open.cc). Internal to src/storage.
#pragma once

#include <memory>

#include "storage/detail/db.h"
#include "storage/detail/internal.h"
#include "storage/options.h"
#include "storage/status.h"

namespace kv::storage::detail {

enum class Layout {
  kEmpty,     // missing or empty directory: bootstrap
  kExisting,  // has db/ with a CURRENT file: open and check
};

// Classifies options.path; refuses (kIncomplete) a directory with some but not all pieces.
// Removes the leftovers of an interrupted bootstrap.
Result<Layout> inspect_layout(const StoreOptions& options);
// Creates the store in db.bootstrap/ (all column families, node identity, synced) and
// renames it to db/, so a crash leaves either nothing or a complete store.
Status bootstrap(const StoreOptions& options);
// Opens db/ with paranoid checks; kIncomplete when a required column family is missing.
Result<std::unique_ptr<Db>> open_db(const StoreOptions& options);
// kWrongIdentity / kUnsupportedFormat / kIncomplete / kCorruption unless the identity
// records match `options` and the format version is one this build reads, which it returns
// in `format_version`.
Status check_identity(const Db& db, const StoreOptions& options, std::uint32_t* format_version);
// Brings a store of an older readable format to format::kFormatVersion (format.h "Version
// history"), durably; nothing when it is current. Called last in open(), once everything
// else has loaded, so a refused store is left as it was. Errors: kCorruption (the store does
// not hold what its version allows), kIOError.
Status maybe_upgrade_format(const Db& db, std::uint32_t format_version);

// store_recovery.cc: loads every group's raft state and log into `registry`, verifying the
// structure (a compaction point per group, no gaps, terms never decreasing) and the
// checksum of every record. kCorruption names the group and index at fault.
Status load_groups(const Db& db, const StoreOptions& options, Registry& registry);
// Loads the applied index of every group into `data`.
Status load_applied(const Db& db, DataStore& data);

}  // namespace kv::storage::detail
