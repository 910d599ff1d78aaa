#pragma once
/// @file categorical.hpp
/// @brief Categorical components: one-hot, ordinal, count/frequency and target encoding, feature
/// hashing and hashed crosses. Each reads a string or integer column; a missing value is its own
/// category ("<missing>") wherever the encoder keeps categories (as scikit-learn 1.2 does).

#include <funnel/features/detail.hpp>
#include <funnel/features/murmur.hpp>

#include <cmath>
#include <limits>
#include <string>
#include <utility>
#include <vector>

namespace funnel::features {

/// @brief What an encoder does with a category never seen in fit.
enum class unknown_policy {
  error,   ///< raise not_found naming the column, the row and the value
  ignore,  ///< one-hot: all zeros; ordinal: `unknown_value`
  other,   ///< one-hot: the "<other>" column (shared with infrequent categories)
};

/// @brief Names of unknown-category policies in JSON (`to_string`, `parse_enum`).
constexpr auto enum_names_of(unknown_policy) {
  return enum_names<unknown_policy, 3>{"policy",
                                       {{{unknown_policy::error, "error"},
                                         {unknown_policy::ignore, "ignore"},
                                         {unknown_policy::other, "other"}}}};
}

namespace detail {
inline unknown_policy unknown_from(const std::string& s, std::string_view ctx) {
  return parse_enum<unknown_policy>(s, "features.categorical_encoder",
                                    std::string(ctx) + ".handle_unknown");
}
template <class Row>
[[noreturn]] void raise_unknown(const Row& r, std::size_t col, column_type t,
                                std::string_view column, std::size_t row_index) {
  if (t == column_type::integer) {
    const auto v = r.integer(col);
    if (v == missing_integer) {
      raise<not_found>("features.categorical_encoder",
                       "column '{}', row {}: missing value was never seen in fit and "
                       "the unknown policy is 'error'",
                       column, row_index);
    }
    raise<not_found>("features.categorical_encoder",
                     "column '{}', row {}: unknown category {} (policy 'error')", column, row_index,
                     v);
  }
  const auto v = r.string(col);
  if (is_missing(v)) {
    raise<not_found>("features.categorical_encoder",
                     "column '{}', row {}: missing value was never seen in fit and "
                     "the unknown policy is 'error'",
                     column, row_index);
  }
  raise<not_found>("features.categorical_encoder",
                   "column '{}', row {}: unknown category '{}' (policy 'error')", column, row_index,
                   v);
}
inline void check_kind(const category_set& c, const schema& s, std::size_t col,
                       std::string_view column) {
  if (s[col].type != c.type) {
    raise<invalid_argument>("features.categorical_encoder",
                            "column '{}' is {} in the schema but was fitted as {}", column,
                            to_string(s[col].type), to_string(c.type));
  }
}
inline void check_fitted_json(const json& j, bool& fitted, std::string_view ctx) {
  fitted = json_get<bool>(j, "fitted", ctx);
}
/// @brief The encoders learn categories from rows: fitting on none is an error, not an empty map.
inline void check_fit_rows(const batch& b, std::string_view where, std::string_view column) {
  if (b.rows() == 0) {
    raise<invalid_argument>(where, "column '{}': cannot fit on 0 rows", column);
  }
}
/// @brief Loads the fitted categories and one value per category (count and target encoders).
/// @throws parse_error naming the field, or when the lengths differ.
inline void categories_and_values_from_json(const json& j, const std::string& ctx,
                                            category_set& cats, std::vector<double>& values) {
  cats = category_set::from_json(json_field(j, "categories", ctx), ctx + ".categories");
  values = get_finite_numbers(j, "values", ctx);
  if (values.size() != cats.size()) {
    raise<parse_error>("features.categorical_encoder", "{}.values: {} values for {} categories",
                       ctx, values.size(), cats.size());
  }
}
}  // namespace detail

/// @brief One output per frequent category (sorted, like sklearn), plus an "<other>" output
/// when some categories are infrequent (count < min_frequency) or the policy is `other`.
/// Infrequent categories always go to "<other>"; unseen ones follow `handle_unknown`.
/// Equals sklearn 1.2 OneHotEncoder(min_frequency=m, handle_unknown='infrequent_if_exist')
/// when infrequent categories exist and the policy is `other`.
class one_hot {
 public:
  static constexpr std::string_view type_name = "funnel.features.one_hot";
  one_hot() = default;
  explicit one_hot(std::string column, unknown_policy handle_unknown = unknown_policy::error,
                   std::size_t min_frequency = 1)
      : column_(std::move(column)), unknown_(handle_unknown), min_frequency_(min_frequency) {}

