// kv_storage_bench: the hot path of the storage layer, NodeStore::persist() with sync=true
// (group commit), measured the way the server's storage thread drives it.
//
//   kv_storage_bench [--dir D] [--groups G] [--entries N] [--bytes B] [--seconds S]
//                    [--apply] [--baseline]
//
// Each persist() carries N entries of B bytes for each of G groups plus their hard states,
// as one synced WriteBatch. Every 10000 entries a group records a snapshot and compacts its
// log behind it (as the server does), so the log stays bounded. --apply also applies each
// batch's entries to the state machine (one unsynced ApplyBatch per group), as a follower
// would. Prints persists/s, entries/s, MB/s and persist latency percentiles.
// --baseline instead measures the physical floor on the same disk: append the same number
// of bytes to a plain file and fdatasync it, in a loop (no RocksDB, no encoding).
// Default: --dir /tmp (a real disk: fsync costs what it costs), 1 group x 100 x 256 B, 5 s.
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "storage/node_store.h"

namespace {

using kv::storage::GroupWrite;
using Clock = std::chrono::steady_clock;

struct Args {
  std::string dir = "/tmp";
  std::uint64_t groups = 1;
  std::uint64_t entries = 100;
  std::uint64_t bytes = 256;
  double seconds = 5;
  bool apply = false;
  bool baseline = false;
};

bool parse(int argc, char** argv, Args* a) {
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    const char* value = i + 1 < argc ? argv[i + 1] : nullptr;
    if (flag == "--apply" || flag == "--baseline") {
      (flag == "--apply" ? a->apply : a->baseline) = true;
      continue;
    }
    if (value == nullptr) return false;
    ++i;
    if (flag == "--dir") a->dir = value;
    else if (flag == "--groups") a->groups = std::strtoull(value, nullptr, 10);
    else if (flag == "--entries") a->entries = std::strtoull(value, nullptr, 10);
    else if (flag == "--bytes") a->bytes = std::strtoull(value, nullptr, 10);
    else if (flag == "--seconds") a->seconds = std::strtod(value, nullptr);
    else return false;
  }
  return a->groups > 0 && a->entries > 0 && a->seconds > 0;
}

void check(const kv::storage::Status& s, const char* what) {
  if (s.ok()) return;
  std::fprintf(stderr, "%s: %s\n", what, s.to_string().c_str());
  std::exit(1);
}

struct Timings {
  std::vector<double> latencies_us;
  double elapsed_s = 0;
};

void report(const Args& a, const char* what, Timings& t) {
  std::sort(t.latencies_us.begin(), t.latencies_us.end());
  auto pct = [&](double p) { return t.latencies_us[static_cast<std::size_t>(p * static_cast<double>(t.latencies_us.size() - 1))]; };
  const double ops = static_cast<double>(t.latencies_us.size());
  const double entries = ops * static_cast<double>(a.groups * a.entries);
  std::printf("%s dir=%s groups=%llu entries/group=%llu bytes=%llu apply=%d seconds=%.1f\n", what,
              a.dir.c_str(), static_cast<unsigned long long>(a.groups), static_cast<unsigned long long>(a.entries),
              static_cast<unsigned long long>(a.bytes), a.apply ? 1 : 0, t.elapsed_s);
  std::printf("  syncs/s=%.0f entries/s=%.0f MB/s=%.1f latency_us p50=%.0f p90=%.0f p99=%.0f max=%.0f\n",
              ops / t.elapsed_s, entries / t.elapsed_s, entries * static_cast<double>(a.bytes) / t.elapsed_s / 1e6,
              pct(0.5), pct(0.9), pct(0.99), t.latencies_us.back());
}

