#include "sim/network.h"

#include <algorithm>

namespace kv::sim {

namespace {

// A random order of the node ids 1..n (Fisher-Yates with the run's Rng).
std::vector<NodeId> shuffled_nodes(int node_count, Rng& rng) {
  std::vector<NodeId> ids;
  for (int i = 1; i <= node_count; ++i) ids.push_back(static_cast<NodeId>(i));
  for (std::size_t i = ids.size(); i > 1; --i) std::swap(ids[i - 1], ids[rng.below(i)]);
  return ids;
}

constexpr std::size_t kReplayRingSize = 64;

}  // namespace

Connectivity::Connectivity(int node_count)
    : node_count_(node_count),
      up_(static_cast<std::size_t>((node_count + 1) * (node_count + 1)), true) {
  KV_ASSERT(node_count > 0);
}

std::size_t Connectivity::index(NodeId from, NodeId to) const {
  const auto n = static_cast<NodeId>(node_count_);
  KV_ASSERT(from >= 1 && from <= n);
  KV_ASSERT(to >= 1 && to <= n);
  return static_cast<std::size_t>(from * (n + 1) + to);
}

void Connectivity::set_both(NodeId a, NodeId b, bool is_up) {
  set(a, b, is_up);
  set(b, a, is_up);
}

void Connectivity::split(const std::vector<NodeId>& group) {
  for (NodeId a = 1; a <= static_cast<NodeId>(node_count_); ++a) {
    const bool a_in = std::find(group.begin(), group.end(), a) != group.end();
    for (NodeId b = 1; b <= static_cast<NodeId>(node_count_); ++b) {
      const bool b_in = std::find(group.begin(), group.end(), b) != group.end();
      if (a_in != b_in) set(a, b, false);
    }
  }
}

bool Connectivity::fully_connected() const {
  return std::all_of(up_.begin(), up_.end(), [](bool b) { return b; });
}

std::string Connectivity::describe_cuts() const {
  std::string out;
  for (NodeId a = 1; a <= static_cast<NodeId>(node_count_); ++a) {
    for (NodeId b = 1; b <= static_cast<NodeId>(node_count_); ++b) {
      if (a != b && !up(a, b)) out += (out.empty() ? "" : " ") + std::to_string(a) + "x" + std::to_string(b);
    }
  }
  return out.empty() ? "none" : out;
}

const char* to_string(PartitionShape shape) {
  switch (shape) {
    case PartitionShape::kHeal: return "heal";
    case PartitionShape::kSymmetricSplit: return "split";
    case PartitionShape::kOneWay: return "one-way";
    case PartitionShape::kIsolateLeader: return "isolate-leader";
    case PartitionShape::kBridge: return "bridge";
    case PartitionShape::kRing: return "ring";
    case PartitionShape::kRandomLinks: return "random-links";
  }
  return "unknown";
}

namespace {

void make_one_way(Connectivity& c, int n, Rng& rng) {
  const auto x = static_cast<NodeId>(rng.between(1, static_cast<std::uint64_t>(n)));
  const bool deaf = rng.chance(kPpmOne / 2);  // deaf: hears nobody; else mute: nobody hears it
  for (NodeId y = 1; y <= static_cast<NodeId>(n); ++y) {
    if (y == x) continue;
    if (deaf) c.set(y, x, false);
    else c.set(x, y, false);
  }
}

// Two halves joined only through one bridge node: with 5 nodes {a,b} - c - {d,e}. Each half
// plus the bridge is a majority, so the bridge decides who can lead.
void make_bridge(Connectivity& c, int n, Rng& rng) {
  const auto order = shuffled_nodes(n, rng);
  const std::size_t half = (order.size() - 1) / 2;
  for (std::size_t i = 1; i <= half; ++i) {
    for (std::size_t j = half + 1; j < order.size(); ++j) c.set_both(order[i], order[j], false);
  }
}

// Every node reaches only its ring neighbours. With 5 nodes each node plus its neighbours is
// a majority, but no two nodes see the same majority. With 3 nodes (where a bidirectional
// ring is a full mesh) the ring is one-directional: each node sends to its successor only.
void make_ring(Connectivity& c, int n, Rng& rng) {
  const auto order = shuffled_nodes(n, rng);
  const std::size_t size = order.size();
  for (std::size_t i = 0; i < size; ++i) {
    for (std::size_t j = 0; j < size; ++j) {
      if (i == j) continue;
      const bool next = (i + 1) % size == j;
      const bool prev = (j + 1) % size == i;
      c.set(order[i], order[j], size <= 3 ? next : (next || prev));
    }
  }
}

}  // namespace

Connectivity make_partition(PartitionShape shape, int node_count, NodeId leader, Rng& rng) {
  Connectivity c(node_count);
  switch (shape) {
    case PartitionShape::kHeal:
      break;
    case PartitionShape::kSymmetricSplit: {
      const auto order = shuffled_nodes(node_count, rng);
      const auto minority = rng.between(1, static_cast<std::uint64_t>(node_count / 2));
      c.split(std::vector<NodeId>(order.begin(), order.begin() + static_cast<long>(minority)));
      break;
    }
    case PartitionShape::kOneWay:
      make_one_way(c, node_count, rng);
      break;
    case PartitionShape::kIsolateLeader:
      if (leader == raft::kNoNode) leader = rng.between(1, static_cast<std::uint64_t>(node_count));
      c.split({leader});
      break;
    case PartitionShape::kBridge:
      make_bridge(c, node_count, rng);
      break;
    case PartitionShape::kRing:
      make_ring(c, node_count, rng);
      break;
    case PartitionShape::kRandomLinks:
      for (NodeId a = 1; a <= static_cast<NodeId>(node_count); ++a) {
        for (NodeId b = 1; b <= static_cast<NodeId>(node_count); ++b) {
          if (a != b && rng.chance(kPpmOne / 3)) c.set(a, b, false);
        }
      }
      break;
  }
  return c;
}

Network::Network(int node_count, Rng rng, Trace& trace)
    : node_count_(node_count),
      rng_(rng),
      trace_(trace),
      links_(node_count),
      clog_(static_cast<std::size_t>((node_count + 1) * (node_count + 1)), 0) {}

void Network::set_clog(NodeId from, NodeId to, SimTime extra_delay) {
  KV_ASSERT(from >= 1 && from <= static_cast<NodeId>(node_count_));
  KV_ASSERT(to >= 1 && to <= static_cast<NodeId>(node_count_));
  clog_[static_cast<std::size_t>(from * static_cast<NodeId>(node_count_ + 1) + to)] = extra_delay;
}

void Network::clear_clogs() { std::fill(clog_.begin(), clog_.end(), 0); }

SimTime Network::draw_delay(NodeId from, NodeId to) {
  const auto link = static_cast<std::size_t>(from * static_cast<NodeId>(node_count_ + 1) + to);
  return rng_.between(faults_.delay_min, faults_.delay_max) + clog_[link];
}

bool Network::send(SimTime now, Message message) {
  KV_ASSERT(message.from != message.to);
  KV_ASSERT(message.to >= 1 && message.to <= static_cast<NodeId>(node_count_));
  ++sent_;
  if (!links_.up(message.from, message.to) || rng_.chance(faults_.drop_ppm)) {
    ++dropped_;
    if (trace_.on()) trace_.line("net drop " + describe(message));
    return false;
  }
  if (rng_.chance(faults_.duplicate_ppm)) {
    if (trace_.on()) trace_.line("net duplicate " + describe(message));
    enqueue(now + draw_delay(message.from, message.to), message);
  }
  const SimTime at = now + draw_delay(message.from, message.to);
  enqueue(at, std::move(message));
  return true;
}

void Network::enqueue(SimTime at, Message message) {
  KV_ASSERT(at > 0);
  flight_.emplace(std::make_pair(at, seq_++), std::move(message));
}

void Network::maybe_replay(SimTime now) {
  if (recent_.empty() || !rng_.chance(faults_.replay_ppm)) return;
  Message old = recent_[rng_.below(recent_.size())];
  if (!links_.up(old.from, old.to)) return;
  if (trace_.on()) trace_.line("net replay " + describe(old));
  // A stale retransmission arrives late: up to a few maximum delays from now.
  enqueue(now + rng_.between(faults_.delay_max, 4 * faults_.delay_max + 1), std::move(old));
}

std::optional<Message> Network::pop_due(SimTime now) {
  if (flight_.empty() || flight_.begin()->first.first > now) return std::nullopt;
  auto node = flight_.extract(flight_.begin());
  Message message = std::move(node.mapped());
  // Remember it for replay; snapshots are large, replaying their appends is enough.
  if (faults_.replay_ppm > 0 && message.type != raft::MessageType::kSnapshot) {
    if (recent_.size() < kReplayRingSize) {
      recent_.push_back(message);
    } else {
      recent_[recent_next_] = message;
      recent_next_ = (recent_next_ + 1) % kReplayRingSize;
    }
  }
  return message;
}

}  // namespace kv::sim
