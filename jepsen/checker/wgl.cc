#include "checker/wgl.h"

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstring>
#include <memory>
#include <numeric>

#include "checker/check_assert.h"
#include "checker/history.h"

namespace kv::checker {
namespace {

std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

// The memo table: a set of configurations (set of linearized ops, register state).
// A set is stored as (lo, words): every op below `lo` is linearized (lo is the lowest one
// that is not), and `words` are the bitset's words from word lo/64 up to the highest
// linearized op. Ops are ordered by invocation, so this window spans the ops pending at
// that point plus any indeterminate ops still unplaced: entries cost O(concurrency), not
// O(history), which is what keeps long single-key histories inside the memory budget.
// Open addressing over 16-byte slots; words live in chunks that never move.
class MemoTable {
 public:
  enum class Insert { added, present, full };

  explicit MemoTable(std::size_t max_bytes) : max_bytes_(max_bytes) { slots_.resize(1024); }

  // Inserts the configuration. `full` (nothing inserted) when that would take the table
  // past max_bytes: checked before each growth, so the budget is never overshot by a
  // doubling.
  Insert insert(std::uint64_t hash, std::int32_t state, std::uint32_t lo, const std::uint64_t* words,
                std::uint32_t nwords) {
    if (bytes() + nwords * sizeof(std::uint64_t) + sizeof(Entry) > max_bytes_) return Insert::full;
    if ((entries_.size() + 1) * 2 > slots_.size()) {
      if (bytes() + slots_.size() * sizeof(Slot) > max_bytes_) return Insert::full;
      grow();
    }
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.entry_plus1 == 0) {
        CHECKER_ASSERT(entries_.size() < 0xFFFFFFFEu);
        entries_.push_back(Entry{store(words, nwords), lo, nwords});
        s = Slot{hash, static_cast<std::uint32_t>(entries_.size()), state};
        return Insert::added;
      }
      if (s.hash != hash || s.state != state) continue;
      const Entry& e = entries_[s.entry_plus1 - 1];
      // (memcmp must not see the null words of an empty window, even for 0 bytes.)
      if (e.lo == lo && e.nwords == nwords &&
          (nwords == 0 || std::memcmp(e.words, words, nwords * sizeof(std::uint64_t)) == 0)) {
        return Insert::present;
      }
    }
  }

  std::size_t size() const { return entries_.size(); }
  std::size_t bytes() const {
    return slots_.size() * sizeof(Slot) + entries_.capacity() * sizeof(Entry) + chunk_words_ * sizeof(std::uint64_t);
  }

 private:
  static constexpr std::size_t kChunkWords = std::size_t{1} << 16;
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t entry_plus1 = 0;  // 0: empty slot
    std::int32_t state = 0;
  };
  struct Entry {
    const std::uint64_t* words;
    std::uint32_t lo;
    std::uint32_t nwords;
  };
  static_assert(sizeof(Slot) == 16);
  static_assert(sizeof(Entry) == 16);

  const std::uint64_t* store(const std::uint64_t* words, std::uint32_t nwords) {
    if (nwords == 0) return nullptr;
    if (chunks_.empty() || used_ + nwords > chunk_size_) {
      chunk_size_ = std::max<std::size_t>(kChunkWords, nwords);
      chunks_.push_back(std::make_unique<std::uint64_t[]>(chunk_size_));
      chunk_words_ += chunk_size_;
      used_ = 0;
    }
    std::uint64_t* dst = chunks_.back().get() + used_;
    std::memcpy(dst, words, nwords * sizeof(std::uint64_t));
    used_ += nwords;
    return dst;
  }

  void grow() {
    std::vector<Slot> old(slots_.size() * 2);
    old.swap(slots_);
    const std::size_t mask = slots_.size() - 1;
    for (const Slot& s : old) {
      if (s.entry_plus1 == 0) continue;
      std::size_t i = s.hash & mask;
      while (slots_[i].entry_plus1 != 0) i = (i + 1) & mask;
      slots_[i] = s;
    }
  }

  std::size_t max_bytes_;
  std::vector<Slot> slots_;
  std::vector<Entry> entries_;
  std::vector<std::unique_ptr<std::uint64_t[]>> chunks_;
  std::size_t chunk_size_ = 0;   // words in the current (last) chunk
  std::size_t used_ = 0;         // words used in the current chunk
  std::size_t chunk_words_ = 0;  // words in all chunks
};

