#include "checker/json.h"

#include <charconv>
#include <cmath>
#include <system_error>

#include "checker/check_assert.h"

namespace kv::checker {

static_assert(sizeof(Json) == 16, "Json is a 16-byte tagged union");

Json::Json(const Json& other) : kind_(other.kind_), u_(other.u_) {
  switch (kind_) {
    case Kind::string:
      u_.s = new std::string(*other.u_.s);
      break;
    case Kind::array:
      u_.a = new Array(*other.u_.a);
      break;
    case Kind::object:
      u_.o = new Object(*other.u_.o);
      break;
    default:
      break;  // scalars were copied with u_
  }
}

Json::~Json() {
  switch (kind_) {
    case Kind::string:
      delete u_.s;
      break;
    case Kind::array:
      delete u_.a;
      break;
    case Kind::object:
      delete u_.o;
      break;
    default:
      break;
  }
}

bool Json::as_bool() const {
  CHECKER_ASSERT(is_bool());
  return u_.i != 0;
}

std::int64_t Json::as_int() const {
  CHECKER_ASSERT(is_int());
  return u_.i;
}

double Json::as_double() const {
  CHECKER_ASSERT(is_number());
  return is_int() ? static_cast<double>(u_.i) : u_.d;
}

const std::string& Json::as_string() const {
  CHECKER_ASSERT(is_string());
  return *u_.s;
}

const Json::Array& Json::as_array() const {
  CHECKER_ASSERT(is_array());
  return *u_.a;
}

Json::Array& Json::as_array() {
  CHECKER_ASSERT(is_array());
  return *u_.a;
}

const Json::Object& Json::as_object() const {
  CHECKER_ASSERT(is_object());
  return *u_.o;
}

const Json* Json::find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : *u_.o) {
    if (k == key) return &v;
  }
  return nullptr;
}

Json& Json::set(std::string_view key, Json value) {
  CHECKER_ASSERT(is_object());
  auto& members = *u_.o;
  for (auto& [k, v] : members) {
    if (k == key) {
      v = std::move(value);
      return v;
    }
  }
  members.emplace_back(std::string(key), std::move(value));
  return members.back().second;
}

void Json::push_back(Json value) {
  CHECKER_ASSERT(is_array());
  u_.a->push_back(std::move(value));
}

bool operator==(const Json& a, const Json& b) {
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case Json::Kind::null:
      return true;
    case Json::Kind::boolean:
    case Json::Kind::integer:
      return a.u_.i == b.u_.i;
    case Json::Kind::real:
      return a.u_.d == b.u_.d;
    case Json::Kind::string:
      return *a.u_.s == *b.u_.s;
    case Json::Kind::array:
      return *a.u_.a == *b.u_.a;
    case Json::Kind::object:
      return *a.u_.o == *b.u_.o;
  }
  return false;
}

std::size_t Json::size() const {
  if (is_array()) return u_.a->size();
  if (is_object()) return u_.o->size();
  return 0;
}

// ---------------------------------------------------------------------------------------
// Writer

