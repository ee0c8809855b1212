// The single-key workloads: register (read/write/CAS on independent keys) and set (adds of
// unique elements, read back with range scans). Also the workload factory.
#include <chrono>
#include <mutex>
#include <thread>

#include "common/assert.h"
#include "workload.h"

namespace kv::jepsen {

std::unique_ptr<Workload> make_bank_workload(const WorkloadOptions& options, HistoryLog& log);
std::unique_ptr<Workload> make_append_workload(const WorkloadOptions& options);

std::string spread_key(std::uint64_t index, const std::string& name) {
  static constexpr char kShardFirst[] = "4>GPZclu";  // shards 0..7 of the default map
  return std::string(1, kShardFirst[index % (sizeof(kShardFirst) - 1)]) + name;
}

bool retry_until_ok(std::int64_t deadline_ns, FinalReport& report, const std::function<Outcome()>& attempt) {
  // Bounded twice: by the deadline and by a count (a fast-failing node cannot spin).
  for (int i = 0; i < 200 && monotonic_ns() < deadline_ns; ++i) {
    ++report.attempts;
    if (attempt() == Outcome::ok) {
      ++report.ok;
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250 + 250 * std::min(i, 3)));
  }
  return false;
}

namespace {

// ---------------------------------------------------------------------------------------------
// register: Jepsen's independent linearizable registers. A few keys are live at once; each
// is retired after ops_per_key ops, so no key's history grows past what WGL checks quickly,
// and about 10 workers at most share one key (jepsen-notes §5). Each op touches one key, so
// one shard; successive keys land on successive shards (spread_key), and key 0 on shard 0,
// whose leader is the one the nemesis calls "the leader".
class RegisterWorkload final : public Workload {
 public:
  explicit RegisterWorkload(const WorkloadOptions& o)
      : serializable_(o.serializable_reads),
        ops_per_key_(o.ops_per_key > 0 ? o.ops_per_key : 300),
        live_(static_cast<std::size_t>(o.active_keys > 0 ? o.active_keys : 2)),
        one_shard_(o.one_shard) {
    for (std::size_t i = 0; i < live_.size(); ++i) live_[i] = Live{next_key_++, 0, Json()};
  }

  void step(Worker& w) override {
    const auto [key, guess] = pick(w);
    const std::string store_key = register_key(key);
    const double r = w.unit();
    if (r < 0.5) {
      read(w, key, store_key, w.unit() < serializable_);
      return;
    }
    const std::int64_t fresh = next_value_.fetch_add(1);
    if (r < 0.75 || guess.is_null()) return write(w, key, store_key, fresh);
    cas(w, key, store_key, guess.as_int(), fresh);
  }

  void final_reads(std::vector<Worker>& workers, std::int64_t deadline_ns, FinalReport& report) override {
    std::vector<std::int64_t> keys;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (std::int64_t k = 0; k < next_key_; ++k) keys.push_back(k);
    }
    // Every key once, through the nodes in turn; every node at least once.
    for (std::size_t i = 0; i < std::max(keys.size(), workers.size()); ++i) {
      Worker& w = workers[i % workers.size()];
      const std::int64_t key = keys[i % keys.size()];
      const bool ok = retry_until_ok(deadline_ns, report, [&] {
        return read(w, key, register_key(key), false);
      });
      if (ok) report.node_ok[w.node] = true;
    }
  }

 private:
  std::string register_key(std::int64_t key) const {
    return spread_key(one_shard_ ? 0 : static_cast<std::uint64_t>(key), "jr/" + std::to_string(key));
  }

  struct Live {
    std::int64_t key = 0;
    int ops = 0;
    Json last;  // the last value an ok op saw or wrote: the CAS's guess
  };

  std::pair<std::int64_t, Json> pick(Worker& w) {
    std::lock_guard<std::mutex> lock(mu_);
    Live& slot = live_[w.uniform(live_.size())];
    std::pair<std::int64_t, Json> out{slot.key, slot.last};
    if (++slot.ops >= ops_per_key_) slot = Live{next_key_++, 0, Json()};
    return out;
  }

  void remember(std::int64_t key, const Json& value) {
    std::lock_guard<std::mutex> lock(mu_);
    for (Live& l : live_) {
      if (l.key == key) l.last = value;
    }
  }

  Outcome read(Worker& w, std::int64_t key, const std::string& store_key, bool serializable) {
    Json extra = Json::object();
    extra.set("consistency", serializable ? "serializable" : "linearizable");
    Completion c = w.perform("read", Json(key), Json(), [&] {
      auto got = w.client().get(store_key, client::GetOptions{serializable});
      if (!got.ok()) {
        return Completion{classify_read_error(got.kind()), Json(), std::string(to_string(got.kind())) + ": " + got.message(), Json()};
      }
      Json v = got->found ? value_json(got->value) : Json();
      Json more = Json::object();
      more.set("version", static_cast<std::int64_t>(got->version));
      return Completion{Outcome::ok, v, "", more};
    }, extra);
    if (c.outcome == Outcome::ok && c.value.is_int()) remember(key, c.value);
    return c.outcome;
  }

