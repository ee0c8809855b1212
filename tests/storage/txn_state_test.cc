// Transaction state: opaque per-group records in the `locks` column family (format.h 'X'),
// written by ApplyBatch atomically with the data and the applied index, verified on every
// read, kept across restarts. Their travel in snapshots is tested in snapshot_test.cc.
#include <cstdint>
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

using Records = std::map<std::string, std::string>;  // bytewise order, as the store's

Records txn_state_of(const ReadView& view, GroupId group) {
  Records out;
  std::string previous;
  require_ok(view.for_each_txn_state(group, [&](std::string_view key, std::string_view value) {
    CHECK((out.empty() || previous < key));  // ascending, no duplicates
    previous.assign(key);
    out.emplace(key, value);
    return true;
  }));
  return out;
}

Records txn_state_of(const DataStore& data, GroupId group) { return txn_state_of(data.read_view(), group); }

std::optional<std::string> get_ok(const DataStore& data, GroupId group, std::string_view key) {
  auto got = data.get_txn_state(group, key);
  INFO(got.status().to_string());
  REQUIRE(got.ok());
  return *got;
}

void apply_ok(DataStore& data, GroupId group, raft::LogIndex applied, const Records& puts,
              const std::vector<std::string>& deletes = {}) {
  ApplyBatch b = data.new_batch(group);
  for (const auto& [k, v] : puts) b.put_txn_state(k, v);
  for (const auto& k : deletes) b.delete_txn_state(k);
  b.set_applied_index(applied);
  require_ok(data.apply(b));
}

// Per group: keys that sort around each other and around the group prefix's bytes.
Records records_for(GroupId group) {
  const std::string tag = "g" + std::to_string(group);
  return Records{{"", "empty key of " + tag},
                 {std::string("\0", 1), "nul key of " + tag},
                 {"lock/a", "intent of " + tag},
                 {"lock/b", std::string("bin\0ary", 7) + tag},
                 {"txn/1", ""},
                 {std::string("\xFF\xFF", 2), "high key of " + tag}};
}

TEST_CASE("txn state records are put and read and iterated and deleted per group", "[storage][txn_state]") {
  TempDir dir;
  auto store = open_ok(options_for(dir.path()));
  DataStore& data = store->data();
  // 7 and 8 have adjacent prefixes; 0 and UINT64_MAX are the ends of the group id space.
  const std::vector<GroupId> groups = {0, 7, 8, UINT64_MAX};
  for (GroupId g : groups) CHECK(txn_state_of(data, g).empty());
  for (GroupId g : groups) apply_ok(data, g, 10, records_for(g));
  for (GroupId g : groups) {
    INFO("group " << g);
    CHECK(txn_state_of(data, g) == records_for(g));
    for (const auto& [k, v] : records_for(g)) CHECK(get_ok(data, g, k) == v);
    CHECK_FALSE(get_ok(data, g, "lock/").has_value());
    CHECK_FALSE(get_ok(data, g, "lock/c").has_value());
  }
  apply_ok(data, 7, 11, {{"only-in-7", "x"}});
  CHECK(get_ok(data, 7, "only-in-7") == "x");
  CHECK_FALSE(get_ok(data, 8, "only-in-7").has_value());

  SECTION("the visit stops when it returns false") {
    std::vector<std::string> seen;
    require_ok(data.for_each_txn_state(8, [&](std::string_view key, std::string_view) {
      seen.emplace_back(key);
      return seen.size() < 2;
    }));
    CHECK(seen == std::vector<std::string>{"", std::string("\0", 1)});
  }
  SECTION("overwrites and deletes touch only their group") {
    apply_ok(data, 7, 12, {{"lock/a", "replaced"}}, {"lock/b", "txn/1", "never-written"});
    Records want = records_for(7);
    want["lock/a"] = "replaced";
    want.erase("lock/b");
    want.erase("txn/1");
    want["only-in-7"] = "x";
    CHECK(txn_state_of(data, 7) == want);
    CHECK(txn_state_of(data, 8) == records_for(8));
    CHECK(txn_state_of(data, 0) == records_for(0));
  }
  SECTION("a put then a delete of one key in one batch leaves it absent") {
    ApplyBatch b = data.new_batch(8);
    b.put_txn_state("transient", "1");
    b.delete_txn_state("transient");
    b.set_applied_index(11);
    require_ok(data.apply(b));
    CHECK_FALSE(get_ok(data, 8, "transient").has_value());
  }
}

