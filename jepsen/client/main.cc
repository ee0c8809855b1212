// jepsen_client: the harness's client side. Runs in the control namespace (jphub) and
// drives a real cluster with N worker threads, Jepsen's "processes", appending every op to a
// JSON Lines history (jepsen/checker/README.md) on CLOCK_MONOTONIC.
//
//   jepsen_client run --workload register|bank|append|set --nodes n1=10.77.0.1:7100,...
//                     --history FILE [--summary FILE] [--seed N] [--concurrency N] [--rate OPS/S]
//                     [--max-ops N] [--max-seconds S] [--final-seconds S] [...]
//   jepsen_client status --nodes n1=10.77.0.1:7100,...   (one JSON line per node)
//
// A run ends when stdin says "final" (or closes), the op budget is spent, or --max-seconds
// pass, whichever is first; then the workers finish their ops, and each node gets its final
// read (retried for up to --final-seconds). run.py sends "final" once every fault is healed
// and the recovery period is over.
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/assert.h"
#include "harness.h"
#include "workload.h"

namespace kv::jepsen {
namespace {

struct Args {
  std::string command;
  std::string workload;
  std::vector<NodeAddr> nodes;
  std::string history;
  std::string summary;
  std::uint64_t seed = 1;
  int concurrency = 10;
  double rate = 100.0;  // ops/s over all workers
  std::int64_t max_ops = 1'000'000;
  double max_seconds = 600;
  double final_seconds = 60;
  ClientTimeouts timeouts;
  WorkloadOptions workload_options;
};

[[noreturn]] void usage(const std::string& why) {
  std::fprintf(stderr,
               "jepsen_client: %s\n"
               "usage: jepsen_client run --workload register|bank|append|set --nodes NAME=HOST:PORT,...\n"
               "         --history FILE [--summary FILE] [--seed N] [--concurrency N] [--rate OPS_PER_S]\n"
               "         [--max-ops N] [--max-seconds S] [--final-seconds S] [--request-timeout-ms N]\n"
               "         [--op-timeout-ms N] [--serializable-reads FRACTION] [--keys N] [--ops-per-key N] [--one-shard true]\n"
               "         [--accounts N] [--unsafe-blind-writes true (TESTING ONLY: txns without compares)]\n"
               "       jepsen_client status --nodes NAME=HOST:PORT,...\n",
               why.c_str());
  std::exit(2);
}

std::vector<NodeAddr> parse_nodes(const std::string& spec) {
  std::vector<NodeAddr> out;
  std::size_t pos = 0;
  while (pos <= spec.size()) {
    const std::size_t comma = std::min(spec.find(',', pos), spec.size());
    const std::string item = spec.substr(pos, comma - pos);
    const std::size_t eq = item.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == item.size()) usage("bad --nodes item '" + item + "'");
    out.push_back(NodeAddr{item.substr(0, eq), item.substr(eq + 1)});
    pos = comma + 1;
  }
  return out;
}

double number(const std::string& flag, const std::string& v) {
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (v.empty() || end == nullptr || *end != '\0' || d < 0) usage(flag + " takes a non-negative number");
  return d;
}

Args parse_args(int argc, char** argv) {
  if (argc < 2) usage("missing command");
  Args a;
  a.command = argv[1];
  for (int i = 2; i < argc; i += 2) {
    const std::string f = argv[i];
    if (i + 1 >= argc) usage(f + " needs a value");
    const std::string v = argv[i + 1];
    if (f == "--workload") a.workload = v;
    else if (f == "--nodes") a.nodes = parse_nodes(v);
    else if (f == "--history") a.history = v;
    else if (f == "--summary") a.summary = v;
    else if (f == "--seed") a.seed = static_cast<std::uint64_t>(number(f, v));
    else if (f == "--concurrency") a.concurrency = static_cast<int>(number(f, v));
    else if (f == "--rate") a.rate = number(f, v);
    else if (f == "--max-ops") a.max_ops = static_cast<std::int64_t>(number(f, v));
    else if (f == "--max-seconds") a.max_seconds = number(f, v);
    else if (f == "--final-seconds") a.final_seconds = number(f, v);
    else if (f == "--request-timeout-ms") a.timeouts.request_ms = static_cast<int>(number(f, v));
    else if (f == "--op-timeout-ms") a.timeouts.operation_ms = static_cast<int>(number(f, v));
    else if (f == "--serializable-reads") a.workload_options.serializable_reads = number(f, v);
    else if (f == "--keys") a.workload_options.active_keys = static_cast<int>(number(f, v));
    else if (f == "--ops-per-key") a.workload_options.ops_per_key = static_cast<int>(number(f, v));
    else if (f == "--accounts") a.workload_options.accounts = static_cast<int>(number(f, v));
    else if (f == "--unsafe-blind-writes") a.workload_options.unsafe_blind_writes = v == "true";
    else if (f == "--one-shard") a.workload_options.one_shard = v == "true";
    else usage("unknown flag " + f);
  }
  if (a.nodes.empty()) usage("--nodes is required");
  if (a.command == "run") {
    if (a.history.empty()) usage("--history is required");
    if (a.workload != "register" && a.workload != "bank" && a.workload != "append" && a.workload != "set") {
      usage("--workload must be register, bank, append or set");
    }
    if (a.concurrency < 1 || a.concurrency > 200) usage("--concurrency must be 1..200");
    if (a.rate <= 0) usage("--rate must be positive");
    if (a.workload_options.accounts < 2) usage("--accounts must be at least 2");
  }
  return a;
}

// ---- status: what each node says about itself (run.py finds the leader with it)

const char* role_name(net::ReplicaRole r) {
  switch (r) {
    case net::ReplicaRole::kFollower: return "follower";
    case net::ReplicaRole::kPreCandidate: return "precandidate";
    case net::ReplicaRole::kCandidate: return "candidate";
    case net::ReplicaRole::kLeader: return "leader";
    case net::ReplicaRole::kLearner: return "learner";
  }
  return "unknown";
}

int status(const Args& a) {
  client::Options options;
  for (const NodeAddr& n : a.nodes) options.endpoints.push_back(n.endpoint);
  options.request_timeout = std::chrono::milliseconds(a.timeouts.request_ms);
  options.operation_timeout = std::chrono::milliseconds(a.timeouts.request_ms);
  options.connect_timeout = std::chrono::milliseconds(a.timeouts.connect_ms);
  client::BlockingClient c(options);
  // Asked in parallel: a paused node costs one timeout, not one per node.
  std::vector<std::string> lines(a.nodes.size());
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    threads.emplace_back([&, i] {
      Json j = Json::object();
      j.set("node", a.nodes[i].name);
      auto s = c.status(a.nodes[i].endpoint);
      j.set("ok", s.ok());
      if (s.ok()) {
        j.set("node_id", static_cast<std::int64_t>(s->node_id));
        j.set("leader", static_cast<std::int64_t>(s->leader));
        j.set("term", static_cast<std::int64_t>(s->term));
        j.set("commit_index", static_cast<std::int64_t>(s->commit_index));
        j.set("applied_index", static_cast<std::int64_t>(s->applied_index));
        // leader/term/indexes above are shard 0's (the node's "main" group), so role is too;
        // a node that does not replicate shard 0 says "none". Every shard it replicates is
        // listed under "shards" (which shards took writes, who leads them).
        std::string role = "none";
        Json shards = Json::array();
        for (const net::ShardStatus& sh : s->shards) {
          if (sh.shard == 0) role = role_name(sh.role);
          Json one = Json::object();
          one.set("shard", static_cast<std::int64_t>(sh.shard));
          one.set("role", role_name(sh.role));
          one.set("leader", static_cast<std::int64_t>(sh.leader));
          one.set("term", static_cast<std::int64_t>(sh.term));
          one.set("applied_index", static_cast<std::int64_t>(sh.applied_index));
          shards.push_back(std::move(one));
        }
        j.set("role", role);
        j.set("shards", std::move(shards));
      } else {
        j.set("error", std::string(client::to_string(s.kind())) + ": " + s.message());
      }
      lines[i] = j.dump();
    });
  }
  for (std::thread& t : threads) t.join();
  for (const std::string& l : lines) std::printf("%s\n", l.c_str());
  return 0;
}

