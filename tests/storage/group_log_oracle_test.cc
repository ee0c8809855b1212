// GroupLog (RocksDB) against MemoryStorage (the oracle) over random operation sequences on
// several groups at once, with restarts in between (style.md item 7). Every LogStorage
// method is compared after every step: the fast, cached, durable implementation must be
// indistinguishable from the obvious in-memory one, also across a close and reopen.
#include <map>
#include <random>

#include "consensus/memory_storage.h"
#include "test_util.h"

namespace kv::storage {
namespace {

using testing::TempDir;

constexpr GroupId kGroups[] = {3, 7, 1000};

struct Fixture {
  TempDir dir;
  StoreOptions options = testing::options_for(dir.path());
  std::unique_ptr<NodeStore> store = testing::open_ok(options);
  std::map<GroupId, raft::MemoryStorage> oracles;
  std::mt19937_64 rng;

  explicit Fixture(std::uint64_t seed) : rng(seed) {
    for (GroupId g : kGroups) {
      raft::ConfState conf{{1, 2, 3}, {}, {g}};
      auto created = store->create_group(g, conf);
      REQUIRE(created.ok());
      oracles.emplace(g, raft::MemoryStorage(conf));
    }
  }

  std::uint64_t pick(std::uint64_t n) { return n == 0 ? 0 : rng() % n; }

