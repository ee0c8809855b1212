// NodeStore: bootstrap, restart recovery, multi-group group commit, and the refusals of a
// directory that is not this node's complete store (design.md "Failure behaviour").
#include <fstream>
#include <map>

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

Status open_status(const StoreOptions& o) {
  auto store = NodeStore::open(o);
  return store.ok() ? Status() : store.status();
}

void require_refused(const StoreOptions& o, Status::Code code, const std::string& fragment) {
  Status s = open_status(o);
  INFO(s.to_string());
  REQUIRE(s.code() == code);
  REQUIRE_THAT(s.message(), Catch::Contains(fragment));
}

std::vector<raft::Entry> make_entries(raft::LogIndex from, raft::LogIndex to, raft::Term term) {
  std::vector<raft::Entry> out;
  for (raft::LogIndex i = from; i <= to; ++i) out.push_back(entry(i, term, "value-" + std::to_string(i)));
  return out;
}

TEST_CASE("a missing or empty directory bootstraps, and reopening finds the same identity", "[storage][open]") {
  TempDir dir;
  StoreOptions o = options_for(dir.sub("node"));
  {
    auto store = open_ok(o);
    CHECK(store->cluster_id() == "test-cluster");
    CHECK(store->node_id() == 1);
    CHECK(store->groups().empty());
  }
  auto store = open_ok(o);  // restart of a bootstrapped store
  CHECK(store->groups().empty());

  StoreOptions empty_dir = options_for(dir.path() + "/empty");
  std::filesystem::create_directories(empty_dir.path);
  open_ok(empty_dir);
}

TEST_CASE("open refuses a directory of another cluster or node", "[storage][open]") {
  TempDir dir;
  StoreOptions o = options_for(dir.path());
  open_ok(o);
  StoreOptions other_cluster = o;
  other_cluster.cluster_id = "another-cluster";
  require_refused(other_cluster, Status::Code::kWrongIdentity, "belongs to cluster 'test-cluster'");
  StoreOptions other_node = o;
  other_node.node_id = 2;
  require_refused(other_node, Status::Code::kWrongIdentity, "belongs to node 1, not node 2");
  open_ok(o);  // the refusals changed nothing
}

void set_format_version(const StoreOptions& o, std::uint32_t version) {
  std::string body(4, '\0');
  coding::put_le32(body.data(), version);
  require_ok(debug::raw_put(o.path, "meta", format::kFormatVersionKey, format::seal(format::kFormatVersionKey, body)));
}

std::uint32_t stored_format_version(const StoreOptions& o) {
  std::string sealed;
  require_ok(debug::raw_get(o.path, "meta", format::kFormatVersionKey, &sealed));
  std::string_view body;
  require_ok(format::unseal(format::kFormatVersionKey, sealed, &body));
  REQUIRE(body.size() == 4);
  return coding::get_le32(body.data());
}

TEST_CASE("open refuses an unknown on-disk format version", "[storage][open]") {
  TempDir dir;
  StoreOptions o = options_for(dir.path());
  open_ok(o);
  CHECK(stored_format_version(o) == format::kFormatVersion);
  set_format_version(o, format::kFormatVersion + 1);
  require_refused(o, Status::Code::kUnsupportedFormat, "format version " + std::to_string(format::kFormatVersion + 1));
  set_format_version(o, format::kOldestReadableFormatVersion - 1);
  require_refused(o, Status::Code::kUnsupportedFormat, "format version 0");
}

