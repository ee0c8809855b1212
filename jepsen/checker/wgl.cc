#include "checker/wgl.h"

#include <algorithm>
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

// The memo table: a set of (linearized-ops bitset, register state) configurations.
// Open addressing over 16-byte slots; the bitsets live in fixed-size chunks so growth never
// copies them (and never doubles peak memory).
class MemoTable {
 public:
  explicit MemoTable(std::size_t words) : words_(words), per_chunk_(std::max<std::size_t>(1, (1u << 16) / words)) {
    slots_.resize(1024);
  }

  // Inserts the configuration; false when it was already present.
  bool insert(const std::uint64_t* bits, std::uint64_t hash, std::int32_t state) {
    if ((count_ + 1) * 2 > slots_.size()) grow();
    const std::size_t mask = slots_.size() - 1;
    for (std::size_t i = hash & mask;; i = (i + 1) & mask) {
      Slot& s = slots_[i];
      if (s.entry_plus1 == 0) {
        s = Slot{hash, store(bits) + 1, state};
        ++count_;
        return true;
      }
      if (s.hash == hash && s.state == state && std::memcmp(bits_of(s.entry_plus1 - 1), bits, words_ * 8) == 0) {
        return false;
      }
    }
  }

  std::size_t size() const { return count_; }
  std::size_t bytes() const {
    return slots_.size() * sizeof(Slot) + chunks_.size() * per_chunk_ * words_ * sizeof(std::uint64_t);
  }

 private:
  struct Slot {
    std::uint64_t hash = 0;
    std::uint32_t entry_plus1 = 0;  // 0: empty slot
    std::int32_t state = 0;
  };
  static_assert(sizeof(Slot) == 16);

  const std::uint64_t* bits_of(std::uint32_t entry) const {
    return chunks_[entry / per_chunk_].get() + (entry % per_chunk_) * words_;
  }

  std::uint32_t store(const std::uint64_t* bits) {
    CHECKER_ASSERT(count_ < 0xFFFFFFFEu);
    const std::size_t entry = count_;
    if (entry / per_chunk_ >= chunks_.size()) {
      chunks_.push_back(std::make_unique<std::uint64_t[]>(per_chunk_ * words_));
    }
    std::memcpy(chunks_[entry / per_chunk_].get() + (entry % per_chunk_) * words_, bits, words_ * 8);
    return static_cast<std::uint32_t>(entry);
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

  std::size_t words_;
  std::size_t per_chunk_;
  std::vector<Slot> slots_;
  std::size_t count_ = 0;
  std::vector<std::unique_ptr<std::uint64_t[]>> chunks_;
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
  Search(const std::vector<RegOp>& ops, const Budget& budget)
      : ops_(ops), budget_(budget), words_((ops.size() + 63) / 64), memo_(words_ == 0 ? 1 : words_) {
    build_list();
    linearized_.assign(words_ == 0 ? 1 : words_, 0);
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
  void lift(std::int32_t call);
  void unlift(std::int32_t call);
  bool try_linearize(std::int32_t call, std::int32_t next_state);
  void note_stuck(std::int32_t ret);
  bool over_budget(WglResult& r);
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
  std::size_t words_;
  MemoTable memo_;
  std::vector<Entry> entries_;  // 2n entries in time order, then head (2n) and tail (2n+1)
  std::int32_t head_ = 0;
  std::int32_t tail_ = 0;
  std::vector<std::uint64_t> linearized_;
  std::uint64_t hash_ = 0;  // XOR of zobrist_[op] over linearized ops
  std::vector<std::uint64_t> zobrist_;
  std::int32_t state_ = 0;
  std::vector<Call> calls_;
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

// Linearizes the op of `call` when the resulting configuration is new.
bool Search::try_linearize(std::int32_t call, std::int32_t next_state) {
  const auto op = static_cast<std::size_t>(op_of(call));
  const std::uint64_t bit = std::uint64_t{1} << (op % 64);
  linearized_[op / 64] |= bit;
  const std::uint64_t h = hash_ ^ zobrist_[op];
  const std::uint64_t key = splitmix64(h ^ (static_cast<std::uint64_t>(static_cast<std::uint32_t>(next_state)) << 32));
  if (!memo_.insert(linearized_.data(), key, next_state)) {
    linearized_[op / 64] &= ~bit;
    return false;
  }
  hash_ = h;
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

bool Search::over_budget(WglResult& r) {
  if (memo_.bytes() > budget_.memory_bytes) {
    r.status = WglStatus::memory_exceeded;
    return true;
  }
  return false;
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
    if ((++r.steps & 0xFFF) == 0 && (std::chrono::steady_clock::now() > deadline || over_budget(r))) {
      if (r.status == WglStatus::linearizable) r.status = WglStatus::time_exceeded;
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
    linearized_[static_cast<std::size_t>(op_of(top.entry)) / 64] &= ~(std::uint64_t{1} << (op_of(top.entry) % 64));
    hash_ ^= zobrist_[static_cast<std::size_t>(op_of(top.entry))];
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