  void bind(const schema& s) {
    col_ = detail::categorical_index(s, column_, type_name);
    type_ = s[col_].type;
    if (fitted_) detail::check_kind(cats_, s, col_, column_);
  }
  /// @brief @throws invalid_argument on an empty column.
  void fit(const batch& b, std::span<const float> /*target*/) {
    detail::check_fit_rows(b, "features.one_hot", column_);
    auto st = detail::count_categories(b, col_);
    cats_ = detail::category_set{};
    cats_.type = st.set.type;
    infrequent_ = false;
    const std::size_t k = st.set.known();
    for (std::size_t i = 0; i < k; ++i) {
      if (st.counts[i] < static_cast<double>(min_frequency_)) {
        infrequent_ = true;
        continue;
      }
      if (cats_.type == column_type::integer) {
        cats_.ints.push_back(st.set.ints[i]);
      } else {
        cats_.strings.push_back(st.set.strings[i]);
      }
    }
    if (st.set.has_missing) {
      if (st.counts[k] >= static_cast<double>(min_frequency_)) {
        cats_.has_missing = true;
      } else {
        infrequent_ = true;
        infrequent_missing_ = true;
      }
    }
    // Infrequent categories are kept (by text) so that they map to "<other>" rather than being
    // treated as unknown.
    rare_ = detail::category_set{};
    rare_.type = cats_.type;
    rare_.has_missing = infrequent_missing_;
    for (std::size_t i = 0; i < k; ++i) {
      if (st.counts[i] >= static_cast<double>(min_frequency_)) continue;
      if (rare_.type == column_type::integer) {
        rare_.ints.push_back(st.set.ints[i]);
      } else {
        rare_.strings.push_back(st.set.strings[i]);
      }
    }
    fitted_ = true;
  }
  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] bool has_other() const noexcept {
    return infrequent_ || unknown_ == unknown_policy::other;
  }
  [[nodiscard]] std::size_t width() const noexcept { return cats_.size() + (has_other() ? 1 : 0); }
  void append_output_names(std::vector<std::string>& names) const {
    for (std::size_t i = 0; i < cats_.size(); ++i) names.push_back(column_ + "=" + cats_.label(i));
    if (has_other()) names.push_back(column_ + "=<other>");
  }
  /// @brief @throws not_found for an unseen category under policy error.
  template <class Row>
  void transform_row(const Row& r, std::size_t row_index, float* out) const {
    const std::size_t w = width();
    for (std::size_t i = 0; i < w; ++i) out[i] = 0.0F;
    const std::size_t i = cats_.find(r, col_);
    if (i != detail::npos) {
      out[i] = 1.0F;
      return;
    }
    if (infrequent_ && rare_.find(r, col_) != detail::npos) {
      out[w - 1] = 1.0F;
      return;
    }
    switch (unknown_) {
      case unknown_policy::error:
        detail::raise_unknown(r, col_, type_, column_, row_index);
      case unknown_policy::ignore:
        return;
      case unknown_policy::other:
        out[w - 1] = 1.0F;
        return;
    }
  }
  [[nodiscard]] json to_json() const {
    json j = json_header(type_name, 1);
    j["column"] = column_;
    j["handle_unknown"] = std::string(to_string(unknown_));
    j["min_frequency"] = min_frequency_;
    j["fitted"] = fitted_;
    if (fitted_) {
      j["categories"] = cats_.to_json();
      j["infrequent"] = rare_.to_json();
      j["has_infrequent"] = infrequent_;
    }
    return j;
  }
  static one_hot from_json(const json& j) {
    check_json_header(j, type_name, 1);
    const std::string ctx = "one_hot";
    one_hot c;
    c.column_ = json_get<std::string>(j, "column", ctx);
    c.unknown_ = detail::unknown_from(json_get<std::string>(j, "handle_unknown", ctx), ctx);
    c.min_frequency_ = json_get<std::size_t>(j, "min_frequency", ctx);
    detail::check_fitted_json(j, c.fitted_, ctx);
    if (c.fitted_) {
      c.cats_ =
          detail::category_set::from_json(json_field(j, "categories", ctx), ctx + ".categories");
      c.rare_ =
          detail::category_set::from_json(json_field(j, "infrequent", ctx), ctx + ".infrequent");
      c.infrequent_ = json_get<bool>(j, "has_infrequent", ctx);
      c.infrequent_missing_ = c.rare_.has_missing;
    }
    return c;
  }