// Version 1 differs from 2 only in that its locks column family is always empty (format.h).
TEST_CASE("a format version 1 store opens and is upgraded to version 2", "[storage][open]") {
  static_assert(format::kFormatVersion == 2 && format::kOldestReadableFormatVersion == 1);
  TempDir dir;
  StoreOptions o = options_for(dir.path());
  {
    auto store = open_ok(o);
    REQUIRE(store->create_group(3, raft::ConfState{{1}, {}, {}}).ok());
    ApplyBatch b = store->data().new_batch(3);
    b.put("k", "v", 1);
    b.set_applied_index(1);
    require_ok(store->data().apply(b));
  }
  set_format_version(o, 1);
  {
    auto store = open_ok(o);
    CHECK(store->data().get("k")->value() == VersionedValue{"v", 1});
    CHECK(store->data().applied_index(3) == 1);
    std::size_t records = 0;
    require_ok(store->data().for_each_txn_state(3, [&](std::string_view, std::string_view) {
      ++records;
      return true;
    }));
    CHECK(records == 0);
  }
  CHECK(stored_format_version(o) == 2);  // so a build that knows only version 1 refuses it now
  open_ok(o);
}

TEST_CASE("a format version 1 store with records in the locks column family is refused", "[storage][open]") {
  TempDir dir;
  StoreOptions o = options_for(dir.path());
  open_ok(o);
  const std::string key = format::txn_state_key(3, "lock");
  require_ok(debug::raw_put(o.path, "locks", key, format::seal(key, "intent")));
  set_format_version(o, 1);
  require_refused(o, Status::Code::kCorruption, "format version 1 but records in the locks column family");
  CHECK(stored_format_version(o) == 1);  // refused: left as it was
}

TEST_CASE("open refuses a directory with some but not all pieces", "[storage][open]") {
  TempDir dir;
  StoreOptions o = options_for(dir.path());

  SECTION("unknown files and no db/") {
    std::ofstream(dir.sub("stray.txt")) << "hello";
    require_refused(o, Status::Code::kIncomplete, "not empty but has no db/");
  }
  SECTION("db/ without a CURRENT file") {
    open_ok(o);
    std::filesystem::remove(dir.sub("db/CURRENT"));
    require_refused(o, Status::Code::kIncomplete, "no CURRENT file");
  }
  SECTION("a missing column family") {
    open_ok(o);
    require_ok(debug::drop_column_family(o.path, "locks"));
    require_refused(o, Status::Code::kIncomplete, "column family 'locks'");
  }
  SECTION("a missing identity record") {
    open_ok(o);
    require_ok(debug::raw_delete(o.path, "meta", format::kNodeIdKey));
    require_refused(o, Status::Code::kIncomplete, "no complete node identity");
  }
  SECTION("no store and create_if_missing off") {
    o.create_if_missing = false;
    require_refused(o, Status::Code::kNotFound, "holds no store");
  }
  SECTION("a bootstrap interrupted before its rename leaves nothing") {
    std::filesystem::create_directories(dir.sub("db.bootstrap"));
    std::ofstream(dir.sub("db.bootstrap/MANIFEST-000001")) << "half-written";
    open_ok(o);
    CHECK_FALSE(std::filesystem::exists(dir.sub("db.bootstrap")));
  }
}

TEST_CASE("open rejects bad options before touching the disk", "[storage][open]") {
  TempDir dir;
  StoreOptions o = options_for(dir.sub("never"));
  o.node_id = raft::kNoNode;
  require_refused(o, Status::Code::kInvalidArgument, "node_id");
  o = options_for(dir.sub("never"), "");
  require_refused(o, Status::Code::kInvalidArgument, "cluster_id");
  CHECK_FALSE(std::filesystem::exists(dir.sub("never")));
}

