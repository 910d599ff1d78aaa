#pragma once
/// @file pipeline.hpp
/// @brief Composition of components, two ways sharing the same components and the same code:
/// `pipeline<Cs...>` (compile time, no virtual calls) and `any_pipeline` (run time, loaded from
/// JSON, components type-erased and created by type name through a `registry`). Both write a
/// dense float row or matrix with named output columns, and both save the same JSON.

#include <funnel/core/serialize.hpp>
#include <funnel/core/views.hpp>
#include <funnel/features/categorical.hpp>
#include <funnel/features/numeric.hpp>
#include <funnel/features/schema.hpp>

#include <concepts>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

namespace funnel::features {

/// @brief What a pipeline needs of a component. `transform_row` is one template written against
/// the shared row accessors, so a batch row and a serving row run the same code per value.
template <class C>
concept Component = requires(C& c, const C& cc, const schema& s, const batch& b,
                             std::span<const float> y, const row& r, const batch::row_ref& br,
                             std::vector<std::string>& names, float* out, const json& j) {
  c.bind(s);
  c.fit(b, y);
  { cc.fitted() } -> std::convertible_to<bool>;
  { cc.width() } -> std::convertible_to<std::size_t>;
  cc.append_output_names(names);
  cc.transform_row(r, std::size_t{}, out);
  cc.transform_row(br, std::size_t{}, out);
  { cc.to_json() } -> std::same_as<json>;
};

/// @brief A concrete (not type-erased) component: has a type name and loads from JSON.
template <class C>
concept StaticComponent = Component<C> && requires(const json& j) {
  { C::type_name } -> std::convertible_to<std::string_view>;
  { C::from_json(j) } -> std::same_as<C>;
};

namespace detail {

template <class C>
[[nodiscard]] bool needs_target(const C& c) noexcept {
  if constexpr (requires { c.needs_target(); }) {
    return c.needs_target();
  } else {
    return requires {
      C::needs_target;
    };
  }
}

template <class C>
[[nodiscard]] std::string_view component_type(const C& c) noexcept {
  if constexpr (requires { c.type(); }) {
    return c.type();
  } else {
    return C::type_name;
  }
}

/// @brief Components with out-of-fold training encodings (target encoders).
template <class C>
concept OofComponent = requires(const C& c, const batch& b, std::span<const float> y,
                                std::span<const std::uint32_t> f, float* o) {
  c.transform_out_of_fold(b, y, f, o, std::size_t{});
};

/// @brief Calls c.transform_out_of_fold when the component has it; false otherwise.
template <class C>
bool out_of_fold(const C& c, const batch& b, std::span<const float> y,
                 std::span<const std::uint32_t> folds, float* out, std::size_t stride) {
  if constexpr (requires { c.has_out_of_fold(); }) {
    if (!c.has_out_of_fold()) return false;
    c.transform_out_of_fold(b, y, folds, out, stride);
    return true;
  } else if constexpr (OofComponent<C>) {
    c.transform_out_of_fold(b, y, folds, out, stride);
    return true;
  } else {
    return false;
  }
}

/// @brief c.output_family() when the component names its outputs by pattern.
template <class C>
[[nodiscard]] std::optional<output_family> family_of(const C& c) {
  if constexpr (requires { c.output_family(); }) {
    return c.output_family();
  } else {
    return std::nullopt;
  }
}

/// @brief The checked sum of component widths. @throws invalid_argument when a width or the total
/// exceeds max_output_width (naming the component).
[[nodiscard]] std::size_t checked_width(std::size_t total, std::size_t add, std::size_t component,
                                        std::string_view type);

/// @brief @throws invalid_argument naming an output name produced twice (`names` are the
/// expanded names with the index of the component producing each; `families` the patterns).
void check_unique_names(const std::vector<std::pair<std::string, std::size_t>>& names,
                        const std::vector<std::pair<output_family, std::size_t>>& families);

/// @brief @throws dimension_mismatch (column count), invalid_argument (a column's name/type).
void check_schema(const schema& got, const schema& want, std::string_view what);

/// @brief @throws dimension_mismatch (length), invalid_argument (non-finite value, naming row).
void check_target(std::span<const float> target, std::size_t rows);

/// @brief The state and algorithms both pipelines share; Derived supplies `for_each(f)` over
/// its components in order.
template <class Derived>
class pipeline_core {
 public:
  static constexpr std::string_view type_name = "funnel.features.pipeline";

