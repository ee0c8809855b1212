// The lock table of prepared transactions (server/txn_table.h): which footprints conflict,
// which plain operations wait, and validation of reads and range reads against the data.
#include <catch2/catch.hpp>

#include <map>

#include "server/txn_table.h"

using kv::net::TxnFootprint;
using kv::net::TxnRangeRead;
using kv::net::TxnRead;
using kv::net::TxnWrite;
using kv::server::PreparedTxn;
using kv::server::ScanRange;
using kv::server::TxnTable;

namespace {

// The committed data a shard would read: key -> version (values do not matter here).
class FakeReader final : public kv::server::KeyReader {
 public:
  std::map<std::string, std::uint64_t> versions;

  std::optional<kv::storage::VersionedValue> get(const std::string& key) override {
    auto it = versions.find(key);
    if (it == versions.end()) return std::nullopt;
    return kv::storage::VersionedValue{"v", it->second};
  }
  kv::storage::ScanResult scan(const std::string& start, const std::string& end, std::size_t limit) override {
    kv::storage::ScanResult out;
    for (auto it = versions.lower_bound(start); it != versions.end() && (end.empty() || it->first < end); ++it) {
      if (out.items.size() == limit) {
        out.more = true;
        break;
      }
      out.items.push_back({it->first, "v", it->second});
    }
    return out;
  }
};

TxnFootprint writes(std::initializer_list<const char*> keys) {
  TxnFootprint f;
  for (const char* k : keys) f.writes.push_back(TxnWrite{k, std::string("x")});
  return f;
}

TxnFootprint reads(std::initializer_list<std::pair<const char*, std::uint64_t>> keys) {
  TxnFootprint f;
  for (const auto& [k, v] : keys) f.reads.push_back(TxnRead{k, v});
  return f;
}

PreparedTxn prepared(std::uint64_t id, TxnFootprint part) { return PreparedTxn{id, "primary", std::move(part), 1}; }

}  // namespace

TEST_CASE("txn table: a write lock conflicts with every other transaction's access", "[txn_table]") {
  TxnTable t;
  FakeReader data;
  data.versions["a"] = 5;
  REQUIRE_FALSE(t.conflict(writes({"a"}), 1, data));
  t.add(prepared(1, writes({"a"})));
  CHECK(t.conflict(writes({"a"}), 2, data));
  CHECK(t.conflict(reads({{"a", 5}}), 2, data));
  CHECK_FALSE(t.conflict(writes({"b"}), 2, data));
  CHECK_FALSE(t.conflict(writes({"a"}), 1, data));  // its own lock is no conflict (repeated prepare)
  CHECK(t.blocks_write("a"));
  CHECK(t.blocks_read("a"));
  CHECK_FALSE(t.blocks_read("b"));
  REQUIRE(t.remove(1));
  CHECK_FALSE(t.conflict(writes({"a"}), 2, data));
  CHECK_FALSE(t.blocks_write("a"));
  CHECK_FALSE(t.remove(1));
}

TEST_CASE("txn table: read locks share with readers and keep writers out", "[txn_table]") {
  TxnTable t;
  FakeReader data;
  data.versions["a"] = 5;
  t.add(prepared(1, reads({{"a", 5}})));
  CHECK_FALSE(t.conflict(reads({{"a", 5}}), 2, data));
  t.add(prepared(2, reads({{"a", 5}})));
  CHECK(t.conflict(writes({"a"}), 3, data));
  CHECK(t.blocks_write("a"));
  CHECK_FALSE(t.blocks_read("a"));  // a plain read of a read-locked key need not wait
  t.remove(1);
  CHECK(t.blocks_write("a"));  // transaction 2 still reads it
  t.remove(2);
  CHECK_FALSE(t.blocks_write("a"));
}

TEST_CASE("txn table: a read is valid only at the version it saw", "[txn_table]") {
  TxnTable t;
  FakeReader data;
  data.versions["a"] = 5;
  CHECK_FALSE(t.conflict(reads({{"a", 5}}), 1, data));
  CHECK(t.conflict(reads({{"a", 4}}), 1, data));
  CHECK(t.conflict(reads({{"b", 3}}), 1, data));  // read at version 3, now absent
  CHECK_FALSE(t.conflict(reads({{"b", 0}}), 1, data));  // read as absent, still absent
  data.versions["b"] = 9;
  CHECK(t.conflict(reads({{"b", 0}}), 1, data));  // created since
}

TEST_CASE("txn table: a range read sees inserts deletes and changes (no phantoms)", "[txn_table]") {
  TxnTable t;
  FakeReader data;
  data.versions = {{"k1", 1}, {"k3", 3}, {"z", 9}};
  TxnFootprint f;
  f.ranges.push_back(TxnRangeRead{"k", "l", {{"k1", 1}, {"k3", 3}}});
  CHECK_FALSE(t.conflict(f, 1, data));
  data.versions["k2"] = 10;  // a phantom
  CHECK(t.conflict(f, 1, data));
  data.versions.erase("k2");
  data.versions["k3"] = 11;  // changed
  CHECK(t.conflict(f, 1, data));
  data.versions.erase("k3");  // deleted
  CHECK(t.conflict(f, 1, data));
  data.versions["k3"] = 3;
  CHECK_FALSE(t.conflict(f, 1, data));

  t.add(prepared(1, f));
  CHECK(t.blocks_write("k2"));  // nothing may be inserted into a locked range
  CHECK_FALSE(t.blocks_write("m"));
  CHECK(t.conflict(writes({"k5"}), 2, data));
  CHECK_FALSE(t.blocks_read("k2"));
  CHECK(t.blocks_range_write(ScanRange{"a", "k2"}));
  CHECK_FALSE(t.blocks_range_write(ScanRange{"a", "k"}));
  t.remove(1);
  CHECK_FALSE(t.blocks_write("k2"));
}

TEST_CASE("txn table: a range read waits for a write lock inside it", "[txn_table]") {
  TxnTable t;
  FakeReader data;
  t.add(prepared(1, writes({"k5"})));
  TxnFootprint f;
  f.ranges.push_back(TxnRangeRead{"k", "l", {}});
  CHECK(t.conflict(f, 2, data));
  CHECK(t.blocks_range_read(ScanRange{"k", "l"}));
  CHECK_FALSE(t.blocks_range_read(ScanRange{"k6", "l"}));
  CHECK(t.blocks_range_read(ScanRange{"k", ""}));  // unbounded
}

TEST_CASE("txn table: two transactions locking the same keys in opposite orders never wait", "[txn_table]") {
  // No-wait: the second prepare on each key votes no at once, so there is no cycle to
  // deadlock in; whoever lost runs again.
  TxnTable shard_a;
  TxnTable shard_b;
  FakeReader data;
  shard_a.add(prepared(1, writes({"a"})));  // T1 got a first
  shard_b.add(prepared(2, writes({"b"})));  // T2 got b first
  CHECK(shard_b.conflict(writes({"b"}), 1, data));  // T1 at b: no
  CHECK(shard_a.conflict(writes({"a"}), 2, data));  // T2 at a: no
  shard_a.remove(1);
  shard_b.remove(2);
  CHECK_FALSE(shard_a.conflict(writes({"a"}), 1, data));
  CHECK_FALSE(shard_b.conflict(writes({"b"}), 1, data));
}
