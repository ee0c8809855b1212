#include "kvctl_txn.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "kvctl_args.h"

namespace kv::kvctl {

namespace {

bool is_punctuation(char c) { return c == '(' || c == ')' || c == '=' || c == '!' || c == '<' || c == '>'; }
bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r'; }

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Reads a "double quoted" word starting at line[i] == '"'; leaves i past the closing quote.
bool read_double_quoted(std::string_view line, std::size_t& i, std::string& out, std::string& error) {
  for (++i; i < line.size(); ++i) {
    const char c = line[i];
    if (c == '"') {
      ++i;
      return true;
    }
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i >= line.size()) break;
    switch (line[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      case '0': out += '\0'; break;
      case 'x': {
        const int hi = i + 1 < line.size() ? hex_digit(line[i + 1]) : -1;
        const int lo = i + 2 < line.size() ? hex_digit(line[i + 2]) : -1;
        if (hi < 0 || lo < 0) {
          error = "\\x needs two hex digits";
          return false;
        }
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        break;
      }
      default:
        error = std::string("unknown escape \\") + line[i];
        return false;
    }
  }
  error = "unterminated \"quote\"";
  return false;
}

// ---- compares

std::optional<net::CompareOp> compare_op(const Word& w) {
  if (w.quoted) return std::nullopt;
  if (w.text == "=" || w.text == "==") return net::CompareOp::kEqual;
  if (w.text == "!=") return net::CompareOp::kNotEqual;
  if (w.text == "<") return net::CompareOp::kLess;
  if (w.text == ">") return net::CompareOp::kGreater;
  return std::nullopt;
}

bool parse_compare(const std::vector<Word>& w, net::TxnCompare& out, std::string& error) {
  const bool call_shape = w.size() >= 4 && !w[0].quoted && w[1] == Word{"(", false} && w[3] == Word{")", false};
  if (!call_shape) {
    error = "a compare looks like ver(\"KEY\") = N, val(\"KEY\") = \"V\", absent(\"KEY\") or exists(\"KEY\")";
    return false;
  }
  const std::string& what = w[0].text;
  out.key = w[2].text;
  if (what == "absent" || what == "exists") {
    if (w.size() != 4) {
      error = what + "(KEY) takes no operator";
      return false;
    }
    out.op = what == "absent" ? net::CompareOp::kEqual : net::CompareOp::kNotEqual;
    out.target = net::CompareAbsent{};
    return true;
  }
  if (what != "ver" && what != "version" && what != "val" && what != "value") {
    error = "unknown compare \"" + what + "\" (ver, val, absent, exists)";
    return false;
  }
  std::optional<net::CompareOp> op = w.size() == 6 ? compare_op(w[4]) : std::nullopt;
  if (!op) {
    error = what + "(KEY) needs an operator (= != < >) and a value";
    return false;
  }
  out.op = *op;
  if (what == "val" || what == "value") {
    out.target = net::CompareValue{w[5].text};
    return true;
  }
  std::uint64_t version = 0;
  const std::string& text = w[5].text;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), version);
  if (text.empty() || ec != std::errc() || ptr != text.data() + text.size()) {
    error = "a version is a number, not \"" + text + "\"";
    return false;
  }
  out.target = net::CompareVersion{version};
  return true;
}

// ---- ops

