#include "checker/bank.h"

#include <algorithm>
#include <set>

#include "checker/check_assert.h"

namespace kv::checker {
namespace {

struct Params {
  std::vector<std::string> accounts;
  std::int64_t total = 0;
};

// Accounts and total from the options, else from the last "bank" meta event.
std::optional<Params> resolve_params(const History& h, const BankOptions& o, std::string& error) {
  Params p;
  const Json* meta = nullptr;
  for (const Json& m : h.meta) {
    if (m.find("f") != nullptr && *m.find("f") == Json("bank")) meta = m.find("value");
  }
  if (o.accounts) {
    p.accounts = *o.accounts;
  } else if (const Json* a = meta != nullptr ? meta->find("accounts") : nullptr; a != nullptr && a->is_array()) {
    for (const Json& name : a->as_array()) {
      if (!name.is_string()) {
        error = "bank meta: account names must be strings";
        return std::nullopt;
      }
      p.accounts.push_back(name.as_string());
    }
  }
  if (o.total) {
    p.total = *o.total;
  } else if (const Json* t = meta != nullptr ? meta->find("total") : nullptr; t != nullptr && t->is_int()) {
    p.total = t->as_int();
  } else {
    p.accounts.clear();
  }
  if (p.accounts.empty()) {
    error =
        "bank: accounts and total unknown: pass --accounts and --total, or write the meta event "
        "{\"type\":\"meta\",\"f\":\"bank\",\"value\":{\"accounts\":[...],\"total\":N}}";
    return std::nullopt;
  }
  return p;
}

Anomaly bad_read(const Op& op, std::string type, std::string why, Json detail) {
  Anomaly a;
  a.type = std::move(type);
  a.text = why + " in " + describe_op(op);
  a.detail = std::move(detail);
  a.detail.set("op", op_to_json(op));
  return a;
}

// Checks one ok read; returns how many anomalies it added, or -1 (error set) on bad input.
int check_read(const Op& op, const Params& p, const Budget& budget, CheckResult& out, std::string& error) {
  if (!op.result.is_object()) {
    error = "bank read result must be an object: " + describe_op(op);
    return -1;
  }
  int found = 0;
  std::int64_t sum = 0;
  bool complete = true;
  const std::set<std::string> known(p.accounts.begin(), p.accounts.end());
  for (const auto& [name, balance] : op.result.as_object()) {
    if (!balance.is_int() && !balance.is_null()) {
      error = "bank balances must be integers: " + describe_op(op);
      return -1;
    }
    if (known.count(name) == 0) {
      Json d = Json::object();
      d.set("account", name);
      out.add_anomaly(bad_read(op, "unexpected-account", "unknown account \"" + name + "\"", d),
                      budget.max_reports_per_type);
      ++found;
    }
  }
  for (const std::string& name : p.accounts) {
    const Json* b = op.result.find(name);
    Json d = Json::object();
    d.set("account", name);
    if (b == nullptr || b->is_null()) {
      complete = false;
      out.add_anomaly(bad_read(op, "missing-account", "account \"" + name + "\" missing", d),
                      budget.max_reports_per_type);
      ++found;
      continue;
    }
    sum += b->as_int();
    if (b->as_int() < 0) {
      d.set("balance", *b);
      out.add_anomaly(bad_read(op, "negative-balance", "account \"" + name + "\" = " + b->dump(), d),
                      budget.max_reports_per_type);
      ++found;
    }
  }
  if (complete && sum != p.total) {
    Json d = Json::object();
    d.set("sum", sum);
    d.set("expected", p.total);
    out.add_anomaly(
        bad_read(op, "wrong-total", "balances sum to " + std::to_string(sum) + ", not " + std::to_string(p.total), d),
        budget.max_reports_per_type);
    ++found;
  }
  return found;
}

}  // namespace

std::optional<CheckResult> check_bank(const History& h, const BankOptions& options, const Budget& budget,
                                      std::string* error) {
  std::string err;
  std::optional<Params> p = resolve_params(h, options, err);
  std::vector<const Op*> reads;
  std::int64_t transfers_ok = 0, transfers_other = 0;
  for (const Op& op : h.ops) {
    if (!p) break;
    if (op.f == "read") {
      if (op.ok()) reads.push_back(&op);
    } else if (op.f == "transfer") {
      (op.ok() ? transfers_ok : transfers_other) += 1;
    } else {
      err = "not a bank op (read, transfer): " + describe_op(op);
      p.reset();
    }
  }
  // "First" means first to complete: that is the order in which a reader learned of it.
  std::stable_sort(reads.begin(), reads.end(), [](const Op* a, const Op* b) { return a->complete_t < b->complete_t; });
  CheckResult out;
  const Op* first_bad = nullptr;
  std::int64_t bad_reads = 0;
  for (const Op* op : reads) {
    if (!p) break;
    const int n = check_read(*op, *p, budget, out, err);
    if (n < 0) p.reset();
    if (n > 0 && first_bad == nullptr) first_bad = op;
    bad_reads += n > 0 ? 1 : 0;
  }
  if (!p) {
    if (error != nullptr) *error = err;
    return std::nullopt;
  }
  if (reads.empty()) out.mark_unknown("no read of the bank succeeded");
  out.stats.set("accounts", static_cast<std::int64_t>(p->accounts.size()));
  out.stats.set("total", p->total);
  out.stats.set("reads_ok", static_cast<std::int64_t>(reads.size()));
  out.stats.set("bad_reads", bad_reads);
  out.stats.set("transfers_ok", transfers_ok);
  out.stats.set("transfers_failed_or_info", transfers_other);
  if (first_bad != nullptr) out.stats.set("first_bad_read", op_to_json(*first_bad));
  return out;
}

}  // namespace kv::checker
