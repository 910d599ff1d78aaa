#include <funnel/core/json.hpp>

#include <cmath>
#include <limits>

#include "funnel_catch.hpp"

using funnel::json;

TEST_CASE("json: header check accepts the right type and version") {
  auto j = funnel::json_header("standard_scaler", 2);
  CHECK(funnel::check_json_header(j, "standard_scaler", 2) == 2);
}

TEST_CASE("json: wrong type, future version or missing fields name the field") {
  auto j = funnel::json_header("standard_scaler", 3);
  CHECK_THROWS_WITH(funnel::check_json_header(j, "standard_scaler", 2),
                    ContainsSubstring("version: 3 is not supported"));
  CHECK_THROWS_WITH(funnel::check_json_header(j, "one_hot", 5),
                    ContainsSubstring("expected type 'one_hot', found 'standard_scaler'"));
  CHECK_THROWS_WITH(funnel::check_json_header(json{{"type", "x"}}, "x", 1),
                    ContainsSubstring("missing field 'version'"));
  CHECK_THROWS_AS(funnel::check_json_header(json::array(), "x", 1), funnel::parse_error);
  json k{{"mean", "oops"}};
  CHECK_THROWS_WITH(funnel::json_get<std::vector<double>>(k, "mean", "scaler"),
                    ContainsSubstring("scaler.mean: wrong type (string \"oops\"), expected array"));
}

TEST_CASE("json: doubles round-trip bit for bit through a file") {
  const auto dir = funnel::test::scratch_dir("json");
  json j = funnel::json_header("values", 1);
  std::vector<double> values{
      0.1,    1.0 / 3.0,          1e-300, std::numeric_limits<double>::max(), -0.0,
      5e-324, 123456789.123456789};
  j["values"] = values;
  funnel::save_json_file(dir / "v.json", j);
  auto back = funnel::load_json_file(dir / "v.json");
  auto read = funnel::json_get<std::vector<double>>(back, "values");
  REQUIRE(read.size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    CHECK(std::signbit(read[i]) == std::signbit(values[i]));
    CHECK(read[i] == values[i]);
  }
  float f = 0.1F;
  json jf = f;
  CHECK(funnel::json_as<float>(funnel::parse_json(jf.dump(), "f"), "f") == f);
}

TEST_CASE("json: malformed text gives a parse_error naming the source and byte") {
  CHECK_THROWS_WITH(funnel::parse_json("{\"a\": [1, 2", "model.json"),
                    ContainsSubstring("model.json: invalid JSON at byte"));
  CHECK_THROWS_AS(funnel::load_json_file("/nonexistent/dir/x.json"), funnel::io_error);
}

TEST_CASE("json: every nlohmann failure while parsing is a funnel parse_error") {
  // 1e999 overflows a double: nlohmann reports out_of_range.406, which used to escape untyped.
  CHECK_THROWS_AS(funnel::parse_json(R"({"C": 1e999})", "m.json"), funnel::parse_error);
  CHECK_THROWS_WITH(funnel::parse_json(R"({"C": -1e999})", "m.json"),
                    ContainsSubstring("m.json: invalid JSON"));
  CHECK_THROWS_AS(funnel::parse_json("", "empty.json"), funnel::parse_error);
  CHECK_THROWS_AS(funnel::parse_json("{\"a\": \"\xff\xfe\"}", "utf8.json"), funnel::parse_error);
  CHECK_THROWS_AS(funnel::parse_json("[1, 2] trailing", "t.json"), funnel::parse_error);
  // UBJ: a string that is not UTF-8 parses, and a truncated document is a parse_error.
  const std::vector<std::uint8_t> truncated{'{', 'i', 3, 'a', 'b'};
  CHECK_THROWS_AS(funnel::parse_ubjson(truncated, "m.ubj"), funnel::parse_error);
  const std::vector<std::uint8_t> ok{'{', 'i', 1, 'a', 'i', 7, '}'};
  CHECK(funnel::parse_ubjson(ok, "m.ubj").at("a") == 7);
}