// Applies op to the register model; false when the op cannot take effect in `state`.
bool step(const RegOp& op, std::int32_t state, std::int32_t& next) {
  switch (op.kind) {
    case RegKind::read:
      next = state;
      return op.a == state;
    case RegKind::write:
      next = op.a;
      return true;
    case RegKind::cas:
      next = op.b;
      return op.a == state;
  }
  return false;
}

class Search {
 public:
  Search(const std::vector<RegOp>& ops, const Budget& budget) : ops_(ops), budget_(budget), memo_(budget.memory_bytes) {
    build_list();
    linearized_.assign((ops.size() + 63) / 64 + 1, 0);
    zobrist_.resize(ops.size());
    for (std::size_t i = 0; i < ops.size(); ++i) zobrist_[i] = splitmix64(i * 2654435761ULL + 1);
  }

  WglResult run();

 private:
  struct Call {
    std::int32_t entry;
    std::int32_t state_before;
  };

  void build_list();
  void set_linearized(std::size_t op);
  void clear_linearized(std::size_t op);
  bool bit(std::size_t op) const { return ((linearized_[op / 64] >> (op % 64)) & 1) != 0; }
  void lift(std::int32_t call);
  void unlift(std::int32_t call);
  bool try_linearize(std::int32_t call, std::int32_t next_state);
  void note_stuck(std::int32_t ret);
  void finish_failure();

  std::int32_t op_of(std::int32_t e) const { return entries_[static_cast<std::size_t>(e)].op; }
  bool is_call(std::int32_t e) const { return entries_[static_cast<std::size_t>(e)].call; }

  struct Entry {
    std::int32_t op = 0;
    bool call = false;
    std::int32_t match = 0;  // the op's other entry
    std::int32_t prev = 0;
    std::int32_t next = 0;
  };

  const std::vector<RegOp>& ops_;
  const Budget& budget_;
  MemoTable memo_;
  std::vector<Entry> entries_;  // 2n entries in time order, then head (2n) and tail (2n+1)
  std::int32_t head_ = 0;
  std::int32_t tail_ = 0;
  std::vector<std::uint64_t> linearized_;  // bit per op (and one spare word)
  std::size_t lo_ = 0;                     // lowest op not linearized
  std::size_t hi_ = 0;                     // one past the highest linearized op
  std::uint64_t hash_ = 0;                 // XOR of zobrist_[op] over linearized ops
  std::vector<std::uint64_t> zobrist_;
  std::int32_t state_ = 0;
  std::vector<Call> calls_;
  bool memory_exceeded_ = false;  // the memo table refused an entry: the search is incomplete
  // The furthest return entry the search got stuck at, and what it saw there.
  std::int32_t stuck_at_ = -1;
  WglFailure failure_;
};

void Search::build_list() {
  const auto n = static_cast<std::int32_t>(ops_.size());
  std::vector<std::int32_t> order(static_cast<std::size_t>(2 * n));
  std::iota(order.begin(), order.end(), 0);  // 2i = call of op i, 2i+1 = its return
  auto time_of = [&](std::int32_t e) {
    const RegOp& op = ops_[static_cast<std::size_t>(e / 2)];
    return e % 2 == 0 ? op.invoke_t : op.complete_t;
  };
  // Calls before returns at equal times: equal timestamps are treated as concurrent, which
  // can only add linearizations, never reject a correct history.
  std::sort(order.begin(), order.end(), [&](std::int32_t x, std::int32_t y) {
    if (time_of(x) != time_of(y)) return time_of(x) < time_of(y);
    if (x % 2 != y % 2) return x % 2 < y % 2;
    return x < y;
  });
  entries_.resize(order.size() + 2);
  std::vector<std::int32_t> pos(order.size());
  for (std::size_t p = 0; p < order.size(); ++p) pos[static_cast<std::size_t>(order[p])] = static_cast<std::int32_t>(p);
  for (std::size_t p = 0; p < order.size(); ++p) {
    Entry& e = entries_[p];
    e.op = order[p] / 2;
    e.call = order[p] % 2 == 0;
    e.match = pos[static_cast<std::size_t>(order[p] ^ 1)];
    e.prev = static_cast<std::int32_t>(p) - 1;
    e.next = static_cast<std::int32_t>(p) + 1;
  }
  head_ = 2 * n;
  tail_ = 2 * n + 1;
  entries_[static_cast<std::size_t>(head_)] = Entry{-1, false, -1, -1, n == 0 ? tail_ : 0};
  entries_[static_cast<std::size_t>(tail_)] = Entry{-1, false, -1, n == 0 ? head_ : 2 * n - 1, -1};
  if (n > 0) {
    entries_[0].prev = head_;
    entries_[static_cast<std::size_t>(2 * n - 1)].next = tail_;
  }
}

