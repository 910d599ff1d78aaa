// Hostile configurations and documents (issue 19): widths that would wrap, numbers of the wrong
// kind, and output names a model can bind to (issue 18).
#include <funnel/core/json.hpp>
#include <funnel/features.hpp>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "features_fixture.hpp"

namespace ff = funnel::features;
using ftest::data;

namespace {

auto fitted_static() {
  ff::imputer median;
  median.strategy = ff::impute_strategy::median;
  ff::quantile_bucketizer q;
  q.num_bins = 6;
  auto p = ff::pipeline(
      data().schema,
      ff::numeric_column("funded_amnt", {median, ff::standard_scaler{}},
                         {.missing_indicator = true}),
      ff::numeric_column("int_rate", {ff::min_max_scaler{}, ff::clip{0.1, 0.9}}),
      ff::numeric_column("annual_inc", {median, ff::log_transform{}, ff::robust_scaler{}}),
      ff::numeric_column("revol_util", {median, ff::winsorizer{}, q}),
      ff::numeric_column("total_bal_il", {median, ff::fixed_bucketizer{{1000.0, 5000.0}}}),
      ff::interaction("funded_amnt", "int_rate"),
      ff::one_hot("addr_state", {.handle_unknown = ff::unknown_policy::other, .min_frequency = 8}),
      ff::ordinal_encoder("sub_grade", {.handle_unknown = ff::unknown_policy::ignore}),
      ff::count_encoder("addr_state", {.normalize = true}),
      ff::target_encoder("sub_grade", {.smoothing = 5.0}),
      ff::feature_hasher({"verification_status", "term"}, {.num_features = 8, .seed = 11}),
      ff::hashed_cross({"term", "sub_grade"}, {.num_buckets = 16, .seed = 5}));
  p.fit(data().head(300), data().y().first(300));
  return p;
}

/// JSON pointers of every leaf of `j` for which `pick` is true.
template <class Pick>
void leaves(const funnel::json& j, const funnel::json::json_pointer& at, Pick pick,
            std::vector<funnel::json::json_pointer>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) leaves(v, at / k, pick, out);
  } else if (j.is_array()) {
    for (std::size_t i = 0; i < j.size(); ++i) leaves(j[i], at / i, pick, out);
  } else if (pick(j)) {
    out.push_back(at);
  }
}

}  // namespace

TEST_CASE("hashed_cross: num_buckets near 2^64 is rejected at construction and at load") {
  CHECK_THROWS_AS(ff::hashed_cross({"term", "sub_grade"},
                                   {.num_buckets = std::numeric_limits<std::size_t>::max()}),
                  funnel::invalid_argument);
  CHECK_THROWS_AS(
      ff::hashed_cross({"term", "sub_grade"}, {.num_buckets = ff::max_output_width + 1}),
      funnel::invalid_argument);
  CHECK_THROWS_AS(ff::feature_hasher({"term"}, {.num_features = ff::max_output_width + 1}),
                  funnel::invalid_argument);

  auto j = fitted_static().to_json();
  for (const char* n : {"18446744073709551615", "18446744073709551612", "16777217", "0", "-1",
                        "1e300", "1.5", "true", "\"16\""}) {
    auto k = j;
    k["components"][11]["num_buckets"] = funnel::parse_json(n, "test");
    CHECK_THROWS_AS(ff::any_pipeline::from_json(k), funnel::parse_error);
    auto h = j;
    h["components"][10]["num_features"] = funnel::parse_json(n, "test");
    CHECK_THROWS_AS(ff::any_pipeline::from_json(h), funnel::parse_error);
    // the keys of 0.1 documents are bounded the same way
    auto k0 = j;
    k0["components"][11].erase("num_buckets");
    k0["components"][11]["n_buckets"] = funnel::parse_json(n, "test");
    CHECK_THROWS_AS(ff::any_pipeline::from_json(k0), funnel::parse_error);
    auto h0 = j;
    h0["components"][10].erase("num_features");
    h0["components"][10]["n_features"] = funnel::parse_json(n, "test");
    CHECK_THROWS_AS(ff::any_pipeline::from_json(h0), funnel::parse_error);
  }
}

TEST_CASE(
    "pipeline: a total width above max_output_width is an invalid_argument, not a wrapped "
    "sum") {
  ff::schema s({{"a", ff::column_type::string}, {"b", ff::column_type::string}});
  std::vector<std::string_view> a = {"x", "y"};
  ff::batch b(s);
  b.set(0, std::span<const std::string_view>(a));
  b.set(1, std::span<const std::string_view>(a));
  ff::pipeline p(s, ff::feature_hasher({"a"}, {.num_features = ff::max_output_width}),
                 ff::hashed_cross({"a", "b"}, {.num_buckets = 2}));
  CHECK_THROWS_AS(p.fit(b), funnel::invalid_argument);
  CHECK_THROWS_WITH(p.fit(b), ContainsSubstring("max_output_width"));
  CHECK_FALSE(p.fitted());
  // A width exactly at the bound is fine.
  ff::pipeline q(s, ff::feature_hasher({"a"}, {.num_features = ff::max_output_width - 2}),
                 ff::hashed_cross({"a", "b"}, {.num_buckets = 2}));
  q.fit(b);
  CHECK(q.width() == ff::max_output_width);
}