 private:
  std::string column_;
  unknown_policy unknown_ = unknown_policy::error;
  std::size_t min_frequency_ = 1;
  detail::category_set cats_;
  detail::category_set rare_;
  bool infrequent_ = false;
  bool infrequent_missing_ = false;
  bool fitted_ = false;
  std::size_t col_ = detail::npos;
  column_type type_ = column_type::string;
};

/// @brief Category -> its index in sorted order (sklearn OrdinalEncoder). Missing -> NaN (as
/// sklearn 1.2 passes NaN through); unseen -> error, or `unknown_value` under policy ignore.
class ordinal_encoder {
 public:
  static constexpr std::string_view type_name = "funnel.features.ordinal_encoder";
  ordinal_encoder() = default;
  explicit ordinal_encoder(std::string column,
                           unknown_policy handle_unknown = unknown_policy::error,
                           float unknown_value = -1.0F)
      : column_(std::move(column)), unknown_(handle_unknown), unknown_value_(unknown_value) {
    if (unknown_ == unknown_policy::other) {
      raise<invalid_argument>("features.ordinal_encoder",
                              "column '{}': policy 'other' is not "
                              "defined for ordinal encoding (use 'ignore' with unknown_value)",
                              column_);
    }
  }
  void bind(const schema& s) {
    col_ = detail::categorical_index(s, column_, type_name);
    type_ = s[col_].type;
    if (fitted_) detail::check_kind(cats_, s, col_, column_);
  }
  void fit(const batch& b, std::span<const float>) {
    detail::check_fit_rows(b, "features.ordinal_encoder", column_);
    cats_ = detail::count_categories(b, col_).set;
    cats_.has_missing = false;  // missing is NaN, not a category
    fitted_ = true;
  }
  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] std::size_t width() const noexcept { return 1; }
  void append_output_names(std::vector<std::string>& names) const { names.push_back(column_); }
  template <class Row>
  void transform_row(const Row& r, std::size_t row_index, float* out) const {
    const bool missing = type_ == column_type::integer ? r.integer(col_) == missing_integer
                                                       : is_missing(r.string(col_));
    if (missing) {
      out[0] = std::numeric_limits<float>::quiet_NaN();
      return;
    }
    const std::size_t i = cats_.find(r, col_);
    if (i != detail::npos) {
      out[0] = static_cast<float>(i);
      return;
    }
    if (unknown_ == unknown_policy::error) {
      detail::raise_unknown(r, col_, type_, column_, row_index);
    }
    out[0] = unknown_value_;
  }
  [[nodiscard]] json to_json() const {
    json j = json_header(type_name, 1);
    j["column"] = column_;
    j["handle_unknown"] = std::string(to_string(unknown_));
    j["unknown_value"] = static_cast<double>(unknown_value_);
    j["fitted"] = fitted_;
    if (fitted_) j["categories"] = cats_.to_json();
    return j;
  }
  static ordinal_encoder from_json(const json& j) {
    check_json_header(j, type_name, 1);
    const std::string ctx = "ordinal_encoder";
    ordinal_encoder c;
    c.column_ = json_get<std::string>(j, "column", ctx);
    c.unknown_ = detail::unknown_from(json_get<std::string>(j, "handle_unknown", ctx), ctx);
    if (c.unknown_ == unknown_policy::other) {
      raise<parse_error>("features.ordinal_encoder",
                         "ordinal_encoder.handle_unknown: 'other' is not supported");
    }
    c.unknown_value_ = json_get_finite<float>(j, "unknown_value", ctx);
    detail::check_fitted_json(j, c.fitted_, ctx);
    if (c.fitted_) {
      c.cats_ =
          detail::category_set::from_json(json_field(j, "categories", ctx), ctx + ".categories");
    }
    return c;
  }

 private:
  std::string column_;
  unknown_policy unknown_ = unknown_policy::error;
  float unknown_value_ = -1.0F;
  detail::category_set cats_;
  bool fitted_ = false;
  std::size_t col_ = detail::npos;
  column_type type_ = column_type::string;
};

