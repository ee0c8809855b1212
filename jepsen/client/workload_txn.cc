// The transactional workloads, both through TxnExecutor (txn.h), with their keys spread
// over the shards (spread_key), so that most transactions are cross-shard:
// - bank: transfers between accounts and reads of every account; the total never changes.
// - append: Elle's list-append transactions (appends of unique elements and reads of lists).
#include <chrono>
#include <mutex>
#include <thread>

#include "common/assert.h"
#include "workload.h"

namespace kv::jepsen {
namespace {

std::string error_text(const TxnOutcome& t) { return t.error; }

bool balance(const TxnRead& r, std::int64_t& out) {
  if (!r.found) return false;
  const std::optional<std::int64_t> v = parse_int(r.value);
  if (!v.has_value()) return false;
  out = v.value();
  return true;
}

// ---------------------------------------------------------------------------------------------
class BankWorkload final : public Workload {
 public:
  BankWorkload(const WorkloadOptions& o, HistoryLog& log)
      : initial_(o.initial_balance), txn_(make_txn_executor(o.unsafe_blind_writes)) {
    KV_ASSERT(o.accounts >= 2);
    Json names = Json::array();
    for (int i = 0; i < o.accounts; ++i) {
      accounts_.push_back("a" + std::to_string(i));
      keys_.push_back(spread_key(static_cast<std::uint64_t>(i), "jb/a" + std::to_string(i)));
      names.push_back(Json(accounts_.back()));
    }
    Json meta = Json::object();
    meta.set("accounts", std::move(names));
    meta.set("total", static_cast<std::int64_t>(o.accounts) * o.initial_balance);
    log.meta("bank", std::move(meta));
  }

  // Creates every account at once, iff none exists: idempotent, so retrying after an
  // indeterminate attempt is safe (the second attempt's compares fail).
  bool setup(Worker& w, std::int64_t deadline_ns) override {
    for (int i = 0; i < 120 && monotonic_ns() < deadline_ns; ++i) {
      client::TxnRequest create;
      for (const std::string& k : keys_) {
        create.compares.push_back(client::TxnCompare{k, client::CompareOp::kEqual, net::CompareVersion{0}});
        create.success.push_back(net::PutRequest{k, std::to_string(initial_), false});
      }
      auto done = w.client().txn(std::move(create));
      if (done.ok()) return true;  // created now, or already (compares failed)
      std::fprintf(stderr, "jepsen_client: bank setup: %s: %s\n", client::to_string(done.kind()), done.message().c_str());
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return false;
  }

  void step(Worker& w) override {
    if (w.unit() < 0.5) {
      read(w);
      return;
    }
    const std::size_t from = w.uniform(keys_.size());
    std::size_t to = w.uniform(keys_.size() - 1);
    if (to >= from) ++to;
    transfer(w, from, to, static_cast<std::int64_t>(1 + w.uniform(5)));
  }

  void final_reads(std::vector<Worker>& workers, std::int64_t deadline_ns, FinalReport& report) override {
    for (Worker& w : workers) {
      if (retry_until_ok(deadline_ns, report, [&] { return read(w); })) report.node_ok[w.node] = true;
    }
  }

 private:
  Outcome read(Worker& w) {
    return w.perform("read", Json(), Json(), [&] {
      TxnOutcome t = txn_->run(w.client(), keys_, [](const TxnSnapshot&) { return std::optional<TxnWrites>(TxnWrites{}); });
      if (t.status != TxnStatus::committed) return Completion{outcome_of(t.status), Json(), error_text(t), Json()};
      Json balances = Json::object();
      for (std::size_t i = 0; i < keys_.size(); ++i) {
        const TxnRead& r = t.reads.at(keys_[i]);
        balances.set(accounts_[i], r.found ? value_json(r.value) : Json());
      }
      return Completion{Outcome::ok, std::move(balances), "", Json()};
    }).outcome;
  }

  void transfer(Worker& w, std::size_t from, std::size_t to, std::int64_t amount) {
    Json value = Json::object();
    value.set("from", accounts_[from]);
    value.set("to", accounts_[to]);
    value.set("amount", amount);
    const std::string& kf = keys_[from];
    const std::string& kt = keys_[to];
    w.perform("transfer", Json(), value, [&] {
      TxnOutcome t = txn_->run(w.client(), {kf, kt}, [&](const TxnSnapshot& s) -> std::optional<TxnWrites> {
        // Plain integers, not optionals: g++ 12 -O2 sees optionals here as maybe-uninitialized.
        std::int64_t bf = 0, bt = 0;
        if (!balance(s.at(kf), bf) || !balance(s.at(kt), bt) || bf < amount) {
          return std::nullopt;  // a missing account, or insufficient funds
        }
        return TxnWrites{{kf, std::to_string(bf - amount)}, {kt, std::to_string(bt + amount)}};
      });
      return Completion{outcome_of(t.status), value, error_text(t), Json()};
    });
  }

  const int initial_;
  std::unique_ptr<TxnExecutor> txn_;
  std::vector<std::string> accounts_;  // as the checker names them: a0, a1, ...
  std::vector<std::string> keys_;      // as the store does: 4jb/a0, >jb/a1, ... (one per shard)
};

// ---------------------------------------------------------------------------------------------
// append: each key holds a JSON list of integers. A transaction is 1-4 micro-ops on the live
// keys, each an append of a fresh element or a read. A key takes at most ops_per_key appends
// (default 32), then a fresh key replaces it: lists stay short and reads cheap (Elle's habit).
class AppendWorkload final : public Workload {
 public:
  explicit AppendWorkload(const WorkloadOptions& o)
      : max_appends_(o.ops_per_key > 0 ? o.ops_per_key : 32),
        live_(static_cast<std::size_t>(o.active_keys > 0 ? o.active_keys : 8)),
        txn_(make_txn_executor(o.unsafe_blind_writes)) {
    for (std::size_t i = 0; i < live_.size(); ++i) live_[i] = LiveKey{next_key_++, 0};
  }

