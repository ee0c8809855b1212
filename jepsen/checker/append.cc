#include "checker/append.h"

#include <algorithm>
#include <map>
#include <set>

#include "checker/append_internal.h"
#include "checker/check_assert.h"

namespace kv::checker {
namespace {

using append_detail::KeyState;
using append_detail::Model;
using append_detail::Mop;
using append_detail::Txn;

const Json kUnknown;

class Builder {
 public:
  Builder(const History& h, const Budget& budget, CheckResult& out) : h_(h), budget_(budget), out_(out) {}

  bool parse(std::string& error);
  bool index_appends(std::string& error);
  void check_reads();
  void infer_version_orders();
  DepGraph build_graph() const;
  const Model& model() const { return m_; }

 private:
  std::int32_t key_id(const Json& key);
  bool parse_mop(const Op& op, const Json& j, Mop& mop, std::string& error);
  void check_read(std::int32_t t, const Mop& mop, std::vector<std::int32_t>& elems);
  void check_internal(std::int32_t t, const std::vector<std::vector<std::int32_t>>& read_elems);
  void report(std::string type, std::string text, std::int32_t txn, Json detail);
  std::string list_text(const KeyState& k, const std::vector<std::int32_t>& elems) const;
  void add_rt_edges(DepGraph& g) const;
  std::vector<bool> committed_txns() const;
  void add_unread_append_edges(DepGraph& g, std::int32_t key, const std::vector<bool>& committed) const;

