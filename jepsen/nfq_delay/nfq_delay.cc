// nfq_delay: the harness's packet delay and loss, for a kernel without sch_netem.
//
//   nfq_delay QUEUE_NUM DELAY_MS JITTER_MS LOSS_PERCENT SECONDS [SEED]
//
// Packets sent to NFQUEUE QUEUE_NUM (an iptables rule in the same network namespace, with
// --queue-bypass) are held for DELAY_MS +- JITTER_MS (uniform) and then accepted, or dropped
// with probability LOSS_PERCENT/100. The verdict is the only thing that leaves this program:
// it never builds or sends a packet. It exits by itself after SECONDS (at most 3600), or on
// SIGTERM/SIGINT, accepting every packet it still holds, so a fault always heals; and if it
// dies, --queue-bypass lets traffic flow again.
//
// Jitter reorders packets, as netem's does; TCP copes, as it must on real networks.
#include <arpa/inet.h>
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <queue>
#include <random>
#include <string>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

std::int64_t now_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct Held {
  std::int64_t due_ns;
  std::uint32_t id;
  bool operator>(const Held& o) const { return due_ns > o.due_ns; }
};

struct State {
  nfq_q_handle* queue = nullptr;
  std::int64_t delay_ns = 0;
  std::int64_t jitter_ns = 0;
  double loss = 0.0;
  std::mt19937_64 rng;
  std::priority_queue<Held, std::vector<Held>, std::greater<Held>> held;
  std::uint64_t seen = 0, dropped = 0;
};

int on_packet(nfq_q_handle* queue, nfgenmsg*, nfq_data* data, void* arg) {
  auto* s = static_cast<State*>(arg);
  const nfqnl_msg_packet_hdr* header = nfq_get_msg_packet_hdr(data);
  if (header == nullptr) return 0;
  const std::uint32_t id = ntohl(header->packet_id);
  ++s->seen;
  if (s->loss > 0 && std::uniform_real_distribution<double>(0, 1)(s->rng) < s->loss) {
    ++s->dropped;
    return nfq_set_verdict(queue, id, NF_DROP, 0, nullptr);
  }
  std::int64_t d = s->delay_ns;
  if (s->jitter_ns > 0) d += std::uniform_int_distribution<std::int64_t>(-s->jitter_ns, s->jitter_ns)(s->rng);
  if (d <= 0) return nfq_set_verdict(queue, id, NF_ACCEPT, 0, nullptr);
  s->held.push(Held{now_ns() + d, id});
  return 0;
}

void release_due(State& s, std::int64_t now) {
  while (!s.held.empty() && s.held.top().due_ns <= now) {
    nfq_set_verdict(s.queue, s.held.top().id, NF_ACCEPT, 0, nullptr);
    s.held.pop();
  }
}

[[noreturn]] void usage(const char* why) {
  std::fprintf(stderr, "nfq_delay: %s\nusage: nfq_delay QUEUE_NUM DELAY_MS JITTER_MS LOSS_PERCENT SECONDS [SEED]\n", why);
  std::exit(2);
}

long arg(const char* s, long lo, long hi, const char* what) {
  char* end = nullptr;
  errno = 0;
  const long v = std::strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) usage(what);
  return v;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 6 && argc != 7) usage("wrong number of arguments");
  const auto qnum = static_cast<std::uint16_t>(arg(argv[1], 0, 65535, "QUEUE_NUM must be 0..65535"));
  State s;
  s.delay_ns = arg(argv[2], 0, 10'000, "DELAY_MS must be 0..10000") * 1'000'000;
  s.jitter_ns = arg(argv[3], 0, 10'000, "JITTER_MS must be 0..10000") * 1'000'000;
  s.loss = static_cast<double>(arg(argv[4], 0, 100, "LOSS_PERCENT must be 0..100")) / 100.0;
  const std::int64_t seconds = arg(argv[5], 1, 3600, "SECONDS must be 1..3600");
  s.rng.seed(argc == 7 ? static_cast<std::uint64_t>(arg(argv[6], 0, 0x7fffffff, "bad SEED")) : 1);

  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
  nfq_handle* handle = nfq_open();
  if (handle == nullptr) usage("nfq_open failed (root, in the node's namespace?)");
  s.queue = nfq_create_queue(handle, qnum, &on_packet, &s);
  if (s.queue == nullptr) {
    std::fprintf(stderr, "nfq_delay: cannot bind queue %u: %s\n", qnum, std::strerror(errno));
    return 1;
  }
  // Only the packet id is needed; copying no payload keeps the socket cheap.
  if (nfq_set_mode(s.queue, NFQNL_COPY_META, 0) < 0) std::fprintf(stderr, "nfq_delay: COPY_META refused\n");
  nfq_set_queue_maxlen(s.queue, 20000);
  // When the queue is full the kernel accepts instead of dropping: overload never becomes loss.
  nfq_set_queue_flags(s.queue, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
  nfnl_rcvbufsiz(nfq_nfnlh(handle), 4 << 20);

  const int fd = nfq_fd(handle);
  const std::int64_t end = now_ns() + seconds * 1'000'000'000;
  std::vector<char> buf(1 << 16);
  while (g_stop == 0) {
    const std::int64_t now = now_ns();
    if (now >= end) break;
    release_due(s, now);
    std::int64_t wait_ns = 100'000'000;  // wake at least every 100 ms to see the clock and signals
    if (!s.held.empty()) wait_ns = std::min(wait_ns, s.held.top().due_ns - now);
    pollfd p{fd, POLLIN, 0};
    const int ready = ::poll(&p, 1, static_cast<int>(std::max<std::int64_t>(0, wait_ns / 1'000'000)));
    if (ready <= 0) continue;
    // Drain what is there without blocking.
    for (int i = 0; i < 256; ++i) {
      const ssize_t n = ::recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) break;  // EAGAIN, or ENOBUFS after an overflow (packets then were fail-open)
      nfq_handle_packet(handle, buf.data(), static_cast<int>(n));
    }
  }
  // Heal: let everything still held through.
  while (!s.held.empty()) {
    nfq_set_verdict(s.queue, s.held.top().id, NF_ACCEPT, 0, nullptr);
    s.held.pop();
  }
  nfq_destroy_queue(s.queue);
  nfq_close(handle);
  std::fprintf(stderr, "nfq_delay: queue %u: %llu packets, %llu dropped\n", qnum,
               static_cast<unsigned long long>(s.seen), static_cast<unsigned long long>(s.dropped));
  return 0;
}