  void write(Worker& w, std::int64_t key, const std::string& store_key, std::int64_t value) {
    Completion c = w.perform("write", Json(key), Json(value), [&] {
      auto put = w.client().put(store_key, std::to_string(value));
      if (!put.ok()) {
        return Completion{classify_write_error(put.kind()), Json(), std::string(to_string(put.kind())) + ": " + put.message(), Json()};
      }
      return Completion{Outcome::ok, Json(value), "", Json()};
    });
    if (c.outcome == Outcome::ok) remember(key, Json(value));
  }

  void cas(Worker& w, std::int64_t key, const std::string& store_key, std::int64_t expected, std::int64_t value) {
    Json pair = Json::array();
    pair.push_back(Json(expected));
    pair.push_back(Json(value));
    Completion c = w.perform("cas", Json(key), pair, [&] {
      auto done = w.client().cas(store_key, client::expect_value(std::to_string(expected)), client::then_put(std::to_string(value)));
      if (!done.ok()) {
        return Completion{classify_write_error(done.kind()), Json(), std::string(to_string(done.kind())) + ": " + done.message(), Json()};
      }
      if (!done->succeeded) return Completion{Outcome::fail, Json(), "compare failed", Json()};
      return Completion{Outcome::ok, pair, "", Json()};
    });
    if (c.outcome == Outcome::ok) remember(key, Json(value));
  }

  const double serializable_;
  const int ops_per_key_;
  std::mutex mu_;
  std::vector<Live> live_;
  const bool one_shard_;
  std::int64_t next_key_ = 0;
  std::atomic<std::int64_t> next_value_{1};
};

// ---------------------------------------------------------------------------------------------
// set: every add is a put of its own key under 4js/; a read scans the prefix in pages of
// 5,000 (one range holds at most 10,000). Paging is not atomic, and need not be: keys are
// never deleted, so an add that completed before a read began is in some page of it, and a
// page can only hold keys somebody put. The checker's final read is the last ok read, taken
// after the faults are healed: every acknowledged add must be in it, through kills of a
// majority. Reads are rare (2%): each returns the whole set, so the history grows with
// reads x set size. Every key starts with "4js/", so the whole set lives in shard 0 and a
// read is a range within it; shard 0's leader is the one that the nemesis's leader faults
// hit (with "js/" the set sat in shard 6, on n2-n4, which those faults never touched).
class SetWorkload final : public Workload {
 public:
  explicit SetWorkload(const WorkloadOptions& o) : max_elements_(o.max_elements) {}

  void step(Worker& w) override {
    if (w.unit() < 0.02 || next_element_.load() >= max_elements_) {
      read(w);
      return;
    }
    add(w, next_element_.fetch_add(1));
  }

  void final_reads(std::vector<Worker>& workers, std::int64_t deadline_ns, FinalReport& report) override {
    for (Worker& w : workers) {
      if (retry_until_ok(deadline_ns, report, [&] { return read(w); })) report.node_ok[w.node] = true;
    }
  }

 private:
  static constexpr std::uint64_t kPage = 5000;

  // "4js/": shard 0, where the nemesis's "leader" (shard 0's) is.
  static const std::string& prefix() {
    static const std::string p = spread_key(0, "js/");
    return p;
  }

  void add(Worker& w, std::int64_t e) {
    w.perform("add", Json(), Json(e), [&] {
      auto put = w.client().put(prefix() + std::to_string(e), "1");
      if (!put.ok()) {
        return Completion{classify_write_error(put.kind()), Json(), std::string(to_string(put.kind())) + ": " + put.message(), Json()};
      }
      return Completion{Outcome::ok, Json(e), "", Json()};
    });
  }

  Outcome read(Worker& w) {
    return w.perform("read", Json(), Json(), [&] {
      Json elements = Json::array();
      const std::string end = client::prefix_end(prefix());
      std::string start = prefix();
      // Bounded: max_elements_ / kPage pages, plus one.
      for (std::int64_t page = 0; page <= max_elements_ / static_cast<std::int64_t>(kPage) + 1; ++page) {
        auto got = w.client().range(start, end, client::RangeOptions{kPage, true, false, false});
        if (!got.ok()) {
          return Completion{classify_read_error(got.kind()), Json(), std::string(to_string(got.kind())) + ": " + got.message(), Json()};
        }
        for (const auto& kv : got->kvs) elements.push_back(value_json(kv.key.substr(prefix().size())));
        if (!got->more || got->kvs.empty()) return Completion{Outcome::ok, std::move(elements), "", Json()};
        start = got->kvs.back().key + std::string(1, '\0');  // the next key after the last one read
      }
      return Completion{Outcome::fail, Json(), "the set outgrew --max-elements", Json()};
    }).outcome;
  }

  const std::int64_t max_elements_;
  std::atomic<std::int64_t> next_element_{0};
};

}  // namespace

std::unique_ptr<Workload> make_workload(const std::string& name, const WorkloadOptions& options, HistoryLog& log) {
  if (name == "register") return std::make_unique<RegisterWorkload>(options);
  if (name == "set") return std::make_unique<SetWorkload>(options);
  if (name == "bank") return make_bank_workload(options, log);
  if (name == "append") return make_append_workload(options);
  return nullptr;
}

}  // namespace kv::jepsen
