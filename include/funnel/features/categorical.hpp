#pragma once
/// @file categorical.hpp
/// @brief Categorical components: one-hot, ordinal, count/frequency and target encoding, feature
/// hashing and hashed crosses. Each reads a string or integer column; a missing value is its own
/// category ("<missing>") wherever the encoder keeps categories (as scikit-learn 1.2 does).

#include <funnel/features/detail.hpp>
#include <funnel/features/murmur.hpp>

#include <cstdint>
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
/// @brief The category set in `j`[key]. @throws parse_error naming `ctx`.key and the field.
category_set read_categories(const json& j, std::string_view key, const std::string& ctx);
/// @brief The policy in `j`["handle_unknown"]. @throws parse_error naming `ctx`.handle_unknown.
unknown_policy unknown_from(const json& j, const std::string& ctx);
/// @brief @throws not_found naming the column, the row and the value (policy error).
[[noreturn]] void raise_unknown_integer(std::int64_t v, std::string_view column,
                                        std::size_t row_index);
[[noreturn]] void raise_unknown_string(std::string_view v, std::string_view column,
                                       std::size_t row_index);
template <class Row>
[[noreturn]] void raise_unknown(const Row& r, std::size_t col, column_type t,
                                std::string_view column, std::size_t row_index) {
  if (t == column_type::integer) raise_unknown_integer(r.integer(col), column, row_index);
  raise_unknown_string(r.string(col), column, row_index);
}

/// @brief What the encoders that learn categories share: the input column (resolved by `bind`,
/// checked against the fitted kind), the fitted flag, and the common JSON fields. Derived
/// supplies `type_name` and whatever it learns.
class category_encoder_base {
 public:
  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  [[nodiscard]] const std::string& column() const noexcept { return column_; }

 protected:
  category_encoder_base() = default;
  explicit category_encoder_base(std::string column) : column_(std::move(column)) {}
  /// @brief Resolves the column; once fitted, checks its kind against `cats`.
  /// @throws not_found, invalid_argument.
  void bind_column(const schema& s, const category_set& cats, std::string_view type_name);
  /// @brief @throws invalid_argument on 0 rows (categories are learned from rows).
  void check_fit_rows(const batch& b, std::string_view where) const;
  /// @brief The header, "column" and "fitted".
  [[nodiscard]] json common_json(std::string_view type_name) const;
  /// @brief Loads what every encoder has (header, "column", "fitted"), the encoder's options
  /// (`read_options(c)`, read before "fitted") and, when fitted, its state (`read_state(c)`).
  /// @throws parse_error naming the field.
  template <class Derived, class ReadOptions, class ReadState>
  static Derived load(const json& j, const std::string& ctx, ReadOptions read_options,
                      ReadState read_state) {
    Derived c;
    c.read_column(j, Derived::type_name, ctx);
    read_options(c);
    c.fitted_ = json_get<bool>(j, "fitted", ctx);
    if (c.fitted_) read_state(c);
    return c;
  }

  std::string column_;
  bool fitted_ = false;
  std::size_t col_ = npos;

 private:
  void read_column(const json& j, std::string_view type_name, std::string_view ctx);
};

/// @brief An encoder of one column tuned by `Options` (kept as given, read back by `options()`).
template <class Options>
class category_encoder : public category_encoder_base {
 public:
  [[nodiscard]] const Options& options() const noexcept { return o_; }

 protected:
  category_encoder() = default;
  category_encoder(std::string column, const Options& options)
      : category_encoder_base(std::move(column)), o_(options) {}
  Options o_;
};

/// @brief The fitted state of an encoder that learns one value per category (count and target
/// encoders).
struct category_values {
  category_set cats;
  std::vector<double> values;  ///< values[i] belongs to category i of `cats`
  /// @brief Writes "categories" and "values" into `j`.
  void to_json(json& j) const;
  /// @brief @throws parse_error naming the field, or when the lengths differ.
  void from_json(const json& j, const std::string& ctx);