  /// @brief The input schema (rows and batches must be built against an equal schema).
  [[nodiscard]] const schema& get_schema() const noexcept { return *schema_; }
  /// @brief True once every component is fitted (after fit, or loading a fitted JSON).
  [[nodiscard]] bool fitted() const noexcept { return fitted_; }
  /// @brief Number of output floats per row. @throws not_fitted.
  [[nodiscard]] std::size_t width() const {
    require_fitted();
    return width_;
  }
  /// @brief Names of the output columns, in output order: unique within the pipeline (checked
  /// when it is fitted or loaded) and stable (a function of the components' parameters and
  /// fitted state only, identical after a JSON round trip and in both pipeline types). Bind them
  /// to a model's feature names (funnel::check_feature_binding). @throws not_fitted.
  [[nodiscard]] std::vector<std::string> output_names() const {
    require_fitted();
    std::vector<std::string> names;
    self().for_each([&](const auto& c, std::size_t) { c.append_output_names(names); });
    return names;
  }

  /// @brief Fits every component on `b` (target needed by target encoders).
  /// @throws invalid_argument / dimension_mismatch naming the column and row at fault.
  void fit(const batch& b, std::span<const float> target = {}) {
    fitted_ = false;  // a fit that throws half-way leaves the pipeline unusable, not half-fitted
    check_schema(b.get_schema(), *schema_, "batch");
    b.check_complete();
    for (std::size_t i = 0; i < b.rows(); ++i) validate(*schema_, b.at(i), i);
    if (!target.empty()) check_target(target, b.rows());
    self().for_each([&](auto& c, std::size_t k) {
      if (needs_target(c) && target.empty()) {
        raise<invalid_argument>("features.pipeline", "component {} ({}) needs a target to fit", k,
                                component_type(c));
      }
    });
    self().for_each([&](auto& c, std::size_t) { c.fit(b, target); });
    layout();
  }

  /// @brief Fits, then returns the training matrix in which every target encoder's column is
  /// computed out of fold (row i sees only rows of other folds). Other columns equal transform(b).
  /// @throws as fit; dimension_mismatch when folds.size() != rows; invalid_argument for a fold
  /// id >= rows.
  [[nodiscard]] matrix fit_transform(const batch& b, std::span<const float> target,
                                     std::span<const std::uint32_t> folds) {
    if (folds.size() != b.rows()) {
      raise<dimension_mismatch>("features.pipeline", "folds has {} entries for {} rows",
                                folds.size(), b.rows());
    }
    for (std::size_t i = 0; i < folds.size(); ++i) {
      if (folds[i] >= folds.size()) {
        raise<invalid_argument>("features.pipeline", "folds, row {}: fold id {} >= row count", i,
                                folds[i]);
      }
    }
    fit(b, target);
    matrix m = transform(b);
    self().for_each([&](const auto& c, std::size_t k) {
      out_of_fold(c, b, target, folds, m.data() + offsets_[k], width_);
    });
    return m;
  }

  /// @brief The serving path: one row into `out` (width() floats). Allocation-free.
  /// `row_id` only names the row in error messages.
  /// @throws not_fitted, dimension_mismatch (out size, schema), invalid_argument (a column not
  /// set since the row was built or cleared; NaN/Inf under the column's policy), not_found
  /// (unknown category under policy error).
  void transform(const row& r, std::span<float> out, std::size_t row_id = 0) const {
    require_fitted();
    if (&r.get_schema() != schema_.get()) check_schema(r.get_schema(), *schema_, "row");
    if (out.size() != width_) {
      raise<dimension_mismatch>("features.pipeline",
                                "output buffer has {} floats, pipeline "
                                "writes {}",
                                out.size(), width_);
    }
    r.check_complete(row_id);
    transform_one(r, row_id, out.data());
  }

