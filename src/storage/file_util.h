// Small durable-file helpers on POSIX (open/write/fsync/rename). Internal to src/storage.
#pragma once

#include <string>
#include <vector>

#include "storage/status.h"

namespace kv::storage::files {

// fsyncs a directory, making the creation, rename or removal of its entries durable.
Status sync_dir(const std::string& dir);
// Writes `contents` to `path` (replacing it) and fsyncs the file.
Status write_synced(const std::string& path, const std::string& contents);
Status read_all(const std::string& path, std::string* contents);
// Creates `dir` (and missing parents) if needed.
Status make_dirs(const std::string& dir);
// Removes `path` and, if a directory, everything below it. Absent is fine.
Status remove_all(const std::string& path);
bool exists(const std::string& path);
// Names of the entries of `dir`. kNotFound when `dir` does not exist.
Status list_dir(const std::string& dir, std::vector<std::string>* names);

}  // namespace kv::storage::files