void Search::lift(std::int32_t call) {
  for (std::int32_t e : {call, entries_[static_cast<std::size_t>(call)].match}) {
    const Entry& x = entries_[static_cast<std::size_t>(e)];
    entries_[static_cast<std::size_t>(x.prev)].next = x.next;
    entries_[static_cast<std::size_t>(x.next)].prev = x.prev;
  }
}

void Search::unlift(std::int32_t call) {
  // Reinserted in the reverse order of removal, so each entry's saved neighbours are valid.
  for (std::int32_t e : {entries_[static_cast<std::size_t>(call)].match, call}) {
    const Entry& x = entries_[static_cast<std::size_t>(e)];
    entries_[static_cast<std::size_t>(x.prev)].next = e;
    entries_[static_cast<std::size_t>(x.next)].prev = e;
  }
}

void Search::set_linearized(std::size_t op) {
  CHECKER_ASSERT(!bit(op));
  linearized_[op / 64] |= std::uint64_t{1} << (op % 64);
  hash_ ^= zobrist_[op];
  hi_ = std::max(hi_, op + 1);
  while (lo_ < ops_.size()) {  // skip the run of linearized ops starting at lo_
    const std::uint64_t unset = ~linearized_[lo_ / 64] & (~std::uint64_t{0} << (lo_ % 64));
    if (unset != 0) {
      lo_ = std::min(ops_.size(), lo_ / 64 * 64 + static_cast<std::size_t>(std::countr_zero(unset)));
      break;
    }
    lo_ = (lo_ / 64 + 1) * 64;
  }
  lo_ = std::min(lo_, ops_.size());
}

void Search::clear_linearized(std::size_t op) {
  CHECKER_ASSERT(bit(op));
  linearized_[op / 64] &= ~(std::uint64_t{1} << (op % 64));
  hash_ ^= zobrist_[op];
  lo_ = std::min(lo_, op);
  if (op + 1 != hi_) return;
  // Find the new highest linearized op; everything below lo_ is linearized, so the scan
  // stays inside the window.
  hi_ = lo_;
  for (std::size_t w = op / 64 + 1; w-- > lo_ / 64;) {
    std::uint64_t bits = linearized_[w];
    if (w == lo_ / 64) bits &= ~std::uint64_t{0} << (lo_ % 64);
    if (bits != 0) {
      hi_ = w * 64 + 64 - static_cast<std::size_t>(std::countl_zero(bits));
      break;
    }
  }
}

// Linearizes the op of `call` when the resulting configuration is new.
bool Search::try_linearize(std::int32_t call, std::int32_t next_state) {
  const auto op = static_cast<std::size_t>(op_of(call));
  set_linearized(op);
  const std::uint64_t key =
      splitmix64(hash_ ^ (static_cast<std::uint64_t>(static_cast<std::uint32_t>(next_state)) << 32));
  const std::size_t wlo = lo_ / 64;
  const std::size_t nwords = hi_ > lo_ ? (hi_ + 63) / 64 - wlo : 0;
  const MemoTable::Insert inserted = memo_.insert(key, next_state, static_cast<std::uint32_t>(lo_),
                                                  linearized_.data() + wlo, static_cast<std::uint32_t>(nwords));
  if (inserted != MemoTable::Insert::added) {
    memory_exceeded_ = memory_exceeded_ || inserted == MemoTable::Insert::full;
    clear_linearized(op);
    return false;
  }
  calls_.push_back(Call{call, state_});
  state_ = next_state;
  lift(call);
  return true;
}