TEST_CASE("one persist() makes entries and hard states of many groups durable together", "[storage][persist]") {
  TempDir dir;
  StoreOptions o = options_for(dir.path());
  std::map<GroupId, std::vector<raft::Entry>> logs;
  {
    auto store = open_ok(o);
    std::vector<GroupWrite> writes;
    for (GroupId g : {1, 2, 3, 4}) {
      REQUIRE(store->create_group(g, raft::ConfState{{1, 2, 3}, {}, {}}).ok());
      logs[g] = make_entries(1, 10 * g, g);
    }
    for (auto& [g, ents] : logs) writes.push_back(GroupWrite{g, nullptr, nullptr, ents, raft::HardState{g, 1, 5}});
    require_ok(store->persist(writes));
    CHECK(store->create_group(2, {}).status().code() == Status::Code::kInvalidArgument);
    for (auto& [g, ents] : logs) {
      const GroupLog& log = *store->group(g);
      CHECK(log.last_index() == 10 * g);
      CHECK(log.entries(1, log.last_index() + 1, UINT64_MAX) == ents);
      CHECK(log.hard_state() == raft::HardState{g, 1, 5});
    }
  }
  auto store = open_ok(o);
  CHECK(store->groups() == std::vector<GroupId>{1, 2, 3, 4});
  for (auto& [g, ents] : logs) {
    const GroupLog& log = *store->group(g);
    INFO("group " << g);
    CHECK(log.first_index() == 1);
    CHECK(log.last_index() == 10 * g);
    CHECK(log.term(0) == 0);
    CHECK(log.term(log.last_index()) == g);
    CHECK(log.entries(1, log.last_index() + 1, UINT64_MAX) == ents);
    CHECK(log.initial_state().hard_state == raft::HardState{g, 1, 5});
    CHECK(log.initial_state().conf == raft::ConfState{{1, 2, 3}, {}, {}});
  }
}

TEST_CASE("restart recovers logs, hard state, compaction, applied data and sessions", "[storage][restart]") {
  TempDir dir;
  StoreOptions o = options_for(dir.path());
  const GroupId g = 9;
  std::vector<raft::Entry> ents = make_entries(1, 300, 2);
  {
    auto store = open_ok(o);
    REQUIRE(store->create_group(g, raft::ConfState{{1}, {}, {}}).ok());
    const GroupWrite w{g, nullptr, nullptr, ents, raft::HardState{2, 1, 300}};
    require_ok(store->persist(std::span(&w, 1)));
    // A conflicting append replaces 251.. with entries of term 3.
    std::vector<raft::Entry> tail = make_entries(251, 260, 3);
    const GroupWrite w2{g, nullptr, nullptr, tail, raft::HardState{3, 1, 250}};
    require_ok(store->persist(std::span(&w2, 1)));
    ents.resize(250);
    ents.insert(ents.end(), tail.begin(), tail.end());

    ApplyBatch batch = store->data().new_batch(g);
    batch.put("alpha", "1", 100);
    batch.put("beta", "2", 200);
    batch.put_session(ClientSession{77, 5, 200, "cached-response"});
    batch.set_conf_state(raft::ConfState{{1, 2}, {}, {}});
    batch.set_applied_index(200);
    require_ok(store->data().apply(batch));
    require_ok(store->create_snapshot(g, 200, raft::ConfState{{1, 2}, {}, {}}, "meta-data"));
    require_ok(store->compact(g, 150));
  }
  auto store = open_ok(o);
  const GroupLog& log = *store->group(g);
  CHECK(log.first_index() == 151);
  CHECK(log.last_index() == 260);
  CHECK(log.term(150) == 2);
  CHECK(log.term(260) == 3);
  CHECK(log.entries(151, 261, UINT64_MAX) == std::vector<raft::Entry>(ents.begin() + 150, ents.end()));
  CHECK(log.snapshot()->meta == raft::SnapshotMeta{200, 2, raft::ConfState{{1, 2}, {}, {}}});
  CHECK(log.snapshot()->data == "meta-data");
  CHECK(log.initial_state().hard_state == raft::HardState{3, 1, 250});
  CHECK(log.initial_state().conf == raft::ConfState{{1, 2}, {}, {}});
  CHECK(store->data().applied_index(g) == 200);
  CHECK(store->data().get("alpha")->value() == VersionedValue{"1", 100});
  CHECK(store->data().get_session(g, 77)->value() == ClientSession{77, 5, 200, "cached-response"});
}

}  // namespace
}  // namespace kv::storage