TEST_CASE("txn state is applied atomically with the data and the applied index", "[storage][txn_state]") {
  TempDir dir;
  auto store = open_ok(options_for(dir.path()));
  DataStore& data = store->data();
  ApplyBatch b = data.new_batch(1);
  b.put("k", "v", 5);
  b.put_txn_state("lock/k", "txn 42 prepared");
  b.put_session(ClientSession{9, 1, 5, "ok"});
  b.set_applied_index(5);
  CHECK(b.op_count() == 3);
  CHECK_FALSE(get_ok(data, 1, "lock/k").has_value());  // nothing before apply()
  const ReadView before = data.read_view();
  require_ok(data.apply(b));

  CHECK(data.applied_index(1) == 5);
  CHECK(data.get("k")->value() == VersionedValue{"v", 5});
  CHECK(get_ok(data, 1, "lock/k") == "txn 42 prepared");
  CHECK(data.get_session(1, 9)->has_value());
  // A view pinned before the apply sees none of it, a view after sees all of it.
  CHECK(before.applied_index(1).value() == 0);
  CHECK_FALSE(before.get("k")->has_value());
  CHECK_FALSE(before.get_txn_state(1, "lock/k")->has_value());
  CHECK(txn_state_of(before, 1).empty());

  const ReadView prepared = data.read_view();
  ApplyBatch commit = data.new_batch(1);
  commit.put("k", "v2", 6);
  commit.delete_txn_state("lock/k");
  commit.put_txn_state("txn/42", "committed");
  commit.set_applied_index(6);
  require_ok(data.apply(commit));
  CHECK(txn_state_of(prepared, 1) == Records{{"lock/k", "txn 42 prepared"}});
  CHECK(prepared.get("k")->value() == VersionedValue{"v", 5});
  CHECK(txn_state_of(data, 1) == Records{{"txn/42", "committed"}});
  CHECK(data.get("k")->value() == VersionedValue{"v2", 6});
  CHECK(data.read_view().applied_index(1).value() == 6);
}

TEST_CASE("txn state survives a restart", "[storage][txn_state][restart]") {
  TempDir dir;
  const StoreOptions o = options_for(dir.path());
  {
    auto store = open_ok(o);
    apply_ok(store->data(), 1, 3, records_for(1));
    apply_ok(store->data(), 2, 4, {{"lock/z", "other group"}});
    apply_ok(store->data(), 1, 5, {}, {"txn/1"});
  }
  auto store = open_ok(o);
  Records want = records_for(1);
  want.erase("txn/1");
  CHECK(txn_state_of(store->data(), 1) == want);
  CHECK(txn_state_of(store->data(), 2) == Records{{"lock/z", "other group"}});
  CHECK(store->data().applied_index(1) == 5);
  apply_ok(store->data(), 1, 6, {{"txn/1", "again"}});
  CHECK(get_ok(store->data(), 1, "txn/1") == "again");
}

constexpr GroupId kGroup = 4;

// A closed store where group 4 (log and applied index 1) holds txn state "a", "b", "c".
StoreOptions make_store(const TempDir& dir) {
  const StoreOptions o = options_for(dir.path());
  auto store = open_ok(o);
  REQUIRE(store->create_group(kGroup, raft::ConfState{{1}, {}, {}}).ok());
  const std::vector<raft::Entry> ents{entry(1, 1)};
  const GroupWrite w{kGroup, nullptr, nullptr, ents, raft::HardState{1, 1, 1}};
  require_ok(store->persist(std::span(&w, 1)));
  apply_ok(store->data(), kGroup, 1, {{"a", "alpha"}, {"b", "beta"}, {"c", "gamma"}});
  return o;
}

void require_corrupt(const Status& s) {
  INFO(s.to_string());
  REQUIRE(s.code() == Status::Code::kCorruption);
  CHECK_THAT(s.message(), Catch::Contains("txn-state record (1-byte key) of group 4"));
  CHECK_THAT(s.message(), Catch::Contains("checksum mismatch"));
}

TEST_CASE("a corrupt txn state record is reported as corruption and never served", "[storage][txn_state][corruption]") {
  TempDir dir;
  const StoreOptions o = make_store(dir);
  const std::string key_b = format::txn_state_key(kGroup, "b");
  std::string sealed;
  require_ok(debug::raw_get(o.path, "locks", key_b, &sealed));
  REQUIRE(sealed.size() == format::kSealBytes + 4);
  auto flip = [&](std::size_t at, int mask) { sealed[at] = static_cast<char>(sealed[at] ^ mask); };
  SECTION("a flipped byte in the value") { flip(format::kSealBytes + 2, 0x20); }
  SECTION("a flipped byte in the checksum") { flip(1, 0x01); }
  SECTION("a flipped version byte") { flip(4, 0x02); }
  SECTION("a record copied under another key (a misdirected write)") {
    require_ok(debug::raw_get(o.path, "locks", format::txn_state_key(kGroup, "c"), &sealed));
  }
  require_ok(debug::raw_put(o.path, "locks", key_b, sealed));

  auto store = open_ok(o);  // open does not read txn state; every read checks it
  const DataStore& data = store->data();
  CHECK(get_ok(data, kGroup, "a") == "alpha");
  require_corrupt(data.get_txn_state(kGroup, "b").status());
  std::vector<std::string> visited;
  require_corrupt(data.for_each_txn_state(kGroup, [&](std::string_view key, std::string_view) {
    visited.emplace_back(key);
    return true;
  }));
  CHECK(visited == std::vector<std::string>{"a"});  // stopped at "b": its value never reached the caller
  // A leader does not ship it to followers either.
  auto source = store->open_snapshot_source(kGroup, KeyRange{"", ""});
  REQUIRE(source.ok());
  std::string chunk;
  Result<bool> more = true;
  while (more.ok() && *more) more = source.value()->next_chunk(&chunk);
  require_corrupt(more.status());
}

}  // namespace
}  // namespace kv::storage