// ---- run

void worker_loop(Worker& w, Workload& workload, RunControl& control, double per_worker_rate) {
  // Jepsen's stagger: a uniform pause in [0, 2/rate) between ops, so the mean rate holds
  // without lock-step bursts.
  const double mean_gap_ns = 1e9 / per_worker_rate;
  while (control.take_op()) {
    workload.step(w);
    control.sleep_ns(static_cast<std::int64_t>(2.0 * mean_gap_ns * w.unit()));
  }
}

// Workers 0..n-1 are the main phase's processes (worker i on node i mod nodes); the final
// readers are one per node, with process ids far above any worker's.
std::vector<Worker> make_workers(std::size_t count, std::int64_t first_process, std::int64_t stride,
                                 std::uint64_t seed, HistoryLog& log, Cluster& cluster) {
  std::vector<Worker> workers(count);
  for (std::size_t i = 0; i < count; ++i) {
    Worker& w = workers[i];
    w.index = i;
    w.process = first_process + static_cast<std::int64_t>(i);
    w.process_stride = stride;
    w.node = i % cluster.size();
    w.rng.seed(seed * 1'000'003 + static_cast<std::uint64_t>(first_process) + i);
    w.log = &log;
    w.cluster = &cluster;
  }
  return workers;
}

void write_summary(const Args& a, const Cluster& cluster, const FinalReport& report, std::int64_t start,
                   std::int64_t final_start) {
  Json summary = Json::object();
  summary.set("workload", a.workload);
  summary.set("seconds", static_cast<double>(monotonic_ns() - start) / 1e9);
  summary.set("final_read_attempts", report.attempts);
  summary.set("final_read_ok", report.ok);
  summary.set("final_read_seconds", static_cast<double>(monotonic_ns() - final_start) / 1e9);
  Json per_node = Json::object();
  bool all = true;
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    per_node.set(cluster.node(i).name, static_cast<bool>(report.node_ok[i]));
    all = all && report.node_ok[i];
  }
  summary.set("final_reads_by_node", std::move(per_node));
  summary.set("recovered", all);
  if (!a.summary.empty()) {
    std::FILE* f = std::fopen(a.summary.c_str(), "w");
    if (f != nullptr) {
      const std::string text = summary.dump_pretty() + "\n";
      std::fwrite(text.data(), 1, text.size(), f);
      std::fclose(f);
    }
  }
  std::fprintf(stderr, "jepsen_client: done: %s\n", summary.dump().c_str());
}

