// Corrupt records are refused: at open (a flipped byte anywhere in a log, hard state or
// meta record; a gap in a log; a record copied under another key) with a Status naming the
// group and index, and while serving (a bad block under the tail cache) with an abort that
// names them too.
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdio>

#include "storage/debug_tools.h"
#include "storage/format.h"
#include "test_util.h"

namespace kv::storage {
namespace {

using testing::entry;
using testing::open_ok;
using testing::options_for;
using testing::require_ok;
using testing::TempDir;

constexpr GroupId kGroup = 5;

// A closed store with group 5 holding entries 1..n of 1 KiB each, and a hard state.
StoreOptions make_store(const TempDir& dir, raft::LogIndex n) {
  StoreOptions o = options_for(dir.path());
  auto store = open_ok(o);
  REQUIRE(store->create_group(kGroup, raft::ConfState{{1}, {}, {}}).ok());
  std::vector<raft::Entry> ents;
  for (raft::LogIndex i = 1; i <= n; ++i) {
    ents.push_back(entry(i, 1, "MARK-" + std::to_string(100000 + i) + std::string(1000, 'x')));
  }
  const GroupWrite w{kGroup, nullptr, nullptr, ents, raft::HardState{1, 1, n}};
  require_ok(store->persist(std::span(&w, 1)));
  return o;
}

Status open_status(const StoreOptions& o) {
  auto store = NodeStore::open(o);
  return store.ok() ? Status() : store.status();
}

void flip_byte(const StoreOptions& o, const std::string& cf, const std::string& key, std::size_t offset) {
  std::string value;
  require_ok(debug::raw_get(o.path, cf, key, &value));
  REQUIRE(offset < value.size());
  value[offset] = static_cast<char>(value[offset] ^ 0x20);
  require_ok(debug::raw_put(o.path, cf, key, value));
}

void require_corruption(const StoreOptions& o, const std::string& fragment) {
  Status s = open_status(o);
  INFO(s.to_string());
  REQUIRE(s.code() == Status::Code::kCorruption);
  REQUIRE_THAT(s.message(), Catch::Contains(fragment));
}

TEST_CASE("a flipped byte in a log entry refuses the open, naming group and index", "[storage][corruption]") {
  TempDir dir;
  const StoreOptions o = make_store(dir, 50);
  open_ok(o);  // clean so far
  SECTION("in the data of the last entry") {
    flip_byte(o, "raft_log", format::log_key(kGroup, 50), format::kEntryHeaderBytes + 3);
    require_corruption(o, "group 5 index 50: checksum mismatch");
  }
  SECTION("in the term of an entry in the middle") {
    flip_byte(o, "raft_log", format::log_key(kGroup, 17), 7);
    require_corruption(o, "group 5 index 17: checksum mismatch");
  }
  SECTION("in the hard state") {
    flip_byte(o, "raft_state", format::state_key(kGroup, format::kHardStateTag), 9);
    require_corruption(o, "raft_state record 'H' of group 5: checksum mismatch");
  }
  SECTION("in the cluster id") {
    flip_byte(o, "meta", std::string(format::kClusterIdKey), 6);
    require_corruption(o, "checksum mismatch");
  }
}

TEST_CASE("a record under the wrong key (a misdirected write) fails its checksum", "[storage][corruption]") {
  TempDir dir;
  const StoreOptions o = make_store(dir, 20);
  std::string value;
  require_ok(debug::raw_get(o.path, "raft_log", format::log_key(kGroup, 12), &value));
  require_ok(debug::raw_put(o.path, "raft_log", format::log_key(kGroup, 13), value));
  require_corruption(o, "group 5 index 13: checksum mismatch");
}

TEST_CASE("a gap in a log refuses the open", "[storage][corruption]") {
  TempDir dir;
  const StoreOptions o = make_store(dir, 30);
  require_ok(debug::raw_delete(o.path, "raft_log", format::log_key(kGroup, 21)));
  require_corruption(o, "group 5 has a gap: expected index 21, found 22");
}

TEST_CASE("log entries of a group without raft state refuse the open", "[storage][corruption]") {
  TempDir dir;
  const StoreOptions o = make_store(dir, 3);
  require_ok(debug::raw_put(o.path, "raft_log", format::log_key(99, 1), format::encode_entry(99, entry(1, 1, "x"))));
  require_corruption(o, "entries of group 99, which has no raft state");
}

// Flips a byte of `marker` in every SST file of the node's RocksDB.
int corrupt_sst_files(const std::string& node_path, const std::string& marker) {
  int hits = 0;
  for (const auto& f : std::filesystem::directory_iterator(node_path + "/db")) {
    if (f.path().extension() != ".sst") continue;
    std::FILE* file = std::fopen(f.path().c_str(), "r+b");
    if (file == nullptr) continue;
    std::string bytes(std::filesystem::file_size(f.path()), '\0');
    const bool read = std::fread(bytes.data(), 1, bytes.size(), file) == bytes.size();
    const auto at = bytes.find(marker);
    if (read && at != std::string::npos && std::fseek(file, static_cast<long>(at + marker.size() - 1), SEEK_SET) == 0) {
      std::fputc('!', file);
      ++hits;
    }
    std::fclose(file);
  }
  return hits;
}

TEST_CASE("a corrupt log block found while serving entries() aborts naming group and index", "[storage][corruption]") {
  TempDir dir;
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  // All RocksDB work happens in the child, so no RocksDB thread exists across the fork.
  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::dup2(pipe_fds[1], STDERR_FILENO);
    std::signal(SIGABRT, SIG_DFL);  // not Catch2's handler: the abort is the expected outcome
    try {
      const StoreOptions o = make_store(dir, 400);  // 400 KiB: far beyond the 64 KiB tail cache
      open_ok(o);  // its recovery flushes the WAL into an SST file
      auto store = NodeStore::open(o);  // opens cleanly; then the disk rots under it
      if (!store.ok() || corrupt_sst_files(o.path, "MARK-100010") == 0) ::_exit(3);
      const auto ents = store.value()->group(kGroup)->entries(1, 20, UINT64_MAX);
      ::_exit(ents.size() == 19 ? 0 : 4);  // not reached when the corruption is caught
    } catch (...) {
      ::_exit(5);
    }
  }
  ::close(pipe_fds[1]);
  std::string err;
  char buf[4096];
  for (ssize_t n; (n = ::read(pipe_fds[0], buf, sizeof buf)) > 0;) err.append(buf, static_cast<std::size_t>(n));
  ::close(pipe_fds[0]);
  int status = 0;
  REQUIRE(::waitpid(pid, &status, 0) == pid);
  INFO("child stderr: " << err);
  REQUIRE(WIFSIGNALED(status));
  CHECK(WTERMSIG(status) == SIGABRT);
  CHECK_THAT(err, Catch::Contains("raft log of group 5 at index"));
  CHECK_THAT(err, Catch::Contains("refusing to serve"));
}

}  // namespace
}  // namespace kv::storage
