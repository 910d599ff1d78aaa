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

namespace funnel::experiments {
namespace {

/// The interval ends start at -+infinity: a number, or the string "inf" / "-inf".
json extended(double v) {
  if (std::isinf(v)) return v > 0 ? json("inf") : json("-inf");
  return json(v);
}

double get_extended(const json& j, std::string_view key, std::string_view ctx) {
  const json& v = json_field(j, key, ctx);
  if (v.is_string()) {
    const auto s = v.get<std::string>();
    if (s == "inf") return std::numeric_limits<double>::infinity();
    if (s == "-inf") return -std::numeric_limits<double>::infinity();
    raise<parse_error>("core.json", "{}.{}: expected a number, \"inf\" or \"-inf\", found {}", ctx,
                       key, json_preview(v));
  }
  return json_get_finite<double>(j, key, ctx);
}

}  // namespace

json msprt::to_json() const {
  json j = json_header("funnel.experiments.msprt", 1);
  j["tau2"] = tau2_;
  j["alpha"] = alpha_;
  j["burn_in"] = burn_in_;
  j["a"] = {{"n", a_.n}, {"mean", a_.mean}, {"m2", a_.m2}};
  j["b"] = {{"n", b_.n}, {"mean", b_.mean}, {"m2", b_.m2}};
  j["p_value"] = p_value_;
  j["lower"] = extended(lower_);
  j["upper"] = extended(upper_);
  return j;
}

msprt msprt::from_json(const json& j) {
  constexpr std::string_view ctx = "msprt";
  constexpr std::string_view where = "experiments.msprt";
  check_json_header(j, "funnel.experiments.msprt", 1, ctx);
  const auto tau2 = json_get_finite<double>(j, "tau2", ctx);
  const auto alpha = json_get_finite<double>(j, "alpha", ctx);
  const auto burn_in = json_get_finite<double>(j, "burn_in", ctx);
  auto make = [&] {
    try {
      return msprt(tau2, msprt_options{alpha, burn_in});
    } catch (const invalid_argument& e) {
      raise<parse_error>(where, "parameters: {}", e.what());
    }
  };
  msprt t = make();
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
  t.lower_ = get_extended(j, "lower", ctx);
  t.upper_ = get_extended(j, "upper", ctx);
  return t;
}

void msprt::save(const std::filesystem::path& path) const {
  save_json(*this, path, 1);
}

msprt msprt::load(const std::filesystem::path& path) {
  return load_json<msprt>(path);
}

}  // namespace funnel::experiments