  std::string random_data() {
    const auto kind = pick(10);
    const std::size_t size = kind == 0 ? 0 : kind == 1 ? 1000 + pick(6000) : pick(200);
    std::string s(size, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  }

  // Entries for `g` starting at `front`, with terms that never decrease.
  std::vector<raft::Entry> make_entries(const raft::MemoryStorage& o, raft::LogIndex front) {
    raft::Term term = o.term(front - 1) + pick(3);
    std::vector<raft::Entry> out(1 + pick(30));
    for (std::size_t k = 0; k < out.size(); ++k) {
      if (pick(8) == 0) ++term;
      out[k] = raft::Entry{term, front + k, pick(10) == 0 ? raft::EntryType::kConfChange : raft::EntryType::kNormal,
                           random_data()};
    }
    return out;
  }

  // One persist() for a random subset of groups: appends (sometimes replacing a suffix),
  // hard states, and now and then a received snapshot.
  void step_persist() {
    std::vector<std::vector<raft::Entry>> entries(std::size(kGroups));
    std::vector<raft::Snapshot> snapshots(std::size(kGroups));
    std::vector<GroupWrite> writes;
    for (std::size_t gi = 0; gi < std::size(kGroups); ++gi) {
      if (pick(3) == 0) continue;
      const GroupId g = kGroups[gi];
      raft::MemoryStorage& o = oracles.at(g);
      GroupWrite w;
      w.group = g;
      if (pick(25) == 0) {
        raft::Snapshot& snap = snapshots[gi];
        snap.meta.index = o.last_index() + pick(20);
        snap.meta.index = std::max(snap.meta.index, o.snapshot()->meta.index + 1);
        snap.meta.term = o.term(o.last_index()) + 1 + pick(2);
        snap.meta.conf = raft::ConfState{{1 + pick(5)}, {}, {}};
        snap.data = random_data();
        REQUIRE(o.apply_snapshot(snap));
        w.snapshot = &snap;
      }
      if (pick(5) != 0) {
        raft::LogIndex front = o.last_index() + 1;
        // Replace a suffix now and then, never below the snapshot (Raft never truncates
        // committed entries, and a snapshot is of committed state).
        const raft::LogIndex lowest = std::max(o.first_index(), o.snapshot()->meta.index + 1);
        if (w.snapshot == nullptr && pick(6) == 0 && o.last_index() >= lowest) {
          front = lowest + pick(o.last_index() - lowest + 1);
        }
        entries[gi] = make_entries(o, front);
        o.append(entries[gi]);
        w.entries = entries[gi];
      }
      if (pick(2) == 0) {
        raft::HardState hs{o.initial_state().hard_state.term + pick(2), 1 + pick(3), o.last_index() / 2};
        o.set_hard_state(hs);
        w.hard_state = hs;
      }
      writes.push_back(w);
    }
    testing::require_ok(store->persist(writes));
  }

  void step_snapshot_and_compact(GroupId g) {
    raft::MemoryStorage& o = oracles.at(g);
    const raft::LogIndex snap = o.snapshot()->meta.index;
    if (pick(2) == 0 && o.last_index() > snap) {
      const raft::LogIndex at = snap + 1 + pick(o.last_index() - snap);
      raft::ConfState conf{{1, 2}, {3}, {4 + pick(3)}};
      std::string data = random_data();
      o.create_snapshot(at, conf, data);
      testing::require_ok(store->create_snapshot(g, at, conf, data));
    }
    const raft::LogIndex limit = o.snapshot()->meta.index;
    const raft::LogIndex to = pick(4) == 0 ? pick(o.first_index()) : pick(limit + 1);  // sometimes a no-op
    o.compact(to);
    testing::require_ok(store->compact(g, to));
  }

  void reopen() {
    store.reset();
    store = testing::open_ok(options);
  }

  void compare(GroupId g) {
    const raft::MemoryStorage& o = oracles.at(g);
    const GroupLog* log = store->group(g);
    REQUIRE(log != nullptr);
    INFO("group " << g);
    REQUIRE(log->first_index() == o.first_index());
    REQUIRE(log->last_index() == o.last_index());
    REQUIRE(log->initial_state().hard_state == o.initial_state().hard_state);
    REQUIRE(log->initial_state().conf == o.initial_state().conf);
    REQUIRE(log->snapshot() == o.snapshot());
    for (raft::LogIndex i = o.first_index() - 1; i <= o.last_index(); ++i) REQUIRE(log->term(i) == o.term(i));
    if (o.last_index() < o.first_index()) return;
    for (int k = 0; k < 4; ++k) {
      const raft::LogIndex span = o.last_index() - o.first_index() + 1;
      const raft::LogIndex lo = o.first_index() + pick(span);
      const raft::LogIndex hi = lo + 1 + pick(o.last_index() + 1 - lo);
      const std::uint64_t max_bytes = k == 0 ? 0 : k == 1 ? UINT64_MAX : pick(20000);
      INFO("entries(" << lo << ", " << hi << ", " << max_bytes << ")");
      REQUIRE(log->entries(lo, hi, max_bytes) == o.entries(lo, hi, max_bytes));
    }
  }

  void compare_all() {
    for (GroupId g : kGroups) compare(g);
    REQUIRE(store->groups() == std::vector<GroupId>(std::begin(kGroups), std::end(kGroups)));
  }
};

TEST_CASE("GroupLog behaves exactly like MemoryStorage over random operations and restarts",
          "[storage][group_log][oracle]") {
  const std::uint64_t seed = GENERATE(range(1, 9));
  INFO("seed " << seed);
  Fixture f(seed);
  for (int step = 0; step < 250; ++step) {
    INFO("step " << step);
    const auto op = f.pick(20);
    if (op < 14) {
      f.step_persist();
    } else if (op < 18) {
      f.step_snapshot_and_compact(kGroups[f.pick(std::size(kGroups))]);
    } else {
      f.reopen();
    }
    f.compare_all();
  }
  f.reopen();
  f.compare_all();
}

TEST_CASE("GroupLog reads below the tail cache go to RocksDB and match", "[storage][group_log]") {
  Fixture f(42);
  const GroupId g = kGroups[0];
  raft::MemoryStorage& o = f.oracles.at(g);
  // 2000 entries of 1 KiB: far beyond the 64 KiB cache of the test options.
  std::vector<raft::Entry> ents;
  for (raft::LogIndex i = 1; i <= 2000; ++i) ents.push_back(testing::entry(i, 1 + i / 500, std::string(1024, static_cast<char>(i))));
  o.append(ents);
  const GroupWrite w{g, nullptr, nullptr, ents, std::nullopt};
  testing::require_ok(f.store->persist(std::span(&w, 1)));
  const GroupLog& log = *f.store->group(g);
  CHECK(log.cached_bytes() <= f.options.log_cache_bytes_per_group);
  CHECK(log.entries(1, 2001, UINT64_MAX) == o.entries(1, 2001, UINT64_MAX));
  CHECK(log.entries(1990, 2001, 0) == o.entries(1990, 2001, 0));
  CHECK(log.entries(10, 1000, 100 * 1024) == o.entries(10, 1000, 100 * 1024));
  f.reopen();
  CHECK(f.store->group(g)->entries(1, 2001, UINT64_MAX) == o.entries(1, 2001, UINT64_MAX));
}

}  // namespace
}  // namespace kv::storage
