// The run: lanes (an io_context, the thread running it, and the Clients it owns), closed-loop
// worker coroutines on them, and the main thread, which only watches the clock, samples
// /proc at the window's edges and prints the progress line. Workers touch only their own
// lane's state, so nothing needs a lock; the few counters the main thread reads are atomics.
#include "kvbench_run.h"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/io_context.hpp>
#include <asio/redirect_error.hpp>
#include <asio/steady_timer.hpp>
#include <asio/use_awaitable.hpp>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <random>
#include <stdexcept>
#include <thread>

#include "common/assert.h"
#include "kvbench_keys.h"
#include "kvbench_workloads.h"

namespace kv::bench {

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// After an error a worker pauses this long (as etcdload does), so a cluster that is down
// or electing is not hammered by a tight loop of failures.
constexpr auto kErrorPause = 10ms;
// Workers writing the key space before get and mixed runs (etcdload populates with 32).
constexpr int kPopulateClients = 32;
// Extra time, beyond the longest an operation may take, before the io threads are stopped.
constexpr auto kJoinSlack = 5s;

Clock::duration seconds(double s) { return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s)); }

// Who may start another operation, and which operations count.
class Window {
 public:
  // Duration mode: operations start until `stop_at`; those that start at or after
  // `measure_from` and end by `stop_at` are measured.
  Window(Clock::time_point measure_from, Clock::time_point stop_at) : measure_from_(measure_from), stop_at_(stop_at) {}
  // Count mode: exactly `count` operations start; all are measured.
  explicit Window(std::uint64_t count) : count_(count) {}

  // The operation's number, or nullopt: stop.
  std::optional<std::uint64_t> claim(Clock::time_point now) {
    const std::uint64_t ticket = tickets_.fetch_add(1, std::memory_order_relaxed);
    if (count_) return ticket < *count_ ? std::optional(ticket) : std::nullopt;
    return now < stop_at_ ? std::optional(ticket) : std::nullopt;
  }
  bool measured(Clock::time_point start, Clock::time_point end) const {
    return count_.has_value() || (start >= measure_from_ && end <= stop_at_);
  }

 private:
  Clock::time_point measure_from_{};
  Clock::time_point stop_at_ = Clock::time_point::max();
  std::optional<std::uint64_t> count_;
  std::atomic<std::uint64_t> tickets_{0};
};

// One io_context, the one thread that runs it, the Clients it owns and what their workers
// measured. Plain fields: lane thread only (read by the main thread after join).
struct Lane {
  asio::io_context io{1};  // concurrency hint 1: one thread, so Asio may skip its locking
  std::vector<std::unique_ptr<client::Client>> clients;
  int workers_running = 0;
  Histogram latency;
  std::uint64_t measured_ops = 0;
  std::uint64_t cas_failed = 0;
  std::uint64_t keys_written = 0;
  TxnStats txns;
  std::array<std::uint64_t, client::kErrorKindCount> errors_by_kind{};
  std::string first_error;
  std::atomic<std::uint64_t> ok_ops{0};  // warm-up included; for the progress line
  std::atomic<std::uint64_t> errors{0};
  std::atomic<bool> finished{false};
  std::thread thread;

  void note_error(const client::Error& e) {
    errors.fetch_add(1, std::memory_order_relaxed);
    ++errors_by_kind[static_cast<std::size_t>(e.kind)];
    if (first_error.empty()) first_error = std::string(client::to_string(e.kind)) + ": " + e.message;
  }
};

asio::awaitable<void> run_worker(Lane& lane, client::Client& client, Window& window, const WorkloadShared& shared,
                                 int index) {
  Worker worker(shared, index);
  asio::steady_timer pause(lane.io);
  // Bounded: the window stops handing out tickets (at its end or after --count).
  for (;;) {
    const Clock::time_point start = Clock::now();
    const std::optional<std::uint64_t> ticket = window.claim(start);
    if (!ticket) break;
    auto op = worker.next(client, *ticket);
    const Outcome out = co_await std::move(op);
    const Clock::time_point end = Clock::now();
    const bool measured = window.measured(start, end);
    // Every outcome counts here: gave-up and indeterminate runs are what the abort rate is about.
    if (measured && out.txn_attempts > 0) lane.txns.record(out.txn_end(), out.txn_attempts, out.participants);
    if (!out.ok) {
      lane.note_error(out.error);
      std::error_code ignored;
      pause.expires_after(kErrorPause);
      auto wait = pause.async_wait(asio::redirect_error(asio::use_awaitable, ignored));
      co_await std::move(wait);
      continue;
    }
    lane.ok_ops.fetch_add(1, std::memory_order_relaxed);
    lane.cas_failed += out.compare_failed ? 1 : 0;
    lane.keys_written += out.keys_written;
    if (measured) {
      lane.latency.record(static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(end - start).count()));
      ++lane.measured_ops;
    }
  }
}

