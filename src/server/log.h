// Structured, levelled logs to stderr, one logfmt line per event:
//   2026-11-25T11:50:00.123Z INFO node=1 msg="became leader" shard=0 term=3
// Cheap when a level is off: the line is never formatted. Thread-safe (one write per line).
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace kv::server {

enum class LogLevel : std::uint8_t { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

// Parses "debug", "info", "warn", "error". Returns false for anything else.
bool parse_log_level(std::string_view text, LogLevel& out);
void set_log_level(LogLevel level);
void set_log_node(std::uint64_t node_id);
bool log_enabled(LogLevel level);

class LogLine {
 public:
  LogLine(LogLevel level, std::string_view message);
  ~LogLine();  // writes the line
  LogLine(const LogLine&) = delete;
  LogLine& operator=(const LogLine&) = delete;

  template <class T>
  LogLine& kv(std::string_view key, const T& value) {
    out_ << ' ' << key << '=';
    if constexpr (std::is_convertible_v<const T&, std::string_view>) {
      write_quoted(value);
    } else {
      out_ << value;
    }
    return *this;
  }

 private:
  void write_quoted(std::string_view text);
  std::ostringstream out_;
};

}  // namespace kv::server

#define KV_LOG(level, message) \
  if (!::kv::server::log_enabled(::kv::server::LogLevel::level)) {} else ::kv::server::LogLine(::kv::server::LogLevel::level, message)
