#include <funnel/features/numeric.hpp>

#include <array>

namespace funnel::features {

namespace {
constexpr std::array<std::string_view, 4> op_names = {"product", "sum", "difference", "ratio"};
constexpr std::array<const char*, 4> op_symbols = {"*", "+", "-", "/"};
}  // namespace

void numeric_column::fit(const batch& b, std::span<const float> /*target*/) {
  const auto in = b.numeric_column(col_);
  std::vector<double> cur(in.begin(), in.end());
  std::vector<double> present;
  for (std::size_t k = 0; k < steps_.size(); ++k) {
    present.clear();
    for (double x : cur) {
      if (!std::isnan(x)) present.push_back(x);
    }
    if (present.empty() && needs_data(steps_[k])) {
      raise<invalid_argument>("features.numeric_column",
                              "column '{}': step {} ({}) cannot be "
                              "fitted: no non-missing values among {} rows",
                              column_, k, step_name(steps_[k]), in.size());
    }
    std::visit([&](auto& s) { s.fit(present); }, steps_[k]);
    for (std::size_t i = 0; i < cur.size(); ++i) {
      cur[i] = std::visit([&](const auto& s) { return s.apply(cur[i]); }, steps_[k]);
    }
  }
  fitted_ = true;
}

void numeric_column::append_output_names(std::vector<std::string>& names) const {
  names.push_back(output_);
  if (indicator_) names.push_back(output_ + "_missing");
}

void numeric_column::raise_domain(std::size_t row_index, const numeric_step& step, double x) const {
  raise<invalid_argument>("features.numeric_column",
                          "column '{}', row {}: step {} maps {} "
                          "to NaN (outside its domain)",
                          column_, row_index, step_name(step), x);
}

json numeric_column::to_json() const {
  json j = json_header(type_name, 1);
  j["column"] = column_;
  j["output"] = output_;
  j["missing_indicator"] = indicator_;
  j["fitted"] = fitted_;
  json st = json::array();
  for (const auto& s : steps_) st.push_back(step_to_json(s));
  j["steps"] = std::move(st);
  return j;
}

numeric_column numeric_column::from_json(const json& j) {
  check_json_header(j, type_name, 1);
  numeric_column c;
  const std::string ctx = "numeric_column";
  c.column_ = json_get<std::string>(j, "column", ctx);
  c.output_ = json_get<std::string>(j, "output", ctx);
  c.indicator_ = json_get<bool>(j, "missing_indicator", ctx);
  c.fitted_ = json_get<bool>(j, "fitted", ctx);
  const json& st = json_field(j, "steps", ctx);
  if (!st.is_array())
    raise<parse_error>("features.numeric_column", "numeric_column.steps: expected an array");
  for (std::size_t k = 0; k < st.size(); ++k) {
    c.steps_.push_back(
        step_from_json(st[k], fmt::format("numeric_column '{}'.steps[{}]", c.column_, k)));
  }
  return c;
}

void interaction::bind(const schema& s) {
  ia_ = s.index(a_, column_type::numeric, type_name);
  ib_ = s.index(b_, column_type::numeric, type_name);
}

void interaction::append_output_names(std::vector<std::string>& names) const {
  names.push_back(a_ + op_symbols[static_cast<std::size_t>(op_)] + b_);
}

json interaction::to_json() const {
  json j = json_header(type_name, 1);
  j["a"] = a_;
  j["b"] = b_;
  j["op"] = std::string(op_names[static_cast<std::size_t>(op_)]);
  j["fitted"] = fitted_;
  return j;
}

interaction interaction::from_json(const json& j) {
  check_json_header(j, type_name, 1);
  interaction c;
  c.a_ = json_get<std::string>(j, "a", "interaction");
  c.b_ = json_get<std::string>(j, "b", "interaction");
  const auto op = json_get<std::string>(j, "op", "interaction");
  bool found = false;
  for (std::size_t i = 0; i < op_names.size(); ++i) {
    if (op == op_names[i]) {
      c.op_ = static_cast<interaction_op>(i);
      found = true;
    }
  }
  if (!found)
    raise<parse_error>("features.interaction", "interaction.op: unknown operation '{}'", op);
  c.fitted_ = json_get<bool>(j, "fitted", "interaction");
  return c;
}

}  // namespace funnel::features