/// @brief Category -> its training count (or frequency = count / rows). Unseen -> 0; missing is
/// its own category.
class count_encoder {
 public:
  static constexpr std::string_view type_name = "funnel.features.count_encoder";
  count_encoder() = default;
  explicit count_encoder(std::string column, bool normalize = false)
      : column_(std::move(column)), normalize_(normalize) {}
  void bind(const schema& s) {
    col_ = detail::categorical_index(s, column_, type_name);
    if (fitted_) detail::check_kind(cats_, s, col_, column_);
  }
  void fit(const batch& b, std::span<const float>) {
    detail::check_fit_rows(b, "features.count_encoder", column_);
    auto st = detail::count_categories(b, col_);
    cats_ = std::move(st.set);
    values_ = std::move(st.counts);
    if (normalize_) {
      for (auto& v : values_) v /= static_cast<double>(b.rows());
    }
    fitted_ = true;
  }
  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] std::size_t width() const noexcept { return 1; }
  void append_output_names(std::vector<std::string>& names) const {
    names.push_back(column_ + (normalize_ ? "_frequency" : "_count"));
  }
  template <class Row>
  void transform_row(const Row& r, std::size_t, float* out) const noexcept {
    const std::size_t i = cats_.find(r, col_);
    out[0] = i == detail::npos ? 0.0F : static_cast<float>(values_[i]);
  }
  [[nodiscard]] json to_json() const {
    json j = json_header(type_name, 1);
    j["column"] = column_;
    j["normalize"] = normalize_;
    j["fitted"] = fitted_;
    if (fitted_) {
      j["categories"] = cats_.to_json();
      j["values"] = values_;
    }
    return j;
  }
  static count_encoder from_json(const json& j) {
    check_json_header(j, type_name, 1);
    const std::string ctx = "count_encoder";
    count_encoder c;
    c.column_ = json_get<std::string>(j, "column", ctx);
    c.normalize_ = json_get<bool>(j, "normalize", ctx);
    detail::check_fitted_json(j, c.fitted_, ctx);
    if (c.fitted_) {
      detail::categories_and_values_from_json(j, ctx, c.cats_, c.values_);
    }
    return c;
  }

 private:
  std::string column_;
  bool normalize_ = false;
  detail::category_set cats_;
  std::vector<double> values_;
  bool fitted_ = false;
  std::size_t col_ = detail::npos;
};

