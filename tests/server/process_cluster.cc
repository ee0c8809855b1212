#include "process_cluster.h"

#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#ifndef KV_KVD_PATH
#error "KV_KVD_PATH must name the kvd binary under test"
#endif

namespace kv::test {

namespace {

// A port the kernel just handed out for 127.0.0.1. Another process could take it before
// kvd binds it; the window is small and the test then fails loudly, never silently.
std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind() failed");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

}  // namespace

ProcessCluster::ProcessCluster(Options options) : options_(std::move(options)), kvd_path_(KV_KVD_PATH) {
  char dir_template[] = "/tmp/kvtest-XXXXXX";
  if (::mkdtemp(dir_template) == nullptr) throw std::runtime_error("mkdtemp failed");
  root_ = dir_template;
  for (int i = 1; i <= options_.nodes; ++i) {
    Node n;
    n.id = i;
    n.peer_port = free_port();
    n.client_port = free_port();
    nodes_.push_back(n);
    initial_cluster_ += (i > 1 ? "," : "") + std::to_string(i) + "=127.0.0.1:" + std::to_string(n.peer_port) +
                        "/127.0.0.1:" + std::to_string(n.client_port);
  }
}

ProcessCluster::~ProcessCluster() {
  for (Node& n : nodes_) {
    if (n.pid > 0) reap(n, SIGKILL, std::chrono::milliseconds(5000));
  }
  std::error_code ec;
  std::filesystem::remove_all(root_, ec);
}

void ProcessCluster::start_all() {
  for (int i = 1; i <= size(); ++i) start(i);
}

void ProcessCluster::start(int id) {
  Node& n = nodes_.at(static_cast<std::size_t>(id - 1));
  if (n.pid > 0) throw std::logic_error("node already running");
  std::vector<std::string> args = {kvd_path_,
                                   "--node-id", std::to_string(id),
                                   "--initial-cluster", initial_cluster_,
                                   "--data-dir", data_dir(id),
                                   // Generous timeouts: three nodes and the test share two cores.
                                   "--tick-ms", "10", "--election-ticks", "50", "--heartbeat-ticks", "5"};
  args.insert(args.end(), options_.extra_args.begin(), options_.extra_args.end());
  const std::string log = log_path(id);
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // Should the test process die without running its destructors, its nodes die with it.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    FILE* out = std::freopen(log.c_str(), "a", stderr);
    if (out == nullptr) std::_Exit(127);
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  n.pid = pid;
}

void ProcessCluster::kill(int id) { reap(nodes_.at(static_cast<std::size_t>(id - 1)), SIGKILL, std::chrono::milliseconds(5000)); }

int ProcessCluster::terminate(int id) {
  Node& n = nodes_.at(static_cast<std::size_t>(id - 1));
  if (n.pid <= 0) return -1;
  ::kill(n.pid, SIGTERM);
  int status = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(n.pid, &status, WNOHANG) == n.pid) {
      n.pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  reap(n, SIGKILL, std::chrono::milliseconds(5000));
  return -1;
}

void ProcessCluster::reap(Node& node, int signal_to_send, std::chrono::milliseconds wait) {
  if (node.pid <= 0) return;
  ::kill(node.pid, signal_to_send);
  const auto deadline = std::chrono::steady_clock::now() + wait;
  int status = 0;
  while (::waitpid(node.pid, &status, WNOHANG) == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  node.pid = -1;
}

bool ProcessCluster::running(int id) const {
  const Node& n = nodes_.at(static_cast<std::size_t>(id - 1));
  return n.pid > 0 && ::kill(n.pid, 0) == 0;
}

pid_t ProcessCluster::pid(int id) const { return nodes_.at(static_cast<std::size_t>(id - 1)).pid; }

std::string ProcessCluster::client_endpoint(int id) const {
  return "127.0.0.1:" + std::to_string(nodes_.at(static_cast<std::size_t>(id - 1)).client_port);
}

std::uint16_t ProcessCluster::client_port(int id) const { return nodes_.at(static_cast<std::size_t>(id - 1)).client_port; }
std::uint16_t ProcessCluster::peer_port(int id) const { return nodes_.at(static_cast<std::size_t>(id - 1)).peer_port; }

std::vector<std::string> ProcessCluster::client_endpoints() const {
  std::vector<std::string> out;
  for (int i = 1; i <= size(); ++i) out.push_back(client_endpoint(i));
  return out;
}

std::string ProcessCluster::data_dir(int id) const { return root_ + "/node" + std::to_string(id); }
std::string ProcessCluster::log_path(int id) const { return root_ + "/node" + std::to_string(id) + ".log"; }

std::string ProcessCluster::log_tail(int id, std::size_t bytes) const {
  std::ifstream in(log_path(id));
  std::stringstream ss;
  ss << in.rdbuf();
  const std::string all = ss.str();
  return all.size() > bytes ? all.substr(all.size() - bytes) : all;
}

}  // namespace kv::test