TEST_CASE("json: nesting deeper than json_max_depth is refused before it can exhaust the stack") {
  const std::size_t deep = 1000000;
  const std::string text = std::string(deep, '[') + std::string(deep, ']');
  CHECK_THROWS_WITH(funnel::parse_json(text, "deep.json"), ContainsSubstring("nests deeper than"));
  std::vector<std::uint8_t> ubj(deep, '[');
  ubj.insert(ubj.end(), deep, ']');
  CHECK_THROWS_WITH(funnel::parse_ubjson(ubj, "deep.ubj"), ContainsSubstring("nests deeper than"));
  // Exactly at the bound is accepted.
  const auto at = static_cast<std::size_t>(funnel::json_max_depth);
  CHECK(funnel::parse_json(std::string(at, '[') + std::string(at, ']'), "ok.json").is_array());
  CHECK_THROWS_AS(funnel::parse_json(std::string(at + 1, '[') + std::string(at + 1, ']'), "x"),
                  funnel::parse_error);
}

TEST_CASE("json: json_get is strict about numbers, booleans and ranges") {
  const json j{{"b", true},    {"i", 3},   {"f", 2.5},      {"big", 1ULL << 40}, {"neg", -1},
               {"three", 3.0}, {"s", "x"}, {"huge", 1e300}, {"arr", {1, true}}};
  CHECK(funnel::json_get<int>(j, "i") == 3);
  CHECK(funnel::json_get<int>(j, "three") == 3);
  CHECK(funnel::json_get<double>(j, "i") == 3.0);
  CHECK(funnel::json_get<bool>(j, "b"));
  // nlohmann converts booleans to numbers and truncates; funnel does neither.
  CHECK_THROWS_WITH(funnel::json_get<double>(j, "b", "opt"),
                    ContainsSubstring("opt.b: wrong type (boolean true), expected number"));
  CHECK_THROWS_AS(funnel::json_get<int>(j, "f"), funnel::parse_error);
  CHECK_THROWS_WITH(funnel::json_get<int>(j, "big", "m"), ContainsSubstring("m.big: number"));
  CHECK_THROWS_AS(funnel::json_get<std::size_t>(j, "neg"), funnel::parse_error);
  CHECK_THROWS_AS(funnel::json_get<std::uint32_t>(j, "huge"), funnel::parse_error);
  CHECK_THROWS_AS(funnel::json_get<float>(j, "huge"), funnel::parse_error);
  CHECK_THROWS_AS(funnel::json_get<bool>(j, "i"), funnel::parse_error);
  CHECK_THROWS_AS(funnel::json_get<std::string>(j, "i"), funnel::parse_error);
  CHECK_THROWS_AS(funnel::json_get<std::vector<double>>(j, "arr"), funnel::parse_error);
  // 2^64 and 2^63 as floats: (double)max() rounds up to them, so they must be refused, not cast.
  const json edges{{"u64", 18446744073709551616.0},
                   {"i64", 9223372036854775808.0},
                   {"neg", -9223372036854775808.0},
                   {"u32", 4294967295.0}};
  CHECK_THROWS_AS(funnel::json_get<std::uint64_t>(edges, "u64"), funnel::parse_error);
  CHECK_THROWS_AS(funnel::json_get<std::int64_t>(edges, "i64"), funnel::parse_error);
  CHECK(funnel::json_get<std::int64_t>(edges, "neg") == std::numeric_limits<std::int64_t>::min());
  CHECK(funnel::json_get<std::uint32_t>(edges, "u32") == 4294967295U);
  CHECK_THROWS_AS(funnel::json_get<std::int32_t>(edges, "u32"), funnel::parse_error);
  CHECK(funnel::json_get_in<int>(j, "i", 0, 5) == 3);
  CHECK_THROWS_WITH(funnel::json_get_in<int>(j, "i", 4, 5, "stage"),
                    ContainsSubstring("stage.i: 3 is out of range [4, 5]"));
  CHECK_THROWS_AS(funnel::check_json_header(json{{"type", "x"}, {"version", 1ULL << 40}}, "x", 1),
                  funnel::parse_error);
}

TEST_CASE("json: json_preview is short and never walks into the value") {
  CHECK(funnel::json_preview(json("abc")) == "string \"abc\"");
  CHECK(funnel::json_preview(json(1.5)) == "number 1.5");
  CHECK(funnel::json_preview(json::array({1, 2, 3})) == "array of 3");
  CHECK(funnel::json_preview(json{{"a", 1}}) == "object of 1");
  CHECK(funnel::json_preview(json(std::string(10000, 'x'))).size() < 64);
  CHECK(funnel::json_preview(json(std::string("\xff\xfe"))).find("string") == 0);
}