// The floor: append what one persist() carries (entries + ~30 bytes of key and header
// each) to a file and fdatasync it.
int run_baseline(const Args& a) {
  std::string path = a.dir + "/kv-storage-baseline-XXXXXX";
  const int fd = ::mkstemp(path.data());
  if (fd < 0) {
    std::perror("mkstemp");
    return 1;
  }
  const std::string chunk(a.groups * a.entries * (a.bytes + 30), 'v');
  Timings t;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(a.seconds);
  Clock::time_point now = start;
  while (now < deadline) {
    const auto t0 = Clock::now();
    if (::write(fd, chunk.data(), chunk.size()) != static_cast<ssize_t>(chunk.size()) || ::fdatasync(fd) != 0) {
      std::perror("write/fdatasync");
      return 1;
    }
    now = Clock::now();
    t.latencies_us.push_back(std::chrono::duration<double, std::micro>(now - t0).count());
  }
  t.elapsed_s = std::chrono::duration<double>(now - start).count();
  ::close(fd);
  ::unlink(path.c_str());
  report(a, "baseline(write+fdatasync)", t);
  return 0;
}

int run(const Args& a) {
  std::string tmpl = a.dir + "/kv-storage-bench-XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  kv::storage::StoreOptions o;
  o.path = tmpl;
  o.cluster_id = "bench";
  o.node_id = 1;
  auto opened = kv::storage::NodeStore::open(o);
  check(opened.status(), "open");
  kv::storage::NodeStore& store = *opened.value();
  for (kv::storage::GroupId g = 0; g < a.groups; ++g) check(store.create_group(g, {{1, 2, 3}, {}, {}}).status(), "create_group");

  // Entries are prepared once per group and re-indexed per batch (the data buffers stay).
  std::vector<std::vector<kv::raft::Entry>> batches(a.groups, std::vector<kv::raft::Entry>(a.entries));
  for (auto& b : batches) {
    for (auto& e : b) e = kv::raft::Entry{1, 0, kv::raft::EntryType::kNormal, std::string(a.bytes, 'v')};
  }
  std::vector<GroupWrite> writes(a.groups);
  std::vector<kv::storage::ApplyBatch> applies;
  for (kv::storage::GroupId g = 0; g < a.groups; ++g) applies.push_back(store.data().new_batch(g));
  Timings t;
  kv::raft::LogIndex next = 1;
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::duration<double>(a.seconds);
  Clock::time_point now = start;
  while (now < deadline) {
    for (kv::storage::GroupId g = 0; g < a.groups; ++g) {
      for (std::uint64_t k = 0; k < a.entries; ++k) batches[g][k].index = next + k;
      writes[g] = GroupWrite{g, nullptr, nullptr, batches[g], kv::raft::HardState{1, 1, next + a.entries - 1}};
    }
    const auto t0 = Clock::now();
    check(store.persist(writes), "persist");
    now = Clock::now();
    t.latencies_us.push_back(std::chrono::duration<double, std::micro>(now - t0).count());
    const kv::raft::LogIndex last = next + a.entries - 1;
    for (kv::storage::GroupId g = 0; a.apply && g < a.groups; ++g) {
      for (const auto& e : batches[g]) applies[g].put("key-" + std::to_string(e.index % 100000), e.data, e.index);
      applies[g].set_applied_index(last);
      check(store.data().apply(applies[g]), "apply");
    }
    if (last / 10000 != (next - 1) / 10000) {
      for (kv::storage::GroupId g = 0; g < a.groups; ++g) {
        check(store.create_snapshot(g, last, {{1, 2, 3}, {}, {}}, {}), "create_snapshot");
        check(store.compact(g, last - std::min<kv::raft::LogIndex>(last, 5000)), "compact");
      }
    }
    next = last + 1;
  }
  t.elapsed_s = std::chrono::duration<double>(now - start).count();
  report(a, "persist", t);
  opened.value().reset();
  std::filesystem::remove_all(tmpl);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse(argc, argv, &a)) {
    std::fprintf(stderr, "usage: kv_storage_bench [--dir D] [--groups G] [--entries N] [--bytes B] [--seconds S] "
                         "[--apply] [--baseline]\n");
    return 2;
  }
  return a.baseline ? run_baseline(a) : run(a);
}
