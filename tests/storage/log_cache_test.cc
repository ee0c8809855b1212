// TermIndex and EntryCache against a naive model (a plain vector of entries) over random
// operation sequences (style.md item 7).
#include "storage/log_cache.h"

#include <random>
#include <vector>

#include <catch2/catch.hpp>

namespace kv::storage {
namespace {

struct Model {
  raft::LogIndex dummy_index = 0;
  raft::Term dummy_term = 0;
  std::vector<raft::Entry> entries;  // (dummy_index, last]

  raft::LogIndex last() const { return dummy_index + entries.size(); }
  raft::Term term(raft::LogIndex i) const { return i == dummy_index ? dummy_term : entries[i - dummy_index - 1].term; }
};

void check(const Model& m, const TermIndex& terms, const EntryCache& cache, std::uint64_t budget) {
  REQUIRE(terms.dummy_index() == m.dummy_index);
  REQUIRE(terms.last_index() == m.last());
  for (raft::LogIndex i = m.dummy_index; i <= m.last(); ++i) REQUIRE(terms.term(i) == m.term(i));
  REQUIRE(cache.end() == m.last() + 1);
  REQUIRE(cache.bytes() <= budget);
  for (raft::LogIndex i = cache.first(); i < cache.end(); ++i) {
    raft::Entry e;
    cache.copy_to(i, &e);
    REQUIRE(e == m.entries[i - m.dummy_index - 1]);
    REQUIRE(cache.data_size(i) == e.data.size());
  }
}

TEST_CASE("TermIndex and EntryCache follow a naive log model", "[storage][log_cache]") {
  const std::uint64_t seed = GENERATE(1, 2, 3, 4, 5, 6, 7, 8);
  std::mt19937_64 rng(seed);
  const std::uint64_t budget = 2000 + rng() % 40000;
  Model m;
  TermIndex terms;
  terms.reset(0, 0);
  EntryCache cache(budget);
  raft::Term term = 1;
  for (int step = 0; step < 1500; ++step) {
    const auto op = rng() % 10;
    if (op < 6) {  // append, maybe replacing a suffix
      raft::LogIndex front = m.last() + 1;
      if (op == 0 && m.last() > m.dummy_index) front = m.dummy_index + 1 + rng() % (m.last() - m.dummy_index);
      if (front <= m.last()) {
        m.entries.resize(front - m.dummy_index - 1);
        terms.truncate_from(front);
        cache.truncate_from(front);
      }
      if (rng() % 4 == 0) ++term;
      term = std::max(term, m.term(front - 1));
      const int n = 1 + static_cast<int>(rng() % 20);
      for (int k = 0; k < n; ++k) {
        // Sizes up to above the block size, some empty.
        const std::size_t size = rng() % 8 == 0 ? 0 : (rng() % 50 == 0 ? 300000 : rng() % 3000);
        raft::Entry e{term, m.last() + 1, raft::EntryType::kNormal, std::string(size, static_cast<char>('a' + rng() % 26))};
        terms.append(e.index, e.term);
        cache.append(e);
        m.entries.push_back(e);
      }
    } else if (op < 8 && m.last() > m.dummy_index) {  // compaction
      const raft::LogIndex to = m.dummy_index + 1 + rng() % (m.last() - m.dummy_index);
      const raft::Term to_term = m.term(to);
      m.entries.erase(m.entries.begin(), m.entries.begin() + static_cast<std::ptrdiff_t>(to - m.dummy_index));
      m.dummy_index = to;
      m.dummy_term = to_term;
      terms.compact_to(to);
      cache.drop_before(to + 1);
    } else if (op == 8) {  // a snapshot replaces everything
      const raft::LogIndex at = m.last() + rng() % 10;
      term = std::max(term, m.term(m.last())) + 1;
      m = Model{at, term, {}};
      terms.reset(at, term);
      cache.reset(at + 1);
    }
    check(m, terms, cache, budget);
  }
  INFO("runs " << terms.run_count() << ", blocks " << cache.block_count());
  REQUIRE(cache.block_count() <= 2 + budget / (256 * 1024) + 2);
}

}  // namespace
}  // namespace kv::storage