  const History& h_;
  const Budget& budget_;
  CheckResult& out_;
  Model m_;
  std::unordered_map<std::string, std::int32_t> key_ids_;
};

std::int32_t Builder::key_id(const Json& key) {
  auto [it, added] = key_ids_.emplace(key.dump(), static_cast<std::int32_t>(m_.keys.size()));
  if (added) {
    m_.keys.emplace_back();
    m_.keys.back().key = key;
  }
  return it->second;
}

bool Builder::parse_mop(const Op& op, const Json& j, Mop& mop, std::string& error) {
  const bool shaped = j.is_array() && j.size() == 3 && j.as_array()[0].is_string();
  const std::string f = shaped ? j.as_array()[0].as_string() : "";
  if (f != "append" && f != "r") {
    error = "micro-op must be [\"append\", k, v] or [\"r\", k, list|null]: " + j.dump() + " in " + describe_op(op);
    return false;
  }
  const Json& k = j.as_array()[1];
  const Json& arg = j.as_array()[2];
  const bool bad_key = k.is_null() || k.is_array() || k.is_object();
  const bool bad_arg =
      f == "append" ? arg.is_null() || arg.is_array() || arg.is_object() : !arg.is_null() && !arg.is_array();
  if (bad_key || bad_arg) {
    error = "malformed micro-op " + j.dump() + " in " + describe_op(op);
    return false;
  }
  mop.append = f == "append";
  mop.key = key_id(k);
  mop.arg = &arg;
  return true;
}

bool Builder::parse(std::string& error) {
  for (const Op& op : h_.ops) {
    if (op.f != "txn") {
      error = "not a txn op: " + describe_op(op);
      return false;
    }
    // An ok completion carries the txn with its reads filled in; otherwise what was asked.
    const Json& body = op.ok() ? op.result : op.value;
    if (!body.is_array()) {
      error = "txn value must be a list of micro-ops: " + describe_op(op);
      return false;
    }
    Txn t;
    t.op = &op;
    for (const Json& j : body.as_array()) {
      Mop mop;
      if (!parse_mop(op, j, mop, error)) return false;
      if (!op.ok() && !mop.append) mop.arg = &kUnknown;  // reads of failed/info txns are unknown
      t.mops.push_back(std::move(mop));
    }
    if (!op.failed()) {
      t.node = static_cast<std::int32_t>(m_.node_txn.size());
      m_.node_txn.push_back(static_cast<std::int32_t>(m_.txns.size()));
    }
    m_.txns.push_back(std::move(t));
  }
  return true;
}

bool Builder::index_appends(std::string& error) {
  for (std::size_t t = 0; t < m_.txns.size(); ++t) {
    std::map<std::int32_t, std::int32_t> last;  // key -> its last element appended by this txn
    for (const Mop& mop : m_.txns[t].mops) {
      if (!mop.append) continue;
      KeyState& k = m_.keys[static_cast<std::size_t>(mop.key)];
      const std::int32_t e = k.intern(*mop.arg);
      auto& w = k.writer[static_cast<std::size_t>(e)];
      if (w != -1) {
        error = "element " + mop.arg->dump() + " appended to key " + k.key.dump() + " twice (" +
                describe_op(*m_.txns[static_cast<std::size_t>(w)].op) + " and " + describe_op(*m_.txns[t].op) +
                "): the checker needs unique appends per key";
        return false;
      }
      w = static_cast<std::int32_t>(t);
      last[mop.key] = e;
    }
    for (const auto& [key, e] : last)
      m_.keys[static_cast<std::size_t>(key)].writer_final[static_cast<std::size_t>(e)] = true;
  }
  return true;
}

std::string Builder::list_text(const KeyState& k, const std::vector<std::int32_t>& elems) const {
  Json a = Json::array();
  for (std::int32_t e : elems) a.push_back(k.elems[static_cast<std::size_t>(e)]);
  return a.dump();
}

void Builder::report(std::string type, std::string text, std::int32_t txn, Json detail) {
  Anomaly a;
  a.type = std::move(type);
  a.text = std::move(text);
  a.detail = std::move(detail);
  a.detail.set("op", op_to_json(*m_.txns[static_cast<std::size_t>(txn)].op));
  out_.add_anomaly(std::move(a), budget_.max_reports_per_type);
}

// Reads-only anomalies of one read: duplicates, garbage, aborted (G1a), intermediate (G1b).
// Fills `elems` with the read's element ids.
void Builder::check_read(std::int32_t t, const Mop& mop, std::vector<std::int32_t>& elems) {
  KeyState& k = m_.keys[static_cast<std::size_t>(mop.key)];
  if (mop.arg->is_array()) {
    for (const Json& v : mop.arg->as_array()) elems.push_back(k.intern(v));
  }
  // Details are built only for reads that have something to report: most have nothing.
  auto detail = [&](std::int32_t writer) {
    Json d = Json::object();
    d.set("key", k.key);
    d.set("read", *mop.arg);
    if (writer >= 0) d.set("writer", op_to_json(*m_.txns[static_cast<std::size_t>(writer)].op));
    return d;
  };
  auto who = [&] { return describe_op(*m_.txns[static_cast<std::size_t>(t)].op); };
  std::vector<std::int32_t> distinct = elems;
  std::sort(distinct.begin(), distinct.end());
  distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
  if (distinct.size() != elems.size()) {
    report("duplicate-elements",
           "key " + k.key.dump() + " read " + mop.arg->dump() + " with a repeated element, in " + who(), t, detail(-1));
  }
  for (std::int32_t e : distinct) {
    const std::int32_t w = k.writer[static_cast<std::size_t>(e)];
    if (w != -1 && !m_.txns[static_cast<std::size_t>(w)].op->failed()) continue;
    const std::string what = "key " + k.key.dump() + " element " + k.elems[static_cast<std::size_t>(e)].dump();
    Json d = detail(w);
    d.set("element", k.elems[static_cast<std::size_t>(e)]);
    if (w == -1) {
      report("garbage-read", what + " was never appended, yet read by " + who(), t, std::move(d));
    } else {
      report("G1a",
             what + " was appended by failed " + describe_op(*m_.txns[static_cast<std::size_t>(w)].op) +
                 ", yet read by " + who(),
             t, std::move(d));
    }
  }
  if (elems.empty()) return;
  const std::int32_t last = elems.back();
  const std::int32_t w = k.writer[static_cast<std::size_t>(last)];
  if (w != -1 && w != t && !m_.txns[static_cast<std::size_t>(w)].op->failed() &&
      !k.writer_final[static_cast<std::size_t>(last)]) {
    report("G1b",
           "key " + k.key.dump() + ": " + who() + " read " + mop.arg->dump() + ", ending at " +
               k.elems[static_cast<std::size_t>(last)].dump() + ", an intermediate append of " +
               describe_op(*m_.txns[static_cast<std::size_t>(w)].op),
           t, detail(w));
  }
}

// A txn must see its own effects: after reading L and appending a, b it reads L ++ [a, b];
// with no earlier read, its reads must end with its own appends so far.
void Builder::check_internal(std::int32_t t, const std::vector<std::vector<std::int32_t>>& read_elems) {
  struct Expect {
    bool known = false;
    std::vector<std::int32_t> list;    // when known: the whole list expected
    std::vector<std::int32_t> suffix;  // otherwise: what it must end with
  };
  std::map<std::int32_t, Expect> expect;
  const auto& mops = m_.txns[static_cast<std::size_t>(t)].mops;
  for (std::size_t i = 0; i < mops.size(); ++i) {
    const Mop& mop = mops[i];
    KeyState& k = m_.keys[static_cast<std::size_t>(mop.key)];
    Expect& x = expect[mop.key];
    if (mop.append) {
      (x.known ? x.list : x.suffix).push_back(k.intern(*mop.arg));
      continue;
    }
    const std::vector<std::int32_t>& got = read_elems[i];
    const bool ok =
        x.known ? got == x.list
                : got.size() >= x.suffix.size() && std::equal(x.suffix.begin(), x.suffix.end(),
                                                              got.end() - static_cast<std::ptrdiff_t>(x.suffix.size()));
    if (!ok) {
      Json d = Json::object();
      d.set("key", k.key);
      d.set("read", *mop.arg);
      const std::string expected = x.known ? list_text(k, x.list) : "a list ending with " + list_text(k, x.suffix);
      d.set("expected", expected);
      report("internal",
             "key " + k.key.dump() + ": " + describe_op(*m_.txns[static_cast<std::size_t>(t)].op) + " read " +
                 mop.arg->dump() + " but its own earlier micro-ops imply " + expected,
             t, d);
    }
    x = Expect{true, got, {}};
  }
}

void Builder::check_reads() {
  for (std::size_t t = 0; t < m_.txns.size(); ++t) {
    if (!m_.txns[t].op->ok()) continue;
    const auto& mops = m_.txns[t].mops;
    std::vector<std::vector<std::int32_t>> read_elems(mops.size());
    for (std::size_t i = 0; i < mops.size(); ++i) {
      if (!mops[i].append) check_read(static_cast<std::int32_t>(t), mops[i], read_elems[i]);
    }
    check_internal(static_cast<std::int32_t>(t), read_elems);
    for (std::size_t i = 0; i < mops.size(); ++i) {
      if (mops[i].append) continue;
      // Duplicates are reported already; dropping repeats keeps them from also posing as
      // an incompatible order or a bogus dependency.
      std::vector<std::int32_t> elems = std::move(read_elems[i]);
      std::set<std::int32_t> seen;
      std::erase_if(elems, [&](std::int32_t e) { return !seen.insert(e).second; });
      m_.keys[static_cast<std::size_t>(mops[i].key)].reads.push_back({static_cast<std::int32_t>(t), std::move(elems)});
    }
  }
}

// The longest read of each key is its version order; every read must be a prefix of it.
void Builder::infer_version_orders() {
  for (KeyState& k : m_.keys) {
    const KeyState::Read* longest = nullptr;
    for (const auto& r : k.reads) {
      if (longest == nullptr || r.elems.size() > longest->elems.size()) longest = &r;
    }
    if (longest == nullptr) continue;
    k.order = longest->elems;
    for (std::size_t i = 0; i < k.order.size(); ++i) {
      auto& p = k.pos[static_cast<std::size_t>(k.order[i])];
      if (p == -1) p = static_cast<std::int32_t>(i);
    }
    for (const auto& r : k.reads) {
      if (std::equal(r.elems.begin(), r.elems.end(), k.order.begin())) continue;
      Json d = Json::object();
      d.set("key", k.key);
      d.set("read", list_text(k, r.elems));
      d.set("longest_read", list_text(k, k.order));
      d.set("longest_reader", op_to_json(*m_.txns[static_cast<std::size_t>(longest->txn)].op));
      report("incompatible-order",
             "key " + k.key.dump() + ": " + describe_op(*m_.txns[static_cast<std::size_t>(r.txn)].op) + " read " +
                 list_text(k, r.elems) + ", not a prefix of " + list_text(k, k.order) + " read by " +
                 describe_op(*m_.txns[static_cast<std::size_t>(longest->txn)].op),
             r.txn, d);
    }
  }
}

// Real-time edges, transitively reduced: when B is invoked it gets an edge from every txn
// in the "frontier" (completed, and not known to precede another completed txn that it
// could be reached through). Reachability equals "completed before invoked".
void Builder::add_rt_edges(DepGraph& g) const {
  struct Ev {
    std::int64_t t;
    int type;  // 0 invoke, 1 complete: invokes first at equal times, so ties get no edge
    std::int32_t node;
  };
  std::vector<Ev> evs;
  for (std::size_t n = 0; n < m_.node_txn.size(); ++n) {
    const Op& op = m_.op_of_node(static_cast<std::int32_t>(n));
    evs.push_back({op.invoke_t, 0, static_cast<std::int32_t>(n)});
    if (op.complete_t != kNever) evs.push_back({op.complete_t, 1, static_cast<std::int32_t>(n)});
  }
  std::sort(evs.begin(), evs.end(), [](const Ev& a, const Ev& b) { return a.t != b.t ? a.t < b.t : a.type < b.type; });
  std::vector<std::int32_t> frontier;
  for (const Ev& e : evs) {
    if (e.type == 0) {
      for (std::int32_t x : frontier) g.add(x, e.node, kRT);
      continue;
    }
    const std::int64_t invoked = m_.op_of_node(e.node).invoke_t;
    std::erase_if(frontier, [&](std::int32_t x) { return m_.op_of_node(x).complete_t < invoked; });
    frontier.push_back(e.node);
  }
}

// Txns known to have committed: ok ones, and info ones with an append that some read saw
// (txns are atomic, so their other appends happened too).
std::vector<bool> Builder::committed_txns() const {
  std::vector<bool> committed(m_.txns.size(), false);
  for (std::size_t t = 0; t < m_.txns.size(); ++t) committed[t] = m_.txns[t].op->ok();
  for (const KeyState& k : m_.keys) {
    for (const auto& r : k.reads) {
      for (std::int32_t e : r.elems) {
        const std::int32_t w = k.writer[static_cast<std::size_t>(e)];
        if (w >= 0 && !m_.txns[static_cast<std::size_t>(w)].op->failed()) committed[static_cast<std::size_t>(w)] = true;
      }
    }
  }
  return committed;
}

// A committed txn's append that no read saw still happened, and after every version that
// was read, since lists only grow. So the writer of the last version read precedes it (ww),
// and so does every reader of the key (rw). This is what catches a stale read of a key
// whose last appends are never read again. Not for other info txns: their unread appends
// may never have happened.
void Builder::add_unread_append_edges(DepGraph& g, std::int32_t key, const std::vector<bool>& committed) const {
  const KeyState& k = m_.keys[static_cast<std::size_t>(key)];
  std::vector<bool> read_somewhere(k.elems.size(), false);
  for (const auto& r : k.reads) {
    for (std::int32_t e : r.elems) read_somewhere[static_cast<std::size_t>(e)] = true;
  }
  for (std::size_t e = 0; e < k.elems.size(); ++e) {
    const std::int32_t w = k.writer[e];
    if (w < 0 || read_somewhere[e] || !committed[static_cast<std::size_t>(w)]) continue;
    const std::int32_t to = m_.txns[static_cast<std::size_t>(w)].node;
    const auto elem = static_cast<std::int32_t>(e);
    if (!k.order.empty()) {
      const std::int32_t last_writer = k.writer[static_cast<std::size_t>(k.order.back())];
      const std::int32_t from = last_writer < 0 ? -1 : m_.txns[static_cast<std::size_t>(last_writer)].node;
      if (from >= 0) g.add(from, to, kWW, {key, k.order.back(), elem, true});
    }
    for (const auto& r : k.reads) {
      g.add(m_.txns[static_cast<std::size_t>(r.txn)].node, to, kRW,
            {key, r.elems.empty() ? -1 : r.elems.back(), elem, true});
    }
  }
}

DepGraph Builder::build_graph() const {
  DepGraph g(m_.node_txn.size());
  const std::vector<bool> committed = committed_txns();
  auto node = [&](std::int32_t txn) { return txn < 0 ? -1 : m_.txns[static_cast<std::size_t>(txn)].node; };
  for (std::size_t key = 0; key < m_.keys.size(); ++key) {
    const KeyState& k = m_.keys[key];
    const auto kid = static_cast<std::int32_t>(key);
    auto writer_node = [&](std::int32_t e) { return node(k.writer[static_cast<std::size_t>(e)]); };
    for (std::size_t i = 0; i + 1 < k.order.size(); ++i) {
      const std::int32_t a = writer_node(k.order[i]), b = writer_node(k.order[i + 1]);
      if (a >= 0 && b >= 0) g.add(a, b, kWW, {kid, k.order[i], k.order[i + 1]});
    }
    for (const auto& r : k.reads) {
      const std::int32_t reader = node(r.txn);
      std::size_t next = 0;
      if (!r.elems.empty()) {
        const std::int32_t w = writer_node(r.elems.back());
        if (w >= 0) g.add(w, reader, kWR, {kid, r.elems.back(), -1});
        const std::int32_t p = k.pos[static_cast<std::size_t>(r.elems.back())];
        if (p < 0) continue;
        next = static_cast<std::size_t>(p) + 1;
      }
      if (next >= k.order.size()) continue;
      const std::int32_t w = writer_node(k.order[next]);
      if (w >= 0) g.add(reader, w, kRW, {kid, r.elems.empty() ? -1 : r.elems.back(), k.order[next]});
    }
    add_unread_append_edges(g, kid, committed);
  }
  add_rt_edges(g);
  return g;
}

}  // namespace

std::optional<CheckResult> check_append(const History& h, const Budget& budget, std::string* error) {
  const auto start = std::chrono::steady_clock::now();
  CheckResult out;
  Builder b(h, budget, out);
  std::string err;
  if (!b.parse(err) || !b.index_appends(err)) {
    if (error != nullptr) *error = err;
    return std::nullopt;
  }
  b.check_reads();
  b.infer_version_orders();
  const DepGraph g = b.build_graph();
  append_detail::find_cycle_anomalies(b.model(), g, budget, out);
  std::int64_t ok = 0, info = 0;
  for (const Op& op : h.ops) {
    ok += op.ok() ? 1 : 0;
    info += op.indeterminate() ? 1 : 0;
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.stats.set("txns", static_cast<std::int64_t>(h.ops.size()));
  out.stats.set("txns_ok", ok);
  out.stats.set("txns_info", info);
  out.stats.set("txns_failed", static_cast<std::int64_t>(h.ops.size()) - ok - info);
  out.stats.set("keys", static_cast<std::int64_t>(b.model().keys.size()));
  out.stats.set("edges_ww", static_cast<std::int64_t>(g.count(kWW)));
  out.stats.set("edges_wr", static_cast<std::int64_t>(g.count(kWR)));
  out.stats.set("edges_rw", static_cast<std::int64_t>(g.count(kRW)));
  out.stats.set("edges_rt", static_cast<std::int64_t>(g.count(kRT)));
  out.stats.set("seconds", seconds);
  out.stats.set("txns_per_second", seconds > 0 ? static_cast<double>(h.ops.size()) / seconds : 0.0);
  if (ok == 0) out.mark_unknown("no txn completed ok");
  return out;
}

}  // namespace kv::checker
