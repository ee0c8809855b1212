#include "harness.h"

#include <charconv>
#include <chrono>
#include <cstdlib>
#include <ctime>

#include "common/assert.h"

namespace kv::jepsen {

std::int64_t monotonic_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// ---- HistoryLog

HistoryLog::HistoryLog(const std::string& path) {
  file_ = std::fopen(path.c_str(), "a");
  if (file_ == nullptr) {
    std::fprintf(stderr, "jepsen_client: cannot open history %s\n", path.c_str());
    std::exit(3);
  }
}

HistoryLog::~HistoryLog() {
  if (file_ != nullptr) std::fclose(file_);
}

std::int64_t HistoryLog::log(Json event) {
  KV_ASSERT(event.is_object());
  std::lock_guard<std::mutex> lock(mu_);
  const std::int64_t now = monotonic_ns();
  // t_ns first, so a person reading the file sees the time at the start of each line.
  Json line = Json::object();
  line.set("t_ns", now);
  for (auto& [k, v] : event.as_object()) line.set(k, std::move(v));
  std::string text = line.dump();
  text.push_back('\n');
  KV_ASSERT(std::fwrite(text.data(), 1, text.size(), file_) == text.size());
  // Flushed at least every 100 ms: a crashed client loses little, and a live run can be
  // followed with tail -f, without an fflush per event.
  if (now - last_flush_ns_ > 100'000'000) {
    std::fflush(file_);
    last_flush_ns_ = now;
  }
  return now;
}

void HistoryLog::meta(const std::string& f, Json value) {
  Json event = Json::object();
  event.set("type", "meta");
  event.set("f", f);
  event.set("value", std::move(value));
  log(std::move(event));
  std::lock_guard<std::mutex> lock(mu_);
  std::fflush(file_);
}

// ---- Cluster

Cluster::Cluster(std::vector<NodeAddr> nodes, ClientTimeouts timeouts) : nodes_(std::move(nodes)), timeouts_(timeouts) {
  KV_ASSERT(!nodes_.empty());
  for (const NodeAddr& n : nodes_) {
    client::Options options;
    options.endpoints = {n.endpoint};
    // Jepsen's clients are bound to their node: reads are served there (writes go on to the
    // leaders), so a node cut off from the majority shows what it serves.
    options.reads_at_endpoints = true;
    options.request_timeout = std::chrono::milliseconds(timeouts.request_ms);
    options.operation_timeout = std::chrono::milliseconds(timeouts.operation_ms);
    options.connect_timeout = std::chrono::milliseconds(timeouts.connect_ms);
    options.backoff_max = std::chrono::milliseconds(200);
    const std::string bad = options.validate();
    KV_ASSERT_MSG(bad.empty(), bad.c_str());
    clients_.push_back(std::make_unique<client::BlockingClient>(std::move(options)));
  }
  KV_ASSERT(clients_.size() == nodes_.size());
}

// ---- classification

const char* to_string(Outcome o) {
  switch (o) {
    case Outcome::ok:
      return "ok";
    case Outcome::fail:
      return "fail";
    case Outcome::info:
      return "info";
  }
  return "info";
}

Outcome classify_write_error(client::ErrorKind kind) {
  switch (kind) {
    case client::ErrorKind::kInvalidArgument:
    case client::ErrorKind::kUnavailable:
    case client::ErrorKind::kTimeout:  // for writes: no session was free, nothing was sent
    case client::ErrorKind::kConflict:
    case client::ErrorKind::kClosed:
      return Outcome::fail;
    case client::ErrorKind::kIndeterminate:
    case client::ErrorKind::kUnsupported:  // includes "applied, but the result was lost"
    case client::ErrorKind::kInternal:
      return Outcome::info;
  }
  return Outcome::info;
}

Outcome classify_read_error(client::ErrorKind kind) {
  switch (kind) {
    case client::ErrorKind::kTimeout:
    case client::ErrorKind::kIndeterminate:
    case client::ErrorKind::kInternal:
      return Outcome::info;
    default:
      return Outcome::fail;
  }
}

// ---- RunControl

bool RunControl::take_op() {
  if (stopped_.load()) return false;
  if (monotonic_ns() >= deadline_ns_) return false;
  return ops_.fetch_add(1) < max_ops_;
}

void RunControl::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped_.store(true);
  }
  cv_.notify_all();
}

void RunControl::sleep_ns(std::int64_t ns) {
  if (ns <= 0) return;
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait_for(lock, std::chrono::nanoseconds(ns), [this] { return stopped_.load(); });
}

// ---- Worker

std::uint64_t Worker::uniform(std::uint64_t n) {
  KV_ASSERT(n > 0);
  return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng);
}

double Worker::unit() { return std::uniform_real_distribution<double>(0.0, 1.0)(rng); }

Completion Worker::perform(const std::string& f, const Json& key, const Json& value,
                           const std::function<Completion()>& run, const Json& extra) {
  KV_ASSERT(log != nullptr);
  Json invoke = Json::object();
  invoke.set("process", process);
  invoke.set("type", "invoke");
  invoke.set("f", f);
  if (!key.is_null()) invoke.set("key", key);
  invoke.set("value", value);
  invoke.set("node", node_name());
  if (extra.is_object()) {
    for (const auto& [k, v] : extra.as_object()) invoke.set(k, v);
  }
  log->log(std::move(invoke));

  Completion done = run();

  Json complete = Json::object();
  complete.set("process", process);
  complete.set("type", to_string(done.outcome));
  complete.set("f", f);
  if (!key.is_null()) complete.set("key", key);
  complete.set("value", done.outcome == Outcome::ok ? done.value : value);
  complete.set("node", node_name());
  if (!done.error.empty()) complete.set("error", done.error);
  if (extra.is_object()) {
    for (const auto& [k, v] : extra.as_object()) complete.set(k, v);
  }
  if (done.extra.is_object()) {
    for (const auto& [k, v] : done.extra.as_object()) complete.set(k, v);
  }
  log->log(std::move(complete));
  // Jepsen: a process whose op is indeterminate is gone; the thread carries on as a new one.
  if (done.outcome == Outcome::info) process += process_stride;
  return done;
}

// ---- values

std::optional<std::int64_t> parse_int(const std::string& s) {
  std::int64_t v = 0;
  const char* end = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(s.data(), end, v);
  if (ec != std::errc() || ptr != end || s.empty()) return std::nullopt;
  return v;
}

Json value_json(const std::string& s) {
  if (auto v = parse_int(s)) return Json(*v);
  return Json(s);
}

}  // namespace kv::jepsen
