#include <funnel/core/json.hpp>
#include <funnel/experiments/bucketing.hpp>

#include <map>
#include <string>

#include "funnel_catch.hpp"

using namespace funnel::experiments;

namespace {
const funnel::json& cases() {
  static const auto j =
      funnel::load_json_file(funnel::test::data("experiments/growthbook_cases.json"));
  return j;
}
}  // namespace

TEST_CASE("bucketing: FNV-1a 32 matches the published FNV test vectors") {
  CHECK(fnv1a32("") == 0x811c9dc5u);
  CHECK(fnv1a32("a") == 0xe40c292cu);
  CHECK(fnv1a32("foobar") == 0xbf9cf968u);
}

TEST_CASE("bucketing: growthbook_hash reproduces GrowthBook's v1 and v2 hash vectors exactly") {
  int n = 0;
  for (const auto& c : cases().at("hash")) {
    const auto seed = c.at(0).get<std::string>();
    const auto value = c.at(1).get<std::string>();
    const int version = c.at(2).get<int>();
    const auto got = growthbook_hash(seed, value, version);
    INFO("seed '" << seed << "' value '" << value << "' v" << version);
    if (c.at(3).is_null()) {
      CHECK_FALSE(got.has_value());
    } else {
      REQUIRE(got.has_value());
      CHECK(*got == c.at(3).get<double>());  // exact: k / 1000 and decimal parsing both round once
    }
    ++n;
  }
  CHECK(n == 15);
}

TEST_CASE("bucketing: bucket_ranges reproduces GrowthBook's getBucketRange cases") {
  for (const auto& c : cases().at("getBucketRange")) {
    INFO(c.at(0).get<std::string>());
    const auto& args = c.at(1);
    std::vector<double> weights;
    if (!args.at(2).is_null()) weights = args.at(2).get<std::vector<double>>();
    const auto ranges =
        bucket_ranges(args.at(0).get<std::size_t>(), args.at(1).get<double>(), weights);
    const auto& expected = c.at(2);
    REQUIRE(ranges.size() == expected.size());
    for (std::size_t i = 0; i < ranges.size(); ++i) {
      // GrowthBook's test rounds to 6 decimals; the sums here differ from the decimals by 1 ulp.
      CHECK_THAT(ranges[i].start, WithinAbs(expected[i].at(0).get<double>(), 1e-12));
      CHECK_THAT(ranges[i].end, WithinAbs(expected[i].at(1).get<double>(), 1e-12));
    }
  }
}

TEST_CASE("bucketing: bucketer assigns units exactly as GrowthBook's run cases") {
  int n = 0;
  for (const auto& c : cases().at("run")) {
    INFO(c.at(0).get<std::string>());
    std::vector<double> weights;
    if (!c.at(4).is_null()) weights = c.at(4).get<std::vector<double>>();
    const bucketer b(c.at(2).get<std::string>(), c.at(3).get<std::size_t>(),
                     {.weights = weights, .coverage = c.at(5).get<double>()});
    const auto got = b.assign(c.at(1).get<std::string>());
    if (c.at(7).get<bool>()) {
      REQUIRE(got.has_value());
      CHECK(*got == c.at(6).get<std::size_t>());
    } else {
      CHECK_FALSE(got.has_value());
    }
    ++n;
  }
  CHECK(n == 39);
}

TEST_CASE("bucketing: assignment shares follow the weights and are independent across salts") {
  const bucketer b("exp-weights", 3, {.weights = {0.2, 0.3, 0.5}, .coverage = 0.8});
  const bucketer other("another-salt", 2);
  std::map<std::size_t, int> counts;
  int excluded = 0;
  int agree = 0;
  const int n = 40000;
  for (int i = 0; i < n; ++i) {
    const auto id = "user-" + std::to_string(i);
    const auto v = b.assign(id);
    if (v)
      ++counts[*v];
    else
      ++excluded;
    if (v && other.assign(id) == std::optional<std::size_t>(*v % 2)) ++agree;
  }
  // Hash v1 has 1000 buckets: shares are multiples of 0.001 of the population, +- sampling noise.
  CHECK_THAT(excluded / double(n), WithinAbs(0.2, 0.01));
  CHECK_THAT(counts[0] / double(n), WithinAbs(0.8 * 0.2, 0.01));
  CHECK_THAT(counts[1] / double(n), WithinAbs(0.8 * 0.3, 0.01));
  CHECK_THAT(counts[2] / double(n), WithinAbs(0.8 * 0.5, 0.01));
  CHECK(b.assign("user-17") == b.assign("user-17"));
}

TEST_CASE("bucketing: bad configuration is a typed error naming the experiment") {
  CHECK_THROWS_AS(bucketer("e", 1), funnel::invalid_argument);
  CHECK_THROWS_WITH(bucketer("checkout", 2, {.weights = {0.5, 0.6}}),
                    ContainsSubstring("checkout"));
  CHECK_THROWS_WITH(bucketer("e", 2, {.weights = {0.5}}),
                    ContainsSubstring("bucketer_options.weights has 1 values for 2 variations"));
  CHECK_THROWS_WITH(bucketer("e", 2, {.weights = {0.5, -0.5}}),
                    ContainsSubstring("bucketer_options.weights[1]"));
  CHECK_THROWS_WITH(bucketer("e", 2, {.coverage = 1.5}),
                    ContainsSubstring("bucketer_options.coverage"));
  CHECK_THROWS_WITH(bucketer("e", 2, {.hash_version = 3}),
                    ContainsSubstring("bucketer_options.hash_version"));
  CHECK_FALSE(bucketer("e", 2).assign("").has_value());
}