  /// @brief A batch into row-major `out` (rows x width()); row i is exactly what transform of
  /// the same values as a single row writes. @throws as the row overload.
  void transform(const batch& b, std::span<float> out) const {
    require_fitted();
    check_schema(b.get_schema(), *schema_, "batch");
    b.check_complete();
    if (out.size() != b.rows() * width_) {
      raise<dimension_mismatch>("features.pipeline",
                                "output buffer has {} floats, {} rows x {} "
                                "outputs need {}",
                                out.size(), b.rows(), width_, b.rows() * width_);
    }
    for (std::size_t i = 0; i < b.rows(); ++i) transform_one(b.at(i), i, out.data() + i * width_);
  }

  /// @brief A batch into a new matrix. @throws as above.
  [[nodiscard]] matrix transform(const batch& b) const {
    require_fitted();
    matrix m(b.rows(), width_);
    transform(b, std::span<float>(m.data(), m.size()));
    return m;
  }

  /// @brief `{"type": "funnel.features.pipeline", "version": 1, "schema", "components": [...]}`.
  [[nodiscard]] json to_json() const {
    json j = json_header(type_name, 1);
    j["schema"] = schema_->to_json();
    json comps = json::array();
    self().for_each([&](const auto& c, std::size_t) { comps.push_back(c.to_json()); });
    j["components"] = std::move(comps);
    return j;
  }
  /// @brief Saves to_json() atomically. @throws io_error.
  void save(const std::filesystem::path& path) const { save_json(self(), path, 1); }

 protected:
  explicit pipeline_core(schema s) : schema_(std::make_shared<const schema>(std::move(s))) {}

  void bind_all() {
    self().for_each([&](auto& c, std::size_t) { c.bind(*schema_); });
    bool all = true;
    self().for_each([&](const auto& c, std::size_t) { all = all && c.fitted(); });
    if (all) {
      layout();
    } else {
      fitted_ = false;
    }
  }

  static const json& components_of(const json& j) {
    check_json_header(j, type_name, 1);
    const json& comps = json_field(j, "components", "pipeline");
    if (!comps.is_array()) {
      raise<parse_error>("features.pipeline", "pipeline.components: expected an array, found {}",
                         comps.type_name());
    }
    return comps;
  }

  std::shared_ptr<const schema> schema_;

 private:
  [[nodiscard]] const Derived& self() const noexcept { return static_cast<const Derived&>(*this); }
  [[nodiscard]] Derived& self() noexcept { return static_cast<Derived&>(*this); }

  void layout() {
    fitted_ = false;
    std::vector<std::size_t> offsets;
    std::size_t width = 0;
    std::vector<std::pair<std::string, std::size_t>> names;
    std::vector<std::pair<output_family, std::size_t>> families;
    std::vector<std::string> scratch;
    self().for_each([&](const auto& c, std::size_t k) {
      offsets.push_back(width);
      width = checked_width(width, c.width(), k, component_type(c));
      if (auto f = family_of(c)) {
        families.emplace_back(std::move(*f), k);
      } else {
        scratch.clear();
        c.append_output_names(scratch);
        for (auto& n : scratch) names.emplace_back(std::move(n), k);
      }
    });
    check_unique_names(names, families);
    offsets_ = std::move(offsets);
    width_ = width;
    fitted_ = true;
  }

  void require_fitted() const {
    if (fitted_) return;
    self().for_each([&](const auto& c, std::size_t k) {
      if (!c.fitted()) {
        raise<not_fitted>("features.pipeline",
                          "transform before fit: component {} ({}) is not "
                          "fitted",
                          k, component_type(c));
      }
    });
    raise<not_fitted>("features.pipeline", "transform before fit");
  }

  template <class Row>
  void transform_one(const Row& r, std::size_t row_id, float* out) const {
    validate(*schema_, r, row_id);
    self().for_each(
        [&](const auto& c, std::size_t k) { c.transform_row(r, row_id, out + offsets_[k]); });
  }

  std::vector<std::size_t> offsets_;
  std::size_t width_ = 0;
  bool fitted_ = false;
};

}  // namespace detail

/// @brief A pipeline whose component types are fixed at compile time: every call is direct and
/// inlinable. Saves the same JSON as `any_pipeline`.
///
/// @code
/// features::pipeline p(s, features::numeric_column("x", {features::standard_scaler{}}),
///                      features::one_hot("state", {.handle_unknown =
///                      features::unknown_policy::other}));
/// p.fit(train_batch);
/// p.transform(serving_row, out);   // no allocation
/// @endcode
template <StaticComponent... Cs>
class pipeline : public detail::pipeline_core<pipeline<Cs...>> {
  using core = detail::pipeline_core<pipeline<Cs...>>;
  friend core;

