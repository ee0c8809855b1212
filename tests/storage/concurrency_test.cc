// GroupLog reads from several threads while another thread persists appends and rewrites
// of a short tail (the server's storage thread). Readers keep the Raft read contract: they
// never read indexes being rewritten, and compact() never runs during a read sequence (the
// rule in group_log.h; here a shared_mutex stands for "the core is not stepping").
// Every read must be a consistent slice of the log: contiguous, terms as term() says, data
// as written, whether it comes from the tail cache or from RocksDB.
#include <atomic>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include "test_util.h"

namespace kv::storage {
namespace {

using testing::open_ok;
using testing::options_for;
using testing::TempDir;

constexpr GroupId kGroup = 2;
constexpr raft::LogIndex kKeep = 6000;  // the writer compacts to last - kKeep

std::string data_of(raft::LogIndex i) { return "entry-" + std::to_string(i); }
raft::Term term_of(raft::LogIndex i) { return 1 + i / 1000; }

// The shared state of one run. Catch2 v2 assertions are not thread-safe, so the threads
// record the first failure and the test checks it afterwards.
struct Harness {
  TempDir dir;
  std::unique_ptr<NodeStore> store = open_ok(options_for(dir.path()));  // 64 KiB cache: ~1500 entries
  GroupLog* log = store->create_group(kGroup, raft::ConfState{{1}, {}, {}}).value();
  std::atomic<bool> stop{false};
  std::atomic<raft::LogIndex> published_last{0};
  std::atomic<std::uint64_t> reads{0};
  std::shared_mutex core_mu;  // shared: a reader's sequence of calls; exclusive: compact()
  std::atomic<bool> compact_waiting{false};  // keeps readers from starving the writer
  std::mutex failure_mu;
  std::string failure;

  void fail(const std::string& what) {
    std::lock_guard lock(failure_mu);
    if (failure.empty()) failure = what;
    stop.store(true);
  }

  void write() {
    std::vector<raft::Entry> batch;
    raft::LogIndex last = 0;
    for (int round = 0; round < 600 && !stop.load(); ++round) {
      // Mostly appends of 50; every 7th round rewrites the last 10 entries (same contents).
      const raft::LogIndex front = round % 7 == 6 && last > 10 ? last - 9 : last + 1;
      batch.clear();
      for (raft::LogIndex i = front; i < front + 50; ++i) batch.push_back(testing::entry(i, term_of(i), data_of(i)));
      const GroupWrite w{kGroup, nullptr, nullptr, batch, raft::HardState{term_of(last), 1, last}};
      if (Status st = store->persist(std::span(&w, 1)); !st.ok()) return fail(st.to_string());
      last = front + 49;
      published_last.store(last);
      if (round % 40 == 39 && last > kKeep + 100) {
        compact_waiting.store(true);
        std::unique_lock core(core_mu);
        compact_waiting.store(false);
        Status st = store->create_snapshot(kGroup, last - 100, {{1}, {}, {}}, {});
        if (st.ok()) st = store->compact(kGroup, last - kKeep);
        if (!st.ok()) return fail(st.to_string());
      }
    }
    stop.store(true);
  }

  void read(std::uint64_t seed) {
    std::uint64_t x = seed;
    while (!stop.load()) {
      const raft::LogIndex last = published_last.load();
      if (last < 200 || compact_waiting.load()) {
        std::this_thread::yield();
        continue;
      }
      x = x * 6364136223846793005ull + 1442695040888963407ull;
      std::shared_lock core(core_mu);
      // Below the rewritten tail, reaching below the tail cache now and then.
      const raft::LogIndex hi = last - 20;
      const raft::LogIndex span = std::min<raft::LogIndex>(hi - log->first_index(), 1 + (x >> 33) % 3000);
      const raft::LogIndex lo = hi - span;
      const auto ents = log->entries(lo, hi, (x >> 20) % 4 == 0 ? 2000 : UINT64_MAX);
      if (ents.empty()) return fail("no entries");
      for (std::size_t k = 0; k < ents.size(); ++k) {
        const raft::Entry& e = ents[k];
        if (e.index != lo + k || e.term != term_of(e.index) || e.data != data_of(e.index)) {
          return fail("inconsistent read at " + std::to_string(lo + k));
        }
      }
      if (log->term(hi - 1) != term_of(hi - 1)) return fail("wrong term at " + std::to_string(hi - 1));
      reads.fetch_add(1);
    }
  }
};

TEST_CASE("GroupLog reads stay consistent while another thread persists and compacts", "[storage][group_log][threads]") {
  Harness h;
  std::thread writer([&] { h.write(); });
  std::thread r1([&] { h.read(1); });
  std::thread r2([&] { h.read(2); });
  writer.join();
  r1.join();
  r2.join();
  REQUIRE(h.failure.empty());
  INFO("reads " << h.reads.load() << ", first " << h.log->first_index() << ", last " << h.log->last_index());
  CHECK(h.reads.load() > 10);
  CHECK(h.log->first_index() > 1);
  CHECK(h.log->entries(h.log->first_index(), h.log->last_index() + 1, UINT64_MAX).size() ==
        h.log->last_index() - h.log->first_index() + 1);
}

}  // namespace
}  // namespace kv::storage
