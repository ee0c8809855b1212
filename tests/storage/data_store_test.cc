// DataStore: applies with versions and the applied index in one batch, reads, scans,
// pinned read views, and the client session table.
#include <map>
#include <random>

#include "test_util.h"

namespace kv::storage {
namespace {

using testing::open_ok;
using testing::options_for;
using testing::require_ok;
using testing::TempDir;

std::vector<std::string> keys_of(const ScanResult& r) {
  std::vector<std::string> out;
  for (const auto& kv : r.items) out.push_back(kv.key);
  return out;
}

TEST_CASE("apply writes values with versions and the applied index together", "[storage][data]") {
  TempDir dir;
  auto store = open_ok(options_for(dir.path()));
  DataStore& data = store->data();
  CHECK(data.applied_index(1) == 0);
  ApplyBatch b = data.new_batch(1);
  b.put("k1", "v1", 10);
  b.put("k2", std::string("bin\0ary", 7), 11);
  b.put("k3", "", 12);
  b.set_applied_index(12);
  CHECK(b.op_count() == 3);
  require_ok(data.apply(b));
  CHECK(b.op_count() == 0);  // cleared for reuse
  CHECK(data.applied_index(1) == 12);
  CHECK(data.applied_index(2) == 0);
  CHECK(data.get("k1")->value() == VersionedValue{"v1", 10});
  CHECK(data.get("k2")->value() == VersionedValue{std::string("bin\0ary", 7), 11});
  CHECK(data.get("k3")->value() == VersionedValue{"", 12});
  CHECK_FALSE(data.get("nope")->has_value());

  b.put("k1", "v1b", 13);
  b.del("k2");
  b.set_applied_index(13);
  require_ok(data.apply(b));
  CHECK(data.get("k1")->value() == VersionedValue{"v1b", 13});
  CHECK_FALSE(data.get("k2")->has_value());
  CHECK(data.read_view().applied_index(1).value() == 13);
}

TEST_CASE("scan returns the keys from start up to end in order with a limit, and prefixes", "[storage][data]") {
  TempDir dir;
  auto store = open_ok(options_for(dir.path()));
  DataStore& data = store->data();
  ApplyBatch b = data.new_batch(1);
  const std::vector<std::string> keys = {"a", "app", "apple", "apply", "b", "ba", std::string("b\xFF", 2),
                                         std::string("b\xFF\xFF", 3), "c"};
  for (std::size_t i = 0; i < keys.size(); ++i) b.put(keys[i], "v" + keys[i], i + 1);
  b.set_applied_index(100);
  require_ok(data.apply(b));

  CHECK(keys_of(*data.scan("", "", 100)) == keys);
  CHECK(keys_of(*data.scan("app", "b", 100)) == std::vector<std::string>{"app", "apple", "apply"});
  auto page = data.scan("a", "", 3);
  CHECK(keys_of(*page) == std::vector<std::string>{"a", "app", "apple"});
  CHECK(page->more);
  CHECK(page->items[2].version == 3);
  auto rest = data.scan(page->items.back().key + '\0', "", 100);
  CHECK(keys_of(*rest) == std::vector<std::string>(keys.begin() + 3, keys.end()));
  CHECK_FALSE(rest->more);
  CHECK_FALSE(data.scan("a", "", 9)->more);  // exactly all: no more
  CHECK(keys_of(*data.scan_prefix("app", 10)) == std::vector<std::string>{"app", "apple", "apply"});
  CHECK(keys_of(*data.scan_prefix(std::string("b\xFF", 2), 10)) ==
        std::vector<std::string>{std::string("b\xFF", 2), std::string("b\xFF\xFF", 3)});
  CHECK(prefix_end("ab") == "ac");
  CHECK(prefix_end(std::string("a\xFF", 2)) == "b");
  CHECK(prefix_end(std::string("\xFF\xFF", 2)).empty());
  CHECK(prefix_end("").empty());
}

TEST_CASE("a read view keeps seeing the state it was taken at", "[storage][data]") {
  TempDir dir;
  auto store = open_ok(options_for(dir.path()));
  DataStore& data = store->data();
  ApplyBatch b = data.new_batch(4);
  b.put("x", "old", 1);
  b.put("y", "old", 1);
  b.put_session(ClientSession{1, 1, 1, "r"});
  b.set_applied_index(1);
  require_ok(data.apply(b));
  ReadView view = data.read_view();
  b.put("x", "new", 2);
  b.del("y");
  b.put("z", "new", 2);
  b.delete_session(1);
  b.set_applied_index(2);
  require_ok(data.apply(b));

  CHECK(view.get("x")->value() == VersionedValue{"old", 1});
  CHECK(view.get("y")->value() == VersionedValue{"old", 1});
  CHECK_FALSE(view.get("z")->has_value());
  CHECK(keys_of(*view.scan("", "", 10)) == std::vector<std::string>{"x", "y"});
  CHECK(view.applied_index(4).value() == 1);
  CHECK(view.get_session(4, 1)->has_value());
  CHECK(keys_of(*data.scan("", "", 10)) == std::vector<std::string>{"x", "z"});
  CHECK_FALSE(data.get_session(4, 1)->has_value());
}

TEST_CASE("the session table round-trips, is per group, and expires by log index", "[storage][sessions]") {
  TempDir dir;
  const StoreOptions o = options_for(dir.path());
  std::map<ClientId, ClientSession> expected;
  {
    auto store = open_ok(o);
    DataStore& data = store->data();
    ApplyBatch b = data.new_batch(7);
    std::mt19937_64 rng(7);
    for (ClientId c : {1ull, 2ull, 300ull, 0xFFFFFFFFFFFFFFFFull}) {
      ClientSession s{c, rng() % 100, 10 + c % 50, std::string(rng() % 300, static_cast<char>(c))};
      b.put_session(s);
      expected[c] = s;
    }
    b.set_applied_index(60);
    require_ok(data.apply(b));
    ApplyBatch other = data.new_batch(8);  // another group's client 2 is another session
    other.put_session(ClientSession{2, 999, 5, "group 8"});
    other.set_applied_index(1);
    require_ok(data.apply(other));
  }
  auto store = open_ok(o);
  DataStore& data = store->data();
  std::vector<ClientSession> seen;
  require_ok(data.for_each_session(7, [&](const ClientSession& s) {
    seen.push_back(s);
    return true;
  }));
  REQUIRE(seen.size() == expected.size());
  for (const auto& s : seen) CHECK(s == expected.at(s.client_id));
  CHECK(data.get_session(7, 300)->value() == expected.at(300));
  CHECK(data.get_session(8, 2)->value() == ClientSession{2, 999, 5, "group 8"});
  CHECK_FALSE(data.get_session(8, 1)->has_value());

  std::size_t visited = 0;  // visiting stops when asked to
  require_ok(data.for_each_session(7, [&](const ClientSession&) { return ++visited < 2; }));
  CHECK(visited == 2);

  // last_active_index: 1 -> 11, 2 -> 12, 300 -> 10, max -> 10 + (2^64-1) % 50 = 25.
  ApplyBatch b = data.new_batch(7);
  auto expired = data.expire_sessions(b, 12);
  REQUIRE(expired.ok());
  CHECK(*expired == 2);  // clients 1 (11) and 300 (10)
  b.set_applied_index(61);
  require_ok(data.apply(b));
  CHECK_FALSE(data.get_session(7, 1)->has_value());
  CHECK_FALSE(data.get_session(7, 300)->has_value());
  CHECK(data.get_session(7, 2)->has_value());
  CHECK(data.get_session(8, 2)->has_value());  // other groups untouched
}

TEST_CASE("a membership applied through an ApplyBatch is what initial_state() returns", "[storage][data]") {
  TempDir dir;
  const StoreOptions o = options_for(dir.path());
  {
    auto store = open_ok(o);
    REQUIRE(store->create_group(3, raft::ConfState{{1, 2, 3}, {}, {}}).ok());
    ApplyBatch b = store->data().new_batch(3);
    b.set_conf_state(raft::ConfState{{1, 2, 3, 4}, {}, {5}});
    b.set_applied_index(1);
    require_ok(store->data().apply(b));
    CHECK(store->group(3)->initial_state().conf == raft::ConfState{{1, 2, 3, 4}, {}, {5}});
  }
  auto store = open_ok(o);
  CHECK(store->group(3)->initial_state().conf == raft::ConfState{{1, 2, 3, 4}, {}, {5}});
  CHECK(store->data().applied_index(3) == 1);
}

}  // namespace
}  // namespace kv::storage