void append_json_string(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (u < 0x20) {
          out += "\\u00";
          out.push_back(kHex[u >> 4]);
          out.push_back(kHex[u & 0xF]);
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

namespace {

void append_double(std::string& out, double d) {
  // JSON has no NaN or infinity; null is the conventional stand-in.
  if (!std::isfinite(d)) {
    out += "null";
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
  CHECKER_ASSERT(ec == std::errc());
  std::string_view text(buf, static_cast<std::size_t>(end - buf));
  out += text;
  // Keep it a double on the way back in: "3" would re-parse as an integer.
  if (text.find_first_of(".eE") == std::string_view::npos) out += ".0";
}

// Scalars and empty containers print inline in dump_pretty().
bool is_scalar(const Json& j) { return (!j.is_array() && !j.is_object()) || j.size() == 0; }

void newline(std::string& out, int indent, int depth) {
  out.push_back('\n');
  out.append(static_cast<std::size_t>(indent * depth), ' ');
}

}  // namespace

void Json::dump_to(std::string& out, int indent, int depth) const {
  switch (kind()) {
    case Kind::null:
      out += "null";
      return;
    case Kind::boolean:
      out += as_bool() ? "true" : "false";
      return;
    case Kind::integer:
      out += std::to_string(as_int());
      return;
    case Kind::real:
      append_double(out, u_.d);
      return;
    case Kind::string:
      append_json_string(out, as_string());
      return;
    case Kind::array: {
      const auto& a = as_array();
      bool scalars = true;
      for (const auto& e : a) scalars = scalars && is_scalar(e);
      const bool multiline = indent > 0 && !scalars;
      out.push_back('[');
      for (std::size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out += indent > 0 && !multiline ? ", " : ",";
        if (multiline) newline(out, indent, depth + 1);
        a[i].dump_to(out, indent, depth + 1);
      }
      if (multiline && !a.empty()) newline(out, indent, depth);
      out.push_back(']');
      return;
    }
    case Kind::object: {
      const auto& o = as_object();
      out.push_back('{');
      for (std::size_t i = 0; i < o.size(); ++i) {
        if (i > 0) out.push_back(',');
        if (indent > 0) newline(out, indent, depth + 1);
        append_json_string(out, o[i].first);
        out += indent > 0 ? ": " : ":";
        o[i].second.dump_to(out, indent, depth + 1);
      }
      if (indent > 0 && !o.empty()) newline(out, indent, depth);
      out.push_back('}');
      return;
    }
  }
}

std::string Json::dump() const {
  std::string out;
  dump_to(out, 0, 0);
  return out;
}

std::string Json::dump_pretty(int indent) const {
  CHECKER_ASSERT(indent >= 0);
  std::string out;
  dump_to(out, indent, 0);
  return out;
}

// ---------------------------------------------------------------------------------------
// Parser: recursive descent over a string_view; depth bounded by kMaxJsonDepth.

namespace {

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  std::optional<Json> parse_document() {
    skip_ws();
    std::optional<Json> v = parse_value(0);
    if (!v) return std::nullopt;
    skip_ws();
    if (pos_ != s_.size()) return fail("unexpected trailing characters");
    return v;
  }

  const std::string& error() const { return error_; }

 private:
  std::nullopt_t fail(std::string_view what) {
    if (error_.empty()) error_ = std::string(what) + " at offset " + std::to_string(pos_);
    return std::nullopt;
  }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void skip_ws() {
    while (!at_end() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) ++pos_;
  }

  bool consume_literal(std::string_view lit) {
    if (s_.substr(pos_, lit.size()) != lit) return false;
    pos_ += lit.size();
    return true;
  }

  std::optional<Json> parse_value(int depth) {
    if (depth >= kMaxJsonDepth) return fail("nesting too deep");
    switch (peek()) {
      case '{':
        return parse_object(depth);
      case '[':
        return parse_array(depth);
      case '"': {
        std::optional<std::string> s = parse_string();
        if (!s) return std::nullopt;
        return Json(std::move(*s));
      }
      case 't':
        if (consume_literal("true")) return Json(true);
        break;
      case 'f':
        if (consume_literal("false")) return Json(false);
        break;
      case 'n':
        if (consume_literal("null")) return Json(nullptr);
        break;
      default:
        if (peek() == '-' || (peek() >= '0' && peek() <= '9')) return parse_number();
    }
    return fail(at_end() ? "unexpected end of input" : "unexpected character");
  }

  std::optional<Json> parse_array(int depth) {
    ++pos_;  // '['
    Json::Array items;
    skip_ws();
    if (peek() == ']') {
      ++pos_;
      return Json(std::move(items));
    }
    for (;;) {
      skip_ws();
      std::optional<Json> v = parse_value(depth + 1);
      if (!v) return std::nullopt;
      items.push_back(std::move(*v));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == ']') {
        ++pos_;
        return Json(std::move(items));
      }
      return fail("expected ',' or ']' in array");
    }
  }

  std::optional<Json> parse_object(int depth) {
    ++pos_;  // '{'
    Json obj = Json::object();
    skip_ws();
    if (peek() == '}') {
      ++pos_;
      return obj;
    }
    for (;;) {
      skip_ws();
      if (peek() != '"') return fail("expected a string key in object");
      std::optional<std::string> key = parse_string();
      if (!key) return std::nullopt;
      if (obj.find(*key) != nullptr) return fail("duplicate object key \"" + *key + "\"");
      skip_ws();
      if (peek() != ':') return fail("expected ':' after object key");
      ++pos_;
      skip_ws();
      std::optional<Json> v = parse_value(depth + 1);
      if (!v) return std::nullopt;
      obj.set(*key, std::move(*v));
      skip_ws();
      if (peek() == ',') {
        ++pos_;
        continue;
      }
      if (peek() == '}') {
        ++pos_;
        return obj;
      }
      return fail("expected ',' or '}' in object");
    }
  }

  std::optional<Json> parse_number() {
    const std::size_t start = pos_;
    if (peek() == '-') ++pos_;
    if (peek() == '0') {
      ++pos_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9') ++pos_;
    } else {
      return fail("malformed number");
    }
    bool integral = true;
    if (peek() == '.') {
      integral = false;
      ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) return fail("malformed number: digit expected after '.'");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    if (peek() == 'e' || peek() == 'E') {
      integral = false;
      ++pos_;
      if (peek() == '+' || peek() == '-') ++pos_;
      if (!(peek() >= '0' && peek() <= '9')) return fail("malformed number: digit expected in exponent");
      while (peek() >= '0' && peek() <= '9') ++pos_;
    }
    const char* first = s_.data() + start;
    const char* last = s_.data() + pos_;
    if (integral) {
      std::int64_t i = 0;
      auto [p, ec] = std::from_chars(first, last, i);
      if (ec == std::errc() && p == last) return Json(i);
      // Too large for int64: fall through and keep it as a double.
    }
    double d = 0;
    auto [p, ec] = std::from_chars(first, last, d);
    if (ec != std::errc() || p != last) return fail("number out of range");
    return Json(d);
  }

  // Reads 4 hex digits of a \u escape. Returns -1 on malformed input.
  int parse_hex4() {
    if (pos_ + 4 > s_.size()) return -1;
    int v = 0;
    for (int i = 0; i < 4; ++i) {
      const char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9')
        v |= c - '0';
      else if (c >= 'a' && c <= 'f')
        v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F')
        v |= c - 'A' + 10;
      else
        return -1;
    }
    return v;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  // A \u escape, possibly a surrogate pair; pos_ is just past the 'u'.
  bool parse_unicode_escape(std::string& out) {
    const int hi = parse_hex4();
    if (hi < 0) {
      fail("malformed \\u escape");
      return false;
    }
    std::uint32_t cp = static_cast<std::uint32_t>(hi);
    if (cp >= 0xDC00 && cp <= 0xDFFF) {
      fail("unpaired low surrogate");
      return false;
    }
    if (cp >= 0xD800 && cp <= 0xDBFF) {
      if (!consume_literal("\\u")) {
        fail("unpaired high surrogate");
        return false;
      }
      const int lo = parse_hex4();
      if (lo < 0xDC00 || lo > 0xDFFF) {
        fail("invalid low surrogate");
        return false;
      }
      cp = 0x10000 + ((cp - 0xD800) << 10) + (static_cast<std::uint32_t>(lo) - 0xDC00);
    }
    append_utf8(out, cp);
    return true;
  }

  std::optional<std::string> parse_string() {
    ++pos_;  // opening quote
    std::string out;
    for (;;) {
      if (at_end()) return fail("unterminated string");
      const char c = s_[pos_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) return fail("unescaped control character in string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (at_end()) return fail("unterminated escape");
      const char e = s_[pos_++];
      switch (e) {
        case '"':
          out.push_back('"');
          break;
        case '\\':
          out.push_back('\\');
          break;
        case '/':
          out.push_back('/');
          break;
        case 'b':
          out.push_back('\b');
          break;
        case 'f':
          out.push_back('\f');
          break;
        case 'n':
          out.push_back('\n');
          break;
        case 'r':
          out.push_back('\r');
          break;
        case 't':
          out.push_back('\t');
          break;
        case 'u':
          if (!parse_unicode_escape(out)) return std::nullopt;
          break;
        default:
          return fail("invalid escape");
      }
    }
  }

  std::string_view s_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace

std::optional<Json> parse_json(std::string_view text, std::string* error) {
  Parser p(text);
  std::optional<Json> v = p.parse_document();
  if (!v && error != nullptr) *error = p.error();
  return v;
}

}  // namespace kv::checker
