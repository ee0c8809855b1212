#include "checker/set.h"

#include <map>
#include <set>

#include "checker/check_assert.h"

namespace kv::checker {
namespace {

struct Adds {
  std::map<std::string, const Op*> ok, info, failed;  // canonical element -> its add
};

Anomaly element_anomaly(std::string type, const std::string& why, const Json& element, const Op* add,
                        const Op& final_read) {
  Anomaly a;
  a.type = std::move(type);
  a.text = why + " " + element.dump() + (add != nullptr ? " (" + describe_op(*add) + ")" : "") +
           "; final read: " + describe_op(final_read);
  a.detail = Json::object();
  a.detail.set("element", element);
  if (add != nullptr) a.detail.set("add", op_to_json(*add));
  a.detail.set("final_read", op_to_json(final_read));
  return a;
}

// Compares the final read with the adds; returns the number of elements seen.
std::size_t check_final_read(const Op& final_read, const Adds& adds, const Budget& budget, CheckResult& out,
                             std::int64_t& recovered) {
  std::map<std::string, Json> seen;
  for (const Json& e : final_read.result.as_array()) {
    const std::string k = e.dump();
    if (!seen.emplace(k, e).second) {
      out.add_anomaly(element_anomaly("duplicate-element", "element read twice:", e, nullptr, final_read),
                      budget.max_reports_per_type);
    }
  }
  for (const auto& [k, e] : seen) {
    if (adds.ok.count(k) != 0) continue;
    if (adds.info.count(k) != 0) {
      ++recovered;
      continue;
    }
    auto f = adds.failed.find(k);
    const Op* add = f == adds.failed.end() ? nullptr : f->second;
    out.add_anomaly(
        element_anomaly("unexpected-element",
                        add != nullptr ? "read an element whose add failed:" : "read an element never added:", e, add,
                        final_read),
        budget.max_reports_per_type);
  }
  for (const auto& [k, add] : adds.ok) {
    // An add still running when the final read began may legitimately be missing.
    if (seen.count(k) != 0 || add->complete_t >= final_read.invoke_t) continue;
    out.add_anomaly(element_anomaly("lost-add", "acknowledged add lost:", add->value, add, final_read),
                    budget.max_reports_per_type);
  }
  return seen.size();
}

}  // namespace

std::optional<CheckResult> check_set(const History& h, const Budget& budget, std::string* error) {
  Adds adds;
  const Op* final_read = nullptr;
  for (const Op& op : h.ops) {
    std::string err;
    if (op.f == "add") {
      auto& bucket = op.ok() ? adds.ok : op.failed() ? adds.failed : adds.info;
      bucket.emplace(op.value.dump(), &op);
    } else if (op.f == "read") {
      if (op.ok() && !op.result.is_array()) err = "set read result must be an array: " + describe_op(op);
      if (op.ok() && (final_read == nullptr || op.complete_t > final_read->complete_t)) final_read = &op;
    } else {
      err = "not a set op (add, read): " + describe_op(op);
    }
    if (!err.empty()) {
      if (error != nullptr) *error = err;
      return std::nullopt;
    }
  }
  CheckResult out;
  std::int64_t recovered = 0;
  std::size_t read_size = 0;
  if (final_read == nullptr) {
    out.mark_unknown("the set was never read");
  } else {
    read_size = check_final_read(*final_read, adds, budget, out, recovered);
    out.stats.set("final_read", op_to_json(*final_read));
  }
  out.stats.set("adds_ok", static_cast<std::int64_t>(adds.ok.size()));
  out.stats.set("adds_info", static_cast<std::int64_t>(adds.info.size()));
  out.stats.set("adds_failed", static_cast<std::int64_t>(adds.failed.size()));
  out.stats.set("info_adds_present", recovered);
  out.stats.set("final_read_size", static_cast<std::int64_t>(read_size));
  return out;
}

}  // namespace kv::checker