  void step(Worker& w) override {
    Json mops = Json::array();
    {
      std::lock_guard<std::mutex> lock(mu_);
      const std::uint64_t n = 1 + w.uniform(4);
      for (std::uint64_t i = 0; i < n; ++i) {
        LiveKey& slot = live_[w.uniform(live_.size())];
        Json mop = Json::array();
        if (w.unit() < 0.5) {
          mop.push_back(Json("append"));
          mop.push_back(Json(slot.key));
          mop.push_back(Json(++slot.appends));  // elements count up from 1 per key: unique
          if (slot.appends >= max_appends_) slot = LiveKey{next_key_++, 0};
        } else {
          mop.push_back(Json("r"));
          mop.push_back(Json(slot.key));
          mop.push_back(Json());
        }
        mops.push_back(std::move(mop));
      }
    }
    run_txn(w, mops);
  }

  void final_reads(std::vector<Worker>& workers, std::int64_t deadline_ns, FinalReport& report) override {
    std::int64_t keys = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      keys = next_key_;
    }
    // Every key ever used, in read-only transactions of at most 16 keys, through each node.
    for (Worker& w : workers) {
      bool all = true;
      for (std::int64_t first = 0; first < keys; first += 16) {
        Json mops = Json::array();
        for (std::int64_t k = first; k < std::min(keys, first + 16); ++k) {
          Json mop = Json::array();
          mop.push_back(Json("r"));
          mop.push_back(Json(k));
          mop.push_back(Json());
          mops.push_back(std::move(mop));
        }
        all = retry_until_ok(deadline_ns, report, [&] { return run_txn(w, mops); }) && all;
      }
      if (all) report.node_ok[w.node] = true;
    }
  }

 private:
  struct LiveKey {
    std::int64_t key = 0;
    std::int64_t appends = 0;
  };

  // List k lives in shard k mod 8 (spread_key): most transactions span shards.
  static std::string store_key(const Json& k) {
    return spread_key(static_cast<std::uint64_t>(k.as_int()), "jl/" + std::to_string(k.as_int()));
  }

  // A stored list; what cannot be parsed comes back as one string element, which the
  // checker then reports (nobody appended it).
  static Json parse_list(const TxnRead& r) {
    if (!r.found) return Json::array();
    std::optional<Json> list = checker::parse_json(r.value);
    if (list && list->is_array()) return *list;
    Json garbage = Json::array();
    garbage.push_back(Json(r.value));
    return garbage;
  }

  Outcome run_txn(Worker& w, const Json& mops) {
    std::vector<std::string> keys;
    for (const Json& mop : mops.as_array()) {
      const std::string k = store_key(mop.as_array()[1]);
      if (std::find(keys.begin(), keys.end(), k) == keys.end()) keys.push_back(k);
    }
    return w.perform("txn", Json(), mops, [&] {
      Json filled;  // the micro-ops with their reads, computed from the committed snapshot
      TxnOutcome t = txn_->run(w.client(), keys, [&](const TxnSnapshot& s) -> std::optional<TxnWrites> {
        std::map<std::string, Json> lists;
        for (const auto& [k, r] : s) lists[k] = parse_list(r);
        filled = Json::array();
        TxnWrites writes;
        for (const Json& mop : mops.as_array()) {
          const std::string k = store_key(mop.as_array()[1]);
          Json out = mop;
          if (mop.as_array()[0].as_string() == "append") {
            lists[k].push_back(mop.as_array()[2]);
            writes[k] = lists[k].dump();
          } else {
            out.as_array()[2] = lists[k];
          }
          filled.push_back(std::move(out));
        }
        return writes;
      });
      if (t.status != TxnStatus::committed) return Completion{outcome_of(t.status), Json(), error_text(t), Json()};
      return Completion{Outcome::ok, filled, "", Json()};
    }).outcome;
  }

  const std::int64_t max_appends_;
  std::mutex mu_;
  std::vector<LiveKey> live_;
  std::int64_t next_key_ = 0;
  std::unique_ptr<TxnExecutor> txn_;
};

}  // namespace

std::unique_ptr<Workload> make_bank_workload(const WorkloadOptions& options, HistoryLog& log) {
  return std::make_unique<BankWorkload>(options, log);
}

std::unique_ptr<Workload> make_append_workload(const WorkloadOptions& options) {
  return std::make_unique<AppendWorkload>(options);
}

}  // namespace kv::jepsen