/// @brief Smoothed target mean per category: (sum_y + m * prior) / (n + m), prior = mean(y).
/// Unseen -> prior; missing is its own category. For training rows use the pipeline's
/// `fit_transform` with folds: each row is encoded with statistics from the other folds only,
/// so a row never sees its own label.
class target_encoder {
 public:
  static constexpr std::string_view type_name = "funnel.features.target_encoder";
  static constexpr bool needs_target = true;
  target_encoder() = default;
  explicit target_encoder(std::string column, double smoothing = 1.0)
      : column_(std::move(column)), smoothing_(smoothing) {
    if (!(smoothing >= 0.0) || std::isinf(smoothing)) {
      raise<invalid_argument>("features.target_encoder",
                              "column '{}': smoothing {} must be "
                              "finite and >= 0",
                              column_, smoothing);
    }
  }
  void bind(const schema& s) {
    col_ = detail::categorical_index(s, column_, type_name);
    if (fitted_) detail::check_kind(cats_, s, col_, column_);
  }
  /// @brief @throws invalid_argument on 0 rows or a missing target.
  void fit(const batch& b, std::span<const float> target) {
    detail::check_fit_rows(b, "features.target_encoder", column_);
    auto st = detail::count_categories(b, col_, target);
    prior_ = 0.0;
    for (float y : target) prior_ += static_cast<double>(y);
    prior_ /= static_cast<double>(target.size());
    cats_ = std::move(st.set);
    values_.resize(cats_.size());
    for (std::size_t i = 0; i < values_.size(); ++i) {
      values_[i] = encode(st.sums[i], st.counts[i], prior_);
    }
    fitted_ = true;
  }
  /// @brief Out-of-fold encodings of the training rows: row i uses the statistics (and prior)
  /// of the rows whose fold differs from folds[i]. Writes out[i * stride].
  void transform_out_of_fold(const batch& b, std::span<const float> target,
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
  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] std::size_t width() const noexcept { return 1; }
  [[nodiscard]] double prior() const noexcept { return prior_; }
  void append_output_names(std::vector<std::string>& names) const {
    names.push_back(column_ + "_target");
  }
  template <class Row>
  void transform_row(const Row& r, std::size_t, float* out) const noexcept {
    const std::size_t i = cats_.find(r, col_);
    out[0] = static_cast<float>(i == detail::npos ? prior_ : values_[i]);
  }
  [[nodiscard]] json to_json() const {
    json j = json_header(type_name, 1);
    j["column"] = column_;
    j["smoothing"] = smoothing_;
    j["fitted"] = fitted_;
    if (fitted_) {
      j["prior"] = prior_;
      j["categories"] = cats_.to_json();
      j["values"] = values_;
    }
    return j;
  }
  static target_encoder from_json(const json& j) {
    check_json_header(j, type_name, 1);
    const std::string ctx = "target_encoder";
    target_encoder c;
    c.column_ = json_get<std::string>(j, "column", ctx);
    c.smoothing_ = json_get_finite<double>(j, "smoothing", ctx);
    if (c.smoothing_ < 0.0) {
      raise<parse_error>("features.target_encoder", "{}.smoothing: {} must be >= 0", ctx,
                         c.smoothing_);
    }
    detail::check_fitted_json(j, c.fitted_, ctx);
    if (c.fitted_) {
      c.prior_ = json_get_finite<double>(j, "prior", ctx);
      detail::categories_and_values_from_json(j, ctx, c.cats_, c.values_);
    }
    return c;
  }

 private:
  [[nodiscard]] double encode(double sum, double count, double prior) const noexcept {
    const double d = count + smoothing_;
    return d > 0 ? (sum + smoothing_ * prior) / d : prior;
  }
  std::string column_;
  double smoothing_ = 1.0;
  double prior_ = 0.0;
  detail::category_set cats_;
  std::vector<double> values_;
  bool fitted_ = false;
  std::size_t col_ = detail::npos;
};

namespace detail {
/// @brief What the stateless hashing steps share: the hashed columns (resolved by `bind`), the
/// output count n, the seed, and the JSON fields and loading rules common to both. Derived
/// supplies `type_name`, its transform and whatever it adds.
template <class Derived>
class hashing_step {
 public:
  void bind(const schema& s) {
    idx_.clear();
    types_.clear();
    for (const auto& c : columns_) {
      idx_.push_back(categorical_index(s, c, Derived::type_name));
      types_.push_back(s[idx_.back()].type);
    }
  }
  void fit(const batch&, std::span<const float>) noexcept { fitted_ = true; }
  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] std::size_t width() const noexcept { return n_; }

 protected:
  hashing_step() = default;
  hashing_step(std::vector<std::string> columns, std::size_t n, std::uint32_t seed)
      : columns_(std::move(columns)), n_(n), seed_(seed) {}