TEST_CASE("features JSON: 1e999 anywhere in a saved pipeline is a parse_error") {
  const auto text = fitted_static().to_json().dump();
  const auto dir = funnel::test::scratch_dir("features-hostile");
  const std::string key = "\"scale\":";
  const auto at = text.find(key);
  REQUIRE(at != std::string::npos);
  std::string bad = text;
  const auto end = bad.find_first_of(",}", at + key.size());
  bad.replace(at + key.size(), end - at - key.size(), "1e999");
  {
    std::ofstream f(dir / "bad.json");
    f << bad;
  }
  CHECK_THROWS_AS(ff::any_pipeline::load(dir / "bad.json"), funnel::parse_error);
}

TEST_CASE(
    "features JSON: a boolean where any number belongs, and a number where a boolean "
    "belongs, is a parse_error") {
  const auto j = fitted_static().to_json();
  std::vector<funnel::json::json_pointer> numbers;
  std::vector<funnel::json::json_pointer> bools;
  leaves(
      j, funnel::json::json_pointer(), [](const funnel::json& v) { return v.is_number(); },
      numbers);
  leaves(
      j, funnel::json::json_pointer(), [](const funnel::json& v) { return v.is_boolean(); }, bools);
  REQUIRE(numbers.size() > 50);
  REQUIRE(bools.size() > 10);
  std::size_t typed = 0;
  for (const auto& ptr : numbers) {
    auto k = j;
    k[ptr] = true;
    try {
      (void)ff::any_pipeline::from_json(k);
      FAIL("accepted a boolean at " << ptr.to_string());
    } catch (const funnel::parse_error&) {
      ++typed;
    }
  }
  CHECK(typed == numbers.size());
  typed = 0;
  for (const auto& ptr : bools) {
    auto k = j;
    k[ptr] = 1;
    try {
      (void)ff::any_pipeline::from_json(k);
      FAIL("accepted a number at " << ptr.to_string());
    } catch (const funnel::parse_error&) {
      ++typed;
    }
  }
  CHECK(typed == bools.size());
}

TEST_CASE(
    "features JSON: any leaf replaced by a hostile value gives a funnel error or a usable "
    "pipeline, never another exception") {
  const auto j = fitted_static().to_json();
  std::vector<funnel::json::json_pointer> all;
  leaves(
      j, funnel::json::json_pointer(), [](const funnel::json&) { return true; }, all);
  const std::vector<funnel::json> hostile = {
      funnel::json(-1),
      funnel::json(std::numeric_limits<std::uint64_t>::max()),
      funnel::json(std::numeric_limits<std::int64_t>::min()),
      funnel::json(1e308),
      funnel::json(std::numeric_limits<double>::infinity()),
      funnel::json(std::numeric_limits<double>::quiet_NaN()),
      funnel::json("x"),
      funnel::json(nullptr),
      funnel::json::array(),
      funnel::parse_json(std::string(100, '[') + std::string(100, ']'), "deep"),
  };
  std::size_t loaded = 0;
  std::size_t rejected = 0;
  for (const auto& ptr : all) {
    for (const auto& v : hostile) {
      auto k = j;
      k[ptr] = v;
      try {
        const auto p = ff::any_pipeline::from_json(k);
        ++loaded;
        if (!p.fitted()) continue;
        // An object that loaded is safe to use: its width is bounded and transform stays in it.
        REQUIRE(p.width() <= ff::max_output_width);
        std::vector<float> out(p.width() * 5);
        try {
          p.transform(data().head(5), out);
        } catch (const funnel::error&) {
        }
      } catch (const funnel::error& e) {
        ++rejected;
        CHECK(std::string(e.what()).size() < 600);  // nothing was dumped whole
      }
    }
  }
  CHECK(rejected > all.size());
  CHECK(loaded + rejected == all.size() * hostile.size());
}

TEST_CASE("features JSON: huge counts are bounded before any work") {
  auto j = fitted_static().to_json();
  // components[3].steps[2] is the quantile bucketizer: fit loops over its bins.
  REQUIRE(j["components"][3]["steps"][2]["type"] == "quantile_bucketizer");
  for (const char* n : {"1000000000000", "65537", "1", "-2"}) {
    auto k = j;
    k["components"][3]["steps"][2]["num_bins"] = funnel::parse_json(n, "test");
    CHECK_THROWS_AS(ff::any_pipeline::from_json(k), funnel::parse_error);
    auto k0 = j;  // the key of 0.1 documents
    k0["components"][3]["steps"][2].erase("num_bins");
    k0["components"][3]["steps"][2]["n_bins"] = funnel::parse_json(n, "test");
    CHECK_THROWS_AS(ff::any_pipeline::from_json(k0), funnel::parse_error);
  }
  ff::quantile_bucketizer q;
  q.num_bins = std::size_t{1} << 40;
  ff::schema s({{"x", ff::column_type::numeric}});
  std::vector<float> x = {1, 2, 3};
  ff::batch b(s);
  b.set(0, std::span<const float>(x));
  ff::pipeline p(s, ff::numeric_column("x", {q}));
  CHECK_THROWS_AS(p.fit(b), funnel::invalid_argument);
}