client::Options client_options(const BenchConfig& c, int clients_per_connection) {
  client::Options o;
  o.endpoints = c.endpoints;
  o.operation_timeout = std::chrono::milliseconds(static_cast<std::int64_t>(c.operation_timeout_s * 1000));
  o.request_timeout = std::min(o.request_timeout, o.operation_timeout);
  o.connect_timeout = std::min(o.connect_timeout, o.operation_timeout);
  // One write in flight per client at most: never let the session limit be the bottleneck.
  o.max_sessions = std::max<std::size_t>(o.max_sessions, static_cast<std::size_t>(clients_per_connection));
  return o;
}

// `clients` workers over `connections` Clients over `io_threads` lanes, round-robin at each
// level: worker i uses Client i % K, Client k lives on lane k % T.
class Phase {
 public:
  Phase(const WorkloadShared& shared, int clients, int connections, int io_threads)
      : shared_(shared), clients_(clients) {
    KV_ASSERT(clients >= 1 && connections >= 1 && connections <= clients && io_threads >= 1);
    const int per_connection = (clients + connections - 1) / connections;
    const client::Options options = client_options(shared.config, per_connection);
    if (std::string bad = options.validate(); !bad.empty()) throw std::runtime_error(bad);
    for (int t = 0; t < std::min(io_threads, connections); ++t) lanes_.push_back(std::make_unique<Lane>());
    for (int k = 0; k < connections; ++k) {
      Lane& lane = *lanes_[static_cast<std::size_t>(k) % lanes_.size()];
      lane.clients.push_back(std::make_unique<client::Client>(lane.io, options));
      placement_.push_back({&lane, lane.clients.back().get()});
    }
  }

  ~Phase() {
    for (auto& lane : lanes_) {
      if (lane->thread.joinable()) {
        lane->io.stop();
        lane->thread.join();
      }
    }
  }

  void start(Window& window) {
    for (int i = 0; i < clients_; ++i) {
      auto [lane, connection] = placement_[static_cast<std::size_t>(i) % placement_.size()];
      ++lane->workers_running;
      auto worker = run_worker(*lane, *connection, window, shared_, i);
      asio::co_spawn(lane->io, std::move(worker), [lane](std::exception_ptr e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            lane->note_error(client::Error{client::ErrorKind::kInternal, std::string("worker failed: ") + ex.what()});
          }
        }
        // The last worker closes the lane's connections, so that io.run() returns.
        if (--lane->workers_running == 0) {
          for (auto& c : lane->clients) c->close();
        }
      });
    }
    for (auto& lane : lanes_) {
      Lane* l = lane.get();
      l->thread = std::thread([l] {
        l->io.run();
        l->finished.store(true);
      });
    }
  }

  bool finished() const {
    for (const auto& lane : lanes_) {
      if (!lane->finished.load()) return false;
    }
    return true;
  }
  std::uint64_t ok_ops() const { return sum([](const Lane& l) { return l.ok_ops.load(std::memory_order_relaxed); }); }
  std::uint64_t errors() const { return sum([](const Lane& l) { return l.errors.load(std::memory_order_relaxed); }); }

  // Waits for every lane to finish; past `give_up`, stops them (operations then abandoned).
  void join(Clock::time_point give_up) {
    while (!finished() && Clock::now() < give_up) std::this_thread::sleep_for(20ms);
    for (auto& lane : lanes_) {
      if (!lane->finished.load()) {
        std::fprintf(stderr, "kvbench: operations still running past their deadline; abandoning them\n");
        lane->io.stop();
      }
      lane->thread.join();
    }
  }

  // REQUIRES: join() returned.
  void collect(RunReport& r) const {
    std::array<std::uint64_t, client::kErrorKindCount> by_kind{};
    for (const auto& lane : lanes_) {
      r.latency_ns.merge(lane->latency);
      r.ops += lane->measured_ops;
      r.cas_failed += lane->cas_failed;
      r.keys_written += lane->keys_written;
      r.txns.merge(lane->txns);
      r.errors += lane->errors.load();
      for (std::size_t k = 0; k < by_kind.size(); ++k) by_kind[k] += lane->errors_by_kind[k];
      if (r.first_error.empty()) r.first_error = lane->first_error;
      for (const auto& c : lane->clients) {
        const client::ClientStats s = c->stats();
        r.attempts += s.attempts;
        r.redirects += s.redirects;
        r.connects += s.connects;
      }
    }
    for (std::size_t k = 0; k < by_kind.size(); ++k) {
      if (by_kind[k] > 0) r.errors_by_kind.emplace_back(client::to_string(static_cast<client::ErrorKind>(k)), by_kind[k]);
    }
  }

 private:
  template <class F>
  std::uint64_t sum(F f) const {
    std::uint64_t n = 0;
    for (const auto& lane : lanes_) n += f(*lane);
    return n;
  }

  const WorkloadShared& shared_;
  const int clients_;
  std::vector<std::unique_ptr<Lane>> lanes_;
  std::vector<std::pair<Lane*, client::Client*>> placement_;  // per connection
};