  // hot path
  /// @brief The value of row `r`'s category in column `col`, or `fallback` when unseen.
  template <class Row>
  [[nodiscard]] double value_or(const Row& r, std::size_t col, double fallback) const noexcept {
    const std::size_t i = cats.find(r, col);
    return i == npos ? fallback : values[i];
  }
};
}  // namespace detail

/// @brief one_hot's options.
struct one_hot_options {
  unknown_policy handle_unknown = unknown_policy::error;  ///< what an unseen category does
  std::size_t min_frequency = 1;  ///< categories seen fewer times in fit go to "<other>"
};

/// @brief One output per frequent category (sorted, like sklearn), plus an "<other>" output
/// when some categories are infrequent (count < min_frequency) or the policy is `other`.
/// Infrequent categories always go to "<other>"; unseen ones follow `handle_unknown`.
/// Equals sklearn 1.2 OneHotEncoder(min_frequency=m, handle_unknown='infrequent_if_exist')
/// when infrequent categories exist and the policy is `other`.
class one_hot : public detail::category_encoder<one_hot_options> {
 public:
  static constexpr std::string_view type_name = "funnel.features.one_hot";
  one_hot() = default;
  explicit one_hot(std::string column, const one_hot_options& options = {})
      : category_encoder(std::move(column), options) {}

  void bind(const schema& s);
  /// @brief @throws invalid_argument on an empty column.
  void fit(const batch& b, std::span<const float> /*target*/);
  [[nodiscard]] bool has_other() const noexcept {
    return infrequent_ || o_.handle_unknown == unknown_policy::other;
  }
  [[nodiscard]] std::size_t width() const noexcept { return cats_.size() + (has_other() ? 1 : 0); }
  void append_output_names(std::vector<std::string>& names) const;
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  static one_hot from_json(const json& j);

  // hot path
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
    switch (o_.handle_unknown) {
      case unknown_policy::error:
        detail::raise_unknown(r, col_, type_, column_, row_index);
      case unknown_policy::ignore:
        return;
      case unknown_policy::other:
        out[w - 1] = 1.0F;
        return;
    }
  }

 private:
  detail::category_set cats_;
  detail::category_set rare_;
  bool infrequent_ = false;
  bool infrequent_missing_ = false;
  column_type type_ = column_type::string;
};

/// @brief ordinal_encoder's options.
struct ordinal_encoder_options {
  /// error or ignore (`other` has no meaning for one ordinal output and is rejected)
  unknown_policy handle_unknown = unknown_policy::error;
  float unknown_value = -1.0F;  ///< the output of an unseen category under policy ignore
};

/// @brief Category -> its index in sorted order (sklearn OrdinalEncoder). Missing -> NaN (as
/// sklearn 1.2 passes NaN through); unseen -> error, or `unknown_value` under policy ignore.
class ordinal_encoder : public detail::category_encoder<ordinal_encoder_options> {
 public:
  static constexpr std::string_view type_name = "funnel.features.ordinal_encoder";
  ordinal_encoder() = default;
  /// @throws invalid_argument when options.handle_unknown is `other`.
  explicit ordinal_encoder(std::string column, const ordinal_encoder_options& options = {});

  void bind(const schema& s);
  void fit(const batch& b, std::span<const float>);
  [[nodiscard]] std::size_t width() const noexcept { return 1; }
  void append_output_names(std::vector<std::string>& names) const { names.push_back(column_); }
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  static ordinal_encoder from_json(const json& j);

  // hot path
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
    if (o_.handle_unknown == unknown_policy::error) {
      detail::raise_unknown(r, col_, type_, column_, row_index);
    }
    out[0] = o_.unknown_value;
  }

 private:
  detail::category_set cats_;
  column_type type_ = column_type::string;
};

/// @brief count_encoder's options.
struct count_encoder_options {
  bool normalize = false;  ///< output count / training rows (a frequency) instead of the count
};

