#include "server/log.h"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>

namespace kv::server {

namespace {
std::atomic<LogLevel> g_level{LogLevel::kInfo};
std::atomic<std::uint64_t> g_node{0};

const char* level_name(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug: return "DEBUG";
    case LogLevel::kInfo: return "INFO";
    case LogLevel::kWarn: return "WARN";
    case LogLevel::kError: return "ERROR";
  }
  return "?";
}
}  // namespace

bool parse_log_level(std::string_view text, LogLevel& out) {
  if (text == "debug") out = LogLevel::kDebug;
  else if (text == "info") out = LogLevel::kInfo;
  else if (text == "warn") out = LogLevel::kWarn;
  else if (text == "error") out = LogLevel::kError;
  else return false;
  return true;
}

void set_log_level(LogLevel level) { g_level.store(level); }
void set_log_node(std::uint64_t node_id) { g_node.store(node_id); }
bool log_enabled(LogLevel level) { return level >= g_level.load(std::memory_order_relaxed); }

LogLine::LogLine(LogLevel level, std::string_view message) {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto millis =
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &utc);
  char millis_text[8];
  std::snprintf(millis_text, sizeof millis_text, ".%03dZ", static_cast<int>(millis));
  out_ << stamp << millis_text << ' ' << level_name(level) << " node=" << g_node.load() << " msg=";
  write_quoted(message);
}

LogLine::~LogLine() {
  out_ << '\n';
  const std::string line = out_.str();
  std::fwrite(line.data(), 1, line.size(), stderr);
}

void LogLine::write_quoted(std::string_view text) {
  out_ << '"';
  for (char c : text) {
    if (c == '"' || c == '\\') out_ << '\\' << c;
    else if (c == '\n') out_ << "\\n";
    else out_ << c;
  }
  out_ << '"';
}

}  // namespace kv::server
