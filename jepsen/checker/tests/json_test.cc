// The JSON reader/writer under the history format: strict RFC 8259 parsing, round trips.
#include "checker/json.h"

#include <catch2/catch.hpp>

using kv::checker::Json;
using kv::checker::parse_json;

TEST_CASE("json: valid documents parse to the expected values", "[json]") {
  struct Case {
    const char* text;
    Json expected;
  };
  const std::vector<Case> cases = {
      {"null", Json()},
      {" true ", Json(true)},
      {"false", Json(false)},
      {"0", Json(0)},
      {"-12", Json(-12)},
      {"9223372036854775807", Json(std::int64_t{9223372036854775807})},
      {"-9223372036854775808", Json(std::numeric_limits<std::int64_t>::min())},
      {"1.5", Json(1.5)},
      {"-2e3", Json(-2000.0)},
      {"1E-2", Json(0.01)},
      {"18446744073709551616", Json(18446744073709551616.0)},  // beyond int64: a double
      {"\"a\\\"b\\\\c\\/d\\n\\t\\r\\b\\f\"", Json("a\"b\\c/d\n\t\r\b\f")},
      {"\"\\u0041\\u00e9\\u20ac\"", Json("A\xC3\xA9\xE2\x82\xAC")},
      {"\"\\ud83d\\ude00\"", Json("\xF0\x9F\x98\x80")},
      {"[]", Json::array()},
      {"[1, [2, []], \"x\"]", Json(Json::Array{1, Json(Json::Array{2, Json::array()}), "x"})},
      {"{}", Json::object()},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    std::string err;
    std::optional<Json> j = parse_json(c.text, &err);
    REQUIRE(j.has_value());
    CHECK(*j == c.expected);
    CHECK(err.empty());
  }
}

TEST_CASE("json: objects keep order and support lookup", "[json]") {
  std::optional<Json> j = parse_json(R"({"b": 1, "a": [true, null], "c": {"d": "e"}})");
  REQUIRE(j.has_value());
  REQUIRE(j->is_object());
  CHECK(j->size() == 3);
  CHECK(j->as_object()[0].first == "b");
  CHECK(*j->find("b") == Json(1));
  CHECK(j->find("a")->as_array()[1].is_null());
  CHECK(j->find("c")->find("d")->as_string() == "e");
  CHECK(j->find("zz") == nullptr);
  CHECK(Json(3).find("x") == nullptr);
}

TEST_CASE("json: malformed documents are rejected with an offset", "[json]") {
  const std::vector<const char*> bad = {
      "",        " ",          "nul",         "tru",         "[1,]",
      "[1 2]",   "{\"a\":1,}", "{\"a\" 1}",   "{a:1}",       "{\"a\":1,\"a\":2}",
      "01",      "-",          "1.",          ".5",          "1e",
      "+1",      "NaN",        "Infinity",    "\"abc",       "\"a\nb\"",
      "\"\\x\"", "\"\\u12\"",  "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
      "[1] x",   "1 2",        "[",           "{",           "{\"a\":}",
      "1e999",
  };
  for (const char* text : bad) {
    INFO(text);
    std::string err;
    CHECK_FALSE(parse_json(text, &err).has_value());
    CHECK(err.find("offset") != std::string::npos);
  }
}

TEST_CASE("json: nesting deeper than the limit is an error, not a crash", "[json]") {
  const std::string deep_ok =
      std::string(kv::checker::kMaxJsonDepth - 1, '[') + std::string(kv::checker::kMaxJsonDepth - 1, ']');
  CHECK(parse_json(deep_ok).has_value());
  const std::string too_deep = std::string(100000, '[') + std::string(100000, ']');
  std::string err;
  CHECK_FALSE(parse_json(too_deep, &err).has_value());
  CHECK(err.find("too deep") != std::string::npos);
}

TEST_CASE("json: dump is compact, escapes, and round-trips", "[json]") {
  Json o = Json::object();
  o.set("s", "q\"\\\n\x01");
  o.set("i", -7);
  o.set("d", 2.0);
  o.set("a", Json(Json::Array{Json(), true, 0.5}));
  o.set("i", 8);  // replaces, keeps position
  const std::string text = o.dump();
  CHECK(text == R"({"s":"q\"\\\n\u0001","i":8,"d":2.0,"a":[null,true,0.5]})");
  std::optional<Json> back = parse_json(text);
  REQUIRE(back.has_value());
  CHECK(*back == o);
  std::optional<Json> pretty = parse_json(o.dump_pretty());
  REQUIRE(pretty.has_value());
  CHECK(*pretty == o);
  CHECK(Json(std::numeric_limits<double>::infinity()).dump() == "null");
  const Json nested(Json::Array{Json(Json::Array{1, 2}), Json::object()});
  CHECK(nested.dump() == "[[1,2],{}]");
  CHECK(nested.dump_pretty() == "[\n  [1, 2],\n  {}\n]");
}

TEST_CASE("json: integers and doubles are different values", "[json]") {
  CHECK_FALSE(Json(1) == Json(1.0));
  CHECK(parse_json("1")->is_int());
  CHECK(parse_json("1.0")->kind() == Json::Kind::real);
  CHECK(parse_json("1.0")->as_double() == 1.0);
}