/// @brief Category -> its training count (or frequency = count / rows). Unseen -> 0; missing is
/// its own category.
class count_encoder : public detail::category_encoder<count_encoder_options> {
 public:
  static constexpr std::string_view type_name = "funnel.features.count_encoder";
  count_encoder() = default;
  explicit count_encoder(std::string column, const count_encoder_options& options = {})
      : category_encoder(std::move(column), options) {}

  void bind(const schema& s);
  void fit(const batch& b, std::span<const float>);
  [[nodiscard]] std::size_t width() const noexcept { return 1; }
  void append_output_names(std::vector<std::string>& names) const;
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  static count_encoder from_json(const json& j);

  // hot path
  template <class Row>
  void transform_row(const Row& r, std::size_t, float* out) const noexcept {
    out[0] = static_cast<float>(state_.value_or(r, col_, 0.0));
  }

 private:
  detail::category_values state_;
};

/// @brief target_encoder's options.
struct target_encoder_options {
  double smoothing = 1.0;  ///< m in (sum_y + m * prior) / (n + m); finite, >= 0
};

/// @brief Smoothed target mean per category: (sum_y + m * prior) / (n + m), prior = mean(y).
/// Unseen -> prior; missing is its own category. For training rows use the pipeline's
/// `fit_transform` with folds: each row is encoded with statistics from the other folds only,
/// so a row never sees its own label.
class target_encoder : public detail::category_encoder<target_encoder_options> {
 public:
  static constexpr std::string_view type_name = "funnel.features.target_encoder";
  static constexpr bool needs_target = true;
  target_encoder() = default;
  /// @throws invalid_argument when options.smoothing is negative or not finite.
  explicit target_encoder(std::string column, const target_encoder_options& options = {});

  void bind(const schema& s);
  /// @brief @throws invalid_argument on 0 rows or a missing target.
  void fit(const batch& b, std::span<const float> target);
  /// @brief Out-of-fold encodings of the training rows: row i uses the statistics (and prior)
  /// of the rows whose fold differs from folds[i]. Writes out[i * stride].
  void transform_out_of_fold(const batch& b, std::span<const float> target,
                             std::span<const std::uint32_t> folds, float* out,
                             std::size_t stride) const;
  [[nodiscard]] std::size_t width() const noexcept { return 1; }
  [[nodiscard]] double prior() const noexcept { return prior_; }
  void append_output_names(std::vector<std::string>& names) const {
    names.push_back(column_ + "_target");
  }
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  static target_encoder from_json(const json& j);

  // hot path
  template <class Row>
  void transform_row(const Row& r, std::size_t, float* out) const noexcept {
    out[0] = static_cast<float>(state_.value_or(r, col_, prior_));
  }

 private:
  [[nodiscard]] double encode(double sum, double count, double prior) const noexcept {
    const double d = count + o_.smoothing;
    return d > 0 ? (sum + o_.smoothing * prior) / d : prior;
  }
  double prior_ = 0.0;
  detail::category_values state_;
};