int run(const Args& a) {
  HistoryLog log(a.history);
  Cluster cluster(a.nodes, a.timeouts);
  std::unique_ptr<Workload> workload = make_workload(a.workload, a.workload_options, log);
  if (!workload) usage("unknown workload '" + a.workload + "'");
  const std::int64_t start = monotonic_ns();
  // Shared with the stdin thread, which may outlive this function (it is detached).
  auto control = std::make_shared<RunControl>(a.max_ops, start + static_cast<std::int64_t>(a.max_seconds * 1e9));
  std::vector<Worker> workers = make_workers(static_cast<std::size_t>(a.concurrency), 0, a.concurrency, a.seed, log, cluster);
  if (!workload->setup(workers[0], control->deadline_ns())) {
    std::fprintf(stderr, "jepsen_client: the cluster could not be set up for %s\n", a.workload.c_str());
    return 4;
  }
  std::fprintf(stderr, "jepsen_client: %s: %d workers at %.0f ops/s on %zu nodes, seed %llu\n", a.workload.c_str(),
               a.concurrency, a.rate, cluster.size(), static_cast<unsigned long long>(a.seed));

  // stdin: "final" (or end of file) ends the main phase.
  std::thread([control] {
    std::string line;
    while (std::getline(std::cin, line)) {
      if (line == "final" || line == "stop") break;
    }
    control->stop();
  }).detach();

  std::vector<std::thread> threads;
  for (Worker& w : workers) {
    threads.emplace_back([&w, &workload, &control, &a] { worker_loop(w, *workload, *control, a.rate / a.concurrency); });
  }
  for (std::thread& t : threads) t.join();
  control->stop();

  FinalReport report;
  report.node_ok.assign(cluster.size(), false);
  std::vector<Worker> finals =
      make_workers(cluster.size(), 1'000'000, static_cast<std::int64_t>(cluster.size()), a.seed, log, cluster);
  const std::int64_t final_start = monotonic_ns();
  workload->final_reads(finals, final_start + static_cast<std::int64_t>(a.final_seconds * 1e9), report);
  write_summary(a, cluster, report, start, final_start);
  std::fflush(nullptr);
  return 0;
}

}  // namespace
}  // namespace kv::jepsen

int main(int argc, char** argv) {
  const kv::jepsen::Args args = kv::jepsen::parse_args(argc, argv);
  if (args.command == "status") return kv::jepsen::status(args);
  if (args.command == "run") return kv::jepsen::run(args);
  kv::jepsen::usage("unknown command '" + args.command + "'");
}