  /// @brief The shared fields; n is saved under `count_key`.
  [[nodiscard]] json common_json(std::string_view count_key) const {
    json j = json_header(Derived::type_name, 1);
    j["columns"] = columns_;
    j[std::string(count_key)] = n_;
    j["seed"] = seed_;
    j["fitted"] = fitted_;
    return j;
  }
  /// @brief Loads the shared fields and builds the step with `make(columns, n, seed)`; a value
  /// the constructor rejects becomes a parse_error. n is read under `count_key`, or under
  /// `legacy_key` in documents written before the count was renamed (0.1: "n_features",
  /// "n_buckets"). @throws parse_error naming the field.
  template <class Make>
  static Derived load(const json& j, std::string_view ctx, std::string_view count_key,
                      std::string_view legacy_key, Make make) {
    check_json_header(j, Derived::type_name, 1);
    const auto seed = json_get<std::uint32_t>(j, "seed", ctx);
    // The width is bounded here, before anything is sized by it (a count near 2^64 would wrap
    // the pipeline's width sum and the first transform would write out of bounds).
    const auto n = json_get_in<std::size_t>(j, json_key_or_legacy(j, count_key, legacy_key), 1,
                                            max_output_width, ctx);
    Derived c;
    try {
      c = make(json_get<std::vector<std::string>>(j, "columns", ctx), n, seed);
    } catch (const invalid_argument& e) {
      raise<parse_error>("features.categorical_encoder", "{}: {}", ctx, e.what());
    }
    check_fitted_json(j, c.fitted_, ctx);
    return c;
  }

  std::vector<std::string> columns_;
  std::size_t n_ = 0;
  std::uint32_t seed_ = 0;
  bool fitted_ = false;
  std::vector<std::size_t> idx_;
  std::vector<column_type> types_;
};
}  // namespace detail

/// @brief Feature hashing of categorical columns into `num_features` outputs: token
/// "column=value" (UTF-8 bytes; integers in decimal) hashed with MurmurHash3 x86_32 (seeded),
/// index = |h| mod n, sign = +1 if h >= 0 else -1 (alternate_sign); collisions add. Equals
/// sklearn 1.2 FeatureHasher(input_type='dict') on {column: value} when seed = 0. Missing values
/// contribute nothing. Stateless: fit only marks it fitted.
class feature_hasher : public detail::hashing_step<feature_hasher> {
 public:
  static constexpr std::string_view type_name = "funnel.features.feature_hasher";
  feature_hasher() = default;
  feature_hasher(std::vector<std::string> columns, std::size_t num_features, std::uint32_t seed = 0,
                 bool alternate_sign = true)
      : hashing_step(std::move(columns), num_features, seed), alternate_(alternate_sign) {
    if (columns_.empty()) {
      raise<invalid_argument>("features.feature_hasher", "needs at least 1 column");
    }
    if (n_ == 0 || n_ > max_output_width) {
      raise<invalid_argument>("features.feature_hasher",
                              "num_features {} must be in [1, {}] (features::max_output_width)", n_,
                              max_output_width);
    }
  }
  /// @brief Output names `hash(<c1>,<c2>,...)[i]`, i = 0..num_features-1 (the hashed columns in
  /// the order given).
  void append_output_names(std::vector<std::string>& names) const {
    const auto f = output_family();
    for (std::size_t i = 0; i < n_; ++i) names.push_back(fmt::format("{}[{}]", f.base, i));
  }
  /// @brief The pattern of the output names (base "hash(c1,c2,...)", num_features outputs).
  [[nodiscard]] detail::output_family output_family() const {
    std::string base = "hash(";
    for (std::size_t c = 0; c < columns_.size(); ++c) base += (c ? "," : "") + columns_[c];
    return {base + ")", n_};
  }
  template <class Row>
  void transform_row(const Row& r, std::size_t, float* out) const noexcept {
    for (std::size_t i = 0; i < n_; ++i) out[i] = 0.0F;
    for (std::size_t c = 0; c < idx_.size(); ++c) {
      murmur3_32 h(seed_);
      if (!detail::hash_token(h, r, idx_[c], columns_[c], types_[c])) continue;
      const auto s = static_cast<std::int32_t>(h.finish());
      // |INT32_MIN| = 2^31 (sklearn special-cases it the same way).
      const std::uint64_t mag = s < 0 ? static_cast<std::uint64_t>(-static_cast<std::int64_t>(s))
                                      : static_cast<std::uint64_t>(s);
      const auto index = static_cast<std::size_t>(mag % n_);
      out[index] += (alternate_ && s < 0) ? -1.0F : 1.0F;
    }
  }
  [[nodiscard]] json to_json() const {
    json j = common_json("num_features");
    j["alternate_sign"] = alternate_;
    return j;
  }
  static feature_hasher from_json(const json& j) {
    return load(j, "feature_hasher", "num_features", "n_features",
                [&](std::vector<std::string> columns, std::size_t n, std::uint32_t seed) {
                  return feature_hasher(std::move(columns), n, seed,
                                        json_get<bool>(j, "alternate_sign", "feature_hasher"));
                });
  }