 public:
  /// @brief Binds every component to `s`. @throws not_found / invalid_argument for a column
  /// that is absent or of the wrong type.
  explicit pipeline(schema s, Cs... components)
      : core(std::move(s)), components_(std::move(components)...) {
    this->bind_all();
  }

  /// @brief Component I (e.g. to read a fitted scaler's mean).
  template <std::size_t I>
  [[nodiscard]] const auto& get() const noexcept {
    return std::get<I>(components_);
  }

  /// @brief Loads a pipeline saved by either pipeline type whose components are exactly Cs...
  /// @throws parse_error naming the field (wrong type, version, component count or kind).
  static pipeline from_json(const json& j) {
    const json& comps = core::components_of(j);
    if (comps.size() != sizeof...(Cs)) {
      raise<parse_error>("features.pipeline",
                         "pipeline.components: {} components, this pipeline type has "
                         "{}",
                         comps.size(), sizeof...(Cs));
    }
    auto s = schema::from_json(json_field(j, "schema", "pipeline"));
    return [&]<std::size_t... I>(std::index_sequence<I...>) {
      return pipeline(std::move(s), Cs::from_json(comps[I])...);
    }
    (std::index_sequence_for<Cs...>{});
  }

 private:
  template <class F>
  void for_each(F&& f) {
    std::size_t k = 0;
    std::apply([&](auto&... c) { (f(c, k++), ...); }, components_);
  }
  template <class F>
  void for_each(F&& f) const {
    std::size_t k = 0;
    std::apply([&](const auto&... c) { (f(c, k++), ...); }, components_);
  }

  std::tuple<Cs...> components_;
};

/// @brief A type-erased component (one virtual call per component per row). Wraps any
/// `StaticComponent`; what `registry` creates from JSON.
class any_component {
 public:
  template <StaticComponent C>
  // NOLINTNEXTLINE(google-explicit-constructor): wrapping is the point of the type.
  any_component(C c) : p_(std::make_unique<model<C>>(std::move(c))) {}
  any_component(const any_component& o);
  any_component(any_component&&) noexcept = default;
  any_component& operator=(const any_component& o);
  any_component& operator=(any_component&&) noexcept = default;
  ~any_component() = default;

  void bind(const schema& s);
  void fit(const batch& b, std::span<const float> y);
  void append_output_names(std::vector<std::string>& n) const;
  [[nodiscard]] std::optional<detail::output_family> output_family() const;
  [[nodiscard]] json to_json() const;
  [[nodiscard]] std::string_view type() const noexcept;
  [[nodiscard]] bool needs_target() const noexcept;
  [[nodiscard]] bool has_out_of_fold() const noexcept;
  void transform_out_of_fold(const batch& b, std::span<const float> y,
                             std::span<const std::uint32_t> folds, float* out,
                             std::size_t stride) const;

  [[nodiscard]] bool fitted() const noexcept;
  [[nodiscard]] std::size_t width() const noexcept;

  // hot path
  void transform_row(const row& r, std::size_t i, float* out) const { p_->row(r, i, out); }
  void transform_row(const batch::row_ref& r, std::size_t i, float* out) const {
    p_->row(r, i, out);
  }

  /// @brief The wrapped component if it is a C, else nullptr.
  template <class C>
  [[nodiscard]] const C* get() const noexcept {
    const auto* m = dynamic_cast<const model<C>*>(p_.get());
    return m ? &m->c : nullptr;
  }