TEST_CASE("quantile_bucketizer: a 0.1 document (\"n_bins\") loads and is rewritten") {
  const auto j = fitted_static().to_json();
  auto old = j;
  auto& step = old["components"][3]["steps"][2];
  REQUIRE(step.contains("num_bins"));
  step["n_bins"] = step["num_bins"];
  step.erase("num_bins");
  CHECK(ff::any_pipeline::from_json(old).to_json() == j);
}

// ---------------------------------------------------------------------------------------------
// Output names

TEST_CASE("output names: unique, identical in both pipeline types and after a JSON round trip") {
  const auto p = fitted_static();
  const auto names = p.output_names();
  CHECK(names.size() == p.width());
  auto sorted = names;
  std::sort(sorted.begin(), sorted.end());
  CHECK(std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end());
  const auto q = ff::any_pipeline::from_json(p.to_json());
  CHECK(q.output_names() == names);
  CHECK(decltype(p)::from_json(q.to_json()).output_names() == names);
  CHECK(names[0] == "funded_amnt");
  CHECK(names[1] == "funded_amnt_missing");
  CHECK(std::find(names.begin(), names.end(), "hash(verification_status,term)[0]") != names.end());
  CHECK(std::find(names.begin(), names.end(), "term^sub_grade[15]") != names.end());
}

TEST_CASE("output names: two components writing the same name are an invalid_argument naming it") {
  ff::schema s({{"x", ff::column_type::numeric}, {"c", ff::column_type::string}});
  std::vector<float> x = {1, 2, 3};
  std::vector<std::string_view> c = {"a", "b", "a"};
  ff::batch b(s);
  b.set(0, std::span<const float>(x));
  b.set(1, std::span<const std::string_view>(c));

  ff::pipeline dup(s, ff::numeric_column("x", {ff::standard_scaler{}}),
                   ff::numeric_column("x", {ff::log_transform{}}));
  CHECK_THROWS_WITH(dup.fit(b), ContainsSubstring("'x'") && ContainsSubstring("unique"));
  ff::pipeline renamed(s, ff::numeric_column("x", {ff::standard_scaler{}}),
                       ff::numeric_column("x", {ff::log_transform{}}, {.output = "log_x"}));
  CHECK_NOTHROW(renamed.fit(b));

  ff::pipeline two_hashers(s, ff::feature_hasher({"c"}, {.num_features = 4}),
                           ff::feature_hasher({"c"}, {.num_features = 8, .seed = 3}));
  CHECK_THROWS_AS(two_hashers.fit(b), funnel::invalid_argument);
  ff::schema s2({{"x", ff::column_type::numeric},
                 {"c", ff::column_type::string},
                 {"d", ff::column_type::string}});
  ff::batch b2(s2);
  b2.set(0, std::span<const float>(x));
  b2.set(1, std::span<const std::string_view>(c));
  b2.set(2, std::span<const std::string_view>(c));
  ff::pipeline hashers(s2, ff::feature_hasher({"c"}, {.num_features = 4}),
                       ff::feature_hasher({"d"}, {.num_features = 4}));
  CHECK_NOTHROW(hashers.fit(b2));
  ff::pipeline clash(s2, ff::hashed_cross({"c", "d"}, {.num_buckets = 8}),
                     ff::numeric_column("x", {}, {.output = "c^d[3]"}));
  CHECK_THROWS_WITH(clash.fit(b2), ContainsSubstring("c^d[3]"));
  ff::pipeline no_clash(s2, ff::hashed_cross({"c", "d"}, {.num_buckets = 8}),
                        ff::numeric_column("x", {}, {.output = "c^d[8]"}));
  CHECK_NOTHROW(no_clash.fit(b2));
}

TEST_CASE(
    "one_hot: output columns are the categories in bytewise order, then <missing>, then "
    "<other>") {
  ff::schema s({{"c", ff::column_type::string}});
  std::vector<std::string_view> v = {"b", "\xc3\xa4", "a", ff::missing_string, "B", "b"};
  ff::batch b(s);
  b.set(0, std::span<const std::string_view>(v));
  ff::pipeline p(s, ff::one_hot("c", {.handle_unknown = ff::unknown_policy::other}));
  p.fit(b);
  CHECK(p.output_names() ==
        std::vector<std::string>{"c=B", "c=a", "c=b", "c=\xc3\xa4", "c=<missing>", "c=<other>"});
  const auto m = p.transform(b);
  CHECK(m(0, 2) == 1.0F);  // "b"
  CHECK(m(1, 3) == 1.0F);  // "ä"
  CHECK(m(3, 4) == 1.0F);  // missing
}