 private:
  bool alternate_ = true;
};

/// @brief Cross of two or more categorical columns hashed into `num_buckets` one-hot outputs:
/// token "a=x^b=y" hashed with MurmurHash3 x86_32 (seeded), bucket = h mod n (unsigned).
/// A row with any input missing gets all zeros. Stateless.
class hashed_cross : public detail::hashing_step<hashed_cross> {
 public:
  static constexpr std::string_view type_name = "funnel.features.hashed_cross";
  hashed_cross() = default;
  hashed_cross(std::vector<std::string> columns, std::size_t num_buckets, std::uint32_t seed = 0)
      : hashing_step(std::move(columns), num_buckets, seed) {
    if (columns_.size() < 2) {
      raise<invalid_argument>("features.hashed_cross", "a cross needs at least 2 columns, got {}",
                              columns_.size());
    }
    if (n_ == 0 || n_ > max_output_width) {
      raise<invalid_argument>("features.hashed_cross",
                              "num_buckets {} must be in [1, {}] (features::max_output_width)", n_,
                              max_output_width);
    }
  }
  /// @brief Output names `<c1>^<c2>^...[i]`, i = 0..num_buckets-1.
  void append_output_names(std::vector<std::string>& names) const {
    const auto f = output_family();
    for (std::size_t i = 0; i < n_; ++i) names.push_back(fmt::format("{}[{}]", f.base, i));
  }
  /// @brief The pattern of the output names (base "c1^c2^...", num_buckets outputs).
  [[nodiscard]] detail::output_family output_family() const {
    std::string base;
    for (std::size_t c = 0; c < columns_.size(); ++c) base += (c ? "^" : "") + columns_[c];
    return {base, n_};
  }
  /// @brief The bucket of row `r`, or npos when an input is missing.
  template <class Row>
  [[nodiscard]] std::size_t bucket(const Row& r) const noexcept {
    murmur3_32 h(seed_);
    for (std::size_t c = 0; c < idx_.size(); ++c) {
      if (c != 0) h.update("^");
      if (!detail::hash_token(h, r, idx_[c], columns_[c], types_[c])) return detail::npos;
    }
    return static_cast<std::size_t>(h.finish() % n_);
  }
  template <class Row>
  void transform_row(const Row& r, std::size_t, float* out) const noexcept {
    for (std::size_t i = 0; i < n_; ++i) out[i] = 0.0F;
    const std::size_t b = bucket(r);
    if (b != detail::npos) out[b] = 1.0F;
  }
  [[nodiscard]] json to_json() const { return common_json("num_buckets"); }
  static hashed_cross from_json(const json& j) {
    return load(j, "hashed_cross", "num_buckets", "n_buckets",
                [](std::vector<std::string> columns, std::size_t n, std::uint32_t seed) {
                  return hashed_cross(std::move(columns), n, seed);
                });
  }
};

/// @brief Fold ids 0..k-1 for n rows, balanced (sizes differ by at most 1) and shuffled with a
/// seeded funnel::rng: the same seed gives the same folds on every platform.
/// @throws invalid_argument when k < 2 or k > n.
[[nodiscard]] std::vector<std::uint32_t> make_folds(std::size_t n, std::uint32_t k,
                                                    std::uint64_t seed);

}  // namespace funnel::features
