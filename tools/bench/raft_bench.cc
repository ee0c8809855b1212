// raft_bench: the consensus core alone — batched proposals per second through a 3-node
// group in one process, with MemoryStorage and an instant in-memory network. It measures
// the core's own cost (no I/O, no encoding), the ceiling the rest of the system works under.
//
// Usage: raft_bench [--batch N] [--proposals N] [--value-bytes N] [--nodes N]
// Bounded by --proposals (default 2,000,000); prints one line of results and JSON.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "consensus/memory_storage.h"
#include "consensus/raw_node.h"

namespace {

using namespace kv::raft;

struct Member {
  std::unique_ptr<MemoryStorage> storage;
  std::unique_ptr<RawNode> node;
  std::uint64_t applied_commands = 0;
};

struct Args {
  std::uint64_t batch = 256;
  std::uint64_t proposals = 2'000'000;
  std::size_t value_bytes = 16;
  int nodes = 3;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::uint64_t v = std::strtoull(argv[i + 1], nullptr, 10);
    if (!std::strcmp(argv[i], "--batch")) a.batch = v;
    else if (!std::strcmp(argv[i], "--proposals")) a.proposals = v;
    else if (!std::strcmp(argv[i], "--value-bytes")) a.value_bytes = v;
    else if (!std::strcmp(argv[i], "--nodes")) a.nodes = static_cast<int>(v);
    else {
      std::fprintf(stderr, "usage: raft_bench [--batch N] [--proposals N] [--value-bytes N] [--nodes N]\n");
      std::exit(2);
    }
  }
  return a;
}

// Handles one Ready as a real node would, with the network as a queue.
bool handle_ready(Member& m, std::deque<Message>& network) {
  if (!m.node->has_ready()) return false;
  Ready rd = m.node->ready();
  if (rd.snapshot) m.storage->apply_snapshot(*rd.snapshot);
  m.storage->append(rd.entries);
  if (rd.hard_state) m.storage->set_hard_state(*rd.hard_state);
  for (Message& msg : rd.messages) network.push_back(std::move(msg));
  for (Message& msg : rd.messages_after_persist) network.push_back(std::move(msg));
  for (const Entry& e : rd.committed_entries) m.applied_commands += e.data.empty() ? 0 : 1;
  if (rd.snapshot_request) {
    m.storage->create_snapshot(*rd.snapshot_request, m.storage->initial_state().conf, {});
    m.storage->compact(*rd.snapshot_request);
  }
  m.node->advance(rd);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse(argc, argv);
  ConfState conf;
  for (int i = 1; i <= args.nodes; ++i) conf.voters.push_back(static_cast<NodeId>(i));
  std::vector<Member> members(static_cast<std::size_t>(args.nodes));
  for (int i = 0; i < args.nodes; ++i) {
    Config c;
    c.id = static_cast<NodeId>(i + 1);
    c.random_seed = c.id;
    c.snapshot_interval_entries = 100000;  // keeps MemoryStorage from growing without end
    members[static_cast<std::size_t>(i)].storage = std::make_unique<MemoryStorage>(conf);
    members[static_cast<std::size_t>(i)].node =
        std::make_unique<RawNode>(c, *members[static_cast<std::size_t>(i)].storage);
  }
  std::deque<Message> network;
  auto settle = [&] {
    for (bool moved = true; moved;) {
      moved = false;
      for (Member& m : members) moved = handle_ready(m, network) || moved;
      while (!network.empty()) {
        Message msg = std::move(network.front());
        network.pop_front();
        members[msg.to - 1].node->step(msg);
        moved = true;
      }
    }
  };
  members[0].node->campaign();
  settle();
  if (members[0].node->role() != Role::kLeader) {
    std::fprintf(stderr, "raft_bench: node 1 did not become leader\n");
    return 1;
  }
  const std::string value(args.value_bytes, 'x');
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t proposed = 0;
  while (proposed < args.proposals) {
    std::vector<std::string> batch(args.batch, value);
    const ProposeResult r = members[0].node->propose(std::move(batch));
    if (r.error != ProposeError::kNone) {
      std::fprintf(stderr, "raft_bench: proposal refused\n");
      return 1;
    }
    proposed += args.batch;
    settle();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  for (const Member& m : members) {
    if (m.applied_commands != proposed) {
      std::fprintf(stderr, "raft_bench: a node applied %llu of %llu\n",
                   static_cast<unsigned long long>(m.applied_commands), static_cast<unsigned long long>(proposed));
      return 1;
    }
  }
  const double rate = static_cast<double>(proposed) / seconds;
  std::printf("raft_bench: %d nodes, batch %llu, %zu-byte commands: %llu proposals committed and applied on every node "
              "in %.2f s = %.0f proposals/s\n",
              args.nodes, static_cast<unsigned long long>(args.batch), args.value_bytes,
              static_cast<unsigned long long>(proposed), seconds, rate);
  std::printf("{\"nodes\":%d,\"batch\":%llu,\"value_bytes\":%zu,\"proposals\":%llu,\"seconds\":%.3f,"
              "\"proposals_per_second\":%.0f}\n",
              args.nodes, static_cast<unsigned long long>(args.batch), args.value_bytes,
              static_cast<unsigned long long>(proposed), seconds, rate);
  return 0;
}
