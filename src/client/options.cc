#include "client/options.h"

#include <charconv>

#include "client/result.h"
#include "client/types.h"

namespace kv::client {

const char* to_string(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kInvalidArgument: return "invalid-argument";
    case ErrorKind::kUnavailable: return "unavailable";
    case ErrorKind::kTimeout: return "timeout";
    case ErrorKind::kIndeterminate: return "indeterminate";
    case ErrorKind::kConflict: return "conflict";
    case ErrorKind::kUnsupported: return "unsupported";
    case ErrorKind::kInternal: return "internal";
    case ErrorKind::kClosed: return "closed";
  }
  return "unknown";
}

std::optional<HostPort> parse_host_port(const std::string& endpoint) {
  std::string host;
  std::string port_text;
  if (!endpoint.empty() && endpoint.front() == '[') {
    const auto close = endpoint.find(']');
    if (close == std::string::npos || close + 1 >= endpoint.size() || endpoint[close + 1] != ':') return std::nullopt;
    host = endpoint.substr(1, close - 1);
    port_text = endpoint.substr(close + 2);
  } else {
    const auto colon = endpoint.rfind(':');
    if (colon == std::string::npos) return std::nullopt;
    host = endpoint.substr(0, colon);
    port_text = endpoint.substr(colon + 1);
    if (host.find(':') != std::string::npos) return std::nullopt;  // bare IPv6 needs brackets
  }
  if (host.empty() || port_text.empty()) return std::nullopt;
  unsigned port = 0;
  const char* end = port_text.data() + port_text.size();
  const auto [ptr, ec] = std::from_chars(port_text.data(), end, port);
  if (ec != std::errc() || ptr != end || port == 0 || port > 65535) return std::nullopt;
  return HostPort{host, static_cast<std::uint16_t>(port)};
}

std::string Options::validate() const {
  if (endpoints.empty()) return "endpoints: at least one host:port is required";
  for (const std::string& e : endpoints) {
    if (!parse_host_port(e)) return "endpoints: \"" + e + "\" is not host:port";
  }
  if (request_timeout.count() <= 0) return "request_timeout must be > 0";
  if (operation_timeout.count() <= 0) return "operation_timeout must be > 0";
  if (connect_timeout.count() <= 0) return "connect_timeout must be > 0";
  if (backoff_min.count() <= 0) return "backoff_min must be > 0";
  if (backoff_max < backoff_min) return "backoff_max must be >= backoff_min";
  if (!(backoff_jitter >= 0.0 && backoff_jitter <= 1.0)) return "backoff_jitter must be within [0, 1]";
  if (max_sessions == 0) return "max_sessions must be > 0";
  return "";
}

std::string TransactionOptions::validate() const {
  if (max_attempts < 1) return "max_attempts must be >= 1";
  if (timeout.count() <= 0) return "timeout must be > 0";
  if (backoff_min.count() <= 0) return "backoff_min must be > 0";
  if (backoff_max < backoff_min) return "backoff_max must be >= backoff_min";
  if (!(backoff_jitter >= 0.0 && backoff_jitter <= 1.0)) return "backoff_jitter must be within [0, 1]";
  return "";
}

}  // namespace kv::client