// Records what the search saw when stuck at return entry `ret` (the op could not be
// linearized before it returned), keeping the furthest such point for the report.
void Search::note_stuck(std::int32_t ret) {
  if (ret < stuck_at_) return;
  if (ret == stuck_at_) {
    auto& st = failure_.states;
    if (st.size() < kStatesShownMax && std::find(st.begin(), st.end(), state_) == st.end()) st.push_back(state_);
    return;
  }
  stuck_at_ = ret;
  failure_.blocked = static_cast<std::size_t>(op_of(ret));
  failure_.states = {state_};
  failure_.witness_tail.clear();
  const std::size_t from = calls_.size() > kWitnessTailMax ? calls_.size() - kWitnessTailMax : 0;
  for (std::size_t i = from; i < calls_.size(); ++i) {
    failure_.witness_tail.push_back(static_cast<std::size_t>(op_of(calls_[i].entry)));
  }
  failure_.pending.clear();
  for (std::int32_t e = entries_[static_cast<std::size_t>(head_)].next; e != ret && e != tail_;
       e = entries_[static_cast<std::size_t>(e)].next) {
    if (failure_.pending.size() >= kPendingShownMax) break;
    if (is_call(e) && op_of(e) != op_of(ret)) failure_.pending.push_back(static_cast<std::size_t>(op_of(e)));
  }
}

void Search::finish_failure() {
  // The prefix that linearizes: every op whose return precedes the stuck return.
  failure_.prefix_ops = 0;
  for (std::int32_t e = 0; e < stuck_at_; ++e) failure_.prefix_ops += is_call(e) ? 0 : 1;
}

WglResult Search::run() {
  WglResult r;
  const auto deadline = std::chrono::steady_clock::now() + budget_.time;
  std::int32_t entry = entries_[static_cast<std::size_t>(head_)].next;
  while (entries_[static_cast<std::size_t>(head_)].next != tail_) {
    CHECKER_ASSERT(entry != tail_);
    // A refused memo entry means the search can no longer be trusted to be exhaustive:
    // stop before any backtracking decision is made on it.
    if (memory_exceeded_) {
      r.status = WglStatus::memory_exceeded;
      break;
    }
    if ((++r.steps & 0xFFF) == 0 && std::chrono::steady_clock::now() > deadline) {
      r.status = WglStatus::time_exceeded;
      break;
    }
    const RegOp& op = ops_[static_cast<std::size_t>(op_of(entry))];
    if (is_call(entry)) {
      std::int32_t next_state = 0;
      const bool linearized = step(op, state_, next_state) && try_linearize(entry, next_state);
      entry =
          linearized ? entries_[static_cast<std::size_t>(head_)].next : entries_[static_cast<std::size_t>(entry)].next;
      continue;
    }
    if (op.complete_t == kNever) break;  // only indeterminate ops remain to be placed
    note_stuck(entry);
    if (calls_.empty()) {
      r.status = WglStatus::not_linearizable;
      finish_failure();
      r.failure = failure_;
      break;
    }
    const Call top = calls_.back();
    calls_.pop_back();
    clear_linearized(static_cast<std::size_t>(op_of(top.entry)));
    state_ = top.state_before;
    unlift(top.entry);
    entry = entries_[static_cast<std::size_t>(top.entry)].next;
  }
  r.memo_entries = memo_.size();
  r.memo_bytes = memo_.bytes();
  return r;
}

}  // namespace

WglResult check_register(const std::vector<RegOp>& ops, const Budget& budget) {
  CHECKER_ASSERT(ops.size() < (std::size_t{1} << 30));
  for (const RegOp& op : ops) CHECKER_ASSERT(op.invoke_t <= op.complete_t);
  Search search(ops, budget);
  return search.run();
}

}  // namespace kv::checker
