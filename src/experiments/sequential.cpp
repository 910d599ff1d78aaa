// JSON round trip of the streaming mSPRT: parameters, both arms' moments and the running
// p-value / interval, validated field by field so a restored test continues bit for bit.
#include <funnel/core/error.hpp>
#include <funnel/core/json.hpp>
#include <funnel/core/serialize.hpp>
#include <funnel/experiments/sequential.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <string_view>

#include "core/json_document.hpp"
#include "core/json_extended.hpp"

namespace funnel::experiments {

// The document this file writes and reads.
namespace {
constexpr funnel::detail::document_kind msprt_document{"funnel.experiments.msprt", 1};
}  // namespace

json msprt::to_json() const {
  json j = msprt_document.header();
  j["tau2"] = tau2_;
  j["alpha"] = alpha_;
  j["burn_in"] = burn_in_;
  j["a"] = {{"n", a_.n}, {"mean", a_.mean}, {"m2", a_.m2}};
  j["b"] = {{"n", b_.n}, {"mean", b_.mean}, {"m2", b_.m2}};
  j["p_value"] = p_value_;
  j["lower"] = funnel::detail::extended_to_json(lower_);
  j["upper"] = funnel::detail::extended_to_json(upper_);
  return j;
}

msprt msprt::from_json(const json& j) {
  constexpr std::string_view where = msprt_document.id();
  return funnel::detail::read_document(j, msprt_document, [&](int /*version*/) {
    constexpr std::string_view ctx = "msprt";
    const auto tau2 = json_get_finite<double>(j, "tau2", ctx);
    const auto alpha = json_get_finite<double>(j, "alpha", ctx);
    const auto burn_in = json_get_finite<double>(j, "burn_in", ctx);
    msprt t = funnel::detail::construct_from_json(where, [&] {
      return msprt(tau2, msprt_options{alpha, burn_in});
    });
    auto arm = [&](std::string_view key) {
      const std::string actx = fmt::format("msprt.{}", key);
      const json& a = json_field(j, key, ctx);
      moments m;
      m.n = json_get_finite<double>(a, "n", actx);
      m.mean = json_get_finite<double>(a, "mean", actx);
      m.m2 = json_get_finite<double>(a, "m2", actx);
      if (!(m.n >= 0.0) || std::trunc(m.n) != m.n || !(m.m2 >= 0.0)) {
        raise<parse_error>(where, "{}: n {} must be a whole number >= 0 and m2 {} >= 0", actx, m.n,
                           m.m2);
      }
      return m;
    };
    t.a_ = arm("a");
    t.b_ = arm("b");
    t.p_value_ = json_get_finite<double>(j, "p_value", ctx);
    if (!(t.p_value_ >= 0.0)) {
      raise<parse_error>(where, "msprt.p_value: {} must be >= 0", t.p_value_);
    }
    t.lower_ = funnel::detail::get_extended(j, "lower", ctx);
    t.upper_ = funnel::detail::get_extended(j, "upper", ctx);
    return t;
  });
}

}  // namespace funnel::experiments
