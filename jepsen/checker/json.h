// A small JSON value, parser and writer: exactly what history files (JSON Lines) and
// verdicts need, with no third-party library. Not thread-safe for concurrent mutation;
// concurrent reads of one const Json are fine.
//
// Parsing follows RFC 8259 strictly: no comments, no trailing commas, no NaN/Infinity, no
// leading zeros, escapes validated (\uXXXX surrogate pairs become UTF-8), nesting depth
// bounded by kMaxJsonDepth so hostile input cannot overflow the stack. Bytes >= 0x80 in
// strings pass through unvalidated (histories are written by our own client).
//
// Numbers: a literal without '.', 'e' or 'E' that fits in int64 is an integer; every other
// number is a double. 1 and 1.0 are different values (kinds differ), on purpose: histories
// carry integer register values, and a writer that emits 1.0 has a bug worth seeing.
//
// Objects keep insertion order (deterministic output) and have unique keys (the parser
// rejects duplicates: in a history a duplicate key is ambiguous, not a last-wins choice).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kv::checker {

inline constexpr int kMaxJsonDepth = 256;

class Json {
 public:
  enum class Kind { null, boolean, integer, real, string, array, object };
  using Array = std::vector<Json>;
  using Member = std::pair<std::string, Json>;
  using Object = std::vector<Member>;

  Json() = default;  // null
  Json(std::nullptr_t) {}
  Json(bool b) : kind_(Kind::boolean) { u_.i = b ? 1 : 0; }
  Json(int i) : kind_(Kind::integer) { u_.i = i; }
  Json(std::int64_t i) : kind_(Kind::integer) { u_.i = i; }
  Json(std::uint64_t) = delete;  // would silently wrap above INT64_MAX: convert explicitly
  Json(double d) : kind_(Kind::real) { u_.d = d; }
  Json(std::string s) : kind_(Kind::string) { u_.s = new std::string(std::move(s)); }
  Json(std::string_view s) : kind_(Kind::string) { u_.s = new std::string(s); }
  Json(const char* s) : kind_(Kind::string) { u_.s = new std::string(s); }
  Json(Array a) : kind_(Kind::array) { u_.a = new Array(std::move(a)); }
  Json(Object o) : kind_(Kind::object) { u_.o = new Object(std::move(o)); }

  Json(const Json& other);
  Json(Json&& other) noexcept : kind_(other.kind_), u_(other.u_) { other.kind_ = Kind::null; }
  Json& operator=(Json other) noexcept {  // copy-and-swap: safe when `other` is our own child
    std::swap(kind_, other.kind_);
    std::swap(u_, other.u_);
    return *this;
  }
  ~Json();

  static Json array() { return Json(Array{}); }
  static Json object() { return Json(Object{}); }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind() == Kind::null; }
  bool is_bool() const { return kind() == Kind::boolean; }
  bool is_int() const { return kind() == Kind::integer; }
  bool is_number() const { return is_int() || kind() == Kind::real; }
  bool is_string() const { return kind() == Kind::string; }
  bool is_array() const { return kind() == Kind::array; }
  bool is_object() const { return kind() == Kind::object; }

  // Accessors. REQUIRES: the value has that kind (checked; a mismatch is a programmer error
  // and aborts). Callers validating input use is_*() first.
  bool as_bool() const;
  std::int64_t as_int() const;
  double as_double() const;  // integer or real
  const std::string& as_string() const;
  const Array& as_array() const;
  Array& as_array();
  const Object& as_object() const;

  // Object lookup: the member's value, or nullptr when absent or when this is not an object.
  const Json* find(std::string_view key) const;
  // Object update: replaces the member `key` or appends it. REQUIRES: is_object().
  Json& set(std::string_view key, Json value);
  // Array append. REQUIRES: is_array().
  void push_back(Json value);
  // Elements of an array, members of an object, 0 otherwise.
  std::size_t size() const;

  // Compact serialisation (no spaces); stable, so it doubles as a canonical key for scalars.
  std::string dump() const;
  // Indented serialisation for files people read; arrays of scalars stay on one line.
  std::string dump_pretty(int indent = 2) const;

  // Structural equality; object members compare in order ({"a":1,"b":2} != {"b":2,"a":1}).
  friend bool operator==(const Json& a, const Json& b);

 private:
  void dump_to(std::string& out, int indent, int depth) const;

  // A 16-byte tagged union; strings and containers live on the heap, owned. Histories hold
  // millions of small values (list elements, register values), so the size matters; it
  // is also why this is not std::variant (40 bytes here, and g++ 12 -O2 reports false
  // -Wmaybe-uninitialized on its moves).
  Kind kind_ = Kind::null;
  union Storage {
    std::int64_t i;  // boolean (0/1) or integer
    double d;
    std::string* s;
    Array* a;
    Object* o;
  } u_{0};
};

// Parses one complete JSON text (surrounding whitespace allowed). On error returns nullopt
// and, when `error` is non-null, sets it to a message naming the byte offset.
[[nodiscard]] std::optional<Json> parse_json(std::string_view text, std::string* error = nullptr);

// Appends `s` as a quoted, escaped JSON string to `out`.
void append_json_string(std::string& out, std::string_view s);

}  // namespace kv::checker