 private:
  struct iface {
    virtual ~iface() = default;
    [[nodiscard]] virtual std::unique_ptr<iface> clone() const = 0;
    virtual void bind(const schema&) = 0;
    virtual void fit(const batch&, std::span<const float>) = 0;
    [[nodiscard]] virtual bool fitted() const noexcept = 0;
    [[nodiscard]] virtual std::size_t width() const noexcept = 0;
    virtual void names(std::vector<std::string>&) const = 0;
    [[nodiscard]] virtual std::optional<detail::output_family> family() const = 0;
    virtual void row(const features::row&, std::size_t, float*) const = 0;
    virtual void row(const batch::row_ref&, std::size_t, float*) const = 0;
    [[nodiscard]] virtual json to_json() const = 0;
    [[nodiscard]] virtual std::string_view type() const noexcept = 0;
    [[nodiscard]] virtual bool needs_target() const noexcept = 0;
    [[nodiscard]] virtual bool has_oof() const noexcept = 0;
    virtual void oof(const batch&, std::span<const float>, std::span<const std::uint32_t>, float*,
                     std::size_t) const = 0;
  };
  template <class C>
  struct model final : iface {
    explicit model(C x) : c(std::move(x)) {}
    std::unique_ptr<iface> clone() const override { return std::make_unique<model>(c); }
    void bind(const schema& s) override { c.bind(s); }
    void fit(const batch& b, std::span<const float> y) override { c.fit(b, y); }
    bool fitted() const noexcept override { return c.fitted(); }
    std::size_t width() const noexcept override { return c.width(); }
    void names(std::vector<std::string>& n) const override { c.append_output_names(n); }
    std::optional<detail::output_family> family() const override { return detail::family_of(c); }
    void row(const features::row& r, std::size_t i, float* o) const override {
      c.transform_row(r, i, o);
    }
    void row(const batch::row_ref& r, std::size_t i, float* o) const override {
      c.transform_row(r, i, o);
    }
    json to_json() const override { return c.to_json(); }
    std::string_view type() const noexcept override { return C::type_name; }
    bool needs_target() const noexcept override { return detail::needs_target(c); }
    bool has_oof() const noexcept override { return detail::OofComponent<C>; }
    void oof(const batch& b, std::span<const float> y, std::span<const std::uint32_t> f, float* o,
             std::size_t stride) const override {
      detail::out_of_fold(c, b, y, f, o, stride);
    }
    C c;
  };
  std::unique_ptr<iface> p_;
};

/// @brief Maps JSON type names to component loaders. `builtin()` knows every funnel component;
/// copy it and `add<YourComponent>()` to load your own types.
class registry {
 public:
  /// @brief Registers C under C::type_name (replacing an existing entry).
  template <StaticComponent C>
  void add() {
    makers_[std::string(C::type_name)] = [](const json& j) {
      return any_component(C::from_json(j));
    };
  }
  /// @brief True when `type` is registered.
  [[nodiscard]] bool contains(std::string_view type) const;
  /// @brief Creates the component described by `j`. @throws parse_error (unknown or missing
  /// type, or the component's own field errors).
  [[nodiscard]] any_component make(const json& j, std::string_view ctx) const;
  /// @brief The registry of funnel's own components.
  [[nodiscard]] static const registry& builtin();

 private:
  std::map<std::string, std::function<any_component(const json&)>, std::less<>> makers_;
};

/// @brief A pipeline whose components are chosen at run time (from JSON or code).
class any_pipeline : public detail::pipeline_core<any_pipeline> {
  using core = detail::pipeline_core<any_pipeline>;
  friend core;

 public:
  /// @brief Binds every component to `s`. @throws not_found / invalid_argument.
  any_pipeline(schema s, std::vector<any_component> components);
  /// @brief Loads a fitted pipeline, or an unfitted configuration to `fit`, from JSON saved by
  /// either pipeline type. @throws parse_error naming the field; not_found / invalid_argument
  /// when a component names a column the schema lacks or has with another type.
  static any_pipeline from_json(const json& j, const registry& types = registry::builtin());
  /// @brief Loads from a file. @throws io_error, parse_error.
  static any_pipeline load(const std::filesystem::path& path,
                           const registry& types = registry::builtin());

  [[nodiscard]] const std::vector<any_component>& components() const noexcept {
    return components_;
  }

 private:
  template <class F>
  void for_each(F&& f) {
    for (std::size_t k = 0; k < components_.size(); ++k) f(components_[k], k);
  }
  template <class F>
  void for_each(F&& f) const {
    for (std::size_t k = 0; k < components_.size(); ++k) f(components_[k], k);
  }
  std::vector<any_component> components_;
};

}  // namespace funnel::features
