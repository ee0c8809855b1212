#include "checker/history.h"

#include <algorithm>
#include <fstream>
#include <sstream>
#include <unordered_map>

#include "checker/check_assert.h"

namespace kv::checker {

std::string_view outcome_name(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::fail:
      return "fail";
    case Outcome::info:
      return "info";
  }
  return "?";
}

namespace {

enum class EventType { invoke, ok, fail, info, meta };

struct Event {
  EventType type = EventType::invoke;
  bool client = false;  // process is an integer
  std::int64_t process = 0;
  std::optional<std::int64_t> t_ns;
  std::string f;
  Json key;
  Json value;
  std::string node;
};

std::optional<EventType> event_type(std::string_view s) {
  if (s == "invoke") return EventType::invoke;
  if (s == "ok") return EventType::ok;
  if (s == "fail") return EventType::fail;
  if (s == "info") return EventType::info;
  if (s == "meta") return EventType::meta;
  return std::nullopt;
}

// Decodes one line's object into an Event; returns an error message or "".
std::string decode_event(const Json& j, Event& ev) {
  if (!j.is_object()) return "an event must be a JSON object";
  const Json* type = j.find("type");
  if (type == nullptr || !type->is_string()) return "missing string field \"type\"";
  std::optional<EventType> t = event_type(type->as_string());
  if (!t) return "unknown type \"" + type->as_string() + "\"";
  ev.type = *t;
  if (const Json* v = j.find("value")) ev.value = *v;
  if (const Json* f = j.find("f")) {
    if (!f->is_string()) return "field \"f\" must be a string";
    ev.f = f->as_string();
  }
  if (ev.type == EventType::meta) return "";
  const Json* process = j.find("process");
  if (process == nullptr) return "missing field \"process\"";
  ev.client = process->is_int();
  if (ev.client) ev.process = process->as_int();
  if (const Json* tn = j.find("t_ns"); tn != nullptr && !tn->is_null()) {
    if (!tn->is_int()) return "field \"t_ns\" must be an integer";
    ev.t_ns = tn->as_int();
  }
  if (!ev.client) return "";
  if (ev.f.empty()) return "missing string field \"f\"";
  if (const Json* k = j.find("key")) ev.key = *k;
  if (const Json* n = j.find("node"); n != nullptr && n->is_string()) ev.node = n->as_string();
  return "";
}

Outcome outcome_of(EventType t) {
  switch (t) {
    case EventType::ok:
      return Outcome::ok;
    case EventType::fail:
      return Outcome::fail;
    default:
      return Outcome::info;
  }
}

// Pairs events into ops, in file order per process. State shared across lines.
class Pairer {
 public:
  std::string add(const Event& ev, std::size_t line) {
    if (ev.type == EventType::meta) {
      Json m = Json::object();
      m.set("f", ev.f);
      m.set("value", ev.value);
      history_.meta.push_back(std::move(m));
      return "";
    }
    std::string err = note_time(ev);
    if (!err.empty()) return err;
    if (!ev.client) {
      ++history_.ignored_events;
      return "";
    }
    return ev.type == EventType::invoke ? invoke(ev, line) : complete(ev, line);
  }

  std::optional<History> finish(std::string* error) {
    for (auto& op : history_.ops) {
      if (op.complete_line == 0) ++history_.unfinished_ops;
      if (timed_ == TimeMode::lines) op.invoke_t = static_cast<std::int64_t>(op.invoke_line);
      if (timed_ == TimeMode::lines && op.complete_line != 0) {
        op.complete_t = static_cast<std::int64_t>(op.complete_line);
      }
      if (op.complete_line != 0 && op.complete_t < op.invoke_t) {
        if (error != nullptr) {
          *error = "line " + std::to_string(op.complete_line) + ": completion is timestamped before its invocation";
        }
        return std::nullopt;
      }
      if (op.indeterminate()) op.complete_t = kNever;
    }
    std::stable_sort(history_.ops.begin(), history_.ops.end(), [](const Op& a, const Op& b) {
      return a.invoke_t != b.invoke_t ? a.invoke_t < b.invoke_t : a.invoke_line < b.invoke_line;
    });
    for (std::size_t i = 0; i < history_.ops.size(); ++i) history_.ops[i].index = i;
    return std::move(history_);
  }

  void count_event() { ++history_.events; }

 private:
  enum class TimeMode { unknown, ns, lines };

