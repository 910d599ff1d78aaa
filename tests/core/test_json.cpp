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
                    ContainsSubstring("scaler.mean: wrong type (string)"));
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
  CHECK(json::parse(jf.dump()).get<float>() == f);
}

TEST_CASE("json: malformed text gives a parse_error naming the source and byte") {
  CHECK_THROWS_WITH(funnel::parse_json("{\"a\": [1, 2", "model.json"),
                    ContainsSubstring("model.json: invalid JSON at byte"));
  CHECK_THROWS_AS(funnel::load_json_file("/nonexistent/dir/x.json"), funnel::io_error);
}
