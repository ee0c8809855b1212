// Hostile bytes on both of a node's ports: random garbage, truncated and oversized frames,
// unknown frame kinds, valid headers with garbage bodies. The node must close those
// connections and keep serving, losing nothing (design.md, "Failure behaviour").
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <random>

#include "cluster_fixture.h"

namespace kv::test {
namespace {

// Sends `bytes` on a fresh connection to 127.0.0.1:port, then closes it. Returns whether
// the connection was accepted (a refused connect would mean the node is down).
bool send_raw(std::uint16_t port, const std::string& bytes) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return false;
  }
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the node closed on us: that is the point
    sent += static_cast<std::size_t>(n);
  }
  ::close(fd);
  return true;
}

// The wire header: u32 LE payload length, u16 LE frame kind, magic 'K' 'V' (docs/protocol.md).
std::string header(std::uint32_t length, std::uint16_t kind) {
  std::string h(8, '\0');
  for (int i = 0; i < 4; ++i) h[static_cast<std::size_t>(i)] = static_cast<char>((length >> (8 * i)) & 0xff);
  h[4] = static_cast<char>(kind & 0xff);
  h[5] = static_cast<char>(kind >> 8);
  h[6] = 'K';
  h[7] = 'V';
  return h;
}

std::vector<std::string> hostile_inputs(std::mt19937_64& rng) {
  auto random_bytes = [&](std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
  };
  constexpr std::uint16_t kPeerHello = 1, kPeerBatch = 3, kSnapshotChunk = 4, kClientRequest = 5;
  std::vector<std::string> inputs = {
      random_bytes(1024),
      "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n",
      header(1000, kClientRequest) + random_bytes(100),      // truncated
      header(0xFFFFFFF8u, kClientRequest),                    // oversized
      header(64, 77) + random_bytes(64),                      // unknown frame kind
      header(13, kClientRequest) + random_bytes(13),          // not a whole number of words
      header(64, kClientRequest) + random_bytes(64),          // garbage body
      header(64, kPeerHello) + random_bytes(64),              // garbage handshake
      header(64, kPeerBatch) + random_bytes(64),              // a batch without a handshake
      header(64, kSnapshotChunk) + random_bytes(64),
  };
  for (int i = 0; i < 20; ++i) {
    const auto n = static_cast<std::uint32_t>(8 * (1 + rng() % 32));
    inputs.push_back(header(n, static_cast<std::uint16_t>(1 + rng() % 6)) + random_bytes(n));
  }
  return inputs;
}

TEST_CASE("garbage on the peer and client ports closes only those connections", "[cluster][robustness]") {
  ProcessCluster cluster({.nodes = 3});
  cluster.start_all();
  client::BlockingClient client(client_options(cluster.client_endpoints()));
  wait_for_leader(client, cluster);
  for (int i = 0; i < 100; ++i) REQUIRE(client.put("b/" + std::to_string(i), std::to_string(i)).ok());

  std::mt19937_64 rng(20261125);
  const auto inputs = hostile_inputs(rng);
  for (int id = 1; id <= cluster.size(); ++id) {
    for (const std::uint16_t port : {cluster.peer_port(id), cluster.client_port(id)}) {
      for (const std::string& bytes : inputs) REQUIRE(send_raw(port, bytes));
    }
  }
  for (int id = 1; id <= cluster.size(); ++id) {
    INFO("node " << id << " log:\n" << cluster.log_tail(id));
    REQUIRE(cluster.running(id));
  }
  // Still serving, and nothing lost.
  for (int i = 100; i < 200; ++i) REQUIRE(client.put("b/" + std::to_string(i), std::to_string(i)).ok());
  for (int i = 0; i < 200; ++i) {
    auto got = client.get("b/" + std::to_string(i));
    REQUIRE(got.ok());
    REQUIRE(got->value == std::to_string(i));
  }
}

}  // namespace
}  // namespace kv::test