namespace detail {
/// @brief @throws invalid_argument, naming `<options>.<count_name>`, when there are fewer than
/// `min_columns` columns or n is outside [1, max_output_width].
void check_hashing(std::string_view where, std::string_view options, std::string_view count_name,
                   std::size_t columns, std::size_t min_columns, std::size_t n);

/// @brief What the stateless hashing steps share: the hashed columns (resolved by `bind`), the
/// output count n, the seed, the output names, and the JSON fields and loading rules common to
/// both. Derived supplies `type_name`, `output_family()`, its transform and whatever it adds.
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
  /// @brief Output names `<output_family().base>[i]`, i = 0..n-1.
  void append_output_names(std::vector<std::string>& names) const {
    const auto f = static_cast<const Derived&>(*this).output_family();
    for (std::size_t i = 0; i < n_; ++i) names.push_back(fmt::format("{}[{}]", f.base, i));
  }

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
    c.fitted_ = json_get<bool>(j, "fitted", ctx);
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

/// @brief feature_hasher's options.
struct feature_hasher_options {
  std::size_t num_features = 1024;  ///< outputs, in [1, max_output_width]
  std::uint32_t seed = 0;           ///< MurmurHash3 seed (0 = sklearn's)
  bool alternate_sign = true;       ///< sign from the hash, so collisions cancel in expectation
};

/// @brief Feature hashing of categorical columns into `num_features` outputs: token
/// "column=value" (UTF-8 bytes; integers in decimal) hashed with MurmurHash3 x86_32 (seeded),
/// index = |h| mod n, sign = +1 if h >= 0 else -1 (alternate_sign); collisions add. Equals
/// sklearn 1.2 FeatureHasher(input_type='dict') on {column: value} when seed = 0. Missing values
/// contribute nothing. Stateless: fit only marks it fitted. Output names `hash(<c1>,<c2>,...)[i]`,
/// i = 0..num_features-1 (the hashed columns in the order given).
class feature_hasher : public detail::hashing_step<feature_hasher> {
 public:
  static constexpr std::string_view type_name = "funnel.features.feature_hasher";
  feature_hasher() = default;
  /// @throws invalid_argument without columns, or when num_features is outside
  /// [1, max_output_width].
  explicit feature_hasher(std::vector<std::string> columns,
                          const feature_hasher_options& options = {});
  [[nodiscard]] feature_hasher_options options() const noexcept {
    return {.num_features = n_, .seed = seed_, .alternate_sign = alternate_};
  }
  /// @brief The pattern of the output names (base "hash(c1,c2,...)", num_features outputs).
  [[nodiscard]] detail::output_family output_family() const;
  [[nodiscard]] json to_json() const;
  /// @brief @throws parse_error naming the field.
  static feature_hasher from_json(const json& j);

  // hot path
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

 private:
  bool alternate_ = true;
};

/// @brief hashed_cross's options.
struct hashed_cross_options {
  std::size_t num_buckets = 1024;  ///< outputs, in [1, max_output_width]
  std::uint32_t seed = 0;          ///< MurmurHash3 seed
};

/// @brief Cross of two or more categorical columns hashed into `num_buckets` one-hot outputs:
/// token "a=x^b=y" hashed with MurmurHash3 x86_32 (seeded), bucket = h mod n (unsigned).
/// A row with any input missing gets all zeros. Stateless. Output names `<c1>^<c2>^...[i]`,
/// i = 0..num_buckets-1.
class hashed_cross : public detail::hashing_step<hashed_cross> {
 public:
  static constexpr std::string_view type_name = "funnel.features.hashed_cross";
  hashed_cross() = default;
  /// @throws invalid_argument with fewer than 2 columns, or when num_buckets is outside
  /// [1, max_output_width].
  explicit hashed_cross(std::vector<std::string> columns, const hashed_cross_options& options = {});
  [[nodiscard]] hashed_cross_options options() const noexcept {
    return {.num_buckets = n_, .seed = seed_};
  }
  /// @brief The pattern of the output names (base "c1^c2^...", num_buckets outputs).
  [[nodiscard]] detail::output_family output_family() const;
  [[nodiscard]] json to_json() const { return common_json("num_buckets"); }
  /// @brief @throws parse_error naming the field.
  static hashed_cross from_json(const json& j);

  // hot path
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
};

/// @brief Fold ids 0..k-1 for n rows, balanced (sizes differ by at most 1) and shuffled with a
/// seeded funnel::rng: the same seed gives the same folds on every platform.
/// @throws invalid_argument when k < 2 or k > n.
[[nodiscard]] std::vector<std::uint32_t> make_folds(std::size_t n, std::uint32_t k,
                                                    std::uint64_t seed);

}  // namespace funnel::features