// CPU clocks at one instant.
struct CpuSample {
  Clock::time_point at;
  std::vector<std::optional<double>> servers;
  double self = 0;
  double host = 0;
};

CpuSample sample_cpu(const std::vector<int>& pids) {
  CpuSample s;
  s.at = Clock::now();
  for (int pid : pids) s.servers.push_back(process_cpu_seconds(pid));
  s.self = self_cpu_seconds();
  s.host = host_busy_seconds();
  return s;
}

// The machine's busy cores over the next second, waiting (up to quiet_max_s) for fewer than
// wait_quiet_cores; returns the last sample. Bounded by quiet_max_s + 1 s.
double wait_quiet(const BenchConfig& c) {
  const Clock::time_point deadline = Clock::now() + seconds(c.quiet_max_s);
  for (;;) {
    const double before = host_busy_seconds();
    const Clock::time_point t = Clock::now();
    std::this_thread::sleep_for(1s);
    const double busy = (host_busy_seconds() - before) / std::chrono::duration<double>(Clock::now() - t).count();
    if (c.wait_quiet_cores <= 0 || busy < c.wait_quiet_cores) return busy;
    if (Clock::now() >= deadline) {
      std::fprintf(stderr, "kvbench: the machine is still busy (%.2f cores) after %.0f s; measuring anyway\n", busy,
                   c.quiet_max_s);
      return busy;
    }
  }
}

// Shows progress on stderr: rewritten in place on a terminal, a line every 5 s otherwise.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : enabled_(enabled), tty_(::isatty(STDERR_FILENO) == 1) {}
  Clock::duration interval() const { return tty_ ? 1s : 5s; }
  void show(const std::string& workload, double elapsed_s, const char* phase, std::uint64_t ok, std::uint64_t errors) {
    if (!enabled_) return;
    const double rate = static_cast<double>(ok - last_ok_) / std::max(1e-3, elapsed_s - last_s_);
    last_ok_ = ok;
    last_s_ = elapsed_s;
    std::fprintf(stderr, "%skvbench %s %6.1f s %-10s %10llu ops %9.0f ops/s  %llu errors%s", tty_ ? "\r" : "",
                 workload.c_str(), elapsed_s, phase, static_cast<unsigned long long>(ok), rate,
                 static_cast<unsigned long long>(errors), tty_ ? "   " : "\n");
    std::fflush(stderr);
  }
  void done() {
    if (enabled_ && tty_) std::fputc('\n', stderr);
  }

 private:
  const bool enabled_;
  const bool tty_;
  std::uint64_t last_ok_ = 0;
  double last_s_ = 0;
};

// Runs `body(client)` on a Client of its own, to its end. Bounded: every operation of the
// client ends by its --timeout.
template <class Body>
void with_own_client(const BenchConfig& c, Body body) {
  asio::io_context io(1);
  client::Client client(io, client_options(c, 1));
  auto task = [&]() -> asio::awaitable<void> {
    auto running = body(client);
    co_await std::move(running);
    client.close();
  };
  asio::co_spawn(io, task(), asio::detached);
  io.run();
}

