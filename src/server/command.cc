#include "server/command.h"

#include <cstring>
#include <vector>

#include "common/assert.h"
#include "net/client_codec.h"

namespace kv::server {

std::string encode_command(const net::Request& request) {
  KV_ASSERT(net::is_write(request.op));
  net::Request stored = request;
  stored.id = 0;
  stored.timeout_ms = 0;
  const net::EncodedFrame frame = net::encode_request(stored);
  const std::span<const std::uint64_t> payload = frame.payload();
  return std::string(reinterpret_cast<const char*>(payload.data()), payload.size_bytes());
}

net::Result<net::Request> decode_command(std::string_view data) {
  if (data.empty() || data.size() % sizeof(std::uint64_t) != 0) {
    return net::Result<net::Request>::failure("command: size is not a whole number of words");
  }
  // Log entries are not word-aligned in memory; Cap'n Proto requires it.
  std::vector<std::uint64_t> words(data.size() / sizeof(std::uint64_t));
  std::memcpy(words.data(), data.data(), data.size());
  return net::decode_request(words);
}

}  // namespace kv::server