// Rebuilds the op as a kvctl command line (flags first, then "--", then the words, so that a
// quoted word starting with '-' stays a word) and parses it with the commands' own parser.
bool parse_op(const std::vector<Word>& w, net::TxnOp& out, std::string& error) {
  static const std::vector<std::string> kOpFlags = {"--prev-kv", "--prefix", "--from-key", "--limit",
                                                    "--keys-only", "--count-only", "--serializable"};
  if (w.empty() || w[0].quoted || (w[0].text != "put" && w[0].text != "get" && w[0].text != "del")) {
    error = "an op is put, get or del";
    return false;
  }
  std::vector<std::string> flags;
  std::vector<std::string> words;
  for (std::size_t i = 1; i < w.size(); ++i) {
    if (w[i].quoted || w[i].text.size() < 2 || w[i].text[0] != '-') {
      words.push_back(w[i].text);
      continue;
    }
    const std::string name = w[i].text.substr(0, w[i].text.find('='));
    if (std::find(kOpFlags.begin(), kOpFlags.end(), name) == kOpFlags.end()) {
      error = w[0].text + ": unknown flag " + w[i].text + " in a txn op";
      return false;
    }
    flags.push_back(w[i].text);
    if (name == "--limit" && w[i].text == name && i + 1 < w.size()) flags.back() += "=" + w[++i].text;
  }
  std::vector<std::string> args{w[0].text};
  args.insert(args.end(), flags.begin(), flags.end());
  args.push_back("--");
  args.insert(args.end(), words.begin(), words.end());
  ParseResult parsed = parse_args(args);
  if (!parsed.invocation) {
    error = parsed.error;
    return false;
  }
  const CommandArgs& command = parsed.invocation->command;
  if (const auto* put = std::get_if<PutArgs>(&command)) {
    if (!put->value) {
      error = "put: a txn put needs KEY and VALUE";
      return false;
    }
    out = net::PutRequest{put->key, *put->value, put->prev_kv};
  } else if (const auto* get = std::get_if<GetArgs>(&command)) {
    if (get->is_point_read()) {
      out = net::GetRequest{get->key, get->range.serializable};
    } else {
      KeySpan span = key_span(get->key, get->end, get->prefix, get->from_key);
      const client::RangeOptions& o = get->range;
      out = net::RangeRequest{span.start, span.end, o.limit, o.serializable, o.keys_only, o.count_only};
    }
  } else {
    const auto& del = std::get<DelArgs>(command);
    KeySpan span = key_span(del.key, del.end, del.prefix, del.from_key);
    out = net::DeleteRequest{span.start, span.end, del.prev_kv};
  }
  return true;
}

bool is_blank(std::string_view line) {
  return std::all_of(line.begin(), line.end(), [](char c) { return is_space(c); });
}

bool is_comment(std::string_view line) {
  const auto first = line.find_first_not_of(" \t");
  return first != std::string_view::npos && line[first] == '#';
}

}  // namespace

std::optional<std::vector<Word>> split_words(std::string_view line, bool punctuation, std::string& error) {
  std::vector<Word> words;
  std::size_t i = 0;
  while (i < line.size()) {
    const char c = line[i];
    if (is_space(c)) {
      ++i;
    } else if (c == '"') {
      Word w{"", true};
      if (!read_double_quoted(line, i, w.text, error)) return std::nullopt;
      words.push_back(std::move(w));
    } else if (c == '\'') {
      const auto close = line.find('\'', i + 1);
      if (close == std::string_view::npos) {
        error = "unterminated 'quote'";
        return std::nullopt;
      }
      words.push_back(Word{std::string(line.substr(i + 1, close - i - 1)), true});
      i = close + 1;
    } else if (punctuation && is_punctuation(c)) {
      const bool two = (c == '!' || c == '=') && i + 1 < line.size() && line[i + 1] == '=';
      words.push_back(Word{std::string(line.substr(i, two ? 2 : 1)), false});
      i += two ? 2 : 1;
    } else {
      const std::size_t start = i;
      while (i < line.size() && !is_space(line[i]) && line[i] != '"' && line[i] != '\'' &&
             !(punctuation && is_punctuation(line[i]))) {
        ++i;
      }
      words.push_back(Word{std::string(line.substr(start, i - start)), false});
    }
  }
  return words;
}

TxnParseResult parse_txn(std::string_view text) {
  client::TxnRequest txn;
  int section = 0;  // 0 compares, 1 success, 2 failure
  std::size_t line_no = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    const std::string where = "line " + std::to_string(line_no) + ": ";
    if (is_blank(line)) {
      ++section;  // past the failure section, blank lines are harmless padding
      continue;
    }
    if (is_comment(line)) continue;
    if (section > 2) return {std::nullopt, where + "a fourth section: a txn has compares, success ops and failure ops"};
    std::string error;
    std::optional<std::vector<Word>> words = split_words(line, section == 0, error);
    if (!words) return {std::nullopt, where + error};
    if (section == 0) {
      net::TxnCompare compare;
      if (!parse_compare(*words, compare, error)) return {std::nullopt, where + error};
      txn.compares.push_back(std::move(compare));
    } else {
      net::TxnOp op;
      if (!parse_op(*words, op, error)) return {std::nullopt, where + error};
      (section == 1 ? txn.success : txn.failure).push_back(std::move(op));
    }
  }
  if (txn.compares.empty() && txn.success.empty() && txn.failure.empty()) {
    return {std::nullopt, "an empty transaction (see kvctl txn --help)"};
  }
  return {std::move(txn), ""};
}

}  // namespace kv::kvctl