// Every shard's range, from the cluster's shard map.
std::vector<ShardRange> fetch_shard_ranges(const BenchConfig& c) {
  std::optional<client::Result<client::ShardMapResult>> map;
  with_own_client(c, [&](client::Client& client) -> asio::awaitable<void> {
    auto op = client.shard_map();
    client::Result<client::ShardMapResult> answer = co_await std::move(op);
    map.emplace(std::move(answer));
  });
  if (!map || !map->ok()) {
    throw std::runtime_error("cannot read the shard map: " + (map ? map->message() : std::string("no answer")));
  }
  std::vector<ShardRange> ranges;
  for (const net::ShardInfo& s : (*map)->shards) ranges.push_back(ShardRange{s.start_key, s.end_key});
  return ranges;
}

// txn --cross-shard (its first two shards) and transfer (all of them): a prefix per shard
// that can hold the key space, this run's tag in each.
TransferPool make_pool(const BenchConfig& c, const std::string& tag) {
  const std::vector<ShardRange> ranges = fetch_shard_ranges(c);
  // txn gives every client at least one key of its own, even beyond the key space.
  const std::uint64_t indexes = std::max(c.key_space, static_cast<std::uint64_t>(c.clients));
  std::vector<std::string> prefixes = shard_prefixes(ranges, tag, indexes, c.key_size);
  if (prefixes.size() < 2) {
    throw std::runtime_error(workload_name(c) + " needs keys on two shards, but " + std::to_string(prefixes.size()) +
                             " of the cluster's " + std::to_string(ranges.size()) +
                             " shard(s) can hold --key-space keys under one prefix (kvd --shards N)");
  }
  return TransferPool(std::move(prefixes), c.workload == Workload::kTransfer ? c.key_space : 2, c.key_size);
}

// Reads every balance of the transfer pool back (a range per shard, page by page; keys
// are prefix + digits, so [prefix, prefix + ":") holds exactly the pool's keys there).
// Shard by shard, not one snapshot, is enough: no transfer runs any more, and a read of a
// key still locked by a commit being resolved waits for the outcome.
BalanceCheck check_balances(const BenchConfig& c, const TransferPool& pool) {
  BalanceCheck check;
  with_own_client(c, [&](client::Client& client) -> asio::awaitable<void> {
    for (const std::string& prefix : pool.prefixes()) {
      std::string from = prefix;
      // Bounded: each page moves `from` past its last key, and the pool is finite.
      for (;;) {
        std::string start = from;
        std::string end = prefix + ":";
        auto op = client.range(std::move(start), std::move(end));
        const client::Result<client::RangeResult> page = co_await std::move(op);
        if (!page.ok()) {
          check.error = page.message();
          co_return;
        }
        for (const net::KeyValue& kv : page->kvs) {
          ++check.keys;
          const std::optional<std::int64_t> balance = parse_balance(kv.value);
          if (balance) check.sum += *balance;
          else ++check.bad_values;
        }
        if (!page->more || page->kvs.empty()) break;
        from = page->kvs.back().key + std::string(1, '\0');
      }
    }
  });
  if (check.error.empty() && check.keys > pool.keys()) check.error = "more keys than the pool holds";
  return check;
}

std::string random_value(std::size_t size, std::uint64_t seed) {
  std::mt19937_64 rng(seed ^ 0x9e3779b97f4a7c15ULL);
  std::string v(size, 'a');
  for (char& ch : v) ch = static_cast<char>('a' + rng() % 26);
  return v;
}

// Writes the whole key space of a get or mixed run, with fresh connections (so that the
// measured run's Clients start without a learned leader, spreading reads over the nodes
// as etcd's clients do).
void populate(const WorkloadShared& measured) {
  WorkloadShared shared = measured;
  shared.config.workload = Workload::kLoad;
  const std::uint64_t batches = (shared.config.key_space + shared.config.batch - 1) / shared.config.batch;
  const int clients = static_cast<int>(std::min<std::uint64_t>(kPopulateClients, batches));
  shared.config.clients = clients;
  Window window(batches);
  Phase phase(shared, clients, std::min(clients, 8), 1);
  phase.start(window);
  // Bounded: every batch takes at most kLoadAttempts operation timeouts.
  phase.join(Clock::time_point::max());
  RunReport r;
  phase.collect(r);
  if (r.errors > 0 || r.keys_written != shared.config.key_space) {
    throw std::runtime_error("writing the key space failed (" + std::to_string(r.keys_written) + " of " +
                             std::to_string(shared.config.key_space) + " keys): " + r.first_error);
  }
}