  std::string note_time(const Event& ev) {
    const TimeMode mode = ev.t_ns ? TimeMode::ns : TimeMode::lines;
    if (timed_ == TimeMode::unknown) timed_ = mode;
    if (timed_ != mode) return "field \"t_ns\" must be on every event or on none";
    return "";
  }

  std::string invoke(const Event& ev, std::size_t line) {
    if (open_.count(ev.process) != 0) {
      return "process " + std::to_string(ev.process) + " invokes while its op from line " +
             std::to_string(history_.ops[open_[ev.process]].invoke_line) + " is still open";
    }
    Op op;
    op.process = ev.process;
    op.f = ev.f;
    op.key = ev.key;
    op.value = ev.value;
    op.outcome = Outcome::info;  // until a completion says otherwise
    op.invoke_t = ev.t_ns.value_or(0);
    op.invoke_line = line;
    op.node = ev.node;
    open_[ev.process] = history_.ops.size();
    history_.ops.push_back(std::move(op));
    return "";
  }

  std::string complete(const Event& ev, std::size_t line) {
    auto it = open_.find(ev.process);
    if (it == open_.end()) return "completion for process " + std::to_string(ev.process) + " with no open invocation";
    Op& op = history_.ops[it->second];
    open_.erase(it);
    if (op.f != ev.f) return "completion f \"" + ev.f + "\" does not match invocation f \"" + op.f + "\"";
    op.outcome = outcome_of(ev.type);
    op.result = ev.value;
    op.complete_t = ev.t_ns.value_or(0);
    op.complete_line = line;
    if (!ev.node.empty()) op.node = ev.node;
    return "";
  }

  History history_;
  std::unordered_map<std::int64_t, std::size_t> open_;  // process -> index of its open op
  TimeMode timed_ = TimeMode::unknown;
};

}  // namespace

std::optional<History> parse_history(std::string_view text, std::string* error) {
  Pairer pairer;
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    pairer.count_event();
    std::string err;
    std::optional<Json> j = parse_json(line, &err);
    Event ev;
    if (j) err = decode_event(*j, ev);
    if (err.empty()) err = pairer.add(ev, line_no);
    if (!err.empty()) {
      if (error != nullptr) *error = "line " + std::to_string(line_no) + ": " + err;
      return std::nullopt;
    }
  }
  return pairer.finish(error);
}

std::optional<History> load_history(const std::string& path, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    if (error != nullptr) *error = "cannot open " + path;
    return std::nullopt;
  }
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) {
    if (error != nullptr) *error = "cannot read " + path;
    return std::nullopt;
  }
  return parse_history(buf.str(), error);
}

namespace {
std::string time_text(std::int64_t t) { return t == kNever ? "inf" : std::to_string(t); }
}  // namespace

// Register ops read as calls: "read(x) = 3", "write(x, 3)", "cas(x, [1,2])"; ops without
// a key show their value, or for ok ops what came back (a txn with its reads filled in).
std::string describe_op(const Op& op) {
  std::string s = "#" + std::to_string(op.index) + " p" + std::to_string(op.process) + " " + op.f;
  if (!op.key.is_null()) {
    s += "(" + op.key.dump() + (op.value.is_null() ? "" : ", " + op.value.dump()) + ")";
    if (op.ok() && op.f == "read") s += " = " + op.result.dump();
  } else {
    const Json& shown = op.ok() && !op.result.is_null() ? op.result : op.value;
    if (!shown.is_null()) s += " " + shown.dump();
  }
  s += " ";
  s += outcome_name(op.outcome);
  s += " [" + time_text(op.invoke_t) + ".." + time_text(op.complete_t) + "]";
  if (op.invoke_line != 0) s += " (line " + std::to_string(op.invoke_line) + ")";
  return s;
}

Json op_to_json(const Op& op) {
  Json j = Json::object();
  j.set("index", static_cast<std::int64_t>(op.index));
  j.set("process", op.process);
  j.set("f", op.f);
  if (!op.key.is_null()) j.set("key", op.key);
  j.set("value", op.value);
  if (op.ok()) j.set("result", op.result);
  j.set("type", outcome_name(op.outcome));
  j.set("invoke_t", op.invoke_t);
  if (op.complete_t != kNever) j.set("complete_t", op.complete_t);
  j.set("invoke_line", static_cast<std::int64_t>(op.invoke_line));
  if (op.complete_line != 0) j.set("complete_line", static_cast<std::int64_t>(op.complete_line));
  if (!op.node.empty()) j.set("node", op.node);
  return j;
}

}  // namespace kv::checker
