#include <funnel/features/categorical.hpp>

#include <algorithm>
#include <cmath>

namespace funnel::features {

namespace detail {

category_set read_categories(const json& j, std::string_view key, const std::string& ctx) {
  return category_set::from_json(json_field(j, key, ctx), ctx + "." + std::string(key));
}

unknown_policy unknown_from(const json& j, const std::string& ctx) {
  return parse_enum<unknown_policy>(json_get<std::string>(j, "handle_unknown", ctx),
                                    "features.categorical_encoder", ctx + ".handle_unknown");
}

namespace {
[[noreturn]] void raise_missing_unknown(std::string_view column, std::size_t row_index) {
  raise<not_found>("features.categorical_encoder",
                   "column '{}', row {}: missing value was never seen in fit and "
                   "the unknown policy is 'error'",
                   column, row_index);
}
}  // namespace

void raise_unknown_integer(std::int64_t v, std::string_view column, std::size_t row_index) {
  if (v == missing_integer) raise_missing_unknown(column, row_index);
  raise<not_found>("features.categorical_encoder",
                   "column '{}', row {}: unknown category {} (policy 'error')", column, row_index,
                   v);
}

void raise_unknown_string(std::string_view v, std::string_view column, std::size_t row_index) {
  if (is_missing(v)) raise_missing_unknown(column, row_index);
  raise<not_found>("features.categorical_encoder",
                   "column '{}', row {}: unknown category '{}' (policy 'error')", column, row_index,
                   v);
}

void category_encoder_base::bind_column(const schema& s, const category_set& cats,
                                        std::string_view type_name) {
  col_ = categorical_index(s, column_, type_name);
  if (fitted_ && s[col_].type != cats.type) {
    raise<invalid_argument>("features.categorical_encoder",
                            "column '{}' is {} in the schema but was fitted as {}", column_,
                            to_string(s[col_].type), to_string(cats.type));
  }
}

void category_encoder_base::check_fit_rows(const batch& b, std::string_view where) const {
  if (b.rows() == 0) {
    raise<invalid_argument>(where, "column '{}': cannot fit on 0 rows", column_);
  }
}

json category_encoder_base::common_json(std::string_view type_name) const {
  json j = json_header(type_name, 1);
  j["column"] = column_;
  j["fitted"] = fitted_;
  return j;
}

void category_encoder_base::read_column(const json& j, std::string_view type_name,
                                        std::string_view ctx) {
  check_json_header(j, type_name, 1);
  column_ = json_get<std::string>(j, "column", ctx);
}

void category_values::to_json(json& j) const {
  j["categories"] = cats.to_json();
  j["values"] = values;
}

void category_values::from_json(const json& j, const std::string& ctx) {
  cats = read_categories(j, "categories", ctx);
  values = get_finite_numbers(j, "values", ctx);
  if (values.size() != cats.size()) {
    raise<parse_error>("features.categorical_encoder", "{}.values: {} values for {} categories",
                       ctx, values.size(), cats.size());
  }
}

void check_hashing(std::string_view where, std::string_view options, std::string_view count_name,
                   std::size_t columns, std::size_t min_columns, std::size_t n) {
  if (columns < min_columns) {
    raise<invalid_argument>(where, "needs at least {} column{}, got {}", min_columns,
                            min_columns == 1 ? "" : "s", columns);
  }
  if (n == 0 || n > max_output_width) {
    raise<invalid_argument>(where, "{}.{} {} must be in [1, {}] (features::max_output_width)",
                            options, count_name, n, max_output_width);
  }
}

}  // namespace detail

// one_hot

void one_hot::bind(const schema& s) {
  bind_column(s, cats_, type_name);
  type_ = s[col_].type;
}

void one_hot::fit(const batch& b, std::span<const float> /*target*/) {
  check_fit_rows(b, "features.one_hot");
  auto st = detail::count_categories(b, col_);
  const auto frequent = [&](std::size_t i) {
    return st.counts[i] >= static_cast<double>(o_.min_frequency);
  };
  // Infrequent categories are kept (by text) in rare_ so that they map to "<other>" rather than
  // being treated as unknown.
  cats_ = detail::category_set{};
  rare_ = detail::category_set{};
  cats_.type = rare_.type = st.set.type;
  infrequent_ = false;
  infrequent_missing_ = false;  // a refit depends on the new data only
  const std::size_t k = st.set.known();
  for (std::size_t i = 0; i < k; ++i) {
    auto& to = frequent(i) ? cats_ : rare_;
    infrequent_ = infrequent_ || !frequent(i);
    if (to.type == column_type::integer) {
      to.ints.push_back(st.set.ints[i]);
    } else {
      to.strings.push_back(st.set.strings[i]);
    }
  }
  if (st.set.has_missing) {
    if (frequent(k)) {
      cats_.has_missing = true;
    } else {
      infrequent_ = true;
      infrequent_missing_ = true;
    }
  }
  rare_.has_missing = infrequent_missing_;
  fitted_ = true;
}

void one_hot::append_output_names(std::vector<std::string>& names) const {
  for (std::size_t i = 0; i < cats_.size(); ++i) names.push_back(column_ + "=" + cats_.label(i));
  if (has_other()) names.push_back(column_ + "=<other>");
}

json one_hot::to_json() const {
  json j = common_json(type_name);
  j["handle_unknown"] = std::string(to_string(o_.handle_unknown));
  j["min_frequency"] = o_.min_frequency;
  if (fitted_) {
    j["categories"] = cats_.to_json();
    j["infrequent"] = rare_.to_json();
    j["has_infrequent"] = infrequent_;
  }
  return j;
}

one_hot one_hot::from_json(const json& j) {
  const std::string ctx = "one_hot";
  return load<one_hot>(
      j, ctx,
      [&](one_hot& c) {
        c.o_.handle_unknown = detail::unknown_from(j, ctx);
        c.o_.min_frequency = json_get<std::size_t>(j, "min_frequency", ctx);
      },
      [&](one_hot& c) {
        c.cats_ = detail::read_categories(j, "categories", ctx);
        c.rare_ = detail::read_categories(j, "infrequent", ctx);
        c.infrequent_ = json_get<bool>(j, "has_infrequent", ctx);
        c.infrequent_missing_ = c.rare_.has_missing;
      });
}

// ordinal_encoder

ordinal_encoder::ordinal_encoder(std::string column, const ordinal_encoder_options& options)
    : category_encoder(std::move(column), options) {
  if (o_.handle_unknown == unknown_policy::other) {
    raise<invalid_argument>("features.ordinal_encoder",
                            "column '{}': ordinal_encoder_options.handle_unknown 'other' is not "
                            "defined for ordinal encoding (use 'ignore' with unknown_value)",
                            column_);
  }
}

void ordinal_encoder::bind(const schema& s) {
  bind_column(s, cats_, type_name);
  type_ = s[col_].type;
}

void ordinal_encoder::fit(const batch& b, std::span<const float>) {
  check_fit_rows(b, "features.ordinal_encoder");
  cats_ = detail::count_categories(b, col_).set;
  cats_.has_missing = false;  // missing is NaN, not a category
  fitted_ = true;
}

json ordinal_encoder::to_json() const {
  json j = common_json(type_name);
  j["handle_unknown"] = std::string(to_string(o_.handle_unknown));
  j["unknown_value"] = static_cast<double>(o_.unknown_value);
  if (fitted_) j["categories"] = cats_.to_json();
  return j;
}

ordinal_encoder ordinal_encoder::from_json(const json& j) {
  const std::string ctx = "ordinal_encoder";
  return load<ordinal_encoder>(
      j, ctx,
      [&](ordinal_encoder& c) {
        c.o_.handle_unknown = detail::unknown_from(j, ctx);
        if (c.o_.handle_unknown == unknown_policy::other) {
          raise<parse_error>("features.ordinal_encoder",
                             "ordinal_encoder.handle_unknown: 'other' is not supported");
        }
        c.o_.unknown_value = json_get_finite<float>(j, "unknown_value", ctx);
      },
      [&](ordinal_encoder& c) { c.cats_ = detail::read_categories(j, "categories", ctx); });
}

// count_encoder

void count_encoder::bind(const schema& s) {
  bind_column(s, state_.cats, type_name);
}

void count_encoder::fit(const batch& b, std::span<const float>) {
  check_fit_rows(b, "features.count_encoder");
  auto st = detail::count_categories(b, col_);
  state_.cats = std::move(st.set);
  state_.values = std::move(st.counts);
  if (o_.normalize) {
    for (auto& v : state_.values) v /= static_cast<double>(b.rows());
  }
  fitted_ = true;
}

void count_encoder::append_output_names(std::vector<std::string>& names) const {
  names.push_back(column_ + (o_.normalize ? "_frequency" : "_count"));
}

json count_encoder::to_json() const {
  json j = common_json(type_name);
  j["normalize"] = o_.normalize;
  if (fitted_) state_.to_json(j);
  return j;
}

count_encoder count_encoder::from_json(const json& j) {
  const std::string ctx = "count_encoder";
  return load<count_encoder>(
      j, ctx, [&](count_encoder& c) { c.o_.normalize = json_get<bool>(j, "normalize", ctx); },
      [&](count_encoder& c) { c.state_.from_json(j, ctx); });
}

// target_encoder

target_encoder::target_encoder(std::string column, const target_encoder_options& options)
    : category_encoder(std::move(column), options) {
  if (!(o_.smoothing >= 0.0) || std::isinf(o_.smoothing)) {
    raise<invalid_argument>("features.target_encoder",
                            "column '{}': target_encoder_options.smoothing {} must be finite and "
                            ">= 0",
                            column_, o_.smoothing);
  }
}

void target_encoder::bind(const schema& s) {
  bind_column(s, state_.cats, type_name);
}

void target_encoder::fit(const batch& b, std::span<const float> target) {
  check_fit_rows(b, "features.target_encoder");
  auto st = detail::count_categories(b, col_, target);
  prior_ = 0.0;
  for (float y : target) prior_ += static_cast<double>(y);
  prior_ /= static_cast<double>(target.size());
  state_.cats = std::move(st.set);
  state_.values.resize(state_.cats.size());
  for (std::size_t i = 0; i < state_.values.size(); ++i) {
    state_.values[i] = encode(st.sums[i], st.counts[i], prior_);
  }
  fitted_ = true;
}

void target_encoder::transform_out_of_fold(const batch& b, std::span<const float> target,
                                           std::span<const std::uint32_t> folds, float* out,
                                           std::size_t stride) const {
  std::uint32_t k = 0;
  for (auto f : folds) k = std::max(k, f + 1);
  auto all = detail::count_categories(b, col_, target);
  // Per-fold count/sum per category: totals minus the fold's own rows.
  const std::size_t nc = all.set.size();
  std::vector<double> fc(static_cast<std::size_t>(k) * nc, 0.0);
  std::vector<double> fs(fc.size(), 0.0);
  std::vector<double> fold_n(k, 0.0);
  std::vector<double> fold_s(k, 0.0);
  double total_s = 0.0;
  std::vector<std::size_t> idx(b.rows());
  for (std::size_t i = 0; i < b.rows(); ++i) {
    idx[i] = all.set.find(b.at(i), col_);
    const std::size_t f = folds[i];
    fc[f * nc + idx[i]] += 1.0;
    fs[f * nc + idx[i]] += static_cast<double>(target[i]);
    fold_n[f] += 1.0;
    fold_s[f] += static_cast<double>(target[i]);
    total_s += static_cast<double>(target[i]);
  }
  const auto n = static_cast<double>(b.rows());
  for (std::size_t i = 0; i < b.rows(); ++i) {
    const std::size_t f = folds[i];
    const double rest_n = n - fold_n[f];
    const double prior = rest_n > 0 ? (total_s - fold_s[f]) / rest_n : prior_;
    const double cn = all.counts[idx[i]] - fc[f * nc + idx[i]];
    const double cs = all.sums[idx[i]] - fs[f * nc + idx[i]];
    out[i * stride] = static_cast<float>(encode(cs, cn, prior));
  }
}

json target_encoder::to_json() const {
  json j = common_json(type_name);
  j["smoothing"] = o_.smoothing;
  if (fitted_) {
    j["prior"] = prior_;
    state_.to_json(j);
  }
  return j;
}

target_encoder target_encoder::from_json(const json& j) {
  const std::string ctx = "target_encoder";
  return load<target_encoder>(
      j, ctx,
      [&](target_encoder& c) {
        c.o_.smoothing = json_get_finite<double>(j, "smoothing", ctx);
        if (c.o_.smoothing < 0.0) {
          raise<parse_error>("features.target_encoder", "{}.smoothing: {} must be >= 0", ctx,
                             c.o_.smoothing);
        }
      },
      [&](target_encoder& c) {
        c.prior_ = json_get_finite<double>(j, "prior", ctx);
        c.state_.from_json(j, ctx);
      });
}

// feature_hasher

feature_hasher::feature_hasher(std::vector<std::string> columns,
                               const feature_hasher_options& options)
    : hashing_step(std::move(columns), options.num_features, options.seed),
      alternate_(options.alternate_sign) {
  detail::check_hashing("features.feature_hasher", "feature_hasher_options", "num_features",
                        columns_.size(), 1, n_);
}

detail::output_family feature_hasher::output_family() const {
  std::string base = "hash(";
  for (std::size_t c = 0; c < columns_.size(); ++c) base += (c ? "," : "") + columns_[c];
  return {base + ")", n_};
}

json feature_hasher::to_json() const {
  json j = common_json("num_features");
  j["alternate_sign"] = alternate_;
  return j;
}

feature_hasher feature_hasher::from_json(const json& j) {
  return load(j, "feature_hasher", "num_features", "n_features",
              [&](std::vector<std::string> columns, std::size_t n, std::uint32_t seed) {
                return feature_hasher(
                    std::move(columns),
                    {.num_features = n,
                     .seed = seed,
                     .alternate_sign = json_get<bool>(j, "alternate_sign", "feature_hasher")});
              });
}

// hashed_cross

hashed_cross::hashed_cross(std::vector<std::string> columns, const hashed_cross_options& options)
    : hashing_step(std::move(columns), options.num_buckets, options.seed) {
  detail::check_hashing("features.hashed_cross", "hashed_cross_options", "num_buckets",
                        columns_.size(), 2, n_);
}

detail::output_family hashed_cross::output_family() const {
  std::string base;
  for (std::size_t c = 0; c < columns_.size(); ++c) base += (c ? "^" : "") + columns_[c];
  return {base, n_};
}

hashed_cross hashed_cross::from_json(const json& j) {
  return load(j, "hashed_cross", "num_buckets", "n_buckets",
              [](std::vector<std::string> columns, std::size_t n, std::uint32_t seed) {
                return hashed_cross(std::move(columns), {.num_buckets = n, .seed = seed});
              });
}

}  // namespace funnel::features