void fill_cpu(RunReport& r, const BenchConfig& c, const CpuSample& s0, const CpuSample& s1) {
  const double wall = std::chrono::duration<double>(s1.at - s0.at).count();
  for (std::size_t i = 0; i < c.server_pids.size(); ++i) {
    ServerUsage u;
    u.pid = c.server_pids[i];
    if (s0.servers[i] && s1.servers[i]) u.cpu_s = *s1.servers[i] - *s0.servers[i];
    u.memory = process_memory(u.pid);
    r.server_cpu_s += u.cpu_s;
    r.servers.push_back(u);
  }
  if (wall > 0) {
    r.loadgen_cpu_cores = (s1.self - s0.self) / wall;
    r.host_busy_cores = (s1.host - s0.host) / wall;
  }
}

// Everything before the clock starts: the seed, keys, a quiet machine, a populated key space.
WorkloadShared prepare(const BenchConfig& config, RunReport& report) {
  WorkloadShared shared;
  shared.config = config;
  if (shared.config.seed == 0) shared.config.seed = static_cast<std::uint64_t>(Clock::now().time_since_epoch().count());
  report.config.seed = shared.config.seed;
  shared.value = random_value(config.value_size, shared.config.seed);
  shared.prefix = WorkloadShared::default_prefix(config.workload, shared.config.seed);
  report.host_busy_before = wait_quiet(config);
  if (uses_run_transaction(config)) shared.pool = make_pool(config, shared.prefix);
  if ((config.workload == Workload::kGet || config.workload == Workload::kMixed) && config.populate) populate(shared);
  if (config.workload == Workload::kLoad) {
    shared.config.count = (config.key_space + config.batch - 1) / config.batch;  // one ticket per batch
  }
  return shared;
}

}  // namespace

RunReport run_benchmark(const BenchConfig& config) {
  RunReport report;
  report.config = config;
  const WorkloadShared shared = prepare(config, report);

  const Clock::time_point start = Clock::now();
  const Clock::time_point measure_from = start + seconds(config.warmup_s);
  const Clock::time_point stop_at = shared.config.count ? Clock::time_point::max() : measure_from + seconds(config.duration_s);
  Window window = shared.config.count ? Window(*shared.config.count) : Window(measure_from, stop_at);
  Phase phase(shared, config.clients, config.connections, config.io_threads);
  ProgressLine progress(config.progress);
  const std::string name = workload_name(config);

  CpuSample s0 = sample_cpu(config.server_pids);
  phase.start(window);
  bool sampled_start = shared.config.count.has_value();  // count mode: s0 is the start
  Clock::time_point next_progress = start + progress.interval();
  // Bounded: by stop_at in duration mode; by the workers finishing in count mode.
  for (;;) {
    const Clock::time_point now = Clock::now();
    if (!sampled_start && now >= measure_from) {
      s0 = sample_cpu(config.server_pids);
      sampled_start = true;
    }
    if (shared.config.count ? phase.finished() : now >= stop_at) break;
    if (now >= next_progress) {
      const char* what = shared.config.count ? "running" : now < measure_from ? "warm-up" : "measuring";
      progress.show(name, std::chrono::duration<double>(now - start).count(), what, phase.ok_ops(), phase.errors());
      next_progress += progress.interval();
    }
    Clock::time_point wake = std::min(next_progress, sampled_start ? stop_at : measure_from);
    // Count mode polls finished() often, since the run's length is measured by it.
    std::this_thread::sleep_until(std::min(wake, Clock::now() + (shared.config.count ? 5ms : 100ms)));
  }
  const CpuSample s1 = sample_cpu(config.server_pids);
  const Clock::time_point end = Clock::now();
  progress.show(name, std::chrono::duration<double>(end - start).count(), "done", phase.ok_ops(), phase.errors());
  progress.done();
  phase.join(end + seconds(config.operation_timeout_s) + kJoinSlack);

  phase.collect(report);
  report.seconds = shared.config.count ? std::chrono::duration<double>(end - start).count() : config.duration_s;
  fill_cpu(report, config, s0, s1);
  report.load_average = load_average();
  if (config.workload == Workload::kTransfer) report.balance_check = check_balances(config, shared.pool);
  return report;
}

}  // namespace kv::bench
