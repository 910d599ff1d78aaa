#include <funnel/features/pipeline.hpp>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "core/json_document.hpp"

namespace funnel::features {

namespace detail {

void check_schema(const schema& got, const schema& want, std::string_view what) {
  if (got.size() != want.size()) {
    raise<dimension_mismatch>("features.pipeline",
                              "{} has {} columns, the pipeline's schema has {}", what, got.size(),
                              want.size());
  }
  for (std::size_t c = 0; c < got.size(); ++c) {
    if (got[c].name != want[c].name || got[c].type != want[c].type ||
        got[c].missing != want[c].missing) {
      raise<invalid_argument>("features.pipeline",
                              "{} column {} is '{}' ({}, missing {}), the "
                              "pipeline expects '{}' ({}, missing {})",
                              what, c, got[c].name, to_string(got[c].type),
                              to_string(got[c].missing), want[c].name, to_string(want[c].type),
                              to_string(want[c].missing));
    }
  }
}

std::size_t checked_width(std::size_t total, std::size_t add, std::size_t component,
                          std::string_view type) {
  // Both operands are <= max_output_width when the first test passes, so the sum cannot wrap.
  if (add > max_output_width || total + add > max_output_width) {
    raise<invalid_argument>("features.pipeline",
                            "component {} ({}) writes {} outputs after {}: more than the maximum "
                            "width {} (features::max_output_width)",
                            component, type, add, total, max_output_width);
  }
  return total + add;
}

namespace {
/// Splits "base[i]" into base and i; false for any other shape.
bool split_indexed(std::string_view name, std::string_view& base, std::size_t& index) {
  if (name.size() < 3 || name.back() != ']') return false;
  const auto open = name.rfind('[');
  if (open == std::string_view::npos || open + 2 > name.size() - 1) return false;
  const std::string_view digits = name.substr(open + 1, name.size() - open - 2);
  const auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (ec != std::errc() || p != digits.data() + digits.size()) return false;
  base = name.substr(0, open);
  return true;
}
}  // namespace

void check_unique_names(const std::vector<std::pair<std::string, std::size_t>>& names,
                        const std::vector<std::pair<output_family, std::size_t>>& families) {
  std::map<std::string_view, std::size_t, std::less<>> seen;
  for (const auto& [name, k] : names) {
    const auto [it, fresh] = seen.emplace(name, k);
    if (!fresh) {
      raise<invalid_argument>("features.pipeline",
                              "output name '{}' is written by components {} and {}: output names "
                              "must be unique (give one an explicit output name)",
                              name, it->second, k);
    }
  }
  std::map<std::string_view, const std::pair<output_family, std::size_t>*, std::less<>> bases;
  for (const auto& f : families) {
    const auto [it, fresh] = bases.emplace(f.first.base, &f);
    if (!fresh) {
      raise<invalid_argument>("features.pipeline",
                              "output names '{}[i]' are written by components {} and {}: output "
                              "names must be unique",
                              f.first.base, it->second->second, f.second);
    }
  }
  for (const auto& [name, k] : names) {
    std::string_view base;
    std::size_t index = 0;
    if (!split_indexed(name, base, index)) continue;
    const auto it = bases.find(base);
    if (it != bases.end() && index < it->second->first.n) {
      raise<invalid_argument>("features.pipeline",
                              "output name '{}' is written by components {} and {}: output names "
                              "must be unique",
                              name, it->second->second, k);
    }
  }
}

void check_target(std::span<const float> target, std::size_t rows) {
  if (target.size() != rows) {
    raise<dimension_mismatch>("features.pipeline", "target has {} values for {} rows",
                              target.size(), rows);
  }
  for (std::size_t i = 0; i < target.size(); ++i) {
    if (!std::isfinite(target[i])) {
      raise<invalid_argument>("features.pipeline", "target, row {}: non-finite value {}", i,
                              target[i]);
    }
  }
}

}  // namespace detail

any_component registry::make(const json& j, std::string_view ctx) const {
  const auto type = json_get<std::string>(j, "type", ctx);
  const auto it = makers_.find(type);
  if (it == makers_.end()) {
    raise<parse_error>("features.pipeline", "{}.type: unknown component type '{}'", ctx, type);
  }
  return it->second(j);
}

const registry& registry::builtin() {
  static const registry r = [] {
    registry x;
    x.add<numeric_column>();
    x.add<interaction>();
    x.add<one_hot>();
    x.add<ordinal_encoder>();
    x.add<count_encoder>();
    x.add<target_encoder>();
    x.add<feature_hasher>();
    x.add<hashed_cross>();
    return x;
  }();
  return r;
}

any_pipeline any_pipeline::from_json(const json& j, const registry& types) {
  // Field errors of the JSON layer are this reader's: they carry its id.
  return funnel::detail::json_errors_as("features.pipeline", [&] {
    const json& comps = components_of(j);
    auto s = schema::from_json(json_field(j, "schema", "pipeline"));
    std::vector<any_component> cs;
    cs.reserve(comps.size());
    for (std::size_t k = 0; k < comps.size(); ++k) {
      cs.push_back(types.make(comps[k], fmt::format("pipeline.components[{}]", k)));
    }
    return any_pipeline(std::move(s), std::move(cs));
  });
}

any_pipeline any_pipeline::load(const std::filesystem::path& path, const registry& types) {
  return from_json(load_json_file(path), types);
}

any_component::any_component(const any_component& o) : p_(o.p_->clone()) {}
any_component& any_component::operator=(const any_component& o) {
  if (this != &o) p_ = o.p_->clone();
  return *this;
}
void any_component::bind(const schema& s) {
  p_->bind(s);
}
void any_component::fit(const batch& b, std::span<const float> y) {
  p_->fit(b, y);
}
bool any_component::fitted() const noexcept {
  return p_->fitted();
}
std::size_t any_component::width() const noexcept {
  return p_->width();
}
void any_component::append_output_names(std::vector<std::string>& n) const {
  p_->names(n);
}
std::optional<detail::output_family> any_component::output_family() const {
  return p_->family();
}
json any_component::to_json() const {
  return p_->to_json();
}
std::string_view any_component::type() const noexcept {
  return p_->type();
}
bool any_component::needs_target() const noexcept {
  return p_->needs_target();
}
bool any_component::has_out_of_fold() const noexcept {
  return p_->has_oof();
}
void any_component::transform_out_of_fold(const batch& b, std::span<const float> y,
                                          std::span<const std::uint32_t> folds, float* out,
                                          std::size_t stride) const {
  p_->oof(b, y, folds, out, stride);
}

bool registry::contains(std::string_view type) const {
  return makers_.find(type) != makers_.end();
}

any_pipeline::any_pipeline(schema s, std::vector<any_component> components)
    : core(std::move(s)), components_(std::move(components)) {
  bind_all();
}

}  // namespace funnel::features
